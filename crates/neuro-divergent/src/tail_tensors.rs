//! The series tails of a checkpoint as tensors in its weights file: the last values (f64) and
//! temporal exogenous columns (f32) of every series laid end to end, with each series' length.
//! Kept as text in the manifest they made a 100,000-series checkpoint a few hundred megabytes
//! of JSON; as tensors they are their bytes. The manifest keeps each series' id and last `ds`.

use std::collections::BTreeMap;

use candle_core::{Device, Tensor};

use crate::error::Result;
use crate::forecast::SeriesTail;

/// Tensor holding each series' number of kept points (u32).
pub(crate) const LENGTHS: &str = "tails.lengths";
/// Tensor holding every series' kept values, series after series (f64).
pub(crate) const VALUES: &str = "tails.values";
/// Prefix of the tensors holding each temporal exogenous column over the same points (f32).
pub(crate) const EXOG_PREFIX: &str = "tails.exog.";

/// The tensors of `tails` (named as above); the exogenous columns are those of the first tail,
/// which every tail has (they come from one panel).
pub(crate) fn to_tensors(tails: &[SeriesTail]) -> Result<BTreeMap<String, Tensor>> {
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

/// Fills the values and columns of `tails` (as listed in a manifest) from `tensors`; the error
/// says what is missing or inconsistent.
pub(crate) fn fill(
    tails: &mut [SeriesTail],
    tensors: &std::collections::HashMap<String, Tensor>,
) -> std::result::Result<(), String> {
    let get = |name: &str| {
        tensors
            .get(name)
            .ok_or_else(|| format!("the weights lack the series tails' tensor '{name}'"))
    };
    let vector = |e: candle_core::Error| format!("unreadable series tails: {e}");
    let lengths: Vec<u32> = get(LENGTHS)?.to_vec1().map_err(vector)?;
    let values: Vec<f64> = get(VALUES)?.to_vec1().map_err(vector)?;
    let total: usize = lengths.iter().map(|&n| n as usize).sum();
    if lengths.len() != tails.len() || total != values.len() {
        return Err(format!(
            "the series tails do not match the manifest: {} lengths adding up to {total} for {} \
             series and {} values",
            lengths.len(),
            tails.len(),
            values.len()
        ));
    }
    let mut columns = Vec::new();
    for (name, tensor) in tensors {
        if let Some(column) = name.strip_prefix(EXOG_PREFIX) {
            let data: Vec<f32> = tensor.to_vec1().map_err(vector)?;
            if data.len() != total {
                return Err(format!(
                    "the series tails' column '{column}' holds {} values, not {total}",
                    data.len()
                ));
            }
            columns.push((column.to_string(), data));
        }
    }
    let mut start = 0;
    for (tail, &n) in tails.iter_mut().zip(&lengths) {
        let end = start + n as usize;
        tail.values = values[start..end].to_vec();
        tail.exog = columns
            .iter()
            .map(|(name, data)| (name.clone(), data[start..end].to_vec()))
            .collect();
        start = end;
    }
    Ok(())
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

    #[test]
    fn tails_round_trip_through_tensors() {
        let tails = vec![
            tail("a", &[1.5, 2.5, 3.5], &[0.1, 0.2, 0.3]),
            tail("b", &[], &[]),
            tail("c", &[9.0], &[0.9]),
        ];
        let tensors: std::collections::HashMap<_, _> =
            to_tensors(&tails).unwrap().into_iter().collect();
        let mut read = heads(&tails);
        assert!(read
            .iter()
            .all(|t| t.values.is_empty() && t.exog.is_empty()));
        fill(&mut read, &tensors).unwrap();
        assert_eq!(read, tails);
        let err = fill(&mut read[..2], &tensors).unwrap_err();
        assert!(
            err.contains("3 lengths adding up to 4 for 2 series"),
            "{err}"
        );
        let mut without = tensors.clone();
        without.remove(VALUES);
        let err = fill(&mut read, &without).unwrap_err();
        assert!(
            err.contains("lack the series tails' tensor 'tails.values'"),
            "{err}"
        );
    }
}
