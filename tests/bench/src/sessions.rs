//! Sessions and memory: what MCP sessions cost the bridge while they are open, and whether it gives
//! that memory back once they end. Sessions are opened as a client that only says `initialize`
//! would (one POST each, nothing else), then left idle past `MCP_SESSION_IDLE_SECONDS`.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{HttpBridge, rss_kib};

/// The idle time the measured bridge ends sessions after.
const IDLE_SECONDS: u64 = 3;

/// Initializes sent at once.
const IN_FLIGHT: usize = 32;

/// One `initialize` on a connection of its own, as a raw HTTP/1.1 POST; the answer must name a session.
async fn initialize(address: &str) -> anyhow::Result<()> {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}"#;
    let request = format!(
        "POST /mcp HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(address).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let answer = String::from_utf8_lossy(&raw).to_ascii_lowercase();
    anyhow::ensure!(
        answer.starts_with("http/1.1 200") && answer.contains("mcp-session-id:"),
        "initialize was refused: {}",
        answer.lines().next().unwrap_or_default()
    );
    Ok(())
}

/// Opens `count` sessions on a bridge (`binary`, against the simulator at `sim`, its compiled code
/// cached in `cache`), lets them expire, and prints the table.
pub async fn report(binary: &Path, sim: &str, cache: &Path, count: usize) -> anyhow::Result<()> {
    let cap = count.to_string();
    let settings = [
        ("MCP_SESSIONS_PER_TENANT", cap.as_str()),
        ("MCP_SESSIONS_PER_CLIENT", cap.as_str()),
        ("MCP_SESSION_IDLE_SECONDS", &IDLE_SECONDS.to_string()),
    ]
    .map(|(key, value)| (key.to_owned(), value.to_owned()));
    let server = HttpBridge::start(binary, sim, cache, &settings).await?;
    let (address, pid) = (server.address.clone(), server.pid()?);
    // One session first, so that the baseline holds what any served session warms up.
    initialize(&address).await?;
    tokio::time::sleep(Duration::from_secs(IDLE_SECONDS + 3)).await;
    let before = rss_kib(pid, "VmRSS:");

    let mut opened = 0;
    while opened < count {
        let batch = IN_FLIGHT.min(count - opened);
        let tasks: Vec<_> = (0..batch)
            .map(|_| {
                let address = address.clone();
                tokio::spawn(async move { initialize(&address).await })
            })
            .collect();
        for task in tasks {
            task.await??;
        }
        opened += batch;
    }
    let open = rss_kib(pid, "VmRSS:");
    // Past the idle time, and the trim that follows the last session's end.
    tokio::time::sleep(Duration::from_secs(IDLE_SECONDS + 4)).await;
    let ended = rss_kib(pid, "VmRSS:");
    initialize(&address)
        .await
        .context("a new session after the others ended")?;
    server.stop().await?;

    let per_session = open.saturating_sub(before) as f64 / count as f64;
    println!("\n## Sessions and memory over Streamable HTTP\n");
    println!(
        "{} sessions opened with `initialize` alone, {IN_FLIGHT} at a time, then idle past \
         `MCP_SESSION_IDLE_SECONDS={IDLE_SECONDS}`.\n",
        count
    );
    println!(
        "| sessions | RSS before MiB | RSS open MiB | KiB per session | RSS after they ended MiB | kept after they ended MiB |"
    );
    println!("|---|---|---|---|---|---|");
    println!(
        "| {} | {:.1} | {:.1} | {per_session:.1} | {:.1} | {:.1} |",
        count,
        before as f64 / 1024.0,
        open as f64 / 1024.0,
        ended as f64 / 1024.0,
        ended.saturating_sub(before) as f64 / 1024.0
    );
    Ok(())
}
