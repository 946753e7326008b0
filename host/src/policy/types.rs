//! The policy's types and the bounds of its limits.

use std::ops::RangeInclusive;

use crate::network::{AllowList, Origin, Trust};

/// Memory of one call's sandbox, in MiB (`CALL_MEMORY_MB`, `call_memory_mb`).
pub const CALL_MEMORY_MB: RangeInclusive<u64> = 8..=4096;
/// Wall-clock time of one call, in seconds (`CALL_TIMEOUT`, `call_timeout_seconds`).
pub const CALL_TIMEOUT_SECONDS: RangeInclusive<u64> = 1..=3600;
/// Calls of one tenant at once (`max_concurrent_calls`).
pub const CONCURRENT_CALLS: RangeInclusive<u32> = 1..=10_000;

/// How a source names the settings of [`TaigaAccess`].
#[derive(Debug, Clone, Copy)]
pub struct Names {
    /// The server `login` uses by default.
    pub default_server: &'static str,
    /// More servers `login` may name.
    pub more_servers: &'static str,
    /// A PEM file of CAs to trust.
    pub ca_file: &'static str,
    /// The `type` sign-ins post to Taiga's `/auth`.
    pub login_type: &'static str,
    /// The deployment identity's username.
    pub username: &'static str,
    /// Its password.
    pub password: &'static str,
    /// A file holding its password.
    pub password_file: &'static str,
    /// A Taiga auth token to act with instead.
    pub token: &'static str,
    /// The refresh token that renews it.
    pub refresh_token: &'static str,
}

/// The settings as environment variables (and flags, and keys of the TOML file).
pub const ENVIRONMENT: Names = Names {
    default_server: "TAIGA_API_URL",
    more_servers: "TAIGA_ALLOWED_HOSTS",
    ca_file: "TAIGA_CA_FILE",
    login_type: "TAIGA_LOGIN_TYPE",
    username: "TAIGA_USERNAME",
    password: "TAIGA_PASSWORD",
    password_file: "TAIGA_PASSWORD_FILE",
    token: "TAIGA_TOKEN",
    refresh_token: "TAIGA_REFRESH_TOKEN",
};

/// The settings as keys of a `[[tenant]]` table.
pub const TENANT: Names = Names {
    default_server: "taiga_api_url",
    more_servers: "taiga_allowed_hosts",
    ca_file: "taiga_ca_file",
    login_type: "login_type",
    username: "taiga_username",
    password: "taiga_password",
    password_file: "taiga_password_file",
    token: "taiga_token",
    refresh_token: "taiga_refresh_token",
};

/// A setting that breaks the policy, named as its source names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting}: {message}")]
pub struct PolicyError {
    /// The setting at fault.
    pub setting: &'static str,
    /// What is wrong and what to do.
    pub message: String,
}

/// The Taiga servers calls may reach, and whose certificates they trust.
#[derive(Debug, Clone)]
pub struct TaigaAccess {
    /// The server `login` uses when it names none; always allowed.
    pub default_server: Origin,
    /// Every server calls may reach: the default one and the others.
    pub allow_list: AllowList,
    /// The CAs trusted for their TLS.
    pub trust: Trust,
}

/// A secret setting's value. Its `Debug` shows no part of it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The secret itself, for the component that signs in with it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// The Taiga user a deployment (or a tenant) acts as, for calls without a `session_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// Signs in with a username and password.
    Password {
        /// Taiga username or email.
        username: String,
        /// Its password.
        password: Secret,
    },
    /// Acts with a token Taiga issued.
    Token {
        /// Taiga's auth token.
        auth_token: Secret,
        /// The refresh token that renews it, when there is one.
        refresh_token: Option<Secret>,
    },
}

/// How sign-ins reach Taiga: the login type every sign-in posts, and the identity calls without a
/// `session_id` act as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    /// `normal`, or the type an auth plugin registers (`ldap`, `ad`).
    pub login_type: String,
    /// The deployment's (or tenant's) own Taiga user, if any.
    pub identity: Option<Identity>,
    /// The password file, when others than its owner may read it (the server warns at start, as
    /// ssh does for a key).
    pub exposed_password_file: Option<std::path::PathBuf>,
}

/// How a source names the tool-choice settings.
#[derive(Debug, Clone, Copy)]
pub struct ToolNames {
    /// The toolsets to offer.
    pub toolsets: &'static str,
    /// Single tools to offer besides them.
    pub tools: &'static str,
    /// Tools to leave out.
    pub exclude_tools: &'static str,
    /// Whether to offer read-only tools only.
    pub read_only: &'static str,
}

/// The tool choice as environment variables (and flags, and keys of the TOML file).
pub const ENVIRONMENT_TOOLS: ToolNames = ToolNames {
    toolsets: "TAIGA_TOOLSETS",
    tools: "TAIGA_TOOLS",
    exclude_tools: "TAIGA_EXCLUDE_TOOLS",
    read_only: "TAIGA_READ_ONLY",
};

/// The tool choice as keys of a `[[tenant]]` table.
pub const TENANT_TOOLS: ToolNames = ToolNames {
    toolsets: "toolsets",
    tools: "tools",
    exclude_tools: "exclude_tools",
    read_only: "read_only",
};

/// The tool choice as HTTP request headers, which can only narrow the operator's.
pub const HEADER_TOOLS: ToolNames = ToolNames {
    toolsets: "X-MCP-Toolsets",
    tools: "X-MCP-Tools",
    exclude_tools: "X-MCP-Exclude-Tools",
    read_only: "X-MCP-Readonly",
};

/// The tools every choice offers (unless it excludes them by name), read-only mode included:
/// without them no other tool works, and signing in and out changes only the bridge's own store.
pub const READ_ONLY_SESSION_TOOLS: &[&str] = &["login", "logout", "session_status"];

/// Which tools a deployment, a tenant or a request offers, as its settings say it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolChoice {
    /// Toolsets by name (`all`, `default` or a group); none given: `default`, unless `tools` names
    /// single tools.
    pub toolsets: Option<Vec<String>>,
    /// Single tools to offer besides the toolsets.
    pub tools: Vec<String>,
    /// Tools to leave out.
    pub exclude_tools: Vec<String>,
    /// Offer only tools that change nothing in Taiga.
    pub read_only: bool,
}

/// One tool of the component's catalogue, as the choice needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueEntry {
    /// Its name.
    pub name: String,
    /// Its toolset.
    pub toolset: String,
    /// Whether it only reads.
    pub read_only: bool,
    /// Whether the `default` choice offers it (the component says which).
    pub in_default: bool,
}

/// How many new links one caller, and one tenant, may open within one link lifetime. Each link
/// lives at most that long, so at most twice these are open at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkLimits {
    /// Per caller (client address, or the stdio client).
    pub per_caller: u32,
    /// Per tenant.
    pub per_tenant: u32,
}

/// MCP sessions of one tenant (`MCP_SESSIONS_PER_TENANT`, `max_mcp_sessions`).
pub const MCP_SESSIONS: std::ops::RangeInclusive<u32> = 1..=1_000_000;

/// Seconds a project's names are kept (`METADATA_TTL_SECONDS`, `metadata_ttl_seconds`): 0 keeps
/// none, a day at most.
pub const METADATA_TTL: std::ops::RangeInclusive<u64> = 0..=86_400;

/// What one client may make the HTTP transport hold, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Connections open at once, in all.
    pub connections: usize,
    /// Connections open at once from one client address (a trusted proxy is capped in all only).
    pub connections_per_client: usize,
    /// The longest wait for a request's headers, from the connection's start or its last request.
    pub header_timeout: std::time::Duration,
    /// The longest wait for a request's whole body.
    pub body_timeout: std::time::Duration,
    /// MCP sessions one tenant (or the single deployment) may hold, unless its entry says otherwise.
    pub sessions_per_tenant: usize,
    /// MCP sessions one client address may hold.
    pub sessions_per_client: usize,
    /// How long an MCP session may stay idle before it is closed.
    pub session_idle: std::time::Duration,
}

/// Which of MCP's primitives besides tools a deployment or tenant serves (`TAIGA_PRIMITIVES`,
/// `primitives`). Completions serve resource templates and prompts, so they follow either; skills
/// are read as resources, so they need resources. Read-only mode keeps them all: they only read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Primitives {
    /// `resources/list`, `resources/templates/list`, `resources/read`.
    pub resources: bool,
    /// `prompts/list`, `prompts/get`.
    pub prompts: bool,
    /// The skills extension: `skills/list`, `skills/get` and the `skill://` resources.
    pub skills: bool,
}

impl Default for Primitives {
    fn default() -> Self {
        Self {
            resources: true,
            prompts: true,
            skills: true,
        }
    }
}

impl Primitives {
    /// The names a setting takes.
    pub const NAMES: [&'static str; 3] = ["resources", "prompts", "skills"];

    /// Whether `method` is served (for `resources/read`, of `uri`).
    pub fn serves(&self, method: &str, uri: Option<&str>) -> bool {
        let skill = uri.is_some_and(|uri| uri.starts_with("skill://"));
        match method {
            "resources/read" if skill => self.skills,
            "resources/list" | "resources/templates/list" | "resources/read" => self.resources,
            "prompts/list" | "prompts/get" => self.prompts,
            "completion/complete" => self.resources || self.prompts,
            "skills/list" | "skills/get" => self.skills,
            _ => false,
        }
    }

    /// The capabilities `initialize` declares: tools, and the primitives served.
    #[allow(
        deprecated,
        reason = "2025-11-25 clients may set a logging level; SEP-2577 deprecates it"
    )]
    pub fn capabilities(&self) -> rmcp::model::ServerCapabilities {
        let builder = rmcp::model::ServerCapabilities::builder()
            .enable_tools()
            .enable_logging()
            .enable_completions()
            .enable_prompts()
            .enable_resources();
        let mut capabilities = if self.skills {
            builder.enable_skills().build()
        } else {
            builder.build()
        };
        if !self.resources {
            capabilities.resources = None;
        }
        if !self.prompts {
            capabilities.prompts = None;
        }
        if !self.resources && !self.prompts {
            capabilities.completions = None;
        }
        capabilities
    }
}
