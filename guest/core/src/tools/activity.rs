//! Activity: an item's history (who changed what, comments included) and a project's timeline,
//! newest first, paginated, each change as a compact diff.

use serde_json::{Map, Value, json};

use crate::api::Api;
use crate::listing::{PAGE, PAGE_SIZE, list_page};
use crate::projection::Compact;
use crate::schema::{Field, Kind, SESSION};
use crate::tool::{Annotations, Tool, list_schema};
use crate::tools::target::{ITEM_ID, WITH_WIKI, resource, resource_field};

/// Taiga's field names that the bridge's tools call otherwise.
fn bridge_name(field: &str) -> &str {
    match field {
        "subject" => "title",
        "milestone" => "sprint",
        other => other,
    }
}

/// Taiga's `values_diff` as `{field: [old, new]}` under the bridge's field names: rendered text
/// diffs (`description_diff`) and their HTML (`*_html`) become `"changed"`; attachment and custom
/// field changes are summed up by file and field name.
pub fn compact_diff(values_diff: &Value) -> Value {
    let mut out = Map::new();
    for (field, change) in values_diff.as_object().into_iter().flatten() {
        if field.ends_with("_html") {
            continue;
        }
        if let Some(text_field) = field.strip_suffix("_diff") {
            out.insert(text_field.to_owned(), "changed".into());
            continue;
        }
        match field.as_str() {
            "attachments" => {
                let names = |part: &str| -> Value {
                    change[part]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|file| file["filename"].clone())
                        .collect()
                };
                out.insert(
                    field.clone(),
                    json!({"added": names("new"), "changed": names("changed"), "deleted": names("deleted")}),
                );
            }
            "custom_attributes" => {
                let mut fields = Map::new();
                for added in change["new"].as_array().into_iter().flatten() {
                    fields.insert(name_of(added), json!([null, added["value"]]));
                }
                for changed in change["changed"].as_array().into_iter().flatten() {
                    fields.insert(name_of(changed), changed["changes"]["value"].clone());
                }
                for deleted in change["deleted"].as_array().into_iter().flatten() {
                    fields.insert(name_of(deleted), json!([deleted["value"], null]));
                }
                out.insert("custom_fields".into(), Value::Object(fields));
            }
            _ => {
                out.insert(bridge_name(field).to_owned(), change.clone());
            }
        }
    }
    Value::Object(out)
}

fn name_of(entry: &Value) -> String {
    entry["name"].as_str().unwrap_or_default().to_owned()
}

/// One history entry: when, who, what changed, what was said.
pub(super) const HISTORY_ENTRY: Compact = Compact {
    keys: &[
        "id",
        "user",
        "created_at",
        "values_diff",
        "comment",
        "delete_comment_date",
    ],
    map: history_entry,
    page: None,
};

fn history_entry(entry: &Value) -> Value {
    let mut out = json!({
        "at": entry["created_at"],
        "author": entry["user"]["username"],
        "changes": compact_diff(&entry["values_diff"]),
    });
    if let Some(comment) = entry["comment"].as_str().filter(|c| !c.is_empty()) {
        out["comment"] = comment.into();
    }
    if !entry["delete_comment_date"].is_null() {
        out["comment_deleted"] = true.into();
    }
    out
}

fn entry_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "at": {"type": "string"},
            "author": {"type": ["string", "null"]},
            "changes": {"type": "object"},
            "comment": {"type": "string"}
        },
        "required": ["at"]
    })
}

pub const GET_ITEM_HISTORY: Tool = Tool {
    name: "get_item_history",
    title: "Item history",
    description: "What happened to a user story, task, issue, epic or wiki page, newest first: who changed \
        which fields from what to what, and comments. 30 per page.",
    fields: &[SESSION, resource_field(WITH_WIKI), ITEM_ID, PAGE, PAGE_SIZE],
    output_schema: || list_schema(entry_schema()),
    annotations: Annotations::READ,
    run: |call, args| {
        let api = Api::open(call, args)?;
        let resource = resource(args, WITH_WIKI)?;
        let history = resource.history.unwrap_or_default();
        let id = args.required_int("id")?;
        list_page(
            &api,
            args,
            &format!("/history/{history}/{id}"),
            &[],
            &format!("the history of {} {id}", resource.noun),
            HISTORY_ENTRY,
        )
    },
};

/// One timeline event: when, who, what happened to which item.
pub(super) const TIMELINE_EVENT: Compact = Compact {
    keys: &["event_type", "created", "data"],
    map: timeline_event,
    page: None,
};

/// The bridge's name of the kind in a timeline event type (`userstories.userstory.change`).
fn event_kind(model: &str) -> &str {
    match model {
        "userstories.userstory" => "user_story",
        "tasks.task" => "task",
        "issues.issue" => "issue",
        "epics.epic" => "epic",
        "milestones.milestone" => "sprint",
        "wiki.wikipage" => "wiki",
        "projects.project" => "project",
        "projects.membership" => "membership",
        other => other,
    }
}

fn timeline_event(event: &Value) -> Value {
    let event_type = event["event_type"].as_str().unwrap_or_default();
    let (model, action) = event_type.rsplit_once('.').unwrap_or((event_type, ""));
    let kind = event_kind(model);
    let data = &event["data"];
    let mut out = json!({
        "at": event["created"],
        "author": data["user"]["username"],
        "event": action,
        "kind": kind,
    });
    let item = ["userstory", "task", "issue", "epic", "wikipage", "milestone"]
        .into_iter()
        .filter(|key| !(kind != "sprint" && *key == "milestone"))
        .find_map(|key| data.get(key).filter(|item| item.is_object()));
    if let Some(item) = item {
        let mut summary = json!({"id": item["id"]});
        for (to, from) in [("ref", "ref"), ("title", "subject"), ("name", "name"), ("slug", "slug")] {
            if let Some(value) = item.get(from).filter(|v| !v.is_null()) {
                summary[to] = value.clone();
            }
        }
        out["item"] = summary;
    }
    let changes = compact_diff(&data["values_diff"]);
    if changes.as_object().is_some_and(|c| !c.is_empty()) {
        out["changes"] = changes;
    }
    if let Some(comment) = data["comment"].as_str().filter(|c| !c.is_empty()) {
        out["comment"] = comment.into();
    }
    out
}

pub const GET_PROJECT_TIMELINE: Tool = Tool {
    name: "get_project_timeline",
    title: "Project timeline",
    description: "A project's activity, newest first: items created and changed (with compact diffs), \
        comments, sprints, members. 30 per page.",
    fields: &[
        SESSION,
        Field::required("project_id", Kind::Id, "Project id."),
        PAGE,
        PAGE_SIZE,
    ],
    output_schema: || {
        list_schema(
            json!({"type": "object", "properties": {"at": {"type": "string"}, "event": {"type": "string"}, "kind": {"type": "string"}}}),
        )
    },
    annotations: Annotations::READ,
    run: |call, args| {
        let api = Api::open(call, args)?;
        let project = args.required_int("project_id")?;
        list_page(
            &api,
            args,
            &format!("/timeline/project/{project}"),
            &[],
            &format!("the timeline of project {project}"),
            TIMELINE_EVENT,
        )
    },
};

#[cfg(test)]
mod tests {
    use super::*;

    /// Recording 213's entries come out as field: [old, new] pairs, with no HTML.
    #[test]
    fn recorded_history_becomes_compact_diffs() {
        let blocked = json!({
            "due_date": [null, "2026-12-24"], "is_blocked": [false, true],
            "blocked_note_diff": [null, "<ins>waiting</ins>"], "blocked_note_html": ["", "<p>waiting</p>"],
            "milestone": [null, "Sprint 1"],
        });
        assert_eq!(
            compact_diff(&blocked),
            json!({"due_date": [null, "2026-12-24"], "is_blocked": [false, true], "blocked_note": "changed",
                   "sprint": [null, "Sprint 1"]})
        );
        let custom = json!({"custom_attributes": {"new": [], "deleted": [],
            "changed": [{"name": "Customer", "type": "text", "changes": {"value": ["ACME", "Other"]}}]}});
        assert_eq!(
            compact_diff(&custom),
            json!({"custom_fields": {"Customer": ["ACME", "Other"]}})
        );
        let files = json!({"attachments": {"new": [{"filename": "notes.txt"}], "changed": [], "deleted": []}});
        assert_eq!(
            compact_diff(&files),
            json!({"attachments": {"added": ["notes.txt"], "changed": [], "deleted": []}})
        );
    }
}
