//! The session store behind the component's `session-store` import.
//!
//! [`SessionStore`] is what an embedder decides: where sessions and login counters live. Every
//! operation is scoped by a namespace the host chooses per call, so a component can never reach
//! another tenant's keys. [`MemoryStore`] is the embedded default.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

mod contract;
mod redis;

pub use self::contract::{
    MAX_KEY_BYTES, MAX_TTL, MAX_VALUE_BYTES, SessionStore, StoreError, StoreFuture, StoreUsage, bounded_ttl,
    check_sizes,
};
pub use self::redis::RedisStore;

/// A value and when it expires. Boxed strings: no spare capacity is kept per entry.
struct Entry {
    value: Box<str>,
    expires_at: Instant,
}

impl Entry {
    fn new(value: &str, expires_at: Instant) -> Self {
        Self {
            value: value.into(),
            expires_at,
        }
    }

    fn is_live(&self, now: Instant) -> bool {
        self.expires_at > now
    }
}

/// Entries by key, one map per namespace, so that no key can reach into another namespace.
type Namespaces = HashMap<Box<str>, HashMap<Box<str>, Entry>>;

/// The entries and their counts, kept as entries come and go so that a scrape of `/metrics` reads
/// three numbers instead of walking the store under its lock.
#[derive(Default)]
struct Contents {
    namespaces: Namespaces,
    usage: StoreUsage,
}

/// What one entry adds to the counts.
fn weight(namespace: &str, key: &str, entry: &Entry) -> StoreUsage {
    StoreUsage {
        sessions: u64::from(key.starts_with("session:")),
        entries: 1,
        bytes: (namespace.len() + key.len() + entry.value.len()) as u64,
    }
}

impl Contents {
    fn count(&mut self, weight: StoreUsage, added: bool) {
        let usage = &mut self.usage;
        if added {
            usage.sessions += weight.sessions;
            usage.entries += weight.entries;
            usage.bytes += weight.bytes;
        } else {
            usage.sessions -= weight.sessions;
            usage.entries -= weight.entries;
            usage.bytes -= weight.bytes;
        }
    }
}

/// An in-process store: the default for one `taiga-mcp` process.
#[derive(Default)]
pub struct MemoryStore {
    contents: Mutex<Contents>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Entries held, live or expired but not yet purged.
    pub fn len(&self) -> usize {
        usize::try_from(self.lock().usage.entries).unwrap_or(usize::MAX)
    }

    /// Whether the store holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Contents> {
        // A panic while holding the lock cannot leave an entry half-written, so a poisoned map is still sound.
        self.contents.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn live(map: &Contents, namespace: &str, key: &str) -> Option<String> {
        map.namespaces
            .get(namespace)
            .and_then(|entries| entries.get(key))
            .filter(|entry| entry.is_live(Instant::now()))
            .map(|entry| entry.value.to_string())
    }

    fn insert(map: &mut Contents, namespace: &str, key: &str, entry: Entry) {
        let added = weight(namespace, key, &entry);
        let replaced = match map.namespaces.get_mut(namespace) {
            Some(entries) => entries.insert(key.into(), entry),
            None => {
                map.namespaces
                    .insert(namespace.into(), HashMap::from([(key.into(), entry)]));
                None
            }
        };
        if let Some(old) = replaced {
            map.count(weight(namespace, key, &old), false);
        }
        map.count(added, true);
    }

    fn remove(map: &mut Contents, namespace: &str, key: &str) -> Option<Entry> {
        let entries = map.namespaces.get_mut(namespace)?;
        let removed = entries.remove(key);
        if entries.is_empty() {
            map.namespaces.remove(namespace);
        }
        if let Some(entry) = &removed {
            map.count(weight(namespace, key, entry), false);
        }
        removed
    }

    fn op<T: Send + 'static>(result: Result<T, StoreError>) -> StoreFuture<'static, T> {
        Box::pin(std::future::ready(result))
    }
}

impl SessionStore for MemoryStore {
    fn get<'a>(&'a self, namespace: &'a str, key: &'a str) -> StoreFuture<'a, Option<String>> {
        Self::op(check_sizes(key, None).map(|()| Self::live(&self.lock(), namespace, key)))
    }

    fn set<'a>(&'a self, namespace: &'a str, key: &'a str, value: &'a str, ttl: Duration) -> StoreFuture<'a, ()> {
        Self::op(check_sizes(key, Some(value)).map(|()| {
            Self::insert(
                &mut self.lock(),
                namespace,
                key,
                Entry::new(value, Instant::now() + bounded_ttl(ttl)),
            );
        }))
    }

    fn delete<'a>(&'a self, namespace: &'a str, key: &'a str) -> StoreFuture<'a, bool> {
        Self::op(check_sizes(key, None).map(|()| {
            let removed = Self::remove(&mut self.lock(), namespace, key);
            removed.is_some_and(|entry| entry.is_live(Instant::now()))
        }))
    }

    fn increment<'a>(&'a self, namespace: &'a str, key: &'a str, delta: i64, ttl: Duration) -> StoreFuture<'a, i64> {
        Self::op(check_sizes(key, None).and_then(|()| {
            let mut map = self.lock();
            let now = Instant::now();
            let current = map
                .namespaces
                .get(namespace)
                .and_then(|entries| entries.get(key))
                .filter(|entry| entry.is_live(now));
            let (current, expires_at) = match current {
                Some(entry) => (
                    entry
                        .value
                        .parse::<i64>()
                        .map_err(|_| StoreError::Rejected("not an integer".to_owned()))?,
                    entry.expires_at,
                ),
                None => (0, now + bounded_ttl(ttl)),
            };
            let value = current.saturating_add(delta);
            Self::insert(&mut map, namespace, key, Entry::new(&value.to_string(), expires_at));
            Ok(value)
        }))
    }

    fn compare_and_swap<'a>(
        &'a self,
        namespace: &'a str,
        key: &'a str,
        expected: Option<&'a str>,
        new: Option<&'a str>,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        Self::op(check_sizes(key, new).map(|()| {
            let mut map = self.lock();
            if Self::live(&map, namespace, key).as_deref() != expected {
                return false;
            }
            match new {
                Some(value) => Self::insert(
                    &mut map,
                    namespace,
                    key,
                    Entry::new(value, Instant::now() + bounded_ttl(ttl)),
                ),
                None => {
                    Self::remove(&mut map, namespace, key);
                }
            }
            true
        }))
    }

    fn usage(&self) -> Option<StoreUsage> {
        Some(self.lock().usage)
    }

    fn purge_expired(&self) -> StoreFuture<'_, usize> {
        let mut map = self.lock();
        let now = Instant::now();
        let mut gone = Vec::new();
        map.namespaces.retain(|namespace, entries| {
            entries.retain(|key, entry| {
                let live = entry.is_live(now);
                if !live {
                    gone.push(weight(namespace, key, entry));
                }
                live
            });
            !entries.is_empty()
        });
        for weight in &gone {
            map.count(*weight, false);
        }
        Self::op(Ok(gone.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(60);

    #[tokio::test(start_paused = true)]
    async fn values_expire_and_purge_removes_them() {
        let store = MemoryStore::new();
        store.set("ns", "k", "v", TTL).await.unwrap();
        assert_eq!(store.get("ns", "k").await.unwrap().as_deref(), Some("v"));
        tokio::time::advance(TTL).await;
        assert_eq!(store.get("ns", "k").await.unwrap(), None);
        assert_eq!(store.len(), 1);
        assert_eq!(store.purge_expired().await.unwrap(), 1);
        assert!(store.is_empty());
    }

    #[tokio::test]
    async fn usage_counts_sessions_entries_and_bytes() {
        let store = MemoryStore::new();
        store.set("ns", "session:1", "abc", TTL).await.unwrap();
        store.set("ns", "user-sessions:x", "[1]", TTL).await.unwrap();
        store.set("", "session:2", "de", TTL).await.unwrap();
        let usage = store.usage().unwrap();
        assert_eq!((usage.sessions, usage.entries), (2, 3));
        assert_eq!(usage.bytes, (2 + 9 + 3) + (2 + 15 + 3) + 9 + 2);
        store.delete("", "session:2").await.unwrap();
        assert_eq!(store.usage().unwrap().sessions, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn counts_follow_every_change_without_a_walk() {
        let store = MemoryStore::new();
        let walk = |store: &MemoryStore| {
            let contents = store.lock();
            let mut usage = StoreUsage::default();
            for (namespace, entries) in &contents.namespaces {
                for (key, entry) in entries {
                    let one = weight(namespace, key, entry);
                    usage.sessions += one.sessions;
                    usage.entries += one.entries;
                    usage.bytes += one.bytes;
                }
            }
            usage
        };
        store.set("ns", "session:1", "abc", TTL).await.unwrap();
        store.set("ns", "session:1", "abcdef", TTL).await.unwrap();
        store.increment("ns", "count", 5, Duration::from_secs(1)).await.unwrap();
        store.increment("ns", "count", 5, Duration::from_secs(1)).await.unwrap();
        store
            .compare_and_swap("other", "k", None, Some("v"), TTL)
            .await
            .unwrap();
        assert_eq!(store.usage().unwrap(), walk(&store));
        assert_eq!(store.usage().unwrap().entries, 3);
        store
            .compare_and_swap("other", "k", Some("v"), None, TTL)
            .await
            .unwrap();
        store.delete("ns", "session:1").await.unwrap();
        assert_eq!(store.usage().unwrap(), walk(&store));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(store.purge_expired().await.unwrap(), 1);
        assert_eq!(store.usage().unwrap(), StoreUsage::default());
        assert!(store.is_empty());
    }

    #[tokio::test]
    async fn namespaces_are_isolated() {
        let store = MemoryStore::new();
        store.set("tenant-a", "session:1", "a", TTL).await.unwrap();
        assert_eq!(store.get("tenant-b", "session:1").await.unwrap(), None);
        assert!(!store.delete("tenant-b", "session:1").await.unwrap());
        assert!(store.delete("tenant-a", "session:1").await.unwrap());
    }

    #[tokio::test(start_paused = true)]
    async fn increment_keeps_the_first_expiry() {
        let store = MemoryStore::new();
        assert_eq!(store.increment("ns", "c", 1, TTL).await.unwrap(), 1);
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(store.increment("ns", "c", 2, TTL).await.unwrap(), 3);
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(
            store.increment("ns", "c", 1, TTL).await.unwrap(),
            1,
            "window restarted after expiry"
        );
        store.set("ns", "text", "abc", TTL).await.unwrap();
        assert!(store.increment("ns", "text", 1, TTL).await.is_err());
    }

    #[tokio::test]
    async fn compare_and_swap_only_swaps_the_expected_value() {
        let store = MemoryStore::new();
        assert!(store.compare_and_swap("ns", "k", None, Some("1"), TTL).await.unwrap());
        assert!(!store.compare_and_swap("ns", "k", None, Some("2"), TTL).await.unwrap());
        assert!(
            !store
                .compare_and_swap("ns", "k", Some("0"), Some("2"), TTL)
                .await
                .unwrap()
        );
        assert!(store.compare_and_swap("ns", "k", Some("1"), None, TTL).await.unwrap());
        assert_eq!(store.get("ns", "k").await.unwrap(), None);
    }

    #[tokio::test]
    async fn oversized_keys_and_values_are_refused() {
        let store = MemoryStore::new();
        let big = "x".repeat(MAX_VALUE_BYTES + 1);
        assert!(matches!(
            store.set("ns", "k", &big, TTL).await,
            Err(StoreError::Rejected(_))
        ));
        assert!(matches!(
            store.get("ns", &"k".repeat(MAX_KEY_BYTES + 1)).await,
            Err(StoreError::Rejected(_))
        ));
        assert!(matches!(store.get("ns", "").await, Err(StoreError::Rejected(_))));
    }
}
