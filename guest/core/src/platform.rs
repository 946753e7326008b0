//! What the tool logic needs from its surroundings. The WebAssembly component implements these with
//! wasi:http and the host's session store; unit tests implement them in memory.

/// An HTTP method the Taiga client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
}

impl Method {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }
}

/// One outgoing request.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    /// Method.
    pub method: Method,
    /// Absolute URL.
    pub url: String,
    /// Header pairs (lower-case names).
    pub headers: Vec<(String, String)>,
    /// Body bytes (empty for none).
    pub body: Vec<u8>,
    /// Timeout for connecting, for the first byte and between bytes, in milliseconds.
    pub timeout_ms: u32,
    /// Largest response body accepted, in bytes.
    pub max_response_bytes: u64,
}

/// One response, fully read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Header pairs; names as sent.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header of that name, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Why a request produced no response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The host's network policy refused the destination.
    #[error("the destination is not allowed")]
    Denied,
    /// The host name resolves to a private (non-public) address, which the host reaches only when
    /// the allow-list names that address.
    #[error("the destination resolves to a non-public address")]
    PrivateAddress,
    /// No answer in time.
    #[error("timed out")]
    Timeout,
    /// The response body was larger than allowed.
    #[error("response larger than {0} bytes")]
    TooLarge(u64),
    /// Taiga's TLS certificate was refused, for this reason.
    #[error("Taiga's certificate was refused: {}", .0.name())]
    Certificate(CertificateProblem),
    /// Connection, DNS, TLS or protocol failure: the `wasi:http` error code's name
    /// (`connection-refused`) or a short phrase.
    #[error("{0}")]
    Failed(String),
}

/// Why Taiga's TLS certificate was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateProblem {
    /// No trusted CA signed it (a company's own CA needs `TAIGA_CA_FILE`).
    Untrusted,
    /// It has expired, or is not valid yet.
    Expired,
    /// It is not valid for the host name in the URL.
    WrongName,
    /// It was refused for another reason.
    Refused,
}

impl CertificateProblem {
    const ALL: [Self; 4] = [Self::Untrusted, Self::Expired, Self::WrongName, Self::Refused];

    /// The reason's name, as `taiga-mcp`'s host reports it in `wasi:http`'s TLS alert payload.
    pub fn name(self) -> &'static str {
        match self {
            Self::Untrusted => "certificate-untrusted",
            Self::Expired => "certificate-expired",
            Self::WrongName => "certificate-wrong-name",
            Self::Refused => "certificate-refused",
        }
    }

    /// The reason a name stands for.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|problem| problem.name() == name)
    }
}

/// The `wasi:http` name of an error code (`connection-refused`) from its Rust debug text
/// (`ErrorCode::ConnectionRefused` or `ConnectionRefused(..)`), so that no Rust type name reaches
/// a message.
pub fn error_code_name(debug: &str) -> String {
    let name = debug.rsplit("::").next().unwrap_or(debug);
    let name = name.split(|c: char| !c.is_ascii_alphanumeric()).next().unwrap_or(name);
    let mut kebab = String::with_capacity(name.len() + 4);
    for (index, c) in name.char_indices() {
        if c.is_ascii_uppercase() && index > 0 {
            kebab.push('-');
        }
        kebab.push(c.to_ascii_lowercase());
    }
    kebab
}

/// Why the session store failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The backend is unreachable for now.
    #[error("session store unavailable: {0}")]
    Unavailable(String),
    /// The backend refused the operation.
    #[error("session store refused the operation: {0}")]
    Rejected(String),
}

/// Everything a tool call may use: HTTP, the session store, a clock and randomness.
pub trait Platform {
    /// Sends one request and reads the whole response.
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError>;
    /// Sends independent `requests` and reads every response, in their order. A platform that can
    /// have several requests in flight sends them at once, so that a call waits for the slowest
    /// rather than for their sum; this default sends them one after the other.
    fn send_all(&self, requests: &[HttpRequest]) -> Vec<Result<HttpResponse, TransportError>> {
        requests.iter().map(|request| self.send(request)).collect()
    }
    /// Reads a key.
    fn store_get(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// Writes a key with a time-to-live.
    fn store_set(&self, key: &str, value: &str, ttl_seconds: u64) -> Result<(), StoreError>;
    /// Deletes a key; whether it existed.
    fn store_delete(&self, key: &str) -> Result<bool, StoreError>;
    /// Atomically adds to a counter; a new key gets the time-to-live.
    fn store_increment(&self, key: &str, delta: i64, ttl_seconds: u64) -> Result<i64, StoreError>;
    /// Atomically replaces `expected` by `new` (`None` = absent).
    fn store_compare_and_swap(
        &self,
        key: &str,
        expected: Option<&str>,
        new: Option<&str>,
        ttl_seconds: u64,
    ) -> Result<bool, StoreError>;
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
    /// 16 bytes from a cryptographically secure source.
    fn random_bytes(&self) -> [u8; 16];
    /// Reports progress of a long call (`done` of `total` steps).
    fn progress(&self, done: u64, total: u64, message: &str);
    /// Tells the user something about the call beside its result (a token renewed, a list capped
    /// by Taiga). Never a secret: the host may show it to the client.
    fn notice(&self, level: NoticeLevel, message: &str);
    /// Waits `ms` milliseconds: another call holds a lock this one waits for.
    fn sleep_ms(&self, ms: u64);
}

/// How much a notice matters, as MCP's log levels name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeLevel {
    /// Worth knowing (a token renewed).
    Info,
    /// Changes what the result means (a list capped).
    Warning,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_named_as_wasi_http_names_them() {
        for (debug, name) in [
            ("ErrorCode::ConnectionRefused", "connection-refused"),
            ("ErrorCode::TlsProtocolError", "tls-protocol-error"),
            (
                "ErrorCode::DnsError(DnsErrorPayload { rcode: None, info_code: None })",
                "dns-error",
            ),
            ("HttpRequestUriInvalid", "http-request-uri-invalid"),
        ] {
            assert_eq!(error_code_name(debug), name, "{debug}");
        }
    }

    #[test]
    fn certificate_problems_round_trip_by_name() {
        for problem in CertificateProblem::ALL {
            assert_eq!(CertificateProblem::from_name(problem.name()), Some(problem));
        }
        assert_eq!(CertificateProblem::from_name("tls-protocol-error"), None);
    }
}
