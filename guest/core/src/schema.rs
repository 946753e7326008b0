//! Tool input fields as data: one declaration gives both the JSON Schema a client sees and the
//! checks [`crate::validate`] applies, so the two cannot drift apart.

use serde_json::{Map, Value, json};

/// The largest id Taiga stores (a PostgreSQL `integer`).
pub const MAX_ID: i64 = 2_147_483_647;

/// The type and bounds of one input field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// A positive Taiga id.
    Id,
    /// A bridge session id (UUID text).
    SessionId,
    /// A string with length bounds in characters.
    Text {
        /// Fewest characters.
        min: usize,
        /// Most characters.
        max: usize,
    },
    /// An integer in a closed range.
    Integer {
        /// Smallest value.
        min: i64,
        /// Largest value.
        max: i64,
    },
    /// true or false.
    Bool,
    /// An OCC version: a non-negative integer.
    Version,
    /// A positive id, or a name resolved against the project (status, priority, role, username...).
    IdOrName,
    /// One of a fixed set of strings.
    Choice(&'static [&'static str]),
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// A list of non-blank strings (tags, titles): at most `max` of them, each at most `max_len` characters.
    Strings {
        /// Most entries.
        max: usize,
        /// Most characters in one entry.
        max_len: usize,
    },
    /// A list of distinct positive ids, 1 to `max` of them.
    Ids {
        /// Most entries.
        max: usize,
    },
    /// A positive id, or null to mean "none" (the backlog, no assignee).
    NullableId,
    /// A calendar date `YYYY-MM-DD`, or null to clear it.
    NullableDate,
    /// An object of at most `max` names, each to a string, number, boolean or null.
    Values {
        /// Most entries.
        max: usize,
    },
}

/// One named input field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Field {
    /// Argument name.
    pub name: &'static str,
    /// Type and bounds.
    pub kind: Kind,
    /// Whether the caller must give it.
    pub required: bool,
    /// What it means, for the model.
    pub description: &'static str,
}

impl Field {
    /// A required field.
    pub const fn required(name: &'static str, kind: Kind, description: &'static str) -> Self {
        Self {
            name,
            kind,
            required: true,
            description,
        }
    }

    /// An optional field.
    pub const fn optional(name: &'static str, kind: Kind, description: &'static str) -> Self {
        Self {
            name,
            kind,
            required: false,
            description,
        }
    }

    fn schema(&self) -> Value {
        let mut schema = match self.kind {
            // Schemas stay terse (a model pays for every byte); the guest enforces the full bounds.
            Kind::Id => json!({"type": "integer", "minimum": 1}),
            Kind::SessionId => json!({"type": "string"}),
            Kind::Text { min: 0, max } => json!({"type": "string", "maxLength": max}),
            Kind::Text { min, max } => json!({"type": "string", "minLength": min, "maxLength": max}),
            Kind::Integer { min, max } => json!({"type": "integer", "minimum": min, "maximum": max}),
            Kind::Bool => json!({"type": "boolean"}),
            Kind::Version => json!({"type": "integer", "minimum": 0}),
            Kind::IdOrName => json!({"type": ["integer", "string"]}),
            Kind::Choice(choices) => json!({"type": "string", "enum": choices}),
            Kind::Date => json!({"type": "string", "format": "date"}),
            Kind::Strings { max, max_len } => json!({
                "type": "array", "maxItems": max,
                "items": {"type": "string", "minLength": 1, "maxLength": max_len}
            }),
            Kind::Ids { max } => json!({
                "type": "array", "minItems": 1, "maxItems": max, "items": {"type": "integer", "minimum": 1}
            }),
            Kind::NullableId => json!({"type": ["integer", "null"], "minimum": 1}),
            Kind::NullableDate => json!({"type": ["string", "null"], "format": "date"}),
            Kind::Values { max } => json!({"type": "object", "maxProperties": max}),
        };
        schema["description"] = Value::from(self.description);
        schema
    }
}

/// The session argument every tool but `login` takes first.
pub const SESSION: Field = Field::required("session_id", Kind::SessionId, "From login.");

/// The OCC version argument of updates and deletes.
pub const VERSION: Field = Field::required(
    "version",
    Kind::Version,
    "From your last read (stale: VERSION_CONFLICT).",
);

/// The JSON Schema of an arguments object with exactly these fields.
pub fn input_schema(fields: &[Field]) -> Value {
    let properties: Map<String, Value> = fields
        .iter()
        .map(|field| (field.name.to_owned(), field.schema()))
        .collect();
    let required: Vec<&str> = fields
        .iter()
        .filter(|field| field.required)
        .map(|field| field.name)
        .collect();
    // No `additionalProperties: false`: the properties already tell a model what to send, and the
    // guest refuses anything else with an INVALID_INPUT that names the argument.
    json!({"type": "object", "properties": properties, "required": required})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_lists_required_fields_with_bounds() {
        let schema = input_schema(&[
            SESSION,
            Field::optional("page", Kind::Integer { min: 1, max: 9 }, "Page."),
        ]);
        assert_eq!(schema["required"], json!(["session_id"]));
        assert_eq!(schema["properties"]["page"]["maximum"], 9);
        assert_eq!(schema["properties"]["page"]["description"], "Page.");
    }

    #[test]
    fn ids_are_positive_integers() {
        let schema = input_schema(&[Field::required("project_id", Kind::Id, "Project.")]);
        let id = &schema["properties"]["project_id"];
        assert_eq!(id["type"], "integer");
        assert_eq!(id["minimum"], 1);
    }
}
