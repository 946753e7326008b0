//! What the bridge keeps between calls about a Taiga user's projects, so that a name needs no
//! request: each project's statuses, priorities, severities, types, points, roles and members
//! (read once from the project's detail), and the project each story, task, issue or epic it has
//! seen belongs to.
//!
//! Everything is kept in the host's store under the call's tenant namespace (the host scopes it),
//! keyed by Taiga origin and Taiga user: one user's facts never answer another's call, so a private
//! project's names reach no one who cannot see them. `metadata-ttl-seconds` bounds how long a fact
//! is trusted (0 keeps nothing). A kept fact is only ever a shortcut: the resolver looks a name up
//! again before refusing it, and a write Taiga refuses over a kept id runs again on fresh facts.
//! A store that fails makes the call read Taiga, never fail.

use serde_json::{Map, Value, json};

use crate::meta::ProjectMeta;
use crate::session::Session;

/// The lists of a project's detail that names are resolved against.
const LISTS: [&str; 9] = [
    "us_statuses",
    "task_statuses",
    "issue_statuses",
    "epic_statuses",
    "priorities",
    "severities",
    "issue_types",
    "points",
    "roles",
];

/// Where a user's facts live: the Taiga origin and user, so that nothing crosses users.
pub struct Keeper<'a> {
    platform: &'a dyn crate::platform::Platform,
    owner: String,
    ttl_seconds: u64,
}

impl<'a> Keeper<'a> {
    /// The facts `session`'s user may see, kept `ttl_seconds` (0: none are kept).
    pub fn new(platform: &'a dyn crate::platform::Platform, session: &Session, ttl_seconds: u64) -> Self {
        Self {
            platform,
            owner: format!("{}|{}", session.taiga_url, session.user_id),
            ttl_seconds,
        }
    }

    fn project_key(&self, project: i64) -> String {
        format!("facts:{}|{project}", self.owner)
    }

    fn item_key(&self, path: &str, id: i64) -> String {
        format!("belongs:{}|{path}|{id}", self.owner)
    }

    /// The project's kept facts, if any are kept and still fresh.
    pub fn project(&self, project: i64) -> Option<ProjectMeta> {
        if self.ttl_seconds == 0 {
            return None;
        }
        let text = self.platform.store_get(&self.project_key(project)).ok()??;
        let facts = serde_json::from_str(&text).ok()?;
        Some(ProjectMeta::kept(facts))
    }

    /// Keeps what names are resolved against from a project's detail just read.
    pub fn keep_project(&self, project: i64, detail: &Value) {
        if self.ttl_seconds == 0 {
            return;
        }
        let facts = facts_of(detail).to_string();
        // Too large for the store (a project of thousands of members) or a store that fails:
        // the next call reads Taiga again.
        let _ = self
            .platform
            .store_set(&self.project_key(project), &facts, self.ttl_seconds);
    }

    /// Forgets a project's facts (Taiga refused one of them).
    pub fn forget_project(&self, project: i64) {
        let _ = self.platform.store_delete(&self.project_key(project));
    }

    /// The project of the item at `path`/`id` (`/userstories`, 7), if seen in an earlier answer.
    pub fn project_of(&self, path: &str, id: i64) -> Option<i64> {
        if self.ttl_seconds == 0 {
            return None;
        }
        let text = self.platform.store_get(&self.item_key(path, id)).ok()??;
        text.parse().ok()
    }

    /// Remembers the project of an item from Taiga's answer about it.
    pub fn learn_item(&self, path: &str, item: &Value) {
        let (Some(id), Some(project)) = (item["id"].as_i64(), item["project"].as_i64()) else {
            return;
        };
        if self.ttl_seconds == 0 || self.project_of(path, id) == Some(project) {
            return;
        }
        let _ = self
            .platform
            .store_set(&self.item_key(path, id), &project.to_string(), self.ttl_seconds);
    }
}

/// A project detail cut to what names are resolved against: each list's ids, names and slugs, and
/// the members' ids, usernames and full names.
pub fn facts_of(detail: &Value) -> Value {
    let pick = |entries: &Value, keys: &[&str]| -> Value {
        entries
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .map(|entry| {
                        let kept: Map<String, Value> = keys
                            .iter()
                            .filter_map(|key| entry.get(*key).map(|value| ((*key).to_owned(), value.clone())))
                            .collect();
                        Value::Object(kept)
                    })
                    .collect()
            })
            .map_or(Value::Array(Vec::new()), Value::Array)
    };
    let mut facts = Map::new();
    for list in LISTS {
        facts.insert(
            list.to_owned(),
            pick(
                &detail[list],
                &["id", "name", "slug", "order", "color", "is_closed", "is_archived"],
            ),
        );
    }
    facts.insert(
        "members".to_owned(),
        pick(&detail["members"], &["id", "username", "full_name", "role"]),
    );
    facts.insert("id".to_owned(), detail["id"].clone());
    json!(facts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakePlatform;

    fn session(user_id: i64, taiga_url: &str) -> Session {
        Session {
            username: format!("user{user_id}"),
            user_id,
            taiga_url: taiga_url.to_owned(),
            auth_token: String::new(),
            refresh_token: String::new(),
            created_at_ms: 0,
            expires_at_ms: 0,
            last_accessed_ms: 0,
            token_issued_ms: 0,
            deployment: false,
        }
    }

    fn detail() -> Value {
        json!({
            "id": 3,
            "name": "Secret project",
            "description": "not kept",
            "us_statuses": [{"id": 1, "name": "New", "slug": "new", "color": "#999", "order": 1}],
            "members": [{"id": 5, "username": "ana", "full_name": "Ana", "photo": "x", "role": 2}]
        })
    }

    #[test]
    fn facts_are_kept_per_taiga_user_and_origin() {
        let platform = FakePlatform::default();
        let ana = session(5, "https://taiga.example");
        Keeper::new(&platform, &ana, 300).keep_project(3, &detail());
        let kept = Keeper::new(&platform, &ana, 300).project(3).expect("kept");
        assert_eq!(kept.lookup("us_statuses", "status", &json!("new")).unwrap(), 1);
        assert!(kept.detail().get("description").is_none(), "only what names need");
        for other in [session(6, "https://taiga.example"), session(5, "https://other.example")] {
            assert!(
                Keeper::new(&platform, &other, 300).project(3).is_none(),
                "{other:?} sees nothing of another user's facts"
            );
        }
        assert!(
            Keeper::new(&platform, &ana, 0).project(3).is_none(),
            "a TTL of 0 keeps nothing"
        );
        Keeper::new(&platform, &ana, 300).forget_project(3);
        assert!(Keeper::new(&platform, &ana, 300).project(3).is_none());
    }

    #[test]
    fn an_item_s_project_is_learnt_from_an_answer() {
        let platform = FakePlatform::default();
        let ana = session(5, "https://taiga.example");
        let keeper = Keeper::new(&platform, &ana, 300);
        keeper.learn_item("/userstories", &json!({"id": 7, "project": 3}));
        keeper.learn_item("/tasks", &json!({"id": 8}));
        assert_eq!(keeper.project_of("/userstories", 7), Some(3));
        assert_eq!(keeper.project_of("/tasks", 7), None, "per kind of item");
        assert_eq!(
            keeper.project_of("/tasks", 8),
            None,
            "an answer without a project teaches nothing"
        );
        assert_eq!(
            Keeper::new(&platform, &session(6, "https://taiga.example"), 300).project_of("/userstories", 7),
            None
        );
    }
}
