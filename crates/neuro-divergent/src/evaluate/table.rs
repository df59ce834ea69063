//! Tables of numbers keyed by `(unique_id, ds)`: forecasts, actuals, benchmark forecasts.

use std::io::Read;
use std::path::Path;

use crate::data::validate::{check_duplicates, check_id};
use crate::data::{
    open_file, parse_ds, parse_number, permute, sort_order, CsvInput, IdIndex, Timestamp,
};
use crate::error::{Error, Result};

/// A column that is neither key nor value and is skipped.
const IGNORED: &str = "cutoff";

/// The rows of one series of a [`ValueTable`], sorted by `ds`.
pub(crate) struct TableSeries {
    /// The series id.
    pub(crate) id: String,
    /// The time stamps, strictly increasing.
    pub(crate) ds: Vec<Timestamp>,
    /// The 1-based file line of each row.
    pub(crate) lines: Vec<u64>,
    /// One vector per value column, one value per `ds`.
    pub(crate) values: Vec<Vec<f64>>,
}

impl TableSeries {
    /// The position of `ds` in this series.
    pub(crate) fn position(&self, ds: Timestamp) -> Option<usize> {
        self.ds.binary_search(&ds).ok()
    }
}

/// Numeric columns keyed by `(unique_id, ds)`, such as a forecasts file `unique_id,ds,NHITS`,
/// actuals `unique_id,ds,y` or benchmark forecasts `unique_id,ds,Naive2`.
pub struct ValueTable {
    source: String,
    columns: Vec<String>,
    series: Vec<TableSeries>,
}

impl ValueTable {
    /// Where the table came from (a file path or a label).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Names of the value columns, in file order (keys and `cutoff` excluded).
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Index of the value column `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// Total number of rows.
    pub fn n_rows(&self) -> usize {
        self.series.iter().map(|s| s.ds.len()).sum()
    }

    /// The series ids, sorted.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.series.iter().map(|s| s.id.as_str())
    }

    /// The sorted `ds` and the values of column `column` for series `id`.
    pub fn values(&self, id: &str, column: &str) -> Option<(&[Timestamp], &[f64])> {
        let c = self.column(column)?;
        let s = self.find(id)?;
        Some((&s.ds, &s.values[c]))
    }

    /// The series, sorted by id.
    pub(crate) fn series(&self) -> &[TableSeries] {
        &self.series
    }

    /// The series with id `id`.
    pub(crate) fn find(&self, id: &str) -> Option<&TableSeries> {
        self.series
            .binary_search_by(|s| s.id.as_str().cmp(id))
            .ok()
            .map(|i| &self.series[i])
    }
}

/// Reads a CSV with columns `unique_id`, `ds` and at least one numeric column; a `cutoff` column
/// is ignored. Errors name the path, line, series, column and value.
pub fn read_value_table(path: &Path) -> Result<ValueTable> {
    let file = open_file(path)?;
    read_value_table_from(file, &path.display().to_string())
}

/// Like [`read_value_table`] but reads from any reader; `source` names it in error messages.
pub fn read_value_table_from<R: Read>(reader: R, source: &str) -> Result<ValueTable> {
    let (mut input, [id_col, ds_col]) = CsvInput::open(reader, source, &["unique_id", "ds"])?;
    let value_cols: Vec<usize> = (0..input.names().len())
        .filter(|&i| i != id_col && i != ds_col && input.names()[i] != IGNORED)
        .collect();
    if value_cols.is_empty() {
        return Err(Error::Data(format!(
            "{source}: line 1: no value columns besides unique_id and ds; the header has \
             columns `{}`",
            input.names().join(",")
        )));
    }
    let columns: Vec<String> = value_cols
        .iter()
        .map(|&i| input.names()[i].clone())
        .collect();
    let mut index = IdIndex::default();
    let mut groups: Vec<TableSeries> = Vec::new();
    while let Some(line) = input.next_row()? {
        let id = input.field(id_col);
        check_id(source, "line", line, id)?;
        let ds = parse_ds(source, line, id, input.field(ds_col))?;
        let slot = index.slot(id);
        if slot == groups.len() {
            groups.push(TableSeries {
                id: id.to_string(),
                ds: Vec::new(),
                lines: Vec::new(),
                values: vec![Vec::new(); columns.len()],
            });
        }
        let group = &mut groups[slot];
        group.ds.push(ds);
        group.lines.push(line);
        for ((&col, name), values) in value_cols.iter().zip(&columns).zip(&mut group.values) {
            values.push(parse_number(source, line, id, name, input.field(col))?);
        }
    }
    if groups.is_empty() {
        return Err(Error::Data(format!(
            "{source}: the file has a header but no data rows"
        )));
    }
    groups.sort_by(|a, b| a.id.cmp(&b.id));
    for g in &mut groups {
        if let Some(order) = sort_order(&g.ds, &g.lines) {
            permute(&mut g.ds, &order);
            permute(&mut g.lines, &order);
            for column in &mut g.values {
                permute(column, &order);
            }
        }
        check_duplicates(source, "line", &g.id, &g.ds, &g.lines)?;
    }
    Ok(ValueTable {
        source: source.to_string(),
        columns,
        series: groups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data_error(text: &str) -> String {
        match read_value_table_from(text.as_bytes(), "fc.csv") {
            Err(Error::Data(m)) => {
                assert!(m.starts_with("fc.csv: "), "{m}");
                m
            }
            Err(other) => panic!("expected a data error, got {other:?}"),
            Ok(_) => panic!("expected a data error, got a table"),
        }
    }

    #[test]
    fn reads_forecasts() -> Result<()> {
        let text = "unique_id,cutoff,ds,NHITS,y\nb,0,2,1.5,2\nb,0,1,0.5,1\na,0,1,7,8\n";
        let table = read_value_table_from(text.as_bytes(), "fc.csv")?;
        assert_eq!(table.columns(), ["NHITS", "y"]);
        assert_eq!(table.column("y"), Some(1));
        assert_eq!(table.n_rows(), 3);
        assert_eq!(table.ids().collect::<Vec<_>>(), vec!["a", "b"]);
        let (ds, v) = table.values("b", "NHITS").expect("series b");
        assert_eq!(ds, [Timestamp::Int(1), Timestamp::Int(2)]);
        assert_eq!(v, [0.5, 1.5]);
        assert!(table.values("b", "cutoff").is_none());
        assert_eq!(table.source(), "fc.csv");
        Ok(())
    }

    #[test]
    fn reports_problems() {
        let m = data_error("unique_id,ds,NHITS\na,1,x\n");
        assert!(
            m.contains("line 2") && m.contains("'NHITS'") && m.contains("'x'"),
            "{m}"
        );
        let m = data_error("unique_id,ds,NHITS\na,1,nan\n");
        assert!(m.contains("line 2") && m.contains("'nan'"), "{m}");
        let m = data_error("unique_id,ds\na,1\n");
        assert!(m.contains("no value columns"), "{m}");
        let m = data_error("unique_id,ds,y\n");
        assert!(m.contains("no data rows"), "{m}");
        let m = data_error("unique_id,ds,y\na,1,1\na,1,2\n");
        assert!(
            m.contains("series 'a'") && m.contains("lines 2 and 3"),
            "{m}"
        );
        let m = data_error("unique_id,ds,y\na,soon,1\n");
        assert!(m.contains("line 2") && m.contains("'soon'"), "{m}");
        let m = data_error("series,ds,y\na,1,1\n");
        assert!(m.contains("'unique_id'"), "{m}");
    }

    #[test]
    fn missing_file_names_path() {
        match read_value_table(Path::new("/no/such/forecasts.csv")) {
            Err(Error::Io { path, .. }) => assert_eq!(path, Path::new("/no/such/forecasts.csv")),
            Err(other) => panic!("expected an io error, got {other:?}"),
            Ok(_) => panic!("expected an io error, got a table"),
        }
    }
}
