//! The position-wise feed-forward sublayer of a Transformer layer: two dense maps applied to
//! every token on its own, with an activation and dropout between them and dropout after.

use candle_core::Tensor;

use super::gelu_op::gelu_dropped;
use super::{Activation, Dense, Dropout, ParamStore};
use crate::error::Result;

/// `dropout(outer(dropout(activation(inner(x)))))` over the last axis of `x`: the `[…, hidden]`
/// tokens widened to `ff_hidden` features and mapped back.
#[derive(Debug)]
pub struct PositionWiseFeedForward {
    inner: Dense,
    outer: Dense,
    activation: Activation,
    inner_dropout: Dropout,
    output_dropout: Dropout,
}

impl PositionWiseFeedForward {
    /// Creates the inner map `names[0]` (`hidden` to `ff_hidden`) and the outer map `names[1]`
    /// (back to `hidden`), drawn in that order; the two dropouts draw from streams `seed` and
    /// `seed + 1`.
    pub fn new(
        store: &mut ParamStore,
        names: [&str; 2],
        hidden: usize,
        ff_hidden: usize,
        activation: Activation,
        dropout: f64,
        seed: u64,
    ) -> Result<PositionWiseFeedForward> {
        Self::with_maps(
            Dense::new,
            store,
            names,
            hidden,
            ff_hidden,
            activation,
            dropout,
            seed,
        )
    }

    /// As [`PositionWiseFeedForward::new`], with maps that have no bias (the decomposition
    /// transformers' `bias=False` convolutions).
    pub fn without_bias(
        store: &mut ParamStore,
        names: [&str; 2],
        hidden: usize,
        ff_hidden: usize,
        activation: Activation,
        dropout: f64,
        seed: u64,
    ) -> Result<PositionWiseFeedForward> {
        let dense = Dense::without_bias;
        Self::with_maps(
            dense, store, names, hidden, ff_hidden, activation, dropout, seed,
        )
    }

    /// The sublayer with its two maps made by `dense` (in order, inner then outer).
    #[allow(clippy::too_many_arguments)]
    fn with_maps(
        dense: fn(&mut ParamStore, &str, usize, usize) -> Result<Dense>,
        store: &mut ParamStore,
        names: [&str; 2],
        hidden: usize,
        ff_hidden: usize,
        activation: Activation,
        dropout: f64,
        seed: u64,
    ) -> Result<PositionWiseFeedForward> {
        Ok(PositionWiseFeedForward {
            inner: dense(store, names[0], hidden, ff_hidden)?,
            outer: dense(store, names[1], ff_hidden, hidden)?,
            activation,
            inner_dropout: Dropout::new(dropout, seed),
            output_dropout: Dropout::new(dropout, seed.wrapping_add(1)),
        })
    }

    /// The sublayer's output for tokens `x` (`[…, hidden]`), with dropout when `train` is set.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.output_dropout.apply(&self.undropped(x, train)?, train)
    }

    /// `x + forward(x)`, the sublayer added back to its input, the output's dropout and the sum
    /// one node ([`Dropout::add_to`]).
    pub fn residual(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.output_dropout
            .add_to(x, &self.undropped(x, train)?, train)
    }

    /// The output before its dropout.
    fn undropped(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let inner = match self.activation {
            Activation::GELU => {
                gelu_dropped(&self.inner.forward(x, None)?, &self.inner_dropout, train)?
            }
            activation => self
                .inner_dropout
                .apply(&self.inner.forward(x, Some(activation))?, train)?,
        };
        self.outer.forward(&inner, None)
    }
}
