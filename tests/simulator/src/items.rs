//! The project items: user stories, tasks, issues, epics, milestones and wiki pages. One generic
//! store and rule set (validation, OCC with per-field history, refs, comments) over a per-kind
//! description, rendered into Taiga's list and detail bodies.

use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::model::{HistoryEntry, Item, ItemKind, Lookup, now, slugify};
use crate::respond;
use crate::state::State;

/// A validation or permission failure, as the route should answer it.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// 400 with this body.
    BadRequest(Value),
    /// 403.
    Forbidden,
    /// 403 for a sprint or a status, priority, severity or type of another project than the item's:
    /// taiga-back's `pre_conditions_on_save` ("You don't have permissions to set this status to this
    /// user story."; read in its user story and issue views; the task and epic wording is a GUESS by
    /// that pattern).
    ForeignChoice {
        /// `sprint`, `status`, `priority`, `severity` or `type`.
        choice: &'static str,
        /// The item's noun: `user story`, `task`, `issue`, `epic`.
        item: &'static str,
    },
}

impl IntoResponse for Refusal {
    /// Taiga's answer to the refusal.
    fn into_response(self) -> Response {
        match self {
            Refusal::BadRequest(body) => respond::field_errors(body),
            Refusal::Forbidden => respond::forbidden(),
            Refusal::ForeignChoice { choice, item } => respond::api_error(
                axum::http::StatusCode::FORBIDDEN,
                &format!("You don't have permissions to set this {choice} to this {item}."),
                "PermissionDenied",
            ),
        }
    }
}

fn field_error(field: &str, message: &str) -> Refusal {
    Refusal::BadRequest(json!({field: [message]}))
}

fn lookup_items(state: &State, project: i64, lookup: Lookup) -> Vec<Value> {
    let Some(project) = state.project(project) else {
        return Vec::new();
    };
    let lookups = &project.lookups;
    match lookup {
        Lookup::UsStatus => lookups.us_statuses.clone(),
        Lookup::TaskStatus => lookups.task_statuses.clone(),
        Lookup::IssueStatus => lookups.issue_statuses.clone(),
        Lookup::EpicStatus => lookups.epic_statuses.clone(),
        Lookup::Priority => lookups.priorities.clone(),
        Lookup::Severity => lookups.severities.clone(),
        Lookup::IssueType => lookups.issue_types.clone(),
    }
}

/// The word taiga-back's refusal uses for a lookup of another project, and for the item.
fn foreign(kind: ItemKind, lookup: Option<Lookup>) -> Refusal {
    let item = match kind {
        ItemKind::UserStory => "user story",
        ItemKind::Task => "task",
        ItemKind::Issue => "issue",
        ItemKind::Epic => "epic",
        ItemKind::Milestone | ItemKind::Wiki => return Refusal::Forbidden,
    };
    let choice = match lookup {
        None => "sprint",
        Some(Lookup::UsStatus | Lookup::TaskStatus | Lookup::IssueStatus | Lookup::EpicStatus) => "status",
        Some(Lookup::Priority) => "priority",
        Some(Lookup::Severity) => "severity",
        Some(Lookup::IssueType) => "type",
    };
    Refusal::ForeignChoice { choice, item }
}

fn default_for(state: &State, project: i64, lookup: Lookup) -> Value {
    let Some(project) = state.project(project) else {
        return Value::Null;
    };
    let key = match lookup {
        Lookup::UsStatus => "default_us_status",
        Lookup::TaskStatus => "default_task_status",
        Lookup::IssueStatus => "default_issue_status",
        Lookup::EpicStatus => "default_epic_status",
        Lookup::Priority => "default_priority",
        Lookup::Severity => "default_severity",
        Lookup::IssueType => "default_issue_type",
    };
    project.lookups.defaults()[key].clone()
}

fn normalise_tags(value: &Value) -> Result<Value, Refusal> {
    let Some(tags) = value.as_array() else {
        return Err(field_error("tags", "Invalid tag list."));
    };
    let mut out = Vec::new();
    for tag in tags {
        let pair = match tag {
            Value::String(name) => json!([name.to_lowercase(), null]),
            Value::Array(parts) if !parts.is_empty() && parts[0].is_string() => {
                json!([
                    parts[0].as_str().unwrap_or_default().to_lowercase(),
                    parts.get(1).cloned().unwrap_or(Value::Null)
                ])
            }
            other => {
                return Err(field_error(
                    "tags",
                    &format!(
                        "Invalid tag '{other}'. it must be the name or a pair '[\"name\", \"hex color/\" | null]'."
                    ),
                ));
            }
        };
        if !out.contains(&pair) {
            out.push(pair);
        }
    }
    Ok(Value::Array(out))
}

/// Checks and normalises the writable fields of a create or update body.
fn check_fields(
    state: &State,
    kind: ItemKind,
    project: i64,
    body: &Map<String, Value>,
) -> Result<Map<String, Value>, Refusal> {
    let mut out = Map::new();
    for (field, value) in body {
        if !kind.writable().contains(&field.as_str()) {
            continue;
        }
        let value = match field.as_str() {
            "subject" | "name" | "slug" => {
                let text = value.as_str().unwrap_or_default().trim();
                if text.is_empty() {
                    let message = if value.is_null() || field == "subject" {
                        "This field is required."
                    } else {
                        "This field cannot be blank."
                    };
                    return Err(field_error(field, message));
                }
                Value::from(text)
            }
            "tags" => normalise_tags(value)?,
            "assigned_to" if !value.is_null() => {
                let user = value.as_i64().ok_or_else(|| field_error(field, "Incorrect type."))?;
                if state.membership(project, user).is_none() {
                    return Err(field_error(field, "The user must be a project member."));
                }
                value.clone()
            }
            "assigned_users" => {
                let users = value.as_array().cloned().unwrap_or_default();
                for user in &users {
                    if user
                        .as_i64()
                        .is_none_or(|user| state.membership(project, user).is_none())
                    {
                        return Err(field_error(field, "The user must be a project member."));
                    }
                }
                Value::Array(users)
            }
            "milestone" if !value.is_null() => {
                let id = value.as_i64().ok_or_else(|| field_error(field, "Incorrect type."))?;
                match state.item(ItemKind::Milestone, id) {
                    Some(milestone) if milestone.project == project => value.clone(),
                    Some(_) => return Err(foreign(kind, None)),
                    None => {
                        return Err(field_error(
                            field,
                            &format!("Invalid pk '{id}' - object does not exist."),
                        ));
                    }
                }
            }
            "user_story" if !value.is_null() => {
                let id = value.as_i64().ok_or_else(|| field_error(field, "Incorrect type."))?;
                match state.item(ItemKind::UserStory, id) {
                    Some(story) if story.project == project => value.clone(),
                    Some(_) => return Err(Refusal::Forbidden),
                    None => {
                        return Err(field_error(
                            field,
                            &format!("Invalid pk '{id}' - object does not exist."),
                        ));
                    }
                }
            }
            "due_date" if !value.is_null() => {
                if !value.as_str().is_some_and(is_date) {
                    return Err(field_error(
                        field,
                        "Date has wrong format. Use one of these formats instead: YYYY[-MM[-DD]]",
                    ));
                }
                value.clone()
            }
            "is_blocked" => Value::from(
                value
                    .as_bool()
                    .ok_or_else(|| field_error(field, "Must be a valid boolean."))?,
            ),
            "estimated_start" | "estimated_finish" => {
                let text = value.as_str().unwrap_or_default();
                if !is_date(text) {
                    return Err(field_error(
                        field,
                        "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.",
                    ));
                }
                value.clone()
            }
            _ => value.clone(),
        };
        if let Some((_, lookup)) = kind.lookups().iter().find(|(name, _)| name == field)
            && !value.is_null()
        {
            let id = value.as_i64().unwrap_or(-1);
            let known = |project: i64| {
                lookup_items(state, project, *lookup)
                    .iter()
                    .any(|item| item["id"] == id)
            };
            if !known(project) && state.projects.iter().any(|other| known(other.id)) {
                return Err(foreign(kind, Some(*lookup)));
            }
            if !known(project) {
                return Err(field_error(
                    field,
                    &format!("Invalid pk '{}' - object does not exist.", value),
                ));
            }
        }
        out.insert(field.clone(), value);
    }
    Ok(out)
}

fn is_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit())
}

/// taiga-back's `DueDateSerializerMixin.get_due_date_status`: "due soon" within 14 days.
fn due_date_status(due_date: &Value, is_closed: bool) -> &'static str {
    let Some(due) = due_date.as_str() else {
        return "not_set";
    };
    let today = &now()[..10];
    if is_closed {
        "no_longer_applicable"
    } else if due < today {
        "past_due"
    } else if days_between(today, due) <= 14 {
        "due_soon"
    } else {
        "set"
    }
}

/// Days from one `YYYY-MM-DD` date to a later one.
fn days_between(from: &str, to: &str) -> i64 {
    let day = |date: &str| {
        let part = |range: std::ops::Range<usize>| date.get(range).and_then(|p| p.parse::<i64>().ok()).unwrap_or(0);
        taiga_tools::time::days_from_civil(part(0..4), part(5..7) as u32, part(8..10) as u32)
    };
    day(to) - day(from)
}

fn order_stamp() -> Value {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros() as i64;
    Value::from(nanos)
}

impl State {
    /// An item by kind and id.
    pub fn item(&self, kind: ItemKind, id: i64) -> Option<&Item> {
        self.items.get(&(kind, id))
    }

    /// Items of a kind, in id order.
    pub fn items_of(&self, kind: ItemKind) -> impl Iterator<Item = &Item> {
        self.items.values().filter(move |item| item.kind == kind)
    }

    /// Whether `user` may change things in `project` (a member).
    pub fn can_edit(&self, project: i64, user: i64) -> bool {
        self.membership(project, user).is_some()
    }

    /// Creates an item from a POST body, with Taiga's checks and defaults.
    pub fn create_item(&mut self, kind: ItemKind, user: i64, body: &Map<String, Value>) -> Result<i64, Refusal> {
        // The validator reports every missing field at once: an empty body (one sent chunked,
        // which Taiga reads as empty) names the project and the subject (recording 179).
        let missing: Vec<&str> = ["project"]
            .iter()
            .chain(kind.required())
            .copied()
            .filter(|field| body.get(*field).is_none_or(Value::is_null))
            .collect();
        if !missing.is_empty() {
            let errors: Map<String, Value> = missing
                .iter()
                .map(|field| (field.to_string(), json!(["This field is required."])))
                .collect();
            return Err(Refusal::BadRequest(Value::Object(errors)));
        }
        let Some(project) = body.get("project").and_then(Value::as_i64) else {
            return Err(field_error("project", "Incorrect type."));
        };
        let Some(found) = self.project(project) else {
            return Err(field_error(
                "project",
                &format!("Invalid pk '{project}' - object does not exist."),
            ));
        };
        if !self.can_edit(found.id, user) {
            return Err(Refusal::Forbidden);
        }
        let mut fields = check_fields(self, kind, project, body)?;
        self.check_unique(kind, project, &fields, None)?;
        for (field, lookup) in kind.lookups() {
            if fields.get(*field).is_none_or(Value::is_null) {
                fields.insert((*field).to_owned(), default_for(self, project, *lookup));
            }
        }
        if kind == ItemKind::Task
            && let Some(story) = fields.get("user_story").and_then(Value::as_i64)
        {
            let milestone = self
                .item(ItemKind::UserStory, story)
                .map(|s| s.get("milestone").clone());
            fields.insert("milestone".into(), milestone.unwrap_or(Value::Null));
        }
        let created = now();
        let id = self.next_id(kind.path());
        fields.insert("created_date".into(), created.clone().into());
        fields.insert("modified_date".into(), created.into());
        fields.insert("owner".into(), user.into());
        if kind.versioned() {
            fields.insert("version".into(), 1.into());
        }
        if kind.has_ref() {
            let next = self.refs.entry(project).or_insert(0);
            *next += 1;
            fields.insert("ref".into(), (*next).into());
        }
        match kind {
            ItemKind::UserStory => {
                let points = self.default_points(project);
                fields.entry("points").or_insert(points);
                for order in ["backlog_order", "sprint_order", "kanban_order"] {
                    fields.entry(order).or_insert_with(order_stamp);
                }
            }
            ItemKind::Task => {
                fields.entry("us_order").or_insert_with(order_stamp);
                fields.entry("taskboard_order").or_insert_with(order_stamp);
            }
            ItemKind::Epic => {
                fields.entry("color").or_insert_with(|| "#A5694F".into());
                fields.entry("epics_order").or_insert_with(order_stamp);
            }
            ItemKind::Milestone => {
                let base = slugify(fields["name"].as_str().unwrap_or_default());
                let mut slug = base.clone();
                let mut suffix = 0;
                while self
                    .items_of(ItemKind::Milestone)
                    .any(|m| m.get("slug") == slug.as_str())
                {
                    suffix += 1;
                    slug = format!("{base}-{suffix}");
                }
                fields.insert("slug".into(), slug.into());
                fields.entry("closed").or_insert(false.into());
                fields.entry("disponibility").or_insert(json!(0.0));
                let order = self
                    .items_of(ItemKind::Milestone)
                    .filter(|m| m.project == project)
                    .count()
                    + 1;
                fields.entry("order").or_insert(order.into());
            }
            ItemKind::Wiki => {
                fields.entry("content").or_insert_with(|| "".into());
                fields.insert("last_modifier".into(), user.into());
                fields.insert("editions".into(), 1.into());
            }
            ItemKind::Issue => {}
        }
        self.items.insert(
            (kind, id),
            Item {
                kind,
                id,
                project,
                fields,
                history: Vec::new(),
            },
        );
        Ok(id)
    }

    fn default_points(&self, project: i64) -> Value {
        let Some(project) = self.project(project) else {
            return json!({});
        };
        let default = project.lookups.defaults()["default_points"].clone();
        let points: Map<String, Value> = project
            .lookups
            .roles
            .iter()
            .filter(|role| role["computable"] == true)
            .map(|role| (role["id"].to_string(), default.clone()))
            .collect();
        Value::Object(points)
    }

    fn check_unique(
        &self,
        kind: ItemKind,
        project: i64,
        fields: &Map<String, Value>,
        except: Option<i64>,
    ) -> Result<(), Refusal> {
        let clash = |field: &str| {
            fields.get(field).is_some_and(|value| {
                self.items_of(kind)
                    .any(|other| other.project == project && Some(other.id) != except && other.get(field) == value)
            })
        };
        match kind {
            ItemKind::Milestone if clash("name") => Err(field_error("name", "Duplicated name")),
            ItemKind::Milestone => {
                let start = fields.get("estimated_start").and_then(Value::as_str);
                let finish = fields.get("estimated_finish").and_then(Value::as_str);
                match (start, finish) {
                    (Some(start), Some(finish)) if start > finish => Err(Refusal::BadRequest(json!({
                        "__all__": ["The estimated start must be previous to the estimated finish."]
                    }))),
                    _ => Ok(()),
                }
            }
            ItemKind::Wiki if clash("slug") => Err(Refusal::BadRequest(json!({
                "__all__": ["Wiki page with this Project and Slug already exists."]
            }))),
            _ => Ok(()),
        }
    }

    /// Applies a PATCH body with Taiga's OCC rules; returns the Taiga-style refusal on failure.
    pub fn update_item(
        &mut self,
        kind: ItemKind,
        id: i64,
        user: i64,
        body: &Map<String, Value>,
    ) -> Result<(), Refusal> {
        let Some(item) = self.item(kind, id).cloned() else {
            return Err(Refusal::Forbidden);
        };
        if !self.can_edit(item.project, user) {
            return Err(Refusal::Forbidden);
        }
        if kind.versioned() {
            check_version(&item, body)?;
        }
        let mut changes = check_fields(self, kind, item.project, body)?;
        if kind == ItemKind::Milestone || kind == ItemKind::Wiki {
            let mut merged = item.fields.clone();
            merged.extend(changes.clone());
            self.check_unique(kind, item.project, &merged, Some(id))?;
        }
        if kind == ItemKind::UserStory
            && changes.contains_key("assigned_to")
            && !changes.contains_key("assigned_users")
            && let Some(assignee) = changes["assigned_to"].as_i64()
        {
            // The serialised list is the union with assigned_to; keep the stored list consistent with it.
            let mut users: Vec<Value> = item.get("assigned_users").as_array().cloned().unwrap_or_default();
            if let Some(previous) = item.get("assigned_to").as_i64() {
                users.retain(|u| u.as_i64() != Some(previous));
            }
            if !users.contains(&Value::from(assignee)) {
                users.push(assignee.into());
            }
            changes.insert("assigned_users".into(), Value::Array(users));
        }
        let comment = body
            .get("comment")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let mut diff = Map::new();
        for (field, value) in changes.iter().filter(|(field, value)| item.get(field) != *value) {
            diff.insert(field.clone(), json!([item.get(field), value]));
            if matches!(field.as_str(), "description" | "content" | "blocked_note") {
                let html = |v: &Value| markdown(v.as_str().unwrap_or_default());
                diff.insert(format!("{field}_html"), json!([html(item.get(field)), html(value)]));
            }
        }
        if !comment.is_empty() {
            // Commenting makes the author a watcher, as Taiga does.
            let mut watchers = item.get("watchers").as_array().cloned().unwrap_or_default();
            if !watchers.contains(&Value::from(user)) {
                watchers.push(user.into());
            }
            changes.insert("watchers".into(), Value::Array(watchers));
        }
        let Some(stored) = self.items.get_mut(&(kind, id)) else {
            return Err(Refusal::Forbidden);
        };
        stored.fields.extend(changes);
        stored.fields.insert("modified_date".into(), now().into());
        if kind.versioned() {
            let version = stored.version() + 1;
            stored.fields.insert("version".into(), version.into());
        }
        if kind == ItemKind::Wiki {
            stored.fields.insert("last_modifier".into(), user.into());
            let editions = stored.get("editions").as_i64().unwrap_or(1) + 1;
            stored.fields.insert("editions".into(), editions.into());
        }
        self.record(kind, id, user, diff, comment);
        Ok(())
    }

    /// Adds a history entry to an item, unless nothing changed and nothing was said.
    pub fn record(&mut self, kind: ItemKind, id: i64, user: i64, diff: Map<String, Value>, comment: String) {
        let Some(stored) = self.items.get_mut(&(kind, id)) else {
            return;
        };
        if !diff.is_empty() || !comment.is_empty() {
            let sequence = stored.history.len() + 1;
            stored.history.push(HistoryEntry {
                id: format!("{:08x}-e8de-11f1-b7e5-{:012x}", id, sequence),
                user,
                created_at: now(),
                diff,
                comment,
            });
        }
    }

    /// Deletes an item (no OCC, as in Taiga); milestone deletion detaches its items.
    pub fn delete_item(&mut self, kind: ItemKind, id: i64) -> Option<Item> {
        let removed = self.items.remove(&(kind, id))?;
        if kind == ItemKind::Milestone {
            for item in self.items.values_mut() {
                if item.get("milestone") == id {
                    item.fields.insert("milestone".into(), Value::Null);
                }
            }
        }
        if kind == ItemKind::Epic || kind == ItemKind::UserStory {
            self.epic_links.retain(|link| {
                (kind == ItemKind::Epic && link.epic != id) || (kind == ItemKind::UserStory && link.user_story != id)
            });
        }
        Some(removed)
    }
}

/// Taiga's OCC check (SPEC §5): version required, not above the current one, and per-field stale check.
fn check_version(item: &Item, body: &Map<String, Value>) -> Result<(), Refusal> {
    let given = match body.get("version") {
        None | Some(Value::Null) => None,
        Some(Value::Number(number)) => number.as_i64(),
        Some(Value::String(text)) => match text.trim().parse::<i64>() {
            Ok(number) => Some(number),
            Err(_) => return Err(field_error("version", "Enter a whole number.")),
        },
        Some(_) => return Err(field_error("version", "Enter a whole number.")),
    };
    let current = item.version();
    let Some(given) = given.filter(|given| (0..=current).contains(given)) else {
        return Err(Refusal::BadRequest(
            json!({"version": "The version parameter is not valid"}),
        ));
    };
    if given == current {
        return Ok(());
    }
    let since = usize::try_from(current - given).unwrap_or(usize::MAX);
    let changed: Vec<&String> = item
        .history
        .iter()
        .rev()
        .take(since)
        .flat_map(|entry| entry.diff.keys())
        .collect();
    if body.keys().any(|field| field != "version" && changed.contains(&field)) {
        return Err(Refusal::BadRequest(
            json!({"version": "The version doesn't match with the current one"}),
        ));
    }
    Ok(())
}

/// A story's tasks as a list with `include_tasks` shows them (taiga-back `attach_tasks`: id, ref,
/// subject, status_id, is_blocked, is_iocaine and the status's is_closed; SQL gives no order, the
/// simulator keeps creation order).
pub fn story_tasks(state: &State, story: &Item) -> Value {
    let tasks: Vec<Value> = state
        .items_of(ItemKind::Task)
        .filter(|task| task.get("user_story").as_i64() == Some(story.id))
        .map(|task| {
            let rendered = render(state, task, false);
            json!({
                "id": task.id,
                "ref": task.get("ref"),
                "subject": task.get("subject"),
                "status_id": task.get("status"),
                "is_blocked": rendered["is_blocked"],
                "is_iocaine": rendered["is_iocaine"],
                "is_closed": rendered["is_closed"],
            })
        })
        .collect();
    Value::Array(tasks)
}

/// Renders an item as Taiga does; `detail` adds the description fields the list leaves out.
pub fn render(state: &State, item: &Item, detail: bool) -> Value {
    let mut body = Map::new();
    let project = state.project(item.project);
    let project_extra = project.map(|p| json!({"name": p.name, "slug": p.slug, "logo_small_url": null, "id": p.id}));
    let user_extra = |field: &str| {
        item.get(field)
            .as_i64()
            .map_or(Value::Null, |user| state.user_summary(user))
    };
    body.insert("project".into(), item.project.into());
    body.insert("project_extra_info".into(), project_extra.unwrap_or(Value::Null));
    body.insert("id".into(), item.id.into());
    match item.kind {
        ItemKind::Milestone => render_milestone(state, item, &mut body),
        ItemKind::Wiki => {
            body.insert("is_watcher".into(), false.into());
            body.insert("total_watchers".into(), 0.into());
            for field in [
                "slug",
                "content",
                "owner",
                "last_modifier",
                "created_date",
                "modified_date",
                "editions",
                "version",
            ] {
                body.insert(field.into(), item.get(field).clone());
            }
            body.insert(
                "html".into(),
                markdown(item.get("content").as_str().unwrap_or_default()).into(),
            );
        }
        _ => {
            let status_lookup = item.kind.lookups()[0].1;
            let status = lookup_items(state, item.project, status_lookup)
                .into_iter()
                .find(|s| s["id"] == *item.get("status"));
            let is_closed = status.as_ref().is_some_and(|s| s["is_closed"] == true);
            body.insert("status".into(), item.get("status").clone());
            body.insert(
                "status_extra_info".into(),
                status.map_or(
                    Value::Null,
                    |s| json!({"name": s["name"], "color": s["color"], "is_closed": s["is_closed"]}),
                ),
            );
            body.insert("assigned_to".into(), item.get("assigned_to").clone());
            body.insert("assigned_to_extra_info".into(), user_extra("assigned_to"));
            body.insert("owner".into(), item.get("owner").clone());
            body.insert("owner_extra_info".into(), user_extra("owner"));
            for (field, default) in [
                ("tags", json!([])),
                ("watchers", json!([])),
                ("is_blocked", json!(false)),
                ("blocked_note", json!("")),
                ("due_date", Value::Null),
                ("due_date_reason", json!("")),
            ] {
                body.insert(field.into(), item.fields.get(field).cloned().unwrap_or(default));
            }
            body.insert(
                "due_date_status".into(),
                due_date_status(item.get("due_date"), is_closed).into(),
            );
            body.insert("attachments".into(), json!([]));
            body.insert(
                "total_comments".into(),
                item.history.iter().filter(|e| !e.comment.is_empty()).count().into(),
            );
            // Who asks is not known here: `is_watcher` and `is_voter` stay false (a guess for watchers).
            for field in ["is_watcher", "is_voter"] {
                body.insert(field.into(), false.into());
            }
            for (total, list) in [("total_watchers", "watchers"), ("total_voters", "voters")] {
                body.insert(total.into(), item.get(list).as_array().map_or(0, Vec::len).into());
            }
            for field in ["ref", "version", "created_date", "modified_date", "subject"] {
                body.insert(field.into(), item.get(field).clone());
            }
            body.insert("is_closed".into(), is_closed.into());
            body.insert("external_reference".into(), Value::Null);
            render_specific(state, item, &mut body);
            // Fields Taiga's serializers leave out for some kinds (seen in the recordings).
            let absent: &[&str] = match item.kind {
                ItemKind::Issue => &["total_comments"],
                ItemKind::Epic => &[
                    "due_date",
                    "due_date_reason",
                    "due_date_status",
                    "total_comments",
                    "external_reference",
                ],
                _ => &[],
            };
            for field in absent {
                body.remove(*field);
            }
            if detail || item.kind == ItemKind::UserStory {
                body.insert("comment".into(), "".into());
            }
            if detail {
                let description = item.get("description").as_str().unwrap_or_default().to_owned();
                let note = item.get("blocked_note").as_str().unwrap_or_default();
                body.insert("blocked_note_html".into(), markdown(note).into());
                body.insert("description_html".into(), markdown(&description).into());
                body.insert("description".into(), description.into());
                if matches!(item.kind, ItemKind::Task | ItemKind::Issue) {
                    body.insert("generated_user_stories".into(), Value::Null);
                }
            }
        }
    }
    Value::Object(body)
}

fn render_specific(state: &State, item: &Item, body: &mut Map<String, Value>) {
    let milestone = item
        .get("milestone")
        .as_i64()
        .and_then(|id| state.item(ItemKind::Milestone, id));
    match item.kind {
        ItemKind::UserStory => {
            let assigned_to = item.get("assigned_to").clone();
            let mut users: Vec<Value> = item.get("assigned_users").as_array().cloned().unwrap_or_default();
            if !assigned_to.is_null() && !users.contains(&assigned_to) {
                users.push(assigned_to);
            }
            body.insert("assigned_users".into(), Value::Array(users));
            body.insert("milestone".into(), item.get("milestone").clone());
            body.insert(
                "milestone_slug".into(),
                milestone.map_or(Value::Null, |m| m.get("slug").clone()),
            );
            body.insert(
                "milestone_name".into(),
                milestone.map_or(Value::Null, |m| m.get("name").clone()),
            );
            for field in [
                "points",
                "backlog_order",
                "sprint_order",
                "kanban_order",
                "client_requirement",
                "team_requirement",
            ] {
                body.insert(field.into(), item.fields.get(field).cloned().unwrap_or(json!(false)));
            }
            body.insert("total_points".into(), total_points(state, item));
            let epics: Vec<Value> = state
                .epic_links
                .iter()
                .filter(|link| link.user_story == item.id)
                .filter_map(|link| state.item(ItemKind::Epic, link.epic))
                .map(|epic| {
                    let project = state.project(epic.project);
                    json!({
                        "id": epic.id, "ref": epic.get("ref"), "subject": epic.get("subject"), "color": epic.get("color"),
                        "project": {"id": epic.project, "name": project.map(|p| p.name.clone()), "slug": project.map(|p| p.slug.clone())}
                    })
                })
                .collect();
            body.insert(
                "epics".into(),
                if epics.is_empty() {
                    Value::Null
                } else {
                    Value::Array(epics)
                },
            );
            for field in [
                "finish_date",
                "generated_from_issue",
                "generated_from_task",
                "from_task_ref",
                "tribe_gig",
                "origin_issue",
                "origin_task",
                "epic_order",
                "swimlane",
            ] {
                body.insert(field.into(), Value::Null);
            }
            body.insert("tasks".into(), json!([]));
            body.insert("total_attachments".into(), 0.into());
        }
        ItemKind::Task => {
            body.insert("user_story".into(), item.get("user_story").clone());
            let story = item
                .get("user_story")
                .as_i64()
                .and_then(|id| state.item(ItemKind::UserStory, id));
            body.insert(
                "user_story_extra_info".into(),
                story.map_or(
                    Value::Null,
                    |s| json!({"id": s.id, "ref": s.get("ref"), "subject": s.get("subject"), "epics": null}),
                ),
            );
            body.insert("milestone".into(), item.get("milestone").clone());
            body.insert(
                "milestone_slug".into(),
                milestone.map_or(Value::Null, |m| m.get("slug").clone()),
            );
            for field in ["us_order", "taskboard_order"] {
                body.insert(field.into(), item.get(field).clone());
            }
            body.insert(
                "is_iocaine".into(),
                item.fields.get("is_iocaine").cloned().unwrap_or(json!(false)),
            );
            body.insert("finished_date".into(), Value::Null);
        }
        ItemKind::Issue => {
            for field in ["severity", "priority", "type", "milestone"] {
                body.insert(field.into(), item.get(field).clone());
            }
            body.insert("finished_date".into(), Value::Null);
        }
        ItemKind::Epic => {
            for field in ["color", "epics_order"] {
                body.insert(field.into(), item.get(field).clone());
            }
            for field in ["client_requirement", "team_requirement"] {
                body.insert(field.into(), item.fields.get(field).cloned().unwrap_or(json!(false)));
            }
            let total = state.epic_links.iter().filter(|link| link.epic == item.id).count();
            body.insert("user_stories_counts".into(), json!({"total": total, "progress": null}));
        }
        ItemKind::Milestone | ItemKind::Wiki => {}
    }
}

fn points_value(state: &State, project: i64, points_id: &Value) -> Option<f64> {
    state
        .project(project)?
        .lookups
        .points
        .iter()
        .find(|p| p["id"] == *points_id)
        .and_then(|p| p["value"].as_f64())
}

/// A story's points per role id, as numbers (roles estimated `?` have none).
pub fn points_per_role(state: &State, story: &Item) -> Vec<(String, f64)> {
    story
        .get("points")
        .as_object()
        .map(|points| {
            points
                .iter()
                .filter_map(|(role, id)| Some((role.clone(), points_value(state, story.project, id)?)))
                .collect()
        })
        .unwrap_or_default()
}

fn total_points(state: &State, story: &Item) -> Value {
    let values: Vec<f64> = story
        .get("points")
        .as_object()
        .map(|points| {
            points
                .values()
                .filter_map(|id| points_value(state, story.project, id))
                .collect()
        })
        .unwrap_or_default();
    if values.is_empty() {
        Value::Null
    } else {
        json!(values.iter().sum::<f64>())
    }
}

fn render_milestone(state: &State, item: &Item, body: &mut Map<String, Value>) {
    for field in [
        "name",
        "slug",
        "owner",
        "estimated_start",
        "estimated_finish",
        "created_date",
        "modified_date",
        "closed",
        "disponibility",
        "order",
    ] {
        body.insert(field.into(), item.get(field).clone());
    }
    let stories: Vec<&Item> = state
        .items_of(ItemKind::UserStory)
        .filter(|story| story.get("milestone") == item.id)
        .collect();
    let mut total = 0.0;
    let mut closed = 0.0;
    let mut any = false;
    let nested: Vec<Value> = stories
        .iter()
        .map(|story| {
            let rendered = render(state, story, false);
            if let Some(points) = rendered["total_points"].as_f64() {
                any = true;
                total += points;
                if rendered["is_closed"] == true {
                    closed += points;
                }
            }
            let keep = [
                "id",
                "ref",
                "subject",
                "milestone",
                "project",
                "project_extra_info",
                "status",
                "status_extra_info",
                "assigned_to",
                "assigned_to_extra_info",
                "is_closed",
                "created_date",
                "modified_date",
                "total_points",
            ];
            Value::Object(keep.iter().map(|k| ((*k).to_owned(), rendered[*k].clone())).collect())
        })
        .collect();
    body.insert("user_stories".into(), Value::Array(nested));
    body.insert("total_points".into(), if any { json!(total) } else { Value::Null });
    body.insert("closed_points".into(), if any { json!(closed) } else { Value::Null });
}

/// A small Markdown rendering, enough for headings and paragraphs.
pub fn markdown(text: &str) -> String {
    text.split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let block = block.trim();
            let escaped = block.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
            match block.strip_prefix("# ") {
                Some(title) => format!("<h1 id=\"{}\">{}</h1>", slugify(title), &escaped[2..]),
                None => format!("<p>{escaped}</p>"),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Taiga's `values_diff`: sprints, statuses, priorities, severities and types by name (recordings
/// 92, 103, 213); text fields show a rendered diff instead of the raw values; attachment and
/// custom attribute changes are split into what is new, changed and deleted (recording 213).
pub fn values_diff(state: &State, item: &Item, diff: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    for (field, change) in diff {
        if let Some(names) = diff_names(state, item, field) {
            let name = |id: &Value| names.get(&id.to_string()).cloned().unwrap_or(Value::Null);
            out.insert(field.clone(), json!([name(&change[0]), name(&change[1])]));
            continue;
        }
        match field.as_str() {
            "description" | "content" | "blocked_note" => {
                let new = change[1].as_str().unwrap_or_default();
                let old = change[0].as_str().unwrap_or_default();
                let removed = if old.is_empty() {
                    String::new()
                } else {
                    format!("<del style=\"background:#ffe6e6;\">{old}</del>")
                };
                let rendered = format!("{removed}<ins style=\"background:#e6ffe6;\">{new}</ins>");
                out.insert(format!("{field}_diff"), json!([null, rendered]));
            }
            "attachments" | "custom_attributes" => {
                out.insert(field.clone(), list_diff(field, &change[0], &change[1]));
            }
            _ => {
                out.insert(field.clone(), change.clone());
            }
        }
    }
    Value::Object(out)
}

/// For a field history shows by name (the sprint, or one of the item's project lookups), the
/// names by id as Taiga freezes them in an entry's `values` (recordings 92 and 103).
fn diff_names(state: &State, item: &Item, field: &str) -> Option<Map<String, Value>> {
    if field == "milestone" {
        let sprints = state
            .items
            .values()
            .filter(|sprint| sprint.kind == ItemKind::Milestone && sprint.project == item.project);
        return Some(sprints.map(|s| (s.id.to_string(), s.get("name").clone())).collect());
    }
    let (_, lookup) = item.kind.lookups().iter().find(|(name, _)| *name == field)?;
    let entries = lookup_items(state, item.project, *lookup);
    Some(
        entries
            .iter()
            .map(|e| (e["id"].to_string(), e["name"].clone()))
            .collect(),
    )
}

fn list_diff(field: &str, old: &Value, new: &Value) -> Value {
    let (old, new) = (
        old.as_array().cloned().unwrap_or_default(),
        new.as_array().cloned().unwrap_or_default(),
    );
    let find = |list: &[Value], id: &Value| list.iter().find(|entry| entry["id"] == *id).cloned();
    let inserted = |text: &Value| {
        format!(
            "<ins style=\"background:#e6ffe6;\">{}</ins>",
            text.as_str().unwrap_or_default()
        )
    };
    let mut added = Vec::new();
    let mut changed = Vec::new();
    for entry in &new {
        match find(&old, &entry["id"]) {
            None if field == "custom_attributes" => {
                let mut entry = entry.clone();
                entry["value_diff"] = inserted(&entry["value"]).into();
                added.push(entry);
            }
            None => added.push(entry.clone()),
            Some(before) if before != *entry && field == "custom_attributes" => changed.push(json!({
                "name": entry["name"], "type": entry["type"],
                "changes": {"value": [before["value"], entry["value"]]},
                "value_diff": format!(
                    "<del style=\"background:#ffe6e6;\">{}</del>{}",
                    before["value"].as_str().unwrap_or_default(),
                    inserted(&entry["value"])
                ),
            })),
            Some(before) if before != *entry => changed.push(json!({
                "url": entry["url"], "filename": entry["filename"], "thumb_url": "",
                "changes": {"description": [before["description"], entry["description"]]},
            })),
            Some(_) => {}
        }
    }
    let deleted: Vec<Value> = old
        .iter()
        .filter(|entry| find(&new, &entry["id"]).is_none())
        .cloned()
        .collect();
    json!({"new": added, "changed": changed, "deleted": deleted})
}

/// The history entry body Taiga returns from `/history/<kind>/<id>`.
pub fn history_body(state: &State, item: &Item, entry: &HistoryEntry) -> Value {
    let user = state.user(entry.user);
    let mut values = json!({"users": {}});
    for (field, change) in &entry.diff {
        if let Some(names) = diff_names(state, item, field) {
            let used: Map<String, Value> = [&change[0], &change[1]]
                .into_iter()
                .filter(|id| !id.is_null())
                .map(|id| {
                    (
                        id.to_string(),
                        names.get(&id.to_string()).cloned().unwrap_or(Value::Null),
                    )
                })
                .collect();
            values[field] = Value::Object(used);
        }
    }
    json!({
        "id": entry.id,
        "user": {
            "pk": entry.user,
            "username": user.map(|u| u.username.clone()),
            "name": user.map(|u| u.full_name.clone()),
            "photo": null,
            "is_active": true,
            "gravatar_id": state.user_summary(entry.user)["gravatar_id"],
        },
        "created_at": entry.created_at,
        "type": 1,
        "key": format!("{}:{}", item.kind.history_key(), item.id),
        "diff": entry.diff,
        "snapshot": null,
        "values": values,
        "values_diff": values_diff(state, item, &entry.diff),
        "comment": entry.comment,
        "comment_html": if entry.comment.is_empty() { String::new() } else { markdown(&entry.comment) },
        "delete_comment_date": null,
        "delete_comment_user": null,
        "edit_comment_date": null,
        "is_hidden": false,
        "is_snapshot": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Seed;

    fn state() -> (State, i64, i64) {
        let mut state = State::default();
        Seed::Demo.load(&mut state);
        (state, 1, 1)
    }

    fn body(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn refs_are_shared_across_kinds_and_defaults_apply() {
        let (mut state, admin, project) = state();
        let story = state
            .create_item(
                ItemKind::UserStory,
                admin,
                &body(json!({"project": project, "subject": "a"})),
            )
            .unwrap();
        let issue = state
            .create_item(
                ItemKind::Issue,
                admin,
                &body(json!({"project": project, "subject": "b"})),
            )
            .unwrap();
        assert_eq!(state.item(ItemKind::UserStory, story).unwrap().get("ref"), 1);
        let issue = render(&state, state.item(ItemKind::Issue, issue).unwrap(), true);
        assert_eq!(issue["ref"], 2);
        assert_eq!(
            issue["priority"],
            state.project(project).unwrap().lookups.defaults()["default_priority"]
        );
    }

    /// Recording 92: a status change shows the statuses' names, and `values` holds them by id.
    #[test]
    fn history_names_statuses_as_taiga_does() {
        let (mut state, admin, project) = state();
        let id = state
            .create_item(
                ItemKind::Task,
                admin,
                &body(json!({"project": project, "subject": "a"})),
            )
            .unwrap();
        let statuses = lookup_items(&state, project, Lookup::TaskStatus);
        let (new, progress) = (&statuses[0], &statuses[1]);
        let entry = HistoryEntry {
            id: "e".into(),
            user: admin,
            created_at: now(),
            diff: body(json!({"status": [new["id"], progress["id"]]})),
            comment: String::new(),
        };
        let shown = history_body(&state, state.item(ItemKind::Task, id).unwrap(), &entry);
        assert_eq!(shown["values_diff"]["status"], json!([new["name"], progress["name"]]));
        assert_eq!(
            shown["values"]["status"],
            json!({new["id"].to_string(): new["name"], progress["id"].to_string(): progress["name"]})
        );
    }

    #[test]
    fn occ_is_per_field() {
        let (mut state, admin, project) = state();
        let id = state
            .create_item(
                ItemKind::UserStory,
                admin,
                &body(json!({"project": project, "subject": "a"})),
            )
            .unwrap();
        state
            .update_item(
                ItemKind::UserStory,
                id,
                admin,
                &body(json!({"subject": "b", "version": 1})),
            )
            .unwrap();
        let stale_same = state.update_item(
            ItemKind::UserStory,
            id,
            admin,
            &body(json!({"subject": "c", "version": 1})),
        );
        assert_eq!(
            stale_same,
            Err(Refusal::BadRequest(
                json!({"version": "The version doesn't match with the current one"})
            ))
        );
        state
            .update_item(
                ItemKind::UserStory,
                id,
                admin,
                &body(json!({"description": "d", "version": 1})),
            )
            .unwrap();
        assert_eq!(state.item(ItemKind::UserStory, id).unwrap().version(), 3);
        for bad in [json!({"subject": "x"}), json!({"subject": "x", "version": 9})] {
            assert_eq!(
                state.update_item(ItemKind::UserStory, id, admin, &body(bad)),
                Err(Refusal::BadRequest(
                    json!({"version": "The version parameter is not valid"})
                ))
            );
        }
    }

    #[test]
    fn validation_matches_recorded_messages() {
        let (mut state, admin, project) = state();
        let refused = state.create_item(
            ItemKind::UserStory,
            admin,
            &body(json!({"project": project, "subject": ""})),
        );
        assert_eq!(
            refused,
            Err(Refusal::BadRequest(json!({"subject": ["This field is required."]})))
        );
        let refused = state.create_item(
            ItemKind::UserStory,
            admin,
            &body(json!({"project": project, "subject": "a", "status": 999999})),
        );
        assert_eq!(
            refused,
            Err(Refusal::BadRequest(
                json!({"status": ["Invalid pk '999999' - object does not exist."]})
            ))
        );
        let refused = state.create_item(
            ItemKind::UserStory,
            admin,
            &body(json!({"project": project, "subject": "a", "assigned_to": 2})),
        );
        assert_eq!(
            refused,
            Err(Refusal::BadRequest(
                json!({"assigned_to": ["The user must be a project member."]})
            ))
        );
        let bob = 2;
        let refused = state.create_item(
            ItemKind::UserStory,
            bob,
            &body(json!({"project": project, "subject": "a"})),
        );
        assert_eq!(refused, Err(Refusal::Forbidden));
    }
}
