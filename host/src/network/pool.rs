//! Keep-alive connections to Taiga, shared by the calls of one tenant.
//!
//! `wasi:http`'s default sender opens a new TCP connection (and, for https, a new TLS session)
//! for every request. [`TaigaClient`] keeps idle HTTP/1.1 connections per origin and reuses them,
//! which spares every call a handshake. Its [`Connector`] resolves the host itself and connects
//! only to an address it has checked, so a name cannot be re-resolved to another address between
//! the policy check and the connection.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use wasmtime_wasi_http::{Error as HttpError, WasiBody};

use super::address::{DnsResolver, is_public, literal_ip};
use super::trust::{TlsFailure, Trust};

/// How long an idle connection is kept. Below the 60 to 75 s keep-alive of common reverse
/// proxies in front of Taiga, so that the bridge, not the proxy, closes it.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Idle connections kept per origin.
const MAX_IDLE_PER_ORIGIN: usize = 64;

/// Why a connection could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectFailure {
    /// The host resolves to a loopback, private, link-local or other non-public address.
    #[error("the host resolves to a non-public address")]
    Prohibited,
    /// The host name did not resolve.
    #[error("name resolution failed")]
    Dns,
    /// Connecting took longer than the timeout.
    #[error("connecting timed out")]
    Timeout,
    /// The TCP connection failed.
    #[error("connection failed: {0:?}")]
    Refused(io::ErrorKind),
    /// The TLS handshake failed, for this reason.
    #[error("TLS handshake failed: {}", .0.name())]
    Tls(TlsFailure),
    /// The URL has no usable host or port.
    #[error("the URL names no host")]
    BadUri,
}

impl ConnectFailure {
    /// The `wasi:http` error code the component sees.
    fn to_http(&self) -> HttpError {
        match self {
            Self::Prohibited => HttpError::DestinationIpProhibited,
            Self::Dns => HttpError::DnsError {
                rcode: Some("lookup failed".to_owned()),
                info_code: None,
            },
            Self::Timeout => HttpError::ConnectionTimeout,
            Self::Refused(_) => HttpError::ConnectionRefused,
            // `wasi:http`'s `TLS-certificate-error` carries no reason, and the component must tell
            // an untrusted CA from an expired certificate or a wrong name: the reason travels as
            // the alert a client sends for it, with its name as the message.
            Self::Tls(TlsFailure::Protocol) => HttpError::TlsProtocolError,
            Self::Tls(failure) => HttpError::TlsAlertReceived {
                alert_id: failure.alert(),
                alert_message: Some(failure.name().to_owned()),
            },
            Self::BadUri => HttpError::HttpRequestUriInvalid,
        }
    }
}

/// A TCP stream, with TLS for https.
pub enum Stream {
    /// Plain HTTP.
    Plain(TcpStream),
    /// HTTPS.
    Tls(Box<TlsStream<TcpStream>>),
}

impl Connection for Stream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_flush(cx),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Opens connections to allowed origins. The caller has already matched the URL against the
/// allow-list; this checks where the connection really goes.
#[derive(Clone)]
pub struct Connector {
    resolver: DnsResolver,
    tls: TlsConnector,
    timeout: Duration,
}

impl Connector {
    /// A connector that resolves with `resolver`, trusts `trust`'s CAs and gives up connecting
    /// after `timeout`.
    pub fn new(resolver: DnsResolver, trust: &Trust, timeout: Duration) -> Self {
        Self {
            resolver,
            tls: TlsConnector::from(trust.config()),
            timeout,
        }
    }

    /// The addresses to try for `host`: an IP literal as given (the allow-list named that exact
    /// address), otherwise what the name resolves to, all of which must be public.
    pub async fn addresses(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, ConnectFailure> {
        if let Some(ip) = literal_ip(host) {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        let resolved = (self.resolver)(host.to_owned(), port)
            .await
            .map_err(|_| ConnectFailure::Dns)?;
        if resolved.is_empty() {
            return Err(ConnectFailure::Dns);
        }
        if !resolved.iter().copied().all(is_public) {
            tracing::warn!(target: "taiga_mcp::network", %host, "outbound request denied: resolves to a non-public address");
            return Err(ConnectFailure::Prohibited);
        }
        Ok(resolved.into_iter().map(|ip| SocketAddr::new(ip, port)).collect())
    }

    async fn connect(self, uri: http::Uri) -> Result<TokioIo<Stream>, ConnectFailure> {
        let host = uri.host().ok_or(ConnectFailure::BadUri)?;
        let https = uri.scheme_str() == Some("https");
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let addresses = self.addresses(host, port).await?;
        let tcp = tokio::time::timeout(self.timeout, TcpStream::connect(addresses.as_slice()))
            .await
            .map_err(|_| ConnectFailure::Timeout)?
            .map_err(|err| ConnectFailure::Refused(err.kind()))?;
        // Requests are small and answered at once: do not hold them back for Nagle.
        let _ = tcp.set_nodelay(true);
        if !https {
            return Ok(TokioIo::new(Stream::Plain(tcp)));
        }
        let name = match literal_ip(host) {
            Some(ip) => rustls::pki_types::ServerName::from(ip),
            None => rustls::pki_types::ServerName::try_from(host.to_owned()).map_err(|_| ConnectFailure::BadUri)?,
        };
        let tls = tokio::time::timeout(self.timeout, self.tls.connect(name, tcp))
            .await
            .map_err(|_| ConnectFailure::Timeout)?
            .map_err(|err| {
                let failure = TlsFailure::of(&err);
                tracing::warn!(target: "taiga_mcp::network", %host, reason = failure.name(), "TLS handshake with Taiga failed");
                ConnectFailure::Tls(failure)
            })?;
        Ok(TokioIo::new(Stream::Tls(Box::new(tls))))
    }
}

impl tower_service::Service<http::Uri> for Connector {
    type Response = TokioIo<Stream>;
    type Error = ConnectFailure;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        Box::pin(self.clone().connect(uri))
    }
}

/// A response body that fails when no bytes arrive for `timeout`.
struct TimedBody {
    incoming: Incoming,
    timeout: Duration,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl Body for TimedBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.incoming).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let next = tokio::time::Instant::now() + this.timeout;
                this.deadline.as_mut().reset(next);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(err))) => Poll::Ready(Some(Err(HttpError::from(err)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                ready!(this.deadline.as_mut().poll(cx));
                Poll::Ready(Some(Err(HttpError::ConnectionReadTimeout)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.incoming.size_hint()
    }
}

/// A pool of keep-alive HTTP/1.1 connections to Taiga. Cloning shares the pool.
#[derive(Clone)]
pub struct TaigaClient {
    client: Client<Connector, WasiBody>,
}

impl std::fmt::Debug for TaigaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaigaClient").finish_non_exhaustive()
    }
}

impl TaigaClient {
    /// A pool whose connections resolve through `resolver`, trust `trust`'s CAs and connect
    /// within `connect_timeout`.
    pub fn new(resolver: DnsResolver, trust: &Trust, connect_timeout: Duration) -> Self {
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(IDLE_TIMEOUT)
            .pool_max_idle_per_host(MAX_IDLE_PER_ORIGIN)
            .build(Connector::new(resolver, trust, connect_timeout));
        Self { client }
    }

    /// Sends `request` (an absolute URL the caller has allowed) on a pooled connection. The
    /// response headers must arrive within `first_byte_timeout`, and then each part of the body
    /// within `between_bytes_timeout`.
    pub async fn send(
        &self,
        request: http::Request<WasiBody>,
        first_byte_timeout: Duration,
        between_bytes_timeout: Duration,
    ) -> Result<http::Response<WasiBody>, HttpError> {
        let response = tokio::time::timeout(first_byte_timeout, self.client.request(request))
            .await
            .map_err(|_| HttpError::ConnectionReadTimeout)?
            .map_err(|err| request_error(&err))?;
        Ok(response.map(|incoming| {
            TimedBody {
                incoming,
                timeout: between_bytes_timeout,
                deadline: Box::pin(tokio::time::sleep(between_bytes_timeout)),
            }
            .boxed_unsync()
        }))
    }
}

/// The `wasi:http` error for a failed request: the connector's own reason when it refused, or
/// what hyper reports.
fn request_error(err: &hyper_util::client::legacy::Error) -> HttpError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(current) = source {
        if let Some(failure) = current.downcast_ref::<ConnectFailure>() {
            return failure.to_http();
        }
        if let Some(hyper) = current.downcast_ref::<hyper::Error>() {
            return if hyper.is_timeout() {
                HttpError::HttpResponseTimeout
            } else if hyper.is_incomplete_message() || hyper.is_canceled() || hyper.is_closed() {
                HttpError::HttpResponseIncomplete
            } else {
                HttpError::HttpProtocolError
            };
        }
        source = current.source();
    }
    HttpError::InternalError(Some("the request failed".to_owned()))
}
