//! Request bodies as Taiga reads them: whole, with their length.
//!
//! Taiga (Django, under gunicorn or runserver) reads a request body by `Content-Length` only: a body
//! sent with `Transfer-Encoding: chunked` and no length arrives empty, and every login and write
//! fails (recordings 178-180 in `tests/taiga-api`). hyper chunks any body whose length it does not
//! know, which is every body a component streams through `wasi:http`. So the host reads the whole
//! body first (Taiga's requests are small JSON or one attachment) and sends it as a plain client
//! does: with its `Content-Length`, or, when it is empty, with neither header.

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Empty, Full};
use wasmtime_wasi_http::{Error as HttpError, WasiBody};

/// The largest request body the host sends to Taiga. Above Taiga's own default upload limit
/// (`DATA_UPLOAD_MAX_MEMORY_SIZE` 2.5 MiB for form data, attachments up to the instance's
/// `MAX_UPLOAD_FILE_SIZE`), and bounded so that a component cannot make the host buffer without end.
pub const MAX_REQUEST_BODY_BYTES: usize = 32 * 1024 * 1024;

/// `request` with its body read whole and framed by `Content-Length`. Trailers are dropped: a
/// plain client sends none and Taiga reads none.
pub async fn with_length(request: http::Request<WasiBody>) -> Result<http::Request<WasiBody>, HttpError> {
    let (mut parts, mut body) = request.into_parts();
    let mut bytes = BytesMut::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            if bytes.len() + data.len() > MAX_REQUEST_BODY_BYTES {
                return Err(HttpError::HttpRequestBodySize(Some((bytes.len() + data.len()) as u64)));
            }
            bytes.extend_from_slice(&data);
        }
    }
    parts.headers.remove(http::header::TRANSFER_ENCODING);
    let body = if bytes.is_empty() {
        parts.headers.remove(http::header::CONTENT_LENGTH);
        Empty::<Bytes>::new().map_err(|never| match never {}).boxed_unsync()
    } else {
        parts
            .headers
            .insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(bytes.len()));
        Full::new(bytes.freeze()).map_err(|never| match never {}).boxed_unsync()
    };
    Ok(http::Request::from_parts(parts, body))
}
