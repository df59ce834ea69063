//! The HTTP API: forecasts, the models in the store, health, readiness and metrics.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use neuro_divergent::forecast::PredictOptions;
use neuro_divergent::Forecasts;
use neuro_divergent_store::Scope;
use serde::Deserialize;
use serde_json::json;

use crate::api_error::{ApiError, ErrorKind};
use crate::payload::{self, ForecastRequest};
use crate::reply::{self, CSV, JSON};
use crate::response_cache::{reply_key, CachedReply};
use crate::server::AppState;

/// The header naming the model version that answered: `NAME@VERSION`.
pub const VERSION_HEADER: &str = "x-model-version";

/// The header repeated once per warning the forecasts carry (the JSON body lists them under
/// `"warnings"` too; a CSV body has only the headers).
pub const WARNING_HEADER: &str = "x-forecast-warning";

/// `POST /v1/models/{name}/forecast`.
pub async fn forecast(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::too_large(format!(
            "the request body is larger than this server takes ({} bytes)",
            state.config.max_body_bytes
        )),
        _ => ApiError::bad_request(format!("the request body could not be read: {rejection}")),
    })?;
    state.authorize(&headers, Scope::Forecast).await?;
    let Ok(_admitted) = state.in_flight.clone().try_acquire_owned() else {
        return Err(ApiError::busy(format!(
            "this node is answering {} requests; retry shortly",
            state.config.max_in_flight
        )));
    };
    let timeout = state.config.request_timeout;
    match tokio::time::timeout(timeout, answer(&state, &name, &headers, body)).await {
        Ok(result) => result,
        Err(_) => Err(ApiError::timeout(format!(
            "the forecast took longer than this server's limit of {}",
            seconds(timeout)
        ))),
    }
}

fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

/// The CSV type when the client accepts it before JSON, else JSON.
fn content_type(headers: &HeaderMap) -> &'static str {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accept.contains(CSV) && !accept.contains(JSON) {
        CSV
    } else {
        JSON
    }
}

/// About how many bytes one forecast value takes in an answer (name, digits, separators).
const BYTES_PER_VALUE: usize = 24;

async fn answer(
    state: &Arc<AppState>,
    name: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let parsing = body.clone();
    let request = state
        .offload(parsing.len(), move || ForecastRequest::parse(&parsing))
        .await??;
    let reference = request.reference(name)?;
    let version = state.models.get(&reference).await?;
    let content_type = content_type(headers);
    let key = reply_key(
        &version.info.name,
        version.info.version,
        content_type,
        &body,
    );
    if state.cache.enabled() {
        let hit = state.cache.get(&key);
        state.metrics.cache_lookup("response", hit.is_some());
        if let Some(cached) = hit {
            return Ok(respond(&version.info.name, version.info.version, cached));
        }
    }
    let (forecasts, shape) = forecasts(state, &version, request, body.len()).await?;
    let name = version.info.name.clone();
    let number = version.info.version;
    let warnings = forecasts.warnings.clone().into();
    let encoded_size = forecasts.len() * (forecasts.columns.len() + 2) * BYTES_PER_VALUE;
    let body = state
        .offload(encoded_size, move || match content_type {
            CSV => reply::csv_body(&forecasts),
            _ => reply::json_body(&name, number, &forecasts, shape),
        })
        .await??;
    let reply = CachedReply {
        content_type,
        body: Bytes::from(body),
        warnings,
    };
    if state.cache.enabled() {
        state.cache.insert(key, reply.clone());
    }
    Ok(respond(&version.info.name, version.info.version, reply))
}

/// The forecasts a request asks for and the shape it wants them in.
async fn forecasts(
    state: &Arc<AppState>,
    version: &Arc<crate::models::Version>,
    request: ForecastRequest,
    body_len: usize,
) -> Result<(Arc<Forecasts>, payload::Shape), ApiError> {
    let shape = request.format;
    let levels = request.level.clone();
    let own_tables = request.futr_data.is_some() || request.static_data.is_some();
    let stored_series = request.data.is_none() && !own_tables;
    if stored_series {
        let hit = version.stored_forecasts(&levels);
        state.metrics.cache_lookup("stored", hit.is_some());
        if let Some(forecasts) = hit {
            return Ok((forecasts, shape));
        }
    }
    let max_series = state.config.max_series;
    let inputs = state
        .offload(body_len, move || -> Result<_, ApiError> {
            let frame = request
                .data
                .as_ref()
                .map(|d| payload::frame(d, max_series))
                .transpose()?;
            let futr = request
                .futr_data
                .as_ref()
                .map(payload::future_table)
                .transpose()?;
            let statics = request
                .static_data
                .as_ref()
                .map(payload::static_table)
                .transpose()?;
            Ok((frame, futr, statics))
        })
        .await??;
    let (frame, futr, statics) = inputs;
    if let Some(frame) = &frame {
        state.metrics.request_series(frame.series().len());
    }
    let forecasts = match (frame, &state.batcher) {
        (Some(frame), Some(batcher)) if !own_tables => {
            batcher
                .forecast(Arc::clone(version), frame, levels.clone())
                .await?
        }
        (frame, _) => {
            let version = Arc::clone(version);
            let computed_levels = levels.clone();
            state
                .compute
                .run(move || {
                    version.forecaster.predict_with(PredictOptions {
                        data: frame.as_ref(),
                        futr: futr.as_ref(),
                        statics: statics.as_ref(),
                        levels: &computed_levels,
                    })
                })
                .await??
        }
    };
    let forecasts = Arc::new(forecasts);
    if stored_series {
        version.keep_stored_forecasts(&levels, Arc::clone(&forecasts));
    }
    Ok((forecasts, shape))
}

fn respond(name: &str, version: i64, reply: CachedReply) -> Response {
    let mut response = (StatusCode::OK, reply.body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(reply.content_type),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("{name}@{version}")) {
        headers.insert(VERSION_HEADER, value);
    }
    for warning in reply.warnings.iter() {
        let visible: String = warning
            .chars()
            .map(|c| if c.is_ascii_graphic() { c } else { ' ' })
            .collect();
        if let Ok(value) = HeaderValue::from_str(&visible) {
            headers.append(WARNING_HEADER, value);
        }
    }
    response
}

/// `GET /v1/models`: every version in the store, newest first per name.
pub async fn list_models(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    state.authorize(&headers, Scope::Forecast).await?;
    let versions = state.models.store().list(None).await?;
    Ok(Json(json!({ "versions": versions })))
}

/// `GET /v1/models/{name}`: the versions of one model.
pub async fn show_model(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    state.authorize(&headers, Scope::Forecast).await?;
    neuro_divergent_store::check_name(&name)?;
    let versions = state.models.store().list(Some(&name)).await?;
    if versions.is_empty() {
        return Err(ApiError::not_found(format!(
            "model store {}: no model named '{name}'",
            state.models.store().address()
        )));
    }
    Ok(Json(json!({ "name": name, "versions": versions })))
}

/// The body of `PUT /v1/models/{name}/aliases/{alias}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AliasTarget {
    /// The version the alias is to point to.
    version: i64,
}

/// `PUT /v1/models/{name}/aliases/{alias}`: points the alias at a version (atomically). Needs
/// API keys on and a key with the `publish` scope.
pub async fn move_alias(
    State(state): State<Arc<AppState>>,
    Path((name, alias)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Json<AliasTarget>, JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if state.keys.is_none() {
        return Err(ApiError::forbidden(
            "moving aliases over HTTP needs API keys: start the node with --auth".into(),
        ));
    }
    state.authorize(&headers, Scope::Publish).await?;
    let Json(target) = body.map_err(|e| {
        ApiError::bad_request(format!("the request body is not valid: {}", e.body_text()))
    })?;
    let previous = state
        .models
        .store()
        .set_alias(&name, &alias, target.version)
        .await?;
    Ok(Json(
        json!({ "name": name, "alias": alias, "version": target.version, "previous": previous }),
    ))
}

/// `GET /healthz`: the process answers.
pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: 200 once the preloaded models are in memory and the node can answer
/// forecasts (the store reachable, or models already loaded while it is not); 503 otherwise.
pub async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let store = tokio::time::timeout(Duration::from_secs(2), state.models.store().ping()).await;
    let store_ok = matches!(store, Ok(Ok(())));
    let loaded = state.models.loaded_count();
    let preloaded = state.preloaded.load(std::sync::atomic::Ordering::Acquire);
    let ready = preloaded && (store_ok || loaded > 0);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let preload_error = state.preload_error.lock().ok().and_then(|e| e.clone());
    let body = json!({
        "ready": ready,
        "store_reachable": store_ok,
        "models_loaded": loaded,
        "preloaded": preloaded,
        "preload_error": preload_error,
    });
    (status, Json(body)).into_response()
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let mut response = state.metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

/// Any other path.
pub async fn not_found(request: Request) -> ApiError {
    ApiError::not_found(format!(
        "no route {} {}",
        request.method(),
        request.uri().path()
    ))
}

/// Counts every request by route pattern, status and error kind, and times it.
pub async fn track(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let start = Instant::now();
    state.metrics.in_flight().inc();
    let response = next.run(request).await;
    state.metrics.in_flight().dec();
    let kind = response.extensions().get::<ErrorKind>().map(|k| k.0);
    state
        .metrics
        .request(&route, response.status().as_u16(), start.elapsed(), kind);
    response
}
