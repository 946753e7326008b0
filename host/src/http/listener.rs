//! The accept loop of the HTTP transport. `axum::serve` has no header timeout and no cap on
//! connections, so one client could hold every descriptor with sockets that never finish a request;
//! this loop admits each connection through the [`ConnectionGate`] and serves it as HTTP/1.1 with a
//! header read timeout (HTTP/2 belongs to the TLS proxy in front, which speaks HTTP/1.1 to us).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower_service::Service;

use super::connections::ConnectionGate;
use crate::metrics::Metrics;

/// What a refused connection is told before it is closed (written once, without waiting).
const REFUSED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain\r\n\
Retry-After: 1\r\nContent-Length: 42\r\n\r\ntoo many connections; retry in a moment.\n\n";

/// How long a stop waits for open connections (SSE streams among them) after the calls drained.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// Serves `app` on `listener` until `shutdown` resolves, then closes connections gracefully.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    gate: Arc<ConnectionGate>,
    header_timeout: Duration,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of descriptors (EMFILE) or a connection reset before accept: wait a
                    // moment rather than spin, and keep serving the connections already open.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let permit = match gate.admit(peer.ip()) {
            Ok(permit) => permit,
            Err(refusal) => {
                metrics.http_refusal(refusal.setting());
                tracing::debug!(limit = refusal.setting(), "connection refused");
                let _ = stream.try_write(REFUSED);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            app.clone().call(request)
        });
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, "connection closed with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(CLOSE_WAIT, graceful.shutdown()).await.is_err() {
        tracing::info!("connections still open at shutdown were closed");
    }
}
