//! The configuration reference: a Markdown table of every key, generated from the doc comments
//! in `settings.rs` and the defaults of `Settings::default()`.

use crate::settings::Settings;
use crate::sources::env_var_name;

/// The text this table is generated from.
const SETTINGS_SOURCE: &str = include_str!("settings.rs");

/// One documented field: its dotted key and the text of its doc comment.
#[derive(Debug, PartialEq)]
struct Field {
    key: String,
    doc: String,
}

/// Markdown table of every setting: key, environment variable, default, meaning.
///
/// `config/README-reference.md` holds its output; a test fails when the two differ.
pub fn reference_markdown() -> String {
    let defaults = toml::Table::try_from(Settings::default())
        .expect("default settings serialize to a TOML table");
    let mut out = String::from(
        "Every key can be set in the TOML file given to the node, or overridden by its environment \
         variable. Durations are written like `50ms`, `10s` or `24h`.\n\n\
         | key | env variable | default | meaning |\n\
         |---|---|---|---|\n",
    );
    for Field { key, doc } in documented_fields(SETTINGS_SOURCE, "Settings") {
        let default = default_of(&defaults, &key);
        let meaning = doc.replace('|', "\\|");
        out.push_str(&format!(
            "| `{key}` | `{}` | {default} | {meaning} |\n",
            env_var_name(&key)
        ));
    }
    out
}

/// The default at a dotted `section.field` key as TOML, or "unset" for an absent optional value.
fn default_of(defaults: &toml::Table, key: &str) -> String {
    let (section, field) = key.split_once('.').expect("keys are section.field");
    match defaults.get(section).and_then(|table| table.get(field)) {
        Some(value) => format!("`{value}`"),
        None => "unset".to_string(),
    }
}

/// Every field of every section, in declaration order, with its doc comment.
///
/// The sections are the fields of `pub struct <root>`; each names the struct whose
/// `/// doc` + `pub field: Type,` lines it reads.
fn documented_fields(source: &str, root: &str) -> Vec<Field> {
    struct_fields(source, root)
        .into_iter()
        .flat_map(|(section, section_type, _)| {
            struct_fields(source, &section_type)
                .into_iter()
                .map(move |(field, _, doc)| Field {
                    key: format!("{section}.{field}"),
                    doc,
                })
        })
        .collect()
}

/// `(name, type, doc)` of each public field of `pub struct <name> {`.
///
/// # Panics
///
/// If the struct is missing or a field has no doc comment: the reference would be incomplete.
fn struct_fields(source: &str, name: &str) -> Vec<(String, String, String)> {
    let header = format!("pub struct {name} {{");
    let mut lines = source.lines().skip_while(|line| line.trim() != header);
    assert!(lines.next().is_some(), "settings.rs has no `{header}`");
    let mut fields = Vec::new();
    let mut doc: Vec<&str> = Vec::new();
    for line in lines.map(str::trim).take_while(|line| *line != "}") {
        if let Some(text) = line.strip_prefix("///") {
            doc.push(text.trim());
        } else if let Some((field, field_type)) = line
            .strip_prefix("pub ")
            .and_then(|rest| rest.split_once(": "))
        {
            assert!(
                !doc.is_empty(),
                "{name}.{field} in settings.rs has no doc comment"
            );
            let field_type = field_type.trim_end_matches(',').to_string();
            fields.push((field.to_string(), field_type, doc.join(" ")));
            doc.clear();
        } else if !line.starts_with("#[") {
            doc.clear();
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGENERATE: &str = "regenerate with `cargo run -p tally-config --example reference > config/README-reference.md`";

    #[test]
    fn readme_reference_is_up_to_date() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README-reference.md");
        let written = std::fs::read_to_string(path)
            .unwrap_or_else(|error| panic!("cannot read {path}: {error}; {REGENERATE}"));
        assert!(
            written == reference_markdown(),
            "{path} is out of date: {REGENERATE}"
        );
    }

    #[test]
    fn top_level_readme_carries_the_reference() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
        let readme = std::fs::read_to_string(path)
            .unwrap_or_else(|error| panic!("cannot read {path}: {error}"));
        assert!(
            readme.contains(&reference_markdown()),
            "README.md's configuration section is out of date: paste config/README-reference.md into it"
        );
    }

    #[test]
    fn every_serialized_setting_is_documented_and_every_documented_key_exists() {
        let fields = documented_fields(SETTINGS_SOURCE, "Settings");
        let documented: Vec<&str> = fields.iter().map(|field| field.key.as_str()).collect();
        let defaults = toml::Table::try_from(Settings::default()).unwrap();
        let mut serialized = Vec::new();
        for (section, table) in &defaults {
            for field in table.as_table().unwrap().keys() {
                serialized.push(format!("{section}.{field}"));
            }
        }
        for key in &serialized {
            assert!(
                documented.contains(&key.as_str()),
                "{key} has no row in the reference"
            );
        }
        // The two secrets are unset by default, so they are not serialized.
        let unset = ["auth.admin_token", "auth.jwt_secret"];
        assert_eq!(documented.len(), serialized.len() + unset.len());
        for key in unset {
            assert!(documented.contains(&key));
        }
    }

    #[test]
    fn every_documented_key_is_accepted_by_the_loader() {
        for Field { key, .. } in documented_fields(SETTINGS_SOURCE, "Settings") {
            let (section, field) = key.split_once('.').unwrap();
            let default = default_of(&toml::Table::try_from(Settings::default()).unwrap(), &key);
            let value = match default.as_str() {
                "unset" => "\"0123456789abcdef0123456789abcdef\"".to_string(),
                default => default.trim_matches('`').to_string(),
            };
            let toml = format!("[{section}]\n{field} = {value}\n");
            let loaded = Settings::from_sources(Some(&toml), []);
            assert!(loaded.is_ok(), "{key}: {loaded:?}");
        }
    }

    #[test]
    fn parses_docs_attributes_and_types() {
        let source = "pub struct Outer {\n    /// The a.\n    pub a: A,\n}\n\
                      pub struct A {\n    /// First line\n    /// second line.\n    #[serde(x)]\n    pub b: Option<u32>,\n}\n";
        assert_eq!(
            documented_fields(source, "Outer"),
            vec![Field {
                key: "a.b".to_string(),
                doc: "First line second line.".to_string()
            }]
        );
    }
}
