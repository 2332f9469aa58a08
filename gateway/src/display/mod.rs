//! What wall displays connect to: the display WebSocket (`GET /v1/live`) and the wall display
//! page (`GET /display/{tenant}/{office}`).

mod flow;
pub(crate) mod page;
pub(crate) mod ws;
