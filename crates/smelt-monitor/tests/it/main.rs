//! smelt-monitor end to end.

mod drift;
mod quality;
mod report;
mod stats;
