//! `/auth`, `/auth/refresh` and `/users/me`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::context::{Ctx, Sim};
use crate::model::{User, gravatar};
use crate::request::json_body;
use crate::respond;

use crate::respond::Answer;

/// The names of the roles a user holds across projects, sorted, as Taiga lists them.
fn role_names(state: &crate::state::State, user: i64) -> Vec<Value> {
    let mut names: Vec<String> = state
        .memberships
        .iter()
        .filter(|m| m.user == Some(user))
        .filter_map(|m| {
            state
                .project(m.project)
                .and_then(|p| p.lookups.role_name(m.role).as_str().map(str::to_owned))
        })
        .collect();
    names.sort();
    names.dedup();
    names.into_iter().map(Value::from).collect()
}

/// The user object of `/users/me` and of the login answer (before tokens).
pub fn user_body(state: &crate::state::State, user: &User) -> Value {
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
        "roles": role_names(state, user.id),
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
///
/// With an auth plugin installed (`Mount::auth_plugin`), its `type` signs in against the plugin's
/// directory instead.
pub async fn login(State(sim): State<Sim>, body: Bytes) -> Answer {
    let body = json_body(&body)?;
    let plugin = sim.state().auth_plugin.clone();
    let through_plugin = plugin.is_some() && body["type"].as_str() == plugin.as_deref();
    if body["type"] != "normal" && !through_plugin {
        return Err(respond::api_error(
            StatusCode::BAD_REQUEST,
            "invalid login type",
            "BadRequest",
        ));
    }
    let (Some(username), Some(password)) = (body["username"].as_str(), body["password"].as_str()) else {
        let missing = if body["username"].is_string() {
            "password"
        } else {
            "username"
        };
        return Err(respond::required(missing));
    };
    let mut state = sim.state();
    let user = if through_plugin {
        directory_login(&mut state, username, password)?
    } else {
        state
            .user_by_login(username)
            .filter(|user| user.password == password)
            .cloned()
            .ok_or_else(respond::invalid_credentials)?
    };
    let (access, refresh) = state.issue_tokens(user.id);
    let mut answer = user_body(&state, &user);
    answer["refresh"] = refresh.into();
    answer["auth_token"] = access.into();
    Ok(respond::ok(answer))
}

/// An auth plugin's sign-in, as taiga-contrib-ldap-auth and its forks do it: the directory checks
/// the password, the user is registered in Taiga on the first sign-in, and the answer is the
/// normal login's (`make_auth_response_data`). GUESS, from the plugins' source, not a recording:
/// the refusal is the `WrongArguments` 400 one fork raises; others raise their connector's
/// exception, also a 400.
fn directory_login(state: &mut crate::state::State, username: &str, password: &str) -> Result<User, Response> {
    let refused = || {
        respond::api_error(
            StatusCode::BAD_REQUEST,
            "Username or password does not matches user.",
            "WrongArguments",
        )
    };
    let entry = state
        .directory
        .iter()
        .find(|entry| entry.username.eq_ignore_ascii_case(username) && entry.password == password)
        .cloned()
        .ok_or_else(refused)?;
    if let Some(user) = state.user_by_login(&entry.username) {
        return Ok(user.clone());
    }
    // The plugin stores no usable Taiga password: the directory's stays the only way in.
    let id = state.add_user(&entry.username, &entry.email, "!", &entry.full_name);
    state.user(id).cloned().ok_or_else(refused)
}

/// `POST /auth/refresh {"refresh"}`: rotates the refresh token.
pub async fn refresh(State(sim): State<Sim>, body: Bytes) -> Answer {
    let body = json_body(&body)?;
    let Some(token) = body["refresh"].as_str() else {
        return Err(respond::required("refresh"));
    };
    let mut state = sim.state();
    let Some(user) = state.refresh_tokens.remove(token) else {
        return Err(respond::refresh_not_valid());
    };
    let (access, refresh) = state.issue_tokens(user);
    Ok(respond::ok(json!({"auth_token": access, "refresh": refresh})))
}

/// `GET /users/me`.
pub async fn me(ctx: Ctx) -> Answer {
    let user = ctx.require_user()?;
    let state = ctx.state();
    let user = state.user(user).ok_or_else(respond::not_authenticated)?;
    Ok(respond::ok(user_body(&state, user)))
}

/// `POST /auth/register {"type": "public", "username", "full_name", "email", "password", "accepted_terms"}`:
/// 201 with the login body; new users have an unverified email.
pub async fn register(State(sim): State<Sim>, body: Bytes) -> Answer {
    let body = json_body(&body)?;
    if body["type"] != "public" {
        return Err(respond::api_error(
            StatusCode::BAD_REQUEST,
            "invalid register type",
            "BadRequest",
        ));
    }
    let mut missing = serde_json::Map::new();
    for field in ["username", "full_name", "email", "password"] {
        if body[field].as_str().is_none_or(str::is_empty) {
            missing.insert(field.into(), json!(["This field is required."]));
        }
    }
    if !missing.is_empty() {
        return Err(respond::field_errors(Value::Object(missing)));
    }
    if body["accepted_terms"] != true {
        return Err(respond::api_error(
            StatusCode::BAD_REQUEST,
            "You must accept our terms of service and privacy policy",
            "BadRequest",
        ));
    }
    let text = |field: &str| body[field].as_str().unwrap_or_default().to_owned();
    let mut state = sim.state();
    if state
        .users
        .iter()
        .any(|user| user.username.eq_ignore_ascii_case(&text("username")))
    {
        return Err(respond::api_error(
            StatusCode::BAD_REQUEST,
            "Username is already in use.",
            "WrongArguments",
        ));
    }
    if state
        .users
        .iter()
        .any(|user| user.email.eq_ignore_ascii_case(&text("email")))
    {
        return Err(respond::api_error(
            StatusCode::BAD_REQUEST,
            "Email is already in use.",
            "WrongArguments",
        ));
    }
    let id = state.add_user(&text("username"), &text("email"), &text("password"), &text("full_name"));
    let Some(user) = state.users.iter_mut().find(|user| user.id == id) else {
        return Err(respond::not_found(""));
    };
    user.verified_email = false;
    let user = user.clone();
    let (access, refresh) = state.issue_tokens(id);
    let mut answer = user_body(&state, &user);
    answer["refresh"] = refresh.into();
    answer["auth_token"] = access.into();
    Ok(respond::created(answer))
}
