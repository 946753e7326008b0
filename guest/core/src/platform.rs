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
    /// No answer in time.
    #[error("timed out")]
    Timeout,
    /// The response body was larger than allowed.
    #[error("response larger than {0} bytes")]
    TooLarge(u64),
    /// Connection, DNS, TLS or protocol failure.
    #[error("{0}")]
    Failed(String),
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
}
