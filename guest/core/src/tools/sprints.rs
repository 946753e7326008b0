//! Sprint tools (Taiga's milestones).

use serde_json::{Map, json};

use crate::api::Api;
use crate::crud;
use crate::error::{ToolError, ToolResult};
use crate::listing::{ALL, PAGE, PAGE_SIZE};
use crate::resource::{SPRINT, sprint, sprint_schema};
use crate::schema::{Field, Kind, SESSION};
use crate::tool::{Annotations, Tool, deleted_schema, list_schema};
use crate::validate::Args;

const PROJECT: Field = Field::required("project_id", Kind::Id, "Project id.");
const SPRINT_ID: Field = Field::required("sprint_id", Kind::Id, "The sprint id.");

fn check_dates(args: &Args) -> ToolResult<()> {
    match (args.text("start_date"), args.text("end_date")) {
        (Some(start), Some(end)) if start > end => Err(ToolError::invalid("end_date", "must not be before start_date")),
        _ => Ok(()),
    }
}

pub const LIST_SPRINTS: Tool = Tool {
    name: "list_sprints",
    title: "List sprints",
    description: "List a project's sprints, latest first.",
    fields: &[
        SESSION,
        PROJECT,
        Field::optional("closed", Kind::Bool, "Only closed (true) or open (false) sprints."),
        PAGE,
        PAGE_SIZE,
        ALL,
    ],
    output_schema: || list_schema(sprint_schema()),
    annotations: Annotations::READ,
    run: |call, args| crud::list(call, args, &SPRINT, &[]),
};

pub const GET_SPRINT: Tool = Tool {
    name: "get_sprint",
    title: "Get a sprint",
    description: "Get one sprint with its dates, story counts and points.",
    fields: &[SESSION, SPRINT_ID],
    output_schema: sprint_schema,
    annotations: Annotations::READ,
    run: |call, args| crud::get(call, args, &SPRINT),
};

pub const CREATE_SPRINT: Tool = Tool {
    name: "create_sprint",
    title: "Create a sprint",
    description: "Create a sprint with a name (unique in the project) and start and end dates (YYYY-MM-DD).",
    fields: &[
        SESSION,
        PROJECT,
        Field::required(
            "name",
            Kind::Text { min: 1, max: 255 },
            "Sprint name, unique in the project.",
        ),
        Field::required("start_date", Kind::Date, "First day, YYYY-MM-DD."),
        Field::required("end_date", Kind::Date, "Last day, YYYY-MM-DD, not before start_date."),
    ],
    output_schema: sprint_schema,
    annotations: Annotations::CREATE,
    run: |call, args| {
        check_dates(args)?;
        crud::create(call, args, &SPRINT, args.required_int("project_id")?, Map::new())
    },
};

pub const UPDATE_SPRINT: Tool = Tool {
    name: "update_sprint",
    title: "Update a sprint",
    description: "Rename a sprint or change its dates. Sprints have no version in Taiga: the last write wins.",
    fields: &[
        SESSION,
        SPRINT_ID,
        Field::optional("name", Kind::Text { min: 1, max: 255 }, "New name."),
        Field::optional("start_date", Kind::Date, "New first day, YYYY-MM-DD."),
        Field::optional("end_date", Kind::Date, "New last day, YYYY-MM-DD."),
    ],
    output_schema: sprint_schema,
    annotations: Annotations::UPDATE,
    run: |call, args| {
        check_dates(args)?;
        crud::update(call, args, &SPRINT)
    },
};

pub const DELETE_SPRINT: Tool = Tool {
    name: "delete_sprint",
    title: "Delete a sprint",
    description: "Delete a sprint; its user stories go back to the backlog. Sprints have no version in Taiga, so \
        this tool takes none.",
    fields: &[SESSION, SPRINT_ID],
    output_schema: deleted_schema,
    annotations: Annotations::DELETE,
    run: |call, args| crud::delete(call, args, &SPRINT),
};

pub const CLOSE_SPRINT: Tool = Tool {
    name: "close_sprint",
    title: "Close a sprint",
    description: "Mark a sprint closed. Sprints have no version in Taiga.",
    fields: &[SESSION, SPRINT_ID],
    output_schema: sprint_schema,
    annotations: Annotations::UPDATE,
    run: |call, args| {
        let api = Api::open(call, args)?;
        let id = args.required_int("sprint_id")?;
        let updated = api.taiga().patch(
            &format!("/milestones/{id}"),
            &json!({"closed": true}),
            &format!("sprint {id}"),
        )?;
        Ok(sprint(&updated))
    },
};
