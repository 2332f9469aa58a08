//! Creates the load's fleet through the admin REST API: a fresh tenant, one office, its rooms,
//! its sensors (whose keys are shown only at creation) and a viewer token for the displays.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use futures::{StreamExt, TryStreamExt, stream};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::json;
use tally_protocol::ErrorBody;

/// Requests in flight at once while provisioning.
const CONCURRENCY: usize = 8;
/// Timeout of one REST call.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Office every room is created in.
pub(crate) const OFFICE: &str = "hq";

/// What the load runs against.
#[derive(Debug, Clone)]
pub(crate) struct Fleet {
    /// The fresh tenant's id.
    pub(crate) tenant: String,
    /// Sensors, in creation order.
    pub(crate) sensors: Vec<SensorCredentials>,
    /// Viewer JWT for the display connections.
    pub(crate) viewer_token: String,
}

/// A created sensor's key (the rest of the answer is not needed).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SensorCredentials {
    /// The sensor key (`tsk_…`).
    pub(crate) key: String,
}

/// `POST /v1/tenants/{t}/tokens` answer.
#[derive(Debug, Deserialize)]
struct IssuedToken {
    token: String,
}

/// An admin client of the REST API.
#[derive(Debug)]
struct Admin {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Admin {
    /// POSTs a JSON body and decodes the created object; a non-2xx answer becomes an error
    /// naming the path, the status and the API error code.
    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> anyhow::Result<T> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .with_context(|| format!("POST {path}: cannot reach {}", self.base))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .with_context(|| format!("POST {path}: reading the answer"))?;
        if !status.is_success() {
            match serde_json::from_slice::<ErrorBody>(&bytes) {
                Ok(body) => bail!(
                    "POST {path}: {status} {}: {}",
                    body.error.code,
                    body.error.message
                ),
                Err(_) => bail!("POST {path}: {status} {}", String::from_utf8_lossy(&bytes)),
            }
        }
        serde_json::from_slice(&bytes).with_context(|| format!("POST {path}: unexpected answer"))
    }
}

/// Creates tenant `load-<random>`, office [`OFFICE`], rooms `r-1..=r-{rooms}` (capacity 50,
/// count mode `sum`), sensors `s-1..=s-{sensors}` placed round-robin over the rooms, and a viewer
/// token.
///
/// # Errors
/// The first REST call that fails.
pub(crate) async fn provision(
    url: &str,
    admin_token: &str,
    sensors: u32,
    rooms: u32,
) -> anyhow::Result<Fleet> {
    let admin = Admin {
        http: reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()?,
        base: url.trim_end_matches('/').to_owned(),
        token: admin_token.to_owned(),
    };
    let tenant = fresh_tenant_id();
    let _: serde_json::Value = admin
        .post(
            "/v1/tenants",
            json!({ "id": tenant, "name": format!("tally-load {tenant}") }),
        )
        .await?;
    let tenant_path = format!("/v1/tenants/{tenant}");
    let _: serde_json::Value = admin
        .post(
            &format!("{tenant_path}/offices"),
            json!({ "id": OFFICE, "name": "HQ" }),
        )
        .await?;
    let office_path = format!("{tenant_path}/offices/{OFFICE}");

    let admin = &admin;
    let office_path = &office_path;
    stream::iter(1..=rooms)
        .map(|i| async move {
            let body = json!({ "id": format!("r-{i}"), "name": format!("Room {i}"), "capacity": 50, "count_mode": "sum" });
            admin.post::<serde_json::Value>(&format!("{office_path}/rooms"), body).await
        })
        .buffer_unordered(CONCURRENCY)
        .try_for_each(|_| async { Ok(()) })
        .await?;
    let sensors: Vec<SensorCredentials> = stream::iter(0..sensors)
        .map(|i| async move {
            let room = i % rooms + 1;
            let path = format!("{office_path}/rooms/r-{room}/sensors");
            admin
                .post::<SensorCredentials>(&path, json!({ "id": format!("s-{}", i + 1) }))
                .await
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    let token: IssuedToken = admin
        .post(
            &format!("{tenant_path}/tokens"),
            json!({ "role": "viewer" }),
        )
        .await?;
    Ok(Fleet {
        tenant,
        sensors,
        viewer_token: token.token,
    })
}

/// `load-` and 12 hex digits from the clock and the process id.
fn fresh_tenant_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mixed = (nanos as u64) ^ (u64::from(std::process::id()) << 40);
    format!("load-{:012x}", mixed & 0xffff_ffff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_are_valid_slugs() {
        let id = fresh_tenant_id();
        assert!(tally_protocol::TenantId::new(id.clone()).is_ok(), "{id}");
        assert_eq!(id.len(), 17);
    }
}
