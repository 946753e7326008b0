//! One contract, two backends: the in-memory store and a real `redis-server` (Debian's package,
//! which `tests/run` installs) answer every operation alike, TTLs of 0 and of centuries included.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use taiga_mcp::store::{MemoryStore, RedisStore, SessionStore, StoreError};

struct RedisServer(Child, u16);

impl RedisServer {
    fn start() -> Self {
        Self::start_with(&[])
    }

    /// A redis-server with `extra` arguments beyond the loopback port and no persistence.
    fn start_with(extra: &[&str]) -> Self {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(extra)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed (tests/run installs Debian's redis-server)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self(child, port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn contract(store: &dyn SessionStore, name: &str) {
    let minute = Duration::from_secs(60);
    // A TTL of 0 is one second in every backend: the value is there, then gone.
    store.set("ns", "zero", "v", Duration::ZERO).await.unwrap();
    assert_eq!(store.get("ns", "zero").await.unwrap().as_deref(), Some("v"), "{name}");
    assert_eq!(
        store.increment("ns", "zero-count", 1, Duration::ZERO).await.unwrap(),
        1,
        "{name}"
    );
    assert!(
        store
            .compare_and_swap("ns", "zero-cas", None, Some("x"), Duration::ZERO)
            .await
            .unwrap(),
        "{name}"
    );
    // A TTL no clock can add is kept as the longest one, without a panic or a refusal.
    store.set("ns", "forever", "v", Duration::MAX).await.unwrap();
    assert_eq!(
        store.increment("ns", "forever-count", 5, Duration::MAX).await.unwrap(),
        5,
        "{name}"
    );
    assert!(
        store
            .compare_and_swap("ns", "forever-cas", None, Some("x"), Duration::MAX)
            .await
            .unwrap(),
        "{name}"
    );
    // Counters, swaps and refusals.
    assert_eq!(store.increment("ns", "count", 2, minute).await.unwrap(), 2, "{name}");
    assert_eq!(store.increment("ns", "count", -3, minute).await.unwrap(), -1, "{name}");
    store.set("ns", "text", "abc", minute).await.unwrap();
    assert!(
        matches!(
            store.increment("ns", "text", 1, minute).await,
            Err(StoreError::Rejected(_))
        ),
        "{name}"
    );
    assert!(
        !store
            .compare_and_swap("ns", "text", Some("abd"), None, minute)
            .await
            .unwrap(),
        "{name}"
    );
    assert!(
        store
            .compare_and_swap("ns", "text", Some("abc"), None, minute)
            .await
            .unwrap(),
        "{name}"
    );
    assert_eq!(store.get("ns", "text").await.unwrap(), None, "{name}");
    assert_eq!(
        store.get("other", "forever").await.unwrap(),
        None,
        "{name}: namespaces apart"
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    for key in ["zero", "zero-count", "zero-cas"] {
        assert_eq!(
            store.get("ns", key).await.unwrap(),
            None,
            "{name}: {key} expired after a second"
        );
    }
    assert_eq!(
        store.get("ns", "forever").await.unwrap().as_deref(),
        Some("v"),
        "{name}"
    );
}

#[tokio::test]
async fn memory_and_redis_keep_one_contract() {
    contract(&MemoryStore::new(), "memory").await;
    let server = RedisServer::start();
    let redis = RedisStore::connect(&format!("redis://127.0.0.1:{}/0", server.1))
        .await
        .unwrap();
    contract(&redis, "redis").await;
}

/// Every operation of the store against `store`, each expected to be an outage.
async fn every_operation_is_an_outage(store: &dyn SessionStore, name: &str) {
    let minute = Duration::from_secs(60);
    let outcomes = [
        ("set", store.set("ns", "k", "v", minute).await.err()),
        ("increment", store.increment("ns", "n", 1, minute).await.err()),
        (
            "compare_and_swap",
            store.compare_and_swap("ns", "k", None, Some("v"), minute).await.err(),
        ),
    ];
    for (operation, outcome) in outcomes {
        assert!(
            matches!(outcome, Some(StoreError::Unavailable(_))),
            "{name}: {operation} gave {outcome:?}, not an outage"
        );
    }
}

#[tokio::test]
async fn a_replica_that_cannot_write_is_an_outage_not_a_bad_value() {
    // READONLY: a replica in sync with its primary refuses writes.
    let primary = RedisServer::start();
    let replica = RedisServer::start_with(&["--replicaof", "127.0.0.1", &primary.1.to_string()]);
    let store = RedisStore::connect(&format!("redis://127.0.0.1:{}/0", replica.1))
        .await
        .unwrap();
    every_operation_is_an_outage(&store, "READONLY").await;

    // MASTERDOWN: a replica whose primary is gone and that serves no stale data refuses reads too.
    let gone = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let orphan = RedisServer::start_with(&[
        "--replicaof",
        "127.0.0.1",
        &gone.to_string(),
        "--replica-serve-stale-data",
        "no",
    ]);
    let store = RedisStore::connect(&format!("redis://127.0.0.1:{}/0", orphan.1))
        .await
        .unwrap();
    every_operation_is_an_outage(&store, "MASTERDOWN").await;
    assert!(
        matches!(store.get("ns", "k").await, Err(StoreError::Unavailable(_))),
        "MASTERDOWN: a read is an outage too"
    );
}

/// The length of the first whole RESP command (an array of bulk strings) in `buffer`, if any.
fn command_length(buffer: &[u8]) -> Option<usize> {
    fn line(buffer: &[u8], at: usize) -> Option<(usize, usize)> {
        let end = at + buffer.get(at..)?.windows(2).position(|pair| pair == b"\r\n")?;
        let number = std::str::from_utf8(buffer.get(at + 1..end)?).ok()?.parse().ok()?;
        Some((number, end + 2))
    }
    let (parts, mut at) = line(buffer, 0)?;
    for _ in 0..parts {
        let (length, start) = line(buffer, at)?;
        at = start + length + 2;
    }
    (at <= buffer.len()).then_some(at)
}

/// A server that answers every command as a Redis still loading its dataset does.
async fn loading_redis() -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let mut chunk = [0u8; 4096];
                while let Ok(read @ 1..) = socket.read(&mut chunk).await {
                    buffer.extend_from_slice(&chunk[..read]);
                    while let Some(length) = command_length(&buffer) {
                        buffer.drain(..length);
                        let refusal = b"-LOADING Redis is loading the dataset in memory\r\n";
                        if socket.write_all(refusal).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    port
}

#[tokio::test]
async fn a_redis_still_loading_is_an_outage() {
    let port = loading_redis().await;
    let store = RedisStore::connect(&format!("redis://127.0.0.1:{port}/0"))
        .await
        .unwrap();
    every_operation_is_an_outage(&store, "LOADING").await;
}
