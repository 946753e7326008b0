//! Comments on user stories, tasks, issues, epics and wiki pages.

use serde_json::json;

use crate::api::Api;
use crate::crud;
use crate::schema::{Field, Kind, SESSION};
use crate::tool::{Annotations, Tool};
use crate::tools::target::{ITEM_ID, WITH_WIKI, resource, resource_field};

const RESOURCE: Field = resource_field(WITH_WIKI);

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
            resource(args, WITH_WIKI)?,
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
        crud::list_comments(&api, resource(args, WITH_WIKI)?, args.required_int("id")?)
    },
};
