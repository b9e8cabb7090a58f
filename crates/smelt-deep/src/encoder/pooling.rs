//! Token states → one sentence vector, as sentence-transformers' `Pooling` and `Normalize`
//! modules: each mode over the sentence's real tokens (padding never enters, there is none in
//! a packed batch), the modes concatenated in order, then optionally scaled to unit length
//! (`x / max(‖x‖₂, 1e-12)`, PyTorch's `F.normalize`).

use super::config::PoolingMode;

/// The width of the pooled vector: one hidden width per mode.
pub fn pooled_dim(hidden: usize, modes: &[PoolingMode]) -> usize {
    hidden * modes.len()
}

/// Pools one sentence's token states (`tokens`: `len × hidden`, row-major, `len ≥ 1`) into
/// `out` (`pooled_dim` values).
pub fn pool(
    tokens: &[f32],
    hidden: usize,
    modes: &[PoolingMode],
    normalize: bool,
    out: &mut [f32],
) {
    let len = tokens.len() / hidden;
    debug_assert!(len >= 1 && tokens.len() == len * hidden);
    debug_assert_eq!(out.len(), pooled_dim(hidden, modes));
    for (mode, dst) in modes.iter().zip(out.chunks_exact_mut(hidden)) {
        match mode {
            PoolingMode::Cls => dst.copy_from_slice(&tokens[..hidden]),
            PoolingMode::Max => {
                dst.copy_from_slice(&tokens[..hidden]);
                for row in tokens.chunks_exact(hidden).skip(1) {
                    for (m, &v) in dst.iter_mut().zip(row) {
                        *m = m.max(v);
                    }
                }
            }
            PoolingMode::Mean | PoolingMode::MeanSqrtLen => {
                // Sums in f64: a 512-token sum in f32 would lose a few ulps.
                let mut sum = vec![0f64; hidden];
                for row in tokens.chunks_exact(hidden) {
                    for (s, &v) in sum.iter_mut().zip(row) {
                        *s += f64::from(v);
                    }
                }
                let div = if *mode == PoolingMode::Mean {
                    len as f64
                } else {
                    (len as f64).sqrt()
                };
                for (d, s) in dst.iter_mut().zip(&sum) {
                    *d = (s / div) as f32;
                }
            }
        }
    }
    if normalize {
        let norm = out
            .iter()
            .map(|&v| f64::from(v) * f64::from(v))
            .sum::<f64>()
            .sqrt()
            .max(1e-12);
        for v in out.iter_mut() {
            *v = (f64::from(*v) / norm) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKENS: [f32; 6] = [1.0, -2.0, 3.0, 4.0, 5.0, -6.0]; // 3 tokens × 2

    #[test]
    fn each_mode_by_hand() {
        let mut out = [0f32; 2];
        pool(&TOKENS, 2, &[PoolingMode::Cls], false, &mut out);
        assert_eq!(out, [1.0, -2.0]);
        pool(&TOKENS, 2, &[PoolingMode::Max], false, &mut out);
        assert_eq!(out, [5.0, 4.0]);
        pool(&TOKENS, 2, &[PoolingMode::Mean], false, &mut out);
        assert_eq!(out, [3.0, -4.0 / 3.0]);
        pool(&TOKENS, 2, &[PoolingMode::MeanSqrtLen], false, &mut out);
        assert!((out[0] - 9.0 / 3f32.sqrt()).abs() < 1e-6);
    }

    #[test]
    fn modes_concatenate_then_normalise() {
        let mut out = [0f32; 4];
        pool(
            &TOKENS,
            2,
            &[PoolingMode::Cls, PoolingMode::Mean],
            true,
            &mut out,
        );
        let raw = [1.0f32, -2.0, 3.0, -4.0 / 3.0];
        let n = raw.iter().map(|v| v * v).sum::<f32>().sqrt();
        for (o, r) in out.iter().zip(raw) {
            assert!((o - r / n).abs() < 1e-6);
        }
        let mut zero = [1f32; 2];
        pool(&[0.0, 0.0], 2, &[PoolingMode::Mean], true, &mut zero);
        assert_eq!(zero, [0.0, 0.0], "a zero vector stays zero, no NaN");
    }
}
