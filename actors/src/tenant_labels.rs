//! Bounded `tenant` labels on per-tenant metrics: a tenant gets its own series only when it is
//! listed (opt-in) or among the busiest few; every other tenant is counted under
//! [`OTHER_TENANTS`], so thousands of tenants make a handful of series.
//!
//! The busiest are chosen by readings: until the first choice the first `top` tenants seen get a
//! label, then every [`RECHOOSE_EVERY`] the `top` busiest since the last choice do. A tenant that
//! drops out keeps its series (no longer growing) until the node restarts, so at most twice
//! `top` tenants ever get one: the number of series stays bounded however tenants come and go.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use crate::telemetry;

/// The `tenant` label of every tenant without its own series (never a tenant id: those start
/// with a letter or digit).
pub const OTHER_TENANTS: &str = "_other";
/// How often the busiest tenants are chosen again.
pub(crate) const RECHOOSE_EVERY: Duration = Duration::from_secs(600);
/// Tenants with their own label when nothing is configured (`metrics.top_tenants`).
pub const DEFAULT_TOP_TENANTS: usize = 10;

/// Which tenants get their own `tenant` label: an opt-in list plus the `top` busiest.
#[derive(Debug)]
pub struct TenantLabels {
    listed: HashSet<String>,
    top: usize,
    choice: Mutex<Choice>,
}

/// The current choice of the busiest tenants and the volumes it is made from.
#[derive(Debug, Default)]
struct Choice {
    /// Tenants with their own label now (besides the listed ones).
    labelled: HashSet<String>,
    /// Tenants that ever had their own label: their series exist (at most `2 × top`).
    ever: HashSet<String>,
    /// Readings per unlisted tenant since the last choice.
    volume: HashMap<String, u64>,
    /// When the last choice was made (`None` until the first reading).
    chosen_at: Option<Instant>,
}

impl TenantLabels {
    /// Labels for the `listed` tenants and the `top` busiest others.
    pub fn new(listed: impl IntoIterator<Item = String>, top: usize) -> Self {
        Self {
            listed: listed.into_iter().collect(),
            top,
            choice: Mutex::new(Choice::default()),
        }
    }

    /// The `tenant` label for `tenant`, counting its `readings` toward its volume.
    pub fn label(&self, tenant: &str, readings: u64) -> String {
        self.label_at(tenant, readings, Instant::now())
    }

    fn label_at(&self, tenant: &str, readings: u64, now: Instant) -> String {
        if self.listed.contains(tenant) {
            return tenant.to_owned();
        }
        if self.top == 0 {
            return OTHER_TENANTS.to_owned();
        }
        let mut choice = self.choice.lock().unwrap_or_else(PoisonError::into_inner);
        match choice.volume.get_mut(tenant) {
            Some(volume) => *volume += readings,
            None => {
                choice.volume.insert(tenant.to_owned(), readings);
            }
        }
        let chosen_at = *choice.chosen_at.get_or_insert(now);
        if now.duration_since(chosen_at) >= RECHOOSE_EVERY {
            choice.choose_again(self.top);
            choice.chosen_at = Some(now);
        }
        if choice.labelled.contains(tenant) || choice.admit(tenant, self.top) {
            tenant.to_owned()
        } else {
            OTHER_TENANTS.to_owned()
        }
    }
}

impl Choice {
    /// Gives `tenant` a label if there is room among the `top` and within the series bound.
    fn admit(&mut self, tenant: &str, top: usize) -> bool {
        let may_have_series = self.ever.contains(tenant) || self.ever.len() < 2 * top;
        if self.labelled.len() >= top || !may_have_series {
            return false;
        }
        self.labelled.insert(tenant.to_owned());
        self.ever.insert(tenant.to_owned());
        true
    }

    /// Labels the `top` busiest tenants since the last choice (ties by id), within the bound.
    fn choose_again(&mut self, top: usize) {
        let mut busiest: Vec<(String, u64)> = self.volume.drain().collect();
        busiest.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        self.labelled.clear();
        for (tenant, _) in busiest {
            if self.labelled.len() >= top {
                break;
            }
            self.admit(&tenant, top);
        }
    }
}

static LABELS: LazyLock<RwLock<Arc<TenantLabels>>> =
    LazyLock::new(|| RwLock::new(Arc::new(TenantLabels::new(Vec::new(), DEFAULT_TOP_TENANTS))));

/// Sets the labels this process uses (from `[metrics]`); a node calls it when it starts.
pub fn configure_tenant_labels(labels: TenantLabels) {
    *LABELS.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(labels);
}

/// The `tenant` label of `tenant` under the labels configured for this process.
pub fn tenant_label(tenant: &str, readings: u64) -> String {
    let labels = LABELS
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    labels.label(tenant, readings)
}

/// Counts a room's applied, duplicate and late readings under `tenant`'s label.
pub(crate) fn count_readings(
    labels: &TenantLabels,
    tenant: &str,
    applied: u64,
    duplicate: u64,
    late: u64,
    corrected: u64,
) {
    let label = labels.label(tenant, applied + duplicate + late);
    metrics::counter!(telemetry::READINGS_APPLIED, "tenant" => label.clone()).increment(applied);
    metrics::counter!(telemetry::READINGS_DUPLICATE, "tenant" => label.clone())
        .increment(duplicate);
    metrics::counter!(telemetry::READINGS_LATE, "tenant" => label.clone()).increment(late);
    metrics::counter!(telemetry::READINGS_CORRECTED, "tenant" => label).increment(corrected);
}

/// Counts a room's readings under the labels configured for this process.
pub(crate) fn count_room_readings(
    tenant: &str,
    applied: u64,
    duplicate: u64,
    late: u64,
    corrected: u64,
) {
    let labels = LABELS
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    count_readings(&labels, tenant, applied, duplicate, late, corrected);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(n: usize) -> String {
        format!("tenant-{n:04}")
    }

    #[test]
    fn a_thousand_tenants_make_a_bounded_number_of_series() {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let labels = TenantLabels::new(["vip".to_owned()], 5);
        metrics::with_local_recorder(&recorder, || {
            for n in 0..1000 {
                count_readings(&labels, &tenant(n), 3, 1, 0, 0);
            }
            count_readings(&labels, "vip", 7, 0, 0, 0);
        });
        let text = handle.render();
        let series: Vec<&str> = text
            .lines()
            .filter(|line| line.starts_with(telemetry::READINGS_APPLIED))
            .collect();
        // Five of the top, the listed one, and everyone else together.
        assert_eq!(series.len(), 7, "{text}");
        assert!(
            series.iter().any(|s| s.contains("tenant=\"vip\"} 7")),
            "{text}"
        );
        assert!(
            series.iter().any(|s| s.contains("tenant=\"_other\"} 2985")),
            "995 tenants × 3 readings under _other:\n{text}"
        );
        let total: u64 = series
            .iter()
            .map(|s| s.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
            .sum();
        assert_eq!(total, 3007, "no reading lost to the bound: {text}");
    }

    #[test]
    fn the_busiest_tenants_are_chosen_again_within_the_series_bound() {
        let labels = TenantLabels::new(Vec::new(), 2);
        let start = Instant::now();
        assert_eq!(labels.label_at(&tenant(0), 1, start), tenant(0));
        assert_eq!(labels.label_at(&tenant(1), 1, start), tenant(1));
        assert_eq!(labels.label_at(&tenant(2), 100, start), OTHER_TENANTS);
        assert_eq!(labels.label_at(&tenant(3), 50, start), OTHER_TENANTS);

        // Ten minutes on, tenants 2 and 3 were the busiest.
        let later = start + RECHOOSE_EVERY;
        assert_eq!(labels.label_at(&tenant(2), 1, later), tenant(2));
        assert_eq!(labels.label_at(&tenant(3), 1, later), tenant(3));
        assert_eq!(labels.label_at(&tenant(0), 1, later), OTHER_TENANTS);

        // Four tenants (2 × top) had series: a fifth never gets one, however busy.
        let t = later + RECHOOSE_EVERY;
        labels.label_at(&tenant(4), 1_000_000, later + Duration::from_secs(1));
        assert_eq!(labels.label_at(&tenant(4), 1, t), OTHER_TENANTS);
        assert_eq!(labels.label_at(&tenant(0), 1, t), tenant(0));
    }

    #[test]
    fn no_top_means_only_listed_tenants_are_labelled() {
        let labels = TenantLabels::new(["acme".to_owned()], 0);
        assert_eq!(labels.label("acme", 1), "acme");
        assert_eq!(labels.label("globex", 1), OTHER_TENANTS);
    }
}
