//! Daily partitions of `readings`: created ahead of time and on demand, through the
//! `create_readings_partition()` function (SECURITY DEFINER: the runtime role cannot create
//! tables, and the partition must belong to the owner and carry the policies).
//!
//! A day gets its own partition when it lies within [`PostgresConfig::partition_past_days`]
//! before today and [`PostgresConfig::partition_ahead_days`] after it (and between 2000 and
//! 3000); readings of other days land in the default partition. Creating a partition locks the
//! parent table briefly, so it happens before a batch's transaction, never inside it, and mostly
//! ahead of time: at start-up and on the first write of each new day.

use std::{
    collections::{BTreeSet, HashMap},
    sync::{
        Mutex,
        atomic::{AtomicI64, Ordering},
    },
    time::{SystemTime, UNIX_EPOCH},
};

use tally_protocol::TimestampMs;
use tokio_postgres::Client;

use super::{PostgresConfig, errors::pg};
use crate::StoreError;

/// Milliseconds in a UTC day.
const DAY_MS: i64 = 86_400_000;
/// 2000-01-01 and 3000-01-01 UTC: the days `create_readings_partition()` accepts.
const FIRST_DAY: i64 = 946_684_800_000;
const LAST_DAY: i64 = 32_503_680_000_000;

/// Start of the UTC day containing `ts`, if representable.
pub(super) fn day_start(ts: TimestampMs) -> Option<i64> {
    ts.checked_sub(ts.rem_euclid(DAY_MS))
}

/// What this node knows of the readings partitions.
#[derive(Debug)]
pub(super) struct Partitions {
    ahead_days: i64,
    past_days: i64,
    /// Day start → whether the day has its own partition (false: its rows stay in the default).
    known: Mutex<HashMap<i64, bool>>,
    /// The day for which the partitions ahead were last made.
    maintained_for: AtomicI64,
}

impl Partitions {
    /// Nothing known yet.
    pub(super) fn new(config: &PostgresConfig) -> Self {
        Self {
            ahead_days: i64::from(config.partition_ahead_days),
            past_days: i64::from(config.partition_past_days),
            known: Mutex::new(HashMap::new()),
            maintained_for: AtomicI64::new(i64::MIN),
        }
    }

    /// Makes sure every day of `timestamps` that should have a partition has one, and, once per
    /// day, the partitions from yesterday to `ahead_days` after today.
    pub(super) async fn prepare(
        &self,
        client: &Client,
        timestamps: impl IntoIterator<Item = TimestampMs>,
    ) -> Result<(), StoreError> {
        let today = day_start(now_ms()).unwrap_or(0);
        let mut wanted: BTreeSet<i64> = timestamps
            .into_iter()
            .filter_map(day_start)
            .filter(|&day| self.in_window(today, day))
            .collect();
        let maintain = self.maintained_for.load(Ordering::Relaxed) != today;
        if maintain {
            wanted.extend(
                (-1..=self.ahead_days)
                    .map(|offset| today + offset * DAY_MS)
                    .filter(|&day| self.in_window(today, day)),
            );
        }
        let missing: Vec<i64> = {
            let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
            wanted
                .into_iter()
                .filter(|day| !known.contains_key(day))
                .collect()
        };
        for day in missing {
            let own: bool = client
                .query_one("SELECT create_readings_partition($1)", &[&day])
                .await
                .map_err(pg)?
                .get(0);
            if !own {
                tracing::warn!(
                    day_start = day,
                    "readings of this day stay in the default partition"
                );
            }
            self.known
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(day, own);
        }
        if maintain {
            self.maintained_for.store(today, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Forgets what is known of `day` (its partition was dropped).
    pub(super) fn forget(&self, day: i64) {
        self.known
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&day);
    }

    /// Whether `day` gets its own partition when today is `today`.
    fn in_window(&self, today: i64, day: i64) -> bool {
        (FIRST_DAY..=LAST_DAY).contains(&day)
            && day >= today - self.past_days * DAY_MS
            && day <= today + self.ahead_days * DAY_MS
    }
}

/// The wall clock in ms since the epoch.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_starts_floor_towards_minus_infinity() {
        assert_eq!(day_start(0), Some(0));
        assert_eq!(day_start(DAY_MS - 1), Some(0));
        assert_eq!(day_start(-1), Some(-DAY_MS));
        assert_eq!(day_start(i64::MAX), Some(i64::MAX - i64::MAX % DAY_MS));
        assert_eq!(day_start(i64::MIN), None);
    }

    #[test]
    fn window_spans_past_and_ahead_days_within_the_accepted_years() {
        let partitions = Partitions::new(&PostgresConfig {
            partition_ahead_days: 2,
            partition_past_days: 1,
            ..PostgresConfig::new("postgres://h/db")
        });
        let today = day_start(1_764_000_000_000).unwrap();
        assert!(partitions.in_window(today, today));
        assert!(partitions.in_window(today, today - DAY_MS));
        assert!(!partitions.in_window(today, today - 2 * DAY_MS));
        assert!(partitions.in_window(today, today + 2 * DAY_MS));
        assert!(!partitions.in_window(today, today + 3 * DAY_MS));
        assert!(!partitions.in_window(0, 0), "1970 is before 2000");
    }
}
