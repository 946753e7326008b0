//! One Taiga request over `wasi:http/outgoing-handler`, with timeouts and a response size cap:
//! the HTTP client both Taiga components share (`taiga-component` and the typed `taiga-gateway`).
//! The request's headers, `Content-Length` included, come from `taiga-tools`.

#![deny(missing_docs)]

mod bindings {
    wit_bindgen::generate!({
        inline: "package taiga:http-client; world client { import wasi:http/outgoing-handler@0.2.12; }",
        path: "../../wit",
        generate_all,
    });
}

use bindings::wasi::http::outgoing_handler;
use bindings::wasi::http::types::{
    ErrorCode, Fields, IncomingBody, Method as WasiMethod, OutgoingBody, OutgoingRequest, RequestOptions, Scheme,
};
use bindings::wasi::io::streams::StreamError;
use taiga_tools::{CertificateProblem, HttpRequest, HttpResponse, Method, TransportError, error_code_name};

/// Largest chunk `blocking-write-and-flush` accepts.
const WRITE_CHUNK: usize = 4096;
/// Read granularity for response bodies.
const READ_CHUNK: u64 = 64 * 1024;

/// Sends `request` and reads the whole response, refusing bodies over `max_response_bytes`.
pub fn send(request: &HttpRequest) -> Result<HttpResponse, TransportError> {
    let (scheme, rest) = request
        .url
        .split_once("://")
        .ok_or_else(|| TransportError::Failed("URL without a scheme".into()))?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let scheme = match scheme {
        "https" => Scheme::Https,
        "http" => Scheme::Http,
        _ => return Err(TransportError::Denied),
    };

    let headers = Fields::new();
    for (name, value) in &request.headers {
        headers
            .append(name, value.as_bytes())
            .map_err(|_| TransportError::Failed(format!("header `{name}` refused")))?;
    }
    let outgoing = OutgoingRequest::new(headers);
    let method = match request.method {
        Method::Get => WasiMethod::Get,
        Method::Post => WasiMethod::Post,
        Method::Patch => WasiMethod::Patch,
        Method::Delete => WasiMethod::Delete,
    };
    let invalid = |_| TransportError::Failed("request line refused".into());
    outgoing.set_method(&method).map_err(invalid)?;
    outgoing.set_scheme(Some(&scheme)).map_err(invalid)?;
    outgoing.set_authority(Some(authority)).map_err(invalid)?;
    outgoing
        .set_path_with_query(Some(if path.is_empty() { "/" } else { path }))
        .map_err(invalid)?;

    let options = RequestOptions::new();
    let timeout_ns = u64::from(request.timeout_ms) * 1_000_000;
    // The host caps these; setting them keeps a slow Taiga from holding a call open.
    let _ = options.set_connect_timeout(Some(timeout_ns));
    let _ = options.set_first_byte_timeout(Some(timeout_ns));
    let _ = options.set_between_bytes_timeout(Some(timeout_ns));

    let body = outgoing
        .body()
        .map_err(|_| TransportError::Failed("request body unavailable".into()))?;
    let pending = outgoing_handler::handle(outgoing, Some(options)).map_err(transport_error)?;
    write_body(&body, &request.body)?;
    OutgoingBody::finish(body, None).map_err(transport_error)?;

    let response = loop {
        if let Some(ready) = pending.get() {
            break ready
                .map_err(|()| TransportError::Failed("response taken twice".into()))?
                .map_err(transport_error)?;
        }
        pending.subscribe().block();
    };

    let status = response.status();
    let headers: Vec<(String, String)> = response
        .headers()
        .entries()
        .into_iter()
        .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned()))
        .collect();
    let limit = request.max_response_bytes;
    let declared = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(TransportError::TooLarge(limit));
    }

    let incoming = response
        .consume()
        .map_err(|()| TransportError::Failed("response body taken twice".into()))?;
    let body = read_body(&incoming, limit)?;
    drop(IncomingBody::finish(incoming));
    Ok(HttpResponse { status, headers, body })
}

fn write_body(body: &OutgoingBody, bytes: &[u8]) -> Result<(), TransportError> {
    if bytes.is_empty() {
        return Ok(());
    }
    let stream = body
        .write()
        .map_err(|()| TransportError::Failed("request body stream unavailable".into()))?;
    for chunk in bytes.chunks(WRITE_CHUNK) {
        stream.blocking_write_and_flush(chunk).map_err(stream_error)?;
    }
    Ok(())
}

fn read_body(incoming: &IncomingBody, limit: u64) -> Result<Vec<u8>, TransportError> {
    let stream = incoming
        .stream()
        .map_err(|()| TransportError::Failed("response body stream unavailable".into()))?;
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(READ_CHUNK) {
            Ok(chunk) => {
                if bytes.len() as u64 + chunk.len() as u64 > limit {
                    return Err(TransportError::TooLarge(limit));
                }
                if bytes.is_empty() {
                    // Most bodies arrive in one chunk: keep it rather than copy it.
                    bytes = chunk;
                } else {
                    bytes.extend_from_slice(&chunk);
                }
            }
            Err(StreamError::Closed) => return Ok(bytes),
            Err(err) => return Err(stream_error(err)),
        }
    }
}

fn stream_error(err: StreamError) -> TransportError {
    match err {
        StreamError::Closed => TransportError::Failed("connection closed early".into()),
        StreamError::LastOperationFailed(io_error) => match bindings::wasi::http::types::http_error_code(&io_error) {
            Some(code) => transport_error(code),
            None => TransportError::Failed("connection failed while streaming".into()),
        },
    }
}

fn transport_error(code: ErrorCode) -> TransportError {
    match code {
        ErrorCode::HttpRequestDenied | ErrorCode::DestinationIpProhibited => TransportError::Denied,
        ErrorCode::ConnectionTimeout
        | ErrorCode::ConnectionReadTimeout
        | ErrorCode::ConnectionWriteTimeout
        | ErrorCode::HttpResponseTimeout
        | ErrorCode::DnsTimeout => TransportError::Timeout,
        // `taiga-mcp`'s host names a refused certificate's reason in the alert payload, because
        // `TLS-certificate-error` has no room for it; another host may send the bare code.
        ErrorCode::TlsAlertReceived(payload) => {
            match payload.alert_message.as_deref().and_then(CertificateProblem::from_name) {
                Some(problem) => TransportError::Certificate(problem),
                None => TransportError::Failed("tls-alert-received".into()),
            }
        }
        ErrorCode::TlsCertificateError => TransportError::Certificate(CertificateProblem::Refused),
        other => TransportError::Failed(error_code_name(&format!("{other:?}"))),
    }
}
