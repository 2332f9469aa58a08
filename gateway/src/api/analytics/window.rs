//! The query every analytics endpoint takes (`tally_protocol::api::WindowQuery`, checked against
//! the office's calendar there), and the extractor that answers a bad query string as an
//! [`ApiError`].

pub(crate) use tally_protocol::api::{Window, WindowQuery};

use crate::error::ApiError;

/// `axum::extract::Query` whose rejection is an [`ApiError`].
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub(crate) struct ApiQuery<T>(pub(crate) T);
