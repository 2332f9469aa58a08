//! The `[metrics]` section: which tenants get their own `tenant` label on per-tenant metrics, so
//! that thousands of tenants do not make thousands of series.

use crate::documented::settings_table;
use crate::validate::Checker;
use crate::values;

/// Most tenants `metrics.top_tenants` may name.
const MAX_TOP_TENANTS: u32 = 1_000;

settings_table! {
    /// Labels of the node's Prometheus metrics (`[metrics]`).
    #[derive(Debug, Clone, PartialEq)]
    pub struct MetricsSettings {
        /// Tenants whose per-tenant metrics always carry their own tenant label (opt-in), as a TOML list or comma-separated text such as "acme,globex"; each a tenant id.
        #[serde(deserialize_with = "values::list_from_array_or_text")]
        pub tenant_labels: Vec<String>,
        /// How many more tenants get their own tenant label: the busiest by readings, chosen again every 10 minutes (at most twice this many ever get one in a node's life); every other tenant is counted under tenant="_other"; 0 to 1000.
        #[serde(deserialize_with = "values::u32_from_number_or_text")]
        pub top_tenants: u32,
    }
}

impl Default for MetricsSettings {
    fn default() -> Self {
        MetricsSettings {
            tenant_labels: Vec::new(),
            top_tenants: 10,
        }
    }
}

/// Checks `[metrics]`: listed tenants are tenant ids, the top-N is bounded.
pub(crate) fn check(check: &mut Checker, metrics: &MetricsSettings) {
    for tenant in &metrics.tenant_labels {
        check.slug("metrics.tenant_labels", tenant);
    }
    check.at_most(
        "metrics.top_tenants",
        metrics.top_tenants,
        MAX_TOP_TENANTS,
        "1000",
    );
}

#[cfg(test)]
mod tests {
    use crate::Settings;

    #[test]
    fn tenant_labels_come_from_a_list_or_from_comma_separated_text() {
        let from_file = Settings::from_sources(
            Some("[metrics]\ntenant_labels = [\"acme\", \"globex\"]"),
            [],
        )
        .unwrap();
        let from_env = Settings::from_sources(
            None,
            [(
                "TALLY_METRICS__TENANT_LABELS".to_owned(),
                " acme, globex ".to_owned(),
            )],
        )
        .unwrap();
        assert_eq!(from_file.metrics.tenant_labels, ["acme", "globex"]);
        assert_eq!(from_env.metrics, from_file.metrics);
    }

    #[test]
    fn a_listed_tenant_that_is_no_tenant_id_and_a_huge_top_n_are_refused() {
        let err = Settings::from_sources(
            Some("[metrics]\ntenant_labels = [\"Acme Inc\"]\ntop_tenants = 5000"),
            [],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("metrics.tenant_labels"), "{err}");
        assert!(err.contains("metrics.top_tenants"), "{err}");
    }
}
