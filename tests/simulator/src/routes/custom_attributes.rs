//! Custom attributes: a project's definitions per item type (`/<name>-custom-attributes`, recordings
//! 188-190, 195) and each item's values (`/<kind>/custom-attributes-values/{id}`, 191-194).

use axum::body::Bytes;
use axum::extract::Path;
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::context::Ctx;
use crate::model::{ItemKind, now, without_kind_tag};
use crate::request::{json_body, path_id};
use crate::respond::{self, Answer};
use crate::routes::items::visible;

/// The item kinds that have custom attributes.
pub const KINDS: [ItemKind; 4] = [ItemKind::UserStory, ItemKind::Task, ItemKind::Issue, ItemKind::Epic];

/// The types Taiga offers (`taiga.projects.custom_attributes.choices`).
const TYPES: &[&str] = &[
    "text",
    "multiline",
    "richtext",
    "date",
    "url",
    "dropdown",
    "checkbox",
    "number",
];

/// The key naming the item in a values body (`user_story` for stories).
fn item_key(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::UserStory => "user_story",
        ItemKind::Task => "task",
        ItemKind::Issue => "issue",
        _ => "epic",
    }
}

fn tag(kind: ItemKind) -> &'static str {
    kind.history_name().unwrap_or_default()
}

/// `GET /<name>-custom-attributes?project=`: the project's definitions, in order.
pub async fn list(ctx: Ctx, kind: ItemKind) -> Response {
    let project = ctx.param("project").and_then(|p| p.parse::<i64>().ok());
    let items: Vec<Value> = {
        let state = ctx.state();
        state
            .custom_attributes
            .iter()
            .filter(|a| a["_kind"] == tag(kind))
            .filter(|a| project.is_none_or(|p| a["project"] == p))
            .filter(|a| {
                a["project"]
                    .as_i64()
                    .and_then(|p| state.project(p))
                    .is_some_and(|p| state.can_view(p, ctx.user))
            })
            .map(without_kind_tag)
            .collect()
    };
    ctx.paginate(items)
}

/// `POST /<name>-custom-attributes {project, name, type?, description?, extra?}`: 201.
pub async fn create(ctx: Ctx, kind: ItemKind, body: Bytes) -> Answer {
    let user = ctx.require_user()?;
    let body = json_body(&body)?;
    let name = body["name"].as_str().map(str::trim).unwrap_or_default().to_owned();
    let mut errors = Map::new();
    if name.is_empty() {
        errors.insert("name".into(), json!(["This field is required."]));
    }
    let Some(project) = body["project"].as_i64() else {
        errors.insert("project".into(), json!(["This field is required."]));
        return Err(respond::field_errors(Value::Object(errors)));
    };
    let kind_of = body["type"].as_str().unwrap_or("text").to_owned();
    if !TYPES.contains(&kind_of.as_str()) {
        errors.insert("type".into(), json!([format!("\"{kind_of}\" is not a valid choice.")]));
    }
    if !errors.is_empty() {
        return Err(respond::field_errors(Value::Object(errors)));
    }
    let mut state = ctx.state();
    if state.project(project).is_none() {
        return Err(respond::field_errors(
            json!({"project": [format!("Invalid pk '{project}' - object does not exist.")]}),
        ));
    }
    if !state.can_edit(project, user) {
        return Err(respond::forbidden());
    }
    let id = state.next_id("custom_attribute");
    let stamp = now();
    let attribute = json!({
        "_kind": tag(kind),
        "id": id, "name": name,
        "description": body["description"].as_str().unwrap_or_default(),
        "type": kind_of,
        "order": std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
        "project": project,
        "extra": body.get("extra").cloned().unwrap_or(Value::Null),
        "created_date": stamp, "modified_date": stamp,
    });
    state.custom_attributes.push(attribute.clone());
    Ok(respond::created(without_kind_tag(&attribute)))
}

/// Whether an attribute has the id a values map keys it by (a JSON object key: text).
fn same_id(attribute: &Value, key: &str) -> bool {
    attribute["id"].as_i64().is_some_and(|id| key.parse() == Ok(id))
}

fn values_body(kind: ItemKind, id: i64, values: &Map<String, Value>, version: i64) -> Value {
    json!({"attributes_values": values, "version": version, item_key(kind): id})
}

/// `GET /<kind>/custom-attributes-values/{id}`: `{}` at version 1 until first written.
pub async fn values(ctx: Ctx, kind: ItemKind, Path(id): Path<String>) -> Answer {
    let id = path_id(&id)?;
    let state = ctx.state();
    visible(&state, &ctx, kind, id)?;
    let (values, version) = state.custom_values.get(&(kind, id)).cloned().unwrap_or((Map::new(), 1));
    Ok(respond::ok(values_body(kind, id, &values, version)))
}

/// `PATCH /<kind>/custom-attributes-values/{id} {attributes_values, version}`. Taiga replaces
/// the whole map and does not check `version` (recording 193); an attribute id the project
/// does not define is refused (194).
pub async fn set_values(ctx: Ctx, kind: ItemKind, Path(id): Path<String>, body: Bytes) -> Answer {
    let id = path_id(&id)?;
    let user = ctx.require_user()?;
    let body = json_body(&body)?;
    let mut state = ctx.state();
    let project = visible(&state, &ctx, kind, id)?.project;
    if !state.can_edit(project, user) {
        return Err(respond::forbidden());
    }
    let (old, version) = state.custom_values.get(&(kind, id)).cloned().unwrap_or((Map::new(), 1));
    let Some(new) = body.get("attributes_values") else {
        return Ok(respond::ok(values_body(kind, id, &old, version)));
    };
    let Some(new) = new.as_object().cloned() else {
        return Err(respond::field_errors(
            json!({"attributes_values": ["Invalid values. It must be a JSON object."]}),
        ));
    };
    let defined: Vec<&Value> = state
        .custom_attributes
        .iter()
        .filter(|a| a["_kind"] == tag(kind) && a["project"] == project)
        .collect();
    let described = |values: &Map<String, Value>| -> Vec<Value> {
        values
            .iter()
            .filter_map(|(key, value)| {
                let attribute = defined.iter().find(|a| same_id(a, key))?;
                Some(json!({"id": attribute["id"], "name": attribute["name"], "type": attribute["type"], "value": value}))
            })
            .collect()
    };
    if new.keys().any(|key| !defined.iter().any(|a| same_id(a, key))) {
        return Err(respond::field_errors(
            json!({"attributes_values": ["It contains invalid custom fields."]}),
        ));
    }
    let (before, after) = (described(&old), described(&new));
    let version = version + 1;
    state.custom_values.insert((kind, id), (new.clone(), version));
    if before != after {
        let mut diff = Map::new();
        diff.insert("custom_attributes".into(), json!([before, after]));
        state.record(kind, id, user, diff, String::new());
    }
    Ok(respond::ok(values_body(kind, id, &new, version)))
}
