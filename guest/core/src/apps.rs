//! MCP Apps (the `io.modelcontextprotocol/ui` extension): HTML views a host renders in a sandboxed
//! frame beside a tool's result. Each app is one self-contained file bundled from `apps/` at build
//! time (`node apps/build.mjs`; `tests/run` checks the files are current), served as a `ui://`
//! resource and linked from its tools by `_meta.ui.resourceUri`. The host lists an app only where
//! one of its tools is offered.

use serde_json::{Value, json};

/// The MIME type MCP Apps hosts render.
pub const MIME_TYPE: &str = "text/html;profile=mcp-app";

/// `_meta` key under which a tool names the tools its app calls; the host answers with the ones
/// this request may call under [`OFFERED_KEY`], so that an app offers no action it cannot take.
pub const CALLS_KEY: &str = "taiga-mcp/app-calls";
/// `_meta` key of a result under which the host lists the tools of [`CALLS_KEY`] it offers.
pub const OFFERED_KEY: &str = "taiga-mcp/offered";

/// One app.
#[derive(Debug)]
pub struct App {
    /// Its `ui://` URI.
    pub uri: &'static str,
    /// Its resource name.
    pub name: &'static str,
    /// What a person sees it as.
    pub title: &'static str,
    /// What it shows.
    pub description: &'static str,
    /// The tools whose results it shows.
    pub tools: &'static [&'static str],
    /// The tools it calls through the host.
    pub calls: &'static [&'static str],
    /// The HTML.
    pub html: &'static str,
}

/// Every app.
pub const APPS: &[App] = &[
    App {
        uri: "ui://taiga/sprint-board",
        name: "sprint-board",
        title: "Sprint board",
        description: "A sprint's (or kanban project's) stories in columns by status; cards move by drag or keyboard.",
        tools: &["get_sprint_board"],
        calls: &["update_user_story", "get_sprint_board"],
        html: include_str!("apps/sprint-board.html"),
    },
    App {
        uri: "ui://taiga/burndown",
        name: "burndown",
        title: "Sprint burndown",
        description: "A sprint's open points per day against the ideal line, with its totals.",
        tools: &["get_sprint_stats"],
        calls: &[],
        html: include_str!("apps/burndown.html"),
    },
];

/// The app that shows `tool`'s results, if any.
pub fn of_tool(tool: &str) -> Option<&'static App> {
    APPS.iter().find(|app| app.tools.contains(&tool))
}

/// The app at `uri`, if any.
pub fn at(uri: &str) -> Option<&'static App> {
    APPS.iter().find(|app| app.uri == uri)
}

/// A tool's `_meta` as `tools/list` shows it: the link to its app, and the tools the app calls.
pub fn tool_meta(tool: &str) -> Value {
    match of_tool(tool) {
        Some(app) if app.calls.is_empty() => json!({"ui": {"resourceUri": app.uri}}),
        Some(app) => json!({"ui": {"resourceUri": app.uri}, CALLS_KEY: app.calls}),
        None => json!({}),
    }
}

/// The resource's `_meta.ui`: an empty content security policy (the app loads nothing from the
/// network and connects nowhere), and a border, as a card in the conversation.
fn resource_meta() -> Value {
    json!({"ui": {"csp": {"connectDomains": [], "resourceDomains": [], "frameDomains": [], "baseUriDomains": []},
                  "prefersBorder": true}})
}

/// The app as `resources/list` shows it.
pub fn listed(app: &App) -> Value {
    json!({
        "uri": app.uri,
        "name": app.name,
        "title": app.title,
        "description": app.description,
        "mimeType": MIME_TYPE,
        "size": app.html.len(),
        "_meta": resource_meta(),
    })
}

/// The app as `resources/read` answers it.
pub fn contents(app: &App) -> Value {
    json!({"contents": [{"uri": app.uri, "mimeType": MIME_TYPE, "text": app.html, "_meta": resource_meta()}]})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_app_is_self_contained_and_within_its_budget() {
        for app in APPS {
            assert!(app.html.len() <= 150 * 1024, "{} is {} bytes", app.name, app.html.len());
            assert!(app.html.starts_with("<!doctype html>"), "{}", app.name);
            for remote in [
                "src=\"http",
                "href=\"http",
                "src=\"//",
                "href=\"//",
                "@import",
                "url(http",
            ] {
                assert!(!app.html.contains(remote), "{} loads `{remote}`", app.name);
            }
        }
    }

    #[test]
    fn every_app_is_linked_from_tools_that_exist_and_calls_tools_that_exist() {
        let names: Vec<&str> = crate::catalogue().iter().map(|tool| tool.name).collect();
        for app in APPS {
            assert_eq!(at(app.uri).map(|found| found.name), Some(app.name));
            for tool in app.tools.iter().chain(app.calls) {
                assert!(names.contains(tool), "{} names `{tool}`", app.name);
            }
            for tool in app.tools {
                assert_eq!(tool_meta(tool)["ui"]["resourceUri"], app.uri);
            }
        }
        assert_eq!(tool_meta("list_projects"), json!({}));
    }
}
