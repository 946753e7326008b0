//! `completion/complete`: values for every template variable and prompt argument, from what the
//! user may see (the tools read as the user), filtered by what was typed, at most 100. Members and
//! status names come from the project facts the tools keep (`METADATA_TTL_SECONDS`): no request
//! when they are warm.

use serde_json::{Map, Value, json};

use super::prompts;
use super::request::{Failure, Reader, RequestError};
use super::resources;
use super::uri::{ItemKind, TEMPLATES};

/// MCP's limit on the values of one completion.
const MAX_VALUES: usize = 100;

/// Candidates ranked: those that start with what was typed, then those that contain it.
fn ranked(candidates: Vec<(String, String)>, typed: &str) -> Vec<String> {
    let typed = typed.to_lowercase();
    let (mut starts, mut contains) = (Vec::new(), Vec::new());
    for (value, label) in candidates {
        let (value_lower, label_lower) = (value.to_lowercase(), label.to_lowercase());
        if value_lower.starts_with(&typed) || label_lower.starts_with(&typed) {
            starts.push(value);
        } else if value_lower.contains(&typed) || label_lower.contains(&typed) {
            contains.push(value);
        }
    }
    starts.extend(contains);
    starts.dedup();
    starts
}

fn items(listed: &Value) -> Vec<Value> {
    listed["items"].as_array().cloned().unwrap_or_default()
}

/// `completion/complete`.
pub fn complete(reader: &Reader<'_>, params: &Map<String, Value>) -> Result<Value, RequestError> {
    let reference = params.get("ref").cloned().unwrap_or_default();
    let argument = params.get("argument").cloned().unwrap_or_default();
    let (Some(name), Some(typed)) = (argument["name"].as_str(), argument["value"].as_str()) else {
        return Err(RequestError::invalid(
            "`argument` needs `name` and `value` (strings)",
            json!({"param": "argument"}),
        ));
    };
    let known = match reference["type"].as_str() {
        Some("ref/resource") => {
            let template = reference["uri"].as_str().unwrap_or_default();
            TEMPLATES
                .iter()
                .find(|(uri, ..)| *uri == template)
                .map(|(uri, ..)| uri.contains(&format!("{{{name}}}")))
        }
        Some("ref/prompt") => {
            prompts::argument_names(reference["name"].as_str().unwrap_or_default()).map(|names| names.contains(&name))
        }
        _ => None,
    };
    match known {
        None => {
            return Err(RequestError::invalid(
                "`ref` names no resource template or prompt of this server (see resources/templates/list and prompts/list)",
                json!({"param": "ref"}),
            ));
        }
        Some(false) => {
            return Err(RequestError::invalid(
                format!("`{name}` is not an argument of this template or prompt"),
                json!({"param": "argument"}),
            ));
        }
        Some(true) => {}
    }
    let context: Map<String, Value> = params
        .get("context")
        .and_then(|context| context["arguments"].as_object())
        .cloned()
        .unwrap_or_default();
    let given = |key: &str| context.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
    let kind = reference["uri"]
        .as_str()
        .and_then(|uri| uri.split('/').nth(4))
        .and_then(ItemKind::from_segment)
        .or_else(|| ItemKind::from_segment(&given("kind")));
    let values = if name == "kind" {
        ranked(
            ItemKind::ALL
                .iter()
                .map(|kind| (kind.segment().to_owned(), kind.noun().to_owned()))
                .collect(),
            typed,
        )
    } else if name == "since" {
        ranked(recent_days(reader), typed)
    } else {
        reader.signed_in()?;
        candidates(reader, name, typed, &given("project"), kind, &given("ref"))
    };
    let total = values.len();
    let shown: Vec<String> = values.into_iter().take(MAX_VALUES).collect();
    Ok(json!({"completion": {"values": shown, "total": total, "hasMore": total > MAX_VALUES}}))
}

/// The values `name` may take, ranked against `typed`. Nothing to offer (no project given yet, or
/// one the user cannot see) is an empty list, not an error: completion is a hint.
fn candidates(
    reader: &Reader<'_>,
    name: &str,
    typed: &str,
    project: &str,
    kind: Option<ItemKind>,
    reference: &str,
) -> Vec<String> {
    if name == "project" {
        let Ok(listed) = reader.tool("list_projects", json!({"all": true})) else {
            return Vec::new();
        };
        return ranked(labelled(&items(&listed), "slug", "name"), typed);
    }
    let Ok(detail) = resources::project(reader, project) else {
        return Vec::new();
    };
    let project_id = &detail["id"];
    let pairs = |listed: Result<Value, Failure>, value: &str, label: &str| -> Vec<(String, String)> {
        listed
            .map(|listed| labelled(&items(&listed), value, label))
            .unwrap_or_default()
    };
    let candidates = match (name, kind) {
        ("ref", Some(kind)) => {
            let mut arguments = json!({"project_id": project_id, "page_size": 100});
            // Words look for titles in Taiga; digits are refs, matched here.
            if !typed.is_empty() && !typed.bytes().all(|byte| byte.is_ascii_digit()) && kind != ItemKind::Task {
                arguments["q"] = json!(typed);
            }
            pairs(reader.tool(kind.list_tool(), arguments), "ref", "title")
        }
        ("slug", _) => pairs(
            reader.tool("list_wiki_pages", json!({"project_id": project_id, "all": true})),
            "slug",
            "slug",
        ),
        ("person" | "status", _) => {
            let Some(names) = resources::metadata(reader, project_id) else {
                return Vec::new();
            };
            let (list, value, label) = if name == "person" {
                ("members", "username", "full_name")
            } else {
                ("issue_statuses", "name", "name")
            };
            labelled(
                names[list].as_array().map(Vec::as_slice).unwrap_or_default(),
                value,
                label,
            )
        }
        ("sprint", _) => pairs(
            reader.tool("list_sprints", json!({"project_id": project_id, "all": true})),
            "name",
            "name",
        ),
        ("attachment", Some(kind)) => {
            let Some(number) = reference.parse::<u64>().ok() else {
                return Vec::new();
            };
            let Ok(found) = resources::item(reader, project_id, kind, number) else {
                return Vec::new();
            };
            pairs(
                reader.tool(
                    "list_attachments",
                    json!({"resource": kind.resource(), "id": found["id"]}),
                ),
                "id",
                "name",
            )
        }
        _ => Vec::new(),
    };
    ranked(candidates, typed)
}

/// The last week's days, `YYYY-MM-DD`, from yesterday back, each labelled as a person says it.
fn recent_days(reader: &Reader<'_>) -> Vec<(String, String)> {
    const DAY_MS: u64 = 24 * 3600 * 1000;
    let now = reader.platform.now_ms();
    (1..=7u64)
        .map(|back| {
            let day: String = crate::time::format_rfc3339(now.saturating_sub(back * DAY_MS))
                .chars()
                .take(10)
                .collect();
            let label = if back == 1 {
                "yesterday".to_owned()
            } else {
                format!("{back} days ago")
            };
            (day, label)
        })
        .collect()
}

/// Each entry's `value` key with its `label` key, as text.
fn labelled(entries: &[Value], value: &str, label: &str) -> Vec<(String, String)> {
    entries
        .iter()
        .map(|entry| (text_of(&entry[value]), text_of(&entry[label])))
        .collect()
}

fn text_of(value: &Value) -> String {
    value.as_str().map_or_else(|| value.to_string(), str::to_owned)
}
