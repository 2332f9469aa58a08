//! A quiet room does not hold its office's rollups back: a real node (embedded store) with an
//! office of two rooms, `a` reporting all along and `b` silent after its first reading. With a
//! short `rollup.lateness` (2 s), `b` seals its rollup frontier by node time, the office's
//! finaliser passes `b`'s last reading, and a reading for the sealed stretch arriving after a
//! restart of the office is stored raw, counted too late, and changes neither `b`'s nor the
//! office's buckets.

mod support;

use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use support::rollups::{MIN, area_rollups, everything};
use support::{TestNode, TestOffice};
use tally_actors::{ActorSettings, FinaliseStep, OfficeRollups};
use tally_protocol::{OfficeId, Reading, RoomId, TenantId, TimestampMs, now_ms};
use tally_storage::{
    MAX_PAGE_LIMIT, PageRequest, Resolution, Rollup, RollupArea, RollupFrontier, Store,
};
const LATENESS: Duration = Duration::from_secs(2);

impl TestOffice {
    /// Stored rollups at every resolution: room `room`'s, or the office's with `None`.
    async fn rollups(&self, room: Option<&str>) -> Vec<Rollup> {
        let disk = &self.test.disk;
        let mut out = Vec::new();
        let area = RollupArea::Office(self.office.clone());
        for resolution in Resolution::ALL {
            match room {
                Some(room) => {
                    let (room, page) = (
                        RoomId::new(room).unwrap(),
                        PageRequest::first(MAX_PAGE_LIMIT),
                    );
                    let found = disk.rollups(&self.tenant, &room, resolution, everything(), page);
                    out.extend(found.await.unwrap().items);
                }
                None => {
                    out.extend(area_rollups(disk.as_ref(), &self.tenant, &area, resolution).await)
                }
            }
        }
        out
    }

    /// Finalises the office at node time `now` until caught up (single node: owner token 0).
    async fn finalise(&self, now: TimestampMs) -> RollupFrontier {
        let finaliser = OfficeRollups {
            tenant: self.tenant.clone(),
            office: self.office.clone(),
            owner_token: 0,
            hold_ms: 600_000,
            lateness_ms: 2_000,
        };
        loop {
            match finaliser.step(self.test.disk.as_ref(), now).await.unwrap() {
                FinaliseStep::Behind(_) => {}
                FinaliseStep::CaughtUp(frontier) => return frontier,
                FinaliseStep::Idle => panic!("no room rolled anything up"),
            }
        }
    }
}

/// The value of a counter in the process's Prometheus rendering, summed over its labels.
fn counter(metrics: &PrometheusHandle, name: &str) -> u64 {
    metrics
        .render()
        .lines()
        .filter(|line| line.starts_with(name) && !line.starts_with('#'))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_room_lets_the_office_rollups_pass_it() {
    let metrics = PrometheusBuilder::new().install_recorder().unwrap();
    let (tenant, office) = (TenantId::new("t").unwrap(), OfficeId::new("o").unwrap());
    let rooms = vec![RoomId::new("a").unwrap(), RoomId::new("b").unwrap()];
    let settings = ActorSettings {
        rollup_lateness: LATENESS,
        ..ActorSettings::default()
    };
    let test = TestNode::start_with(settings, &tenant, &[(office.clone(), rooms)]).await;
    let f = TestOffice {
        test,
        tenant,
        office,
    };
    // Both rooms report three minutes ago (30 s into a minute); then only `a` reports.
    let minute = (now_ms() - 3 * MIN) / MIN * MIN;
    let last_b = minute + 30_000;
    f.send(
        "a",
        "sa",
        Reading {
            seq: 1,
            ts: last_b,
            count: 1,
        },
    )
    .await;
    f.send(
        "b",
        "sb",
        Reading {
            seq: 1,
            ts: last_b,
            count: 2,
        },
    )
    .await;
    assert!(f.room_frontier("b").await.unwrap().to <= last_b);

    // `a` keeps reporting (sensor time = node time, a reading every 50 ms: the pace of a busy
    // sensor, not a wait for anything) until `b`, quiet for the lateness, has sealed its
    // frontier past its last reading: the test waits for that write, however long it takes (a
    // room that never seals keeps it waiting, and the run's own bound fails it).
    let mut seq_a = 1;
    let sealed = loop {
        seq_a += 1;
        f.send(
            "a",
            "sa",
            Reading {
                seq: seq_a,
                ts: now_ms(),
                count: 1,
            },
        )
        .await;
        if let Some(frontier) = f.room_frontier("b").await.filter(|f| f.to > last_b) {
            break frontier;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Sealed at a minute of node time at most the lateness ago; `b`'s 2 people held for the
    // sensor timeout (10 min) up to the sealed frontier, so its minute of 2 is stored.
    assert!(sealed.to <= now_ms() - 2_000);
    let b_before = f.rollups(Some("b")).await;
    let b_minute = b_before
        .iter()
        .find(|r| r.resolution == Resolution::Minute && r.stats.as_ref().unwrap().start == minute);
    assert_eq!(b_minute.and_then(|r| r.stats.as_ref()?.peak()), Some(2));

    // The office's finaliser passes `b`'s last reading (without sealing it stopped a lateness
    // before the minute of that reading).
    let now = now_ms();
    let office_frontier = f.finalise(now).await;
    assert!(
        office_frontier.to > last_b,
        "office frontier {office_frontier:?} did not pass room b's last reading {last_b}"
    );
    let office_before = f.rollups(None).await;
    let peak_at = office_before
        .iter()
        .find(|r| r.resolution == Resolution::Minute && r.stats.as_ref().unwrap().start == minute);
    assert_eq!(
        peak_at.and_then(|r| r.stats.as_ref()?.peak()),
        Some(3),
        "a's 1 and b's 2 at the same instants"
    );

    // A restart of the office: `b` comes back with its sealed frontier from the store.
    assert!(
        f.test
            .node
            .passivate_office(&f.tenant, &f.office)
            .await
            .unwrap()
    );
    // A reading of `b` for the sealed stretch (20 s before its last one, sent late): with its
    // frontier before sealing it would fall in the open minute, with the sealed one it is too late.
    let (late_before, corrected_before) = (
        counter(&metrics, "tally_readings_late_total"),
        counter(&metrics, "tally_readings_corrected_total"),
    );
    f.send(
        "b",
        "sb",
        Reading {
            seq: 2,
            ts: last_b - 20_000,
            count: 5,
        },
    )
    .await;
    assert_eq!(
        f.room_frontier("b").await.map(|f| f.to >= sealed.to),
        Some(true),
        "the sealed frontier was restored"
    );
    assert_eq!(
        counter(&metrics, "tally_readings_late_total"),
        late_before + 1
    );
    assert_eq!(
        counter(&metrics, "tally_readings_corrected_total"),
        corrected_before
    );
    // Stored raw, and no bucket changed: neither `b`'s nor the office's.
    let raw = f
        .test
        .disk
        .readings(
            &f.tenant,
            &RoomId::new("b").unwrap(),
            everything(),
            PageRequest::first(MAX_PAGE_LIMIT),
        )
        .await
        .unwrap();
    assert!(
        raw.items
            .iter()
            .any(|(sensor, r)| sensor.as_str() == "sb" && r.count == 5)
    );
    let b_after = f.rollups(Some("b")).await;
    let b_sealed_stretch: Vec<&Rollup> = b_after
        .iter()
        .filter(|r| r.stats.as_ref().unwrap().end <= sealed.to)
        .collect();
    let b_before_sealed: Vec<&Rollup> = b_before
        .iter()
        .filter(|r| r.stats.as_ref().unwrap().end <= sealed.to)
        .collect();
    assert_eq!(b_sealed_stretch, b_before_sealed);
    assert_eq!(f.finalise(now).await, office_frontier);
    assert_eq!(f.rollups(None).await, office_before);
    f.test.stop_checked().await;
}
