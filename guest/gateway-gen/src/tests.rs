use std::path::PathBuf;

use super::*;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Compares a checked-in generated file with what the catalogue gives now; rewrites it instead
/// when `UPDATE_GATEWAY_BINDINGS` is set.
fn check_current(relative: &str, generated: &str) {
    let path = workspace().join(relative);
    if std::env::var_os("UPDATE_GATEWAY_BINDINGS").is_some() {
        std::fs::write(&path, generated).unwrap();
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{relative} is stale: run `UPDATE_GATEWAY_BINDINGS=1 cargo test -p taiga-gateway-gen`"
    );
}

#[test]
fn the_checked_in_world_is_current() {
    check_current("wit/gateway.wit", &wit());
}

#[test]
fn the_checked_in_glue_is_current() {
    check_current("guest/gateway/src/generated.rs", &rust());
}

#[test]
fn every_tool_but_the_session_ones_has_a_typed_function() {
    let text = wit();
    for tool in catalogue() {
        let export = format!("export taiga-{}: func(", kebab(tool.name));
        assert_eq!(
            text.contains(&export),
            !SESSION_TOOLS.contains(&tool.name),
            "{}",
            tool.name
        );
    }
    assert!(!text.contains("session-id"));
}

#[test]
fn parameters_are_typed_and_documented() {
    let text = wit();
    assert!(text.contains("export taiga-get-project-metadata: func(%project-id: u32) -> result<string, string>;"));
    assert!(text.contains("%visibility: option<%visibility>"));
    assert!(text.contains("enum %visibility {\n        %private,\n        %public,\n    }"));
    assert!(text.contains("%status: option<id-or-name>"));
    assert!(text.contains("/// - `project-id` (a positive id): "));
    assert!(text.contains("/// - `page` (optional; 1 to 100000): "));
    let glue = rust();
    assert!(glue.contains("fn taiga_get_project_metadata(project_id: u32) -> Result<String, String> {"));
    assert!(glue.contains("Visibility::Private => \"private\","));
}

#[test]
fn names_convert_like_wit_bindgen() {
    assert_eq!(kebab("user_story_id"), "user-story-id");
    assert_eq!(upper_camel("wiki-page"), "WikiPage");
    assert_eq!(rust_ident("type"), "type_");
    assert_eq!(rust_ident("title"), "title");
}

#[test]
fn docs_speak_of_the_world_s_values_not_json_null() {
    let world = wit();
    // Parameter lines; a JSON object's own values (custom fields) are JSON, null included.
    let docs: Vec<&str> = world
        .lines()
        .filter(|line| line.trim_start().starts_with("/// - `"))
        .collect();
    let with_null: Vec<&&str> = docs
        .iter()
        .filter(|line| line.to_lowercase().contains("null"))
        .collect();
    assert!(with_null.is_empty(), "{with_null:#?}");
    assert!(world.contains("the variant's `none` for the backlog. The option's `none` keeps it as it is."));
}
