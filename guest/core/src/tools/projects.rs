//! Project and member tools.

use serde_json::{Value, json};

use crate::api::Api;
use crate::call::Call;
use crate::error::{ToolError, ToolResult};
use crate::listing::{ALL, PAGE, PAGE_SIZE, list_page};
use crate::projection::Compact;
use crate::schema::{Field, Kind, SESSION};
use crate::tool::{Annotations, Tool, list_schema};
use crate::validate::Args;

const PROJECT_ID: Field = Field::required("project_id", Kind::Id, "Project id (see list_projects).");

pub const LIST_PROJECTS: Tool = Tool {
    name: "list_projects",
    title: "List projects",
    description: "List Taiga projects, 30 per page.",
    fields: &[
        SESSION,
        PAGE,
        PAGE_SIZE,
        ALL,
        Field::optional(
            "member_only",
            Kind::Bool,
            "Default true: only the user's own projects; false adds all they can see.",
        ),
    ],
    output_schema: || list_schema(project_summary_schema()),
    annotations: Annotations::READ,
    run: list_projects,
};

pub const GET_PROJECT: Tool = Tool {
    name: "get_project",
    title: "Get a project",
    description: "Get one project by id or by slug: its description, visibility, owner, modules and members with \
        their roles.",
    fields: &[
        SESSION,
        Field::optional("project_id", Kind::Id, "Taiga project id. Give this or slug."),
        Field::optional(
            "slug",
            Kind::Text { min: 1, max: 255 },
            "Project slug, as in its URL. Give this or project_id.",
        ),
    ],
    output_schema: project_schema,
    annotations: Annotations::READ,
    run: get_project,
};

pub const GET_PROJECT_METADATA: Tool = Tool {
    name: "get_project_metadata",
    title: "Get a project's statuses, types and members",
    description: "What other tools need about a project, in one call: the choices of each kind (statuses, \
        priorities...) and its members, each with id and name.",
    fields: &[SESSION, PROJECT_ID],
    output_schema: || {
        json!({
            "type": "object",
            "properties": {
                "project_id": {"type": "integer"},
                "user_story_statuses": {"type": "array"}, "task_statuses": {"type": "array"},
                "issue_statuses": {"type": "array"}, "epic_statuses": {"type": "array"},
                "priorities": {"type": "array"}, "severities": {"type": "array"}, "issue_types": {"type": "array"},
                "points": {"type": "array"}, "roles": {"type": "array"}, "members": {"type": "array"}
            },
            "required": ["project_id", "members", "roles"]
        })
    },
    annotations: Annotations::READ,
    run: get_project_metadata,
};

pub const CREATE_PROJECT: Tool = Tool {
    name: "create_project",
    title: "Create a project",
    description: "Create a Taiga project from the scrum (default) or kanban template; the user becomes its admin. \
        Private unless visibility is \"public\".",
    fields: &[
        SESSION,
        Field::required("name", Kind::Text { min: 1, max: 250 }, "Project name."),
        Field::required(
            "description",
            Kind::Text { min: 1, max: 5000 },
            "What it is for (Taiga requires one).",
        ),
        Field::optional(
            "visibility",
            Kind::Choice(&["private", "public"]),
            "Who can see it (default private).",
        ),
        Field::optional(
            "template",
            Kind::Choice(&["scrum", "kanban"]),
            "Template (default scrum).",
        ),
    ],
    output_schema: project_schema,
    annotations: Annotations::CREATE,
    run: create_project,
};

pub const UPDATE_PROJECT: Tool = Tool {
    name: "update_project",
    title: "Update a project",
    description: "Change a project's name, description or visibility (admins only). Projects have no version in \
        Taiga: the last write wins.",
    fields: &[
        SESSION,
        PROJECT_ID,
        Field::optional("name", Kind::Text { min: 1, max: 250 }, "New name."),
        Field::optional("description", Kind::Text { min: 0, max: 5000 }, "New description."),
        Field::optional("visibility", Kind::Choice(&["private", "public"]), "New visibility."),
    ],
    output_schema: project_schema,
    annotations: Annotations::UPDATE,
    run: update_project,
};

pub const DELETE_PROJECT: Tool = Tool {
    name: "delete_project",
    title: "Delete a project",
    description: "Delete a project and everything in it (admins only). This cannot be undone. Projects have no \
        version in Taiga.",
    fields: &[SESSION, PROJECT_ID],
    output_schema: crate::tool::deleted_schema,
    annotations: Annotations::DELETE,
    run: delete_project,
};

pub const LIST_PROJECT_MEMBERS: Tool = Tool {
    name: "list_project_members",
    title: "List project members",
    description: "List a project's members and pending invitations with their user ids, usernames and roles.",
    fields: &[SESSION, PROJECT_ID],
    output_schema: || {
        json!({
            "type": "object",
            "properties": {"members": {"type": "array", "items": {"type": "object"}}},
            "required": ["members"]
        })
    },
    annotations: Annotations::READ,
    run: list_project_members,
};

pub const INVITE_PROJECT_USER: Tool = Tool {
    name: "invite_project_user",
    title: "Invite a user to a project",
    description: "Add a user to a project with a role (admins only). Give a username or an email: a known user \
        becomes a member at once, an unknown email gets an invitation.",
    fields: &[
        SESSION,
        PROJECT_ID,
        Field::optional(
            "username",
            Kind::Text { min: 1, max: 255 },
            "Taiga username. Give this or email.",
        ),
        Field::optional(
            "email",
            Kind::Text { min: 3, max: 254 },
            "Email address (RFC 5322). Give this or username.",
        ),
        Field::required(
            "role",
            Kind::IdOrName,
            "Role id or name, e.g. \"Back\" or \"Product Owner\".",
        ),
    ],
    output_schema: member_schema,
    annotations: Annotations::CREATE,
    run: invite_project_user,
};

pub const REMOVE_PROJECT_MEMBER: Tool = Tool {
    name: "remove_project_member",
    title: "Remove a project member",
    description: "Remove a user from a project (admins only). Taiga refuses to remove the owner or the last admin.",
    fields: &[
        SESSION,
        PROJECT_ID,
        Field::required("user_id", Kind::Id, "The member's user id (see list_project_members)."),
    ],
    output_schema: crate::tool::deleted_schema,
    annotations: Annotations::DELETE,
    run: remove_project_member,
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

fn project_schema() -> Value {
    let mut schema = project_summary_schema();
    schema["properties"]["modules"] = json!({"type": "object", "description": "Which modules are on."});
    schema["properties"]["members"] = json!({"type": "array", "items": {"type": "object"}});
    schema["properties"]["i_am_admin"] = json!({"type": "boolean"});
    schema
}

fn member_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "membership_id": {"type": "integer"},
            "user_id": {"type": ["integer", "null"]},
            "username": {"type": ["string", "null"]},
            "email": {"type": ["string", "null"]},
            "role": {"type": ["string", "null"]},
            "role_id": {"type": "integer"},
            "is_admin": {"type": "boolean"},
            "pending": {"type": "boolean"}
        },
        "required": ["membership_id", "pending"]
    })
}

/// The keys of Taiga's project [`summary`] reads, followed by `$extra` keys: a project's answers
/// build on its summary.
macro_rules! summary_keys {
    ($($extra:literal),* $(,)?) => {
        &["id", "name", "slug", "description", "is_private", "owner", "modified_date", $($extra),*]
    };
}

/// The compact project of `list_projects`.
pub const PROJECT_SUMMARY: Compact = Compact {
    keys: summary_keys!(),
    map: summary,
    page: None,
};

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

/// `get_project`'s answer, built from the keys of Taiga's project detail it reads.
pub const PROJECT_DETAIL: Compact = Compact {
    keys: summary_keys!(
        "created_date",
        "is_backlog_activated",
        "is_kanban_activated",
        "is_epics_activated",
        "is_issues_activated",
        "is_wiki_activated",
        "members",
        "i_am_admin"
    ),
    map: project_body,
    page: None,
};

fn project_body(project: &Value) -> Value {
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
                "role": member["role_name"],
                "role_id": member["role"],
            })
        })
        .collect();
    let mut body = summary(project);
    body["created_date"] = project["created_date"].clone();
    body["modules"] = json!({
        "backlog": project["is_backlog_activated"],
        "kanban": project["is_kanban_activated"],
        "epics": project["is_epics_activated"],
        "issues": project["is_issues_activated"],
        "wiki": project["is_wiki_activated"],
    });
    body["members"] = Value::Array(members);
    body["i_am_admin"] = project["i_am_admin"].clone();
    body
}

fn list_projects(call: &Call<'_>, args: &Args) -> ToolResult<Value> {
    let api = Api::open(call, args)?;
    let member = args
        .flag("member_only")
        .unwrap_or(true)
        .then(|| api.session.user_id.to_string());
    list_page(
        &api,
        args,
        "/projects",
        &[("member", member)],
        "projects",
        PROJECT_SUMMARY,
    )
}

fn get_project(call: &Call<'_>, args: &Args) -> ToolResult<Value> {
    let api = Api::open(call, args)?;
    let project = match (args.int("project_id"), args.text("slug")) {
        (Some(id), None) => api.taiga().get_keeping(
            &format!("/projects/{id}"),
            &format!("project {id}"),
            PROJECT_DETAIL.keys,
        )?,
        (None, Some(slug)) => {
            let path = crate::taiga::with_query("/projects/by_slug", &[("slug", Some(slug.to_owned()))]);
            api.taiga()
                .get_keeping(&path, &format!("project `{slug}`"), PROJECT_DETAIL.keys)?
        }
        _ => {
            return Err(ToolError::invalid(
                "project_id",
                "give exactly one of project_id or slug",
            ));
        }
    };
    Ok((PROJECT_DETAIL.map)(&project))
}

fn named_list(detail: &Value, key: &str, extra: &[&str]) -> Value {
    let items: Vec<Value> = detail[key]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|item| {
            let mut out = json!({"id": item["id"], "name": item["name"]});
            for field in extra {
                out[*field] = item[*field].clone();
            }
            out
        })
        .collect();
    Value::Array(items)
}

fn get_project_metadata(call: &Call<'_>, args: &Args) -> ToolResult<Value> {
    let api = Api::open(call, args)?;
    let id = args.required_int("project_id")?;
    let meta = api.project_meta(id)?;
    let detail = meta.detail();
    let members: Vec<Value> = detail["members"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|m| json!({"id": m["id"], "username": m["username"], "full_name": m["full_name_display"], "role": m["role_name"]}))
        .collect();
    Ok(json!({
        "project_id": id,
        "user_story_statuses": named_list(detail, "us_statuses", &["is_closed"]),
        "task_statuses": named_list(detail, "task_statuses", &["is_closed"]),
        "issue_statuses": named_list(detail, "issue_statuses", &["is_closed"]),
        "epic_statuses": named_list(detail, "epic_statuses", &["is_closed"]),
        "priorities": named_list(detail, "priorities", &[]),
        "severities": named_list(detail, "severities", &[]),
        "issue_types": named_list(detail, "issue_types", &[]),
        "points": named_list(detail, "points", &["value"]),
        "roles": named_list(detail, "roles", &["computable"]),
        "members": members,
    }))
}

fn create_project(call: &Call<'_>, args: &Args) -> ToolResult<Value> {
    let api = Api::open(call, args)?;
    let template = match args.text("template") {
        Some("kanban") => 2,
        _ => 1,
    };
    let body = json!({
        "name": args.required_text("name")?,
        "description": args.required_text("description")?,
        "is_private": args.text("visibility") != Some("public"),
        "creation_template": template,
    });
    let project = api.taiga().post("/projects", &body, "a new project")?;
    Ok(project_body(&project))
}

fn update_project(call: &Call<'_>, args: &Args) -> ToolResult<Value> {
    let api = Api::open(call, args)?;
    let id = args.required_int("project_id")?;
    let mut body = serde_json::Map::new();
    if let Some(name) = args.text("name") {
        body.insert("name".into(), name.into());
    }
    if let Some(description) = args.text("description") {
        body.insert("description".into(), description.into());
    }
    if let Some(visibility) = args.text("visibility") {
        body.insert("is_private".into(), (visibility == "private").into());
    }
    if body.is_empty() {
        return Err(ToolError::invalid(
            "name",
            "nothing to update: give name, description or visibility",
        ));
    }
    let project = api.taiga().patch(
        &format!("/projects/{id}"),
        &Value::Object(body),
        &format!("project {id}"),
    )?;
    Ok(project_body(&project))
}

fn delete_project(call: &Call<'_>, args: &Args) -> ToolResult<Value> {
    let api = Api::open(call, args)?;
    let id = args.required_int("project_id")?;
    api.taiga()
        .delete(&format!("/projects/{id}"), &format!("project {id}"))?;
    Ok(json!({"deleted": true, "id": id}))
}

fn member_body(membership: &Value, usernames: &[(Value, Value)]) -> Value {
    let username = usernames
        .iter()
        .find(|(id, _)| *id == membership["user"])
        .map_or(Value::Null, |(_, name)| name.clone());
    json!({
        "membership_id": membership["id"],
        "user_id": membership["user"],
        "username": username,
        "full_name": membership["full_name"],
        "email": membership["email"],
        "role": membership["role_name"],
        "role_id": membership["role"],
        "is_admin": membership["is_admin"],
        "pending": membership["user"].is_null(),
    })
}

fn memberships(api: &Api<'_>, project: i64) -> ToolResult<Vec<Value>> {
    Ok(api
        .taiga()
        .get_page(&memberships_path(project), &memberships_what(project))?
        .items)
}

fn memberships_path(project: i64) -> String {
    format!("/memberships?project={project}&page_size=1000")
}

fn memberships_what(project: i64) -> String {
    format!("members of project {project}")
}

/// `(user id, username)` of a project detail's members.
fn usernames(detail: &Value) -> Vec<(Value, Value)> {
    detail["members"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|m| (m["id"].clone(), m["username"].clone()))
        .collect()
}

fn list_project_members(call: &Call<'_>, args: &Args) -> ToolResult<Value> {
    let api = Api::open(call, args)?;
    let project = args.required_int("project_id")?;
    // Fresh names: a member who joined since the names were kept is listed by name too.
    let (listed, meta) =
        api.read_beside_project(&memberships_path(project), &memberships_what(project), project, true)?;
    let names = usernames(meta.detail());
    let Value::Array(listed) = listed else {
        return Err(ToolError::new(
            crate::error::ErrorCode::TaigaError,
            "Taiga's list of members is not a JSON array",
        ));
    };
    let members: Vec<Value> = listed.iter().map(|m| member_body(m, &names)).collect();
    Ok(json!({"members": members}))
}

fn invite_project_user(call: &Call<'_>, args: &Args) -> ToolResult<Value> {
    let api = Api::open(call, args)?;
    let project = args.required_int("project_id")?;
    let who = match (args.text("username"), args.text("email")) {
        (Some(username), None) => username.to_owned(),
        (None, Some(email)) => {
            crate::validate::check_email("email", email)?;
            email.to_owned()
        }
        _ => return Err(ToolError::invalid("username", "give exactly one of username or email")),
    };
    let meta = api.project_meta(project)?;
    let role = meta.lookup("roles", "role", args.raw("role"))?;
    let body = json!({"project": project, "role": role, "username": who});
    let membership = api.taiga().post("/memberships", &body, &format!("project {project}"))?;
    let mut body = member_body(&membership, &usernames(meta.detail()));
    if body["username"].is_null() && !membership["user"].is_null() {
        body["username"] = args.text("username").map_or(Value::Null, Value::from);
    }
    Ok(body)
}

fn remove_project_member(call: &Call<'_>, args: &Args) -> ToolResult<Value> {
    let api = Api::open(call, args)?;
    let project = args.required_int("project_id")?;
    let user = args.required_int("user_id")?;
    let membership = memberships(&api, project)?
        .into_iter()
        .find(|m| m["user"] == user)
        .ok_or_else(|| {
            ToolError::new(
                crate::error::ErrorCode::NotFound,
                format!("user {user} is not a member of project {project}"),
            )
        })?;
    let id = membership["id"].as_i64().unwrap_or_default();
    api.taiga()
        .delete(&format!("/memberships/{id}"), &format!("membership of user {user}"))?;
    Ok(json!({"deleted": true, "id": user}))
}
