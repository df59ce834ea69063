//! Patching (Nie et al., 2023): a window cut into overlapping sub-windows that become tokens.

use candle_core::Tensor;

use crate::error::Result;

/// Cuts windows into patches of `len` steps every `stride` steps, after padding each window's
/// end with `stride` copies of its last value (PyTorch's `ReplicationPad1d((0, stride))` followed
/// by `unfold`, as PatchTST does).
#[derive(Debug, Clone)]
pub struct Patching {
    len: usize,
    stride: usize,
    /// Positions in the padded window of every patch's steps, patch by patch.
    positions: Vec<u32>,
    count: usize,
}

impl Patching {
    /// Patching of windows of `steps` steps; `len` at most `steps + stride`, `stride` ≥ 1.
    pub fn new(steps: usize, len: usize, stride: usize) -> Patching {
        let count = Patching::count(steps, len, stride);
        let positions = (0..count)
            .flat_map(|p| (p * stride..p * stride + len).map(|i| i as u32))
            .collect();
        Patching {
            len,
            stride,
            positions,
            count,
        }
    }

    /// The number of patches of a window of `steps` steps.
    pub fn count(steps: usize, len: usize, stride: usize) -> usize {
        (steps + stride).saturating_sub(len) / stride + 1
    }

    /// The number of patches per window.
    pub fn patches(&self) -> usize {
        self.count
    }

    /// `[B, L]` windows as `[B, patches, len]`.
    pub fn apply(&self, x: &Tensor) -> Result<Tensor> {
        let (batch, steps) = x.dims2()?;
        let last = x.narrow(1, steps - 1, 1)?;
        let padded = Tensor::cat(&[x.clone(), last.repeat((1, self.stride))?], 1)?;
        let index = Tensor::from_slice(&self.positions, self.positions.len(), x.device())?;
        Ok(padded
            .index_select(&index, 1)?
            .reshape((batch, self.count, self.len))?)
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Tensor};

    use super::*;

    #[test]
    fn windows_are_padded_with_their_last_value_and_cut_every_stride() {
        let x = Tensor::new(&[[1f32, 2.0, 3.0, 4.0, 5.0]], &Device::Cpu).unwrap();
        // Padded: 1 2 3 4 5 5 5; patches of 3 every 2: [1 2 3] [3 4 5] [5 5 5].
        let patching = Patching::new(5, 3, 2);
        assert_eq!(patching.patches(), 3);
        let patches: Vec<Vec<f32>> = patching
            .apply(&x)
            .unwrap()
            .squeeze(0)
            .unwrap()
            .to_vec2()
            .unwrap();
        assert_eq!(patches, [[1.0, 2.0, 3.0], [3.0, 4.0, 5.0], [5.0, 5.0, 5.0]]);
    }

    #[test]
    fn patch_counts_follow_patchtst() {
        // int((L - P) / S + 1) + 1, as PatchTST counts with end padding.
        assert_eq!(Patching::count(512, 16, 8), 64);
        assert_eq!(Patching::count(336, 16, 8), 42);
        assert_eq!(Patching::count(24, 16, 8), 3);
        // A patch longer than the window (up to L + S) gives one patch.
        assert_eq!(Patching::count(24, 32, 8), 1);
    }
}
