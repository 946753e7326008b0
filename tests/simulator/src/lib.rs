//! A Taiga 6.10 REST API simulator, faithful to the exchanges recorded from a real server
//! (`tests/taiga-api/recordings`). Tests start it in-process on an ephemeral loopback port; people
//! run the `taiga-sim` binary and point `taiga-mcp` at it.
//!
//! Besides Taiga's routes it serves a control API under `/__sim/` (never recorded): `GET
//! /__sim/requests` lists the Taiga requests received (each with how many others were being answered
//! when it came), `DELETE /__sim/requests` clears the list,
//! `POST /__sim/faults` adds a [`FaultRule`] (`DELETE` clears them), `POST /__sim/throttle` sets
//! [`Throttling`], `POST /__sim/revoke-tokens` makes every access token invalid (refresh tokens still
//! renew them), `POST /__sim/lookups` renames or deletes a project's status, priority, severity or
//! type (`{"project", "list", "id", "name"}`; no `name` deletes) as its admin would between two calls.

#![recursion_limit = "256"]
#![allow(
    clippy::result_large_err,
    reason = "handlers reject with a whole axum Response, as axum intends"
)]

mod context;
pub mod faults;
pub mod items;
pub mod model;
mod request;
mod respond;
mod routes;
pub mod seed;
mod serve;
mod shared;
pub mod state;
pub(crate) mod template;

use std::net::SocketAddr;
use std::sync::{Arc, MutexGuard};

use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{OriginalUri, Request, State as AxumState};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::model::DirectoryEntry;
use crate::shared::Shared;

pub use faults::{Fault, FaultRule, Throttling};
pub use seed::Seed;
pub use serve::Tls;
pub use shared::Recorded;
pub use state::State;

/// Largest request body the simulator reads.
const MAX_REQUEST_BYTES: usize = 32 * 1024 * 1024;

/// Applies injected faults and Taiga's throttles before the route runs.
async fn misbehave(shared: &Shared, parts: &axum::http::request::Parts) -> Option<Response> {
    let path = parts.uri.path();
    let fault = shared.faults().take(path);
    if let Some(fault) = fault
        && let Some(response) = faults::respond_with(&fault).await
    {
        return Some(response);
    }
    let mut faults = shared.faults();
    let throttling = faults.throttling;
    if path == "/api/v1/auth" && parts.method == axum::http::Method::POST {
        if faults.throttled("login-fail", throttling.login_fail, false) {
            return Some(faults::throttled_response(60));
        }
    } else if parts.method == axum::http::Method::GET && !path.starts_with("/api/v1/users") {
        let (scope, limit) = if parts.headers.contains_key("authorization") {
            ("user-read", throttling.user_read)
        } else {
            ("anon-read", throttling.anon_read)
        };
        if faults.throttled(scope, limit, true) {
            return Some(faults::throttled_response(60));
        }
    }
    None
}

/// The request body as Django reads it: by `Content-Length` only. A body sent chunked without a
/// length is read (so that the connection stays usable, as gunicorn does) and then ignored: Taiga
/// sees an empty body and answers as recordings 178-180 show.
async fn body_as_django_reads_it(parts: &axum::http::request::Parts, body: Body) -> Result<Bytes, Response> {
    let bytes = to_bytes(body, MAX_REQUEST_BYTES)
        .await
        .map_err(|_| (axum::http::StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response())?;
    if parts.headers.contains_key(axum::http::header::CONTENT_LENGTH)
        && !parts.headers.contains_key(axum::http::header::TRANSFER_ENCODING)
    {
        Ok(bytes)
    } else {
        Ok(Bytes::new())
    }
}

async fn record(AxumState(shared): AxumState<Arc<Shared>>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|info| info.0);
    let bytes = match body_as_django_reads_it(&parts, body).await {
        Ok(bytes) => bytes,
        Err(response) => return response,
    };
    let uri = parts
        .extensions
        .get::<OriginalUri>()
        .map_or_else(|| parts.uri.clone(), |original| original.0.clone());
    let (_answering, concurrent) = shared.answering();
    shared.requests().push(Recorded {
        method: parts.method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| (name.to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
            .collect(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
        peer,
        concurrent,
    });
    if let Some(response) = misbehave(&shared, &parts).await {
        return response;
    }
    let is_login = parts.uri.path() == "/api/v1/auth";
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    if is_login && matches!(response.status().as_u16(), 400 | 401) {
        shared.faults().login_failed();
    }
    response
}

/// A change to one entry of a project's lookups (`POST /__sim/lookups`).
#[derive(serde::Deserialize)]
struct LookupEdit {
    project: i64,
    list: String,
    id: i64,
    /// The new name; none deletes the entry.
    name: Option<String>,
}

fn app(shared: Arc<Shared>, base_path: &str) -> Router {
    let control = Router::new()
        .route(
            "/__sim/requests",
            get(
                |AxumState(shared): AxumState<Arc<Shared>>| async move { axum::Json(json!(shared.requests().clone())) },
            )
            .delete(|AxumState(shared): AxumState<Arc<Shared>>| async move {
                shared.requests().clear();
                axum::http::StatusCode::NO_CONTENT
            }),
        )
        .route(
            "/__sim/faults",
            post(
                |AxumState(shared): AxumState<Arc<Shared>>, axum::Json(rule): axum::Json<FaultRule>| async move {
                    shared.faults().inject(rule);
                    axum::http::StatusCode::NO_CONTENT
                },
            )
            .delete(|AxumState(shared): AxumState<Arc<Shared>>| async move {
                shared.faults().clear();
                axum::http::StatusCode::NO_CONTENT
            }),
        )
        .route(
            "/__sim/revoke-tokens",
            post(|AxumState(shared): AxumState<Arc<Shared>>| async move {
                // As when Taiga invalidates a user's tokens: every access token stops working,
                // refresh tokens still renew them.
                shared.state().access_tokens.clear();
                axum::http::StatusCode::NO_CONTENT
            }),
        )
        .route(
            "/__sim/lookups",
            post(
                |AxumState(shared): AxumState<Arc<Shared>>, axum::Json(edit): axum::Json<LookupEdit>| async move {
                    let edited = shared
                        .state()
                        .edit_lookup(edit.project, &edit.list, edit.id, edit.name.as_deref());
                    if edited {
                        axum::http::StatusCode::NO_CONTENT
                    } else {
                        axum::http::StatusCode::NOT_FOUND
                    }
                },
            ),
        )
        .route(
            "/__sim/throttle",
            post(
                |AxumState(shared): AxumState<Arc<Shared>>, axum::Json(throttling): axum::Json<Throttling>| async move {
                    shared.faults().throttling = throttling;
                    axum::http::StatusCode::NO_CONTENT
                },
            ),
        );
    let taiga = routes::router().layer(middleware::from_fn_with_state(shared.clone(), record));
    let taiga = if base_path.is_empty() {
        taiga
    } else {
        Router::new().nest(base_path, taiga)
    };
    taiga.merge(control).with_state(shared)
}

/// Where and how the simulator serves Taiga.
#[derive(Clone, Default)]
pub struct Mount {
    /// A path Taiga is served under, as Taiga's `TAIGA_SUBPATH` (Django's `FORCE_SCRIPT_NAME`)
    /// does: `/taiga` puts the API at `/taiga/api/v1`. Empty for the root.
    pub base_path: String,
    /// Serve HTTPS with this identity instead of plain HTTP.
    pub tls: Option<Tls>,
    /// Install an auth plugin that signs in with this login `type` (`ldap`) against a directory
    /// holding the user `dana` (password `directory-pass`), who is no Taiga user until her first
    /// sign-in.
    pub auth_plugin: Option<String>,
    /// Where attachments' files are served, as Taiga's `MEDIA_URL` setting says (a CDN, another
    /// host); `None` serves them at `/media/` of Taiga's own origin.
    pub media_url: Option<String>,
}

impl Mount {
    /// The base path, checked by the rule the bridge applies (`taiga_tools::taiga::base_path`).
    fn base_path(&self) -> std::io::Result<String> {
        taiga_tools::taiga::base_path(&self.base_path)
            .map_err(|message| std::io::Error::new(std::io::ErrorKind::InvalidInput, message))
    }
}

/// A running simulator.
pub struct Simulator {
    address: SocketAddr,
    base_path: String,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl Simulator {
    /// Starts on an ephemeral loopback port with `seed` loaded.
    pub async fn start(seed: Seed) -> std::io::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), seed, Mount::default()).await
    }

    /// Starts on `address` with `seed` loaded, served as `mount` says.
    pub async fn start_on(address: SocketAddr, seed: Seed, mount: Mount) -> std::io::Result<Self> {
        let base_path = mount.base_path()?;
        let shared = Arc::new(Shared::new(mount.tls.is_some()));
        seed.load(&mut shared.state());
        shared.state().media_url = mount.media_url;
        if let Some(plugin) = mount.auth_plugin {
            let mut state = shared.state();
            state.auth_plugin = Some(plugin);
            state.directory.push(DirectoryEntry {
                username: "dana".to_owned(),
                password: "directory-pass".to_owned(),
                email: "dana@directory.example".to_owned(),
                full_name: "Dana Directory".to_owned(),
            });
        }
        let listener = TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        let router = app(shared.clone(), &base_path);
        let server = tokio::spawn(serve::serve(listener, router, mount.tls));
        Ok(Self {
            address,
            base_path,
            shared,
            server,
        })
    }

    /// The URL Taiga is served at: the origin and the base path, e.g. `http://127.0.0.1:41234` or
    /// `https://127.0.0.1:41234/taiga`. Its API is below it, at `/api/v1`.
    pub fn url(&self) -> String {
        format!("{}{}", serve::origin(self.address, self.shared.https), self.base_path)
    }

    /// The origin of the control API (`/__sim/...`), which is never under the base path.
    pub fn control_url(&self) -> String {
        serve::origin(self.address, self.shared.https)
    }

    /// The Taiga requests received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests().clone()
    }

    /// Makes requests misbehave (see [`Fault`]).
    pub fn inject(&self, rule: FaultRule) {
        self.shared.faults().inject(rule);
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) {
        self.shared.faults().clear();
    }

    /// Switches Taiga's throttles on or off.
    pub fn throttle(&self, throttling: Throttling) {
        self.shared.faults().throttling = throttling;
    }

    /// Locks the simulated database, to seed or inspect it.
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.shared.state()
    }

    /// Serves until the task is aborted or the process ends.
    pub async fn run_forever(mut self) {
        let _ = (&mut self.server).await;
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.server.abort();
    }
}
