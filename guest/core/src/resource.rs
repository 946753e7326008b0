//! Taiga resources as data: where each lives, which arguments map to which Taiga fields, how its
//! list items and full bodies are presented. The generic operations in [`crate::crud`] work over
//! these descriptions, so each resource is a table, not a copy of the code.

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value, json};

use crate::projection::Compact;

/// How an argument becomes a Taiga field value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conv {
    /// Passed as is (text, numbers, booleans, dates).
    Plain,
    /// An id, or a name looked up in this list of the project detail (`us_statuses`, `priorities`...).
    Lookup(&'static str),
    /// A user id, or the username (or full name) of a project member; null clears it.
    Member,
    /// A sprint id, or null for none (the backlog).
    Sprint,
    /// A list of tag names.
    Tags,
}

/// One argument ↔ Taiga field mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapping {
    /// Tool argument name.
    pub arg: &'static str,
    /// Taiga field or query parameter.
    pub taiga: &'static str,
    /// Conversion.
    pub conv: Conv,
}

impl Resource {
    fn shared(&self, writable: bool) -> Vec<Mapping> {
        let Some(statuses) = self.statuses else {
            return Vec::new();
        };
        let status = map("status", "status", Conv::Lookup(statuses));
        let assignee = map("assigned_to", "assigned_to", Conv::Member);
        if writable {
            vec![
                map("title", "subject", Conv::Plain),
                map("description", "description", Conv::Plain),
                status,
                assignee,
                map("tags", "tags", Conv::Tags),
            ]
        } else {
            vec![status, assignee]
        }
    }

    /// Every argument create and update tools map to Taiga fields.
    pub fn writable(&self) -> Vec<Mapping> {
        let mut all = self.shared(true);
        all.extend_from_slice(self.both);
        all.extend_from_slice(self.fields);
        all
    }

    /// Every list filter.
    pub fn list_filters(&self) -> Vec<Mapping> {
        let mut all = self.shared(false);
        all.extend_from_slice(self.both);
        all.extend_from_slice(self.filters);
        all
    }
}

/// Shorthand for a [`Mapping`].
pub const fn map(arg: &'static str, taiga: &'static str, conv: Conv) -> Mapping {
    Mapping { arg, taiga, conv }
}

/// One Taiga resource.
#[derive(Debug)]
pub struct Resource {
    /// For stories, tasks, issues and epics: the project list their status names come from
    /// (`us_statuses`...). They then share the `title`, `description`, `status`, `assigned_to` and
    /// `tags` arguments, and the `status` and `assigned_to` filters.
    pub statuses: Option<&'static str>,
    /// What a person calls one ("user story"), for messages.
    pub noun: &'static str,
    /// API path, e.g. `/userstories`.
    pub path: &'static str,
    /// The argument holding its id, e.g. `user_story_id`.
    pub id_arg: &'static str,
    /// Whether Taiga keeps a `version` (OCC) for it.
    pub versioned: bool,
    /// The `/history/<name>` segment, for resources that take comments.
    pub history: Option<&'static str>,
    /// Arguments of this resource that are both written and filtered on.
    pub both: &'static [Mapping],
    /// Arguments of this resource that are only written.
    pub fields: &'static [Mapping],
    /// Arguments of this resource that are only filters.
    pub filters: &'static [Mapping],
    /// The compact list item.
    pub compact: Compact,
    /// The full body `get_*` returns.
    pub full: fn(&Value) -> Value,
}

fn tag_names(item: &Value) -> Value {
    let names: Vec<Value> = item["tags"]
        .as_array()
        .map(|tags| {
            tags.iter()
                .map(|tag| if tag.is_array() { tag[0].clone() } else { tag.clone() })
                .collect()
        })
        .unwrap_or_default();
    Value::Array(names)
}

/// The compact item of a story, task, issue or epic.
pub const COMPACT_ITEM: Compact = Compact {
    keys: &[
        "id",
        "ref",
        "subject",
        "status_extra_info",
        "assigned_to_extra_info",
        "version",
        "milestone",
        "milestone_name",
        "milestone_slug",
        "is_closed",
        "is_blocked",
        "due_date",
    ],
    map: compact_item,
    page: Some(compact_item_page),
};

/// What [`COMPACT_ITEM`] reads of a story, task, issue or epic, every other key skipped unread
/// when a list page is deserialized into it. The `Option`s are `None` where Taiga's object has no
/// such key (epics have no sprint), `Some(Null)` where it holds null.
#[derive(Deserialize)]
struct ItemRow {
    #[serde(default)]
    id: Value,
    #[serde(default, rename = "ref")]
    reference: Value,
    #[serde(default)]
    subject: Value,
    #[serde(default, rename = "status_extra_info", deserialize_with = "status_name")]
    status: Value,
    #[serde(default, rename = "assigned_to_extra_info", deserialize_with = "assignee_username")]
    assigned_to: Value,
    #[serde(default)]
    version: Value,
    #[serde(default, deserialize_with = "present")]
    milestone: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    milestone_name: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    milestone_slug: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    is_closed: Option<Value>,
    #[serde(default)]
    is_blocked: Value,
    #[serde(default)]
    due_date: Value,
}

impl ItemRow {
    fn into_compact(self) -> Value {
        let mut out = Map::with_capacity(9);
        out.insert("id".into(), self.id);
        out.insert("ref".into(), self.reference);
        out.insert("title".into(), self.subject);
        out.insert("status".into(), self.status);
        out.insert("assigned_to".into(), self.assigned_to);
        out.insert("version".into(), self.version);
        if let Some(id) = self.milestone {
            out.insert("sprint_id".into(), id);
            let name = self.milestone_name.or(self.milestone_slug);
            out.insert("sprint".into(), name.unwrap_or(Value::Null));
        }
        if let Some(is_closed) = self.is_closed {
            out.insert("is_closed".into(), is_closed);
        }
        // Shown only when they say something: most items are neither blocked nor due.
        if self.is_blocked == true {
            out.insert("is_blocked".into(), self.is_blocked);
        }
        if !self.due_date.is_null() {
            out.insert("due_date".into(), self.due_date);
        }
        Value::Object(out)
    }
}

/// Builds [`COMPACT_ITEM`] from a Taiga story, task, issue or epic.
pub fn compact_item(item: &Value) -> Value {
    ItemRow {
        id: item["id"].clone(),
        reference: item["ref"].clone(),
        subject: item["subject"].clone(),
        status: item["status_extra_info"]["name"].clone(),
        assigned_to: item["assigned_to_extra_info"]["username"].clone(),
        version: item["version"].clone(),
        milestone: item.get("milestone").cloned(),
        milestone_name: item.get("milestone_name").cloned(),
        milestone_slug: item.get("milestone_slug").cloned(),
        is_closed: item.get("is_closed").cloned(),
        is_blocked: item["is_blocked"].clone(),
        due_date: item["due_date"].clone(),
    }
    .into_compact()
}

/// A key's value when the key is there, null included (serde reads a null `Option` as absent).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// `{"name": ...}` of `status_extra_info`, the rest skipped.
#[derive(Deserialize)]
struct NameOf {
    #[serde(default)]
    name: Value,
}

/// `status_extra_info.name`, null when the status is.
fn status_name<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
    Option::<NameOf>::deserialize(deserializer).map(|status| status.map_or(Value::Null, |status| status.name))
}

/// `{"username": ...}` of `assigned_to_extra_info`, the rest skipped.
#[derive(Deserialize)]
struct UsernameOf {
    #[serde(default)]
    username: Value,
}

/// `assigned_to_extra_info.username`, null when nobody is assigned.
fn assignee_username<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
    Option::<UsernameOf>::deserialize(deserializer).map(|user| user.map_or(Value::Null, |user| user.username))
}

/// [`COMPACT_ITEM`] of every item of a list page, read into [`ItemRow`]s: about half the time of
/// projecting each item into a `Value` and mapping it (BENCHMARKS.md).
fn compact_item_page(body: &[u8]) -> serde_json::Result<Vec<Value>> {
    let rows: Vec<ItemRow> = serde_json::from_str(crate::projection::text(body)?)?;
    Ok(rows.into_iter().map(ItemRow::into_compact).collect())
}

/// The full body of a story, task, issue or epic: Taiga's detail with names beside ids.
pub fn full_item(item: &Value) -> Value {
    let mut out = Map::new();
    let mut copy = |key: &str, from: &str| {
        if let Some(value) = item.get(from) {
            out.insert(key.to_owned(), value.clone());
        }
    };
    for (key, from) in [
        ("id", "id"),
        ("ref", "ref"),
        ("version", "version"),
        ("project_id", "project"),
        ("title", "subject"),
        ("description", "description"),
        ("status_id", "status"),
        ("is_closed", "is_closed"),
        ("assigned_to_id", "assigned_to"),
        ("assigned_users", "assigned_users"),
        ("sprint_id", "milestone"),
        ("sprint", "milestone_name"),
        ("user_story_id", "user_story"),
        ("priority_id", "priority"),
        ("severity_id", "severity"),
        ("type_id", "type"),
        ("color", "color"),
        ("total_points", "total_points"),
        ("total_comments", "total_comments"),
        ("is_blocked", "is_blocked"),
        ("blocked_note", "blocked_note"),
        ("due_date", "due_date"),
        ("due_date_status", "due_date_status"),
        ("created_date", "created_date"),
        ("modified_date", "modified_date"),
    ] {
        copy(key, from);
    }
    out.insert("project".into(), item["project_extra_info"]["name"].clone());
    out.insert("status".into(), item["status_extra_info"]["name"].clone());
    out.insert("assigned_to".into(), item["assigned_to_extra_info"]["username"].clone());
    out.insert("owner".into(), item["owner_extra_info"]["username"].clone());
    out.insert("tags".into(), tag_names(item));
    if let Some(story) = item.get("user_story_extra_info").filter(|s| !s.is_null()) {
        out.insert(
            "user_story".into(),
            json!({"id": story["id"], "ref": story["ref"], "title": story["subject"]}),
        );
    }
    if let Some(epics) = item.get("epics").and_then(Value::as_array) {
        let epics: Vec<Value> = epics
            .iter()
            .map(|epic| json!({"id": epic["id"], "ref": epic["ref"], "title": epic["subject"]}))
            .collect();
        out.insert("epics".into(), Value::Array(epics));
    }
    Value::Object(out)
}

/// The compact sprint, the same as its full body.
pub const COMPACT_SPRINT: Compact = Compact {
    keys: &[
        "id",
        "name",
        "slug",
        "project",
        "estimated_start",
        "estimated_finish",
        "closed",
        "user_stories",
        "total_points",
        "closed_points",
    ],
    map: sprint,
    page: None,
};

/// The compact and full body of a sprint (Taiga's milestone).
pub fn sprint(item: &Value) -> Value {
    let stories = item["user_stories"].as_array().map(Vec::as_slice).unwrap_or_default();
    let closed = stories.iter().filter(|story| story["is_closed"] == true).count();
    json!({
        "id": item["id"],
        "name": item["name"],
        "slug": item["slug"],
        "project_id": item["project"],
        "start_date": item["estimated_start"],
        "end_date": item["estimated_finish"],
        "closed": item["closed"],
        "user_story_count": stories.len(),
        "closed_user_story_count": closed,
        "total_points": item["total_points"],
        "closed_points": item["closed_points"],
    })
}

/// The compact wiki page: no content.
pub const COMPACT_WIKI: Compact = Compact {
    keys: &["id", "slug", "version", "modified_date"],
    map: wiki_compact,
    page: None,
};

fn wiki_compact(item: &Value) -> Value {
    json!({
        "id": item["id"],
        "slug": item["slug"],
        "version": item["version"],
        "modified_date": item["modified_date"],
    })
}

/// The full wiki page.
pub fn wiki_full(item: &Value) -> Value {
    json!({
        "id": item["id"],
        "slug": item["slug"],
        "project_id": item["project"],
        "content": item["content"],
        "version": item["version"],
        "editions": item["editions"],
        "created_date": item["created_date"],
        "modified_date": item["modified_date"],
    })
}

/// The JSON Schema of a compact story, task, issue or epic (the keys a model acts on; the rest is
/// described by the tools' descriptions, to keep `tools/list` small).
pub fn compact_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "ref": {"type": "integer"},
            "title": {"type": "string"},
            "status": {"type": ["string", "null"]},
            "version": {"type": "integer"},
            "is_blocked": {"type": "boolean"},
            "due_date": {"type": "string", "format": "date"}
        },
        "required": ["id", "title"]
    })
}

/// The JSON Schema of a full story, task, issue or epic.
pub fn full_schema() -> Value {
    let mut schema = compact_schema();
    schema["properties"]["description"] = json!({"type": ["string", "null"]});
    schema["properties"]["assigned_to"] = json!({"type": ["string", "null"]});
    schema["required"] = json!(["id", "title", "version"]);
    schema
}

/// The JSON Schema of a sprint.
pub fn sprint_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "start_date": {"type": "string", "format": "date"},
            "end_date": {"type": "string", "format": "date"},
            "closed": {"type": "boolean"},
            "user_story_count": {"type": "integer"},
            "total_points": {"type": ["number", "null"]},
            "closed_points": {"type": ["number", "null"]}
        },
        "required": ["id", "name"]
    })
}

/// The JSON Schema of a wiki page.
pub fn wiki_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "slug": {"type": "string"},
            "content": {"type": "string"},
            "version": {"type": "integer"}
        },
        "required": ["id", "slug", "version"]
    })
}

// The resources: each one's place in Taiga, its argument mappings and its projections.

/// User stories (`/userstories`).
pub const USER_STORY: Resource = Resource {
    noun: "user story",
    path: "/userstories",
    id_arg: "user_story_id",
    versioned: true,
    history: Some("userstory"),
    statuses: Some("us_statuses"),
    both: &[map("sprint_id", "milestone", Conv::Sprint)],
    fields: BLOCKED_AND_DUE,
    filters: &[map("epic_id", "epic", Conv::Plain), TAG_FILTER, TEXT_FILTER],
    compact: COMPACT_ITEM,
    full: full_item,
};

/// Tasks (`/tasks`).
pub const TASK: Resource = Resource {
    noun: "task",
    path: "/tasks",
    id_arg: "task_id",
    versioned: true,
    history: Some("task"),
    statuses: Some("task_statuses"),
    both: &[
        map("user_story_id", "user_story", Conv::Plain),
        map("sprint_id", "milestone", Conv::Sprint),
    ],
    fields: BLOCKED_AND_DUE,
    filters: &[],
    compact: COMPACT_ITEM,
    full: full_item,
};

/// Issues (`/issues`).
pub const ISSUE: Resource = Resource {
    noun: "issue",
    path: "/issues",
    id_arg: "issue_id",
    versioned: true,
    history: Some("issue"),
    statuses: Some("issue_statuses"),
    both: &[
        map("priority", "priority", Conv::Lookup("priorities")),
        map("severity", "severity", Conv::Lookup("severities")),
        map("type", "type", Conv::Lookup("issue_types")),
    ],
    fields: BLOCKED_AND_DUE,
    filters: &[TAG_FILTER, TEXT_FILTER],
    compact: COMPACT_ITEM,
    full: full_item,
};

/// Epics (`/epics`).
pub const EPIC: Resource = Resource {
    noun: "epic",
    path: "/epics",
    id_arg: "epic_id",
    versioned: true,
    history: Some("epic"),
    statuses: Some("epic_statuses"),
    both: &[],
    fields: &[map("color", "color", Conv::Plain)],
    filters: &[TEXT_FILTER],
    compact: COMPACT_ITEM,
    full: full_item,
};

/// Whether an item is blocked, why, and when it is due: written by stories, tasks and issues.
/// Taiga filters lists on none of them.
const BLOCKED_AND_DUE: &[Mapping] = &[
    map("is_blocked", "is_blocked", Conv::Plain),
    map("blocked_note", "blocked_note", Conv::Plain),
    map("due_date", "due_date", Conv::Plain),
];

/// The `tags` filter of item lists.
const TAG_FILTER: Mapping = map("tags", "tags", Conv::Tags);
/// The text search (`q`) of item lists.
const TEXT_FILTER: Mapping = map("q", "q", Conv::Plain);

/// Wiki pages (`/wiki`).
pub const WIKI: Resource = Resource {
    noun: "wiki page",
    path: "/wiki",
    id_arg: "wiki_page_id",
    versioned: true,
    history: Some("wiki"),
    statuses: None,
    both: &[],
    fields: &[map("slug", "slug", Conv::Plain), map("content", "content", Conv::Plain)],
    filters: &[],
    compact: COMPACT_WIKI,
    full: wiki_full,
};

/// Sprints (Taiga's milestones, `/milestones`).
pub const SPRINT: Resource = Resource {
    noun: "sprint",
    path: "/milestones",
    id_arg: "sprint_id",
    versioned: false,
    history: None,
    statuses: None,
    both: &[],
    fields: &[
        map("name", "name", Conv::Plain),
        map("start_date", "estimated_start", Conv::Plain),
        map("end_date", "estimated_finish", Conv::Plain),
    ],
    filters: &[map("closed", "closed", Conv::Plain)],
    compact: COMPACT_SPRINT,
    full: sprint,
};

#[cfg(test)]
mod tests {
    use super::*;

    /// Both ways of building a compact item (from a `Value`, and straight from a list page) read
    /// the sprint's name before its slug, omit sprint keys an epic lacks, and read a missing
    /// status or assignee as null.
    #[test]
    fn compact_items_follow_the_same_rules_from_a_value_and_from_a_page() {
        let items = json!([
            {"id": 1, "ref": 7, "subject": "Named", "version": 2, "milestone": 3,
             "milestone_name": "Sprint 1", "milestone_slug": "sprint-1", "is_closed": false,
             "status_extra_info": {"name": "New", "color": "#fff"},
             "assigned_to_extra_info": {"username": "ana", "id": 9}},
            {"id": 2, "subject": "Slug only", "milestone": 3, "milestone_slug": "sprint-1",
             "status_extra_info": null, "assigned_to_extra_info": null},
            {"id": 3, "subject": "Epic", "status_extra_info": {"name": "Done"}}
        ]);
        let expected = vec![
            json!({"id": 1, "ref": 7, "title": "Named", "status": "New", "assigned_to": "ana", "version": 2,
                   "sprint_id": 3, "sprint": "Sprint 1", "is_closed": false}),
            json!({"id": 2, "ref": null, "title": "Slug only", "status": null, "assigned_to": null,
                   "version": null, "sprint_id": 3, "sprint": "sprint-1"}),
            json!({"id": 3, "ref": null, "title": "Epic", "status": "Done", "assigned_to": null, "version": null}),
        ];
        let from_values: Vec<Value> = items.as_array().unwrap().iter().map(compact_item).collect();
        assert_eq!(from_values, expected);
        let body = serde_json::to_vec(&items).unwrap();
        assert_eq!(compact_item_page(&body).unwrap(), expected);
        assert!(compact_item_page(br#"[{"id": 1}] trailing"#).is_err());
    }
}
