//! A cache prefetch hint, for loops whose reads are scattered over a large array (a small
//! leaf's or node's rows) and would otherwise wait on a cache miss per row.

/// Asks the CPU to fetch the cache line of `s[i]` (a hint: nothing is read, an index past the
/// end is harmless).
#[inline(always)]
#[allow(
    unsafe_code,
    reason = "a prefetch hint, which cannot fault (see SAFETY)"
)]
pub(crate) fn prefetch<T>(s: &[T], i: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` only hints the cache: it never faults and reads nothing into the
    // program, whatever the address; SSE is part of the x86_64 baseline. The address is formed
    // with `wrapping_add` and never dereferenced.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(s.as_ptr().wrapping_add(i).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (s, i);
}
