//! `taiga-sim`: run the Taiga simulator so that `taiga-mcp` can be tried without a Taiga account.
//!
//! It prints `taiga-sim listening on http://127.0.0.1:PORT` on stdout once it accepts connections.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use clap::Parser;
use taiga_sim::{Seed, Simulator};

/// A Taiga 6.10 REST API simulator (loopback only).
#[derive(Debug, Parser)]
#[command(name = "taiga-sim", version, about)]
struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// Starting data.
    #[arg(long, value_enum, default_value_t = Seed::Users)]
    seed: Seed,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let address = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), args.port);
    let simulator = Simulator::start_on(address, args.seed).await?;
    println!("taiga-sim listening on {}", simulator.url());
    simulator.run_forever().await;
    Ok(())
}
