//! Matrix products on plain slices through the `gemm` crate (the one candle calls; AVX-512
//! micro-kernels where the CPU has them), with strided operands and accumulation onto the
//! destination, for the kernels that manage their own buffers (the encoder's forward pass, the
//! convolution): no output allocated per product, no separate bias pass, no transposed copies.

use super::Real;

/// A strided view of a row-major matrix: element `(i, j)` is `data[i·row + j·col]`.
#[derive(Clone, Copy)]
pub(crate) struct View<'a, T> {
    pub data: &'a [T],
    pub row: usize,
    pub col: usize,
}

impl<'a, T> View<'a, T> {
    /// A dense `[_, cols]` matrix.
    pub fn dense(data: &'a [T], cols: usize) -> Self {
        View {
            data,
            row: cols,
            col: 1,
        }
    }

    /// The transpose of this view (no copy).
    pub fn t(self) -> Self {
        View {
            data: self.data,
            row: self.col,
            col: self.row,
        }
    }

    fn covers(&self, rows: usize, cols: usize) -> bool {
        rows == 0 || cols == 0 || (rows - 1) * self.row + (cols - 1) * self.col < self.data.len()
    }
}

/// `dst[m × n] (row stride dst_row) = (acc ? dst : 0) + a[m × k] · b[k × n]`, single-threaded
/// or on `threads` rayon threads.
///
/// Panics if a view does not cover its matrix (a bug in the caller, not bad input).
#[allow(
    clippy::too_many_arguments,
    reason = "a GEMM's shape, three operands and two switches"
)]
pub(crate) fn matmul<T: Real>(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [T],
    dst_row: usize,
    a: View<'_, T>,
    b: View<'_, T>,
    acc: bool,
    threads: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        (m - 1) * dst_row + n <= dst.len() && n <= dst_row,
        "matmul: the destination does not hold {m} × {n}"
    );
    assert!(
        a.covers(m, k) && b.covers(k, n),
        "matmul: an operand does not hold its matrix"
    );
    if k == 0 {
        if !acc {
            for r in dst.chunks_mut(dst_row).take(m) {
                r[..n].fill(T::of(0.0));
            }
        }
        return;
    }
    let par = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    #[allow(unsafe_code, reason = "gemm's entry point takes raw strided pointers")]
    // SAFETY: the asserts above check that every element the product reads or writes —
    // `dst[i·dst_row + j]` for i < m, j < n, `a[i·a.row + l·a.col]`, `b[l·b.row + j·b.col]` —
    // lies inside its slice; `dst` is borrowed mutably, so it does not alias `a` or `b`. `T`
    // is f32 or f64 (`Real`), types gemm implements.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_row as isize,
            acc,
            a.data.as_ptr(),
            a.col as isize,
            a.row as isize,
            b.data.as_ptr(),
            b.col as isize,
            b.row as isize,
            T::of(1.0),
            T::of(1.0),
            false,
            false,
            false,
            par,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matmul_on_strided_views_equals_the_naive_product() {
        // a: 3 × 4 read as the transpose of a 4 × 3 buffer; b: 4 × 2 taken from every other
        // column of a 4 × 4 buffer; dst: rows 5 apart, accumulating onto a bias.
        let at: Vec<f32> = (0..12).map(|v| v as f32 * 0.5 - 2.0).collect();
        let bb: Vec<f32> = (0..16).map(|v| (v as f32).sin()).collect();
        let a = View::dense(&at, 3).t();
        let b = View {
            data: &bb,
            row: 4,
            col: 2,
        };
        let mut dst = vec![1f32; 15];
        matmul(3, 2, 4, &mut dst, 5, a, b, true, 1);
        for i in 0..3 {
            for j in 0..2 {
                let want: f32 = 1.0
                    + (0..4)
                        .map(|l| at[l * 3 + i] * bb[l * 4 + j * 2])
                        .sum::<f32>();
                assert!((dst[i * 5 + j] - want).abs() < 1e-5);
            }
            assert_eq!(dst[i * 5 + 2], 1.0, "columns past n are untouched");
        }
        matmul(3, 2, 4, &mut dst, 5, a, b, false, 2);
        let want: f32 = (0..4).map(|l| at[l * 3] * bb[l * 4]).sum();
        assert!((dst[0] - want).abs() < 1e-5);
    }

    #[test]
    fn matmul_in_f64() {
        let a = [1.0f64, 2.0, 3.0, 4.0];
        let b = [0.5f64, -1.0, 2.0, 0.25];
        let mut dst = [10.0f64; 4];
        matmul(
            2,
            2,
            2,
            &mut dst,
            2,
            View::dense(&a, 2),
            View::dense(&b, 2),
            true,
            1,
        );
        assert_eq!(dst, [10.0 + 4.5, 10.0 - 0.5, 10.0 + 9.5, 10.0 - 2.0]);
    }
}
