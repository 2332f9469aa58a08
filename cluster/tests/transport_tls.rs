//! TLS on the inter-node link, with certificates made by the test (rcgen): two nodes whose
//! certificates the cluster's CA signed link up and forward readings; a node presenting a
//! certificate of another CA is refused by its peer, and a peer whose certificate does not name
//! its node id is refused by the node that dials it.

mod support;

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use tally_cluster::TransportTls;
use tally_protocol::{SensorId, now_ms};

use support::{TwoNodes, metrics, readings};

/// A CA of the test, writing PEM files of the certificates it signs.
struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
    dir: PathBuf,
    name: String,
}

impl TestCa {
    fn new(dir: &Path, name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let ca = Self {
            issuer,
            dir: dir.to_owned(),
            name: name.to_owned(),
        };
        std::fs::write(ca.ca_file(), ca.issuer.pem()).unwrap();
        ca
    }

    fn ca_file(&self) -> PathBuf {
        self.dir.join(format!("{}-ca.pem", self.name))
    }

    /// Certificate and key files for a node whose certificate names `names`.
    fn node(&self, file: &str, names: &[&str]) -> (PathBuf, PathBuf) {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &self.issuer)
            .unwrap();
        let cert_file = self.dir.join(format!("{}-{file}.pem", self.name));
        let key_file = self.dir.join(format!("{}-{file}-key.pem", self.name));
        std::fs::write(&cert_file, cert.pem()).unwrap();
        std::fs::write(&key_file, key.serialize_pem()).unwrap();
        (cert_file, key_file)
    }

    /// The owner's command-line arguments for TLS with a certificate naming `names`.
    fn owner_args(&self, names: &[&str]) -> Vec<String> {
        let (cert, key) = self.node("owner", names);
        [
            "--tls-cert".to_owned(),
            cert.display().to_string(),
            "--tls-key".to_owned(),
            key.display().to_string(),
            "--tls-ca".to_owned(),
            self.ca_file().display().to_string(),
        ]
        .into()
    }

    /// TLS of the in-process node `a` with a certificate of this CA, trusting `trusted`.
    fn tls_of_a(&self, trusted: &TestCa) -> TransportTls {
        let (cert, key) = self.node("a", &["a"]);
        TransportTls::from_pem_files(&cert, &key, &trusted.ca_file()).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_with_certificates_of_the_cluster_ca_link_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path(), "cluster");
    let tls = ca.tls_of_a(&ca);
    let nodes = TwoNodes::start_with(
        1,
        tally_cluster::PROTOCOL_VERSION,
        &ca.owner_args(&["b"]),
        |settings| settings.tls = Some(tls),
    )
    .await;
    nodes.a.await_link("b", true).await;
    let room = nodes.room(0).await;
    let ack = room
        .send(SensorId::new("s1").unwrap(), readings(1, 3, 2), now_ms())
        .unwrap();
    assert_eq!(ack.durable().await.unwrap(), 3, "forwarded over TLS");
    drop(room);
    nodes.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_a_certificate_of_another_ca_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path(), "cluster");
    let rogue = TestCa::new(dir.path(), "rogue");
    let tls = rogue.tls_of_a(&ca);
    let mut nodes = TwoNodes::start_with(
        1,
        tally_cluster::PROTOCOL_VERSION,
        &ca.owner_args(&["b"]),
        |settings| settings.tls = Some(tls),
    )
    .await;
    nodes
        .owner
        .wait_log("Error establishing secure socket")
        .await;
    assert!(nodes.a.transport.linked().borrow().is_empty());
    nodes.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_whose_certificate_names_another_node_is_refused() {
    let metrics = metrics();
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path(), "cluster");
    let tls = ca.tls_of_a(&ca);
    // b presents a certificate of the right CA, made out to node c.
    let mut nodes = TwoNodes::start_with(
        1,
        tally_cluster::PROTOCOL_VERSION,
        &ca.owner_args(&["c"]),
        |settings| settings.tls = Some(tls),
    )
    .await;
    nodes
        .owner
        .wait_log("Error establishing secure socket")
        .await;
    // a counts its refusal once its own handshake gave up (the metric has no event to await).
    while !metrics
        .render()
        .contains(r#"tally_cluster_peer_refused_total{reason="tls"}"#)
    {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(nodes.a.transport.linked().borrow().is_empty());
    nodes.stop().await;
}
