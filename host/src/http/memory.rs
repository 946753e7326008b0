//! Giving the memory of ended MCP sessions back to the system. Each session holds a worker and its
//! buffers (about 60 KB); glibc's allocator keeps what they freed in its arenas for reuse, so after
//! a burst of sessions ends the process would stay at its peak size. A trim shortly after sessions
//! end returns the free pages; one trim serves every session that ended in the meantime.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How long after a session ends the trim runs, so that a burst of endings shares one trim.
const SETTLE: Duration = Duration::from_secs(1);

/// Trims the allocator once sessions have ended.
#[derive(Debug, Default)]
pub struct Trimmer {
    pending: AtomicBool,
}

impl Trimmer {
    /// A trimmer with no trim pending.
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// Memory was freed: trims within [`SETTLE`] unless a trim is already due.
    pub fn freed(self: &Arc<Self>) {
        if self.pending.swap(true, Ordering::AcqRel) {
            return;
        }
        let trimmer = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(SETTLE).await;
            trimmer.pending.store(false, Ordering::Release);
            // A trim walks the heap (milliseconds for hundreds of MiB): off the async workers.
            let _ = tokio::task::spawn_blocking(trim).await;
        });
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim only returns free pages of glibc's own arenas to the system; it takes
    // the arenas' locks and touches no memory the program holds.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Other allocators (musl's, macOS's) return free pages themselves.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
