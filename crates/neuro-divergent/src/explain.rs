//! Explanations of forecasts by the models that make them interpretable (TFT): for every
//! forecast window, the weight each variable carried at each step and the attention each step
//! paid to the others, with the variables named. [`crate::NeuralForecast::explain`] makes
//! them; the CLI writes them as JSON (`--explain FILE.json`) and the Node package returns them.

use std::io::Write;

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::models::{ExogLists, Interpretation};

/// One interpretable model's explanation of its forecasts, one entry per forecast window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelExplanation {
    /// The model's forecast column (its alias or name).
    pub model: String,
    /// Steps of each window read (`L`).
    pub input_size: usize,
    /// Steps forecast (`H`).
    pub horizon: usize,
    /// The variables weighed at each window step, in the order of `past_importance`'s rows:
    /// the historic columns, the future columns (`repeated_target` when there are none: the
    /// window's last value repeated, as NeuralForecast's TFT reads it), then `observed_target`.
    pub past_variables: Vec<String>,
    /// The variables weighed at each horizon step: the future columns, or `repeated_target`.
    pub future_variables: Vec<String>,
    /// The static columns (none when the model reads none).
    pub static_variables: Vec<String>,
    /// One explanation per forecast window, in the forecasts' order.
    pub series: Vec<SeriesExplanation>,
}

/// What a model weighed to forecast one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesExplanation {
    /// The series.
    pub unique_id: String,
    /// `L` rows of the past variables' selection weights, each summing to 1.
    pub past_importance: Vec<Vec<f32>>,
    /// `H` rows of the future variables' selection weights, each summing to 1.
    pub future_importance: Vec<Vec<f32>>,
    /// The static variables' selection weights, summing to 1 (empty without static columns).
    pub static_importance: Vec<f32>,
    /// `L + H` rows (query steps, the window's first step first) of attention weights over the
    /// `L + H` steps, averaged over the heads; each row sums to 1 and gives no weight to later
    /// steps.
    pub attention: Vec<Vec<f32>>,
}

impl ModelExplanation {
    /// An explanation of `model` with no windows yet, its variables named from `lists` in the
    /// order an interpretable model (TFT) weighs them.
    pub fn new(model: &str, input_size: usize, horizon: usize, lists: &ExogLists) -> Self {
        let future_variables = match lists.futr_exog_list.is_empty() {
            true => vec!["repeated_target".to_string()],
            false => lists.futr_exog_list.clone(),
        };
        let past_variables = lists
            .hist_exog_list
            .iter()
            .chain(&future_variables)
            .cloned()
            .chain(std::iter::once("observed_target".to_string()))
            .collect();
        ModelExplanation {
            model: model.to_string(),
            input_size,
            horizon,
            past_variables,
            future_variables,
            static_variables: lists.stat_exog_list.clone(),
            series: Vec::new(),
        }
    }

    /// Adds the windows of a batch: `ids[b]` names window `b` of `interpretation`.
    pub fn push_batch(&mut self, ids: &[&str], interpretation: &Interpretation) -> Result<()> {
        let past = rows_per_window(&interpretation.past)?;
        let future = rows_per_window(&interpretation.future)?;
        let statics = match &interpretation.statics {
            Some(weights) => rows_per_window(&weights.unsqueeze(1)?)?
                .into_iter()
                .map(|mut rows| rows.pop().unwrap_or_default())
                .collect(),
            None => vec![Vec::new(); ids.len()],
        };
        let attention = rows_per_window(&interpretation.attention.mean(1)?)?;
        for ((((id, past), future), statics), attention) in
            ids.iter().zip(past).zip(future).zip(statics).zip(attention)
        {
            self.series.push(SeriesExplanation {
                unique_id: id.to_string(),
                past_importance: past,
                future_importance: future,
                static_importance: statics,
                attention,
            });
        }
        Ok(())
    }
}

/// `[B, R, C]` as `B` windows of `R` rows of `C` values.
fn rows_per_window(t: &Tensor) -> Result<Vec<Vec<Vec<f32>>>> {
    let (_, rows, columns) = t.dims3()?;
    let values: Vec<f32> = t.flatten_all()?.to_vec1()?;
    Ok(values
        .chunks(rows * columns.max(1))
        .map(|window| {
            window
                .chunks(columns.max(1))
                .map(|row| row.to_vec())
                .collect()
        })
        .collect())
}

/// Writes `explanations` as pretty-printed JSON (an array, one object per model).
pub fn write_json(explanations: &[ModelExplanation], out: &mut dyn Write) -> Result<()> {
    let io = |source: std::io::Error| Error::Io {
        path: "<explanation output>".into(),
        source,
    };
    serde_json::to_writer_pretty(&mut *out, explanations)
        .map_err(|e| io(std::io::Error::other(e)))?;
    writeln!(out).map_err(io)
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;

    #[test]
    fn variables_are_named_in_the_order_they_are_weighed() {
        let lists = ExogLists {
            hist_exog_list: vec!["x1".into()],
            futr_exog_list: vec!["f1".into(), "f2".into()],
            stat_exog_list: vec!["s1".into()],
        };
        let explanation = ModelExplanation::new("TFT", 4, 2, &lists);
        assert_eq!(
            explanation.past_variables,
            ["x1", "f1", "f2", "observed_target"]
        );
        assert_eq!(explanation.future_variables, ["f1", "f2"]);
        let bare = ModelExplanation::new("TFT", 4, 2, &ExogLists::default());
        assert_eq!(bare.past_variables, ["repeated_target", "observed_target"]);
        assert_eq!(bare.future_variables, ["repeated_target"]);
        assert!(bare.static_variables.is_empty());
    }

    #[test]
    fn a_batch_becomes_one_entry_per_window_with_heads_averaged() {
        let device = Device::Cpu;
        let interpretation = Interpretation {
            past: Tensor::new(&[[[0.25f32, 0.75]], [[1.0, 0.0]]], &device).unwrap(),
            future: Tensor::new(&[[[1f32]], [[1.0]]], &device).unwrap(),
            statics: None,
            // Two windows, two heads, two steps.
            attention: Tensor::new(
                &[
                    [[[1f32, 0.0], [0.5, 0.5]], [[1.0, 0.0], [0.1, 0.9]]],
                    [[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [1.0, 0.0]]],
                ],
                &device,
            )
            .unwrap(),
        };
        let mut explanation = ModelExplanation::new("TFT", 1, 1, &ExogLists::default());
        explanation
            .push_batch(&["a", "b"], &interpretation)
            .unwrap();
        let [a, b] = &explanation.series[..] else {
            panic!("two windows")
        };
        assert_eq!((a.unique_id.as_str(), b.unique_id.as_str()), ("a", "b"));
        assert_eq!(a.past_importance, [[0.25, 0.75]]);
        assert_eq!(a.attention[0], [1.0, 0.0]);
        assert!((a.attention[1][0] - 0.3).abs() < 1e-6 && (a.attention[1][1] - 0.7).abs() < 1e-6);
        assert_eq!(b.attention[1], [0.5, 0.5]);
        assert!(a.static_importance.is_empty());
        let mut json = Vec::new();
        write_json(std::slice::from_ref(&explanation), &mut json).unwrap();
        let back: Vec<ModelExplanation> = serde_json::from_slice(&json).unwrap();
        assert_eq!(back, [explanation]);
    }
}
