//! Who held which office when, from the nodes' `placement` log lines (`decision` = `activate`
//! with the owner and its fencing token; `hand_off` or `drop` when it let go) and the times the
//! test killed nodes, to check that no office was ever active on two nodes at once.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::process::{Logs, field, message};

/// Microseconds since the epoch.
pub type Micros = i64;

/// One activation of an office on a node.
#[derive(Debug, Clone)]
pub struct Activation {
    pub node: String,
    pub token: u64,
    pub from: Micros,
    /// When it let go (handed off, dropped, or its process was killed); `None`: still active.
    pub until: Option<Micros>,
}

/// Every node process the test ran: its node id, its log, and when it was killed.
#[derive(Debug, Default)]
pub struct Ledger {
    runs: Vec<(String, Logs, Option<Micros>)>,
}

/// Now, in microseconds since the epoch.
pub fn now_micros() -> Micros {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(since.as_micros()).unwrap()
}

/// A log timestamp (`2026-11-27T20:17:05.471701Z`, UTC) in microseconds since the epoch.
fn parse_timestamp(text: &str) -> Micros {
    let number = |range: std::ops::Range<usize>| -> i64 { text[range].parse().unwrap() };
    let (year, month, day) = (number(0..4), number(5..7), number(8..10));
    let seconds = number(11..13) * 3600 + number(14..16) * 60 + number(17..19);
    let fraction = text[19..].trim_start_matches('.').trim_end_matches('Z');
    let micros = format!("{fraction:0<6}")[..6].parse::<i64>().unwrap();
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    (days * 86_400 + seconds) * 1_000_000 + micros
}

impl Ledger {
    /// Records a started node process.
    pub fn started(&mut self, node: &str, logs: Logs) {
        self.runs.push((node.to_owned(), logs, None));
    }

    /// Records that the last process of `node` was killed now.
    pub fn killed(&mut self, node: &str) {
        let run = self.runs.iter_mut().rev().find(|(id, _, _)| id == node);
        run.expect("the node ran").2 = Some(now_micros());
    }

    /// Every activation of every office, by `(tenant, office)`, in the order they began.
    pub fn activations(&self) -> BTreeMap<(String, String), Vec<Activation>> {
        let mut offices: BTreeMap<(String, String), Vec<Activation>> = BTreeMap::new();
        for (node, logs, killed) in &self.runs {
            let mut open: BTreeMap<(String, String), usize> = BTreeMap::new();
            for line in logs.matching(|line| message(line) == "placement") {
                let key = (
                    field(&line, "tenant").unwrap(),
                    field(&line, "office").unwrap(),
                );
                let at = parse_timestamp(line["timestamp"].as_str().unwrap());
                let list = offices.entry(key.clone()).or_default();
                match field(&line, "decision").as_deref() {
                    Some("activate") => {
                        open.insert(key, list.len());
                        list.push(Activation {
                            node: node.clone(),
                            token: token_of(&line),
                            from: at,
                            until: None,
                        });
                    }
                    Some("hand_off" | "drop") => {
                        if let Some(index) = open.remove(&key) {
                            list[index].until = Some(at);
                        }
                    }
                    _ => {}
                }
            }
            if let Some(killed) = killed {
                for list in offices.values_mut() {
                    for activation in list.iter_mut() {
                        if &activation.node == node && activation.until.is_none() {
                            activation.until = Some(*killed);
                        }
                    }
                }
            }
        }
        for list in offices.values_mut() {
            list.sort_by_key(|activation| activation.from);
        }
        offices
    }

    /// Asserts that every office was active on one node at a time, each activation with a
    /// higher fencing token than the one before; returns how many activations there were.
    pub fn assert_single_activation(&self) -> usize {
        let offices = self.activations();
        let mut count = 0;
        for ((tenant, office), list) in &offices {
            count += list.len();
            for pair in list.windows(2) {
                let (before, after) = (&pair[0], &pair[1]);
                assert!(
                    after.token > before.token,
                    "{tenant}/{office}: token {} on {} after token {} on {}",
                    after.token,
                    after.node,
                    before.token,
                    before.node
                );
                let ended = before.until.unwrap_or_else(|| {
                    panic!(
                        "{tenant}/{office}: active on {} (token {}) and on {} (token {}) at once",
                        before.node, before.token, after.node, after.token
                    )
                });
                assert!(
                    ended <= after.from,
                    "{tenant}/{office}: {} activated it {} µs before {} let go",
                    after.node,
                    ended - after.from,
                    before.node
                );
            }
        }
        count
    }
}

/// The fencing token of an `activate` line.
fn token_of(line: &Value) -> u64 {
    field(line, "token")
        .and_then(|token| token.parse().ok())
        .expect("an activation names its token")
}
