//! Streamable HTTP for shared use (`--transport http`), and the operational endpoints: `/healthz`
//! (the process is up), `/readyz` (the component is loaded and the store answers) and `/metrics`
//! (Prometheus text). Host and Origin checks guard against DNS rebinding; request bodies are capped;
//! with a tenants file, every MCP request must carry a tenant's API key (`Authorization: Bearer`);
//! SIGTERM or Ctrl-C stop accepting and let calls in flight finish.
//!
//! What one client can make the listener hold is bounded: connections in all and per client
//! address ([`connections`]), the time to send headers and a body ([`listener`], [`body`]), and
//! MCP sessions per tenant and per client address ([`sessions`]).

mod body;
mod connections;
mod listener;
mod memory;
mod sessions;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rmcp::transport::streamable_http_server::session::SessionManager;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use self::body::{BodyLimits, JsonRpcMethod};
use self::connections::ConnectionGate;
use self::sessions::{CountedSessions, SessionLedger};
use crate::mcp::TaigaServer;
use crate::metrics::Metrics;
use crate::policy::HttpLimits;
use crate::store::SessionStore;
use crate::tenants::{Tenant, Tenants};
use crate::web_sign_in::WebSignIn;

/// Largest MCP request body accepted.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// What the operational endpoints report on.
#[derive(Clone)]
pub struct Health {
    /// The session store, pinged by `/readyz`.
    pub store: Arc<dyn SessionStore>,
    /// The process metrics.
    pub metrics: Arc<Metrics>,
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(health): State<Health>) -> impl IntoResponse {
    match health.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready\n"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "session store unreachable\n"),
    }
}

async fn metrics(State(health): State<Health>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        health.metrics.render(health.store.usage()),
    )
}

/// The health and metrics routes.
pub fn admin_routes(health: Health) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(health)
}

/// How the HTTP transport admits and serves MCP requests.
#[derive(Debug, Clone)]
pub struct HttpPolicy {
    /// Accepted `Host` names (with or without port).
    pub allowed_hosts: Vec<String>,
    /// Accepted browser `Origin`s; empty refuses every request that carries one.
    pub allowed_origins: Vec<String>,
    /// Serve without MCP sessions, answering with JSON.
    pub stateless: bool,
    /// What one client may make the listener hold.
    pub limits: HttpLimits,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<IpAddr>,
}

/// Where the HTTP transport listens.
#[derive(Debug, Clone, Copy)]
pub struct Listen {
    /// MCP at `/mcp` and the sign-in page.
    pub mcp: SocketAddr,
    /// The operational endpoints, apart from the tenants' listener; on `mcp` when `None`.
    pub admin: Option<SocketAddr>,
}

/// The header naming a request's MCP session.
const MCP_SESSION: &str = "mcp-session-id";

/// Admits a request carrying a tenant's API key, with the tenant attached for the MCP handler;
/// answers anything else with 401 before it reaches the MCP service or any component.
async fn authenticate(State(tenants): State<Arc<Tenants>>, mut request: Request, next: Next) -> Response {
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let Some(tenant) = tenants.authenticate(authorization) else {
        let challenge = if authorization.is_some() {
            "Bearer realm=\"taiga-mcp\", error=\"invalid_token\""
        } else {
            "Bearer realm=\"taiga-mcp\""
        };
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, challenge)],
            "a tenant API key is required: Authorization: Bearer <key>\n",
        )
            .into_response();
    };
    request.extensions_mut().insert(tenant);
    next.run(request).await
}

/// What the MCP session gate works with.
#[derive(Clone)]
struct SessionGate {
    /// The MCP sessions open, when the transport keeps sessions.
    ledger: Option<Arc<SessionLedger>>,
    /// Sessions a tenant without its own `max_mcp_sessions` may hold.
    per_tenant: usize,
    trusted_proxies: Arc<Vec<IpAddr>>,
    metrics: Arc<Metrics>,
}

/// A JSON-RPC error with HTTP 429, for a request refused before it reaches the MCP service.
fn too_many(message: String, retry_after: Duration) -> Response {
    let seconds = retry_after.as_secs_f64().ceil().max(1.0).to_string();
    (
        StatusCode::TOO_MANY_REQUESTS,
        [
            (header::RETRY_AFTER, seconds),
            (header::CONTENT_TYPE, "application/json".to_owned()),
        ],
        json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32000, "message": message}}).to_string(),
    )
        .into_response()
}

/// Serves a request naming an MCP session only for the tenant that opened it (another tenant, or
/// a session not opened through here, gets 404 as an unknown session does); counts `initialize`
/// against the tenant's quota, and the session it opens against the caps of its tenant and client.
async fn gate_sessions(State(gate): State<SessionGate>, request: Request, next: Next) -> Response {
    let tenant = request.extensions().get::<Arc<Tenant>>().cloned();
    let tenant_id = tenant
        .as_ref()
        .map_or("default", |tenant| tenant.id.as_str())
        .to_owned();
    if let Some(session) = request.headers().get(MCP_SESSION) {
        let owned = gate
            .ledger
            .as_ref()
            .is_none_or(|ledger| session.to_str().is_ok_and(|session| ledger.owns(session, &tenant_id)));
        if !owned {
            return (StatusCode::NOT_FOUND, "no such MCP session for this tenant\n").into_response();
        }
        return next.run(request).await;
    }
    let initializing = request
        .extensions()
        .get::<JsonRpcMethod>()
        .is_some_and(|method| method.0 == "initialize");
    if !initializing {
        return next.run(request).await;
    }
    let _admission = match tenant.as_ref().and_then(|tenant| tenant.gate.as_ref()) {
        Some(quota) => match quota.admit(Instant::now()) {
            Ok(admission) => Some(admission),
            Err(refusal) => {
                gate.metrics.quota_refusal(&tenant_id, refusal.quota());
                let (limit, retry_after) = match refusal {
                    crate::tenants::QuotaExceeded::Rate { limit, retry_after } => (limit, retry_after),
                    crate::tenants::QuotaExceeded::Concurrency { limit } => (limit, Duration::from_secs(1)),
                };
                return too_many(
                    format!(
                        "tenant `{tenant_id}` is over its quota ({} = {limit}); initialize counts as a call: \
                         retry after {:.1} s",
                        refusal.quota(),
                        retry_after.as_secs_f64()
                    ),
                    retry_after,
                );
            }
        },
        None => None,
    };
    let Some(ledger) = &gate.ledger else {
        return next.run(request).await;
    };
    let client = crate::mcp::client_of(request.headers(), request.extensions(), &gate.trusted_proxies)
        .unwrap_or(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED));
    let per_tenant = tenant
        .as_ref()
        .and_then(|tenant| tenant.max_mcp_sessions)
        .unwrap_or(gate.per_tenant);
    let reservation = match ledger.reserve(&tenant_id, per_tenant, client) {
        Ok(reservation) => reservation,
        Err(refusal) => {
            gate.metrics.http_refusal(refusal.setting());
            return too_many(
                format!(
                    "too many MCP sessions open ({} = {}); close one (HTTP DELETE) or wait for an idle one to expire",
                    refusal.setting(),
                    refusal.limit()
                ),
                Duration::from_secs(1),
            );
        }
    };
    let response = next.run(request).await;
    if let Some(opened) = response
        .headers()
        .get(MCP_SESSION)
        .and_then(|value| value.to_str().ok())
    {
        reservation.bind(opened);
    }
    response
}

/// Resolves when the process is asked to stop (SIGTERM or Ctrl-C).
pub async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

/// MCP over Streamable HTTP at `/mcp`, with `sessions` keeping its MCP sessions (or none).
fn mcp_route<M: SessionManager>(server: TaigaServer, sessions: M, config: StreamableHttpServerConfig) -> Router {
    let service = StreamableHttpService::new(move || Ok(server.clone()), Arc::new(sessions), config);
    Router::new().nest_service("/mcp", service)
}

/// Serves MCP at `/mcp` and the sign-in page at `/sign-in/` on `listen.mcp` until a shutdown
/// signal; the operational endpoints on `listen.admin` when given (so that tenants cannot read
/// them), else beside them.
/// With `tenants`, `/mcp` admits only requests carrying a tenant's key. Calls still running after
/// `drain` are cut when the process stops.
pub async fn serve(
    server: TaigaServer,
    health: Health,
    policy: HttpPolicy,
    tenants: Option<Arc<Tenants>>,
    web_sign_in: Option<Arc<WebSignIn>>,
    listen: Listen,
    drain: Duration,
) -> anyhow::Result<()> {
    let limits = policy.limits;
    let stop = CancellationToken::new();
    let mut config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(policy.allowed_hosts)
        .with_cancellation_token(stop.child_token())
        .with_max_request_body_bytes(MAX_BODY_BYTES);
    config = if policy.allowed_origins.is_empty() {
        config.enforce_origin_validation()
    } else {
        config.with_allowed_origins(policy.allowed_origins)
    };
    let in_flight = server.in_flight();
    let metrics = health.metrics.clone();
    let (mut mcp, ledger) = if policy.stateless {
        // The server keeps nothing per MCP session (Taiga sessions are the `session_id` argument,
        // held by the session store), so a request needs none: any replica can answer it, and no
        // worker task per MCP session is kept (more calls per second with many clients).
        let config = config.with_legacy_session_mode(false).with_json_response(true);
        (mcp_route(server, NeverSessionManager::default(), config), None)
    } else {
        let ledger = SessionLedger::new(limits.sessions_per_client);
        let mut sessions = LocalSessionManager::default();
        sessions.session_config.keep_alive = Some(limits.session_idle);
        let sessions = CountedSessions::new(sessions, ledger.clone());
        (mcp_route(server, sessions, config), Some(ledger))
    };
    let session_gate = SessionGate {
        ledger,
        per_tenant: limits.sessions_per_tenant,
        trusted_proxies: Arc::new(policy.trusted_proxies.clone()),
        metrics: metrics.clone(),
    };
    mcp = mcp.layer(middleware::from_fn_with_state(session_gate, gate_sessions));
    if let Some(tenants) = &tenants {
        mcp = mcp.layer(middleware::from_fn_with_state(tenants.clone(), authenticate));
    }
    // The sign-in page is outside the tenant key check: the browser that opens it has no key.
    let mut app = match listen.admin {
        Some(admin) => {
            // Bound before serving, so that an address in use stops the server at start.
            let admin = TcpListener::bind(admin).await?;
            tracing::info!(address = %admin.local_addr()?, "health and metrics endpoints");
            let routes = admin_routes(health);
            tokio::spawn(async move {
                if let Err(err) = axum::serve(admin, routes).await {
                    tracing::error!(error = %err, "the health endpoints stopped");
                }
            });
            mcp
        }
        None => {
            if tenants.is_some() {
                tracing::warn!(
                    "/metrics, /healthz and /readyz are on the tenants' listener, where every tenant can read every \
                     tenant's usage; set --admin-listen (TAIGA_ADMIN_LISTEN) to serve them apart"
                );
            }
            admin_routes(health).merge(mcp)
        }
    };
    if let Some(web_sign_in) = web_sign_in {
        app = app.merge(web_sign_in.routes());
    }
    let app = app.layer(middleware::from_fn_with_state(
        BodyLimits {
            timeout: limits.body_timeout,
            max_bytes: MAX_BODY_BYTES,
        },
        body::read_whole,
    ));
    connections::raise_descriptor_limit(limits.connections);
    let gate = ConnectionGate::new(
        limits.connections,
        limits.connections_per_client,
        policy.trusted_proxies,
    );
    let listener = TcpListener::bind(listen.mcp).await?;
    tracing::info!(address = %listener.local_addr()?, "taiga-mcp serving MCP over Streamable HTTP at /mcp");
    let shutdown = async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing calls in flight");
        let deadline = tokio::time::Instant::now() + drain;
        while in_flight.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Let the last results reach their clients before the sessions close.
        tokio::time::sleep(Duration::from_millis(200)).await;
        stop.cancel();
    };
    listener::serve(listener, app, gate, limits.header_timeout, metrics, shutdown).await;
    Ok(())
}

/// Serves only the operational endpoints (`--admin-listen` in stdio mode).
pub async fn serve_admin(health: Health, listen: SocketAddr) -> anyhow::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    tracing::info!(address = %listener.local_addr()?, "health and metrics endpoints");
    axum::serve(listener, admin_routes(health)).await?;
    Ok(())
}
