//! Wiring: the session store, the sandbox, the tenants and the MCP server, served over stdio or
//! Streamable HTTP.

use std::sync::Arc;

use rmcp::ServiceExt;

use crate::config::{Config, SignInPage, StoreBackend, Transport};
use crate::http::{Health, HttpPolicy};
use crate::mcp::{Audience, Catalogue, TaigaServer};
use crate::metrics::Metrics;
use crate::policy;
use crate::sandbox::{CallPolicy, ComponentSource, Identity, Limits, Sandbox, Settings};
use crate::store::{MemoryStore, RedisStore, SessionStore};
use crate::tenants::{Tenant, TenantDefaults, Tenants, offered_tools};
use crate::web_sign_in::{PageOrigin, PageSettings, TenantSource, WebSignIn};

/// The per-call settings the component receives.
pub fn settings(config: &Config) -> Settings {
    Settings {
        default_taiga_url: config.taiga.default_server.to_string(),
        session_ttl_seconds: config.session_expiry_seconds,
        max_sessions_per_user: config.max_sessions_per_user,
        login_rate_limit: config.login_rate_limit,
        login_lockout_seconds: config.login_lockout.as_secs(),
        request_timeout_ms: u32::try_from(config.request_timeout.as_millis()).unwrap_or(u32::MAX),
        max_response_bytes: config.max_response_bytes,
        max_attachment_bytes: config.max_attachment_bytes,
        login_type: config.sign_in.login_type.clone(),
        metadata_ttl_seconds: config.metadata_ttl_seconds,
        identity: config.sign_in.identity.as_ref().map(Identity::from),
    }
}

async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn SessionStore>> {
    Ok(match &config.session_store {
        StoreBackend::Memory => {
            let memory = Arc::new(MemoryStore::new());
            let sweeper = memory.clone();
            let cleanup_interval = config.session_cleanup_interval;
            tokio::spawn(async move {
                let mut interval = tokio::time::interval(cleanup_interval);
                loop {
                    interval.tick().await;
                    if let Ok(purged) = sweeper.purge_expired().await {
                        tracing::debug!(purged, "swept expired sessions");
                    }
                }
            });
            memory
        }
        StoreBackend::Redis(url) => Arc::new(
            RedisStore::connect(url)
                .await
                .map_err(|err| anyhow::anyhow!("SESSION_STORE: cannot reach Redis ({})", err.category()))?,
        ),
    })
}

/// Re-reads the tenants file on every SIGHUP; a file that does not check out leaves the tenants
/// in force as they are.
fn reload_on_hangup(tenants: Arc<Tenants>) -> anyhow::Result<()> {
    let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            match tenants.reload() {
                Ok(count) => tracing::info!(tenants = count, "reloaded the tenants file"),
                Err(err) => {
                    tracing::error!(error = %err, "the tenants file was refused; the previous tenants stay in force")
                }
            }
        }
    });
    Ok(())
}

/// Signs the tenant's own identity in at start, so that wrong credentials show in the log at once
/// rather than on the first call (which then answers the same error as a tool result).
async fn check_identity(server: TaigaServer, tenant: Arc<Tenant>) {
    let outcome = server
        .run(
            &tenant,
            &None,
            "session_status",
            &serde_json::json!({}),
            "startup".to_owned(),
            None,
        )
        .await;
    match outcome {
        Ok(result) if result.is_error != Some(true) => {
            let username = result
                .structured_content
                .as_ref()
                .and_then(|body| body["username"].as_str().map(str::to_owned))
                .unwrap_or_default();
            tracing::info!(tenant = %tenant.id, username = %username, "signed in to Taiga as the configured identity");
        }
        Ok(result) => {
            let body = result.structured_content.unwrap_or_default();
            tracing::error!(
                tenant = %tenant.id,
                code = body["code"].as_str().unwrap_or_default(),
                message = body["message"].as_str().unwrap_or_default(),
                "the configured Taiga identity cannot sign in (TAIGA_USERNAME with TAIGA_PASSWORD or TAIGA_PASSWORD_FILE, \
                 or TAIGA_TOKEN); tools answer this error until it is fixed"
            );
        }
        Err(err) => {
            tracing::error!(tenant = %tenant.id, error = %err.message, "the configured Taiga identity could not be checked")
        }
    }
}

/// Builds the server and serves it on the configured transport until it stops.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let limits = Limits {
        memory_bytes: config.call_memory_bytes,
        call_timeout: config.call_timeout,
        request_timeout: config.request_timeout,
    };
    if let Some(path) = &config.sign_in.exposed_password_file {
        crate::tenants::warn_exposed("TAIGA_PASSWORD_FILE", path);
    }
    let store = open_store(&config).await?;
    let metrics = Arc::new(Metrics::default());
    let upkeep = metrics.clone();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(crate::metrics::UPKEEP_INTERVAL);
        loop {
            ticks.tick().await;
            upkeep.run_upkeep();
        }
    });
    let source = ComponentSource {
        path: config.component.clone(),
        cache_dir: config.cache_dir.clone(),
    };
    let sandbox = Arc::new(Sandbox::load(
        &source,
        store.clone(),
        metrics.clone(),
        config.call_slots,
    )?);
    // Read once: the choices of tools, the tenants and the server all work from it.
    let catalogue = Arc::new(Catalogue::new(sandbox.list_tools().await?)?);
    let tenants = match &config.tenants {
        Some(path) => {
            let defaults = TenantDefaults {
                settings: settings(&config),
                limits,
                allow_http_taiga: config.allow_http_taiga,
                trust: config.taiga.trust.clone(),
                tool_choice: config.tool_choice.clone(),
                catalogue: Arc::new(catalogue.entries().to_vec()),
                primitives: config.primitives,
            };
            let tenants = Tenants::load(path, defaults).map_err(|err| anyhow::anyhow!("TAIGA_MCP_TENANTS: {err}"))?;
            Some(Arc::new(tenants))
        }
        None => None,
    };
    let audience = Audience {
        caller: "stdio".to_owned(),
        trusted_proxies: config.trusted_proxies.clone(),
    };
    let single = match &tenants {
        Some(_) => None,
        None => {
            let tools = offered_tools(
                &config.tool_choice,
                &policy::ENVIRONMENT_TOOLS,
                catalogue.entries(),
                config.sign_in.identity.is_some(),
            )
            .map_err(|err| anyhow::anyhow!("{err}"))?;
            let policy = CallPolicy::new("default", limits, config.taiga.allow_list.clone(), &config.taiga.trust);
            Some(Arc::new(Tenant::single(
                settings(&config),
                policy,
                tools,
                config.primitives,
            )))
        }
    };
    let tenant_source = match (&tenants, &single) {
        (Some(tenants), _) => TenantSource::Shared(tenants.clone()),
        (None, Some(single)) => TenantSource::Single(single.clone()),
        (None, None) => anyhow::bail!("a deployment serves its tenants or its single tenant"),
    };
    let page_origin = match &config.sign_in_page {
        SignInPage::Loopback => Some(PageOrigin::Loopback),
        SignInPage::Listener { base, hosts } => Some(PageOrigin::Listener {
            base: base.clone(),
            hosts: hosts.clone(),
        }),
        SignInPage::Off(reason) => {
            tracing::warn!(reason = %reason, "sign-in by page is off: login needs a password or the deployment's identity");
            None
        }
    };
    let web_sign_in = page_origin.map(|origin| {
        Arc::new(WebSignIn::new(
            store.clone(),
            sandbox.clone(),
            tenant_source,
            PageSettings {
                origin,
                link_ttl: config.sign_in_link,
                limits: config.sign_in_links,
            },
        ))
    });
    let mut server = TaigaServer::new(sandbox, catalogue, single.clone(), audience, metrics.clone());
    if let Some(web_sign_in) = &web_sign_in {
        server = server.with_web_sign_in(web_sign_in.clone());
    }
    let health = Health { store, metrics };
    let with_identity: Vec<Arc<Tenant>> = match &tenants {
        Some(tenants) => tenants.all(),
        None => single.clone().into_iter().collect(),
    };
    for tenant in with_identity
        .into_iter()
        .filter(|tenant| tenant.settings.identity.is_some())
    {
        tokio::spawn(check_identity(server.clone(), tenant));
    }
    if let Some(tenants) = &tenants {
        reload_on_hangup(tenants.clone())?;
        let ids: Vec<String> = tenants.all().iter().map(|tenant| tenant.id.clone()).collect();
        tracing::info!(tenants = %ids.join(","), "taiga-mcp ready for its tenants");
    } else {
        tracing::info!(
            taiga = %config.taiga.default_server,
            allowed = config.taiga.allow_list.origins().len(),
            "taiga-mcp ready"
        );
    }
    match config.transport {
        Transport::Http => {
            let policy = HttpPolicy {
                allowed_hosts: config.http_allowed_hosts.clone(),
                allowed_origins: config.http_allowed_origins.clone(),
                stateless: config.http_stateless,
                limits: config.http_limits,
                trusted_proxies: config.trusted_proxies.clone(),
            };
            crate::http::serve(
                server,
                health,
                policy,
                tenants,
                web_sign_in,
                crate::http::Listen {
                    mcp: config.listen,
                    admin: config.admin_listen,
                },
                config.call_timeout,
            )
            .await
        }
        Transport::Stdio => {
            if let Some(admin) = config.admin_listen {
                tokio::spawn(async move {
                    if let Err(err) = crate::http::serve_admin(health, admin).await {
                        tracing::error!(error = %err, "the health endpoints stopped");
                    }
                });
            }
            tracing::info!("serving MCP over stdio");
            // Pipes (how MCP clients start servers) are driven by the reactor rather than a
            // blocking thread per read and write; anything else falls back to blocking stdio.
            let (stdin, stdout) = rmcp::transport::stdio_pipes();
            let running = server.serve(crate::stdio::checked(stdin, stdout)).await?;
            running.waiting().await?;
            Ok(())
        }
    }
}
