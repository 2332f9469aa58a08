//! The conformance suite: every [`Store`] behaviour, written once over the trait, so every
//! backend (embedded, PostgreSQL, later ScyllaDB) is held to the same contract.
//!
//! Each behaviour is a `pub async fn(&dyn Store)` that uses fresh ids, so behaviours can share
//! one store (even a persistent one). [`conformance_tests!`](crate::conformance_tests) expands
//! to one `#[tokio::test]` per behaviour; [`run_all`] runs them in sequence.
//!
//! # Examples
//!
//! ```no_run
//! use tally_storage::{EmbeddedStore, conformance::Fixture};
//!
//! tally_storage::conformance_tests!(|| async {
//!     let dir = tempfile::tempdir().unwrap();
//!     Fixture::with_guard(EmbeddedStore::open(dir.path()).unwrap(), dir)
//! });
//! ```

mod area_rollups;
mod audit;
mod data;
mod erasure;
mod fencing;
mod interrupted;
mod office_calendar;
mod office_rollup_upkeep;
mod paging;
mod redelivery;
mod registry;
mod retention;
mod sensor_keys;
pub mod support;
mod token_revocation;

use std::{any::Any, fmt};

pub use area_rollups::{
    office_rollups_round_trip, tenant_area_rollups_retention, tenant_area_rollups_round_trip,
};
pub use audit::{audit_append_and_page, audit_scopes_isolated};
pub use data::{
    batch_round_trip, empty_batch, later_batch_replaces, many_rooms_batch, negative_timestamps,
    readings_range, room_isolation,
};
pub use erasure::{erasure_is_idempotent, erasure_removes_everything};
pub use fencing::{
    acquire_strictly_increasing, fenced_write_rejected_with_its_batch, token_zero_on_fresh_office,
};
pub use interrupted::interrupted_batch_restamped_resend;
pub use office_calendar::office_calendars;
pub use office_rollup_upkeep::{
    office_rollups_day_steps, office_rollups_pages_and_replaces,
    office_rollups_retention_and_erasure,
};
pub use paging::{readings_paging, rollups_in_ranges, rollups_paging};
pub use redelivery::batch_landing_twice_stored_once;
pub use registry::{
    concurrent_creates, duplicate_key_hash, duplicate_office, duplicate_room, duplicate_sensor,
    duplicate_tenant, missing_parent, registry_round_trip, sensor_by_key_hash, tenant_isolation,
};
pub use retention::{retention_deletes_old_rows, retention_overrides};
pub use sensor_keys::{
    sensor_deletion, sensor_key_revocation, sensor_key_rotation, sensor_keys_isolation,
};
pub use token_revocation::token_revocations;

use crate::{SharedStore, Store};

/// Expands to one `#[tokio::test]` per conformance behaviour.
///
/// The argument is a closure returning a future of a store, or of a [`Fixture`] that also keeps
/// what the store needs alive (a temporary directory). The calling crate needs `tokio` with the
/// `macros` and `rt` features.
#[macro_export]
macro_rules! conformance_tests {
    // The single list of behaviours, shared by the tests and `run_all`.
    (@each $mode:ident [$($arg:tt)*]) => {
        $crate::conformance_tests! { @$mode [$($arg)*]
            registry_round_trip, duplicate_tenant, duplicate_office, duplicate_room,
            duplicate_sensor, duplicate_key_hash, missing_parent, concurrent_creates,
            tenant_isolation, sensor_by_key_hash, batch_round_trip, later_batch_replaces,
            readings_range, negative_timestamps, room_isolation, many_rooms_batch, empty_batch,
            fenced_write_rejected_with_its_batch, token_zero_on_fresh_office,
            acquire_strictly_increasing, readings_paging, rollups_paging, rollups_in_ranges,
            retention_deletes_old_rows, retention_overrides, erasure_removes_everything,
            erasure_is_idempotent, office_calendars, interrupted_batch_restamped_resend,
            token_revocations, sensor_key_rotation, sensor_key_revocation, sensor_deletion,
            sensor_keys_isolation, audit_append_and_page, audit_scopes_isolated,
            batch_landing_twice_stored_once, office_rollups_round_trip,
            office_rollups_pages_and_replaces, office_rollups_retention_and_erasure,
            office_rollups_day_steps, tenant_area_rollups_round_trip, tenant_area_rollups_retention
        }
    };
    (@tests [$factory:expr] $($name:ident),+) => {
        $(
            #[::tokio::test]
            async fn $name() {
                let fixture: $crate::conformance::Fixture = ($factory)().await.into();
                $crate::conformance::$name(fixture.store()).await;
            }
        )+
    };
    (@names [] $($name:ident),+) => {
        &[$(stringify!($name)),+]
    };
    (@run_all [$store:expr] $($name:ident),+) => {
        $( $crate::conformance::$name($store).await; )+
    };
    ($factory:expr) => {
        $crate::conformance_tests!(@each tests [$factory]);
    };
}

/// The name of every behaviour, in the order [`run_all`] runs them.
pub const BEHAVIOURS: &[&str] = crate::conformance_tests!(@each names []);

/// Runs every behaviour against `store`, in sequence; panics at the first failure.
pub async fn run_all(store: &dyn Store) {
    crate::conformance_tests!(@each run_all [store]);
}

/// A store under test, with whatever must outlive it (dropped after the store).
pub struct Fixture {
    store: SharedStore,
    _guard: Option<Box<dyn Any + Send + Sync>>,
}

impl Fixture {
    /// A fixture of a store that needs nothing else.
    pub fn new(store: impl Store) -> Self {
        Self {
            store: std::sync::Arc::new(store),
            _guard: None,
        }
    }

    /// A fixture that drops `guard` (a temporary directory, a container) after the store.
    pub fn with_guard(store: impl Store, guard: impl Any + Send + Sync) -> Self {
        Self {
            store: std::sync::Arc::new(store),
            _guard: Some(Box::new(guard)),
        }
    }

    /// The store under test.
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }
}

impl<S: Store> From<S> for Fixture {
    fn from(store: S) -> Self {
        Self::new(store)
    }
}

impl fmt::Debug for Fixture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fixture")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::BEHAVIOURS;

    /// Every `pub async fn` of the behaviour files is in the macro's list.
    #[test]
    fn every_behaviour_is_listed() {
        let sources = [
            include_str!("registry.rs"),
            include_str!("data.rs"),
            include_str!("fencing.rs"),
            include_str!("paging.rs"),
            include_str!("retention.rs"),
            include_str!("erasure.rs"),
            include_str!("office_calendar.rs"),
            include_str!("interrupted.rs"),
            include_str!("token_revocation.rs"),
            include_str!("sensor_keys.rs"),
            include_str!("audit.rs"),
            include_str!("redelivery.rs"),
            include_str!("area_rollups.rs"),
            include_str!("office_rollup_upkeep.rs"),
        ];
        let defined: Vec<&str> = sources
            .iter()
            .flat_map(|source| source.lines())
            .filter_map(|line| line.strip_prefix("pub async fn "))
            .map(|rest| rest.split('(').next().unwrap())
            .collect();
        for name in &defined {
            assert!(
                BEHAVIOURS.contains(name),
                "{name} is missing from conformance_tests!"
            );
        }
        assert_eq!(defined.len(), BEHAVIOURS.len());
    }
}
