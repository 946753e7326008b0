//! `taiga-mcp`: an MCP server for Taiga. The tool logic runs in a WebAssembly sandbox; this host
//! provides the MCP transport, outbound HTTP to allowed Taiga hosts, and the session store.

use std::process::ExitCode;

use clap::Parser;
use taiga_mcp::config::{Cli, Config, LogFormat};

fn main() -> ExitCode {
    let config = match Cli::parse().into_config() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("taiga-mcp: configuration error: {err}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
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

fn init_logging(config: &Config) {
    // rmcp logs whole protocol messages (login passwords included) below info: never let them out.
    let filter = tracing_subscriber::EnvFilter::new(format!("{},rmcp=info", config.log_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.with_ansi(false).init(),
    }
}
