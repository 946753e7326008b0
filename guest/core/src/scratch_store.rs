//! A session store in memory, with expiry by a clock the caller reads: the typed gateway's store
//! for the length of one call, and the unit tests' store. The host's stores (memory and Redis)
//! live behind the WIT `session-store` interface instead.

use std::cell::RefCell;
use std::collections::HashMap;

/// Keys with their values and the time (ms since the epoch) each expires.
#[derive(Debug, Default)]
pub struct ScratchStore {
    entries: RefCell<HashMap<String, (String, u64)>>,
}

fn expiry(now_ms: u64, ttl_seconds: u64) -> u64 {
    now_ms.saturating_add(ttl_seconds.saturating_mul(1000))
}

impl ScratchStore {
    /// The value of `key`, unless it has expired by `now_ms`.
    pub fn get(&self, key: &str, now_ms: u64) -> Option<String> {
        self.entries
            .borrow()
            .get(key)
            .filter(|(_, expires)| *expires > now_ms)
            .map(|(value, _)| value.clone())
    }

    /// Sets `key` for `ttl_seconds`.
    pub fn set(&self, key: &str, value: &str, ttl_seconds: u64, now_ms: u64) {
        self.entries
            .borrow_mut()
            .insert(key.to_owned(), (value.to_owned(), expiry(now_ms, ttl_seconds)));
    }

    /// Removes `key`; whether it was there (and live).
    pub fn delete(&self, key: &str, now_ms: u64) -> bool {
        let live = self.get(key, now_ms).is_some();
        self.entries.borrow_mut().remove(key);
        live
    }

    /// Adds `delta` to the integer at `key` (0 when absent or expired); a new counter lives
    /// `ttl_seconds`, an existing one keeps its expiry.
    pub fn increment(&self, key: &str, delta: i64, ttl_seconds: u64, now_ms: u64) -> i64 {
        let current = self.get(key, now_ms);
        let value = current.as_deref().and_then(|v| v.parse::<i64>().ok()).unwrap_or(0) + delta;
        let mut entries = self.entries.borrow_mut();
        let expires = match (&current, entries.get(key)) {
            (Some(_), Some((_, expires))) => *expires,
            _ => expiry(now_ms, ttl_seconds),
        };
        entries.insert(key.to_owned(), (value.to_string(), expires));
        value
    }

    /// Sets (`Some`) or removes (`None`) `key` when its live value is `expected`; whether it did.
    pub fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&str>,
        new: Option<&str>,
        ttl_seconds: u64,
        now_ms: u64,
    ) -> bool {
        if self.get(key, now_ms).as_deref() != expected {
            return false;
        }
        match new {
            Some(value) => self.set(key, value, ttl_seconds, now_ms),
            None => {
                self.entries.borrow_mut().remove(key);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_expire_counters_keep_their_expiry_and_swaps_compare() {
        let store = ScratchStore::default();
        store.set("a", "1", 10, 0);
        assert_eq!(store.get("a", 9_999).as_deref(), Some("1"));
        assert_eq!(store.get("a", 10_000), None);
        assert_eq!(store.increment("n", 2, 10, 0), 2);
        assert_eq!(
            store.increment("n", 3, 100, 5_000),
            5,
            "the counter keeps its first expiry"
        );
        assert_eq!(store.get("n", 10_000), None);
        assert!(!store.compare_and_swap("c", Some("x"), Some("y"), 10, 0));
        assert!(store.compare_and_swap("c", None, Some("y"), 10, 0));
        assert!(store.compare_and_swap("c", Some("y"), None, 10, 0));
        assert!(!store.delete("c", 0));
    }
}
