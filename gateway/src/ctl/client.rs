//! The admin REST client of `tally ctl`: which node to ask, with which admin token, and the
//! API's answers turned into values or clear errors.
//!
//! The token is never a flag value (it would land in shell history): `--token-file`, else
//! `TALLY_ADMIN_TOKEN`, else the node's own `auth.admin_token` (configuration file or
//! `TALLY_AUTH__ADMIN_TOKEN`), else the token the node generated in `node.data_dir`.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tally_config::Settings;

/// The variable `tally ctl` reads the admin token from.
pub(crate) const TOKEN_VARIABLE: &str = "TALLY_ADMIN_TOKEN";

/// How long a node may take to accept a connection before it counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The base URL of the node to ask: `--url`/`TALLY_URL`, else the configuration's
/// `node.http_addr` (an unspecified address is asked on loopback).
pub(crate) fn node_url(url: Option<&str>, settings: &Settings) -> String {
    match url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => base_url(settings.node.http_addr),
    }
}

/// `http://addr`, with `0.0.0.0`/`::` replaced by loopback.
fn base_url(mut addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    format!("http://{addr}")
}

/// The admin token (see the module's doc for where it is looked for, in order).
///
/// # Errors
/// An unreadable or empty token file, or no token anywhere.
pub(crate) fn admin_token(
    token_file: Option<&Path>,
    settings: &Settings,
) -> anyhow::Result<String> {
    if let Some(file) = token_file {
        return read_token(file);
    }
    if let Some(token) = std::env::var(TOKEN_VARIABLE)
        .ok()
        .filter(|t| !t.trim().is_empty())
    {
        return Ok(token.trim().to_owned());
    }
    if let Some(token) = &settings.auth.admin_token {
        return Ok(token.clone());
    }
    let file = settings.admin_token_file();
    read_token(&file).with_context(|| {
        format!(
            "no admin token: set {TOKEN_VARIABLE}, pass --token-file, or run where {} exists",
            file.display()
        )
    })
}

/// The first line of a token file, trimmed.
fn read_token(file: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the token file {}", file.display()))?;
    let token = text.trim();
    if token.is_empty() {
        bail!("the token file {} is empty", file.display());
    }
    Ok(token.to_owned())
}

/// Asks one node's REST API.
#[derive(Debug, Clone)]
pub(crate) struct AdminClient {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl AdminClient {
    /// A client of the node at `base` (`http://host:port`), sending `token` when there is one.
    ///
    /// # Errors
    /// If the HTTP client cannot be built.
    pub(crate) fn new(base: String, token: Option<String>) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .context("cannot build the http client")?;
        Ok(Self { base, token, http })
    }

    /// The same client for another node (a member of the cluster at `base`).
    pub(crate) fn at(&self, base: String) -> Self {
        Self {
            base,
            ..self.clone()
        }
    }

    /// The node's base URL.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// `GET path`: the JSON answer.
    ///
    /// # Errors
    /// See [`AdminClient::send`].
    pub(crate) async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.send(Method::GET, path, None).await
    }

    /// `method path` with an optional JSON body: the JSON answer (`null` for an empty one).
    ///
    /// # Errors
    /// The node cannot be reached; or it answered an error status, with the API's error code and
    /// message (`{"error":{"code","message"}}`); or an answer that is not JSON.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method.clone(), &url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|err| {
            anyhow::Error::new(err).context(format!(
                "cannot reach tally at {} (is the node running? --url or TALLY_URL names it)",
                self.base
            ))
        })?;
        let status = response.status();
        let text = response
            .text()
            .await
            .with_context(|| format!("{method} {path}: the answer was cut off"))?;
        if !status.is_success() {
            return Err(Refused {
                status,
                line: refusal(&method, path, status, &text),
            }
            .into());
        }
        if text.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text)
            .with_context(|| format!("{method} {path}: the answer is not JSON: {text}"))
    }
}

/// A node answered an error status: the line that says why.
#[derive(Debug, thiserror::Error)]
#[error("{line}")]
pub(crate) struct Refused {
    /// The HTTP status it answered.
    pub(crate) status: StatusCode,
    line: String,
}

/// The line that says why a node refused a request: the API's code and message when the body is
/// its error document, with a hint where the token was refused.
fn refusal(method: &Method, path: &str, status: StatusCode, body: &str) -> String {
    let error = serde_json::from_str::<Value>(body).ok().and_then(|doc| {
        let error = doc.get("error")?;
        Some((
            error.get("code")?.as_str()?.to_owned(),
            error.get("message")?.as_str()?.to_owned(),
        ))
    });
    let mut line = match error {
        Some((code, message)) => format!("{code}: {message} ({method} {path} answered {status})"),
        None => format!("{method} {path} answered {status}: {body}"),
    };
    if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
        line.push_str(&format!(
            "; check the admin token ({TOKEN_VARIABLE} or --token-file)"
        ));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_error_reads_as_its_code_and_message() {
        let line = refusal(
            &Method::GET,
            "/v1/tenants/nope",
            StatusCode::NOT_FOUND,
            r#"{"error":{"code":"not_found","message":"tenant \"nope\" not found"}}"#,
        );
        assert_eq!(
            line,
            "not_found: tenant \"nope\" not found (GET /v1/tenants/nope answered 404 Not Found)"
        );
        let line = refusal(&Method::GET, "/x", StatusCode::UNAUTHORIZED, "no");
        assert!(line.starts_with("GET /x answered 401 Unauthorized: no; check the admin token"));
    }

    #[test]
    fn an_unspecified_address_is_asked_on_loopback() {
        assert_eq!(
            base_url("0.0.0.0:8080".parse().unwrap()),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            base_url("10.0.0.7:81".parse().unwrap()),
            "http://10.0.0.7:81"
        );
    }
}
