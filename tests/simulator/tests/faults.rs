//! Each injected fault is observable on the wire, and rules run out or stay as asked.

use std::time::{Duration, Instant};

use taiga_sim::{Fault, FaultRule, Seed, Simulator};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `GET path` and reads for at most `limit`; returns the raw bytes and whether the peer closed.
async fn get(sim: &Simulator, path: &str, limit: Duration) -> (Vec<u8>, bool) {
    let address = sim.url().trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&address).await.expect("connects");
    let request = format!("GET {path} HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("writes");
    let mut raw = Vec::new();
    let mut buffer = [0u8; 65536];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (raw, true),
            Ok(Ok(n)) => raw.extend_from_slice(&buffer[..n]),
            Err(_) => return (raw, false),
        }
    }
}

fn status(raw: &[u8]) -> u16 {
    String::from_utf8_lossy(raw)
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn body(raw: &[u8]) -> &[u8] {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(raw.len(), |i| i + 4);
    &raw[split..]
}

async fn with(fault: Fault) -> Simulator {
    let sim = Simulator::start(Seed::Demo).await.expect("starts");
    sim.inject(FaultRule {
        path_prefix: Some("/api/v1/projects".into()),
        fault,
        times: None,
    });
    sim
}

const SECOND: Duration = Duration::from_secs(1);

#[tokio::test]
async fn latency_delays_then_answers() {
    let sim = with(Fault::Latency { ms: 300 }).await;
    let started = Instant::now();
    let (raw, closed) = get(&sim, "/api/v1/projects", 5 * SECOND).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(closed && status(&raw) == 200);
}

#[tokio::test]
async fn statuses_and_throttling() {
    for code in [500, 502, 503] {
        let sim = with(Fault::Status { status: code }).await;
        let (raw, _) = get(&sim, "/api/v1/projects", 5 * SECOND).await;
        assert_eq!(status(&raw), code);
    }
    let sim = with(Fault::Throttle { wait_seconds: 42 }).await;
    let (raw, _) = get(&sim, "/api/v1/projects", 5 * SECOND).await;
    let text = String::from_utf8_lossy(&raw).to_lowercase();
    assert_eq!(status(&raw), 429);
    assert!(text.contains("x-throttle-wait-seconds: 42"));
    assert!(text.contains("request was throttled.expected available in 41 seconds."));
}

#[tokio::test]
async fn broken_bodies() {
    let sim = with(Fault::MalformedJson).await;
    let (raw, _) = get(&sim, "/api/v1/projects", 5 * SECOND).await;
    assert!(serde_json::from_slice::<serde_json::Value>(body(&raw)).is_err());

    let sim = with(Fault::CloseMidBody).await;
    let (raw, closed) = get(&sim, "/api/v1/projects", 5 * SECOND).await;
    assert!(closed, "the connection is closed");
    assert!(body(&raw).len() < 4096, "fewer bytes than content-length promised");
    assert!(
        String::from_utf8_lossy(&raw)
            .to_lowercase()
            .contains("content-length: 4096")
    );

    let sim = with(Fault::EndlessBody).await;
    let (raw, closed) = get(&sim, "/api/v1/projects", SECOND).await;
    assert!(!closed && body(&raw).len() > 10, "still streaming after a second");

    let sim = with(Fault::Oversized { bytes: 5 * 1024 * 1024 }).await;
    let (raw, closed) = get(&sim, "/api/v1/projects", 10 * SECOND).await;
    assert!(closed && status(&raw) == 200);
    assert!(body(&raw).len() >= 5 * 1024 * 1024);
}

#[tokio::test]
async fn rules_apply_by_prefix_and_run_out() {
    let sim = Simulator::start(Seed::Demo).await.expect("starts");
    sim.inject(FaultRule {
        path_prefix: Some("/api/v1/projects".into()),
        fault: Fault::Status { status: 503 },
        times: Some(1),
    });
    assert_eq!(
        status(&get(&sim, "/api/v1/users/me", 5 * SECOND).await.0),
        401,
        "other routes unaffected"
    );
    assert_eq!(status(&get(&sim, "/api/v1/projects", 5 * SECOND).await.0), 503);
    assert_eq!(
        status(&get(&sim, "/api/v1/projects", 5 * SECOND).await.0),
        200,
        "used up"
    );
}
