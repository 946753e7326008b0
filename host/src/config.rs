//! Configuration from flags and environment variables. A bad value stops the server at start with a
//! message that names the variable.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::policy::{
    self, AccessSettings, HttpLimits, LinkLimits, Primitives, SignIn, SignInSettings, TaigaAccess, ToolChoice,
};

/// How MCP clients reach the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Transport {
    /// One client on stdin/stdout.
    Stdio,
    /// Streamable HTTP at `/mcp` on `--listen`, for many clients.
    Http,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `taiga-mcp`: an MCP server for Taiga. Every flag can also be set by the environment variable shown.
#[derive(Debug, Clone, Parser)]
#[command(name = "taiga-mcp", version, about, long_about = None)]
pub struct Cli {
    /// A TOML file of settings, keyed by these flags' names in snake_case (`taiga_api_url = "..."`).
    /// Environment variables and flags override it; an unknown key stops the server.
    #[arg(long, env = "TAIGA_MCP_CONFIG")]
    pub config: Option<PathBuf>,

    /// MCP transport.
    #[arg(long, env = "TAIGA_TRANSPORT", value_enum, default_value_t = Transport::Stdio)]
    pub transport: Transport,

    /// Address the HTTP transport listens on.
    #[arg(long, env = "TAIGA_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,

    /// Serve /healthz, /readyz and /metrics on this address: over stdio the only place they are
    /// served; over HTTP instead of the MCP listener, where tenants could read them.
    #[arg(long, env = "TAIGA_ADMIN_LISTEN")]
    pub admin_listen: Option<std::net::SocketAddr>,

    /// Host names the HTTP transport answers to (DNS-rebinding protection), comma-separated.
    #[arg(long, env = "HTTP_ALLOWED_HOSTS", default_value = "localhost,127.0.0.1,::1")]
    pub http_allowed_hosts: String,

    /// Browser origins allowed to call the HTTP transport, comma-separated (`:*` matches any port).
    /// Requests without an Origin header (non-browser clients) are always accepted.
    #[arg(
        long,
        env = "HTTP_ALLOWED_ORIGINS",
        default_value = "http://localhost:*,http://127.0.0.1:*,http://[::1]:*"
    )]
    pub http_allowed_origins: String,

    /// Serve Streamable HTTP without MCP sessions: every request stands alone and is answered with
    /// JSON (as SSE only while a call reports progress), so any replica can answer any request;
    /// clients cannot open a GET stream. Off: rmcp's sessions and SSE.
    #[arg(long, env = "HTTP_STATELESS", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub http_stateless: bool,

    /// Connections the HTTP transport holds at once; more are refused with 503 until one closes.
    /// Keep it below the open-file limit (`ulimit -n`), which the server raises to its hard limit at start.
    #[arg(long, env = "HTTP_MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub http_max_connections: u32,

    /// Connections one client address may hold at once (a trusted proxy counts only in HTTP_MAX_CONNECTIONS).
    #[arg(long, env = "HTTP_MAX_CONNECTIONS_PER_CLIENT", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub http_max_connections_per_client: u32,

    /// Seconds a client has to send a request's headers (and an idle connection stays open); then
    /// the connection is closed.
    #[arg(long, env = "HTTP_HEADER_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub http_header_timeout: u64,

    /// Seconds a client has to send a request's whole body; then it is answered 408 and closed.
    #[arg(long, env = "HTTP_BODY_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub http_body_timeout: u64,

    /// MCP sessions one tenant (or a deployment without tenants) may hold at once; a tenant's
    /// `max_mcp_sessions` overrides it. Each costs about 60 KB.
    #[arg(long, env = "MCP_SESSIONS_PER_TENANT", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub mcp_sessions_per_tenant: u32,

    /// MCP sessions one client address may hold at once.
    #[arg(long, env = "MCP_SESSIONS_PER_CLIENT", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub mcp_sessions_per_client: u32,

    /// Seconds an MCP session may stay idle (no request, no open stream) before it is closed; the
    /// client then initializes again.
    #[arg(long, env = "MCP_SESSION_IDLE_SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub mcp_session_idle_seconds: u64,

    /// A tenants file (TOML) for a shared deployment: per tenant an API key hash, the Taiga servers
    /// it may reach, its limits, quotas and session namespace. HTTP transport only; re-read on SIGHUP.
    #[arg(long, env = "TAIGA_MCP_TENANTS")]
    pub tenants: Option<PathBuf>,

    /// The URL users reach this server at, for the sign-in page's links (`https://mcp.example.com`).
    /// Default: `http://` and the --listen address when that is a loopback address (sign-in by page
    /// is off otherwise). Over stdio the page is on a loopback port instead.
    #[arg(long, env = "TAIGA_MCP_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// How long a sign-in page link works, in seconds; it works once.
    #[arg(long, env = "SIGN_IN_LINK_SECONDS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(2..=3600))]
    pub sign_in_link_seconds: u64,

    /// New sign-in page links one caller (client address) may open within one link lifetime.
    #[arg(long, env = "SIGN_IN_LINKS_PER_CALLER", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub sign_in_links_per_caller: u32,

    /// New sign-in page links one tenant may open within one link lifetime.
    #[arg(long, env = "SIGN_IN_LINKS_PER_TENANT", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub sign_in_links_per_tenant: u32,

    /// Serve the sign-in page, which takes passwords, over plain HTTP on an address other than
    /// loopback (a TAIGA_MCP_PUBLIC_URL of http://, or --listen on such an address without one).
    /// Off: such a deployment refuses that URL, or turns sign-in by page off.
    #[arg(long, env = "ALLOW_HTTP_SIGN_IN", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub allow_http_sign_in: bool,

    /// Proxy addresses whose X-Forwarded-For names the caller, comma-separated; none by default.
    #[arg(long, env = "TRUSTED_PROXIES", default_value = "", hide_default_value = true)]
    pub trusted_proxies: String,

    /// Taiga server used when `login` names no host. Its scheme, host and port are always allowed.
    #[arg(long, env = "TAIGA_API_URL", default_value = "https://api.taiga.io")]
    pub taiga_api_url: String,

    /// More Taiga servers `login` may name, comma-separated (e.g. `https://taiga.example.com,https://tree.example:8443`).
    #[arg(long, env = "TAIGA_ALLOWED_HOSTS", default_value = "", hide_default_value = true)]
    pub taiga_allowed_hosts: String,

    /// A PEM bundle of certificate authorities to trust for Taiga's TLS, besides the web PKI roots
    /// and the system's store (which honours SSL_CERT_FILE): for a Taiga whose certificate comes
    /// from your organisation's own CA.
    #[arg(long, env = "TAIGA_CA_FILE")]
    pub taiga_ca_file: Option<PathBuf>,

    /// The `type` every sign-in posts to Taiga's `/auth`: `normal`, or the type of the auth plugin
    /// your Taiga signs users in with (`ldap` for taiga-contrib-ldap-auth, `ad` and others for its forks).
    #[arg(long, env = "TAIGA_LOGIN_TYPE", default_value = "normal")]
    pub login_type: String,

    /// The Taiga user this server acts as, signed in with TAIGA_PASSWORD or TAIGA_PASSWORD_FILE: tools
    /// then need no login and no session_id. The password itself is read from the environment only.
    #[arg(long, env = "TAIGA_USERNAME")]
    pub taiga_username: Option<String>,

    /// A file holding TAIGA_USERNAME's password (a final line break is ignored).
    #[arg(long, env = "TAIGA_PASSWORD_FILE")]
    pub taiga_password_file: Option<PathBuf>,

    /// Toolsets to offer, comma-separated: `default` (a planning and triage day), `all`, or groups
    /// (session, projects, members, epics, stories, bulk, tasks, issues, sprints, wiki, comments).
    /// Default: `default`, or none when --tools names single tools.
    #[arg(long, env = "TAIGA_TOOLSETS")]
    pub toolsets: Option<String>,

    /// Single tools to offer besides the toolsets, comma-separated.
    #[arg(long, env = "TAIGA_TOOLS", default_value = "", hide_default_value = true)]
    pub tools: String,

    /// Tools to leave out, comma-separated.
    #[arg(long, env = "TAIGA_EXCLUDE_TOOLS", default_value = "", hide_default_value = true)]
    pub exclude_tools: String,

    /// MCP primitives served besides tools, comma-separated: `resources` (projects, items and wiki
    /// pages as resources, with completions), `prompts` (workflows, with completions), `skills` (the
    /// same workflows as Agent Skills; needs `resources`), or `none`.
    #[arg(long, env = "TAIGA_PRIMITIVES", default_value = "resources,prompts,skills")]
    pub primitives: String,

    /// Offer only tools that change nothing in Taiga (and login, logout, session_status); the others
    /// are absent from tools/list and refused if called.
    #[arg(long, env = "TAIGA_READ_ONLY", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub read_only: bool,

    /// The secrets, read from the environment only: a flag would show them to every user of the
    /// machine (`ps`), and the configuration file is not meant to hold them.
    #[arg(skip)]
    pub secrets: Secrets,

    /// Allow plain-HTTP Taiga servers. Off by default: credentials must not cross the network in clear.
    #[arg(long, env = "ALLOW_HTTP_TAIGA", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub allow_http_taiga: bool,

    /// Timeout of one Taiga request, in seconds.
    #[arg(long, env = "REQUEST_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub request_timeout: u64,

    /// Lifetime of a session, in seconds.
    #[arg(long, env = "SESSION_EXPIRY", default_value_t = 28_800, value_parser = clap::value_parser!(u64).range(1..=2_592_000))]
    pub session_expiry: u64,

    /// Sessions one Taiga user may hold per Taiga host; the oldest ends on the next login beyond it.
    #[arg(long, env = "MAX_SESSIONS_PER_USER", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_sessions_per_user: u32,

    /// Login attempts allowed per minute, per caller and per username.
    #[arg(long, env = "LOGIN_RATE_LIMIT", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub login_rate_limit: u32,

    /// How long a caller or username is locked out after exceeding LOGIN_RATE_LIMIT, in minutes.
    #[arg(long, env = "LOGIN_LOCKOUT_MINUTES", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=10_080))]
    pub login_lockout_minutes: u64,

    /// How long a project's statuses, priorities, members... and the project of an item already
    /// seen are kept between calls (per Taiga user), in seconds; 0 keeps none.
    #[arg(long, env = "METADATA_TTL_SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub metadata_ttl_seconds: u64,

    /// How often expired sessions are swept from the in-memory store, in seconds.
    #[arg(long, env = "SESSION_CLEANUP_INTERVAL", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub session_cleanup_interval: u64,

    /// Wall-clock limit of one tool call (all its Taiga requests together), in seconds. Default: twice REQUEST_TIMEOUT.
    #[arg(long, env = "CALL_TIMEOUT", value_parser = clap::value_parser!(u64).range(policy::CALL_TIMEOUT_SECONDS))]
    pub call_timeout: Option<u64>,

    /// Largest Taiga response body a call reads, in MiB; larger answers are refused.
    #[arg(long, env = "MAX_RESPONSE_MB", default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub max_response_mb: u64,

    /// Largest attachment a call uploads or reads back, in KiB. A file travels base64-encoded in a
    /// JSON-RPC message, and Streamable HTTP takes messages up to 4 MiB: 2048 KiB at most.
    #[arg(long, env = "MAX_ATTACHMENT_KB", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=2048))]
    pub max_attachment_kb: u64,

    /// Where sessions and login counters live: `memory` (this process only) or a Redis URL
    /// (`redis://host:6379/0`) shared by several replicas.
    #[arg(long, env = "SESSION_STORE", default_value = "memory")]
    pub session_store: String,

    /// Memory limit of one tool call's sandbox, in MiB.
    #[arg(long, env = "CALL_MEMORY_MB", default_value_t = 64, value_parser = clap::value_parser!(u64).range(policy::CALL_MEMORY_MB))]
    pub call_memory_mb: u64,

    /// Calls that can run at once, all tenants together: the number of sandboxes kept ready. A call
    /// beyond them waits for one to free, within CALL_TIMEOUT. Each reserves 4 GiB of address space
    /// (not memory) and keeps up to 4 MiB of the memory it used mapped between calls.
    #[arg(long, env = "CALL_SLOTS", default_value_t = 128, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub call_slots: u32,

    /// Log level: error, warn, info, debug or trace (or a tracing filter).
    #[arg(long, env = "LOG_LEVEL", default_value = "info")]
    pub log_level: String,

    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Load this component instead of the one built into the binary.
    #[arg(long, env = "TAIGA_COMPONENT")]
    pub component: Option<PathBuf>,

    /// Where compiled components are cached. Default: `$XDG_CACHE_HOME/taiga-mcp` or `~/.cache/taiga-mcp`.
    #[arg(long, env = "TAIGA_MCP_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Do not read or write the compiled-component cache.
    #[arg(long, env = "TAIGA_MCP_NO_CACHE", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub no_cache: bool,
}

/// The sign-in secrets, from the environment: `TAIGA_PASSWORD`, `TAIGA_TOKEN`, `TAIGA_REFRESH_TOKEN`.
#[derive(Clone, Default)]
pub struct Secrets {
    /// `TAIGA_PASSWORD`.
    pub password: Option<String>,
    /// `TAIGA_TOKEN`.
    pub token: Option<String>,
    /// `TAIGA_REFRESH_TOKEN`.
    pub refresh_token: Option<String>,
}

impl Secrets {
    /// The secrets this process's environment holds.
    pub fn from_environment() -> Self {
        let read = |name: &str| std::env::var(name).ok();
        Self {
            password: read(policy::ENVIRONMENT.password),
            token: read(policy::ENVIRONMENT.token),
            refresh_token: read(policy::ENVIRONMENT.refresh_token),
        }
    }
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("password", &self.password.is_some())
            .field("token", &self.token.is_some())
            .field("refresh_token", &self.refresh_token.is_some())
            .finish()
    }
}

/// A configuration error that names the variable at fault.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    /// The environment variable (and flag) at fault.
    pub variable: &'static str,
    /// What is wrong with it.
    pub message: String,
}

/// Where the sign-in page (URL elicitation) is served, if anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInPage {
    /// On a loopback listener opened while links are open (stdio).
    Loopback,
    /// On the HTTP listener, reached at `base`, answering the `hosts` names.
    Listener {
        /// The URL users reach the server at.
        base: String,
        /// The `Host` names the page answers to.
        hosts: Vec<String>,
    },
    /// Not served, for this reason (logged at start).
    Off(String),
}

/// Where sessions live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreBackend {
    /// In this process.
    Memory,
    /// In Redis at this URL.
    Redis(String),
}

/// The settings of a TOML configuration file as `(argument id, value)` pairs. Keys are the flags'
/// names in snake_case; arrays become comma-separated lists. Unknown keys are refused by name.
pub fn file_settings(text: &str) -> Result<Vec<(String, String)>, ConfigError> {
    use clap::CommandFactory;
    let table: toml::Table = text.parse().map_err(|err: toml::de::Error| ConfigError {
        variable: "TAIGA_MCP_CONFIG",
        message: format!("not valid TOML: {}", err.message()),
    })?;
    let command = Cli::command();
    let mut settings = Vec::new();
    for (key, value) in table {
        let known = command
            .get_arguments()
            .any(|argument| argument.get_id().as_str() == key && key != "config" && argument.get_env().is_some());
        if !known {
            return Err(ConfigError {
                variable: "TAIGA_MCP_CONFIG",
                message: format!("unknown setting `{key}`"),
            });
        }
        let text = match value {
            toml::Value::String(text) => text,
            toml::Value::Integer(number) => number.to_string(),
            toml::Value::Boolean(flag) => flag.to_string(),
            toml::Value::Array(items) => items
                .iter()
                .map(|item| item.as_str().map_or_else(|| item.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(","),
            other => {
                return Err(ConfigError {
                    variable: "TAIGA_MCP_CONFIG",
                    message: format!(
                        "`{key}` must be a string, number, boolean or list, not {}",
                        other.type_str()
                    ),
                });
            }
        };
        settings.push((key, text));
    }
    Ok(settings)
}

/// Why the command line could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ArgsError {
    /// The configuration file is missing or wrong.
    #[error("configuration error: {0}")]
    File(String),
    /// A flag, variable or file value is wrong (clap's own message and exit code).
    #[error(transparent)]
    Clap(#[from] clap::Error),
}

/// The `--config` path (or `TAIGA_MCP_CONFIG`), looked up before the other arguments are parsed,
/// since the file's settings become their defaults.
fn config_path(args: &[std::ffi::OsString]) -> Option<PathBuf> {
    let mut args = args.iter().skip(1);
    while let Some(arg) = args.next() {
        let text = arg.to_string_lossy();
        if text == "--config" {
            return args.next().map(PathBuf::from);
        }
        if let Some(path) = text.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os("TAIGA_MCP_CONFIG").map(PathBuf::from)
}

/// Reads the flags and the environment, with the configuration file's settings beneath them as
/// defaults: a flag wins over its environment variable, which wins over the file, which wins over
/// the built-in default. Each value is checked by the same parser wherever it comes from.
pub fn parse_args(args: Vec<std::ffi::OsString>) -> Result<Cli, ArgsError> {
    use clap::{CommandFactory, FromArgMatches};
    let mut command = Cli::command();
    if let Some(path) = config_path(&args) {
        let text = std::fs::read_to_string(&path)
            .map_err(|err| ArgsError::File(format!("TAIGA_MCP_CONFIG: {}: {err}", path.display())))?;
        let settings = file_settings(&text).map_err(|err| ArgsError::File(format!("{err} (in {})", path.display())))?;
        for (id, value) in settings {
            command = command.mut_arg(id, |argument| argument.default_value(value));
        }
    }
    let matches = command.try_get_matches_from(args)?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    cli.secrets = Secrets::from_environment();
    Ok(cli)
}

fn list(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').map(str::trim).filter(|entry| !entry.is_empty())
}

/// Checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// MCP transport.
    pub transport: Transport,
    /// HTTP listen address.
    pub listen: std::net::SocketAddr,
    /// Operational endpoints address in stdio mode.
    pub admin_listen: Option<std::net::SocketAddr>,
    /// Accepted Host names.
    pub http_allowed_hosts: Vec<String>,
    /// Accepted Origins.
    pub http_allowed_origins: Vec<String>,
    /// Whether Streamable HTTP is served without MCP sessions.
    pub http_stateless: bool,
    /// Trusted proxies.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// What one client may make the HTTP transport hold.
    pub http_limits: HttpLimits,
    /// The tenants file, if the deployment is shared.
    pub tenants: Option<PathBuf>,
    /// Where the sign-in page is reached over HTTP.
    pub sign_in_page: SignInPage,
    /// How long a sign-in link works.
    pub sign_in_link: Duration,
    /// New sign-in links per caller and per tenant within one link lifetime.
    pub sign_in_links: LinkLimits,
    /// Whether plain-HTTP Taiga servers may be named.
    pub allow_http_taiga: bool,
    /// Session store backend.
    pub session_store: StoreBackend,
    /// The Taiga servers calls may reach and the CAs trusted for them.
    pub taiga: TaigaAccess,
    /// The login type, and the identity calls without a session act as.
    pub sign_in: SignIn,
    /// Which tools are offered, as configured (checked against the component's catalogue at start).
    pub tool_choice: ToolChoice,
    /// The primitives served besides tools.
    pub primitives: Primitives,
    /// Timeout of one Taiga request.
    pub request_timeout: Duration,
    /// Session lifetime in seconds.
    pub session_expiry_seconds: u64,
    /// Sessions per user and host.
    pub max_sessions_per_user: u32,
    /// Login attempts a minute.
    pub login_rate_limit: u32,
    /// Lockout after too many attempts.
    pub login_lockout: Duration,
    /// Seconds project facts are kept (0: none).
    pub metadata_ttl_seconds: u64,
    /// Sweep interval of the in-memory store.
    pub session_cleanup_interval: Duration,
    /// Wall-clock limit of one call.
    pub call_timeout: Duration,
    /// Largest Taiga response read, in bytes.
    pub max_response_bytes: u64,
    /// Largest attachment uploaded or read back, in bytes.
    pub max_attachment_bytes: u64,
    /// Memory limit per call, in bytes.
    pub call_memory_bytes: usize,
    /// Calls that can run at once.
    pub call_slots: u32,
    /// Log filter.
    pub log_level: String,
    /// Log format.
    pub log_format: LogFormat,
    /// Component override.
    pub component: Option<PathBuf>,
    /// Cache directory, or none when caching is off.
    pub cache_dir: Option<PathBuf>,
}

impl Cli {
    /// Checks every value; the first bad one stops the server.
    pub fn into_config(self) -> Result<Config, ConfigError> {
        let more_servers: Vec<&str> = list(&self.taiga_allowed_hosts).collect();
        let access = TaigaAccess::parse(
            &policy::ENVIRONMENT,
            AccessSettings {
                default_server: &self.taiga_api_url,
                more_servers: &more_servers,
                allow_http: self.allow_http_taiga,
                ca_file: self.taiga_ca_file.as_deref(),
            },
            None,
        )
        .map_err(|err| ConfigError {
            variable: err.setting,
            message: err.message,
        })?;
        let sign_in = SignIn::parse(
            &policy::ENVIRONMENT,
            SignInSettings {
                login_type: Some(&self.login_type),
                username: self.taiga_username.as_deref(),
                password: self.secrets.password.as_deref(),
                password_file: self.taiga_password_file.as_deref(),
                token: self.secrets.token.as_deref(),
                refresh_token: self.secrets.refresh_token.as_deref(),
            },
        )
        .map_err(|err| ConfigError {
            variable: err.setting,
            message: err.message,
        })?;
        if self.tenants.is_some() && sign_in.identity.is_some() {
            return Err(ConfigError {
                variable: if self.taiga_username.is_some() {
                    "TAIGA_USERNAME"
                } else {
                    "TAIGA_TOKEN"
                },
                message: "with a tenants file, give each tenant its own identity there (taiga_username, taiga_token)"
                    .to_owned(),
            });
        }
        // tracing-subscriber's filter parser panics on some non-ASCII text (found by the property
        // test below); a filter is ASCII, so anything else is refused before it is parsed.
        if !self.log_level.is_ascii() {
            return Err(ConfigError {
                variable: "LOG_LEVEL",
                message: "use error, warn, info, debug or trace, or a tracing filter (ASCII only)".to_owned(),
            });
        }
        tracing_subscriber::EnvFilter::try_new(&self.log_level).map_err(|err| ConfigError {
            variable: "LOG_LEVEL",
            message: err.to_string(),
        })?;
        let cache_dir = if self.no_cache {
            None
        } else {
            self.cache_dir.or_else(default_cache_dir)
        };
        let session_store = match self.session_store.as_str() {
            "memory" => StoreBackend::Memory,
            url if url.starts_with("redis://") || url.starts_with("rediss://") => StoreBackend::Redis(url.to_owned()),
            other => {
                return Err(ConfigError {
                    variable: "SESSION_STORE",
                    message: format!("`{other}` is neither `memory` nor a redis:// URL"),
                });
            }
        };
        let trusted_proxies = list(&self.trusted_proxies)
            .map(|entry| {
                entry.parse().map_err(|_| ConfigError {
                    variable: "TRUSTED_PROXIES",
                    message: format!("`{entry}` is not an IP address"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        for origin in list(&self.http_allowed_origins) {
            if !origin.starts_with("http://") && !origin.starts_with("https://") {
                return Err(ConfigError {
                    variable: "HTTP_ALLOWED_ORIGINS",
                    message: format!("`{origin}` must start with http:// or https://"),
                });
            }
        }
        let http_allowed_hosts: Vec<String> = list(&self.http_allowed_hosts).map(str::to_owned).collect();
        let sign_in_page = match self.transport {
            Transport::Stdio => SignInPage::Loopback,
            Transport::Http => sign_in_page(
                self.public_url.as_deref(),
                self.listen,
                &http_allowed_hosts,
                self.allow_http_sign_in,
            )?,
        };
        if self.tenants.is_some() && self.transport != Transport::Http {
            return Err(ConfigError {
                variable: "TAIGA_MCP_TENANTS",
                message: "tenants need the HTTP transport (--transport http)".to_owned(),
            });
        }
        Ok(Config {
            transport: self.transport,
            listen: self.listen,
            admin_listen: self.admin_listen,
            http_allowed_hosts,
            http_allowed_origins: list(&self.http_allowed_origins).map(str::to_owned).collect(),
            http_stateless: self.http_stateless,
            trusted_proxies,
            tenants: self.tenants,
            sign_in_page,
            sign_in_link: Duration::from_secs(self.sign_in_link_seconds),
            http_limits: HttpLimits {
                connections: self.http_max_connections as usize,
                connections_per_client: self.http_max_connections_per_client as usize,
                header_timeout: Duration::from_secs(self.http_header_timeout),
                body_timeout: Duration::from_secs(self.http_body_timeout),
                sessions_per_tenant: self.mcp_sessions_per_tenant as usize,
                sessions_per_client: self.mcp_sessions_per_client as usize,
                session_idle: Duration::from_secs(self.mcp_session_idle_seconds),
            },
            sign_in_links: LinkLimits {
                per_caller: self.sign_in_links_per_caller,
                per_tenant: self.sign_in_links_per_tenant,
            },
            allow_http_taiga: self.allow_http_taiga,
            session_store,
            taiga: access,
            sign_in,
            primitives: Primitives::parse("TAIGA_PRIMITIVES", self.primitives.split(',')).map_err(|err| {
                ConfigError {
                    variable: err.setting,
                    message: err.message,
                }
            })?,
            tool_choice: ToolChoice::from_lists(
                self.toolsets.as_deref(),
                Some(&self.tools),
                Some(&self.exclude_tools),
                self.read_only,
            ),
            request_timeout: Duration::from_secs(self.request_timeout),
            session_expiry_seconds: self.session_expiry,
            max_sessions_per_user: self.max_sessions_per_user,
            login_rate_limit: self.login_rate_limit,
            login_lockout: Duration::from_secs(self.login_lockout_minutes * 60),
            metadata_ttl_seconds: self.metadata_ttl_seconds,
            session_cleanup_interval: Duration::from_secs(self.session_cleanup_interval),
            call_timeout: Duration::from_secs(self.call_timeout.unwrap_or(self.request_timeout * 2)),
            max_response_bytes: self.max_response_mb * 1024 * 1024,
            max_attachment_bytes: self.max_attachment_kb * 1024,
            call_memory_bytes: usize::try_from(self.call_memory_mb * 1024 * 1024).unwrap_or(usize::MAX),
            call_slots: self.call_slots,
            log_level: self.log_level,
            log_format: self.log_format,
            component: self.component,
            cache_dir,
        })
    }
}

/// Where the HTTP transport serves the sign-in page. A page that takes passwords is served over
/// plain HTTP only on loopback, or where the operator says so (`ALLOW_HTTP_SIGN_IN`, for a proxy
/// that terminates TLS on the same host): a public URL of `http://` elsewhere stops the server;
/// without a public URL, a listen address nobody can open (`0.0.0.0`) or one off loopback turns
/// sign-in by page off.
fn sign_in_page(
    public_url: Option<&str>,
    listen: std::net::SocketAddr,
    allowed_hosts: &[String],
    allow_http: bool,
) -> Result<SignInPage, ConfigError> {
    let fail = |message: String| ConfigError {
        variable: "TAIGA_MCP_PUBLIC_URL",
        message,
    };
    let Some(url) = public_url else {
        let ip = listen.ip();
        if ip.is_unspecified() || (!ip.is_loopback() && !allow_http) {
            return Ok(SignInPage::Off(format!(
                "the sign-in page would be at http://{listen}, which a browser cannot open safely; set \
                 TAIGA_MCP_PUBLIC_URL to the https:// URL users reach this server at"
            )));
        }
        return Ok(SignInPage::Listener {
            base: format!("http://{listen}"),
            hosts: allowed_hosts.to_vec(),
        });
    };
    let parsed = url::Url::parse(url).map_err(|err| fail(format!("`{url}` is not a URL: {err}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(fail(format!(
            "`{url}` must be an http(s) URL without a query or fragment"
        )));
    }
    let host = parsed.host_str().unwrap_or_default().to_owned();
    let loopback = host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if parsed.scheme() == "http" && !loopback && !allow_http {
        return Err(fail(format!(
            "`{url}` would send passwords typed on the sign-in page in clear; use https://, or set \
             ALLOW_HTTP_SIGN_IN=true if a proxy on this host terminates TLS"
        )));
    }
    let mut hosts = allowed_hosts.to_vec();
    hosts.push(host);
    Ok(SignInPage::Listener {
        base: url.trim_end_matches('/').to_owned(),
        hosts,
    })
}

fn default_cache_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .map(|dir| dir.join("taiga-mcp"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, ConfigError> {
        Cli::try_parse_from(std::iter::once("taiga-mcp").chain(args.iter().copied()))
            .expect("flags parse")
            .into_config()
    }

    #[test]
    fn defaults_are_https_taiga_io() {
        let config = parse(&[]).unwrap();
        assert_eq!(config.taiga.default_server.to_string(), "https://api.taiga.io");
        assert_eq!(config.request_timeout, Duration::from_secs(30));
        assert_eq!(config.session_expiry_seconds, 28_800);
        assert_eq!(config.call_timeout, Duration::from_secs(60));
        assert_eq!(config.login_lockout, Duration::from_secs(900));
        assert_eq!(config.max_response_bytes, 16 * 1024 * 1024);
        assert_eq!(config.max_attachment_bytes, 1024 * 1024);
    }

    #[test]
    fn plain_http_needs_the_opt_in_and_names_the_variable() {
        let err = parse(&["--taiga-api-url", "http://127.0.0.1:8000"]).unwrap_err();
        assert_eq!(err.variable, "TAIGA_API_URL");
        assert!(parse(&["--taiga-api-url", "http://127.0.0.1:8000", "--allow-http-taiga"]).is_ok());
        let err = parse(&["--taiga-allowed-hosts", "https://a.example, http://b.example"]).unwrap_err();
        assert_eq!(err.variable, "TAIGA_ALLOWED_HOSTS");
    }

    fn with_file(text: &str, args: &[&str]) -> Result<Cli, ArgsError> {
        static FILES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let number = FILES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("taiga-mcp-config-{}-{number}.toml", std::process::id()));
        std::fs::write(&path, text).unwrap();
        let mut argv: Vec<std::ffi::OsString> = vec!["taiga-mcp".into(), "--config".into(), path.clone().into()];
        argv.extend(args.iter().map(Into::into));
        let parsed = parse_args(argv);
        let _ = std::fs::remove_file(&path);
        parsed
    }

    #[test]
    fn a_config_file_sets_defaults_below_the_flags() {
        let cli = with_file(
            "taiga_api_url = \"https://file.example\"\nrequest_timeout = 7\nallow_http_taiga = true\n\
             taiga_allowed_hosts = [\"https://a.example\", \"https://b.example\"]\n",
            &["--request-timeout", "9"],
        )
        .unwrap();
        assert_eq!(cli.taiga_api_url, "https://file.example");
        assert_eq!(cli.request_timeout, 9, "the flag wins over the file");
        assert!(cli.allow_http_taiga);
        assert_eq!(cli.taiga_allowed_hosts, "https://a.example,https://b.example");
        assert_eq!(
            cli.session_expiry, 28_800,
            "built-in defaults stay where the file is silent"
        );
    }

    #[test]
    fn a_config_file_is_checked_like_flags() {
        let error = with_file("request_timeout = 0\n", &[]).unwrap_err();
        assert!(matches!(&error, ArgsError::Clap(_)), "{error}");
        assert!(error.to_string().contains("request-timeout"), "{error}");
        let error = with_file("taiga_api_ulr = \"x\"\n", &["--listen", "127.0.0.1:1"]).unwrap_err();
        assert!(error.to_string().contains("unknown setting `taiga_api_ulr`"), "{error}");
        let error = with_file(
            "config = \"other.toml\"\n",
            &["--transport", "stdio", "--listen", "127.0.0.1:2"],
        )
        .unwrap_err();
        assert!(error.to_string().contains("unknown setting `config`"), "{error}");
        let missing = parse_args(vec!["taiga-mcp".into(), "--config=/nonexistent/taiga-mcp.toml".into()]).unwrap_err();
        assert!(
            missing
                .to_string()
                .starts_with("configuration error: TAIGA_MCP_CONFIG: /nonexistent/taiga-mcp.toml")
        );
    }

    #[test]
    fn taiga_may_be_served_under_a_path() {
        let config = parse(&["--taiga-api-url", "https://example.com/taiga/api/v1"]).unwrap();
        assert_eq!(config.taiga.default_server.to_string(), "https://example.com/taiga");
        let allowed = |url: &str| config.taiga.allow_list.matching(&url.parse().unwrap()).is_some();
        assert!(allowed("https://example.com/taiga/api/v1/auth"));
        assert!(!allowed("https://example.com/api/v1/auth"));
        let err = parse(&["--taiga-api-url", "https://example.com/taiga/../x"]).unwrap_err();
        assert_eq!(err.variable, "TAIGA_API_URL");
    }

    #[test]
    fn a_ca_file_that_cannot_be_read_names_its_variable() {
        let err = parse(&["--taiga-ca-file", "/nonexistent/ca.pem"]).unwrap_err();
        assert_eq!(err.variable, "TAIGA_CA_FILE");
        assert!(err.message.contains("/nonexistent/ca.pem"), "{}", err.message);
    }

    #[test]
    fn bad_values_name_their_variable() {
        assert_eq!(
            parse(&["--taiga-api-url", "ftp://x"]).unwrap_err().variable,
            "TAIGA_API_URL"
        );
        assert_eq!(
            parse(&["--taiga-allowed-hosts", "https://a@b"]).unwrap_err().variable,
            "TAIGA_ALLOWED_HOSTS"
        );
        assert_eq!(parse(&["--log-level", "loud=="]).unwrap_err().variable, "LOG_LEVEL");
        assert_eq!(parse(&["--log-level", "\u{b}¹="]).unwrap_err().variable, "LOG_LEVEL");
        assert_eq!(
            parse(&["--session-store", "postgres://x"]).unwrap_err().variable,
            "SESSION_STORE"
        );
        assert_eq!(
            parse(&["--trusted-proxies", "10.0.0.1,proxy"]).unwrap_err().variable,
            "TRUSTED_PROXIES"
        );
        assert_eq!(
            parse(&["--http-allowed-origins", "example.com"]).unwrap_err().variable,
            "HTTP_ALLOWED_ORIGINS"
        );
        assert_eq!(
            parse(&["--trusted-proxies", "10.0.0.1, ::1"])
                .unwrap()
                .trusted_proxies
                .len(),
            2
        );
        assert_eq!(
            parse(&["--session-store", "redis://127.0.0.1:6379/0"])
                .unwrap()
                .session_store,
            StoreBackend::Redis("redis://127.0.0.1:6379/0".into())
        );
        assert!(Cli::try_parse_from(["taiga-mcp", "--request-timeout", "0"]).is_err());
        assert_eq!(
            parse(&["--tenants", "tenants.toml"]).unwrap_err().variable,
            "TAIGA_MCP_TENANTS"
        );
        assert!(parse(&["--tenants", "tenants.toml", "--transport", "http"]).is_ok());
    }

    #[test]
    fn config_files_map_keys_to_arguments_and_refuse_unknown_ones() {
        let settings = file_settings(
            "taiga_api_url = \"https://taiga.example\"\nrequest_timeout = 10\nallow_http_taiga = false\n\
             taiga_allowed_hosts = [\"https://a.example\", \"https://b.example\"]\n",
        )
        .unwrap();
        assert!(settings.contains(&("taiga_api_url".into(), "https://taiga.example".into())));
        assert!(settings.contains(&("request_timeout".into(), "10".into())));
        assert!(settings.contains(&("allow_http_taiga".into(), "false".into())));
        assert!(settings.contains(&(
            "taiga_allowed_hosts".into(),
            "https://a.example,https://b.example".into()
        )));
        let err = file_settings("taiga_api_ulr = \"x\"").unwrap_err();
        assert!(err.message.contains("taiga_api_ulr"));
        assert!(file_settings("config = \"other.toml\"").is_err());
        assert!(file_settings("not toml at all").is_err());
        assert!(file_settings("request_timeout = { a = 1 }").is_err());
    }

    #[test]
    fn a_page_that_takes_passwords_is_plain_http_only_on_loopback_or_when_allowed() {
        let page = |args: &[&str]| parse(&[&["--transport", "http"], args].concat()).map(|config| config.sign_in_page);
        let err = page(&["--public-url", "http://mcp.example.com"]).unwrap_err();
        assert_eq!(err.variable, "TAIGA_MCP_PUBLIC_URL");
        assert!(err.message.contains("ALLOW_HTTP_SIGN_IN"), "{}", err.message);
        assert!(matches!(
            page(&["--public-url", "http://mcp.example.com", "--allow-http-sign-in"]),
            Ok(SignInPage::Listener { .. })
        ));
        let Ok(SignInPage::Listener { base, hosts }) = page(&["--public-url", "https://mcp.example.com/"]) else {
            panic!("https is served");
        };
        assert_eq!(base, "https://mcp.example.com");
        assert!(hosts.contains(&"mcp.example.com".to_owned()) && hosts.contains(&"localhost".to_owned()));
        assert!(matches!(
            page(&["--public-url", "http://127.0.0.1:9000"]),
            Ok(SignInPage::Listener { .. })
        ));
        assert!(matches!(
            page(&["--listen", "127.0.0.1:9000"]),
            Ok(SignInPage::Listener { .. })
        ));
        for listen in ["0.0.0.0:8080", "[::]:8080"] {
            assert!(matches!(
                page(&["--listen", listen, "--allow-http-sign-in"]),
                Ok(SignInPage::Off(_))
            ));
        }
        assert!(matches!(page(&["--listen", "192.0.2.10:8080"]), Ok(SignInPage::Off(_))));
        assert!(matches!(
            page(&["--listen", "192.0.2.10:8080", "--allow-http-sign-in"]),
            Ok(SignInPage::Listener { .. })
        ));
        assert_eq!(parse(&[]).unwrap().sign_in_page, SignInPage::Loopback);
        assert_eq!(
            parse(&[]).unwrap().sign_in_links,
            LinkLimits {
                per_caller: 5,
                per_tenant: 100
            }
        );
    }

    #[test]
    fn neither_the_flags_nor_the_configuration_show_a_secret() {
        let mut cli = Cli::try_parse_from(["taiga-mcp", "--taiga-username", "bot"]).unwrap();
        cli.secrets = Secrets {
            password: Some("pw-hunter2".to_owned()),
            token: None,
            refresh_token: None,
        };
        let shown = format!("{cli:?} {:?}", cli.clone().into_config().unwrap());
        let mut tokens = Cli::try_parse_from(["taiga-mcp"]).unwrap();
        tokens.secrets = Secrets {
            password: None,
            token: Some("eyJ-token-hunter2".to_owned()),
            refresh_token: Some("eyJ-refresh-hunter2".to_owned()),
        };
        let shown = format!("{shown} {tokens:?} {:?}", tokens.clone().into_config().unwrap());
        assert!(shown.contains("bot"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn allowed_hosts_join_the_default() {
        let config = parse(&["--taiga-allowed-hosts", "https://a.example,https://b.example:8443"]).unwrap();
        assert_eq!(config.taiga.allow_list.origins().len(), 3);
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        fn value() -> impl Strategy<Value = String> {
            prop_oneof![
                ".{0,30}",
                any::<i64>().prop_map(|n| n.to_string()),
                Just("https://example.com/taiga".to_owned()),
                Just("redis://127.0.0.1:1/0".to_owned()),
                Just("10.0.0.1,proxy".to_owned()),
                Just("http://127.0.0.1:8000".to_owned()),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

            /// Any value of any flag is taken or refused with an error naming the flag or the
            /// variable; nothing panics.
            #[test]
            fn any_flag_value_is_taken_or_refused_by_name(
                flag in prop::sample::select(vec![
                    "--taiga-api-url", "--taiga-allowed-hosts", "--request-timeout", "--session-store",
                    "--trusted-proxies", "--http-allowed-origins", "--log-level", "--call-slots",
                    "--max-response-mb", "--allow-http-taiga", "--transport", "--listen",
                ]),
                value in value(),
            ) {
                let argv = vec!["taiga-mcp".into(), format!("{flag}={value}").into()];
                match parse_args(argv) {
                    Ok(cli) => {
                        if let Err(err) = cli.into_config() {
                            prop_assert!(!err.message.is_empty());
                            prop_assert!(err.variable.chars().all(|c| c.is_ascii_uppercase() || c == '_'));
                        }
                    }
                    Err(err) => prop_assert!(err.to_string().contains(flag.trim_start_matches("--")), "{}", err),
                }
            }

            /// Any configuration file is read or refused with an error naming TAIGA_MCP_CONFIG.
            #[test]
            fn any_config_file_is_read_or_refused_by_name(
                entries in prop::collection::vec((prop::sample::select(vec!["taiga_api_url", "request_timeout", "allow_http_taiga", "nope", "config", "listen"]), value()), 0..5),
            ) {
                let text: String = entries.iter().map(|(key, value)| format!("{key} = {value:?}\n")).collect();
                if let Err(err) = file_settings(&text) {
                    prop_assert_eq!(err.variable, "TAIGA_MCP_CONFIG");
                }
                let _ = file_settings(&entries.iter().map(|(key, value)| format!("{key} = {value}\n")).collect::<String>());
            }
        }
    }
}
