//! Wiring: the session store, the sandbox and the MCP server, served over stdio.

use std::sync::Arc;
use std::time::Duration;

use rmcp::ServiceExt;

use crate::config::Config;
use crate::mcp::{Audience, TaigaServer};
use crate::sandbox::{ComponentSource, Limits, Sandbox, Settings};
use crate::store::{MemoryStore, SessionStore};

/// How often expired sessions are swept from the in-memory store.
const CLEANUP_INTERVAL: Duration = Duration::from_secs(3600);

/// The per-call settings the component receives.
pub fn settings(config: &Config) -> Settings {
    Settings {
        default_taiga_url: config.taiga_api_url.to_string(),
        session_ttl_seconds: config.session_expiry_seconds,
        max_sessions_per_user: 5,
        login_rate_limit: 5,
        login_lockout_seconds: 900,
        request_timeout_ms: u32::try_from(config.request_timeout.as_millis()).unwrap_or(u32::MAX),
        max_response_bytes: 16 * 1024 * 1024,
    }
}

/// Serves MCP over stdin/stdout until the client closes the stream.
pub async fn serve_stdio(config: Config) -> anyhow::Result<()> {
    let store = Arc::new(MemoryStore::new());
    let limits = Limits {
        memory_bytes: config.call_memory_bytes,
        // A tool may make several Taiga requests; the call as a whole gets twice one request's time.
        call_timeout: config.request_timeout * 2,
        request_timeout: config.request_timeout,
    };
    let source = ComponentSource {
        path: config.component.clone(),
        cache_dir: config.cache_dir.clone(),
    };
    let sandbox = Arc::new(Sandbox::load(
        &source,
        limits,
        config.allow_list.clone(),
        store.clone(),
    )?);
    let sweeper = store.clone();
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(CLEANUP_INTERVAL);
        loop {
            interval.tick().await;
            if let Ok(purged) = sweeper.purge_expired().await {
                tracing::debug!(purged, "swept expired sessions");
            }
        }
    });
    let audience = Audience {
        caller: "stdio".to_owned(),
        namespace: "default".to_owned(),
    };
    let server = TaigaServer::new(sandbox, settings(&config), audience).await?;
    tracing::info!(
        taiga = %config.taiga_api_url,
        allowed = config.allow_list.origins().len(),
        "taiga-mcp serving MCP over stdio"
    );
    let running = server.serve(rmcp::transport::stdio()).await?;
    running.waiting().await?;
    Ok(())
}
