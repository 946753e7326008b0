//! Derives the typed `taiga-gateway` world from the tool catalogue: one exported function
//! `taiga-<tool>` per tool, with typed parameters and the tool's description as its doc comment,
//! plus the Rust glue that turns those parameters back into the tool's JSON arguments.
//!
//! Both outputs are checked in (`wit/gateway.wit`, `guest/gateway/src/generated.rs`) so that
//! gateways and reviewers can read them; this crate's test fails when they are stale and rewrites
//! them when run with `UPDATE_GATEWAY_BINDINGS=1`. Adding a tool to the catalogue changes the
//! generated world, never the hand-written code.

pub mod docs;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use taiga_tools::schema::{Field, Kind, SESSION};
use taiga_tools::{Tool, catalogue};

/// Tools that manage the bridge's sessions: the gateway world keeps none, so they have no typed twin.
pub const SESSION_TOOLS: &[&str] = &["login", "logout", "session_status"];

/// The tools the typed world exports, in catalogue order.
pub fn gateway_tools() -> impl Iterator<Item = &'static Tool> {
    catalogue().iter().filter(|tool| !SESSION_TOOLS.contains(&tool.name))
}

/// The parameters of a tool's typed function: its fields without the session.
fn parameters(tool: &Tool) -> impl Iterator<Item = &'static Field> {
    tool.fields.iter().filter(|field| field.name != SESSION.name)
}

fn kebab(name: &str) -> String {
    name.replace('_', "-")
}

fn upper_camel(kebab: &str) -> String {
    kebab
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// Rust's reserved words, which wit-bindgen suffixes with `_`.
const RUST_KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn",
    "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self",
    "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while", "abstract", "become",
    "box", "do", "final", "macro", "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
];

fn rust_ident(name: &str) -> String {
    if RUST_KEYWORDS.contains(&name) {
        format!("{name}_")
    } else {
        name.to_owned()
    }
}

/// An enum of the world, made from a `Choice` field.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Enum {
    name: String,
    cases: Vec<&'static str>,
}

/// The enums the catalogue's choices need: one per field name, or per tool and field where two
/// tools give the same field name different choices.
fn enums() -> BTreeMap<(&'static str, &'static str), Enum> {
    let mut by_field: BTreeMap<&str, Vec<(&str, &'static [&'static str])>> = BTreeMap::new();
    for tool in gateway_tools() {
        for field in parameters(tool) {
            if let Kind::Choice(cases) = field.kind {
                by_field.entry(field.name).or_default().push((tool.name, cases));
            }
        }
    }
    let mut enums = BTreeMap::new();
    for (field, uses) in by_field {
        let shared = uses.iter().all(|(_, cases)| *cases == uses[0].1);
        for (tool, cases) in uses {
            let name = if shared {
                kebab(field)
            } else {
                format!("{}-{}", kebab(tool), kebab(field))
            };
            enums.insert(
                (tool, field),
                Enum {
                    name,
                    cases: cases.to_vec(),
                },
            );
        }
    }
    enums
}

/// A field's type in the world and in the Rust glue wit-bindgen makes of it.
fn field_type(tool: &Tool, field: &Field, enums: &BTreeMap<(&str, &str), Enum>) -> (String, String) {
    let (wit, rust) = match field.kind {
        Kind::Id | Kind::Version => ("u32".to_owned(), "u32".to_owned()),
        Kind::SessionId | Kind::Text { .. } | Kind::Date => ("string".to_owned(), "String".to_owned()),
        Kind::Integer { min, max } if min >= 0 && max <= i64::from(u32::MAX) => ("u32".to_owned(), "u32".to_owned()),
        Kind::Integer { .. } => ("s64".to_owned(), "i64".to_owned()),
        Kind::Bool => ("bool".to_owned(), "bool".to_owned()),
        Kind::IdOrName => ("id-or-name".to_owned(), "IdOrName".to_owned()),
        Kind::Choice(_) => {
            let name = &enums[&(tool.name, field.name)].name;
            (format!("%{name}"), upper_camel(name))
        }
        Kind::Strings { .. } => ("list<string>".to_owned(), "Vec<String>".to_owned()),
        Kind::Ids { .. } => ("list<u32>".to_owned(), "Vec<u32>".to_owned()),
        Kind::NullableId => ("id-or-none".to_owned(), "IdOrNone".to_owned()),
        Kind::NullableDate => ("date-or-none".to_owned(), "DateOrNone".to_owned()),
        Kind::Values { .. } => ("json-object".to_owned(), "JsonObject".to_owned()),
    };
    if field.required {
        (wit, rust)
    } else {
        (format!("option<{wit}>"), format!("Option<{rust}>"))
    }
}

/// What a parameter accepts beyond its type, if anything.
fn bounds(kind: Kind) -> Option<String> {
    match kind {
        Kind::Id => Some("a positive id".to_owned()),
        Kind::Text { min: 0, max } => Some(format!("at most {max} characters")),
        Kind::Text { min, max } => Some(format!("{min} to {max} characters")),
        Kind::Integer { min, max } => Some(format!("{min} to {max}")),
        Kind::Date => Some("YYYY-MM-DD".to_owned()),
        Kind::Strings { max, max_len } => Some(format!("at most {max}, each at most {max_len} characters")),
        Kind::Ids { max } => Some(format!("1 to {max} distinct positive ids")),
        Kind::NullableDate => Some("YYYY-MM-DD, or none".to_owned()),
        Kind::Values { max } => Some(format!("at most {max} names")),
        Kind::SessionId | Kind::Version | Kind::Bool | Kind::IdOrName | Kind::Choice(_) | Kind::NullableId => None,
    }
}

/// A parameter's description in terms of the world's own values: the tools' descriptions speak of
/// JSON's `null`, which a gateway may map to the option's `none` (the parameter left out, the
/// value kept) rather than to the variant's `none` (the value cleared).
fn wit_description(field: &Field) -> String {
    let description = match field.kind {
        Kind::NullableId => field.description.replace(
            ", or null for the backlog.",
            ": `id(n)`, or the variant's `none` for the backlog.",
        ),
        Kind::NullableDate => field.description.replace(
            "Null clears it.",
            "`date(\"YYYY-MM-DD\")`, or the variant's `none` to clear it.",
        ),
        _ => return field.description.to_owned(),
    };
    if field.required {
        description
    } else {
        format!("{description} The option's `none` keeps it as it is.")
    }
}

fn doc_lines(out: &mut String, indent: &str, text: &str) {
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            let _ = writeln!(out, "{indent}///");
        } else {
            let _ = writeln!(out, "{indent}/// {line}");
        }
    }
}

/// The text of `wit/gateway.wit`.
pub fn wit() -> String {
    let enums = enums();
    let mut out = String::new();
    doc_lines(
        &mut out,
        "",
        "The Taiga tools as typed functions, for WebAssembly MCP gateways that turn a component's \
         exports into tools (Wassette and the like).\n\n\
         The component keeps no session: each call signs in to the Taiga server named by the \
         environment variable `TAIGA_URL`, with `TAIGA_TOKEN` (an auth token) or `TAIGA_USERNAME` and \
         `TAIGA_PASSWORD`, posting the login type `TAIGA_LOGIN_TYPE` (`normal` unless an auth plugin such \
         as `ldap` signs users in). With `TAIGA_READ_ONLY=true`, functions that change Taiga answer \
         `PERMISSION_DENIED` without a request. Its only capability is outbound HTTP (`wasi:http`); grant it exactly that \
         Taiga host. Every function returns the tool's result as JSON text, or on failure the JSON \
         error body `{code, message, details}`.",
    );
    out.push_str("world taiga-gateway {\n");
    out.push_str("    import wasi:http/outgoing-handler@0.2.12;\n\n");
    out.push_str("    /// A Taiga object by id, or by name (a status, priority, severity, type, role or username).\n");
    out.push_str("    variant id-or-name {\n        id(u32),\n        name(string),\n    }\n\n");
    out.push_str("    /// A Taiga object by id, or none (the backlog, no assignee).\n");
    out.push_str("    variant id-or-none {\n        none,\n        id(u32),\n    }\n\n");
    out.push_str("    /// A date `YYYY-MM-DD`, or none to clear it.\n");
    out.push_str("    variant date-or-none {\n        none,\n        date(string),\n    }\n\n");
    out.push_str("    /// A JSON object as text, e.g. `{\"Customer\": \"ACME\"}`.\n");
    out.push_str("    record json-object {\n        text: string,\n    }\n");
    let mut written = Vec::new();
    for item in enums.values() {
        if written.contains(&item.name) {
            continue;
        }
        written.push(item.name.clone());
        let _ = writeln!(out, "\n    /// One of: {}.", item.cases.join(", "));
        let _ = writeln!(out, "    enum %{} {{", item.name);
        for case in &item.cases {
            let _ = writeln!(out, "        %{},", kebab(case));
        }
        out.push_str("    }\n");
    }
    for tool in gateway_tools() {
        out.push('\n');
        doc_lines(&mut out, "    ", &format!("{}: {}", tool.title, tool.description));
        let fields: Vec<&Field> = parameters(tool).collect();
        if !fields.is_empty() {
            out.push_str("    ///\n    /// Parameters:\n");
            for field in &fields {
                let notes: Vec<String> = (!field.required)
                    .then(|| "optional".to_owned())
                    .into_iter()
                    .chain(bounds(field.kind))
                    .collect();
                let notes = if notes.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", notes.join("; "))
                };
                let _ = writeln!(
                    out,
                    "    /// - `{}`{notes}: {}",
                    kebab(field.name),
                    wit_description(field)
                );
            }
        }
        let params: Vec<String> = fields
            .iter()
            .map(|field| format!("%{}: {}", kebab(field.name), field_type(tool, field, &enums).0))
            .collect();
        let _ = writeln!(
            out,
            "    export taiga-{}: func({}) -> result<string, string>;",
            kebab(tool.name),
            params.join(", ")
        );
    }
    out.push_str("}\n\n");
    // At the end: wit-parser would take comments above the world for part of its docs.
    out.push_str(
        "// @generated by guest/gateway-gen from the tool catalogue; do not edit.\n\
         // Regenerate: UPDATE_GATEWAY_BINDINGS=1 cargo test -p taiga-gateway-gen\n",
    );
    out
}

/// The text of `guest/gateway/src/generated.rs`: the `Guest` implementation and the enums' JSON names.
pub fn rust() -> String {
    let enums = enums();
    let mut out = String::from(
        "// @generated by guest/gateway-gen from the tool catalogue; do not edit.\n\
         // Regenerate: UPDATE_GATEWAY_BINDINGS=1 cargo test -p taiga-gateway-gen\n\n\
         //! The typed exports, each forwarding its parameters to the tool as JSON arguments.\n\n",
    );
    let used: Vec<String> = {
        let mut names: Vec<String> = enums.values().map(|item| upper_camel(&item.name)).collect();
        names.sort();
        names.dedup();
        names
    };
    let _ = writeln!(
        out,
        "use crate::bindings::{{DateOrNone, Guest, IdOrName, IdOrNone, JsonObject, {}}};\nuse crate::{{Arg, Gateway, run}};\n",
        used.join(", ")
    );
    out.push_str("impl Guest for Gateway {\n");
    for tool in gateway_tools() {
        let fields: Vec<&Field> = parameters(tool).collect();
        let params: Vec<String> = fields
            .iter()
            .map(|field| format!("{}: {}", rust_ident(field.name), field_type(tool, field, &enums).1))
            .collect();
        let arguments: Vec<String> = fields
            .iter()
            .map(|field| format!("(\"{}\", {}.arg())", field.name, rust_ident(field.name)))
            .collect();
        let _ = writeln!(
            out,
            "    fn taiga_{}({}) -> Result<String, String> {{\n        run(\"{}\", vec![{}])\n    }}",
            tool.name,
            params.join(", "),
            tool.name,
            arguments.join(", ")
        );
    }
    out.push_str("}\n");
    let mut written = Vec::new();
    for item in enums.values() {
        let name = upper_camel(&item.name);
        if written.contains(&name) {
            continue;
        }
        written.push(name.clone());
        let _ = writeln!(
            out,
            "\nimpl Arg for {name} {{\n    fn arg(self) -> Option<serde_json::Value> {{\n        let text = match self {{"
        );
        for case in &item.cases {
            let _ = writeln!(out, "            {name}::{} => \"{case}\",", upper_camel(&kebab(case)));
        }
        out.push_str("        };\n        Some(text.into())\n    }\n}\n");
    }
    out
}

#[cfg(test)]
mod tests;
