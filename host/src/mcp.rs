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
    CacheScope, CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, CustomNotification,
    DiscoverResult, ElicitRequest, ElicitRequestParams, ElicitationAction, Implementation, InitializeResult,
    InputRequest, InputRequiredResult, ListToolsResult, PaginatedRequestParams, ProgressNotificationParam,
    ProtocolVersion, ServerCapabilities, ServerConfig, ServerNotification,
};
use rmcp::service::{RequestContext, RoleServer};
use serde_json::{Value, json};

use taiga_tools::ErrorCode;

use crate::logs::Escaped;
use crate::metrics::Metrics;
use crate::sandbox::{CallContext, CallError, CallFailure, Progress, ProgressSink, Sandbox};
use crate::tenants::{QuotaExceeded, Tenant};
use crate::web_sign_in::{Link, Unfinished, WebSignIn};

mod catalogue;

pub use catalogue::Catalogue;
use catalogue::{Narrowing, offers};

/// How long clients may keep `tools/list` and `server/discover`: a day. Within a process the list
/// changes only when a tenants file is reloaded; a client that keeps it that long after such a
/// reload finds a withdrawn tool refused with a clear error.
const LIST_TTL_MS: u64 = 24 * 3600 * 1000;

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
        let Some(parts) = context.extensions.get::<http::request::Parts>() else {
            return self.caller.clone();
        };
        let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
            return self.caller.clone();
        };
        let forwarded: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect();
        caller_address(peer.ip(), &forwarded, &self.trusted_proxies).to_string()
    }
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
}

/// Decrements the in-flight count when a call ends, however it ends.
struct InFlightGuard(Arc<AtomicUsize>);

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
    /// input-required result and, on its retry, the session. `None`: not this case.
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
        let text = |name: &str| arguments.get(name).and_then(Value::as_str);
        let begin = || async {
            web.begin(tenant, caller, text("username"), text("host"))
                .await
                .map_err(|err| McpError::internal_error(format!("cannot open a sign-in link: {err}"), None))
        };
        let modern = context
            .protocol_version()
            .is_some_and(|version| version.as_str() >= ProtocolVersion::V_2026_07_28.as_str());
        let started = Instant::now();
        let (link_id, completion) = if modern {
            let Some(state) = &request.request_state else {
                let link = begin().await?;
                let ask = InputRequest::Elicitation(ElicitRequest::new(url_elicitation(&link)));
                let pending =
                    InputRequiredResult::new(Some(BTreeMap::from([(SIGN_IN_INPUT.to_owned(), ask)])), Some(link.id));
                return Ok(Some(pending.into()));
            };
            let accepted = request
                .input_responses
                .as_ref()
                .and_then(|responses| responses.get(SIGN_IN_INPUT))
                .and_then(|answer| answer.get("action"))
                .and_then(Value::as_str)
                == Some("accept");
            if !accepted {
                return Ok(Some(declined().into()));
            }
            (state.clone(), None)
        } else {
            let link = begin().await?;
            match context.peer.create_elicitation(url_elicitation(&link)).await {
                Ok(answer) if answer.action == ElicitationAction::Accept => {}
                Ok(_) => return Ok(Some(declined().into())),
                Err(_) => {
                    return Ok(Some(
                        failure(
                            ErrorCode::InvalidInput,
                            "the client did not open the sign-in page; call login again, or give the password",
                        )
                        .into(),
                    ));
                }
            }
            (link.id, Some(link.elicitation_id))
        };
        let result = match web.wait(&link_id, tenant).await {
            Ok(body) => {
                let mut reply = CallToolResult::success(vec![ContentBlock::text(body.to_string())]);
                reply.structured_content = Some(body);
                reply
            }
            Err(Unfinished::Expired) => failure(
                ErrorCode::Timeout,
                "the sign-in link expired before the user signed in; call login again for a new link",
            ),
            Err(Unfinished::StoreUnavailable) => failure(
                ErrorCode::StoreUnavailable,
                "the bridge's session store cannot be reached; try again shortly",
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
        let code = match &result.structured_content {
            Some(body) if result.is_error == Some(true) => body["code"].as_str().unwrap_or("ERROR").to_owned(),
            _ => "OK".to_owned(),
        };
        self.metrics.tool_call(&tenant.id, "login", &code, started.elapsed());
        Ok(Some(result.into()))
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

    /// Tool calls running now, for a graceful stop.
    pub fn in_flight(&self) -> Arc<AtomicUsize> {
        self.in_flight.clone()
    }

    /// Runs one call for `tenant` and turns every outcome but a dispatch error into a tool result.
    pub async fn run(
        &self,
        tenant: &Tenant,
        narrowing: &Narrowing,
        name: &str,
        arguments: &Value,
        caller: String,
        progress: Option<ProgressSink>,
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
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let _running = InFlightGuard(self.in_flight.clone());
        // The client chooses this text: it is logged escaped, never as it came.
        let session = arguments
            .get("session_id")
            .and_then(Value::as_str)
            .map(|id| Escaped(&id.chars().take(8).collect::<String>()).to_string())
            .unwrap_or_default();
        let _admitted = match tenant.gate.as_ref().map(|gate| gate.admit(Instant::now())).transpose() {
            Ok(admission) => admission,
            Err(refusal) => {
                self.metrics.quota_refusal(&tenant.id, refusal.quota());
                tracing::info!(
                    target: "taiga_mcp::audit",
                    tenant = %tenant.id,
                    tool = name,
                    outcome = ErrorCode::RateLimited.as_str(),
                    quota = refusal.quota(),
                    session = %session,
                    caller = %Escaped(&caller),
                    "tool call refused by the tenant's quota"
                );
                return Ok(quota_failure(&tenant.id, refusal));
            }
        };
        let context = CallContext {
            caller,
            namespace: tenant.namespace.clone(),
            settings: tenant.settings.clone(),
        };
        let started = Instant::now();
        let outcome = self
            .sandbox
            .call_tool(name, &arguments.to_string(), &context, &tenant.policy, progress)
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
        InitializeResult::new(ServerCapabilities::builder().enable_tools().build())
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
        let (progress, forwarder) = match context.meta.get_progress_token() {
            Some(token) => {
                let (sink, mut reports) = tokio::sync::mpsc::unbounded_channel::<Progress>();
                let peer = context.peer.clone();
                let forwarder = tokio::spawn(async move {
                    while let Some((done, total, message)) = reports.recv().await {
                        let mut param = ProgressNotificationParam::new(token.clone(), done as f64);
                        param.total = Some(total as f64);
                        param.message = Some(message);
                        if peer.notify_progress(param).await.is_err() {
                            break;
                        }
                    }
                });
                (Some(sink), Some(forwarder))
            }
            None => (None, None),
        };
        let tenant = self.tenant_of(&context)?;
        let caller = self.audience.caller_of(&context);
        if let Some(response) = self.sign_in_on_page(&tenant, &caller, &request, &context).await? {
            return Ok(response);
        }
        let narrowing = self.narrowing(&context)?;
        let result = self
            .run(&tenant, &narrowing, &request.name, &arguments, caller, progress)
            .await;
        // The call's store (and with it the sink) is gone: flush every report before the result.
        if let Some(forwarder) = forwarder {
            let _ = forwarder.await;
        }
        result.map(CallToolResponse::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
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
