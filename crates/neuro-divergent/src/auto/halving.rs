//! Asynchronous successive halving (ASHA, Li et al. 2020): a trial is stopped at a rung —
//! `grace · factorᵏ` steps, counted at the first validation check at or after it — when its
//! validation loss there is not among the best `1/factor` of the losses recorded at that rung. The records a trial is compared with are
//! those of the trials it may learn from (with `P` trials side by side, trial `k` learns from
//! trials `0..=k - P`), so that a search gives the same trials whichever trial runs fastest.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Successive-halving settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Halving {
    /// Steps before the first rung: trials always train this long.
    pub grace_steps: usize,
    /// Each rung keeps the best `1/factor` and is `factor` times as many steps as the last.
    pub factor: usize,
}

impl Halving {
    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        if self.grace_steps == 0 || self.factor < 2 {
            return Err(Error::Config(format!(
                "successive halving needs grace steps >= 1 and a factor >= 2, got {} and {}",
                self.grace_steps, self.factor
            )));
        }
        Ok(())
    }

    /// The largest rung after step `after` and at or before step `at`: the rung a validation
    /// check at `at` stands for when the previous check was at `after`.
    pub fn rung_reached(&self, after: usize, at: usize) -> Option<usize> {
        let mut rung = self.grace_steps;
        let mut reached = None;
        while rung <= at {
            if rung > after {
                reached = Some(rung);
            }
            rung = rung.checked_mul(self.factor)?;
        }
        reached
    }
}

/// Validation losses recorded at each rung, by step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rungs {
    losses: BTreeMap<usize, Vec<f64>>,
}

impl Rungs {
    /// Records a trial's validation loss at rung `step`.
    pub fn record(&mut self, step: usize, loss: f64) {
        self.losses.entry(step).or_default().push(loss);
    }

    /// Adds every record of `other`.
    pub fn merge(&mut self, other: &Rungs) {
        for (step, losses) in &other.losses {
            self.losses.entry(*step).or_default().extend(losses);
        }
    }

    /// True when a trial with validation loss `loss` at rung `step` stops: at least `factor`
    /// losses were recorded there and `loss` is worse than the best `1/factor` of them.
    pub fn stops(&self, halving: &Halving, step: usize, loss: f64) -> bool {
        let Some(recorded) = self.losses.get(&step) else {
            return false;
        };
        if recorded.len() < halving.factor || !loss.is_finite() {
            return recorded.len() >= halving.factor;
        }
        let mut sorted = recorded.clone();
        sorted.sort_by(f64::total_cmp);
        let kept = sorted.len() / halving.factor;
        loss > sorted[kept - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rungs_grow_by_the_factor_and_count_at_the_next_check() {
        let h = Halving {
            grace_steps: 100,
            factor: 3,
        };
        let rungs: Vec<usize> = (1..=2000)
            .filter_map(|s| h.rung_reached(s - 1, s))
            .collect();
        assert_eq!(rungs, [100, 300, 900]);
        // Checks every 250 steps: rung 100 at step 250, 300 at 500, 900 at 1000.
        let at: Vec<(usize, Option<usize>)> = (1..=4)
            .map(|k| (k * 250, h.rung_reached((k - 1) * 250, k * 250)))
            .collect();
        assert_eq!(
            at,
            [
                (250, Some(100)),
                (500, Some(300)),
                (750, None),
                (1000, Some(900))
            ]
        );
    }

    #[test]
    fn only_the_best_share_of_a_rung_continues() {
        let h = Halving {
            grace_steps: 10,
            factor: 3,
        };
        let mut rungs = Rungs::default();
        rungs.record(10, 5.0);
        rungs.record(10, 1.0);
        // Two records: too few to judge.
        assert!(!rungs.stops(&h, 10, 100.0));
        for loss in [2.0, 3.0, 4.0, 6.0] {
            rungs.record(10, loss);
        }
        // Six records keep the best two (1 and 2).
        assert!(!rungs.stops(&h, 10, 2.0));
        assert!(!rungs.stops(&h, 10, 0.5));
        assert!(rungs.stops(&h, 10, 2.5));
        assert!(rungs.stops(&h, 10, f64::NAN));
        // Other rungs have their own records.
        assert!(!rungs.stops(&h, 30, 100.0));
        assert!(Halving {
            grace_steps: 0,
            factor: 3
        }
        .validate()
        .is_err());
    }
}
