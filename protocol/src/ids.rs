//! Validated identifiers: tenant, office, room and sensor ids are slugs.
//!
//! A slug is 1 to 64 characters of `a-z`, `0-9` and `-`, starting with a letter or digit. Slugs are
//! safe as path segments, metric labels and storage key parts (they never contain a separator).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// Longest accepted id.
pub const MAX_ID_LEN: usize = 64;

/// Why a string is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The id is empty.
    #[error("{kind} id is empty")]
    Empty {
        /// Which kind of id.
        kind: &'static str,
    },
    /// The id is longer than [`MAX_ID_LEN`].
    #[error("{kind} id is {len} characters long, at most {MAX_ID_LEN} allowed")]
    TooLong {
        /// Which kind of id.
        kind: &'static str,
        /// Its length.
        len: usize,
    },
    /// The id has a character outside `a-z0-9-` or starts with `-`.
    #[error(
        "{kind} id {value:?} must be lowercase letters, digits and '-', starting with a letter or digit"
    )]
    BadCharacter {
        /// Which kind of id.
        kind: &'static str,
        /// The offending value (truncated to [`MAX_ID_LEN`] characters).
        value: String,
    },
}

/// Checks the slug rules; `kind` names the id in the error.
fn validate_slug(kind: &'static str, value: &str) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if value.len() > MAX_ID_LEN {
        return Err(IdError::TooLong {
            kind,
            len: value.len(),
        });
    }
    let valid_chars = value
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !valid_chars || value.starts_with('-') {
        let value = value.chars().take(MAX_ID_LEN).collect();
        return Err(IdError::BadCharacter { kind, value });
    }
    Ok(())
}

/// The slug rules as a regular expression (for the OpenAPI document; [`validate_slug`] is what
/// decides).
pub const SLUG_PATTERN: &str = "^[a-z0-9][a-z0-9-]*$";

/// The schema of a slug id, described as `kind`.
#[cfg(feature = "openapi")]
fn slug_schema(kind: &str) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(format!(
            "{kind}: 1 to {MAX_ID_LEN} lowercase letters, digits and '-', starting with a letter or digit"
        )))
        .pattern(Some(SLUG_PATTERN))
        .min_length(Some(1))
        .max_length(Some(MAX_ID_LEN))
        .into()
}

macro_rules! slug_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Validates `value` as this kind of id.
            ///
            /// # Errors
            /// [`IdError`] when `value` breaks the slug rules.
            pub fn new(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                validate_slug($kind, &value)?;
                Ok(Self(value))
            }

            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = String::deserialize(deserializer)?;
                Self::new(value).map_err(serde::de::Error::custom)
            }
        }

        /// A slug string: [`SLUG_PATTERN`], at most [`MAX_ID_LEN`] characters.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                slug_schema(stringify!($name))
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}
    };
}

slug_id!(
    /// A tenant: one customer company.
    TenantId, "tenant"
);
slug_id!(
    /// An office of a tenant.
    OfficeId, "office"
);
slug_id!(
    /// A room; unique within its tenant.
    RoomId, "room"
);
slug_id!(
    /// A people-counting sensor; unique within its tenant.
    SensorId, "sensor"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_slugs() {
        assert_eq!(TenantId::new("acme-2").unwrap().as_str(), "acme-2");
        assert!(RoomId::new("a".repeat(64)).is_ok());
    }

    #[test]
    fn rejects_bad_ids() {
        assert!(matches!(
            TenantId::new(""),
            Err(IdError::Empty { kind: "tenant" })
        ));
        assert!(matches!(
            RoomId::new("a".repeat(65)),
            Err(IdError::TooLong { len: 65, .. })
        ));
        for bad in ["Acme", "a/b", "-a", "a b", "ä", "a\0"] {
            assert!(
                matches!(OfficeId::new(bad), Err(IdError::BadCharacter { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn deserialize_validates() {
        let ok: SensorId = serde_json::from_str("\"s-1\"").unwrap();
        assert_eq!(ok.as_str(), "s-1");
        assert!(serde_json::from_str::<SensorId>("\"S 1\"").is_err());
    }
}
