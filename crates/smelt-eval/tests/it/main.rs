mod metrics;
mod plot;
mod split;
mod tune;
