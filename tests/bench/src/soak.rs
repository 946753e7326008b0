//! The soak: many calls over Streamable HTTP from many clients while the simulator misbehaves now
//! and then in every way it can, watching the bridge's resident memory, open file descriptors and
//! store entries. Once warm, none of them may grow.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use rmcp::service::ServiceExt;
use rmcp::transport::StreamableHttpClientTransport;
use serde_json::json;
use taiga_sim::{Fault, FaultRule, Simulator};

use crate::{Client, HttpBridge, call_result, gauge, rss_kib};

/// Rounds between samples: each is a tenth of the calls.
const ROUNDS: usize = 10;

/// What the soak is asked to do.
pub struct Soak<'a> {
    /// The bridge binary.
    pub binary: &'a Path,
    /// The simulator, in process, so that faults can be injected directly.
    pub sim: &'a Simulator,
    /// The compiled-code cache.
    pub cache: &'a Path,
    /// A public project every user may read.
    pub project: i64,
    /// Calls in all.
    pub calls: usize,
    /// Concurrent MCP clients, each signed in as its own user (`bench0`, `bench1`, ...).
    pub clients: usize,
    /// Environment of the bridge beyond the soak's own (`CALL_SLOTS=64`, ...).
    pub settings: &'a [(String, String)],
}

/// Every fault the simulator can inject, each once per round (a slow answer, 5xx, 429, broken
/// JSON, a connection closed mid-body, an endless body, an oversized body, a redirect).
fn faults(sim_url: &str) -> Vec<Fault> {
    vec![
        Fault::Latency { ms: 200 },
        Fault::Status { status: 502 },
        Fault::Throttle { wait_seconds: 1 },
        Fault::MalformedJson,
        Fault::CloseMidBody,
        Fault::EndlessBody,
        Fault::Oversized { bytes: 20 << 20 },
        Fault::Redirect {
            location: format!("{sim_url}/api/v1/users/me"),
        },
    ]
}

struct Sample {
    calls: usize,
    seconds: f64,
    rss_kib: u64,
    fds: usize,
    store_entries: f64,
    tool_errors: usize,
    protocol_errors: usize,
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

/// One client's share of a round: a mix of reads, a list page, session checks, and now and then
/// a new login as its user (whose oldest session ends at MAX_SESSIONS_PER_USER) so that the store
/// churns.
async fn client_round(client: &Client, user: &str, session: &mut String, project: i64, calls: usize) -> (usize, usize) {
    let (mut tool_errors, mut protocol_errors) = (0, 0);
    for n in 0..calls {
        let (tool, arguments) = match n % 10 {
            0 => ("login", json!({"username": user, "password": "123123"})),
            1..=4 => ("get_project", json!({"session_id": session, "project_id": project})),
            5..=7 => (
                "list_user_stories",
                json!({"session_id": session, "project_id": project, "page_size": 5}),
            ),
            _ => ("session_status", json!({"session_id": session})),
        };
        match call_result(client, tool, arguments).await {
            Ok(result) if result.is_error == Some(true) => tool_errors += 1,
            Ok(result) => {
                if tool == "login"
                    && let Some(id) = result
                        .structured_content
                        .as_ref()
                        .and_then(|body| body["session_id"].as_str())
                {
                    *session = id.to_owned();
                }
            }
            Err(_) => protocol_errors += 1,
        }
    }
    (tool_errors, protocol_errors)
}

/// Runs the soak and prints its table.
pub async fn run(soak: &Soak<'_>) -> anyhow::Result<()> {
    let mut settings = vec![("REQUEST_TIMEOUT".to_owned(), "2".to_owned())];
    settings.extend_from_slice(soak.settings);
    let server = HttpBridge::start(soak.binary, &soak.sim.url(), soak.cache, &settings).await?;
    let (listen, pid, url) = (server.address.clone(), server.pid()?, server.url());
    let mut clients = Vec::with_capacity(soak.clients);
    for n in 0..soak.clients {
        let user = format!("bench{n}");
        let client: Client = ().serve(StreamableHttpClientTransport::from_uri(url.clone())).await?;
        let login = call_result(&client, "login", json!({"username": user, "password": "123123"})).await?;
        let session = login
            .structured_content
            .as_ref()
            .and_then(|body| body["session_id"].as_str())
            .context("login gave no session")?
            .to_owned();
        clients.push((client, user, session));
    }
    let sample = |calls: usize, started: Instant, tool_errors: usize, protocol_errors: usize| {
        let listen = listen.clone();
        async move {
            Ok::<_, anyhow::Error>(Sample {
                calls,
                seconds: started.elapsed().as_secs_f64(),
                rss_kib: rss_kib(pid, "VmRSS:"),
                fds: open_fds(pid),
                store_entries: gauge(&listen, "taiga_mcp_session_store_entries").await?,
                tool_errors,
                protocol_errors,
            })
        }
    };
    let started = Instant::now();
    let mut samples = vec![sample(0, started, 0, 0).await?];
    let per_client = (soak.calls / ROUNDS / soak.clients).max(1);
    let (mut done, mut tool_errors, mut protocol_errors) = (0, 0, 0);
    let sim_url = soak.sim.url();
    for _ in 0..ROUNDS {
        for (n, fault) in faults(&sim_url).into_iter().enumerate() {
            let path_prefix = if n % 2 == 0 {
                "/api/v1/projects"
            } else {
                "/api/v1/userstories"
            };
            soak.sim.inject(FaultRule {
                path_prefix: Some(path_prefix.to_owned()),
                times: Some(1),
                fault,
            });
        }
        let project = soak.project;
        let tasks: Vec<_> = clients
            .drain(..)
            .map(|(client, user, mut session)| {
                tokio::spawn(async move {
                    let errors = client_round(&client, &user, &mut session, project, per_client).await;
                    (client, user, session, errors)
                })
            })
            .collect();
        for task in tasks {
            let (client, user, session, (tools, protocol)) = task.await?;
            clients.push((client, user, session));
            tool_errors += tools;
            protocol_errors += protocol;
        }
        done += per_client * soak.clients;
        samples.push(sample(done, started, tool_errors, protocol_errors).await?);
    }
    for (client, _, _) in clients {
        let _ = client.cancel().await;
    }
    server.stop().await?;
    print(soak, &samples);
    Ok(())
}

fn print(soak: &Soak<'_>, samples: &[Sample]) {
    println!("\n## Soak over Streamable HTTP\n");
    println!(
        "{} clients each signed in as its own user, {} calls (login, get_project, list_user_stories, \
         session_status), every simulator fault injected {} times in all; bridge settings: {}. The first row is \
         before any call, the second after the first tenth (warm).\n",
        soak.clients,
        samples.last().map_or(0, |last| last.calls),
        ROUNDS,
        if soak.settings.is_empty() {
            "defaults".to_owned()
        } else {
            soak.settings
                .iter()
                .map(|(k, v)| format!("`{k}={v}`"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    println!("| calls | seconds | RSS KiB | open fds | store entries | tool errors | protocol errors |");
    println!("|---|---|---|---|---|---|---|");
    for sample in samples {
        println!(
            "| {} | {:.1} | {} | {} | {} | {} | {} |",
            sample.calls,
            sample.seconds,
            sample.rss_kib,
            sample.fds,
            sample.store_entries,
            sample.tool_errors,
            sample.protocol_errors
        );
    }
    if let (Some(warm), Some(last)) = (samples.get(1), samples.last()) {
        let peak = |value: fn(&Sample) -> f64| samples[1..].iter().map(value).fold(f64::MIN, f64::max);
        println!(
            "\nOnce warm (from {} calls): RSS {} -> {} KiB (peak {:.0}), fds {} -> {} (peak {:.0}), store entries {} -> {} (peak {:.0}).",
            warm.calls,
            warm.rss_kib,
            last.rss_kib,
            peak(|s| s.rss_kib as f64),
            warm.fds,
            last.fds,
            peak(|s| s.fds as f64),
            warm.store_entries,
            last.store_entries,
            peak(|s| s.store_entries)
        );
    }
}
