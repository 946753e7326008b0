//! The simulator's listener: HTTP/1.1 only, plain or over TLS, as taiga-back serves.
//!
//! Taiga's production image runs gunicorn, which speaks HTTP/1.0 and 1.1 and nothing else (no
//! HTTP/2, no h2c), usually behind a proxy that terminates TLS. `axum::serve` would also accept
//! HTTP/2, which Taiga would refuse, so connections are served with hyper's HTTP/1 server alone.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A TLS server identity: the certificate chain and its private key, both PEM.
#[derive(Clone)]
pub struct Tls {
    acceptor: TlsAcceptor,
}

impl Tls {
    /// Reads a PEM certificate chain (leaf first) and a PEM private key.
    pub fn from_pem_files(chain: &Path, key: &Path) -> std::io::Result<Self> {
        let invalid = |what: &str, path: &Path, err: &dyn std::fmt::Display| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{what} {}: {err}", path.display()),
            )
        };
        let certificates = CertificateDer::pem_file_iter(chain)
            .map_err(|err| invalid("certificate chain", chain, &err))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| invalid("certificate chain", chain, &err))?;
        let key = PrivateKeyDer::from_pem_file(key).map_err(|err| invalid("private key", key, &err))?;
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|err| invalid("TLS versions for", chain, &err))?
            .with_no_client_auth()
            .with_single_cert(certificates, key)
            .map_err(|err| invalid("certificate and key", chain, &err))?;
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }
}

/// Serves `router` on `listener` until the task is aborted, each connection on its own task.
pub async fn serve(listener: TcpListener, router: Router, tls: Option<Tls>) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone().layer(axum::Extension(ConnectInfo(peer))));
        let tls = tls.clone();
        tokio::spawn(async move {
            let http1 = hyper::server::conn::http1::Builder::new();
            let served = match tls {
                None => http1.serve_connection(TokioIo::new(stream), service).await,
                Some(tls) => match tls.acceptor.accept(stream).await {
                    Ok(stream) => http1.serve_connection(TokioIo::new(stream), service).await,
                    // A client that refuses the certificate closes the handshake; nothing to serve.
                    Err(_) => return,
                },
            };
            // A request Taiga's server could not parse either; closed connections are ordinary.
            if let Err(err) = served
                && err.is_parse()
            {
                eprintln!("taiga-sim: connection from {peer}: {err}");
            }
        });
    }
}

/// The listener's address as a URL origin.
pub fn origin(address: SocketAddr, tls: bool) -> String {
    format!("{}://{address}", if tls { "https" } else { "http" })
}
