//! A room's count as a step function of sensor time: each count holds until the next step
//! (last observation carried forward), and a step without a count is sensor silence.

use crate::TimestampMs;

/// From `ts` on, the count is `count` until the next step; `None` means no live sensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Sensor time the step starts at.
    pub ts: TimestampMs,
    /// The count from then on, or `None` when nothing is counting (silence).
    pub count: Option<u32>,
    /// Readings that made this step (0 for a silence step; a sum for an aggregate).
    pub readings: u32,
}

/// How [`Series::combine`] combines counts at the same instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combine {
    /// Add them (disjoint areas; rooms of an office).
    Sum,
    /// Take the largest (overlapping sensors).
    Max,
}

/// A step function of time, ordered by `ts` with at most one step per instant. Before the
/// first step nothing is known (not covered).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Series {
    steps: Vec<Step>,
}

impl Series {
    /// The series of a room's readings `(ts, count)` in any order. A reading holds until the
    /// next one, at most `hold_ms` (the sensor timeout): after that the room is silent. Of
    /// readings at the same instant the last given wins, and all of them count as samples.
    pub fn from_readings(
        readings: impl IntoIterator<Item = (TimestampMs, u32)>,
        hold_ms: i64,
    ) -> Self {
        let mut readings: Vec<(TimestampMs, u32)> = readings.into_iter().collect();
        readings.sort_by_key(|(ts, _)| *ts);
        let mut steps: Vec<Step> = Vec::with_capacity(readings.len() + 1);
        for (ts, count) in readings {
            if let Some(last) = steps.last_mut() {
                if last.ts == ts && last.readings > 0 {
                    last.count = Some(count);
                    last.readings += 1;
                    continue;
                }
                let expires = last.ts.saturating_add(hold_ms);
                if last.readings > 0 && expires < ts {
                    steps.push(Step {
                        ts: expires,
                        count: None,
                        readings: 0,
                    });
                }
            }
            steps.push(Step {
                ts,
                count: Some(count),
                readings: 1,
            });
        }
        if let Some(last) = steps.last()
            && last.readings > 0
        {
            let ts = last.ts.saturating_add(hold_ms);
            steps.push(Step {
                ts,
                count: None,
                readings: 0,
            });
        }
        Self { steps }
    }

    /// The series of steps already ordered by strictly rising `ts`; `None` if they are not.
    pub fn from_steps(steps: Vec<Step>) -> Option<Self> {
        steps
            .windows(2)
            .all(|w| w[0].ts < w[1].ts)
            .then_some(Self { steps })
    }

    /// Its steps, ordered by time.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The aggregate of several rooms: at every instant, the sum of the counts of the rooms
    /// live then, live when at least one room is (sums of counts at the same instants, not of
    /// their peaks). Its samples are the rooms' readings.
    pub fn sum(rooms: &[Series]) -> Self {
        Self::combine(rooms, Combine::Sum)
    }

    /// Combines several series instant by instant (a room's sensors, an office's rooms): at
    /// every instant the sum or the largest of the counts of the series live then; live when
    /// at least one is. Its samples are all their readings.
    pub fn combine(parts: &[Series], how: Combine) -> Self {
        let rooms = parts;
        let mut events: Vec<(TimestampMs, usize, Step)> = rooms
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s.steps.iter().map(move |step| (step.ts, i, *step)))
            .collect();
        events.sort_by_key(|(ts, i, _)| (*ts, *i));
        let mut current: Vec<Option<u32>> = vec![None; rooms.len()];
        let mut live_counts: std::collections::BTreeMap<u32, usize> = Default::default();
        let (mut total, mut live) = (0u64, 0usize);
        let mut steps: Vec<Step> = Vec::new();
        let mut at = 0;
        while at < events.len() {
            let ts = events[at].0;
            let mut readings = 0;
            while at < events.len() && events[at].0 == ts {
                let (_, room, step) = events[at];
                if let Some(old) = current[room] {
                    total -= u64::from(old);
                    live -= 1;
                    if let Some(n) = live_counts.get_mut(&old) {
                        *n -= 1;
                        if *n == 0 {
                            live_counts.remove(&old);
                        }
                    }
                }
                if let Some(new) = step.count {
                    total += u64::from(new);
                    live += 1;
                    *live_counts.entry(new).or_default() += 1;
                }
                current[room] = step.count;
                readings += step.readings;
                at += 1;
            }
            let count = match how {
                Combine::Sum => (live > 0).then(|| u32::try_from(total).unwrap_or(u32::MAX)),
                Combine::Max => live_counts.keys().next_back().copied(),
            };
            // A change that leaves the count as it was and brings no reading adds no step; a
            // reading always does, so that it counts in the bucket of its own time.
            match steps.last() {
                Some(last) if last.count == count && readings == 0 => {}
                _ => steps.push(Step {
                    ts,
                    count,
                    readings,
                }),
            }
        }
        Self { steps }
    }

    /// The constant pieces `(from, to, count)` of the series inside `[from, to)`.
    pub(crate) fn pieces(
        &self,
        from: TimestampMs,
        to: TimestampMs,
    ) -> impl Iterator<Item = (TimestampMs, TimestampMs, Option<u32>)> + '_ {
        let first = self
            .steps
            .partition_point(|s| s.ts <= from)
            .saturating_sub(1);
        self.steps[first..]
            .iter()
            .enumerate()
            .map_while(move |(i, step)| {
                let next = self.steps.get(first + i + 1).map_or(to, |n| n.ts.min(to));
                (step.ts < to).then_some((step.ts.max(from), next, step.count))
            })
            .filter(|(a, b, _)| a < b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(ts: TimestampMs, count: Option<u32>, readings: u32) -> Step {
        Step {
            ts,
            count,
            readings,
        }
    }

    #[test]
    fn a_reading_holds_until_the_next_or_the_timeout() {
        let s = Series::from_readings([(100, 3), (0, 1), (500, 2)], 200);
        assert_eq!(
            s.steps(),
            [
                step(0, Some(1), 1),
                step(100, Some(3), 1),
                step(300, None, 0),
                step(500, Some(2), 1),
                step(700, None, 0)
            ]
        );
    }

    #[test]
    fn readings_at_one_instant_keep_the_last_and_count_all() {
        let s = Series::from_readings([(0, 1), (0, 4)], 1_000);
        assert_eq!(s.steps()[0], step(0, Some(4), 2));
    }

    #[test]
    fn pieces_are_clipped_to_the_range() {
        let s = Series::from_readings([(0, 1), (100, 3)], 1_000);
        let pieces: Vec<_> = s.pieces(50, 150).collect();
        assert_eq!(pieces, [(50, 100, Some(1)), (100, 150, Some(3))]);
        assert_eq!(s.pieces(-100, 0).count(), 0);
        assert_eq!(s.pieces(-100, 10).collect::<Vec<_>>(), [(0, 10, Some(1))]);
    }

    #[test]
    fn sum_adds_counts_at_the_same_instants() {
        // Room a: 2 people from 0 to 100, then 0. Room b: 3 people from 50, silent from 150.
        let a = Series::from_steps(vec![step(0, Some(2), 1), step(100, Some(0), 1)]).unwrap();
        let b = Series::from_steps(vec![step(50, Some(3), 1), step(150, None, 0)]).unwrap();
        let sum = Series::sum(&[a, b]);
        assert_eq!(
            sum.steps(),
            [
                step(0, Some(2), 1),
                step(50, Some(5), 1),
                step(100, Some(3), 1),
                step(150, Some(0), 0)
            ]
        );
    }

    #[test]
    fn max_takes_the_largest_live_count() {
        let a = Series::from_steps(vec![step(0, Some(2), 1), step(100, None, 0)]).unwrap();
        let b = Series::from_steps(vec![step(50, Some(1), 1), step(150, Some(5), 1)]).unwrap();
        let max = Series::combine(&[a, b], Combine::Max);
        assert_eq!(
            max.steps(),
            [
                step(0, Some(2), 1),
                step(50, Some(2), 1),
                step(100, Some(1), 0),
                step(150, Some(5), 1)
            ]
        );
    }

    #[test]
    fn from_steps_refuses_disorder() {
        assert!(Series::from_steps(vec![step(5, None, 0), step(5, Some(1), 1)]).is_none());
    }
}
