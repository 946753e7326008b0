//! Project templates: the statuses, points, priorities, severities, issue types, due dates and roles
//! a new project gets, with Taiga's scrum and kanban values (SPEC §6), read from `data/templates.json`.

use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::{Value, json};

/// The templates' data (`data/templates.json`), read once.
#[derive(Debug, Deserialize)]
struct Templates {
    scrum: Template,
    kanban: Template,
    admin_permissions: Vec<String>,
    public_permissions: Vec<String>,
}

/// One template's lookups, without ids.
#[derive(Debug, Deserialize)]
struct Template {
    epic_statuses: Vec<Value>,
    us_statuses: Vec<Value>,
    points: Vec<Value>,
    task_statuses: Vec<Value>,
    issue_statuses: Vec<Value>,
    issue_types: Vec<Value>,
    priorities: Vec<Value>,
    severities: Vec<Value>,
    roles: Vec<Value>,
    us_duedates: Vec<Value>,
    task_duedates: Vec<Value>,
    issue_duedates: Vec<Value>,
}

fn templates() -> &'static Templates {
    static TEMPLATES: OnceLock<Templates> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        serde_json::from_str(include_str!("../data/templates.json"))
            .expect("data/templates.json holds the templates (checked by a test)")
    })
}

/// What admins get on top of their role's permissions.
pub fn admin_permissions() -> &'static [String] {
    &templates().admin_permissions
}

/// What anyone may do on a public project.
pub fn public_permissions() -> &'static [String] {
    &templates().public_permissions
}

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

/// Creates the template's lookups (1 scrum, 2 kanban) for project `project`, numbering each model
/// from the database's sequences (`next_id`).
pub fn apply(mut next_id: impl FnMut(&'static str) -> i64, project: i64, template: i64) -> Lookups {
    let data = if template == 2 {
        &templates().kanban
    } else {
        &templates().scrum
    };
    let mut make = |model: &'static str, items: &[Value]| -> Vec<Value> {
        items
            .iter()
            .map(|item| {
                let mut object = serde_json::Map::new();
                object.insert("id".into(), next_id(model).into());
                if let Value::Object(fields) = item {
                    object.extend(fields.clone());
                }
                object.insert("project_id".into(), project.into());
                Value::Object(object)
            })
            .collect()
    };
    Lookups {
        epic_statuses: make("epic_status", &data.epic_statuses),
        us_statuses: make("us_status", &data.us_statuses),
        points: make("points", &data.points),
        task_statuses: make("task_status", &data.task_statuses),
        issue_statuses: make("issue_status", &data.issue_statuses),
        issue_types: make("issue_type", &data.issue_types),
        priorities: make("priority", &data.priorities),
        severities: make("severity", &data.severities),
        roles: make("role", &data.roles),
        duedates: [
            make("us_duedate", &data.us_duedates),
            make("task_duedate", &data.task_duedates),
            make("issue_duedate", &data.issue_duedates),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sequence() -> impl FnMut(&'static str) -> i64 {
        let mut last = 0;
        move |_| {
            last += 1;
            last
        }
    }

    #[test]
    fn the_data_file_holds_both_templates() {
        let scrum = apply(sequence(), 7, 1);
        assert_eq!(scrum.us_statuses.len(), 6);
        assert_eq!(scrum.roles.len(), 6);
        assert_eq!(scrum.us_statuses[0]["project_id"], 7);
        let kanban = apply(sequence(), 7, 2);
        assert_ne!(scrum.priorities[0]["color"], kanban.priorities[0]["color"]);
        assert!(admin_permissions().iter().any(|p| p == "delete_project"));
        assert!(public_permissions().iter().any(|p| p == "view_project"));
    }
}
