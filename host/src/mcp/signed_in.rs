//! Which Taiga session each connection signed in with, so that resources, prompts and completions
//! (which carry no `session_id`) act as the user who called `login` on that connection: over
//! stdio, the process's one client; over Streamable HTTP, the MCP session. Kept in this process
//! only: an MCP session lives in one process, and a stdio client is the process.
//!
//! A hostile client can only add entries by signing in, one per MCP session it holds (which
//! `MCP_SESSIONS_PER_TENANT` and `_PER_CLIENT` bound); entries end with the Taiga session's
//! lifetime, and past [`MAX_CONNECTIONS`] the one that expires first makes room.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Connections remembered at most.
pub const MAX_CONNECTIONS: usize = 20_000;

/// A connection: its tenant and its MCP session (none over stdio).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Connection {
    tenant: String,
    mcp_session: Option<String>,
}

impl Connection {
    /// The connection of `tenant` in `mcp_session`, or the process's own over stdio.
    pub fn new(tenant: &str, mcp_session: Option<&str>) -> Self {
        Self {
            tenant: tenant.to_owned(),
            mcp_session: mcp_session.map(str::to_owned),
        }
    }
}

struct Signed {
    session_id: String,
    until: Instant,
}

/// The Taiga session of each connection that signed in.
#[derive(Default)]
pub struct SignedIn {
    connections: Mutex<HashMap<Connection, Signed>>,
}

impl SignedIn {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Connection, Signed>> {
        self.connections.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Remembers that `connection` signed in as `session_id`, for `lifetime`.
    pub fn remember(&self, connection: Connection, session_id: &str, lifetime: Duration) {
        let now = Instant::now();
        let mut connections = self.lock();
        if connections.len() >= MAX_CONNECTIONS && !connections.contains_key(&connection) {
            connections.retain(|_, signed| signed.until > now);
        }
        if connections.len() >= MAX_CONNECTIONS && !connections.contains_key(&connection) {
            let first = connections
                .iter()
                .min_by_key(|(_, signed)| signed.until)
                .map(|(connection, _)| connection.clone());
            if let Some(first) = first {
                connections.remove(&first);
            }
        }
        connections.insert(
            connection,
            Signed {
                session_id: session_id.to_owned(),
                until: now + lifetime,
            },
        );
    }

    /// Forgets the connection's session (it logged out).
    pub fn forget(&self, connection: &Connection) {
        self.lock().remove(connection);
    }

    /// The session `connection` signed in with, while it lives.
    pub fn session(&self, connection: &Connection) -> Option<String> {
        self.lock()
            .get(connection)
            .filter(|signed| signed.until > Instant::now())
            .map(|signed| signed.session_id.clone())
    }

    /// Connections remembered now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_answers_only_its_own_connection_and_tenant() {
        let signed_in = SignedIn::default();
        let mine = Connection::new("acme", Some("mcp-1"));
        signed_in.remember(mine.clone(), "taiga-session", Duration::from_secs(60));
        assert_eq!(signed_in.session(&mine).as_deref(), Some("taiga-session"));
        assert_eq!(signed_in.session(&Connection::new("acme", Some("mcp-2"))), None);
        assert_eq!(signed_in.session(&Connection::new("other", Some("mcp-1"))), None);
        assert_eq!(signed_in.session(&Connection::new("acme", None)), None);
        signed_in.forget(&mine);
        assert_eq!(signed_in.session(&mine), None);
    }

    #[test]
    fn expired_sessions_answer_nothing_and_the_count_stays_bounded() {
        let signed_in = SignedIn::default();
        let gone = Connection::new("acme", Some("old"));
        signed_in.remember(gone.clone(), "s", Duration::ZERO);
        assert_eq!(signed_in.session(&gone), None);
        for number in 0..MAX_CONNECTIONS + 5 {
            signed_in.remember(
                Connection::new("acme", Some(&number.to_string())),
                "s",
                Duration::from_secs(60 + number as u64),
            );
        }
        assert_eq!(signed_in.len(), MAX_CONNECTIONS);
        assert_eq!(
            signed_in.session(&Connection::new("acme", Some("0"))),
            None,
            "the first to expire made room"
        );
        let last = (MAX_CONNECTIONS + 4).to_string();
        assert!(signed_in.session(&Connection::new("acme", Some(&last))).is_some());
    }
}
