//! `taiga-mcp`: an MCP server for Taiga. The tool logic runs in a WebAssembly sandbox; this host
//! provides the MCP transport, outbound HTTP to allowed Taiga hosts, and the session store.

use std::process::ExitCode;

use taiga_mcp::config::{ArgsError, Transport, parse_args};

fn main() -> ExitCode {
    let cli = match parse_args(std::env::args_os().collect()) {
        Ok(cli) => cli,
        Err(ArgsError::Clap(err)) => err.exit(),
        Err(err @ ArgsError::File(_)) => {
            eprintln!("taiga-mcp: {err}");
            return ExitCode::from(2);
        }
    };
    let config = match cli.into_config() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("taiga-mcp: configuration error: {err}");
            return ExitCode::from(2);
        }
    };
    taiga_mcp::logs::init(&config);
    // Over stdio one client sends one request at a time or so, and a call's CPU is bounded by its
    // epoch deadline: one thread serves it without the cross-thread wake-ups that cost a
    // multi-threaded runtime about 40 % more CPU per call (BENCHMARKS.md).
    let mut builder = match config.transport {
        Transport::Stdio => tokio::runtime::Builder::new_current_thread(),
        Transport::Http => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("taiga-mcp: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(taiga_mcp::app::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %format!("{err:#}"), "taiga-mcp stopped");
            ExitCode::FAILURE
        }
    }
}
