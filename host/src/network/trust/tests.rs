//! TLS to a Taiga whose certificate comes from a CA these tests make: trusted through a CA file,
//! and each refusal (unknown CA, expired, wrong name) reported as itself.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, date_time_ymd};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wasmtime_wasi_http::{Error as HttpError, WasiBody};

use taiga_tools::CertificateProblem;

use super::Trust;
use crate::network::{DnsResolver, TaigaClient};

/// A CA made for one test.
struct TestCa {
    params: CertificateParams,
    key: KeyPair,
    pem: String,
}

impl TestCa {
    fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, "taiga-mcp test CA");
        let key = KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        Self { params, key, pem }
    }

    /// A server certificate for `names`, valid from `not_before` to `not_after` (years), as
    /// `(chain PEM, key PEM)`.
    fn issue(&self, names: &[&str], years: (i32, i32)) -> (String, String) {
        let mut params =
            CertificateParams::new(names.iter().map(|name| (*name).to_owned()).collect::<Vec<_>>()).unwrap();
        params.not_before = date_time_ymd(years.0, 1, 1);
        params.not_after = date_time_ymd(years.1, 1, 1);
        let key = KeyPair::generate().unwrap();
        let issuer = Issuer::from_params(&self.params, &self.key);
        let certificate = params.signed_by(&key, &issuer).unwrap();
        (certificate.pem(), key.serialize_pem())
    }
}

/// A loopback HTTPS server presenting `chain`; it answers every request with `{}`.
async fn https_server(chain: &str, key: &str) -> std::net::SocketAddr {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certificates = CertificateDer::pem_slice_iter(chain.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certificates, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut stream) = acceptor.accept(socket).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut buffer = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(read) => head.extend_from_slice(&buffer[..read]),
                    }
                }
                let answer = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
                let _ = stream.write_all(answer).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    address
}

fn no_dns() -> DnsResolver {
    Arc::new(|_, _| Box::pin(async { Ok(Vec::new()) }))
}

async fn get(trust: &Trust, address: std::net::SocketAddr) -> Result<u16, HttpError> {
    let client = TaigaClient::new(no_dns(), trust, Duration::from_secs(5));
    let request: http::Request<WasiBody> = http::Request::get(format!("https://{address}/api/v1/projects"))
        .body(Empty::new().map_err(|never| match never {}).boxed_unsync())
        .unwrap();
    let response = client
        .send(request, Duration::from_secs(5), Duration::from_secs(5))
        .await?;
    Ok(response.status().as_u16())
}

fn refused_for(result: Result<u16, HttpError>) -> (Option<u8>, Option<String>) {
    match result {
        Err(HttpError::TlsAlertReceived {
            alert_id,
            alert_message,
        }) => (alert_id, alert_message),
        other => panic!("expected a refused certificate, got {other:?}"),
    }
}

fn ca_file(ca: &TestCa) -> tempfile_path::TempPath {
    tempfile_path::TempPath::with(&ca.pem)
}

/// A file that removes itself, without another dependency.
mod tempfile_path {
    pub struct TempPath(std::path::PathBuf);

    impl TempPath {
        pub fn with(text: &str) -> Self {
            use std::sync::atomic::{AtomicUsize, Ordering};
            static COUNT: AtomicUsize = AtomicUsize::new(0);
            let path = std::env::temp_dir().join(format!(
                "taiga-mcp-ca-{}-{}.pem",
                std::process::id(),
                COUNT.fetch_add(1, Ordering::SeqCst)
            ));
            std::fs::write(&path, text).unwrap();
            Self(path)
        }

        pub fn path(&self) -> &std::path::Path {
            &self.0
        }
    }

    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

#[tokio::test]
async fn a_company_ca_is_trusted_through_its_file_and_only_then() {
    let ca = TestCa::new();
    let (chain, key) = ca.issue(&["127.0.0.1"], (2020, 2099));
    let address = https_server(&chain, &key).await;

    let refused = refused_for(get(&Trust::standard(), address).await);
    assert_eq!(
        refused,
        (Some(48), Some(CertificateProblem::Untrusted.name().to_owned()))
    );

    let file = ca_file(&ca);
    let trust = Trust::with_ca_file(file.path()).unwrap();
    assert_eq!(get(&trust, address).await.unwrap(), 200);
}

#[tokio::test]
async fn an_expired_certificate_is_reported_as_expired() {
    let ca = TestCa::new();
    let (chain, key) = ca.issue(&["127.0.0.1"], (2020, 2021));
    let address = https_server(&chain, &key).await;
    let file = ca_file(&ca);
    let trust = Trust::with_ca_file(file.path()).unwrap();
    let refused = refused_for(get(&trust, address).await);
    assert_eq!(refused, (Some(45), Some("certificate-expired".to_owned())));
}

#[tokio::test]
async fn a_certificate_for_another_name_is_reported_as_such() {
    let ca = TestCa::new();
    let (chain, key) = ca.issue(&["taiga.example"], (2020, 2099));
    let address = https_server(&chain, &key).await;
    let file = ca_file(&ca);
    let trust = Trust::with_ca_file(file.path()).unwrap();
    let refused = refused_for(get(&trust, address).await);
    assert_eq!(refused, (Some(42), Some("certificate-wrong-name".to_owned())));
}

#[test]
fn a_ca_file_that_is_missing_or_holds_no_certificate_is_refused_by_name() {
    let missing = Trust::with_ca_file(std::path::Path::new("/nonexistent/ca.pem")).unwrap_err();
    assert!(
        missing.starts_with("/nonexistent/ca.pem: not a readable PEM file"),
        "{missing}"
    );
    let empty = tempfile_path::TempPath::with("not a certificate\n");
    let error = Trust::with_ca_file(empty.path()).unwrap_err();
    assert!(error.ends_with("holds no PEM certificate"), "{error}");
}
