//! `smelt server`, `smelt runs` and `smelt models`: experiment tracking and the model registry.

pub mod models;
pub mod runs;
pub mod server;
pub mod store;
pub mod table;
