//! Name resolution: statuses, priorities, severities, types, roles and members may be given by id
//! or by name (case-insensitive; usernames for people), resolved against the project's detail.

use serde_json::Value;

use crate::error::{ToolError, ToolResult};

/// A project's detail, as Taiga returns it, used to turn names into ids.
pub struct ProjectMeta {
    detail: Value,
    kept: bool,
}

impl ProjectMeta {
    /// Wraps a project detail body just read from Taiga.
    pub fn new(detail: Value) -> Self {
        Self { detail, kept: false }
    }

    /// Wraps facts kept from an earlier call ([`crate::facts`]), which may be stale.
    pub fn kept(facts: Value) -> Self {
        Self {
            detail: facts,
            kept: true,
        }
    }

    /// Whether these are kept facts rather than Taiga's answer in this call.
    pub fn is_kept(&self) -> bool {
        self.kept
    }

    /// The project detail.
    pub fn detail(&self) -> &Value {
        &self.detail
    }

    /// Resolves `value` (id or name) against the project list `list` (e.g. `us_statuses`).
    pub fn lookup(&self, list: &str, arg: &str, value: &Value) -> ToolResult<i64> {
        let entries = self.detail[list].as_array().map(Vec::as_slice).unwrap_or_default();
        let found = entries.iter().find(|entry| match value {
            Value::Number(_) => entry["id"] == *value,
            Value::String(name) => {
                entry["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name.trim()))
                    || entry["slug"]
                        .as_str()
                        .is_some_and(|s| s.eq_ignore_ascii_case(name.trim()))
            }
            _ => false,
        });
        found.and_then(|entry| entry["id"].as_i64()).ok_or_else(|| {
            let names: Vec<&str> = entries.iter().filter_map(|entry| entry["name"].as_str()).collect();
            ToolError::invalid(
                arg,
                format!(
                    "`{}` is not one of this project's values: {}",
                    plain(value),
                    names.join(", ")
                ),
            )
            .with("valid", names)
        })
    }

    /// Resolves `value` (user id, username or full name) to a project member's id.
    pub fn member(&self, arg: &str, value: &Value) -> ToolResult<i64> {
        let members = self.detail["members"].as_array().map(Vec::as_slice).unwrap_or_default();
        let found = members.iter().find(|member| match value {
            Value::Number(_) => member["id"] == *value,
            Value::String(name) => {
                let name = name.trim().trim_start_matches('@');
                member["username"]
                    .as_str()
                    .is_some_and(|u| u.eq_ignore_ascii_case(name))
                    || member["full_name"]
                        .as_str()
                        .is_some_and(|f| f.eq_ignore_ascii_case(name))
            }
            _ => false,
        });
        found.and_then(|member| member["id"].as_i64()).ok_or_else(|| {
            let names: Vec<&str> = members
                .iter()
                .filter_map(|member| member["username"].as_str())
                .collect();
            ToolError::invalid(
                arg,
                format!(
                    "`{}` is not a member of this project; members: {}",
                    plain(value),
                    names.join(", ")
                ),
            )
            .with("valid", names)
        })
    }
}

fn plain(value: &Value) -> String {
    value.as_str().map_or_else(|| value.to_string(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use serde_json::json;

    fn meta() -> ProjectMeta {
        ProjectMeta::new(json!({
            "us_statuses": [{"id": 1, "name": "New", "slug": "new"}, {"id": 2, "name": "In progress", "slug": "in-progress"}],
            "members": [{"id": 5, "username": "admin", "full_name": "Administrator"}, {"id": 7, "username": "bob", "full_name": "Bob B"}]
        }))
    }

    #[test]
    fn names_resolve_case_insensitively() {
        assert_eq!(
            meta().lookup("us_statuses", "status", &json!("in PROGRESS")).unwrap(),
            2
        );
        assert_eq!(
            meta().lookup("us_statuses", "status", &json!("in-progress")).unwrap(),
            2
        );
        assert_eq!(meta().lookup("us_statuses", "status", &json!(1)).unwrap(), 1);
        assert_eq!(meta().member("user", &json!("BOB")).unwrap(), 7);
        assert_eq!(meta().member("user", &json!("@admin")).unwrap(), 5);
        assert_eq!(meta().member("user", &json!(7)).unwrap(), 7);
    }

    #[test]
    fn unknown_names_list_the_valid_ones() {
        let err = meta().lookup("us_statuses", "status", &json!("Done")).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
        assert_eq!(err.details["field"], "status");
        assert_eq!(err.details["valid"], json!(["New", "In progress"]));
        let err = meta().member("assigned_to", &json!(99)).unwrap_err();
        assert_eq!(err.details["valid"], json!(["admin", "bob"]));
    }
}
