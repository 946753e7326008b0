//! The simulated database: users, tokens, projects with their template lookups, memberships.

use std::collections::{BTreeMap, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::items::{EpicLink, Item, Kind};
use crate::template::{self, Lookups};

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
    pub items: BTreeMap<(Kind, i64), Item>,
    /// The last `ref` handed out per project.
    pub refs: HashMap<i64, i64>,
    /// Epic ↔ user story links.
    pub epic_links: Vec<EpicLink>,
    /// Wiki links, as Taiga renders them.
    pub wiki_links: Vec<serde_json::Value>,
    /// Attachments, as Taiga renders them plus a private `_kind` tag.
    pub attachments: Vec<serde_json::Value>,
    next_ids: HashMap<&'static str, i64>,
    token_counter: u64,
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

    /// A user by username or email, case-insensitively.
    pub fn user_by_login(&self, login: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|user| user.username.eq_ignore_ascii_case(login) || user.email.eq_ignore_ascii_case(login))
    }

    /// A project by id.
    pub fn project(&self, id: i64) -> Option<&Project> {
        self.projects.iter().find(|project| project.id == id)
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
        let lookups = template::apply(self, id, template_id);
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

/// A stable 32-hex-digit stand-in for an email's gravatar hash.
pub fn gravatar(email: &str) -> String {
    let mut hash: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for byte in email.to_lowercase().bytes() {
        hash = (hash ^ u128::from(byte)).wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
    }
    format!("{hash:032x}")
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
