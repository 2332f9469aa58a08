//! Simulated sensors: each room follows a compressed working day (one simulated hour per
//! [`HOUR`] of real time), posting its count through `POST /v1/readings` with its sensor key.
//!
//! - Desks fill from 08:00 to 10:00, dip at lunch (12:00–13:30), empty from 16:30 to 19:00.
//! - Meeting rooms hold meetings that start and end on the hour (each hour, a meeting or not,
//!   with a head count of its own).
//! - Booths are taken or free, more often in the afternoon; cafés peak at lunch.

use std::time::Duration;

use rand::Rng;
use serde_json::json;

use super::fleet::{DemoRoom, RoomKind};

/// Real time per simulated hour.
const HOUR: Duration = Duration::from_secs(20);
/// How often each room reports.
const TICK: Duration = Duration::from_millis(1500);
/// Simulated time of day when the demo starts (hours).
const START_HOUR: f64 = 8.5;

/// Runs every room's sensor until the task is dropped.
pub(crate) async fn simulate(base: String, rooms: Vec<DemoRoom>) {
    let http = reqwest::Client::new();
    let started = tokio::time::Instant::now();
    let mut seqs = vec![0_u64; rooms.len()];
    // Meeting head counts, drawn per room and simulated hour.
    let mut meetings: Vec<(i64, i64)> = vec![(-1, 0); rooms.len()];
    let mut ticker = tokio::time::interval(TICK);
    loop {
        ticker.tick().await;
        let hour = (START_HOUR + started.elapsed().as_secs_f64() / HOUR.as_secs_f64()) % 24.0;
        for (i, room) in rooms.iter().enumerate() {
            let count = {
                let mut rng = rand::rng();
                let meeting = &mut meetings[i];
                if meeting.0 != hour as i64 {
                    let busy = presence(hour);
                    let held = rng.random_bool((0.15 + 0.7 * busy).min(0.95));
                    let people = if held {
                        rng.random_range(2..=room.capacity.max(2) + 1)
                    } else {
                        0
                    };
                    *meeting = (hour as i64, i64::from(people));
                }
                count_at(room, hour, meeting.1, &mut rng)
            };
            seqs[i] += 1;
            let body = json!({ "items": [{ "seq": seqs[i], "ts": tally_protocol::now_ms(), "count": count }] });
            let sent = http
                .post(format!("{base}/v1/readings"))
                .bearer_auth(&room.sensor_key)
                .json(&body)
                .send()
                .await;
            if let Err(err) = sent {
                tracing::debug!(error = %err, "demo sensor could not post");
            }
        }
    }
}

/// Share of the workforce in the office at `hour` (0 to 1): arrivals, lunch dip, departures.
fn presence(hour: f64) -> f64 {
    let ramp = |from: f64, to: f64| ((hour - from) / (to - from)).clamp(0.0, 1.0);
    let arrived = ramp(7.5, 10.0);
    let left = ramp(16.5, 19.0);
    let lunch = if (12.0..13.5).contains(&hour) {
        0.45
    } else {
        0.0
    };
    (arrived - left - lunch).max(0.0)
}

/// The room's count at `hour`; `meeting` is the head count of this hour's meeting.
fn count_at(room: &DemoRoom, hour: f64, meeting: i64, rng: &mut impl Rng) -> i64 {
    let capacity = f64::from(room.capacity);
    let noise = rng.random_range(-0.06..0.06);
    let share = match room.kind {
        RoomKind::Desks => presence(hour) * 0.85 + noise,
        RoomKind::Meeting => return if presence(hour) > 0.05 { meeting } else { 0 },
        RoomKind::Booth => {
            let taken = rng.random_bool((0.2 + 0.6 * presence(hour)).min(0.9));
            return i64::from(taken) * i64::from(room.capacity.min(1));
        }
        RoomKind::Cafe => {
            let lunch = if (11.75..13.75).contains(&hour) {
                0.8
            } else {
                0.1
            };
            lunch * presence(hour).max(0.2) + noise
        }
    };
    (share.clamp(0.0, 1.1) * capacity).round() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_day_has_arrivals_a_lunch_dip_and_departures() {
        assert_eq!(presence(6.0), 0.0);
        assert!(presence(11.0) > 0.9);
        assert!(presence(12.5) < presence(11.0) - 0.3);
        assert!(presence(15.0) > 0.9);
        assert_eq!(presence(20.0), 0.0);
    }
}
