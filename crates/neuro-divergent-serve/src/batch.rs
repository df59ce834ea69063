//! Dynamic batching: forecast requests for the same model version that arrive within a short
//! window are joined into one panel and computed in one forward pass, then split back.
//!
//! Requests are grouped only when their forecasts are computed alike: the same version, interval
//! levels, frequency, extra columns and date style, without future or static tables of their
//! own. Each request's series are renamed `k\u{1f}id` for its place `k` in the batch; interval
//! columns are added after the split, so that each series is scaled by its own history. When the
//! joined forecast fails, every request is computed on its own, so one request's error is its
//! own and never its neighbours'.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use neuro_divergent::data::{DsStyle, TimeSeriesFrame};
use neuro_divergent::forecast::PredictOptions;
use neuro_divergent::Forecasts;
use tokio::sync::oneshot;

use crate::api_error::ApiError;
use crate::compute::Compute;
use crate::metrics::Metrics;
use crate::models::Version;

/// Separates a request's place in the batch from its series ids.
const SEPARATOR: char = '\u{1f}';

/// What requests must share to be computed together.
#[derive(Clone, PartialEq, Eq, Hash)]
struct BatchKey {
    name: String,
    version: i64,
    levels: Vec<u64>,
    freq: String,
    extra_names: Vec<String>,
    ds_style: DsStyle,
}

/// A request waiting for its batch.
struct Job {
    frame: TimeSeriesFrame,
    reply: oneshot::Sender<Result<Forecasts, ApiError>>,
}

/// The requests gathered for one key, and which gathering they belong to.
struct Pending {
    generation: u64,
    jobs: Vec<Job>,
    version: Arc<Version>,
    levels: Vec<f64>,
}

/// Gathers requests into batches and computes them.
pub struct Batcher {
    window: Duration,
    max_batch: usize,
    pending: Mutex<HashMap<BatchKey, Pending>>,
    next_generation: AtomicU64,
    compute: Arc<Compute>,
    metrics: Arc<Metrics>,
}

impl Batcher {
    /// Batches requests arriving within `window` of the first, up to `max_batch` at a time.
    pub fn new(
        window: Duration,
        max_batch: usize,
        compute: Arc<Compute>,
        metrics: Arc<Metrics>,
    ) -> Batcher {
        Batcher {
            window,
            max_batch: max_batch.max(1),
            pending: Mutex::new(HashMap::new()),
            next_generation: AtomicU64::new(1),
            compute,
            metrics,
        }
    }

    /// The forecasts of `frame` by `version` at `levels`, computed with the other requests for
    /// the same version that arrive within the window.
    pub async fn forecast(
        self: &Arc<Self>,
        version: Arc<Version>,
        frame: TimeSeriesFrame,
        levels: Vec<f64>,
    ) -> Result<Forecasts, ApiError> {
        let key = BatchKey {
            name: version.info.name.clone(),
            version: version.info.version,
            levels: levels.iter().map(|l| l.to_bits()).collect(),
            freq: format!("{:?}", frame.freq()),
            extra_names: frame.extra_names().to_vec(),
            ds_style: frame.ds_style(),
        };
        let (reply, answer) = oneshot::channel();
        let job = Job { frame, reply };
        let poisoned = || ApiError::internal("the batch queue is poisoned".into());
        let (full, timer) = {
            let mut pending = self.pending.lock().map_err(|_| poisoned())?;
            let entry = pending.entry(key.clone());
            let mut timer = None;
            let gathering = entry.or_insert_with(|| {
                let generation = self.generation();
                timer = Some(generation);
                Pending {
                    generation,
                    jobs: Vec::new(),
                    version,
                    levels,
                }
            });
            gathering.jobs.push(job);
            let full = gathering.jobs.len() >= self.max_batch;
            let full = if full { pending.remove(&key) } else { None };
            (full, timer)
        };
        if let Some(batch) = full {
            self.spawn_run(batch);
        } else if let Some(generation) = timer {
            let batcher = Arc::clone(self);
            tokio::spawn(async move {
                tokio::time::sleep(batcher.window).await;
                let batch = {
                    let Ok(mut pending) = batcher.pending.lock() else {
                        return;
                    };
                    match pending.get(&key) {
                        Some(p) if p.generation == generation => pending.remove(&key),
                        _ => None,
                    }
                };
                if let Some(batch) = batch {
                    batcher.run(batch).await;
                }
            });
        }
        answer
            .await
            .map_err(|_| ApiError::internal("the batch was dropped before it answered".into()))?
    }

    fn generation(&self) -> u64 {
        self.next_generation.fetch_add(1, Ordering::Relaxed)
    }

    fn spawn_run(self: &Arc<Self>, batch: Pending) {
        let batcher = Arc::clone(self);
        tokio::spawn(async move { batcher.run(batch).await });
    }

    /// Computes a gathered batch and answers each request.
    async fn run(&self, batch: Pending) {
        self.metrics.batch(batch.jobs.len());
        let Pending {
            jobs,
            version,
            levels,
            ..
        } = batch;
        let (frames, replies): (Vec<TimeSeriesFrame>, Vec<_>) =
            jobs.into_iter().map(|j| (j.frame, j.reply)).unzip();
        let answers = match self
            .compute
            .run(move || compute_batch(&version, &frames, &levels))
            .await
        {
            Ok((answers, joined)) => {
                if !joined {
                    self.metrics.batch_fallback();
                }
                answers
            }
            Err(error) => replies.iter().map(|_| Err(error.clone())).collect(),
        };
        for (reply, answer) in replies.into_iter().zip(answers) {
            // A request that timed out no longer waits for its answer.
            let _ = reply.send(answer);
        }
    }
}

/// Forecasts of each frame: one joined forward pass, or one pass per frame when that fails
/// (then the flag is false).
fn compute_batch(
    version: &Version,
    frames: &[TimeSeriesFrame],
    levels: &[f64],
) -> (Vec<Result<Forecasts, ApiError>>, bool) {
    let forecaster = &version.forecaster;
    let predict = |frame: &TimeSeriesFrame| {
        forecaster
            .predict_with(PredictOptions {
                data: Some(frame),
                levels,
                ..PredictOptions::default()
            })
            .map_err(ApiError::from)
    };
    if frames.len() == 1 {
        return (vec![predict(&frames[0])], true);
    }
    let refs: Vec<&TimeSeriesFrame> = frames.iter().collect();
    let joined = TimeSeriesFrame::join_prefixed("data", &refs, |k| format!("{k}{SEPARATOR}"));
    // Intervals are added after the split: they scale each series by its own history.
    let points = |frame: &TimeSeriesFrame| {
        forecaster
            .predict_with(PredictOptions {
                data: Some(frame),
                ..PredictOptions::default()
            })
            .map_err(ApiError::from)
    };
    match joined
        .map_err(ApiError::from)
        .and_then(|frame| points(&frame))
    {
        Ok(forecasts) => {
            let parts = split(forecasts, frames.len()).into_iter().zip(frames);
            let answers = parts
                .map(|(part, frame)| match levels {
                    [] => Ok(part),
                    _ => forecaster
                        .add_intervals(part, levels, Some(frame))
                        .map_err(ApiError::from),
                })
                .collect();
            (answers, true)
        }
        Err(_) => (frames.iter().map(predict).collect(), false),
    }
}

/// Splits the forecasts of a joined panel back into one set per request, ids restored.
fn split(joined: Forecasts, parts: usize) -> Vec<Forecasts> {
    let empty = Forecasts {
        columns: joined.columns.clone(),
        ids: Vec::new(),
        ds: Vec::new(),
        cutoff: None,
        y: None,
        values: vec![Vec::new(); joined.columns.len()],
        ds_style: joined.ds_style,
        warnings: joined.warnings.clone(),
    };
    let mut out = vec![empty; parts];
    for (row, id) in joined.ids.iter().enumerate() {
        let Some((place, original)) = id.split_once(SEPARATOR) else {
            continue;
        };
        let Some(part) = place.parse::<usize>().ok().and_then(|k| out.get_mut(k)) else {
            continue;
        };
        part.ids.push(original.to_string());
        part.ds.push(joined.ds[row]);
        for (column, values) in part.values.iter_mut().zip(&joined.values) {
            column.push(values[row]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use neuro_divergent::data::Timestamp;

    use super::*;

    #[test]
    fn split_restores_each_request_and_its_ids() {
        let joined = Forecasts {
            columns: vec!["NHITS".into()],
            ids: vec![
                format!("0{SEPARATOR}a"),
                format!("1{SEPARATOR}a"),
                format!("1{SEPARATOR}b"),
            ],
            ds: vec![Timestamp::Int(5), Timestamp::Int(9), Timestamp::Int(7)],
            cutoff: None,
            y: None,
            values: vec![vec![1.0, 2.0, 3.0]],
            ds_style: DsStyle::default(),
            warnings: Vec::new(),
        };
        let parts = split(joined, 2);
        assert_eq!(parts[0].ids, ["a"]);
        assert_eq!(parts[0].values, [vec![1.0]]);
        assert_eq!(parts[1].ids, ["a", "b"]);
        assert_eq!(parts[1].ds, [Timestamp::Int(9), Timestamp::Int(7)]);
        assert_eq!(parts[1].values, [vec![2.0, 3.0]]);
    }
}
