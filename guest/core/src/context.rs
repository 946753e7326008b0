//! The per-call context the host passes in: who calls, in which namespace, under which settings.

/// Settings the host decides per deployment or per tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Taiga origin used when `login` names no host.
    pub default_taiga_url: String,
    /// Lifetime of a session, in seconds.
    pub session_ttl_seconds: u64,
    /// Sessions one Taiga user may hold per host.
    pub max_sessions_per_user: u32,
    /// Login attempts a minute per caller and per username.
    pub login_rate_limit: u32,
    /// Lockout after too many attempts, in seconds.
    pub login_lockout_seconds: u64,
    /// Timeout of one Taiga request, in milliseconds.
    pub request_timeout_ms: u32,
    /// Largest Taiga response body read, in bytes.
    pub max_response_bytes: u64,
    /// Largest attachment uploaded or read back, in bytes.
    pub max_attachment_bytes: u64,
    /// The `type` every sign-in posts to Taiga's `/auth`: `normal` or an auth plugin's.
    pub login_type: String,
    /// How long a project's names and an item's project are kept between calls, in seconds (0: not kept).
    pub metadata_ttl_seconds: u64,
    /// The deployment's own Taiga identity, for calls without a `session_id`.
    pub identity: Option<Identity>,
}

/// The deployment's own Taiga identity. Its `Debug` never shows a secret.
#[derive(Clone, PartialEq, Eq)]
pub enum Identity {
    /// A username (or email) and password.
    Password {
        /// Taiga username or email.
        username: String,
        /// Its password.
        password: String,
    },
    /// A token Taiga issued, with the refresh token that renews it when there is one.
    Token {
        /// Taiga's `auth_token`.
        auth_token: String,
        /// Taiga's `refresh` token.
        refresh_token: Option<String>,
    },
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Password { username, .. } => f
                .debug_struct("Password")
                .field("username", username)
                .finish_non_exhaustive(),
            Self::Token { refresh_token, .. } => f
                .debug_struct("Token")
                .field("renewable", &refresh_token.is_some())
                .finish_non_exhaustive(),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            default_taiga_url: "https://api.taiga.io".to_owned(),
            session_ttl_seconds: 28_800,
            max_sessions_per_user: 5,
            login_rate_limit: 5,
            login_lockout_seconds: 900,
            request_timeout_ms: 30_000,
            max_response_bytes: 16 * 1024 * 1024,
            max_attachment_bytes: 1024 * 1024,
            login_type: "normal".to_owned(),
            metadata_ttl_seconds: 300,
            identity: None,
        }
    }
}

/// Who is calling and under which settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallContext {
    /// Caller identity for rate limiting.
    pub caller: String,
    /// Tenant namespace (the host scopes the store to it).
    pub namespace: String,
    /// Settings for this call.
    pub settings: Settings,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identity_never_shows_its_secrets() {
        let password = Identity::Password {
            username: "ana".to_owned(),
            password: "hunter2-secret".to_owned(),
        };
        let token = Identity::Token {
            auth_token: "eyJ-token-secret".to_owned(),
            refresh_token: Some("eyJ-refresh-secret".to_owned()),
        };
        let shown = format!("{password:?} {token:?} {:?}", Settings::default());
        assert!(shown.contains("ana") && shown.contains("renewable: true"), "{shown}");
        assert!(!shown.contains("secret"), "{shown}");
    }
}
