//! Signing in on a page the bridge serves (MCP URL-mode elicitation). `login` without a password
//! sends the user to a one-time link; they sign in to Taiga there; the tool call that asked
//! completes with the session. The password goes from the browser to the bridge and on to Taiga,
//! never through the MCP client or the model.
//!
//! Two secrets per sign-in, never one for both jobs:
//! - the page's id (256 random bits, the URL the user opens), which only shows the form and takes
//!   the password;
//! - the claim (256 random bits), which alone takes the resulting session. Over 2025-11-25 it never
//!   leaves the process (the call that asked waits for the result itself); over 2026-07-28 it is the
//!   input-required result's `requestState`, which only the client that asked receives.
//!
//! The link's record lives in the session store under the SHA-256 of the page's id, with the
//! claim's SHA-256, the tenant, the caller and the MCP session that asked: the store holds neither
//! secret, and any replica serves the page and the retry. Only a retry that brings the claim from
//! the same tenant, caller and MCP session takes the result, once, with one compare-and-swap that
//! removes the record. A link expires after `SIGN_IN_LINK_SECONDS`; a declined or cancelled
//! sign-in removes it at once.
//!
//! The sign-in itself is the component's `login` tool, run for the caller that asked, so the
//! login rate limits are the ones `login` applies. New links are counted per caller and per
//! tenant within one link lifetime ([`LinkLimits`]), so one client cannot fill the store.
//!
//! Over HTTP the page is on the MCP listener (`/sign-in/<id>`, outside the tenant key check: the
//! browser has none); over stdio the bridge opens a loopback listener on an ephemeral port for as
//! long as a link it handed out is neither used up nor expired, as native apps do for OAuth
//! (RFC 8252).

mod page;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::logs::Escaped;
use crate::policy::LinkLimits;
use crate::sandbox::{CallContext, Sandbox};
use crate::store::SessionStore;
use crate::tenants::{Tenant, Tenants};

/// The store namespace of sign-in links; tenant namespaces are the tenants' ids, which cannot
/// contain `:`.
const NAMESPACE: &str = "web:sign-in";

/// How often a waiting call looks for the sign-in's end.
const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// Longest MCP client name a page shows.
const MAX_CLIENT_NAME: usize = 64;

/// Where a deployment's tenants are found by id.
#[derive(Clone)]
pub enum TenantSource {
    /// The one tenant of a deployment without a tenants file.
    Single(Arc<Tenant>),
    /// The tenants file's tenants, as reloaded.
    Shared(Arc<Tenants>),
}

impl TenantSource {
    fn find(&self, id: &str) -> Option<Arc<Tenant>> {
        match self {
            Self::Single(tenant) => (tenant.id == id).then(|| tenant.clone()),
            Self::Shared(tenants) => tenants.all().into_iter().find(|tenant| tenant.id == id),
        }
    }
}

/// Where the page is served.
pub enum PageOrigin {
    /// On the HTTP listener, reached at `base` (`--public-url`, or the listen address), answering
    /// only requests whose `Host` is one of `hosts` (with or without its port), as `/mcp` does.
    Listener {
        /// The public URL.
        base: String,
        /// The accepted `Host` names.
        hosts: Vec<String>,
    },
    /// On a loopback listener opened while links are open (stdio); it answers `Host: 127.0.0.1`.
    Loopback,
}

/// How the sign-in pages are served.
pub struct PageSettings {
    /// Where.
    pub origin: PageOrigin,
    /// How long a link works.
    pub link_ttl: Duration,
    /// How many links may be opened.
    pub limits: LinkLimits,
}

/// Who asked for a sign-in: only the same tenant, caller and MCP session take its result.
#[derive(Clone, Copy)]
pub struct Requester<'a> {
    /// The tenant.
    pub tenant: &'a Tenant,
    /// The caller (client address, or the stdio client).
    pub caller: &'a str,
    /// The MCP session the request came in, when the transport has sessions.
    pub mcp_session: Option<&'a str>,
    /// The MCP client's name, shown on the page so that the user knows who asks.
    pub client: Option<&'a str>,
}

/// A link's record in the store. It holds the CSRF token and, once signed in, Taiga's session:
/// no `Debug`.
#[derive(Clone, Serialize, Deserialize)]
struct Record {
    tenant: String,
    caller: String,
    /// SHA-256 of the MCP session that asked.
    mcp_session: Option<String>,
    /// SHA-256 of the claim secret.
    claim: String,
    client: Option<String>,
    username: Option<String>,
    host: Option<String>,
    csrf: String,
    /// The `login` result, once the user has signed in.
    signed_in: Option<Value>,
}

impl Record {
    /// Whether `requester`, bringing `secret`, is the one that asked.
    fn asked_by(&self, requester: &Requester<'_>, secret: &str) -> bool {
        let session = requester.mcp_session.map(digest);
        same(&digest(secret), &self.claim)
            & (self.tenant == requester.tenant.id)
            & same(&self.caller, requester.caller)
            & (self.mcp_session == session)
    }
}

/// What takes a link's result: the record's store key and the claim secret. Its text is the
/// 2026-07-28 `requestState`; it is never the page's id, and never logged.
pub struct Claim(String);

impl Claim {
    /// The claim a client sent back.
    pub fn from_request_state(state: &str) -> Self {
        Self(state.to_owned())
    }

    /// The text the client sends back.
    pub fn request_state(&self) -> &str {
        &self.0
    }

    fn parts(&self) -> Option<(&str, &str)> {
        let (key, secret) = self.0.split_once('.')?;
        let hex64 = |text: &str| text.len() == 64 && text.bytes().all(|byte| byte.is_ascii_hexdigit());
        (hex64(key) && hex64(secret)).then_some((key, secret))
    }
}

/// A sign-in waiting for its user.
pub struct Link {
    /// The page's URL.
    pub url: String,
    /// A correlation id for the client (`elicitationId`), not a secret.
    pub elicitation_id: String,
    /// What takes the result.
    pub claim: Claim,
}

/// Why no link was opened.
#[derive(Debug)]
pub enum Refusal {
    /// Too many links opened within one link lifetime, by this caller or in this tenant.
    TooMany {
        /// `sign_in_links_per_caller` or `sign_in_links_per_tenant`.
        quota: &'static str,
        /// The limit.
        limit: u32,
    },
    /// The store or the randomness failed.
    Failed(anyhow::Error),
}

/// Why a waiting sign-in ended without a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unfinished {
    /// The link expired, was used, or was never this requester's.
    Expired,
    /// The store could not be read.
    StoreUnavailable,
    /// The call was cancelled; the link is gone.
    Cancelled,
}

struct Loopback {
    base: String,
    server: JoinHandle<()>,
}

/// The sign-in pages and the links they serve.
pub struct WebSignIn {
    store: Arc<dyn SessionStore>,
    sandbox: Arc<Sandbox>,
    tenants: TenantSource,
    settings: PageSettings,
    loopback: Mutex<Option<Loopback>>,
    /// The store keys of the links the loopback listener serves: from `begin` until the link is
    /// used up or expires. Counting links, not waiting calls: a link is handed out before its call
    /// waits (the client's retry on 2026-07-28, the elicitation's answer on 2025-11-25), and
    /// another sign-in may end in between.
    open_links: std::sync::Mutex<HashSet<String>>,
}

fn random_hex() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(hex(&bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn digest(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// The form a sign-in page posts. It holds a password: no `Debug`.
#[derive(Deserialize)]
struct Submission {
    username: String,
    password: String,
    csrf: String,
}

impl WebSignIn {
    /// Sign-ins for `tenants`, kept in `store`, signed in through `sandbox`, served as `settings` say.
    pub fn new(
        store: Arc<dyn SessionStore>,
        sandbox: Arc<Sandbox>,
        tenants: TenantSource,
        settings: PageSettings,
    ) -> Self {
        Self {
            store,
            sandbox,
            tenants,
            settings,
            loopback: Mutex::new(None),
            open_links: std::sync::Mutex::default(),
        }
    }

    /// How long a link works.
    pub fn link_ttl(&self) -> Duration {
        self.settings.link_ttl
    }

    /// Counts one new link against the caller's and the tenant's limits.
    async fn count_link(&self, requester: &Requester<'_>) -> Result<(), Refusal> {
        let LinkLimits { per_caller, per_tenant } = self.settings.limits;
        let tenant = &requester.tenant.id;
        for (key, quota, limit) in [
            (
                format!("links:caller:{tenant}|{}", requester.caller),
                "sign_in_links_per_caller",
                per_caller,
            ),
            (format!("links:tenant:{tenant}"), "sign_in_links_per_tenant", per_tenant),
        ] {
            let opened = self
                .store
                .increment(NAMESPACE, &key, 1, self.settings.link_ttl)
                .await
                .map_err(|err| Refusal::Failed(err.into()))?;
            if opened > i64::from(limit) {
                return Err(Refusal::TooMany { quota, limit });
            }
        }
        Ok(())
    }

    /// A new link for `requester`, the username and Taiga server filled in when given (both
    /// checked by the caller of this function).
    pub async fn begin(
        self: &Arc<Self>,
        requester: &Requester<'_>,
        username: Option<&str>,
        host: Option<&str>,
    ) -> Result<Link, Refusal> {
        self.count_link(requester).await?;
        let failed = |err: getrandom::Error| Refusal::Failed(err.into());
        let id = random_hex().map_err(failed)?;
        let secret = random_hex().map_err(failed)?;
        let record = Record {
            tenant: requester.tenant.id.clone(),
            caller: requester.caller.to_owned(),
            mcp_session: requester.mcp_session.map(digest),
            claim: digest(&secret),
            client: requester
                .client
                .map(|name| name.chars().take(MAX_CLIENT_NAME).collect()),
            username: username.map(str::to_owned),
            host: host.map(str::to_owned),
            csrf: random_hex().map_err(failed)?,
            signed_in: None,
        };
        let key = digest(&id);
        let text = serde_json::to_string(&record).map_err(|err| Refusal::Failed(err.into()))?;
        self.store
            .set(NAMESPACE, &key, &text, self.settings.link_ttl)
            .await
            .map_err(|err| Refusal::Failed(err.into()))?;
        if matches!(self.settings.origin, PageOrigin::Loopback) {
            // Counted before the listener is looked up, so that a release cannot close it between.
            self.links().insert(key.clone());
            let this = Arc::clone(self);
            let expiring = key.clone();
            tokio::spawn(async move {
                tokio::time::sleep(this.settings.link_ttl).await;
                this.release(&expiring).await;
            });
        }
        let base = self.base().await.map_err(Refusal::Failed)?;
        Ok(Link {
            url: format!("{base}/sign-in/{id}"),
            elicitation_id: key[..32].to_owned(),
            claim: Claim(format!("{key}.{secret}")),
        })
    }

    async fn base(self: &Arc<Self>) -> anyhow::Result<String> {
        match &self.settings.origin {
            PageOrigin::Listener { base, .. } => Ok(base.trim_end_matches('/').to_owned()),
            PageOrigin::Loopback => {
                let mut loopback = self.loopback.lock().await;
                if let Some(open) = loopback.as_ref().filter(|open| !open.server.is_finished()) {
                    return Ok(open.base.clone());
                }
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
                let base = format!("http://{}", listener.local_addr()?);
                let routes = self.clone().routes();
                let server = tokio::spawn(async move {
                    if let Err(err) = axum::serve(listener, routes).await {
                        tracing::warn!(error = %err, "the sign-in page listener stopped");
                    }
                });
                tracing::info!(address = %base, "opened the sign-in page listener");
                *loopback = Some(Loopback {
                    base: base.clone(),
                    server,
                });
                Ok(base)
            }
        }
    }

    /// Waits until the user has signed in on the claimed link's page and takes the `login`
    /// result, once; the link is then gone. Another requester, or a claim that does not match,
    /// finds nothing (`Expired`) and leaves the link to its owner. `cancel` ends the wait and the
    /// link; so does the link's lifetime.
    pub async fn wait(
        &self,
        claim: &Claim,
        requester: &Requester<'_>,
        cancel: &CancellationToken,
    ) -> Result<Value, Unfinished> {
        let Some((key, secret)) = claim.parts() else {
            return Err(Unfinished::Expired);
        };
        let deadline = tokio::time::Instant::now() + self.settings.link_ttl;
        loop {
            let stored = self
                .store
                .get(NAMESPACE, key)
                .await
                .map_err(|_| Unfinished::StoreUnavailable)?;
            let Some((text, record)) = stored.and_then(|text| {
                let record = serde_json::from_str::<Record>(&text).ok()?;
                Some((text, record))
            }) else {
                self.release(key).await;
                return Err(Unfinished::Expired);
            };
            if !record.asked_by(requester, secret) {
                return Err(Unfinished::Expired);
            }
            if let Some(result) = record.signed_in {
                // One compare-and-swap hands the result out and removes the link: of two retries
                // bringing the same claim, one wins.
                let taken = self
                    .store
                    .compare_and_swap(NAMESPACE, key, Some(&text), None, self.settings.link_ttl)
                    .await
                    .map_err(|_| Unfinished::StoreUnavailable)?;
                self.release(key).await;
                return if taken { Ok(result) } else { Err(Unfinished::Expired) };
            }
            tokio::select! {
                () = cancel.cancelled() => {
                    self.discard(key, &text).await;
                    return Err(Unfinished::Cancelled);
                }
                () = tokio::time::sleep_until(deadline) => {
                    self.discard(key, &text).await;
                    return Err(Unfinished::Expired);
                }
                () = tokio::time::sleep(POLL_INTERVAL) => {}
            }
        }
    }

    /// Ends the claimed link at once (the user declined): its page is gone. Only the requester
    /// that asked can end it.
    pub async fn decline(&self, claim: &Claim, requester: &Requester<'_>) {
        let Some((key, secret)) = claim.parts() else {
            return;
        };
        if let Ok(Some(text)) = self.store.get(NAMESPACE, key).await
            && serde_json::from_str::<Record>(&text).is_ok_and(|record| record.asked_by(requester, secret))
        {
            self.discard(key, &text).await;
        }
    }

    /// Removes the link as it was read (not a signed-in one written since) and releases it.
    async fn discard(&self, key: &str, read: &str) {
        let _ = self
            .store
            .compare_and_swap(NAMESPACE, key, Some(read), None, self.settings.link_ttl)
            .await;
        self.release(key).await;
    }

    fn links(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.open_links.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The link under `key` is used up or expired; the loopback listener closes with the last one.
    async fn release(&self, key: &str) {
        // Under the listener's lock: a `begin` counts its link before it takes that lock.
        let mut loopback = self.loopback.lock().await;
        let none_left = {
            let mut links = self.links();
            links.remove(key);
            links.is_empty()
        };
        if none_left && let Some(open) = loopback.take() {
            open.server.abort();
            tracing::info!("closed the sign-in page listener");
        }
    }

    /// The page's routes: `GET` shows the form, `POST` signs in. Every answer, the framework's
    /// own refusals (413, 415, 422) included, carries the page's security headers.
    pub fn routes(self: Arc<Self>) -> Router {
        Router::new()
            .route("/sign-in/{id}", get(show).post(submit))
            .layer(axum::middleware::map_response(page::harden))
            .with_state(self)
    }

    /// Whether a request's `Host` is one this page answers to (DNS rebinding).
    fn host_allowed(&self, headers: &HeaderMap) -> bool {
        let Some(host) = headers.get(header::HOST).and_then(|value| value.to_str().ok()) else {
            return false;
        };
        let name = match host.strip_prefix('[') {
            Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
            None => host.rsplit_once(':').map_or(host, |(name, _)| name),
        };
        match &self.settings.origin {
            PageOrigin::Listener { hosts, .. } => hosts
                .iter()
                .any(|allowed| allowed.eq_ignore_ascii_case(host) || allowed.eq_ignore_ascii_case(name)),
            PageOrigin::Loopback => name == "127.0.0.1",
        }
    }

    async fn record(&self, id: &str) -> Option<(String, Record)> {
        let key = digest(id);
        let text = self.store.get(NAMESPACE, &key).await.ok()??;
        let record: Record = serde_json::from_str(&text).ok()?;
        record.signed_in.is_none().then_some((text, record))
    }

    fn secure(&self) -> bool {
        matches!(&self.settings.origin, PageOrigin::Listener { base, .. } if base.starts_with("https://"))
    }

    fn form(
        &self,
        status: StatusCode,
        id: &str,
        tenant: &Tenant,
        record: &Record,
        username: &str,
        error: Option<&str>,
    ) -> Response {
        page::form(
            status,
            &page::Form {
                taiga_url: record.host.as_deref().unwrap_or(&tenant.settings.default_taiga_url),
                client: record.client.as_deref(),
                username,
                csrf: &record.csrf,
                cookie: &page::cookie_name(&digest(id)),
                error,
                secure: self.secure(),
            },
        )
    }

    /// Runs the component's `login` for the link's caller; the result, or the status and message
    /// to show.
    async fn sign_in(
        &self,
        tenant: &Tenant,
        record: &Record,
        submission: &Submission,
    ) -> Result<Value, (StatusCode, String)> {
        let mut arguments = json!({"username": submission.username, "password": submission.password});
        if let Some(host) = &record.host {
            arguments["host"] = json!(host);
        }
        let unavailable = || {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "The bridge could not sign you in just now; try again.".to_owned(),
            )
        };
        let result = self
            .sandbox
            .call_tool(
                "login",
                &arguments.to_string(),
                &call_context(tenant, record),
                &tenant.policy,
                None,
            )
            .await
            .map_err(|_| unavailable())?;
        let body: Value = serde_json::from_str(&result.structured).unwrap_or_default();
        let code = body["code"].as_str().unwrap_or_default();
        tracing::info!(
            target: "taiga_mcp::audit",
            tenant = %tenant.id,
            tool = "login",
            outcome = if result.is_error { code } else { "OK" },
            caller = %Escaped(&record.caller),
            "sign-in page"
        );
        if !result.is_error {
            return Ok(body);
        }
        let message = || {
            body["message"]
                .as_str()
                .unwrap_or("Taiga refused the sign-in.")
                .to_owned()
        };
        Err(match code {
            "INVALID_CREDENTIALS" => (
                StatusCode::BAD_REQUEST,
                "Taiga refused the username or password.".to_owned(),
            ),
            "RATE_LIMITED" => (StatusCode::TOO_MANY_REQUESTS, message()),
            "TAIGA_UNAVAILABLE" | "STORE_UNAVAILABLE" | "TIMEOUT" | "INTERNAL" => {
                (StatusCode::SERVICE_UNAVAILABLE, message())
            }
            _ => (StatusCode::BAD_REQUEST, message()),
        })
    }
}

/// A call for the caller whose `login` asked for the link, in its tenant.
fn call_context(tenant: &Tenant, record: &Record) -> CallContext {
    CallContext {
        caller: record.caller.clone(),
        namespace: tenant.namespace.clone(),
        settings: tenant.settings.clone(),
    }
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

fn same(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

async fn show(State(web): State<Arc<WebSignIn>>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if !web.host_allowed(&headers) {
        return page::wrong_host();
    }
    let Some((_, record)) = web.record(&id).await else {
        return page::gone();
    };
    let Some(tenant) = web.tenants.find(&record.tenant) else {
        return page::gone();
    };
    let username = record.username.clone().unwrap_or_default();
    web.form(StatusCode::OK, &id, &tenant, &record, &username, None)
}

async fn submit(
    State(web): State<Arc<WebSignIn>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    axum::Form(submission): axum::Form<Submission>,
) -> Response {
    if !web.host_allowed(&headers) {
        return page::wrong_host();
    }
    let Some((stored, record)) = web.record(&id).await else {
        return page::gone();
    };
    let key = digest(&id);
    let from_its_form = same(&submission.csrf, &record.csrf)
        && cookie(&headers, &page::cookie_name(&key)).is_some_and(|token| same(token, &record.csrf));
    if !from_its_form {
        return page::forbidden();
    }
    let Some(tenant) = web.tenants.find(&record.tenant) else {
        return page::gone();
    };
    match web.sign_in(&tenant, &record, &submission).await {
        Err((status, message)) => web.form(status, &id, &tenant, &record, &submission.username, Some(&message)),
        Ok(result) => {
            let username = result["username"].as_str().unwrap_or_default().to_owned();
            let done = Record {
                signed_in: Some(result.clone()),
                ..record
            };
            let completed = match serde_json::to_string(&done) {
                Ok(text) => web
                    .store
                    .compare_and_swap(NAMESPACE, &key, Some(&stored), Some(&text), web.settings.link_ttl)
                    .await
                    .unwrap_or(false),
                Err(_) => false,
            };
            if !completed {
                // Another post of the same link won, or the link expired or was declined
                // meanwhile: this session would belong to nobody.
                let logout = json!({"session_id": result["session_id"]}).to_string();
                let _ = web
                    .sandbox
                    .call_tool("logout", &logout, &call_context(&tenant, &done), &tenant.policy, None)
                    .await;
                return page::gone();
            }
            page::signed_in(&username)
        }
    }
}
