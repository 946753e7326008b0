//! The tool catalogue as data, and the dispatcher that validates arguments and runs a tool.

mod projects;
mod session;

use serde_json::{Map, Value, json};

use crate::context::CallContext;
use crate::error::{ToolError, ToolResult};
use crate::platform::Platform;
use crate::schema::{Field, input_schema};
use crate::session::Session;
use crate::taiga::{Taiga, TaigaUrl};
use crate::validate::Args;

/// Behaviour hints shown to MCP clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Annotations {
    /// Changes nothing.
    pub read_only: bool,
    /// May delete or overwrite.
    pub destructive: bool,
    /// Repeating it changes nothing more.
    pub idempotent: bool,
    /// Talks to Taiga.
    pub open_world: bool,
}

impl Annotations {
    /// A read-only tool that talks to Taiga.
    pub const READ: Self = Self {
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: true,
    };
}

/// What a running tool may use.
pub struct Call<'a> {
    /// HTTP, store, clock, randomness.
    pub platform: &'a dyn Platform,
    /// Caller, namespace and settings.
    pub context: &'a CallContext,
}

impl Call<'_> {
    /// A client for `base` with this call's timeouts and limits.
    pub fn taiga<'b>(&'b self, base: &'b TaigaUrl) -> Taiga<'b, dyn Platform + 'b> {
        let settings = &self.context.settings;
        Taiga::new(
            self.platform,
            base,
            settings.request_timeout_ms,
            settings.max_response_bytes,
        )
    }

    /// Resumes the session named by the `session_id` argument.
    pub fn session(&self, args: &Args) -> ToolResult<Session> {
        crate::session::resume(self.platform, args.required_text("session_id")?)
    }
}

/// One tool: its public description and its handler.
pub struct Tool {
    /// Name clients call it by.
    pub name: &'static str,
    /// Human-readable title.
    pub title: &'static str,
    /// What it does, for the model.
    pub description: &'static str,
    /// Its arguments.
    pub fields: &'static [Field],
    /// JSON Schema of its result.
    pub output_schema: fn() -> Value,
    /// Behaviour hints.
    pub annotations: Annotations,
    run: fn(&Call<'_>, &Args) -> ToolResult<Value>,
}

impl Tool {
    /// JSON Schema of its arguments.
    pub fn input_schema(&self) -> Value {
        input_schema(self.fields)
    }
}

/// Every tool, in the order `tools/list` shows them.
pub fn catalogue() -> &'static [Tool] {
    static TOOLS: &[Tool] = &[
        session::LOGIN,
        session::LOGOUT,
        session::SESSION_STATUS,
        projects::LIST_PROJECTS,
        projects::GET_PROJECT,
    ];
    TOOLS
}

/// A call that could not be dispatched: a protocol error, not a tool result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DispatchError {
    /// No tool of that name.
    #[error("unknown tool `{0}`")]
    UnknownTool(String),
    /// The arguments are not a JSON object.
    #[error("arguments must be a JSON object: {0}")]
    MalformedArguments(String),
}

/// What a dispatched tool produced: its result, or its error body with `is_error`.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The structured result or error body.
    pub structured: Value,
    /// Whether the tool failed.
    pub is_error: bool,
}

impl Outcome {
    /// The error code, when the tool failed.
    pub fn error_code(&self) -> Option<&str> {
        self.is_error.then(|| self.structured["code"].as_str()).flatten()
    }
}

/// Validates `arguments` (JSON text; empty means `{}`) and runs the named tool.
pub fn call(
    platform: &dyn Platform,
    name: &str,
    arguments: &str,
    context: &CallContext,
) -> Result<Outcome, DispatchError> {
    let tool = catalogue()
        .iter()
        .find(|tool| tool.name == name)
        .ok_or_else(|| DispatchError::UnknownTool(name.to_owned()))?;
    let raw: Map<String, Value> = if arguments.trim().is_empty() {
        Map::new()
    } else {
        match serde_json::from_str::<Value>(arguments) {
            Ok(Value::Object(map)) => map,
            Ok(Value::Null) => Map::new(),
            Ok(_) => return Err(DispatchError::MalformedArguments("not an object".to_owned())),
            Err(err) => return Err(DispatchError::MalformedArguments(err.to_string())),
        }
    };
    let call = Call { platform, context };
    let result = Args::check(tool.fields, raw).and_then(|args| (tool.run)(&call, &args));
    Ok(match result {
        Ok(structured) => Outcome {
            structured,
            is_error: false,
        },
        Err(err) => Outcome {
            structured: err.to_body(),
            is_error: true,
        },
    })
}

/// The output schema of a paginated list of `item`s.
pub fn list_schema(item: Value) -> Value {
    json!({
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": item},
            "total": {"type": ["integer", "null"], "description": "Items across all pages, when Taiga reports it."},
            "page": {"type": "integer"},
            "page_size": {"type": "integer"},
            "has_next": {"type": "boolean", "description": "Whether a next page exists."}
        },
        "required": ["items", "total", "page", "page_size", "has_next"]
    })
}

/// Builds a result from the tool's output; a shape error here is a bug, reported as INTERNAL.
pub fn to_value(output: impl serde::Serialize) -> ToolResult<Value> {
    serde_json::to_value(output).map_err(|_| ToolError::internal("result did not serialise"))
}

#[cfg(test)]
mod tests;
