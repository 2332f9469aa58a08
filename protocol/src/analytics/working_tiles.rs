//! The working part of a window as few stored buckets as possible: the buckets
//! [`WorkingHours::keep`] keeps (quarter hours, or minutes), with every local hour kept whole
//! merged into one hour. Working hours 08:00–18:00 are 10 hour buckets a day instead of 40
//! quarter hours; 08:30–17:45 are 2 quarter hours, 9 hours and 3 quarter hours. An answer reads
//! the stored rollups of these tiles and merges them: the same figures as merging the kept
//! quarter hours, because bucket statistics merge by adding.

use jiff::Timestamp;

use crate::TimestampMs;
use crate::analytics::{AnalyticsError, Bucket, Calendar, Resolution, WorkingHours};

/// One calendar bucket of the working part of a window, and its resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tile {
    /// The bucket's resolution.
    pub resolution: Resolution,
    /// The bucket.
    pub bucket: Bucket,
}

const MINUTE_MS: i64 = 60_000;
const HOUR_MINUTES: u16 = 60;
const DAY_MS: i64 = 86_400_000;

impl WorkingHours {
    /// The working part of `[from, to)`, in order: the buckets of the finest resolution
    /// (quarter hours, or minutes when `coarsest` is minutes) that [`WorkingHours::keep`]
    /// keeps, with the quarter hours of every local hour kept whole given as that hour when
    /// `coarsest` is an hour or a day.
    pub fn tiles(
        &self,
        calendar: &Calendar,
        from: TimestampMs,
        to: TimestampMs,
        coarsest: Resolution,
    ) -> Result<Vec<Tile>, AnalyticsError> {
        let window = self.window()?;
        let leaf = coarsest.min(Resolution::FifteenMinutes);
        let hours = coarsest >= Resolution::Hour;
        let mut tiles = Vec::new();
        for day in calendar.buckets(Resolution::Day, from, to)? {
            let (start, end) = (day.start.max(from), day.end.min(to));
            if (start, end) == (day.start, day.end) && steady(calendar, day)? {
                self.plain_day(calendar, day, window, leaf, hours, &mut tiles)?;
            } else {
                self.any_day(calendar, (start, end), leaf, hours, &mut tiles)?;
            }
        }
        Ok(tiles)
    }

    /// The tiles of a whole local day of one UTC offset (24 hours, every local time once),
    /// by arithmetic on local minutes since midnight.
    fn plain_day(
        &self,
        calendar: &Calendar,
        day: Bucket,
        (start, end): (u16, u16),
        leaf: Resolution,
        hours: bool,
        tiles: &mut Vec<Tile>,
    ) -> Result<(), AnalyticsError> {
        let (weekday, _) = calendar.weekday_and_minute(day.start)?;
        if !self.weekdays.contains(&weekday) {
            return Ok(());
        }
        let step = if leaf == Resolution::Minute { 1 } else { 15 };
        let at = |minute: u16| day.start + i64::from(minute) * MINUTE_MS;
        let mut minute = start;
        while minute < end {
            let (resolution, width) =
                if hours && minute % HOUR_MINUTES == 0 && minute + HOUR_MINUTES <= end {
                    (Resolution::Hour, HOUR_MINUTES)
                } else {
                    (leaf, step)
                };
            tiles.push(Tile {
                resolution,
                bucket: Bucket {
                    start: at(minute),
                    end: at(minute + width),
                },
            });
            minute += width;
        }
        Ok(())
    }

    /// The tiles of `[from, to)` inside one local day, any day (cut by the window, or with an
    /// offset change): the kept leaves, and the hours all of whose leaves are kept.
    fn any_day(
        &self,
        calendar: &Calendar,
        (from, to): (TimestampMs, TimestampMs),
        leaf: Resolution,
        hours: bool,
        tiles: &mut Vec<Tile>,
    ) -> Result<(), AnalyticsError> {
        let kept = self.kept(calendar, calendar.buckets(leaf, from, to)?, |b| b.start)?;
        let mut at = 0;
        while at < kept.len() {
            let first = kept[at];
            let hour = if hours {
                Some(calendar.bucket(Resolution::Hour, first.start)?)
            } else {
                None
            };
            // The kept leaves of the hour of `first`, if they tile it.
            let whole = hour.and_then(|hour| {
                let mut edge = hour.start;
                let mut next = at;
                while next < kept.len() && kept[next].start == edge && kept[next].end <= hour.end {
                    edge = kept[next].end;
                    next += 1;
                }
                (edge == hour.end).then_some((hour, next))
            });
            match whole {
                Some((hour, next)) => {
                    tiles.push(Tile {
                        resolution: Resolution::Hour,
                        bucket: hour,
                    });
                    at = next;
                }
                None => {
                    tiles.push(Tile {
                        resolution: leaf,
                        bucket: first,
                    });
                    at += 1;
                }
            }
        }
        Ok(())
    }
}

/// Whether the local day runs from 00:00 for 24 hours at one UTC offset (no DST or other
/// offset change inside it, and it does not start at one that skipped its midnight).
fn steady(calendar: &Calendar, day: Bucket) -> Result<bool, AnalyticsError> {
    if day.end - day.start != DAY_MS {
        return Ok(false);
    }
    let start = Timestamp::from_millisecond(day.start)
        .map_err(|_| AnalyticsError::TimeOutOfRange(day.start))?;
    Ok(match calendar.time_zone().following(start).next() {
        Some(change) => change.timestamp().as_millisecond() >= day.end,
        None => true,
    })
}

#[cfg(test)]
mod tests;
