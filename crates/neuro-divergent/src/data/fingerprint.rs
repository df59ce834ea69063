//! A short description of a panel that identifies it: sizes, time span and a content hash.
//! Fitted models carry the fingerprint of the data they were trained on, so a stored model
//! says what produced it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{TimeSeriesFrame, Timestamp};

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
    /// The fingerprint of this panel. Series are regular, so each one's time stamps are
    /// hashed as its first `ds` with the frame's frequency and its length; values are hashed
    /// as their bytes, series by series.
    pub fn fingerprint(&self) -> DataFingerprint {
        let mut hash = Sha256::new();
        hash.update(self.freq().alias().as_bytes());
        hash.update([0u8]);
        for name in self.extra_names() {
            hash.update(name.as_bytes());
            hash.update([0u8]);
        }
        let mut bytes = Vec::new();
        for series in self.series() {
            hash.update(series.id.as_bytes());
            hash.update([0u8]);
            hash.update((series.len() as u64).to_le_bytes());
            if let Some(first) = series.ds.first() {
                hash_timestamp(&mut hash, &first);
            }
            bytes.clear();
            bytes.extend(series.y.iter().flat_map(|y| y.to_le_bytes()));
            hash.update(&bytes);
            for column in &series.extra {
                for value in column {
                    hash.update(value.as_bytes());
                    hash.update([0u8]);
                }
            }
        }
        let first = self.series().iter().filter_map(|s| s.ds.first()).min();
        let last = self.series().iter().filter_map(|s| s.ds.last()).max();
        let text =
            |ds: Option<Timestamp>| ds.map(|d| d.format(self.ds_style())).unwrap_or_default();
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

/// Adds a time stamp's value (not its text) to `hash`.
fn hash_timestamp(hash: &mut Sha256, ts: &Timestamp) {
    match ts {
        Timestamp::Int(v) => {
            hash.update([0u8]);
            hash.update(v.to_le_bytes());
        }
        Timestamp::DateTime(dt) => {
            hash.update([1u8]);
            hash.update(dt.and_utc().timestamp().to_le_bytes());
            hash.update(dt.and_utc().timestamp_subsec_nanos().to_le_bytes());
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
        let shifted =
            "unique_id,ds,y\na,2020-01-02,2\na,2020-01-03,3\nb,2020-01-01,1\nb,2020-01-02,4\n";
        let fd = read_csv_from(shifted.as_bytes(), "a.csv", None)
            .unwrap()
            .fingerprint();
        let weekly =
            "unique_id,ds,y\na,2020-01-01,2\na,2020-01-08,3\nb,2020-01-01,1\nb,2020-01-08,4\n";
        let fe = read_csv_from(weekly.as_bytes(), "a.csv", None)
            .unwrap()
            .fingerprint();
        assert_eq!(fa, fb);
        assert_ne!(fa.sha256, fc.sha256);
        assert_ne!(fa.sha256, fd.sha256, "a series' dates moved");
        assert_ne!(fa.sha256, fe.sha256, "another frequency");
        assert_eq!((fa.series, fa.rows), (2, 4));
        assert_eq!(
            (fa.first_ds.as_str(), fa.last_ds.as_str()),
            ("2020-01-01", "2020-01-02")
        );
    }
}
