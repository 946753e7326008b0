//! A Taiga 6.10 REST API simulator, faithful to the exchanges recorded from a real server
//! (`shared/taiga-api/recordings`). Tests start it in-process on an ephemeral loopback port; people
//! run the `taiga-sim` binary and point `taiga-mcp` at it.
//!
//! Besides Taiga's routes it serves a control API under `/__sim/` (never recorded): `GET
//! /__sim/requests` lists the Taiga requests received, `DELETE /__sim/requests` clears the list,
//! `POST /__sim/faults` adds a [`FaultRule`] (`DELETE` clears them), `POST /__sim/throttle` sets
//! [`Throttling`].

#![recursion_limit = "256"]
#![allow(
    clippy::result_large_err,
    reason = "handlers reject with a whole axum Response, as axum intends"
)]

mod context;
pub mod faults;
pub mod items;
mod respond;
mod routes;
pub mod seed;
pub mod state;
pub(crate) mod template;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State as AxumState};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::faults::Faults;

pub use faults::{Fault, FaultRule, Throttling};
pub use seed::Seed;
pub use state::State;

/// Largest request body the simulator reads.
const MAX_REQUEST_BYTES: usize = 32 * 1024 * 1024;

/// One request the simulator received.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recorded {
    /// Method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Raw query, if any.
    pub query: Option<String>,
    /// Header pairs, names lower-case.
    pub headers: Vec<(String, String)>,
    /// Body as text.
    pub body: String,
    /// The client's address and port: requests from one kept-alive connection share it.
    pub peer: Option<SocketAddr>,
}

/// State shared by the handlers and the test that owns the simulator.
#[derive(Default)]
pub struct Shared {
    state: Mutex<State>,
    requests: Mutex<Vec<Recorded>>,
    faults: Mutex<Faults>,
}

impl Shared {
    /// Locks the simulated database. A handler that panicked cannot have left it half-written
    /// in a way that matters to a test double, so poisoning is ignored.
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn requests(&self) -> MutexGuard<'_, Vec<Recorded>> {
        self.requests.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

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

async fn record(AxumState(shared): AxumState<Arc<Shared>>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|info| info.0);
    let bytes = match to_bytes(body, MAX_REQUEST_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => return (axum::http::StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response(),
    };
    if !parts.uri.path().starts_with("/__sim/") {
        shared.requests().push(Recorded {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            headers: parts
                .headers
                .iter()
                .map(|(name, value)| (name.to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
                .collect(),
            body: String::from_utf8_lossy(&bytes).into_owned(),
            peer,
        });
    }
    if parts.uri.path().starts_with("/__sim/") {
        return next.run(Request::from_parts(parts, Body::from(bytes))).await;
    }
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

fn app(shared: Arc<Shared>) -> Router {
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
            "/__sim/throttle",
            post(
                |AxumState(shared): AxumState<Arc<Shared>>, axum::Json(throttling): axum::Json<Throttling>| async move {
                    shared.faults().throttling = throttling;
                    axum::http::StatusCode::NO_CONTENT
                },
            ),
        );
    routes::router()
        .merge(control)
        .layer(middleware::from_fn_with_state(shared.clone(), record))
        .with_state(shared)
}

/// A running simulator.
pub struct Simulator {
    address: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl Simulator {
    /// Starts on an ephemeral loopback port with `seed` loaded.
    pub async fn start(seed: Seed) -> std::io::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), seed).await
    }

    /// Starts on `address` with `seed` loaded.
    pub async fn start_on(address: SocketAddr, seed: Seed) -> std::io::Result<Self> {
        let shared = Arc::new(Shared::default());
        seed.load(&mut shared.state());
        let listener = TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        let router = app(shared.clone());
        let server = tokio::spawn(async move {
            let service = router.into_make_service_with_connect_info::<SocketAddr>();
            if let Err(err) = axum::serve(listener, service).await {
                eprintln!("taiga-sim: server stopped: {err}");
            }
        });
        Ok(Self {
            address,
            shared,
            server,
        })
    }

    /// The server's origin, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The Taiga requests received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests().clone()
    }

    /// Makes requests misbehave (see [`Fault`]).
    pub fn inject(&self, rule: FaultRule) {
        self.shared.faults().inject(rule);
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
