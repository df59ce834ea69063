//! Learning-rate schedules, as NeuralForecast users pick them with `lr_scheduler` and
//! `lr_scheduler_kwargs` (PyTorch's `StepLR`, `CosineAnnealingLR`, `OneCycleLR` and
//! `ReduceLROnPlateau`, with their keyword names and defaults), and NeuralForecast's own default:
//! the learning rate halved `num_lr_decays` times over training. Every schedule but `plateau` is
//! stepped once per optimisation step, as NeuralForecast does; `plateau` takes the monitored loss
//! at each validation check.

use std::f64::consts::PI;

use serde::{Deserialize, Serialize};

use super::kwargs;
use super::TrainConfig;
use crate::error::{Error, Result};

const PARAM: &str = "lr_scheduler_kwargs";

/// A learning-rate schedule by name, written in lower case in parameters (`step`, `cosine`,
/// `onecycle`, `plateau`; any case is read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum SchedulerName {
    /// `StepLR`: multiply by `gamma` every `step_size` steps.
    Step,
    /// `CosineAnnealingLR`: half a cosine from the learning rate down to `eta_min` over `T_max`
    /// steps.
    Cosine,
    /// `OneCycleLR`: warm up to `max_lr`, then anneal far below the start, cycling the momentum
    /// the other way.
    OneCycle,
    /// `ReduceLROnPlateau`: multiply by `factor` when the monitored loss stops improving.
    Plateau,
}

super::names::word_choices!(SchedulerName, "lr_scheduler", "schedules", {
    Step => "step",
    Cosine => "cosine",
    OneCycle => "onecycle",
    Plateau => "plateau",
});

/// What a schedule sets for one step: the learning rate and, for a one-cycle schedule, the
/// momentum (Adam's first beta).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rates {
    pub learning_rate: f64,
    pub momentum: Option<f64>,
}

/// A schedule being followed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LrSchedule {
    /// `base · gamma^⌊step / step_size⌋` (NeuralForecast's default: `gamma` 0.5 every
    /// `lr_decay_steps`, or never).
    Step {
        base: f64,
        step_size: Option<usize>,
        gamma: f64,
    },
    /// `eta_min + (base − eta_min)(1 + cos(π·step / T_max)) / 2`.
    Cosine {
        base: f64,
        t_max: usize,
        eta_min: f64,
    },
    /// PyTorch's one-cycle phases.
    OneCycle(OneCycle),
    /// PyTorch's reduce-on-plateau state.
    Plateau(Plateau),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepKwargs {
    step_size: Option<usize>,
    #[serde(default = "step_gamma")]
    gamma: f64,
}

fn step_gamma() -> f64 {
    0.1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CosineKwargs {
    #[serde(rename = "T_max")]
    t_max: Option<usize>,
    #[serde(default)]
    eta_min: f64,
}

/// How a one-cycle phase moves from its start to its end value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Anneal {
    /// Half a cosine.
    Cos,
    /// A straight line.
    Linear,
}

impl Anneal {
    /// The value `fraction` of the way from `start` to `end`.
    fn at(self, start: f64, end: f64, fraction: f64) -> f64 {
        match self {
            Anneal::Cos => end + (start - end) / 2.0 * ((PI * fraction).cos() + 1.0),
            Anneal::Linear => (end - start) * fraction + start,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct OneCycleKwargs {
    max_lr: Option<f64>,
    total_steps: Option<usize>,
    pct_start: f64,
    anneal_strategy: Anneal,
    cycle_momentum: bool,
    base_momentum: f64,
    max_momentum: f64,
    div_factor: f64,
    final_div_factor: f64,
    three_phase: bool,
}

impl Default for OneCycleKwargs {
    fn default() -> Self {
        OneCycleKwargs {
            max_lr: None,
            total_steps: None,
            pct_start: 0.3,
            anneal_strategy: Anneal::Cos,
            cycle_momentum: true,
            base_momentum: 0.85,
            max_momentum: 0.95,
            div_factor: 25.0,
            final_div_factor: 1e4,
            three_phase: false,
        }
    }
}

/// One phase of a one-cycle schedule: up to `end_step`, learning rate and momentum move
/// between these values.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Phase {
    end_step: f64,
    lr: (f64, f64),
    momentum: (f64, f64),
}

/// A one-cycle schedule.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OneCycle {
    phases: Vec<Phase>,
    anneal: Anneal,
    cycle_momentum: bool,
}

impl OneCycle {
    fn rates(&self, step: usize) -> Rates {
        let step = step as f64;
        let mut start_step = 0.0;
        for (i, phase) in self.phases.iter().enumerate() {
            if step <= phase.end_step || i + 1 == self.phases.len() {
                let fraction = (step - start_step) / (phase.end_step - start_step);
                let at = |(from, to): (f64, f64)| self.anneal.at(from, to, fraction);
                return Rates {
                    learning_rate: at(phase.lr),
                    momentum: self.cycle_momentum.then(|| at(phase.momentum)),
                };
            }
            start_step = phase.end_step;
        }
        unreachable!("a one-cycle schedule has phases")
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct PlateauKwargs {
    mode: String,
    factor: f64,
    patience: usize,
    threshold: f64,
    threshold_mode: ThresholdMode,
    cooldown: usize,
    min_lr: f64,
    eps: f64,
}

impl Default for PlateauKwargs {
    fn default() -> Self {
        PlateauKwargs {
            mode: "min".into(),
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            threshold_mode: ThresholdMode::Rel,
            cooldown: 0,
            min_lr: 0.0,
            eps: 1e-8,
        }
    }
}

/// Whether an improvement is measured relative to the best loss or in its units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ThresholdMode {
    /// Better means below `best · (1 − threshold)`.
    Rel,
    /// Better means below `best − threshold`.
    Abs,
}

/// A reduce-on-plateau schedule: settings and where it stands.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plateau {
    learning_rate: f64,
    factor: f64,
    patience: usize,
    threshold: f64,
    threshold_mode: ThresholdMode,
    cooldown: usize,
    min_lr: f64,
    eps: f64,
    best: f64,
    bad_checks: usize,
    cooldown_left: usize,
}

impl Plateau {
    fn is_better(&self, loss: f64) -> bool {
        match self.threshold_mode {
            ThresholdMode::Rel => loss < self.best * (1.0 - self.threshold),
            ThresholdMode::Abs => loss < self.best - self.threshold,
        }
    }

    /// One monitored loss, as `ReduceLROnPlateau.step` takes it.
    fn observe(&mut self, loss: f64) {
        if self.is_better(loss) {
            self.best = loss;
            self.bad_checks = 0;
        } else {
            self.bad_checks += 1;
        }
        if self.cooldown_left > 0 {
            self.cooldown_left -= 1;
            self.bad_checks = 0;
        }
        if self.bad_checks > self.patience {
            let reduced = (self.learning_rate * self.factor).max(self.min_lr);
            if self.learning_rate - reduced > self.eps {
                self.learning_rate = reduced;
            }
            self.cooldown_left = self.cooldown;
            self.bad_checks = 0;
        }
    }
}

impl LrSchedule {
    /// The schedule `config` asks for, with its keyword arguments checked.
    pub(crate) fn new(config: &TrainConfig) -> Result<LrSchedule> {
        let base = config.learning_rate;
        let Some(name) = config.lr_scheduler else {
            if !config.lr_scheduler_kwargs.is_empty() {
                return Err(Error::Config(
                    "lr_scheduler_kwargs are set but lr_scheduler is not: name the schedule \
                     (step, cosine, onecycle, plateau)"
                        .into(),
                ));
            }
            return Ok(LrSchedule::Step {
                base,
                step_size: config.lr_decay_steps(),
                gamma: 0.5,
            });
        };
        let given = &config.lr_scheduler_kwargs;
        let what = name.as_str();
        Ok(match name {
            SchedulerName::Step => {
                let k: StepKwargs = kwargs::read(PARAM, what, given)?;
                let step_size = k.step_size.or(config.lr_decay_steps()).ok_or_else(|| {
                    Error::Config(format!(
                        "{PARAM}: lr_scheduler=step needs step_size (or num_lr_decays above 0)"
                    ))
                })?;
                positive("step_size", step_size)?;
                kwargs::check_range(PARAM, "gamma", k.gamma, 0.0, f64::MAX)?;
                LrSchedule::Step {
                    base,
                    step_size: Some(step_size),
                    gamma: k.gamma,
                }
            }
            SchedulerName::Cosine => {
                let k: CosineKwargs = kwargs::read(PARAM, what, given)?;
                let t_max = k.t_max.unwrap_or(config.max_steps);
                positive("T_max", t_max)?;
                kwargs::check_range(PARAM, "eta_min", k.eta_min, 0.0, f64::MAX)?;
                LrSchedule::Cosine {
                    base,
                    t_max,
                    eta_min: k.eta_min,
                }
            }
            SchedulerName::OneCycle => {
                LrSchedule::OneCycle(one_cycle(kwargs::read(PARAM, what, given)?, config)?)
            }
            SchedulerName::Plateau => {
                let k: PlateauKwargs = kwargs::read(PARAM, what, given)?;
                if k.mode != "min" {
                    return Err(Error::Config(format!(
                        "{PARAM}: mode '{}' is not supported: the monitored losses are minimised \
                         (mode 'min')",
                        k.mode
                    )));
                }
                kwargs::check_range(PARAM, "factor", k.factor, 0.0, 1.0 - f64::EPSILON)?;
                kwargs::check_range(PARAM, "threshold", k.threshold, 0.0, f64::MAX)?;
                kwargs::check_range(PARAM, "min_lr", k.min_lr, 0.0, f64::MAX)?;
                kwargs::check_range(PARAM, "eps", k.eps, 0.0, f64::MAX)?;
                LrSchedule::Plateau(Plateau {
                    learning_rate: base,
                    factor: k.factor,
                    patience: k.patience,
                    threshold: k.threshold,
                    threshold_mode: k.threshold_mode,
                    cooldown: k.cooldown,
                    min_lr: k.min_lr,
                    eps: k.eps,
                    best: f64::INFINITY,
                    bad_checks: 0,
                    cooldown_left: 0,
                })
            }
        })
    }

    /// The learning rate (and momentum) of optimisation step `step` (0-based).
    pub(crate) fn rates(&self, step: usize) -> Rates {
        let learning_rate = match self {
            LrSchedule::Step {
                base,
                step_size,
                gamma,
            } => match step_size {
                Some(every) => base * gamma.powi((step / every) as i32),
                None => *base,
            },
            LrSchedule::Cosine {
                base,
                t_max,
                eta_min,
            } => {
                eta_min + (base - eta_min) * (1.0 + (PI * step as f64 / *t_max as f64).cos()) / 2.0
            }
            LrSchedule::OneCycle(cycle) => return cycle.rates(step),
            LrSchedule::Plateau(plateau) => plateau.learning_rate,
        };
        Rates {
            learning_rate,
            momentum: None,
        }
    }

    /// Takes the monitored loss of a validation check (the validation loss, or the mean
    /// training loss since the last check without validation data); only a plateau schedule
    /// reads it.
    pub(crate) fn observe(&mut self, loss: f64) {
        if let LrSchedule::Plateau(plateau) = self {
            plateau.observe(loss);
        }
    }
}

fn positive(key: &str, value: usize) -> Result<()> {
    if value == 0 {
        return Err(Error::Config(format!("{PARAM}: {key} must be at least 1")));
    }
    Ok(())
}

/// PyTorch's phases for a one-cycle schedule over `total_steps` (default `max_steps`) peaking
/// at `max_lr` (default `learning_rate`).
fn one_cycle(k: OneCycleKwargs, config: &TrainConfig) -> Result<OneCycle> {
    let max_lr = k.max_lr.unwrap_or(config.learning_rate);
    let total = k.total_steps.unwrap_or(config.max_steps);
    kwargs::check_range(PARAM, "max_lr", max_lr, f64::MIN_POSITIVE, f64::MAX)?;
    kwargs::check_range(PARAM, "pct_start", k.pct_start, 0.0, 1.0)?;
    for (key, value) in [
        ("div_factor", k.div_factor),
        ("final_div_factor", k.final_div_factor),
    ] {
        kwargs::check_range(PARAM, key, value, f64::MIN_POSITIVE, f64::MAX)?;
    }
    kwargs::check_range(PARAM, "base_momentum", k.base_momentum, 0.0, 1.0)?;
    kwargs::check_range(PARAM, "max_momentum", k.max_momentum, 0.0, 1.0)?;
    if total < config.max_steps {
        return Err(Error::Config(format!(
            "{PARAM}: total_steps ({total}) must cover max_steps ({})",
            config.max_steps
        )));
    }
    let up = k.pct_start * total as f64;
    let initial = max_lr / k.div_factor;
    let min = initial / k.final_div_factor;
    let (low, high) = (k.base_momentum, k.max_momentum);
    let last = total as f64 - 1.0;
    let phases = if k.three_phase {
        vec![
            Phase {
                end_step: up - 1.0,
                lr: (initial, max_lr),
                momentum: (high, low),
            },
            Phase {
                end_step: 2.0 * up - 2.0,
                lr: (max_lr, initial),
                momentum: (low, high),
            },
            Phase {
                end_step: last,
                lr: (initial, min),
                momentum: (high, high),
            },
        ]
    } else {
        vec![
            Phase {
                end_step: up - 1.0,
                lr: (initial, max_lr),
                momentum: (high, low),
            },
            Phase {
                end_step: last,
                lr: (max_lr, min),
                momentum: (low, high),
            },
        ]
    };
    // PyTorch divides by each phase's length: none may be empty.
    let mut start = 0.0;
    for phase in &phases {
        if phase.end_step <= start {
            return Err(Error::Config(format!(
                "{PARAM}: pct_start {} leaves an empty phase in total_steps {total}",
                k.pct_start
            )));
        }
        start = phase.end_step;
    }
    Ok(OneCycle {
        phases,
        anneal: k.anneal_strategy,
        cycle_momentum: k.cycle_momentum,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // `benches/torch_optimizers.py`'s output (torch.optim.lr_scheduler 2.15, float64).
    const TORCH_STEP: [f64; 10] = [
        0.01, 0.01, 0.01, 0.005, 0.005, 0.005, 0.0025, 0.0025, 0.0025, 0.00125,
    ];
    const TORCH_COSINE: [f64; 14] = [
        0.01,
        0.009779754323,
        0.009140576475,
        0.008145033635,
        0.006890576475,
        0.0055,
        0.004109423525,
        0.002854966365,
        0.001859423525,
        0.001220245677,
        0.001,
        0.001220245677,
        0.001859423525,
        0.002854966365,
    ];
    const TORCH_ONECYCLE_LR: [f64; 20] = [
        0.004,
        0.01316718427,
        0.03716718427,
        0.06683281573,
        0.09083281573,
        0.1,
        0.098746400624,
        0.095048463201,
        0.089091617757,
        0.081174565395,
        0.071694300179,
        0.061126202194,
        0.0500002,
        0.038874197806,
        0.028306099821,
        0.018825834605,
        0.010908782243,
        0.004951936799,
        0.001253999376,
        4e-07,
    ];
    const TORCH_ONECYCLE_MOMENTUM: [f64; 20] = [
        0.95,
        0.940450849719,
        0.915450849719,
        0.884549150281,
        0.859549150281,
        0.85,
        0.851253604391,
        0.854951556605,
        0.860908425877,
        0.868825509907,
        0.878305813044,
        0.888873953302,
        0.9,
        0.911126046698,
        0.921694186956,
        0.931174490093,
        0.939091574123,
        0.945048443395,
        0.948746395609,
        0.95,
    ];
    const TORCH_ONECYCLE3_LR: [f64; 20] = [
        0.004, 0.028, 0.052, 0.076, 0.1, 0.076, 0.052, 0.028, 0.004, 0.0036364, 0.0032728,
        0.0029092, 0.0025456, 0.002182, 0.0018184, 0.0014548, 0.0010912, 0.0007276, 0.000364,
        4e-07,
    ];
    const TORCH_ONECYCLE3_BETA1: [f64; 20] = [
        0.95, 0.925, 0.9, 0.875, 0.85, 0.875, 0.9, 0.925, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95,
        0.95, 0.95, 0.95, 0.95, 0.95,
    ];
    const PLATEAU_LOSSES: [f64; 16] = [
        5.0, 4.0, 4.0, 3.9999, 4.1, 3.0, 3.1, 3.2, 3.3, 3.0, 3.0, 2.0, 2.5, 2.5, 2.5, 2.5,
    ];
    const TORCH_PLATEAU: [f64; 16] = [
        0.01, 0.01, 0.01, 0.01, 0.005, 0.005, 0.005, 0.005, 0.0025, 0.0025, 0.0025, 0.0015, 0.0015,
        0.0015, 0.0015, 0.0015,
    ];

    fn config(scheduler: &str, kwargs: &str, max_steps: usize) -> TrainConfig {
        TrainConfig {
            learning_rate: 0.01,
            max_steps,
            lr_scheduler: Some(scheduler.parse().unwrap()),
            lr_scheduler_kwargs: serde_json::from_str(kwargs).unwrap(),
            ..TrainConfig::default()
        }
    }

    fn schedule(scheduler: &str, kwargs: &str, max_steps: usize) -> LrSchedule {
        LrSchedule::new(&config(scheduler, kwargs, max_steps)).unwrap()
    }

    fn assert_close(got: &[f64], want: &[f64], what: &str) {
        assert_eq!(got.len(), want.len(), "{what}");
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-10, "{what}: {got:?} vs {want:?}");
        }
    }

    fn learning_rates(schedule: &LrSchedule, steps: usize) -> Vec<f64> {
        (0..steps)
            .map(|s| schedule.rates(s).learning_rate)
            .collect()
    }

    #[test]
    fn step_and_cosine_match_torch() {
        let step = schedule("step", r#"{"step_size":3,"gamma":0.5}"#, 10);
        assert_close(&learning_rates(&step, 10), &TORCH_STEP, "step");
        let cosine = schedule("cosine", r#"{"T_max":10,"eta_min":0.001}"#, 14);
        assert_close(&learning_rates(&cosine, 14), &TORCH_COSINE, "cosine");
        // T_max defaults to max_steps: the rate ends near eta_min.
        let whole = schedule("cosine", "{}", 100);
        assert!(whole.rates(99).learning_rate < 1e-5);
        assert_eq!(whole.rates(0).momentum, None);
    }

    #[test]
    fn one_cycle_matches_torch_with_its_momentum() {
        for (kwargs, lr, momentum) in [
            (
                r#"{"max_lr":0.1,"total_steps":20}"#,
                TORCH_ONECYCLE_LR,
                TORCH_ONECYCLE_MOMENTUM,
            ),
            (
                r#"{"max_lr":0.1,"three_phase":true,"anneal_strategy":"linear","pct_start":0.25}"#,
                TORCH_ONECYCLE3_LR,
                TORCH_ONECYCLE3_BETA1,
            ),
        ] {
            let cycle = schedule("onecycle", kwargs, 20);
            let rates: Vec<Rates> = (0..20).map(|s| cycle.rates(s)).collect();
            let got_lr: Vec<f64> = rates.iter().map(|r| r.learning_rate).collect();
            let got_momentum: Vec<f64> = rates.iter().map(|r| r.momentum.unwrap()).collect();
            assert_close(&got_lr, &lr, kwargs);
            assert_close(&got_momentum, &momentum, kwargs);
        }
        let fixed = schedule("onecycle", r#"{"cycle_momentum":false}"#, 20);
        assert_eq!(fixed.rates(3).momentum, None);
    }

    #[test]
    fn plateau_matches_torch() {
        let mut plateau = schedule(
            "plateau",
            r#"{"patience":1,"cooldown":1,"factor":0.5,"min_lr":0.0015}"#,
            100,
        );
        let mut rates = Vec::new();
        for (step, loss) in PLATEAU_LOSSES.iter().enumerate() {
            rates.push(plateau.rates(step).learning_rate);
            plateau.observe(*loss);
        }
        assert_close(&rates, &TORCH_PLATEAU, "plateau");
    }

    #[test]
    fn the_default_halves_num_lr_decays_times() {
        let config = TrainConfig {
            max_steps: 500,
            num_lr_decays: 3,
            ..TrainConfig::default()
        };
        let default = LrSchedule::new(&config).unwrap();
        let at = |step| default.rates(step).learning_rate;
        assert_eq!((at(165), at(166), at(499)), (1e-3, 5e-4, 1.25e-4));
        let flat = LrSchedule::new(&TrainConfig::default()).unwrap();
        assert_eq!(flat.rates(10_000).learning_rate, 1e-3);
    }

    #[test]
    fn bad_settings_are_refused_by_name() {
        let refused = |scheduler: Option<&str>, kwargs: &str, max_steps: usize| {
            let mut config = config("step", kwargs, max_steps);
            config.lr_scheduler = scheduler.map(|s| s.parse().unwrap());
            LrSchedule::new(&config).unwrap_err().to_string()
        };
        let cases = [
            (
                None,
                r#"{"gamma":0.5}"#,
                10,
                "lr_scheduler_kwargs are set but lr_scheduler is not",
            ),
            (Some("step"), "{}", 10, "lr_scheduler=step needs step_size"),
            (
                Some("step"),
                r#"{"step_size":0}"#,
                10,
                "step_size must be at least 1",
            ),
            (
                Some("cosine"),
                r#"{"t_max":5}"#,
                10,
                "unknown field `t_max`, expected `T_max` or `eta_min`",
            ),
            (
                Some("onecycle"),
                r#"{"total_steps":5}"#,
                10,
                "total_steps (5) must cover max_steps (10)",
            ),
            (
                Some("onecycle"),
                r#"{"pct_start":1.0}"#,
                20,
                "leaves an empty phase",
            ),
            (
                Some("onecycle"),
                r#"{"pct_start":0.6,"three_phase":true}"#,
                20,
                "leaves an empty phase",
            ),
            (
                Some("plateau"),
                r#"{"mode":"max"}"#,
                10,
                "mode 'max' is not supported",
            ),
            (
                Some("onecycle"),
                r#"{"anneal_strategy":"exp"}"#,
                20,
                "unknown variant `exp`",
            ),
            (
                Some("plateau"),
                r#"{"factor":1.5}"#,
                10,
                "factor must be between 0 and",
            ),
            (
                Some("plateau"),
                r#"{"lr":0.1}"#,
                10,
                "set the learning rate with learning_rate",
            ),
        ];
        for (scheduler, kwargs, max_steps, expected) in cases {
            let message = refused(scheduler, kwargs, max_steps);
            assert!(message.contains(expected), "{kwargs}: {message}");
        }
        let unknown = "exponential"
            .parse::<SchedulerName>()
            .unwrap_err()
            .to_string();
        assert!(
            unknown.contains("available schedules are step, cosine, onecycle, plateau"),
            "{unknown}"
        );
        assert_eq!(
            "OneCycle".parse::<SchedulerName>().unwrap(),
            SchedulerName::OneCycle
        );
    }
}
