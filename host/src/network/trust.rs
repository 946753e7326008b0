//! Which certificate authorities vouch for a Taiga server's TLS certificate, and what a refused
//! certificate was refused for.
//!
//! A self-hosted Taiga often has a certificate from a company's own CA. The bridge trusts the
//! bundled web PKI roots, the operating system's store (which honours `SSL_CERT_FILE` and
//! `SSL_CERT_DIR`) and, per deployment or tenant, an operator's PEM bundle (`TAIGA_CA_FILE`).

use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{CertificateError, RootCertStore};
use taiga_tools::CertificateProblem;

/// The roots every Taiga connection trusts: web PKI and the system store, read once per process.
fn standard_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.into(),
        };
        let system = rustls_native_certs::load_native_certs();
        for error in &system.errors {
            tracing::warn!(target: "taiga_mcp::network", %error, "part of the system's certificate store could not be read");
        }
        let (added, ignored) = roots.add_parsable_certificates(system.certs);
        tracing::debug!(target: "taiga_mcp::network", added, ignored, "system certificate store loaded");
        roots
    })
}

/// The TLS client settings of one deployment or tenant.
#[derive(Clone)]
pub struct Trust {
    config: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trust").finish_non_exhaustive()
    }
}

impl Trust {
    /// The web PKI roots and the system store; one configuration per process, shared.
    pub fn standard() -> Self {
        static STANDARD: OnceLock<Trust> = OnceLock::new();
        STANDARD
            .get_or_init(|| Self::with_roots(standard_roots().clone()))
            .clone()
    }

    /// The standard roots plus every certificate of the PEM bundle at `path`. A file that cannot
    /// be read or holds no certificate is an error naming the file.
    pub fn with_ca_file(path: &Path) -> Result<Self, String> {
        let certificates = CertificateDer::pem_file_iter(path)
            .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
            .map_err(|err| format!("{}: not a readable PEM file ({err})", path.display()))?;
        if certificates.is_empty() {
            return Err(format!("{}: holds no PEM certificate", path.display()));
        }
        let mut roots = standard_roots().clone();
        for certificate in certificates {
            roots
                .add(certificate)
                .map_err(|err| format!("{}: a certificate could not be used as a CA ({err})", path.display()))?;
        }
        Ok(Self::with_roots(roots))
    }

    fn with_roots(roots: RootCertStore) -> Self {
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Self {
            config: Arc::new(config),
        }
    }

    /// The rustls configuration.
    pub fn config(&self) -> Arc<rustls::ClientConfig> {
        self.config.clone()
    }
}

/// Why a TLS connection to Taiga failed: a refused certificate, named as the component names it
/// ([`CertificateProblem`]), or any other handshake failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsFailure {
    /// The certificate was refused, for this reason (`TAIGA_CA_FILE` is the remedy when untrusted).
    Certificate(CertificateProblem),
    /// The handshake failed for a reason other than the certificate.
    Protocol,
}

impl TlsFailure {
    /// What a handshake error from `tokio-rustls` says about the certificate.
    pub fn of(err: &std::io::Error) -> Self {
        match err.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
            Some(rustls::Error::InvalidCertificate(reason)) => Self::Certificate(match reason {
                CertificateError::UnknownIssuer | CertificateError::BadSignature => CertificateProblem::Untrusted,
                CertificateError::Expired
                | CertificateError::ExpiredContext { .. }
                | CertificateError::NotValidYet
                | CertificateError::NotValidYetContext { .. } => CertificateProblem::Expired,
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                    CertificateProblem::WrongName
                }
                _ => CertificateProblem::Refused,
            }),
            _ => Self::Protocol,
        }
    }

    /// The name the component receives (`wasi:http`'s TLS alert payload, see
    /// [`super::ConnectFailure`]) and the log shows.
    pub fn name(self) -> &'static str {
        match self {
            Self::Certificate(problem) => problem.name(),
            Self::Protocol => "tls-protocol-error",
        }
    }

    /// The TLS alert a client sends for this failure (RFC 8446 section 6): unknown_ca (48),
    /// certificate_expired (45), bad_certificate (42).
    pub fn alert(self) -> Option<u8> {
        match self {
            Self::Certificate(CertificateProblem::Untrusted) => Some(48),
            Self::Certificate(CertificateProblem::Expired) => Some(45),
            Self::Certificate(CertificateProblem::WrongName | CertificateProblem::Refused) => Some(42),
            Self::Protocol => None,
        }
    }
}

#[cfg(test)]
mod tests;
