//! The generic item routes: list with filters, create, detail, by_ref, patch, delete, history.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::context::Ctx;
use crate::items::{history_body, render, story_tasks};
use crate::model::{Item, ItemKind};
use crate::request::{json_body, path_id};
use crate::respond;
use crate::state::State;

use crate::respond::Answer;

fn object(body: &Bytes) -> Result<Map<String, Value>, Response> {
    match json_body(body)? {
        Value::Object(map) => Ok(map),
        _ => Err(respond::api_error(
            StatusCode::BAD_REQUEST,
            "Invalid data",
            "BadRequest",
        )),
    }
}

fn ids(text: &str) -> Result<Vec<Option<i64>>, Response> {
    text.split(',')
        .map(|part| match part.trim() {
            "null" => Ok(None),
            number => number.parse::<i64>().map(Some).map_err(|_| {
                respond::api_error(StatusCode::BAD_REQUEST, "Error in filter params types.", "BadRequest")
            }),
        })
        .collect()
}

fn matches_filters(state: &State, ctx: &Ctx, item: &Item, rendered: &Value) -> Result<bool, Response> {
    for (key, value) in &ctx.query {
        let keep = match key.as_str() {
            "project" | "milestone" | "user_story" | "status" | "assigned_to" | "owner" | "priority" | "severity"
            | "type" => {
                let wanted = ids(value)?;
                wanted.contains(&rendered[key.as_str()].as_i64())
            }
            "assigned_users" => {
                let wanted = ids(value)?;
                let users = rendered["assigned_users"].as_array().cloned().unwrap_or_default();
                wanted.iter().any(|id| match id {
                    Some(id) => users.contains(&Value::from(*id)),
                    None => users.is_empty(),
                })
            }
            "epic" => {
                let wanted = ids(value)?;
                state
                    .epic_links
                    .iter()
                    .any(|link| link.user_story == item.id && wanted.contains(&Some(link.epic)))
            }
            "tags" => {
                let tags = rendered["tags"].as_array().cloned().unwrap_or_default();
                value.split(',').any(|tag| {
                    tags.iter()
                        .any(|pair| pair[0].as_str() == Some(tag.trim().to_lowercase().as_str()))
                })
            }
            "closed" | "is_closed" => {
                let field = if item.kind == ItemKind::Milestone {
                    "closed"
                } else {
                    "is_closed"
                };
                rendered[field].as_bool() == Some(value == "true")
            }
            "slug" => rendered["slug"].as_str() == Some(value.as_str()),
            "q" => {
                let haystack = format!(
                    "{} {} {} {}",
                    item.get("subject").as_str().unwrap_or_default(),
                    item.get("description").as_str().unwrap_or_default(),
                    rendered["tags"],
                    rendered["ref"]
                )
                .to_lowercase();
                value
                    .split_whitespace()
                    .all(|word| haystack.contains(&word.to_lowercase()))
            }
            _ => true,
        };
        if !keep {
            return Ok(false);
        }
    }
    Ok(true)
}

fn sort(kind: ItemKind, items: &mut [(&Item, Value)]) {
    let number = |value: &Value| value.as_i64().unwrap_or(0);
    items.sort_by(|(a, ra), (b, rb)| match kind {
        ItemKind::UserStory => (a.project, number(&ra["backlog_order"]), number(&ra["ref"])).cmp(&(
            b.project,
            number(&rb["backlog_order"]),
            number(&rb["ref"]),
        )),
        ItemKind::Task => (a.project, a.id).cmp(&(b.project, b.id)),
        ItemKind::Issue => (a.project, -a.id).cmp(&(b.project, -b.id)),
        ItemKind::Epic => (a.project, number(&ra["epics_order"]), number(&ra["ref"])).cmp(&(
            b.project,
            number(&rb["epics_order"]),
            number(&rb["ref"]),
        )),
        ItemKind::Milestone => rb["estimated_start"].as_str().cmp(&ra["estimated_start"].as_str()),
        ItemKind::Wiki => (a.project, ra["slug"].as_str()).cmp(&(b.project, rb["slug"].as_str())),
    });
}

/// `GET /<kind>?filters`: visible items, filtered, in Taiga's default order, paginated.
pub async fn list(ctx: Ctx, kind: ItemKind) -> Response {
    let (items, extra) = {
        let state = ctx.state();
        let mut selected: Vec<(&Item, Value)> = Vec::new();
        // Taiga filters by project in SQL before serialising; rendering every other project's items
        // first would make the simulator, not the bridge, dominate the benchmarks.
        let project = ctx.param("project").and_then(|id| id.parse::<i64>().ok());
        for item in state.items_of(kind) {
            if project.is_some_and(|project| item.project != project) {
                continue;
            }
            let visible = state.project(item.project).is_some_and(|p| state.can_view(p, ctx.user));
            if !visible {
                continue;
            }
            let mut rendered = render(&state, item, false);
            // taiga-back attaches a story's tasks only when `include_tasks` is in the query.
            if kind == ItemKind::UserStory && ctx.param("include_tasks").is_some() {
                rendered["tasks"] = story_tasks(&state, item);
            }
            match matches_filters(&state, &ctx, item, &rendered) {
                Ok(true) => selected.push((item, rendered)),
                Ok(false) => {}
                Err(response) => return response,
            }
        }
        sort(kind, &mut selected);
        let mut extra: Vec<(&'static str, String)> = Vec::new();
        if kind == ItemKind::Milestone && ctx.param("project").is_some() {
            let closed = selected.iter().filter(|(_, r)| r["closed"] == true).count();
            extra.push((
                "taiga-info-total-opened-milestones",
                (selected.len() - closed).to_string(),
            ));
            extra.push(("taiga-info-total-closed-milestones", closed.to_string()));
        }
        if kind == ItemKind::UserStory && ctx.param("project").is_some() {
            extra.push(("taiga-info-userstories-without-swimlane", "true".to_owned()));
            if ctx.param("milestone") == Some("null") {
                extra.push(("taiga-info-backlog-total-userstories", selected.len().to_string()));
            }
        }
        (
            selected.into_iter().map(|(_, rendered)| rendered).collect::<Vec<_>>(),
            extra,
        )
    };
    let mut response = ctx.paginate(items);
    for (name, value) in extra {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// `POST /<kind>`: 201 with the detail body.
pub async fn create(ctx: Ctx, kind: ItemKind, body: Bytes) -> Answer {
    let user = ctx.require_user()?;
    let body = object(&body)?;
    let mut state = ctx.state();
    let id = state
        .create_item(kind, user, &body)
        .map_err(IntoResponse::into_response)?;
    let item = state.item(kind, id).ok_or_else(|| respond::not_found(""))?;
    Ok(respond::created(render(&state, item, true)))
}

/// Finds a visible item, answering 404 / 401 / 403 as Taiga does.
pub fn visible<'a>(state: &'a State, ctx: &Ctx, kind: ItemKind, id: i64) -> Result<&'a Item, Response> {
    let item = state.item(kind, id).ok_or_else(|| respond::no_match(kind.model()))?;
    let project = state
        .project(item.project)
        .ok_or_else(|| respond::no_match(kind.model()))?;
    if state.can_view(project, ctx.user) {
        Ok(item)
    } else {
        Err(respond::not_visible(ctx.user))
    }
}

/// `GET /<kind>/{id}`.
pub async fn detail(ctx: Ctx, kind: ItemKind, Path(id): Path<String>) -> Answer {
    let id = path_id(&id)?;
    let state = ctx.state();
    let item = visible(&state, &ctx, kind, id)?;
    Ok(respond::ok(with_neighbors(render(&state, item, true), kind)))
}

fn with_neighbors(mut body: Value, kind: ItemKind) -> Value {
    if kind.has_ref() {
        body["neighbors"] = json!({"previous": null, "next": null});
    }
    body
}

/// `GET /<kind>/by_ref?ref=&project=`.
pub async fn by_ref(ctx: Ctx, kind: ItemKind) -> Response {
    let Some(reference) = ctx.param("ref").and_then(|r| r.parse::<i64>().ok()) else {
        return respond::json_response(StatusCode::BAD_REQUEST, &json!("ref param is needed"));
    };
    let Some(project) = ctx.param("project").and_then(|p| p.parse::<i64>().ok()) else {
        return respond::json_response(
            StatusCode::BAD_REQUEST,
            &json!("project or project__slug param is needed"),
        );
    };
    let state = ctx.state();
    let found = state
        .items_of(kind)
        .find(|item| item.project == project && item.get("ref") == reference)
        .map(|item| item.id);
    match found.map(|id| visible(&state, &ctx, kind, id)) {
        Some(Ok(item)) => respond::ok(with_neighbors(render(&state, item, true), kind)),
        Some(Err(response)) => response,
        None => respond::no_match(kind.model()),
    }
}

/// `GET /wiki/by_slug?slug=&project=`.
pub async fn wiki_by_slug(ctx: Ctx) -> Response {
    let project = ctx.param("project").and_then(|p| p.parse::<i64>().ok());
    let slug = ctx.param("slug").unwrap_or_default().to_owned();
    let state = ctx.state();
    let found = state
        .items_of(ItemKind::Wiki)
        .find(|item| Some(item.project) == project && item.get("slug") == slug.as_str())
        .map(|item| item.id);
    match found.map(|id| visible(&state, &ctx, ItemKind::Wiki, id)) {
        Some(Ok(item)) => respond::ok(render(&state, item, true)),
        Some(Err(response)) => response,
        None => respond::no_match(ItemKind::Wiki.model()),
    }
}

/// PATCH or DELETE of a missing id: 404 for a superuser, 403 for anyone else (SPEC §2).
fn missing_for_write(state: &State, user: i64) -> Response {
    if state.user(user).is_some_and(|u| u.is_superuser) {
        respond::not_found("")
    } else {
        respond::forbidden()
    }
}

/// `PATCH /<kind>/{id}`: OCC for versioned kinds; 200 with the detail body.
pub async fn patch(ctx: Ctx, kind: ItemKind, Path(id): Path<String>, body: Bytes) -> Answer {
    let id = path_id(&id)?;
    let user = ctx.require_user()?;
    let body = object(&body)?;
    let mut state = ctx.state();
    if state.item(kind, id).is_none() {
        return Err(missing_for_write(&state, user));
    }
    state
        .update_item(kind, id, user, &body)
        .map_err(IntoResponse::into_response)?;
    let item = state.item(kind, id).ok_or_else(|| respond::not_found(""))?;
    let mut response = respond::ok(render(&state, item, true));
    if matches!(kind, ItemKind::UserStory | ItemKind::Task | ItemKind::Epic) {
        response
            .headers_mut()
            .insert("taiga-info-order-updated", HeaderValue::from_static("{}"));
    }
    Ok(response)
}

/// `DELETE /<kind>/{id}`: 204, no OCC.
pub async fn delete(ctx: Ctx, kind: ItemKind, Path(id): Path<String>) -> Answer {
    let id = path_id(&id)?;
    let user = ctx.require_user()?;
    let mut state = ctx.state();
    let Some(project) = state.item(kind, id).map(|item| item.project) else {
        return Err(missing_for_write(&state, user));
    };
    if !state.can_edit(project, user) {
        return Err(respond::forbidden());
    }
    state.delete_item(kind, id);
    Ok(respond::no_content())
}

/// `GET /history/<kind>/{id}[?type=comment|activity]`: newest first.
pub async fn history(ctx: Ctx, Path((name, id)): Path<(String, String)>) -> Answer {
    let Some(kind) = ItemKind::from_history_name(&name) else {
        return Err(respond::html_not_found(&name));
    };
    let id = path_id(&id)?;
    let entries = {
        let state = ctx.state();
        let item = visible(&state, &ctx, kind, id)?;
        let wanted = ctx.param("type");
        item.history
            .iter()
            .rev()
            .filter(|entry| match wanted {
                Some("comment") => !entry.comment.is_empty(),
                Some("activity") => !entry.diff.is_empty(),
                _ => true,
            })
            .map(|entry| history_body(&state, item, entry))
            .collect::<Vec<_>>()
    };
    Ok(ctx.paginate(entries))
}
