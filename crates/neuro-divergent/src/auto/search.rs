//! The search itself: trials drawn from a space, trained side by side (one tensor thread each),
//! scored by their last validation loss as NeuralForecast's `BaseAuto` scores them, and the
//! history kept for the table and the checkpoint.

use std::collections::BTreeMap;
use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::halving::{Halving, Rungs};
use super::space::{configured, SearchSpace, TrialConfig};
use super::tpe::{self, Observation};
use crate::data::{Freq, TimeSeriesFrame};
use crate::error::{Error, Result};
use crate::exog::StaticTable;
use crate::forecast::{FitOptions, NeuralForecast};
use crate::models::ModelSpec;
use crate::preprocess::FeatureConfig;
use crate::threads;
use crate::train::ProgressEvent;
use crate::ComputeDevice;

/// How a search chooses the configurations it tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum SearchAlgorithm {
    /// Every configuration drawn uniformly (NeuralForecast's default, Ray Tune's
    /// `BasicVariantGenerator`).
    #[default]
    Random,
    /// The Tree-structured Parzen Estimator (Optuna's default sampler; see [`super::tpe`]).
    Tpe,
}

crate::train::word_choices!(SearchAlgorithm, "search", "searches", {
    Random => "random",
    Tpe => "tpe",
});

/// A search for one model's hyperparameters.
#[derive(Debug, Clone)]
pub struct AutoSearch {
    /// The model with everything the search does not vary (the alias, the loss, the values
    /// the user set).
    pub spec: ModelSpec,
    /// The hyperparameters varied.
    pub space: SearchSpace,
    /// Trials to run (NeuralForecast's `num_samples`).
    pub num_samples: usize,
    /// How configurations are chosen.
    pub algorithm: SearchAlgorithm,
    /// Seed of the configurations drawn; with the same thread count a search repeats exactly.
    pub seed: u64,
    /// Stop poor trials early, when set.
    pub halving: Option<Halving>,
    /// Points held out at the end of each series to score trials on; 0 means the horizon,
    /// as in NeuralForecast.
    pub val_size: usize,
}

/// What a search trains on.
#[derive(Clone, Copy)]
pub struct SearchData<'a> {
    /// The series.
    pub frame: &'a TimeSeriesFrame,
    /// The frequency to insist on (`None`: the data's).
    pub freq: Option<Freq>,
    /// Calendar and derived features the models read.
    pub features: &'a FeatureConfig,
    /// Static exogenous values, when the model reads them.
    pub statics: Option<&'a Arc<StaticTable>>,
    /// Where trials train.
    pub device: ComputeDevice,
    /// Set from another thread to stop the search; it then fails with [`Error::Cancelled`].
    pub cancel: Option<&'a AtomicBool>,
}

/// How a trial ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrialState {
    /// Trained to the end.
    Complete,
    /// Stopped early by successive halving.
    Stopped,
    /// Could not train (its message says why).
    Failed,
}

impl TrialState {
    /// The state's name in tables.
    pub fn as_str(self) -> &'static str {
        match self {
            TrialState::Complete => "complete",
            TrialState::Stopped => "stopped",
            TrialState::Failed => "failed",
        }
    }
}

/// One trial of a search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// Its number, from 0, in the order trials were drawn.
    pub number: usize,
    /// The values it tried.
    pub config: TrialConfig,
    /// How it ended.
    pub state: TrialState,
    /// Its last validation loss (the score; lower is better), absent for failed trials.
    pub loss: Option<f64>,
    /// Training steps taken.
    pub steps: usize,
    /// Wall time in seconds.
    pub seconds: f64,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A finished search: its settings and every trial, kept with the chosen model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHistory {
    /// The model searched (its registry name).
    pub model: String,
    /// The search algorithm.
    pub algorithm: SearchAlgorithm,
    /// The seed of the configurations.
    pub seed: u64,
    /// Points held out to score trials on.
    pub val_size: usize,
    /// Successive halving, when used.
    pub halving: Option<Halving>,
    /// The space searched, in its JSON form.
    pub space: Value,
    /// Every trial, by number.
    pub trials: Vec<Trial>,
    /// The number of the best trial.
    pub best: usize,
}

impl SearchHistory {
    /// The best trial.
    pub fn best_trial(&self) -> &Trial {
        &self.trials[self.best]
    }
}

/// Writes the trials of `searches` as CSV: `model,trial,best,state,loss,steps,seconds,message`,
/// then one column per hyperparameter of any search (values as JSON text; strings bare).
pub fn write_trials_csv(searches: &Searches, out: &mut dyn Write) -> Result<()> {
    let mut keys: Vec<&String> = searches
        .values()
        .flat_map(|s| s.trials.iter().flat_map(|t| t.config.keys()))
        .collect();
    keys.sort();
    keys.dedup();
    let csv_error = |e: csv::Error| Error::Config(format!("writing the trials table: {e}"));
    let mut writer = csv::Writer::from_writer(out);
    let mut header: Vec<String> = [
        "model", "trial", "best", "state", "loss", "steps", "seconds", "message",
    ]
    .map(String::from)
    .to_vec();
    header.extend(keys.iter().map(|k| k.to_string()));
    writer.write_record(&header).map_err(csv_error)?;
    for (model, search) in searches {
        for t in &search.trials {
            let mut row = vec![
                model.clone(),
                t.number.to_string(),
                (t.number == search.best).to_string(),
                t.state.as_str().to_string(),
                t.loss.map(|l| l.to_string()).unwrap_or_default(),
                t.steps.to_string(),
                format!("{:.3}", t.seconds),
                t.message.clone().unwrap_or_default(),
            ];
            row.extend(keys.iter().map(|k| match t.config.get(*k) {
                Some(Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
                None => String::new(),
            }));
            writer.write_record(&row).map_err(csv_error)?;
        }
    }
    writer.flush().map_err(|e| csv_error(e.into()))
}

/// Reported as each trial ends.
pub struct TrialEvent<'a> {
    /// The trial.
    pub trial: &'a Trial,
    /// Trials finished so far.
    pub finished: usize,
    /// Trials in the search.
    pub total: usize,
}

/// The callback that receives trial events (on the thread that runs the search).
pub type TrialProgressFn<'a> = dyn Fn(&TrialEvent<'_>) + Send + Sync + 'a;

/// What one trial's run leaves: the trial and its losses at the rungs.
struct TrialRun {
    trial: Trial,
    rungs: Rungs,
}

impl AutoSearch {
    /// Checks the settings and the space against the model.
    pub fn validate(&self) -> Result<()> {
        if self.num_samples == 0 {
            return Err(Error::Config("num_samples must be at least 1".into()));
        }
        if let Some(h) = &self.halving {
            h.validate()?;
        }
        self.space.check_against(&self.spec)
    }

    /// The points held out to score trials on.
    pub fn scoring_size(&self) -> usize {
        if self.val_size > 0 {
            self.val_size
        } else {
            self.spec.h
        }
    }

    /// Runs the search and returns the best configuration's spec (under the search's alias)
    /// with the history. Trials that fail are recorded with their message; the search fails
    /// only when every trial does, with the first message. With the thread workers configured
    /// ([`threads::configure_threads`]), as many trials as workers train at once, one tensor
    /// thread each; trial `k` learns only from trials `0..=k - workers`, so that with the same
    /// seed and thread count a search repeats exactly.
    pub fn run(
        &self,
        data: &SearchData<'_>,
        progress: Option<&TrialProgressFn<'_>>,
    ) -> Result<(ModelSpec, SearchHistory)> {
        self.validate()?;
        let parallel = if threads::configured() {
            threads::workers().max(1)
        } else {
            1
        };
        let runs = self.run_trials(data, parallel, progress)?;
        let mut trials = Vec::with_capacity(runs.len());
        trials.extend(runs.into_iter().map(|r| r.trial));
        let best = ranked(&trials).first().map(|o| o.number).ok_or_else(|| {
            let first = trials
                .iter()
                .find_map(|t| t.message.clone())
                .unwrap_or_default();
            Error::Config(format!(
                "every trial of the {} search failed; the first: {first}",
                self.spec.display_name()
            ))
        })?;
        let spec = configured(&self.spec, &trials[best].config)?;
        let history = SearchHistory {
            model: self.spec.model_name().to_string(),
            algorithm: self.algorithm,
            seed: self.seed,
            val_size: self.scoring_size(),
            halving: self.halving,
            space: self.space.to_json(),
            trials,
            best,
        };
        Ok((spec, history))
    }

    /// Runs every trial, `parallel` at a time. With TPE or successive halving, trial `k`
    /// learns from trials `0..=k - parallel` only (its configuration, the rung records it is
    /// compared with) and starts once those have finished, so that the search does not depend
    /// on which trial finishes first; random search without halving learns nothing and starts
    /// each trial as soon as a thread is free. With `parallel` 1 the trials run one after
    /// another on the calling thread.
    fn run_trials(
        &self,
        data: &SearchData<'_>,
        parallel: usize,
        progress: Option<&TrialProgressFn<'_>>,
    ) -> Result<Vec<TrialRun>> {
        let n = self.num_samples;
        let learns = self.algorithm == SearchAlgorithm::Tpe || self.halving.is_some();
        let mut rng = StdRng::seed_from_u64(self.seed);
        let mut runs: Vec<Option<TrialRun>> = (0..n).map(|_| None).collect();
        let mut finished = 0usize;
        let mut record = |runs: &mut Vec<Option<TrialRun>>, number: usize, run: TrialRun| {
            finished += 1;
            if let Some(callback) = progress {
                callback(&TrialEvent {
                    trial: &run.trial,
                    finished,
                    total: n,
                });
            }
            runs[number] = Some(run);
        };
        // The trials trial `next` learns from, once they have all finished.
        let visible = |runs: &[Option<TrialRun>], next: usize| -> Option<(Vec<Trial>, Rungs)> {
            let known = if learns {
                &runs[..(next + 1).saturating_sub(parallel)]
            } else {
                &runs[..0]
            };
            let mut rungs = Rungs::default();
            let mut trials = Vec::with_capacity(known.len());
            for run in known {
                let run = run.as_ref()?;
                rungs.merge(&run.rungs);
                trials.push(run.trial.clone());
            }
            Some((trials, rungs))
        };
        let mut suggest = |trials: &[Trial]| match self.algorithm {
            SearchAlgorithm::Random => self.space.sample(&mut rng),
            SearchAlgorithm::Tpe => tpe::suggest(&self.space, &ranked(trials), &mut rng),
        };
        if parallel <= 1 {
            for number in 0..n {
                let (trials, rungs) = visible(&runs, number).expect("earlier trials finished");
                let config = suggest(&trials);
                let run = self.trial(data, number, config, &rungs)?;
                record(&mut runs, number, run);
            }
        } else {
            let (sender, receiver) = std::sync::mpsc::channel::<(usize, Result<TrialRun>)>();
            std::thread::scope(|scope| -> Result<()> {
                let (mut next, mut running) = (0usize, 0usize);
                while next < n || running > 0 {
                    while next < n && running < parallel {
                        let Some((trials, rungs)) = visible(&runs, next) else {
                            break;
                        };
                        let config = suggest(&trials);
                        let (number, sender) = (next, sender.clone());
                        scope.spawn(move || {
                            let run = std::panic::catch_unwind(AssertUnwindSafe(|| {
                                threads::solo(|| self.trial(data, number, config, &rungs))
                            }))
                            .unwrap_or_else(|panic| Err(panicked(number, panic.as_ref())));
                            // The receiver outlives every trial thread of the scope.
                            let _ = sender.send((number, run));
                        });
                        next += 1;
                        running += 1;
                    }
                    let (number, run) = receiver.recv().expect("a trial thread reports");
                    running -= 1;
                    match run {
                        Ok(run) => record(&mut runs, number, run),
                        // Cancelled (the other trials see the same flag and stop too),
                        // or a trial panicked: wait for the others, then fail.
                        Err(e) => {
                            while running > 0 {
                                let _ = receiver.recv();
                                running -= 1;
                            }
                            return Err(e);
                        }
                    }
                }
                Ok(())
            })?;
        }
        Ok(runs
            .into_iter()
            .map(|r| r.expect("every trial ran"))
            .collect())
    }

    /// Trains one configuration and scores it. A configuration the model refuses, or a
    /// training that fails, is a failed trial; only cancellation is an error.
    fn trial(
        &self,
        data: &SearchData<'_>,
        number: usize,
        config: TrialConfig,
        earlier: &Rungs,
    ) -> Result<TrialRun> {
        let started = Instant::now();
        let stop = Arc::new(AtomicBool::new(false));
        let records = Mutex::new(Rungs::default());
        let halted = Mutex::new(None::<(usize, f64)>);
        let outcome = configured(&self.spec, &config).and_then(|spec| {
            let check_every = spec.train.val_check_steps.min(spec.train.max_steps).max(1);
            // The step of the last validation check seen.
            let last_check = Mutex::new(0usize);
            let watch = |event: &ProgressEvent| {
                if data.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                    stop.store(true, Ordering::Relaxed);
                }
                let (Some(halving), Some(loss)) = (&self.halving, event.val_loss) else {
                    return;
                };
                if !event.step.is_multiple_of(check_every) {
                    return;
                }
                let mut last = last_check.lock().expect("check lock");
                // A rung counts at the first check at or after it.
                let rung = halving.rung_reached(*last, event.step);
                *last = event.step;
                let Some(rung) = rung else {
                    return;
                };
                records
                    .lock()
                    .expect("rung records lock")
                    .record(rung, loss);
                if event.step < event.max_steps && earlier.stops(halving, rung, loss) {
                    *halted.lock().expect("halt lock") = Some((event.step, loss));
                    stop.store(true, Ordering::Relaxed);
                }
            };
            let mut nf = NeuralForecast::new(vec![spec], data.freq)?
                .with_features(data.features.clone())?
                .with_device(data.device)?;
            let options = FitOptions {
                val_size: self.scoring_size(),
                cancel: Some(Arc::clone(&stop)),
                prediction_intervals: None,
                statics: data.statics.cloned(),
            };
            nf.fit(data.frame, options, Some(&watch))?;
            let report = nf.train_reports()[0].cloned().expect("a fit reports");
            Ok((report.steps, report.val_losses.last().map(|v| v.1)))
        });
        if data.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(Error::Cancelled(format!(
                "the {} search stopped at trial {number}",
                self.spec.display_name()
            )));
        }
        let seconds = started.elapsed().as_secs_f64();
        let halted = halted.into_inner().expect("halt lock");
        let (state, loss, steps, message) = match (outcome, halted) {
            (Ok((steps, Some(loss))), _) if loss.is_finite() => {
                (TrialState::Complete, Some(loss), steps, None)
            }
            (Ok((steps, _)), _) => (
                TrialState::Failed,
                None,
                steps,
                Some("no finite validation loss".to_string()),
            ),
            (Err(Error::Cancelled(_)), Some((step, loss))) => {
                (TrialState::Stopped, Some(loss), step, None)
            }
            (Err(e), _) => {
                // The first line: a tensor error's backtrace stays out of the table.
                let text = e.to_string();
                let first = text.lines().next().unwrap_or_default().to_string();
                (TrialState::Failed, None, 0, Some(first))
            }
        };
        Ok(TrialRun {
            trial: Trial {
                number,
                config,
                state,
                loss,
                steps,
                seconds,
                message,
            },
            rungs: records.into_inner().expect("rung records lock"),
        })
    }
}

/// The error a panicking trial becomes (a bug, reported rather than hanging the search).
fn panicked(number: usize, panic: &(dyn std::any::Any + Send)) -> Error {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    Error::Train(format!("trial {number} panicked: {message}"))
}

/// The scored trials, best first: completed ones by loss, then stopped ones by the step they
/// reached (furthest first) and loss. Ties keep trial order.
fn ranked(trials: &[Trial]) -> Vec<Observation<'_>> {
    let mut scored: Vec<&Trial> = trials
        .iter()
        .filter(|t| t.state != TrialState::Failed)
        .collect();
    scored.sort_by(|a, b| {
        let key = |t: &Trial| (t.state == TrialState::Stopped, std::cmp::Reverse(t.steps));
        let (ka, kb) = (key(a), key(b));
        let stopped_order = if ka.0 && kb.0 {
            ka.1.cmp(&kb.1)
        } else {
            ka.0.cmp(&kb.0)
        };
        stopped_order
            .then(
                a.loss
                    .unwrap_or(f64::INFINITY)
                    .total_cmp(&b.loss.unwrap_or(f64::INFINITY)),
            )
            .then(a.number.cmp(&b.number))
    });
    scored
        .into_iter()
        .map(|t| Observation {
            number: t.number,
            config: &t.config,
        })
        .collect()
}

/// The searches of a fit, by forecast column name, kept in checkpoints.
pub type Searches = BTreeMap<String, SearchHistory>;
