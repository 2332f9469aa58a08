//! The sources of settings as figment providers: TOML text, and one provider per `TALLY_*`
//! variable so that an error names the variable it came from.

use figment::error::Kind;
use figment::providers::{Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Metadata, Profile, Provider};

/// Prefix of environment variables that override settings.
pub(crate) const ENV_PREFIX: &str = "TALLY_";

/// Separator of section and field in a variable name: `TALLY_NODE__HTTP_ADDR` is `node.http_addr`.
pub(crate) const ENV_SEPARATOR: &str = "__";

/// The variable that overrides the setting at a dotted `key`, e.g. `TALLY_NODE__HTTP_ADDR`.
pub(crate) fn env_var_name(key: &str) -> String {
    format!(
        "{ENV_PREFIX}{}",
        key.replace('.', ENV_SEPARATOR).to_ascii_uppercase()
    )
}

/// TOML text, named for error messages ("TOML file ./tally.toml" or "TOML text").
#[derive(Debug)]
pub(crate) struct TomlSource {
    pub(crate) text: String,
    pub(crate) origin: String,
}

impl Provider for TomlSource {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.origin.clone())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Toml::string(&self.text).data()
    }
}

/// One `TALLY_SECTION__FIELD=value` override.
///
/// The value is kept as text: the builder parses numbers from text, so a secret such as
/// `0123456789012345` is not read as the number 123456789012345.
#[derive(Debug)]
pub(crate) struct EnvVar {
    name: String,
    key: String,
    value: String,
}

impl EnvVar {
    /// The override a variable stands for, or `None` if it is not one.
    ///
    /// Like figment's `Env::prefixed("TALLY_").split("__")`, the prefix is matched ignoring case and
    /// the key is lowercased. Variables without a `__` (such as `TALLY_CONFIG`) are left to the
    /// binary: every setting sits in a section, so they cannot be overrides.
    pub(crate) fn parse(name: String, value: String) -> Option<EnvVar> {
        let prefix = name.get(..ENV_PREFIX.len())?;
        if !prefix.eq_ignore_ascii_case(ENV_PREFIX) {
            return None;
        }
        let rest = name[ENV_PREFIX.len()..].trim();
        if !rest.contains(ENV_SEPARATOR) {
            return None;
        }
        let key = rest.replace(ENV_SEPARATOR, ".").to_ascii_lowercase();
        if key.split('.').any(str::is_empty) {
            return None;
        }
        Some(EnvVar { name, key, value })
    }
}

impl Provider for EnvVar {
    fn metadata(&self) -> Metadata {
        Metadata::named(format!("environment variable {}", self.name))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let nested = figment::util::nest(&self.key, Value::from(self.value.clone()));
        let dict = nested
            .into_dict()
            .expect("a key with a '.' nests into a dict");
        Ok(Profile::Default.collect(dict))
    }
}

/// Describes a figment error, one line per problem: the dotted key, what is wrong, and the
/// source (`ingest.inflight_window: invalid type: ... (in TOML file ./tally.toml)`).
pub(crate) fn describe(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|error| describe_one(&error))
        .collect::<Vec<_>>()
        .join("\n")
}

fn describe_one(error: &figment::Error) -> String {
    // figment's path of an unknown key or variant already ends with that key.
    let key = error.path.join(".");
    let problem = match &error.kind {
        Kind::UnknownField(_, expected) => {
            format!("unknown key, expected one of: {}", expected.join(", "))
        }
        Kind::UnknownVariant(found, expected) => {
            format!(
                "unknown value {found:?}, expected one of: {}",
                expected.join(", ")
            )
        }
        kind => kind.to_string(),
    };
    let origin = error.metadata.as_ref().map(|metadata| &metadata.name);
    match (key.is_empty(), origin) {
        (false, Some(origin)) => format!("{key}: {problem} (in {origin})"),
        (false, None) => format!("{key}: {problem}"),
        (true, Some(origin)) => format!("{origin}: {problem}"),
        (true, None) => problem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_of(name: &str) -> Option<String> {
        EnvVar::parse(name.to_string(), String::new()).map(|var| var.key)
    }

    #[test]
    fn env_names_map_to_dotted_keys() {
        assert_eq!(
            key_of("TALLY_NODE__HTTP_ADDR").as_deref(),
            Some("node.http_addr")
        );
        assert_eq!(
            key_of("tally_ingest__max_count").as_deref(),
            Some("ingest.max_count")
        );
        assert_eq!(key_of("TALLY_CONFIG"), None);
        assert_eq!(key_of("TALLY_NODE__"), None);
        assert_eq!(key_of("OTHER_NODE__NODE_ID"), None);
        assert_eq!(key_of("TALL"), None);
    }

    #[test]
    fn env_var_name_inverts_the_mapping() {
        let name = env_var_name("ingest.inflight_window");
        assert_eq!(name, "TALLY_INGEST__INFLIGHT_WINDOW");
        assert_eq!(key_of(&name).as_deref(), Some("ingest.inflight_window"));
    }
}
