//! The office the wall display tests look at: a tenant, an office of named rooms with sensors,
//! readings, and the DOM conditions that show them.

use std::path::PathBuf;

use serde_json::{Value, json};
use tally_protocol::Codec;

use crate::support::{self, Api, SensorClient};

pub const TENANT: &str = "acme";
pub const OFFICE: &str = "hq";

/// (id, name, capacity) of the main office's rooms.
pub const ROOMS: &[(&str, &str, u32)] = &[
    ("atlas", "Atlas", 8),
    ("boardroom", "Boardroom", 12),
    ("borealis", "Borealis", 6),
    ("cobalt", "Cobalt", 4),
    ("delta", "Delta", 4),
    ("ember", "Ember", 10),
    ("focus-1", "Focus 1", 1),
    ("focus-2", "Focus 2", 1),
    ("focus-3", "Focus 3", 1),
    ("harbor", "Harbor", 6),
    ("iris", "Iris", 8),
    ("kestrel", "Kestrel training room", 16),
    ("library", "Library", 20),
    ("lounge", "Lounge", 30),
    ("booth-a", "Phone booth A", 1),
    ("booth-b", "Phone booth B", 1),
    ("studio", "Studio", 5),
    ("juniper", "Juniper", 4),
];

/// What the page shows about itself when a wait fails.
pub const DESCRIBE: &str = "JSON.stringify({ conn: document.body.dataset.conn, \
     banner: document.getElementById('banner').textContent, \
     tiles: [...document.querySelectorAll('.tile')].map((t) => [t.dataset.room, t.dataset.count, t.dataset.state, t.dataset.stale]) })";

pub fn out_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("display-page")
}

/// A tenant, an office with rooms (one sensor each); returns the sensor keys by room id.
pub async fn provision(
    api: &Api,
    office: (&str, &str),
    rooms: &[(String, String, u32)],
) -> Vec<(String, String)> {
    let (status, _) = api
        .post(
            "/v1/tenants",
            support::ADMIN_TOKEN,
            json!({ "id": TENANT, "name": "Acme" }),
        )
        .await;
    assert!(status == 201 || status == 409, "tenant: {status}");
    api.create(
        &format!("/v1/tenants/{TENANT}/offices"),
        json!({ "id": office.0, "name": office.1 }),
    )
    .await;
    let mut keys = Vec::new();
    for (id, name, capacity) in rooms {
        let rooms_path = format!("/v1/tenants/{TENANT}/offices/{}/rooms", office.0);
        api.create(
            &rooms_path,
            json!({ "id": id, "name": name, "capacity": capacity }),
        )
        .await;
        let sensor = api
            .create(
                &format!("{rooms_path}/{id}/sensors"),
                json!({ "id": format!("{id}-s") }),
            )
            .await;
        keys.push((id.clone(), sensor["key"].as_str().unwrap().to_owned()));
    }
    keys
}

pub fn main_rooms() -> Vec<(String, String, u32)> {
    ROOMS
        .iter()
        .map(|(id, name, cap)| ((*id).to_owned(), (*name).to_owned(), *cap))
        .collect()
}

/// Sends each room's count through its sensor (acknowledged, so durable).
pub async fn send_counts(
    addr: std::net::SocketAddr,
    keys: &[(String, String)],
    counts: &[(&str, i64)],
) {
    for (room, count) in counts {
        let key = &keys.iter().find(|(id, _)| id == room).unwrap().1;
        let mut sensor = SensorClient::connect(addr, key, Codec::Json).await;
        sensor.count(*count).await;
    }
}

/// A condition: every room in `counts` shows its count, state class and label, and the header
/// shows the office total.
pub fn shows_counts(counts: &[(&str, i64)]) -> String {
    let capacity = |room: &str| ROOMS.iter().find(|r| r.0 == room).unwrap().2 as i64;
    let want: Vec<Value> = counts
        .iter()
        .map(|(room, count)| {
            let cap = capacity(room);
            let (state, label) = if *count > cap {
                ("over", "Over capacity")
            } else if *count == cap {
                ("full", "Full")
            } else if count * 2 >= cap {
                ("busy", "Busy")
            } else {
                ("free", "Free")
            };
            json!([room, count.to_string(), state, label])
        })
        .collect();
    let total: i64 = counts.iter().map(|c| c.1).sum();
    format!(
        "{}.every(([room, count, state, label]) => {{
            const t = document.querySelector(`.tile[data-room=\"${{room}}\"]`);
            return t && t.querySelector('.n').textContent === count
                && t.classList.contains('util-' + state)
                && t.querySelector('.label').textContent === label;
        }}) && document.getElementById('total-count').textContent === '{total}'",
        Value::from(want)
    )
}

/// A viewer JWT of [`TENANT`] that expired an hour ago, signed with the test node's secret.
pub fn expired_viewer_token() -> String {
    let now = support::now_ms() as u64 / 1000;
    let claims = tally_gateway::auth::Claims {
        sub: "wall".into(),
        tenant: TENANT.parse().unwrap(),
        role: tally_gateway::auth::Role::Viewer,
        iat: now - 7200,
        exp: now - 3600,
        nbf: None,
        jti: None,
        iss: None,
        aud: None,
    };
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(support::JWT_SECRET.as_bytes()),
    )
    .unwrap()
}
