//! Paging of range reads: no read returns an unbounded number of rows.

use serde::{Deserialize, Serialize};
use tally_protocol::{SensorId, TimestampMs};

use crate::{Rollup, StoreError, StoredReading, TimeRange};

/// The most items a page holds, whatever the request asks for.
pub const MAX_PAGE_LIMIT: usize = 10_000;

/// Which page of a range read to return: the items after `after` (from the start of the range
/// when `None`), at most `limit` of them (clamped to `1..=`[`MAX_PAGE_LIMIT`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest<C> {
    /// The cursor of the previous page ([`Page::next`]), or `None` for the first page.
    pub after: Option<C>,
    /// Most items wanted.
    pub limit: usize,
}

impl PageRequest<TimestampMs> {
    /// Where a page of a read keyed by time starts within `range`: just after the cursor, or at
    /// the start of the range for the first page; `None` when nothing of the range is left.
    pub fn start_in(&self, range: TimeRange) -> Option<TimestampMs> {
        let from = match self.after {
            Some(after) if after >= range.from => after.checked_add(1)?,
            _ => range.from,
        };
        (from < range.to).then_some(from)
    }
}

impl<C> PageRequest<C> {
    /// The first page of at most `limit` items.
    pub fn first(limit: usize) -> Self {
        Self { after: None, limit }
    }

    /// The limit a backend applies: `limit` within `1..=`[`MAX_PAGE_LIMIT`].
    pub fn clamped_limit(&self) -> usize {
        self.limit.clamp(1, MAX_PAGE_LIMIT)
    }
}

/// One page of a range read, in the read's order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T, C> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Where the next page starts (the position of the last item), or `None` when the range
    /// holds nothing more: a full page is followed by `Some` only if more items exist.
    pub next: Option<C>,
}

impl<T, C: Clone> Page<T, C> {
    /// The request for the page after this one with the same `limit`, if there is one.
    pub fn next_request(&self, limit: usize) -> Option<PageRequest<C>> {
        self.next.clone().map(|after| PageRequest {
            after: Some(after),
            limit,
        })
    }
}

impl<T, C> Default for Page<T, C> {
    /// An empty last page.
    fn default() -> Self {
        Self {
            items: Vec::new(),
            next: None,
        }
    }
}

impl<T, C> Page<T, C> {
    /// A page from up to `limit + 1` fetched items: the extra one only tells that more exist.
    pub(crate) fn from_fetched(mut items: Vec<T>, limit: usize, cursor: impl Fn(&T) -> C) -> Self {
        let more = items.len() > limit;
        items.truncate(limit);
        let next = more.then(|| items.last().map(&cursor)).flatten();
        Self { items, next }
    }
}

/// The position of a raw reading in a room's order `(ts, sensor, seq)`: a page of
/// [`crate::Store::readings`] continues strictly after it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ReadingCursor {
    /// Sensor time of the reading.
    pub ts: TimestampMs,
    /// Its sensor.
    pub sensor: SensorId,
    /// Its seq.
    pub seq: u64,
}

impl ReadingCursor {
    /// The cursor of a reading as returned by a read.
    pub fn of(item: &(SensorId, StoredReading)) -> Self {
        Self {
            ts: item.1.ts,
            sensor: item.0.clone(),
            seq: item.1.seq,
        }
    }
}

/// A page of raw readings.
pub type ReadingsPage = Page<(SensorId, StoredReading), ReadingCursor>;

/// A page of rollups; the cursor is the `bucket_start` of the last one.
pub type RollupsPage = Page<Rollup, TimestampMs>;

/// Every item of a paged read, following its pages of `limit` items from the first: for the
/// reads that must see a whole (bounded) range, and for tests.
pub(crate) async fn every_page<T, C, F, Fut>(
    limit: usize,
    mut read: F,
) -> Result<Vec<T>, StoreError>
where
    C: Clone,
    F: FnMut(PageRequest<C>) -> Fut,
    Fut: Future<Output = Result<Page<T, C>, StoreError>>,
{
    let mut all = Vec::new();
    let mut request = Some(PageRequest::first(limit));
    while let Some(page_request) = request {
        let page = read(page_request).await?;
        request = page.next_request(limit);
        all.extend(page.items);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_keyed_page_starts_after_its_cursor_within_the_range() {
        let range = TimeRange { from: 10, to: 20 };
        let page = |after| PageRequest { after, limit: 5 };
        assert_eq!(page(None).start_in(range), Some(10));
        assert_eq!(
            page(Some(5)).start_in(range),
            Some(10),
            "a cursor before the range"
        );
        assert_eq!(page(Some(12)).start_in(range), Some(13));
        assert_eq!(page(Some(19)).start_in(range), None, "nothing left");
        assert_eq!(page(Some(i64::MAX)).start_in(range), None);
        assert_eq!(page(None).start_in(TimeRange { from: 5, to: 5 }), None);
    }

    #[test]
    fn a_page_tells_whether_more_follow() {
        let full = Page::from_fetched(vec![1, 2, 3], 2, |i| *i);
        assert_eq!(full.items, vec![1, 2]);
        assert_eq!(full.next, Some(2));
        let last = Page::from_fetched(vec![1, 2], 2, |i| *i);
        assert_eq!(last.next, None);
        assert_eq!(PageRequest::<()>::first(0).clamped_limit(), 1);
        assert_eq!(
            PageRequest::<()>::first(usize::MAX).clamped_limit(),
            MAX_PAGE_LIMIT
        );
    }
}
