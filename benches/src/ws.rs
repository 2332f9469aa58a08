//! WebSocket plumbing shared by the sensor and display connections: URLs, the handshake with a
//! subprotocol, and turning failures into error codes for the report.

use std::time::Duration;

use anyhow::bail;
use tally_protocol::ErrorBody;
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async_with_config,
    tungstenite::{self, client::IntoClientRequest, http::HeaderValue, protocol::CloseFrame},
};

use crate::stats::Failure;

/// Client read buffer: tungstenite zero-fills it on every read attempt, so its 128 KiB default
/// would make the load generator burn the CPU it shares with the node on memset.
fn client_config() -> tungstenite::protocol::WebSocketConfig {
    tungstenite::protocol::WebSocketConfig::default().read_buffer_size(8 * 1024)
}

/// A client WebSocket.
pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Longest wait for a handshake or for the first answer frame.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);

/// The `ws://` base of an `http://` base URL.
///
/// # Errors
/// If the URL is not plain `http://` (the load generator is built without TLS).
pub(crate) fn ws_base(url: &str) -> anyhow::Result<String> {
    let url = url.trim_end_matches('/');
    match url.strip_prefix("http://") {
        Some(rest) if !rest.is_empty() => Ok(format!("ws://{rest}")),
        _ => bail!("--url {url:?} must start with http:// (no TLS in tally-load)"),
    }
}

/// Opens a WebSocket to `url` asking for `subprotocol`. Failure codes: `http_<status>_<api code>`
/// when the node refused the upgrade, `connect_failed`, `handshake_timeout` or `handshake_failed`.
pub(crate) async fn connect(url: &str, subprotocol: &'static str) -> Result<Ws, Failure> {
    let mut request = url
        .into_client_request()
        .map_err(|e| Failure::with_detail("invalid_url", e.to_string()))?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static(subprotocol),
    );
    match tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        connect_async_with_config(request, Some(client_config()), false),
    )
    .await
    {
        Err(_) => Err(Failure::new("handshake_timeout")),
        Ok(Ok((ws, _response))) => Ok(ws),
        Ok(Err(tungstenite::Error::Http(response))) => {
            let status = response.status().as_u16();
            let body = response
                .body()
                .as_deref()
                .and_then(|body| serde_json::from_slice::<ErrorBody>(body).ok());
            Err(match body {
                Some(body) => Failure::with_detail(
                    format!("http_{status}_{}", body.error.code),
                    body.error.message,
                ),
                None => Failure::new(format!("http_{status}")),
            })
        }
        Ok(Err(tungstenite::Error::Io(e))) => {
            Err(Failure::with_detail("connect_failed", e.to_string()))
        }
        Ok(Err(e)) => Err(Failure::with_detail("handshake_failed", e.to_string())),
    }
}

/// The failure of a close frame received before the client asked to close: code
/// `close_<code>` (tally uses 4000 + HTTP status, e.g. `close_4503`), detail the reason.
pub(crate) fn close_failure(frame: Option<&CloseFrame>) -> Failure {
    frame.map_or_else(
        || Failure::new("closed_without_code"),
        |f| Failure::with_detail(format!("close_{}", u16::from(f.code)), f.reason.as_str()),
    )
}

/// Closes politely, not waiting more than a second for the node.
pub(crate) async fn close(mut ws: Ws) {
    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ws_urls() {
        assert_eq!(
            ws_base("http://127.0.0.1:8080/").unwrap(),
            "ws://127.0.0.1:8080"
        );
        assert!(ws_base("https://example.invalid").is_err());
        assert!(ws_base("http://").is_err());
    }
}
