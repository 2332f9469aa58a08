//! A node's configuration file as `tally run --config` reads it (TOML, merged with an environment
//! override, deserialized, validated): every input is settings or a `ConfigError`, and accepted
//! settings show as redacted TOML that loads again to the same settings.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tally_config::{REDACTED, Settings};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let env = || {
        [(
            "TALLY_INGEST__INFLIGHT_WINDOW".to_string(),
            "64".to_string(),
        )]
    };
    match Settings::from_sources(Some(text), env()) {
        Ok(settings) => {
            let shown = settings.to_toml_redacted();
            // Without secrets, what `tally config` shows is the configuration itself.
            if !shown.contains(REDACTED) {
                let again = Settings::from_sources(Some(&shown), env())
                    .unwrap_or_else(|error| panic!("shown settings load again: {error}\n{shown}"));
                assert_eq!(again, settings, "{shown}");
            }
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
});
