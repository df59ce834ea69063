//! The series tails of a checkpoint as tensors in its weights file: the last values (f64) and
//! temporal exogenous columns (f32) of every series laid end to end, with each series' length.
//! Kept as text in the manifest they made a 100,000-series checkpoint a few hundred megabytes
//! of JSON; as tensors they are their bytes. The manifest keeps each series' id and last `ds`.

use std::collections::BTreeMap;

use candle_core::{Device, Tensor};
use safetensors::{Dtype, SafeTensors};

use crate::forecast::SeriesTail;

/// Tensor holding each series' number of kept points (u32).
pub(crate) const LENGTHS: &str = "tails.lengths";
/// Tensor holding every series' kept values, series after series (f64).
pub(crate) const VALUES: &str = "tails.values";
/// Prefix of the tensors holding each temporal exogenous column over the same points (f32).
pub(crate) const EXOG_PREFIX: &str = "tails.exog.";

/// Whether the weights file's tensor `name` is one of the series tails' (named as above).
pub(crate) fn is_tail_tensor(name: &str) -> bool {
    name.starts_with("tails.")
}

/// The tensors of `tails` (named as above); the exogenous columns are those of the first tail,
/// which every tail has (they come from one panel).
pub(crate) fn to_tensors(tails: &[SeriesTail]) -> crate::Result<BTreeMap<String, Tensor>> {
    let mut tensors = BTreeMap::new();
    let lengths: Vec<u32> = tails.iter().map(|t| t.values.len() as u32).collect();
    let values: Vec<f64> = tails
        .iter()
        .flat_map(|t| t.values.iter().copied())
        .collect();
    tensors.insert(
        LENGTHS.to_string(),
        Tensor::from_vec(lengths, tails.len(), &Device::Cpu)?,
    );
    let total = values.len();
    tensors.insert(
        VALUES.to_string(),
        Tensor::from_vec(values, total, &Device::Cpu)?,
    );
    for name in tails.first().map(|t| t.exog.keys()).into_iter().flatten() {
        let column: Vec<f32> = tails
            .iter()
            .flat_map(|t| t.exog.get(name).into_iter().flatten().copied())
            .collect();
        let n = column.len();
        tensors.insert(
            format!("{EXOG_PREFIX}{name}"),
            Tensor::from_vec(column, n, &Device::Cpu)?,
        );
    }
    Ok(tensors)
}

/// `tails` without their values and columns, as the manifest lists them.
pub(crate) fn heads(tails: &[SeriesTail]) -> Vec<SeriesTail> {
    tails
        .iter()
        .map(|t| SeriesTail {
            id: t.id.clone(),
            last_ds: t.last_ds,
            values: Vec::new(),
            exog: BTreeMap::new(),
        })
        .collect()
}

/// Fills the values and columns of `tails` (as listed in a manifest) from the weights file
/// `file`, reading its bytes in place (no tensor is made of them); the error says what is
/// missing or inconsistent.
pub(crate) fn fill(tails: &mut [SeriesTail], file: &SafeTensors<'_>) -> Result<(), String> {
    let lengths: Vec<usize> = column(file, LENGTHS, Dtype::U32)?
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes(word(b)) as usize)
        .collect();
    let values = column(file, VALUES, Dtype::F64)?;
    // Counts of values, not bytes, are compared: no product of a length that could wrap.
    let total: usize = lengths.iter().sum();
    if lengths.len() != tails.len() || total != values.len() / 8 {
        return Err(format!(
            "the series tails do not match the manifest: {} lengths adding up to {total} for {} \
             series and {} values",
            lengths.len(),
            tails.len(),
            values.len() / 8
        ));
    }
    let mut columns = Vec::new();
    for (name, _) in file.iter() {
        if let Some(short) = name.strip_prefix(EXOG_PREFIX) {
            let data = column(file, name, Dtype::F32)?;
            if data.len() / 4 != total {
                return Err(format!(
                    "the series tails' column '{short}' holds {} values, not {total}",
                    data.len() / 4
                ));
            }
            columns.push((short.to_string(), data));
        }
    }
    let mut start = 0;
    for (tail, &n) in tails.iter_mut().zip(&lengths) {
        let end = start + n;
        tail.values = values[start * 8..end * 8]
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(word(b)))
            .collect();
        tail.exog = columns
            .iter()
            .map(|(name, data)| {
                let column = data[start * 4..end * 4]
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes(word(b)))
                    .collect();
                (name.clone(), column)
            })
            .collect();
        start = end;
    }
    Ok(())
}

/// The little-endian bytes of the one-dimensional tensor `name` of `file`, which must hold
/// `dtype` values.
fn column<'a>(file: &SafeTensors<'a>, name: &str, dtype: Dtype) -> Result<&'a [u8], String> {
    let view = file
        .tensor(name)
        .map_err(|_| format!("the weights lack the series tails' tensor '{name}'"))?;
    if view.dtype() != dtype || view.shape().len() != 1 {
        return Err(format!(
            "unreadable series tails: tensor '{name}' holds {:?} values in shape {:?}, not a \
             vector of {dtype:?}",
            view.dtype(),
            view.shape()
        ));
    }
    Ok(view.data())
}

/// One value's bytes from a chunk of exactly `N` bytes (`chunks_exact` hands out no other).
fn word<const N: usize>(chunk: &[u8]) -> [u8; N] {
    let mut bytes = [0; N];
    bytes.copy_from_slice(chunk);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Timestamp;

    fn tail(id: &str, values: &[f64], x: &[f32]) -> SeriesTail {
        SeriesTail {
            id: id.to_string(),
            last_ds: Timestamp::Int(values.len() as i64),
            values: values.to_vec(),
            exog: BTreeMap::from([("x".to_string(), x.to_vec())]),
        }
    }

    /// The bytes of a weights file holding `tensors`.
    fn file_bytes(tensors: &BTreeMap<String, Tensor>) -> Vec<u8> {
        safetensors::serialize(tensors.iter(), None).unwrap()
    }

    #[test]
    fn tails_round_trip_through_tensors() {
        let tails = vec![
            tail("a", &[1.5, 2.5, 3.5], &[0.1, 0.2, 0.3]),
            tail("b", &[], &[]),
            tail("c", &[9.0], &[0.9]),
        ];
        let tensors = to_tensors(&tails).unwrap();
        let bytes = file_bytes(&tensors);
        let file = SafeTensors::deserialize(&bytes).unwrap();
        let mut read = heads(&tails);
        assert!(read
            .iter()
            .all(|t| t.values.is_empty() && t.exog.is_empty()));
        fill(&mut read, &file).unwrap();
        assert_eq!(read, tails);
        let err = fill(&mut read[..2], &file).unwrap_err();
        assert!(
            err.contains("3 lengths adding up to 4 for 2 series"),
            "{err}"
        );
    }

    #[test]
    fn missing_mistyped_and_short_tail_tensors_are_named() {
        let tails = vec![tail("a", &[1.5, 2.5], &[0.1, 0.2])];
        let tensors = to_tensors(&tails).unwrap();
        let fill_from = |tensors: &BTreeMap<String, Tensor>| {
            let bytes = file_bytes(tensors);
            fill(
                &mut heads(&tails),
                &SafeTensors::deserialize(&bytes).unwrap(),
            )
            .unwrap_err()
        };
        let mut without = tensors.clone();
        without.remove(VALUES);
        let err = fill_from(&without);
        assert!(
            err.contains("lack the series tails' tensor 'tails.values'"),
            "{err}"
        );
        let mut mistyped = tensors.clone();
        let as_f32 = Tensor::new(&[1.5f32, 2.5], &Device::Cpu).unwrap();
        mistyped.insert(VALUES.to_string(), as_f32);
        let err = fill_from(&mistyped);
        assert!(
            err.contains(
                "tensor 'tails.values' holds F32 values in shape [2], not a vector of F64"
            ),
            "{err}"
        );
        let mut short = tensors;
        let one = Tensor::new(&[0.1f32], &Device::Cpu).unwrap();
        short.insert(format!("{EXOG_PREFIX}x"), one);
        let err = fill_from(&short);
        assert!(
            err.contains("the series tails' column 'x' holds 1 values, not 2"),
            "{err}"
        );
    }
}
