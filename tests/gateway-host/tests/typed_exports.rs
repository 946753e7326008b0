//! A plain wasmtime host that links only WASI 0.2 and wasi:http, as a WASM MCP gateway does,
//! instantiates the typed `taiga-gateway` component and calls its functions against the simulator.

use std::sync::OnceLock;

use serde_json::Value;
use taiga_gateway_host_tests::{component_path, gateway_wit};
use taiga_sim::{Seed, Simulator};
use wasmtime::component::{Component, Linker, ResourceTable, Val};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

struct GatewayInstance {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
}

impl WasiView for GatewayInstance {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for GatewayInstance {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: wasmtime_wasi_http::default_hooks(),
        }
    }
}

/// The component, instantiated with `environment` as its only configuration.
struct Loaded {
    store: Store<GatewayInstance>,
    instance: wasmtime::component::Instance,
}

/// The engine and the compiled component, shared by every test of this binary.
fn compiled() -> &'static (Engine, Component) {
    static COMPILED: OnceLock<(Engine, Component)> = OnceLock::new();
    COMPILED.get_or_init(|| {
        let path = component_path();
        let bytes =
            std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}; build it with `make build`", path.display()));
        let engine = Engine::new(Config::new().wasm_component_model(true)).unwrap();
        let component = Component::from_binary(&engine, &bytes).unwrap();
        (engine, component)
    })
}

async fn load(environment: &[(&str, &str)]) -> Loaded {
    let (engine, component) = compiled();
    let mut linker = Linker::<GatewayInstance>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).unwrap();
    let mut wasi = WasiCtx::builder();
    for (name, value) in environment {
        wasi.env(name, value);
    }
    let mut store = Store::new(
        engine,
        GatewayInstance {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
        },
    );
    let instance = linker.instantiate_async(&mut store, component).await.unwrap();
    Loaded { store, instance }
}

impl Loaded {
    /// Calls a typed export; its `result<string, string>` as parsed JSON.
    async fn call(&mut self, name: &str, params: &[Val]) -> Result<Value, Value> {
        let func = self
            .instance
            .get_func(&mut self.store, name)
            .unwrap_or_else(|| panic!("no export {name}"));
        let mut results = [Val::Bool(false)];
        func.call_async(&mut self.store, params, &mut results).await.unwrap();
        let text = |val: Option<Box<Val>>| match val.map(|boxed| *boxed) {
            Some(Val::String(text)) => serde_json::from_str::<Value>(&text).unwrap(),
            other => panic!("{name} returned {other:?}"),
        };
        match results.into_iter().next() {
            Some(Val::Result(Ok(ok))) => Ok(text(ok)),
            Some(Val::Result(Err(err))) => Err(text(err)),
            other => panic!("{name} returned {other:?}"),
        }
    }
}

fn some(val: Val) -> Val {
    Val::Option(Some(Box::new(val)))
}

fn none() -> Val {
    Val::Option(None)
}

/// The component configured to sign in as the simulator's admin.
async fn load_as_admin(url: &str) -> Loaded {
    load(&[
        ("TAIGA_URL", url),
        ("TAIGA_USERNAME", "admin"),
        ("TAIGA_PASSWORD", "123123"),
    ])
    .await
}

async fn simulator() -> Simulator {
    Simulator::start(Seed::Demo).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn typed_functions_work_with_a_username_and_password() {
    let sim = simulator().await;
    let url = sim.url();
    let mut gateway = load_as_admin(&url).await;

    let projects = gateway
        .call("taiga-list-projects", &[none(), none(), none(), none()])
        .await
        .unwrap();
    assert_eq!(projects["total"], 3);
    let project = projects["items"][0]["id"].as_u64().unwrap();
    let project = Val::U32(u32::try_from(project).unwrap());

    // The world's enums, lists and options.
    let created = gateway
        .call(
            "taiga-create-project",
            &[
                Val::String("Gateway project".into()),
                Val::String("made through typed exports".into()),
                some(Val::Enum("public".into())),
                some(Val::Enum("kanban".into())),
            ],
        )
        .await
        .unwrap();
    assert_eq!(created["name"], "Gateway project");
    assert_eq!(created["is_private"], false);

    let story = gateway
        .call(
            "taiga-create-user-story",
            &arguments(
                "taiga-create-user-story",
                &[
                    ("project-id", project.clone()),
                    ("title", Val::String("Typed story".into())),
                    (
                        "tags",
                        some(Val::List(vec![
                            Val::String("gateway".into()),
                            Val::String("typed".into()),
                        ])),
                    ),
                    (
                        "status",
                        some(Val::Variant(
                            "name".into(),
                            Some(Box::new(Val::String("In progress".into()))),
                        )),
                    ),
                ],
            ),
        )
        .await
        .unwrap();
    assert_eq!(story["title"], "Typed story", "{story}");
    let story_id = Val::U32(u32::try_from(story["id"].as_u64().unwrap()).unwrap());
    let fetched = gateway
        .call(
            "taiga-get-user-story",
            &arguments("taiga-get-user-story", &[("user-story-id", some(story_id))]),
        )
        .await
        .unwrap();
    assert_eq!(fetched["title"], "Typed story");
    assert_eq!(fetched["tags"], serde_json::json!(["gateway", "typed"]));
    assert_eq!(
        fetched["status"], "In progress",
        "the id-or-name variant resolved by name"
    );

    // Every call is independent: a failure is the tool's error body, and the next call works.
    let missing = gateway
        .call("taiga-get-project-metadata", &[Val::U32(999_999)])
        .await
        .unwrap_err();
    assert_eq!(missing["code"], "NOT_FOUND");
    let invalid = gateway
        .call("taiga-get-project-metadata", &[Val::U32(0)])
        .await
        .unwrap_err();
    assert_eq!(invalid["code"], "INVALID_INPUT");
    assert_eq!(invalid["details"]["field"], "project_id");
    let metadata = gateway.call("taiga-get-project-metadata", &[project]).await.unwrap();
    assert!(
        metadata["user_story_statuses"]
            .as_array()
            .is_some_and(|statuses| !statuses.is_empty())
    );

    // The component signed in on each call that reached Taiga: it kept no session between them,
    // and the call refused for its arguments signed in not at all.
    let logins = sim
        .requests()
        .iter()
        .filter(|request| request.path == "/api/v1/auth")
        .count();
    assert_eq!(logins, 6, "one login for each of the 6 calls that reached Taiga");
}

/// The arguments of `export` in its generated order, looked up by name so that the test follows
/// the signature: the `given` ones, every other one an empty option.
fn arguments(export: &str, given: &[(&str, Val)]) -> Vec<Val> {
    signature(export)
        .iter()
        .map(|param| {
            given
                .iter()
                .find(|(name, _)| name == param)
                .map_or_else(none, |(_, value)| value.clone())
        })
        .collect()
}

/// The parameter names of an export, from the checked-in WIT world.
fn signature(export: &str) -> Vec<String> {
    let wit = gateway_wit();
    let line = wit
        .lines()
        .find(|line| line.trim_start().starts_with(&format!("export {export}: func(")))
        .unwrap_or_else(|| panic!("no {export} in the world"));
    let params = &line[line.find("func(").unwrap() + 5..line.find(") ->").unwrap()];
    params
        .split(", ")
        .filter(|param| !param.is_empty())
        .map(|param| param.split(':').next().unwrap().trim_start_matches('%').to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_from_the_environment_is_used_as_is() {
    let sim = simulator().await;
    let url = sim.url();
    let login: Value = {
        let mut gateway = load_as_admin(&url).await;
        gateway
            .call("taiga-list-projects", &[none(), none(), none(), none()])
            .await
            .unwrap()
    };
    assert_eq!(login["total"], 3);
    let token = {
        let mut state = sim.state();
        let admin = state.user_by_login("admin").expect("the demo seed has an admin").id;
        state.issue_tokens(admin).0
    };
    let mut gateway = load(&[("TAIGA_URL", &url), ("TAIGA_TOKEN", &token)]).await;
    let before = sim.requests().len();
    let projects = gateway
        .call("taiga-list-projects", &[none(), none(), some(Val::Bool(true)), none()])
        .await
        .unwrap();
    assert_eq!(projects["total"], 3);
    let paths: Vec<String> = sim.requests()[before..]
        .iter()
        .map(|request| request.path.clone())
        .collect();
    assert_eq!(paths[0], "/api/v1/users/me");
    assert!(!paths.iter().any(|path| path == "/api/v1/auth"), "{paths:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_configuration_is_an_error_that_names_the_variable() {
    let mut gateway = load(&[]).await;
    let error = gateway
        .call("taiga-list-projects", &[none(), none(), none(), none()])
        .await
        .unwrap_err();
    assert_eq!(error["code"], "INVALID_INPUT");
    assert_eq!(error["details"]["field"], "TAIGA_URL");

    let sim = simulator().await;
    let url = sim.url();
    let mut gateway = load(&[("TAIGA_URL", &url)]).await;
    let error = gateway
        .call("taiga-list-projects", &[none(), none(), none(), none()])
        .await
        .unwrap_err();
    assert_eq!(error["details"]["field"], "TAIGA_TOKEN");
    assert!(sim.requests().is_empty());

    let mut gateway = load(&[
        ("TAIGA_URL", &url),
        ("TAIGA_USERNAME", "admin"),
        ("TAIGA_PASSWORD", "wrong"),
    ])
    .await;
    let error = gateway
        .call("taiga-list-projects", &[none(), none(), none(), none()])
        .await
        .unwrap_err();
    assert_eq!(error["code"], "INVALID_CREDENTIALS");
}

/// The typed component under a gateway's own `wasi:http` (wasmtime's default sender, not
/// `taiga-mcp`'s host, which frames bodies itself): each body it sends carries its
/// `Content-Length` and is never chunked, because Taiga reads bodies by length only (recordings
/// 178-180); requests without a body carry neither.
#[tokio::test(flavor = "multi_thread")]
async fn bodies_go_out_with_their_length() {
    let sim = simulator().await;
    let url = sim.url();
    let mut gateway = load_as_admin(&url).await;
    let created = gateway
        .call(
            "taiga-create-project",
            &[
                Val::String("Größe".into()),
                Val::String("framed".into()),
                none(),
                none(),
            ],
        )
        .await
        .unwrap();
    assert_eq!(created["name"], "Größe");
    let requests = sim.requests();
    let header = |request: &taiga_sim::Recorded, name: &str| -> Vec<String> {
        request
            .headers
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .collect()
    };
    let posts: Vec<&str> = requests
        .iter()
        .filter(|request| request.method == "POST")
        .map(|request| request.path.as_str())
        .collect();
    assert_eq!(posts, ["/api/v1/auth", "/api/v1/projects"]);
    for request in &requests {
        assert!(header(request, "transfer-encoding").is_empty(), "{request:?}");
        if request.method == "GET" {
            assert!(header(request, "content-length").is_empty(), "{request:?}");
        } else {
            assert!(!request.body.is_empty(), "{request:?}");
            assert_eq!(header(request, "content-length"), [request.body.len().to_string()]);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn read_only_refuses_writes_before_any_request() {
    let sim = simulator().await;
    let url = sim.url();
    let mut gateway = load(&[
        ("TAIGA_URL", &url),
        ("TAIGA_USERNAME", "admin"),
        ("TAIGA_PASSWORD", "123123"),
        ("TAIGA_READ_ONLY", "true"),
    ])
    .await;
    let projects = gateway
        .call("taiga-list-projects", &[none(), none(), none(), none()])
        .await
        .unwrap();
    assert_eq!(projects["total"], 3);
    let before = sim.requests().len();
    let refused = gateway.call("taiga-delete-project", &[Val::U32(1)]).await.unwrap_err();
    assert_eq!(refused["code"], "PERMISSION_DENIED");
    assert!(refused["message"].as_str().unwrap().contains("TAIGA_READ_ONLY"));
    assert_eq!(sim.requests().len(), before, "no request reached Taiga");
}

/// The world's shapes for issue 21's fields: a due date set and cleared through `date-or-none`,
/// custom field values as a `json-object`, checked by the tool by name and type.
#[tokio::test(flavor = "multi_thread")]
async fn due_dates_and_custom_values_go_through_the_typed_world() {
    let sim = simulator().await;
    let url = sim.url();
    let mut gateway = load_as_admin(&url).await;
    let project = Val::U32(1);
    let story = gateway
        .call(
            "taiga-create-user-story",
            &arguments(
                "taiga-create-user-story",
                &[
                    ("project-id", project),
                    ("title", Val::String("Dated".into())),
                    ("is-blocked", some(Val::Bool(true))),
                    ("due-date", some(Val::String("2030-01-31".into()))),
                ],
            ),
        )
        .await
        .unwrap();
    assert_eq!(story["due_date"], "2030-01-31", "{story}");
    assert_eq!(story["is_blocked"], true);
    let id = u32::try_from(story["id"].as_u64().unwrap()).unwrap();
    let version = u32::try_from(story["version"].as_u64().unwrap()).unwrap();
    let cleared = gateway
        .call(
            "taiga-update-user-story",
            &arguments(
                "taiga-update-user-story",
                &[
                    ("user-story-id", Val::U32(id)),
                    ("version", Val::U32(version)),
                    ("due-date", some(Val::Variant("none".into(), None))),
                ],
            ),
        )
        .await
        .unwrap();
    assert_eq!(cleared["due_date"], serde_json::Value::Null, "{cleared}");

    let attribute = sim.state().next_id("custom_attribute");
    sim.state().custom_attributes.push(serde_json::json!({
        "_kind": "userstory", "id": attribute, "name": "Customer", "type": "text", "project": 1,
        "description": "", "order": 1, "extra": null,
    }));
    let values = |text: &str| Val::Record(vec![("text".into(), Val::String(text.into()))]);
    let set = |text: &str, version: u32| {
        vec![
            Val::Enum("user-story".into()),
            Val::U32(id),
            Val::U32(version),
            values(text),
        ]
    };
    let written = gateway
        .call("taiga-set-custom-values", &set(r#"{"Customer": "ACME"}"#, 1))
        .await
        .unwrap();
    assert_eq!(written["values"]["Customer"], "ACME", "{written}");
    let refused = gateway
        .call("taiga-set-custom-values", &set(r#"{"Customer": 3}"#, 2))
        .await
        .unwrap_err();
    assert_eq!(refused["details"]["field"], "values", "{refused}");
    let not_json = gateway
        .call("taiga-set-custom-values", &set("Customer=ACME", 2))
        .await
        .unwrap_err();
    assert_eq!(not_json["code"], "INVALID_INPUT");
    assert_eq!(not_json["details"]["field"], "values");
}
