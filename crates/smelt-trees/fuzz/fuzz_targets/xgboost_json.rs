//! Fuzzes the XGBoost JSON importer: arbitrary bytes in, an error or a model out; a model then
//! predicts a few rows (see `common.rs`).

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use smelt_trees::import::xgboost;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(m) = xgboost::from_json_str(text, Path::new("fuzz.json")) {
        common::exercise(&m);
    }
});
