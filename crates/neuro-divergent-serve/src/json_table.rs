//! A request's tables read from JSON straight into compact cells.
//!
//! `serde_json::Value` gives every record a map of owned key strings and tagged values; for a
//! 100-series request that building and dropping was a quarter of a node's time. Here each
//! record is a short list of `(column, cell)` pairs whose column names are stored once per table,
//! and each cell is text, a number, or (rarely) any other JSON value kept as is for the error
//! message that names it. What the cells mean is decided later (`payload.rs`), so every shape
//! the reader accepts — including the wrong ones — reaches the same checks and messages.

use std::fmt;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Number, Value};

/// The scalar visits (booleans, numbers, text, null) of a visitor that reads only arrays or
/// objects: each gives `$value`, the wrong shape that `payload.rs` names in its message.
macro_rules! scalars_give {
    ($value:expr) => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
    };
}

/// One value of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A JSON string.
    Text(String),
    /// A JSON number.
    Number(Number),
    /// `null`, a boolean, an array or an object.
    Other(Value),
}

impl fmt::Display for Cell {
    /// The cell as JSON text, as error messages quote it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cell::Text(text) => write!(f, "{}", Value::String(text.clone())),
            Cell::Number(number) => write!(f, "{number}"),
            Cell::Other(value) => write!(f, "{value}"),
        }
    }
}

impl<'de> Deserialize<'de> for Cell {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Cell, D::Error> {
        deserializer.deserialize_any(CellVisitor)
    }
}

struct CellVisitor;

impl<'de> Visitor<'de> for CellVisitor {
    type Value = Cell;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Cell, E> {
        Ok(Cell::Other(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Cell, E> {
        Ok(Cell::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Cell, E> {
        Ok(Cell::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Cell, E> {
        Ok(Number::from_f64(v).map_or(Cell::Other(Value::Null), Cell::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Cell, E> {
        Ok(Cell::Text(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Cell, E> {
        Ok(Cell::Text(v))
    }
    fn visit_unit<E>(self) -> Result<Cell, E> {
        Ok(Cell::Other(Value::Null))
    }
    fn visit_none<E>(self) -> Result<Cell, E> {
        Ok(Cell::Other(Value::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Cell, A::Error> {
        Value::deserialize(SeqAccessDeserializer::new(seq)).map(Cell::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Cell, A::Error> {
        Value::deserialize(MapAccessDeserializer::new(map)).map(Cell::Other)
    }
}

/// One element of a records table.
#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    /// An object: `(column, cell)` pairs, the column an index into the table's names.
    Record(Vec<(usize, Cell)>),
    /// Anything but an object.
    NotObject,
}

impl Row {
    /// The cell of column `column` in this row, if it is an object that has it.
    pub fn get(&self, column: usize) -> Option<&Cell> {
        match self {
            Row::Record(cells) => cells.iter().find(|(c, _)| *c == column).map(|(_, v)| v),
            Row::NotObject => None,
        }
    }
}

/// One entry of a columns table.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// An array of cells.
    Values(Vec<Cell>),
    /// Anything but an array.
    NotArray,
}

/// A table as a request sends it.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonTable {
    /// An array of records; `names` holds every key in the order first seen.
    Records {
        /// The rows in order.
        rows: Vec<Row>,
        /// Column names, indexed by the rows' cells.
        names: Vec<String>,
    },
    /// An object of columns, sorted by name (a repeated name keeps its last value).
    Columns(Vec<(String, Column)>),
    /// Neither an array nor an object.
    Other,
}

impl<'de> Deserialize<'de> for JsonTable {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<JsonTable, D::Error> {
        deserializer.deserialize_any(TableVisitor)
    }
}

struct TableVisitor;

impl<'de> Visitor<'de> for TableVisitor {
    type Value = JsonTable;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("records or columns")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JsonTable, A::Error> {
        let mut names = Vec::new();
        let mut rows = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(row) = seq.next_element_seed(RowSeed { names: &mut names })? {
            rows.push(row);
        }
        Ok(JsonTable::Records { rows, names })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonTable, A::Error> {
        let mut columns: Vec<(String, Column)> = Vec::new();
        while let Some(name) = map.next_key::<String>()? {
            let column = map.next_value_seed(ColumnSeed)?;
            columns.retain(|(existing, _)| *existing != name);
            columns.push((name, column));
        }
        columns.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(JsonTable::Columns(columns))
    }
    scalars_give!(JsonTable::Other);
}

/// Reads one record, adding new column names to the table's list.
struct RowSeed<'a> {
    names: &'a mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_> {
    type Value = Row;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Row, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_> {
    type Value = Row;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a record")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Row, A::Error> {
        let mut cells: Vec<(usize, Cell)> = Vec::with_capacity(self.names.len().max(3));
        while let Some(column) = map.next_key_seed(KeySeed {
            names: &mut *self.names,
        })? {
            let cell = map.next_value::<Cell>()?;
            match cells.iter_mut().find(|(c, _)| *c == column) {
                Some(entry) => entry.1 = cell,
                None => cells.push((column, cell)),
            }
        }
        Ok(Row::Record(cells))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Row, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Row::NotObject)
    }
    scalars_give!(Row::NotObject);
}

/// Reads a record's key as the index of its column name, adding the name when new.
struct KeySeed<'a> {
    names: &'a mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a column name")
    }
    fn visit_str<E>(self, key: &str) -> Result<usize, E> {
        Ok(match self.names.iter().position(|name| name == key) {
            Some(index) => index,
            None => {
                self.names.push(key.to_owned());
                self.names.len() - 1
            }
        })
    }
}

/// Reads one entry of a columns table.
struct ColumnSeed;

impl<'de> DeserializeSeed<'de> for ColumnSeed {
    type Value = Column;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Column, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ColumnSeed {
    type Value = Column;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a column")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Column, A::Error> {
        let mut cells = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(cell) = seq.next_element::<Cell>()? {
            cells.push(cell);
        }
        Ok(Column::Values(cells))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Column, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Column::NotArray)
    }
    scalars_give!(Column::NotArray);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(json: &str) -> JsonTable {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn records_share_one_name_list_and_keep_each_cell() {
        let JsonTable::Records { rows, names } = table(
            r#"[{"unique_id": "a", "ds": "2020-01-01", "y": 1.5},
                {"y": 2, "ds": 3, "unique_id": 7, "x": null, "y": -4},
                [1, {"nested": true}], 5]"#,
        ) else {
            panic!("records expected");
        };
        assert_eq!(names, ["unique_id", "ds", "y", "x"]);
        assert_eq!(rows[0].get(0), Some(&Cell::Text("a".into())));
        assert_eq!(rows[0].get(2).map(Cell::to_string).as_deref(), Some("1.5"));
        // A repeated key keeps its last value, as serde_json's maps do.
        assert_eq!(rows[1].get(2).map(Cell::to_string).as_deref(), Some("-4"));
        assert_eq!(rows[1].get(3), Some(&Cell::Other(Value::Null)));
        assert_eq!(rows[0].get(3), None);
        assert_eq!(rows[2], Row::NotObject);
        assert_eq!(rows[3], Row::NotObject);
    }

    #[test]
    fn columns_are_sorted_by_name_and_other_shapes_are_told_apart() {
        let JsonTable::Columns(columns) =
            table(r#"{"y": [1, "2", [3]], "unique_id": ["a"], "ds": {"no": 1}}"#)
        else {
            panic!("columns expected");
        };
        let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["ds", "unique_id", "y"]);
        assert_eq!(columns[0].1, Column::NotArray);
        let Column::Values(y) = &columns[2].1 else {
            panic!("array expected")
        };
        let quoted: Vec<String> = y.iter().map(Cell::to_string).collect();
        assert_eq!(quoted, ["1", "\"2\"", "[3]"]);
        assert_eq!(table("17"), JsonTable::Other);
        assert_eq!(table("\"text\""), JsonTable::Other);
    }
}
