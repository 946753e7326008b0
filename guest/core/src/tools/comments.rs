//! Comments on user stories, tasks, issues, epics and wiki pages.

use serde_json::json;

use crate::api::Api;
use crate::crud;
use crate::error::{ToolError, ToolResult};
use crate::resource::Resource;
use crate::resource::{EPIC, ISSUE, TASK, USER_STORY, WIKI};
use crate::schema::{Field, Kind, SESSION};
use crate::tool::{Annotations, Tool};
use crate::validate::Args;

const COMMENTABLE: &[&str] = &["user_story", "task", "issue", "epic", "wiki"];

fn commentable(args: &Args) -> ToolResult<&'static Resource> {
    Ok(match args.required_text("resource")? {
        "user_story" => &USER_STORY,
        "task" => &TASK,
        "issue" => &ISSUE,
        "epic" => &EPIC,
        "wiki" => &WIKI,
        _ => {
            return Err(ToolError::invalid(
                "resource",
                format!("must be one of {}", COMMENTABLE.join(", ")),
            ));
        }
    })
}

const RESOURCE: Field = Field::required("resource", Kind::Choice(COMMENTABLE), "What is commented on.");
const ITEM_ID: Field = Field::required("id", Kind::Id, "Its id.");

pub const ADD_COMMENT: Tool = Tool {
    name: "add_comment",
    title: "Add a comment",
    description: "Comment on a user story, task, issue, epic or wiki page. Comments never conflict with edits.",
    fields: &[
        SESSION,
        RESOURCE,
        ITEM_ID,
        Field::required(
            "text",
            Kind::Text { min: 1, max: 5000 },
            "Comment in Markdown, up to 5000 characters.",
        ),
    ],
    output_schema: || {
        json!({
            "type": "object",
            "properties": {"added": {"type": "boolean"}, "id": {"type": "integer"}, "version": {"type": ["integer", "null"]}},
            "required": ["added", "id"]
        })
    },
    annotations: Annotations::CREATE,
    run: |call, args| {
        let api = Api::open(call, args)?;
        crud::add_comment(
            &api,
            commentable(args)?,
            args.required_int("id")?,
            args.required_text("text")?,
        )
    },
};

pub const LIST_COMMENTS: Tool = Tool {
    name: "list_comments",
    title: "List comments",
    description: "List the comments on a user story, task, issue, epic or wiki page, newest first.",
    fields: &[SESSION, RESOURCE, ITEM_ID],
    output_schema: || {
        json!({
            "type": "object",
            "properties": {"comments": {"type": "array", "items": {"type": "object"}}},
            "required": ["comments"]
        })
    },
    annotations: Annotations::READ,
    run: |call, args| {
        let api = Api::open(call, args)?;
        crud::list_comments(&api, commentable(args)?, args.required_int("id")?)
    },
};
