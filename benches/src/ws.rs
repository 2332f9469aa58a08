//! WebSocket plumbing shared by the sensor and display connections: URLs, the handshake with a
//! subprotocol, and turning failures into error codes for the report.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::bail;
use tally_protocol::ErrorBody;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, client_async_with_config, connect_async_with_config,
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
    connect_from(url, subprotocol, None).await
}

/// Like [`connect`], from the local address `source` when given (any loopback address works on
/// Linux, so one machine can play several clients that the node tells apart by address).
pub(crate) async fn connect_from(
    url: &str,
    subprotocol: &'static str,
    source: Option<IpAddr>,
) -> Result<Ws, Failure> {
    let mut request = url
        .into_client_request()
        .map_err(|e| Failure::with_detail("invalid_url", e.to_string()))?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static(subprotocol),
    );
    let handshake = async {
        let Some(source) = source else {
            return connect_async_with_config(request, Some(client_config()), false)
                .await
                .map(|(ws, _)| ws);
        };
        let node = node_addr(request.uri())?;
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(source, 0))?;
        let stream = MaybeTlsStream::Plain(socket.connect(node).await?);
        client_async_with_config(request, stream, Some(client_config()))
            .await
            .map(|(ws, _)| ws)
    };
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
        Err(_) => Err(Failure::new("handshake_timeout")),
        Ok(Ok(ws)) => Ok(ws),
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

/// The socket address of a `ws://ip:port/…` URI (the benchmarks connect to IP addresses).
fn node_addr(uri: &tungstenite::http::Uri) -> tungstenite::Result<SocketAddr> {
    let invalid = || {
        tungstenite::Error::Url(tungstenite::error::UrlError::UnableToConnect(
            uri.to_string(),
        ))
    };
    let ip: IpAddr = uri
        .host()
        .and_then(|h| h.parse().ok())
        .ok_or_else(invalid)?;
    Ok(SocketAddr::new(ip, uri.port_u16().ok_or_else(invalid)?))
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
