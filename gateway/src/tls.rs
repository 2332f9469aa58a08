//! TLS for the HTTP listener (rustls, ring): the certificate chain and key of
//! `http.tls_cert_file`/`http.tls_key_file`, served to every new connection and re-read on
//! SIGHUP, so a renewed certificate is taken up without a restart.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use anyhow::{Context, bail};
use rustls::ServerConfig;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tally_config::HttpSettings;
use tokio_rustls::TlsAcceptor;

/// The served certificate, replaced by [`ReloadableCertificate::reload`].
#[derive(Debug)]
pub(crate) struct ReloadableCertificate {
    cert_file: PathBuf,
    key_file: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
}

impl ReloadableCertificate {
    /// Reads the certificate chain and key files.
    ///
    /// # Errors
    /// A file that cannot be read, holds no certificate or key, or a key that does not match.
    pub(crate) fn load(cert_file: &Path, key_file: &Path) -> anyhow::Result<Self> {
        Ok(Self {
            cert_file: cert_file.to_owned(),
            key_file: key_file.to_owned(),
            current: RwLock::new(Arc::new(read(cert_file, key_file)?)),
        })
    }

    /// Re-reads the files; on an error the certificate in use stays.
    ///
    /// # Errors
    /// As [`ReloadableCertificate::load`].
    pub(crate) fn reload(&self) -> anyhow::Result<()> {
        let fresh = read(&self.cert_file, &self.key_file)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(fresh);
        Ok(())
    }
}

impl ResolvesServerCert for ReloadableCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self.current.read().unwrap_or_else(PoisonError::into_inner),
        ))
    }
}

fn read(cert_file: &Path, key_file: &Path) -> anyhow::Result<CertifiedKey> {
    let chain = CertificateDer::pem_file_iter(cert_file)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .with_context(|| format!("cannot read http.tls_cert_file {}", cert_file.display()))?;
    if chain.is_empty() {
        bail!(
            "http.tls_cert_file {} holds no certificate",
            cert_file.display()
        );
    }
    let key = PrivateKeyDer::from_pem_file(key_file)
        .with_context(|| format!("cannot read http.tls_key_file {}", key_file.display()))?;
    CertifiedKey::from_der(chain, key, &rustls::crypto::ring::default_provider()).with_context(
        || {
            format!(
                "{} does not fit {}",
                key_file.display(),
                cert_file.display()
            )
        },
    )
}

/// The acceptor of HTTPS connections when `http.tls_cert_file` is set, with its certificate
/// (re-read on SIGHUP); `None` for plain HTTP.
///
/// # Errors
/// As [`ReloadableCertificate::load`].
pub(crate) fn acceptor(http: &HttpSettings) -> anyhow::Result<Option<TlsAcceptor>> {
    let (Some(cert_file), Some(key_file)) = (&http.tls_cert_file, &http.tls_key_file) else {
        return Ok(None);
    };
    let certificate = Arc::new(ReloadableCertificate::load(cert_file, key_file)?);
    reload_on_sighup(Arc::clone(&certificate));
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_no_client_auth()
            .with_cert_resolver(certificate);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(TlsAcceptor::from(Arc::new(config))))
}

fn reload_on_sighup(certificate: Arc<ReloadableCertificate>) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP: the TLS certificate is not reloaded");
            return;
        };
        while hangups.recv().await.is_some() {
            match certificate.reload() {
                Ok(()) => tracing::info!("reloaded the TLS certificate (SIGHUP)"),
                Err(err) => tracing::warn!(
                    error = format!("{err:#}"),
                    "TLS certificate not reloaded; the one in use stays"
                ),
            }
        }
    });
    #[cfg(not(unix))]
    let _ = certificate;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_certificate(dir: &Path) -> CertificateDer<'static> {
        let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        std::fs::write(dir.join("node.crt"), generated.cert.pem()).unwrap();
        std::fs::write(dir.join("node.key"), generated.signing_key.serialize_pem()).unwrap();
        generated.cert.der().clone()
    }

    fn served(certificate: &ReloadableCertificate) -> CertificateDer<'static> {
        let current = certificate.current.read().unwrap();
        current.cert[0].clone()
    }

    #[test]
    fn a_reload_takes_the_new_files_and_a_broken_one_keeps_the_certificate_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("node.crt"), dir.path().join("node.key"));
        let first = write_certificate(dir.path());
        let certificate = ReloadableCertificate::load(&cert, &key).unwrap();
        assert_eq!(served(&certificate), first);

        std::fs::write(&cert, "not a certificate").unwrap();
        let err = certificate.reload().unwrap_err();
        assert!(format!("{err:#}").contains("node.crt"), "{err:#}");
        assert_eq!(served(&certificate), first);

        let renewed = write_certificate(dir.path());
        certificate.reload().unwrap();
        assert_eq!(served(&certificate), renewed);

        // A key that belongs to another certificate is refused.
        let other = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        std::fs::write(&key, other.signing_key.serialize_pem()).unwrap();
        assert!(certificate.reload().is_err());
        assert_eq!(served(&certificate), renewed);
    }
}
