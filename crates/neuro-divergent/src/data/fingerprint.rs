//! A short description of a panel that identifies it: sizes, time span and a content hash.
//! Fitted models carry the fingerprint of the data they were trained on, so a stored model
//! says what produced it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{DsStyle, TimeSeriesFrame};

/// What identifies the data a model was fitted on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataFingerprint {
    /// Where the data came from (a file path or a label).
    pub source: String,
    /// Number of series.
    pub series: usize,
    /// Number of rows over all series.
    pub rows: usize,
    /// The earliest `ds` of any series.
    pub first_ds: String,
    /// The latest `ds` of any series.
    pub last_ds: String,
    /// SHA-256 (hex) of the ids, time stamps, values and extra columns, series by series in id
    /// order: equal for the same panel whatever the row order of its file.
    pub sha256: String,
}

impl TimeSeriesFrame {
    /// The fingerprint of this panel.
    pub fn fingerprint(&self) -> DataFingerprint {
        let mut hash = Sha256::new();
        for name in self.extra_names() {
            hash.update(name.as_bytes());
            hash.update([0u8]);
        }
        for series in self.series() {
            hash.update(series.id.as_bytes());
            hash.update([0u8]);
            hash.update((series.len() as u64).to_le_bytes());
            for (row, (ds, y)) in series.ds.iter().zip(&series.y).enumerate() {
                hash.update(ds.format(DsStyle::dates(false)).as_bytes());
                hash.update(y.to_le_bytes());
                for column in &series.extra {
                    hash.update(column[row].as_bytes());
                    hash.update([0u8]);
                }
            }
        }
        let first = self.series().iter().filter_map(|s| s.ds.first()).min();
        let last = self.series().iter().filter_map(|s| s.ds.last()).max();
        let text = |ds: Option<&super::Timestamp>| {
            ds.map(|d| d.format(self.ds_style())).unwrap_or_default()
        };
        DataFingerprint {
            source: self.source().to_string(),
            series: self.series().len(),
            rows: self.n_rows(),
            first_ds: text(first),
            last_ds: text(last),
            sha256: hash.finalize().iter().map(|b| format!("{b:02x}")).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::data::read_csv_from;

    #[test]
    fn fingerprint_ignores_row_order_and_sees_every_value() {
        let a = "unique_id,ds,y\nb,2020-01-01,1\na,2020-01-02,3\na,2020-01-01,2\nb,2020-01-02,4\n";
        let b = "unique_id,ds,y\na,2020-01-01,2\na,2020-01-02,3\nb,2020-01-01,1\nb,2020-01-02,4\n";
        let c =
            "unique_id,ds,y\na,2020-01-01,2\na,2020-01-02,3\nb,2020-01-01,1\nb,2020-01-02,4.5\n";
        let fa = read_csv_from(a.as_bytes(), "a.csv", None)
            .unwrap()
            .fingerprint();
        let fb = read_csv_from(b.as_bytes(), "a.csv", None)
            .unwrap()
            .fingerprint();
        let fc = read_csv_from(c.as_bytes(), "a.csv", None)
            .unwrap()
            .fingerprint();
        assert_eq!(fa, fb);
        assert_ne!(fa.sha256, fc.sha256);
        assert_eq!((fa.series, fa.rows), (2, 4));
        assert_eq!(
            (fa.first_ds.as_str(), fa.last_ds.as_str()),
            ("2020-01-01", "2020-01-02")
        );
    }
}
