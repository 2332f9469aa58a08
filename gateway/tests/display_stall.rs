//! A display that stops reading while its office keeps changing, then resumes, reads the present
//! within one frame: the node pings after each frame and sends the next only once the display's
//! pong shows it has read the previous one; meanwhile the display's frame slot conflates every
//! change into one fresh snapshot. (Before, a stalled display found a backlog of stale deltas in
//! its queue and in the kernel's socket buffers and replayed them first.)

mod support;

use std::collections::BTreeMap;

use futures::future::join_all;
use support::*;
use tally_protocol::DisplayFrame;

const ROOMS: &[&str] = &["r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8"];
/// Rounds of changes while the display does not read: every room changes in every round.
const ROUNDS: i64 = 150;

/// What a display knows: room → count, and the version it is at.
#[derive(Debug, Default)]
struct View {
    counts: BTreeMap<String, u32>,
    version: u64,
}

impl View {
    fn apply(&mut self, frame: &DisplayFrame) {
        match frame {
            DisplayFrame::Snapshot { version, rooms, .. } => {
                self.counts = rooms
                    .iter()
                    .map(|r| (r.room.to_string(), r.count))
                    .collect();
                self.version = *version;
            }
            DisplayFrame::Delta { version, rooms, .. } => {
                for room in rooms {
                    self.counts.insert(room.room.to_string(), room.count);
                }
                self.version = *version;
            }
            DisplayFrame::Error { code, message } => panic!("display error {code}: {message}"),
        }
    }
}

/// The count a room has after `round`.
fn count_in(round: i64, room: usize) -> i64 {
    (round * 7 + room as i64) % 10
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_display_that_stalls_reads_the_present_within_one_frame_when_it_resumes() {
    let (_dir, data) = temp_dir();
    let node = tally_gateway::start(test_settings(&data)).await.unwrap();
    let api = Api::new(node.addr());
    let keys = api.provision("acme", "hq", ROOMS).await;
    let token = api.viewer_token("acme").await;
    let mut sensors = Vec::new();
    for key in &keys {
        sensors.push(SensorClient::connect(node.addr(), key, tally_protocol::Codec::MsgPack).await);
    }

    let mut display = DisplayClient::connect(node.addr(), &token).await;
    display.subscribe("hq", None).await;
    let mut view = View::default();
    view.apply(
        &display
            .until(|f| matches!(f, DisplayFrame::Snapshot { .. }))
            .await,
    );

    // The display stops reading; every room changes ROUNDS times, each change acknowledged.
    for round in 1..=ROUNDS {
        join_all(
            sensors
                .iter_mut()
                .enumerate()
                .map(|(room, sensor)| sensor.count(count_in(round, room))),
        )
        .await;
    }
    // The office publishes what is pending before it answers, so the display's slot now holds
    // the final state (or the display has a frame in flight and the slot holds it next).
    let (status, live) = api.get("/v1/tenants/acme/offices/hq/live", &token).await;
    assert_eq!(status, 200, "{live}");
    let expected: BTreeMap<String, u32> = ROOMS
        .iter()
        .enumerate()
        .map(|(room, name)| ((*name).to_owned(), count_in(ROUNDS, room) as u32))
        .collect();
    let live_version = live["version"].as_u64().unwrap();
    // How many versions the office published depends on its coalescing and the machine's pace;
    // what matters is that enough were published for a display replaying the past to read
    // several stale frames (before the fix it read every one of them).
    assert!(
        live_version >= view.version + 3,
        "the office published only {} versions while the display stalled",
        live_version - view.version
    );

    // The display resumes: it reads at most the one frame that was in flight, then the present.
    let mut frames_before_current = 0;
    loop {
        match display.next().await {
            Next::Frame(frame) => view.apply(&frame),
            Next::Closed(close) => panic!("display closed: {close:?}"),
        }
        if view.counts == expected && view.version == live_version {
            break;
        }
        frames_before_current += 1;
        assert!(
            frames_before_current <= 1,
            "the resumed display read {frames_before_current} stale frames (at version {} of \
             {live_version})",
            view.version
        );
    }
    stop_checked(node).await;
}
