//! An office's calendar as the API shows and takes it (`GET`/`PUT
//! /v1/tenants/{tenant}/offices/{office}/calendar`).

use serde::{Deserialize, Serialize};

use super::invalid;
use crate::ProtocolError;
use crate::analytics::{Calendar, WorkingHours};

/// An office's calendar as the API shows and takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CalendarView {
    /// IANA time zone name.
    #[cfg_attr(feature = "openapi", schema(example = "Europe/Berlin"))]
    pub time_zone: String,
    /// Working days and hours in that zone.
    pub working_hours: WorkingHours,
}

impl CalendarView {
    /// UTC and Monday–Friday 08:00–18:00: an office's calendar until one is set.
    pub fn office_default() -> Self {
        Self {
            time_zone: "UTC".into(),
            working_hours: WorkingHours::office_default(),
        }
    }

    /// The office's calendar, after checking its working hours.
    ///
    /// # Errors
    ///
    /// `invalid_request` for a time zone this build does not know or working hours that are
    /// not a window of quarter hours.
    pub fn calendar(&self) -> Result<Calendar, ProtocolError> {
        let calendar = Calendar::new(&self.time_zone).map_err(|err| invalid(err.to_string()))?;
        self.working_hours
            .window()
            .map_err(|err| invalid(err.to_string()))?;
        Ok(calendar)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_zones_are_invalid_requests() {
        assert!(CalendarView::office_default().calendar().is_ok());
        let elsewhere = CalendarView {
            time_zone: "Mars/Olympus".to_owned(),
            ..CalendarView::office_default()
        };
        let err = elsewhere.calendar().unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::InvalidRequest);
    }
}
