//! Panics as check failures: every call into the code under test goes through [`no_panic`],
//! so a panic inside an estimator is reported as a failed check naming the estimator and the
//! step, not as an anonymous test crash.

use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs `f`; a panic inside it becomes a panic naming `name` and `what`.
pub(crate) fn no_panic<T>(name: &str, what: &str, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            panic!("{name}: panicked during {what}: {msg}")
        }
    }
}
