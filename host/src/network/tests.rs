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
    assert_eq!(
        Origin::parse("https://Example.com/taiga/api/v1/").unwrap().to_string(),
        "https://example.com/taiga"
    );
    assert_eq!(
        Origin::parse("http://127.0.0.1:8100/pm/taiga/").unwrap().to_string(),
        "http://127.0.0.1:8100/pm/taiga"
    );
    for bad in [
        "ftp://x",
        "https://u:p@x",
        "https://x:0",
        "https://x/../other",
        "https://x/a/./b",
        "https://x/t%61iga",
        "https://x//taiga",
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
fn a_base_path_is_matched_segment_by_segment() {
    let list = allow(&["https://example.com/taiga", "http://127.0.0.1:8100"]);
    assert!(list.matching(&uri("https://example.com/taiga/api/v1/auth")).is_some());
    assert!(list.matching(&uri("https://example.com/taiga")).is_some());
    assert!(
        list.matching(&uri("https://example.com/api/v1/auth")).is_none(),
        "outside the base path"
    );
    assert!(
        list.matching(&uri("https://example.com/taiga2/api/v1")).is_none(),
        "a longer segment"
    );
    assert!(list.matching(&uri("https://example.com/other/taiga/api")).is_none());
    for dotted in [
        "https://example.com/taiga/../admin",
        "https://example.com/taiga/%2E%2E/admin",
        "https://example.com/taiga/%2e./admin",
        "https://example.com/taiga/./api",
        "http://127.0.0.1:8100/api/v1/../../x",
    ] {
        assert!(list.matching(&uri(dotted)).is_none(), "{dotted}");
    }
    assert!(
        list.matching(&uri("http://127.0.0.1:8100/anything/api/v1")).is_some(),
        "root allows any path"
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
        "192.0.0.1",
        "192.0.0.170",
        "2002:a00:1::1",
        "2002:808:808::1",
        "::10.0.0.1",
        "::8.8.8.8",
        "64:ff9b:1::a00:1",
        "64:ff9b:1::808:808",
        "fec0::1",
        "feff::1",
    ] {
        assert!(!is_public(private.parse().unwrap()), "{private}");
    }
    for public in [
        "1.1.1.1",
        "93.184.216.34",
        "2606:4700::1111",
        "172.32.0.1",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
        "192.0.1.1",
        "2003::1",
    ] {
        assert!(is_public(public.parse().unwrap()), "{public}");
    }
}

fn resolver(resolved: &'static [&'static str]) -> DnsResolver {
    Arc::new(move |_, _| Box::pin(async move { Ok(resolved.iter().map(|ip| ip.parse().unwrap()).collect()) }))
}

fn policy(origins: &[&str], resolved: &'static [&'static str]) -> PolicyHooks {
    let timeout = Duration::from_secs(5);
    PolicyHooks::new(
        Arc::new(allow(origins)),
        TaigaClient::new(resolver(resolved), &Trust::standard(), timeout),
        timeout,
    )
}

#[tokio::test]
async fn names_resolving_to_private_addresses_are_refused() {
    let timeout = Duration::from_secs(5);
    let mixed = Connector::new(resolver(&["93.184.216.34", "10.0.0.5"]), &Trust::standard(), timeout);
    assert_eq!(
        mixed.addresses("taiga.example", 443).await,
        Err(ConnectFailure::Prohibited)
    );
    let public = Connector::new(resolver(&["93.184.216.34"]), &Trust::standard(), timeout);
    assert_eq!(
        public.addresses("taiga.example", 443).await,
        Ok(vec!["93.184.216.34:443".parse().unwrap()])
    );
    let nothing = Connector::new(resolver(&[]), &Trust::standard(), timeout);
    assert_eq!(nothing.addresses("taiga.example", 443).await, Err(ConnectFailure::Dns));
}

#[tokio::test]
async fn addresses_allowed_by_address_skip_resolution() {
    let connector = Connector::new(resolver(&["10.0.0.1"]), &Trust::standard(), Duration::from_secs(5));
    assert_eq!(
        connector.addresses("127.0.0.1", 8100).await,
        Ok(vec!["127.0.0.1:8100".parse().unwrap()])
    );
    assert_eq!(
        connector.addresses("[::1]", 8100).await,
        Ok(vec!["[::1]:8100".parse().unwrap()])
    );
    let hooks = policy(&["http://127.0.0.1:8100"], &["10.0.0.1"]);
    assert!(hooks.check(&uri("http://127.0.0.1:8100/api/v1/auth")).is_ok());
    assert!(matches!(
        hooks.check(&uri("http://127.0.0.2:8100/x")),
        Err(HttpError::HttpRequestDenied)
    ));
}

/// A loopback HTTP/1.1 server that answers every request with `{}` and keeps the connection
/// open; it returns its address and a count of the connections it accepted.
async fn keep_alive_server() -> (std::net::SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 4096];
                let mut pending = Vec::new();
                loop {
                    let Ok(read) = socket.read(&mut buffer).await else {
                        return;
                    };
                    if read == 0 {
                        return;
                    }
                    pending.extend_from_slice(&buffer[..read]);
                    while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                        pending.drain(..end + 4);
                        let answer =
                            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
                        if socket.write_all(answer).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    (address, accepted)
}

fn get(url: &str) -> http::Request<WasiBody> {
    use http_body_util::{BodyExt, Empty};
    http::Request::get(url)
        .body(Empty::new().map_err(|never| match never {}).boxed_unsync())
        .unwrap()
}

#[tokio::test]
async fn calls_reuse_one_connection() {
    use http_body_util::BodyExt;
    let (address, accepted) = keep_alive_server().await;
    let client = TaigaClient::new(resolver(&[]), &Trust::standard(), Duration::from_secs(5));
    let url = format!("http://{address}/api/v1/projects/1");
    for _ in 0..3 {
        let response = client
            .send(get(&url), Duration::from_secs(5), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"{}");
    }
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_never_connected() {
    let (address, accepted) = keep_alive_server().await;
    let client = TaigaClient::new(resolver(&["127.0.0.1"]), &Trust::standard(), Duration::from_secs(5));
    let url = format!("http://taiga.example:{}/api/v1/projects/1", address.port());
    let refused = client
        .send(get(&url), Duration::from_secs(5), Duration::from_secs(5))
        .await;
    assert!(matches!(refused, Err(HttpError::DestinationIpProhibited)));
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_silent_server_times_out_on_the_first_byte() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let held = tokio::spawn(async move { listener.accept().await });
    let client = TaigaClient::new(resolver(&[]), &Trust::standard(), Duration::from_secs(5));
    let url = format!("http://{address}/api/v1/projects/1");
    let answer = client
        .send(get(&url), Duration::from_millis(200), Duration::from_secs(5))
        .await;
    assert!(matches!(answer, Err(HttpError::ConnectionReadTimeout)));
    held.abort();
}

#[test]
fn timeouts_are_capped() {
    let hooks = policy(&["https://taiga.example"], &[]);
    let capped = hooks.timeouts(Some(RequestOptions {
        connect_timeout: Some(Duration::from_secs(600)),
        first_byte_timeout: None,
        between_bytes_timeout: Some(Duration::from_secs(1)),
    }));
    assert_eq!(capped, (Duration::from_secs(5), Duration::from_secs(1)));
    let long = hooks.timeouts(Some(RequestOptions {
        connect_timeout: None,
        first_byte_timeout: Some(Duration::from_secs(600)),
        between_bytes_timeout: Some(Duration::from_secs(600)),
    }));
    assert_eq!(long, (Duration::from_secs(5), Duration::from_secs(5)));
}

/// A body streamed in `chunks` whose length is not known in advance, as a component's
/// `wasi:http` body is.
struct Streamed {
    chunks: std::collections::VecDeque<&'static [u8]>,
}

impl http_body::Body for Streamed {
    type Data = bytes::Bytes;
    type Error = HttpError;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, HttpError>>> {
        let chunk = self.get_mut().chunks.pop_front();
        std::task::Poll::Ready(chunk.map(|chunk| Ok(http_body::Frame::data(bytes::Bytes::from_static(chunk)))))
    }
}

fn streamed(method: &str, url: &str, chunks: &[&'static [u8]]) -> http::Request<WasiBody> {
    use http_body_util::BodyExt;
    let body = Streamed {
        chunks: chunks.iter().copied().collect(),
    };
    http::Request::builder()
        .method(method)
        .uri(url)
        .body(body.boxed_unsync())
        .unwrap()
}

/// A loopback server that reads one request as raw bytes (head, then the body by whichever
/// framing the head announces), answers `{}` and hands over the head and the body.
async fn capturing_server() -> (
    std::net::SocketAddr,
    tokio::sync::mpsc::UnboundedReceiver<(String, Vec<u8>)>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (captured, receiver) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut raw = Vec::new();
            let mut buffer = [0u8; 4096];
            let head_end = loop {
                if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                    break end + 4;
                }
                let read = socket.read(&mut buffer).await.unwrap();
                assert!(read > 0, "connection closed before the head ended");
                raw.extend_from_slice(&buffer[..read]);
            };
            let head = String::from_utf8_lossy(&raw[..head_end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .map_or(0, |value| value.trim().parse::<usize>().unwrap());
            let chunked = head.contains("transfer-encoding: chunked");
            while !(if chunked {
                raw.ends_with(b"0\r\n\r\n")
            } else {
                raw.len() >= head_end + length
            }) {
                let read = socket.read(&mut buffer).await.unwrap();
                if read == 0 {
                    break;
                }
                raw.extend_from_slice(&buffer[..read]);
            }
            let answer = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
            socket.write_all(answer).await.unwrap();
            captured.send((head, raw[head_end..].to_vec())).unwrap();
        }
    });
    (address, receiver)
}

/// What the outbound path puts on the wire: a streamed body goes out with its `Content-Length`
/// and never chunked (Taiga reads bodies by length only: recordings 178-180); a request without
/// a body carries neither header.
#[tokio::test]
async fn bodies_go_out_with_their_length_and_never_chunked() {
    let (address, mut captured) = capturing_server().await;
    let origin = format!("http://{address}");
    let mut hooks = policy(&[&origin], &[]);
    for (method, chunks, expected) in [
        (
            "POST",
            &[&b"{\"type\":"[..], b"\"normal\"}"][..],
            &b"{\"type\":\"normal\"}"[..],
        ),
        (
            "PATCH",
            &[&b"{\"version\":1,"[..], b"\"subject\":\"\xc3\xa9\"}"],
            b"{\"version\":1,\"subject\":\"\xc3\xa9\"}",
        ),
        ("DELETE", &[], b""),
        ("GET", &[], b""),
    ] {
        let request = streamed(method, &format!("{origin}/api/v1/auth"), chunks);
        let sent = Box::into_pin(hooks.send_request(request, None, Box::new(async { Ok(()) })));
        let (response, _) = sent.await.unwrap();
        assert_eq!(response.status(), 200, "{method}");
        let (head, body) = captured.recv().await.unwrap();
        assert!(
            head.starts_with(&format!("{} /api/v1/auth http/1.1\r\n", method.to_ascii_lowercase())),
            "{head}"
        );
        assert!(
            !head.contains("transfer-encoding"),
            "{method} went out chunked:\n{head}"
        );
        assert_eq!(body, expected, "{method}");
        if expected.is_empty() {
            assert!(!head.contains("content-length"), "{method} without a body:\n{head}");
        } else {
            assert!(
                head.contains(&format!("\r\ncontent-length: {}\r\n", expected.len())),
                "{method}:\n{head}"
            );
        }
    }
}

#[tokio::test]
async fn a_body_beyond_the_cap_is_refused_before_anything_is_sent() {
    let (address, mut captured) = capturing_server().await;
    let origin = format!("http://{address}");
    let mut hooks = policy(&[&origin], &[]);
    static LARGE: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| vec![b'x'; body::MAX_REQUEST_BODY_BYTES]);
    let request = streamed(
        "POST",
        &format!("{origin}/api/v1/userstories/attachments"),
        &[&LARGE[..], b"x"],
    );
    let sent = Box::into_pin(hooks.send_request(request, None, Box::new(async { Ok(()) })));
    assert!(
        matches!(sent.await, Err(HttpError::HttpRequestBodySize(Some(size))) if size == body::MAX_REQUEST_BODY_BYTES as u64 + 1)
    );
    assert!(captured.try_recv().is_err(), "nothing reached the server");
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    fn url_like() -> impl Strategy<Value = String> {
        let scheme = prop::sample::select(vec!["https://", "http://", "HTTPS://", "ftp://", "", "//"]);
        let host = prop_oneof![
            Just("taiga.example".to_owned()),
            Just("127.0.0.1".to_owned()),
            Just("[::1]".to_owned()),
            Just("user@host".to_owned()),
            "[a-z0-9.%@:\\[\\]-]{0,16}",
        ];
        let port = prop_oneof![
            Just(String::new()),
            Just(":8443".to_owned()),
            Just(":0".to_owned()),
            ":[0-9]{1,6}"
        ];
        let path = prop_oneof![
            Just(String::new()),
            Just("/taiga".to_owned()),
            Just("/api/v1/".to_owned()),
            Just("/a/../b".to_owned()),
            Just("/%2e%2e/x".to_owned()),
            "(/[a-zA-Z0-9._~%?#;-]{0,6}){0,3}/?",
        ];
        (scheme, host, port, path).prop_map(|(s, h, p, a)| format!("{s}{h}{p}{a}"))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

        /// A URL is either refused with a message or parsed into an origin whose text parses back
        /// to the same origin, and that origin allows its own API.
        #[test]
        fn origins_round_trip_or_are_refused(text in prop_oneof![url_like(), ".{0,40}"]) {
            if let Ok(origin) = Origin::parse(&text) {
                let again = Origin::parse(&origin.to_string()).expect("an origin's text parses");
                prop_assert_eq!(&again, &origin);
                let guest = taiga_tools::taiga::TaigaUrl::parse(&origin.to_string()).expect("the component accepts it too");
                let api: http::Uri = guest.api("/projects").parse().expect("an absolute URI");
                prop_assert!(AllowList::new(vec![origin.clone()]).matching(&api).is_some(), "{} {}", origin, api);
            }
        }
    }
}
