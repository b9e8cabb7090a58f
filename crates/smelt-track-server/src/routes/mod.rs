//! Route handlers, one file per route group.

pub(crate) mod artifacts;
pub(crate) mod logged_models;
pub(crate) mod native;
pub(crate) mod preview;
pub(crate) mod registry;
pub(crate) mod search;
pub(crate) mod tracking;
