//! The logging level each connection asked for (`logging/setLevel`, 2025-11-25): the least
//! important notice it wants as `notifications/message`. A 2025-11-25 connection that never asked
//! gets notices from `info` up; a 2026-07-28 request gets them only when its `_meta` opts in with
//! `io.modelcontextprotocol/logLevel` (SEP-2575), from that level up.
#![allow(
    deprecated,
    reason = "2025-11-25 logging; SEP-2577 deprecates it, clients still use it"
)]

use std::collections::HashMap;
use std::sync::Mutex;

use rmcp::model::LoggingLevel;

use super::signed_in::{Connection, MAX_CONNECTIONS};
use crate::sandbox::NoticeLevel;

/// Each connection's minimum level.
#[derive(Default)]
pub struct LogLevels {
    levels: Mutex<HashMap<Connection, LoggingLevel>>,
}

fn rank(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

/// A component notice's level as MCP names it.
pub fn logging_level(level: NoticeLevel) -> LoggingLevel {
    match level {
        NoticeLevel::Info => LoggingLevel::Info,
        NoticeLevel::Warning => LoggingLevel::Warning,
    }
}

impl LogLevels {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Connection, LoggingLevel>> {
        self.levels.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records the level `connection` asked for. Past [`MAX_CONNECTIONS`], the levels of ended
    /// connections cannot be told from live ones: all are forgotten, and fall back to `info`.
    pub fn set(&self, connection: Connection, level: LoggingLevel) {
        let mut levels = self.lock();
        if levels.len() >= MAX_CONNECTIONS && !levels.contains_key(&connection) {
            levels.clear();
        }
        levels.insert(connection, level);
    }

    /// The level `connection` asked for, `info` when it did not.
    pub fn minimum(&self, connection: Option<&Connection>) -> LoggingLevel {
        connection
            .and_then(|connection| self.lock().get(connection).copied())
            .unwrap_or(LoggingLevel::Info)
    }
}

/// Whether a notice at `level` passes the `minimum` asked for.
pub fn passes(level: LoggingLevel, minimum: LoggingLevel) -> bool {
    rank(level) >= rank(minimum)
}

impl LogLevels {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_gets_what_its_level_allows_and_others_the_default() {
        let levels = LogLevels::default();
        let quiet = Connection::new("acme", Some("a"));
        levels.set(quiet.clone(), LoggingLevel::Warning);
        assert!(!passes(LoggingLevel::Info, levels.minimum(Some(&quiet))));
        assert!(passes(LoggingLevel::Warning, levels.minimum(Some(&quiet))));
        let other = Connection::new("acme", Some("b"));
        assert!(passes(LoggingLevel::Info, levels.minimum(Some(&other))));
        assert!(!passes(LoggingLevel::Debug, levels.minimum(Some(&other))));
        assert_eq!(levels.minimum(None), LoggingLevel::Info);
    }
}
