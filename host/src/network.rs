//! The component's only way out: outbound HTTP to an allow-list of Taiga origins.
//!
//! [`PolicyHooks`] is the `wasi:http` send hook. It refuses any URL whose scheme, host and port are
//! not on the [`AllowList`], caps the guest's timeouts, and sends through a [`TaigaClient`]: a pool
//! of keep-alive connections whose [`Connector`] resolves the host itself and refuses names that
//! point at loopback, private, link-local or metadata addresses unless the allow-list names that
//! address. Each body goes out whole with its `Content-Length`, as Taiga needs (`body`).

use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

mod address;
mod body;
mod pool;
mod trust;

pub use self::address::{DnsResolver, ResolveFuture, is_public, literal_ip, system_resolver};
pub use self::pool::{ConnectFailure, Connector, TaigaClient};
pub use self::trust::{TlsFailure, Trust};

use crate::metrics::Metrics;

/// Where a Taiga server is: a scheme, host and port, and the path Taiga is served under when it is
/// not the root (Taiga's `TAIGA_SUBPATH`), e.g. `https://api.taiga.io` or
/// `https://example.com/taiga`. Its API is at `/api/v1` below that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
    /// `""` for the root, otherwise `/segment[/segment...]` without a trailing slash.
    base_path: String,
}

impl Origin {
    /// Parses `scheme://host[:port][/base/path][/api/v1][/]`. Anything that could make the URL
    /// mean another host or another place (user info, queries, fragments, dot segments, escapes)
    /// is refused.
    pub fn parse(input: &str) -> Result<Self, String> {
        // The component parses the same URL when it is named in `login` or as the default: what
        // it would refuse is refused here, at start, rather than at every call.
        let parsed = taiga_tools::taiga::TaigaUrl::parse(input)?;
        let url = url::Url::parse(input.trim()).map_err(|err| format!("`{input}` is not a URL ({err})"))?;
        let scheme = url.scheme();
        if scheme != "https" && scheme != "http" {
            return Err(format!("scheme `{scheme}` is not supported; use https"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("user info in a Taiga URL is not allowed".to_owned());
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(
                "give the server and, if Taiga is served under a path, that path, e.g. https://example.com/taiga"
                    .to_owned(),
            );
        }
        let host = url.host_str().ok_or("the host name is missing")?.to_ascii_lowercase();
        let port = url.port_or_known_default().ok_or("the port is missing")?;
        Ok(Self {
            scheme: scheme.to_owned(),
            host,
            port,
            base_path: parsed.base_path().to_owned(),
        })
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The host as written in a URL (IPv6 in brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The IP address, when the host is written as one.
    pub fn ip(&self) -> Option<IpAddr> {
        literal_ip(&self.host)
    }

    /// Whether a request path is this server's: anything for the root, otherwise the base path
    /// itself or a path below it, compared segment by segment.
    fn covers(&self, path: &str) -> bool {
        self.base_path.is_empty()
            || path
                .strip_prefix(self.base_path.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let default_port = if self.scheme == "https" { 443 } else { 80 };
        if self.port == default_port {
            write!(f, "{}://{}{}", self.scheme, self.host, self.base_path)
        } else {
            write!(f, "{}://{}:{}{}", self.scheme, self.host, self.port, self.base_path)
        }
    }
}

/// The origins a component may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowList {
    origins: Vec<Origin>,
}

impl AllowList {
    /// An allow-list of exactly these origins.
    pub fn new(origins: Vec<Origin>) -> Self {
        Self { origins }
    }

    /// The origins.
    pub fn origins(&self) -> &[Origin] {
        &self.origins
    }

    /// The allowed server a request URL belongs to: the same scheme, host and port (compared
    /// case-insensitively, default ports filled in) and a path at or below the server's base path.
    /// A path with dot segments or escaped dots is never matched: a server may resolve them to a
    /// place outside the base path.
    pub fn matching(&self, uri: &http::Uri) -> Option<&Origin> {
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let host = uri.host()?.to_ascii_lowercase();
        let port = uri.port_u16().or(match scheme.as_str() {
            "https" => Some(443),
            "http" => Some(80),
            _ => None,
        })?;
        let path = uri.path();
        let dotted = path.split('/').any(|segment| {
            let segment = segment.to_ascii_lowercase().replace("%2e", ".");
            segment == "." || segment == ".."
        });
        if dotted {
            return None;
        }
        self.origins
            .iter()
            .find(|origin| origin.scheme == scheme && origin.host == host && origin.port == port && origin.covers(path))
    }
}

/// The outbound policy of one call.
#[derive(Clone)]
pub struct PolicyHooks {
    allow_list: Arc<AllowList>,
    max_timeout: Duration,
    client: TaigaClient,
    metrics: Option<(Arc<Metrics>, Arc<str>)>,
}

impl PolicyHooks {
    /// A policy that allows `allow_list`, sends through `client` and caps every timeout at
    /// `max_timeout`.
    pub fn new(allow_list: Arc<AllowList>, client: TaigaClient, max_timeout: Duration) -> Self {
        Self {
            allow_list,
            max_timeout,
            client,
            metrics: None,
        }
    }

    /// The same policy, recording each request's duration and status under `tenant`.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>, tenant: &str) -> Self {
        self.metrics = Some((metrics, Arc::from(tenant)));
        self
    }

    /// The guest's first-byte and between-bytes timeouts, each capped at the policy's maximum (a
    /// missing one is the maximum). The first-byte timeout runs from the moment the request is
    /// handed to the pool, so it bounds connecting too; the pool's own connect timeout is the
    /// same maximum.
    fn timeouts(&self, options: Option<RequestOptions>) -> (Duration, Duration) {
        let cap = |timeout: Option<Duration>| timeout.map_or(self.max_timeout, |t| t.min(self.max_timeout));
        let options = options.unwrap_or_default();
        (cap(options.first_byte_timeout), cap(options.between_bytes_timeout))
    }

    /// Checks a request's scheme, host and port against the allow-list. Where the host resolves
    /// to is checked when a connection is made ([`Connector`]).
    pub fn check(&self, uri: &http::Uri) -> Result<(), HttpError> {
        self.allow_list.matching(uri).map(drop).ok_or_else(|| {
            tracing::warn!(target: "taiga_mcp::network", host = uri.host().unwrap_or_default(), "outbound request denied: not on the allow-list");
            HttpError::HttpRequestDenied
        })
    }
}

type SendFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                ),
                HttpError,
            >,
        > + Send,
>;

impl WasiHttpHooks for PolicyHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> SendFuture {
        drop(fut);
        let policy = self.clone();
        let (first_byte, between_bytes) = self.timeouts(options);
        Box::new(async move {
            policy.check(request.uri())?;
            let request = body::with_length(request).await?;
            let started = std::time::Instant::now();
            let sent = policy.client.send(request, first_byte, between_bytes).await;
            if let Some((metrics, tenant)) = &policy.metrics {
                let status = sent
                    .as_ref()
                    .map_or_else(|_| "error".to_owned(), |r| r.status().as_u16().to_string());
                metrics.taiga_request(tenant, &status, started.elapsed());
            }
            // The pool drives each connection on its own task: nothing is left for the caller to await.
            let io: Box<dyn Future<Output = Result<(), HttpError>> + Send> = Box::new(async { Ok(()) });
            Ok((sent?, io))
        })
    }
}

#[cfg(test)]
mod tests;
