use std::time::Duration;

use http::HeaderValue;

use serde_json::json;

use super::*;
use crate::network::{AllowList, Trust};
use crate::sandbox::{CallPolicy, Identity, Limits, Settings, TokenPair};

fn describe(name: &str, toolset: &str, read_only: bool, input: Value, output: Value) -> ToolDescription {
    ToolDescription {
        name: name.to_owned(),
        title: name.to_owned(),
        description: format!("{name}."),
        input_schema: input.to_string(),
        output_schema: output.to_string(),
        annotations: Annotations {
            read_only,
            destructive: !read_only,
            idempotent: read_only,
            open_world: true,
        },
        toolset: toolset.to_owned(),
        in_default: toolset != "epics",
        meta: "{}".to_owned(),
    }
}

fn catalogue() -> Catalogue {
    let with_session =
        json!({"type": "object", "properties": {"session_id": {}, "id": {}}, "required": ["session_id", "id"]});
    let item = json!({"type": "object", "properties": {"id": {"type": "integer"}, "title": {"type": "string"}}});
    Catalogue::new(vec![
        describe(
            "login",
            "session",
            false,
            json!({"type": "object", "properties": {"password": {}}}),
            json!({"type": "object"}),
        ),
        describe("get_epic", "epics", true, with_session.clone(), item.clone()),
        describe("get_user_story", "stories", true, with_session.clone(), item.clone()),
        describe(
            "delete_user_story",
            "stories",
            false,
            with_session,
            json!({"type": "object", "properties": {"deleted": {}}}),
        ),
    ])
    .unwrap()
}

fn tenant(tools: &[&str], own_identity: bool) -> Tenant {
    let limits = Limits {
        memory_bytes: 64 << 20,
        call_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(5),
    };
    let policy = CallPolicy::new("t", limits, AllowList::new(Vec::new()), &Trust::standard());
    let settings = Settings {
        default_taiga_url: "https://taiga.example".to_owned(),
        session_ttl_seconds: 60,
        max_sessions_per_user: 1,
        login_rate_limit: 1,
        login_lockout_seconds: 60,
        request_timeout_ms: 1000,
        max_response_bytes: 1024,
        max_attachment_bytes: 1024,
        login_type: "normal".to_owned(),
        metadata_ttl_seconds: 300,
        identity: own_identity.then(|| {
            Identity::Token(TokenPair {
                auth_token: "t".to_owned(),
                refresh_token: None,
            })
        }),
    };
    Tenant::single(
        settings,
        policy,
        tools.iter().map(|name| (*name).to_owned()).collect(),
        Default::default(),
    )
}

fn names(tools: &[Tool]) -> Vec<&str> {
    tools.iter().map(|tool| tool.name.as_ref()).collect()
}

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(*name, HeaderValue::from_static(value));
    }
    map
}

#[test]
fn hints_say_only_what_differs_from_the_defaults() {
    let hint = |read_only, destructive, idempotent, open_world| {
        serde_json::to_value(hints(&Annotations {
            read_only,
            destructive,
            idempotent,
            open_world,
        }))
        .unwrap()
    };
    assert_eq!(hint(true, false, true, true), json!({"readOnlyHint": true}));
    assert_eq!(
        hint(false, true, false, true),
        Value::Null,
        "a delete: the defaults say it"
    );
    assert_eq!(hint(false, false, false, true), json!({"destructiveHint": false}));
    assert_eq!(hint(false, true, true, true), json!({"idempotentHint": true}));
    assert_eq!(
        hint(false, true, true, false),
        json!({"idempotentHint": true, "openWorldHint": false})
    );
}

#[test]
fn a_shape_is_written_out_once_and_named_after() {
    let listed = catalogue().listed(&tenant(&["get_epic", "get_user_story"], false), &None);
    assert_eq!(names(&listed), ["get_epic", "get_user_story"]);
    assert!(listed[0].output_schema.as_ref().unwrap().contains_key("properties"));
    assert_eq!(listed[1].output_schema, None);
    assert_eq!(
        listed[1].description.as_deref(),
        Some("get_user_story. Result: as `get_epic`.")
    );
    // Alone, a tool keeps its whole shape: it never points at a tool that is not listed.
    let alone = catalogue().listed(&tenant(&["get_user_story"], false), &None);
    assert!(alone[0].output_schema.as_ref().unwrap().contains_key("properties"));
}

#[test]
fn a_tenant_with_its_own_identity_lists_no_session_id() {
    let listed = catalogue().listed(&tenant(&["get_epic"], true), &None);
    let input = &listed[0].input_schema;
    assert_eq!(input["properties"], json!({"id": {}}));
    assert_eq!(input["required"], json!(["id"]));
}

#[test]
fn headers_narrow_and_never_widen() {
    let catalogue = catalogue();
    let tenant = tenant(&["login", "get_user_story", "delete_user_story"], false);
    let narrowed = |pairs: &[(&'static str, &'static str)]| {
        let narrowing = catalogue.narrowing(Some(&headers(pairs))).unwrap();
        names(&catalogue.listed(&tenant, &narrowing)).join(",")
    };
    assert_eq!(narrowed(&[]), "login,get_user_story,delete_user_story");
    assert_eq!(
        narrowed(&[("x-mcp-toolsets", "stories")]),
        "login,get_user_story,delete_user_story"
    );
    assert_eq!(narrowed(&[("x-mcp-readonly", "true")]), "login,get_user_story");
    assert_eq!(
        narrowed(&[("x-mcp-tools", "get_user_story,get_epic")]),
        "login,get_user_story",
        "get_epic is not the tenant's"
    );
    assert_eq!(narrowed(&[("x-mcp-toolsets", "epics")]), "login");
    assert_eq!(
        narrowed(&[
            ("x-mcp-toolsets", "stories"),
            ("x-mcp-exclude-tools", "delete_user_story")
        ]),
        "login,get_user_story"
    );
    let refused =
        |pairs: &[(&'static str, &'static str)]| catalogue.narrowing(Some(&headers(pairs))).unwrap_err().to_string();
    assert!(refused(&[("x-mcp-toolsets", "planning")]).starts_with("X-MCP-Toolsets: no toolset is named `planning`"));
    assert!(refused(&[("x-mcp-tools", "drop_tables")]).starts_with("X-MCP-Tools: no tool is named `drop_tables`"));
    assert!(refused(&[("x-mcp-readonly", "maybe")]).starts_with("X-MCP-Readonly:"));
    assert!(offers(&tenant, &None, "delete_user_story"));
    let read_only = catalogue.narrowing(Some(&headers(&[("x-mcp-readonly", "1")]))).unwrap();
    assert!(!offers(&tenant, &read_only, "delete_user_story"));
}

#[test]
fn a_title_that_only_repeats_the_name_is_left_out() {
    assert!(repeats_name("Create a user story", "create_user_story"));
    assert!(repeats_name("List issues", "list_issues"));
    assert!(repeats_name("Log out", "logout"));
    assert!(!repeats_name(
        "Get a project's statuses, types and members",
        "get_project_metadata"
    ));
    assert!(!repeats_name("Log in to Taiga", "login"));
}

#[test]
fn an_app_follows_the_tools_offered_and_says_which_of_its_calls_are() {
    let mut board = describe(
        "get_board",
        "stories",
        true,
        json!({"type": "object"}),
        json!({"type": "object"}),
    );
    board.meta =
        json!({"ui": {"resourceUri": "ui://t/board"}, "taiga-mcp/app-calls": ["delete_user_story"]}).to_string();
    let catalogue = Catalogue::new(vec![
        board,
        describe(
            "delete_user_story",
            "stories",
            false,
            json!({"type": "object"}),
            json!({"type": "object"}),
        ),
    ])
    .unwrap();
    let listed = catalogue.listed(&tenant(&["get_board"], false), &None);
    assert_eq!(
        listed[0].meta.as_ref().map(|meta| meta.0["ui"]["resourceUri"].clone()),
        Some(json!("ui://t/board"))
    );
    let both = tenant(&["get_board", "delete_user_story"], false);
    assert!(catalogue.offers_app(&both, &None, "ui://t/board"));
    assert!(!catalogue.offers_app(&both, &None, "ui://t/other"));
    assert!(!catalogue.offers_app(&tenant(&["delete_user_story"], false), &None, "ui://t/board"));
    let offered = |tenant: &Tenant, narrowing: &Narrowing| {
        catalogue
            .app_result_meta(tenant, narrowing, "get_board")
            .map(|meta| meta[OFFERED_KEY].clone())
    };
    assert_eq!(offered(&both, &None), Some(json!(["delete_user_story"])));
    let read_only = catalogue
        .narrowing(Some(&headers(&[("x-mcp-readonly", "true")])))
        .unwrap();
    assert!(catalogue.offers_app(&both, &read_only, "ui://t/board"));
    assert_eq!(offered(&both, &read_only), Some(json!([])));
    assert_eq!(catalogue.app_result_meta(&both, &None, "delete_user_story"), None);
    // Without resources there are no apps: no link, nothing to read, nothing said in results.
    let mut without_resources = tenant(&["get_board", "delete_user_story"], false);
    without_resources.primitives.resources = false;
    assert!(catalogue.listed(&without_resources, &None)[0].meta.is_none());
    assert!(!catalogue.offers_app(&without_resources, &None, "ui://t/board"));
    assert_eq!(catalogue.app_result_meta(&without_resources, &None, "get_board"), None);
}
