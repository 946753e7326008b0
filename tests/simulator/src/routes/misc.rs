//! Smaller endpoints: project templates, users, wiki links and issue filter counts.

use axum::body::Bytes;
use axum::extract::Path;
use axum::response::Response;
use serde_json::{Value, json};

use crate::context::Ctx;
use crate::items::render;
use crate::model::ItemKind;
use crate::model::now;
use crate::request::{json_body, path_id};
use crate::respond;
use crate::routes::auth::user_body;

use crate::respond::Answer;

/// `GET /project-templates`: the scrum and kanban templates with their values.
pub async fn templates(ctx: Ctx) -> Response {
    let templates: Vec<Value> = [(1, "Scrum", "scrum", true), (2, "Kanban", "kanban", false)]
        .into_iter()
        .map(|(id, name, slug, backlog)| {
            let lookups = crate::template::apply(|_| 0, 0, id);
            let strip = |items: &[Value]| -> Value {
                items
                    .iter()
                    .map(|item| {
                        let mut item = item.clone();
                        if let Some(object) = item.as_object_mut() {
                            object.remove("id");
                            object.remove("project_id");
                        }
                        item
                    })
                    .collect()
            };
            json!({
                "id": id, "name": name, "slug": slug,
                "description": format!("The {name} template."),
                "order": id, "created_date": "2014-04-22T14:48:43.596Z", "modified_date": "2016-08-24T16:26:40.845Z",
                "default_owner_role": "product-owner", "is_contact_activated": true, "is_epics_activated": false,
                "is_backlog_activated": backlog, "is_kanban_activated": !backlog, "is_wiki_activated": backlog,
                "is_issues_activated": backlog, "videoconferences": null, "videoconferences_extra_data": "",
                "default_options": {
                    "points": "?", "priority": "Normal", "severity": "Normal", "us_status": "New", "issue_type": "Bug",
                    "epic_status": "New", "task_status": "New", "issue_status": "New"
                },
                "us_statuses": strip(&lookups.us_statuses),
                // Templates store point values as floats (`0.0`); projects answer integers where they can.
                "points": strip(&lookups.points)
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|point| {
                        let mut point = point.clone();
                        if let Some(value) = point["value"].as_f64() {
                            point["value"] = json!(value);
                        }
                        point
                    })
                    .collect::<Vec<_>>(),
                "task_statuses": strip(&lookups.task_statuses),
                "issue_statuses": strip(&lookups.issue_statuses),
                "issue_types": strip(&lookups.issue_types),
                "priorities": strip(&lookups.priorities),
                "severities": strip(&lookups.severities),
                "roles": strip(&lookups.roles),
                "epic_statuses": strip(&lookups.epic_statuses),
            })
        })
        .collect();
    ctx.paginate(templates)
}

/// `GET /users[?project=]`: every active user, as Taiga answers a superuser.
pub async fn users(ctx: Ctx) -> Answer {
    ctx.require_user()?;
    let users: Vec<Value> = {
        let state = ctx.state();
        let mut users = state.users.clone();
        users.sort_by(|a, b| a.full_name.cmp(&b.full_name));
        users.iter().map(|user| user_listed(&state, user)).collect()
    };
    Ok(ctx.paginate(users))
}

/// A user as `/users` lists them: the public fields only.
fn user_listed(state: &crate::state::State, user: &crate::model::User) -> Value {
    let mut body = user_body(state, user);
    if let Some(object) = body.as_object_mut() {
        for private in [
            "email",
            "uuid",
            "date_joined",
            "read_new_terms",
            "accepted_terms",
            "max_private_projects",
            "max_public_projects",
            "max_memberships_private_projects",
            "max_memberships_public_projects",
            "verified_email",
            "total_private_projects",
            "total_public_projects",
        ] {
            object.remove(private);
        }
    }
    body
}

/// `GET /users/{id}`.
pub async fn user(ctx: Ctx, Path(id): Path<String>) -> Answer {
    let id = path_id(&id)?;
    let state = ctx.state();
    let user = state.user(id).ok_or_else(|| respond::no_match("User"))?;
    Ok(respond::ok(user_body(&state, user)))
}

/// `GET /wiki-links?project=`.
pub async fn wiki_links(ctx: Ctx) -> Response {
    let project = ctx.param("project").and_then(|p| p.parse::<i64>().ok());
    let links: Vec<Value> = ctx
        .state()
        .wiki_links
        .iter()
        .filter(|link| project.is_none_or(|p| link["project"] == p))
        .cloned()
        .collect();
    ctx.paginate(links)
}

/// `POST /wiki-links {"project", "title", "href"}`: 201.
pub async fn create_wiki_link(ctx: Ctx, body: Bytes) -> Answer {
    let user = ctx.require_user()?;
    let body = json_body(&body)?;
    let mut state = ctx.state();
    let Some(project) = body["project"].as_i64().filter(|p| state.project(*p).is_some()) else {
        return Err(respond::required("project"));
    };
    if !state.can_edit(project, user) {
        return Err(respond::forbidden());
    }
    let id = state.next_id("wiki_link");
    let order = now().len() as i64 + id * 1000;
    let link = json!({"id": id, "project": project, "title": body["title"], "href": body["href"], "order": order});
    state.wiki_links.push(link.clone());
    Ok(respond::created(link))
}

/// `GET /issues/filters_data?project=`: counts per type, status, priority, severity, assignee, owner, tags.
pub async fn issue_filters(ctx: Ctx) -> Response {
    let Some(project_id) = ctx.param("project").and_then(|p| p.parse::<i64>().ok()) else {
        return respond::required("project");
    };
    let state = ctx.state();
    let Some(project) = state.project(project_id) else {
        return respond::ok(json!({}));
    };
    let issues: Vec<Value> = state
        .items_of(ItemKind::Issue)
        .filter(|issue| issue.project == project_id)
        .map(|issue| render(&state, issue, false))
        .collect();
    let counted = |values: &[Value], field: &str| -> Value {
        Value::Array(
            values
                .iter()
                .map(|value| {
                    let count = issues.iter().filter(|issue| issue[field] == value["id"]).count();
                    json!({"id": value["id"], "name": value["name"], "color": value["color"], "order": value["order"], "count": count})
                })
                .collect(),
        )
    };
    let lookups = &project.lookups;
    let people = |field: &str| -> Value {
        let mut ids: Vec<Value> = issues.iter().map(|issue| issue[field].clone()).collect();
        ids.dedup();
        Value::Array(
            ids.iter()
                .map(|id| {
                    let count = issues.iter().filter(|issue| issue[field] == *id).count();
                    let user = id.as_i64().and_then(|id| state.user(id));
                    json!({"id": id, "full_name": user.map(|u| u.full_name.clone()), "count": count})
                })
                .collect(),
        )
    };
    respond::ok(json!({
        "types": counted(&lookups.issue_types, "type"),
        "statuses": counted(&lookups.issue_statuses, "status"),
        "priorities": counted(&lookups.priorities, "priority"),
        "severities": counted(&lookups.severities, "severity"),
        "assigned_to": people("assigned_to"),
        "owners": people("owner"),
        "tags": [],
        "roles": lookups.roles.iter().map(|role| json!({"id": role["id"], "name": role["name"], "color": null, "order": role["order"], "count": 0})).collect::<Vec<_>>(),
    }))
}
