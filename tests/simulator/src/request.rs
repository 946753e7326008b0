//! Reading requests as Taiga does: JSON bodies and path ids.

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use crate::respond;

/// Parses a JSON body the way Taiga reports a bad one.
pub fn json_body(body: &Bytes) -> Result<Value, Response> {
    if body.is_empty() {
        return Ok(Value::Object(serde_json::Map::new()));
    }
    serde_json::from_slice(body).map_err(|err| {
        respond::api_error(
            StatusCode::BAD_REQUEST,
            &format!("JSON parse error - {err}"),
            "ParseError",
        )
    })
}

/// A path id: Taiga routes only digits to detail views.
pub fn path_id(raw: &str) -> Result<i64, Response> {
    raw.parse::<i64>().map_err(|_| respond::html_not_found(raw))
}
