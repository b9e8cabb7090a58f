//! The allocator's settings for the long-running servers (`smelt serve`, and `smelt server`,
//! which also serves the web UI).
//!
//! mimalloc (the binary's allocator, for candle's per-op buffers) asks the kernel for
//! transparent huge pages on its 1 GiB arena, so each 2 MiB region a thread touches becomes
//! resident whole: an idle `smelt serve` with a 100-round GBDT held 41 MB, 16 MB of it huge
//! pages holding a few kB each (BENCHMARKS.md, "Serving"). Training keeps them (big tensors gain
//! from them); servers turn them off. And mimalloc gives freed memory back to the kernel only
//! seconds later (`purge_delay`, ×10 for arenas): a server that just loaded a 1.4M-node forest
//! held the loader's 100 MB of scratch until then, so it hands it back at once.

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
