//! Project templates: the statuses, points, priorities, severities, issue types, due dates and roles
//! a new project gets, with Taiga's scrum values (SPEC §6).

use serde_json::{Value, json};

use crate::state::State;

const MEMBER_PERMISSIONS: &[&str] = &[
    "add_issue",
    "modify_issue",
    "delete_issue",
    "view_issues",
    "add_milestone",
    "modify_milestone",
    "delete_milestone",
    "view_milestones",
    "view_project",
    "add_task",
    "modify_task",
    "delete_task",
    "view_tasks",
    "add_us",
    "modify_us",
    "delete_us",
    "view_us",
    "add_wiki_page",
    "modify_wiki_page",
    "delete_wiki_page",
    "view_wiki_pages",
    "add_wiki_link",
    "delete_wiki_link",
    "view_wiki_links",
    "view_epics",
    "add_epic",
    "modify_epic",
    "delete_epic",
    "comment_epic",
    "comment_us",
    "comment_task",
    "comment_issue",
    "comment_wiki_page",
];

const STAKEHOLDER_PERMISSIONS: &[&str] = &[
    "add_issue",
    "modify_issue",
    "delete_issue",
    "view_issues",
    "view_milestones",
    "view_project",
    "view_tasks",
    "view_us",
    "modify_wiki_page",
    "view_wiki_pages",
    "add_wiki_link",
    "delete_wiki_link",
    "view_wiki_links",
    "view_epics",
    "comment_epic",
    "comment_us",
    "comment_task",
    "comment_issue",
    "comment_wiki_page",
];

/// What admins get on top of their role's permissions.
pub const ADMIN_PERMISSIONS: &[&str] = &[
    "admin_project_values",
    "admin_roles",
    "add_member",
    "remove_member",
    "modify_project",
    "delete_project",
    "modify_wiki_link",
];

/// What anyone may do on a public project.
pub const PUBLIC_PERMISSIONS: &[&str] = &[
    "view_wiki_links",
    "view_milestones",
    "view_tasks",
    "view_issues",
    "view_epics",
    "view_project",
    "view_us",
    "view_wiki_pages",
];

/// A project's lookups, each as the JSON objects the project detail embeds.
#[derive(Debug, Clone, Default)]
pub struct Lookups {
    /// Epic statuses.
    pub epic_statuses: Vec<Value>,
    /// User story statuses.
    pub us_statuses: Vec<Value>,
    /// Points.
    pub points: Vec<Value>,
    /// Task statuses.
    pub task_statuses: Vec<Value>,
    /// Issue statuses.
    pub issue_statuses: Vec<Value>,
    /// Issue types.
    pub issue_types: Vec<Value>,
    /// Priorities.
    pub priorities: Vec<Value>,
    /// Severities.
    pub severities: Vec<Value>,
    /// Roles.
    pub roles: Vec<Value>,
    /// Due dates of user stories, tasks and issues.
    pub duedates: [Vec<Value>; 3],
}

impl Lookups {
    /// The id of the role with this slug (0 if none).
    pub fn role_id(&self, slug: &str) -> i64 {
        find_id(&self.roles, "slug", slug)
    }

    /// The permissions of a role.
    pub fn role_permissions(&self, role: i64) -> Vec<Value> {
        self.roles
            .iter()
            .find(|r| r["id"] == role)
            .and_then(|r| r["permissions"].as_array().cloned())
            .unwrap_or_default()
    }

    /// The name of a role.
    pub fn role_name(&self, role: i64) -> Value {
        self.roles
            .iter()
            .find(|r| r["id"] == role)
            .map(|r| r["name"].clone())
            .unwrap_or(Value::Null)
    }

    /// The `default_*` ids of the project.
    pub fn defaults(&self) -> Value {
        json!({
            "default_epic_status": find_id(&self.epic_statuses, "name", "New"),
            "default_points": find_id(&self.points, "name", "?"),
            "default_us_status": find_id(&self.us_statuses, "name", "New"),
            "default_task_status": find_id(&self.task_statuses, "name", "New"),
            "default_priority": find_id(&self.priorities, "name", "Normal"),
            "default_severity": find_id(&self.severities, "name", "Normal"),
            "default_issue_status": find_id(&self.issue_statuses, "name", "New"),
            "default_issue_type": find_id(&self.issue_types, "name", "Bug"),
            "default_swimlane": null,
        })
    }
}

fn find_id(items: &[Value], key: &str, value: &str) -> i64 {
    items
        .iter()
        .find(|item| item[key] == value)
        .and_then(|item| item["id"].as_i64())
        .unwrap_or(0)
}

fn status(name: &str, slug: &str, order: i64, is_closed: bool, color: &str) -> Value {
    json!({"name": name, "slug": slug, "order": order, "is_closed": is_closed, "color": color})
}

fn named(name: &str, order: i64, color: &str) -> Value {
    json!({"name": name, "order": order, "color": color})
}

/// Creates the template's lookups for project `project`, numbering each model from the state's sequences.
pub fn apply(state: &mut State, project: i64, template: i64) -> Lookups {
    // The kanban template (id 2) differs from scrum only in some colours (recording 16).
    let kanban = template == 2;
    let pick = |scrum: &'static str, kanban_colour: &'static str| if kanban { kanban_colour } else { scrum };
    let mut make = |model: &'static str, items: Vec<Value>| -> Vec<Value> {
        items
            .into_iter()
            .map(|mut item| {
                let mut object = serde_json::Map::new();
                object.insert("id".into(), state.next_id(model).into());
                if let Value::Object(fields) = item.take() {
                    object.extend(fields);
                }
                object.insert("project_id".into(), project.into());
                Value::Object(object)
            })
            .collect()
    };
    let epic_statuses = make(
        "epic_status",
        vec![
            status("New", "new", 1, false, "#70728F"),
            status("Ready", "ready", 2, false, "#E44057"),
            status("In progress", "in-progress", 3, false, "#E47C40"),
            status("Ready for test", "ready-for-test", 4, false, "#E4CE40"),
            status("Done", "done", 5, true, "#A8E440"),
        ],
    );
    let us_statuses = make(
        "us_status",
        [
            ("New", "new", false, false, "#70728F"),
            ("Ready", "ready", false, false, "#E44057"),
            ("In progress", "in-progress", false, false, "#E47C40"),
            ("Ready for test", "ready-for-test", false, false, "#E4CE40"),
            ("Done", "done", true, false, "#A8E440"),
            ("Archived", "archived", true, true, "#A9AABC"),
        ]
        .iter()
        .zip(1..)
        .map(|((name, slug, closed, archived, color), order)| {
            json!({"name": name, "order": order, "is_closed": closed, "color": color, "wip_limit": null, "slug": slug, "is_archived": archived})
        })
        .collect(),
    );
    let points = make(
        "points",
        [
            ("?", Value::Null),
            ("0", json!(0)),
            ("1/2", json!(0.5)),
            ("1", json!(1)),
            ("2", json!(2)),
            ("3", json!(3)),
            ("5", json!(5)),
            ("8", json!(8)),
            ("10", json!(10)),
            ("13", json!(13)),
            ("20", json!(20)),
            ("40", json!(40)),
        ]
        .into_iter()
        .zip(1..)
        .map(|((name, value), order)| json!({"name": name, "order": order, "value": value}))
        .collect(),
    );
    let task_statuses = make(
        "task_status",
        vec![
            status("New", "new", 1, false, "#70728F"),
            status("In progress", "in-progress", 2, false, "#E47C40"),
            status("Ready for test", "ready-for-test", 3, false, "#E4CE40"),
            status("Closed", "closed", 4, true, "#A8E440"),
            status("Needs Info", "needs-info", 5, false, "#5178D3"),
        ],
    );
    let issue_statuses = make(
        "issue_status",
        vec![
            status("New", "new", 1, false, "#70728F"),
            status("In progress", "in-progress", 2, false, "#40A8E4"),
            status("Ready for test", "ready-for-test", 3, false, pick("#E4CE40", "#E47C40")),
            status("Closed", "closed", 4, true, "#A8E440"),
            status("Needs Info", "needs-info", 5, false, "#E44057"),
            status("Rejected", "rejected", 6, true, "#A9AABC"),
            status("Postponed", "posponed", 7, false, "#5178D3"),
        ],
    );
    let issue_types = make(
        "issue_type",
        vec![
            named("Bug", 1, "#E44057"),
            named("Question", 2, "#5178D3"),
            named("Enhancement", 3, "#40E4CE"),
        ],
    );
    let priorities = make(
        "priority",
        vec![
            named("Low", 1, pick("#A8E440", "#A9AABC")),
            named("Normal", 3, pick("#E4CE40", "#A8E440")),
            named("High", 5, pick("#E47C40", "#E44057")),
        ],
    );
    let severities = make(
        "severity",
        vec![
            named("Wishlist", 1, "#70728F"),
            named("Minor", 2, pick("#40A8E4", "#40E47C")),
            named("Normal", 3, pick("#40E47C", "#A8E440")),
            named("Important", 4, pick("#E4A240", "#E4CE40")),
            named("Critical", 5, pick("#D35450", "#E47C40")),
        ],
    );
    let roles = make(
        "role",
        [
            ("UX", "ux", 10, true),
            ("Design", "design", 20, true),
            ("Front", "front", 30, true),
            ("Back", "back", 40, true),
            ("Product Owner", "product-owner", 50, false),
            ("Stakeholder", "stakeholder", 60, false),
        ]
        .iter()
        .map(|(name, slug, order, computable)| {
            let permissions = if *slug == "stakeholder" {
                STAKEHOLDER_PERMISSIONS
            } else {
                MEMBER_PERMISSIONS
            };
            json!({"name": name, "slug": slug, "permissions": permissions, "order": order, "computable": computable})
        })
        .collect(),
    );
    let duedates = ["us_duedate", "task_duedate", "issue_duedate"].map(|model| {
        make(
            model,
            vec![
                json!({"name": "Default", "order": 1, "by_default": true, "color": "#9dce0a", "days_to_due": null}),
                json!({"name": "Due soon", "order": 2, "by_default": false, "color": "#ff9900", "days_to_due": 14}),
                json!({"name": "Past due", "order": 3, "by_default": false, "color": "#E44057", "days_to_due": 0}),
            ],
        )
    });
    Lookups {
        epic_statuses,
        us_statuses,
        points,
        task_statuses,
        issue_statuses,
        issue_types,
        priorities,
        severities,
        roles,
        duedates,
    }
}
