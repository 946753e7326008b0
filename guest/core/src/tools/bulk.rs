//! Bulk user story tools: create many, move many between sprints and the backlog, update many.

use serde_json::{Map, Value, json};

use super::items::{ASSIGNEE, STATUS, TAGS};
use crate::api::Api;
use crate::crud::Resolver;
use crate::error::{ErrorCode, ToolError, ToolResult};
use crate::resource::USER_STORY;
use crate::resource::{Conv, Mapping, compact_item, compact_schema, map};
use crate::schema::{Field, Kind, SESSION};
use crate::tool::{Annotations, Tool};
use crate::validate::Args;

const PROJECT: Field = Field::required("project_id", Kind::Id, "Project id.");
const STORY_IDS: Field = Field::required("user_story_ids", Kind::Ids { max: 100 }, "User story ids, 1 to 100.");

pub const BULK_CREATE_USER_STORIES: Tool = Tool {
    name: "bulk_create_user_stories",
    title: "Create many user stories",
    description: "Create up to 100 user stories at once from a list of titles, optionally in a sprint and with a \
        status (id or name).",
    fields: &[
        SESSION,
        PROJECT,
        Field::required(
            "titles",
            Kind::Strings { max: 100, max_len: 500 },
            "Titles, one story each (no line breaks).",
        ),
        Field::optional("sprint_id", Kind::Id, "Sprint to put them in (default: the backlog)."),
        Field::optional("status", Kind::IdOrName, "Status id or name for all of them."),
    ],
    output_schema: created_schema,
    annotations: Annotations::CREATE,
    run: bulk_create,
};

fn created_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"created": {"type": "array", "items": compact_schema()}},
        "required": ["created"]
    })
}

fn bulk_create(call: &crate::call::Call<'_>, args: &Args) -> ToolResult<Value> {
    let api = Api::open(call, args)?;
    let project = args.required_int("project_id")?;
    let titles = args.strings("titles").unwrap_or_default();
    if let Some(position) = titles.iter().position(|title| title.contains(['\n', '\r'])) {
        return Err(ToolError::invalid(
            "titles",
            format!("title {} holds a line break", position + 1),
        ));
    }
    if titles.is_empty() {
        return Err(ToolError::invalid("titles", "give at least one title"));
    }
    let mut body = json!({"project_id": project, "bulk_stories": titles.join("\n")});
    if args.has("status") {
        let status = Resolver::new(&api, project).value(
            &map("status", "status", Conv::Lookup("us_statuses")),
            args.raw("status"),
        )?;
        body["status_id"] = status;
    }
    let created = api
        .taiga()
        .post("/userstories/bulk_create", &body, &format!("project {project}"))?;
    let Some(mut stories) = created
        .as_array()
        .filter(|items| items.iter().all(Value::is_object))
        .cloned()
    else {
        return Err(ToolError::new(
            ErrorCode::TaigaError,
            "Taiga's answer to a bulk create is not a list of stories",
        ));
    };
    if let Some(sprint) = args.int("sprint_id") {
        let ids: Vec<i64> = stories.iter().filter_map(|s| s["id"].as_i64()).collect();
        move_to_sprint(&api, project, &ids, Some(sprint))?;
        for story in &mut stories {
            story["milestone"] = sprint.into();
        }
    }
    let created: Vec<Value> = stories.iter().map(compact_item).collect();
    Ok(json!({"created": created}))
}

fn move_to_sprint(api: &Api<'_>, project: i64, ids: &[i64], sprint: Option<i64>) -> ToolResult<()> {
    match sprint {
        Some(sprint) => {
            let stories: Vec<Value> = ids
                .iter()
                .enumerate()
                .map(|(order, id)| json!({"us_id": id, "order": order + 1}))
                .collect();
            let body = json!({"project_id": project, "milestone_id": sprint, "bulk_stories": stories});
            api.taiga()
                .post("/userstories/bulk_update_milestone", &body, &format!("sprint {sprint}"))?;
        }
        None => {
            let body = json!({"project_id": project, "bulk_userstories": ids});
            api.taiga().post(
                "/userstories/bulk_update_backlog_order",
                &body,
                &format!("project {project}"),
            )?;
        }
    }
    Ok(())
}

pub const MOVE_USER_STORIES_TO_SPRINT: Tool = Tool {
    name: "move_user_stories_to_sprint",
    title: "Move user stories to a sprint",
    description: "Move user stories of one project into a sprint, or back to the backlog with sprint_id null.",
    fields: &[
        SESSION,
        PROJECT,
        STORY_IDS,
        Field::required(
            "sprint_id",
            Kind::NullableId,
            "Target sprint id, or null for the backlog.",
        ),
    ],
    output_schema: || {
        json!({
            "type": "object",
            "properties": {"moved": {"type": "array", "items": {"type": "integer"}}, "sprint_id": {"type": ["integer", "null"]}},
            "required": ["moved", "sprint_id"]
        })
    },
    annotations: Annotations::UPDATE,
    run: |call, args| {
        if !args.has("sprint_id") {
            return Err(ToolError::invalid("sprint_id", "is required (null for the backlog)"));
        }
        let api = Api::open(call, args)?;
        let project = args.required_int("project_id")?;
        let ids = args.ids("user_story_ids").unwrap_or_default();
        let sprint = args.int("sprint_id");
        move_to_sprint(&api, project, &ids, sprint)?;
        Ok(json!({"moved": ids, "sprint_id": sprint}))
    },
};

pub const BULK_UPDATE_USER_STORIES: Tool = Tool {
    name: "bulk_update_user_stories",
    title: "Update many user stories",
    description: "Set the status, assignee or tags of up to 100 user stories, each at its current version; each \
        is then done, conflict (changed meanwhile) or failed, with the reason.",
    fields: &[SESSION, STORY_IDS, STATUS, ASSIGNEE, TAGS],
    output_schema: || {
        json!({
            "type": "object",
            "properties": {
                "results": {"type": "array", "items": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "result": {"type": "string", "enum": ["done", "conflict", "failed"]},
                    "code": {"type": "string"}, "message": {"type": "string"}, "version": {"type": "integer"}
                }}},
                "done": {"type": "integer"}, "conflicts": {"type": "integer"}, "failed": {"type": "integer"}
            },
            "required": ["results", "done", "conflicts", "failed"]
        })
    },
    annotations: Annotations::UPDATE,
    run: bulk_update,
};

fn bulk_update(call: &crate::call::Call<'_>, args: &Args) -> ToolResult<Value> {
    let api = Api::open(call, args)?;
    let mappings: Vec<Mapping> = USER_STORY
        .writable()
        .into_iter()
        .filter(|m| matches!(m.arg, "status" | "assigned_to" | "tags"))
        .collect();
    if !["status", "assigned_to", "tags"].iter().any(|arg| args.has(arg)) {
        return Err(ToolError::invalid("status", "give status, assigned_to or tags"));
    }
    let ids = args.ids("user_story_ids").unwrap_or_default();
    let total = ids.len() as u64;
    let mut results = Vec::with_capacity(ids.len());
    let mut resolvers: Vec<(i64, Map<String, Value>)> = Vec::new();
    for (index, id) in ids.into_iter().enumerate() {
        let outcome = update_one(&api, args, &mappings, id, &mut resolvers);
        call.platform
            .progress(index as u64 + 1, total, &format!("updated user story {id}"));
        results.push(match outcome {
            Ok(version) => json!({"id": id, "result": "done", "version": version}),
            Err(err) if err.code == ErrorCode::VersionConflict => {
                json!({"id": id, "result": "conflict", "code": err.code.as_str(), "message": err.message})
            }
            Err(err) => json!({"id": id, "result": "failed", "code": err.code.as_str(), "message": err.message}),
        });
    }
    let count = |kind: &str| results.iter().filter(|r| r["result"] == kind).count();
    let (done, conflicts, failed) = (count("done"), count("conflict"), count("failed"));
    Ok(json!({"results": results, "done": done, "conflicts": conflicts, "failed": failed}))
}

/// Updates one story on its current version; the resolved body is cached per project.
fn update_one(
    api: &Api<'_>,
    args: &Args,
    mappings: &[Mapping],
    id: i64,
    bodies: &mut Vec<(i64, Map<String, Value>)>,
) -> ToolResult<i64> {
    let story = api
        .taiga()
        .get(&format!("/userstories/{id}"), &format!("user story {id}"))?;
    let project = story["project"].as_i64().unwrap_or_default();
    let body = match bodies.iter().find(|(p, _)| *p == project) {
        Some((_, body)) => body.clone(),
        None => {
            let body = Resolver::new(api, project).body(mappings, args)?;
            bodies.push((project, body.clone()));
            body
        }
    };
    let mut body = body;
    body.insert("version".into(), story["version"].clone());
    let updated = api.taiga().patch(
        &format!("/userstories/{id}"),
        &Value::Object(body),
        &format!("user story {id}"),
    )?;
    Ok(updated["version"].as_i64().unwrap_or_default())
}
