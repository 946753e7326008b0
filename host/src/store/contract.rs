//! What every session store provides ([`SessionStore`]), and the limits any of them enforces
//! before a backend sees a key or a value.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// Longest key accepted, in bytes.
pub const MAX_KEY_BYTES: usize = 512;
/// Largest value accepted, in bytes.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

/// Why a store operation failed: the tool logic's own type, which the component's `store-error`
/// carries across the sandbox.
pub use taiga_tools::StoreError;

/// What a store holds across namespaces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreUsage {
    /// Live sessions.
    pub sessions: u64,
    /// Entries, live or expired but not yet purged: sessions, session indexes, login counters.
    pub entries: u64,
    /// Bytes of their namespaces, keys and values.
    pub bytes: u64,
}

/// A boxed store future.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Namespaced key-value storage with expiry.
pub trait SessionStore: Send + Sync {
    /// The live value of `key`.
    fn get<'a>(&'a self, namespace: &'a str, key: &'a str) -> StoreFuture<'a, Option<String>>;
    /// Sets `key` for `ttl`.
    fn set<'a>(&'a self, namespace: &'a str, key: &'a str, value: &'a str, ttl: Duration) -> StoreFuture<'a, ()>;
    /// Removes `key`; whether it was live.
    fn delete<'a>(&'a self, namespace: &'a str, key: &'a str) -> StoreFuture<'a, bool>;
    /// Adds `delta` to an integer (absent is 0); a new key expires after `ttl`.
    fn increment<'a>(&'a self, namespace: &'a str, key: &'a str, delta: i64, ttl: Duration) -> StoreFuture<'a, i64>;
    /// Replaces `expected` (none: absent) by `new` (none: remove) atomically; whether it did.
    fn compare_and_swap<'a>(
        &'a self,
        namespace: &'a str,
        key: &'a str,
        expected: Option<&'a str>,
        new: Option<&'a str>,
        ttl: Duration,
    ) -> StoreFuture<'a, bool>;
    /// Drops expired entries; how many.
    fn purge_expired(&self) -> StoreFuture<'_, usize>;

    /// What the store holds, when the backend can count it cheaply.
    fn usage(&self) -> Option<StoreUsage> {
        None
    }

    /// Checks that the backend answers (for readiness probes).
    fn ping(&self) -> StoreFuture<'_, ()> {
        Box::pin(async { self.get("", "readiness-probe").await.map(drop) })
    }
}

/// The longest time-to-live a store keeps: a year. The component chooses TTLs; a larger one is
/// taken as this, so that no backend overflows a clock or refuses an expiry.
pub const MAX_TTL: Duration = Duration::from_secs(366 * 24 * 3600);

/// The time-to-live every backend applies: at least one second (Redis expires in whole seconds,
/// and a TTL of 0 means "now" to no one), at most [`MAX_TTL`].
pub fn bounded_ttl(ttl: Duration) -> Duration {
    ttl.clamp(Duration::from_secs(1), MAX_TTL)
}

/// Checks key and value sizes before any backend sees them.
pub fn check_sizes(key: &str, value: Option<&str>) -> Result<(), StoreError> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(StoreError::Rejected(format!(
            "keys must have 1 to {MAX_KEY_BYTES} bytes"
        )));
    }
    if value.is_some_and(|value| value.len() > MAX_VALUE_BYTES) {
        return Err(StoreError::Rejected(format!(
            "values must have at most {MAX_VALUE_BYTES} bytes"
        )));
    }
    Ok(())
}
