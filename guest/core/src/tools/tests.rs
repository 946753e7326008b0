use serde_json::{Value, json};

use super::*;
use crate::context::CallContext;
use crate::platform::{HttpResponse, Method, TransportError};
use crate::testing::FakePlatform;

fn json_response(status: u16, body: Value, headers: &[(&str, &str)]) -> HttpResponse {
    HttpResponse {
        status,
        headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        body: body.to_string().into_bytes(),
    }
}

fn context() -> CallContext {
    let mut context = CallContext {
        caller: "test".into(),
        namespace: "default".into(),
        ..CallContext::default()
    };
    context.settings.default_taiga_url = "https://taiga.example".into();
    // Longer than Taiga's 24-hour access tokens, so that renewal can be exercised.
    context.settings.session_ttl_seconds = 3 * 86_400;
    context
}

fn run(platform: &FakePlatform, name: &str, args: Value) -> Outcome {
    call(platform, name, &args.to_string(), &context()).expect("dispatches")
}

/// A platform whose Taiga accepts alice/secret and lists `projects` projects.
fn taiga(projects: usize) -> FakePlatform {
    let platform = FakePlatform::new();
    platform.respond(move |request| {
        let path = request.url.trim_start_matches("https://taiga.example/api/v1");
        Ok(match (request.method, path) {
            (Method::Post, "/auth") => {
                let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
                if body["password"] == "secret" {
                    json_response(200, json!({"id": 7, "username": "alice", "auth_token": "AT", "refresh": "RT"}), &[])
                } else {
                    json_response(401, json!({"detail": "No active account found with the given credentials", "code": "invalid_credentials"}), &[])
                }
            }
            (Method::Post, "/auth/refresh") => {
                let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
                if body["refresh"] == "RT" {
                    json_response(200, json!({"auth_token": "AT2", "refresh": "RT2"}), &[])
                } else {
                    json_response(401, json!({"detail": "Token is invalid or expired", "code": "token_not_valid"}), &[])
                }
            }
            (Method::Get, path) if path.starts_with("/projects?") => {
                let items: Vec<Value> = (1..=projects.min(2))
                    .map(|id| json!({"id": id, "name": format!("P{id}"), "slug": format!("p{id}"), "owner": {"username": "alice"}}))
                    .collect();
                let count = projects.to_string();
                json_response(200, json!(items), &[("x-pagination-count", count.as_str()), ("X-Pagination-Next", "https://taiga.example/api/v1/projects?page=2")])
            }
            _ => json_response(404, json!({"_error_message": ""}), &[]),
        })
    });
    platform
}

fn login(platform: &FakePlatform) -> String {
    let outcome = run(platform, "login", json!({"username": "alice", "password": "secret"}));
    assert!(!outcome.is_error, "{:?}", outcome.structured);
    outcome.structured["session_id"].as_str().unwrap().to_owned()
}

#[test]
fn every_tool_describes_every_field_and_has_schemas() {
    for tool in catalogue() {
        assert!(!tool.title.is_empty() && tool.description.len() > 20, "{}", tool.name);
        let schema = tool.input_schema();
        for (name, property) in schema["properties"].as_object().unwrap() {
            assert!(
                property["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{}.{name}",
                tool.name
            );
        }
        assert_eq!((tool.output_schema)()["type"], "object", "{}", tool.name);
        assert_eq!(tool.result_schema()["type"], "object", "{}", tool.name);
        assert!(tool.result_schema().get("required").is_none(), "{}", tool.name);
        assert!(
            !(tool.annotations.read_only && tool.annotations.destructive),
            "{}",
            tool.name
        );
    }
    let mut names: Vec<_> = catalogue().iter().map(|tool| tool.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), catalogue().len(), "tool names are unique");
}

#[test]
fn unknown_tools_and_non_object_arguments_are_dispatch_errors() {
    let platform = FakePlatform::new();
    assert_eq!(
        call(&platform, "nope", "{}", &context()),
        Err(DispatchError::UnknownTool("nope".into()))
    );
    assert!(matches!(
        call(&platform, "login", "[1]", &context()),
        Err(DispatchError::MalformedArguments(_))
    ));
    assert!(matches!(
        call(&platform, "login", "{", &context()),
        Err(DispatchError::MalformedArguments(_))
    ));
}

#[test]
fn login_returns_a_session_and_keeps_the_token_inside() {
    let platform = taiga(0);
    let outcome = run(&platform, "login", json!({"username": "alice", "password": "secret"}));
    assert!(!outcome.is_error);
    let text = outcome.structured.to_string();
    assert!(
        !text.contains("AT") && !text.contains("RT") && !text.contains("secret"),
        "{text}"
    );
    assert_eq!(outcome.structured["username"], "alice");
    assert_eq!(outcome.structured["expires_at"], "1970-01-04T00:00:00.000Z");
    let sent = platform.sent.borrow();
    assert_eq!(sent[0].url, "https://taiga.example/api/v1/auth");
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(
        body,
        json!({"type": "normal", "username": "alice", "password": "secret"})
    );
}

#[test]
fn wrong_password_is_invalid_credentials_without_the_password() {
    let platform = taiga(0);
    let outcome = run(&platform, "login", json!({"username": "alice", "password": "hunter2"}));
    assert_eq!(outcome.error_code(), Some("INVALID_CREDENTIALS"));
    assert!(!outcome.structured.to_string().contains("hunter2"));
}

#[test]
fn login_host_is_parsed_and_denials_map_to_host_not_allowed() {
    let platform = FakePlatform::new();
    platform.respond(|_| Err(TransportError::Denied));
    let outcome = run(
        &platform,
        "login",
        json!({"username": "a", "password": "b", "host": "https://evil.example"}),
    );
    assert_eq!(outcome.error_code(), Some("HOST_NOT_ALLOWED"));
    let outcome = run(
        &platform,
        "login",
        json!({"username": "a", "password": "b", "host": "https://a@evil.example"}),
    );
    assert_eq!(outcome.error_code(), Some("INVALID_INPUT"));
    assert_eq!(outcome.structured["details"]["field"], "host");
    platform.respond(|_| Err(TransportError::PrivateAddress));
    let outcome = run(
        &platform,
        "login",
        json!({"username": "a", "password": "b", "host": "https://taiga.internal.example"}),
    );
    assert_eq!(outcome.error_code(), Some("HOST_NOT_ALLOWED"));
    let message = outcome.structured["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("private") && message.contains("by address"),
        "{message}"
    );
}

#[test]
fn list_projects_pages_and_sends_the_token() {
    let platform = taiga(45);
    let session_id = login(&platform);
    let outcome = run(
        &platform,
        "list_projects",
        json!({"session_id": session_id, "page_size": 2}),
    );
    assert!(!outcome.is_error, "{:?}", outcome.structured);
    assert_eq!(outcome.structured["total"], 45);
    assert_eq!(outcome.structured["has_next"], true);
    assert_eq!(outcome.structured["items"][1]["owner"], "alice");
    let sent = platform.sent.borrow();
    let last = sent.last().unwrap();
    assert_eq!(
        last.url,
        "https://taiga.example/api/v1/projects?member=7&page=1&page_size=2"
    );
    assert!(last.headers.contains(&("authorization".into(), "Bearer AT".into())));
}

#[test]
fn all_pages_end_at_an_empty_page_whatever_its_next_link_says() {
    let platform = taiga(0);
    let session_id = login(&platform);
    let outcome = run(
        &platform,
        "list_projects",
        json!({"session_id": session_id, "all": true}),
    );
    assert!(!outcome.is_error, "{:?}", outcome.structured);
    assert_eq!(outcome.structured["items"], json!([]));
    assert_eq!(outcome.structured["has_next"], false);
    assert_eq!(sent_paths(&platform), ["Post /auth", "Get /projects"]);
}

#[test]
fn an_item_answer_without_a_project_writes_nothing_under_project_zero() {
    let platform = FakePlatform::new();
    platform.respond(|request| {
        let path = request.url.trim_start_matches("https://taiga.example/api/v1");
        Ok(match (request.method, path) {
            (Method::Post, "/auth") => json_response(
                200,
                json!({"id": 7, "username": "alice", "auth_token": "AT", "refresh": "RT"}),
                &[],
            ),
            (Method::Get, "/userstories/5") => json_response(200, json!({"id": 5, "version": 3, "subject": "S"}), &[]),
            _ => json_response(404, json!({"_error_message": ""}), &[]),
        })
    });
    let session_id = login(&platform);
    for (tool, extra) in [
        ("update_user_story", json!({"status": "Done", "version": 3})),
        ("assign_user_story", json!({"user": "bob"})),
    ] {
        let mut args = json!({"session_id": session_id, "user_story_id": 5});
        args.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let outcome = run(&platform, tool, args);
        assert_eq!(
            outcome.error_code(),
            Some("INTERNAL"),
            "{tool}: {:?}",
            outcome.structured
        );
    }
    assert!(
        sent_paths(&platform)
            .iter()
            .all(|path| !path.contains("/projects") && !path.starts_with("Patch")),
        "{:?}",
        sent_paths(&platform)
    );
}

#[test]
fn get_project_names_the_missing_project() {
    let platform = taiga(0);
    let session_id = login(&platform);
    let outcome = run(
        &platform,
        "get_project",
        json!({"session_id": session_id, "project_id": 99}),
    );
    assert_eq!(outcome.error_code(), Some("NOT_FOUND"));
    assert!(outcome.structured["message"].as_str().unwrap().contains("project 99"));
}

#[test]
fn logged_out_sessions_are_invalid() {
    let platform = taiga(1);
    let session_id = login(&platform);
    assert_eq!(
        run(&platform, "logout", json!({"session_id": session_id})).structured["logged_out"],
        true
    );
    let outcome = run(&platform, "list_projects", json!({"session_id": session_id}));
    assert_eq!(outcome.error_code(), Some("SESSION_INVALID"));
}

#[test]
fn session_status_reports_times() {
    let platform = taiga(0);
    let session_id = login(&platform);
    platform.set_now(61_000);
    let outcome = run(&platform, "session_status", json!({"session_id": session_id}));
    assert_eq!(outcome.structured["last_accessed"], "1970-01-01T00:01:01.000Z");
    assert_eq!(outcome.structured["created_at"], "1970-01-01T00:00:00.000Z");
}

#[test]
fn an_old_access_token_is_renewed_with_the_refresh_token() {
    let platform = taiga(1);
    let session_id = login(&platform);
    platform.set_now(crate::session::TOKEN_REFRESH_AFTER_MS - 1);
    assert!(!run(&platform, "list_projects", json!({"session_id": session_id})).is_error);
    assert!(!platform.sent.borrow().iter().any(|r| r.url.ends_with("/auth/refresh")));
    platform.set_now(crate::session::TOKEN_REFRESH_AFTER_MS);
    assert!(!run(&platform, "list_projects", json!({"session_id": session_id})).is_error);
    let sent = platform.sent.borrow();
    assert!(sent.iter().any(|r| r.url.ends_with("/auth/refresh")));
    let last = sent.last().unwrap();
    assert!(last.headers.contains(&("authorization".into(), "Bearer AT2".into())));
}

#[test]
fn a_refused_refresh_ends_in_session_expired() {
    let platform = taiga(1);
    let session_id = login(&platform);
    platform.set_now(crate::session::TOKEN_REFRESH_AFTER_MS);
    assert!(!run(&platform, "list_projects", json!({"session_id": session_id})).is_error);
    // The renewed refresh token (RT2) is not accepted by this fake: the next renewal fails.
    platform.set_now(2 * crate::session::TOKEN_REFRESH_AFTER_MS);
    let outcome = run(&platform, "list_projects", json!({"session_id": session_id}));
    assert_eq!(outcome.error_code(), Some("SESSION_EXPIRED"));
}

#[test]
fn logins_are_rate_limited_per_caller_and_username() {
    let platform = taiga(0);
    for _ in 0..5 {
        run(&platform, "login", json!({"username": "alice", "password": "wrong"}));
    }
    let outcome = run(&platform, "login", json!({"username": "alice", "password": "secret"}));
    assert_eq!(outcome.error_code(), Some("RATE_LIMITED"));
    assert_eq!(outcome.structured["details"]["retry_after_seconds"], 900);
    let attempts = platform
        .sent
        .borrow()
        .iter()
        .filter(|r| r.url.ends_with("/auth"))
        .count();
    assert_eq!(attempts, 5, "a refused attempt never reaches Taiga");
}

/// The recordings of a real Taiga 6.10 kept in the repository (`tests/taiga-api/recordings`).
fn recordings_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/taiga-api/recordings")
}

/// List pages and project details are parsed keeping only the keys the bridge reads: building its
/// answer from that projection must give exactly what building it from the whole object gives, for
/// every item of every list page and every project detail recorded from a real Taiga.
#[test]
fn projections_read_only_their_keys() {
    use crate::projection::{Compact, parse_items, parse_object};
    use crate::resource::{COMPACT_ITEM, COMPACT_SPRINT, COMPACT_WIKI};

    // Paths that end in `/` stand for every path under them (one item's history, one project's timeline).
    let compacts: [(&str, Compact); 9] = [
        ("/api/v1/userstories", COMPACT_ITEM),
        ("/api/v1/tasks", COMPACT_ITEM),
        ("/api/v1/issues", COMPACT_ITEM),
        ("/api/v1/epics", COMPACT_ITEM),
        ("/api/v1/milestones", COMPACT_SPRINT),
        ("/api/v1/wiki", COMPACT_WIKI),
        ("/api/v1/projects", super::projects::PROJECT_SUMMARY),
        ("/api/v1/history/", super::activity::HISTORY_ENTRY),
        ("/api/v1/timeline/project/", super::activity::TIMELINE_EVENT),
    ];
    let detail = super::projects::PROJECT_DETAIL;
    let is_project_detail = |path: &str| {
        path.strip_prefix("/api/v1/projects/")
            .is_some_and(|rest| rest == "by_slug" || rest.parse::<u32>().is_ok())
    };
    let mut details = 0;
    let mut checked = std::collections::BTreeMap::<&str, usize>::new();
    let dir = recordings_dir();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|err| panic!("{}: {err}", dir.display()));
    for entry in entries {
        let recording: Value = serde_json::from_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap()).unwrap();
        let request = &recording["request"];
        let response = &recording["response"];
        if request["method"] == "GET"
            && response["status"] == 200
            && is_project_detail(request["path"].as_str().unwrap_or_default())
        {
            let whole = &response["body"];
            let kept = parse_object(&serde_json::to_vec(whole).unwrap(), detail.keys).unwrap();
            assert_eq!((detail.map)(&kept), (detail.map)(whole), "{}", request["path"]);
            details += 1;
            continue;
        }
        let requested = request["path"].as_str().unwrap_or_default();
        let Some((path, compact)) = compacts.iter().find(|(path, _)| {
            request["method"] == "GET" && (requested == *path || (path.ends_with('/') && requested.starts_with(path)))
        }) else {
            continue;
        };
        let Some(items) = recording["response"]["body"].as_array() else {
            continue;
        };
        let body = serde_json::to_vec(items).unwrap();
        let projected = parse_items(&body, compact.keys).unwrap();
        for (item, kept) in items.iter().zip(&projected) {
            assert_eq!((compact.map)(kept), (compact.map)(item), "{path}: {item}");
        }
        let whole: Vec<Value> = items.iter().map(compact.map).collect();
        assert_eq!(compact.parse_page(&body).unwrap(), whole, "{path}");
        *checked.entry(path).or_default() += items.len();
    }
    for (path, _) in compacts {
        assert!(
            checked.get(path).copied().unwrap_or(0) > 0,
            "no recorded item of {path}"
        );
    }
    assert!(details > 0, "no recorded project detail");
}

/// A Taiga that signs in alice/secret with the `normal` type (and `ldap` when `plugin` is set),
/// knows her token `AT{n}` (renewed by `RT{n}`), and lists projects for a known token. Revoking
/// drops the current access token, as Taiga does when a user's tokens are invalidated.
struct TokenTaiga {
    platform: FakePlatform,
    revoked: std::rc::Rc<Cell<bool>>,
}

use std::cell::Cell;

fn token_taiga(plugin: Option<&'static str>) -> TokenTaiga {
    let platform = FakePlatform::new();
    let revoked = std::rc::Rc::new(Cell::new(false));
    let generation = std::rc::Rc::new(Cell::new(1u32));
    let (revoked_in, generation_in) = (revoked.clone(), generation.clone());
    platform.respond(move |request| {
        let path = request.url.trim_start_matches("https://taiga.example/api/v1");
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let current = format!("Bearer AT{}", generation_in.get());
        let bearer = request.headers.iter().find(|(name, _)| name.eq_ignore_ascii_case("authorization")).map(|(_, value)| value.clone());
        let known = bearer.as_deref() == Some(current.as_str()) && !revoked_in.get();
        let unauthorized = || json_response(401, json!({"detail": "Given token not valid for any token type", "code": "token_not_valid"}), &[]);
        Ok(match (request.method, path) {
            (Method::Post, "/auth") => {
                let login_type = body["type"].as_str().unwrap_or_default();
                if login_type != "normal" && Some(login_type) != plugin {
                    json_response(400, json!({"_error_message": "invalid login type", "_error_type": "taiga.base.exceptions.BadRequest"}), &[])
                } else if body["password"] != "secret" {
                    if login_type == "normal" {
                        json_response(401, json!({"detail": "No active account found with the given credentials", "code": "invalid_credentials"}), &[])
                    } else {
                        json_response(400, json!({"_error_message": "Username or password does not matches user.", "_error_type": "taiga.base.exceptions.WrongArguments"}), &[])
                    }
                } else {
                    generation_in.set(generation_in.get() + 1);
                    revoked_in.set(false);
                    let n = generation_in.get();
                    json_response(200, json!({"id": 7, "username": "alice", "auth_token": format!("AT{n}"), "refresh": format!("RT{n}")}), &[])
                }
            }
            (Method::Post, "/auth/refresh") if body["refresh"] == format!("RT{}", generation_in.get()).as_str() => {
                generation_in.set(generation_in.get() + 1);
                revoked_in.set(false);
                let n = generation_in.get();
                json_response(200, json!({"auth_token": format!("AT{n}"), "refresh": format!("RT{n}")}), &[])
            }
            (Method::Post, "/auth/refresh") => unauthorized(),
            (Method::Get, "/users/me") if known => json_response(200, json!({"id": 7, "username": "alice"}), &[]),
            (Method::Get, path) if path.starts_with("/projects?") && known => {
                json_response(200, json!([{"id": 1, "name": "P1", "slug": "p1", "owner": {"username": "alice"}}]), &[("x-pagination-count", "1")])
            }
            (Method::Get, _) => unauthorized(),
            _ => json_response(404, json!({"_error_message": ""}), &[]),
        })
    });
    TokenTaiga { platform, revoked }
}

fn as_deployment(identity: crate::context::Identity, login_type: &str) -> CallContext {
    let mut context = context();
    context.settings.identity = Some(identity);
    context.settings.login_type = login_type.to_owned();
    context
}

fn alice(password: &str) -> crate::context::Identity {
    crate::context::Identity::Password {
        username: "alice".to_owned(),
        password: password.to_owned(),
    }
}

fn sent_paths(platform: &FakePlatform) -> Vec<String> {
    platform
        .sent
        .borrow()
        .iter()
        .map(|request| {
            let path = request.url.trim_start_matches("https://taiga.example/api/v1");
            format!("{:?} {}", request.method, path.split('?').next().unwrap_or_default())
        })
        .collect()
}

#[test]
fn calls_without_a_session_id_sign_in_as_the_deployment_once() {
    let taiga = token_taiga(None);
    let context = as_deployment(alice("secret"), "normal");
    for _ in 0..2 {
        let outcome = call(&taiga.platform, "list_projects", "{}", &context).unwrap();
        assert!(!outcome.is_error, "{:?}", outcome.structured);
    }
    assert_eq!(
        sent_paths(&taiga.platform),
        ["Post /auth", "Get /projects", "Get /projects"]
    );
    let status = call(&taiga.platform, "session_status", "{}", &context).unwrap();
    assert_eq!(status.structured["username"], "alice");
    // A call that names a session still uses it: here one that does not exist.
    let named = call(
        &taiga.platform,
        "list_projects",
        &json!({"session_id": "00000000-0000-4000-8000-000000000000"}).to_string(),
        &context,
    )
    .unwrap();
    assert_eq!(named.error_code(), Some("SESSION_INVALID"));
}

#[test]
fn arguments_are_checked_before_the_identity_signs_in() {
    let taiga = token_taiga(None);
    let context = as_deployment(alice("secret"), "normal");
    let outcome = call(
        &taiga.platform,
        "get_project_metadata",
        r#"{"project_id": 0}"#,
        &context,
    )
    .unwrap();
    assert_eq!(outcome.error_code(), Some("INVALID_INPUT"));
    assert_eq!(outcome.structured["details"]["field"], "project_id");
    assert!(
        sent_paths(&taiga.platform).is_empty(),
        "a bad argument costs no sign-in"
    );
}

/// How many times the calls signed in to Taiga.
fn sign_ins(platform: &FakePlatform) -> usize {
    sent_paths(platform).iter().filter(|path| *path == "Post /auth").count()
}

/// The identity's session id, as the store keeps it.
fn identity_session(platform: &FakePlatform, context: &CallContext) -> String {
    let key = crate::sign_in::identity_key(&context.settings).unwrap();
    platform
        .store_get(&key)
        .unwrap()
        .expect("the identity has a session id")
}

#[test]
fn the_identity_session_is_no_callers_to_name_or_end() {
    let taiga = token_taiga(None);
    let context = as_deployment(alice("secret"), "normal");
    assert!(!call(&taiga.platform, "list_projects", "{}", &context).unwrap().is_error);
    let id = identity_session(&taiga.platform, &context);
    let named = json!({"session_id": id}).to_string();
    // Neither a caller of this deployment nor one of a deployment without the identity (same
    // store, same namespace) may use it, nor end it.
    for caller in [context.clone(), self::context()] {
        assert_eq!(
            call(&taiga.platform, "list_projects", &named, &caller)
                .unwrap()
                .error_code(),
            Some("SESSION_INVALID")
        );
        assert_eq!(
            call(&taiga.platform, "session_status", &named, &caller)
                .unwrap()
                .error_code(),
            Some("SESSION_INVALID")
        );
        assert_eq!(
            call(&taiga.platform, "logout", &named, &caller).unwrap().structured["logged_out"],
            false
        );
    }
    assert!(!call(&taiga.platform, "list_projects", "{}", &context).unwrap().is_error);
    assert_eq!(sign_ins(&taiga.platform), 1);
}

#[test]
fn the_identity_session_id_is_random() {
    let context = as_deployment(alice("secret"), "normal");
    let ids: Vec<String> = (0..2)
        .map(|run| {
            let taiga = token_taiga(None);
            // Another process's randomness: the platform's counter starts elsewhere.
            for _ in 0..run {
                taiga.platform.random_bytes();
            }
            assert!(!call(&taiga.platform, "list_projects", "{}", &context).unwrap().is_error);
            identity_session(&taiga.platform, &context)
        })
        .collect();
    assert_ne!(ids[0], ids[1], "the same identity gets a new id in another store");
}

#[test]
fn a_call_waits_for_the_identity_sign_in_another_call_holds_and_shares_its_failure() {
    let taiga = token_taiga(None);
    let context = as_deployment(alice("secret"), "normal");
    // Another call (or replica) holds the sign-in lock for one second.
    let key = crate::sign_in::identity_key(&context.settings).unwrap();
    taiga
        .platform
        .store_set(&key, "4a1d0c1e-0000-4000-8000-000000000001", 3600)
        .unwrap();
    taiga
        .platform
        .store_set("identity-lock:4a1d0c1e-0000-4000-8000-000000000001", "other", 1)
        .unwrap();
    assert!(!call(&taiga.platform, "list_projects", "{}", &context).unwrap().is_error);
    assert!(taiga.platform.now_ms() >= 1000, "it waited for the lock");
    assert_eq!(sent_paths(&taiga.platform), ["Post /auth", "Get /projects"]);
    // The holder's failure answers the calls that waited for it, without a sign-in of their own.
    let taiga = token_taiga(None);
    taiga
        .platform
        .store_set(&key, "4a1d0c1e-0000-4000-8000-000000000002", 3600)
        .unwrap();
    let failure = crate::error::ToolError::new(crate::error::ErrorCode::InvalidCredentials, "Taiga refused it");
    taiga
        .platform
        .store_set(
            "identity-failure:4a1d0c1e-0000-4000-8000-000000000002",
            &failure.to_body().to_string(),
            5,
        )
        .unwrap();
    let outcome = call(&taiga.platform, "list_projects", "{}", &context).unwrap();
    assert_eq!(outcome.error_code(), Some("INVALID_CREDENTIALS"));
    assert!(taiga.platform.sent.borrow().is_empty());
}

#[test]
fn the_identity_s_successful_sign_ins_are_not_login_attempts() {
    let taiga = token_taiga(None);
    let mut context = as_deployment(alice("secret"), "normal");
    context.settings.login_rate_limit = 1;
    for _ in 0..3 {
        assert!(!call(&taiga.platform, "list_projects", "{}", &context).unwrap().is_error);
        // The session ends (expiry, a logout as the identity): the next call signs in again.
        let id = identity_session(&taiga.platform, &context);
        taiga.platform.store_delete(&format!("session:{id}")).unwrap();
    }
    assert_eq!(sign_ins(&taiga.platform), 3);
}

#[test]
fn a_revoked_token_is_renewed_and_the_call_runs_again() {
    let taiga = token_taiga(None);
    let context = as_deployment(alice("secret"), "normal");
    assert!(!call(&taiga.platform, "list_projects", "{}", &context).unwrap().is_error);
    taiga.revoked.set(true);
    let outcome = call(&taiga.platform, "list_projects", "{}", &context).unwrap();
    assert!(!outcome.is_error, "{:?}", outcome.structured);
    assert_eq!(
        sent_paths(&taiga.platform),
        [
            "Post /auth",
            "Get /projects",
            "Get /projects",
            "Post /auth/refresh",
            "Get /projects"
        ]
    );
}

#[test]
fn a_token_identity_is_checked_with_users_me_and_a_dead_one_names_the_setting() {
    let taiga = token_taiga(None);
    let token = |auth: &str, refresh: Option<&str>| crate::context::Identity::Token {
        auth_token: auth.to_owned(),
        refresh_token: refresh.map(str::to_owned),
    };
    let live = as_deployment(token("AT1", Some("RT1")), "normal");
    let outcome = call(&taiga.platform, "list_projects", "{}", &live).unwrap();
    assert!(!outcome.is_error, "{:?}", outcome.structured);
    assert_eq!(sent_paths(&taiga.platform), ["Get /users/me", "Get /projects"]);
    let dead = as_deployment(token("stale", None), "normal");
    let outcome = call(&taiga.platform, "list_projects", "{}", &dead).unwrap();
    assert_eq!(outcome.error_code(), Some("INVALID_CREDENTIALS"));
    assert!(outcome.structured["message"].as_str().unwrap().contains("TAIGA_TOKEN"));
}

#[test]
fn wrong_deployment_credentials_are_a_structured_error_without_the_password() {
    let taiga = token_taiga(None);
    let outcome = call(
        &taiga.platform,
        "list_projects",
        "{}",
        &as_deployment(alice("wr0ng-pass"), "normal"),
    )
    .unwrap();
    assert_eq!(outcome.error_code(), Some("INVALID_CREDENTIALS"));
    assert!(!outcome.structured.to_string().contains("wr0ng-pass"));
}

#[test]
fn the_login_type_is_posted_and_a_plugin_refusal_is_invalid_credentials() {
    let taiga = token_taiga(Some("ldap"));
    let ldap = as_deployment(alice("secret"), "ldap");
    let outcome = call(
        &taiga.platform,
        "login",
        &json!({"username": "alice", "password": "secret"}).to_string(),
        &ldap,
    )
    .unwrap();
    assert!(!outcome.is_error, "{:?}", outcome.structured);
    let posted: Value = serde_json::from_slice(&taiga.platform.sent.borrow()[0].body).unwrap();
    assert_eq!(posted["type"], "ldap");
    let refused = call(
        &taiga.platform,
        "login",
        &json!({"username": "alice", "password": "nope"}).to_string(),
        &ldap,
    )
    .unwrap();
    assert_eq!(refused.error_code(), Some("INVALID_CREDENTIALS"));
    let unknown = as_deployment(alice("secret"), "ad");
    let outcome = call(
        &taiga.platform,
        "login",
        &json!({"username": "alice", "password": "secret"}).to_string(),
        &unknown,
    )
    .unwrap();
    assert_eq!(outcome.error_code(), Some("INVALID_INPUT"));
    assert_eq!(outcome.structured["details"]["field"], "login_type");
    assert!(
        outcome.structured["message"]
            .as_str()
            .unwrap()
            .contains("TAIGA_LOGIN_TYPE")
    );
}

#[test]
fn every_tool_is_in_exactly_one_toolset() {
    for tool in catalogue() {
        let holding: Vec<&str> = TOOLSETS
            .iter()
            .filter(|toolset| toolset.tools.contains(&tool.name))
            .map(|toolset| toolset.name)
            .collect();
        assert_eq!(holding.len(), 1, "{} is in {holding:?}", tool.name);
    }
    for name in DEFAULT_TOOLS {
        assert!(
            catalogue().iter().any(|tool| tool.name == *name),
            "default names {name}"
        );
    }
    let listed: usize = TOOLSETS.iter().map(|toolset| toolset.tools.len()).sum();
    assert_eq!(listed, catalogue().len(), "a toolset names a tool the catalogue lacks");
}

/// A recorded exchange's response body.
fn recorded_body(file: &str) -> Value {
    let text = std::fs::read_to_string(recordings_dir().join(file)).expect("recording");
    serde_json::from_str::<Value>(&text).expect("recording is JSON")["response"]["body"].clone()
}

/// Taiga as recorded for project 9 and its sprint 13 (recordings 205 and 206): nothing estimated,
/// totals as `{}` and `[]`, a sprint end with no evolution yet.
#[test]
fn recorded_figures_become_totals_and_a_burndown() {
    let platform = taiga(0);
    let fallback = taiga(0);
    platform.respond(move |request| {
        let path = request.url.trim_start_matches("https://taiga.example/api/v1");
        match path {
            "/milestones/13/stats" => Ok(json_response(200, recorded_body("205-milestone-stats.json"), &[])),
            "/projects/9/stats" => Ok(json_response(200, recorded_body("206-project-stats.json"), &[])),
            _ => fallback.send(request),
        }
    });
    let session = login(&platform);
    let sprint = run(
        &platform,
        "get_sprint_stats",
        json!({"session_id": session, "sprint_id": 13}),
    );
    assert!(!sprint.is_error, "{:?}", sprint.structured);
    let recorded = recorded_body("205-milestone-stats.json");
    let days = recorded["days"].as_array().unwrap();
    let burndown = sprint.structured["burndown"].as_array().unwrap();
    assert_eq!(burndown.len(), days.len());
    assert_eq!(
        burndown[0],
        json!({"day": "2026-11-30", "open_points": 0.0, "optimal_points": 0.0})
    );
    assert_eq!(sprint.structured["start_date"], "2026-11-30");
    assert_eq!(sprint.structured["end_date"], "2026-12-11");
    assert_eq!(sprint.structured["total_points"], 0.0);
    assert_eq!(sprint.structured["user_stories"], json!({"total": 1, "completed": 0}));
    // Nothing estimated: completion counts stories.
    assert_eq!(sprint.structured["completion_percent"], 0.0);

    let project = run(
        &platform,
        "get_project_stats",
        json!({"session_id": session, "project_id": 9}),
    );
    assert!(!project.is_error, "{:?}", project.structured);
    assert_eq!(project.structured["defined_points"], 0.0);
    assert_eq!(
        project.structured["completion_percent"],
        Value::Null,
        "no whole, no percentage"
    );
    assert_eq!(
        project.structured["sprints"][1],
        json!({"name": "Project End", "optimal_points": 0, "remaining_points": null})
    );
}

/// A platform whose Taiga has project 1 with one status and one member, a search and a member list.
fn project_taiga() -> FakePlatform {
    let platform = taiga(1);
    let base = taiga(1);
    platform.respond(move |request| {
        let path = request.url.trim_start_matches("https://taiga.example/api/v1");
        Ok(match path {
            "/projects/1" => json_response(
                200,
                json!({"id": 1, "us_statuses": [{"id": 11, "name": "New"}], "task_statuses": [], "issue_statuses": [],
                       "members": [{"id": 7, "username": "alice"}]}),
                &[],
            ),
            "/search?project=1&text=login" => json_response(
                200,
                json!({"count": 1, "userstories": [{"id": 5, "ref": 3, "subject": "Login", "status": 11}]}),
                &[],
            ),
            "/memberships?project=1&page_size=1000" => json_response(
                200,
                json!([{"id": 9, "user": 7, "role_name": "Owner", "is_admin": true}]),
                &[],
            ),
            _ => return base.send(request),
        })
    });
    platform
}

#[test]
fn independent_reads_of_one_call_go_out_together() {
    let platform = project_taiga();
    let mut context = context();
    context.settings.metadata_ttl_seconds = 300;
    let session = {
        let outcome = call(
            &platform,
            "login",
            &json!({"username": "alice", "password": "secret"}).to_string(),
            &context,
        )
        .expect("dispatches");
        outcome.structured["session_id"].as_str().unwrap().to_owned()
    };
    let search = json!({"session_id": session, "project_id": 1, "text": "login"}).to_string();
    let sent_before = platform.sent.borrow().len();

    let cold = call(&platform, "search_project", &search, &context).expect("dispatches");
    assert!(!cold.is_error, "{:?}", cold.structured);
    assert_eq!(
        cold.structured["user_stories"][0]["status"], "New",
        "{:?}",
        cold.structured
    );
    assert_eq!(platform.sent.borrow().len() - sent_before, 2);
    assert_eq!(
        *platform.together.borrow(),
        [2],
        "the search and the project's names go out together"
    );

    let warm = call(&platform, "search_project", &search, &context).expect("dispatches");
    assert!(!warm.is_error, "{:?}", warm.structured);
    assert_eq!(
        platform.sent.borrow().len() - sent_before,
        3,
        "kept names: the search alone"
    );
    assert_eq!(*platform.together.borrow(), [2]);

    let members = json!({"session_id": session, "project_id": 1}).to_string();
    let listed = call(&platform, "list_project_members", &members, &context).expect("dispatches");
    assert!(!listed.is_error, "{:?}", listed.structured);
    assert_eq!(listed.structured["members"][0]["username"], "alice");
    assert_eq!(
        *platform.together.borrow(),
        [2, 2],
        "members and the project's fresh names together"
    );
}

/// A Taiga with sprint 5 of project 1: stories in statuses 11 (order 2) and 10 (order 1), an
/// archived empty status, and `renamed` a status 12 that kept facts do not know yet.
fn board_taiga(renamed: std::rc::Rc<std::cell::Cell<bool>>) -> FakePlatform {
    let platform = FakePlatform::new();
    platform.respond(move |request| {
        let renamed = renamed.get();
        let path = request.url.trim_start_matches("https://taiga.example/api/v1");
        let mut statuses = vec![
            json!({"id": 11, "name": "Doing", "order": 2, "color": "#E47C40", "is_closed": false, "is_archived": false}),
            json!({"id": 10, "name": "New", "order": 1, "color": "#70728F", "is_closed": false, "is_archived": false}),
            json!({"id": 13, "name": "Attic", "order": 9, "is_closed": true, "is_archived": true}),
        ];
        if renamed {
            statuses.push(json!({"id": 12, "name": "Shipped", "order": 3, "is_closed": true, "is_archived": false}));
        }
        let story = |id: i64, status: i64, points: Value, tasks: Value| {
            json!({"id": id, "ref": id + 100, "subject": format!("Story {id}"), "version": 3, "status": status,
                   "total_points": points, "is_blocked": id == 2, "blocked_note": "waits on legal",
                   "assigned_to_extra_info": if id == 1 { json!({"full_name_display": "Alice"}) } else { Value::Null },
                   "tasks": tasks})
        };
        Ok(match (request.method, path) {
            (Method::Post, "/auth") => json_response(200, json!({"id": 7, "username": "alice", "auth_token": "AT", "refresh": "RT"}), &[]),
            (Method::Get, "/milestones/5") => json_response(200, json!({"id": 5, "project": 1, "name": "S5",
                "estimated_start": "2026-12-01", "estimated_finish": "2026-12-14", "closed": false}), &[]),
            (Method::Get, path) if path.starts_with("/userstories?") => {
                assert!(path.contains("include_tasks=true") && path.contains("milestone=5"), "{path}");
                let mut stories = vec![
                    story(1, 11, json!(3.0), json!([{"id": 1, "is_closed": true}, {"id": 2, "is_closed": false}])),
                    story(2, 10, json!(2.5), json!([])),
                ];
                if renamed {
                    stories.push(story(3, 12, json!(5.0), json!([])));
                }
                json_response(200, json!(stories), &[])
            }
            (Method::Get, "/projects/1") => json_response(200, json!({"id": 1, "us_statuses": statuses}), &[]),
            _ => json_response(404, json!({"_error_message": ""}), &[]),
        })
    });
    platform
}

#[test]
fn a_board_has_the_project_s_columns_in_order_and_the_cards_a_person_scans_for() {
    let platform = board_taiga(Default::default());
    let session = login(&platform);
    let outcome = run(
        &platform,
        "get_sprint_board",
        json!({"session_id": session, "sprint_id": 5}),
    );
    assert!(!outcome.is_error, "{:?}", outcome.structured);
    let board = &outcome.structured;
    let names: Vec<&str> = board["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    // Status order, not id order; an archived status without stories is left out.
    assert_eq!(names, ["New", "Doing"]);
    let doing = &board["columns"][1];
    assert_eq!(doing["color"], "#E47C40");
    assert_eq!(
        doing["cards"][0],
        json!({"id": 1, "ref": 101, "subject": "Story 1", "version": 3, "points": 3.0, "assignee": "Alice",
               "blocked": false, "blocked_note": null, "tasks": {"closed": 1, "total": 2}})
    );
    assert_eq!(board["columns"][0]["cards"][0]["blocked_note"], "waits on legal");
    assert_eq!(board["sprint"]["name"], "S5");
    assert_eq!(
        (board["total_points"].clone(), board["closed_points"].clone()),
        (json!(5.5), json!(0.0))
    );
    let summary = outcome.summary.expect("a board says itself in words");
    assert!(
        summary.starts_with("Sprint S5 (2026-12-01 to 2026-12-14): 2 stories, 0 of 5.5 points closed."),
        "{summary}"
    );
    assert!(summary.contains("- #102 Story 2, 2.5 pts, BLOCKED"), "{summary}");
    assert!(summary.contains("- #101 Story 1, 3 pts, Alice, tasks 1/2"), "{summary}");
}

#[test]
fn a_board_reads_statuses_again_when_a_story_is_in_one_the_kept_facts_do_not_know() {
    let renamed = std::rc::Rc::new(std::cell::Cell::new(false));
    let platform = board_taiga(renamed.clone());
    let session = login(&platform);
    // The sprint, its stories and the project's statuses go out together; the statuses are kept.
    let first = run(
        &platform,
        "get_sprint_board",
        json!({"session_id": session, "sprint_id": 5, "project_id": 1}),
    );
    assert!(!first.is_error, "{:?}", first.structured);
    assert_eq!(platform.together.borrow().last(), Some(&3));
    // Taiga gains status 12 and a story in it; the kept facts do not know it.
    renamed.set(true);
    let outcome = run(
        &platform,
        "get_sprint_board",
        json!({"session_id": session, "sprint_id": 5, "project_id": 1}),
    );
    assert!(!outcome.is_error, "{:?}", outcome.structured);
    let names: Vec<&str> = outcome.structured["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["New", "Doing", "Shipped"]);
    assert_eq!(outcome.structured["closed_points"], json!(5.0));
    let reads: Vec<String> = platform.sent.borrow().iter().map(|r| r.url.clone()).collect();
    assert!(reads.last().unwrap().ends_with("/projects/1"), "{reads:?}");
}

#[test]
fn a_board_needs_a_sprint_or_a_project_and_refuses_a_sprint_of_another_project() {
    let platform = board_taiga(Default::default());
    let session = login(&platform);
    let neither = run(&platform, "get_sprint_board", json!({"session_id": session}));
    assert_eq!(neither.error_code(), Some("INVALID_INPUT"));
    assert_eq!(neither.structured["details"]["field"], "sprint_id");
    let mismatch = run(
        &platform,
        "get_sprint_board",
        json!({"session_id": session, "sprint_id": 5, "project_id": 2}),
    );
    assert_eq!(mismatch.error_code(), Some("INVALID_INPUT"));
    assert_eq!(mismatch.structured["details"]["field"], "project_id");
}

/// A kanban project 1 of `total` stories, Taiga's pages of 100 with `X-Pagination-Next`, and 404
/// past the last page.
fn paged_board_taiga(total: usize) -> FakePlatform {
    let platform = FakePlatform::new();
    platform.respond(move |request| {
        let path = request.url.trim_start_matches("https://taiga.example/api/v1");
        Ok(match (request.method, path) {
            (Method::Post, "/auth") => json_response(
                200,
                json!({"id": 7, "username": "alice", "auth_token": "AT", "refresh": "RT"}),
                &[],
            ),
            (Method::Get, "/projects/1") => json_response(
                200,
                json!({"id": 1, "us_statuses": [{"id": 10, "name": "New", "order": 1}]}),
                &[],
            ),
            (Method::Get, path) if path.starts_with("/userstories?") => {
                let page: usize = path
                    .split("page=")
                    .nth(1)
                    .and_then(|rest| rest.split('&').next())
                    .unwrap()
                    .parse()
                    .unwrap();
                let first = (page - 1) * 100;
                if page > 1 && first >= total {
                    // Taiga's answer to a page past the last (recordings 152, 153).
                    return Ok(json_response(
                        404,
                        json!({"_error_message": "Page is not 'last', nor can it be converted to an int."}),
                        &[],
                    ));
                }
                let stories: Vec<Value> = (first..total.min(first + 100))
                    .map(|id| json!({"id": id, "ref": id, "status": 10, "version": 1}))
                    .collect();
                let next = if first + 100 < total {
                    vec![("X-Pagination-Next", "more")]
                } else {
                    Vec::new()
                };
                json_response(200, json!(stories), &next)
            }
            _ => json_response(404, json!({"_error_message": ""}), &[]),
        })
    });
    platform
}

#[test]
fn a_board_reads_every_page_up_to_its_cap_and_says_when_taiga_has_more() {
    for (total, cards, truncated) in [
        (100, 100, false),
        (250, 250, false),
        (300, 300, false),
        (301, 300, true),
    ] {
        let platform = paged_board_taiga(total);
        let session = login(&platform);
        let outcome = run(
            &platform,
            "get_sprint_board",
            json!({"session_id": session, "project_id": 1}),
        );
        assert!(!outcome.is_error, "{:?}", outcome.structured);
        assert_eq!(outcome.structured["cards"], json!(cards), "{total} stories");
        assert_eq!(
            outcome.structured["truncated"].as_bool().unwrap_or(false),
            truncated,
            "{total} stories"
        );
    }
}
