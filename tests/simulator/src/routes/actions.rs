//! Actions on one item: watch and vote (recordings 198-203), and promoting an issue to a user
//! story (204).

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};

use crate::context::Ctx;
use crate::model::ItemKind;
use crate::request::{json_body, path_id};
use crate::respond::{self, Answer};
use crate::routes::items::visible;

/// Which list of users an action changes, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// `watch` / `unwatch`: the `watchers` list.
    Watch,
    /// `upvote` / `downvote`: the `voters` list.
    Vote,
}

impl Mark {
    fn field(self) -> &'static str {
        match self {
            Self::Watch => "watchers",
            Self::Vote => "voters",
        }
    }
}

/// `POST /<kind>/{id}/watch|unwatch|upvote|downvote`: 200 with an empty body and no content type.
/// Taiga keeps no history for these.
pub async fn mark(ctx: Ctx, kind: ItemKind, mark: Mark, on: bool, Path(id): Path<String>) -> Answer {
    let id = path_id(&id)?;
    let user = ctx.require_user()?;
    let mut state = ctx.state();
    visible(&state, &ctx, kind, id)?;
    let Some(item) = state.items.get_mut(&(kind, id)) else {
        return Err(respond::no_match(kind.model()));
    };
    let mut users: Vec<Value> = item.get(mark.field()).as_array().cloned().unwrap_or_default();
    users.retain(|u| u.as_i64() != Some(user));
    if on {
        users.push(user.into());
    }
    item.fields.insert(mark.field().into(), Value::Array(users));
    Ok(StatusCode::OK.into_response())
}

/// `GET /<kind>/{id}/watchers|voters`: `[{id, username, full_name}]`, not paginated.
pub async fn users(ctx: Ctx, kind: ItemKind, mark: Mark, Path(id): Path<String>) -> Answer {
    let id = path_id(&id)?;
    let state = ctx.state();
    let item = visible(&state, &ctx, kind, id)?;
    let users: Vec<Value> = item
        .get(mark.field())
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| state.user(u.as_i64()?))
        .map(|u| json!({"id": u.id, "username": u.username, "full_name": u.full_name}))
        .collect();
    Ok(respond::ok(Value::Array(users)))
}

/// `POST /issues/{id}/promote_to_user_story {project_id}`: 200 with the new stories' refs.
/// What the story copies from the issue is a guess from Taiga's UI (subject, description, tags,
/// blocked and due fields); the issue's history gains `promoted_to` (recording 212).
pub async fn promote(ctx: Ctx, Path(id): Path<String>, body: Bytes) -> Answer {
    let id = path_id(&id)?;
    let user = ctx.require_user()?;
    let body = json_body(&body)?;
    let mut state = ctx.state();
    let issue = visible(&state, &ctx, ItemKind::Issue, id)?.clone();
    if body["project_id"].as_i64() != Some(issue.project) {
        return Err(respond::field_errors(
            json!({"project_id": ["The issue does not belong to this project."]}),
        ));
    }
    let mut story = Map::new();
    story.insert("project".into(), issue.project.into());
    for field in [
        "subject",
        "description",
        "tags",
        "is_blocked",
        "blocked_note",
        "due_date",
    ] {
        if let Some(value) = issue.fields.get(field) {
            story.insert(field.into(), value.clone());
        }
    }
    let story_id = state
        .create_item(ItemKind::UserStory, user, &story)
        .map_err(IntoResponse::into_response)?;
    let reference = state.item(ItemKind::UserStory, story_id).map(|s| s.get("ref").clone());
    if let Some(created) = state.items.get_mut(&(ItemKind::UserStory, story_id)) {
        created.fields.insert("generated_from_issue".into(), id.into());
    }
    let mut diff = Map::new();
    diff.insert("promoted_to".into(), json!([[], [story_id]]));
    state.record(ItemKind::Issue, id, user, diff, String::new());
    Ok(respond::ok(json!([reference])))
}
