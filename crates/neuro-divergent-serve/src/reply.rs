//! Forecasts as a response body: JSON (records or columns) naming the model version, or CSV as
//! the CLI writes it.

use neuro_divergent::data::{DsStyle, Timestamp};
use neuro_divergent::Forecasts;
use serde_json::{json, Map, Value};

use crate::api_error::ApiError;
use crate::payload::Shape;

/// The JSON content type.
pub const JSON: &str = "application/json";
/// The CSV content type.
pub const CSV: &str = "text/csv";

/// `ds` as JSON: an integer for integer time, else ISO text.
fn ds_value(ds: &Timestamp, style: DsStyle) -> Value {
    match ds {
        Timestamp::Int(v) => json!(v),
        other => Value::String(other.format(style)),
    }
}

/// `{ "model", "version", "forecasts" }` with the forecasts as records or columns, and
/// `"warnings"` when the forecasts carry any. Values that are not finite are written as `null`.
pub fn json_body(
    name: &str,
    version: i64,
    forecasts: &Forecasts,
    shape: Shape,
) -> Result<Vec<u8>, ApiError> {
    let rows = match shape {
        Shape::Records => {
            let records: Vec<Value> = (0..forecasts.len())
                .map(|i| {
                    let mut row = Map::with_capacity(2 + forecasts.columns.len());
                    row.insert("unique_id".into(), Value::String(forecasts.ids[i].clone()));
                    row.insert("ds".into(), ds_value(&forecasts.ds[i], forecasts.ds_style));
                    for (column, values) in forecasts.columns.iter().zip(&forecasts.values) {
                        row.insert(column.clone(), json!(values[i]));
                    }
                    Value::Object(row)
                })
                .collect();
            Value::Array(records)
        }
        Shape::Columns => {
            let mut columns = Map::with_capacity(2 + forecasts.columns.len());
            columns.insert("unique_id".into(), json!(forecasts.ids));
            let ds: Vec<Value> = forecasts
                .ds
                .iter()
                .map(|d| ds_value(d, forecasts.ds_style))
                .collect();
            columns.insert("ds".into(), Value::Array(ds));
            for (column, values) in forecasts.columns.iter().zip(&forecasts.values) {
                columns.insert(column.clone(), json!(values));
            }
            Value::Object(columns)
        }
    };
    let mut body = json!({ "model": name, "version": version, "forecasts": rows });
    if !forecasts.warnings.is_empty() {
        body["warnings"] = json!(forecasts.warnings);
    }
    serde_json::to_vec(&body).map_err(|e| ApiError::internal(format!("writing the response: {e}")))
}

/// The forecasts as CSV, exactly as `neuro-divergent predict` writes them.
pub fn csv_body(forecasts: &Forecasts) -> Result<Vec<u8>, ApiError> {
    let mut body = Vec::new();
    forecasts.write_csv(&mut body)?;
    Ok(body)
}
