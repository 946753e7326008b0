//! A Taiga 6.10 REST API simulator, faithful to the exchanges recorded from a real server
//! (`shared/taiga-api/recordings`). Tests start it in-process on an ephemeral loopback port; people
//! run the `taiga-sim` binary and point `taiga-mcp` at it.
//!
//! Besides Taiga's routes it serves a control API under `/__sim/` (never recorded): `GET
//! /__sim/requests` lists the Taiga requests received, `DELETE /__sim/requests` clears the list.

#![recursion_limit = "256"]
#![allow(
    clippy::result_large_err,
    reason = "handlers reject with a whole axum Response, as axum intends"
)]

mod context;
pub mod items;
mod respond;
mod routes;
pub mod seed;
pub mod state;
mod template;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State as AxumState};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

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
}

/// State shared by the handlers and the test that owns the simulator.
#[derive(Default)]
pub struct Shared {
    state: Mutex<State>,
    requests: Mutex<Vec<Recorded>>,
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
}

async fn record(AxumState(shared): AxumState<Arc<Shared>>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
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
        });
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

fn app(shared: Arc<Shared>) -> Router {
    let control = Router::new().route(
        "/__sim/requests",
        get(|AxumState(shared): AxumState<Arc<Shared>>| async move { axum::Json(json!(shared.requests().clone())) })
            .delete(|AxumState(shared): AxumState<Arc<Shared>>| async move {
                shared.requests().clear();
                axum::http::StatusCode::NO_CONTENT
            }),
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
            if let Err(err) = axum::serve(listener, router).await {
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
