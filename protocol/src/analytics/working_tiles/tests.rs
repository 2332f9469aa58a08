use jiff::Timestamp;
use proptest::prelude::*;

use super::*;

const HOUR_MS: i64 = 3_600_000;

fn ms(rfc3339: &str) -> TimestampMs {
    rfc3339.parse::<Timestamp>().unwrap().as_millisecond()
}

fn hours(start: &str, end: &str, weekdays: Vec<u8>) -> WorkingHours {
    WorkingHours {
        weekdays,
        start: start.into(),
        end: end.into(),
    }
}

fn shape(tiles: &[Tile]) -> Vec<(Resolution, i64)> {
    tiles
        .iter()
        .map(|t| (t.resolution, (t.bucket.end - t.bucket.start) / 60_000))
        .collect()
}

#[test]
fn whole_working_hours_are_hour_buckets() {
    let cal = Calendar::new("Europe/Berlin").unwrap();
    // Monday 2026-01-12 to Monday 2026-01-19, local midnights (UTC+1).
    let (from, to) = (ms("2026-01-11T23:00:00Z"), ms("2026-01-18T23:00:00Z"));
    let tiles = WorkingHours::office_default()
        .tiles(&cal, from, to, Resolution::Day)
        .unwrap();
    assert_eq!(tiles.len(), 50, "10 hours on each of 5 working days");
    assert!(tiles.iter().all(|t| t.resolution == Resolution::Hour));
    assert_eq!(tiles[0].bucket.start, ms("2026-01-12T07:00:00Z"));
    assert_eq!(tiles[49].bucket.end, ms("2026-01-16T17:00:00Z"));
}

#[test]
fn quarter_hour_edges_stay_quarter_hours() {
    let cal = Calendar::new("Europe/Berlin").unwrap();
    let (from, to) = (ms("2026-01-11T23:00:00Z"), ms("2026-01-12T23:00:00Z"));
    let tiles = hours("08:30", "17:45", vec![0])
        .tiles(&cal, from, to, Resolution::Hour)
        .unwrap();
    let (q, h) = (Resolution::FifteenMinutes, Resolution::Hour);
    let mut expected = vec![(q, 15), (q, 15)];
    expected.extend([(h, 60); 8]);
    expected.extend([(q, 15); 3]);
    assert_eq!(shape(&tiles), expected);
    assert_eq!(tiles[0].bucket.start, ms("2026-01-12T07:30:00Z"));
    assert_eq!(tiles[12].bucket.end, ms("2026-01-12T16:45:00Z"));
}

#[test]
fn finer_answers_get_finer_tiles() {
    let cal = Calendar::new("Europe/Berlin").unwrap();
    let (from, to) = (ms("2026-01-11T23:00:00Z"), ms("2026-01-12T23:00:00Z"));
    let wh = WorkingHours::office_default();
    let quarters = wh
        .tiles(&cal, from, to, Resolution::FifteenMinutes)
        .unwrap();
    assert_eq!(shape(&quarters), vec![(Resolution::FifteenMinutes, 15); 40]);
    let minutes = wh.tiles(&cal, from, to, Resolution::Minute).unwrap();
    assert_eq!(shape(&minutes), vec![(Resolution::Minute, 1); 600]);
}

#[test]
fn dst_days_keep_their_local_hours() {
    let cal = Calendar::new("Europe/Berlin").unwrap();
    let night = hours("00:00", "06:00", (0..7).collect());
    // Sunday 2026-03-29 (23 h): 02:00–03:00 local does not exist; 5 working hours.
    let spring = night
        .tiles(
            &cal,
            ms("2026-03-28T23:00:00Z"),
            ms("2026-03-29T22:00:00Z"),
            Resolution::Day,
        )
        .unwrap();
    assert_eq!(shape(&spring), vec![(Resolution::Hour, 60); 5]);
    // Sunday 2026-10-25 (25 h): 02:00–03:00 local happens twice; 7 working hours.
    let autumn = night
        .tiles(
            &cal,
            ms("2026-10-24T22:00:00Z"),
            ms("2026-10-25T23:00:00Z"),
            Resolution::Day,
        )
        .unwrap();
    assert_eq!(shape(&autumn), vec![(Resolution::Hour, 60); 7]);
    assert_eq!(autumn[2].bucket.start, ms("2026-10-25T00:00:00Z"));
    assert_eq!(autumn[3].bucket.start, ms("2026-10-25T01:00:00Z"));
}

#[test]
fn a_cut_window_keeps_whole_leaves_only() {
    let cal = Calendar::utc();
    // 09:20 to 11:40 on a Monday: the quarters overlapping it, 09:15 to 11:45.
    let tiles = WorkingHours::office_default()
        .tiles(
            &cal,
            ms("2026-01-12T09:20:00Z"),
            ms("2026-01-12T11:40:00Z"),
            Resolution::Day,
        )
        .unwrap();
    let (q, h) = (Resolution::FifteenMinutes, Resolution::Hour);
    assert_eq!(
        shape(&tiles),
        vec![
            (q, 15),
            (q, 15),
            (q, 15),
            (h, 60),
            (q, 15),
            (q, 15),
            (q, 15)
        ]
    );
    assert_eq!(tiles[0].bucket.start, ms("2026-01-12T09:15:00Z"));
    assert_eq!(tiles[6].bucket.end, ms("2026-01-12T11:45:00Z"));
}

#[test]
fn bad_working_hours_are_refused() {
    let cal = Calendar::utc();
    let err = hours("18:00", "08:00", vec![0])
        .tiles(&cal, 0, HOUR_MS, Resolution::Day)
        .unwrap_err();
    assert!(err.to_string().contains("not before"), "{err}");
}

const ZONES: [&str; 6] = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Asia/Kathmandu",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// The tiles cover exactly the leaves `keep` keeps, each hour tile is the calendar's hour
    /// bucket, and no hour whose leaves are all kept is left in pieces.
    #[test]
    fn tiles_are_the_kept_leaves_merged_into_whole_hours(
        zone in 0..ZONES.len(),
        // 2024-01-01 .. 2028-01-01 in minutes, windows of up to 20 days.
        from_minute in 28_401_120i64..30_504_960,
        length_minutes in 1i64..28_800,
        start_quarter in 0u16..95,
        quarters in 1u16..96,
        weekdays in proptest::collection::btree_set(0u8..7, 0..=7),
        coarsest in 0..Resolution::ALL.len(),
    ) {
        let cal = Calendar::new(ZONES[zone]).unwrap();
        let end_quarter = (start_quarter + quarters).min(95);
        prop_assume!(end_quarter > start_quarter);
        let clock = |q: u16| format!("{:02}:{:02}", q / 4, q % 4 * 15);
        let wh = hours(&clock(start_quarter), &clock(end_quarter), weekdays.into_iter().collect());
        let coarsest = Resolution::ALL[coarsest];
        let (from, to) = (from_minute * 60_000, (from_minute + length_minutes) * 60_000);
        let tiles = wh.tiles(&cal, from, to, coarsest).unwrap();

        let leaf = coarsest.min(Resolution::FifteenMinutes);
        let kept = wh.kept(&cal, cal.buckets(leaf, from, to).unwrap(), |b| b.start).unwrap();
        let mut covered = Vec::new();
        for tile in &tiles {
            if tile.resolution == Resolution::Hour {
                prop_assert!(coarsest >= Resolution::Hour);
                prop_assert_eq!(cal.bucket(Resolution::Hour, tile.bucket.start).unwrap(), tile.bucket);
                covered.extend(cal.buckets(leaf, tile.bucket.start, tile.bucket.end).unwrap());
            } else {
                prop_assert_eq!(tile.resolution, leaf);
                prop_assert_eq!(cal.bucket(leaf, tile.bucket.start).unwrap(), tile.bucket);
                if coarsest >= Resolution::Hour {
                    let hour = cal.bucket(Resolution::Hour, tile.bucket.start).unwrap();
                    let inside = cal.buckets(leaf, hour.start, hour.end).unwrap();
                    prop_assert!(
                        !inside.iter().all(|b| kept.contains(b)),
                        "hour {:?} is kept whole but split", hour
                    );
                }
                covered.push(tile.bucket);
            }
        }
        prop_assert_eq!(covered, kept);
    }
}
