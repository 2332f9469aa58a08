//! The identity provider's keys from a URL (`auth.jwks_url`): fetched at start, every
//! `auth.jwks_refresh`, on a reload, and when a token names a key id the node does not know (at
//! most once per [`UNKNOWN_KID_REFETCH`], so tokens with forged key ids cannot make the node
//! hammer the identity provider). A fetch that fails (unreachable, too slow, too large, not a
//! JWKS) keeps the last good keys, counts in `tally_jwks_refresh_failures_total` and logs a
//! warning.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::Authenticator;
use super::identity::FetchedKeys;
use crate::shutdown::Shutdown;
use crate::telemetry;

/// Fewest time between two fetches caused by unknown key ids.
pub(crate) const UNKNOWN_KID_REFETCH: Duration = Duration::from_secs(30);
/// Longest a fetch may take, connecting included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest JWKS document accepted (a real one is a few KiB).
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// Where the identity provider publishes its keys, and the client that fetches them.
#[derive(Debug)]
pub(super) struct JwksSource {
    url: reqwest::Url,
    client: reqwest::Client,
    /// When a token with an unknown key id last caused a fetch; held during that fetch, so
    /// that concurrent requests wait for it instead of fetching again.
    last_unknown_kid_fetch: tokio::sync::Mutex<Option<Instant>>,
}

impl JwksSource {
    /// A source fetching `url` (checked by the configuration: https, or http to loopback).
    fn new(url: &str) -> anyhow::Result<Self> {
        let url = reqwest::Url::parse(url).with_context(|| format!("auth.jwks_url {url:?}"))?;
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(FETCH_TIMEOUT)
            // A redirect could lead from https to http; the URL configured is the one fetched.
            .redirect(reqwest::redirect::Policy::none())
            .https_only(url.scheme() == "https")
            .build()
            .context("cannot build the JWKS client")?;
        Ok(Self {
            url,
            client,
            last_unknown_kid_fetch: tokio::sync::Mutex::new(None),
        })
    }

    /// Fetches and parses the key set, counting a failure in the metric.
    ///
    /// # Errors
    /// When the URL cannot be reached in time, answers other than 200, sends more than
    /// [`MAX_DOCUMENT_BYTES`], or sends something other than a JWKS of RSA and P-256 keys.
    pub(super) async fn fetch(&self) -> anyhow::Result<FetchedKeys> {
        let fetched = self.try_fetch().await;
        if fetched.is_err() {
            metrics::counter!(telemetry::JWKS_REFRESH_FAILURES).increment(1);
        }
        fetched
    }

    async fn try_fetch(&self) -> anyhow::Result<FetchedKeys> {
        let url = &self.url;
        let mut response = self
            .client
            .get(url.clone())
            .send()
            .await
            .with_context(|| format!("cannot fetch auth.jwks_url {url}"))?;
        if response.status() != reqwest::StatusCode::OK {
            bail!("auth.jwks_url {url} answered {}", response.status());
        }
        if response
            .content_length()
            .is_some_and(|length| length > MAX_DOCUMENT_BYTES as u64)
        {
            bail!("auth.jwks_url {url} sends more than {MAX_DOCUMENT_BYTES} bytes");
        }
        let mut document = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .with_context(|| format!("cannot read auth.jwks_url {url}"))?
        {
            if document.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                bail!("auth.jwks_url {url} sends more than {MAX_DOCUMENT_BYTES} bytes");
            }
            document.extend_from_slice(&chunk);
        }
        FetchedKeys::parse(&document, &format!("auth.jwks_url {url}"))
    }
}

impl Authenticator {
    /// Also trusts the keys published at `url`; none until [`Authenticator::refresh_jwks`].
    ///
    /// # Errors
    /// If `url` is not a URL or no HTTP client can be built.
    pub fn with_jwks_url(mut self, url: &str) -> anyhow::Result<Self> {
        self.jwks = Some(std::sync::Arc::new(JwksSource::new(url)?));
        Ok(self)
    }

    /// Fetches `auth.jwks_url` and trusts its keys in place of the previous fetch's; returns
    /// the key ids now trusted (none fetched when no URL is set).
    ///
    /// # Errors
    /// When the fetch fails or a fetched key id is also a configured one: the keys in use stay,
    /// and a warning is logged.
    pub async fn refresh_jwks(&self) -> anyhow::Result<Vec<String>> {
        let Some(source) = &self.jwks else {
            return self.install(None, None);
        };
        let refreshed = match source.fetch().await {
            Ok(fetched) => self.install(None, Some(fetched)),
            Err(err) => Err(err),
        };
        if let Err(err) = &refreshed {
            tracing::warn!(
                error = format!("{err:#}"),
                "JWKS not refreshed; the last good keys stay"
            );
        }
        refreshed
    }

    /// When `credential` is a JWT naming a key id not trusted yet, fetches `auth.jwks_url`
    /// first (the identity provider may have added the key), unless a fetch for an unknown key
    /// id happened within [`UNKNOWN_KID_REFETCH`]. Does nothing otherwise.
    pub(crate) async fn refresh_for_unknown_key(&self, credential: &str) {
        let Some(source) = &self.jwks else { return };
        if !self.identity().lacks_key_of(credential) {
            return;
        }
        let mut last = source.last_unknown_kid_fetch.lock().await;
        if last.is_some_and(|at| at.elapsed() < UNKNOWN_KID_REFETCH)
            || !self.identity().lacks_key_of(credential)
        {
            return;
        }
        *last = Some(Instant::now());
        if let Ok(key_ids) = self.refresh_jwks().await {
            tracing::info!(?key_ids, "fetched the JWKS again for an unknown key id");
        }
    }
}

/// Fetches `auth.jwks_url` every `interval` until the node stops (nothing when no URL is set).
pub(crate) fn refresh_jwks_every(auth: Authenticator, interval: Duration, shutdown: Shutdown) {
    if auth.jwks.is_none() {
        return;
    }
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {
                    if let Ok(key_ids) = auth.refresh_jwks().await {
                        tracing::debug!(?key_ids, "refreshed the JWKS");
                    }
                }
                () = shutdown.stopping() => return,
            }
        }
    });
}
