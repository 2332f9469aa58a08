//! The query string of an audit log read (`GET /v1/tenants/{tenant}/audit`,
//! `GET /v1/admin/audit`).

use serde::Deserialize;

use super::invalid;
use crate::{ProtocolError, TenantId, TimestampMs};

/// Entries per page when `limit` is not given.
pub const DEFAULT_AUDIT_LIMIT: usize = 100;
/// Most entries a page may ask for.
pub const MAX_AUDIT_LIMIT: usize = 1000;
/// Longest cursor accepted (an entry id is about 40 characters).
pub const MAX_AUDIT_CURSOR: usize = 128;

/// Query of an audit read.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::IntoParams),
    into_params(parameter_in = Query)
)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Entries at or after this time (milliseconds since the epoch); from the start when absent.
    #[cfg_attr(feature = "openapi", param(value_type = Option<i64>))]
    pub from: Option<TimestampMs>,
    /// Entries before this time (milliseconds since the epoch); up to now when absent.
    #[cfg_attr(feature = "openapi", param(value_type = Option<i64>))]
    pub to: Option<TimestampMs>,
    /// Entries per page, 1 to 1000 (default 100).
    pub limit: Option<usize>,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
    /// (`/v1/admin/audit` only) the tenant whose log to read; the platform's when absent.
    pub tenant: Option<TenantId>,
}

/// A checked [`AuditQuery`]: the page to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    /// Entries at or after this time.
    pub from: TimestampMs,
    /// Entries before this time.
    pub to: TimestampMs,
    /// Entries per page.
    pub limit: usize,
    /// Entries after this cursor (the `next` of the previous page).
    pub cursor: Option<String>,
}

impl AuditQuery {
    /// The page the query asks for: the whole time axis and [`DEFAULT_AUDIT_LIMIT`] entries
    /// unless given.
    ///
    /// # Errors
    ///
    /// `invalid_request` for a limit outside 1 to [`MAX_AUDIT_LIMIT`], `from` after `to`, or a
    /// cursor that is not up to [`MAX_AUDIT_CURSOR`] visible ASCII characters.
    pub fn page(self) -> Result<AuditPage, ProtocolError> {
        let limit = self.limit.unwrap_or(DEFAULT_AUDIT_LIMIT);
        if !(1..=MAX_AUDIT_LIMIT).contains(&limit) {
            return Err(invalid(format!(
                "limit must be 1 to {MAX_AUDIT_LIMIT}, got {limit}"
            )));
        }
        let (from, to) = (self.from.unwrap_or(0), self.to.unwrap_or(TimestampMs::MAX));
        if from > to {
            return Err(invalid(format!("from ({from}) is after to ({to})")));
        }
        if let Some(cursor) = &self.cursor
            && !(cursor.len() <= MAX_AUDIT_CURSOR && cursor.bytes().all(|b| b.is_ascii_graphic()))
        {
            return Err(invalid(format!(
                "cursor must be up to {MAX_AUDIT_CURSOR} visible ASCII characters (the next of a page)"
            )));
        }
        Ok(AuditPage {
            from,
            to,
            limit,
            cursor: self.cursor,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(limit: Option<usize>, from: Option<i64>, cursor: Option<&str>) -> AuditQuery {
        AuditQuery {
            from,
            to: None,
            limit,
            cursor: cursor.map(str::to_owned),
            tenant: None,
        }
    }

    #[test]
    fn defaults_and_bounds() {
        let page = query(None, None, None).page().unwrap();
        assert_eq!((page.from, page.to, page.limit), (0, TimestampMs::MAX, 100));
        assert!(query(Some(0), None, None).page().is_err());
        assert!(query(Some(1001), None, None).page().is_err());
        assert!(query(Some(1000), None, Some("01J-abc")).page().is_ok());
        assert!(query(None, None, Some("a b")).page().is_err());
        assert!(query(None, None, Some(&"c".repeat(129))).page().is_err());
        let backwards = AuditQuery {
            to: Some(5),
            ..query(None, Some(6), None)
        };
        assert!(backwards.page().is_err());
    }
}
