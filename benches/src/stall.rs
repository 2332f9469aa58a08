//! `display-stall`: what a display that stops reading gets when it resumes. A display subscribes,
//! stops reading while sensors change every room of the office, then reads again; counted are the
//! frames (and bytes) older than the office's state at the resume before the display is current.
//!
//! Run against two in-process nodes in one run: one with `display.inflight_frames` at its maximum
//! (what is in flight is then bounded only by TCP's socket buffers, as it was before frames were
//! gated by pongs) and one with the default window of one frame.

use std::time::Duration;

use anyhow::{Context, bail};
use futures::future::join_all;
use tally_protocol::{Codec, OfficeId};
use tokio::time::Instant;

use crate::display::DisplayConn;
use crate::provision::{OFFICE, provision};
use crate::sensor::{Schedule, SensorConn};

/// The shape of one stall.
#[derive(Debug, Clone, Copy)]
pub struct StallShape {
    /// Rooms of the office, one sensor each.
    pub rooms: u32,
    /// Readings per second of each sensor while the display does not read.
    pub rate: u32,
    /// How long the display does not read.
    pub stall: Duration,
}

/// What the resumed display read before it was current.
#[derive(Debug, Clone, Copy)]
pub struct StallFigures {
    /// Office versions published while the display did not read.
    pub versions_during_stall: u64,
    /// Frames read after the resume that were older than the office's state at the resume.
    pub stale_frames: u64,
    /// Their bytes.
    pub stale_bytes: u64,
    /// Time from the resume to the first current frame.
    pub time_to_current: Duration,
}

/// Runs one stall against the node at `url` (admin token `admin_token`).
///
/// # Errors
/// A failed provisioning, connection, or a display that never became current.
pub async fn stall_once(
    url: &str,
    admin_token: &str,
    shape: StallShape,
) -> anyhow::Result<StallFigures> {
    let fleet = provision(url, admin_token, shape.rooms, shape.rooms).await?;
    let ws_base = crate::ws::ws_base(url)?;
    let office = OfficeId::new(OFFICE).context("office id")?;
    let mut display = DisplayConn::connect(&ws_base, &fleet.viewer_token, &office)
        .await
        .map_err(|f| anyhow::anyhow!("display: {f:?}"))?;
    let first_version = display.version();
    let mut sensors = Vec::new();
    for credentials in &fleet.sensors {
        let sensor = SensorConn::connect(&ws_base, Codec::MsgPack, &credentials.key)
            .await
            .map_err(|f| anyhow::anyhow!("sensor: {f:?}"))?;
        sensors.push(sensor);
    }
    // The display does not read while every sensor sends.
    let first = Instant::now();
    let schedule = Schedule {
        first,
        period: Duration::from_secs(1) / shape.rate.max(1),
        stop: first + shape.stall,
        batch: 1,
    };
    let outcomes = join_all(sensors.into_iter().map(|s| s.run(schedule))).await;
    if let Some(outcome) = outcomes.iter().find(|o| o.readings_unacked > 0) {
        bail!("a sensor's readings were not all acknowledged: {outcome:?}");
    }
    let now = current_version(url, &fleet.tenant, &fleet.viewer_token).await?;
    let resumed = Instant::now();
    let caught_up = display
        .read_until_version(now)
        .await
        .map_err(|f| anyhow::anyhow!("resumed display: {f:?}"))?;
    Ok(StallFigures {
        versions_during_stall: now - first_version,
        stale_frames: caught_up.stale_frames,
        stale_bytes: caught_up.stale_bytes,
        time_to_current: resumed.elapsed(),
    })
}

/// The office's version now (`GET …/live` publishes what is pending before it answers).
async fn current_version(url: &str, tenant: &str, token: &str) -> anyhow::Result<u64> {
    let live: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{}/v1/tenants/{tenant}/offices/{OFFICE}/live",
            url.trim_end_matches('/')
        ))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    live["version"]
        .as_u64()
        .context("the live answer has no version")
}
