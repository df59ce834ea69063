//! The encoder and decoder layers of the decomposition transformers (Autoformer, Wu et al.,
//! 2021; FEDformer, Zhou et al., 2022), as NeuralForecast builds them: after every sublayer the
//! tokens are split by a moving average ([`decompose`]) and only the seasonal part goes on; the
//! decoder gathers the trend parts it removes and projects them to the output width for the
//! trend accumulation. What mixes the tokens over time (auto-correlation, frequency blocks) is a
//! [`SequenceMixer`] the model chooses.

use candle_core::Tensor;

use super::{
    decompose, Activation, AutoCorrelation, CircularConv, Dropout, FourierBlock,
    FourierCrossAttention, ParamStore, PositionWiseFeedForward,
};
use crate::error::Result;

/// The attention sublayer of a decomposition layer: tokens `x` (`[B, L, hidden]`) mixed over
/// time, reading `memory` (`[B, S, hidden]`: `x` itself for self-attention).
pub trait SequenceMixer: std::fmt::Debug + Send + Sync {
    /// The mixed tokens, `[B, L, hidden]`.
    fn forward(&self, x: &Tensor, memory: &Tensor, train: bool) -> Result<Tensor>;
}

impl SequenceMixer for AutoCorrelation {
    fn forward(&self, x: &Tensor, memory: &Tensor, train: bool) -> Result<Tensor> {
        AutoCorrelation::forward(self, x, memory, train)
    }
}

/// The frequency block reads its queries only.
impl SequenceMixer for FourierBlock {
    fn forward(&self, x: &Tensor, _memory: &Tensor, _train: bool) -> Result<Tensor> {
        FourierBlock::forward(self, x)
    }
}

impl SequenceMixer for FourierCrossAttention {
    fn forward(&self, x: &Tensor, memory: &Tensor, _train: bool) -> Result<Tensor> {
        FourierCrossAttention::forward(self, x, memory)
    }
}

/// Makes a layer's attention sublayer called `name` in the store (called where PyTorch creates
/// it, so that the parameters are drawn in NeuralForecast's order).
pub type MixerMaker<'a> = &'a dyn Fn(&mut ParamStore, &str) -> Result<Box<dyn SequenceMixer>>;

/// The sizes and rates shared by the layers of one decomposition transformer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecompositionSpec {
    /// Features per token.
    pub hidden: usize,
    /// Units of the feed-forward sublayer.
    pub ff_hidden: usize,
    /// Dropout after each sublayer and inside the feed-forward sublayer.
    pub dropout: f64,
    /// Non-linearity of the feed-forward sublayer.
    pub activation: Activation,
    /// Steps of the moving average that splits off the trend (odd).
    pub moving_avg: usize,
}

impl DecompositionSpec {
    /// NeuralForecast's two kernel-1 convolutions without bias, `{name}.conv1` and `.conv2`.
    fn feed_forward(
        &self,
        store: &mut ParamStore,
        name: &str,
        seed: u64,
    ) -> Result<PositionWiseFeedForward> {
        PositionWiseFeedForward::without_bias(
            store,
            [&format!("{name}.conv1"), &format!("{name}.conv2")],
            self.hidden,
            self.ff_hidden,
            self.activation,
            self.dropout,
            seed,
        )
    }

    /// The seasonal part of `x` (the moving average's remainder).
    fn seasonal(&self, x: &Tensor) -> Result<Tensor> {
        Ok(decompose(x, self.moving_avg)?.0)
    }
}

/// `x = seasonal(x + dropout(attention(x)))`, then `seasonal(x + ff(x))`.
#[derive(Debug)]
pub struct DecompositionEncoderLayer {
    spec: DecompositionSpec,
    attention: Box<dyn SequenceMixer>,
    attention_dropout: Dropout,
    feed_forward: PositionWiseFeedForward,
}

impl DecompositionEncoderLayer {
    /// Creates `{name}.attention` (by `attention`), `.conv1` and `.conv2` in PyTorch's order;
    /// dropout streams from `seed` on.
    pub fn new(
        store: &mut ParamStore,
        name: &str,
        spec: DecompositionSpec,
        attention: MixerMaker<'_>,
        seed: u64,
    ) -> Result<DecompositionEncoderLayer> {
        Ok(DecompositionEncoderLayer {
            spec,
            attention: attention(store, &format!("{name}.attention"))?,
            feed_forward: spec.feed_forward(store, name, seed)?,
            attention_dropout: Dropout::new(spec.dropout, seed.wrapping_add(2)),
        })
    }

    /// The layer applied to tokens `x` (`[B, L, hidden]`).
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let attended = self.attention.forward(x, x, train)?;
        let x = self
            .spec
            .seasonal(&self.attention_dropout.add_to(x, &attended, train)?)?;
        self.spec.seasonal(&self.feed_forward.residual(&x, train)?)
    }
}

/// Attention over the decoder tokens, then from them to the encoder's output, then the
/// feed-forward sublayer, each added back and its trend split off; the three trends summed and
/// projected to the output width.
#[derive(Debug)]
pub struct DecompositionDecoderLayer {
    spec: DecompositionSpec,
    self_attention: Box<dyn SequenceMixer>,
    cross_attention: Box<dyn SequenceMixer>,
    self_dropout: Dropout,
    cross_dropout: Dropout,
    feed_forward: PositionWiseFeedForward,
    trend_projection: CircularConv,
}

impl DecompositionDecoderLayer {
    /// Creates `{name}.self_attention` and `.cross_attention` (by `attention`: self, cross),
    /// `.conv1`, `.conv2` and the trend's `.projection` (a wrapping three-tap convolution to
    /// `outputs` features, no bias) in PyTorch's order; dropout streams from `seed` on.
    pub fn new(
        store: &mut ParamStore,
        name: &str,
        spec: DecompositionSpec,
        attention: [MixerMaker<'_>; 2],
        outputs: usize,
        seed: u64,
    ) -> Result<DecompositionDecoderLayer> {
        let [self_attention, cross_attention] = attention;
        Ok(DecompositionDecoderLayer {
            spec,
            self_attention: self_attention(store, &format!("{name}.self_attention"))?,
            cross_attention: cross_attention(store, &format!("{name}.cross_attention"))?,
            feed_forward: spec.feed_forward(store, name, seed)?,
            trend_projection: CircularConv::new(
                store,
                &format!("{name}.projection"),
                spec.hidden,
                outputs,
            )?,
            self_dropout: Dropout::new(spec.dropout, seed.wrapping_add(2)),
            cross_dropout: Dropout::new(spec.dropout, seed.wrapping_add(3)),
        })
    }

    /// The layer applied to decoder tokens `x` (`[B, L, hidden]`) over the encoder's tokens
    /// `memory`: the seasonal tokens and the trend removed on the way (`[B, L, outputs]`).
    pub fn forward(&self, x: &Tensor, memory: &Tensor, train: bool) -> Result<(Tensor, Tensor)> {
        let k = self.spec.moving_avg;
        let attended = self.self_attention.forward(x, x, train)?;
        let (x, trend1) = decompose(&self.self_dropout.add_to(x, &attended, train)?, k)?;
        let attended = self.cross_attention.forward(&x, memory, train)?;
        let (x, trend2) = decompose(&self.cross_dropout.add_to(&x, &attended, train)?, k)?;
        let (x, trend3) = decompose(&self.feed_forward.residual(&x, train)?, k)?;
        let trend = self
            .trend_projection
            .forward(&((trend1 + trend2)? + trend3)?)?;
        Ok((x, trend))
    }
}
