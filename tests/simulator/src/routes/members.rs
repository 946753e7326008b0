//! `/memberships` and the per-project lookups (`/userstory-statuses?project=` and friends).

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::context::Ctx;
use crate::model::{Membership, now};
use crate::request::{json_body, path_id};
use crate::respond;
use crate::state::State;

use crate::respond::Answer;

/// The lookup endpoints and the project field they read.
pub const LOOKUPS: &[&str] = &[
    "userstory-statuses",
    "points",
    "task-statuses",
    "issue-statuses",
    "issue-types",
    "priorities",
    "severities",
    "epic-statuses",
    "roles",
];

fn membership_body(state: &State, membership: &Membership) -> Value {
    let project = state.project(membership.project);
    let user = membership.user.and_then(|id| state.user(id));
    json!({
        "id": membership.id,
        "user": membership.user,
        "project": membership.project,
        "role": membership.role,
        "is_admin": membership.is_admin,
        "created_at": membership.created_at,
        "invited_by": null,
        "invitation_extra_text": null,
        "user_order": membership.id,
        "role_name": project.map_or(Value::Null, |p| p.lookups.role_name(membership.role)),
        "full_name": user.map(|u| u.full_name.clone()),
        "is_user_active": user.is_some(),
        "color": if user.is_some() { json!("") } else { Value::Null },
        "photo": null,
        "gravatar_id": user.map(|u| state.user_summary(u.id)["gravatar_id"].clone()),
        "project_name": project.map(|p| p.name.clone()),
        "project_slug": project.map(|p| p.slug.clone()),
        "is_owner": project.map(|p| Some(p.owner) == membership.user),
        "email": membership.email.clone().or_else(|| user.map(|u| u.email.clone())),
        "user_email": user.map(|u| u.email.clone()),
    })
}

/// `GET /memberships?project=`.
pub async fn list(ctx: Ctx) -> Response {
    let project = ctx.param("project").and_then(|p| p.parse::<i64>().ok());
    let items: Vec<Value> = {
        let state = ctx.state();
        state
            .memberships
            .iter()
            .filter(|m| project.is_none_or(|p| m.project == p))
            .filter(|m| state.project(m.project).is_some_and(|p| state.can_view(p, ctx.user)))
            .map(|m| membership_body(&state, m))
            .collect()
    };
    ctx.paginate(items)
}

/// `GET /memberships/{id}`.
pub async fn detail(ctx: Ctx, Path(id): Path<String>) -> Answer {
    let id = path_id(&id)?;
    let state = ctx.state();
    let membership = state
        .memberships
        .iter()
        .find(|m| m.id == id)
        .ok_or_else(|| respond::no_match("Membership"))?;
    if !state
        .project(membership.project)
        .is_some_and(|p| state.can_view(p, ctx.user))
    {
        return Err(respond::forbidden());
    }
    Ok(respond::ok(membership_body(&state, membership)))
}

/// `POST /memberships {"project", "role", "username"}`: a member when the username or email is known,
/// an invitation otherwise.
pub async fn create(ctx: Ctx, body: Bytes) -> Answer {
    let user = ctx.require_user()?;
    let body = json_body(&body)?;
    let mut state = ctx.state();
    let project = body["project"].as_i64().and_then(|id| state.project(id)).cloned();
    let Some(project) = project else {
        return Err(respond::required("project"));
    };
    let Some(login) = body["username"].as_str().filter(|u| !u.is_empty()) else {
        return Err(respond::required("username"));
    };
    let role = body["role"].as_i64().unwrap_or(0);
    if !project.lookups.roles.iter().any(|r| r["id"] == role) {
        return Err(respond::field_errors(
            json!({"role": [format!("Invalid pk '{role}' - object does not exist.")]}),
        ));
    }
    let invitee = state.user_by_login(login).map(|u| u.id);
    if state.membership(project.id, user).is_none() {
        return Err(respond::field_errors(
            json!({"username": ["The user must be a valid contact"]}),
        ));
    }
    if !state.membership(project.id, user).is_some_and(|m| m.is_admin) {
        return Err(respond::forbidden());
    }
    let duplicate = state.memberships.iter().any(|m| {
        m.project == project.id
            && (invitee.is_some() && m.user == invitee
                || m.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(login)))
    });
    if duplicate {
        return Err(respond::field_errors(
            json!({"username": ["The user yet exists in the project"]}),
        ));
    }
    if invitee.is_none() && !login.contains('@') {
        return Err(respond::field_errors(
            json!({"username": ["The user must be a valid contact"]}),
        ));
    }
    let id = state.next_id("membership");
    let membership = Membership {
        id,
        project: project.id,
        user: invitee,
        role,
        is_admin: false,
        email: invitee.is_none().then(|| login.to_owned()),
        created_at: now(),
    };
    let body = membership_body(&state, &membership);
    state.memberships.push(membership);
    Ok(respond::created(body))
}

/// `DELETE /memberships/{id}`: refuses to remove the owner or the last admin.
pub async fn delete(ctx: Ctx, Path(id): Path<String>) -> Answer {
    let id = path_id(&id)?;
    let user = ctx.require_user()?;
    let mut state = ctx.state();
    let Some(membership) = state.memberships.iter().find(|m| m.id == id).cloned() else {
        return Err(respond::forbidden());
    };
    if !state.membership(membership.project, user).is_some_and(|m| m.is_admin) {
        return Err(respond::forbidden());
    }
    let owner = state.project(membership.project).map(|p| p.owner);
    let admins = state
        .memberships
        .iter()
        .filter(|m| m.project == membership.project && m.is_admin && m.user.is_some())
        .count();
    if membership.user == owner || (membership.is_admin && admins <= 1) {
        return Err(respond::api_error(
            StatusCode::BAD_REQUEST,
            "The project must have an owner and at least one of the users must be an active admin",
            "BadRequest",
        ));
    }
    state.memberships.retain(|m| m.id != id);
    Ok(respond::no_content())
}

/// `GET /<lookup>/{id}`.
pub async fn lookup_detail(ctx: Ctx, name: &'static str, Path(id): Path<String>) -> Answer {
    let id = path_id(&id)?;
    let found = lookup_values(&ctx, name, None)
        .into_iter()
        .find(|value| value["id"] == id);
    let value = found.ok_or_else(|| respond::not_found("No matches the given query."))?;
    Ok(respond::ok(value))
}

/// `GET /<lookup>?project=`: the project's values with `project` (not `project_id`) as the key.
pub async fn lookup(ctx: Ctx, name: &'static str) -> Response {
    let project = ctx.param("project").and_then(|p| p.parse::<i64>().ok());
    let items = lookup_values(&ctx, name, project);
    ctx.paginate(items)
}

fn lookup_values(ctx: &Ctx, name: &'static str, project: Option<i64>) -> Vec<Value> {
    {
        let state = ctx.state();
        state
            .projects
            .iter()
            .filter(|p| project.is_none_or(|id| p.id == id) && state.can_view(p, ctx.user))
            .flat_map(|p| {
                let lookups = &p.lookups;
                let values = match name {
                    "userstory-statuses" => &lookups.us_statuses,
                    "points" => &lookups.points,
                    "task-statuses" => &lookups.task_statuses,
                    "issue-statuses" => &lookups.issue_statuses,
                    "issue-types" => &lookups.issue_types,
                    "priorities" => &lookups.priorities,
                    "severities" => &lookups.severities,
                    "epic-statuses" => &lookups.epic_statuses,
                    _ => &lookups.roles,
                };
                values
                    .iter()
                    .map(|value| {
                        let mut value = value.clone();
                        if let Some(object) = value.as_object_mut() {
                            let project = object.remove("project_id").unwrap_or(Value::Null);
                            object.insert("project".into(), project);
                            if name == "roles" {
                                let count = state
                                    .memberships
                                    .iter()
                                    .filter(|m| m.project == p.id && object.get("id") == Some(&Value::from(m.role)))
                                    .count();
                                object.insert("members_count".into(), count.into());
                            }
                        }
                        value
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}
