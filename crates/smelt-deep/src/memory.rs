//! Refusing a batch that will not fit: before a fit starts, the memory one mini-batch needs
//! (the activations kept for the backward pass and their gradients, plus the weights with
//! their gradients and optimizer moments) is estimated from the network's shapes and compared
//! with the memory the system has available. Too much is an error with both numbers and the
//! batch size that would fit — rather than a fit that swaps the machine to a halt or is
//! killed hours in.
//!
//! The estimates count the tensors the layers keep, in f32, times 2 for their gradients; they
//! are deliberately rough (within a factor of ~2 of what candle allocates) and only refuse
//! batches clearly beyond the machine.

use crate::error::{DeepError, Result};

/// Memory the system has available, in bytes (`MemAvailable` of `/proc/meminfo`; `None`
/// where that cannot be read).
pub fn available() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// `1.2 GB`-style sizes.
pub fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.1} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.0} MB", b / 1e6)
    } else {
        format!("{:.0} kB", b / 1e3)
    }
}

/// Bytes a fit needs: `floats_per_row` activation values per row of a batch of `batch` rows
/// (×2 for their gradients) and `weights` parameters (×4: values, gradients, two optimizer
/// moments), in f32.
pub fn needed(floats_per_row: u64, batch: usize, weights: u64) -> u64 {
    4 * (2 * floats_per_row.saturating_mul(batch as u64) + 4 * weights)
}

/// Refuses a batch of `batch` rows when [`needed`] is above 80 % of `available` memory.
/// `available: None` (not known) lets every batch through.
pub fn check(
    estimator: &str,
    floats_per_row: u64,
    batch: usize,
    weights: u64,
    available: Option<u64>,
    shorten: &str,
) -> Result<()> {
    let Some(avail) = available else {
        return Ok(());
    };
    let need = needed(floats_per_row, batch, weights);
    let budget = avail / 10 * 8;
    if need <= budget {
        return Ok(());
    }
    let per_row = 8 * floats_per_row.max(1);
    let fits = budget.saturating_sub(16 * weights) / per_row;
    let advice = if fits >= 1 {
        format!("lower --batch-size to {fits} or less")
    } else {
        format!("even one row does not fit: {shorten}")
    };
    Err(DeepError::Input(format!(
        "{estimator}: a batch of {batch} rows needs about {} of memory for activations, gradients and optimizer state, and {} is available; {advice}",
        human(need),
        human(avail)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_with_the_numbers_and_a_batch_that_fits() {
        // 1 M floats per row, 1,000 rows: 8 GB; 1 GB available.
        let err = check(
            "Net",
            1_000_000,
            1000,
            0,
            Some(1_000_000_000),
            "shorter inputs",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("8.0 GB") && err.contains("1.0 GB"), "{err}");
        assert!(err.contains("--batch-size to 100"), "{err}");
        assert!(check("Net", 1_000, 1000, 0, Some(1_000_000_000), "").is_ok());
        assert!(check("Net", u64::MAX / 4, 1000, 0, None, "").is_ok());
        let err = check(
            "Net",
            1_000_000_000,
            4,
            0,
            Some(1_000_000_000),
            "shorten max_length",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("shorten max_length"), "{err}");
    }
}
