//! `/auth`, `/auth/refresh` and `/users/me`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::json_body;
use crate::context::{Ctx, Sim};
use crate::respond;
use crate::state::{User, gravatar};

/// The user object of `/users/me` and of the login answer (before tokens).
pub fn user_body(user: &User) -> Value {
    json!({
        "id": user.id,
        "username": user.username,
        "full_name": user.full_name,
        "full_name_display": user.full_name,
        "color": "",
        "bio": "",
        "lang": "",
        "theme": "",
        "timezone": "",
        "is_active": true,
        "photo": null,
        "big_photo": null,
        "gravatar_id": gravatar(&user.email),
        "roles": [],
        "total_private_projects": 0,
        "total_public_projects": 0,
        "email": user.email,
        "uuid": format!("{:032x}", user.id as u128 * 0x9e37_79b9_7f4a_7c15),
        "date_joined": user.date_joined,
        "read_new_terms": false,
        "accepted_terms": true,
        "max_private_projects": null,
        "max_public_projects": null,
        "max_memberships_private_projects": null,
        "max_memberships_public_projects": null,
        "verified_email": user.verified_email,
    })
}

/// `POST /auth {"type": "normal", "username", "password"}`.
pub async fn login(State(sim): State<Sim>, body: Bytes) -> Response {
    let body = match json_body(&body) {
        Ok(body) => body,
        Err(response) => return response,
    };
    if body["type"] != "normal" {
        return respond::api_error(StatusCode::BAD_REQUEST, "invalid login type", "BadRequest");
    }
    let (Some(username), Some(password)) = (body["username"].as_str(), body["password"].as_str()) else {
        let missing = if body["username"].is_string() {
            "password"
        } else {
            "username"
        };
        return respond::required(missing);
    };
    let mut state = sim.state();
    let Some(user) = state
        .user_by_login(username)
        .filter(|user| user.password == password)
        .cloned()
    else {
        return respond::invalid_credentials();
    };
    let (access, refresh) = state.issue_tokens(user.id);
    let mut answer = user_body(&user);
    answer["refresh"] = refresh.into();
    answer["auth_token"] = access.into();
    respond::ok(answer)
}

/// `POST /auth/refresh {"refresh"}`: rotates the refresh token.
pub async fn refresh(State(sim): State<Sim>, body: Bytes) -> Response {
    let body = match json_body(&body) {
        Ok(body) => body,
        Err(response) => return response,
    };
    let Some(token) = body["refresh"].as_str() else {
        return respond::required("refresh");
    };
    let mut state = sim.state();
    let Some(user) = state.refresh_tokens.remove(token) else {
        return respond::refresh_not_valid();
    };
    let (access, refresh) = state.issue_tokens(user);
    respond::ok(json!({"auth_token": access, "refresh": refresh}))
}

/// `GET /users/me`.
pub async fn me(ctx: Ctx) -> Response {
    let user = match ctx.require_user() {
        Ok(user) => user,
        Err(response) => return response,
    };
    match ctx.state().user(user) {
        Some(user) => respond::ok(user_body(user)),
        None => respond::not_authenticated(),
    }
}
