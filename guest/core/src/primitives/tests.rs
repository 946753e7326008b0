use serde_json::{Value, json};

use super::*;
use crate::context::{CallContext, Identity};
use crate::testing::FakePlatform;

fn ask(method: &str, params: Value, session: Option<&str>, context: &CallContext) -> Result<Value, RequestError> {
    answer(&FakePlatform::new(), method, &params.to_string(), session, context)
}

fn signed_out() -> CallContext {
    CallContext::default()
}

#[test]
fn an_unknown_uri_is_invalid_params_with_the_uri_before_any_sign_in() {
    let uri = "test://nonexistent-resource-for-conformance-testing";
    let error = ask("resources/read", json!({"uri": uri}), None, &signed_out()).unwrap_err();
    assert_eq!(error.code, INVALID_PARAMS);
    assert_eq!(error.data, Some(json!({"uri": uri})));
    let missing = ask("resources/read", json!({}), None, &signed_out()).unwrap_err();
    assert_eq!(
        (missing.code, missing.data),
        (INVALID_PARAMS, Some(json!({"param": "uri"})))
    );
}

#[test]
fn what_reads_taiga_says_to_sign_in_when_nobody_is() {
    let context = signed_out();
    for (method, params) in [
        ("resources/list", json!({})),
        ("resources/read", json!({"uri": "taiga://projects/demo"})),
        (
            "prompts/get",
            json!({"name": "triage_issues", "arguments": {"project": "demo"}}),
        ),
        (
            "completion/complete",
            json!({"ref": {"type": "ref/resource", "uri": "taiga://projects/{project}"}, "argument": {"name": "project", "value": "d"}}),
        ),
    ] {
        let error = ask(method, params, None, &context).unwrap_err();
        assert_eq!(error.code, NOT_SIGNED_IN, "{method}");
        assert!(error.message.contains("`login`"), "{method}: {}", error.message);
    }
}

#[test]
fn templates_prompts_and_skills_need_no_taiga() {
    let context = signed_out();
    let templates = ask("resources/templates/list", json!({}), None, &context).unwrap();
    assert_eq!(
        templates["resourceTemplates"].as_array().unwrap().len(),
        uri::TEMPLATES.len()
    );
    let prompts = ask("prompts/list", json!({}), None, &context).unwrap();
    let names: Vec<&str> = prompts["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["standup", "sprint_review", "triage_issues", "plan_sprint"]);
    let skills = ask("skills/list", json!({}), None, &context).unwrap();
    for skill in skills["skills"].as_array().unwrap() {
        let uri = skill["uri"].as_str().unwrap();
        let read = ask("resources/read", json!({"uri": uri}), None, &context).unwrap();
        let text = read["contents"][0]["text"].as_str().unwrap();
        assert_eq!(skill["resources"][0]["size"], json!(text.len()));
        assert!(text.starts_with(&format!(
            "---\nname: {}\n",
            skill["frontmatter"]["name"].as_str().unwrap()
        )));
        let got = ask("skills/get", json!({"uri": uri}), None, &context).unwrap();
        assert_eq!(got["skill"], *skill);
    }
    let unknown = ask("skills/get", json!({"uri": "skill://nope/SKILL.md"}), None, &context).unwrap_err();
    assert_eq!(unknown.code, INVALID_PARAMS);
}

#[test]
fn requests_that_name_nothing_are_invalid_params_naming_what() {
    let context = CallContext {
        settings: crate::context::Settings {
            identity: Some(Identity::Token {
                auth_token: "t".into(),
                refresh_token: None,
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let cases = [
        ("prompts/get", json!({"name": "nope"}), json!({"name": "nope"})),
        (
            "prompts/get",
            json!({"name": "sprint_review", "arguments": {"project": "p"}}),
            json!({"argument": "sprint"}),
        ),
        (
            "completion/complete",
            json!({"ref": {"type": "ref/resource", "uri": "taiga://nope/{x}"}, "argument": {"name": "x", "value": ""}}),
            json!({"param": "ref"}),
        ),
        (
            "completion/complete",
            json!({"ref": {"type": "ref/prompt", "name": "standup"}, "argument": {"name": "ref", "value": ""}}),
            json!({"param": "argument"}),
        ),
        ("resources/list", json!({"cursor": "x"}), json!({"param": "cursor"})),
    ];
    for (method, params, data) in cases {
        let error = ask(method, params.clone(), None, &context).unwrap_err();
        assert_eq!(
            (error.code, error.data),
            (INVALID_PARAMS, Some(data)),
            "{method} {params}"
        );
    }
    let kinds = ask(
        "completion/complete",
        json!({"ref": {"type": "ref/resource", "uri": "taiga://projects/{project}/{kind}/{ref}/attachments/{attachment}"},
               "argument": {"name": "kind", "value": "ta"}}),
        None,
        &context,
    )
    .unwrap();
    assert_eq!(
        kinds["completion"],
        json!({"values": ["tasks"], "total": 1, "hasMore": false})
    );
    let platform = FakePlatform::new();
    platform.set_now(1_764_892_800_000); // 2025-12-05T00:00:00Z
    let since = answer(
        &platform,
        "completion/complete",
        &json!({"ref": {"type": "ref/prompt", "name": "standup"}, "argument": {"name": "since", "value": "yest"}})
            .to_string(),
        None,
        &signed_out(),
    )
    .unwrap();
    assert_eq!(
        since["completion"]["values"],
        json!(["2025-12-04"]),
        "no sign-in needed for dates"
    );
    let unknown = ask("tools/list", json!({}), None, &context).unwrap_err();
    assert_eq!(unknown.code, METHOD_NOT_FOUND);
}
