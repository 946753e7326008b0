//! The MCP face of the bridge: `tools/list` from the component's catalogue, `tools/call` through
//! the sandbox, an audit line per call.

use std::sync::Arc;
use std::time::Instant;

use rmcp::ErrorData as McpError;
use rmcp::handler::server::ServerHandler;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, InitializeResult,
    JsonObject, ListToolsResult, PaginatedRequestParams, ProgressNotificationParam, ServerCapabilities, ServerConfig,
    ToolAnnotations,
};
use rmcp::service::{RequestContext, RoleServer};
use serde_json::{Value, json};

use crate::sandbox::{CallContext, CallError, CallFailure, Progress, ProgressSink, Sandbox, Settings, Tool};

const INSTRUCTIONS: &str = "Taiga project management. Call `login` first; it returns a session_id that every other \
tool takes. Tool failures come back as results with isError and a body {code, message, details}: the message says \
what to do next.";

/// Who is served and how: the caller identity and namespace each call carries.
#[derive(Debug, Clone)]
pub struct Audience {
    /// Caller identity for login rate limits.
    pub caller: String,
    /// Session-store namespace.
    pub namespace: String,
}

/// The MCP server handler.
#[derive(Clone)]
pub struct TaigaServer {
    sandbox: Arc<Sandbox>,
    tools: Arc<Vec<rmcp::model::Tool>>,
    settings: Settings,
    audience: Audience,
}

impl TaigaServer {
    /// Reads the catalogue once; it is constant for a component.
    pub async fn new(sandbox: Arc<Sandbox>, settings: Settings, audience: Audience) -> anyhow::Result<Self> {
        let tools = sandbox
            .list_tools()
            .await?
            .into_iter()
            .map(to_mcp_tool)
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self {
            sandbox,
            tools: Arc::new(tools),
            settings,
            audience,
        })
    }

    /// Runs one call and turns every outcome but a dispatch error into a tool result.
    pub async fn run(
        &self,
        name: &str,
        arguments: &Value,
        progress: Option<ProgressSink>,
    ) -> Result<CallToolResult, McpError> {
        let context = CallContext {
            caller: self.audience.caller.clone(),
            namespace: self.audience.namespace.clone(),
            settings: self.settings.clone(),
        };
        let started = Instant::now();
        let outcome = self
            .sandbox
            .call_tool(name, &arguments.to_string(), &context, progress)
            .await;
        let session = arguments
            .get("session_id")
            .and_then(Value::as_str)
            .map(|id| id.chars().take(8).collect::<String>())
            .unwrap_or_default();
        let result = match outcome {
            Ok(result) => {
                let structured: Value = serde_json::from_str(&result.structured)
                    .map_err(|_| McpError::internal_error("the component returned malformed JSON", None))?;
                let mut reply = if result.is_error {
                    CallToolResult::structured_error(structured)
                } else {
                    CallToolResult::structured(structured)
                };
                reply.content = vec![ContentBlock::text(result.text)];
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
                "TIMEOUT",
                "the call took longer than its time limit; try again",
            )),
            Err(CallFailure::Trap(reason)) => {
                tracing::error!(tool = name, reason = %reason, "the component trapped; its sandbox was discarded");
                Ok(failure(
                    "INTERNAL",
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
        tracing::info!(
            target: "taiga_mcp::audit",
            tool = name,
            outcome = %code,
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            session = %session,
            caller = %self.audience.caller,
            "tool call"
        );
        result
    }
}

fn failure(code: &str, message: &str) -> CallToolResult {
    CallToolResult::structured_error(json!({"code": code, "message": message, "details": {}}))
}

fn schema_object(text: &str, tool: &str) -> anyhow::Result<Arc<JsonObject>> {
    match serde_json::from_str(text) {
        Ok(Value::Object(object)) => Ok(Arc::new(object)),
        _ => anyhow::bail!("the component's schema for `{tool}` is not a JSON object"),
    }
}

fn to_mcp_tool(tool: Tool) -> anyhow::Result<rmcp::model::Tool> {
    let input = schema_object(&tool.input_schema, &tool.name)?;
    let output = schema_object(&tool.output_schema, &tool.name)?;
    let annotations = ToolAnnotations::with_title(tool.title.clone())
        .read_only(tool.annotations.read_only)
        .destructive(tool.annotations.destructive)
        .idempotent(tool.annotations.idempotent)
        .open_world(tool.annotations.open_world);
    Ok(rmcp::model::Tool::new(tool.name, tool.description, input)
        .with_title(tool.title)
        .with_raw_output_schema(output)
        .with_annotations(annotations))
}

impl ServerHandler for TaigaServer {
    fn get_info(&self) -> ServerConfig {
        InitializeResult::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("taiga-mcp", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.tools.as_ref().clone()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let arguments = Value::Object(request.arguments.unwrap_or_default());
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
        let result = self.run(&request.name, &arguments, progress).await;
        // The call's store (and with it the sink) is gone: flush every report before the result.
        if let Some(forwarder) = forwarder {
            let _ = forwarder.await;
        }
        result.map(CallToolResponse::from)
    }
}
