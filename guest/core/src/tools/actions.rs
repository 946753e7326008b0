//! One-step actions on an item: promoting an issue to a user story, watching and unwatching.

use serde_json::{Value, json};

use crate::api::Api;
use crate::call::Call;
use crate::error::{ToolError, ToolResult};
use crate::resource::{ISSUE, USER_STORY};
use crate::schema::{Field, Kind, SESSION};
use crate::tool::{Annotations, Tool};
use crate::tools::target::{ITEM_ID, ITEMS, project_of, resource, resource_field};
use crate::validate::Args;

pub const PROMOTE_ISSUE_TO_USER_STORY: Tool = Tool {
    name: "promote_issue_to_user_story",
    title: "Promote an issue to a user story",
    description: "Turn an issue into a new user story in the same project (Taiga copies its title and \
        description and links the two). The issue stays.",
    fields: &[SESSION, Field::required("issue_id", Kind::Id, "The issue id.")],
    output_schema: || {
        json!({
            "type": "object",
            "properties": {
                "issue_id": {"type": "integer"},
                "user_story": {"type": "object", "properties": {"id": {"type": "integer"}, "ref": {"type": "integer"}}}
            },
            "required": ["issue_id", "user_story"]
        })
    },
    annotations: Annotations::CREATE,
    run: promote,
};

fn promote(call: &Call<'_>, args: &Args) -> ToolResult<Value> {
    let api = Api::open(call, args)?;
    let id = args.required_int("issue_id")?;
    let what = format!("issue {id}");
    let project = project_of(&api, &ISSUE, id)?;
    let refs = api.taiga().post(
        &format!("/issues/{id}/promote_to_user_story"),
        &json!({"project_id": project}),
        &what,
    )?;
    let reference = refs
        .as_array()
        .and_then(|refs| refs.first())
        .and_then(Value::as_i64)
        .ok_or_else(|| ToolError::internal("Taiga's promotion answer names no user story"))?;
    let story = api.taiga().get(
        &format!("/userstories/by_ref?project={project}&ref={reference}"),
        &format!("user story #{reference}"),
    )?;
    Ok(json!({"issue_id": id, "user_story": (USER_STORY.full)(&story)}))
}

fn watching(call: &Call<'_>, args: &Args, watch: bool) -> ToolResult<Value> {
    let api = Api::open(call, args)?;
    let resource = resource(args, ITEMS)?;
    let id = args.required_int("id")?;
    let what = format!("{} {id}", resource.noun);
    let action = if watch { "watch" } else { "unwatch" };
    api.taiga()
        .post(&format!("{}/{id}/{action}", resource.path), &json!({}), &what)?;
    let watchers = api.taiga().get(&format!("{}/{id}/watchers", resource.path), &what)?;
    let names: Vec<Value> = watchers
        .as_array()
        .into_iter()
        .flatten()
        .map(|user| user["username"].clone())
        .collect();
    Ok(json!({"id": id, "watching": watch, "watchers": names}))
}

fn watch_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "watching": {"type": "boolean"},
            "watchers": {"type": "array", "items": {"type": "string"}}
        },
        "required": ["id", "watching", "watchers"]
    })
}

const RESOURCE: Field = resource_field(ITEMS);

/// Watching is set, not toggled: repeating a call changes nothing more.
const WATCH_ANNOTATIONS: Annotations = Annotations {
    destructive: false,
    ..Annotations::UPDATE
};

pub const WATCH_ITEM: Tool = Tool {
    name: "watch_item",
    title: "Watch an item",
    description: "Watch a user story, task, issue or epic: Taiga notifies you of its changes.",
    fields: &[SESSION, RESOURCE, ITEM_ID],
    output_schema: watch_schema,
    annotations: WATCH_ANNOTATIONS,
    run: |call, args| watching(call, args, true),
};

pub const UNWATCH_ITEM: Tool = Tool {
    name: "unwatch_item",
    title: "Stop watching an item",
    description: "Stop watching a user story, task, issue or epic.",
    fields: &[SESSION, RESOURCE, ITEM_ID],
    output_schema: watch_schema,
    annotations: WATCH_ANNOTATIONS,
    run: |call, args| watching(call, args, false),
};
