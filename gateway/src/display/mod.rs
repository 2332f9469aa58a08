//! What wall displays connect to: the display WebSocket (`GET /v1/live`).

pub(crate) mod ws;
