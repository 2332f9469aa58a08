//! Body of `GET`/`PUT /v1/admin/log-filter`: a node's log filter, a tracing `EnvFilter` directive.
//! The directive itself is parsed by the gateway with `tracing-subscriber` (which this crate does
//! not depend on); the fuzz target `api_bodies` parses it the same way.

use serde::{Deserialize, Serialize};

/// A log filter: a tracing `EnvFilter` directive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LogFilter {
    /// The directive, such as `info` or `info,tally_cluster=debug`.
    pub filter: String,
}
