//! The bits of a binned node's second word (see [`super::binned`]), read by the scalar walk
//! and by the SIMD walks alike: the column (bits 0–12), whether the near / far child is a leaf
//! (bits 13, 14), a categorical flag (bit 15); the far child's offset fills bits 16–31.

/// The column bits.
pub(super) const COLUMN_MASK: u32 = (1 << 13) - 1;
/// The near child is a leaf (set at leaves too).
pub(super) const NEAR_LEAF: u32 = 1 << 13;
/// The far child is a leaf (set at leaves too).
pub(super) const FAR_LEAF: u32 = 1 << 14;
/// A categorical node.
pub(super) const CAT_FLAG: u32 = 1 << 15;
