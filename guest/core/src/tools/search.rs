//! Text search over a project's user stories, tasks, issues, epics and wiki pages.

use serde_json::{Value, json};

use crate::api::Api;
use crate::schema::{Field, Kind, SESSION};
use crate::taiga::with_query;
use crate::tool::{Annotations, Tool};

/// Taiga's result lists, each with the bridge's name for it and the project list its status
/// names come from.
const SECTIONS: [(&str, &str, &str); 5] = [
    ("userstories", "user_stories", "us_statuses"),
    ("tasks", "tasks", "task_statuses"),
    ("issues", "issues", "issue_statuses"),
    ("epics", "epics", "epic_statuses"),
    ("wikipages", "wiki_pages", ""),
];

/// A compact search hit: ids and the text a person recognises, the status by name (Taiga's hits
/// carry its id only).
fn hit(project: &Value, statuses: &str, found: &Value) -> Value {
    if statuses.is_empty() {
        return json!({"id": found["id"], "slug": found["slug"]});
    }
    let status = project[statuses]
        .as_array()
        .into_iter()
        .flatten()
        .find(|status| status["id"] == found["status"])
        .map_or(Value::Null, |status| status["name"].clone());
    let mut out = json!({"id": found["id"], "ref": found["ref"], "title": found["subject"], "status": status});
    if let Some(sprint) = found.get("milestone_name").filter(|name| !name.is_null()) {
        out["sprint"] = sprint.clone();
    }
    out
}

pub const SEARCH_PROJECT: Tool = Tool {
    name: "search_project",
    title: "Search a project",
    description: "Find a project's user stories, tasks, issues, epics and wiki pages whose ref, title, \
        description or tags hold every word of the text (word starts match). Up to 150 hits per kind, with \
        counts.",
    fields: &[
        SESSION,
        Field::required("project_id", Kind::Id, "Project id."),
        Field::required("text", Kind::Text { min: 1, max: 200 }, "Words to find."),
    ],
    output_schema: || {
        let hits = json!({"type": "array"});
        json!({
            "type": "object",
            "properties": {
                "user_stories": hits, "tasks": hits, "issues": hits, "epics": hits, "wiki_pages": hits,
                "counts": {"type": "object"},
                "total": {"type": "integer"}
            },
            "required": ["counts", "total"]
        })
    },
    annotations: Annotations::READ,
    run: |call, args| {
        let api = Api::open(call, args)?;
        let project = args.required_int("project_id")?;
        let path = with_query(
            "/search",
            &[
                ("project", Some(project.to_string())),
                ("text", args.text("text").map(str::to_owned)),
            ],
        );
        let (found, meta) = api.read_beside_project(&path, &format!("project {project}"), project, false)?;
        let mut out = json!({"counts": {}, "total": found["count"]});
        for (section, name, statuses) in SECTIONS {
            let hits: Vec<Value> = found[section]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| hit(meta.detail(), statuses, f))
                .collect();
            out["counts"][name] = hits.len().into();
            out[name] = Value::Array(hits);
        }
        Ok(out)
    },
};
