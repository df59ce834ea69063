//! T5's relative position buckets: the distance from a query to a key mapped to one of
//! `num_buckets` classes, exact for short distances and logarithmic up to `max_distance`.

use candle_core::{Device, Tensor};

use crate::error::Result;

/// The bucket of `relative` (key position minus query position), computed in `f32` as
/// Hugging Face's `T5Attention._relative_position_bucket` computes it, so that the boundaries
/// fall where theirs do. Bidirectional buckets (encoders) split the buckets between keys before
/// and after the query; unidirectional ones (decoders) give every later key bucket 0.
pub fn relative_position_bucket(
    relative: i64,
    bidirectional: bool,
    num_buckets: usize,
    max_distance: usize,
) -> usize {
    let mut buckets = num_buckets;
    let mut base = 0;
    let distance = if bidirectional {
        buckets /= 2;
        if relative > 0 {
            base = buckets;
        }
        relative.unsigned_abs() as usize
    } else {
        (-relative.min(0)) as usize
    };
    let max_exact = buckets / 2;
    if distance < max_exact {
        return base + distance;
    }
    let ratio = (distance as f32 / max_exact as f32).ln();
    let spread = (max_distance as f64 / max_exact as f64).ln() as f32;
    let large = max_exact + (ratio / spread * (buckets - max_exact) as f32) as usize;
    base + large.min(buckets - 1)
}

/// The buckets of every (query, key) pair of `queries` × `keys` positions, row-major, as a `u32`
/// tensor of `[queries · keys]` for `index_select`.
pub fn bucket_table(
    queries: usize,
    keys: usize,
    bidirectional: bool,
    num_buckets: usize,
    max_distance: usize,
    device: &Device,
) -> Result<Tensor> {
    let table: Vec<u32> = (0..queries)
        .flat_map(|q| {
            (0..keys).map(move |k| {
                relative_position_bucket(
                    k as i64 - q as i64,
                    bidirectional,
                    num_buckets,
                    max_distance,
                ) as u32
            })
        })
        .collect();
    Ok(Tensor::from_vec(table, queries * keys, device)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_match_t5s_table() {
        // Hugging Face's `_relative_position_bucket(torch.arange(-140, 141, 7), True, 32, 128)`.
        let expected_bidirectional = [
            15, 15, 15, 15, 15, 15, 15, 15, 14, 14, 14, 13, 13, 13, 12, 12, 11, 10, 9, 7, 0, 23,
            25, 26, 27, 28, 28, 29, 29, 29, 30, 30, 30, 31, 31, 31, 31, 31, 31, 31, 31,
        ];
        let got: Vec<usize> = (-140..=140)
            .step_by(7)
            .map(|r| relative_position_bucket(r, true, 32, 128))
            .collect();
        assert_eq!(got, expected_bidirectional);
        // Decoders: later keys share bucket 0, earlier ones grow with the distance.
        assert_eq!(relative_position_bucket(5, false, 32, 128), 0);
        assert_eq!(relative_position_bucket(-5, false, 32, 128), 5);
        assert_eq!(relative_position_bucket(-16, false, 32, 128), 16);
        assert_eq!(relative_position_bucket(-200, false, 32, 128), 31);
    }
}
