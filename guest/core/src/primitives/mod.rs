//! MCP's other primitives as data: resources and their templates, prompts, completions and skills.
//!
//! The host hands each request here with its params as JSON, and answers with the JSON this
//! returns: adding a template, a prompt or a skill changes this module, never the WIT. Everything
//! that reads Taiga goes through the tools themselves (their validation, sessions, kept project
//! facts and error bodies), as the signed-in session of the connection or the deployment's
//! identity; nothing is kept here between calls.

mod completions;
mod markdown;
mod prompts;
mod resources;
mod skills;
pub mod uri;

use serde_json::{Map, Value, json};

use crate::context::CallContext;
use crate::platform::Platform;

/// JSON-RPC's code for params that name nothing the server serves (SEP-2164 for resources).
pub const INVALID_PARAMS: i32 = -32602;
/// JSON-RPC's code for a method the component does not answer.
pub const METHOD_NOT_FOUND: i32 = -32601;
/// A server-defined JSON-RPC code: nobody is signed in to Taiga on this connection.
pub const NOT_SIGNED_IN: i32 = -32001;
/// JSON-RPC's code for a failure the request did not cause (Taiga down, a timeout).
pub const INTERNAL_ERROR: i32 = -32603;

/// A request refused: the host answers it as this JSON-RPC error.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestError {
    /// JSON-RPC error code.
    pub code: i32,
    /// What went wrong and what to do next.
    pub message: String,
    /// The error's `data`.
    pub data: Option<Value>,
}

impl RequestError {
    fn invalid(message: impl Into<String>, data: Value) -> Self {
        Self {
            code: INVALID_PARAMS,
            message: message.into(),
            data: Some(data),
        }
    }
}

/// A tool's error body, as a tool call inside a request gave it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure(Value);

impl Failure {
    fn code(&self) -> &str {
        self.0["code"].as_str().unwrap_or("INTERNAL")
    }

    fn message(&self) -> &str {
        self.0["message"].as_str().unwrap_or("the request failed")
    }

    /// The JSON-RPC error for a request about `uri` that this failure ended: what Taiga does not
    /// show this user is a URI that names nothing readable (-32602 with the URI); Taiga or the
    /// store being unreachable is not the request's fault.
    fn about(&self, uri: &str) -> RequestError {
        let code = match self.code() {
            "NOT_FOUND" | "PERMISSION_DENIED" | "INVALID_INPUT" | "HOST_NOT_ALLOWED" => INVALID_PARAMS,
            "SESSION_INVALID" | "SESSION_EXPIRED" | "INVALID_CREDENTIALS" => NOT_SIGNED_IN,
            _ => INTERNAL_ERROR,
        };
        RequestError {
            code,
            message: format!("{uri}: {}", self.message()),
            data: Some(json!({"uri": uri, "code": self.code()})),
        }
    }
}

/// Runs tools for a request, as the connection's session or the deployment's identity.
pub(crate) struct Reader<'a> {
    platform: &'a dyn Platform,
    context: &'a CallContext,
    session: Option<&'a str>,
}

impl Reader<'_> {
    /// Refuses a request that would read Taiga when nobody is signed in on this connection.
    fn signed_in(&self) -> Result<(), RequestError> {
        if self.session.is_some() || self.context.settings.identity.is_some() {
            return Ok(());
        }
        Err(RequestError {
            code: NOT_SIGNED_IN,
            message: "not signed in to Taiga: call the `login` tool on this connection first (over Streamable HTTP, \
                      within an MCP session), or ask the operator for a deployment identity (TAIGA_USERNAME or \
                      TAIGA_TOKEN)"
                .to_owned(),
            data: None,
        })
    }

    /// Runs a tool with `arguments` (an object), adding the connection's session.
    fn tool(&self, name: &str, mut arguments: Value) -> Result<Value, Failure> {
        if let (Some(session), Some(object)) = (self.session, arguments.as_object_mut()) {
            object.insert("session_id".to_owned(), json!(session));
        }
        match crate::tools::call(self.platform, name, &arguments.to_string(), self.context) {
            Ok(outcome) if outcome.is_error => Err(Failure(outcome.structured)),
            Ok(outcome) => Ok(outcome.structured),
            Err(err) => Err(Failure(json!({"code": "INTERNAL", "message": err.to_string()}))),
        }
    }
}

/// Answers one MCP request (`resources/list`, `resources/templates/list`, `resources/read`,
/// `prompts/list`, `prompts/get`, `completion/complete`, `skills/list`, `skills/get`) whose params
/// are `params` (JSON text; empty means none), as the Taiga session `session` names or, without
/// one, the deployment's identity. The result is the method's MCP result.
pub fn answer(
    platform: &dyn Platform,
    method: &str,
    params: &str,
    session: Option<&str>,
    context: &CallContext,
) -> Result<Value, RequestError> {
    let params: Map<String, Value> = match serde_json::from_str::<Value>(params) {
        _ if params.trim().is_empty() => Map::new(),
        Ok(Value::Object(params)) => params,
        Ok(Value::Null) => Map::new(),
        _ => {
            return Err(RequestError::invalid(
                format!("`{method}` takes an object of params"),
                json!({}),
            ));
        }
    };
    let reader = Reader {
        platform,
        context,
        session,
    };
    match method {
        "resources/list" => resources::list(&reader, &params),
        "resources/templates/list" => Ok(resources::templates()),
        "resources/read" => resources::read(&reader, &params),
        "prompts/list" => Ok(prompts::list()),
        "prompts/get" => prompts::get(&reader, &params),
        "completion/complete" => completions::complete(&reader, &params),
        "skills/list" => Ok(skills::list()),
        "skills/get" => skills::get(&params),
        _ => Err(RequestError {
            code: METHOD_NOT_FOUND,
            message: format!("the component does not answer `{method}`"),
            data: None,
        }),
    }
}

/// A required text param.
fn text_param<'a>(params: &'a Map<String, Value>, name: &str) -> Result<&'a str, RequestError> {
    params
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| RequestError::invalid(format!("`{name}` (a string) is required"), json!({"param": name})))
}

#[cfg(test)]
mod tests;
