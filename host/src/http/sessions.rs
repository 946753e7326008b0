//! The MCP sessions of the Streamable HTTP transport: who opened each (a request naming a session
//! is served only for the tenant that opened it, so another tenant's key cannot send into it, read
//! its stream or close it), and how many one tenant and one client address may hold. Each session
//! keeps a worker and its buffers in memory, so without caps one client could open sessions until
//! the process runs out of memory. A session is forgotten as soon as rmcp ends it (closed by its
//! client, idle past `MCP_SESSION_IDLE_SECONDS`, or never initialized).

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use futures_core::Stream;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_server::session::{ServerSseMessage, SessionId, SessionManager};

use super::memory::Trimmer;

/// Which cap refused a new session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionRefusal {
    /// The tenant (or the single deployment) holds its most sessions.
    PerTenant(usize),
    /// The client address holds its most sessions.
    PerClient(usize),
}

impl SessionRefusal {
    /// The setting that refused it, as metrics and messages name it.
    pub fn setting(self) -> &'static str {
        match self {
            Self::PerTenant(_) => "MCP_SESSIONS_PER_TENANT",
            Self::PerClient(_) => "MCP_SESSIONS_PER_CLIENT",
        }
    }

    /// The cap.
    pub fn limit(self) -> usize {
        match self {
            Self::PerTenant(limit) | Self::PerClient(limit) => limit,
        }
    }
}

#[derive(Debug)]
struct Owner {
    tenant: String,
    client: IpAddr,
}

#[derive(Debug, Default)]
struct Ledger {
    /// Sessions rmcp holds now, whether or not their owner is recorded yet.
    live: HashSet<String>,
    owners: HashMap<String, Owner>,
    per_tenant: HashMap<String, usize>,
    per_client: HashMap<IpAddr, usize>,
}

impl Ledger {
    fn count(&mut self, tenant: &str, client: IpAddr) {
        *self.per_tenant.entry(tenant.to_owned()).or_default() += 1;
        *self.per_client.entry(client).or_default() += 1;
    }

    fn uncount(&mut self, tenant: &str, client: IpAddr) {
        decrement(&mut self.per_tenant, tenant);
        decrement(&mut self.per_client, &client);
    }
}

fn decrement<K: std::hash::Hash + Eq + ?Sized, Q: std::hash::Hash + Eq + std::borrow::Borrow<K>>(
    counts: &mut HashMap<Q, usize>,
    key: &K,
) {
    if let Some(count) = counts.get_mut(key) {
        *count -= 1;
        if *count == 0 {
            counts.remove(key);
        }
    }
}

/// The sessions open now, their owners and their counts.
#[derive(Debug)]
pub struct SessionLedger {
    per_client: usize,
    ledger: Mutex<Ledger>,
}

/// A session being opened: it counts against its tenant and client until it is bound to the
/// session rmcp opened, or dropped when none was.
#[derive(Debug)]
pub struct Reservation {
    ledger: Arc<SessionLedger>,
    tenant: String,
    client: IpAddr,
    bound: bool,
}

impl SessionLedger {
    /// A ledger allowing `per_client` sessions to one client address.
    pub fn new(per_client: usize) -> Arc<Self> {
        Arc::new(Self {
            per_client,
            ledger: Mutex::new(Ledger::default()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts a session `tenant` (allowed `per_tenant`) opens for `client`, or says which cap refuses it.
    pub fn reserve(
        self: &Arc<Self>,
        tenant: &str,
        per_tenant: usize,
        client: IpAddr,
    ) -> Result<Reservation, SessionRefusal> {
        let mut ledger = self.lock();
        if ledger.per_tenant.get(tenant).copied().unwrap_or(0) >= per_tenant {
            return Err(SessionRefusal::PerTenant(per_tenant));
        }
        if ledger.per_client.get(&client).copied().unwrap_or(0) >= self.per_client {
            return Err(SessionRefusal::PerClient(self.per_client));
        }
        ledger.count(tenant, client);
        Ok(Reservation {
            ledger: self.clone(),
            tenant: tenant.to_owned(),
            client,
            bound: false,
        })
    }

    /// Whether `tenant` opened `session` and rmcp still holds it.
    pub fn owns(&self, session: &str, tenant: &str) -> bool {
        self.lock()
            .owners
            .get(session)
            .is_some_and(|owner| owner.tenant == tenant)
    }

    /// Sessions held now.
    #[cfg(test)]
    pub fn open(&self) -> usize {
        self.lock().owners.len()
    }

    fn opened(&self, session: &str) {
        self.lock().live.insert(session.to_owned());
    }

    fn closed(&self, session: &str) {
        let mut ledger = self.lock();
        ledger.live.remove(session);
        if let Some(owner) = ledger.owners.remove(session) {
            ledger.uncount(&owner.tenant, owner.client);
        }
    }
}

impl Reservation {
    /// Records the reservation's tenant as the owner of `session`; a session rmcp has already
    /// ended frees the reservation instead.
    pub fn bind(mut self, session: &str) {
        let mut ledger = self.ledger.lock();
        if ledger.live.contains(session) {
            ledger.owners.insert(
                session.to_owned(),
                Owner {
                    tenant: std::mem::take(&mut self.tenant),
                    client: self.client,
                },
            );
            self.bound = true;
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if !self.bound {
            self.ledger.lock().uncount(&self.tenant, self.client);
        }
    }
}

/// rmcp's session manager, telling the ledger when a session starts and ends, and giving an
/// ended session's memory back.
#[derive(Debug)]
pub struct CountedSessions<M> {
    inner: M,
    ledger: Arc<SessionLedger>,
    trimmer: Arc<Trimmer>,
}

impl<M> CountedSessions<M> {
    /// `inner`, reporting to `ledger`.
    pub fn new(inner: M, ledger: Arc<SessionLedger>) -> Self {
        Self {
            inner,
            ledger,
            trimmer: Trimmer::new(),
        }
    }
}

impl<M: SessionManager> SessionManager for CountedSessions<M> {
    type Error = M::Error;
    type Transport = M::Transport;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        let (id, transport) = self.inner.create_session().await?;
        self.ledger.opened(&id);
        Ok((id, transport))
    }

    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, Self::Error> {
        self.inner.initialize_session(id, message).await
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        self.inner.has_session(id).await
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        self.ledger.closed(id);
        let closed = self.inner.close_session(id).await;
        self.trimmer.freed();
        closed
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.inner.create_stream(id, message).await
    }

    async fn accept_message(&self, id: &SessionId, message: ClientJsonRpcMessage) -> Result<(), Self::Error> {
        self.inner.accept_message(id, message).await
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.inner.create_standalone_stream(id).await
    }

    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.inner.resume(id, last_event_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_session_belongs_to_the_tenant_that_opened_it_until_it_ends() {
        let ledger = SessionLedger::new(10);
        ledger.opened("s1");
        ledger.reserve("acme", 10, client("10.0.0.1")).unwrap().bind("s1");
        assert!(ledger.owns("s1", "acme"));
        assert!(!ledger.owns("s1", "globex"));
        assert!(!ledger.owns("s2", "acme"), "unknown sessions belong to nobody");
        ledger.closed("s1");
        assert!(!ledger.owns("s1", "acme"));
        let state = ledger.lock();
        assert!(state.per_tenant.is_empty() && state.per_client.is_empty() && state.live.is_empty());
    }

    #[test]
    fn caps_per_tenant_and_per_client() {
        let ledger = SessionLedger::new(2);
        for (n, address) in ["10.0.0.1", "10.0.0.1"].into_iter().enumerate() {
            let session = format!("s{n}");
            ledger.opened(&session);
            ledger.reserve("acme", 3, client(address)).unwrap().bind(&session);
        }
        assert_eq!(
            ledger.reserve("globex", 3, client("10.0.0.1")).unwrap_err(),
            SessionRefusal::PerClient(2),
            "one address, whatever its tenant"
        );
        ledger.opened("s2");
        ledger.reserve("acme", 3, client("10.0.0.2")).unwrap().bind("s2");
        assert_eq!(
            ledger.reserve("acme", 3, client("10.0.0.3")).unwrap_err(),
            SessionRefusal::PerTenant(3)
        );
        assert!(ledger.reserve("globex", 3, client("10.0.0.3")).is_ok());
        ledger.closed("s0");
        assert!(
            ledger.reserve("acme", 3, client("10.0.0.1")).is_ok(),
            "a closed session frees its place"
        );
    }

    #[test]
    fn a_reservation_without_a_live_session_frees_its_place() {
        let ledger = SessionLedger::new(1);
        drop(ledger.reserve("acme", 1, client("10.0.0.1")).unwrap());
        let reservation = ledger.reserve("acme", 1, client("10.0.0.1")).unwrap();
        ledger.opened("s1");
        ledger.closed("s1");
        reservation.bind("s1");
        assert!(!ledger.owns("s1", "acme"), "rmcp ended it before it was bound");
        assert!(ledger.reserve("acme", 1, client("10.0.0.1")).is_ok());
        assert_eq!(ledger.open(), 0);
    }
}
