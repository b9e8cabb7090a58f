//! The allocator's settings: for the long-running servers (`smelt serve`, and `smelt server`,
//! which also serves the web UI), and for the batch commands (training above all).
//!
//! mimalloc (the binary's allocator, for candle's per-op buffers) asks the kernel for
//! transparent huge pages on its 1 GiB arena, so each 2 MiB region a thread touches becomes
//! resident whole: an idle `smelt serve` with a 100-round GBDT held 41 MB, 16 MB of it huge
//! pages holding a few kB each (BENCHMARKS.md, "Serving"). Training keeps them (big tensors gain
//! from them); servers turn them off. And mimalloc gives freed memory back to the kernel only
//! seconds later (`purge_delay`, ×10 for arenas): a server that just loaded a 1.4M-node forest
//! held the loader's 100 MB of scratch until then, so it hands it back at once.

/// mimalloc's `mi_option_purge_delay` and `mi_option_arena_purge_mult` (the same positions in
/// its v2 and v3 `mi_option_t`; `for_batch_work` checks the first still reads its documented
/// default before changing anything).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
const ARENA_PURGE_MULT: libmimalloc_sys::mi_option_t = 24;

/// Keeps freed memory committed for reuse instead of handing it back to the kernel (for the
/// commands that run to completion: `smelt train` above all).
///
/// A network's training step frees and allocates the same tens of MB of activations and
/// gradients every batch; with mimalloc's default 10 ms purge delay the freed pages went back
/// to the kernel between batches and each new step faulted them in, zeroed, again — 12 % of a
/// CNN epoch's CPU in `clear_page_erms`, and 5–10 % of its time (BENCHMARKS.md, "Networks").
/// Peak memory is unchanged (it is what the step needs); the process just keeps it until it
/// exits. A `MIMALLOC_PURGE_DELAY` in the environment is left to rule.
#[allow(unsafe_code, reason = "mimalloc's C API, with no pointer argument")]
pub fn for_batch_work() {
    huge_pages(true);
    // SAFETY: mi_option_get/mi_option_set take an option index and a value, no pointer.
    unsafe {
        // 10 ms is the default in both versions; anything else means the environment (or
        // another mimalloc layout) decided, and it is left alone.
        if libmimalloc_sys::mi_option_get(PURGE_DELAY) == 10 {
            libmimalloc_sys::mi_option_set(PURGE_DELAY, -1);
            libmimalloc_sys::mi_option_set(ARENA_PURGE_MULT, 0);
        }
    }
}

/// Turns transparent huge pages on or off for this process's future page faults.
#[allow(unsafe_code, reason = "a system call with no pointer argument")]
pub fn huge_pages(enabled: bool) {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl(PR_SET_THP_DISABLE) only sets a flag on this process's memory map; it
    // reads no pointer.
    unsafe {
        libc::prctl(
            libc::PR_SET_THP_DISABLE,
            libc::c_ulong::from(!enabled),
            0,
            0,
            0,
        );
    }
    #[cfg(not(target_os = "linux"))]
    let _ = enabled;
}

/// Huge pages go off before anything allocates: before `main`, and before mimalloc's own
/// start-up (its constructor has priority 101; `.init_array` entries run in priority order). The
/// first allocation faults in mimalloc's arena, which mimalloc madvises for huge pages, so a
/// `prctl` in `main` came too late: one 2 MiB page holding a few kB stayed resident for the
/// server's lifetime (22.3 → 19.1 MB for an idle GBDT server, BENCHMARKS.md "Serving"). `main`
/// turns them back on for the batch commands (`for_batch_work`).
#[cfg(target_os = "linux")]
#[allow(unsafe_code, reason = "a constructor entry must name its section")]
#[used]
#[unsafe(link_section = ".init_array.00100")]
static HUGE_PAGES_OFF_AT_START: extern "C" fn() = huge_pages_off_at_start;

#[cfg(target_os = "linux")]
extern "C" fn huge_pages_off_at_start() {
    huge_pages(false);
}

/// Hands memory freed so far back to the kernel now (after loading models).
#[allow(unsafe_code, reason = "mimalloc's C API, with no pointer argument")]
pub fn release_freed() {
    // SAFETY: mi_collect takes no pointer; forcing it collects this thread's heap and purges
    // the arenas' freed pages.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::huge_pages;

    /// `THP_enabled` of `/proc/self/status` (kernels since 5.0), or None where it is absent.
    fn thp_enabled() -> Option<bool> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("THP_enabled:"))?;
        Some(line.split_whitespace().nth(1)? == "1")
    }

    #[test]
    fn huge_pages_are_off_from_the_start_and_can_be_turned_back_on() {
        let Some(at_start) = thp_enabled() else {
            eprintln!("skipped: this kernel reports no THP_enabled");
            return;
        };
        // The constructor ran before the test harness's `main`: nothing has turned them on yet.
        assert!(!at_start, "the .init_array constructor did not run");
        huge_pages(true);
        assert_eq!(thp_enabled(), Some(true));
        huge_pages(false);
        assert_eq!(thp_enabled(), Some(false));
    }
}
