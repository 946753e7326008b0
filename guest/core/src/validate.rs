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
                Some(Value::Null) if field.kind == Kind::NullableId => {}
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

    /// Whether the caller gave the field at all (null included).
    pub fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// A checked field's raw value (null when absent).
    pub fn raw(&self, name: &str) -> &Value {
        self.0.get(name).unwrap_or(&Value::Null)
    }

    /// A checked list of strings, if given.
    pub fn strings(&self, name: &str) -> Option<Vec<String>> {
        self.0
            .get(name)?
            .as_array()
            .map(|items| items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
    }

    /// A checked list of ids, if given.
    pub fn ids(&self, name: &str) -> Option<Vec<i64>> {
        self.0
            .get(name)?
            .as_array()
            .map(|items| items.iter().filter_map(Value::as_i64).collect())
    }
}

fn check_value(field: &Field, value: &Value) -> ToolResult<()> {
    let name = field.name;
    match field.kind {
        Kind::Id => check_integer(name, value, 1, MAX_ID, "a positive integer id"),
        Kind::Integer { min, max } => check_integer(name, value, min, max, &format!("an integer from {min} to {max}")),
        Kind::Version => check_integer(name, value, 0, MAX_ID, "a version number (0 or more)"),
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
        Kind::IdOrName => match value {
            Value::Number(_) => check_integer(name, value, 1, MAX_ID, "a positive integer id or a name"),
            Value::String(text) => check_text(name, text, 1, 255),
            _ => Err(ToolError::invalid(name, "must be a positive integer id or a name")),
        },
        Kind::NullableId => check_integer(name, value, 1, MAX_ID, "a positive integer id or null"),
        Kind::Choice(choices) => match value.as_str() {
            Some(text) if choices.contains(&text) => Ok(()),
            _ => Err(ToolError::invalid(
                name,
                format!("must be one of {}", choices.join(", ")),
            )),
        },
        Kind::Date | Kind::NullableDate => {
            let text = value
                .as_str()
                .ok_or_else(|| ToolError::invalid(name, "must be a date string YYYY-MM-DD"))?;
            if is_date(text) {
                Ok(())
            } else {
                Err(ToolError::invalid(name, "must be a valid date YYYY-MM-DD"))
            }
        }
        Kind::Strings { max, max_len } => {
            let items = value
                .as_array()
                .ok_or_else(|| ToolError::invalid(name, "must be a list of strings"))?;
            if items.len() > max {
                return Err(ToolError::invalid(name, format!("must have at most {max} entries")));
            }
            items.iter().try_for_each(|item| match item.as_str() {
                Some(text) => check_text(name, text, 1, max_len),
                None => Err(ToolError::invalid(name, "must be a list of strings")),
            })
        }
        Kind::Ids { max } => {
            let items = value
                .as_array()
                .ok_or_else(|| ToolError::invalid(name, "must be a list of positive integer ids"))?;
            if items.is_empty() || items.len() > max {
                return Err(ToolError::invalid(name, format!("must have 1 to {max} ids")));
            }
            let mut seen = Vec::with_capacity(items.len());
            for item in items {
                check_integer(name, item, 1, MAX_ID, "a list of positive integer ids")?;
                if seen.contains(item) {
                    return Err(ToolError::invalid(name, format!("lists id {item} twice")));
                }
                seen.push(item.clone());
            }
            Ok(())
        }
        Kind::Values { max } => {
            let values = value
                .as_object()
                .ok_or_else(|| ToolError::invalid(name, "must be an object of names to values"))?;
            if values.len() > max {
                return Err(ToolError::invalid(name, format!("must have at most {max} entries")));
            }
            match values.iter().find(|(_, value)| value.is_array() || value.is_object()) {
                Some((key, _)) => Err(ToolError::invalid(
                    name,
                    format!("`{key}` must be a string, number, true/false or null"),
                )),
                None => Ok(()),
            }
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

/// Checks an email address against RFC 5322's addr-spec (dot-atom or quoted local part, dot-atom
/// domain of LDH labels with a dot), within RFC 5321's lengths.
pub fn check_email(field: &str, text: &str) -> ToolResult<()> {
    let refuse = || {
        Err(ToolError::invalid(
            field,
            "must be an email address like name@example.com",
        ))
    };
    let Some((local, domain)) = text.rsplit_once('@') else {
        return refuse();
    };
    if text.len() > 254 || local.is_empty() || local.len() > 64 || domain.len() > 253 {
        return refuse();
    }
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
    let local_ok = if let Some(quoted) = local.strip_prefix('"').and_then(|l| l.strip_suffix('"')) {
        quoted
            .chars()
            .all(|c| c.is_ascii() && c != '"' && c != '\\' && !c.is_ascii_control())
    } else {
        local.split('.').all(|atom| !atom.is_empty() && atom.chars().all(atext))
    };
    let domain_ok = domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if local_ok && domain_ok { Ok(()) } else { refuse() }
}

/// Whether `text` is a real calendar date `YYYY-MM-DD`.
pub fn is_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return false;
    }
    let number = |range: std::ops::Range<usize>| text.get(range).and_then(|part| part.parse::<u32>().ok());
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(5..7), number(8..10)) else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit())
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
    fn emails_follow_rfc_5322_addr_spec() {
        for good in [
            "a@example.com",
            "first.last+tag@sub.example.org",
            "\"odd person\"@example.com",
            "x_y-z@a-b.io",
        ] {
            assert!(check_email("email", good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@localhost",
            "a..b@example.com",
            ".a@example.com",
            "a@-example.com",
            "a@example..com",
            "a b@example.com",
            "a@exa_mple.com",
            "<a@example.com>",
        ] {
            assert_eq!(
                check_email("email", bad).unwrap_err().details["field"],
                "email",
                "{bad}"
            );
        }
        assert!(check_email("email", &format!("{}@example.com", "a".repeat(65))).is_err());
    }

    #[test]
    fn dates_must_exist() {
        assert!(is_date("2024-02-29"));
        assert!(!is_date("2023-02-29"));
        assert!(!is_date("2026-13-01"));
        assert!(!is_date("2026-1-01"));
        assert!(!is_date("+026-01-01"));
    }

    #[test]
    fn lists_and_choices() {
        const LISTS: &[Field] = &[
            Field::optional("ids", Kind::Ids { max: 3 }, "Ids."),
            Field::optional("tags", Kind::Strings { max: 2, max_len: 255 }, "Tags."),
            Field::optional("mode", Kind::Choice(&["a", "b"]), "Mode."),
            Field::optional("who", Kind::IdOrName, "Who."),
            Field::optional("sprint", Kind::NullableId, "Sprint."),
        ];
        let check = |raw: Value| Args::check(LISTS, raw.as_object().cloned().unwrap_or_default());
        assert!(check(json!({"ids": [1, 2], "tags": ["x"], "mode": "a", "who": "bob", "sprint": null})).is_ok());
        assert!(check(json!({"who": 3, "sprint": 4})).is_ok());
        for bad in [
            json!({"ids": []}),
            json!({"ids": [1, 1]}),
            json!({"ids": [1, 2, 3, 4]}),
            json!({"ids": [0]}),
            json!({"tags": ["a", "b", "c"]}),
            json!({"tags": [1]}),
            json!({"mode": "c"}),
            json!({"who": 0}),
            json!({"who": ""}),
            json!({"who": true}),
            json!({"sprint": 0}),
        ] {
            assert!(check(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn uuid_shape() {
        assert!(is_uuid("0f8fad5b-d9cb-469f-a165-70867728950e"));
        assert!(!is_uuid("0f8fad5b-d9cb-469f-a165-70867728950"));
        assert!(!is_uuid("0f8fad5bxd9cb-469f-a165-70867728950e"));
        assert!(!is_uuid("zf8fad5b-d9cb-469f-a165-70867728950e"));
    }
}
