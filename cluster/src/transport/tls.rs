//! [`TransportTls`]: TLS on the inter-node links (ractor_cluster's rustls encryption mode).
//!
//! Mutual: every node presents its certificate and checks its peer's against the cluster's CA,
//! both ways. A node that dials checks that the peer's certificate names the peer's node id (a
//! DNS name in its subjectAltName), so a node cannot pose as another one with its own
//! certificate. The cookie challenge still runs inside the TLS session.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// This node's side of TLS on its links: what accepts peers and what dials them.
#[derive(Clone)]
pub struct TransportTls {
    acceptor: TlsAcceptor,
    connector: TlsConnector,
}

impl std::fmt::Debug for TransportTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TransportTls")
    }
}

impl TransportTls {
    /// Reads this node's certificate chain and private key and the cluster's CA certificates
    /// (PEM files).
    ///
    /// # Errors
    /// A message naming the file that cannot be read or used.
    pub fn from_pem_files(
        cert_file: &Path,
        key_file: &Path,
        ca_file: &Path,
    ) -> Result<Self, String> {
        let named = |file: &Path, err: &dyn std::fmt::Display| format!("{}: {err}", file.display());
        let chain = CertificateDer::pem_file_iter(cert_file)
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .map_err(|err| named(cert_file, &err))?;
        if chain.is_empty() {
            return Err(named(cert_file, &"no certificate in the file"));
        }
        let key = PrivateKeyDer::from_pem_file(key_file).map_err(|err| named(key_file, &err))?;
        let mut roots = RootCertStore::empty();
        let cas = CertificateDer::pem_file_iter(ca_file)
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .map_err(|err| named(ca_file, &err))?;
        for ca in cas {
            roots.add(ca).map_err(|err| named(ca_file, &err))?;
        }
        if roots.is_empty() {
            return Err(named(ca_file, &"no CA certificate in the file"));
        }
        let roots = Arc::new(roots);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
            .build()
            .map_err(|err| named(ca_file, &err))?;
        let server = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|err| err.to_string())?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain.clone(), key.clone_key())
            .map_err(|err| named(key_file, &err))?;
        let client = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|err| err.to_string())?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .map_err(|err| named(key_file, &err))?;
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(server)),
            connector: TlsConnector::from(Arc::new(client)),
        })
    }

    /// What accepts peers' connections.
    pub(crate) fn acceptor(&self) -> TlsAcceptor {
        self.acceptor.clone()
    }

    /// What dials peer `node_id`, whose certificate must name it.
    pub(crate) fn connector(
        &self,
        node_id: &str,
    ) -> Result<(TlsConnector, ServerName<'static>), String> {
        let name = ServerName::try_from(node_id.to_owned()).map_err(|err| {
            format!("node id {node_id:?} is not a name a certificate can carry: {err}")
        })?;
        Ok((self.connector.clone(), name))
    }
}
