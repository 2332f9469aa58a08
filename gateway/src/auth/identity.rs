//! Tenant JWTs: their claims, and how they are verified and minted. HS256 with the node's secret
//! (when `auth.jwt_hs256`), RS256/ES256 with configured public keys selected by `kid` (PEM files
//! in `auth.jwt_keys_dir`, a JWKS file in `auth.jwks_file`, and the JWKS fetched from
//! `auth.jwks_url`, see `jwks_url.rs`); `exp`, `nbf`, `iss` and `aud`
//! checked with `auth.jwt_leeway`. A refused token's error says what was wrong with it, never
//! the library's wording, never anything about another tenant.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tally_config::AuthSettings;
use tally_protocol::{ErrorCode, TenantId};

use super::Role;
use crate::error::ApiError;

/// Claims of a tenant JWT, minted by tally or issued by an identity provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Subject (free text: who the token was minted for).
    pub sub: String,
    /// The tenant the token is bound to.
    pub tenant: TenantId,
    /// The role within the tenant.
    pub role: Role,
    /// Issued at, seconds since the epoch.
    pub iat: u64,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Not valid before, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// The token's id, by which it can be revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Audience: one name or several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
}

/// The `aud` claim, which JWTs write as one string or a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// One audience.
    One(String),
    /// Several audiences.
    Many(Vec<String>),
}

/// A public key of tenant JWTs and the one algorithm it verifies.
#[derive(Clone)]
pub(super) struct PublicKey {
    algorithm: Algorithm,
    key: DecodingKey,
}

/// The node's HS256 secret, for verifying and minting.
#[derive(Clone)]
struct SharedSecret {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

/// Verifies tenant JWTs and mints HS256 ones.
#[derive(Clone)]
pub struct Identity {
    hs256: Option<SharedSecret>,
    public_keys: BTreeMap<String, PublicKey>,
    issuer: Option<String>,
    audience: Option<String>,
    leeway_secs: u64,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("hs256", &self.hs256.as_ref().map(|_| "<redacted>"))
            .field("key_ids", &self.public_keys.keys().collect::<Vec<_>>())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway_secs", &self.leeway_secs)
            .finish()
    }
}

impl Identity {
    /// HS256 with `secret` only, no issuer or audience required, 5 s leeway.
    pub fn hs256(secret: &str) -> Self {
        Self {
            hs256: Some(SharedSecret {
                encoding: EncodingKey::from_secret(secret.as_bytes()),
                decoding: DecodingKey::from_secret(secret.as_bytes()),
            }),
            public_keys: BTreeMap::new(),
            issuer: None,
            audience: None,
            leeway_secs: 5,
        }
    }

    /// As `[auth]` says: HS256 with `jwt_secret` if `jwt_hs256`, the public keys of
    /// `jwt_keys_dir` and `jwks_file`, issuer, audience and leeway.
    ///
    /// # Errors
    /// A key file that cannot be read or is not an RSA or P-256 public key, a JWKS key without a
    /// `kid`, or one `kid` given twice.
    pub fn from_settings(auth: &AuthSettings, jwt_secret: &str) -> anyhow::Result<Self> {
        let mut identity = Self::hs256(jwt_secret);
        if !auth.jwt_hs256 {
            identity.hs256 = None;
        }
        let mut keys = Vec::new();
        if let Some(dir) = &auth.jwt_keys_dir {
            keys.extend(pem_keys(dir)?);
        }
        if let Some(file) = &auth.jwks_file {
            keys.extend(jwks_keys(file)?);
        }
        for (kid, key) in keys {
            if identity.public_keys.insert(kid.clone(), key).is_some() {
                bail!("JWT key id {kid:?} is configured twice");
            }
        }
        identity.issuer.clone_from(&auth.jwt_issuer);
        identity.audience.clone_from(&auth.jwt_audience);
        identity.leeway_secs = auth.jwt_leeway.as_secs();
        Ok(identity)
    }

    /// This identity with the keys of a fetched JWKS added.
    ///
    /// # Errors
    /// When a fetched key id is also that of a configured key.
    pub(super) fn with_fetched_keys(&self, fetched: &FetchedKeys) -> anyhow::Result<Self> {
        let mut identity = self.clone();
        for (kid, key) in &fetched.0 {
            if identity
                .public_keys
                .insert(kid.clone(), key.clone())
                .is_some()
            {
                bail!("JWT key id {kid:?} is both configured and in auth.jwks_url");
            }
        }
        Ok(identity)
    }

    /// Whether `token` is an RS256/ES256 JWT naming a key id this identity does not know (a
    /// key the identity provider may have added since the keys were last fetched).
    pub(super) fn lacks_key_of(&self, token: &str) -> bool {
        jsonwebtoken::decode_header(token).is_ok_and(|header| {
            matches!(header.alg, Algorithm::RS256 | Algorithm::ES256)
                && header
                    .kid
                    .is_some_and(|kid| !self.public_keys.contains_key(&kid))
        })
    }

    /// The key ids of the configured public keys, in order.
    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.public_keys.keys().map(String::as_str)
    }

    /// Verifies a tenant JWT and returns its claims.
    ///
    /// # Errors
    /// `token_expired`, or `unauthenticated` saying what is wrong.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| refused("the token is not a well-formed JWT"))?;
        let (key, algorithm) = match header.alg {
            Algorithm::HS256 => match &self.hs256 {
                Some(secret) => (&secret.decoding, Algorithm::HS256),
                None => return Err(refused("the token's algorithm is not accepted")),
            },
            Algorithm::RS256 | Algorithm::ES256 => {
                let kid = header
                    .kid
                    .as_deref()
                    .ok_or_else(|| refused("the token names no key (kid)"))?;
                let key = self
                    .public_keys
                    .get(kid)
                    .ok_or_else(|| refused("the token's key (kid) is not known"))?;
                if key.algorithm != header.alg {
                    return Err(refused("the token's algorithm does not match its key"));
                }
                (&key.key, key.algorithm)
            }
            _ => return Err(refused("the token's algorithm is not accepted")),
        };
        jsonwebtoken::decode::<Claims>(token, key, &self.validation(algorithm))
            .map(|data| data.claims)
            .map_err(|err| refusal(err.kind()))
    }

    fn validation(&self, algorithm: Algorithm) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.leeway = self.leeway_secs;
        validation.validate_nbf = true;
        let mut required = vec!["exp", "sub"];
        if let Some(issuer) = &self.issuer {
            validation.set_issuer(&[issuer]);
            required.push("iss");
        }
        match &self.audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        validation
    }

    /// Signs `claims` with HS256, adding the configured issuer and audience.
    ///
    /// # Errors
    /// `forbidden` when this node does not mint (`auth.jwt_hs256 = false`), `internal` if
    /// signing fails.
    pub fn mint(&self, mut claims: Claims) -> Result<String, ApiError> {
        let secret = self.hs256.as_ref().ok_or_else(|| {
            ApiError::new(
                ErrorCode::Forbidden,
                "this node does not mint tokens (auth.jwt_hs256 = false): your identity provider issues them",
            )
        })?;
        claims.iss.clone_from(&self.issuer);
        claims.aud = self.audience.clone().map(Audience::One);
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &secret.encoding)
            .map_err(|_| ApiError::new(ErrorCode::Internal, "cannot sign the token"))
    }
}

fn refused(message: &str) -> ApiError {
    ApiError::new(ErrorCode::Unauthenticated, message)
}

/// What a caller is told about a token that failed verification.
fn refusal(kind: &ErrorKind) -> ApiError {
    match kind {
        ErrorKind::ExpiredSignature => {
            ApiError::new(ErrorCode::TokenExpired, "the token has expired")
        }
        ErrorKind::ImmatureSignature => refused("the token is not valid yet (nbf)"),
        ErrorKind::InvalidAudience => refused("the token is not meant for this service (aud)"),
        ErrorKind::InvalidIssuer => refused("the token's issuer is not accepted (iss)"),
        ErrorKind::InvalidSignature => refused("the token's signature does not verify"),
        ErrorKind::InvalidAlgorithm => refused("the token's algorithm is not accepted"),
        ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
            "exp" | "sub" | "iss" | "aud" => refused(&format!("the token lacks the {claim} claim")),
            _ => refused("the token lacks a required claim"),
        },
        _ => refused("the token's claims are not those of a tally token"),
    }
}

/// The public keys in `dir`: each `<kid>.pem` file, RSA (RS256) or P-256 (ES256).
fn pem_keys(dir: &Path) -> anyhow::Result<Vec<(String, PublicKey)>> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read auth.jwt_keys_dir {}", dir.display()))?;
    let mut keys = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_none_or(|ext| ext != "pem") {
            continue;
        }
        let kid = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .with_context(|| format!("{} is not a UTF-8 key id", path.display()))?
            .to_owned();
        let text = std::fs::read(&path)
            .with_context(|| format!("cannot read JWT key {}", path.display()))?;
        keys.push((
            kid,
            pem_key(&text).with_context(|| path.display().to_string())?,
        ));
    }
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(keys)
}

fn pem_key(pem: &[u8]) -> anyhow::Result<PublicKey> {
    let text = String::from_utf8_lossy(pem);
    if !text.contains("-----BEGIN PUBLIC KEY-----")
        && !text.contains("-----BEGIN RSA PUBLIC KEY-----")
    {
        bail!("not a PEM public key (a private key must never be configured here)");
    }
    if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
        return Ok(PublicKey {
            algorithm: Algorithm::RS256,
            key,
        });
    }
    let key = DecodingKey::from_ec_pem(pem).context("neither an RSA nor a P-256 public key")?;
    Ok(PublicKey {
        algorithm: Algorithm::ES256,
        key,
    })
}

/// The keys of a JWKS file, each with its `kid`; RSA (RS256) and P-256 (ES256) only.
fn jwks_keys(file: &Path) -> anyhow::Result<Vec<(String, PublicKey)>> {
    let text = std::fs::read(file)
        .with_context(|| format!("cannot read auth.jwks_file {}", file.display()))?;
    jwks_document_keys(&text, &file.display())
}

/// The keys of a JWKS document fetched from `auth.jwks_url`, by key id.
#[derive(Clone, Default)]
pub(super) struct FetchedKeys(Vec<(String, PublicKey)>);

impl std::fmt::Debug for FetchedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(kid, _)| kid))
            .finish()
    }
}

impl FetchedKeys {
    /// Parses a JWKS document fetched from `origin`.
    ///
    /// # Errors
    /// As for a JWKS file: not a JWKS document, a key without a `kid`, or not an RSA or P-256
    /// public key.
    pub(super) fn parse(document: &[u8], origin: &str) -> anyhow::Result<Self> {
        jwks_document_keys(document, &origin).map(Self)
    }
}

/// The keys of the JWKS `document` read from `origin`, each with its `kid`; RSA (RS256) and
/// P-256 (ES256) only.
fn jwks_document_keys(
    document: &[u8],
    origin: &dyn std::fmt::Display,
) -> anyhow::Result<Vec<(String, PublicKey)>> {
    let set: JwkSet = serde_json::from_slice(document)
        .with_context(|| format!("{origin} is not a JWKS document"))?;
    set.keys
        .iter()
        .map(|jwk| {
            let kid = jwk
                .common
                .key_id
                .clone()
                .with_context(|| format!("a key in {origin} has no kid"))?;
            let key = jwk_key(jwk).with_context(|| format!("key {kid:?} in {origin}"))?;
            Ok((kid, key))
        })
        .collect()
}

fn jwk_key(jwk: &Jwk) -> anyhow::Result<PublicKey> {
    let algorithm = match (&jwk.algorithm, jwk.common.key_algorithm) {
        (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Algorithm::RS256,
        (AlgorithmParameters::EllipticCurve(params), None | Some(KeyAlgorithm::ES256))
            if params.curve == EllipticCurve::P256 =>
        {
            Algorithm::ES256
        }
        _ => bail!("only RSA keys (RS256) and P-256 keys (ES256) are accepted"),
    };
    let key = DecodingKey::from_jwk(jwk).context("not a valid public key")?;
    Ok(PublicKey { algorithm, key })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn fixture(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/jwt")
            .join(name)
    }

    fn settings_with(change: impl FnOnce(&mut AuthSettings)) -> AuthSettings {
        let mut auth = AuthSettings::default();
        change(&mut auth);
        auth
    }

    #[test]
    fn keys_load_from_a_pem_directory_and_a_jwks_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(fixture("rsa-a.pub.pem"), dir.path().join("rsa-a.pem")).unwrap();
        std::fs::copy(fixture("ec-a.pub.pem"), dir.path().join("ec-a.pem")).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a key").unwrap();
        let auth = settings_with(|auth| {
            auth.jwt_keys_dir = Some(dir.path().to_owned());
            auth.jwks_file = Some(fixture("jwks.json"));
        });
        let identity =
            Identity::from_settings(&auth, "a-jwt-secret-of-at-least-32-bytes!!").unwrap();
        assert_eq!(
            identity.key_ids().collect::<Vec<_>>(),
            ["ec-a", "ec-b", "rsa-a", "rsa-b"]
        );
        let algorithms: Vec<_> = identity.public_keys.values().map(|k| k.algorithm).collect();
        assert_eq!(
            algorithms,
            [
                Algorithm::ES256,
                Algorithm::ES256,
                Algorithm::RS256,
                Algorithm::RS256
            ]
        );
    }

    #[test]
    fn private_keys_symmetric_jwks_and_duplicate_kids_are_refused_at_start() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(fixture("rsa-a.key.pem"), dir.path().join("rsa-a.pem")).unwrap();
        let auth = settings_with(|auth| auth.jwt_keys_dir = Some(dir.path().to_owned()));
        let err = Identity::from_settings(&auth, "s").err().unwrap();
        assert!(format!("{err:#}").contains("private key"), "{err:#}");

        let jwks = dir.path().join("jwks.json");
        std::fs::write(
            &jwks,
            r#"{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"}]}"#,
        )
        .unwrap();
        let auth = settings_with(|auth| auth.jwks_file = Some(jwks.clone()));
        let err = Identity::from_settings(&auth, "s").err().unwrap();
        assert!(format!("{err:#}").contains("only RSA keys"), "{err:#}");

        let pem_dir = tempfile::tempdir().unwrap();
        std::fs::copy(fixture("rsa-a.pub.pem"), pem_dir.path().join("rsa-b.pem")).unwrap();
        let auth = settings_with(|auth| {
            auth.jwt_keys_dir = Some(pem_dir.path().to_owned());
            auth.jwks_file = Some(fixture("jwks.json"));
        });
        let err = Identity::from_settings(&auth, "s").err().unwrap();
        assert!(
            format!("{err:#}").contains("\"rsa-b\" is configured twice"),
            "{err:#}"
        );
    }
}
