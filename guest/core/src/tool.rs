//! What a tool is: its public description (name, title, description, argument fields, output
//! schema, annotations) and its handler. The catalogue of every tool is in [`crate::tools`].

use serde_json::{Value, json};

use crate::call::Call;
use crate::error::ToolResult;
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
    /// Its handler.
    pub(crate) run: fn(&Call<'_>, &Args) -> ToolResult<Value>,
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

/// The output schema of a paginated list of `item`s.
pub fn list_schema(item: Value) -> Value {
    json!({
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": item},
            "total": {"type": ["integer", "null"]},
            "page": {"type": "integer"},
            "page_size": {"type": "integer"},
            "has_next": {"type": "boolean"}
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
