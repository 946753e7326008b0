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
mod request;
mod resources;
mod skills;
pub mod uri;

use serde_json::{Map, Value, json};

use crate::context::CallContext;
use crate::platform::Platform;
use request::Reader;
pub use request::{INTERNAL_ERROR, INVALID_PARAMS, METHOD_NOT_FOUND, NOT_SIGNED_IN, RequestError};

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
    let reader = Reader::new(platform, context, session);
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

#[cfg(test)]
mod tests;
