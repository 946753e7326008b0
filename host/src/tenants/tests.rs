use super::*;

const ACME_KEY: &str = "acme-key-0123456789abcdef0123456789abcdef";
const GLOBEX_KEY: &str = "globex-key-0123456789abcdef0123456789abcdef";

fn hex(hash: [u8; 32]) -> String {
    hash.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn defaults() -> TenantDefaults {
    TenantDefaults {
        primitives: Primitives::default(),
        settings: Settings {
            default_taiga_url: "https://api.taiga.io".to_owned(),
            session_ttl_seconds: 3600,
            max_sessions_per_user: 5,
            login_rate_limit: 5,
            login_lockout_seconds: 900,
            request_timeout_ms: 30_000,
            max_response_bytes: 1 << 24,
            max_attachment_bytes: 1 << 20,
            login_type: "normal".to_owned(),
            metadata_ttl_seconds: 300,
            identity: None,
        },
        limits: Limits {
            memory_bytes: 64 << 20,
            call_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
        },
        allow_http_taiga: false,
        trust: crate::network::Trust::standard(),
        tool_choice: ToolChoice::default(),
        catalogue: Arc::new(
            [
                ("login", "session", false),
                ("list_projects", "projects", true),
                ("create_project", "projects", false),
            ]
            .into_iter()
            .map(|(name, toolset, read_only)| CatalogueEntry {
                name: name.to_owned(),
                toolset: toolset.to_owned(),
                read_only,
                in_default: true,
            })
            .collect(),
        ),
    }
}

fn two_tenants() -> String {
    format!(
        "[[tenant]]\nid = \"acme\"\napi_key_sha256 = \"{}\"\ntaiga_api_url = \"https://taiga.acme.example\"\n\
         call_memory_mb = 32\ncall_timeout_seconds = 5\ncalls_per_minute = 60\nmax_concurrent_calls = 2\n\n\
         [[tenant]]\nid = \"globex\"\napi_key_sha256 = \"{}\"\ntaiga_api_url = \"https://taiga.globex.example\"\n\
         taiga_allowed_hosts = [\"https://tree.globex.example:8443\"]\nnamespace = \"gx\"\n",
        hex(hash_key(ACME_KEY)),
        hex(hash_key(GLOBEX_KEY)).to_uppercase(),
    )
}

/// A tenants file of its own for each test: they run in parallel and rewrite their files.
fn tenants_from(text: &str) -> Tenants {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let unique = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("taiga-tenants-{}-{unique}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tenants.toml");
    std::fs::write(&path, text).unwrap();
    Tenants::load(&path, defaults()).unwrap()
}

fn error_of(text: &str) -> String {
    parse(text, &defaults(), &[]).unwrap_err()
}

#[test]
fn each_tenant_gets_its_own_policy_namespace_and_quota() {
    let tenants = parse(&two_tenants(), &defaults(), &[]).unwrap();
    let acme = &tenants[0];
    assert_eq!(acme.namespace, "acme");
    assert_eq!(acme.settings.default_taiga_url, "https://taiga.acme.example");
    assert_eq!(acme.policy.limits.memory_bytes, 32 << 20);
    assert_eq!(acme.policy.limits.call_timeout, Duration::from_secs(5));
    assert_eq!(acme.policy.allow_list.origins().len(), 1);
    assert_eq!(acme.policy.tenant, "acme");
    let globex = &tenants[1];
    assert_eq!(globex.namespace, "gx");
    assert_eq!(globex.policy.limits.call_timeout, Duration::from_secs(60));
    assert_eq!(globex.policy.allow_list.origins().len(), 2);
    assert_eq!(
        globex.gate.as_ref().unwrap().quota,
        Quota {
            calls_per_minute: DEFAULT_CALLS_PER_MINUTE,
            max_concurrent_calls: DEFAULT_MAX_CONCURRENT_CALLS
        }
    );
}

#[test]
fn keys_authenticate_their_own_tenant_only() {
    let tenants = tenants_from(&two_tenants());
    let bearer = |key: &str| format!("Bearer {key}");
    assert_eq!(tenants.authenticate(Some(&bearer(ACME_KEY))).unwrap().id, "acme");
    assert_eq!(tenants.authenticate(Some(&bearer(GLOBEX_KEY))).unwrap().id, "globex");
    assert_eq!(
        tenants.authenticate(Some(&format!("bearer  {ACME_KEY} "))).unwrap().id,
        "acme"
    );
    assert!(tenants.authenticate(None).is_none());
    assert!(tenants.authenticate(Some("Bearer")).is_none());
    assert!(tenants.authenticate(Some(&bearer("acme-key"))).is_none());
    assert!(tenants.authenticate(Some(&format!("Basic {ACME_KEY}"))).is_none());
    // The file holds hashes: presenting the hash itself is not the key.
    assert!(tenants.authenticate(Some(&bearer(&hex(hash_key(ACME_KEY))))).is_none());
}

#[test]
fn bad_files_are_refused_naming_the_tenant_and_setting() {
    let good = two_tenants();
    assert!(error_of("").contains("no [[tenant]]"));
    assert!(error_of("[[tenant]]\nid = 1").contains("not a valid tenants file"));
    assert!(error_of(&good.replace("call_memory_mb = 32", "call_memry_mb = 32")).contains("call_memry_mb"));
    assert!(error_of(&good.replace("id = \"globex\"", "id = \"acme\"")).contains("defined twice"));
    assert!(error_of(&good.replace("id = \"acme\"", "id = \"Acme Corp\"")).contains("tenant id"));
    let short = good.replacen(&hex(hash_key(ACME_KEY)), "abc", 1);
    assert_eq!(
        error_of(&short),
        "tenant `acme`: api_key_sha256: must be 64 hexadecimal digits (sha256sum of the key)"
    );
    let same_key = good.replace(&hex(hash_key(GLOBEX_KEY)).to_uppercase(), &hex(hash_key(ACME_KEY)));
    assert!(error_of(&same_key).contains("same key"));
    assert!(error_of(&good.replace("namespace = \"gx\"", "namespace = \"acme\"")).contains("namespace"));
    let plain = good.replace("https://taiga.acme.example", "http://taiga.acme.example");
    assert!(error_of(&plain).starts_with("tenant `acme`: taiga_api_url:"));
    let mut allow_http = defaults();
    allow_http.allow_http_taiga = true;
    assert!(parse(&plain, &allow_http, &[]).is_ok());
    assert!(
        error_of(&good.replace("https://tree.globex.example:8443", "ftp://x"))
            .starts_with("tenant `globex`: taiga_allowed_hosts:")
    );
    assert!(error_of(&good.replace("call_memory_mb = 32", "call_memory_mb = 4")).contains("call_memory_mb"));
    assert!(error_of(&good.replace("call_timeout_seconds = 5", "call_timeout_seconds = 0")).contains("call_timeout"));
    assert!(error_of(&good.replace("calls_per_minute = 60", "calls_per_minute = 0")).contains("calls_per_minute"));
    assert!(error_of(&good.replace("max_concurrent_calls = 2", "max_concurrent_calls = 0")).contains("max_concurrent"));
    assert!(
        error_of(&good.replace("namespace = \"gx\"", "namespace = \"gx\"\nmetadata_ttl_seconds = 86401"))
            .starts_with("tenant `globex`: metadata_ttl_seconds:")
    );
    let kept_none = parse(
        &good.replace("namespace = \"gx\"", "namespace = \"gx\"\nmetadata_ttl_seconds = 0"),
        &defaults(),
        &[],
    )
    .expect("a TTL of 0 is allowed");
    let ttls: Vec<u64> = kept_none
        .iter()
        .map(|tenant| tenant.settings.metadata_ttl_seconds)
        .collect();
    assert_eq!(ttls, [300, 0], "acme takes the default, globex its own");
    let missing_ca = good.replace(
        "namespace = \"gx\"",
        "namespace = \"gx\"\ntaiga_ca_file = \"/nonexistent/ca.pem\"",
    );
    assert!(
        error_of(&missing_ca)
            .starts_with("tenant `globex`: taiga_ca_file: /nonexistent/ca.pem: not a readable PEM file"),
        "{}",
        error_of(&missing_ca)
    );
    let under_a_path = good.replace("https://taiga.acme.example", "https://acme.example/taiga/");
    let tenants = parse(&under_a_path, &defaults(), &[]).unwrap();
    assert_eq!(tenants[0].settings.default_taiga_url, "https://acme.example/taiga");
}

#[test]
fn a_broken_reload_keeps_the_tenants_in_force() {
    let tenants = tenants_from(&two_tenants());
    std::fs::write(&tenants.path, "[[tenant]]\nid = \"acme\"\n").unwrap();
    assert!(tenants.reload().unwrap_err().contains("not a valid tenants file"));
    assert_eq!(tenants.all().len(), 2);
    assert!(tenants.authenticate(Some(&format!("Bearer {GLOBEX_KEY}"))).is_some());
}

#[test]
fn a_reload_applies_new_keys_and_keeps_unchanged_quotas_running() {
    let tenants = tenants_from(&two_tenants());
    let acme = tenants.authenticate(Some(&format!("Bearer {ACME_KEY}"))).unwrap();
    let running = acme.gate.as_ref().unwrap().admit(Instant::now()).unwrap();
    let rotated = two_tenants().replace(&hex(hash_key(GLOBEX_KEY)).to_uppercase(), &hex(hash_key("new")));
    std::fs::write(&tenants.path, rotated).unwrap();
    assert_eq!(tenants.reload().unwrap(), 2);
    assert!(tenants.authenticate(Some(&format!("Bearer {GLOBEX_KEY}"))).is_none());
    assert_eq!(tenants.authenticate(Some("Bearer new")).unwrap().id, "globex");
    let reloaded = tenants.authenticate(Some(&format!("Bearer {ACME_KEY}"))).unwrap();
    assert!(Arc::ptr_eq(
        acme.gate.as_ref().unwrap(),
        reloaded.gate.as_ref().unwrap()
    ));
    drop(running);
}

#[test]
fn the_gate_refuses_beyond_the_concurrency_limit_and_frees_on_drop() {
    let gate = Gate::new(Quota {
        calls_per_minute: 1000,
        max_concurrent_calls: 2,
    });
    let now = Instant::now();
    let first = gate.admit(now).unwrap();
    let _second = gate.admit(now).unwrap();
    assert_eq!(gate.admit(now).unwrap_err(), QuotaExceeded::Concurrency { limit: 2 });
    drop(first);
    assert!(gate.admit(now).is_ok());
}

#[test]
fn the_gate_refills_at_the_per_minute_rate() {
    let gate = Gate::new(Quota {
        calls_per_minute: 60,
        max_concurrent_calls: 100,
    });
    let start = Instant::now();
    for _ in 0..60 {
        drop(gate.admit(start).unwrap());
    }
    let Err(QuotaExceeded::Rate { limit, retry_after }) = gate.admit(start) else {
        panic!("the 61st call in a minute must be refused");
    };
    assert_eq!(limit, 60);
    assert!(retry_after <= Duration::from_secs(1) && retry_after > Duration::from_millis(900));
    assert!(gate.admit(start + Duration::from_millis(500)).is_err());
    assert!(gate.admit(start + Duration::from_millis(1100)).is_ok());
    assert!(gate.admit(start + Duration::from_millis(1200)).is_err());
}

#[test]
fn the_example_file_checks_out() {
    let example = include_str!("../../tenants.example.toml");
    let tenants = parse(example, &defaults(), &[]).unwrap();
    let ids: Vec<&str> = tenants.iter().map(|tenant| tenant.id.as_str()).collect();
    assert_eq!(ids, ["acme", "globex"]);
    assert_eq!(tenants[1].gate.as_ref().unwrap().quota.max_concurrent_calls, 2);
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    /// A TOML value of any type, hostile where it can be.
    fn toml_value() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            Just("18446744073709551616".to_owned()),
            any::<bool>().prop_map(|b| b.to_string()),
            ".{0,24}".prop_map(|s| format!("{s:?}")),
            Just(format!("{:?}", hex(hash_key(ACME_KEY)))),
            Just("\"https://taiga.acme.example\"".to_owned()),
            Just("\"http://127.0.0.1:8000/taiga\"".to_owned()),
            Just("\"/nonexistent/ca.pem\"".to_owned()),
            Just("[\"https://a.example\", 1]".to_owned()),
            Just("{ a = 1 }".to_owned()),
            Just("1.5".to_owned()),
        ]
    }

    fn tenants_file() -> impl Strategy<Value = String> {
        let key = prop::sample::select(vec![
            "id",
            "api_key_sha256",
            "taiga_api_url",
            "taiga_allowed_hosts",
            "taiga_ca_file",
            "namespace",
            "call_memory_mb",
            "call_timeout_seconds",
            "calls_per_minute",
            "max_concurrent_calls",
            "metadata_ttl_seconds",
            "unknown_key",
        ]);
        let table = prop::collection::btree_map(key, toml_value(), 0..10);
        prop::collection::vec(table, 0..4).prop_map(|tables| {
            tables
                .into_iter()
                .map(|table| {
                    let lines: Vec<String> = table
                        .into_iter()
                        .map(|(key, value)| format!("{key} = {value}"))
                        .collect();
                    format!("[[tenant]]\n{}\n", lines.join("\n"))
                })
                .collect()
        })
    }

    /// A refusal names a tenant and its setting (`tenant `x`: setting: ...`), a tenant id
    /// (`tenant id `x`: ...`), or what is wrong with the file as a whole.
    fn names_its_cause(message: &str) -> bool {
        let per_tenant = message.starts_with("tenant `") && message.matches(": ").count() >= 2;
        per_tenant
            || message.starts_with("tenant id `")
            || message.starts_with("not a valid tenants file: ")
            || message == "no [[tenant]] is defined"
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

        /// Any tenants file is either loaded or refused with a message that names the tenant (by
        /// id, with the setting at fault) or the file's problem; nothing panics.
        #[test]
        fn any_tenants_file_is_loaded_or_refused_by_name(text in tenants_file()) {
            match parse(&text, &defaults(), &[]) {
                Ok(tenants) => prop_assert!(!tenants.is_empty()),
                Err(message) => prop_assert!(names_its_cause(&message), "{}", message),
            }
        }

        /// Arbitrary text, not TOML at all, is refused the same way (or, rarely, is a file).
        #[test]
        fn arbitrary_text_is_refused_cleanly(text in ".{0,200}") {
            if let Err(message) = parse(&text, &defaults(), &[]) {
                prop_assert!(names_its_cause(&message), "{}", message);
            }
        }
    }
}

#[test]
fn a_tenant_may_act_as_its_own_taiga_user_and_never_shows_its_secret() {
    let text = format!(
        "{}taiga_token = \"eyJ-tenant-secret\"\nlogin_type = \"ldap\"\n",
        two_tenants()
    );
    let tenants = parse(&text, &defaults(), &[]).unwrap();
    let (acme, globex) = (&tenants[0], &tenants[1]);
    assert!(acme.settings.identity.is_none());
    assert_eq!(acme.settings.login_type, "normal");
    assert!(matches!(globex.settings.identity, Some(Identity::Token(_))));
    assert_eq!(globex.settings.login_type, "ldap");
    let shown = format!("{tenants:?}");
    assert!(shown.contains("identity: \"token\""), "{shown}");
    assert!(!shown.contains("secret"), "{shown}");
    let half = format!("{}taiga_username = \"bot\"\n", two_tenants());
    assert_eq!(
        error_of(&half),
        "tenant `globex`: taiga_username: needs taiga_password or taiga_password_file"
    );
}

#[test]
fn a_tenant_chooses_its_tools_from_the_same_names() {
    let text = format!("{}toolsets = [\"projects\"]\nread_only = true\n", two_tenants());
    let tenants = parse(&text, &defaults(), &[]).unwrap();
    let offered = |tenant: &Tenant| tenant.tools.iter().cloned().collect::<Vec<_>>();
    assert_eq!(
        offered(&tenants[0]),
        ["create_project", "list_projects", "login"],
        "the default set: session and projects"
    );
    assert_eq!(offered(&tenants[1]), ["list_projects", "login"]);
    let unknown = format!("{}toolsets = [\"planning\"]\n", two_tenants());
    assert!(error_of(&unknown).starts_with("tenant `globex`: toolsets: no toolset is named `planning`"));
}

#[test]
fn a_tenant_chooses_its_primitives_and_keeps_the_deployment_s_otherwise() {
    let text = format!("{}primitives = [\"prompts\"]\n", two_tenants());
    let tenants = parse(&text, &defaults(), &[]).unwrap();
    assert_eq!(
        tenants[0].primitives,
        Primitives::default(),
        "acme names none: the deployment's"
    );
    let globex = tenants[1].primitives;
    assert!(globex.prompts && !globex.resources && !globex.skills);
    let bad = format!("{}primitives = [\"skills\"]\n", two_tenants());
    assert!(
        error_of(&bad).starts_with("tenant `globex`: primitives: `skills` needs `resources`"),
        "{}",
        error_of(&bad)
    );
}

#[test]
fn no_configuration_type_shows_a_secret() {
    let mut with_identity = defaults();
    with_identity.settings.identity = Some(Identity::Password(crate::sandbox::Credentials {
        username: "bot".to_owned(),
        password: "hunter2-secret".to_owned(),
    }));
    let file = format!(
        "{}taiga_username = \"bot\"\ntaiga_password = \"pw-secret\"\n\n[[tenant]]\nid = \"initech\"\n\
         api_key_sha256 = \"{}\"\ntaiga_api_url = \"https://taiga.initech.example\"\n\
         taiga_token = \"eyJ-token-secret\"\ntaiga_refresh_token = \"eyJ-refresh-secret\"\n",
        two_tenants(),
        hex(hash_key("initech-key-0123456789abcdef0123456789abcdef")),
    );
    let tenants = tenants_from(&file);
    let loaded = tenants.all();
    let shown = format!("{with_identity:?} {tenants:?} {loaded:?}");
    assert!(
        shown.contains("password of bot") && shown.contains("\"token\""),
        "{shown}"
    );
    assert!(!shown.contains("secret"), "{shown}");
}
