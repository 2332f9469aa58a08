//! Registry bodies: `POST /v1/tenants`, `POST …/offices`, `POST …/rooms`, `POST …/sensors` (an
//! id, and a display name where the resource has one; a room's capacity and count mode).

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::invalid;
use crate::analytics::Combine;
use crate::{IdError, OfficeId, ProtocolError, RoomId, SensorId, TenantId};

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

/// How a room combines the counts of its sensors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CountMode {
    /// Sensors cover disjoint areas: add their counts.
    #[default]
    Sum,
    /// Sensors overlap: take the largest count.
    Max,
}

impl CountMode {
    /// Its name (`"sum"`, `"max"`), as the wire and the networked stores write it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sum => "sum",
            Self::Max => "max",
        }
    }

    /// The mode of a name.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Sum, Self::Max]
            .into_iter()
            .find(|m| m.name() == name)
    }

    /// How the analytics combine the room's sensors.
    pub fn combine(self) -> Combine {
        match self {
            Self::Sum => Combine::Sum,
            Self::Max => Combine::Max,
        }
    }
}

/// Body of `POST /v1/tenants/{tenant}/offices/{office}/rooms`.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewRoom {
    /// Checked as an id, so a bad id gets `invalid_id` like one in a path.
    #[cfg_attr(feature = "openapi", schema(value_type = RoomId))]
    pub id: String,
    /// Display name (at most 200 characters).
    #[serde(default)]
    pub name: String,
    /// People the room is meant for.
    pub capacity: u32,
    /// How the counts of the room's sensors combine (`sum` when absent).
    #[serde(default)]
    pub count_mode: CountMode,
}

impl NewRoom {
    /// The room's id and name ([`named`]).
    ///
    /// # Errors
    ///
    /// As [`named`].
    pub fn checked_name(&self) -> Result<(RoomId, String), ProtocolError> {
        named(&self.id, self.name.clone())
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
