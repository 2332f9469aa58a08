//! Settings types that describe themselves: [`settings_table!`] defines a struct and, from the
//! same tokens, the list of its fields with their `///` docs, so the configuration reference and
//! the JSON Schema are read from the real types and cannot drift from them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value, json};

/// A type that can stand in the configuration file: the JSON Schema of its values and, for a
/// table, its documented fields.
pub(crate) trait Describe {
    /// JSON Schema of the values of this type, without a description (the field gives that).
    fn schema() -> Value;

    /// The fields of a table, in declaration order; none for a plain value.
    fn fields() -> Vec<Field> {
        Vec::new()
    }
}

/// One field of a table, as its definition documents it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Field {
    /// The key, as written in the file.
    pub(crate) name: &'static str,
    /// The `///` comment, its lines trimmed and joined by spaces.
    pub(crate) doc: String,
    /// JSON Schema of the field's type, without description or default.
    pub(crate) schema: Value,
    /// The fields of a sub-table; empty for a plain value.
    pub(crate) fields: Vec<Field>,
}

impl Field {
    /// The field `name` of type `T`, documented by the doc lines among `attributes`.
    ///
    /// # Panics
    ///
    /// If the field has no doc comment: the reference would have an empty row.
    pub(crate) fn new<T: Describe>(name: &'static str, attributes: &[Option<&str>]) -> Field {
        let doc = attributes
            .iter()
            .flatten()
            .map(|line| line.trim())
            .collect::<Vec<_>>()
            .join(" ");
        assert!(!doc.is_empty(), "settings field {name} has no doc comment");
        Field {
            name,
            doc,
            schema: T::schema(),
            fields: T::fields(),
        }
    }
}

/// The JSON Schema of a table: an object of its documented fields, unknown keys rejected, each
/// plain value with the default that `T::default()` serializes to (unset options have none).
pub(crate) fn table_schema<T: Describe + Default + serde::Serialize>() -> Value {
    let defaults = serde_json::to_value(T::default()).expect("settings serialize to JSON");
    let properties: Map<String, Value> = T::fields()
        .into_iter()
        .map(|field| {
            let mut schema = field.schema;
            schema["description"] = Value::from(field.doc);
            match defaults.get(field.name) {
                Some(default) if field.fields.is_empty() && !default.is_null() => {
                    schema["default"] = default.clone();
                }
                _ => {}
            }
            (field.name.to_string(), schema)
        })
        .collect();
    json!({ "type": "object", "additionalProperties": false, "properties": properties })
}

/// Defines a table of the configuration file: a struct whose fields are all `pub name: Type,`
/// with a `///` comment, and its [`Describe`] implementation.
///
/// The struct also derives `Serialize` and `Deserialize` with `#[serde(default,
/// deny_unknown_fields)]`: keys not set take the value of the struct's `Default`, and unknown
/// keys are rejected. Field attributes such as `#[serde(with = "…")]` are kept; renaming
/// attributes are not understood (the reference tests would catch one).
macro_rules! settings_table {
    (
        $(#[$struct_attr:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[$($field_attr:tt)*])*
                pub $field:ident: $ty:ty,
            )*
        }
    ) => {
        $(#[$struct_attr])*
        #[derive(::serde::Serialize, ::serde::Deserialize)]
        #[serde(default, deny_unknown_fields)]
        $vis struct $name {
            $(
                $(#[$($field_attr)*])*
                pub $field: $ty,
            )*
        }

        impl $crate::documented::Describe for $name {
            fn schema() -> ::serde_json::Value {
                $crate::documented::table_schema::<Self>()
            }

            fn fields() -> Vec<$crate::documented::Field> {
                vec![$(
                    $crate::documented::Field::new::<$ty>(
                        stringify!($field),
                        &[$($crate::documented::doc_line!($($field_attr)*)),*],
                    ),
                )*]
            }
        }
    };
}

/// The text of a `#[doc = "…"]` attribute, `None` for any other attribute.
macro_rules! doc_line {
    (doc = $line:literal) => {
        Some($line)
    };
    ($($other:tt)*) => {
        None
    };
}

pub(crate) use {doc_line, settings_table};

impl Describe for String {
    fn schema() -> Value {
        json!({ "type": "string" })
    }
}

impl Describe for PathBuf {
    fn schema() -> Value {
        json!({ "type": "string" })
    }
}

impl Describe for SocketAddr {
    fn schema() -> Value {
        json!({ "type": "string", "$comment": "ip:port, such as 127.0.0.1:8080 or [::1]:8080" })
    }
}

impl Describe for u32 {
    fn schema() -> Value {
        json!({ "type": "integer", "minimum": 0, "maximum": u32::MAX })
    }
}

impl Describe for f64 {
    fn schema() -> Value {
        json!({ "type": "number" })
    }
}

impl Describe for bool {
    fn schema() -> Value {
        json!({ "type": "boolean" })
    }
}

impl Describe for Duration {
    fn schema() -> Value {
        json!({ "type": "string", "$comment": "a duration such as 50ms, 10s, 24h or 1h 30m" })
    }
}

/// A list of text values.
impl Describe for Vec<String> {
    fn schema() -> Value {
        json!({ "type": "array", "items": { "type": "string" } })
    }
}

/// An optional value has the schema of its value; leaving the key out leaves it unset.
impl<T: Describe> Describe for Option<T> {
    fn schema() -> Value {
        T::schema()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    settings_table! {
        /// A table with a sub-table.
        #[derive(Debug, Default)]
        struct Outer {
            /// The inner table.
            pub inner: Inner,
        }
    }

    settings_table! {
        /// A table of plain values.
        #[derive(Debug)]
        struct Inner {
            /// First line
            /// second line.
            #[serde(deserialize_with = "crate::values::u32_from_number_or_text")]
            pub count: u32,
            /// Unset by default.
            pub secret: Option<String>,
        }
    }

    impl Default for Inner {
        fn default() -> Self {
            Inner {
                count: 7,
                secret: None,
            }
        }
    }

    #[test]
    fn fields_carry_docs_types_and_sub_tables() {
        let [inner] = <Outer as Describe>::fields().try_into().unwrap();
        assert_eq!(
            (inner.name, inner.doc.as_str()),
            ("inner", "The inner table.")
        );
        let names_and_docs: Vec<_> = inner
            .fields
            .iter()
            .map(|f| (f.name, f.doc.as_str()))
            .collect();
        assert_eq!(
            names_and_docs,
            [
                ("count", "First line second line."),
                ("secret", "Unset by default.")
            ]
        );
        assert_eq!(inner.fields[0].schema["type"], "integer");
    }

    #[test]
    fn table_schema_has_descriptions_and_defaults_of_set_values() {
        let schema = <Outer as Describe>::schema();
        let inner = &schema["properties"]["inner"];
        assert_eq!(inner["description"], "The inner table.");
        assert_eq!(inner.get("default"), None);
        assert_eq!(inner["additionalProperties"], false);
        assert_eq!(inner["properties"]["count"]["default"], 7);
        assert_eq!(inner["properties"]["secret"].get("default"), None);
    }
}
