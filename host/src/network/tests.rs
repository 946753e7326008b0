use super::*;

fn allow(origins: &[&str]) -> AllowList {
    AllowList::new(origins.iter().map(|o| Origin::parse(o).unwrap()).collect())
}

fn uri(text: &str) -> http::Uri {
    text.parse().unwrap()
}

#[test]
fn origins_parse_and_display_with_default_ports() {
    assert_eq!(
        Origin::parse("https://API.Taiga.io/").unwrap().to_string(),
        "https://api.taiga.io"
    );
    assert_eq!(
        Origin::parse("http://127.0.0.1:8100/api/v1").unwrap().to_string(),
        "http://127.0.0.1:8100"
    );
    assert_eq!(
        Origin::parse("https://taiga.example:443").unwrap().to_string(),
        "https://taiga.example"
    );
    assert_eq!(
        Origin::parse("https://[::1]:8443").unwrap().ip(),
        Some("::1".parse().unwrap())
    );
    for bad in [
        "ftp://x",
        "https://u:p@x",
        "https://x/other",
        "https://x?q",
        "https://x#f",
        "not a url",
        "file:///etc/passwd",
    ] {
        assert!(Origin::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn matching_checks_scheme_host_port_and_ignores_case() {
    let list = allow(&["https://taiga.example", "http://127.0.0.1:8100"]);
    assert!(list.matching(&uri("https://taiga.example/api/v1/auth")).is_some());
    assert!(list.matching(&uri("https://TAIGA.example:443/x")).is_some());
    assert!(list.matching(&uri("http://127.0.0.1:8100/api/v1")).is_some());
    assert!(list.matching(&uri("http://taiga.example/x")).is_none(), "scheme");
    assert!(list.matching(&uri("https://taiga.example:8443/x")).is_none(), "port");
    assert!(list.matching(&uri("http://127.0.0.1:8101/x")).is_none(), "port");
    assert!(list.matching(&uri("https://taiga.example.evil/x")).is_none(), "suffix");
    assert!(list.matching(&uri("https://evil/x")).is_none(), "host");
    assert!(
        list.matching(&uri("https://taiga.example@evil/x")).is_none(),
        "user info"
    );
    assert!(
        list.matching(&uri("http://localhost:8100/x")).is_none(),
        "name for an allowed address"
    );
}

#[test]
fn non_public_addresses() {
    for private in [
        "127.0.0.1",
        "127.1.2.3",
        "10.0.0.1",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "100.64.0.1",
        "255.255.255.255",
        "224.0.0.1",
        "::1",
        "::",
        "fc00::1",
        "fd12::1",
        "fe80::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a00:1",
        "ff02::1",
    ] {
        assert!(!is_public(private.parse().unwrap()), "{private}");
    }
    for public in [
        "1.1.1.1",
        "93.184.216.34",
        "2606:4700::1111",
        "172.32.0.1",
        "::ffff:8.8.8.8",
    ] {
        assert!(is_public(public.parse().unwrap()), "{public}");
    }
}

fn policy(origins: &[&str], resolved: &'static [&'static str]) -> PolicyHooks {
    PolicyHooks::new(Arc::new(allow(origins)), Duration::from_secs(5)).with_resolver(Arc::new(move |_, _| {
        Box::pin(async move { Ok(resolved.iter().map(|ip| ip.parse().unwrap()).collect()) })
    }))
}

#[tokio::test]
async fn names_resolving_to_private_addresses_are_refused() {
    let hooks = policy(&["https://taiga.example"], &["93.184.216.34", "10.0.0.5"]);
    assert!(matches!(
        hooks.check(&uri("https://taiga.example/x")).await,
        Err(HttpError::DestinationIpProhibited)
    ));
    let hooks = policy(&["https://taiga.example"], &["93.184.216.34"]);
    assert!(hooks.check(&uri("https://taiga.example/x")).await.is_ok());
    let hooks = policy(&["https://taiga.example"], &[]);
    assert!(hooks.check(&uri("https://taiga.example/x")).await.is_err());
}

#[tokio::test]
async fn addresses_allowed_by_address_skip_resolution() {
    let hooks = policy(&["http://127.0.0.1:8100"], &["10.0.0.1"]);
    assert!(hooks.check(&uri("http://127.0.0.1:8100/api/v1/auth")).await.is_ok());
    assert!(matches!(
        hooks.check(&uri("http://127.0.0.2:8100/x")).await,
        Err(HttpError::HttpRequestDenied)
    ));
}

#[test]
fn timeouts_are_capped() {
    let hooks = policy(&["https://taiga.example"], &[]);
    let capped = hooks.capped(Some(RequestOptions {
        connect_timeout: Some(Duration::from_secs(600)),
        first_byte_timeout: None,
        between_bytes_timeout: Some(Duration::from_secs(1)),
    }));
    assert_eq!(capped.connect_timeout, Some(Duration::from_secs(5)));
    assert_eq!(capped.first_byte_timeout, Some(Duration::from_secs(5)));
    assert_eq!(capped.between_bytes_timeout, Some(Duration::from_secs(1)));
}
