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

/// Turns transparent huge pages off for this process (future page faults). Call first thing.
#[allow(unsafe_code, reason = "a system call with no pointer argument")]
pub fn for_servers() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl(PR_SET_THP_DISABLE) only sets a flag on this process's memory map; it
    // reads no pointer.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// Hands memory freed so far back to the kernel now (after loading models).
#[allow(unsafe_code, reason = "mimalloc's C API, with no pointer argument")]
pub fn release_freed() {
    // SAFETY: mi_collect takes no pointer; forcing it collects this thread's heap and purges
    // the arenas' freed pages.
    unsafe { libmimalloc_sys::mi_collect(true) }
}
