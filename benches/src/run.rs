//! One load run: provision, measure the baseline, connect displays then sensors, send for the
//! requested time, drain, and assemble the [`Report`].

use std::time::Duration;

use anyhow::Context;
use futures::{StreamExt, future::join_all, stream};
use tally_protocol::OfficeId;
use tokio::{sync::watch, time::Instant};

use crate::{
    LoadArgs,
    baseline::bare_durable_writes,
    display::{DisplayConn, DisplayOutcome},
    provision::{OFFICE, provision},
    report::{DisplayFigures, Ratios, Report, RunConfig, SensorFigures},
    sensor::{Schedule, SensorConn, SensorOutcome},
    stats::{Errors, Failure, Latency},
    ws::ws_base,
};

/// Connections opened at once while connecting.
const CONNECT_CONCURRENCY: usize = 16;
/// Time between the last connection and the first frame.
const START_DELAY: Duration = Duration::from_millis(200);
/// Time displays keep listening after the sensors finished (office deltas are coalesced ~50 ms).
const DISPLAY_LINGER: Duration = Duration::from_millis(500);

/// Runs the load described by `args` and reports. Progress goes to stderr.
///
/// # Errors
/// If the URL is not `http://`, provisioning fails or the baseline store cannot be written;
/// failures of single connections are counted in the report instead.
pub async fn run(args: &LoadArgs) -> anyhow::Result<Report> {
    let ws_base = ws_base(&args.url)?;
    let codec = args.codec.codec();
    let rooms = args.room_count();
    eprintln!(
        "tally-load: provisioning {} rooms and {} sensors at {}",
        rooms, args.sensors, args.url
    );
    let fleet = provision(&args.url, &args.admin_token, args.sensors, rooms)
        .await
        .context("provisioning the load tenant")?;

    let baseline = if args.baseline_writes > 0 {
        eprintln!(
            "tally-load: baseline, {} bare durable writes",
            args.baseline_writes
        );
        Some(bare_durable_writes(args.baseline_writes).await?)
    } else {
        None
    };

    let mut errors = Errors::default();
    let office = OfficeId::new(OFFICE)?;
    eprintln!(
        "tally-load: connecting {} displays and {} sensors",
        args.displays, args.sensors
    );
    let displays: Vec<Result<DisplayConn, Failure>> = stream::iter(0..args.displays)
        .map(|_| DisplayConn::connect(&ws_base, &fleet.viewer_token, &office))
        .buffer_unordered(CONNECT_CONCURRENCY)
        .collect()
        .await;
    let sensors: Vec<Result<SensorConn, Failure>> = stream::iter(&fleet.sensors)
        .map(|sensor| SensorConn::connect(&ws_base, codec, &sensor.key))
        .buffer_unordered(CONNECT_CONCURRENCY)
        .collect()
        .await;
    let displays = keep_connected(displays, &mut errors);
    let sensors = keep_connected(sensors, &mut errors);

    let (stop_displays, stop_rx) = watch::channel(false);
    let display_tasks: Vec<_> = displays
        .into_iter()
        .map(|display| tokio::spawn(display.run(stop_rx.clone())))
        .collect();

    let period = args.frame_period();
    let start = Instant::now() + START_DELAY;
    let stop = start + args.duration;
    let connected = u32::try_from(sensors.len()).unwrap_or(u32::MAX);
    eprintln!(
        "tally-load: sending for {:?} from {connected} sensors",
        args.duration
    );
    let sensor_tasks: Vec<_> = sensors
        .into_iter()
        .enumerate()
        .map(|(i, sensor)| {
            // Spread the sensors' send instants evenly over one period.
            let offset = period.mul_f64(i as f64 / f64::from(connected.max(1)));
            let schedule = Schedule {
                first: start + offset,
                period,
                stop,
                batch: args.batch,
            };
            tokio::spawn(sensor.run(schedule))
        })
        .collect();
    let sensor_outcomes = join_outcomes(sensor_tasks, &mut errors).await;
    tokio::time::sleep(DISPLAY_LINGER).await;
    let _ = stop_displays.send(true);
    let display_outcomes = join_outcomes(display_tasks, &mut errors).await;

    let sensors = sensor_figures(args, connected, start, &sensor_outcomes, &mut errors);
    let displays = display_figures(&display_outcomes, &mut errors);
    let ratios = baseline.as_ref().and_then(|b| Ratios::of(&sensors, b));
    Ok(Report {
        config: RunConfig {
            url: args.url.clone(),
            sensors: args.sensors,
            rooms,
            displays: args.displays,
            duration_s: args.duration.as_secs_f64(),
            rate: args.rate,
            batch: args.batch,
            codec: format!("{:?}", args.codec).to_lowercase(),
        },
        tenant: fleet.tenant,
        sensors,
        displays,
        baseline,
        ratios,
        errors: errors.into_map(),
    })
}

/// The connections that succeeded; failures are counted by code.
fn keep_connected<T>(results: Vec<Result<T, Failure>>, errors: &mut Errors) -> Vec<T> {
    results
        .into_iter()
        .filter_map(|result| result.map_err(|failure| errors.record(failure)).ok())
        .collect()
}

/// Waits for every task; a panicked task is counted as `task_panicked`.
async fn join_outcomes<T>(tasks: Vec<tokio::task::JoinHandle<T>>, errors: &mut Errors) -> Vec<T> {
    join_all(tasks)
        .await
        .into_iter()
        .filter_map(|joined| joined.map_err(|_| errors.add("task_panicked")).ok())
        .collect()
}

/// Sums the sensors' outcomes.
fn sensor_figures(
    args: &LoadArgs,
    connected: u32,
    start: Instant,
    outcomes: &[SensorOutcome],
    errors: &mut Errors,
) -> SensorFigures {
    let mut latency = Latency::new();
    let mut figures = SensorFigures {
        connected,
        readings_offered: (f64::from(connected) * args.rate * args.duration.as_secs_f64()).round()
            as u64,
        frames_sent: 0,
        readings_sent: 0,
        readings_acked: 0,
        readings_rejected: 0,
        readings_unacked: 0,
        window_full: 0,
        ended_early: 0,
        elapsed_s: 0.0,
        acked_per_s: 0.0,
        ack_latency_ms: Default::default(),
    };
    let mut last_ack = None;
    for o in outcomes {
        figures.frames_sent += o.frames_sent;
        figures.readings_sent += o.readings_sent;
        figures.readings_acked += o.readings_acked;
        figures.readings_rejected += o.readings_rejected;
        figures.readings_unacked += o.readings_unacked;
        figures.window_full += o.window_full;
        figures.ended_early += u32::from(o.ended_early);
        latency.merge(&o.ack_latency_us);
        errors.merge(&o.errors);
        last_ack = last_ack.max(o.last_ack);
    }
    // The sending window, stretched to the last ack when the node trailed behind.
    let elapsed = last_ack.map_or(args.duration, |last| {
        last.saturating_duration_since(start).max(args.duration)
    });
    figures.elapsed_s = elapsed.as_secs_f64();
    if figures.elapsed_s > 0.0 {
        figures.acked_per_s = figures.readings_acked as f64 / figures.elapsed_s;
    }
    figures.ack_latency_ms = latency.summary(1000.0);
    figures
}

/// Sums the displays' outcomes.
fn display_figures(outcomes: &[DisplayOutcome], errors: &mut Errors) -> DisplayFigures {
    let mut latency = Latency::new();
    let mut figures = DisplayFigures {
        connected: u32::try_from(outcomes.len()).unwrap_or(u32::MAX),
        deltas: 0,
        room_updates: 0,
        resnapshots: 0,
        version_gaps: 0,
        latency_ms: Default::default(),
    };
    for o in outcomes {
        figures.deltas += o.deltas;
        figures.room_updates += o.room_updates;
        figures.resnapshots += o.resnapshots;
        figures.version_gaps += o.version_gaps;
        latency.merge(&o.latency_ms);
        errors.merge(&o.errors);
    }
    figures.latency_ms = latency.summary(1.0);
    figures
}
