//! Custom attributes (Taiga's custom fields) of user stories, tasks, issues and epics: a project's
//! definitions, an item's values by attribute name, and setting them with checks by type.
//!
//! Taiga keeps a `version` on an item's values but does not check it (recording 193), and a PATCH
//! replaces the whole map. The bridge reads the values, compares the caller's version, merges the
//! change and writes the whole map back, so a stale write is a `VERSION_CONFLICT` as everywhere
//! else (between that read and the write, a conflict can still slip through: Taiga gives no way
//! to close that window).

use serde_json::{Map, Value, json};

use crate::api::Api;
use crate::call::Call;
use crate::error::{ErrorCode, ToolError, ToolResult};
use crate::resource::Resource;
use crate::schema::{Field, Kind, SESSION, VERSION};
use crate::tool::{Annotations, Tool};
use crate::tools::target::{ITEM_ID, ITEMS, project_of, resource, resource_field};
use crate::validate::{Args, is_date};

const RESOURCE: Field = resource_field(ITEMS);

/// `/userstory-custom-attributes` and so on.
fn definitions_path(resource: &Resource) -> ToolResult<String> {
    let name = resource
        .history
        .ok_or_else(|| ToolError::internal("resource without custom attributes"))?;
    Ok(format!("/{name}-custom-attributes"))
}

fn definitions(api: &Api<'_>, resource: &Resource, project: i64) -> ToolResult<Vec<Value>> {
    let listed = api.taiga().get(
        &format!("{}?project={project}", definitions_path(resource)?),
        &format!("the {} custom fields of project {project}", resource.noun),
    )?;
    Ok(listed.as_array().cloned().unwrap_or_default())
}

fn definition(attribute: &Value) -> Value {
    let mut out = json!({
        "id": attribute["id"],
        "name": attribute["name"],
        "type": attribute["type"],
        "description": attribute["description"],
    });
    if attribute["type"] == "dropdown" {
        out["choices"] = attribute["extra"].clone();
    }
    out
}

pub const LIST_CUSTOM_ATTRIBUTES: Tool = Tool {
    name: "list_custom_attributes",
    title: "List custom fields",
    description: "List a project's custom fields for one kind of item: name, type (text, multiline, richtext, \
        date, url, dropdown with its choices, checkbox, number).",
    fields: &[
        SESSION,
        Field::required("project_id", Kind::Id, "Project id."),
        RESOURCE,
    ],
    output_schema: || {
        json!({
            "type": "object",
            "properties": {"attributes": {"type": "array", "items": {"type": "object"}}},
            "required": ["attributes"]
        })
    },
    annotations: Annotations::READ,
    run: |call, args| {
        let api = Api::open(call, args)?;
        let resource = resource(args, ITEMS)?;
        let found = definitions(&api, resource, args.required_int("project_id")?)?;
        Ok(json!({"attributes": found.iter().map(definition).collect::<Vec<_>>()}))
    },
};

/// An item's project, its custom field definitions and its current values with their version.
struct Current {
    definitions: Vec<Value>,
    values: Map<String, Value>,
    version: i64,
}

fn values_path(resource: &Resource, id: i64) -> String {
    format!("{}/custom-attributes-values/{id}", resource.path)
}

fn read(api: &Api<'_>, resource: &Resource, id: i64) -> ToolResult<Current> {
    let project = project_of(api, resource, id)?;
    let values = api
        .taiga()
        .get(&values_path(resource, id), &format!("{} {id}", resource.noun))?;
    Ok(Current {
        definitions: definitions(api, resource, project)?,
        values: values["attributes_values"].as_object().cloned().unwrap_or_default(),
        version: values["version"].as_i64().unwrap_or(1),
    })
}

/// `{id, version, values: {name: value}}`, every defined field named, null when unset.
fn by_name(id: i64, current: &Current) -> Value {
    let values: Map<String, Value> = current
        .definitions
        .iter()
        .filter_map(|attribute| {
            let name = attribute["name"].as_str()?.to_owned();
            let value = current
                .values
                .get(&attribute["id"].to_string())
                .cloned()
                .unwrap_or(Value::Null);
            Some((name, value))
        })
        .collect();
    json!({"id": id, "version": current.version, "values": values})
}

fn values_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "version": {"type": "integer"},
            "values": {"type": "object"}
        },
        "required": ["id", "version", "values"]
    })
}

pub const GET_CUSTOM_VALUES: Tool = Tool {
    name: "get_custom_values",
    title: "Read custom field values",
    description: "Read an item's custom field values by field name (null when unset), with the version \
        set_custom_values needs.",
    fields: &[SESSION, RESOURCE, ITEM_ID],
    output_schema: values_schema,
    annotations: Annotations::READ,
    run: |call, args| {
        let api = Api::open(call, args)?;
        let resource = resource(args, ITEMS)?;
        let id = args.required_int("id")?;
        Ok(by_name(id, &read(&api, resource, id)?))
    },
};

pub const SET_CUSTOM_VALUES: Tool = Tool {
    name: "set_custom_values",
    title: "Set custom field values",
    description: "Set some of an item's custom fields by name, at the version get_custom_values gave; null \
        clears one. Values are checked by the field's type: dropdowns take one of their choices, dates \
        YYYY-MM-DD, urls http(s), checkboxes true/false, numbers a number.",
    fields: &[
        SESSION,
        RESOURCE,
        ITEM_ID,
        VERSION,
        Field::required(
            "values",
            Kind::Values { max: 50 },
            "Field name to new value, e.g. {\"Customer\": \"ACME\"}.",
        ),
    ],
    output_schema: values_schema,
    annotations: Annotations::UPDATE,
    run: set_values,
};

fn set_values(call: &Call<'_>, args: &Args) -> ToolResult<Value> {
    let api = Api::open(call, args)?;
    let resource = resource(args, ITEMS)?;
    let id = args.required_int("id")?;
    let given = args.required_int("version")?;
    let current = read(&api, resource, id)?;
    let changes = args.raw("values").as_object().cloned().unwrap_or_default();
    let mut values = current.values.clone();
    for (name, value) in &changes {
        let attribute = current
            .definitions
            .iter()
            .find(|attribute| attribute["name"].as_str() == Some(name.as_str()))
            .ok_or_else(|| unknown_field(name, &current.definitions))?;
        let key = attribute["id"].to_string();
        if value.is_null() {
            values.remove(&key);
        } else {
            check_type(name, attribute, value)?;
            values.insert(key, value.clone());
        }
    }
    if given != current.version {
        return Err(ToolError::new(
            ErrorCode::VersionConflict,
            format!(
                "the custom fields of {} {id} were changed by someone else since version {given} (now version {}); \
                 read them again with get_custom_values, then retry with version {}",
                resource.noun, current.version, current.version
            ),
        )
        .with("current_version", current.version)
        .with("changed_fields", vec!["custom_attributes"]));
    }
    let written = api.taiga().patch(
        &values_path(resource, id),
        &json!({"attributes_values": values, "version": current.version}),
        &format!("{} {id}", resource.noun),
    )?;
    let after = Current {
        values: written["attributes_values"].as_object().cloned().unwrap_or(values),
        version: written["version"].as_i64().unwrap_or(current.version + 1),
        definitions: current.definitions,
    };
    Ok(by_name(id, &after))
}

fn unknown_field(name: &str, definitions: &[Value]) -> ToolError {
    let names: Vec<&str> = definitions.iter().filter_map(|a| a["name"].as_str()).collect();
    let known = if names.is_empty() {
        "this kind of item has no custom fields in its project".to_owned()
    } else {
        format!("its project's fields are: {}", names.join(", "))
    };
    ToolError::invalid("values", format!("`{name}` is not a custom field; {known}")).with("known", names)
}

/// Checks a value against its field's type, naming the field and what it takes.
fn check_type(name: &str, attribute: &Value, value: &Value) -> ToolResult<()> {
    let refuse = |wants: String| Err(ToolError::invalid("values", format!("`{name}` {wants}")));
    match attribute["type"].as_str().unwrap_or("text") {
        "checkbox" if !value.is_boolean() => refuse("is a checkbox: give true or false".to_owned()),
        "number" if !value.is_number() => refuse("is a number field: give a number".to_owned()),
        "date" if !value.as_str().is_some_and(is_date) => refuse("is a date field: give YYYY-MM-DD".to_owned()),
        "url" if !value.as_str().is_some_and(is_web_url) => {
            refuse("is a url field: give an http:// or https:// address".to_owned())
        }
        "dropdown" => {
            let choices: Vec<&str> = attribute["extra"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            match value.as_str() {
                Some(choice) if choices.contains(&choice) => Ok(()),
                _ => refuse(format!("is a dropdown: give one of {}", choices.join(", "))),
            }
        }
        "text" | "multiline" | "richtext" if !value.is_string() => refuse("is a text field: give text".to_owned()),
        _ => Ok(()),
    }
}

fn is_web_url(text: &str) -> bool {
    let rest = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://"));
    rest.is_some_and(|rest| {
        !rest.is_empty() && !rest.starts_with('/') && !text.chars().any(|c| c.is_whitespace() || c.is_control())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_by_type() {
        let field = |kind: &str| json!({"name": "F", "type": kind, "extra": ["web", "mobile"]});
        let accepted = [
            ("text", json!("ACME")),
            ("multiline", json!("a\nb")),
            ("date", json!("2026-12-24")),
            ("url", json!("https://example.com/x")),
            ("dropdown", json!("web")),
            ("checkbox", json!(true)),
            ("number", json!(3.5)),
        ];
        for (kind, value) in accepted {
            assert!(check_type("F", &field(kind), &value).is_ok(), "{kind} {value}");
        }
        let refused = [
            ("text", json!(3)),
            ("date", json!("24/12/2026")),
            ("url", json!("javascript:alert(1)")),
            ("url", json!("https://")),
            ("dropdown", json!("desktop")),
            ("checkbox", json!("yes")),
            ("number", json!("3")),
        ];
        for (kind, value) in refused {
            let err = check_type("F", &field(kind), &value).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidInput, "{kind} {value}");
            assert!(err.message.contains("`F`"), "{}", err.message);
        }
    }
}
