//! What the handlers and the test that owns the simulator share: the database, the log of
//! requests received and the injected faults.

use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};

use serde::Serialize;

use crate::faults::Faults;
use crate::state::State;

/// One request the simulator received.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recorded {
    /// Method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Raw query, if any.
    pub query: Option<String>,
    /// Header pairs, names lower-case.
    pub headers: Vec<(String, String)>,
    /// Body as text.
    pub body: String,
    /// The client's address and port: requests from one kept-alive connection share it.
    pub peer: Option<SocketAddr>,
}

/// State shared by the handlers and the test that owns the simulator.
#[derive(Default)]
pub struct Shared {
    state: Mutex<State>,
    requests: Mutex<Vec<Recorded>>,
    faults: Mutex<Faults>,
    /// Served over TLS: absolute URLs (pagination links) say `https`.
    pub https: bool,
}

impl Shared {
    /// Nothing recorded, no faults, an empty database; `https` if served over TLS.
    pub fn new(https: bool) -> Self {
        Self {
            https,
            ..Self::default()
        }
    }

    /// Locks the simulated database. A handler that panicked cannot have left it half-written
    /// in a way that matters to a test double, so poisoning is ignored.
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Locks the log of requests received.
    pub fn requests(&self) -> MutexGuard<'_, Vec<Recorded>> {
        self.requests.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Locks the injected faults.
    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
