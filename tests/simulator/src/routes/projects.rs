//! `/projects`: list (items differ from the detail), detail, by_slug.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::context::Ctx;
use crate::model::Project;
use crate::request::{json_body, path_id};
use crate::respond;
use crate::state::State;
use crate::template::{admin_permissions, public_permissions};

use crate::respond::Answer;

fn permissions(state: &State, project: &Project, user: Option<i64>) -> (Vec<Value>, bool, bool) {
    match user.and_then(|user| state.membership(project.id, user)) {
        Some(membership) => {
            let mut permissions = project.lookups.role_permissions(membership.role);
            if membership.is_admin {
                permissions.extend(admin_permissions().iter().map(|p| Value::from(p.as_str())));
            }
            (permissions, membership.is_admin, true)
        }
        None if !project.is_private => (
            public_permissions().iter().map(|p| Value::from(p.as_str())).collect(),
            false,
            false,
        ),
        None => (Vec::new(), false, false),
    }
}

/// The fields both the list item and the detail carry.
fn common(state: &State, project: &Project, user: Option<i64>) -> Map<String, Value> {
    let (my_permissions, is_admin, is_member) = permissions(state, project, user);
    let Value::Object(mut body) = json!({
        "id": project.id,
        "name": project.name,
        "slug": project.slug,
        "description": project.description,
        "created_date": project.created_date,
        "modified_date": project.modified_date,
        "owner": state.user_summary(project.owner),
        "members": [],
        "total_milestones": null,
        "total_story_points": null,
        "is_contact_activated": true,
        "is_epics_activated": false,
        "is_backlog_activated": project.creation_template != 2,
        "is_kanban_activated": project.creation_template == 2,
        "is_wiki_activated": project.creation_template != 2,
        "is_issues_activated": project.creation_template != 2,
        "videoconferences": null,
        "videoconferences_extra_data": null,
        "creation_template": project.creation_template,
        "is_private": project.is_private,
        "anon_permissions": if project.is_private { json!([]) } else { json!(["view_project"]) },
        "public_permissions": if project.is_private { json!([]) } else { json!(public_permissions()) },
        "is_featured": false,
        "is_looking_for_people": false,
        "looking_for_people_note": "",
        "blocked_code": null,
        "archived_code": null,
        "totals_updated_datetime": project.modified_date,
        "total_fans": 0,
        "total_fans_last_week": 0,
        "total_fans_last_month": 0,
        "total_fans_last_year": 0,
        "total_activity": 1,
        "total_activity_last_week": 1,
        "total_activity_last_month": 1,
        "total_activity_last_year": 1,
        "tags": project.tags,
        "tags_colors": project.tags.iter().map(|tag| (tag.clone(), Value::Null)).collect::<Map<String, Value>>(),
        "my_permissions": my_permissions,
        "i_am_owner": user == Some(project.owner),
        "i_am_admin": is_admin,
        "i_am_member": is_member,
        "notify_level": if is_member { json!(1) } else { Value::Null },
        "total_closed_milestones": 0,
        "is_watcher": is_member,
        "total_watchers": 1,
        "logo_small_url": null,
        "logo_big_url": null,
        "is_fan": false,
        "my_homepage": if user.is_some() { json!(false) } else { json!("{}") },
    }) else {
        unreachable!("a json! object literal is an object")
    };
    if let Value::Object(defaults) = project.lookups.defaults() {
        body.extend(defaults);
    }
    body
}

fn member_ids(state: &State, project: &Project) -> Vec<i64> {
    state
        .memberships
        .iter()
        .filter(|membership| membership.project == project.id)
        .filter_map(|membership| membership.user)
        .collect()
}

/// A list item: `members` is an array of user ids.
pub fn list_item(state: &State, project: &Project, user: Option<i64>) -> Value {
    let mut body = common(state, project, user);
    body.insert("members".into(), json!(member_ids(state, project)));
    Value::Object(body)
}

fn milestones(state: &State, project: &Project) -> Vec<Value> {
    state
        .items_of(crate::model::ItemKind::Milestone)
        .filter(|milestone| milestone.project == project.id)
        .map(|m| json!({"id": m.id, "slug": m.get("slug"), "name": m.get("name"), "closed": m.get("closed")}))
        .collect()
}

/// The detail: member objects and every lookup.
pub fn detail_body(state: &State, project: &Project, user: Option<i64>) -> Value {
    let mut body = common(state, project, user);
    let members: Vec<Value> = state
        .memberships
        .iter()
        .filter(|membership| membership.project == project.id)
        .filter_map(|membership| {
            let member = state.user(membership.user?)?;
            let summary = state.user_summary(member.id);
            Some(json!({
                "role": membership.role,
                "role_name": project.lookups.role_name(membership.role),
                "full_name": member.full_name,
                "full_name_display": member.full_name,
                "is_active": true,
                "id": member.id,
                "color": "",
                "username": member.username,
                "photo": null,
                "gravatar_id": summary["gravatar_id"],
            }))
        })
        .collect();
    let lookups = &project.lookups;
    let [us_duedates, task_duedates, issue_duedates] = &lookups.duedates;
    let total_memberships = members.len();
    body.insert("members".into(), Value::Array(members));
    for (key, value) in [
        ("epic_statuses", json!(lookups.epic_statuses)),
        ("swimlanes", Value::Null),
        ("us_statuses", json!(lookups.us_statuses)),
        ("us_duedates", json!(us_duedates)),
        ("points", json!(lookups.points)),
        ("task_statuses", json!(lookups.task_statuses)),
        ("task_duedates", json!(task_duedates)),
        ("issue_statuses", json!(lookups.issue_statuses)),
        ("issue_types", json!(lookups.issue_types)),
        ("issue_duedates", json!(issue_duedates)),
        ("priorities", json!(lookups.priorities)),
        ("severities", json!(lookups.severities)),
        ("epic_custom_attributes", Value::Null),
        ("userstory_custom_attributes", Value::Null),
        ("task_custom_attributes", Value::Null),
        ("issue_custom_attributes", Value::Null),
        ("roles", json!(lookups.roles)),
        ("total_memberships", json!(total_memberships)),
        ("is_out_of_owner_limits", json!(false)),
        ("milestones", json!(milestones(state, project))),
    ] {
        body.insert(key.into(), value);
    }
    if body.get("i_am_admin") == Some(&Value::Bool(true)) {
        for (key, value) in [
            ("is_private_extra_info", json!({"can_be_updated": true, "reason": null})),
            ("max_memberships", Value::Null),
            ("epics_csv_uuid", Value::Null),
            ("userstories_csv_uuid", Value::Null),
            ("tasks_csv_uuid", Value::Null),
            ("issues_csv_uuid", Value::Null),
            ("transfer_token", Value::Null),
        ] {
            body.insert(key.into(), value);
        }
    }
    Value::Object(body)
}

/// `GET /projects[?member=ID]`: visible projects ordered by name, then id.
pub async fn list(ctx: Ctx) -> Response {
    let member: Option<i64> = match ctx.param("member") {
        Some(text) => match text.parse() {
            Ok(id) => Some(id),
            Err(_) => {
                return respond::api_error(
                    axum::http::StatusCode::BAD_REQUEST,
                    "Error in filter params types.",
                    "BadRequest",
                );
            }
        },
        None => None,
    };
    let items = {
        let state = ctx.state();
        let mut visible: Vec<&Project> = state
            .projects
            .iter()
            .filter(|project| state.can_view(project, ctx.user))
            .filter(|project| member.is_none_or(|member| state.membership(project.id, member).is_some()))
            .collect();
        visible.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        visible
            .into_iter()
            .map(|project| list_item(&state, project, ctx.user))
            .collect()
    };
    ctx.paginate(items)
}

/// `GET /projects/{id}`: 404 when missing, 401 anonymous or 403 non-member on a private one.
pub async fn detail(ctx: Ctx, Path(id): Path<String>) -> Answer {
    let id = path_id(&id)?;
    let state = ctx.state();
    let Some(project) = state.project(id) else {
        return Err(respond::not_found(""));
    };
    if !state.can_view(project, ctx.user) {
        return Err(respond::not_visible(ctx.user));
    }
    Ok(respond::ok(detail_body(&state, project, ctx.user)))
}

/// `GET /projects/by_slug?slug=`: 404 with an empty message when missing or not visible.
pub async fn by_slug(ctx: Ctx) -> Response {
    let state = ctx.state();
    let slug = ctx.param("slug").unwrap_or_default();
    match state
        .projects
        .iter()
        .find(|project| project.slug == slug && state.can_view(project, ctx.user))
    {
        Some(project) => respond::ok(detail_body(&state, project, ctx.user)),
        None => respond::not_found(""),
    }
}

/// `POST /projects {"name", "description", "is_private"?, "creation_template"?}`: 201 with the detail.
/// Neither the name nor the description may be missing or empty (recordings 223-224: `"description": ""` and no
/// description both answer `{"description": ["This field is required."]}`); a description of spaces only is refused
/// alike (a GUESS: not recorded; the name's rule).
pub async fn create(ctx: Ctx, body: Bytes) -> Answer {
    let user = ctx.require_user()?;
    let body = json_body(&body)?;
    let mut missing = Map::new();
    for field in ["name", "description"] {
        if body[field].as_str().is_none_or(|text| text.trim().is_empty()) {
            missing.insert(field.into(), json!(["This field is required."]));
        }
    }
    if !missing.is_empty() {
        return Err(respond::field_errors(Value::Object(missing)));
    }
    let template = body["creation_template"].as_i64().unwrap_or(1);
    if !(1..=2).contains(&template) {
        return Err(respond::field_errors(
            json!({"creation_template": [format!("Invalid pk '{template}' - object does not exist.")]}),
        ));
    }
    let name = body["name"].as_str().unwrap_or_default().trim().to_owned();
    let description = body["description"].as_str().unwrap_or_default().to_owned();
    let is_private = body["is_private"].as_bool().unwrap_or(true);
    let mut state = ctx.state();
    let id = state.create_project(user, &name, &description, is_private, template);
    let project = state.project(id).ok_or_else(|| respond::not_found(""))?;
    Ok(respond::json_response(
        StatusCode::CREATED,
        &detail_body(&state, project, Some(user)),
    ))
}

fn admin_of(state: &State, project: i64, user: i64) -> bool {
    state.membership(project, user).is_some_and(|m| m.is_admin)
}

/// `PATCH /projects/{id}`: no OCC (a `version` is ignored); admins only.
pub async fn patch(ctx: Ctx, Path(id): Path<String>, body: Bytes) -> Answer {
    let id = path_id(&id)?;
    let user = ctx.require_user()?;
    let body = json_body(&body)?;
    let mut state = ctx.state();
    if state.project(id).is_none() {
        return Err(respond::not_found(""));
    }
    if !admin_of(&state, id, user) {
        return Err(respond::forbidden());
    }
    if let Some(name) = body.get("name")
        && name.as_str().is_none_or(|n| n.trim().is_empty())
    {
        return Err(respond::field_errors(json!({"name": ["This field cannot be blank."]})));
    }
    let stamp = crate::model::now();
    if let Some(project) = state.projects.iter_mut().find(|p| p.id == id) {
        if let Some(name) = body["name"].as_str() {
            project.name = name.trim().to_owned();
        }
        if let Some(description) = body["description"].as_str() {
            project.description = description.to_owned();
        }
        if let Some(private) = body["is_private"].as_bool() {
            project.is_private = private;
        }
        project.modified_date = stamp;
    }
    let project = state.project(id).ok_or_else(|| respond::not_found(""))?;
    Ok(respond::ok(detail_body(&state, project, Some(user))))
}

/// `DELETE /projects/{id}`: 204 for an admin; its items and memberships go with it.
pub async fn delete(ctx: Ctx, Path(id): Path<String>) -> Answer {
    let id = path_id(&id)?;
    let user = ctx.require_user()?;
    let mut state = ctx.state();
    if state.project(id).is_none() {
        return Err(respond::not_found(""));
    }
    if !admin_of(&state, id, user) {
        return Err(respond::forbidden());
    }
    state.projects.retain(|p| p.id != id);
    state.memberships.retain(|m| m.project != id);
    state.items.retain(|_, item| item.project != id);
    Ok(respond::no_content())
}
