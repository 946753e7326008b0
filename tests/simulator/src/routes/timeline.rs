//! `GET /timeline/project/{id}` (recording 212): the project's activity, newest first, 30 a page.
//! taiga-back stores timeline entries as events happen; the simulator derives them from what it
//! keeps (the project, its memberships, each item's creation and history), so deleted items
//! leave no entries (a guess: Taiga keeps `*.delete` events).

use axum::extract::Path;
use serde_json::{Map, Value, json};

use crate::context::Ctx;
use crate::items::{markdown, values_diff};
use crate::model::{Item, ItemKind, Project};
use crate::request::path_id;
use crate::respond::{self, Answer};
use crate::state::State;

fn user(state: &State, id: i64) -> Value {
    match state.user(id) {
        Some(user) => json!({
            "id": user.id, "name": user.full_name, "photo": null, "big_photo": null,
            "gravatar_id": state.user_summary(id)["gravatar_id"], "username": user.username,
            "is_profile_visible": true, "date_joined": user.date_joined,
        }),
        None => Value::Null,
    }
}

/// The object an item's entries name: `{"userstory": {id, ref, subject}}` and so on.
fn subject_of(item: &Item) -> (&'static str, Value) {
    match item.kind {
        ItemKind::Milestone => (
            "milestone",
            json!({"id": item.id, "name": item.get("name"), "slug": item.get("slug")}),
        ),
        ItemKind::Wiki => ("wikipage", json!({"id": item.id, "slug": item.get("slug")})),
        kind => (
            kind.history_name().unwrap_or_default(),
            json!({"id": item.id, "ref": item.get("ref"), "subject": item.get("subject")}),
        ),
    }
}

fn entry(
    project: &Project,
    event: String,
    created: &Value,
    mut data: Map<String, Value>,
    data_content_type: i64,
) -> Value {
    data.insert(
        "project".into(),
        json!({"id": project.id, "name": project.name, "slug": project.slug, "description": project.description}),
    );
    json!({
        "data": data, "id": 0, "content_type": 15, "object_id": project.id,
        "namespace": format!("project:{}", project.id), "event_type": event, "project": project.id,
        "data_content_type": data_content_type, "created": created,
    })
}

fn change_data(state: &State, author: i64, comment: &str, diff: Value) -> Map<String, Value> {
    let mut data = Map::new();
    data.insert("user".into(), user(state, author));
    data.insert("comment".into(), comment.into());
    data.insert(
        "comment_html".into(),
        if comment.is_empty() {
            String::new()
        } else {
            markdown(comment)
        }
        .into(),
    );
    data.insert("values_diff".into(), diff);
    data
}

/// Every entry of a project, newest first.
fn entries(state: &State, project: &Project) -> Vec<Value> {
    let mut all = vec![entry(
        project,
        "projects.project.create".into(),
        &Value::from(project.created_date.clone()),
        change_data(state, project.owner, "", json!({})),
        15,
    )];
    for item in state.items.values().filter(|item| item.project == project.id) {
        let (key, about) = subject_of(item);
        let owner = item.get("owner").as_i64().unwrap_or(project.owner);
        let sprint = item
            .get("milestone")
            .as_i64()
            .and_then(|id| state.item(ItemKind::Milestone, id))
            .map(|sprint| subject_of(sprint).1);
        let about_item = |mut data: Map<String, Value>| {
            data.insert(key.into(), about.clone());
            if let Some(sprint) = &sprint {
                data.insert("milestone".into(), sprint.clone());
            }
            data
        };
        let created = about_item(change_data(state, owner, "", json!({})));
        let event = item.kind.history_key();
        all.push(entry(
            project,
            format!("{event}.create"),
            item.get("created_date"),
            created,
            53,
        ));
        for change in &item.history {
            let data = about_item(change_data(
                state,
                change.user,
                &change.comment,
                values_diff(state, item, &change.diff),
            ));
            all.push(entry(
                project,
                format!("{event}.change"),
                &Value::from(change.created_at.clone()),
                data,
                53,
            ));
        }
    }
    all.sort_by(|a, b| b["created"].as_str().cmp(&a["created"].as_str()));
    let count = all.len();
    for (index, entry) in all.iter_mut().enumerate() {
        entry["id"] = json!(count - index);
    }
    all
}

/// `GET /timeline/project/{id}`.
pub async fn project(ctx: Ctx, Path(id): Path<String>) -> Answer {
    let id = path_id(&id)?;
    let all = {
        let state = ctx.state();
        let project = state.project(id).ok_or_else(|| respond::no_match("Project"))?;
        if !state.can_view(project, ctx.user) {
            return Err(respond::not_visible(ctx.user));
        }
        entries(&state, project)
    };
    Ok(ctx.paginate(all))
}
