//! The simulated database: users, tokens, projects with their template lookups, memberships.

use std::collections::{BTreeMap, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::model::{DirectoryEntry, EpicLink, Item, ItemKind, Membership, Project, User, gravatar, now, slugify};
use crate::template;

/// The whole simulated server state.
#[derive(Debug, Default)]
pub struct State {
    /// Users by id.
    pub users: Vec<User>,
    /// Access token → user id.
    pub access_tokens: HashMap<String, i64>,
    /// Refresh token → user id; a used one is removed (rotation).
    pub refresh_tokens: HashMap<String, i64>,
    /// Projects.
    pub projects: Vec<Project>,
    /// Memberships and invitations.
    pub memberships: Vec<Membership>,
    /// Project items by kind and id.
    pub items: BTreeMap<(ItemKind, i64), Item>,
    /// The last `ref` handed out per project.
    pub refs: HashMap<i64, i64>,
    /// Epic ↔ user story links.
    pub epic_links: Vec<EpicLink>,
    /// Wiki links, as Taiga renders them.
    pub wiki_links: Vec<serde_json::Value>,
    /// Attachments, as Taiga renders them plus a private `_kind` tag.
    pub attachments: Vec<serde_json::Value>,
    /// The bytes of each attachment, by its `attached_file` path under `/media/`.
    pub attachment_files: HashMap<String, Vec<u8>>,
    /// Custom attribute definitions, as Taiga renders them plus a private `_kind` tag.
    pub custom_attributes: Vec<serde_json::Value>,
    /// Custom attribute values per item: `{attribute id: value}` and their own version.
    pub custom_values: BTreeMap<(ItemKind, i64), (serde_json::Map<String, Value>, i64)>,
    /// Taiga's `MEDIA_URL`, when attachments are served from elsewhere than `/media/` of the
    /// request's origin (`Mount::media_url`).
    pub media_url: Option<String>,
    /// The login `type` of the auth plugin installed besides `normal`, if any (`ldap`).
    pub auth_plugin: Option<String>,
    /// The plugin's directory (LDAP, Active Directory): users it signs in who may not be Taiga
    /// users yet; the plugin registers them on their first sign-in.
    pub directory: Vec<DirectoryEntry>,
    next_ids: HashMap<&'static str, i64>,
    token_counter: u64,
}

impl State {
    /// Moves a model's sequence so that the next id it hands out is `next`.
    pub fn set_next_id(&mut self, model: &'static str, next: i64) {
        self.next_ids.insert(model, next - 1);
    }

    /// The next id of a model, per model as in PostgreSQL sequences.
    pub fn next_id(&mut self, model: &'static str) -> i64 {
        let next = self.next_ids.entry(model).or_insert(0);
        *next += 1;
        *next
    }

    /// A fresh token shaped and sized like the HS256 JWTs Taiga 6.10 issues (about 200
    /// characters): header, claims (`token_type`, `exp`, `jti`, `user_id`) and a 32-byte signature,
    /// each base64url. Only its being unique matters to the simulator; its size matters to whoever
    /// stores it.
    pub fn new_token(&mut self, kind: &str, user_id: i64) -> String {
        self.token_counter += 1;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let lifetime = if kind == "access" { 86_400 } else { 8 * 86_400 };
        let jti = format!("{:016x}{:016x}", self.token_counter, now.as_nanos() as u64);
        let claims = format!(
            r#"{{"token_type":"{kind}","exp":{},"jti":"{jti}","user_id":{user_id}}}"#,
            now.as_secs() + lifetime
        );
        let signature: Vec<u8> = jti.bytes().rev().chain(jti.bytes()).take(32).collect();
        format!(
            "{}.{}.{}",
            base64url(br#"{"typ":"JWT","alg":"HS256"}"#),
            base64url(claims.as_bytes()),
            base64url(&signature)
        )
    }

    /// Issues an access and a refresh token for a user.
    pub fn issue_tokens(&mut self, user_id: i64) -> (String, String) {
        let access = self.new_token("access", user_id);
        let refresh = self.new_token("refresh", user_id);
        self.access_tokens.insert(access.clone(), user_id);
        self.refresh_tokens.insert(refresh.clone(), user_id);
        (access, refresh)
    }

    /// Adds a user.
    pub fn add_user(&mut self, username: &str, email: &str, password: &str, full_name: &str) -> i64 {
        let id = self.next_id("user");
        self.users.push(User {
            id,
            username: username.to_owned(),
            email: email.to_owned(),
            password: password.to_owned(),
            full_name: full_name.to_owned(),
            verified_email: true,
            date_joined: now(),
            is_superuser: username == "admin",
        });
        id
    }

    /// A user by id.
    pub fn user(&self, id: i64) -> Option<&User> {
        self.users.iter().find(|user| user.id == id)
    }

    /// A user by username or email, as taiga-back's `get_user_by_username_or_email` finds it:
    /// `username__iexact` or `email__iexact`, which PostgreSQL compares as `UPPER(a) = UPPER(b)`
    /// (in a UTF-8 locale the dotless `ı` is `I`, so `admın` finds `admin`; the attack run of
    /// issue 27 saw a real Taiga 6.10 accept it).
    pub fn user_by_login(&self, login: &str) -> Option<&User> {
        let login = login.to_uppercase();
        self.users
            .iter()
            .find(|user| user.username.to_uppercase() == login || user.email.to_uppercase() == login)
    }

    /// A project by id.
    pub fn project(&self, id: i64) -> Option<&Project> {
        self.projects.iter().find(|project| project.id == id)
    }

    /// Renames (`name` given) or deletes one entry of a project's lookup list (`us_statuses`,
    /// `priorities`...), as a project admin does in Taiga's settings between two calls of a client.
    /// Whether the entry was there.
    pub fn edit_lookup(&mut self, project: i64, list: &str, id: i64, name: Option<&str>) -> bool {
        let Some(project) = self.projects.iter_mut().find(|p| p.id == project) else {
            return false;
        };
        let lookups = &mut project.lookups;
        let entries = match list {
            "us_statuses" => &mut lookups.us_statuses,
            "task_statuses" => &mut lookups.task_statuses,
            "issue_statuses" => &mut lookups.issue_statuses,
            "epic_statuses" => &mut lookups.epic_statuses,
            "priorities" => &mut lookups.priorities,
            "severities" => &mut lookups.severities,
            "issue_types" => &mut lookups.issue_types,
            _ => return false,
        };
        let Some(index) = entries.iter().position(|entry| entry["id"] == id) else {
            return false;
        };
        match name {
            Some(name) => {
                entries[index]["name"] = name.into();
                entries[index]["slug"] = crate::model::slugify(name).into();
            }
            None => {
                entries.remove(index);
            }
        }
        true
    }

    /// Creates a project from a template, with the owner as an admin member (role product-owner).
    pub fn create_project(
        &mut self,
        owner: i64,
        name: &str,
        description: &str,
        is_private: bool,
        template_id: i64,
    ) -> i64 {
        let id = self.next_id("project");
        let owner_name = self.user(owner).map(|user| user.username.clone()).unwrap_or_default();
        let base = slugify(&format!("{owner_name}-{name}"));
        let mut slug = base.clone();
        let mut suffix = 0;
        while self.projects.iter().any(|project| project.slug == slug) {
            suffix += 1;
            slug = format!("{base}-{suffix}");
        }
        let lookups = template::apply(|model| self.next_id(model), id, template_id);
        let owner_role = lookups.role_id("product-owner");
        let created = now();
        self.projects.push(Project {
            id,
            name: name.to_owned(),
            slug,
            description: description.to_owned(),
            owner,
            is_private,
            creation_template: template_id,
            created_date: created.clone(),
            modified_date: created.clone(),
            lookups,
            tags: Vec::new(),
        });
        let membership = self.next_id("membership");
        self.memberships.push(Membership {
            id: membership,
            project: id,
            user: Some(owner),
            role: owner_role,
            is_admin: true,
            email: None,
            created_at: created,
        });
        id
    }

    /// The active membership of a user in a project.
    pub fn membership(&self, project: i64, user: i64) -> Option<&Membership> {
        self.memberships
            .iter()
            .find(|membership| membership.project == project && membership.user == Some(user))
    }

    /// Whether `user` (none: anonymous) may see `project`.
    pub fn can_view(&self, project: &Project, user: Option<i64>) -> bool {
        !project.is_private || user.is_some_and(|user| self.membership(project.id, user).is_some())
    }

    /// The owner summary Taiga embeds as `owner` and `*_extra_info`.
    pub fn user_summary(&self, id: i64) -> Value {
        match self.user(id) {
            Some(user) => json!({
                "username": user.username,
                "full_name_display": user.full_name,
                "photo": null,
                "big_photo": null,
                "gravatar_id": gravatar(&user.email),
                "is_active": true,
                "id": user.id,
            }),
            None => Value::Null,
        }
    }
}

/// Base64url without padding, as JWTs use it.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, byte| (n << 8) | u32::from(*byte)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_matches_rfc_4648_without_padding() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(b"foob"), "Zm9vYg");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn tokens_are_shaped_and_sized_like_taigas() {
        let mut state = State::default();
        let token = state.new_token("access", 5);
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0], "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9");
        assert!((180..=240).contains(&token.len()), "{} characters", token.len());
        assert_ne!(token, state.new_token("access", 5));
    }
}
