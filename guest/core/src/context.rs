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
