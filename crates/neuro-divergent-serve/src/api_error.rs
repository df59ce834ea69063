//! Errors as HTTP responses: a status, a short machine-readable kind and the library's message,
//! as JSON `{ "error": { "kind", "message" } }`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use neuro_divergent_store::StoreError;
use serde_json::json;

/// An error answered to a client.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What kind of error (`bad_request`, `not_found`, `busy`, …), also the metrics label.
    pub kind: &'static str,
    /// What went wrong, for the person who sent the request.
    pub message: String,
    /// Seconds after which a retry may succeed (sent as `Retry-After`).
    pub retry_after: Option<u32>,
}

impl ApiError {
    fn new(status: StatusCode, kind: &'static str, message: String) -> ApiError {
        ApiError {
            status,
            kind,
            message,
            retry_after: None,
        }
    }

    /// 400: the request is malformed or its data invalid.
    pub fn bad_request(message: String) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 401 with `WWW-Authenticate`: no valid API key.
    pub fn unauthorized(message: String) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403: the API key lacks the scope, or the route is off on this node.
    pub fn forbidden(message: String) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404: no such model, version, alias or route.
    pub fn not_found(message: String) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 413: the request is larger than this server takes.
    pub fn too_large(message: String) -> ApiError {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
    }

    /// 503 with `Retry-After`: every slot is taken.
    pub fn busy(message: String) -> ApiError {
        ApiError {
            retry_after: Some(1),
            ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", message)
        }
    }

    /// 503 with `Retry-After`: the request ran past the server's time limit.
    pub fn timeout(message: String) -> ApiError {
        ApiError {
            retry_after: Some(1),
            ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "timeout", message)
        }
    }

    /// 503 with `Retry-After`: the model store cannot be reached.
    pub fn unavailable(message: String) -> ApiError {
        ApiError {
            retry_after: Some(2),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                message,
            )
        }
    }

    /// 500: a fault of the server or of a stored model (a corrupt version).
    pub fn internal(message: String) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

impl From<neuro_divergent::Error> for ApiError {
    fn from(error: neuro_divergent::Error) -> ApiError {
        match error {
            neuro_divergent::Error::Data(_) | neuro_divergent::Error::Config(_) => {
                ApiError::bad_request(error.to_string())
            }
            other => ApiError::internal(other.to_string()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match &error {
            StoreError::UnknownModel { .. }
            | StoreError::UnknownVersion { .. }
            | StoreError::UnknownAlias { .. } => ApiError::not_found(error.to_string()),
            StoreError::Invalid(_) => ApiError::bad_request(error.to_string()),
            StoreError::Unreachable { .. } | StoreError::Database { .. } => {
                ApiError::unavailable(error.to_string())
            }
            _ => ApiError::internal(error.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "kind": self.kind, "message": self.message } });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response.extensions_mut().insert(ErrorKind(self.kind));
        response
    }
}

/// The kind of an error response, read back by the metrics layer.
#[derive(Debug, Clone, Copy)]
pub struct ErrorKind(pub &'static str);
