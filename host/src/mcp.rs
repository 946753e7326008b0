//! The MCP face of the bridge: `tools/list` from the component's catalogue, `tools/call` through
//! the sandbox under the caller's tenant (its quota, policy and namespace), an audit line per call.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;

use rmcp::ErrorData as McpError;
use rmcp::handler::server::ServerHandler;
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, CallToolResult, CompleteRequestParams, CompleteResult,
    ContentBlock, CustomNotification, CustomRequest, CustomResult, DiscoverResult, ElicitRequest, ElicitRequestParams,
    ElicitationAction, GetPromptRequestParams, GetPromptResponse, GetSkillRequestParams, GetSkillResult,
    Implementation, InitializeResult, InputRequest, InputRequiredResult, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListSkillsResult, ListToolsResult, PaginatedRequestParams,
    ProgressNotificationParam, ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult,
    ServerConfig, ServerNotification,
};
#[allow(deprecated, reason = "2025-11-25 clients still send logging/setLevel")]
use rmcp::model::{LoggingMessageNotificationParam, SetLevelRequestParams};
use rmcp::service::{RequestContext, RoleServer};
use serde_json::{Value, json};

use taiga_tools::ErrorCode;

use crate::logs::Escaped;
use crate::metrics::Metrics;
use crate::policy::Primitives;
use crate::sandbox::{CallContext, CallError, CallFailure, Report, ReportSink, Sandbox};
use crate::tenants::{Admission, QuotaExceeded, Tenant};
use crate::web_sign_in::{Claim, Link, Refusal, Requester, Unfinished, WebSignIn};

mod catalogue;
mod log_levels;
mod signed_in;

pub use catalogue::Catalogue;
use catalogue::{Narrowing, offers};
use log_levels::{LogLevels, logging_level, passes};
use signed_in::{Connection, SignedIn};

/// How long clients may keep `tools/list` and `server/discover`: a day. Within a process the list
/// changes only when a tenants file is reloaded; a client that keeps it that long after such a
/// reload finds a withdrawn tool refused with a clear error.
const LIST_TTL_MS: u64 = 24 * 3600 * 1000;

/// How long clients may keep `resources/list`: a minute, as projects and wiki pages come and go.
const RESOURCES_TTL_MS: u64 = 60 * 1000;
/// The scheme of MCP Apps' resources: listed and read only where a tool linked to them is offered.
const APP_SCHEME: &str = "ui://";

const INSTRUCTIONS: &str = "Taiga project management. Call `login` first; it returns a session_id that every other \
tool takes. Tool failures come back as results with isError and a body {code, message, details}: the message says \
what to do next.";

const SIGNED_IN_INSTRUCTIONS: &str = "Taiga project management, signed in as the deployment's Taiga user: no login \
and no session_id are needed (session_status says who). Tool failures come back as results with isError and a body \
{code, message, details}: the message says what to do next.";

/// Who is served and how: the caller identity each call carries.
#[derive(Debug, Clone)]
pub struct Audience {
    /// Caller identity for login rate limits when the transport gives none (stdio).
    pub caller: String,
    /// Proxies whose `X-Forwarded-For` is believed (HTTP transport).
    pub trusted_proxies: Vec<IpAddr>,
}

impl Audience {
    /// The caller identity of a request: the client address over HTTP (or, behind a trusted proxy,
    /// the nearest untrusted address it forwarded), the configured identity otherwise.
    pub fn caller_of(&self, context: &RequestContext<RoleServer>) -> String {
        context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| client_of(&parts.headers, &parts.extensions, &self.trusted_proxies))
            .map_or_else(|| self.caller.clone(), |client| client.to_string())
    }
}

/// The client address of an HTTP request (see [`caller_address`]), when the transport gives one.
pub fn client_of(
    headers: &http::HeaderMap,
    extensions: &http::Extensions,
    trusted_proxies: &[IpAddr],
) -> Option<IpAddr> {
    let ConnectInfo(peer) = extensions.get::<ConnectInfo<SocketAddr>>()?;
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect();
    Some(caller_address(peer.ip(), &forwarded, trusted_proxies))
}

/// The client address: the peer, or, when the peer is a trusted proxy, the nearest address in
/// `X-Forwarded-For` that is not a trusted proxy itself.
pub fn caller_address(peer: IpAddr, forwarded: &[&str], trusted_proxies: &[IpAddr]) -> IpAddr {
    if !trusted_proxies.contains(&peer) {
        return peer;
    }
    forwarded
        .iter()
        .flat_map(|value| value.split(','))
        .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
        .rev()
        .find(|hop| !trusted_proxies.contains(hop))
        .unwrap_or(peer)
}

/// The MCP server handler.
#[derive(Clone)]
pub struct TaigaServer {
    sandbox: Arc<Sandbox>,
    tools: Arc<Catalogue>,
    tenant: Option<Arc<Tenant>>,
    audience: Audience,
    metrics: Arc<Metrics>,
    in_flight: Arc<AtomicUsize>,
    web_sign_in: Option<Arc<WebSignIn>>,
    signed_in: Arc<SignedIn>,
    log_levels: Arc<LogLevels>,
}

/// Decrements the in-flight count when a call ends, however it ends.
struct InFlightGuard(Arc<AtomicUsize>);

/// A call admitted to run: in flight and under its tenant's quota until dropped.
struct Running {
    _in_flight: InFlightGuard,
    _admission: Option<Admission>,
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl TaigaServer {
    /// Reads the catalogue once; it is constant for a component. `tenant` serves every call when
    /// given; otherwise each request must carry its authenticated tenant (see [`crate::http`]).
    pub fn new(
        sandbox: Arc<Sandbox>,
        tools: Arc<Catalogue>,
        tenant: Option<Arc<Tenant>>,
        audience: Audience,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            sandbox,
            tools,
            tenant,
            audience,
            metrics,
            in_flight: Arc::new(AtomicUsize::new(0)),
            web_sign_in: None,
            signed_in: Arc::new(SignedIn::default()),
            log_levels: Arc::new(LogLevels::default()),
        }
    }

    /// Lets `login` without a password send the user to a sign-in page, for clients that open one.
    pub fn with_web_sign_in(mut self, web_sign_in: Arc<WebSignIn>) -> Self {
        self.web_sign_in = Some(web_sign_in);
        self
    }

    /// `login` without a password, for a client that can open a URL: the user signs in on the
    /// bridge's page. A 2025-11-25 client gets `elicitation/create` in mode `url` and, once the user
    /// is signed in, `notifications/elicitation/complete`; a 2026-07-28 client gets an
    /// input-required result whose `requestState` is the sign-in's claim and, on its retry, the
    /// session. The arguments are checked as `login` checks them (and the server against the
    /// tenant's allow-list) before anything is kept; the call is admitted and counted like any
    /// other. `None`: not this case.
    async fn sign_in_on_page(
        &self,
        tenant: &Tenant,
        caller: &str,
        request: &CallToolRequestParams,
        context: &RequestContext<RoleServer>,
    ) -> Result<Option<CallToolResponse>, McpError> {
        let Some(web) = &self.web_sign_in else {
            return Ok(None);
        };
        let arguments = request.arguments.clone().unwrap_or_default();
        let opens_urls = context
            .client_capabilities()
            .and_then(|capabilities| capabilities.elicitation)
            .is_some_and(|elicitation| elicitation.url.is_some());
        if request.name != "login"
            || arguments.contains_key("password")
            || !opens_urls
            || !offers(tenant, &self.narrowing(context)?, "login")
        {
            return Ok(None);
        }
        let started = Instant::now();
        let finish = |result: CallToolResult| {
            let code = match &result.structured_content {
                Some(body) if result.is_error == Some(true) => body["code"].as_str().unwrap_or("ERROR").to_owned(),
                _ => "OK".to_owned(),
            };
            self.metrics.tool_call(&tenant.id, "login", &code, started.elapsed());
            Ok(Some(result.into()))
        };
        if let Err(refusal) = page_arguments(tenant, &arguments) {
            return finish(CallToolResult::structured_error(refusal));
        }
        let _running = match self.admit(tenant, "login", caller, "") {
            Ok(running) => running,
            Err(refusal) => return Ok(Some(quota_failure(&tenant.id, refusal).into())),
        };
        let client = context.client_info().map(|info| info.title.unwrap_or(info.name));
        let requester = Requester {
            tenant,
            caller,
            mcp_session: mcp_session_of(context),
            client: client.as_deref(),
        };
        let modern = context
            .protocol_version()
            .is_some_and(|version| version.as_str() >= ProtocolVersion::V_2026_07_28.as_str());
        let text = |name: &str| arguments.get(name).and_then(Value::as_str);
        let (claim, completion) = match &request.request_state {
            Some(state) if modern => {
                let claim = Claim::from_request_state(state);
                let accepted = request
                    .input_responses
                    .as_ref()
                    .and_then(|responses| responses.get(SIGN_IN_INPUT))
                    .and_then(|answer| answer.get("action"))
                    .and_then(Value::as_str)
                    == Some("accept");
                if !accepted {
                    web.decline(&claim, &requester).await;
                    return finish(declined());
                }
                (claim, None)
            }
            _ => {
                let link = match web.begin(&requester, text("username"), text("host")).await {
                    Ok(link) => link,
                    Err(refusal) => return finish(self.link_refused(tenant, caller, refusal)),
                };
                tracing::info!(
                    target: "taiga_mcp::audit",
                    tenant = %tenant.id,
                    tool = "login",
                    outcome = "LINK_OPENED",
                    elicitation = %link.elicitation_id,
                    caller = %Escaped(caller),
                    "sign-in link opened"
                );
                self.metrics.sign_in_link(&tenant.id);
                if modern {
                    let ask = InputRequest::Elicitation(ElicitRequest::new(url_elicitation(&link)));
                    let pending = InputRequiredResult::new(
                        Some(BTreeMap::from([(SIGN_IN_INPUT.to_owned(), ask)])),
                        Some(link.claim.request_state().to_owned()),
                    );
                    return Ok(Some(pending.into()));
                }
                // A client that never answers is not waited for longer than the link lives.
                let answer = tokio::select! {
                    answer = tokio::time::timeout(web.link_ttl(), context.peer.create_elicitation(url_elicitation(&link))) => answer,
                    () = context.ct.cancelled() => Ok(Err(rmcp::service::ServiceError::Cancelled { reason: None })),
                };
                match answer {
                    Ok(Ok(answer)) if answer.action == ElicitationAction::Accept => {}
                    Ok(Ok(_)) => {
                        web.decline(&link.claim, &requester).await;
                        return finish(declined());
                    }
                    _ => {
                        web.decline(&link.claim, &requester).await;
                        return finish(failure(
                            ErrorCode::InvalidInput,
                            "the client did not open the sign-in page; call login again, or give the password",
                        ));
                    }
                }
                (link.claim, Some(link.elicitation_id))
            }
        };
        let result = match web.wait(&claim, &requester, &context.ct).await {
            Ok(body) => {
                let mut reply = CallToolResult::success(vec![ContentBlock::text(body.to_string())]);
                reply.structured_content = Some(body);
                reply
            }
            Err(Unfinished::Expired) => failure(
                ErrorCode::Timeout,
                "the sign-in link expired, was used, or is not this client's; call login again for a new link",
            ),
            Err(Unfinished::StoreUnavailable) => failure(
                ErrorCode::StoreUnavailable,
                "the bridge's session store cannot be reached; try again shortly",
            ),
            Err(Unfinished::Cancelled) => failure(
                ErrorCode::InvalidInput,
                "the sign-in was cancelled and its link closed; call login again when the user wants to sign in",
            ),
        };
        if let Some(elicitation_id) = completion {
            let done = CustomNotification::new(
                "notifications/elicitation/complete",
                Some(json!({"elicitationId": elicitation_id})),
            );
            let _ = context
                .peer
                .send_notification(ServerNotification::CustomNotification(done))
                .await;
        }
        finish(result)
    }

    /// A link the caps refused, counted and audited as a quota refusal.
    fn link_refused(&self, tenant: &Tenant, caller: &str, refusal: Refusal) -> CallToolResult {
        match refusal {
            Refusal::TooMany { quota, limit } => {
                self.metrics.quota_refusal(&tenant.id, quota);
                tracing::info!(
                    target: "taiga_mcp::audit",
                    tenant = %tenant.id,
                    tool = "login",
                    outcome = ErrorCode::RateLimited.as_str(),
                    quota,
                    caller = %Escaped(caller),
                    "sign-in link refused"
                );
                CallToolResult::structured_error(json!({
                    "code": ErrorCode::RateLimited.as_str(),
                    "message": format!(
                        "{limit} sign-in links were opened within one link lifetime ({quota}); finish or wait for one \
                         of them, or call login with the password"
                    ),
                    "details": {"quota": quota, "limit": limit},
                }))
            }
            Refusal::Failed(err) => {
                tracing::warn!(tenant = %tenant.id, error = %err, "cannot open a sign-in link");
                failure(
                    ErrorCode::StoreUnavailable,
                    "the bridge cannot open a sign-in link just now; try again shortly",
                )
            }
        }
    }

    /// The narrowing a request's `X-MCP-*` headers ask for (none over stdio).
    fn narrowing(&self, context: &RequestContext<RoleServer>) -> Result<Narrowing, McpError> {
        let headers = context
            .extensions
            .get::<http::request::Parts>()
            .map(|parts| &parts.headers);
        self.tools
            .narrowing(headers)
            .map_err(|err| McpError::invalid_params(err.to_string(), None))
    }

    /// The tenant a request is served for: the one authenticated over HTTP, or the server's own.
    fn tenant_of(&self, context: &RequestContext<RoleServer>) -> Result<Arc<Tenant>, McpError> {
        context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Arc<Tenant>>())
            .or(self.tenant.as_ref())
            .cloned()
            .ok_or_else(|| McpError::internal_error("the request carries no tenant", None))
    }

    /// The connection a request came on, for remembering who signed in on it: the MCP session over
    /// HTTP, the process over stdio. An HTTP request outside any MCP session (stateless) has none:
    /// nothing it signs in with is kept for another request.
    fn connection_of(&self, tenant: &Tenant, context: &RequestContext<RoleServer>) -> Option<Connection> {
        let over_http = context.extensions.get::<http::request::Parts>().is_some();
        match mcp_session_of(context) {
            Some(session) => Some(Connection::new(&tenant.id, Some(session))),
            None if over_http => None,
            None => Some(Connection::new(&tenant.id, None)),
        }
    }

    /// Remembers the session a successful `login` on this connection gave, or forgets it on `logout`.
    fn note_sign_in(&self, tenant: &Tenant, tool: &str, result: &CallToolResult, context: &RequestContext<RoleServer>) {
        if result.is_error == Some(true) {
            return;
        }
        let Some(connection) = self.connection_of(tenant, context) else {
            return;
        };
        match tool {
            "login" => {
                let session = result
                    .structured_content
                    .as_ref()
                    .and_then(|body| body["session_id"].as_str());
                if let Some(session) = session {
                    let lifetime = Duration::from_secs(tenant.settings.session_ttl_seconds);
                    self.signed_in.remember(connection, session, lifetime);
                }
            }
            "logout" => self.signed_in.forget(&connection),
            _ => {}
        }
    }

    /// Answers a resources, prompts, completion or skills request in the sandbox, as the session
    /// signed in on this connection or the tenant's own identity, under the tenant's quota.
    async fn answer<T: serde::de::DeserializeOwned>(
        &self,
        method: &'static str,
        params: &impl serde::Serialize,
        context: &RequestContext<RoleServer>,
    ) -> Result<T, McpError> {
        let tenant = self.tenant_of(context)?;
        let params = serde_json::to_value(params).map_err(|_| McpError::invalid_params("unreadable params", None))?;
        // A skill is read as a resource: its URI says which primitive serves it.
        let uri = params.get("uri").and_then(Value::as_str);
        if !tenant.primitives.serves(method, uri) {
            return Err(McpError::new(
                rmcp::model::ErrorCode::METHOD_NOT_FOUND,
                format!("`{method}` is turned off on this server (TAIGA_PRIMITIVES)"),
                None,
            ));
        }
        let caller = self.audience.caller_of(context);
        let _running = self.admit(&tenant, method, &caller, "").map_err(|refusal| {
            McpError::new(rmcp::model::ErrorCode(-32000), quota_message(&tenant.id, refusal), None)
        })?;
        let session = self
            .connection_of(&tenant, context)
            .and_then(|connection| self.signed_in.session(&connection));
        let call = CallContext {
            caller,
            namespace: tenant.namespace.clone(),
            settings: tenant.settings.clone(),
        };
        let params = params.to_string();
        let started = Instant::now();
        let answered = tokio::select! {
            answered = self.sandbox.answer(method, &params, session.as_deref(), &call, &tenant.policy) => answered,
            () = context.ct.cancelled() => return Err(McpError::internal_error("the request was cancelled", None)),
        };
        let outcome = match answered {
            Ok(Ok(text)) => serde_json::from_str::<Value>(&text)
                .and_then(|mut result| {
                    // A complete result (SEP-2322); rmcp drops the field for older protocol versions.
                    if let Some(object) = result.as_object_mut() {
                        object.entry("resultType").or_insert_with(|| json!("complete"));
                    }
                    serde_json::from_value::<T>(result)
                })
                .map_err(|_| McpError::internal_error("the component returned a malformed result", None)),
            Ok(Err(refused)) => {
                let data = refused.data.and_then(|data| serde_json::from_str::<Value>(&data).ok());
                Err(McpError::new(
                    rmcp::model::ErrorCode(refused.code),
                    refused.message,
                    data,
                ))
            }
            Err(CallFailure::Timeout) => Err(McpError::internal_error(
                "the request took longer than its time limit; try again",
                None,
            )),
            Err(CallFailure::Dispatch(_)) => Err(McpError::internal_error("the request could not be dispatched", None)),
            Err(CallFailure::Trap(reason)) => {
                tracing::error!(tenant = %tenant.id, method, reason = %Escaped(&reason), "the component trapped; its sandbox was discarded");
                self.metrics.trap(&tenant.id);
                Err(McpError::internal_error(
                    "the request failed inside the bridge; try again",
                    None,
                ))
            }
        };
        let code = match &outcome {
            Ok(_) => "OK".to_owned(),
            Err(err) => err.code.0.to_string(),
        };
        self.metrics.request(&tenant.id, method, &code, started.elapsed());
        tracing::info!(
            target: "taiga_mcp::audit",
            tenant = %tenant.id,
            method,
            outcome = %code,
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            caller = %Escaped(&call.caller),
            "request"
        );
        outcome
    }

    /// Where a call's reports go: progress as `notifications/progress` when the request asked for
    /// it (a progress token), notices as `notifications/message` when the connection's logging
    /// level allows them. The task ends when the call's store drops the sink.
    #[allow(
        deprecated,
        reason = "2025-11-25 logging; SEP-2577 deprecates it, clients still use it"
    )]
    fn forward_reports(
        &self,
        tenant: &Tenant,
        context: &RequestContext<RoleServer>,
    ) -> (ReportSink, tokio::task::JoinHandle<()>) {
        let (sink, mut reports) = tokio::sync::mpsc::unbounded_channel::<Report>();
        let peer = context.peer.clone();
        let token = context.meta.get_progress_token();
        let modern = context
            .protocol_version()
            .is_some_and(|version| version.as_str() >= ProtocolVersion::V_2026_07_28.as_str());
        let minimum = if modern {
            context.meta.log_level()
        } else {
            Some(self.log_levels.minimum(self.connection_of(tenant, context).as_ref()))
        };
        let forwarder = tokio::spawn(async move {
            while let Some(report) = reports.recv().await {
                let sent = match report {
                    Report::Progress(done, total, message) => {
                        let Some(token) = &token else { continue };
                        let mut param = ProgressNotificationParam::new(token.clone(), done as f64);
                        param.total = Some(total as f64);
                        param.message = Some(message);
                        peer.notify_progress(param).await
                    }
                    Report::Notice(level, message) => {
                        let level = logging_level(level);
                        if !minimum.is_some_and(|minimum| passes(level, minimum)) {
                            continue;
                        }
                        let mut param = LoggingMessageNotificationParam::new(level, json!(message));
                        param.logger = Some("taiga".to_owned());
                        peer.notify_logging_message(param).await
                    }
                };
                if sent.is_err() {
                    break;
                }
            }
        });
        (sink, forwarder)
    }

    /// Tool calls running now, for a graceful stop.
    pub fn in_flight(&self) -> Arc<AtomicUsize> {
        self.in_flight.clone()
    }

    /// Counts a call in flight (a graceful stop waits for it) and admits it under its tenant's
    /// quota, or says (counted and audited) which quota refuses it.
    fn admit(&self, tenant: &Tenant, name: &str, caller: &str, session: &str) -> Result<Running, QuotaExceeded> {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let in_flight = InFlightGuard(self.in_flight.clone());
        match tenant.gate.as_ref().map(|gate| gate.admit(Instant::now())).transpose() {
            Ok(admission) => Ok(Running {
                _in_flight: in_flight,
                _admission: admission,
            }),
            Err(refusal) => {
                self.metrics.quota_refusal(&tenant.id, refusal.quota());
                tracing::info!(
                    target: "taiga_mcp::audit",
                    tenant = %tenant.id,
                    tool = name,
                    outcome = ErrorCode::RateLimited.as_str(),
                    quota = refusal.quota(),
                    session = %session,
                    caller = %Escaped(caller),
                    "tool call refused by the tenant's quota"
                );
                Err(refusal)
            }
        }
    }

    /// Runs one call for `tenant` and turns every outcome but a dispatch error into a tool result.
    pub async fn run(
        &self,
        tenant: &Tenant,
        narrowing: &Narrowing,
        name: &str,
        arguments: &Value,
        caller: String,
        reports: Option<ReportSink>,
    ) -> Result<CallToolResult, McpError> {
        // Only catalogue names go further: into metric labels, logs, the quota and the sandbox.
        if !self.tools.knows(name) {
            self.metrics.unknown_tool(&tenant.id);
            tracing::debug!(target: "taiga_mcp::audit", tenant = %tenant.id, tool = %Escaped(name), "unknown tool refused");
            let shown: String = name.chars().take(64).collect();
            return Err(McpError::invalid_params(format!("unknown tool `{shown}`"), None));
        }
        // A tool this tenant or request does not offer is refused before any Taiga request.
        if !offers(tenant, narrowing, name) {
            self.metrics
                .tool_call(&tenant.id, name, ErrorCode::PermissionDenied.as_str(), Duration::ZERO);
            return Ok(CallToolResult::structured_error(json!({
                "code": ErrorCode::PermissionDenied.as_str(),
                "message": format!(
                    "`{name}` is not offered here (read-only mode, or the toolsets and tools the operator or this \
                     request chose); it is not in tools/list"
                ),
                "details": {"tool": name},
            })));
        }
        // The client chooses this text: it is logged escaped, never as it came.
        let session = arguments
            .get("session_id")
            .and_then(Value::as_str)
            .map(|id| Escaped(&id.chars().take(8).collect::<String>()).to_string())
            .unwrap_or_default();
        let _running = match self.admit(tenant, name, &caller, &session) {
            Ok(running) => running,
            Err(refusal) => return Ok(quota_failure(&tenant.id, refusal)),
        };
        let context = CallContext {
            caller,
            namespace: tenant.namespace.clone(),
            settings: tenant.settings.clone(),
        };
        let started = Instant::now();
        let outcome = self
            .sandbox
            .call_tool(name, &arguments.to_string(), &context, &tenant.policy, reports)
            .await;
        let result = match outcome {
            Ok(result) => {
                let structured: Value = serde_json::from_str(&result.structured)
                    .map_err(|_| McpError::internal_error("the component returned malformed JSON", None))?;
                // Not `CallToolResult::structured`: it would serialize the body again for a text
                // block the component has already written.
                let content = vec![ContentBlock::text(result.text)];
                let mut reply = if result.is_error {
                    CallToolResult::error(content)
                } else {
                    CallToolResult::success(content)
                };
                reply.structured_content = Some(structured);
                Ok(reply)
            }
            Err(CallFailure::Dispatch(CallError::UnknownTool(tool))) => {
                Err(McpError::invalid_params(format!("unknown tool `{tool}`"), None))
            }
            Err(CallFailure::Dispatch(CallError::MalformedArguments(reason))) => Err(McpError::invalid_params(
                format!("arguments must be a JSON object: {reason}"),
                None,
            )),
            Err(CallFailure::Timeout) => Ok(failure(
                ErrorCode::Timeout,
                "the call took longer than its time limit; try again",
            )),
            Err(CallFailure::Trap(reason)) => {
                tracing::error!(tenant = %tenant.id, tool = name, reason = %Escaped(&reason), "the component trapped; its sandbox was discarded");
                self.metrics.trap(&tenant.id);
                Ok(failure(
                    ErrorCode::Internal,
                    "the tool failed inside the bridge; the next call starts afresh",
                ))
            }
        };
        let code = match &result {
            Ok(reply) if reply.is_error == Some(true) => reply
                .structured_content
                .as_ref()
                .and_then(|body| body["code"].as_str())
                .unwrap_or("ERROR")
                .to_owned(),
            Ok(_) => "OK".to_owned(),
            Err(_) => "PROTOCOL_ERROR".to_owned(),
        };
        let elapsed = started.elapsed();
        self.metrics.tool_call(&tenant.id, name, &code, elapsed);
        tracing::info!(
            target: "taiga_mcp::audit",
            tenant = %tenant.id,
            tool = name,
            outcome = %code,
            duration_ms = elapsed.as_secs_f64() * 1000.0,
            session = %session,
            caller = %Escaped(&context.caller),
            "tool call"
        );
        result
    }
}

/// The key of the sign-in in a 2026-07-28 input-required result.
const SIGN_IN_INPUT: &str = "sign_in";

/// The MCP session a request came in, when the transport has sessions.
fn mcp_session_of(context: &RequestContext<RoleServer>) -> Option<&str> {
    context
        .extensions
        .get::<http::request::Parts>()
        .and_then(|parts| parts.headers.get("mcp-session-id"))
        .and_then(|value| value.to_str().ok())
}

/// Checks `login`'s arguments for the page as the tool checks them (bounds and the server's
/// form), and the server against the tenant's allow-list, so that no link is kept for text
/// nobody can sign in with, and the page never shows a server the bridge may not reach. A refusal
/// is the error body to answer.
fn page_arguments(tenant: &Tenant, arguments: &serde_json::Map<String, Value>) -> Result<(), Value> {
    let refuse = |err: taiga_tools::ToolError| err.to_body();
    let login = taiga_tools::catalogue()
        .iter()
        .find(|tool| tool.name == "login")
        .ok_or_else(|| refuse(taiga_tools::ToolError::internal("the component has no login tool")))?;
    taiga_tools::validate::Args::check(login.fields, arguments.clone()).map_err(refuse)?;
    let Some(host) = arguments.get("host").and_then(Value::as_str) else {
        return Ok(());
    };
    let server = taiga_tools::taiga::TaigaUrl::parse(host)
        .map_err(|reason| refuse(taiga_tools::ToolError::invalid("host", reason)))?;
    let allowed = format!("{}/api/v1/auth", server.as_str())
        .parse::<http::Uri>()
        .is_ok_and(|uri| tenant.policy.allow_list.matching(&uri).is_some());
    if allowed {
        return Ok(());
    }
    Err(refuse(
        taiga_tools::ToolError::new(
            ErrorCode::HostNotAllowed,
            "this Taiga server is not on the bridge's allow-list; leave out `host` for the default server, or ask \
             the operator to add it (TAIGA_ALLOWED_HOSTS)",
        )
        .with("field", "host"),
    ))
}

fn url_elicitation(link: &Link) -> ElicitRequestParams {
    ElicitRequestParams::UrlElicitationParams {
        meta: None,
        message: "Sign in to Taiga in your browser. Your password goes to Taiga, not to this conversation.".to_owned(),
        url: link.url.clone(),
        elicitation_id: link.elicitation_id.clone(),
    }
}

fn declined() -> CallToolResult {
    failure(
        ErrorCode::InvalidInput,
        "the user did not open the sign-in page; call login again when they want to sign in",
    )
}

fn failure(code: ErrorCode, message: &str) -> CallToolResult {
    CallToolResult::structured_error(json!({"code": code.as_str(), "message": message, "details": {}}))
}

/// What a quota refusal says, for a request that is not a tool call.
fn quota_message(tenant: &str, refusal: QuotaExceeded) -> String {
    quota_failure(tenant, refusal)
        .structured_content
        .map_or_else(String::new, |body| {
            body["message"].as_str().unwrap_or_default().to_owned()
        })
}

fn quota_failure(tenant: &str, refusal: QuotaExceeded) -> CallToolResult {
    let body = match refusal {
        QuotaExceeded::Concurrency { limit } => json!({
            "code": ErrorCode::RateLimited.as_str(),
            "message": format!("tenant `{tenant}` already has {limit} calls running; wait for one to finish and retry"),
            "details": {"quota": refusal.quota(), "limit": limit},
        }),
        QuotaExceeded::Rate { limit, retry_after } => json!({
            "code": ErrorCode::RateLimited.as_str(),
            "message": format!("tenant `{tenant}` is over its quota of {limit} calls a minute; retry after {:.1} s", retry_after.as_secs_f64()),
            "details": {"quota": refusal.quota(), "limit": limit, "retry_after_seconds": retry_after.as_secs_f64()},
        }),
    };
    CallToolResult::structured_error(body)
}

impl ServerHandler for TaigaServer {
    fn get_info(&self) -> ServerConfig {
        let signed_in = self
            .tenant
            .as_ref()
            .is_some_and(|tenant| tenant.settings.identity.is_some());
        let primitives = self
            .tenant
            .as_ref()
            .map_or_else(Primitives::default, |tenant| tenant.primitives);
        InitializeResult::new(primitives.capabilities())
            .with_server_info(Implementation::new("taiga-mcp", env!("CARGO_PKG_VERSION")))
            .with_instructions(if signed_in {
                SIGNED_IN_INSTRUCTIONS
            } else {
                INSTRUCTIONS
            })
    }

    async fn discover(&self, _context: RequestContext<RoleServer>) -> Result<DiscoverResult, McpError> {
        let mut discovered =
            DiscoverResult::from_server_info(self.supported_protocol_versions().into_owned(), self.get_info());
        discovered.ttl_ms = LIST_TTL_MS;
        discovered.cache_scope = CacheScope::Private;
        Ok(discovered)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let tenant = self.tenant_of(&context)?;
        let narrowing = self.narrowing(&context)?;
        let mut listed = ListToolsResult::with_all_items(self.tools.listed(&tenant, &narrowing));
        // The list changes only with the process (a new component) or the tenants file.
        listed.ttl_ms = Some(LIST_TTL_MS);
        listed.cache_scope = Some(CacheScope::Private);
        Ok(listed)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let arguments = Value::Object(request.arguments.clone().unwrap_or_default());
        let tenant = self.tenant_of(&context)?;
        let (reports, forwarder) = self.forward_reports(&tenant, &context);
        let caller = self.audience.caller_of(&context);
        if let Some(response) = self.sign_in_on_page(&tenant, &caller, &request, &context).await? {
            if let CallToolResponse::Complete(result) = &response {
                self.note_sign_in(&tenant, &request.name, result, &context);
            }
            return Ok(response);
        }
        let narrowing = self.narrowing(&context)?;
        let started = Instant::now();
        // A cancelled call (`notifications/cancelled`) stops here: dropping it drops its sandbox,
        // with its slot, the tenant's permit and its requests to Taiga still under way.
        let result = tokio::select! {
            result = self.run(&tenant, &narrowing, &request.name, &arguments, caller.clone(), Some(reports)) => result,
            () = context.ct.cancelled() => {
                if self.tools.knows(&request.name) {
                    self.metrics.tool_call(&tenant.id, &request.name, "CANCELLED", started.elapsed());
                    tracing::info!(
                        target: "taiga_mcp::audit",
                        tenant = %tenant.id,
                        tool = %request.name,
                        outcome = "CANCELLED",
                        caller = %Escaped(&caller),
                        "tool call cancelled by the client"
                    );
                }
                Err(McpError::internal_error("the request was cancelled", None))
            }
        };
        // The call's store (and with it the sink) is gone: flush every report before the result.
        let _ = forwarder.await;
        let mut result = result;
        if let Ok(result) = &mut result {
            self.note_sign_in(&tenant, &request.name, result, &context);
            if result.is_error != Some(true)
                && let Some(meta) = self.tools.app_result_meta(&tenant, &narrowing, &request.name)
            {
                result.meta = Some(rmcp::model::MetaObject(meta));
            }
        }
        result.map(CallToolResponse::from)
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let mut listed: ListResourcesResult = self.answer("resources/list", &request, &context).await?;
        let tenant = self.tenant_of(&context)?;
        if !tenant.primitives.skills {
            listed
                .resources
                .retain(|resource| !resource.uri.starts_with("skill://"));
        }
        let narrowing = self.narrowing(&context)?;
        listed.resources.retain(|resource| {
            !resource.uri.starts_with(APP_SCHEME) || self.tools.offers_app(&tenant, &narrowing, &resource.uri)
        });
        // Projects and wiki pages come and go; a minute keeps a client from asking on every turn.
        listed.ttl_ms = Some(RESOURCES_TTL_MS);
        listed.cache_scope = Some(CacheScope::Private);
        Ok(listed)
    }

    async fn list_resource_templates(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        let mut listed: ListResourceTemplatesResult =
            self.answer("resources/templates/list", &request, &context).await?;
        listed.ttl_ms = Some(LIST_TTL_MS);
        listed.cache_scope = Some(CacheScope::Private);
        Ok(listed)
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        if request.uri.starts_with(APP_SCHEME) {
            let tenant = self.tenant_of(&context)?;
            let narrowing = self.narrowing(&context)?;
            if !self.tools.offers_app(&tenant, &narrowing, &request.uri) {
                // As an unknown resource: whether an app exists behind a tool not offered is
                // nothing this client needs to learn.
                return Err(McpError::invalid_params(
                    format!("no resource `{}`: see resources/list", request.uri),
                    Some(json!({"uri": request.uri})),
                ));
            }
        }
        let mut read: ReadResourceResult = self.answer("resources/read", &request, &context).await?;
        // Taiga's items change under the client; a skill or an app changes only with the component.
        read.ttl_ms = Some(
            if request.uri.starts_with("skill://") || request.uri.starts_with(APP_SCHEME) {
                LIST_TTL_MS
            } else {
                0
            },
        );
        read.cache_scope = Some(CacheScope::Private);
        Ok(ReadResourceResponse::Complete(read))
    }

    async fn list_prompts(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        let mut listed: ListPromptsResult = self.answer("prompts/list", &request, &context).await?;
        listed.ttl_ms = Some(LIST_TTL_MS);
        listed.cache_scope = Some(CacheScope::Private);
        Ok(listed)
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        self.answer("prompts/get", &request, &context)
            .await
            .map(GetPromptResponse::Complete)
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        self.answer("completion/complete", &request, &context).await
    }

    async fn list_skills(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListSkillsResult, McpError> {
        let mut listed: ListSkillsResult = self.answer("skills/list", &request, &context).await?;
        listed.ttl_ms = Some(LIST_TTL_MS);
        listed.cache_scope = Some(CacheScope::Private);
        Ok(listed)
    }

    async fn get_skill(
        &self,
        request: GetSkillRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetSkillResult, McpError> {
        let mut got: GetSkillResult = self.answer("skills/get", &request, &context).await?;
        got.ttl_ms = Some(LIST_TTL_MS);
        got.cache_scope = Some(CacheScope::Private);
        Ok(got)
    }

    /// The least important notice this connection wants (2025-11-25; SEP-2577 deprecates logging).
    /// Notices are about calls (a token renewed, a list capped); the bridge's own logs go to stderr.
    #[allow(deprecated, reason = "2025-11-25 clients still send logging/setLevel")]
    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let tenant = self.tenant_of(&context)?;
        if let Some(connection) = self.connection_of(&tenant, &context) {
            self.log_levels.set(connection, request.level);
        }
        Ok(())
    }

    /// rmcp hands a request whose params do not fit its method here, as if the method were
    /// unknown: a method MCP defines gets -32602 (invalid params), not -32601.
    async fn on_custom_request(
        &self,
        request: CustomRequest,
        _context: RequestContext<RoleServer>,
    ) -> Result<CustomResult, McpError> {
        Err(unfit_request(&request.method))
    }
}

/// The methods a client may send that MCP defines.
const MCP_METHODS: [&str; 18] = [
    "initialize",
    "ping",
    "server/discover",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
    "tasks/get",
    "tasks/result",
    "tasks/list",
    "tasks/cancel",
];

/// The error for a request rmcp could not read: invalid params for a method MCP defines.
fn unfit_request(method: &str) -> McpError {
    if !MCP_METHODS.contains(&method) {
        let shown: String = method.chars().take(64).collect();
        return McpError::new(
            rmcp::model::ErrorCode::METHOD_NOT_FOUND,
            format!("no method `{shown}`"),
            None,
        );
    }
    let expected = match method {
        "tools/call" => "`name` (a string) and `arguments` (an object)",
        _ => "the params the MCP specification gives it",
    };
    McpError::invalid_params(format!("`{method}` takes {expected}; the params sent do not fit"), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_known_method_with_unfit_params_is_invalid_params() {
        let error = unfit_request("tools/call");
        assert_eq!(error.code, rmcp::model::ErrorCode::INVALID_PARAMS);
        assert!(error.message.contains("`arguments` (an object)"), "{}", error.message);
        assert_eq!(
            unfit_request("prompts/get").code,
            rmcp::model::ErrorCode::INVALID_PARAMS
        );
        assert_eq!(
            unfit_request("x/unknown").code,
            rmcp::model::ErrorCode::METHOD_NOT_FOUND
        );
    }

    #[test]
    fn forwarded_addresses_count_only_behind_trusted_proxies() {
        let proxies = [ip("10.0.0.1"), ip("10.0.0.2")];
        assert_eq!(
            caller_address(ip("203.0.113.9"), &["1.2.3.4"], &proxies),
            ip("203.0.113.9")
        );
        assert_eq!(caller_address(ip("10.0.0.1"), &["1.2.3.4"], &proxies), ip("1.2.3.4"));
        assert_eq!(
            caller_address(ip("10.0.0.1"), &["6.6.6.6, 1.2.3.4, 10.0.0.2"], &proxies),
            ip("1.2.3.4")
        );
        assert_eq!(caller_address(ip("10.0.0.1"), &["garbage"], &proxies), ip("10.0.0.1"));
        assert_eq!(caller_address(ip("10.0.0.1"), &[], &proxies), ip("10.0.0.1"));
    }
}
