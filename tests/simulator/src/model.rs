//! The simulated database's records: users, memberships, projects and project items, with the
//! per-kind facts (paths, model names, writable fields) the rules and the routes share.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use crate::template::Lookups;

/// A record kept as Taiga renders it plus the simulator's private `_kind` tag (attachments,
/// custom attribute definitions), without the tag.
pub fn without_kind_tag(record: &Value) -> Value {
    let mut body = record.clone();
    if let Some(object) = body.as_object_mut() {
        object.remove("_kind");
    }
    body
}

/// A Taiga user.
#[derive(Debug, Clone)]
pub struct User {
    /// Id.
    pub id: i64,
    /// Username.
    pub username: String,
    /// Email.
    pub email: String,
    /// Password in clear: this is a test double.
    pub password: String,
    /// Full name.
    pub full_name: String,
    /// Whether the email was verified.
    pub verified_email: bool,
    /// Join time.
    pub date_joined: String,
    /// Superusers see 404 where others see 403 on writes to missing objects.
    pub is_superuser: bool,
}

/// A user of an auth plugin's directory.
#[derive(Debug, Clone)]
pub struct DirectoryEntry {
    /// Login name.
    pub username: String,
    /// Password in clear: this is a test double.
    pub password: String,
    /// Email.
    pub email: String,
    /// Full name.
    pub full_name: String,
}

/// A project member.
#[derive(Debug, Clone)]
pub struct Membership {
    /// Id.
    pub id: i64,
    /// Project id.
    pub project: i64,
    /// Member, or none for a pending invitation.
    pub user: Option<i64>,
    /// Role id.
    pub role: i64,
    /// Whether the member administers the project.
    pub is_admin: bool,
    /// Invited email, for invitations.
    pub email: Option<String>,
    /// Creation time.
    pub created_at: String,
}

/// A project.
#[derive(Debug, Clone)]
pub struct Project {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Globally unique slug.
    pub slug: String,
    /// Description.
    pub description: String,
    /// Owner's user id.
    pub owner: i64,
    /// Private or public.
    pub is_private: bool,
    /// Template id (1 scrum, 2 kanban).
    pub creation_template: i64,
    /// Creation time.
    pub created_date: String,
    /// Last change.
    pub modified_date: String,
    /// Statuses, points, priorities... with their ids.
    pub lookups: Lookups,
    /// Project tags.
    pub tags: Vec<String>,
}

/// Taiga's datetime format: milliseconds and `Z` (the bridge's own formatter).
pub fn now() -> String {
    let elapsed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    taiga_tools::time::format_rfc3339(elapsed.as_millis() as u64)
}

/// Django's slugify for the ASCII subset: lower case, runs of other characters become one hyphen.
pub fn slugify(text: &str) -> String {
    let mut slug = String::new();
    for c in text.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_owned()
}

/// The kinds of project item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ItemKind {
    /// `/userstories`
    UserStory,
    /// `/tasks`
    Task,
    /// `/issues`
    Issue,
    /// `/epics`
    Epic,
    /// `/milestones`
    Milestone,
    /// `/wiki`
    Wiki,
}

/// Which project lookup a foreign-key field points into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    UsStatus,
    TaskStatus,
    IssueStatus,
    EpicStatus,
    Priority,
    Severity,
    IssueType,
}

impl ItemKind {
    /// Every kind.
    pub const ALL: [ItemKind; 6] = [
        ItemKind::UserStory,
        ItemKind::Task,
        ItemKind::Issue,
        ItemKind::Epic,
        ItemKind::Milestone,
        ItemKind::Wiki,
    ];

    /// The URL segment.
    pub fn path(self) -> &'static str {
        match self {
            ItemKind::UserStory => "userstories",
            ItemKind::Task => "tasks",
            ItemKind::Issue => "issues",
            ItemKind::Epic => "epics",
            ItemKind::Milestone => "milestones",
            ItemKind::Wiki => "wiki",
        }
    }

    /// The Django model name used in 404 messages.
    pub fn model(self) -> &'static str {
        match self {
            ItemKind::UserStory => "UserStory",
            ItemKind::Task => "Task",
            ItemKind::Issue => "Issue",
            ItemKind::Epic => "Epic",
            ItemKind::Milestone => "Milestone",
            ItemKind::Wiki => "WikiPage",
        }
    }

    /// The name used by `/history/<name>/<id>`.
    pub fn history_name(self) -> Option<&'static str> {
        match self {
            ItemKind::UserStory => Some("userstory"),
            ItemKind::Task => Some("task"),
            ItemKind::Issue => Some("issue"),
            ItemKind::Epic => Some("epic"),
            ItemKind::Wiki => Some("wiki"),
            ItemKind::Milestone => None,
        }
    }

    /// The kind a `/history/<name>` segment names.
    pub fn from_history_name(name: &str) -> Option<ItemKind> {
        ItemKind::ALL.into_iter().find(|kind| kind.history_name() == Some(name))
    }

    pub(crate) fn history_key(self) -> &'static str {
        match self {
            ItemKind::UserStory => "userstories.userstory",
            ItemKind::Task => "tasks.task",
            ItemKind::Issue => "issues.issue",
            ItemKind::Epic => "epics.epic",
            ItemKind::Milestone => "milestones.milestone",
            ItemKind::Wiki => "wiki.wikipage",
        }
    }

    /// Whether the kind has optimistic concurrency (`version`).
    pub fn versioned(self) -> bool {
        self != ItemKind::Milestone
    }

    /// Whether the kind takes a number from the project's `ref` sequence.
    pub fn has_ref(self) -> bool {
        matches!(
            self,
            ItemKind::UserStory | ItemKind::Task | ItemKind::Issue | ItemKind::Epic
        )
    }

    pub(crate) fn required(self) -> &'static [&'static str] {
        match self {
            ItemKind::Milestone => &["name", "estimated_start", "estimated_finish"],
            ItemKind::Wiki => &["slug"],
            _ => &["subject"],
        }
    }

    pub(crate) fn writable(self) -> &'static [&'static str] {
        match self {
            ItemKind::UserStory => &[
                "subject",
                "description",
                "status",
                "milestone",
                "assigned_to",
                "assigned_users",
                "points",
                "tags",
                "backlog_order",
                "sprint_order",
                "is_blocked",
                "blocked_note",
                "client_requirement",
                "team_requirement",
                "due_date",
                "watchers",
            ],
            ItemKind::Task => &[
                "subject",
                "description",
                "status",
                "milestone",
                "assigned_to",
                "user_story",
                "tags",
                "is_iocaine",
                "us_order",
                "taskboard_order",
                "is_blocked",
                "blocked_note",
                "due_date",
                "watchers",
            ],
            ItemKind::Issue => &[
                "subject",
                "description",
                "status",
                "milestone",
                "assigned_to",
                "priority",
                "severity",
                "type",
                "tags",
                "is_blocked",
                "blocked_note",
                "due_date",
                "watchers",
            ],
            ItemKind::Epic => &[
                "subject",
                "description",
                "status",
                "assigned_to",
                "color",
                "tags",
                "epics_order",
                "is_blocked",
                "blocked_note",
                "client_requirement",
                "team_requirement",
                "watchers",
            ],
            ItemKind::Milestone => &[
                "name",
                "estimated_start",
                "estimated_finish",
                "closed",
                "disponibility",
                "order",
                "slug",
            ],
            ItemKind::Wiki => &["slug", "content", "watchers"],
        }
    }

    pub(crate) fn lookups(self) -> &'static [(&'static str, Lookup)] {
        match self {
            ItemKind::UserStory => &[("status", Lookup::UsStatus)],
            ItemKind::Task => &[("status", Lookup::TaskStatus)],
            ItemKind::Issue => &[
                ("status", Lookup::IssueStatus),
                ("priority", Lookup::Priority),
                ("severity", Lookup::Severity),
                ("type", Lookup::IssueType),
            ],
            ItemKind::Epic => &[("status", Lookup::EpicStatus)],
            ItemKind::Milestone | ItemKind::Wiki => &[],
        }
    }
}

/// One change in an item's history.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    /// Entry id (a UUID-looking string).
    pub id: String,
    /// Author.
    pub user: i64,
    /// When.
    pub created_at: String,
    /// Changed fields: `[old, new]`.
    pub diff: Map<String, Value>,
    /// Comment text, empty for a field change.
    pub comment: String,
}

/// One stored item.
#[derive(Debug, Clone)]
pub struct Item {
    /// ItemKind.
    pub kind: ItemKind,
    /// Id (per kind).
    pub id: i64,
    /// Project.
    pub project: i64,
    /// Stored fields, in Taiga's names.
    pub fields: Map<String, Value>,
    /// Changes, oldest first.
    pub history: Vec<HistoryEntry>,
}

impl Item {
    /// A stored field.
    pub fn get(&self, field: &str) -> &Value {
        self.fields.get(field).unwrap_or(&Value::Null)
    }

    /// The OCC version (1 for a new item).
    pub fn version(&self) -> i64 {
        self.get("version").as_i64().unwrap_or(1)
    }
}

/// An epic ↔ user story link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpicLink {
    /// Epic id.
    pub epic: i64,
    /// User story id.
    pub user_story: i64,
    /// Order.
    pub order: i64,
}

/// A stable 32-hex-digit stand-in for an email's gravatar hash.
pub fn gravatar(email: &str) -> String {
    let mut hash: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for byte in email.to_lowercase().bytes() {
        hash = (hash ^ u128::from(byte)).wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
    }
    format!("{hash:032x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_django() {
        assert_eq!(slugify("admin-Recorder Project"), "admin-recorder-project");
        assert_eq!(slugify("a  b--c!"), "a-b-c");
    }

    #[test]
    fn timestamps_have_milliseconds_and_z() {
        let stamp = now();
        assert_eq!(stamp.len(), 24);
        assert!(stamp.ends_with('Z') && stamp.as_bytes()[19] == b'.');
    }
}
