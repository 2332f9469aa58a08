//! TLS to PostgreSQL (and to ScyllaDB, which takes the same client configuration): rustls with
//! the ring provider (no system OpenSSL to link, no C toolchain
//! beyond ring's bundled sources), trusting the system's roots plus an optional CA file.
//! rustls always verifies the certificate chain and the host name (libpq's `verify-full`).

use std::sync::Arc;

use rustls::{ClientConfig, RootCertStore, pki_types::CertificateDer, pki_types::pem::PemObject};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{PostgresConfig, TlsMode, errors::backend};
use crate::StoreError;

/// The TLS connector `config` asks for, or `None` for plain connections.
pub(super) fn connector(config: &PostgresConfig) -> Result<Option<MakeRustlsConnect>, StoreError> {
    Ok(
        rustls_client_config(config.tls, config.tls_ca_file.as_deref())?
            .map(MakeRustlsConnect::new),
    )
}

/// The rustls client configuration of `tls` (system roots plus `ca_file`), or `None` for plain
/// connections.
pub(crate) fn rustls_client_config(
    tls: TlsMode,
    ca_file: Option<&std::path::Path>,
) -> Result<Option<ClientConfig>, StoreError> {
    if tls == TlsMode::Disable {
        return Ok(None);
    }
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for error in &native.errors {
        tracing::warn!(%error, "cannot load a system CA certificate");
    }
    roots.add_parsable_certificates(native.certs);
    if let Some(path) = ca_file {
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| backend(format!("tls_ca_file {}: {e}", path.display())))?;
        if certs.is_empty() {
            return Err(backend(format!(
                "tls_ca_file {}: no certificate in it",
                path.display()
            )));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| backend(format!("tls_ca_file {}: {e}", path.display())))?;
        }
    }
    if roots.is_empty() {
        return Err(backend(
            "tls = \"require\" but no CA certificate is trusted: set tls_ca_file",
        ));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| backend(format!("tls: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Some(tls))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_tls_needs_no_connector() {
        let config = PostgresConfig::new("postgres://h/db");
        assert!(connector(&config).unwrap().is_none());
    }

    #[test]
    fn a_missing_ca_file_is_named() {
        let config = PostgresConfig {
            tls: TlsMode::Require,
            tls_ca_file: Some("/nonexistent/ca.pem".into()),
            ..PostgresConfig::new("postgres://h/db")
        };
        let Err(error) = connector(&config) else {
            panic!("a missing CA file was accepted");
        };
        let message = error.to_string();
        assert!(message.contains("/nonexistent/ca.pem"), "{message}");
    }
}
