//! The forecast request's JSON body and its conversion into the library's frames and tables.
//!
//! Data comes in the Node package's shapes: records `[{ "unique_id", "ds", "y", ...exogenous }]`
//! or columns `{ "unique_id": [], "ds": [], "y": [], ...exogenous }`. `ds` is an ISO date or
//! date-time string or an integer; `unique_id` a string or a number. Exogenous values are numbers
//! or decimal strings; anything else reads as missing, which is an error naming the series, time
//! and column once a model uses that column.

use std::collections::HashSet;

use neuro_divergent::data::{DsStyle, DsStyleVote, TimeSeriesFrame, Timestamp, DS_FORMS};
use neuro_divergent::exog::{FutureTable, StaticTable};
use serde::Deserialize;

use crate::api_error::ApiError;
use crate::json_table::{Cell, Column, JsonTable, Row};

/// The body of `POST /v1/models/{name}/forecast`. Every field is optional: an empty object
/// forecasts the series stored with the model's newest version.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForecastRequest {
    /// Series to forecast from (records or columns); the stored series when absent.
    pub data: Option<JsonTable>,
    /// A version number of the model.
    pub version: Option<i64>,
    /// An alias of the model (`production`, …).
    pub alias: Option<String>,
    /// Conformal interval levels in percent.
    #[serde(default)]
    pub level: Vec<f64>,
    /// Future exogenous values over the horizon (records or columns with `unique_id`, `ds`).
    pub futr_data: Option<JsonTable>,
    /// Static exogenous values (records or columns with `unique_id`).
    pub static_data: Option<JsonTable>,
    /// `records` (the default) or `columns`: the shape of the forecasts in a JSON response.
    #[serde(default)]
    pub format: Shape,
}

/// How the forecasts of a JSON response are laid out.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    /// One object per row.
    #[default]
    Records,
    /// One array per column.
    Columns,
}

impl ForecastRequest {
    /// Parses a request body; the error quotes serde's line and column.
    pub fn parse(body: &[u8]) -> Result<ForecastRequest, ApiError> {
        match body.iter().find(|b| !b.is_ascii_whitespace()) {
            None => return Ok(ForecastRequest::default()),
            Some(b'{') => {}
            Some(_) => {
                return Err(ApiError::bad_request(
                    "the request body must be a JSON object such as {\"data\": [...]}".into(),
                ))
            }
        }
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("the request body is not valid: {e}")))
    }

    /// The model reference this request names: `NAME`, `NAME@VERSION` or `NAME@ALIAS`.
    pub fn reference(&self, name: &str) -> Result<String, ApiError> {
        match (self.version, &self.alias) {
            (Some(_), Some(_)) => Err(ApiError::bad_request(
                "give either 'version' or 'alias', not both".into(),
            )),
            (Some(version), None) => Ok(format!("{name}@{version}")),
            (None, Some(alias)) => Ok(format!("{name}@{alias}")),
            (None, None) => Ok(name.to_string()),
        }
    }
}

/// Long-format columns read from a JSON table.
struct Table {
    ids: Vec<String>,
    ds: Vec<Timestamp>,
    /// How the `ds` texts were written (`None` without date-time texts).
    ds_style: Option<DsStyle>,
    y: Vec<f64>,
    extra: Vec<(String, Vec<f64>)>,
}

/// Which key columns a table has.
#[derive(Clone, Copy)]
enum Keys {
    /// `unique_id`, `ds` and `y`: the series themselves.
    Series,
    /// `unique_id` and `ds`: future values.
    Future,
    /// `unique_id`: static values.
    Static,
}

impl Keys {
    fn names(self) -> &'static [&'static str] {
        match self {
            Keys::Series => &["unique_id", "ds", "y"],
            Keys::Future => &["unique_id", "ds"],
            Keys::Static => &["unique_id"],
        }
    }
}

/// The series of `data` as a frame; more than `max_series` distinct series is refused.
pub fn frame(data: &JsonTable, max_series: usize) -> Result<TimeSeriesFrame, ApiError> {
    let table = read_table(data, "data", Keys::Series)?;
    let series: HashSet<&str> = table.ids.iter().map(String::as_str).collect();
    if series.len() > max_series {
        return Err(ApiError::too_large(format!(
            "data: {} series in one request; this server takes at most {max_series}",
            series.len()
        )));
    }
    TimeSeriesFrame::from_columns_with_extra(
        "data",
        &table.ids,
        &table.ds,
        &table.y,
        &table.extra,
        None,
    )
    .map(|frame| frame.with_ds_style(table.ds_style))
    .map_err(ApiError::from)
}

/// Future exogenous values from `futr_data`.
pub fn future_table(data: &JsonTable) -> Result<FutureTable, ApiError> {
    let table = read_table(data, "futr_data", Keys::Future)?;
    FutureTable::from_columns("futr_data", &table.ids, &table.ds, &table.extra)
        .map_err(ApiError::from)
}

/// Static exogenous values from `static_data`.
pub fn static_table(data: &JsonTable) -> Result<StaticTable, ApiError> {
    let table = read_table(data, "static_data", Keys::Static)?;
    StaticTable::from_columns("static_data", &table.ids, &table.extra).map_err(ApiError::from)
}

fn read_table(data: &JsonTable, source: &str, keys: Keys) -> Result<Table, ApiError> {
    match data {
        JsonTable::Records { rows, names } => read_records(rows, names, source, keys),
        JsonTable::Columns(columns)
            if keys
                .names()
                .iter()
                .all(|k| columns.iter().any(|(name, _)| name == k)) =>
        {
            read_columns(columns, source, keys)
        }
        _ => {
            let names = keys.names();
            let record = names.join(", ");
            let columns: Vec<String> = names.iter().map(|k| format!("{k}: []")).collect();
            Err(ApiError::bad_request(format!(
                "{source} must be records [{{ {record}, ... }}] or columns {{ {}, ... }}",
                columns.join(", ")
            )))
        }
    }
}

fn read_records<'a>(
    rows: &'a [Row],
    names: &[String],
    source: &str,
    keys: Keys,
) -> Result<Table, ApiError> {
    let column = |key: &str| names.iter().position(|name| name == key);
    let key_columns: Vec<(&str, Option<usize>)> =
        keys.names().iter().map(|k| (*k, column(k))).collect();
    for (i, row) in rows.iter().enumerate() {
        if *row == Row::NotObject {
            return Err(ApiError::bad_request(format!(
                "{source}: row {} is not an object",
                i + 1
            )));
        }
        for (key, index) in &key_columns {
            if index.and_then(|c| row.get(c)).is_none() {
                return Err(ApiError::bad_request(format!(
                    "{source}: row {} has no '{key}'",
                    i + 1
                )));
            }
        }
    }
    // Every key column exists once the rows have passed the checks above (or there are none).
    let (id_column, ds_column, y_column) = (column("unique_id"), column("ds"), column("y"));
    let cell = |row: &'a Row, column: Option<usize>| column.and_then(|c| row.get(c));
    let mut table = Table {
        ids: Vec::with_capacity(rows.len()),
        ds: Vec::new(),
        ds_style: None,
        y: Vec::new(),
        extra: Vec::new(),
    };
    let mut vote = DsStyleVote::new("row");
    for (i, row) in rows.iter().enumerate() {
        let id = id_text(cell(row, id_column), source, i)?;
        if !matches!(keys, Keys::Static) {
            let ds = timestamp(cell(row, ds_column), source, i, &id, &mut vote)?;
            table.ds.push(ds);
        }
        if matches!(keys, Keys::Series) {
            table.y.push(target(cell(row, y_column), source, i, &id)?);
        }
        table.ids.push(id);
    }
    table.ds_style = vote.style();
    table.extra = names
        .iter()
        .enumerate()
        .filter(|(_, name)| !keys.names().contains(&name.as_str()))
        .map(|(c, name)| {
            let values = rows
                .iter()
                .map(|row| row.get(c).map_or(f64::NAN, number))
                .collect();
            (name.clone(), values)
        })
        .collect();
    Ok(table)
}

fn read_columns(columns: &[(String, Column)], source: &str, keys: Keys) -> Result<Table, ApiError> {
    let column = |name: &str| -> Result<&Vec<Cell>, ApiError> {
        match columns.iter().find(|(n, _)| n == name).map(|(_, c)| c) {
            Some(Column::Values(values)) => Ok(values),
            _ => Err(ApiError::bad_request(format!(
                "{source}: column '{name}' is not an array"
            ))),
        }
    };
    let id_values = column("unique_id")?;
    let n = id_values.len();
    let checked = |name: &str| -> Result<&Vec<Cell>, ApiError> {
        let values = column(name)?;
        if values.len() != n {
            return Err(ApiError::bad_request(format!(
                "{source}: column '{name}' has {} values for {n} rows (unique_id has {n})",
                values.len()
            )));
        }
        Ok(values)
    };
    let mut table = Table {
        ids: Vec::with_capacity(n),
        ds: Vec::new(),
        ds_style: None,
        y: Vec::new(),
        extra: Vec::new(),
    };
    for (i, value) in id_values.iter().enumerate() {
        table.ids.push(id_text(Some(value), source, i)?);
    }
    if !matches!(keys, Keys::Static) {
        let ds = checked("ds")?;
        let mut vote = DsStyleVote::new("row");
        table.ds = ds
            .iter()
            .enumerate()
            .map(|(i, v)| timestamp(Some(v), source, i, &table.ids[i], &mut vote))
            .collect::<Result<_, _>>()?;
        table.ds_style = vote.style();
    }
    if matches!(keys, Keys::Series) {
        let y = checked("y")?;
        table.y = y
            .iter()
            .enumerate()
            .map(|(i, v)| target(Some(v), source, i, &table.ids[i]))
            .collect::<Result<_, _>>()?;
    }
    for (name, _) in columns
        .iter()
        .filter(|(k, _)| !keys.names().contains(&k.as_str()))
    {
        let values = checked(name)?;
        table
            .extra
            .push((name.clone(), values.iter().map(number).collect()));
    }
    Ok(table)
}

/// A series id: a string or a number.
fn id_text(value: Option<&Cell>, source: &str, row: usize) -> Result<String, ApiError> {
    match value {
        Some(Cell::Text(text)) => Ok(text.clone()),
        Some(Cell::Number(number)) => Ok(number.to_string()),
        other => Err(ApiError::bad_request(format!(
            "{source}: row {}: unique_id must be a string or a number, got {}",
            row + 1,
            quoted(other)
        ))),
    }
}

/// A `ds` value: a date or date-time string or an integer; a date-time's style goes to `vote`.
fn timestamp(
    value: Option<&Cell>,
    source: &str,
    row: usize,
    id: &str,
    vote: &mut DsStyleVote,
) -> Result<Timestamp, ApiError> {
    let parsed = match value {
        Some(Cell::Text(text)) => Timestamp::parse_styled(text),
        Some(Cell::Number(number)) => number
            .as_i64()
            .map(|v| (Timestamp::Int(v), DsStyle::default())),
        _ => None,
    };
    let Some((ds, style)) = parsed else {
        return Err(ApiError::bad_request(format!(
            "{source}: row {}: series '{id}': ds {} is neither an integer nor a date; {DS_FORMS}",
            row + 1,
            quoted(value)
        )));
    };
    vote.observe(&ds, style, row as u64 + 1)
        .map_err(|m| ApiError::bad_request(format!("{source}: {m}")))?;
    Ok(ds)
}

/// A target value: a JSON number.
fn target(value: Option<&Cell>, source: &str, row: usize, id: &str) -> Result<f64, ApiError> {
    match value {
        Some(Cell::Number(number)) => number.as_f64(),
        _ => None,
    }
    .ok_or_else(|| {
        ApiError::bad_request(format!(
            "{source}: row {}: series '{id}': column 'y' must be a number, got {}",
            row + 1,
            quoted(value)
        ))
    })
}

/// An exogenous value: a number or decimal text; anything else is missing (NaN).
fn number(value: &Cell) -> f64 {
    match value {
        Cell::Number(number) => number.as_f64().unwrap_or(f64::NAN),
        Cell::Text(text) => text
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .unwrap_or(f64::NAN),
        Cell::Other(_) => f64::NAN,
    }
}

/// A cell as JSON text for a message (`null` when absent).
fn quoted(value: Option<&Cell>) -> String {
    value.map_or_else(|| "null".to_string(), Cell::to_string)
}
