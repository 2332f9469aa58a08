//! One tally node (embedded store, actors, inter-node transport, no HTTP) as a process, for the
//! multi-process transport tests: they pause it (`kill -STOP`), kill it and restart it.
//!
//! Prints `listening <addr>` on stdout once peers can dial it; stops in order (transport, then
//! actors, whose last writes become durable) when its stdin closes.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use tally_cluster::{LocalRouter, Node, Peer, Transport, TransportSettings, TransportTls};
use tally_config::Settings;
use tally_storage::EmbeddedStore;
use tokio::io::AsyncReadExt;

/// Runs a node with the transport until stdin closes.
#[derive(Debug, Parser)]
struct Args {
    /// The embedded store's directory.
    #[arg(long)]
    store: PathBuf,
    /// This node's id.
    #[arg(long)]
    node_id: String,
    /// Where to listen for peers.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The cluster cookie.
    #[arg(long)]
    cookie: String,
    /// The inter-node protocol version to speak (tests of refusal give another one).
    #[arg(long, default_value_t = tally_cluster::PROTOCOL_VERSION)]
    protocol_version: u32,
    /// A peer, as `id=addr` (repeatable).
    #[arg(long = "peer", value_parser = parse_peer)]
    peers: Vec<Peer>,
    /// Heartbeat interval in milliseconds.
    #[arg(long, default_value_t = 200)]
    heartbeat_ms: u64,
    /// Heartbeat timeout in milliseconds.
    #[arg(long, default_value_t = 1000)]
    heartbeat_timeout_ms: u64,
    /// TLS on the links: this node's certificate chain (PEM), with --tls-key and --tls-ca.
    #[arg(long, requires_all = ["tls_key", "tls_ca"])]
    tls_cert: Option<PathBuf>,
    /// TLS: this node's private key (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// TLS: the CA certificate(s) that sign every node's certificate (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_ca: Option<PathBuf>,
}

fn parse_peer(value: &str) -> Result<Peer, String> {
    let (node_id, addr) = value
        .split_once('=')
        .ok_or_else(|| format!("peer {value:?} is not id=addr"))?;
    Ok(Peer {
        node_id: node_id.to_owned(),
        addr: addr
            .parse()
            .map_err(|err| format!("peer {value:?}: {err}"))?,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,ractor_cluster=warn".into()),
        )
        .init();
    let args = Args::parse();
    let store = std::sync::Arc::new(EmbeddedStore::open(&args.store)?);
    let node = Node::start(&Settings::default(), store).await?;
    let router = LocalRouter::new(node.actors().clone(), node.store());
    let mut settings = TransportSettings::new(&args.node_id, args.listen, &args.cookie);
    settings.protocol_version = args.protocol_version;
    settings.heartbeat_interval = Duration::from_millis(args.heartbeat_ms);
    settings.heartbeat_timeout = Duration::from_millis(args.heartbeat_timeout_ms);
    if let (Some(cert), Some(key), Some(ca)) = (&args.tls_cert, &args.tls_key, &args.tls_ca) {
        settings.tls =
            Some(TransportTls::from_pem_files(cert, key, ca).map_err(anyhow::Error::msg)?);
    }
    let (_peers, peer_list) = tokio::sync::watch::channel(args.peers);
    let transport = Transport::start(settings, router, peer_list).await?;
    println!("listening {}", transport.local_addr());

    let mut rest = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut rest).await;

    transport.shutdown().await;
    node.shutdown().await;
    println!("stopped");
    Ok(())
}
