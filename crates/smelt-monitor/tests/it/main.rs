//! smelt-monitor end to end.

mod drift;
mod estimate;
mod quality;
mod report;
mod stats;
mod text;
