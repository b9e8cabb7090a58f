//! smelt-monitor end to end.

mod drift;
mod estimate;
mod profile;
mod quality;
mod report;
mod stats;
mod text;
mod watch;
