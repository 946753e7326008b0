//! `/epics/{id}/related_userstories`: the nested lookup is by user story id.

use axum::body::Bytes;
use axum::extract::Path;
use axum::response::Response;
use serde_json::{Value, json};

use crate::context::Ctx;
use crate::model::{EpicLink, ItemKind};
use crate::request::{json_body, path_id};
use crate::respond;

use crate::respond::Answer;

fn link_body(link: &EpicLink) -> Value {
    json!({"epic": link.epic, "user_story": link.user_story, "order": link.order})
}

/// `GET /epics/{id}/related_userstories`.
pub async fn list(ctx: Ctx, Path(epic): Path<String>) -> Answer {
    let epic = path_id(&epic)?;
    let links: Vec<Value> = ctx
        .state()
        .epic_links
        .iter()
        .filter(|l| l.epic == epic)
        .map(link_body)
        .collect();
    Ok(ctx.paginate(links))
}

/// `POST /epics/{id}/related_userstories {"epic", "user_story"}`: 201; a duplicate is a 400 `__all__`.
pub async fn create(ctx: Ctx, Path(epic): Path<String>, body: Bytes) -> Answer {
    let epic = path_id(&epic)?;
    let user = ctx.require_user()?;
    let body = json_body(&body)?;
    let mut state = ctx.state();
    let Some(project) = state.item(ItemKind::Epic, epic).map(|e| e.project) else {
        return Err(respond::forbidden());
    };
    if !state.can_edit(project, user) {
        return Err(respond::forbidden());
    }
    let Some(story) = body["user_story"].as_i64() else {
        return Err(respond::required("user_story"));
    };
    if state.item(ItemKind::UserStory, story).is_none() {
        return Err(respond::field_errors(
            json!({"user_story": [format!("Invalid pk '{story}' - object does not exist.")]}),
        ));
    }
    if state.epic_links.iter().any(|l| l.epic == epic && l.user_story == story) {
        return Err(respond::field_errors(
            json!({"__all__": ["Related user story with this User story and Epic already exists."]}),
        ));
    }
    let order = body["order"]
        .as_i64()
        .unwrap_or_else(|| state.next_id("epic_link_order") * 1000);
    let link = EpicLink {
        epic,
        user_story: story,
        order,
    };
    let answer = link_body(&link);
    state.epic_links.push(link);
    Ok(respond::created(answer))
}

/// `GET /epics/{id}/related_userstories/{user_story}`.
pub async fn detail(ctx: Ctx, Path((epic, story)): Path<(String, String)>) -> Response {
    let (Ok(epic), Ok(story)) = (path_id(&epic), path_id(&story)) else {
        return respond::html_not_found("related_userstories");
    };
    match ctx
        .state()
        .epic_links
        .iter()
        .find(|l| l.epic == epic && l.user_story == story)
    {
        Some(link) => respond::ok(link_body(link)),
        None => respond::no_match("RelatedUserStory"),
    }
}

/// `DELETE /epics/{id}/related_userstories/{user_story}`: 204.
pub async fn delete(ctx: Ctx, Path((epic, story)): Path<(String, String)>) -> Answer {
    let (Ok(epic), Ok(story)) = (path_id(&epic), path_id(&story)) else {
        return Err(respond::html_not_found("related_userstories"));
    };
    let user = ctx.require_user()?;
    let mut state = ctx.state();
    let project = state.item(ItemKind::Epic, epic).map(|e| e.project);
    if !project.is_some_and(|p| state.can_edit(p, user)) {
        return Err(respond::forbidden());
    }
    let before = state.epic_links.len();
    state.epic_links.retain(|l| !(l.epic == epic && l.user_story == story));
    if state.epic_links.len() == before {
        return Err(respond::no_match("RelatedUserStory"));
    }
    Ok(respond::no_content())
}
