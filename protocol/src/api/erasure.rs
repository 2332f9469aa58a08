//! The bodies of a tenant's erasure: the request (`POST /v1/admin/tenants/{tenant}/erasure`)
//! and its confirmation (`POST …/erasure/confirm`).

use serde::Deserialize;

use super::invalid;
use crate::ProtocolError;

/// Longest `requested_by`, in characters.
pub const MAX_REQUESTED_BY: usize = 200;

/// Body of `POST /v1/admin/tenants/{tenant}/erasure`.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ErasureRequest {
    /// Who asks (an operator's name or ticket), recorded in the audit record.
    pub requested_by: String,
}

impl ErasureRequest {
    /// `requested_by` without surrounding white space.
    ///
    /// # Errors
    ///
    /// `invalid_request` unless that is 1 to [`MAX_REQUESTED_BY`] characters.
    pub fn requested_by(&self) -> Result<&str, ProtocolError> {
        let requested_by = self.requested_by.trim();
        let chars = requested_by.chars().count();
        if chars == 0 || chars > MAX_REQUESTED_BY {
            return Err(invalid(format!(
                "requested_by must be 1 to {MAX_REQUESTED_BY} characters, got {chars}"
            )));
        }
        Ok(requested_by)
    }
}

/// Body of `POST /v1/admin/tenants/{tenant}/erasure/confirm`.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ErasureConfirmation {
    /// The token the erasure request answered.
    pub confirmation: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requested_by_is_trimmed_and_bounded() {
        let request = |text: &str| ErasureRequest {
            requested_by: text.to_owned(),
        };
        assert_eq!(request("  ops-42 ").requested_by(), Ok("ops-42"));
        assert!(request(" \t ").requested_by().is_err());
        assert!(
            request(&"é".repeat(MAX_REQUESTED_BY))
                .requested_by()
                .is_ok()
        );
        assert!(
            request(&"é".repeat(MAX_REQUESTED_BY + 1))
                .requested_by()
                .is_err()
        );
    }
}
