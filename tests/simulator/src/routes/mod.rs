//! The routes, one module per Taiga resource.

mod auth;
mod projects;

use axum::Router;
use axum::body::Bytes;
use axum::http::{Method, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::Value;

use crate::context::Sim;
use crate::respond;

/// Every route of the simulated API.
pub fn router() -> Router<Sim> {
    Router::new()
        .route("/api/v1/auth", post(auth::login))
        .route("/api/v1/auth/refresh", post(auth::refresh))
        .route("/api/v1/users/me", get(auth::me))
        .route("/api/v1/projects", get(projects::list))
        .route("/api/v1/projects/by_slug", get(projects::by_slug))
        .route("/api/v1/projects/{id}", get(projects::detail))
        .method_not_allowed_fallback(|method: Method| async move { respond::method_not_allowed(method.as_str()) })
        .fallback(|uri: Uri| async move { respond::html_not_found(uri.path()) })
}

/// Parses a JSON body the way Taiga reports a bad one.
pub fn json_body(body: &Bytes) -> Result<Value, Response> {
    if body.is_empty() {
        return Ok(Value::Object(serde_json::Map::new()));
    }
    serde_json::from_slice(body).map_err(|err| {
        respond::api_error(
            axum::http::StatusCode::BAD_REQUEST,
            &format!("JSON parse error - {err}"),
            "ParseError",
        )
    })
}

/// A path id: Taiga routes only digits to detail views.
pub fn path_id(raw: &str) -> Result<i64, Response> {
    raw.parse::<i64>().map_err(|_| respond::html_not_found(raw))
}
