//! Checks raw JSON arguments against a tool's [`Field`]s at the boundary. Every error names its field.

use serde_json::{Map, Value};

use crate::error::{ToolError, ToolResult};
use crate::schema::{Field, Kind, MAX_ID};

/// Arguments that passed validation against a tool's fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Args(Map<String, Value>);

impl Args {
    /// Checks `raw` against `fields`: unknown names, missing required fields, types and bounds.
    pub fn check(fields: &[Field], raw: Map<String, Value>) -> ToolResult<Self> {
        let mut unknown: Vec<&str> = raw
            .keys()
            .filter(|name| !fields.iter().any(|field| field.name == name.as_str()))
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            unknown.sort_unstable();
            let allowed: Vec<&str> = fields.iter().map(|field| field.name).collect();
            return Err(ToolError::invalid(
                unknown[0],
                format!(
                    "unknown argument{} {}; this tool takes {}",
                    if unknown.len() > 1 { "s" } else { "" },
                    unknown.join(", "),
                    allowed.join(", ")
                ),
            )
            .with("unknown", unknown.clone()));
        }
        for field in fields {
            match raw.get(field.name) {
                None | Some(Value::Null) if field.required => {
                    return Err(ToolError::invalid(field.name, "is required"));
                }
                None | Some(Value::Null) => {}
                Some(value) => check_value(field, value)?,
            }
        }
        Ok(Self(raw))
    }

    /// A checked id or integer field, if given.
    pub fn int(&self, name: &str) -> Option<i64> {
        self.0.get(name).and_then(Value::as_i64)
    }

    /// A checked id or integer field the tool declared as required.
    pub fn required_int(&self, name: &str) -> ToolResult<i64> {
        self.int(name).ok_or_else(|| ToolError::invalid(name, "is required"))
    }

    /// A checked string field, if given.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }

    /// A checked string field the tool declared as required.
    pub fn required_text(&self, name: &str) -> ToolResult<&str> {
        self.text(name).ok_or_else(|| ToolError::invalid(name, "is required"))
    }

    /// A checked boolean field, if given.
    pub fn flag(&self, name: &str) -> Option<bool> {
        self.0.get(name).and_then(Value::as_bool)
    }
}

fn check_value(field: &Field, value: &Value) -> ToolResult<()> {
    let name = field.name;
    match field.kind {
        Kind::Id => check_integer(name, value, 1, MAX_ID, "a positive integer id"),
        Kind::Integer { min, max } => check_integer(name, value, min, max, &format!("an integer from {min} to {max}")),
        Kind::Bool => match value {
            Value::Bool(_) => Ok(()),
            _ => Err(ToolError::invalid(name, "must be true or false")),
        },
        Kind::Text { min, max } => {
            let text = value
                .as_str()
                .ok_or_else(|| ToolError::invalid(name, "must be a string"))?;
            check_text(name, text, min, max)
        }
        Kind::SessionId => {
            let text = value
                .as_str()
                .ok_or_else(|| ToolError::invalid(name, "must be a string"))?;
            if is_uuid(text) {
                Ok(())
            } else {
                Err(ToolError::invalid(
                    name,
                    "must be the session id `login` returned (a UUID)",
                ))
            }
        }
    }
}

fn check_integer(name: &str, value: &Value, min: i64, max: i64, expected: &str) -> ToolResult<()> {
    match value.as_i64() {
        Some(number) if (min..=max).contains(&number) => Ok(()),
        _ => Err(ToolError::invalid(name, format!("must be {expected}"))),
    }
}

fn check_text(name: &str, text: &str, min: usize, max: usize) -> ToolResult<()> {
    if text.contains('\0') {
        return Err(ToolError::invalid(name, "must not contain NUL characters"));
    }
    let length = text.chars().count();
    if length < min || (min > 0 && text.trim().is_empty()) {
        return Err(ToolError::invalid(
            name,
            format!(
                "must have at least {min} non-blank character{}",
                if min == 1 { "" } else { "s" }
            ),
        ));
    }
    if length > max {
        return Err(ToolError::invalid(
            name,
            format!("must have at most {max} characters (got {length})"),
        ));
    }
    Ok(())
}

/// Whether `text` has the 8-4-4-4-12 hexadecimal form of a UUID.
pub fn is_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(index, byte)| match index {
            8 | 13 | 18 | 23 => *byte == b'-',
            _ => byte.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use serde_json::json;

    const FIELDS: &[Field] = &[
        Field::required("project_id", Kind::Id, "Project."),
        Field::optional("title", Kind::Text { min: 1, max: 5 }, "Title."),
        Field::optional("all", Kind::Bool, "All."),
    ];

    fn check(raw: Value) -> ToolResult<Args> {
        Args::check(FIELDS, raw.as_object().cloned().unwrap_or_default())
    }

    fn field_of(result: ToolResult<Args>) -> String {
        let err = result.expect_err("should be refused");
        assert_eq!(err.code, ErrorCode::InvalidInput);
        err.details["field"].as_str().unwrap_or_default().to_owned()
    }

    #[test]
    fn accepts_valid_arguments() {
        let args = check(json!({"project_id": 3, "title": "abc", "all": true})).unwrap();
        assert_eq!(args.int("project_id"), Some(3));
        assert_eq!(args.text("title"), Some("abc"));
        assert_eq!(args.flag("all"), Some(true));
    }

    #[test]
    fn refuses_bad_ids_and_names_the_field() {
        for bad in [
            json!(0),
            json!(-1),
            json!(1.5),
            json!("3"),
            json!(9_223_372_036_854_775_807i64),
            json!(2_147_483_648i64),
        ] {
            assert_eq!(field_of(check(json!({"project_id": bad}))), "project_id");
        }
    }

    #[test]
    fn refuses_missing_required_and_unknown_fields() {
        assert_eq!(field_of(check(json!({}))), "project_id");
        assert_eq!(field_of(check(json!({"project_id": null}))), "project_id");
        let err = check(json!({"project_id": 1, "zeta": 1, "alpha": 2})).unwrap_err();
        assert_eq!(err.details["field"], "alpha");
        assert_eq!(err.details["unknown"], json!(["alpha", "zeta"]));
        assert!(err.message.contains("project_id, title, all"));
    }

    #[test]
    fn text_bounds_count_characters_and_refuse_blank_and_nul() {
        assert!(check(json!({"project_id": 1, "title": "ééééé"})).is_ok());
        assert_eq!(field_of(check(json!({"project_id": 1, "title": "abcdef"}))), "title");
        assert_eq!(field_of(check(json!({"project_id": 1, "title": ""}))), "title");
        assert_eq!(field_of(check(json!({"project_id": 1, "title": "   "}))), "title");
        assert_eq!(field_of(check(json!({"project_id": 1, "title": "a\0b"}))), "title");
        assert_eq!(field_of(check(json!({"project_id": 1, "title": 5}))), "title");
    }

    #[test]
    fn uuid_shape() {
        assert!(is_uuid("0f8fad5b-d9cb-469f-a165-70867728950e"));
        assert!(!is_uuid("0f8fad5b-d9cb-469f-a165-70867728950"));
        assert!(!is_uuid("0f8fad5bxd9cb-469f-a165-70867728950e"));
        assert!(!is_uuid("zf8fad5b-d9cb-469f-a165-70867728950e"));
    }
}
