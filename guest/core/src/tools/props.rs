//! Property tests: arbitrary JSON thrown at every tool never panics and always comes back as a
//! structured result; invalid input is refused with an error that names the field.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::*;
use crate::context::CallContext;
use crate::platform::HttpResponse;
use crate::testing::FakePlatform;

fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("<script>alert(1)</script>".to_owned()),
        Just("'; DROP TABLE userstories; --".to_owned()),
        Just("nul\0byte".to_owned()),
        Just("emoji 🦀🔥".to_owned()),
        Just("\u{202e}right-to-left\u{202c}".to_owned()),
        Just("x".repeat(1024 * 1024)),
        Just(String::new()),
        Just("   ".to_owned()),
        Just(LIVE_SESSION.to_owned()),
        ".{0,40}",
    ]
}

fn hostile_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        prop_oneof![
            Just(0i64),
            Just(-1),
            Just(1),
            Just(i64::MAX),
            Just(i64::MIN),
            any::<i64>()
        ]
        .prop_map(Value::from),
        Just(json!(9_223_372_036_854_775_808u64)),
        prop_oneof![Just(1.5f64), Just(-0.0), Just(1e300), any::<f64>()]
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        hostile_string().prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..3)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn arguments(tool: &'static Tool) -> impl Strategy<Value = Map<String, Value>> {
    let names: Vec<&'static str> = tool
        .fields
        .iter()
        .map(|field| field.name)
        .chain(["unexpected"])
        .collect();
    prop::collection::btree_map(prop::sample::select(names), hostile_value(), 0..6)
        .prop_map(|map| map.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn any_tool() -> impl Strategy<Value = &'static Tool> {
    prop::sample::select(catalogue().iter().collect::<Vec<_>>())
}

/// The session id the hostile strings include, live in the store so that calls get past the
/// session check and into the Taiga paths.
const LIVE_SESSION: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

/// A Taiga that refuses everything with its real 404 shape, and one live session.
fn platform() -> FakePlatform {
    let platform = FakePlatform::new();
    let session = crate::session::Session {
        username: "alice".into(),
        user_id: 7,
        taiga_url: "https://taiga.example".into(),
        auth_token: "AT".into(),
        refresh_token: "RT".into(),
        created_at_ms: 0,
        expires_at_ms: u64::MAX / 2,
        last_accessed_ms: 0,
        token_issued_ms: 0,
        deployment: false,
    };
    let value = serde_json::to_string(&session).expect("serialises");
    crate::platform::Platform::store_set(&platform, &format!("session:{LIVE_SESSION}"), &value, 3600).expect("stored");
    platform.respond(|_| {
        Ok(HttpResponse {
            status: 404,
            headers: Vec::new(),
            body: br#"{"_error_message": ""}"#.to_vec(),
        })
    });
    platform
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_arguments_give_structured_results(
        (tool, args) in any_tool().prop_flat_map(|tool| (Just(tool), arguments(tool)))
    ) {
        let platform = platform();
        let outcome = call(&platform, tool.name, &Value::Object(args.clone()).to_string(), &CallContext::default())
            .expect("known tools with object arguments always dispatch");
        if outcome.is_error {
            let body = outcome.structured.as_object().expect("error bodies are objects");
            prop_assert_eq!(body.len(), 3);
            let code = body["code"].as_str().expect("a code");
            prop_assert!(!body["message"].as_str().unwrap_or_default().is_empty());
            prop_assert!(body["details"].is_object());
            if code == "INVALID_INPUT" {
                let field = body["details"]["field"].as_str().expect("INVALID_INPUT names a field");
                let declared = tool.fields.iter().any(|f| f.name == field) || args.contains_key(field);
                prop_assert!(declared, "field {} is neither declared nor given", field);
            }
            prop_assert!(!outcome.structured.to_string().contains("panicked"));
        }
    }

    #[test]
    fn arbitrary_json_text_never_panics(tool in any_tool(), text in ".{0,200}") {
        let platform = platform();
        let _ = call(&platform, tool.name, &text, &CallContext::default());
    }
}

#[test]
fn the_hostile_strings_named_in_the_issue_are_refused_or_accepted_cleanly() {
    let platform = platform();
    for title in [
        "<script>alert(1)</script>",
        "'; DROP TABLE x; --",
        "a\0b",
        "🦀",
        "\u{202e}abc",
    ] {
        let args = json!({"session_id": "0f8fad5b-d9cb-469f-a165-70867728950e", "project_id": 1, "title": title});
        let outcome = call(
            &platform,
            "create_user_story",
            &args.to_string(),
            &CallContext::default(),
        )
        .unwrap();
        let code = outcome.error_code().unwrap_or_default().to_owned();
        if title.contains('\0') {
            assert_eq!(
                (code.as_str(), &outcome.structured["details"]["field"]),
                ("INVALID_INPUT", &json!("title"))
            );
        } else {
            assert_eq!(code, "NOT_FOUND", "{title}: valid text goes on to Taiga");
        }
    }
    let long =
        json!({"session_id": "0f8fad5b-d9cb-469f-a165-70867728950e", "project_id": 1, "title": "x".repeat(1 << 20)});
    let outcome = call(
        &platform,
        "create_user_story",
        &long.to_string(),
        &CallContext::default(),
    )
    .unwrap();
    assert_eq!(outcome.structured["details"]["field"], "title");
}

/// Arguments every tool accepts: its required fields and its optional ids (some tools need one id
/// of several) with plausible values, so that a call gets past validation and reads Taiga's answers.
fn valid_arguments(tool: &Tool) -> Value {
    use crate::schema::Kind;
    let args: Map<String, Value> = tool
        .fields
        .iter()
        // `login` without a password is the host's page sign-in; the component alone needs both.
        .filter(|field| {
            field.required
                || (field.kind == Kind::Id && !matches!(field.name, "ref" | "project_id"))
                || (tool.name == "login" && field.name != "host")
                // Tools that need one of several optional fields.
                || matches!((tool.name, field.name), ("upload_attachment", "text") | ("update_attachment", "description"))
        })
        .map(|field| {
            let value = match field.kind {
                Kind::SessionId => json!(LIVE_SESSION),
                Kind::Id | Kind::IdOrName | Kind::NullableId => json!(1),
                Kind::Version => json!(1),
                Kind::Text { min, .. } => json!("x".repeat(min.max(1))),
                Kind::Integer { min, .. } => json!(min),
                Kind::Bool => json!(true),
                Kind::Choice(choices) => json!(choices[0]),
                Kind::Date | Kind::NullableDate => json!("2026-01-05"),
                Kind::Values { .. } => json!({"Customer": "x"}),
                Kind::Strings { .. } => json!(["x"]),
                Kind::Ids { .. } => json!([1]),
            };
            (field.name.to_owned(), value)
        })
        .collect();
    Value::Object(args)
}

/// A body Taiga might send, or might be made to send by a broken proxy: arbitrary JSON, recorded
/// shapes with their values replaced, truncated text, bytes that are not UTF-8.
fn taiga_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        hostile_value().prop_map(|value| value.to_string().into_bytes()),
        prop::collection::vec(hostile_value(), 0..4).prop_map(|items| Value::Array(items).to_string().into_bytes()),
        (hostile_value(), hostile_value()).prop_map(|(a, b)| json!({
            "id": a, "ref": 1, "subject": b, "name": "n", "slug": "s", "version": 1, "project": 1,
            "status_extra_info": {"name": a}, "assigned_to_extra_info": b, "owner": 5,
            "members": [{"id": 5, "username": "admin", "role_name": b}], "auth_token": "t", "refresh": "r",
            "milestone_name": a, "tags": [["t", b]], "user_stories": [b], "us_statuses": [a]
        })
        .to_string()
        .into_bytes()),
        ".{0,64}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..64),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    /// Whatever Taiga answers, with whatever status and pagination headers, every tool's answer
    /// is a structured result: the projections and the error mapping never panic.
    #[test]
    fn arbitrary_taiga_answers_give_structured_results(
        tool in any_tool(),
        status in prop_oneof![Just(200u16), Just(201), Just(204), Just(400), Just(401), Just(404), Just(429), Just(500), 100u16..600],
        body in taiga_body(),
        count in prop_oneof![Just(None), Just(Some("3".to_owned())), Just(Some("-1".to_owned())), ".{0,8}".prop_map(Some)],
    ) {
        let platform = platform();
        platform.respond(move |_| {
            let mut headers = vec![("x-pagination-next".to_owned(), "http://taiga/x?page=2".to_owned())];
            if let Some(count) = &count {
                headers.push(("x-pagination-count".to_owned(), count.clone()));
            }
            Ok(HttpResponse { status, headers, body: body.clone() })
        });
        let outcome = call(&platform, tool.name, &valid_arguments(tool).to_string(), &CallContext::default())
            .expect("known tools with object arguments always dispatch");
        if outcome.is_error {
            let body = outcome.structured.as_object().expect("error bodies are objects");
            prop_assert_eq!(body.len(), 3);
            prop_assert!(body["code"].is_string() && body["details"].is_object());
        } else {
            prop_assert!(outcome.structured.is_object(), "{}", outcome.structured);
        }
    }
}

/// The valid arguments reach Taiga for every tool that reads it: without that, the property above
/// would only ever see validation errors.
#[test]
fn valid_arguments_pass_validation_for_every_tool() {
    let platform = platform();
    for tool in catalogue() {
        let outcome = call(
            &platform,
            tool.name,
            &valid_arguments(tool).to_string(),
            &CallContext::default(),
        )
        .unwrap();
        assert_ne!(
            outcome.error_code(),
            Some("INVALID_INPUT"),
            "{}: {}",
            tool.name,
            outcome.structured
        );
    }
}
