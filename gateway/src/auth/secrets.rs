//! The admin token, JWT secret and metrics scrape token: from the configuration, or generated once into the data
//! directory (mode 0600) so that they survive restarts.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use tally_config::Settings;

use super::keys::random_secret;

/// The node's secrets.
#[derive(Clone)]
pub(crate) struct NodeSecrets {
    /// Bearer token of the superadmin (registry, token minting).
    pub admin_token: String,
    /// HS256 secret of display and read JWTs.
    pub jwt_secret: String,
    /// Bearer token of the Prometheus scrape of `/metrics`.
    pub metrics_token: String,
}

impl std::fmt::Debug for NodeSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NodeSecrets(<redacted>)")
    }
}

impl NodeSecrets {
    /// Takes each secret from the settings, else from its file in the data directory, else
    /// generates and writes it there.
    ///
    /// # Errors
    /// If a secret file cannot be read or written.
    pub(crate) fn load_or_generate(settings: &Settings) -> anyhow::Result<Self> {
        let admin_token = match &settings.auth.admin_token {
            Some(token) => token.clone(),
            None => load_or_generate_file(&settings.admin_token_file())?,
        };
        let jwt_secret = match &settings.auth.jwt_secret {
            Some(secret) => secret.clone(),
            None => load_or_generate_file(&settings.jwt_secret_file())?,
        };
        let metrics_token = match &settings.auth.metrics_token {
            Some(token) => token.clone(),
            None => load_or_generate_file(&settings.metrics_token_file())?,
        };
        Ok(Self {
            admin_token,
            jwt_secret,
            metrics_token,
        })
    }
}

fn load_or_generate_file(path: &Path) -> anyhow::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().to_owned()),
        Ok(_) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => {
            return Err(err).with_context(|| format!("cannot read secret file {}", path.display()));
        }
    }
    let secret = random_secret();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write secret file {}", path.display()))?;
    writeln!(file, "{secret}")?;
    file.sync_all()?;
    tracing::info!(path = %path.display(), "generated a secret (set it in the configuration to choose your own)");
    Ok(secret)
}
