//! The tool catalogue as data, and the dispatcher that validates arguments and runs a tool.

mod bulk;
mod comments;
mod items;
mod projects;
mod session;
mod sprints;
mod wiki;

use serde_json::{Map, Value, json};

use crate::call::Call;
use crate::context::CallContext;
use crate::error::ToolResult;
use crate::platform::Platform;
use crate::schema::{Field, input_schema};
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
    /// A tool that creates something in Taiga.
    pub const CREATE: Self = Self {
        read_only: false,
        destructive: false,
        idempotent: false,
        open_world: true,
    };
    /// A tool that overwrites fields with the given values: repeating it changes nothing more.
    pub const UPDATE: Self = Self {
        read_only: false,
        destructive: true,
        idempotent: true,
        open_world: true,
    };
    /// A tool that deletes.
    pub const DELETE: Self = Self {
        read_only: false,
        destructive: true,
        idempotent: false,
        open_world: true,
    };
}

/// One tool: its public description and its handler.
#[derive(Debug)]
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

    /// JSON Schema of its structured content as advertised: the result's shape with nothing
    /// required, so that a failure's body `{code, message, details}` validates too (some clients
    /// validate error results against the output schema).
    pub fn result_schema(&self) -> Value {
        let mut schema = (self.output_schema)();
        if let Some(object) = schema.as_object_mut() {
            object.remove("required");
        }
        schema
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
        projects::GET_PROJECT_METADATA,
        projects::CREATE_PROJECT,
        projects::UPDATE_PROJECT,
        projects::DELETE_PROJECT,
        projects::LIST_PROJECT_MEMBERS,
        projects::INVITE_PROJECT_USER,
        projects::REMOVE_PROJECT_MEMBER,
        items::LIST_EPICS,
        items::GET_EPIC,
        items::CREATE_EPIC,
        items::UPDATE_EPIC,
        items::DELETE_EPIC,
        items::ASSIGN_EPIC,
        items::UNASSIGN_EPIC,
        items::LINK_USER_STORY_TO_EPIC,
        items::UNLINK_USER_STORY_FROM_EPIC,
        items::LIST_EPIC_USER_STORIES,
        items::LIST_USER_STORIES,
        items::GET_USER_STORY,
        items::CREATE_USER_STORY,
        items::UPDATE_USER_STORY,
        items::DELETE_USER_STORY,
        items::ASSIGN_USER_STORY,
        items::UNASSIGN_USER_STORY,
        bulk::BULK_CREATE_USER_STORIES,
        bulk::MOVE_USER_STORIES_TO_SPRINT,
        bulk::BULK_UPDATE_USER_STORIES,
        items::LIST_TASKS,
        items::GET_TASK,
        items::CREATE_TASK,
        items::UPDATE_TASK,
        items::DELETE_TASK,
        items::ASSIGN_TASK,
        items::UNASSIGN_TASK,
        items::LIST_ISSUES,
        items::GET_ISSUE,
        items::CREATE_ISSUE,
        items::UPDATE_ISSUE,
        items::DELETE_ISSUE,
        items::ASSIGN_ISSUE,
        items::UNASSIGN_ISSUE,
        sprints::LIST_SPRINTS,
        sprints::GET_SPRINT,
        sprints::CREATE_SPRINT,
        sprints::UPDATE_SPRINT,
        sprints::DELETE_SPRINT,
        sprints::CLOSE_SPRINT,
        wiki::LIST_WIKI_PAGES,
        wiki::GET_WIKI_PAGE,
        wiki::CREATE_WIKI_PAGE,
        wiki::UPDATE_WIKI_PAGE,
        wiki::DELETE_WIKI_PAGE,
        comments::ADD_COMMENT,
        comments::LIST_COMMENTS,
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

/// The output schema of a delete.
pub fn deleted_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"deleted": {"type": "boolean"}, "id": {"type": "integer"}},
        "required": ["deleted", "id"]
    })
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod props;
