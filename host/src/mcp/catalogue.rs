//! What `tools/list` shows: the component's tools that a tenant offers, narrowed by the request's
//! `X-MCP-*` headers (which can only narrow), without `session_id` for a tenant that acts as its
//! own Taiga identity, and lean: hints only where they differ from the specification's defaults,
//! and an output schema written out once per shape (the tools that share it name the first).

use std::collections::BTreeSet;
use std::sync::Arc;

use http::HeaderMap;
use rmcp::model::{JsonObject, MetaObject, Tool, ToolAnnotations};
use serde_json::Value;

use crate::policy::{CatalogueEntry, HEADER_TOOLS, PolicyError, ToolChoice};
use crate::sandbox::{Annotations, ToolDescription};
use crate::tenants::Tenant;

/// The component's tools, as MCP shows them, and what choices need to know of each.
pub struct Catalogue {
    tools: Vec<Tool>,
    entries: Vec<CatalogueEntry>,
    apps: Vec<AppLink>,
}

/// A tool's MCP App (its `_meta.ui.resourceUri`) and the tools that app calls through the host.
struct AppLink {
    tool: String,
    uri: String,
    calls: Vec<String>,
}

/// `_meta` key under which a tool names the tools its app calls (the component's `apps` module).
const APP_CALLS_KEY: &str = "taiga-mcp/app-calls";
/// `_meta` key of a result that lists which of those tools this request may call.
const OFFERED_KEY: &str = "taiga-mcp/offered";

/// The tools a request may use beyond its tenant's: none narrower (`None`), or this set.
pub type Narrowing = Option<BTreeSet<String>>;

impl Catalogue {
    /// The catalogue of the component's `tools`.
    pub fn new(tools: Vec<ToolDescription>) -> anyhow::Result<Self> {
        let entries = tools
            .iter()
            .map(|tool| CatalogueEntry {
                name: tool.name.clone(),
                toolset: tool.toolset.clone(),
                read_only: tool.annotations.read_only,
                in_default: tool.in_default,
            })
            .collect();
        let tools: Vec<Tool> = tools.into_iter().map(to_mcp_tool).collect::<anyhow::Result<_>>()?;
        let apps = tools.iter().filter_map(app_link).collect();
        Ok(Self { tools, entries, apps })
    }

    /// Whether a request narrowed by `narrowing` may read the `ui://` resource `uri`: only when
    /// `tenant` offers it a tool linked to that app, so that apps follow the tool choices.
    pub fn offers_app(&self, tenant: &Tenant, narrowing: &Narrowing, uri: &str) -> bool {
        serves_apps(tenant)
            && self
                .apps
                .iter()
                .any(|app| app.uri == uri && offers(tenant, narrowing, &app.tool))
    }

    /// The `_meta` a result of `tool` carries for its app: which of the tools the app calls this
    /// request may call (none in read-only mode, for instance), so that the app offers no action
    /// the host would refuse. None for a tool without an app.
    pub fn app_result_meta(&self, tenant: &Tenant, narrowing: &Narrowing, tool: &str) -> Option<JsonObject> {
        let app = self
            .apps
            .iter()
            .find(|app| app.tool == tool)
            .filter(|_| serves_apps(tenant))?;
        let offered: Vec<&String> = app
            .calls
            .iter()
            .filter(|call| offers(tenant, narrowing, call))
            .collect();
        let mut meta = JsonObject::new();
        meta.insert(OFFERED_KEY.to_owned(), serde_json::json!(offered));
        Some(meta)
    }

    /// What choices of tools are made from: each tool's name, toolset, whether it only reads and
    /// whether `default` offers it.
    pub fn entries(&self) -> &[CatalogueEntry] {
        &self.entries
    }

    /// Whether the component has a tool of this name.
    pub fn knows(&self, name: &str) -> bool {
        self.entries.iter().any(|entry| entry.name == name)
    }

    /// The narrowing a request's headers ask for: `X-MCP-Toolsets` and `X-MCP-Tools` (comma-separated,
    /// together the tools a request wants), `X-MCP-Exclude-Tools`, `X-MCP-Readonly` (`true`/`false`).
    /// None of them: no narrowing. A name the catalogue does not know is an error naming the header.
    pub fn narrowing(&self, headers: Option<&HeaderMap>) -> Result<Narrowing, PolicyError> {
        let Some(headers) = headers else {
            return Ok(None);
        };
        let header = |name: &'static str| -> Result<Option<String>, PolicyError> {
            let values: Vec<&str> = headers
                .get_all(name)
                .iter()
                .map(|value| value.to_str())
                .collect::<Result<_, _>>()
                .map_err(|_| PolicyError {
                    setting: name,
                    message: "must be ASCII text".to_owned(),
                })?;
            Ok((!values.is_empty()).then(|| values.join(",")))
        };
        let toolsets = header(HEADER_TOOLS.toolsets)?;
        let tools = header(HEADER_TOOLS.tools)?;
        let exclude = header(HEADER_TOOLS.exclude_tools)?;
        let read_only = match header(HEADER_TOOLS.read_only)?.as_deref().map(str::trim) {
            None | Some("false" | "0") => false,
            Some("true" | "1") => true,
            Some(other) => {
                return Err(PolicyError {
                    setting: HEADER_TOOLS.read_only,
                    message: format!("`{other}` is neither true nor false"),
                });
            }
        };
        if toolsets.is_none() && tools.is_none() && exclude.is_none() && !read_only {
            return Ok(None);
        }
        // Without a set of its own, a request narrows from every tool its tenant offers.
        let toolsets = match (&toolsets, &tools) {
            (None, None) => Some("all"),
            (toolsets, _) => toolsets.as_deref(),
        };
        let choice = ToolChoice::from_lists(toolsets, tools.as_deref(), exclude.as_deref(), read_only);
        choice.resolve(&HEADER_TOOLS, &self.entries).map(Some)
    }

    /// The tools `tenant` offers to a request narrowed by `narrowing`, as `tools/list` shows them.
    pub fn listed(&self, tenant: &Tenant, narrowing: &Narrowing) -> Vec<Tool> {
        let mut shapes: Vec<(Arc<JsonObject>, String)> = Vec::new();
        self.tools
            .iter()
            .filter(|tool| offers(tenant, narrowing, &tool.name))
            .map(|tool| {
                let mut tool = if tenant.settings.identity.is_some() {
                    without_session_id(tool)
                } else {
                    tool.clone()
                };
                if !serves_apps(tenant) {
                    // No resources, no apps: a link to a resource nobody may read helps no host.
                    tool.meta = None;
                }
                if let Some(schema) = tool.output_schema.clone() {
                    match shapes.iter().find(|(shape, _)| *shape == schema) {
                        Some((_, first)) => {
                            // The description names the tool whose schema says it: a second copy
                            // would cost every conversation its bytes again.
                            tool.output_schema = None;
                            let description = tool.description.as_deref().unwrap_or_default();
                            tool.description = Some(format!("{description} Result: as `{first}`.").into());
                        }
                        None => shapes.push((schema, tool.name.to_string())),
                    }
                }
                tool
            })
            .collect()
    }
}

/// Whether `tenant` serves MCP Apps: their HTML is read as resources, so only where resources are.
fn serves_apps(tenant: &Tenant) -> bool {
    tenant.primitives.resources
}

/// Whether `tenant` offers `name` to a request narrowed by `narrowing`.
pub fn offers(tenant: &Tenant, narrowing: &Narrowing, name: &str) -> bool {
    tenant.tools.contains(name) && narrowing.as_ref().is_none_or(|allowed| allowed.contains(name))
}

/// The tool without its `session_id` argument: the deployment's session stands in for it.
fn without_session_id(tool: &Tool) -> Tool {
    let mut schema = tool.input_schema.as_ref().clone();
    if let Some(Value::Object(properties)) = schema.get_mut("properties") {
        properties.remove("session_id");
    }
    if let Some(Value::Array(required)) = schema.get_mut("required") {
        required.retain(|name| name != "session_id");
        if required.is_empty() {
            schema.remove("required");
        }
    }
    let mut tool = tool.clone();
    tool.input_schema = Arc::new(schema);
    tool
}

/// A JSON object the component describes `tool` with (a schema, its `_meta`).
fn schema_object(text: &str, tool: &str) -> anyhow::Result<Arc<JsonObject>> {
    match serde_json::from_str(text) {
        Ok(Value::Object(object)) => Ok(Arc::new(object)),
        _ => anyhow::bail!("the component's description of `{tool}` is not a JSON object"),
    }
}

/// The app a tool links to, from its `_meta`.
fn app_link(tool: &Tool) -> Option<AppLink> {
    let meta = tool.meta.as_ref()?;
    let uri = meta.0.get("ui")?.get("resourceUri")?.as_str()?;
    let calls = meta
        .0
        .get(APP_CALLS_KEY)
        .and_then(Value::as_array)
        .map(|calls| calls.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    Some(AppLink {
        tool: tool.name.to_string(),
        uri: uri.to_owned(),
        calls,
    })
}

fn to_mcp_tool(tool: ToolDescription) -> anyhow::Result<Tool> {
    let input = schema_object(&tool.input_schema, &tool.name)?;
    let output = schema_object(&tool.output_schema, &tool.name)?;
    let meta = schema_object(&tool.meta, &tool.name)?;
    let mut listed = Tool::new(tool.name.clone(), tool.description, input).with_raw_output_schema(output);
    if !repeats_name(&tool.title, &tool.name) {
        listed = listed.with_title(tool.title);
    }
    listed.annotations = hints(&tool.annotations);
    if !meta.is_empty() {
        listed.meta = Some(MetaObject(meta.as_ref().clone()));
    }
    Ok(listed)
}

/// Whether a title only says the name again in words ("List user stories", "Create a task"):
/// clients show the name then, and the model reads nothing new.
fn repeats_name(title: &str, name: &str) -> bool {
    let words = |text: &str| -> Vec<String> {
        text.split(|c: char| c == '_' || c.is_whitespace())
            .map(str::to_lowercase)
            .filter(|word| !word.is_empty() && !matches!(word.as_str(), "a" | "an" | "the"))
            .collect()
    };
    // "Log out" says `logout` too.
    words(title).concat() == words(name).concat()
}

/// The hints that differ from the specification's defaults (read-only false, destructive true,
/// idempotent false, open world true), and no more: a model pays for every byte of `tools/list`.
/// A tool that reads says `readOnlyHint`; one that writes says only what is not the default;
/// one that deletes without being idempotent says nothing, as the defaults say it all.
fn hints(annotations: &Annotations) -> Option<ToolAnnotations> {
    let mut hints = ToolAnnotations::new();
    if annotations.read_only {
        hints = hints.read_only(true);
    } else {
        if !annotations.destructive {
            hints = hints.destructive(false);
        }
        if annotations.idempotent {
            hints = hints.idempotent(true);
        }
    }
    if !annotations.open_world {
        hints = hints.open_world(false);
    }
    let said = hints.read_only_hint.is_some()
        || hints.destructive_hint.is_some()
        || hints.idempotent_hint.is_some()
        || hints.open_world_hint.is_some();
    said.then_some(hints)
}

#[cfg(test)]
mod tests;
