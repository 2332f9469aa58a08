//! Sealing a quiet room: once it has received no reading for the lateness of node time, its
//! frontier moves to the minute of `now − lateness`, closing the buckets on the way, so that
//! its office's rollups are not held back by a room whose sensors went quiet (see the module
//! docs of `rollup` for the rule and why it is safe).

use tally_protocol::TimestampMs;
use tally_protocol::analytics::{AnalyticsError, Resolution as Width};
use tally_storage::Rollup;

use super::RoomRollups;

const MINUTE_MS: i64 = 60_000;

/// How far a quiet room's frontier moves at least per seal: a quarter of the lateness, between
/// a minute and a quarter hour. A room quiet for hours writes its state four times an hour
/// (with the default lateness of an hour), not every minute, and holds its office back by at
/// most this much more.
fn seal_step_ms(lateness_ms: i64) -> i64 {
    (lateness_ms / 4).clamp(MINUTE_MS, 15 * MINUTE_MS)
}

impl RoomRollups {
    /// Seals the room at node time `now` if it is quiet: `last_heard` (node time of the last
    /// reading it received, `None` if it never received one) is at least the lateness ago. The
    /// frontier moves to the start of the minute of `now − lateness` once that is at least
    /// [`seal_step_ms`] ahead of it, never back; answers the buckets that closed (empty when
    /// nothing moved, or when the room has no frontier yet).
    ///
    /// # Errors
    /// The calendar's, for times it cannot cut (never for the node's clock).
    pub(crate) fn seal(
        &mut self,
        now: TimestampMs,
        last_heard: Option<TimestampMs>,
    ) -> Result<Vec<Rollup>, AnalyticsError> {
        let Some(mut frontier) = self.frontier else {
            return Ok(Vec::new());
        };
        let sealed_to = now.saturating_sub(self.rules.lateness_ms);
        if last_heard.is_some_and(|heard| heard > sealed_to) {
            return Ok(Vec::new());
        }
        let to = self.rules.calendar.bucket(Width::Minute, sealed_to)?.start;
        if to - frontier.to < seal_step_ms(self.rules.lateness_ms) {
            return Ok(Vec::new());
        }
        let closed_from = frontier.to;
        frontier.to = to;
        let closed = self.close(frontier, closed_from)?;
        self.prune(frontier)?;
        self.frontier = Some(frontier);
        Ok(closed)
    }
}

#[cfg(test)]
mod tests {
    use tally_storage::{Resolution, RollupFrontier};

    use crate::rollup::Lateness;
    use crate::rollup::tests::{Fed, HOUR, MIN, ms, rules};

    /// A room in Berlin with a 10 min sensor timeout and a lateness of 30 min, its sensor 0
    /// heard at 09:00:20 (2 people) and 09:03 (1 person), node time = sensor time.
    fn quiet_room() -> (Fed, i64) {
        let mut fed = Fed::new(rules("Europe/Berlin", 10 * MIN, 30 * MIN));
        let nine = ms("2026-03-04T08:00:00Z");
        fed.feed(0, nine + 20_000, 2);
        fed.feed(0, nine + 3 * MIN, 1);
        (fed, nine)
    }

    #[test]
    fn a_room_heard_within_the_lateness_is_not_sealed() {
        let (mut fed, nine) = quiet_room();
        let before = fed.rollups.frontier();
        let last_heard = nine + 3 * MIN;
        assert!(
            fed.seal(last_heard + 30 * MIN - 1, Some(last_heard))
                .is_empty()
        );
        assert_eq!(fed.rollups.frontier(), before);
    }

    #[test]
    fn a_quiet_room_is_sealed_at_now_minus_the_lateness_and_never_moves_back() {
        let (mut fed, nine) = quiet_room();
        let last_heard = Some(nine + 3 * MIN);
        let now = nine + 2 * HOUR + 30_000;
        let closed = fed.seal(now, last_heard);
        let frontier = fed.rollups.frontier().unwrap();
        assert_eq!(frontier.to, nine + 90 * MIN, "the minute of now − lateness");
        // The 1 held from 09:03 for the sensor timeout (to 09:13): those minutes closed, the
        // silence after it stored as no bucket; the 15 min from 09:00 and the hour too.
        let minutes: Vec<i64> = closed
            .iter()
            .filter(|r| r.resolution == Resolution::Minute)
            .map(|r| r.stats.as_ref().unwrap().start)
            .collect();
        assert_eq!(minutes, (3..13).map(|m| nine + m * MIN).collect::<Vec<_>>());
        let quarter = &fed.stored[&(Resolution::FifteenMinutes, nine)];
        assert_eq!((quarter.samples, quarter.peak()), (2, Some(2)));
        assert!(fed.stored.contains_key(&(Resolution::Hour, nine)));
        fed.assert_equals_raw();
        // An earlier clock (or the same tick again) moves nothing.
        assert!(fed.seal(now - HOUR, last_heard).is_empty());
        assert!(fed.seal(now, last_heard).is_empty());
        assert_eq!(fed.rollups.frontier(), Some(frontier));
    }

    #[test]
    fn a_quiet_room_seals_in_steps_of_a_quarter_of_the_lateness() {
        let (mut fed, nine) = quiet_room();
        let last_heard = Some(nine + 3 * MIN);
        let now = nine + 2 * HOUR;
        fed.seal(now, last_heard);
        let sealed = fed.rollups.frontier().unwrap();
        // A lateness of 30 min: steps of 7.5 min. Seven minutes later nothing moves; eight
        // minutes later the frontier moves eight minutes.
        for minute in 1..=7 {
            assert!(fed.seal(now + minute * MIN, last_heard).is_empty());
        }
        assert_eq!(fed.rollups.frontier(), Some(sealed));
        fed.seal(now + 8 * MIN, last_heard);
        assert_eq!(fed.rollups.frontier().unwrap().to, sealed.to + 8 * MIN);
        fed.assert_equals_raw();
    }

    #[test]
    fn seal_steps_are_a_quarter_of_the_lateness_between_a_minute_and_a_quarter_hour() {
        use super::seal_step_ms;
        assert_eq!(seal_step_ms(2_000), MIN);
        assert_eq!(seal_step_ms(30 * MIN), 7 * MIN + 30_000);
        assert_eq!(seal_step_ms(HOUR), 15 * MIN);
        assert_eq!(seal_step_ms(24 * HOUR), 15 * MIN);
    }

    #[test]
    fn a_reading_for_the_sealed_stretch_is_too_late_and_changes_no_bucket() {
        let (mut fed, nine) = quiet_room();
        fed.seal(nine + 3 * HOUR, Some(nine + 3 * MIN));
        let stored = fed.stored.clone();
        // 09:05, three people: long sealed (the frontier is at 11:30, correctable from 11:00).
        fed.feed(1, nine + 5 * MIN, 3);
        assert_eq!(fed.lateness.last(), Some(&Lateness::TooLate));
        assert_eq!(fed.stored, stored, "no closed bucket changed");
    }

    #[test]
    fn a_sensor_back_after_a_sealed_stretch_closes_from_the_sealed_frontier() {
        let (mut fed, nine) = quiet_room();
        fed.seal(nine + 3 * HOUR, Some(nine + 3 * MIN));
        let sealed = fed.rollups.frontier().unwrap();
        fed.feed(0, nine + 4 * HOUR, 4);
        assert_eq!(fed.lateness.last(), Some(&Lateness::OnTime));
        fed.feed(0, nine + 4 * HOUR + 2 * MIN, 0);
        assert_eq!(
            fed.rollups.frontier(),
            Some(RollupFrontier {
                to: nine + 4 * HOUR + 2 * MIN,
                ..sealed
            })
        );
        assert_eq!(
            fed.stored[&(Resolution::Minute, nine + 4 * HOUR)].peak(),
            Some(4)
        );
        fed.assert_equals_raw();
    }

    #[test]
    fn the_sealed_frontier_survives_a_restart() {
        let (mut fed, nine) = quiet_room();
        fed.seal(nine + 3 * HOUR, Some(nine + 3 * MIN));
        let sealed = fed.rollups.frontier();
        fed.restart(rules("Europe/Berlin", 10 * MIN, 30 * MIN));
        assert_eq!(fed.rollups.frontier(), sealed);
        let stored = fed.stored.clone();
        fed.feed(1, nine + 5 * MIN, 3);
        assert_eq!(fed.lateness.last(), Some(&Lateness::TooLate));
        assert_eq!(fed.stored, stored);
    }

    #[test]
    fn a_room_that_never_rolled_up_has_nothing_to_seal() {
        let mut fed = Fed::new(rules("UTC", 10 * MIN, 30 * MIN));
        assert!(fed.seal(ms("2026-03-04T08:00:00Z"), None).is_empty());
        assert_eq!(fed.rollups.frontier(), None);
    }
}
