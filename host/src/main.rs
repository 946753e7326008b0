//! `taiga-mcp`: an MCP server for Taiga. The tool logic runs in a WebAssembly sandbox; this host
//! provides the MCP transport, outbound HTTP to allowed Taiga hosts, and the session store.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use taiga_mcp::config::{Cli, Config, LogFormat, Transport, file_settings};

/// The `--config` path (or `TAIGA_MCP_CONFIG`), looked up before clap parses so that the file's
/// settings can sit below the environment and the flags.
fn config_path() -> Option<PathBuf> {
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        let text = arg.to_string_lossy();
        if text == "--config" {
            return args.next().map(PathBuf::from);
        }
        if let Some(path) = text.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os("TAIGA_MCP_CONFIG").map(PathBuf::from)
}

fn apply_config_file(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|err| format!("TAIGA_MCP_CONFIG: {}: {err}", path.display()))?;
    for (variable, value) in file_settings(&text).map_err(|err| format!("{err} (in {})", path.display()))? {
        if std::env::var_os(&variable).is_none() {
            // SAFETY: main is still single-threaded here: no runtime, logger or other thread exists yet.
            unsafe { std::env::set_var(&variable, value) };
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    if let Some(path) = config_path()
        && let Err(message) = apply_config_file(&path)
    {
        eprintln!("taiga-mcp: configuration error: {message}");
        return ExitCode::from(2);
    }
    let config = match Cli::parse().into_config() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("taiga-mcp: configuration error: {err}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config);
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

fn init_logging(config: &Config) {
    // rmcp logs whole protocol messages (login passwords included) below info: never let them out.
    // Its info lines (each stateless HTTP request starts and ends a service) repeat what the audit
    // line of each call says better.
    let filter = tracing_subscriber::EnvFilter::new(format!("{},rmcp=warn", config.log_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.with_ansi(false).init(),
    }
}
