//! Integration tests of smelt-track: one binary, a module per area.

mod artifacts_s3;
