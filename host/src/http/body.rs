//! Request bodies: read whole within a deadline (a client that declares a body and never sends
//! it is cut off instead of holding its connection), and, for MCP, checked as JSON-RPC before
//! the MCP service sees them, so that what is not a JSON-RPC message gets the JSON-RPC error the
//! specification names (rmcp answers it with HTTP 415, as if the media type were wrong).

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::model::ClientJsonRpcMessage;
use serde_json::{Value, json};

/// How a request body is read.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// The longest wait for the whole body.
    pub timeout: Duration,
    /// Its largest size.
    pub max_bytes: usize,
}

/// The method of the JSON-RPC request a POST to `/mcp` carries (`initialize`, `tools/call`...).
#[derive(Debug, Clone)]
pub struct JsonRpcMethod(pub String);

/// Reads the body of a request that has one within `limits`, checks an MCP message (its method
/// goes on as a [`JsonRpcMethod`] extension), and hands the request on with the body in memory.
pub async fn read_whole(State(limits): State<BodyLimits>, request: Request, next: Next) -> Response {
    if !matches!(*request.method(), Method::POST | Method::PUT | Method::PATCH) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = match tokio::time::timeout(limits.timeout, axum::body::to_bytes(body, limits.max_bytes)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                [(header::CONNECTION, "close")],
                format!(
                    "the request body is over {} bytes, or was cut short\n",
                    limits.max_bytes
                ),
            )
                .into_response();
        }
        Err(_) => {
            return (
                StatusCode::REQUEST_TIMEOUT,
                [(header::CONNECTION, "close")],
                format!(
                    "the request body did not arrive within {} s\n",
                    limits.timeout.as_secs()
                ),
            )
                .into_response();
        }
    };
    let mut request = Request::from_parts(parts, Body::from(bytes.clone()));
    if request.uri().path() == "/mcp" {
        match message(&bytes) {
            Ok(Some(method)) => {
                request.extensions_mut().insert(JsonRpcMethod(method));
            }
            Ok(None) => {}
            Err(error) => {
                return (
                    StatusCode::BAD_REQUEST,
                    [(header::CONTENT_TYPE, "application/json")],
                    error.to_string(),
                )
                    .into_response();
            }
        }
    }
    next.run(request).await
}

/// The method of a JSON-RPC request (`None` for a notification or a response), or the JSON-RPC error for a body that
/// is not one JSON-RPC message.
fn message(bytes: &Bytes) -> Result<Option<String>, Value> {
    match serde_json::from_slice::<ClientJsonRpcMessage>(bytes) {
        Ok(ClientJsonRpcMessage::Request(request)) => Ok(Some(request.request.method().to_owned())),
        Ok(_) => Ok(None),
        Err(_) => Err(not_a_message(bytes)),
    }
}

/// The JSON-RPC error for a body that is not one JSON-RPC message.
fn not_a_message(bytes: &Bytes) -> Value {
    let error =
        |code: i64, message: &str| json!({"jsonrpc": "2.0", "id": null, "error": {"code": code, "message": message}});
    let Ok(value) = serde_json::from_slice::<Value>(bytes) else {
        return error(-32700, "Parse error: the body is not JSON (UTF-8)");
    };
    if value.is_array() {
        error(
            -32600,
            "Invalid Request: MCP does not take JSON-RPC batches; send each message in its own request",
        )
    } else {
        let mut reply = error(
            -32600,
            "Invalid Request: the body is not a JSON-RPC 2.0 request, notification or response",
        );
        if let Some(id) = value.get("id").filter(|id| id.is_string() || id.is_number()) {
            reply["id"] = id.clone();
        }
        reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(body: &[u8]) -> Option<i64> {
        message(&Bytes::copy_from_slice(body))
            .err()
            .map(|error| error["error"]["code"].as_i64().unwrap())
    }

    #[test]
    fn json_rpc_messages_pass() {
        assert_eq!(
            message(&Bytes::from_static(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)),
            Ok(Some("ping".to_owned()))
        );
        assert_eq!(code(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#), None);
        assert_eq!(
            code(br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":"x"}}"#),
            None,
            "a known method with wrong params is the handler's -32602"
        );
    }

    #[test]
    fn what_is_not_a_message_gets_its_json_rpc_error() {
        assert_eq!(code(b"{\"jsonrpc\":"), Some(-32700));
        assert_eq!(code(b"\xff\xfe{}"), Some(-32700), "not UTF-8");
        assert_eq!(code(br#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#), Some(-32600));
        assert_eq!(code(br#"{"id":1,"method":"ping"}"#), Some(-32600), "no jsonrpc member");
        let reply = not_a_message(&Bytes::from_static(br#"{"jsonrpc":"1.0","id":7,"method":"ping"}"#));
        assert_eq!(reply["id"], 7, "the id is kept where there is one");
    }
}
