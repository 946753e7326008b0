//! `taiga-sim`: run the Taiga simulator so that `taiga-mcp` can be tried without a Taiga account.
//!
//! It prints `taiga-sim listening on URL` on stdout once it accepts connections: Taiga's URL, with
//! `https` and the base path when it serves them (`http://127.0.0.1:PORT` by default).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use clap::Parser;
use taiga_sim::{Mount, Seed, Simulator, Tls};

/// A Taiga 6.10 REST API simulator (loopback only).
#[derive(Debug, Parser)]
#[command(name = "taiga-sim", version, about)]
struct Flags {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// Starting data.
    #[arg(long, value_enum, default_value_t = Seed::Users)]
    seed: Seed,
    /// Serve Taiga under this path, as Taiga's `TAIGA_SUBPATH` does: `/taiga` puts the API at
    /// `/taiga/api/v1`. The control API stays at `/__sim/`.
    #[arg(long, default_value = "")]
    base_path: String,
    /// Serve HTTPS with this PEM certificate chain (leaf first); needs `--tls-key`.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of `--tls-cert`.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Install an auth plugin with this login type (`ldap`), whose directory holds the user
    /// `dana` with the password `directory-pass`.
    #[arg(long)]
    auth_plugin: Option<String>,
    /// Give attachments' urls under this address, as Taiga's `MEDIA_URL` setting does when files
    /// are served by another host (`https://media.example.com/media`).
    #[arg(long)]
    media_url: Option<String>,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Flags::parse();
    let address = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), args.port);
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(chain), Some(key)) => Some(Tls::from_pem_files(chain, key)?),
        _ => None,
    };
    let mount = Mount {
        base_path: args.base_path,
        tls,
        auth_plugin: args.auth_plugin,
        media_url: args.media_url,
    };
    let simulator = Simulator::start_on(address, args.seed, mount).await?;
    println!("taiga-sim listening on {}", simulator.url());
    simulator.run_forever().await;
    Ok(())
}
