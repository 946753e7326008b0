//! The Taiga REST client: requests over [`Platform::send`], Taiga's real error shapes mapped to
//! [`ErrorCode`]s, and its header-based pagination.

use serde_json::{Value, json};

use crate::error::{ErrorCode, ToolError, ToolResult};
use crate::platform::{CertificateProblem, HttpRequest, HttpResponse, Method, Platform, TransportError};
use crate::projection::{Compact, parse_object};

/// Where a Taiga server is, checked and normalised: `scheme://host[:port]`, followed by the path
/// Taiga is served under when it is not the root (Taiga's `TAIGA_SUBPATH`), e.g.
/// `https://example.com/taiga`. Its API is at `/api/v1` below that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaigaUrl(String);

impl TaigaUrl {
    /// Parses `https://host[:port][/base/path]`, optionally followed by `/` or `/api/v1`. A bare
    /// host name means HTTPS. User info, queries, fragments, escapes and dot segments are refused:
    /// they are how requests get smuggled to a host or a place other than the one a reader sees.
    pub fn parse(input: &str) -> Result<Self, String> {
        let input = input.trim();
        let (scheme, rest) = match input.split_once("://") {
            Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
            None => ("https".to_owned(), input),
        };
        if scheme != "https" && scheme != "http" {
            return Err(format!("scheme `{scheme}` is not supported; use https"));
        }
        let authority_end = rest.find('/').unwrap_or(rest.len());
        let (authority, path) = rest.split_at(authority_end);
        let base_path = base_path(path)?;
        if authority.is_empty() {
            return Err("the host name is missing".to_owned());
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']');
        if !authority.chars().all(allowed) {
            return Err("the host may only hold letters, digits, dots, hyphens and a port".to_owned());
        }
        let host_end = if authority.starts_with('[') {
            authority.find(']').map(|i| i + 1).ok_or("unclosed IPv6 bracket")?
        } else {
            authority.find(':').unwrap_or(authority.len())
        };
        let (host, port) = authority.split_at(host_end);
        if host.is_empty() || host.starts_with('.') || host.ends_with('.') && host.len() == 1 {
            return Err("the host name is missing".to_owned());
        }
        if let Some(port) = port.strip_prefix(':') {
            match port.parse::<u16>() {
                Ok(number) if number > 0 => {}
                _ => return Err(format!("`{port}` is not a valid port")),
            }
        } else if !port.is_empty() {
            return Err("the host name is malformed".to_owned());
        }
        Ok(Self(format!(
            "{scheme}://{}{base_path}",
            authority.to_ascii_lowercase()
        )))
    }

    /// The server, e.g. `https://api.taiga.io` or `https://example.com/taiga`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path Taiga is served under: `""` for the root, otherwise `/segment[/segment...]`.
    pub fn base_path(&self) -> &str {
        let rest = self.0.split_once("://").map_or("", |(_, rest)| rest);
        rest.find('/').map_or("", |start| &rest[start..])
    }

    /// The origin, `scheme://host[:port]`, without the base path.
    pub fn origin(&self) -> &str {
        &self.0[..self.0.len() - self.base_path().len()]
    }

    /// `url` without its fragment, if it is on this server's origin (same scheme, host and port)
    /// and its path has no dot segment, backslash, space or control character. Taiga answers with
    /// URLs (an attachment's `url`) that the bridge then fetches: one pointing anywhere else would
    /// make the bridge a proxy into the operator's network (SSRF).
    pub fn same_origin(&self, url: &str) -> Result<String, String> {
        let url = url.split('#').next().unwrap_or_default();
        let refused = || {
            format!(
                "`{url}` is not on {}; the bridge fetches files only from the session's Taiga",
                self.origin()
            )
        };
        let (scheme, rest) = url.split_once("://").ok_or_else(refused)?;
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(authority_end);
        let origin = format!("{}://{}", scheme.to_ascii_lowercase(), authority.to_ascii_lowercase());
        if origin != self.origin() || !path.starts_with('/') {
            return Err(refused());
        }
        let path_only = path.split('?').next().unwrap_or_default();
        let dot_segment = path_only.split('/').any(|segment| matches!(segment, "." | ".."));
        if dot_segment || path.chars().any(|c| c == '\\' || c.is_whitespace() || c.is_control()) {
            return Err(refused());
        }
        Ok(format!("{origin}{path}"))
    }

    /// The absolute URL of an API path such as `/projects/3`.
    pub fn api(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.0)
    }
}

/// The base path of a Taiga URL's `path` (everything from the first `/` after the host): `""` or
/// `/a/b`, with a trailing `/api/v1` and slashes taken off. Segments hold letters, digits and
/// `-._~` only, and are not `.` or `..`: no escape or dot segment can make the path mean another
/// place than the one a reader sees. The host's allow-list and the simulator apply the same rule.
pub fn base_path(path: &str) -> Result<String, String> {
    let path = path.trim_end_matches('/');
    let path = path.strip_suffix("/api/v1").unwrap_or(path).trim_end_matches('/');
    let valid_segment = |segment: &str| {
        !matches!(segment, "" | "." | "..")
            && segment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~'))
    };
    if path.is_empty() || (path.starts_with('/') && path[1..].split('/').all(valid_segment)) {
        Ok(path.to_owned())
    } else {
        Err(format!(
            "`{path}` is not a path Taiga can be served under: give the server and, if Taiga is served under a path, \
             that path in letters, digits and -._~, e.g. https://example.com/taiga"
        ))
    }
}

/// Builds `path?k=v&...`, percent-encoding values and leaving out absent ones.
pub fn with_query(path: &str, params: &[(&str, Option<String>)]) -> String {
    let query: Vec<String> = params
        .iter()
        .filter_map(|(key, value)| value.as_ref().map(|v| format!("{key}={}", encode(v))))
        .collect();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => char::from(byte).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// One page of a Taiga list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The items of this page.
    pub items: Vec<Value>,
    /// `x-pagination-count`, when Taiga sent it.
    pub total: Option<u64>,
    /// Whether `X-Pagination-Next` was present.
    pub has_next: bool,
}

/// A Taiga client bound to one server and, once logged in, one access token.
pub struct Taiga<'a, P: Platform + ?Sized> {
    platform: &'a P,
    base: &'a TaigaUrl,
    token: Option<&'a str>,
    timeout_ms: u32,
    max_response_bytes: u64,
}

impl<'a, P: Platform + ?Sized> Taiga<'a, P> {
    /// A client for `base`, anonymous until [`Self::with_token`].
    pub fn new(platform: &'a P, base: &'a TaigaUrl, timeout_ms: u32, max_response_bytes: u64) -> Self {
        Self {
            platform,
            base,
            token: None,
            timeout_ms,
            max_response_bytes,
        }
    }

    /// The same client sending `Authorization: Bearer <token>`.
    pub fn with_token(mut self, token: &'a str) -> Self {
        self.token = Some(token);
        self
    }

    /// GET a JSON object; `what` names it in errors ("project 7").
    pub fn get(&self, path: &str, what: &str) -> ToolResult<Value> {
        let response = self.send(Method::Get, path, None, what)?;
        parse_json(&response)
    }

    /// GETs that do not depend on one another, sent together (see [`Platform::send_all`]): each
    /// `(path, what)` pair's JSON answer, in order.
    pub fn get_together(&self, reads: &[(&str, &str)]) -> Vec<ToolResult<Value>> {
        let requests: Vec<HttpRequest> = reads
            .iter()
            .map(|(path, _)| self.request(Method::Get, self.base.api(path), None, self.max_response_bytes))
            .collect();
        self.platform
            .send_all(&requests)
            .into_iter()
            .zip(reads)
            .map(|(sent, (_, what))| self.checked(sent, what).and_then(|response| parse_json(&response)))
            .collect()
    }

    /// GET one object, keeping only `keys` (see [`crate::projection`]).
    pub fn get_keeping(&self, path: &str, what: &str, keys: &[&str]) -> ToolResult<Value> {
        let response = self.send(Method::Get, path, None, what)?;
        parse_object(&response.body, keys)
            .map_err(|_| unexpected("Taiga answered with something other than a JSON object"))
    }

    /// GET one page of a list.
    pub fn get_page(&self, path: &str, what: &str) -> ToolResult<Page> {
        self.page(path, what, |response| match parse_json(response)? {
            Value::Array(items) => Ok(items),
            _ => Err(unexpected("a list endpoint did not return a JSON array")),
        })
    }

    /// GET one page of a list, each item in its `compact` form (see [`crate::projection`]).
    pub fn get_compact_page(&self, path: &str, what: &str, compact: &Compact) -> ToolResult<Page> {
        self.page(path, what, |response| {
            compact
                .parse_page(&response.body)
                .map_err(|_| unexpected("a list endpoint did not return a JSON array of objects"))
        })
    }

    fn page(
        &self,
        path: &str,
        what: &str,
        items: impl FnOnce(&HttpResponse) -> ToolResult<Vec<Value>>,
    ) -> ToolResult<Page> {
        let response = self.send(Method::Get, path, None, what)?;
        Ok(Page {
            items: items(&response)?,
            total: response
                .header("x-pagination-count")
                .and_then(|count| count.trim().parse().ok()),
            has_next: response.header("x-pagination-next").is_some(),
        })
    }

    /// POST a JSON body and parse the JSON answer (null for an empty one).
    pub fn post(&self, path: &str, body: &Value, what: &str) -> ToolResult<Value> {
        let response = self.send(Method::Post, path, Some(body), what)?;
        parse_optional_json(&response)
    }

    /// PATCH a JSON body and parse the JSON answer.
    pub fn patch(&self, path: &str, body: &Value, what: &str) -> ToolResult<Value> {
        let response = self.send(Method::Patch, path, Some(body), what)?;
        parse_optional_json(&response)
    }

    /// DELETE; Taiga answers 204.
    pub fn delete(&self, path: &str, what: &str) -> ToolResult<()> {
        self.send(Method::Delete, path, None, what).map(drop)
    }

    /// POST a `multipart/form-data` body (built by [`Multipart`]) and parse the JSON answer.
    pub fn post_multipart(&self, path: &str, form: &Multipart, what: &str) -> ToolResult<Value> {
        let body = Body {
            content_type: form.content_type(),
            bytes: form.body(),
        };
        let request = self.request(Method::Post, self.base.api(path), Some(body), self.max_response_bytes);
        parse_optional_json(&self.exchange(&request, what)?)
    }

    /// GET a file at an absolute URL on the session's Taiga origin (see [`TaigaUrl::same_origin`]),
    /// reading at most `max_bytes` of it.
    pub fn download(&self, url: &str, max_bytes: u64, what: &str) -> ToolResult<HttpResponse> {
        let url = self
            .base
            .same_origin(url)
            .map_err(|message| ToolError::new(ErrorCode::HostNotAllowed, message))?;
        let request = self.request(Method::Get, url, None, max_bytes);
        self.exchange(&request, what)
    }

    fn send(&self, method: Method, path: &str, body: Option<&Value>, what: &str) -> ToolResult<HttpResponse> {
        let body = body.map(|body| Body {
            content_type: "application/json".to_owned(),
            bytes: body.to_string().into_bytes(),
        });
        let request = self.request(method, self.base.api(path), body, self.max_response_bytes);
        self.exchange(&request, what)
    }

    fn exchange(&self, request: &HttpRequest, what: &str) -> ToolResult<HttpResponse> {
        self.checked(self.platform.send(request), what)
    }

    /// A response, or the error its transport failure or status means.
    fn checked(&self, sent: Result<HttpResponse, TransportError>, what: &str) -> ToolResult<HttpResponse> {
        let response = sent.map_err(|err| transport_error(err, self.base))?;
        if (200..300).contains(&response.status) {
            Ok(response)
        } else {
            Err(status_error(&response, what))
        }
    }
}

/// A request body with its type.
struct Body {
    content_type: String,
    bytes: Vec<u8>,
}

/// A `multipart/form-data` body (RFC 7578) of text fields and one file, as `curl -F` and Python
/// `requests` send it. Hand-written: the few lines it takes keep a multipart crate out of the
/// component.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Multipart {
    boundary: String,
    fields: Vec<(String, String)>,
    file: Option<(String, String, String, Vec<u8>)>,
}

impl Multipart {
    /// An empty form; [`Multipart::with_boundary`] chooses how its parts are separated.
    pub fn new() -> Self {
        Self::default()
    }

    /// Chooses the boundary: `random` hex that occurs in no part, text or file, so that no
    /// part's content can end it and start a field of its own.
    pub fn with_boundary(mut self, mut random: impl FnMut() -> [u8; 16]) -> Self {
        let parts: Vec<&[u8]> = self
            .fields
            .iter()
            .map(|(_, value)| value.as_bytes())
            .chain(self.file.as_ref().map(|(_, _, _, bytes)| bytes.as_slice()))
            .collect();
        self.boundary = loop {
            let hex: String = random().iter().map(|byte| format!("{byte:02x}")).collect();
            let boundary = format!("taiga-mcp-{hex}");
            let occurs = |part: &&[u8]| part.windows(boundary.len()).any(|window| window == boundary.as_bytes());
            if !parts.iter().any(occurs) {
                break boundary;
            }
        };
        self
    }

    /// Adds a text field. A text part holds one line: a line break in `value` is sent as a
    /// space, so that no text can open a part of its own (the tools refuse such text first).
    pub fn text(mut self, name: &str, value: &str) -> Self {
        self.fields.push((name.to_owned(), value.replace(['\r', '\n'], " ")));
        self
    }

    /// Sets the file part: field name, file name, MIME type and bytes.
    pub fn file(mut self, name: &str, file_name: &str, mime: &str, bytes: Vec<u8>) -> Self {
        self.file = Some((name.to_owned(), file_name.to_owned(), mime.to_owned(), bytes));
        self
    }

    /// The `Content-Type` header value.
    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    /// The body bytes.
    pub fn body(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, value) in &self.fields {
            out.extend_from_slice(
                format!(
                    "--{}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n{value}\r\n",
                    self.boundary,
                    quoted(name)
                )
                .as_bytes(),
            );
        }
        if let Some((name, file_name, mime, bytes)) = &self.file {
            out.extend_from_slice(
                format!(
                    "--{}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: {mime}\r\n\r\n",
                    self.boundary,
                    quoted(name),
                    quoted(file_name)
                )
                .as_bytes(),
            );
            out.extend_from_slice(bytes);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        out
    }
}

/// A header parameter value as browsers write it in `Content-Disposition` (WHATWG's multipart
/// encoding): `"` as `%22`, CR and LF as `%0D` and `%0A`, so that a name cannot end its header.
fn quoted(value: &str) -> String {
    value.replace('"', "%22").replace('\r', "%0D").replace('\n', "%0A")
}

/// `User-Agent` of every request: a plain client names itself, and proxies and WAFs in front of
/// Taiga may refuse requests that do not.
pub const USER_AGENT: &str = concat!("taiga-mcp/", env!("CARGO_PKG_VERSION"));

impl<P: Platform + ?Sized> Taiga<'_, P> {
    /// The request as it goes on the wire. A body carries its `Content-Length`: Taiga (Django)
    /// reads a body by that header only, so a chunked body without it arrives empty (recordings
    /// 178-180). A request without a body carries neither.
    fn request(&self, method: Method, url: String, body: Option<Body>, max_response_bytes: u64) -> HttpRequest {
        let mut headers = vec![
            ("accept".to_owned(), "application/json".to_owned()),
            ("user-agent".to_owned(), USER_AGENT.to_owned()),
        ];
        if let Some(token) = self.token {
            headers.push(("authorization".to_owned(), format!("Bearer {token}")));
        }
        let body = match body {
            Some(Body { content_type, bytes }) => {
                headers.push(("content-type".to_owned(), content_type));
                headers.push(("content-length".to_owned(), bytes.len().to_string()));
                bytes
            }
            None => Vec::new(),
        };
        HttpRequest {
            method,
            url,
            headers,
            body,
            timeout_ms: self.timeout_ms,
            max_response_bytes,
        }
    }
}

fn parse_json(response: &HttpResponse) -> ToolResult<Value> {
    serde_json::from_slice(&response.body).map_err(|_| unexpected("Taiga answered with a body that is not valid JSON"))
}

fn parse_optional_json(response: &HttpResponse) -> ToolResult<Value> {
    if response.body.iter().all(u8::is_ascii_whitespace) {
        Ok(Value::Null)
    } else {
        parse_json(response)
    }
}

fn unexpected(message: &str) -> ToolError {
    ToolError::new(ErrorCode::TaigaError, message)
}

fn transport_error(err: TransportError, base: &TaigaUrl) -> ToolError {
    match err {
        TransportError::Denied => ToolError::new(
            ErrorCode::HostNotAllowed,
            format!(
                "{} is not on this bridge's list of allowed Taiga hosts; ask the operator to add it",
                base.as_str()
            ),
        )
        .with("host", base.as_str()),
        TransportError::PrivateAddress => ToolError::new(
            ErrorCode::HostNotAllowed,
            format!(
                "{} resolves to a private (non-public) address, which the bridge does not reach by name; for a \
                 Taiga on a private network, ask the operator to list it by address in TAIGA_ALLOWED_HOSTS \
                 (`https://10.0.0.5`)",
                base.as_str()
            ),
        )
        .with("host", base.as_str())
        .with("reason", "private_address"),
        TransportError::Timeout => ToolError::new(
            ErrorCode::TaigaUnavailable,
            "Taiga did not answer in time; try again in a moment",
        )
        .with("reason", "timeout"),
        TransportError::TooLarge(limit) => ToolError::new(
            ErrorCode::TaigaError,
            format!("Taiga's answer was larger than the {limit}-byte limit; ask for a smaller page"),
        )
        .with("limit_bytes", limit),
        TransportError::Certificate(problem) => certificate_error(problem, base),
        TransportError::Failed(reason) => ToolError::new(
            ErrorCode::TaigaUnavailable,
            "Taiga could not be reached; try again later",
        )
        .with("reason", reason),
    }
}

/// A refused certificate, with what fixes it: not something a retry would.
fn certificate_error(problem: CertificateProblem, base: &TaigaUrl) -> ToolError {
    let host = base.as_str();
    let message = match problem {
        CertificateProblem::Untrusted => format!(
            "the TLS certificate of {host} is not signed by a trusted certificate authority; if Taiga's \
             certificate comes from your organisation's own CA, ask the operator to set TAIGA_CA_FILE \
             (taiga_ca_file for a tenant) to that CA's PEM file"
        ),
        CertificateProblem::Expired => format!(
            "the TLS certificate of {host} has expired or is not valid yet; Taiga's administrator must \
             renew it (or the clock of one of the machines is wrong)"
        ),
        CertificateProblem::WrongName => format!(
            "the TLS certificate of {host} is not valid for that name; use the host name the certificate \
             was issued for in TAIGA_API_URL (or login's host)"
        ),
        CertificateProblem::Refused => {
            format!("the TLS certificate of {host} was refused; ask Taiga's administrator to check it")
        }
    };
    let mut err = ToolError::new(ErrorCode::CertificateRejected, message)
        .with("reason", problem.name())
        .with("host", host);
    if problem == CertificateProblem::Untrusted {
        err = err.with("setting", "TAIGA_CA_FILE");
    }
    err
}

/// The tool field at fault when Taiga's 403 says a status, sprint or other choice belongs to
/// another project than the item's: taiga-back's `pre_conditions_on_save` raises `PermissionDenied`
/// "You don't have permissions to set this <choice> to this <item>." for it, which is the caller's
/// input, not the user's rights.
fn foreign_choice(message: &str) -> Option<&'static str> {
    let choice = message
        .strip_prefix("You don't have permissions to set this ")?
        .split(' ')
        .next()?;
    Some(match choice {
        // Older taiga-back versions say "milestone" where 6.x says "sprint".
        "sprint" | "milestone" => "sprint_id",
        "status" => "status",
        "priority" => "priority",
        "severity" => "severity",
        "type" => "type",
        "swimlane" => "swimlane",
        _ => return None,
    })
}

/// Maps a non-2xx answer to our error codes, reading the body shapes Taiga really sends.
fn status_error(response: &HttpResponse, what: &str) -> ToolError {
    let body: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
    let taiga_message = body
        .get("_error_message")
        .or_else(|| body.get("detail"))
        .and_then(Value::as_str)
        .filter(|message| !message.is_empty());
    match response.status {
        400 => field_errors(&body, taiga_message),
        401 if body.get("code").and_then(Value::as_str) == Some("invalid_credentials") => {
            ToolError::new(ErrorCode::InvalidCredentials, "Taiga refused the username or password")
        }
        401 => ToolError::new(
            ErrorCode::SessionExpired,
            "Taiga no longer accepts this session's credentials; call login again",
        ),
        403 => match taiga_message.and_then(foreign_choice) {
            Some(field) => ToolError::new(
                ErrorCode::InvalidInput,
                format!(
                    "{field}: the {} given belongs to another project; use one of this project's \
                     (get_project_metadata lists them)",
                    field.trim_end_matches("_id")
                ),
            )
            .with("field", field),
            None => ToolError::new(
                ErrorCode::PermissionDenied,
                format!("Taiga does not let this user access {what}"),
            )
            .with("taiga_message", taiga_message.unwrap_or_default()),
        },
        404 => ToolError::new(
            ErrorCode::NotFound,
            format!("{what} was not found, or this user cannot see it"),
        ),
        429 => {
            let wait = response
                .header("x-throttle-wait-seconds")
                .and_then(|seconds| seconds.trim().parse::<u64>().ok())
                .unwrap_or(60);
            ToolError::new(
                ErrorCode::RateLimited,
                format!("Taiga is throttling requests; retry after {wait} seconds"),
            )
            .with("retry_after_seconds", wait)
        }
        status if status >= 500 => ToolError::new(
            ErrorCode::TaigaUnavailable,
            format!("Taiga failed with status {status}; try again later"),
        )
        .with("status", status),
        status => ToolError::new(
            ErrorCode::TaigaError,
            format!(
                "Taiga answered status {status}: {}",
                taiga_message.unwrap_or("no message")
            ),
        )
        .with("status", status),
    }
}

/// Taiga's 400s: `{"version": "..."}` (a conflict), `{"_error_message": ...}`, or `{field: [messages]}`.
fn field_errors(body: &Value, taiga_message: Option<&str>) -> ToolError {
    if let Some(version) = body.get("version").and_then(Value::as_str) {
        return ToolError::new(
            ErrorCode::VersionConflict,
            format!("{version}; read the resource again and retry with its current version"),
        );
    }
    if let Some(message) = taiga_message {
        return ToolError::new(ErrorCode::InvalidInput, format!("Taiga refused the request: {message}"));
    }
    let Some(fields) = body.as_object() else {
        return ToolError::new(ErrorCode::InvalidInput, "Taiga refused the request");
    };
    let listed: Vec<Value> = fields
        .iter()
        .map(|(field, messages)| {
            let text = match messages {
                Value::Array(items) => items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "),
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            json!({"field": field, "message": text})
        })
        .collect();
    let summary: Vec<String> = listed
        .iter()
        .map(|item| {
            format!(
                "{}: {}",
                item["field"].as_str().unwrap_or_default(),
                item["message"].as_str().unwrap_or_default()
            )
        })
        .collect();
    let mut err = ToolError::new(
        ErrorCode::InvalidInput,
        format!("Taiga refused the request: {}", summary.join("; ")),
    )
    .with("fields", listed.clone());
    if let Some(first) = listed.first() {
        err = err.with("field", first["field"].clone());
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str, headers: &[(&str, &str)]) -> HttpResponse {
        HttpResponse {
            status,
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn parses_origins() {
        for (input, expected) in [
            ("https://api.taiga.io", "https://api.taiga.io"),
            ("HTTPS://Taiga.Example.com/", "https://taiga.example.com"),
            ("taiga.example.com", "https://taiga.example.com"),
            ("http://127.0.0.1:8100/api/v1", "http://127.0.0.1:8100"),
            ("https://[::1]:8443", "https://[::1]:8443"),
            ("https://example.com/taiga", "https://example.com/taiga"),
            ("https://Example.com/taiga/api/v1/", "https://example.com/taiga"),
            ("example.com/pm/taiga-6.10/", "https://example.com/pm/taiga-6.10"),
        ] {
            assert_eq!(TaigaUrl::parse(input).unwrap().as_str(), expected, "{input}");
        }
        assert_eq!(
            TaigaUrl::parse("https://example.com/taiga").unwrap().api("/auth"),
            "https://example.com/taiga/api/v1/auth"
        );
        assert_eq!(
            TaigaUrl::parse("https://example.com/pm/taiga/api/v1")
                .unwrap()
                .base_path(),
            "/pm/taiga"
        );
        assert_eq!(TaigaUrl::parse("https://[::1]:8443/").unwrap().base_path(), "");
    }

    #[test]
    fn refuses_smuggling_forms() {
        for input in [
            "ftp://taiga.example.com",
            "file:///etc/passwd",
            "https://allowed.example@evil.example",
            "https://evil.example/api/v1?x=1",
            "https://evil.example#frag",
            "https://evil.example/../admin",
            "https://evil.example/taiga/./x",
            "https://evil.example/ta%69ga",
            "https://evil.example//taiga",
            "https://evil.example/taiga;x",
            "https://evil.example/taiga\\..\\x",
            "https://evil.example:99999",
            "https://evil.example:0",
            "https://",
            "https://%65vil.example",
            "https://evil example",
        ] {
            assert!(TaigaUrl::parse(input).is_err(), "{input} should be refused");
        }
    }

    #[test]
    fn encodes_queries() {
        assert_eq!(
            with_query(
                "/projects",
                &[("member", Some("5".into())), ("q", Some("a b&c".into())), ("x", None)]
            ),
            "/projects?member=5&q=a%20b%26c"
        );
        assert_eq!(with_query("/projects", &[("x", None)]), "/projects");
    }

    #[test]
    fn maps_recorded_error_shapes() {
        let cases = [
            (
                401,
                r#"{"detail":"No active account found with the given credentials","code":"invalid_credentials"}"#,
                ErrorCode::InvalidCredentials,
            ),
            (
                401,
                r#"{"detail":"Given token not valid for any token type","code":"token_not_valid"}"#,
                ErrorCode::SessionExpired,
            ),
            (
                403,
                r#"{"_error_message":"You do not have permission to perform this action.","_error_type":"taiga.base.exceptions.PermissionDenied"}"#,
                ErrorCode::PermissionDenied,
            ),
            (404, r#"{"_error_message":""}"#, ErrorCode::NotFound),
            (404, "<html>Not Found</html>", ErrorCode::NotFound),
            (
                400,
                r#"{"version":"The version doesn't match with the current one"}"#,
                ErrorCode::VersionConflict,
            ),
            (
                400,
                r#"{"subject":["This field is required."]}"#,
                ErrorCode::InvalidInput,
            ),
            (500, "oops", ErrorCode::TaigaUnavailable),
            (502, "", ErrorCode::TaigaUnavailable),
            (
                405,
                r#"{"_error_message":"Method 'PUT' not allowed."}"#,
                ErrorCode::TaigaError,
            ),
        ];
        for (status, body, code) in cases {
            assert_eq!(
                status_error(&response(status, body, &[]), "project 7").code,
                code,
                "{status} {body}"
            );
        }
    }

    #[test]
    fn a_choice_of_another_project_names_the_field_not_the_users_rights() {
        for (message, field) in [
            (
                "You don't have permissions to set this status to this user story.",
                "status",
            ),
            (
                "You don't have permissions to set this sprint to this task.",
                "sprint_id",
            ),
            (
                "You don't have permissions to set this severity to this issue.",
                "severity",
            ),
        ] {
            let body = json!({"_error_message": message, "_error_type": "taiga.base.exceptions.PermissionDenied"});
            let err = status_error(&response(403, &body.to_string(), &[]), "project 3");
            assert_eq!(err.code, ErrorCode::InvalidInput, "{message}");
            assert_eq!(err.details["field"], field);
            assert!(
                err.message.contains("another project") && !err.message.contains("project 3"),
                "{}",
                err.message
            );
        }
        let generic = json!({"_error_message": "You do not have permission to perform this action."});
        let err = status_error(&response(403, &generic.to_string(), &[]), "project 3");
        assert_eq!(err.code, ErrorCode::PermissionDenied);
    }

    #[test]
    fn field_errors_list_every_field() {
        let err = status_error(
            &response(
                400,
                r#"{"status":["Invalid pk '999999' - object does not exist."],"__all__":["x"]}"#,
                &[],
            ),
            "user story",
        );
        assert_eq!(err.details["fields"].as_array().map(Vec::len), Some(2));
        assert!(err.message.contains("status: Invalid pk"));
    }

    #[test]
    fn throttling_carries_the_wait() {
        let err = status_error(
            &response(
                429,
                r#"{"_error_message":"Request was throttled.Expected available in 59 seconds."}"#,
                &[("X-Throttle-Wait-Seconds", "60")],
            ),
            "x",
        );
        assert_eq!(err.code, ErrorCode::RateLimited);
        assert_eq!(err.details["retry_after_seconds"], 60);
    }

    /// Every request with a body carries its length in bytes and is never chunked; a request
    /// without one carries neither (Taiga reads a body by `Content-Length` only: recordings 178-180).
    #[test]
    fn bodies_carry_their_length_and_bodiless_requests_neither() {
        let platform = crate::testing::FakePlatform::new();
        platform.respond(|_| Ok(response(200, "{}", &[])));
        let base = TaigaUrl::parse("https://taiga.example.com").unwrap();
        let taiga = Taiga::new(&platform, &base, 1000, 1 << 20).with_token("t");
        let body = json!({"subject": "Größe ✓", "version": 1});
        taiga.post("/userstories", &body, "x").unwrap();
        taiga.patch("/userstories/1", &body, "x").unwrap();
        taiga.get("/userstories/1", "x").unwrap();
        taiga.delete("/userstories/1", "x").unwrap();
        let sent = platform.sent.borrow();
        let header = |request: &HttpRequest, name: &str| -> Vec<String> {
            request
                .headers
                .iter()
                .filter(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value.clone())
                .collect()
        };
        for request in sent.iter() {
            assert!(header(request, "transfer-encoding").is_empty(), "{request:?}");
            assert_eq!(header(request, "user-agent"), [USER_AGENT]);
            if request.body.is_empty() {
                assert!(header(request, "content-length").is_empty(), "{request:?}");
            } else {
                assert_eq!(header(request, "content-length"), [request.body.len().to_string()]);
            }
        }
        let with_body: Vec<Method> = sent.iter().filter(|r| !r.body.is_empty()).map(|r| r.method).collect();
        assert_eq!(with_body, [Method::Post, Method::Patch]);
        assert_eq!(sent[0].body.len(), body.to_string().len(), "bytes, not characters");
    }

    /// A multipart upload goes with its length, its boundary in its type, and the file as sent;
    /// a boundary never occurs in the content.
    #[test]
    fn multipart_uploads_carry_their_length_and_boundary() {
        let platform = crate::testing::FakePlatform::new();
        platform.respond(|_| Ok(response(201, "{\"id\": 1}", &[])));
        let base = TaigaUrl::parse("https://taiga.example.com").unwrap();
        let taiga = Taiga::new(&platform, &base, 1000, 1 << 20).with_token("t");
        let content = b"line one\r\n--not-a-boundary\r\n\x00\xff".to_vec();
        let form = Multipart::new()
            .text("object_id", "7")
            .text("description", "say \"hi\"")
            .file("attached_file", "notes\".txt", "text/plain", content.clone())
            .with_boundary(|| *b"b0undary-0123456");
        let form = Multipart {
            boundary: "b0undary".to_owned(),
            ..form
        };
        taiga.post_multipart("/userstories/attachments", &form, "x").unwrap();
        let sent = &platform.sent.borrow()[0];
        let header = |name: &str| sent.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        assert_eq!(
            header("content-type").as_deref(),
            Some("multipart/form-data; boundary=b0undary")
        );
        assert_eq!(header("content-length"), Some(sent.body.len().to_string()));
        assert_eq!(sent.url, "https://taiga.example.com/api/v1/userstories/attachments");
        let mut expected = b"--b0undary\r\nContent-Disposition: form-data; name=\"object_id\"\r\n\r\n7\r\n\
            --b0undary\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\nsay \"hi\"\r\n\
            --b0undary\r\nContent-Disposition: form-data; name=\"attached_file\"; filename=\"notes%22.txt\"\r\n\
            Content-Type: text/plain\r\n\r\n"
            .to_vec();
        expected.extend_from_slice(&content);
        expected.extend_from_slice(b"\r\n--b0undary--\r\n");
        assert_eq!(sent.body, expected);
        // A boundary that occurs in the file, or in a text part, is drawn again.
        let taken = format!("taiga-mcp-{}", "61".repeat(16));
        let in_text = format!("x {taken}");
        for (text, file) in [("", taken.as_str()), (in_text.as_str(), "")] {
            let mut draws = [[b'a'; 16], [b'b'; 16]].into_iter();
            let form = Multipart::new()
                .text("description", text)
                .file("attached_file", "f", "text/plain", file.as_bytes().to_vec())
                .with_boundary(|| draws.next().unwrap());
            assert_eq!(form.boundary, format!("taiga-mcp-{}", "62".repeat(16)));
        }
    }

    /// A text part cannot start a field of its own: its line breaks go as spaces.
    #[test]
    fn a_text_part_cannot_add_a_field() {
        let form = Multipart::new()
            .text(
                "description",
                "x\r\n--B\r\nContent-Disposition: form-data; name=\"project\"\r\n\r\n1",
            )
            .with_boundary(|| [0x42; 16]);
        let body = String::from_utf8(form.body()).unwrap();
        let headers = body
            .split("\r\n")
            .filter(|line| line.starts_with("Content-Disposition"))
            .count();
        assert_eq!(headers, 1, "one part only: {body}");
    }

    /// Files are fetched from the session's origin only; anything else is refused before a request.
    #[test]
    fn downloads_stay_on_the_session_origin() {
        let base = TaigaUrl::parse("https://taiga.example.com/taiga").unwrap();
        assert_eq!(base.origin(), "https://taiga.example.com");
        assert_eq!(
            base.same_origin("https://TAIGA.example.com/media/a/b/notes.txt#_taiga-refresh=userstory:1"),
            Ok("https://taiga.example.com/media/a/b/notes.txt".to_owned())
        );
        assert_eq!(
            base.same_origin("https://taiga.example.com/media/x.txt?token=abc"),
            Ok("https://taiga.example.com/media/x.txt?token=abc".to_owned())
        );
        for refused in [
            "http://taiga.example.com/media/x.txt",
            "https://taiga.example.com:8443/media/x.txt",
            "https://taiga.example.com.evil.test/media/x.txt",
            "https://evil.test/media/x.txt",
            "https://taiga.example.com@evil.test/x",
            "https://169.254.169.254/latest/meta-data",
            "https://taiga.example.com/media/../../admin",
            "https://taiga.example.com/media/a\\b",
            "https://taiga.example.com",
            "file:///etc/passwd",
            "/media/x.txt",
        ] {
            assert!(base.same_origin(refused).is_err(), "{refused}");
        }
        let platform = crate::testing::FakePlatform::new();
        platform.respond(|_| Ok(response(200, "secret", &[])));
        let taiga = Taiga::new(&platform, &base, 1000, 1 << 20);
        let err = taiga.download("http://10.0.0.1/x", 100, "attachment 1").unwrap_err();
        assert_eq!(err.code, ErrorCode::HostNotAllowed);
        assert!(platform.sent.borrow().is_empty(), "nothing sent for a foreign url");
        taiga
            .download("https://taiga.example.com/media/x.txt", 100, "attachment 1")
            .unwrap();
        assert_eq!(platform.sent.borrow()[0].max_response_bytes, 100);
    }

    /// Every error Taiga answered in the recordings, by number, and the code it maps to.
    const RECORDED_ERRORS: &[(&str, &str)] = &[
        ("02", "INVALID_CREDENTIALS"),  // 02-auth-login-wrong-password
        ("03", "INVALID_CREDENTIALS"),  // 03-auth-login-unknown-user
        ("04", "INVALID_INPUT"),        // 04-auth-login-missing-type
        ("07", "SESSION_EXPIRED"),      // 07-auth-refresh-bad
        ("09", "SESSION_EXPIRED"),      // 09-users-me-no-token
        ("10", "SESSION_EXPIRED"),      // 10-users-me-bad-token
        ("11", "SESSION_EXPIRED"),      // 11-users-me-bad-scheme
        ("12", "SESSION_EXPIRED"),      // 12-projects-list-bad-token
        ("14", "INVALID_INPUT"),        // 14-auth-register-duplicate
        ("15", "INVALID_INPUT"),        // 15-auth-register-no-terms
        ("19", "INVALID_INPUT"),        // 19-projects-create-missing-fields
        ("31", "INVALID_INPUT"),        // 31-projects-patch-invalid
        ("45", "INVALID_INPUT"),        // 45-memberships-invite-duplicate
        ("46", "INVALID_INPUT"),        // 46-memberships-invite-bad-role
        ("51", "INVALID_INPUT"),        // 51-milestones-create-duplicate-name
        ("52", "INVALID_INPUT"),        // 52-milestones-create-missing-dates
        ("53", "INVALID_INPUT"),        // 53-milestones-create-finish-before-start
        ("60", "INVALID_INPUT"),        // 60-userstories-create-empty-subject
        ("61", "INVALID_INPUT"),        // 61-userstories-create-no-project
        ("62", "INVALID_INPUT"),        // 62-userstories-create-bad-status
        ("68", "NOT_FOUND"),            // 68-userstories-get-missing
        ("70", "VERSION_CONFLICT"),     // 70-userstories-patch-stale-version-same-field
        ("72", "VERSION_CONFLICT"),     // 72-userstories-patch-future-version
        ("73", "VERSION_CONFLICT"),     // 73-userstories-patch-no-version
        ("74", "INVALID_INPUT"),        // 74-userstories-patch-version-not-int
        ("84", "INVALID_INPUT"),        // 84-tasks-create-empty-subject
        ("90", "VERSION_CONFLICT"),     // 90-tasks-patch-stale-version
        ("95", "INVALID_INPUT"),        // 95-issues-create-empty-subject
        ("96", "INVALID_INPUT"),        // 96-issues-create-bad-priority
        ("101", "VERSION_CONFLICT"),    // 101-issues-patch-stale-version
        ("104", "NOT_FOUND"),           // 104-issues-get-missing
        ("109", "INVALID_INPUT"),       // 109-epics-related-userstories-duplicate
        ("114", "VERSION_CONFLICT"),    // 114-epics-patch-stale-version
        ("117", "INVALID_INPUT"),       // 117-wiki-create-duplicate-slug
        ("120", "NOT_FOUND"),           // 120-wiki-get-by-slug-missing
        ("123", "VERSION_CONFLICT"),    // 123-wiki-patch-stale-version
        ("127", "PERMISSION_DENIED"),   // 127-bob-get-private-project
        ("128", "NOT_FOUND"),           // 128-bob-get-private-project-by-slug
        ("129", "PERMISSION_DENIED"),   // 129-bob-get-private-userstory
        ("131", "PERMISSION_DENIED"),   // 131-bob-patch-private-userstory
        ("132", "PERMISSION_DENIED"),   // 132-bob-create-userstory-private
        ("133", "PERMISSION_DENIED"),   // 133-bob-delete-private-project
        ("134", "SESSION_EXPIRED"),     // 134-anon-get-private-project
        ("135", "SESSION_EXPIRED"),     // 135-anon-create-userstory
        ("137", "PERMISSION_DENIED"),   // 137-bob-patch-public-sample-project
        ("138", "NOT_FOUND"),           // 138-projects-get-missing
        ("139", "TAIGA_ERROR"),         // 139-method-not-allowed
        ("140", "INVALID_INPUT"),       // 140-malformed-json-body
        ("141", "NOT_FOUND"),           // 141-trailing-slash
        ("142", "INVALID_INPUT"),       // 142-userstories-create-assigned-non-member
        ("145", "INVALID_INPUT"),       // 145-bob-invite-member-private
        ("152", "NOT_FOUND"),           // 152-issues-list-page-out-of-range
        ("153", "NOT_FOUND"),           // 153-issues-list-page-not-int
        ("162", "NOT_FOUND"),           // 162-tasks-get-after-delete
        ("167", "NOT_FOUND"),           // 167-userstories-delete-again
        ("171", "NOT_FOUND"),           // 171-projects-get-after-delete
        ("172", "INVALID_CREDENTIALS"), // 172-throttle-login-fail-1
        ("173", "INVALID_CREDENTIALS"), // 173-throttle-login-fail-2
        ("174", "RATE_LIMITED"),        // 174-throttle-login-fail-3-throttled
        ("175", "RATE_LIMITED"),        // 175-throttle-login-correct-password-still-throttled
        ("176", "RATE_LIMITED"),        // 176-throttle-user-read-6th-request
        ("177", "RATE_LIMITED"),        // 177-throttle-anon-read-4th-request
        ("178", "INVALID_INPUT"),       // 178-chunked-body-login
        ("179", "INVALID_INPUT"),       // 179-chunked-body-userstories-create
        ("180", "VERSION_CONFLICT"),    // 180-chunked-body-userstories-patch
        ("187", "INVALID_INPUT"),       // 187-attachments-userstory-upload-no-file
        ("194", "INVALID_INPUT"),       // 194-userstory-custom-attributes-values-patch-unknown-attr
        ("197", "INVALID_INPUT"),       // 197-userstory-patch-bad-due-date
        ("211", "NOT_FOUND"),           // 211-search-missing-project
        ("219", "VERSION_CONFLICT"),    // 219-occ-userstory-patch-subject-stale-version-same-field
        ("220", "VERSION_CONFLICT"),    // 220-occ-userstory-patch-comment-no-version
        ("221", "VERSION_CONFLICT"),    // 221-occ-userstory-patch-version-ahead
        ("222", "INVALID_INPUT"),       // 222-occ-task-create-without-project
        ("223", "INVALID_INPUT"),       // 223-project-create-empty-description
        ("224", "INVALID_INPUT"),       // 224-project-create-no-description
    ];

    /// The one mapping of Taiga's answers to codes, over every error body recorded from a real
    /// Taiga: each maps to its expected code, a field error names its field, a throttle its wait.
    /// A new error recording fails this test until it is given its code here.
    #[test]
    fn every_recorded_error_maps_to_its_code() {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/taiga-api/recordings");
        let mut seen = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let file = entry.unwrap().file_name().into_string().unwrap();
            if file.starts_with("INDEX") || !file.ends_with(".json") {
                continue;
            }
            let exchange: Value = serde_json::from_slice(&std::fs::read(dir.join(&file)).unwrap()).unwrap();
            let recorded = &exchange["response"];
            let status = recorded["status"].as_u64().unwrap() as u16;
            if status < 400 {
                continue;
            }
            let headers: Vec<(String, String)> = recorded["headers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|pair| {
                    (
                        pair[0].as_str().unwrap().to_owned(),
                        pair[1].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            let body = match (&recorded["body"], &recorded["body_raw"]) {
                (Value::Null, Value::String(raw)) => raw.clone().into_bytes(),
                (Value::Null, _) => Vec::new(),
                (json, _) => json.to_string().into_bytes(),
            };
            let number = file.split('-').next().unwrap().to_owned();
            let expected = RECORDED_ERRORS
                .iter()
                .find(|(n, _)| *n == number)
                .unwrap_or_else(|| panic!("{file}: give this recorded error its code in RECORDED_ERRORS"))
                .1;
            let err = status_error(&HttpResponse { status, headers, body }, "the resource");
            assert_eq!(err.code.as_str(), expected, "{file}: {}", err.message);
            assert!(
                !err.message.is_empty() && !err.message.contains("::"),
                "{file}: {}",
                err.message
            );
            let fields = recorded["body"].as_object().filter(|body| {
                !body.contains_key("_error_message")
                    && !body.contains_key("detail")
                    && !body.get("version").is_some_and(Value::is_string)
            });
            if let Some(fields) = fields {
                assert_eq!(
                    err.details.get("field"),
                    Some(&json!(fields.keys().next().unwrap())),
                    "{file}"
                );
            }
            if status == 429 {
                assert_eq!(err.details.get("retry_after_seconds"), Some(&json!(60)), "{file}");
            }
            seen.push(number);
        }
        seen.sort();
        let mut listed: Vec<String> = RECORDED_ERRORS.iter().map(|(n, _)| (*n).to_owned()).collect();
        listed.sort();
        assert_eq!(seen, listed, "RECORDED_ERRORS lists exactly the recorded errors");
    }
}
