//! How many TCP connections the HTTP transport holds: in all and per client address. A client that
//! opens sockets and never finishes a request (half-open connections) holds one descriptor each; past
//! the process's descriptor limit `accept` fails and every client is shut out. With these caps, one
//! address can hold only its share, and the listener keeps descriptors for everyone else.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Which cap refused a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionRefusal {
    /// The listener holds its most connections.
    Total,
    /// This client address holds its most connections.
    PerClient,
}

impl ConnectionRefusal {
    /// The setting that refused it, as metrics and logs name it.
    pub fn setting(self) -> &'static str {
        match self {
            Self::Total => "HTTP_MAX_CONNECTIONS",
            Self::PerClient => "HTTP_MAX_CONNECTIONS_PER_CLIENT",
        }
    }
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    per_client: HashMap<IpAddr, usize>,
}

/// The connections open now, against their caps.
#[derive(Debug)]
pub struct ConnectionGate {
    total: usize,
    per_client: usize,
    /// Addresses not capped per client: trusted proxies carry many clients' connections.
    uncapped: Vec<IpAddr>,
    open: Mutex<Open>,
}

/// One admitted connection; it counts as open until dropped.
#[derive(Debug)]
pub struct ConnectionPermit {
    gate: Arc<ConnectionGate>,
    client: IpAddr,
}

impl ConnectionGate {
    /// A gate holding at most `total` connections, `per_client` from one address (except `uncapped`).
    pub fn new(total: usize, per_client: usize, uncapped: Vec<IpAddr>) -> Arc<Self> {
        Arc::new(Self {
            total,
            per_client,
            uncapped,
            open: Mutex::new(Open::default()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Admits a connection from `client`, or says which cap refuses it; a refusal holds nothing.
    pub fn admit(self: &Arc<Self>, client: IpAddr) -> Result<ConnectionPermit, ConnectionRefusal> {
        let client = canonical(client);
        let mut open = self.lock();
        if open.total >= self.total {
            return Err(ConnectionRefusal::Total);
        }
        let from_client = open.per_client.entry(client).or_default();
        if *from_client >= self.per_client && !self.uncapped.contains(&client) {
            if *from_client == 0 {
                open.per_client.remove(&client);
            }
            return Err(ConnectionRefusal::PerClient);
        }
        *from_client += 1;
        open.total += 1;
        Ok(ConnectionPermit {
            gate: self.clone(),
            client,
        })
    }

    /// Connections open now.
    #[cfg(test)]
    pub fn open(&self) -> usize {
        self.lock().total
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let mut open = self.gate.lock();
        open.total = open.total.saturating_sub(1);
        if let Some(count) = open.per_client.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                open.per_client.remove(&self.client);
            }
        }
    }
}

/// An IPv4 client seen through an IPv6 socket (`::ffff:a.b.c.d`) is the same client.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

/// Raises the soft limit on open descriptors to the hard limit (as Go and many servers do at
/// start), and warns when it is still too low for `connections` plus what the process needs
/// besides (Taiga and Redis connections, the component, logs).
pub fn raise_descriptor_limit(connections: usize) {
    /// Descriptors the process uses beside client connections, with room to spare.
    const RESERVE: u64 = 256;
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let mut soft = limit.current;
    if limit.current < limit.maximum || (limit.current.is_some() && limit.maximum.is_none()) {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            soft = limit.maximum;
        }
    }
    let needed = connections as u64 + RESERVE;
    if let Some(soft) = soft
        && soft < needed
    {
        tracing::warn!(
            descriptors = soft,
            needed,
            "the open-file limit is below HTTP_MAX_CONNECTIONS plus {RESERVE}: raise it (`ulimit -n`, systemd's \
             LimitNOFILE, Docker's --ulimit nofile) or lower HTTP_MAX_CONNECTIONS, or accept fails under load"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn one_client_holds_only_its_share() {
        let gate = ConnectionGate::new(10, 2, Vec::new());
        let first = gate.admit(address("10.0.0.1")).unwrap();
        let _second = gate.admit(address("10.0.0.1")).unwrap();
        assert_eq!(
            gate.admit(address("10.0.0.1")).unwrap_err(),
            ConnectionRefusal::PerClient
        );
        assert_eq!(
            gate.admit(address("::ffff:10.0.0.1")).unwrap_err(),
            ConnectionRefusal::PerClient,
            "the same client over an IPv6 socket"
        );
        let _other = gate.admit(address("10.0.0.2")).unwrap();
        drop(first);
        let _again = gate.admit(address("10.0.0.1")).unwrap();
        assert_eq!(gate.open(), 3);
    }

    #[test]
    fn the_total_caps_every_client() {
        let gate = ConnectionGate::new(3, 2, Vec::new());
        let permits: Vec<_> = ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
            .into_iter()
            .map(|client| gate.admit(address(client)).unwrap())
            .collect();
        assert_eq!(gate.admit(address("10.0.0.4")).unwrap_err(), ConnectionRefusal::Total);
        drop(permits);
        assert_eq!(gate.open(), 0);
        assert!(gate.lock().per_client.is_empty(), "closed clients leave nothing behind");
    }

    #[test]
    fn a_trusted_proxy_is_capped_only_in_total() {
        let proxy = address("10.0.0.9");
        let gate = ConnectionGate::new(4, 1, vec![proxy]);
        let permits: Vec<_> = (0..4).map(|_| gate.admit(proxy).unwrap()).collect();
        assert_eq!(gate.admit(proxy).unwrap_err(), ConnectionRefusal::Total);
        drop(permits);
    }

    #[test]
    fn a_refused_client_leaves_no_entry() {
        let gate = ConnectionGate::new(1, 0, Vec::new());
        assert_eq!(
            gate.admit(address("10.0.0.1")).unwrap_err(),
            ConnectionRefusal::PerClient
        );
        assert!(gate.lock().per_client.is_empty());
    }
}
