use std::path::Path;

use super::*;
use crate::network::Trust;

fn parse(default_server: &str, more: &[&str], allow_http: bool) -> Result<TaigaAccess, PolicyError> {
    let settings = AccessSettings {
        default_server,
        more_servers: more,
        allow_http,
        ca_file: None,
    };
    TaigaAccess::parse(&ENVIRONMENT, settings, None)
}

#[test]
fn servers_are_allowed_with_their_paths() {
    let access = parse("https://example.com/taiga", &["https://tree.example:8443"], false).unwrap();
    assert_eq!(access.default_server.to_string(), "https://example.com/taiga");
    let allowed = |url: &str| access.allow_list.matching(&url.parse().unwrap()).is_some();
    assert!(allowed("https://example.com/taiga/api/v1/auth"));
    assert!(allowed("https://tree.example:8443/api/v1/auth"));
    assert!(!allowed("https://example.com/api/v1/auth"));
}

#[test]
fn each_source_names_its_own_setting() {
    let plain = AccessSettings {
        default_server: "https://taiga.example",
        more_servers: &["http://b.example"],
        allow_http: false,
        ca_file: None,
    };
    let error = TaigaAccess::parse(&ENVIRONMENT, plain, None).unwrap_err();
    assert_eq!(error.setting, "TAIGA_ALLOWED_HOSTS");
    assert!(error.message.contains("ALLOW_HTTP_TAIGA"), "{error}");
    let error = TaigaAccess::parse(&TENANT, plain, None).unwrap_err();
    assert_eq!(error.setting, "taiga_allowed_hosts");
    assert_eq!(parse("ftp://x", &[], true).unwrap_err().setting, "TAIGA_API_URL");
    assert!(parse("http://127.0.0.1:8000", &[], true).is_ok());
}

#[test]
fn a_ca_file_is_read_or_refused_and_trust_is_inherited_without_one() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/policy/fixtures/not-a-certificate.pem");
    let with_file = AccessSettings {
        default_server: "https://taiga.example",
        more_servers: &[],
        allow_http: false,
        ca_file: Some(&fixture),
    };
    let error = TaigaAccess::parse(&TENANT, with_file, None).unwrap_err();
    assert_eq!(error.setting, "taiga_ca_file");
    assert!(error.message.ends_with("holds no PEM certificate"), "{error}");
    let inherited = Trust::standard();
    let without = AccessSettings {
        ca_file: None,
        ..with_file
    };
    assert!(TaigaAccess::parse(&TENANT, without, Some(&inherited)).is_ok());
}

#[test]
fn limits_are_checked_against_one_set_of_bounds() {
    assert_eq!(within("call_memory_mb", 64, &CALL_MEMORY_MB), Ok(64));
    let error = within("call_memory_mb", 4, &CALL_MEMORY_MB).unwrap_err();
    assert_eq!(error.to_string(), "call_memory_mb: must be 8 to 4096");
    assert!(within("max_concurrent_calls", 0, &CONCURRENT_CALLS).is_err());
    assert!(within("call_timeout_seconds", 3601, &CALL_TIMEOUT_SECONDS).is_err());
}

fn sign_in(settings: SignInSettings<'_>) -> Result<SignIn, PolicyError> {
    SignIn::parse(&ENVIRONMENT, settings)
}

#[test]
fn an_identity_is_a_username_with_one_password_or_a_token() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/policy/fixtures/password.txt");
    let from_file = sign_in(SignInSettings {
        username: Some("ana"),
        password_file: Some(&fixture),
        ..SignInSettings::default()
    })
    .unwrap();
    assert_eq!(from_file.login_type, "normal");
    let Some(Identity::Password { username, password }) = &from_file.identity else {
        panic!("{from_file:?}");
    };
    assert_eq!((username.as_str(), password.expose()), ("ana", "p4ss word "));
    let token = sign_in(SignInSettings {
        login_type: Some("ldap"),
        token: Some("eyJ-token"),
        refresh_token: Some("eyJ-refresh"),
        ..SignInSettings::default()
    })
    .unwrap();
    assert_eq!(token.login_type, "ldap");
    assert!(matches!(
        token.identity,
        Some(Identity::Token {
            refresh_token: Some(_),
            ..
        })
    ));
    assert_eq!(sign_in(SignInSettings::default()).unwrap().identity, None);
}

#[test]
fn a_half_identity_names_the_missing_setting() {
    let refused = |settings: SignInSettings<'_>| sign_in(settings).unwrap_err().setting;
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/policy/fixtures/password.txt");
    assert_eq!(
        refused(SignInSettings {
            username: Some("ana"),
            ..Default::default()
        }),
        "TAIGA_USERNAME"
    );
    assert_eq!(
        refused(SignInSettings {
            password: Some("x"),
            ..Default::default()
        }),
        "TAIGA_USERNAME"
    );
    assert_eq!(
        refused(SignInSettings {
            username: Some("ana"),
            password: Some("x"),
            password_file: Some(&fixture),
            ..Default::default()
        }),
        "TAIGA_PASSWORD_FILE"
    );
    assert_eq!(
        refused(SignInSettings {
            username: Some("ana"),
            password: Some("x"),
            token: Some("t"),
            ..Default::default()
        }),
        "TAIGA_TOKEN"
    );
    assert_eq!(
        refused(SignInSettings {
            refresh_token: Some("r"),
            ..Default::default()
        }),
        "TAIGA_REFRESH_TOKEN"
    );
    assert_eq!(
        refused(SignInSettings {
            login_type: Some("LDAP login"),
            ..Default::default()
        }),
        "TAIGA_LOGIN_TYPE"
    );
    let missing = Path::new("/nonexistent/password");
    assert_eq!(
        refused(SignInSettings {
            username: Some("ana"),
            password_file: Some(missing),
            ..Default::default()
        }),
        "TAIGA_PASSWORD_FILE"
    );
    let tenant = SignIn::parse(
        &TENANT,
        SignInSettings {
            username: Some("ana"),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(tenant.setting, "taiga_username");
}

#[test]
fn secrets_never_show_in_debug_output() {
    let parsed = sign_in(SignInSettings {
        username: Some("ana"),
        password: Some("hunter2-secret"),
        ..SignInSettings::default()
    })
    .unwrap();
    let token = sign_in(SignInSettings {
        token: Some("eyJ-secret"),
        refresh_token: Some("eyJ-refresh-secret"),
        ..SignInSettings::default()
    })
    .unwrap();
    let shown = format!("{parsed:?} {token:?}");
    assert!(shown.contains("ana"), "{shown}");
    assert!(!shown.contains("secret"), "{shown}");
}

fn entries() -> Vec<CatalogueEntry> {
    [
        ("login", "session", false),
        ("list_projects", "projects", true),
        ("delete_project", "projects", false),
        ("list_wiki_pages", "wiki", true),
    ]
    .into_iter()
    .map(|(name, toolset, read_only)| CatalogueEntry {
        name: name.to_owned(),
        toolset: toolset.to_owned(),
        read_only,
        in_default: toolset != "wiki",
    })
    .collect()
}

fn offered(toolsets: Option<&str>, tools: &str, exclude: &str, read_only: bool) -> Result<String, PolicyError> {
    let choice = ToolChoice::from_lists(toolsets, Some(tools), Some(exclude), read_only);
    let offered = choice.resolve(&ENVIRONMENT_TOOLS, &entries())?;
    Ok(offered.into_iter().collect::<Vec<_>>().join(","))
}

#[test]
fn toolsets_tools_and_read_only_choose_from_the_catalogue() {
    assert_eq!(
        offered(None, "", "", false).unwrap(),
        "delete_project,list_projects,login",
        "default"
    );
    assert_eq!(
        offered(Some("all"), "", "", false).unwrap(),
        "delete_project,list_projects,list_wiki_pages,login"
    );
    assert_eq!(
        offered(None, "list_wiki_pages", "", false).unwrap(),
        "list_wiki_pages,login",
        "single tools alone"
    );
    assert_eq!(
        offered(Some("wiki"), "login", "", false).unwrap(),
        "list_wiki_pages,login"
    );
    assert_eq!(
        offered(Some("all"), "", "delete_project, login", false).unwrap(),
        "list_projects,list_wiki_pages"
    );
    assert_eq!(
        offered(Some("all"), "", "", true).unwrap(),
        "list_projects,list_wiki_pages,login",
        "login stays"
    );
    let unknown = offered(Some("default,planning"), "", "", false).unwrap_err();
    assert_eq!(unknown.setting, "TAIGA_TOOLSETS");
    assert!(
        unknown.message.contains("`planning`") && unknown.message.contains("session, projects, wiki"),
        "{unknown}"
    );
    assert_eq!(
        offered(None, "drop_tables", "", false).unwrap_err().setting,
        "TAIGA_TOOLS"
    );
    assert_eq!(
        offered(None, "", "nope", false).unwrap_err().setting,
        "TAIGA_EXCLUDE_TOOLS"
    );
}

#[test]
fn a_password_file_others_may_read_is_named_for_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::temp_dir().join(format!("taiga-mcp-password-{}", std::process::id()));
    std::fs::write(&path, "s3cret\n").unwrap();
    let exposed = |mode: u32| {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        sign_in(SignInSettings {
            username: Some("ana"),
            password_file: Some(&path),
            ..SignInSettings::default()
        })
        .unwrap()
        .exposed_password_file
    };
    assert_eq!(exposed(0o644), Some(path.clone()));
    assert_eq!(exposed(0o640), Some(path.clone()));
    assert_eq!(exposed(0o600), None);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn primitives_are_chosen_by_name_and_skills_need_resources() {
    let parse = |text: &str| Primitives::parse("TAIGA_PRIMITIVES", text.split(','));
    assert_eq!(parse("resources,prompts,skills").unwrap(), Primitives::default());
    let none = parse("none").unwrap();
    assert!(!none.resources && !none.prompts && !none.skills);
    let caps = none.capabilities();
    assert!(
        caps.resources.is_none() && caps.prompts.is_none() && caps.completions.is_none() && caps.skills().is_none()
    );
    assert!(caps.tools.is_some());
    let prompts = parse(" prompts ").unwrap();
    assert!(prompts.serves("prompts/get", None) && prompts.serves("completion/complete", None));
    assert!(!prompts.serves("resources/read", Some("taiga://projects/p")));
    let resources = parse("resources").unwrap();
    assert!(resources.serves("resources/read", Some("taiga://projects/p")));
    assert!(!resources.serves("resources/read", Some("skill://taiga-standup/SKILL.md")));
    assert!(!resources.serves("skills/list", None));
    let skills = parse("skills").unwrap_err();
    assert_eq!(skills.setting, "TAIGA_PRIMITIVES");
    assert!(skills.message.contains("needs `resources`"), "{}", skills.message);
    assert!(parse("resources,tools").unwrap_err().message.contains("`tools`"));
}
