//! How values are written as text: durations as humantime strings ("50ms", "10s", "24h"),
//! and numbers and addresses read from text, since environment values arrive as text.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use serde::de::{self, Deserializer, Unexpected, Visitor};

/// Units tried from largest to smallest; a duration is written in the largest one that divides
/// it exactly, so "24h" stays "24h" rather than humantime's "1day".
const UNITS: [(u128, &str); 6] = [
    (3_600_000_000_000, "h"),
    (60_000_000_000, "m"),
    (1_000_000_000, "s"),
    (1_000_000, "ms"),
    (1_000, "us"),
    (1, "ns"),
];

/// Writes `duration` as a whole number of its largest exact unit, e.g. "90s" or "250ms".
pub fn format_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos == 0 {
        return "0s".to_string();
    }
    let (unit_nanos, unit) = UNITS
        .into_iter()
        .find(|(unit_nanos, _)| nanos.is_multiple_of(*unit_nanos))
        .expect("every duration is a whole number of nanoseconds");
    format!("{}{unit}", nanos / unit_nanos)
}

/// A duration field as text, for `#[serde(with = "values::duration")]`: written as
/// [`format_duration`] writes it, read as humantime text ("1h 30m").
pub(crate) mod duration {
    use std::time::Duration;

    use serde::{Deserializer, Serializer};

    /// Writes the duration in its largest exact unit, e.g. "90s".
    pub(crate) fn serialize<S: Serializer>(
        duration: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::format_duration(*duration))
    }

    /// Reads humantime text such as "250ms" or "1h 30m".
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        humantime_serde::deserialize(deserializer)
    }
}

/// Reads a socket address, naming the text that is not one.
pub(crate) fn socket_addr_from_text<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<SocketAddr, D::Error> {
    struct SocketAddrVisitor;

    impl Visitor<'_> for SocketAddrVisitor {
        type Value = SocketAddr;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an ip:port address such as 127.0.0.1:8080 or [::1]:8080")
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<SocketAddr, E> {
            value
                .trim()
                .parse()
                .map_err(|_| E::invalid_value(Unexpected::Str(value), &self))
        }
    }

    deserializer.deserialize_str(SocketAddrVisitor)
}

/// Reads a `u32` from a number or from decimal text: environment values arrive as text.
pub(crate) fn u32_from_number_or_text<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<u32, D::Error> {
    struct U32Visitor;

    impl Visitor<'_> for U32Visitor {
        type Value = u32;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an integer from 0 to 4294967295")
        }

        fn visit_u64<E: de::Error>(self, value: u64) -> Result<u32, E> {
            u32::try_from(value).map_err(|_| E::invalid_value(Unexpected::Unsigned(value), &self))
        }

        fn visit_i64<E: de::Error>(self, value: i64) -> Result<u32, E> {
            u32::try_from(value).map_err(|_| E::invalid_value(Unexpected::Signed(value), &self))
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<u32, E> {
            value
                .trim()
                .parse()
                .map_err(|_| E::invalid_value(Unexpected::Str(value), &self))
        }
    }

    deserializer.deserialize_any(U32Visitor)
}

/// Reads an `f64` from a number or from decimal text: environment values arrive as text.
pub(crate) fn f64_from_number_or_text<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<f64, D::Error> {
    struct F64Visitor;

    impl Visitor<'_> for F64Visitor {
        type Value = f64;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a number")
        }

        fn visit_f64<E: de::Error>(self, value: f64) -> Result<f64, E> {
            Ok(value)
        }

        fn visit_u64<E: de::Error>(self, value: u64) -> Result<f64, E> {
            Ok(value as f64)
        }

        fn visit_i64<E: de::Error>(self, value: i64) -> Result<f64, E> {
            Ok(value as f64)
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<f64, E> {
            value
                .trim()
                .parse()
                .map_err(|_| E::invalid_value(Unexpected::Str(value), &self))
        }
    }

    deserializer.deserialize_any(F64Visitor)
}

/// Reads a list of text values from a TOML array or from comma-separated text (environment
/// values arrive as text); items are trimmed and empty ones dropped.
pub(crate) fn list_from_array_or_text<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    struct ListVisitor;

    impl<'de> Visitor<'de> for ListVisitor {
        type Value = Vec<String>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of strings or comma-separated text")
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<Vec<String>, E> {
            Ok(value
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_owned)
                .collect())
        }

        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
            let mut items = Vec::new();
            while let Some(item) = seq.next_element::<String>()? {
                items.push(item);
            }
            Ok(items)
        }
    }

    deserializer.deserialize_any(ListVisitor)
}

/// Reads a `bool` from `true`/`false` or from that text: environment values arrive as text.
pub(crate) fn bool_from_bool_or_text<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<bool, D::Error> {
    struct BoolVisitor;

    impl Visitor<'_> for BoolVisitor {
        type Value = bool;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("true or false")
        }

        fn visit_bool<E: de::Error>(self, value: bool) -> Result<bool, E> {
            Ok(value)
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<bool, E> {
            value
                .trim()
                .parse()
                .map_err(|_| E::invalid_value(Unexpected::Str(value), &self))
        }
    }

    deserializer.deserialize_any(BoolVisitor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_in_the_largest_exact_unit_and_parses_back() {
        let cases = [
            (Duration::from_secs(24 * 3600), "24h"),
            (Duration::from_secs(90), "90s"),
            (Duration::from_secs(120), "2m"),
            (Duration::from_millis(50), "50ms"),
            (Duration::from_millis(1500), "1500ms"),
            (Duration::from_nanos(7), "7ns"),
            (Duration::ZERO, "0s"),
        ];
        for (duration, text) in cases {
            assert_eq!(format_duration(duration), text);
            assert_eq!(
                humantime_serde::re::humantime::parse_duration(text).unwrap(),
                duration
            );
        }
    }
}
