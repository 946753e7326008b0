//! What the handlers and the test that owns the simulator share: the database, the log of
//! requests received and the injected faults.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
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
    /// How many other Taiga requests the simulator was answering when this one arrived: more than
    /// none shows requests a client had in flight together.
    pub concurrent: usize,
}

/// A request being answered, counted in [`Shared::answering`] until it is dropped.
pub struct Answering<'a>(&'a AtomicUsize);

impl Drop for Answering<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// State shared by the handlers and the test that owns the simulator.
#[derive(Default)]
pub struct Shared {
    state: Mutex<State>,
    requests: Mutex<Vec<Recorded>>,
    faults: Mutex<Faults>,
    answering: AtomicUsize,
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

    /// Counts a request as being answered until the guard drops; how many others were.
    pub fn answering(&self) -> (Answering<'_>, usize) {
        let others = self.answering.fetch_add(1, Ordering::SeqCst);
        (Answering(&self.answering), others)
    }

    /// Locks the injected faults.
    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
