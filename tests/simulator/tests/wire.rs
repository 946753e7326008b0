//! The simulator is as strict on the wire as Taiga's own server (gunicorn and Django): bodies by
//! `Content-Length` only, HTTP/1.1 only, and Taiga served under a path when asked.

use std::net::SocketAddr;

use taiga_sim::{Mount, Seed, Simulator};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Writes `raw` on a fresh connection and reads until the server closes it.
async fn exchange(sim: &Simulator, raw: &[u8]) -> String {
    let address = sim.control_url().trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&address).await.expect("connects");
    stream.write_all(raw).await.expect("writes");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).into_owned()
}

fn login(framing: &str, body: &str) -> Vec<u8> {
    format!("POST /api/v1/auth HTTP/1.1\r\nhost: taiga\r\nconnection: close\r\ncontent-type: application/json\r\n{framing}\r\n{body}").into_bytes()
}

#[tokio::test]
async fn a_chunked_body_arrives_empty_as_django_reads_it() {
    let sim = Simulator::start(Seed::Users).await.expect("starts");
    let json = r#"{"type":"normal","username":"admin","password":"123123"}"#;
    let with_length = exchange(&sim, &login(&format!("content-length: {}\r\n", json.len()), json)).await;
    assert!(with_length.starts_with("HTTP/1.1 200"), "{with_length}");

    let chunked = format!("{:x}\r\n{json}\r\n0\r\n\r\n", json.len());
    let answer = exchange(&sim, &login("transfer-encoding: chunked\r\n", &chunked)).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains(r#""_error_message":"invalid login type""#), "{answer}");
    let recorded = sim.requests();
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[1].body, "", "Taiga reads no body without a length");
}

#[tokio::test]
async fn http2_is_not_spoken() {
    let sim = Simulator::start(Seed::Users).await.expect("starts");
    // An HTTP/2 client with prior knowledge opens with this preface; gunicorn does not speak it.
    let answer = exchange(&sim, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await;
    assert!(!answer.contains("HTTP/2"), "{answer}");
    assert!(sim.requests().is_empty());
}

#[tokio::test]
async fn taiga_can_be_served_under_a_path() {
    let mount = Mount {
        base_path: "/taiga/".to_owned(),
        ..Mount::default()
    };
    let sim = Simulator::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), Seed::Demo, mount)
        .await
        .expect("starts");
    assert!(sim.url().ends_with("/taiga"), "{}", sim.url());
    let token = {
        let mut state = sim.state();
        let admin = state.user_by_login("admin").expect("admin").id;
        state.issue_tokens(admin).0
    };
    let get = |path: &str| {
        format!("GET {path} HTTP/1.1\r\nhost: taiga\r\nconnection: close\r\nauthorization: Bearer {token}\r\n\r\n")
            .into_bytes()
    };
    let listed = exchange(&sim, &get("/taiga/api/v1/projects?page_size=1")).await;
    assert!(listed.starts_with("HTTP/1.1 200"), "{listed}");
    let next = listed
        .lines()
        .find(|line| line.to_ascii_lowercase().starts_with("x-pagination-next:"))
        .expect("a next page");
    assert!(next.contains("http://taiga/taiga/api/v1/projects?"), "{next}");
    let outside = exchange(&sim, &get("/api/v1/projects")).await;
    assert!(outside.starts_with("HTTP/1.1 404"), "{outside}");
    let paths: Vec<String> = sim.requests().into_iter().map(|request| request.path).collect();
    assert_eq!(paths, ["/taiga/api/v1/projects"]);

    let bad = Mount {
        base_path: "/../x".to_owned(),
        ..Mount::default()
    };
    assert!(
        Simulator::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), Seed::Users, bad)
            .await
            .is_err()
    );
}
