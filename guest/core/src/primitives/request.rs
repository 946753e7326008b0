//! What every answer shares: the JSON-RPC errors it may end in, and the reader that runs tools as
//! the connection's Taiga user.

use serde_json::{Map, Value, json};

use crate::api::Api;
use crate::call::Call;
use crate::context::CallContext;
use crate::error::ToolResult;
use crate::platform::Platform;
use crate::schema::SESSION;
use crate::validate::Args;

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
    /// Params that name nothing: -32602 with `data`.
    pub(crate) fn invalid(message: impl Into<String>, data: Value) -> Self {
        Self {
            code: INVALID_PARAMS,
            message: message.into(),
            data: Some(data),
        }
    }
}

/// A tool's error body, as a tool call inside a request gave it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure(pub(crate) Value);

impl Failure {
    /// Its error code.
    pub(crate) fn code(&self) -> &str {
        self.0["code"].as_str().unwrap_or("INTERNAL")
    }

    fn message(&self) -> &str {
        self.0["message"].as_str().unwrap_or("the request failed")
    }

    /// The JSON-RPC error for a request about `uri` that this failure ended: what Taiga does not
    /// show this user is a URI that names nothing readable (-32602 with the URI); Taiga or the
    /// store being unreachable is not the request's fault.
    pub(crate) fn about(&self, uri: &str) -> RequestError {
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
    pub(crate) platform: &'a dyn Platform,
    context: &'a CallContext,
    session: Option<&'a str>,
}

impl<'a> Reader<'a> {
    /// A reader as `session`, or the deployment's identity without one.
    pub(crate) fn new(platform: &'a dyn Platform, context: &'a CallContext, session: Option<&'a str>) -> Self {
        Self {
            platform,
            context,
            session,
        }
    }

    /// Refuses a request that would read Taiga when nobody is signed in on this connection.
    pub(crate) fn signed_in(&self) -> Result<(), RequestError> {
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

    /// Runs `read` with the Taiga access of the connection's session or the deployment's identity:
    /// for a read that sends several requests together, which a tool's one call does not.
    pub(crate) fn with_api(&self, read: impl Fn(&Api<'_>) -> ToolResult<Value>) -> Result<Value, Failure> {
        let call = Call {
            platform: self.platform,
            context: self.context,
            as_deployment: self.session.is_none(),
        };
        let run =
            |raw: Map<String, Value>| Args::check(&[SESSION], raw).and_then(|args| read(&Api::open(&call, &args)?));
        let outcome = match self.session {
            Some(session) => run(Map::from_iter([("session_id".to_owned(), json!(session))])),
            None => crate::sign_in::run_as_deployment(&call, Map::new(), run),
        };
        outcome.map_err(|err| Failure(err.to_body()))
    }

    /// Runs a tool with `arguments` (an object), adding the connection's session.
    pub(crate) fn tool(&self, name: &str, mut arguments: Value) -> Result<Value, Failure> {
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

/// A required text param.
pub(crate) fn text_param<'a>(params: &'a Map<String, Value>, name: &str) -> Result<&'a str, RequestError> {
    params
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| RequestError::invalid(format!("`{name}` (a string) is required"), json!({"param": name})))
}
