//! One contract, two backends: the in-memory store and a real `redis-server` (Debian's package,
//! which `tests/run` installs) answer every operation alike, TTLs of 0 and of centuries included.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use taiga_mcp::store::{MemoryStore, RedisStore, SessionStore, StoreError};

struct RedisServer(Child, u16);

impl RedisServer {
    fn start() -> Self {
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
