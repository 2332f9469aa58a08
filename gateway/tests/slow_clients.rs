//! Slow or numerous clients cannot hold the node's connections: header and request timeouts, a
//! declared body over the limit refused at once, connection limits per node and per source.

mod support;

use std::net::SocketAddr;

use support::*;
use tally_config::Settings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Settings with tight HTTP limits: 1 s to send headers or a request, 3 connections a source.
fn tight_settings(data: &std::path::Path) -> Settings {
    let mut settings = test_settings(data);
    settings.http.header_read_timeout = std::time::Duration::from_secs(1);
    settings.http.request_timeout = std::time::Duration::from_secs(1);
    settings.http.max_connections_per_source = 3;
    settings.http.max_connections = 5;
    settings
}

/// Connects from `source` (any 127.0.0.0/8 address on Linux).
async fn connect_from(source: [u8; 4], node: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::from((source, 0)))
        .expect("bind a loopback source address");
    socket.connect(node).await.unwrap()
}

/// Reads until the node closes the connection; returns what it sent. Fails after the test's
/// patience (the event awaited is the close).
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut answer))
        .await
        .expect("the node closes the connection within the test's patience")
        .ok();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_trickling_headers_is_disconnected() {
    let (_dir, data) = temp_dir();
    let node = tally_gateway::start(tight_settings(&data)).await.unwrap();
    let mut stream = TcpStream::connect(node.addr()).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // The rest of the headers never comes.
    let answer = read_until_closed(&mut stream).await;
    assert!(!answer.contains("200 OK"), "{answer}");
    stop_checked(node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_declared_body_is_refused_at_once_and_a_slow_body_times_out() {
    let (_dir, data) = temp_dir();
    let node = tally_gateway::start(tight_settings(&data)).await.unwrap();
    let api = Api::new(node.addr());
    let keys = api.provision("acme", "hq", &["r1"]).await;

    let mut stream = TcpStream::connect(node.addr()).await.unwrap();
    let head = format!(
        "POST /v1/readings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\n",
        keys[0]
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut buffer = [0u8; 512];
    let read = tokio::time::timeout(PATIENCE, stream.read(&mut buffer))
        .await
        .expect("answered without sending the body")
        .unwrap();
    let answer = String::from_utf8_lossy(&buffer[..read]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("frame_too_large"), "{answer}");

    let mut stream = TcpStream::connect(node.addr()).await.unwrap();
    let head = format!(
        "POST /v1/readings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"items\":",
        keys[0]
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // The rest of the body never comes.
    let answer = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    stop_checked(node).await;
}

/// Whether a `GET /healthz` from `source` is answered 200 (`false`: closed unanswered).
async fn served_from(source: [u8; 4], node: SocketAddr) -> bool {
    let mut stream = connect_from(source, node).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .ok();
    read_until_closed(&mut stream)
        .await
        .starts_with("HTTP/1.1 200")
}

/// Waits until the node serves `source` again (closed connections are released as the node
/// notices them); fails after the test's patience.
async fn wait_until_served(source: [u8; 4], node: SocketAddr) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !served_from(source, node).await {
        assert!(tokio::time::Instant::now() < deadline, "never served again");
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_bounded_per_source_and_per_node() {
    let (_dir, data) = temp_dir();
    let node = tally_gateway::start(tight_settings(&data)).await.unwrap();
    let addr = node.addr();
    let api = Api::new(addr);
    api.provision("acme", "hq", &["r1"]).await;
    let token = api.viewer_token("acme").await;
    drop(api);

    // Three connections from one source are its limit: a fourth is closed at once, unanswered,
    // while another source is served.
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_from([127, 0, 0, 3], addr).await);
    }
    assert!(!served_from([127, 0, 0, 3], addr).await);
    assert!(served_from([127, 0, 0, 4], addr).await);

    // Two more from another source make the node's 5: every source is refused now.
    for _ in 0..2 {
        held.push(connect_from([127, 0, 0, 4], addr).await);
    }
    assert!(!served_from([127, 0, 0, 5], addr).await);

    // Places come back when connections close.
    held.clear();
    wait_until_served([127, 0, 0, 5], addr).await;

    // A WebSocket keeps its place while it is open: a display and two idle sockets fill the
    // source's three.
    let stream = connect_from([127, 0, 0, 6], addr).await;
    let url = format!("ws://{addr}/v1/live?access_token={token}");
    let (_display, _) = tokio_tungstenite::client_async(url, stream)
        .await
        .expect("display connects");
    for _ in 0..2 {
        held.push(connect_from([127, 0, 0, 6], addr).await);
    }
    assert!(!served_from([127, 0, 0, 6], addr).await);
    held.clear();
    stop_checked(node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_opening_connections_faster_than_its_rate_is_refused_and_another_is_not() {
    let (_dir, data) = temp_dir();
    let mut settings = test_settings(&data);
    settings.http.connection_rate_per_source = 1;
    settings.http.connection_burst_per_source = 3;
    let node = tally_gateway::start(settings).await.unwrap();
    let addr = node.addr();
    let refused_before = rate_limited_count(addr).await;

    // The burst is served; connections opened faster than one a second then are closed
    // unanswered (20 attempts take far less than the seconds that would refill the bucket).
    let source = [127, 0, 0, 7];
    for attempt in 0..3 {
        assert!(
            served_from(source, addr).await,
            "attempt {attempt} of the burst"
        );
    }
    let mut refused = 0;
    for _ in 0..20 {
        if !served_from(source, addr).await {
            refused += 1;
        }
    }
    assert!(refused > 0, "no connection over the rate was refused");
    // Another source has a bucket of its own.
    assert!(served_from([127, 0, 0, 8], addr).await);
    assert!(rate_limited_count(addr).await >= refused_before + f64::from(refused));
    stop_checked(node).await;
}

/// `tally_http_connections_rate_limited_total` on the node's `/metrics` (scraped from a source
/// of its own, so that the scrape is not rate-limited itself).
async fn rate_limited_count(node: SocketAddr) -> f64 {
    let mut stream = connect_from([127, 0, 0, 9], node).await;
    let request = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    answer
        .lines()
        .find_map(|line| {
            line.strip_prefix("tally_http_connections_rate_limited_total")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0.0)
}
