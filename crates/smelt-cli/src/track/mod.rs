//! `smelt server`, `smelt runs` and `smelt models`: experiment tracking and the model registry.

pub mod server;
