//! Signing in on a page the bridge serves (MCP URL-mode elicitation). `login` without a password
//! sends the user to a one-time link; they sign in to Taiga there; the tool call that asked
//! completes with the session. The password goes from the browser to the bridge and on to Taiga,
//! never through the MCP client or the model.
//!
//! A link is a random 256-bit id. Its record (tenant, caller, CSRF token, and once signed in, the
//! session) lives in the session store under the id's SHA-256, so the store holds no usable link
//! and any replica can serve the page. It expires after `SIGN_IN_LINK_SECONDS` (ten minutes by default) and completes once.
//! The sign-in itself is the component's `login` tool, run for the caller that asked, so the
//! login rate limits are the ones `login` applies. The session is created in the asking tenant's
//! namespace and handed only to the tool call that asked: the page never shows it.
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

use crate::logs::Escaped;
use crate::sandbox::{CallContext, Sandbox};
use crate::store::SessionStore;
use crate::tenants::{Tenant, Tenants};

/// The store namespace of sign-in links; tenant namespaces are the tenants' ids, which cannot
/// contain `:`.
const NAMESPACE: &str = "web:sign-in";

/// How often a waiting call looks for the sign-in's end.
const POLL_INTERVAL: Duration = Duration::from_millis(250);

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
    /// On the HTTP listener, reached at this public URL (`--public-url`, or the listen address).
    Listener(String),
    /// On a loopback listener opened while sign-ins wait (stdio).
    Loopback,
}

/// A link's record in the store.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    tenant: String,
    caller: String,
    username: Option<String>,
    host: Option<String>,
    csrf: String,
    /// The `login` result, once the user has signed in.
    signed_in: Option<Value>,
}

/// A sign-in waiting for its user.
#[derive(Debug, Clone)]
pub struct Link {
    /// The link's secret id.
    pub id: String,
    /// The page's URL.
    pub url: String,
    /// A correlation id for the client (`elicitationId`), not the secret.
    pub elicitation_id: String,
}

/// Why a waiting sign-in ended without a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unfinished {
    /// The link expired (or was never this tenant's).
    Expired,
    /// The store could not be read.
    StoreUnavailable,
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
    origin: PageOrigin,
    link_ttl: Duration,
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
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

fn store_key(id: &str) -> String {
    Sha256::digest(id.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The form a sign-in page posts.
#[derive(Debug, Deserialize)]
struct Submission {
    username: String,
    password: String,
    csrf: String,
}

impl WebSignIn {
    /// Sign-ins for `tenants`, kept in `store`, signed in through `sandbox`, their page served at
    /// `origin`; a link lives `link_ttl`.
    pub fn new(
        store: Arc<dyn SessionStore>,
        sandbox: Arc<Sandbox>,
        tenants: TenantSource,
        origin: PageOrigin,
        link_ttl: Duration,
    ) -> Self {
        Self {
            store,
            sandbox,
            tenants,
            origin,
            link_ttl,
            loopback: Mutex::new(None),
            open_links: std::sync::Mutex::default(),
        }
    }

    /// A new link for `caller` of `tenant`, the username filled in when given.
    pub async fn begin(
        self: &Arc<Self>,
        tenant: &Tenant,
        caller: &str,
        username: Option<&str>,
        host: Option<&str>,
    ) -> anyhow::Result<Link> {
        let id = random_hex()?;
        let record = Record {
            tenant: tenant.id.clone(),
            caller: caller.to_owned(),
            username: username.map(str::to_owned),
            host: host.map(str::to_owned),
            csrf: random_hex()?,
            signed_in: None,
        };
        let key = store_key(&id);
        self.store
            .set(NAMESPACE, &key, &serde_json::to_string(&record)?, self.link_ttl)
            .await?;
        if matches!(self.origin, PageOrigin::Loopback) {
            // Counted before the listener is looked up, so that a release cannot close it between.
            self.links().insert(key.clone());
            let this = Arc::clone(self);
            let expiring = key.clone();
            tokio::spawn(async move {
                tokio::time::sleep(this.link_ttl).await;
                this.release(&expiring).await;
            });
        }
        let base = self.base().await?;
        Ok(Link {
            url: format!("{base}/sign-in/{id}"),
            elicitation_id: key[..32].to_owned(),
            id,
        })
    }

    async fn base(self: &Arc<Self>) -> anyhow::Result<String> {
        match &self.origin {
            PageOrigin::Listener(base) => Ok(base.trim_end_matches('/').to_owned()),
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

    /// Waits until the user has signed in on `link_id`'s page and takes the `login` result; the
    /// link is then used up. Only `tenant`'s own links are found.
    pub async fn wait(&self, link_id: &str, tenant: &Tenant) -> Result<Value, Unfinished> {
        let outcome = self.poll(link_id, tenant).await;
        if matches!(outcome, Ok(_) | Err(Unfinished::Expired)) {
            self.release(&store_key(link_id)).await;
        }
        outcome
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

    async fn poll(&self, link_id: &str, tenant: &Tenant) -> Result<Value, Unfinished> {
        let key = store_key(link_id);
        loop {
            let stored = self
                .store
                .get(NAMESPACE, &key)
                .await
                .map_err(|_| Unfinished::StoreUnavailable)?;
            let Some(record) = stored.and_then(|text| serde_json::from_str::<Record>(&text).ok()) else {
                return Err(Unfinished::Expired);
            };
            if record.tenant != tenant.id {
                return Err(Unfinished::Expired);
            }
            if let Some(result) = record.signed_in {
                let _ = self.store.delete(NAMESPACE, &key).await;
                return Ok(result);
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// The page's routes: `GET` shows the form, `POST` signs in.
    pub fn routes(self: Arc<Self>) -> Router {
        Router::new()
            .route("/sign-in/{id}", get(show).post(submit))
            .with_state(self)
    }

    async fn record(&self, id: &str) -> Option<(String, Record)> {
        let key = store_key(id);
        let text = self.store.get(NAMESPACE, &key).await.ok()??;
        let record: Record = serde_json::from_str(&text).ok()?;
        record.signed_in.is_none().then_some((text, record))
    }

    fn secure(&self) -> bool {
        matches!(&self.origin, PageOrigin::Listener(base) if base.starts_with("https://"))
    }

    fn form(
        &self,
        status: StatusCode,
        tenant: &Tenant,
        record: &Record,
        username: &str,
        error: Option<&str>,
    ) -> Response {
        page::form(
            status,
            &page::Form {
                taiga_url: record.host.as_deref().unwrap_or(&tenant.settings.default_taiga_url),
                username,
                csrf: &record.csrf,
                error,
                secure: self.secure(),
            },
        )
    }

    /// Runs the component's `login` for the link's caller; the result, or the message to show.
    async fn sign_in(&self, tenant: &Tenant, record: &Record, submission: &Submission) -> Result<Value, String> {
        let mut arguments = json!({"username": submission.username, "password": submission.password});
        if let Some(host) = &record.host {
            arguments["host"] = json!(host);
        }
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
            .map_err(|_| "The bridge could not sign you in just now; try again.".to_owned())?;
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
        Err(match code {
            "INVALID_CREDENTIALS" => "Taiga refused the username or password.".to_owned(),
            _ => body["message"]
                .as_str()
                .unwrap_or("Taiga refused the sign-in.")
                .to_owned(),
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

async fn show(State(web): State<Arc<WebSignIn>>, Path(id): Path<String>) -> Response {
    let Some((_, record)) = web.record(&id).await else {
        return page::gone();
    };
    let Some(tenant) = web.tenants.find(&record.tenant) else {
        return page::gone();
    };
    let username = record.username.clone().unwrap_or_default();
    web.form(StatusCode::OK, &tenant, &record, &username, None)
}

async fn submit(
    State(web): State<Arc<WebSignIn>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    axum::Form(submission): axum::Form<Submission>,
) -> Response {
    let Some((stored, record)) = web.record(&id).await else {
        return page::gone();
    };
    let from_its_form = same(&submission.csrf, &record.csrf)
        && cookie(&headers, page::CSRF_COOKIE).is_some_and(|token| same(token, &record.csrf));
    if !from_its_form {
        return page::forbidden();
    }
    let Some(tenant) = web.tenants.find(&record.tenant) else {
        return page::gone();
    };
    match web.sign_in(&tenant, &record, &submission).await {
        Err(message) => web.form(
            StatusCode::UNAUTHORIZED,
            &tenant,
            &record,
            &submission.username,
            Some(&message),
        ),
        Ok(result) => {
            let username = result["username"].as_str().unwrap_or_default().to_owned();
            let done = Record {
                signed_in: Some(result.clone()),
                ..record
            };
            let key = store_key(&id);
            let completed = match serde_json::to_string(&done) {
                Ok(text) => web
                    .store
                    .compare_and_swap(NAMESPACE, &key, Some(&stored), Some(&text), web.link_ttl)
                    .await
                    .unwrap_or(false),
                Err(_) => false,
            };
            if !completed {
                // Another post of the same link won, or the link expired meanwhile: this session
                // would belong to nobody.
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
