//! The engine and its limits: loads the component (through a compiled-code cache), pre-instantiates
//! it once, and runs every call in a fresh `Store` with a memory limit, an epoch deadline and a
//! wall-clock timeout. A trapped store is dropped with its instance; the next call starts clean.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::{Semaphore, SemaphorePermit};
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{
    Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, StoreLimits, StoreLimitsBuilder,
};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::metrics::Metrics;
use crate::network::{AllowList, PolicyHooks, TaigaClient, Trust, system_resolver};
use crate::policy;
use crate::store::{SessionStore, StoreError};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "taiga-tools",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "wasi:http": wasmtime_wasi_http::p2::bindings::http,
            "wasi:io": wasmtime_wasi::p2::bindings::io,
            "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
            "wasi:random": wasmtime_wasi::p2::bindings::random,
        },
        require_store_data_send: true,
    });
}

pub use bindings::exports::taiga::mcp::primitives::RequestError;
pub use bindings::taiga::mcp::notices::Level as NoticeLevel;
use bindings::taiga::mcp::types::StoreError as WitStoreError;
pub use bindings::taiga::mcp::types::{
    Annotations, CallContext, CallError, CallResult, Credentials, Identity, Settings, TokenPair, ToolDescription,
};
use bindings::{TaigaTools, TaigaToolsPre};

/// The component built with this binary.
const EMBEDDED_COMPONENT: &[u8] = include_bytes!(env!("TAIGA_COMPONENT_WASM_PATH"));

/// How often the epoch advances: how long a guest computes before it yields to the runtime.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Linear memory a slot keeps mapped between calls, reset in place (only its dirtied pages, where
/// the kernel supports `PAGEMAP_SCAN`) instead of being unmapped: calls then neither fault those
/// pages in again nor shoot down TLBs on other cores when the memory is released.
const KEEP_RESIDENT_BYTES: usize = 4 * 1024 * 1024;

/// The instance allocator: `slots` pre-reserved sandboxes, reused call after call. A slot reserves
/// address space for the largest memory a call may be given (`CALL_MEMORY_MB` tops out at 4 GiB,
/// wasm32's limit), not memory. The multipliers cover the core instances, memories and tables a
/// component built by `wit-component` carries beside its main module.
fn pooling(slots: u32) -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(slots)
        .total_core_instances(slots.saturating_mul(8))
        .total_memories(slots.saturating_mul(2))
        .total_tables(slots.saturating_mul(4))
        .total_stacks(slots)
        .max_memory_size(4 << 30)
        .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
        .pagemap_scan(Enabled::Auto);
    pool
}

/// Limits applied to every call.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Linear memory a call may grow to, in bytes.
    pub memory_bytes: usize,
    /// Wall-clock time a call may take, waiting on Taiga included.
    pub call_timeout: Duration,
    /// Cap on any single outbound request's timeouts.
    pub request_timeout: Duration,
}

/// The policy one call runs under: whose call it is, its limits and the origins it may reach.
#[derive(Debug, Clone)]
pub struct CallPolicy {
    /// The tenant the call belongs to, for metrics.
    pub tenant: String,
    /// Memory and time limits.
    pub limits: Limits,
    /// The Taiga origins the call may reach.
    pub allow_list: Arc<AllowList>,
    /// Keep-alive connections to those origins, shared by the calls under this policy.
    pub client: TaigaClient,
}

impl CallPolicy {
    /// A policy with its own pool of connections to the allowed origins, trusting `trust`'s CAs.
    pub fn new(tenant: impl Into<String>, limits: Limits, allow_list: AllowList, trust: &Trust) -> Self {
        Self {
            tenant: tenant.into(),
            limits,
            allow_list: Arc::new(allow_list),
            client: TaigaClient::new(system_resolver(), trust, limits.request_timeout),
        }
    }
}

/// Why a call produced no tool result.
#[derive(Debug, thiserror::Error)]
pub enum CallFailure {
    /// The component refused to dispatch it (unknown tool, arguments not an object).
    #[error("{0:?}")]
    Dispatch(CallError),
    /// The call ran past its time limit.
    #[error("the call exceeded its time limit")]
    Timeout,
    /// The guest trapped (panic, out of memory, deadline); its store was discarded.
    #[error("the tool crashed: {0}")]
    Trap(String),
}

/// What the component reports while a call runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// `done` of `total` steps, and what is being done.
    Progress(u64, u64, String),
    /// Something the user should know about the call (a token renewed, a list capped).
    Notice(NoticeLevel, String),
}

/// Where a call's reports go.
pub type ReportSink = tokio::sync::mpsc::UnboundedSender<Report>;

/// Notices one call may send, and the characters of each: the component's messages are short; a
/// bound keeps a misbehaving one from flooding the client.
const MAX_NOTICES: u32 = 20;
const MAX_NOTICE_CHARS: usize = 500;

/// The per-call state: everything the component can reach, and nothing more.
pub struct CallState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: PolicyHooks,
    table: ResourceTable,
    limits: StoreLimits,
    sessions: Arc<dyn SessionStore>,
    namespace: String,
    reports: Option<ReportSink>,
    notices_sent: u32,
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for CallState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

impl bindings::taiga::mcp::types::Host for CallState {}

impl bindings::taiga::mcp::progress::Host for CallState {
    async fn report(&mut self, done: u64, total: u64, message: String) -> wasmtime::Result<()> {
        if let Some(sink) = &self.reports {
            // A client that went away is not the component's problem.
            let _ = sink.send(Report::Progress(done, total, message));
        }
        Ok(())
    }
}

impl bindings::taiga::mcp::notices::Host for CallState {
    async fn notify(&mut self, level: NoticeLevel, message: String) -> wasmtime::Result<()> {
        if let Some(sink) = &self.reports
            && self.notices_sent < MAX_NOTICES
        {
            self.notices_sent += 1;
            let _ = sink.send(Report::Notice(level, message.chars().take(MAX_NOTICE_CHARS).collect()));
        }
        Ok(())
    }
}

fn wit_error(err: StoreError) -> WitStoreError {
    match err {
        StoreError::Unavailable(reason) => WitStoreError::Unavailable(reason),
        StoreError::Rejected(reason) => WitStoreError::Rejected(reason),
    }
}

impl bindings::taiga::mcp::session_store::Host for CallState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<String>, WitStoreError>> {
        Ok(self.sessions.get(&self.namespace, &key).await.map_err(wit_error))
    }

    async fn set(
        &mut self,
        key: String,
        value: String,
        ttl_seconds: u64,
    ) -> wasmtime::Result<Result<(), WitStoreError>> {
        let ttl = Duration::from_secs(ttl_seconds);
        Ok(self
            .sessions
            .set(&self.namespace, &key, &value, ttl)
            .await
            .map_err(wit_error))
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<Result<bool, WitStoreError>> {
        Ok(self.sessions.delete(&self.namespace, &key).await.map_err(wit_error))
    }

    async fn increment(
        &mut self,
        key: String,
        delta: i64,
        ttl_seconds: u64,
    ) -> wasmtime::Result<Result<i64, WitStoreError>> {
        let ttl = Duration::from_secs(ttl_seconds);
        Ok(self
            .sessions
            .increment(&self.namespace, &key, delta, ttl)
            .await
            .map_err(wit_error))
    }

    async fn compare_and_swap(
        &mut self,
        key: String,
        expected: Option<String>,
        new: Option<String>,
        ttl_seconds: u64,
    ) -> wasmtime::Result<Result<bool, WitStoreError>> {
        let ttl = Duration::from_secs(ttl_seconds);
        Ok(self
            .sessions
            .compare_and_swap(&self.namespace, &key, expected.as_deref(), new.as_deref(), ttl)
            .await
            .map_err(wit_error))
    }
}

/// Where the component comes from and where its compiled form is cached.
#[derive(Debug, Clone, Default)]
pub struct ComponentSource {
    /// A component file to load instead of the embedded one.
    pub path: Option<PathBuf>,
    /// The compiled-code cache directory, if caching is on.
    pub cache_dir: Option<PathBuf>,
}

/// Which of wasmtime's guards the engine runs with. [`Default`] is what `taiga-mcp` ships: the
/// epoch deadline and the memory limiter. The others exist to measure what each guard costs
/// (`taiga-bench --sandbox-only`), which is why fuel is off: epochs stop a runaway call for less.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guards {
    /// Epoch interruption: a CPU deadline per call, checked at loop headers and function entries.
    pub epochs: bool,
    /// Fuel metering: an instruction budget per call.
    pub fuel: bool,
    /// The store's resource limiter: the per-call memory limit.
    pub memory_limiter: bool,
}

impl Default for Guards {
    fn default() -> Self {
        Self {
            epochs: true,
            fuel: false,
            memory_limiter: true,
        }
    }
}

/// Limits of the call that reads the catalogue: it reaches no network and no store.
const CATALOGUE_LIMITS: Limits = Limits {
    memory_bytes: 64 * 1024 * 1024,
    call_timeout: Duration::from_secs(10),
    request_timeout: Duration::from_secs(1),
};

/// A loaded, pre-instantiated component. Each call brings its own [`CallPolicy`].
pub struct Sandbox {
    engine: Engine,
    guards: Guards,
    /// One permit per pooled slot: a call beyond them waits for one rather than failing.
    slots: Semaphore,
    pre: TaigaToolsPre<CallState>,
    sessions: Arc<dyn SessionStore>,
    metrics: Arc<Metrics>,
}

impl Sandbox {
    /// Loads the component, links WASI (with no capability granted: see [`Self::new_store`]),
    /// wasi:http and the bridge's own interfaces, and pre-instantiates it; `slots` calls can run
    /// at once.
    pub fn load(
        source: &ComponentSource,
        sessions: Arc<dyn SessionStore>,
        metrics: Arc<Metrics>,
        slots: u32,
    ) -> anyhow::Result<Self> {
        Self::load_with_guards(source, sessions, metrics, slots, Guards::default())
    }

    /// [`Self::load`] with a chosen set of guards, to measure what each one costs.
    pub fn load_with_guards(
        source: &ComponentSource,
        sessions: Arc<dyn SessionStore>,
        metrics: Arc<Metrics>,
        slots: u32,
        guards: Guards,
    ) -> anyhow::Result<Self> {
        let mut config = wasmtime::Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(guards.epochs)
            .consume_fuel(guards.fuel);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling(slots)));
        let engine = Engine::new(&config)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("reserving {slots} sandbox slots"))?;
        let bytes = match &source.path {
            Some(path) => std::fs::read(path).with_context(|| format!("reading the component {}", path.display()))?,
            None => EMBEDDED_COMPONENT.to_vec(),
        };
        let (component, _) = crate::cache::load(&engine, &bytes, source.cache_dir.as_deref())?;

        let mut linker = Linker::<CallState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        bindings::taiga::mcp::types::add_to_linker::<_, HasSelf<CallState>>(&mut linker, |state| state)?;
        bindings::taiga::mcp::session_store::add_to_linker::<_, HasSelf<CallState>>(&mut linker, |state| state)?;
        bindings::taiga::mcp::progress::add_to_linker::<_, HasSelf<CallState>>(&mut linker, |state| state)?;
        bindings::taiga::mcp::notices::add_to_linker::<_, HasSelf<CallState>>(&mut linker, |state| state)?;
        let pre = TaigaToolsPre::new(linker.instantiate_pre(&component)?)?;

        if guards.epochs {
            let ticker = engine.weak();
            std::thread::Builder::new().name("epoch-ticker".into()).spawn(move || {
                while let Some(engine) = ticker.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(EPOCH_TICK);
                }
            })?;
        }

        Ok(Self {
            engine,
            guards,
            slots: Semaphore::new(slots as usize),
            pre,
            sessions,
            metrics,
        })
    }

    fn new_store(&self, namespace: &str, policy: &CallPolicy, reports: Option<ReportSink>) -> Store<CallState> {
        let state = CallState {
            // No preopened directories, no environment, no arguments, no stdio, no sockets: the
            // component's only ways out are wasi:http (through the policy hooks) and the session store.
            wasi: WasiCtx::builder()
                .allow_tcp(false)
                .allow_udp(false)
                .allow_ip_name_lookup(false)
                .build(),
            http: WasiHttpCtx::new(),
            hooks: PolicyHooks::new(
                policy.allow_list.clone(),
                policy.client.clone(),
                policy.limits.request_timeout,
            )
            .with_metrics(self.metrics.clone(), &policy.tenant),
            table: ResourceTable::new(),
            limits: StoreLimitsBuilder::new()
                .memory_size(policy.limits.memory_bytes)
                .instances(16)
                .trap_on_grow_failure(true)
                .build(),
            sessions: self.sessions.clone(),
            namespace: namespace.to_owned(),
            reports,
            notices_sent: 0,
        };
        let mut store = Store::new(&self.engine, state);
        if self.guards.memory_limiter {
            store.limiter(|state| &mut state.limits);
        }
        if self.guards.epochs {
            // Each tick the guest yields to the runtime instead of holding its thread: a CPU-bound
            // phase cannot stall other calls, the sign-in page or progress (over stdio all share
            // one thread). The call's wall clock (`call_tool`'s deadline) ends a guest that never
            // finishes.
            store.set_epoch_deadline(1);
            store.epoch_deadline_async_yield_and_update(1);
        }
        if self.guards.fuel {
            // A budget that never runs out: this measures the metering, not its exhaustion. Setting
            // fuel only fails on an engine without fuel, which `guards.fuel` rules out.
            let _ = store.set_fuel(u64::MAX);
        }
        store
    }

    async fn instantiate(&self, store: &mut Store<CallState>) -> Result<TaigaTools, CallFailure> {
        self.pre
            .instantiate_async(store)
            .await
            .map_err(|err| CallFailure::Trap(format!("instantiation failed: {err}")))
    }

    async fn slot(&self) -> Result<SemaphorePermit<'_>, CallFailure> {
        // The semaphore is never closed.
        self.slots
            .acquire()
            .await
            .map_err(|_| CallFailure::Trap("no sandbox slot".to_owned()))
    }

    /// The component's tool catalogue.
    pub async fn list_tools(&self) -> anyhow::Result<Vec<ToolDescription>> {
        let _slot = self.slot().await?;
        let policy = CallPolicy::new("", CATALOGUE_LIMITS, AllowList::new(Vec::new()), &Trust::standard());
        let mut store = self.new_store("", &policy, None);
        let tools = self.instantiate(&mut store).await?;
        Ok(tools.taiga_mcp_tools().call_list_tools(&mut store).await?)
    }

    /// Runs one tool in a fresh store under `policy`; its progress reports and notices go to
    /// `reports` when given.
    pub async fn call_tool(
        &self,
        name: &str,
        arguments: &str,
        context: &CallContext,
        policy: &CallPolicy,
        reports: Option<ReportSink>,
    ) -> Result<CallResult, CallFailure> {
        // Waiting for a slot counts against the call's time limit. The permit is taken before the
        // store exists so that it is released only after the store has returned its slot.
        let deadline = tokio::time::Instant::now() + policy.limits.call_timeout;
        let Ok(slot) = tokio::time::timeout_at(deadline, self.slot()).await else {
            return Err(CallFailure::Timeout);
        };
        let _slot = slot?;
        let mut store = self.new_store(&context.namespace, policy, reports);
        let run = async {
            let tools = self.instantiate(&mut store).await?;
            tools
                .taiga_mcp_tools()
                .call_call_tool(&mut store, name, arguments, context)
                .await
                .map_err(trap_failure)?
                .map_err(CallFailure::Dispatch)
        };
        match tokio::time::timeout_at(deadline, run).await {
            Ok(result) => result,
            Err(_) => Err(CallFailure::Timeout),
        }
    }

    /// Answers one MCP request other than a tool call (resources, prompts, completions, skills) in a
    /// fresh store under `policy`, as the Taiga session `session` names or the deployment's identity.
    pub async fn answer(
        &self,
        method: &str,
        params: &str,
        session: Option<&str>,
        context: &CallContext,
        policy: &CallPolicy,
    ) -> Result<Result<String, RequestError>, CallFailure> {
        let deadline = tokio::time::Instant::now() + policy.limits.call_timeout;
        let Ok(slot) = tokio::time::timeout_at(deadline, self.slot()).await else {
            return Err(CallFailure::Timeout);
        };
        let _slot = slot?;
        let mut store = self.new_store(&context.namespace, policy, None);
        let run = async {
            let component = self.instantiate(&mut store).await?;
            component
                .taiga_mcp_primitives()
                .call_answer(&mut store, method, params, session, context)
                .await
                .map_err(trap_failure)
        };
        match tokio::time::timeout_at(deadline, run).await {
            Ok(result) => result,
            Err(_) => Err(CallFailure::Timeout),
        }
    }
}

fn trap_failure(err: wasmtime::Error) -> CallFailure {
    match err.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => CallFailure::Timeout,
        Some(trap) => CallFailure::Trap(trap.to_string()),
        None => CallFailure::Trap("the component failed".to_owned()),
    }
}

impl From<&policy::Identity> for Identity {
    /// The identity as the component takes it: the secrets in clear, for the call only.
    fn from(identity: &policy::Identity) -> Self {
        match identity {
            policy::Identity::Password { username, password } => Identity::Password(Credentials {
                username: username.clone(),
                password: password.expose().to_owned(),
            }),
            policy::Identity::Token {
                auth_token,
                refresh_token,
            } => Identity::Token(TokenPair {
                auth_token: auth_token.expose().to_owned(),
                refresh_token: refresh_token.as_ref().map(|token| token.expose().to_owned()),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the component may import: its declared capabilities, plus the CLI and I/O interfaces
    /// Rust's standard library links (given no environment, arguments or stdio by the host).
    const ALLOWED_IMPORTS: &[&str] = &[
        "wasi:http/",
        "wasi:io/",
        "wasi:clocks/",
        "wasi:random/",
        "taiga:mcp/",
        "wasi:cli/environment@",
        "wasi:cli/exit@",
        "wasi:cli/stdin@",
        "wasi:cli/stdout@",
        "wasi:cli/stderr@",
        "wasi:cli/terminal-",
    ];

    fn context() -> CallContext {
        CallContext {
            caller: "test".to_owned(),
            namespace: "test".to_owned(),
            settings: Settings {
                default_taiga_url: "https://taiga.example".to_owned(),
                session_ttl_seconds: 60,
                max_sessions_per_user: 1,
                login_rate_limit: 1,
                login_lockout_seconds: 60,
                request_timeout_ms: 1000,
                max_response_bytes: 1024,
                max_attachment_bytes: 1024,
                login_type: "normal".to_owned(),
                metadata_ttl_seconds: 300,
                identity: None,
            },
        }
    }

    #[tokio::test]
    async fn a_call_beyond_the_slots_waits_for_one_within_its_time_limit() {
        let sandbox = Sandbox::load(
            &ComponentSource::default(),
            Arc::new(crate::store::MemoryStore::new()),
            Arc::new(Metrics::default()),
            1,
        )
        .unwrap();
        let limits = Limits {
            call_timeout: Duration::from_millis(200),
            ..CATALOGUE_LIMITS
        };
        let policy = CallPolicy::new("test", limits, AllowList::new(Vec::new()), &Trust::standard());
        let context = context();
        let unknown = || sandbox.call_tool("no_such_tool", "{}", &context, &policy, None);

        let held = sandbox.slots.try_acquire().unwrap();
        assert!(matches!(unknown().await, Err(CallFailure::Timeout)));
        drop(held);
        assert!(matches!(unknown().await, Err(CallFailure::Dispatch(_))));

        // Three calls on one slot take turns; none fails for want of a sandbox.
        let (first, second, third) = tokio::join!(unknown(), unknown(), unknown());
        for outcome in [first, second, third] {
            assert!(matches!(outcome, Err(CallFailure::Dispatch(_))), "{outcome:?}");
        }
        assert!(!sandbox.list_tools().await.unwrap().is_empty());
    }

    #[test]
    fn the_component_imports_no_filesystem_and_no_sockets() {
        let engine = Engine::new(wasmtime::Config::new().wasm_component_model(true)).unwrap();
        let component = wasmtime::component::Component::from_binary(&engine, EMBEDDED_COMPONENT).unwrap();
        let imports: Vec<String> = component
            .component_type()
            .imports(&engine)
            .map(|(name, _)| name.to_owned())
            .collect();
        assert!(
            imports
                .iter()
                .any(|name| name.starts_with("wasi:http/outgoing-handler@"))
        );
        assert!(imports.iter().any(|name| name.starts_with("taiga:mcp/session-store@")));
        for name in &imports {
            assert!(
                !name.starts_with("wasi:filesystem") && !name.starts_with("wasi:sockets"),
                "{name}"
            );
            assert!(
                ALLOWED_IMPORTS.iter().any(|allowed| name.starts_with(allowed)),
                "unexpected import {name}"
            );
        }
    }
}
