//! User story bulk endpoints: bulk_create, bulk_update_milestone, bulk_update_backlog_order.

use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::context::Ctx;
use crate::items::render;
use crate::model::ItemKind;
use crate::request::json_body;
use crate::respond;

use crate::respond::Answer;

fn ids(value: &Value, key: &str) -> Vec<i64> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| {
                    if key.is_empty() {
                        item.as_i64()
                    } else {
                        item[key].as_i64()
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `POST /userstories/bulk_create {"project_id", "bulk_stories": "a\nb", "status_id"?}`: 200 + the stories.
pub async fn create_stories(ctx: Ctx, body: Bytes) -> Answer {
    let user = ctx.require_user()?;
    let body = json_body(&body)?;
    let Some(project) = body["project_id"].as_i64() else {
        return Err(respond::required("project_id"));
    };
    let Some(lines) = body["bulk_stories"].as_str() else {
        return Err(respond::required("bulk_stories"));
    };
    let mut state = ctx.state();
    let mut created = Vec::new();
    for subject in lines.split('\n').map(str::trim).filter(|line| !line.is_empty()) {
        let mut fields = Map::new();
        fields.insert("project".into(), project.into());
        fields.insert("subject".into(), subject.into());
        if let Some(status) = body.get("status_id").filter(|s| !s.is_null()) {
            fields.insert("status".into(), status.clone());
        }
        match state.create_item(ItemKind::UserStory, user, &fields) {
            Ok(id) => created.push(id),
            Err(err) => return Err(err.into_response()),
        }
    }
    let stories: Vec<Value> = created
        .iter()
        .filter_map(|id| state.item(ItemKind::UserStory, *id))
        .map(|story| render(&state, story, true))
        .collect();
    Ok(respond::ok(Value::Array(stories)))
}

fn check_stories(ctx: &Ctx, project: i64, stories: &[i64], user: i64) -> Result<(), Response> {
    let state = ctx.state();
    if !state.can_edit(project, user) {
        return Err(respond::forbidden());
    }
    if stories.iter().any(|id| {
        state
            .item(ItemKind::UserStory, *id)
            .is_none_or(|story| story.project != project)
    }) {
        return Err(respond::field_errors(
            json!({"bulk_stories": ["All the user stories must be from the same project"]}),
        ));
    }
    Ok(())
}

/// `POST /userstories/bulk_update_milestone {"project_id", "milestone_id", "bulk_stories": [{"us_id", "order"}]}`: 204.
pub async fn update_milestone(ctx: Ctx, body: Bytes) -> Answer {
    let user = ctx.require_user()?;
    let body = json_body(&body)?;
    let project = body["project_id"].as_i64().unwrap_or(0);
    let milestone = body["milestone_id"].as_i64();
    let stories = ids(&body["bulk_stories"], "us_id");
    check_stories(&ctx, project, &stories, user)?;
    let mut state = ctx.state();
    if milestone.is_none_or(|m| state.item(ItemKind::Milestone, m).is_none_or(|m| m.project != project)) {
        return Err(respond::field_errors(
            json!({"milestone_id": ["The milestone isn't valid for the project"]}),
        ));
    }
    for id in stories {
        if let Some(story) = state.items.get_mut(&(ItemKind::UserStory, id)) {
            story.fields.insert("milestone".into(), milestone.into());
        }
    }
    Ok(respond::no_content())
}

/// `POST /userstories/bulk_update_backlog_order {"project_id", "milestone_id"?, "bulk_userstories": [ids]}`:
/// moves the stories to the start of the backlog or of the sprint; 200 with their new orders.
pub async fn update_backlog_order(ctx: Ctx, body: Bytes) -> Answer {
    let user = ctx.require_user()?;
    let body = json_body(&body)?;
    let project = body["project_id"].as_i64().unwrap_or(0);
    let milestone = body["milestone_id"].as_i64();
    let stories = ids(&body["bulk_userstories"], "");
    check_stories(&ctx, project, &stories, user)?;
    let mut state = ctx.state();
    if milestone.is_some_and(|m| state.item(ItemKind::Milestone, m).is_none_or(|m| m.project != project)) {
        return Err(respond::field_errors(
            json!({"milestone_id": ["The milestone isn't valid for the project"]}),
        ));
    }
    let order_field = if milestone.is_some() {
        "sprint_order"
    } else {
        "backlog_order"
    };
    let mut answer = Vec::new();
    for (position, id) in stories.iter().enumerate() {
        if let Some(story) = state.items.get_mut(&(ItemKind::UserStory, *id)) {
            story.fields.insert("milestone".into(), milestone.into());
            story.fields.insert(order_field.into(), (position as i64 + 1).into());
            answer.push(json!({"id": id, "milestone": milestone, order_field: position + 1}));
        }
    }
    for task in state.items.values_mut().filter(|item| item.kind == ItemKind::Task) {
        if task
            .get("user_story")
            .as_i64()
            .is_some_and(|story| stories.contains(&story))
        {
            task.fields.insert("milestone".into(), milestone.into());
        }
    }
    Ok(respond::ok(Value::Array(answer)))
}
