//! Command-line flags of `tally-load` and their bounds.

use std::time::Duration;

use clap::{Parser, ValueEnum};
use tally_protocol::Codec;

/// Longest run `--duration` accepts.
pub const MAX_DURATION: Duration = Duration::from_secs(300);
/// Most sensors (one WebSocket each).
const MAX_SENSORS: u32 = 5_000;
/// Most display connections.
const MAX_DISPLAYS: u32 = 1_000;
/// Most readings per second per sensor.
const MAX_RATE: f64 = 1_000.0;
/// Most readings per frame (`Limits::default().max_batch_items`).
const MAX_BATCH: u32 = 500;

/// Drives sensors and displays over real WebSockets against a running tally node for a bounded
/// time, then reports throughput and latencies next to a bare durable-write baseline.
#[derive(Debug, Clone, Parser)]
#[command(name = "tally-load", version)]
pub struct LoadArgs {
    /// Base URL of the node's HTTP API (plain HTTP; the WebSockets use ws:// on the same address).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Admin bearer token, used to create the tenant, its rooms, sensors and a viewer token.
    #[arg(long, env = "TALLY_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: String,
    /// Sensor connections.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_SENSORS)))]
    pub sensors: u32,
    /// Rooms the sensors are spread over, round-robin (default: one room per sensor).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_SENSORS)))]
    pub rooms: Option<u32>,
    /// Display connections, each subscribed to the whole office.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(0..=i64::from(MAX_DISPLAYS)))]
    pub displays: u32,
    /// How long sensors send: `10s`, `2m`, or plain seconds; at most 300 s.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Readings per second per sensor.
    #[arg(long, default_value_t = 10.0, value_parser = parse_rate)]
    pub rate: f64,
    /// Readings per frame.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_BATCH)))]
    pub batch: u32,
    /// Sensor wire encoding.
    #[arg(long, value_enum, default_value_t = WireCodec::Msgpack)]
    pub codec: WireCodec,
    /// Sequential one-reading `write_batch` calls on a bare `EmbeddedStore` before the load
    /// (0 skips the baseline and its ratios).
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub baseline_writes: u32,
    /// Prints the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

impl LoadArgs {
    /// Rooms to create: `--rooms`, or one per sensor.
    pub fn room_count(&self) -> u32 {
        self.rooms.unwrap_or(self.sensors)
    }

    /// Time between two frames of one sensor.
    pub fn frame_period(&self) -> Duration {
        Duration::from_secs_f64(f64::from(self.batch) / self.rate)
    }
}

/// Sensor wire encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WireCodec {
    /// MessagePack, binary frames (`tally.v1.msgpack`).
    Msgpack,
    /// JSON, text frames (`tally.v1.json`).
    Json,
}

impl WireCodec {
    /// The protocol codec.
    pub fn codec(self) -> Codec {
        match self {
            Self::Msgpack => Codec::MsgPack,
            Self::Json => Codec::Json,
        }
    }
}

/// Parses `10s`, `1m30s`, `250ms` (humantime) or plain seconds (`10`, `2.5`), capped at
/// [`MAX_DURATION`].
fn parse_duration(value: &str) -> Result<Duration, String> {
    let duration = match value.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs >= 0.0 => Duration::from_secs_f64(secs.min(1e9)),
        Ok(_) => return Err(format!("duration {value:?} must be positive")),
        Err(_) => {
            humantime::parse_duration(value).map_err(|e| format!("duration {value:?}: {e}"))?
        }
    };
    if duration.is_zero() {
        return Err(format!("duration {value:?} must be positive"));
    }
    if duration > MAX_DURATION {
        return Err(format!(
            "duration {value:?} is over the {} s cap",
            MAX_DURATION.as_secs()
        ));
    }
    Ok(duration)
}

/// Parses a per-sensor rate in (0, 1000] readings per second.
fn parse_rate(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(rate) if rate > 0.0 && rate <= MAX_RATE => Ok(rate),
        Ok(_) => Err(format!(
            "rate {value} must be in (0, {MAX_RATE}] readings per second"
        )),
        Err(e) => Err(format!("rate {value:?}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("2.5").unwrap(), Duration::from_millis(2500));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("300s").unwrap(), MAX_DURATION);
        for bad in ["301", "5m1s", "0", "-1", "abc", "1e12"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_and_bounds() {
        let args = LoadArgs::try_parse_from(["tally-load", "--admin-token", "t"]).unwrap();
        assert_eq!(
            (args.sensors, args.room_count(), args.displays, args.batch),
            (50, 50, 5, 1)
        );
        assert_eq!(args.duration, Duration::from_secs(10));
        assert_eq!(args.frame_period(), Duration::from_millis(100));
        assert_eq!(args.codec.codec(), Codec::MsgPack);
        for bad in [
            ["--sensors", "0"],
            ["--rate", "0"],
            ["--batch", "501"],
            ["--duration", "10m"],
        ] {
            let mut argv = vec!["tally-load", "--admin-token", "t"];
            argv.extend(bad);
            assert!(LoadArgs::try_parse_from(argv).is_err(), "{bad:?}");
        }
    }
}
