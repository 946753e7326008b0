//! The sandbox alone, without MCP or a child process: what instantiating the component costs per
//! call, and what each of wasmtime's guards (epochs, fuel, the memory limiter) adds to real calls.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};
use taiga_mcp::metrics::Metrics;
use taiga_mcp::network::{AllowList, Origin, Trust};
use taiga_mcp::sandbox::{CallContext, CallFailure, CallPolicy, ComponentSource, Guards, Limits, Sandbox, Settings};
use taiga_mcp::store::MemoryStore;

use crate::{ms, stats};

/// Sandbox slots of each variant: the calls run one at a time.
const SLOTS: u32 = 4;

/// The guard sets compared, with their names in the report.
const VARIANTS: [(&str, Guards); 5] = [
    (
        "none",
        Guards {
            epochs: false,
            fuel: false,
            memory_limiter: false,
        },
    ),
    (
        "epochs",
        Guards {
            epochs: true,
            fuel: false,
            memory_limiter: false,
        },
    ),
    (
        "memory limiter",
        Guards {
            epochs: false,
            fuel: false,
            memory_limiter: true,
        },
    ),
    (
        "fuel",
        Guards {
            epochs: false,
            fuel: true,
            memory_limiter: false,
        },
    ),
    (
        "epochs + memory limiter (shipped)",
        Guards {
            epochs: true,
            fuel: false,
            memory_limiter: true,
        },
    ),
];

struct Bench {
    sandbox: Sandbox,
    context: CallContext,
    policy: CallPolicy,
}

impl Bench {
    async fn call(&self, tool: &str, arguments: &Value) -> Result<Value, CallFailure> {
        let result = self
            .sandbox
            .call_tool(tool, &arguments.to_string(), &self.context, &self.policy, None)
            .await?;
        Ok(serde_json::from_str(&result.structured).unwrap_or(Value::Null))
    }

    async fn time(&self, tool: &str, arguments: &Value, calls: usize) -> anyhow::Result<Vec<Duration>> {
        let mut samples = Vec::with_capacity(calls);
        for _ in 0..calls {
            let started = Instant::now();
            let outcome = self.call(tool, arguments).await;
            samples.push(started.elapsed());
            match (tool, outcome) {
                ("no_such_tool", Err(CallFailure::Dispatch(_))) => {}
                (_, Ok(body)) if body.get("code").is_none() => {}
                (_, other) => anyhow::bail!("{tool}: unexpected {other:?}"),
            }
        }
        Ok(samples)
    }

    /// `list-tools`: pure computation in the guest (75 tools and their schemas), no I/O.
    async fn time_catalogue(&self, calls: usize) -> anyhow::Result<Vec<Duration>> {
        let mut samples = Vec::with_capacity(calls);
        for _ in 0..calls {
            let started = Instant::now();
            self.sandbox.list_tools().await?;
            samples.push(started.elapsed());
        }
        Ok(samples)
    }
}

/// Prints the sandbox section of the report.
pub async fn report(sim_url: &str, project: i64, calls: usize) -> anyhow::Result<()> {
    let origin = Origin::parse(sim_url).map_err(|err| anyhow::anyhow!(err))?;
    println!("\n## The sandbox alone (no MCP, no process boundary)\n");
    println!(
        "Each row loads the component with those guards, logs in, then times {calls} calls of an unknown tool \
         (instantiation from `InstancePre` in a fresh `Store`, plus the dispatch refusal), {calls} `get_project` \
         and {} `list_user_stories` (30 items) against the simulator, and {} `list-tools` (CPU only, no I/O). ms.\n",
        calls / 5,
        calls / 5
    );
    println!(
        "| guards | instantiate + refuse p50 | p99 | list-tools p50 | p99 | get_project p50 | p99 | list_user_stories p50 | p99 |\n\
         |---|---|---|---|---|---|---|---|---|"
    );
    // Like the bridge, the section loads `TAIGA_COMPONENT` when set, to measure a candidate build.
    let source = ComponentSource {
        path: std::env::var_os("TAIGA_COMPONENT").map(PathBuf::from),
        cache_dir: None,
    };
    for (name, guards) in VARIANTS {
        let sandbox = Sandbox::load_with_guards(
            &source,
            Arc::new(MemoryStore::new()),
            Arc::new(Metrics::default()),
            SLOTS,
            guards,
        )?;
        let bench = Bench {
            sandbox,
            context: CallContext {
                caller: "bench".to_owned(),
                namespace: "bench".to_owned(),
                settings: Settings {
                    default_taiga_url: sim_url.to_owned(),
                    session_ttl_seconds: 3600,
                    max_sessions_per_user: 100,
                    login_rate_limit: 1_000_000,
                    login_lockout_seconds: 60,
                    request_timeout_ms: 30_000,
                    max_response_bytes: 16 << 20,
                    max_attachment_bytes: 1 << 20,
                    login_type: "normal".to_owned(),
                    metadata_ttl_seconds: 300,
                    identity: None,
                },
            },
            policy: CallPolicy::new(
                "bench",
                Limits {
                    memory_bytes: 64 << 20,
                    call_timeout: Duration::from_secs(60),
                    request_timeout: Duration::from_secs(30),
                },
                AllowList::new(vec![origin.clone()]),
                &Trust::standard(),
            ),
        };
        let login = bench
            .call("login", &json!({"username": "admin", "password": "123123"}))
            .await?;
        let session = login["session_id"]
            .as_str()
            .context("login gave no session")?
            .to_owned();
        let get = json!({"session_id": session, "project_id": project});
        let list = json!({"session_id": session, "project_id": project});
        bench.time("get_project", &get, calls / 10).await?;
        let refuse = stats(bench.time("no_such_tool", &json!({}), calls).await?);
        let detail = stats(bench.time("get_project", &get, calls).await?);
        let page = stats(bench.time("list_user_stories", &list, calls / 5).await?);
        let catalogue = stats(bench.time_catalogue(calls / 5).await?);
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} |",
            ms(refuse.p50),
            ms(refuse.p99),
            ms(catalogue.p50),
            ms(catalogue.p99),
            ms(detail.p50),
            ms(detail.p99),
            ms(page.p50),
            ms(page.p99)
        );
    }
    Ok(())
}
