//! What a model reads for a batch of windows, and the one way models turn exogenous inputs into
//! features: flattened (optionally pooled along time) and concatenated after the target.

use candle_core::Tensor;

use crate::error::{Error, Result};

/// The order of the exogenous blocks after the target value in the per-step features of a
/// model that forecasts one step at a time (it decides which input weights read which values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepFeatureOrder {
    /// Historic, future, then static values (NeuralForecast's DeepAR).
    HistFutrStat,
    /// Historic, static, then future values (NeuralForecast's RNN, LSTM and GRU), as in
    /// [`ModelInput::per_step_features`].
    HistStatFutr,
}

impl StepFeatureOrder {
    /// The blocks present, the value first, in this order.
    fn arrange(
        self,
        value: Tensor,
        hist: Option<Tensor>,
        futr: Option<Tensor>,
        stat: Option<Tensor>,
    ) -> Vec<Tensor> {
        let rest = match self {
            StepFeatureOrder::HistFutrStat => [hist, futr, stat],
            StepFeatureOrder::HistStatFutr => [hist, stat, futr],
        };
        std::iter::once(value)
            .chain(rest.into_iter().flatten())
            .collect()
    }
}

/// Reduces `[N, T]` series along time to `[N, T']` (a model's pooling of exogenous inputs).
pub type Pooling<'a> = dyn Fn(&Tensor) -> Result<Tensor> + 'a;

/// One batch of model inputs, all scaled.
#[derive(Debug, Clone)]
pub struct ModelInput {
    /// `[B, L]` insample target values.
    pub insample: Tensor,
    /// `[B, L]` 1 where the insample value is observed.
    pub insample_mask: Tensor,
    /// `[B, L, X]` historic exogenous values, when the model reads any.
    pub hist: Option<Tensor>,
    /// `[B, L + H, F]` future exogenous values, when the model reads any.
    pub futr: Option<Tensor>,
    /// `[B, S]` static exogenous values, when the model reads any.
    pub stat: Option<Tensor>,
    /// `[B, H]` scaled outsample targets, given while training to models that forecast one
    /// step at a time (teacher forcing; see [`crate::autoregressive`]); `None` otherwise.
    pub teacher: Option<Tensor>,
}

impl ModelInput {
    /// A batch without exogenous inputs.
    pub fn target_only(insample: Tensor, insample_mask: Tensor) -> ModelInput {
        ModelInput {
            insample,
            insample_mask,
            hist: None,
            futr: None,
            stat: None,
            teacher: None,
        }
    }

    /// The windows `rows` of the batch (views, no copy).
    pub(crate) fn rows(&self, rows: std::ops::Range<usize>) -> Result<ModelInput> {
        self.map_rows(|t| Ok(t.narrow(0, rows.start, rows.len())?))
    }

    /// The batch with `f` applied to every tensor (each `[B, ...]`, windows along the first
    /// dimension), e.g. to select or repeat windows.
    pub(crate) fn map_rows(&self, f: impl Fn(&Tensor) -> Result<Tensor>) -> Result<ModelInput> {
        let optional = |t: &Option<Tensor>| t.as_ref().map(&f).transpose();
        Ok(ModelInput {
            insample: f(&self.insample)?,
            insample_mask: f(&self.insample_mask)?,
            hist: optional(&self.hist)?,
            futr: optional(&self.futr)?,
            stat: optional(&self.stat)?,
            teacher: optional(&self.teacher)?,
        })
    }

    /// The exogenous inputs as flat `[B, n]` feature blocks (historic, future, static, those
    /// present), each temporal one first reduced along time by `pool` when given, which maps
    /// `[N, T]` to `[N, T']`. Temporal blocks are laid out time step by time step (all columns of
    /// the first step, then of the next), as NeuralForecast flattens them.
    pub fn exog_features(&self, pool: Option<&Pooling<'_>>) -> Result<Vec<Tensor>> {
        let mut blocks = Vec::with_capacity(3);
        for temporal in [&self.hist, &self.futr].into_iter().flatten() {
            let (batch, time, columns) = temporal.dims3()?;
            let flat = match pool {
                // `[B, T, C]` in row-major order is already time step by time step.
                None => temporal.reshape((batch, time * columns))?,
                Some(pool) => {
                    let series = temporal
                        .transpose(1, 2)?
                        .contiguous()?
                        .reshape((batch * columns, time))?;
                    let pooled = pool(&series)?;
                    let steps = pooled.dim(1)?;
                    pooled
                        .reshape((batch, columns, steps))?
                        .transpose(1, 2)?
                        .contiguous()?
                        .reshape((batch, steps * columns))?
                }
            };
            blocks.push(flat);
        }
        if let Some(stat) = &self.stat {
            blocks.push(stat.clone());
        }
        Ok(blocks)
    }

    /// The insample window as per-step features `[B, L, 1 + X + S + F]`, the input of sequence
    /// encoders (recurrent and convolutional): at each step the target, that step's historic
    /// values, the static values and that step's future values (width
    /// [`WindowShape::per_step_width`](crate::windows::WindowShape::per_step_width)).
    pub fn per_step_features(&self) -> Result<Tensor> {
        let (batch, steps) = self.insample.dims2()?;
        let futr = match &self.futr {
            Some(futr) => Some(futr.narrow(1, 0, steps)?),
            None => None,
        };
        let blocks = StepFeatureOrder::HistStatFutr.arrange(
            self.insample.unsqueeze(2)?,
            self.hist.clone(),
            futr,
            self.stat_over_steps(batch, steps)?,
        );
        Ok(Tensor::cat(&blocks, 2)?)
    }

    /// The static values repeated at each of `steps` steps (`[B, steps, S]`), when there are any.
    fn stat_over_steps(&self, batch: usize, steps: usize) -> Result<Option<Tensor>> {
        Ok(match &self.stat {
            Some(stat) => Some(
                stat.unsqueeze(1)?
                    .broadcast_as((batch, steps, stat.dim(1)?))?,
            ),
            None => None,
        })
    }

    /// The per-step features `[B, T, 1 + X + S + F]` of a model that forecasts one step at a time
    /// ([`crate::autoregressive`]), over the insample values followed by the first
    /// `teacher_steps` outsample values ([`ModelInput::teacher`]): at each position its value and
    /// the exogenous values of the position after it, the one it predicts, as NeuralForecast
    /// shifts its recurrent windows. Historic values are zero past the insample part, where they
    /// are unknown.
    pub fn shifted_step_features(
        &self,
        teacher_steps: usize,
        order: StepFeatureOrder,
    ) -> Result<Tensor> {
        let (batch, insample) = self.insample.dims2()?;
        let steps = insample + teacher_steps;
        let mut values = vec![self.insample.clone()];
        if teacher_steps > 0 {
            let teacher = self.teacher.as_ref().ok_or_else(|| {
                Error::Train("a teacher-forced training pass needs the outsample targets".into())
            })?;
            values.push(teacher.narrow(1, 0, teacher_steps)?);
        }
        let value = Tensor::cat(&values, 1)?.unsqueeze(2)?;
        let hist = match &self.hist {
            Some(hist) => {
                let known = hist.narrow(1, 1, insample - 1)?;
                let unknown_steps = steps + 1 - insample;
                let unknown = Tensor::zeros(
                    (batch, unknown_steps, hist.dim(2)?),
                    hist.dtype(),
                    hist.device(),
                )?;
                Some(Tensor::cat(&[known, unknown], 1)?)
            }
            None => None,
        };
        let futr = match &self.futr {
            Some(futr) => Some(futr.narrow(1, 1, steps)?),
            None => None,
        };
        let blocks = order.arrange(value, hist, futr, self.stat_over_steps(batch, steps)?);
        Ok(Tensor::cat(&blocks, 2)?.contiguous()?)
    }

    /// The features `[B, 1 + X + S + F]` that forecast step `step` (counted from 0) is computed
    /// from: `y: [B]`, the scaled value of step `step - 1` (a forecast or a draw), then the
    /// exogenous values of step `step`, historic ones zero (unknown over the horizon).
    pub fn forecast_step_features(
        &self,
        y: &Tensor,
        step: usize,
        order: StepFeatureOrder,
    ) -> Result<Tensor> {
        let (batch, insample) = self.insample.dims2()?;
        let value = y.reshape((batch, 1))?;
        let hist = match &self.hist {
            Some(hist) => Some(Tensor::zeros(
                (batch, hist.dim(2)?),
                hist.dtype(),
                hist.device(),
            )?),
            None => None,
        };
        let futr = match &self.futr {
            Some(futr) => Some(futr.narrow(1, insample + step, 1)?.squeeze(1)?),
            None => None,
        };
        let blocks = order.arrange(value, hist, futr, self.stat.clone());
        Ok(Tensor::cat(&blocks, 1)?)
    }

    /// `features` (`[B, H, C]`, one row per horizon step) followed by the future exogenous
    /// values of each horizon step, when the model reads any (`[B, H, C + F]`).
    pub fn append_futr_horizon(&self, features: Tensor) -> Result<Tensor> {
        let Some(futr) = &self.futr else {
            return Ok(features);
        };
        let steps = self.insample.dim(1)?;
        let horizon = futr.dim(1)? - steps;
        Ok(Tensor::cat(
            &[features, futr.narrow(1, steps, horizon)?],
            2,
        )?)
    }

    /// `first` followed by the exogenous feature blocks (see [`ModelInput::exog_features`]),
    /// concatenated along features.
    pub fn with_exog(&self, first: &Tensor, pool: Option<&Pooling<'_>>) -> Result<Tensor> {
        let blocks = self.exog_features(pool)?;
        if blocks.is_empty() {
            return Ok(first.clone());
        }
        let mut all = Vec::with_capacity(blocks.len() + 1);
        all.push(first.clone());
        all.extend(blocks);
        Ok(Tensor::cat(&all, 1)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn exogenous_blocks_are_flattened_step_by_step() {
        let dev = Device::Cpu;
        let insample = Tensor::new(&[[1.0f32, 2.0]], &dev).unwrap();
        let mut input = ModelInput::target_only(insample.clone(), insample.ones_like().unwrap());
        // [1, 2, 2]: time-major columns a = (10, 20), b = (30, 40).
        input.hist = Some(Tensor::new(&[[[10.0f32, 30.0], [20.0, 40.0]]], &dev).unwrap());
        input.stat = Some(Tensor::new(&[[5.0f32]], &dev).unwrap());
        let all = input.with_exog(&insample, None).unwrap();
        assert_eq!(
            all.to_vec2::<f32>().unwrap(),
            vec![vec![1.0, 2.0, 10.0, 30.0, 20.0, 40.0, 5.0]]
        );
        let last = |x: &Tensor| -> Result<Tensor> { Ok(x.narrow(1, 1, 1)?) };
        let pooled = input.with_exog(&insample, Some(&last)).unwrap();
        assert_eq!(
            pooled.to_vec2::<f32>().unwrap(),
            vec![vec![1.0, 2.0, 20.0, 40.0, 5.0]]
        );
    }
}
