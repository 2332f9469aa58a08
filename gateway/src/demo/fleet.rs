//! The demo tenant, created through the node's REST API like an operator would.

use anyhow::{Context, bail};
use serde_json::{Value, json};

/// The demo tenant's id.
pub const DEMO_TENANT: &str = "demo";

/// A demo office and its rooms: (id, name, capacity, kind).
#[derive(Debug)]
pub(crate) struct DemoOffice {
    pub(crate) id: &'static str,
    pub(crate) name: &'static str,
    pub(crate) rooms: &'static [(&'static str, &'static str, u32, RoomKind)],
}

/// How a room is used, which shapes its day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RoomKind {
    /// Open desks: arrivals in the morning, a lunch dip, departures.
    Desks,
    /// Meeting rooms: meetings that start and end on the hour.
    Meeting,
    /// Phone booths and focus rooms: one person, often.
    Booth,
    /// Kitchen, café: busy at lunch.
    Cafe,
}

use RoomKind::{Booth, Cafe, Desks, Meeting};

/// The demo offices.
pub(crate) const OFFICES: &[DemoOffice] = &[
    DemoOffice {
        id: "london",
        name: "London · Shoreditch",
        rooms: &[
            ("desks-north", "Desks north", 40, Desks),
            ("desks-south", "Desks south", 36, Desks),
            ("thames", "Thames", 12, Meeting),
            ("fleet", "Fleet", 8, Meeting),
            ("lea", "Lea", 6, Meeting),
            ("wandle", "Wandle", 4, Meeting),
            ("effra", "Effra", 4, Meeting),
            ("tyburn", "Tyburn", 10, Meeting),
            ("booth-1", "Booth 1", 1, Booth),
            ("booth-2", "Booth 2", 1, Booth),
            ("booth-3", "Booth 3", 1, Booth),
            ("focus", "Focus room", 2, Booth),
            ("kitchen", "Kitchen", 20, Cafe),
            ("library", "Library", 14, Desks),
        ],
    },
    DemoOffice {
        id: "berlin",
        name: "Berlin · Kreuzberg",
        rooms: &[
            ("open-space", "Open space", 48, Desks),
            ("spree", "Spree", 14, Meeting),
            ("havel", "Havel", 8, Meeting),
            ("panke", "Panke", 4, Meeting),
            ("wuhle", "Wuhle", 6, Meeting),
            ("telefon-a", "Telefon A", 1, Booth),
            ("telefon-b", "Telefon B", 1, Booth),
            ("kantine", "Kantine", 30, Cafe),
            ("quiet", "Quiet room", 8, Desks),
            ("workshop", "Workshop", 16, Meeting),
        ],
    },
    DemoOffice {
        id: "lisbon",
        name: "Lisbon · Alfama",
        rooms: &[
            ("desks", "Desks", 24, Desks),
            ("tejo", "Tejo", 10, Meeting),
            ("douro", "Douro", 6, Meeting),
            ("mondego", "Mondego", 4, Meeting),
            ("cabine", "Cabine", 1, Booth),
            ("cafe", "Café", 12, Cafe),
            ("terrace", "Terrace", 16, Cafe),
        ],
    },
];

/// A provisioned room with its sensor's key.
#[derive(Debug, Clone)]
pub(crate) struct DemoRoom {
    pub(crate) capacity: u32,
    pub(crate) kind: RoomKind,
    pub(crate) sensor_key: String,
}

/// The provisioned demo tenant.
#[derive(Debug)]
pub(crate) struct Fleet {
    pub(crate) rooms: Vec<DemoRoom>,
    pub(crate) viewer_token: String,
}

/// Creates the demo tenant, its offices, rooms and one sensor per room, and a viewer token that
/// lives as long as the node allows.
pub(crate) async fn provision(base: &str, admin: &str) -> anyhow::Result<Fleet> {
    let http = reqwest::Client::new();
    let post = |path: String, body: Value| {
        let request = http
            .post(format!("{base}{path}"))
            .bearer_auth(admin)
            .json(&body);
        async move {
            let response = request
                .send()
                .await
                .with_context(|| format!("POST {path}"))?;
            let status = response.status();
            let answer: Value = response.json().await.unwrap_or(Value::Null);
            if !status.is_success() {
                bail!("POST {path}: {status} {answer}");
            }
            Ok::<Value, anyhow::Error>(answer)
        }
    };
    post(
        "/v1/tenants".into(),
        json!({ "id": DEMO_TENANT, "name": "Demo Corp" }),
    )
    .await?;
    let mut rooms = Vec::new();
    for office in OFFICES {
        let offices = format!("/v1/tenants/{DEMO_TENANT}/offices");
        post(
            offices.clone(),
            json!({ "id": office.id, "name": office.name }),
        )
        .await?;
        for (id, name, capacity, kind) in office.rooms {
            let path = format!("{offices}/{}/rooms", office.id);
            post(
                path.clone(),
                json!({ "id": id, "name": name, "capacity": capacity }),
            )
            .await?;
            let sensor = post(
                format!("{path}/{id}/sensors"),
                json!({ "id": format!("{id}-sensor") }),
            )
            .await?;
            rooms.push(DemoRoom {
                capacity: *capacity,
                kind: *kind,
                sensor_key: sensor["key"].as_str().context("sensor key")?.to_owned(),
            });
        }
    }
    let token = post(
        format!("/v1/tenants/{DEMO_TENANT}/tokens"),
        json!({ "role": "viewer", "subject": "demo-wall" }),
    )
    .await?;
    Ok(Fleet {
        rooms,
        viewer_token: token["token"].as_str().context("viewer token")?.to_owned(),
    })
}
