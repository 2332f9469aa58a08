//! Registry bodies: `POST /v1/tenants`, `POST …/offices`, `POST …/sensors` (an id, and a display
//! name where the resource has one).

use std::str::FromStr;

use serde::Deserialize;

use super::invalid;
use crate::{IdError, OfficeId, ProtocolError, SensorId, TenantId};

/// Longest display name (and token subject), in characters.
pub const MAX_NAME_LEN: usize = 200;

/// Checks a display name: at most [`MAX_NAME_LEN`] characters.
///
/// # Errors
///
/// `invalid_request` naming its length.
pub fn check_name(name: &str) -> Result<(), ProtocolError> {
    let chars = name.chars().count();
    if chars > MAX_NAME_LEN {
        return Err(invalid(format!(
            "name is {chars} characters long, at most {MAX_NAME_LEN} allowed"
        )));
    }
    Ok(())
}

/// The id and display name of a new registry entry, checked: the name first
/// ([`check_name`]), then the id, so a bad id answers `invalid_id` like one in a path.
///
/// # Errors
///
/// `invalid_request` for a long name, `invalid_id` for a bad id.
pub fn named<T: FromStr<Err = IdError>>(
    id: &str,
    name: String,
) -> Result<(T, String), ProtocolError> {
    check_name(&name)?;
    Ok((id.parse()?, name))
}

/// Body of `POST /v1/tenants`.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    /// Checked as an id, so a bad id gets `invalid_id` like one in a path.
    #[cfg_attr(feature = "openapi", schema(value_type = TenantId))]
    pub id: String,
    /// Display name (at most 200 characters).
    #[serde(default)]
    pub name: String,
}

impl NewTenant {
    /// The tenant's id and name ([`named`]).
    ///
    /// # Errors
    ///
    /// As [`named`].
    pub fn checked(self) -> Result<(TenantId, String), ProtocolError> {
        named(&self.id, self.name)
    }
}

/// Body of `POST /v1/tenants/{tenant}/offices`.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewOffice {
    /// Checked as an id, so a bad id gets `invalid_id` like one in a path.
    #[cfg_attr(feature = "openapi", schema(value_type = OfficeId))]
    pub id: String,
    /// Display name (at most 200 characters).
    #[serde(default)]
    pub name: String,
}

impl NewOffice {
    /// The office's id and name ([`named`]).
    ///
    /// # Errors
    ///
    /// As [`named`].
    pub fn checked(self) -> Result<(OfficeId, String), ProtocolError> {
        named(&self.id, self.name)
    }
}

/// Body of `POST …/rooms/{room}/sensors`.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewSensor {
    /// Checked as an id, so a bad id gets `invalid_id` like one in a path.
    #[cfg_attr(feature = "openapi", schema(value_type = SensorId))]
    pub id: String,
}

impl NewSensor {
    /// The sensor's id.
    ///
    /// # Errors
    ///
    /// `invalid_id` for a bad id.
    pub fn checked(&self) -> Result<SensorId, ProtocolError> {
        Ok(self.id.parse()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn a_long_name_is_refused_before_a_bad_id() {
        let long = NewTenant {
            id: "Not A Slug".to_owned(),
            name: "n".repeat(MAX_NAME_LEN + 1),
        };
        assert_eq!(
            long.checked().unwrap_err().code(),
            ErrorCode::InvalidRequest
        );
        let bad_id = NewOffice {
            id: "Not A Slug".to_owned(),
            name: "n".repeat(MAX_NAME_LEN),
        };
        assert_eq!(bad_id.checked().unwrap_err().code(), ErrorCode::InvalidId);
        let sensor = NewSensor {
            id: "door-1".to_owned(),
        };
        assert_eq!(sensor.checked().unwrap().as_str(), "door-1");
    }
}
