//! Tenants of a shared deployment (`--tenants tenants.toml`): who may call (API keys, stored as
//! SHA-256 hashes and compared in constant time), which Taiga servers each may reach, the limits
//! every one of its calls runs under, its quotas, and its own session namespace.
//!
//! The file is read at start and again on SIGHUP; a file that does not check out is refused as a
//! whole and the tenants already loaded stay in force. Calls in flight keep the tenant they started
//! with.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::network::Trust;
use crate::policy::{
    self, AccessSettings, CatalogueEntry, Primitives, SignIn, SignInSettings, TaigaAccess, ToolChoice,
};
use crate::sandbox::{CallPolicy, Identity, Limits, Settings};

/// Calls a minute a tenant gets when the file names no quota.
pub const DEFAULT_CALLS_PER_MINUTE: u32 = 600;
/// Concurrent calls a tenant gets when the file names no limit.
pub const DEFAULT_MAX_CONCURRENT_CALLS: u32 = 8;

/// One `[[tenant]]` table of the file. It may hold a password and tokens: no `Debug`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantEntry {
    id: String,
    api_key_sha256: String,
    taiga_api_url: String,
    #[serde(default)]
    taiga_allowed_hosts: Vec<String>,
    taiga_ca_file: Option<PathBuf>,
    namespace: Option<String>,
    call_memory_mb: Option<u64>,
    call_timeout_seconds: Option<u64>,
    calls_per_minute: Option<u32>,
    max_concurrent_calls: Option<u32>,
    max_mcp_sessions: Option<u32>,
    metadata_ttl_seconds: Option<u64>,
    login_type: Option<String>,
    taiga_username: Option<String>,
    taiga_password: Option<String>,
    taiga_password_file: Option<PathBuf>,
    taiga_token: Option<String>,
    taiga_refresh_token: Option<String>,
    toolsets: Option<Vec<String>>,
    tools: Option<Vec<String>>,
    exclude_tools: Option<Vec<String>>,
    read_only: Option<bool>,
    primitives: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantsFile {
    #[serde(default)]
    tenant: Vec<TenantEntry>,
}

/// What a tenant gets where its entry is silent: the deployment's own settings and limits.
#[derive(Clone)]
pub struct TenantDefaults {
    /// Settings passed to the component (the Taiga URL is replaced by the tenant's).
    pub settings: Settings,
    /// Limits of one call.
    pub limits: Limits,
    /// Whether plain-HTTP Taiga servers may be named (`ALLOW_HTTP_TAIGA`).
    pub allow_http_taiga: bool,
    /// The CAs trusted for Taiga's TLS (`TAIGA_CA_FILE`), where a tenant names no file of its own.
    pub trust: Trust,
    /// The tools offered where a tenant chooses none (`TAIGA_TOOLSETS` and the rest).
    pub tool_choice: ToolChoice,
    /// The component's tools, which the choices name.
    pub catalogue: Arc<Vec<CatalogueEntry>>,
    /// The primitives served where a tenant chooses none (`TAIGA_PRIMITIVES`).
    pub primitives: Primitives,
}

/// The tools a tenant offers: its choice, less `login` and `logout` when it acts as its own Taiga
/// identity (its callers cannot sign in as anyone else, nor sign it out).
pub fn offered_tools(
    choice: &ToolChoice,
    names: &policy::ToolNames,
    catalogue: &[CatalogueEntry],
    own_identity: bool,
) -> Result<BTreeSet<String>, policy::PolicyError> {
    let mut offered = choice.resolve(names, catalogue)?;
    if own_identity {
        offered.remove("login");
        offered.remove("logout");
    }
    Ok(offered)
}

/// How much a tenant may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Calls a minute, as a token bucket that holds one minute's worth.
    pub calls_per_minute: u32,
    /// Calls running at once.
    pub max_concurrent_calls: u32,
}

/// Which quota refused a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaExceeded {
    /// Too many calls running at once.
    Concurrency {
        /// The limit.
        limit: u32,
    },
    /// Too many calls this minute.
    Rate {
        /// The limit.
        limit: u32,
        /// When a call would next be admitted.
        retry_after: Duration,
    },
}

impl QuotaExceeded {
    /// The quota's name, as the error details and metrics give it.
    pub fn quota(&self) -> &'static str {
        match self {
            Self::Concurrency { .. } => "max_concurrent_calls",
            Self::Rate { .. } => "calls_per_minute",
        }
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled: Instant,
}

/// The admission state of a tenant's quotas. It outlives reloads that leave the quota unchanged.
#[derive(Debug)]
pub struct Gate {
    quota: Quota,
    running: Arc<Semaphore>,
    bucket: Mutex<Bucket>,
}

/// A call admitted under a tenant's quota; it counts as running until dropped.
#[derive(Debug)]
pub struct Admission {
    _running: OwnedSemaphorePermit,
}

impl Gate {
    /// A gate with a full bucket.
    pub fn new(quota: Quota) -> Self {
        Self {
            quota,
            running: Arc::new(Semaphore::new(quota.max_concurrent_calls as usize)),
            bucket: Mutex::new(Bucket {
                tokens: f64::from(quota.calls_per_minute),
                refilled: Instant::now(),
            }),
        }
    }

    /// Admits one call at `now`, or says which quota refuses it. A refused call uses up nothing.
    pub fn admit(&self, now: Instant) -> Result<Admission, QuotaExceeded> {
        let permit = self
            .running
            .clone()
            .try_acquire_owned()
            .map_err(|_| QuotaExceeded::Concurrency {
                limit: self.quota.max_concurrent_calls,
            })?;
        let per_second = f64::from(self.quota.calls_per_minute) / 60.0;
        let mut bucket = self.bucket.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let elapsed = now.saturating_duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(f64::from(self.quota.calls_per_minute));
        bucket.refilled = now;
        if bucket.tokens < 1.0 {
            return Err(QuotaExceeded::Rate {
                limit: self.quota.calls_per_minute,
                retry_after: Duration::from_secs_f64((1.0 - bucket.tokens) / per_second),
            });
        }
        bucket.tokens -= 1.0;
        Ok(Admission { _running: permit })
    }
}

/// One tenant: its identity, its policy and its quota.
pub struct Tenant {
    /// Stable id, shown in metrics and the audit log.
    pub id: String,
    /// Session-store namespace; no other tenant shares it.
    pub namespace: String,
    /// Settings its calls pass to the component.
    pub settings: Settings,
    /// The sandbox policy of its calls.
    pub policy: Arc<CallPolicy>,
    /// Its quota's admission state; `None` for the unmetered single tenant of a plain deployment.
    pub gate: Option<Arc<Gate>>,
    /// The tools it offers, by name.
    pub tools: BTreeSet<String>,
    /// MCP sessions it may hold over HTTP, when its entry sets it (else the deployment's cap).
    pub max_mcp_sessions: Option<usize>,
    /// The primitives it serves besides tools.
    pub primitives: Primitives,
    key_hash: [u8; 32],
}

/// Settings as `Debug` shows them: the Taiga server, the login type and the identity's kind, never
/// its secrets (wasmtime's generated `Debug` of the WIT records prints every field).
struct ShownSettings<'a>(&'a Settings);

impl std::fmt::Debug for ShownSettings<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let identity = match &self.0.identity {
            Some(Identity::Password(credentials)) => format!("password of {}", credentials.username),
            Some(Identity::Token(_)) => "token".to_owned(),
            None => "none".to_owned(),
        };
        f.debug_struct("Settings")
            .field("default_taiga_url", &self.0.default_taiga_url)
            .field("login_type", &self.0.login_type)
            .field("metadata_ttl_seconds", &self.0.metadata_ttl_seconds)
            .field("identity", &identity)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Tenant {
    /// Everything but the settings' secrets: the identity shows only its kind.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenant")
            .field("id", &self.id)
            .field("namespace", &self.namespace)
            .field("settings", &ShownSettings(&self.settings))
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for TenantDefaults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantDefaults")
            .field("settings", &ShownSettings(&self.settings))
            .field("limits", &self.limits)
            .field("allow_http_taiga", &self.allow_http_taiga)
            .field("tool_choice", &self.tool_choice)
            .finish_non_exhaustive()
    }
}

impl Tenant {
    /// The one tenant of a deployment without a tenants file: everything the deployment allows,
    /// without quota, in the `default` namespace.
    pub fn single(settings: Settings, policy: CallPolicy, tools: BTreeSet<String>, primitives: Primitives) -> Self {
        Self {
            primitives,
            id: "default".to_owned(),
            namespace: "default".to_owned(),
            settings,
            policy: Arc::new(policy),
            gate: None,
            tools,
            max_mcp_sessions: None,
            key_hash: [0; 32],
        }
    }
}

/// Warns that a password file others may read holds a Taiga password (the server goes on).
pub fn warn_exposed(setting: &str, path: &std::path::Path) {
    tracing::warn!(
        setting,
        path = %path.display(),
        "the password file may be read by other users of this machine; chmod 600 it"
    );
}

/// SHA-256 of an API key, as the tenants file stores it.
pub fn hash_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

fn parse_hash(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return None;
    }
    let mut hash = [0u8; 32];
    for (index, byte) in hash.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[index * 2..index * 2 + 2], 16).ok()?;
    }
    Some(hash)
}

fn valid_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-' || byte == b'_')
}

/// Parses and checks a tenants file. Every error names the tenant and the setting at fault.
/// Gates of `previous` tenants whose id and quota are unchanged carry over.
fn parse(text: &str, defaults: &TenantDefaults, previous: &[Arc<Tenant>]) -> Result<Vec<Arc<Tenant>>, String> {
    let file: TenantsFile =
        toml::from_str(text).map_err(|err| format!("not a valid tenants file: {}", err.message()))?;
    if file.tenant.is_empty() {
        return Err("no [[tenant]] is defined".to_owned());
    }
    let mut ids = HashSet::new();
    let mut namespaces = HashSet::new();
    let mut hashes = HashSet::new();
    let previous_gates: HashMap<&str, &Arc<Gate>> = previous
        .iter()
        .filter_map(|tenant| tenant.gate.as_ref().map(|gate| (tenant.id.as_str(), gate)))
        .collect();
    let mut tenants = Vec::with_capacity(file.tenant.len());
    for entry in file.tenant {
        let id = entry.id;
        if !valid_name(&id) {
            return Err(format!(
                "tenant id `{id}`: use 1 to 64 lowercase letters, digits, `-` or `_`"
            ));
        }
        let fail = |setting: &str, message: String| format!("tenant `{id}`: {setting}: {message}");
        if !ids.insert(id.clone()) {
            return Err(fail("id", "defined twice".to_owned()));
        }
        let key_hash = parse_hash(&entry.api_key_sha256).ok_or_else(|| {
            fail(
                "api_key_sha256",
                "must be 64 hexadecimal digits (sha256sum of the key)".to_owned(),
            )
        })?;
        if !hashes.insert(key_hash) {
            return Err(fail("api_key_sha256", "another tenant has the same key".to_owned()));
        }
        let namespace = entry.namespace.unwrap_or_else(|| id.clone());
        if !valid_name(&namespace) {
            return Err(fail(
                "namespace",
                "use 1 to 64 lowercase letters, digits, `-` or `_`".to_owned(),
            ));
        }
        if !namespaces.insert(namespace.clone()) {
            return Err(fail("namespace", format!("`{namespace}` belongs to another tenant")));
        }
        let more_servers: Vec<&str> = entry.taiga_allowed_hosts.iter().map(String::as_str).collect();
        let access = TaigaAccess::parse(
            &policy::TENANT,
            AccessSettings {
                default_server: &entry.taiga_api_url,
                more_servers: &more_servers,
                allow_http: defaults.allow_http_taiga,
                ca_file: entry.taiga_ca_file.as_deref(),
            },
            Some(&defaults.trust),
        )
        .map_err(|err| fail(err.setting, err.message))?;
        let mut limits = defaults.limits;
        if let Some(megabytes) = entry.call_memory_mb {
            let megabytes = policy::within("call_memory_mb", megabytes, &policy::CALL_MEMORY_MB)
                .map_err(|err| fail(err.setting, err.message))?;
            limits.memory_bytes = usize::try_from(megabytes * 1024 * 1024).unwrap_or(usize::MAX);
        }
        if let Some(seconds) = entry.call_timeout_seconds {
            let seconds = policy::within("call_timeout_seconds", seconds, &policy::CALL_TIMEOUT_SECONDS)
                .map_err(|err| fail(err.setting, err.message))?;
            limits.call_timeout = Duration::from_secs(seconds);
        }
        let quota = Quota {
            calls_per_minute: entry.calls_per_minute.unwrap_or(DEFAULT_CALLS_PER_MINUTE),
            max_concurrent_calls: entry.max_concurrent_calls.unwrap_or(DEFAULT_MAX_CONCURRENT_CALLS),
        };
        if quota.calls_per_minute == 0 {
            return Err(fail("calls_per_minute", "must be at least 1".to_owned()));
        }
        policy::within(
            "max_concurrent_calls",
            quota.max_concurrent_calls,
            &policy::CONCURRENT_CALLS,
        )
        .map_err(|err| fail(err.setting, err.message))?;
        let max_mcp_sessions = entry
            .max_mcp_sessions
            .map(|sessions| policy::within("max_mcp_sessions", sessions, &policy::MCP_SESSIONS))
            .transpose()
            .map_err(|err| fail(err.setting, err.message))?
            .map(|sessions| sessions as usize);
        let metadata_ttl_seconds = entry
            .metadata_ttl_seconds
            .map(|seconds| policy::within("metadata_ttl_seconds", seconds, &policy::METADATA_TTL))
            .transpose()
            .map_err(|err| fail(err.setting, err.message))?
            .unwrap_or(defaults.settings.metadata_ttl_seconds);
        let gate = match previous_gates.get(id.as_str()) {
            Some(gate) if gate.quota == quota => Arc::clone(gate),
            _ => Arc::new(Gate::new(quota)),
        };
        let sign_in = SignIn::parse(
            &policy::TENANT,
            SignInSettings {
                login_type: Some(entry.login_type.as_deref().unwrap_or(&defaults.settings.login_type)),
                username: entry.taiga_username.as_deref(),
                password: entry.taiga_password.as_deref(),
                password_file: entry.taiga_password_file.as_deref(),
                token: entry.taiga_token.as_deref(),
                refresh_token: entry.taiga_refresh_token.as_deref(),
            },
        )
        .map_err(|err| fail(err.setting, err.message))?;
        if let Some(path) = &sign_in.exposed_password_file {
            warn_exposed(&format!("tenant `{id}`: taiga_password_file"), path);
        }
        let settings = Settings {
            default_taiga_url: access.default_server.to_string(),
            login_type: sign_in.login_type,
            identity: sign_in.identity.as_ref().map(Identity::from),
            metadata_ttl_seconds,
            ..defaults.settings.clone()
        };
        let choice = match (&entry.toolsets, &entry.tools, &entry.exclude_tools, entry.read_only) {
            (None, None, None, None) => defaults.tool_choice.clone(),
            _ => ToolChoice {
                toolsets: entry.toolsets.clone(),
                tools: entry.tools.clone().unwrap_or_default(),
                exclude_tools: entry.exclude_tools.clone().unwrap_or_default(),
                read_only: entry.read_only.unwrap_or(defaults.tool_choice.read_only),
            },
        };
        let tools = offered_tools(
            &choice,
            &policy::TENANT_TOOLS,
            &defaults.catalogue,
            settings.identity.is_some(),
        )
        .map_err(|err| fail(err.setting, err.message))?;
        let primitives = match &entry.primitives {
            Some(names) => Primitives::parse("primitives", names.iter().map(String::as_str))
                .map_err(|err| fail(err.setting, err.message))?,
            None => defaults.primitives,
        };
        tenants.push(Arc::new(Tenant {
            tools,
            primitives,
            policy: Arc::new(CallPolicy::new(id.clone(), limits, access.allow_list, &access.trust)),
            id,
            namespace,
            settings,
            gate: Some(gate),
            max_mcp_sessions,
            key_hash,
        }));
    }
    Ok(tenants)
}

/// The tenants in force and the file they come from.
#[derive(Debug)]
pub struct Tenants {
    path: PathBuf,
    defaults: TenantDefaults,
    current: RwLock<Arc<Vec<Arc<Tenant>>>>,
}

impl Tenants {
    /// Reads and checks the tenants file at `path`.
    pub fn load(path: &Path, defaults: TenantDefaults) -> Result<Self, String> {
        let text = read(path)?;
        let tenants = parse(&text, &defaults, &[])?;
        Ok(Self {
            path: path.to_owned(),
            defaults,
            current: RwLock::new(Arc::new(tenants)),
        })
    }

    fn snapshot(&self) -> Arc<Vec<Arc<Tenant>>> {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The tenants in force.
    pub fn all(&self) -> Vec<Arc<Tenant>> {
        self.snapshot().as_ref().clone()
    }

    /// Reads the file again. On success the new tenants serve every call that starts from now on
    /// and their number is returned; on failure nothing changes.
    pub fn reload(&self) -> Result<usize, String> {
        let text = read(&self.path)?;
        let tenants = parse(&text, &self.defaults, &self.snapshot())?;
        let count = tenants.len();
        *self.current.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(tenants);
        Ok(count)
    }

    /// The tenant whose API key an `Authorization: Bearer <key>` header carries. Every tenant's
    /// hash is compared, each in constant time, so the time taken says nothing about the key.
    pub fn authenticate(&self, authorization: Option<&str>) -> Option<Arc<Tenant>> {
        let (scheme, key) = authorization?.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let presented = hash_key(key.trim());
        let mut found = None;
        for tenant in self.snapshot().iter() {
            if bool::from(tenant.key_hash.ct_eq(&presented)) {
                found = Some(Arc::clone(tenant));
            }
        }
        found
    }
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|err| format!("{}: {err}", path.display()))
}

#[cfg(test)]
mod tests;
