//! Project tools.

use serde_json::{Value, json};

use super::{Annotations, Call, Tool, list_schema};
use crate::error::ToolResult;
use crate::listing::{PAGE, PAGE_SIZE, list_page};
use crate::schema::{Field, Kind, SESSION};
use crate::validate::Args;

const PROJECT_ID: Field = Field::required("project_id", Kind::Id, "Taiga project id (see list_projects).");

pub const LIST_PROJECTS: Tool = Tool {
    name: "list_projects",
    title: "List projects",
    description: "List Taiga projects, 30 per page by default. By default only projects the user is a member of; \
        set member_only to false to include every project the user can see (public ones too).",
    fields: &[
        SESSION,
        PAGE,
        PAGE_SIZE,
        Field::optional(
            "member_only",
            Kind::Bool,
            "Only projects the user is a member of (default true).",
        ),
    ],
    output_schema: || list_schema(project_summary_schema()),
    annotations: Annotations::READ,
    run: list_projects,
};

pub const GET_PROJECT: Tool = Tool {
    name: "get_project",
    title: "Get a project",
    description: "Get one project by id: its description, visibility, owner, modules and members with their roles.",
    fields: &[SESSION, PROJECT_ID],
    output_schema: || {
        json!({
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "name": {"type": "string"},
                "slug": {"type": "string"},
                "description": {"type": "string"},
                "is_private": {"type": "boolean"},
                "owner": {"type": ["string", "null"]},
                "created_date": {"type": "string"},
                "modified_date": {"type": "string"},
                "modules": {"type": "object"},
                "members": {"type": "array", "items": {"type": "object"}},
                "i_am_admin": {"type": "boolean"}
            },
            "required": ["id", "name", "slug"]
        })
    },
    annotations: Annotations::READ,
    run: get_project,
};

fn project_summary_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "slug": {"type": "string"},
            "description": {"type": "string"},
            "is_private": {"type": "boolean"},
            "owner": {"type": ["string", "null"], "description": "Owner's username."},
            "modified_date": {"type": "string"}
        },
        "required": ["id", "name", "slug"]
    })
}

fn summary(project: &Value) -> Value {
    json!({
        "id": project["id"],
        "name": project["name"],
        "slug": project["slug"],
        "description": project["description"],
        "is_private": project["is_private"],
        "owner": project["owner"]["username"],
        "modified_date": project["modified_date"],
    })
}

fn list_projects(call: &Call<'_>, args: &Args) -> ToolResult<Value> {
    let session = call.session(args)?;
    let member = args
        .flag("member_only")
        .unwrap_or(true)
        .then(|| session.user_id.to_string());
    list_page(
        call,
        &session,
        args,
        "/projects",
        &[("member", member)],
        "projects",
        summary,
    )
}

fn get_project(call: &Call<'_>, args: &Args) -> ToolResult<Value> {
    let session = call.session(args)?;
    let id = args.required_int("project_id")?;
    let base = session.taiga_url()?;
    let project = call
        .taiga(&base)
        .with_token(&session.auth_token)
        .get(&format!("/projects/{id}"), &format!("project {id}"))?;
    let members: Vec<Value> = project["members"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|member| {
            json!({
                "id": member["id"],
                "username": member["username"],
                "full_name": member["full_name_display"],
                "role": member["role"],
                "role_name": member["role_name"],
            })
        })
        .collect();
    Ok(json!({
        "id": project["id"],
        "name": project["name"],
        "slug": project["slug"],
        "description": project["description"],
        "is_private": project["is_private"],
        "owner": project["owner"]["username"],
        "created_date": project["created_date"],
        "modified_date": project["modified_date"],
        "modules": {
            "backlog": project["is_backlog_activated"],
            "kanban": project["is_kanban_activated"],
            "epics": project["is_epics_activated"],
            "issues": project["is_issues_activated"],
            "wiki": project["is_wiki_activated"],
        },
        "members": members,
        "i_am_admin": project["i_am_admin"],
    }))
}
