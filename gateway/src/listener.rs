//! The HTTP listener: accepts connections within the node's limits and serves them with read
//! timeouts, so slow or numerous clients cannot hold the node's connections.
//!
//! - A client must send a request's headers within `http.header_read_timeout` (hyper closes the
//!   connection otherwise); a request must be answered within `http.request_timeout` (408), which
//!   bounds slow bodies; a declared `Content-Length` over the body limit is refused at once (413,
//!   `routes.rs`).
//! - At most `http.max_connections` connections are open, and at most
//!   `http.max_connections_per_source` from one source address; a connection past either is
//!   closed as soon as it is accepted. A WebSocket keeps its [`ConnectionSlot`] (handed to the
//!   handler as a request extension) for as long as it is open.
//! - One source address opens at most `http.connection_rate_per_source` connections a second
//!   (bursts of `http.connection_burst_per_source`, `source_rate.rs`); a connection past that is
//!   closed as soon as it is accepted, before the limits above, TLS or HTTP.
//! - With TLS (`tls.rs`) the handshake must finish within `http.header_read_timeout` too.

use std::future::Future;
use std::net::IpAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tally_config::HttpSettings;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::slots::{Slot, Slots};
use crate::source_rate::SourceRate;
use crate::telemetry;

/// One admitted connection; its place is given back when the last clone is dropped (the
/// connection ended, and any WebSocket it was upgraded to closed).
pub(crate) type ConnectionSlot = Slot<IpAddr>;

/// Serves `app` on `listener` (over TLS when `tls` is given) until `shutdown` resolves, then
/// waits for open HTTP requests to finish (upgraded WebSockets end with the node's actors).
///
/// # Errors
/// Never today; accept errors (e.g. out of file descriptors) are logged and retried.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    settings: &HttpSettings,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let slots = Slots::new(
        settings.max_connections as usize,
        settings.max_connections_per_source as usize,
    );
    let source_rate = SourceRate::new(
        settings.connection_rate_per_source,
        settings.connection_burst_per_source,
    );
    let graceful = GracefulShutdown::new();
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if !source_rate.admit(peer.ip()) {
            metrics::counter!(telemetry::CONNECTIONS_RATE_LIMITED).increment(1);
            tracing::debug!(source = %peer.ip(), "connection refused: over the source's connection rate");
            drop(stream);
            continue;
        }
        let Some(slot) = slots.take(&peer.ip()) else {
            metrics::counter!(telemetry::CONNECTIONS_REFUSED).increment(1);
            tracing::debug!(source = %peer.ip(), "connection refused: over the connection limits");
            drop(stream);
            continue;
        };
        let service = app
            .clone()
            .map_request(move |mut request: hyper::Request<Incoming>| {
                request.extensions_mut().insert(slot.clone());
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                request.map(Body::new)
            });
        let service = TowerToHyperService::new(service);
        let (builder, watcher) = (builder.clone(), graceful.watcher());
        let handshake_timeout = settings.header_read_timeout;
        let tls = tls.clone();
        tokio::spawn(async move {
            let served = match tls {
                None => {
                    let connection =
                        builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    watcher.watch(connection.into_owned()).await
                }
                Some(tls) => {
                    let stream =
                        match tokio::time::timeout(handshake_timeout, tls.accept(stream)).await {
                            Ok(Ok(stream)) => stream,
                            Ok(Err(err)) => {
                                return tracing::debug!(error = %err, "TLS handshake failed");
                            }
                            Err(_) => return tracing::debug!("TLS handshake timed out"),
                        };
                    let connection =
                        builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    watcher.watch(connection.into_owned()).await
                }
            };
            if let Err(err) = served {
                tracing::trace!(error = %err, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Pause after a failed accept (e.g. out of file descriptors), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
