//! Learning-rate schedules, after PyTorch's `torch.optim.lr_scheduler`: constant, step decay,
//! cosine annealing, one-cycle, and reduce-on-plateau, each with an optional linear warm-up.
//! The rate is computed per mini-batch from the position in training, so a resumed run gets
//! the same rates as an uninterrupted one (plateau's state is checkpointed).

use serde::{Deserialize, Serialize};

/// Which schedule, by name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleKind {
    /// The base rate throughout.
    #[default]
    Constant,
    /// Multiplied by `gamma` every `step_size` epochs (`StepLR`).
    Step,
    /// Cosine annealing from the base rate to 0 over the whole run, per batch
    /// (`CosineAnnealingLR` with `T_max` = all steps).
    Cosine,
    /// One cycle (`OneCycleLR`, cosine annealing, `pct_start` 0.3, `div_factor` 25,
    /// `final_div_factor` 1e4): up to the base rate, then down to almost nothing.
    OneCycle,
    /// Multiplied by `gamma` when the validation loss has not improved for `patience`
    /// epochs (`ReduceLROnPlateau`, mode min, threshold 1e-4 relative).
    Plateau,
}

/// A schedule with its settings and state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// The shape.
    pub kind: ScheduleKind,
    /// The base (peak) learning rate.
    pub base: f64,
    /// Decay factor of `step` and `plateau`.
    pub gamma: f64,
    /// Epochs between decays (`step`).
    pub step_size: usize,
    /// Epochs without improvement before a plateau decay.
    pub patience: usize,
    /// Mini-batches of linear warm-up from 0 (0: none); not for `one_cycle`, which warms up
    /// by itself.
    pub warmup_steps: usize,
    /// Plateau's current multiplier.
    pub plateau_factor: f64,
    /// Plateau's best loss so far.
    pub plateau_best: f64,
    /// Plateau's epochs without improvement.
    pub plateau_bad: usize,
}

impl Schedule {
    /// A schedule starting at `base`.
    pub fn new(kind: ScheduleKind, base: f64) -> Self {
        Schedule {
            kind,
            base,
            gamma: 0.1,
            step_size: 30,
            patience: 5,
            warmup_steps: 0,
            plateau_factor: 1.0,
            plateau_best: f64::MAX,
            plateau_bad: 0,
        }
    }

    /// The rate for 0-based global step `step` of `total` (epoch `epoch`, 0-based).
    pub fn rate(&self, epoch: usize, step: usize, total: usize) -> f64 {
        let total = total.max(1);
        let lr = match self.kind {
            ScheduleKind::Constant => self.base,
            ScheduleKind::Step => {
                self.base
                    * self
                        .gamma
                        .powi((epoch / self.step_size.max(1)).min(i32::MAX as usize) as i32)
            }
            ScheduleKind::Cosine => {
                let t = step as f64 / total as f64;
                0.5 * self.base * (1.0 + (std::f64::consts::PI * t).cos())
            }
            ScheduleKind::OneCycle => {
                let (pct, div, final_div) = (0.3, 25.0, 1e4);
                let initial = self.base / div;
                let min = initial / final_div;
                let up = (pct * total as f64 - 1.0).max(1.0);
                let s = step as f64;
                let cos = |from: f64, to: f64, t: f64| {
                    to + (from - to) / 2.0
                        * (1.0 + (std::f64::consts::PI * t.clamp(0.0, 1.0)).cos())
                };
                if s <= up {
                    cos(initial, self.base, s / up)
                } else {
                    let down = (total as f64 - 1.0 - up).max(1.0);
                    cos(self.base, min, (s - up) / down)
                }
            }
            ScheduleKind::Plateau => self.base * self.plateau_factor,
        };
        if self.warmup_steps > 0 && self.kind != ScheduleKind::OneCycle && step < self.warmup_steps
        {
            lr * (step + 1) as f64 / self.warmup_steps as f64
        } else {
            lr
        }
    }

    /// Tells a plateau schedule the epoch's validation loss (other kinds ignore it).
    pub fn observe(&mut self, valid_loss: f64) {
        if self.kind != ScheduleKind::Plateau || !valid_loss.is_finite() {
            return;
        }
        if valid_loss < self.plateau_best * (1.0 - 1e-4) {
            self.plateau_best = valid_loss;
            self.plateau_bad = 0;
        } else {
            self.plateau_bad += 1;
            if self.plateau_bad > self.patience {
                self.plateau_factor *= self.gamma;
                self.plateau_bad = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let c = Schedule::new(ScheduleKind::Constant, 0.1);
        assert!((c.rate(3, 50, 100) - 0.1).abs() < 1e-12);
        let mut s = Schedule::new(ScheduleKind::Step, 0.1);
        s.step_size = 2;
        assert!((s.rate(1, 0, 10) - 0.1).abs() < 1e-12);
        assert!((s.rate(2, 0, 10) - 0.01).abs() < 1e-12);
        let cos = Schedule::new(ScheduleKind::Cosine, 1.0);
        assert!((cos.rate(0, 0, 100) - 1.0).abs() < 1e-12);
        assert!((cos.rate(0, 50, 100) - 0.5).abs() < 1e-12);
        assert!(cos.rate(0, 99, 100) < 0.01);
        let one = Schedule::new(ScheduleKind::OneCycle, 1.0);
        assert!((one.rate(0, 0, 100) - 0.04).abs() < 1e-9);
        let peak = (0..100).map(|s| one.rate(0, s, 100)).fold(0.0, f64::max);
        assert!((peak - 1.0).abs() < 1e-9);
        assert!(one.rate(0, 99, 100) < 1e-5);
        let mut w = Schedule::new(ScheduleKind::Constant, 1.0);
        w.warmup_steps = 4;
        assert!((w.rate(0, 0, 100) - 0.25).abs() < 1e-12);
        assert!((w.rate(0, 4, 100) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn plateau_decays_after_patience() {
        let mut p = Schedule::new(ScheduleKind::Plateau, 1.0);
        p.patience = 2;
        p.observe(1.0);
        for _ in 0..2 {
            p.observe(1.0);
        }
        assert!((p.rate(0, 0, 1) - 1.0).abs() < 1e-12);
        p.observe(1.0);
        assert!((p.rate(0, 0, 1) - 0.1).abs() < 1e-12);
    }
}
