//! The API's one error type: a status code and `{"error", "message"}` JSON.

use crate::records::RecordError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub errors: Option<Vec<RecordError>>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), errors: None }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
    }

    pub fn invalid_records(errors: Vec<RecordError>) -> Self {
        let message = format!("{} of the records are invalid; nothing was stored", errors.len());
        ApiError { errors: Some(errors), ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_records", message) }
    }

    /// Records the sender may not send: 403, naming each, and nothing stored.
    pub fn out_of_scope(errors: Vec<RecordError>) -> Self {
        let message = format!("{} of the records are outside what you may send; nothing was stored", errors.len());
        ApiError { errors: Some(errors), ..Self::forbidden(message) }
    }

    /// Logs the cause; the client sees only that something failed on our side.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let id = crate::error::error_id();
        tracing::error!(error_id = %id, "internal error: {cause}");
        let message = format!("something went wrong on the server; try again (error id {id})");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({"error": self.code, "message": self.message});
        if let Some(errors) = self.errors {
            body["errors"] = json!(errors);
        }
        (self.status, Json(body)).into_response()
    }
}
