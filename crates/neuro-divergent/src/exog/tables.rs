//! Exogenous values given beside the panel: static values per series and future values per
//! series and time stamp, read from CSV files keyed by `unique_id` (and `ds`).

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::validate::fits_f32;
use crate::data::{open_file, parse_ds, CsvInput, Timestamp};
use crate::error::{Error, Result};

/// Static exogenous values: one row of numbers per series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StaticTable {
    /// Where the values came from, for error messages.
    pub source: String,
    /// Column names.
    pub names: Vec<String>,
    /// Values by series id, one per column.
    pub rows: BTreeMap<String, Vec<f64>>,
}

impl StaticTable {
    /// Reads `unique_id` plus numeric columns from a CSV file.
    pub fn read_csv(path: &Path) -> Result<StaticTable> {
        Self::read_csv_from(open_file(path)?, &path.display().to_string())
    }

    /// Like [`StaticTable::read_csv`] from any reader; `source` names it in errors.
    pub fn read_csv_from<R: Read>(reader: R, source: &str) -> Result<StaticTable> {
        let (mut input, keys) = CsvInput::open(reader, source, &["unique_id"])?;
        let columns = input.columns_except(&keys);
        let mut rows = BTreeMap::new();
        while let Some(line) = input.next_row()? {
            let id = input.field(keys[0]).to_string();
            let values = input.numbers(line, &id, &columns)?;
            if rows.insert(id.clone(), values).is_some() {
                return Err(Error::Data(format!(
                    "{source}: line {line}: series '{id}' appears twice; static values need one \
                     row per series"
                )));
            }
        }
        if rows.is_empty() {
            return Err(Error::Data(format!(
                "{source}: the static file has no data rows"
            )));
        }
        Ok(StaticTable {
            source: source.to_string(),
            names: columns.names,
            rows,
        })
    }

    /// A table from columns: one id per row and `(name, values)` per static variable.
    pub fn from_columns(
        source: &str,
        ids: &[String],
        columns: &[(String, Vec<f64>)],
    ) -> Result<StaticTable> {
        check_lengths(source, ids.len(), columns)?;
        let mut rows = BTreeMap::new();
        for (i, id) in ids.iter().enumerate() {
            let values = row_values(source, i, id, columns)?;
            if rows.insert(id.clone(), values).is_some() {
                return Err(Error::Data(format!(
                    "{source}: row {}: series '{id}' appears twice; static values need one row \
                     per series",
                    i + 1
                )));
            }
        }
        Ok(StaticTable {
            source: source.to_string(),
            names: columns.iter().map(|(n, _)| n.clone()).collect(),
            rows,
        })
    }

    /// The values of columns `columns` for series `id`.
    pub fn values(&self, id: &str, columns: &[String]) -> Result<Vec<f32>> {
        let row = self.rows.get(id).ok_or_else(|| {
            let known: Vec<&str> = self.rows.keys().take(3).map(String::as_str).collect();
            Error::Data(format!(
                "{}: no static values for series '{id}' (the static table has {} series: {}{})",
                self.source,
                self.rows.len(),
                known.join(", "),
                if self.rows.len() > known.len() {
                    ", ..."
                } else {
                    ""
                }
            ))
        })?;
        columns
            .iter()
            .map(|name| {
                let index = self.column(name)?;
                Ok(row[index] as f32)
            })
            .collect()
    }

    fn column(&self, name: &str) -> Result<usize> {
        self.names.iter().position(|n| n == name).ok_or_else(|| {
            Error::Data(format!(
                "{}: static column '{name}' is missing (columns: {})",
                self.source,
                self.names.join(", ")
            ))
        })
    }

    /// The table restricted to the series `ids`.
    pub fn subset<'a>(&self, ids: impl Iterator<Item = &'a str>) -> StaticTable {
        let rows = ids
            .filter_map(|id| self.rows.get(id).map(|r| (id.to_string(), r.clone())))
            .collect();
        StaticTable {
            rows,
            ..self.clone()
        }
    }
}

/// Future exogenous values: numbers per series and time stamp, for the horizon after each
/// series' end.
#[derive(Debug, Clone, PartialEq)]
pub struct FutureTable {
    /// Where the values came from, for error messages.
    pub source: String,
    /// Column names.
    pub names: Vec<String>,
    /// Values by series id and `ds`, one per column.
    pub rows: HashMap<String, HashMap<Timestamp, Vec<f64>>>,
}

impl FutureTable {
    /// Reads `unique_id, ds` plus numeric columns from a CSV file.
    pub fn read_csv(path: &Path) -> Result<FutureTable> {
        Self::read_csv_from(open_file(path)?, &path.display().to_string())
    }

    /// Like [`FutureTable::read_csv`] from any reader; `source` names it in errors.
    pub fn read_csv_from<R: Read>(reader: R, source: &str) -> Result<FutureTable> {
        let (mut input, keys) = CsvInput::open(reader, source, &["unique_id", "ds"])?;
        let columns = input.columns_except(&keys);
        let mut rows: HashMap<String, HashMap<Timestamp, Vec<f64>>> = HashMap::new();
        while let Some(line) = input.next_row()? {
            let id = input.field(keys[0]).to_string();
            let ds = parse_ds(source, line, &id, input.field(keys[1]))?;
            let values = input.numbers(line, &id, &columns)?;
            if rows
                .entry(id.clone())
                .or_default()
                .insert(ds, values)
                .is_some()
            {
                return Err(Error::Data(format!(
                    "{source}: line {line}: series '{id}' has two rows for ds {ds}"
                )));
            }
        }
        Ok(FutureTable {
            source: source.to_string(),
            names: columns.names,
            rows,
        })
    }

    /// A table from columns: id and `ds` per row and `(name, values)` per future variable.
    pub fn from_columns(
        source: &str,
        ids: &[String],
        ds: &[Timestamp],
        columns: &[(String, Vec<f64>)],
    ) -> Result<FutureTable> {
        check_lengths(source, ids.len(), columns)?;
        if ds.len() != ids.len() {
            return Err(Error::Data(format!(
                "{source}: columns have different lengths: unique_id {}, ds {}",
                ids.len(),
                ds.len()
            )));
        }
        let mut rows: HashMap<String, HashMap<Timestamp, Vec<f64>>> = HashMap::new();
        for (i, (id, &t)) in ids.iter().zip(ds).enumerate() {
            let values = row_values(source, i, id, columns)?;
            if rows
                .entry(id.clone())
                .or_default()
                .insert(t, values)
                .is_some()
            {
                return Err(Error::Data(format!(
                    "{source}: row {}: series '{id}' has two rows for ds {t}",
                    i + 1
                )));
            }
        }
        Ok(FutureTable {
            source: source.to_string(),
            names: columns.iter().map(|(n, _)| n.clone()).collect(),
            rows,
        })
    }

    /// The values of column `name` for series `id` at each of `ds`.
    pub fn values(&self, id: &str, name: &str, ds: &[Timestamp]) -> Result<Vec<f32>> {
        let column = self.names.iter().position(|n| n == name).ok_or_else(|| {
            Error::Data(format!(
                "{}: future exogenous column '{name}' is missing (columns: {})",
                self.source,
                self.names.join(", ")
            ))
        })?;
        let series = self.rows.get(id);
        ds.iter()
            .map(|t| {
                series
                    .and_then(|rows| rows.get(t))
                    .map(|row| row[column] as f32)
                    .ok_or_else(|| {
                        Error::Data(format!(
                            "{}: series '{id}' has no future value of '{name}' at ds {t}; the \
                             {} steps after the series' end ({} to {}) are needed",
                            self.source,
                            ds.len(),
                            ds[0],
                            ds[ds.len() - 1]
                        ))
                    })
            })
            .collect()
    }
}

/// Errors when a column's length differs from the number of ids.
fn check_lengths(source: &str, rows: usize, columns: &[(String, Vec<f64>)]) -> Result<()> {
    match columns.iter().find(|(_, v)| v.len() != rows) {
        Some((name, v)) => Err(Error::Data(format!(
            "{source}: column '{name}' has {} values for {rows} rows",
            v.len()
        ))),
        None => Ok(()),
    }
}

/// Row `i` of `columns`, each value finite.
fn row_values(
    source: &str,
    i: usize,
    id: &str,
    columns: &[(String, Vec<f64>)],
) -> Result<Vec<f64>> {
    columns
        .iter()
        .map(|(name, v)| {
            let value = v[i];
            if value.is_finite() && fits_f32(value) {
                Ok(value)
            } else {
                Err(Error::Data(format!(
                    "{source}: row {}: series '{id}': column '{name}' holds {value}, which is not \
                     a finite number within the range of 32-bit floats",
                    i + 1
                )))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_tables_name_bad_rows_and_missing_series() {
        let table = StaticTable::read_csv_from("unique_id,a,b\nx,1,2\ny,3,4\n".as_bytes(), "s.csv")
            .unwrap();
        assert_eq!(
            table.values("y", &["b".into(), "a".into()]).unwrap(),
            [4.0, 3.0]
        );
        let err = table.values("z", &["a".into()]).unwrap_err().to_string();
        assert!(
            err.contains(
                "s.csv: no static values for series 'z' (the static table has 2 series: x, y)"
            ),
            "{err}"
        );
        let err = table.values("x", &["c".into()]).unwrap_err().to_string();
        assert!(err.contains("static column 'c' is missing"), "{err}");
        let err = StaticTable::read_csv_from("unique_id,a\nx,NaN\n".as_bytes(), "s.csv")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2") && err.contains("'a'"), "{err}");
        let err = StaticTable::read_csv_from("unique_id,a\nx,1\nx,2\n".as_bytes(), "s.csv")
            .unwrap_err()
            .to_string();
        assert!(err.contains("series 'x' appears twice"), "{err}");
        let columns = [("a".to_string(), vec![1.0, f64::NAN])];
        let err = StaticTable::from_columns("static", &["x".into(), "y".into()], &columns)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("row 2: series 'y': column 'a' holds NaN"),
            "{err}"
        );
        let columns = [("a".to_string(), vec![1e39, 1.0])];
        let err = StaticTable::from_columns("static", &["x".into(), "y".into()], &columns)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "row 1: series 'x': column 'a' holds 1000000000000000000000000000000000000000"
            ) && err.contains("32-bit"),
            "{err}"
        );
    }

    #[test]
    fn future_tables_report_missing_steps() {
        let text = "unique_id,ds,price\nx,2020-01-02,5\nx,2020-01-03,6\n";
        let table = FutureTable::read_csv_from(text.as_bytes(), "f.csv").unwrap();
        let day = |d: &str| Timestamp::parse(d).unwrap();
        let ds = [day("2020-01-02"), day("2020-01-03")];
        assert_eq!(table.values("x", "price", &ds).unwrap(), [5.0, 6.0]);
        let longer = [ds[0], ds[1], day("2020-01-04")];
        let err = table.values("x", "price", &longer).unwrap_err().to_string();
        assert!(
            err.contains("series 'x' has no future value of 'price' at ds 2020-01-04"),
            "{err}"
        );
        let err = table.values("y", "price", &ds).unwrap_err().to_string();
        assert!(err.contains("series 'y'"), "{err}");
        let err =
            FutureTable::read_csv_from("unique_id,ds,p\nx,2020-01-02,inf\n".as_bytes(), "f.csv")
                .unwrap_err()
                .to_string();
        assert!(err.contains("line 2") && err.contains("'p'"), "{err}");
    }
}
