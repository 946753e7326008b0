//! `taiga-bench`: the bridge's own cost, measured against the in-process simulator on loopback with
//! a real MCP client (rmcp over stdio), and the sandbox alone. Prints a Markdown report; see
//! BENCHMARKS.md.

mod apps;
mod round_trips;
mod sandbox;
mod sessions;
mod soak;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, JsonObject, NumberOrString, ServerJsonRpcMessage, ServerResult,
};
use rmcp::service::{RoleClient, RunningService, ServiceExt};
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};
use taiga_sim::model::ItemKind;
use taiga_sim::{Seed, Simulator};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Benchmarks taiga-mcp (a release build) against the simulator.
#[derive(Debug, Parser)]
struct Flags {
    /// Calls per latency measurement.
    #[arg(long, default_value_t = 1000)]
    calls: usize,
    /// The taiga-mcp binary (default: target/release/taiga-mcp).
    #[arg(long)]
    binary: Option<PathBuf>,
    /// Runs of the warm start-up measurement.
    #[arg(long, default_value_t = 10)]
    startups: usize,
    /// Only the sandbox section: instantiation and the cost of each guard, in process.
    #[arg(long)]
    sandbox_only: bool,
    /// Also write the whole tools/list result to this file (for the size analysis in BENCHMARKS.md).
    #[arg(long)]
    tools_json: Option<PathBuf>,
    /// Threads of the MCP client's runtime in the stdio sections (1: a single-threaded event loop).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    client_threads: u16,
    /// An environment variable for the Streamable HTTP bridge, `KEY=VALUE` (repeatable): for example
    /// `HTTP_STATELESS=true`, or `TOKIO_WORKER_THREADS=1` for its runtime's worker threads.
    #[arg(long, value_parser = parse_setting)]
    http_env: Vec<(String, String)>,
    /// Only the soak: this many calls over Streamable HTTP with faults injected now and then,
    /// sampling the bridge's memory, file descriptors and store entries every tenth of them.
    #[arg(long)]
    soak: Option<usize>,
    /// Concurrent clients of the soak.
    #[arg(long, default_value_t = 50)]
    soak_clients: usize,
    /// MCP sessions the "Sessions and memory" section opens.
    #[arg(long, default_value_t = 2000)]
    sessions: usize,
    /// Only the "Sessions and memory" section.
    #[arg(long)]
    sessions_only: bool,
    /// Rounds of the everyday calls in the "Round trips" section, per configuration.
    #[arg(long, default_value_t = 20)]
    rounds: usize,
    /// Only the "Round trips" section.
    #[arg(long)]
    round_trips_only: bool,
    /// Only the "MCP Apps" section.
    #[arg(long)]
    apps_only: bool,
}

type Client = RunningService<RoleClient, ()>;

fn parse_setting(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .filter(|(key, _)| !key.is_empty())
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE"))
}

struct Bridge {
    client: Client,
    pid: u32,
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

async fn spawn(binary: &Path, sim: &str, cache: &Path, extra: &[(&str, &str)]) -> anyhow::Result<Bridge> {
    let mut command = tokio::process::Command::new(binary);
    command
        .env("TAIGA_API_URL", sim)
        .env("ALLOW_HTTP_TAIGA", "true")
        .env("TAIGA_MCP_CACHE_DIR", cache)
        .env("LOG_LEVEL", "warn")
        .env("LOGIN_RATE_LIMIT", "1000000")
        .env("TAIGA_TOOLSETS", "all");
    for (key, value) in extra {
        command.env(key, value);
    }
    let transport = TokioChildProcess::builder(command)
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let (transport, _stderr) = transport;
    let pid = transport.id().context("child pid")?;
    let client = ().serve(transport).await?;
    Ok(Bridge { client, pid })
}

/// A bridge serving Streamable HTTP on a free loopback port, killed when dropped.
struct HttpBridge {
    process: tokio::process::Child,
    /// `127.0.0.1:<port>`.
    address: String,
}

impl HttpBridge {
    /// Starts `binary` against the simulator at `sim` with `settings` besides the bench's own, and
    /// waits until it accepts connections (a cold compiled-code cache makes a debug build's first
    /// start take up to a minute).
    async fn start(binary: &Path, sim: &str, cache: &Path, settings: &[(String, String)]) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let address = format!("127.0.0.1:{port}");
        let process = tokio::process::Command::new(binary)
            .args(["--transport", "http", "--listen", &address])
            .env("TAIGA_API_URL", sim)
            .env("ALLOW_HTTP_TAIGA", "true")
            .env("TAIGA_MCP_CACHE_DIR", cache)
            .env("LOG_LEVEL", "error")
            .env("LOGIN_RATE_LIMIT", "1000000")
            .envs(settings.iter().cloned())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        for _ in 0..2400 {
            if TcpStream::connect(&address).await.is_ok() {
                return Ok(Self { process, address });
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        bail!("the HTTP server did not start")
    }

    /// Its process id.
    fn pid(&self) -> anyhow::Result<u32> {
        self.process.id().context("the bridge has exited")
    }

    /// Its MCP endpoint.
    fn url(&self) -> String {
        format!("http://{}/mcp", self.address)
    }

    /// Stops it.
    async fn stop(mut self) -> anyhow::Result<()> {
        Ok(self.process.kill().await?)
    }
}

/// Calls `tool` and returns the whole result, an error result included.
async fn call_result(client: &Client, tool: &str, arguments: Value) -> anyhow::Result<CallToolResult> {
    let Value::Object(arguments) = arguments else {
        bail!("arguments must be an object")
    };
    Ok(client
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments as JsonObject))
        .await?)
}

/// Signs in as the simulator's admin; the session id.
async fn sign_in(client: &Client) -> anyhow::Result<String> {
    let login = call(client, "login", json!({"username": "admin", "password": "123123"})).await?;
    Ok(login["session_id"].as_str().context("session id")?.to_owned())
}

async fn call(client: &Client, tool: &str, arguments: Value) -> anyhow::Result<Value> {
    let result = call_result(client, tool, arguments).await?;
    let body = result.structured_content.unwrap_or(Value::Null);
    if result.is_error == Some(true) {
        bail!("{tool} failed: {body}");
    }
    Ok(body)
}

/// A keep-alive HTTP/1.1 connection to Taiga: the cheapest way any client can ask it something,
/// and so the baseline the bridge's overhead is measured against.
struct KeepAlive {
    stream: TcpStream,
    address: String,
    token: String,
}

impl KeepAlive {
    async fn connect(address: &str, token: &str) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            address: address.to_owned(),
            token: token.to_owned(),
        })
    }

    /// One GET; the body must come with a Content-Length, as the simulator's do.
    async fn get(&mut self, path: &str) -> anyhow::Result<Vec<u8>> {
        let request = format!(
            "GET /api/v1{path} HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {}\r\naccept: application/json\r\n\r\n",
            self.address, self.token
        );
        self.stream.write_all(request.as_bytes()).await?;
        let mut raw = Vec::with_capacity(64 * 1024);
        let mut buffer = vec![0u8; 64 * 1024];
        let split = loop {
            if let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                break split;
            }
            let read = self.stream.read(&mut buffer).await?;
            anyhow::ensure!(read > 0, "connection closed before the headers");
            raw.extend_from_slice(&buffer[..read]);
        };
        let headers = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
        let length: usize = headers
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .context("no content-length")?
            .trim()
            .parse()?;
        let mut body = raw.split_off(split + 4);
        while body.len() < length {
            let read = self.stream.read(&mut buffer).await?;
            anyhow::ensure!(read > 0, "connection closed mid-body");
            body.extend_from_slice(&buffer[..read]);
        }
        Ok(body)
    }
}

/// One HTTP/1.1 request on a fresh connection.
async fn direct(address: &str, path: &str, token: &str) -> anyhow::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(address).await?;
    let request = format!(
        "GET /api/v1{path} HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {token}\r\naccept: application/json\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").context("no header end")?;
    Ok(raw[split + 4..].to_vec())
}

/// A gauge's value from the bridge's /metrics.
async fn gauge(admin: &str, name: &str) -> anyhow::Result<f64> {
    let mut stream = TcpStream::connect(admin).await?;
    let request = format!("GET /metrics HTTP/1.1\r\nhost: {admin}\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw);
    let line = text
        .lines()
        .find(|line| line.split_whitespace().next() == Some(name))
        .with_context(|| format!("/metrics has no {name}"))?;
    Ok(line.split_whitespace().nth(1).context("no value")?.parse()?)
}

/// CPU time (user and system) a process has used so far, all its threads included.
fn cpu_time(pid: u32) -> Duration {
    // The fields after the command name, which is in parentheses and may hold spaces: the state is
    // field 3 of stat, so utime and stime (fields 14 and 15) are the 12th and 13th of these, counted
    // in USER_HZ ticks (100 a second on Linux).
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let tick = |index: usize| {
        fields
            .get(index)
            .and_then(|field| field.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Duration::from_millis((tick(11) + tick(12)) * 10)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

struct Stats {
    p50: Duration,
    p95: Duration,
    p99: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    Stats {
        p50: percentile(&samples, 0.5),
        p95: percentile(&samples, 0.95),
        p99: percentile(&samples, 0.99),
    }
}

fn ms(duration: Duration) -> String {
    format!("{:.3}", duration.as_secs_f64() * 1000.0)
}

fn signed_ms(a: Duration, b: Duration) -> String {
    format!("{:+.3}", (a.as_secs_f64() - b.as_secs_f64()) * 1000.0)
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with(field))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Flags::parse();
    let binary = args
        .binary
        .unwrap_or_else(|| workspace().join("target/release/taiga-mcp"));
    let sim = Simulator::start(Seed::Demo).await?;
    let sim_url = sim.url();
    let address = sim_url.trim_start_matches("http://").to_owned();
    let (project, thousand, token) = {
        let mut state = sim.state();
        let admin = state.user_by_login("admin").context("admin")?.id;
        let project = state
            .projects
            .iter()
            .find(|p| p.name == "Demo Scrum")
            .context("project")?
            .id;
        for n in 0..10_000 {
            state.add_user(
                &format!("bench{n}"),
                &format!("bench{n}@example.com"),
                "123123",
                "Bench User",
            );
        }
        // 40 more stories where the per-call rows list a 30-item page; 1000 in a project of their own
        // for the `all: true` row, so that the simulator's page stays cheap for the per-call rows.
        let thousand = state.create_project(admin, "Bench Thousand", "A thousand stories for the bench.", true, 1);
        for (target, count) in [(project, 40), (thousand, 1000)] {
            for n in 0..count {
                let body = json!({"project": target, "subject": format!("Story {n}"), "tags": ["bench"]});
                state
                    .create_item(ItemKind::UserStory, admin, body.as_object().context("object")?)
                    .map_err(|err| anyhow::anyhow!("{err:?}"))?;
            }
        }
        (project, thousand, state.issue_tokens(admin).0)
    };
    if args.sandbox_only {
        return sandbox::report(&sim_url, project, args.calls).await;
    }
    anyhow::ensure!(
        binary.exists(),
        "{} is missing: cargo build --release -p taiga-mcp",
        binary.display()
    );
    let scratch = std::env::temp_dir().join(format!("taiga-bench-{}", std::process::id()));
    let cache = scratch.join("cache");
    let round_trips = round_trips::RoundTrips {
        binary: &binary,
        sim: &sim,
        cache: &cache,
        address: &address,
        token: &token,
        project,
        rounds: args.rounds,
    };
    if args.round_trips_only {
        round_trips::report(&round_trips).await?;
        let _ = std::fs::remove_dir_all(&scratch);
        return Ok(());
    }
    if args.apps_only {
        let bridge = spawn(&binary, &sim_url, &cache, &[]).await?;
        let session = sign_in(&bridge.client).await?;
        apps::report(&bridge.client, &session, project).await?;
        let _ = std::fs::remove_dir_all(&scratch);
        return Ok(());
    }
    if args.sessions_only {
        sessions::report(&binary, &sim_url, &cache, args.sessions).await?;
        let _ = std::fs::remove_dir_all(&scratch);
        return Ok(());
    }
    if let Some(calls) = args.soak {
        let public = sim
            .state()
            .projects
            .iter()
            .find(|p| p.name == "Public Sample")
            .context("the public project")?
            .id;
        let soak = soak::Soak {
            binary: &binary,
            sim: &sim,
            cache: &cache,
            project: public,
            calls,
            clients: args.soak_clients,
            settings: &args.http_env,
        };
        soak::run(&soak).await?;
        let _ = std::fs::remove_dir_all(&scratch);
        return Ok(());
    }
    println!("# taiga-mcp benchmark\n");
    println!("- binary: `{}`", binary.display());
    println!("- calls per latency row: {}", args.calls);
    println!("- threads of the stdio client's runtime: {}", args.client_threads);
    for (key, value) in &args.http_env {
        println!("- Streamable HTTP bridge: `{key}={value}`");
    }

    let setup = Setup {
        binary: binary.clone(),
        sim_url: sim_url.clone(),
        address: address.clone(),
        cache: cache.clone(),
        project,
        thousand,
        token: token.clone(),
        calls: args.calls,
        startups: args.startups,
        tools_file: args.tools_json.clone(),
    };
    // The client runs on a runtime of its own, by default on one thread as Node's and Python's
    // asyncio clients do, while the simulator keeps the main runtime's workers (Taiga is another
    // process). `--client-threads` gives the client a multi-threaded runtime instead.
    let client_threads = args.client_threads;
    let (done, finished) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let runtime = if client_threads == 1 {
            tokio::runtime::Builder::new_current_thread().enable_all().build()
        } else {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(usize::from(client_threads))
                .enable_all()
                .build()
        };
        let outcome = runtime
            .map_err(anyhow::Error::from)
            .and_then(|runtime| runtime.block_on(over_stdio(setup)));
        let _ = done.send(outcome);
    });
    finished.await.context("the stdio client's thread stopped")??;

    sandbox::report(&sim_url, project, args.calls).await?;
    let http = Http {
        binary: &binary,
        sim: &sim_url,
        address: &address,
        cache: &cache,
        project,
        token: &token,
        calls: args.calls,
        settings: &args.http_env,
    };
    over_http(&http).await?;
    round_trips::report(&round_trips).await?;
    sessions::report(&binary, &sim_url, &cache, args.sessions).await?;
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

/// What the stdio sections need: the bridge binary and the simulator with its bench data.
struct Setup {
    binary: PathBuf,
    sim_url: String,
    address: String,
    cache: PathBuf,
    project: i64,
    thousand: i64,
    token: String,
    calls: usize,
    startups: usize,
    tools_file: Option<PathBuf>,
}

/// The choices whose `tools/list` size the bench reports: the two named sets, then each toolset
/// (which always comes with the session tools).
const TOOLSETS_MEASURED: &[&str] = &[
    "default",
    "all",
    "session",
    "projects",
    "members",
    "epics",
    "stories",
    "bulk",
    "tasks",
    "issues",
    "sprints",
    "wiki",
    "comments",
    "attachments",
    "custom_fields",
    "actions",
    "search",
    "reports",
    "activity",
];

/// Start-up, context cost, per-call latency, the large list and memory, through one stdio client.
async fn over_stdio(setup: Setup) -> anyhow::Result<()> {
    let Setup {
        binary,
        sim_url,
        address,
        cache,
        project,
        thousand,
        token,
        calls,
        startups,
        tools_file,
    } = setup;
    // Start-up: cold (empty cache) once, then warm.
    let started = Instant::now();
    let bridge = spawn(&binary, &sim_url, &cache, &[]).await?;
    let tools = bridge.client.list_all_tools().await?;
    let cold = started.elapsed();
    bridge.client.cancel().await?;
    let mut warm = Vec::new();
    for _ in 0..startups {
        let started = Instant::now();
        let bridge = spawn(&binary, &sim_url, &cache, &[]).await?;
        bridge.client.list_all_tools().await?;
        warm.push(started.elapsed());
        bridge.client.cancel().await?;
    }
    let warm = stats(warm);
    println!("\n## Start-up to the first tools/list answer\n");
    println!("| cache | ms |\n|---|---|");
    println!("| cold (compiles the component) | {} |", ms(cold));
    println!(
        "| warm, p50 of {} | {} (p95 {}) |",
        startups,
        ms(warm.p50),
        ms(warm.p95)
    );

    // Context cost.
    let tools_json = serde_json::to_vec(&json!({"tools": tools}))?;
    if let Some(path) = &tools_file {
        std::fs::write(path, &tools_json).with_context(|| format!("writing {}", path.display()))?;
    }
    println!("\n## Context cost\n");
    println!("| what | bytes |\n|---|---|");
    println!(
        "| whole tools/list result ({} tools) | {} |",
        tools.len(),
        tools_json.len()
    );

    let bridge = spawn(&binary, &sim_url, &cache, &[]).await?;
    let session = sign_in(&bridge.client).await?;
    let stories = call(
        &bridge.client,
        "list_user_stories",
        json!({"session_id": session, "project_id": project}),
    )
    .await?;
    let raw_list = direct(
        &address,
        &format!("/userstories?project={project}&page=1&page_size=30"),
        &token,
    )
    .await?;
    let story_id = stories["items"][0]["id"].as_i64().context("story id")?;
    let story = call(
        &bridge.client,
        "get_user_story",
        json!({"session_id": session, "user_story_id": story_id}),
    )
    .await?;
    let raw_story = direct(&address, &format!("/userstories/{story_id}"), &token).await?;
    println!(
        "| list_user_stories, 30 items (structured content) | {} |",
        serde_json::to_vec(&stories)?.len()
    );
    println!("| the same page straight from Taiga | {} |", raw_list.len());
    println!(
        "| get_user_story (structured content) | {} |",
        serde_json::to_vec(&story)?.len()
    );
    println!("| the same story straight from Taiga | {} |", raw_story.len());
    println!("\n## tools/list by toolset\n");
    println!("| TAIGA_TOOLSETS | tools | bytes |\n|---|---|---|");
    for toolset in TOOLSETS_MEASURED {
        let bridge = spawn(&binary, &sim_url, &cache, &[("TAIGA_TOOLSETS", toolset)]).await?;
        let listed = bridge.client.list_all_tools().await?;
        let bytes = serde_json::to_vec(&json!({"tools": listed}))?.len();
        println!("| {toolset} | {} | {bytes} |", listed.len());
        bridge.client.cancel().await?;
    }

    apps::report(&bridge.client, &session, project).await?;

    // Per-call overhead over stdio.
    let rows = latency_calls(&session, project);
    latency(&bridge.client, bridge.pid, "stdio", &rows, &address, &token, calls).await?;

    // Large lists.
    let started = Instant::now();
    let everything = call(
        &bridge.client,
        "list_user_stories",
        json!({"session_id": session, "project_id": thousand, "all": true}),
    )
    .await?;
    let elapsed = started.elapsed();
    println!("\n## Large list\n");
    println!(
        "`list_user_stories` with `all: true` over {} stories: {} ms; peak resident memory of the bridge {} MiB.",
        everything["items"].as_array().map_or(0, Vec::len),
        ms(elapsed),
        rss_kib(bridge.pid, "VmHWM:") / 1024
    );

    bridge.client.cancel().await?;

    // Memory with many live sessions, in a fresh process whose /metrics reports the store's size.
    let admin = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.to_string();
    let bridge = spawn(&binary, &sim_url, &cache, &[("TAIGA_ADMIN_LISTEN", &admin)]).await?;
    bridge.client.list_all_tools().await?;
    let idle = rss_kib(bridge.pid, "VmRSS:");
    println!("\n## Resident memory (in-memory store, fresh process)\n");
    println!("| state | RSS MiB |\n|---|---|");
    println!("| idle, after tools/list | {:.1} |", idle as f64 / 1024.0);
    let mut count = 0;
    let mut after_1000 = (0, 0.0);
    for target in [1000, 10_000] {
        while count < target {
            let user = format!("bench{count}");
            call(&bridge.client, "login", json!({"username": user, "password": "123123"})).await?;
            count += 1;
        }
        let rss = rss_kib(bridge.pid, "VmRSS:");
        let store = gauge(&admin, "taiga_mcp_session_store_bytes").await?;
        if target == 1000 {
            after_1000 = (rss, store);
        }
        println!("| {target} live sessions | {:.1} |", rss as f64 / 1024.0);
    }
    let after = rss_kib(bridge.pid, "VmRSS:");
    let store = gauge(&admin, "taiga_mcp_session_store_bytes").await?;
    println!(
        "\nPer session, between 1,000 and 10,000 sessions: {:.0} bytes held by the store (keys and \
         values: the session record with Taiga's two tokens, and the user's session index), {:.0} bytes \
         of resident growth (those, the hash tables and allocator slack).",
        (store - after_1000.1) / 9_000.0,
        (after.saturating_sub(after_1000.0) * 1024) as f64 / 9_000.0
    );
    bridge.client.cancel().await?;
    Ok(())
}

/// The calls the per-call latency rows time: each tool with its arguments, and the Taiga request it makes.
fn latency_calls(session: &str, project: i64) -> [(&'static str, Value, String); 2] {
    [
        (
            "get_project",
            json!({"session_id": session, "project_id": project}),
            format!("/projects/{project}"),
        ),
        (
            "list_user_stories",
            json!({"session_id": session, "project_id": project}),
            format!("/userstories?project={project}&page=1&page_size=30"),
        ),
    ]
}

/// Prints the per-call latency table of one transport. Each sample times the Taiga request on a new
/// connection, then on a kept-alive one, then the call through the bridge, so that all three see
/// the same moment of the machine.
async fn latency(
    client: &Client,
    bridge_pid: u32,
    transport: &str,
    rows: &[(&str, Value, String)],
    address: &str,
    token: &str,
    calls: usize,
) -> anyhow::Result<()> {
    println!("\n## Per-call latency over {transport} (ms)\n");
    println!(
        "| call | direct, new connection p50 | direct, keep-alive p50 | p95 | p99 | bridge p50 | p95 | p99 | \
         overhead p50 | p95 | p99 | bridge CPU ms per call | the client's parse of the answer, p50 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut keep_alive = KeepAlive::connect(address, token).await?;
    for (tool, arguments, path) in rows {
        let mut bridged = Vec::with_capacity(calls);
        let mut fresh = Vec::with_capacity(calls);
        let mut kept = Vec::with_capacity(calls);
        let cpu_before = cpu_time(bridge_pid);
        for _ in 0..calls {
            let started = Instant::now();
            direct(address, path, token).await?;
            fresh.push(started.elapsed());
            let started = Instant::now();
            keep_alive.get(path).await?;
            kept.push(started.elapsed());
            let started = Instant::now();
            call(client, tool, arguments.clone()).await?;
            bridged.push(started.elapsed());
        }
        let cpu = cpu_time(bridge_pid).saturating_sub(cpu_before);
        let parse = client_parse(client, tool, arguments, calls).await?;
        let (b, f, d) = (stats(bridged), stats(fresh), stats(kept));
        println!(
            "| {tool} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.3} | {} |",
            ms(f.p50),
            ms(d.p50),
            ms(d.p95),
            ms(d.p99),
            ms(b.p50),
            ms(b.p95),
            ms(b.p99),
            signed_ms(b.p50, d.p50),
            signed_ms(b.p95, d.p95),
            signed_ms(b.p99, d.p99),
            cpu.as_secs_f64() * 1000.0 / calls as f64,
            ms(parse.p50)
        );
    }
    Ok(())
}

/// How long the MCP client itself takes to parse the bridge's answer to `tool` (the JSON-RPC
/// message, structured content and its JSON text): part of the overhead the latency rows measure,
/// though spent in the client, not the bridge.
async fn client_parse(client: &Client, tool: &str, arguments: &Value, samples: usize) -> anyhow::Result<Stats> {
    let result = call_result(client, tool, arguments.clone()).await?;
    let message = ServerJsonRpcMessage::response(ServerResult::CallToolResult(result), NumberOrString::Number(7));
    let wire = serde_json::to_string(&message)?;
    let mut parses = Vec::with_capacity(samples);
    for _ in 0..samples {
        let started = Instant::now();
        std::hint::black_box(serde_json::from_str::<ServerJsonRpcMessage>(&wire)?);
        parses.push(started.elapsed());
    }
    Ok(stats(parses))
}

/// What the Streamable HTTP sections need.
struct Http<'a> {
    binary: &'a Path,
    sim: &'a str,
    address: &'a str,
    cache: &'a Path,
    project: i64,
    token: &'a str,
    calls: usize,
    settings: &'a [(String, String)],
}

/// Per-call latency through one Streamable HTTP client, then calls per second and latency of
/// `get_project` with many concurrent clients.
async fn over_http(http: &Http<'_>) -> anyhow::Result<()> {
    use rmcp::transport::StreamableHttpClientTransport;

    let &Http {
        binary,
        sim,
        address,
        cache,
        project,
        token,
        calls,
        settings,
    } = http;

    // The throughput rows open up to 1,000 clients from this one address.
    let mut bridge_settings: Vec<(String, String)> = [
        ("TAIGA_TOOLSETS", "all"),
        ("HTTP_MAX_CONNECTIONS", "4096"),
        ("HTTP_MAX_CONNECTIONS_PER_CLIENT", "4096"),
        ("MCP_SESSIONS_PER_CLIENT", "4096"),
        ("MCP_SESSIONS_PER_TENANT", "4096"),
    ]
    .map(|(key, value)| (key.to_owned(), value.to_owned()))
    .into();
    bridge_settings.extend_from_slice(settings);
    let server = HttpBridge::start(binary, sim, cache, &bridge_settings).await?;
    let url = server.url();
    let first = ().serve(StreamableHttpClientTransport::from_uri(url.clone())).await?;
    let login = call(&first, "login", json!({"username": "admin", "password": "123123"})).await?;
    let session = login["session_id"].as_str().context("session")?.to_owned();
    let bridge_pid = server.pid()?;
    let rows = latency_calls(&session, project);
    latency(&first, bridge_pid, "Streamable HTTP", &rows, address, token, calls).await?;

    println!("\n## Throughput over Streamable HTTP (get_project)\n");
    println!(
        "| clients | calls | calls/s | p50 ms | p99 ms | errors | bridge CPU ms per call | calls/s per bridge core | \
         client and simulator CPU ms per call |\n|---|---|---|---|---|---|---|---|---|"
    );
    for clients in [1usize, 10, 100, 1000] {
        let per_client = (calls * 2 / clients).max(2);
        let mut connected = Vec::with_capacity(clients);
        for _ in 0..clients {
            connected.push(().serve(StreamableHttpClientTransport::from_uri(url.clone())).await?);
        }
        let arguments = json!({"session_id": session, "project_id": project});
        let (bridge_cpu, own_cpu) = (cpu_time(bridge_pid), cpu_time(std::process::id()));
        let started = Instant::now();
        let tasks: Vec<_> = connected
            .into_iter()
            .map(|client| {
                let arguments = arguments.clone();
                tokio::spawn(async move {
                    let mut samples = Vec::with_capacity(per_client);
                    let mut errors = 0usize;
                    for _ in 0..per_client {
                        let begun = Instant::now();
                        match call(&client, "get_project", arguments.clone()).await {
                            Ok(_) => samples.push(begun.elapsed()),
                            Err(_) => errors += 1,
                        }
                    }
                    let _ = client.cancel().await;
                    (samples, errors)
                })
            })
            .collect();
        let mut samples = Vec::new();
        let mut errors = 0;
        for task in tasks {
            let (mut mine, failed) = task.await?;
            samples.append(&mut mine);
            errors += failed;
        }
        let elapsed = started.elapsed();
        let bridge_cpu = cpu_time(bridge_pid).saturating_sub(bridge_cpu);
        let own_cpu = cpu_time(std::process::id()).saturating_sub(own_cpu);
        let count = samples.len();
        let latency = stats(samples);
        println!(
            "| {clients} | {count} | {:.0} | {} | {} | {errors} | {:.3} | {:.0} | {:.3} |",
            count as f64 / elapsed.as_secs_f64(),
            ms(latency.p50),
            ms(latency.p99),
            bridge_cpu.as_secs_f64() * 1000.0 / count as f64,
            count as f64 / bridge_cpu.as_secs_f64(),
            own_cpu.as_secs_f64() * 1000.0 / count as f64
        );
    }
    first.cancel().await?;
    server.stop().await?;
    Ok(())
}
