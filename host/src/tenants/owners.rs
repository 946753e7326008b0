//! Which tenant opened each MCP session of the Streamable HTTP transport. A request naming an MCP
//! session (`Mcp-Session-Id`) is served only for the tenant that opened it: another tenant's key
//! cannot send into it, read its stream or close it, even if it learns the id.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an MCP session's owner is remembered; a client past it initializes again, as it must
/// after any `404` on its session.
pub const OWNER_TTL: Duration = Duration::from_secs(24 * 3600);

/// Owners beyond which the expired ones are swept on the next claim.
const SWEEP_ABOVE: usize = 10_000;

/// The tenant of every MCP session opened through the tenants' gate.
#[derive(Debug, Default)]
pub struct SessionOwners {
    owners: Mutex<HashMap<String, (String, Instant)>>,
}

impl SessionOwners {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, Instant)>> {
        self.owners.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records that `tenant` opened `session` at `now`.
    pub fn claim(&self, session: &str, tenant: &str, now: Instant) {
        let mut owners = self.lock();
        if owners.len() >= SWEEP_ABOVE {
            owners.retain(|_, (_, opened)| now.saturating_duration_since(*opened) < OWNER_TTL);
        }
        owners.insert(session.to_owned(), (tenant.to_owned(), now));
    }

    /// Whether `tenant` opened `session` and it is still remembered at `now`.
    pub fn owns(&self, session: &str, tenant: &str, now: Instant) -> bool {
        self.lock()
            .get(session)
            .is_some_and(|(owner, opened)| owner == tenant && now.saturating_duration_since(*opened) < OWNER_TTL)
    }

    /// Forgets `session` (it was closed).
    pub fn release(&self, session: &str) {
        self.lock().remove(session);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_belongs_to_the_tenant_that_opened_it() {
        let owners = SessionOwners::default();
        let now = Instant::now();
        owners.claim("s1", "acme", now);
        assert!(owners.owns("s1", "acme", now));
        assert!(!owners.owns("s1", "globex", now));
        assert!(!owners.owns("s2", "acme", now), "unknown sessions belong to nobody");
        owners.release("s1");
        assert!(!owners.owns("s1", "acme", now));
    }

    #[test]
    fn owners_expire_and_are_swept() {
        let owners = SessionOwners::default();
        let start = Instant::now();
        owners.claim("old", "acme", start);
        assert!(!owners.owns("old", "acme", start + OWNER_TTL));
        for n in 0..SWEEP_ABOVE {
            owners.claim(&format!("s{n}"), "acme", start + OWNER_TTL);
        }
        owners.claim("new", "acme", start + OWNER_TTL);
        assert!(!owners.lock().contains_key("old"));
        assert!(owners.owns("new", "acme", start + OWNER_TTL));
    }
}
