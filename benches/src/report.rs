//! The report of one run: plain text for people, JSON (`--json`) for scripts.

use std::{collections::BTreeMap, fmt};

use serde::Serialize;

use crate::{
    baseline::BaselineFigures,
    stats::{ErrorCount, LatencySummary},
};

/// Everything one `tally-load` run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// What was asked.
    pub config: RunConfig,
    /// The tenant created for the run.
    pub tenant: String,
    /// Sensor side.
    pub sensors: SensorFigures,
    /// Display side.
    pub displays: DisplayFigures,
    /// The bare durable write measured before the load, unless `--baseline-writes 0`.
    pub baseline: Option<BaselineFigures>,
    /// Load figures over baseline figures (the machine is noisy: compare ratios, not absolutes).
    pub ratios: Option<Ratios>,
    /// Errors by code, sensors and displays together.
    pub errors: BTreeMap<String, ErrorCount>,
}

/// The run's parameters.
#[derive(Debug, Clone, Serialize)]
pub struct RunConfig {
    /// Node base URL.
    pub url: String,
    /// Sensor connections asked for.
    pub sensors: u32,
    /// Rooms.
    pub rooms: u32,
    /// Display connections asked for.
    pub displays: u32,
    /// Sending time, in seconds.
    pub duration_s: f64,
    /// Readings per second per sensor.
    pub rate: f64,
    /// Readings per frame.
    pub batch: u32,
    /// Sensor codec (`msgpack` or `json`).
    pub codec: String,
}

/// What the sensors did and how fast the node acknowledged.
#[derive(Debug, Clone, Serialize)]
pub struct SensorFigures {
    /// Sensors that completed `hello`/`welcome`.
    pub connected: u32,
    /// Readings the schedule asked for (connected sensors × rate × duration).
    pub readings_offered: u64,
    /// Frames sent.
    pub frames_sent: u64,
    /// Readings sent.
    pub readings_sent: u64,
    /// Readings covered by an `Ack` (durable).
    pub readings_acked: u64,
    /// Readings of frames the node rejected with an error frame.
    pub readings_rejected: u64,
    /// Readings still unacknowledged when the sensors gave up waiting.
    pub readings_unacked: u64,
    /// Send instants skipped because the in-flight window was full.
    pub window_full: u64,
    /// Sensors whose connection failed before the end of `--duration` (see `errors`).
    pub ended_early: u32,
    /// `--duration`, or from the first frame to the last ack if that is longer, in seconds.
    pub elapsed_s: f64,
    /// Acknowledged readings per second over `elapsed_s`.
    pub acked_per_s: f64,
    /// Send → covering ack, per frame, in milliseconds.
    pub ack_latency_ms: LatencySummary,
}

/// What the displays saw.
#[derive(Debug, Clone, Serialize)]
pub struct DisplayFigures {
    /// Displays that subscribed and got their snapshot.
    pub connected: u32,
    /// Deltas received (all displays).
    pub deltas: u64,
    /// Room entries inside those deltas.
    pub room_updates: u64,
    /// Snapshots after the first (display conflated as stale).
    pub resnapshots: u64,
    /// Deltas whose version did not follow the previous one.
    pub version_gaps: u64,
    /// Reading `ts` → delta arrival, per room update, in milliseconds (1 ms resolution).
    pub latency_ms: LatencySummary,
}

/// Load over baseline.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Ratios {
    /// Ack latency p50 / bare durable write p50: the price of the whole path (WebSocket, actors,
    /// persister queueing) per acknowledgement, in units of one fsynced write.
    pub ack_p50_over_write_p50: f64,
    /// Acked readings/s / bare durable writes/s: above 1 means group commit makes the node durably
    /// store more readings per second than one-at-a-time writes could.
    pub acked_per_s_over_writes_per_s: f64,
}

impl Ratios {
    /// The ratios of a run, if the baseline measured anything.
    pub(crate) fn of(sensors: &SensorFigures, baseline: &BaselineFigures) -> Option<Self> {
        (baseline.latency_ms.p50 > 0.0 && baseline.writes_per_s > 0.0).then(|| Self {
            ack_p50_over_write_p50: sensors.ack_latency_ms.p50 / baseline.latency_ms.p50,
            acked_per_s_over_writes_per_s: sensors.acked_per_s / baseline.writes_per_s,
        })
    }
}

/// `p50 … p99 … max … (mean …, n …)` with `decimals` digits.
fn latency(
    f: &mut fmt::Formatter<'_>,
    l: &LatencySummary,
    decimals: usize,
    what: &str,
) -> fmt::Result {
    writeln!(
        f,
        "p50 {:.d$} ms  p99 {:.d$} ms  max {:.d$} ms  (mean {:.d$} ms, {} {what})",
        l.p50,
        l.p99,
        l.max,
        l.mean,
        l.count,
        d = decimals
    )
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        writeln!(
            f,
            "tally-load: {} sensors over {} rooms, {} displays, {} s at {} readings/s/sensor, batch {}, {} -> {} (tenant {})",
            c.sensors,
            c.rooms,
            c.displays,
            c.duration_s,
            c.rate,
            c.batch,
            c.codec,
            c.url,
            self.tenant
        )?;
        let s = &self.sensors;
        writeln!(
            f,
            "\nsensors                 connected {}/{}, ended early {}",
            s.connected, c.sensors, s.ended_early
        )?;
        writeln!(
            f,
            "  readings              offered {}, sent {} in {} frames, acknowledged {} (rejected {}, unacked at end {}, window full {} times)",
            s.readings_offered,
            s.readings_sent,
            s.frames_sent,
            s.readings_acked,
            s.readings_rejected,
            s.readings_unacked,
            s.window_full
        )?;
        writeln!(
            f,
            "  acked readings/s      {:.1} (over {:.2} s)",
            s.acked_per_s, s.elapsed_s
        )?;
        write!(f, "  ack latency           ")?;
        latency(f, &s.ack_latency_ms, 3, "frames")?;
        let d = &self.displays;
        writeln!(
            f,
            "\ndisplays                connected {}/{}",
            d.connected, c.displays
        )?;
        writeln!(
            f,
            "  deltas                {} ({} room updates, {} resnapshots, {} version gaps)",
            d.deltas, d.room_updates, d.resnapshots, d.version_gaps
        )?;
        write!(f, "  sensor->display       ")?;
        latency(f, &d.latency_ms, 0, "room updates")?;
        match &self.baseline {
            Some(b) => {
                writeln!(
                    f,
                    "\nbare durable write      {} sequential one-reading write_batch on EmbeddedStore",
                    b.writes
                )?;
                write!(f, "  latency               ")?;
                latency(f, &b.latency_ms, 3, "writes")?;
                writeln!(f, "  writes/s              {:.1}", b.writes_per_s)?;
            }
            None => writeln!(f, "\nbare durable write      skipped (--baseline-writes 0)")?,
        }
        if let Some(r) = &self.ratios {
            writeln!(f, "\nratios")?;
            writeln!(
                f,
                "  ack p50 / bare durable write p50           {:.2}",
                r.ack_p50_over_write_p50
            )?;
            writeln!(
                f,
                "  acked readings/s / bare durable writes/s   {:.2}",
                r.acked_per_s_over_writes_per_s
            )?;
        }
        if self.errors.is_empty() {
            writeln!(f, "\nerrors                  none")
        } else {
            writeln!(f, "\nerrors")?;
            for (code, e) in &self.errors {
                match &e.example {
                    Some(example) => {
                        writeln!(f, "  {code:<24} {:>8}   e.g. {example}", e.count)?;
                    }
                    None => writeln!(f, "  {code:<24} {:>8}", e.count)?,
                }
            }
            Ok(())
        }
    }
}
