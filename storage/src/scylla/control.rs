//! A tenant's `tenant_control` partition: its offices' owner tokens (fencing), its retention
//! override and its erased mark; and the outcome of lightweight transactions.

use std::collections::HashMap;

use scylla::response::query_result::QueryRowsResult;
use scylla::value::{CqlValue, Row};
use tally_protocol::{OfficeId, TenantId};

use super::ScyllaStore;
use super::errors::{corrupt, shape};
use crate::embedded::codec::{decode, encode};
use crate::{RetentionPolicy, StoreError};

/// Longest run of lost compare-and-set races `acquire_office` sits through.
const MAX_ACQUIRE_ATTEMPTS: usize = 64;

/// What an LWT answered.
#[derive(Debug)]
pub(super) struct LwtOutcome {
    /// Whether it applied.
    pub(super) applied: bool,
    /// When it did not: the columns of the row it found, by name.
    found: HashMap<String, CqlValue>,
}

impl LwtOutcome {
    /// Reads the `[applied]` row of an LWT's result.
    pub(super) fn from_result(result: &QueryRowsResult) -> Result<Self, StoreError> {
        let names: Vec<String> = result
            .column_specs()
            .iter()
            .map(|spec| spec.name().to_owned())
            .collect();
        let row = result
            .first_row::<Row>()
            .map_err(|e| shape(format!("LWT without a result row: {e}")))?;
        let mut applied = None;
        let mut found = HashMap::new();
        for (name, value) in names.into_iter().zip(row.columns) {
            match (name.as_str(), value) {
                ("[applied]", Some(CqlValue::Boolean(b))) => applied = Some(b),
                (_, Some(value)) => {
                    found.insert(name, value);
                }
                (_, None) => {}
            }
        }
        Ok(Self {
            applied: applied.ok_or_else(|| shape("LWT result without [applied]"))?,
            found,
        })
    }

    /// A column of the row found, if not null.
    pub(super) fn found(&self, column: &str) -> Option<&CqlValue> {
        self.found.get(column)
    }
}

/// What a write needs to know of a tenant before writing.
#[derive(Debug, Default)]
pub(super) struct TenantControl {
    /// Erased (or being erased).
    pub(super) erased: bool,
    /// Its own retention policy.
    pub(super) retention: Option<RetentionPolicy>,
    /// Owner token per office that has one.
    pub(super) tokens: HashMap<String, u64>,
}

impl TenantControl {
    /// Fails with `Fenced` if the tenant's control holds a higher owner token for `office`
    /// than `token` (an office without one holds 0).
    pub(super) fn ensure_owner(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
        token: u64,
    ) -> Result<(), StoreError> {
        let current = self.tokens.get(office.as_str()).copied().unwrap_or(0);
        if current > token {
            return Err(StoreError::Fenced {
                tenant: tenant.clone(),
                office: office.clone(),
                token,
                current,
            });
        }
        Ok(())
    }
}

/// A `tenant_control` row: erased, retention, office, owner token.
type ControlRow = (Option<bool>, Option<Vec<u8>>, Option<String>, Option<i64>);

/// A token as stored (tokens never reach `i64::MAX`: one per activation).
fn stored_token(token: i64) -> Result<u64, StoreError> {
    u64::try_from(token).map_err(|_| corrupt(format!("negative owner token {token}")))
}

impl ScyllaStore {
    /// The control partition of `tenant` (one read; static columns come with every row).
    pub(super) async fn control(&self, tenant: &TenantId) -> Result<TenantControl, StoreError> {
        let rows: Vec<ControlRow> = self
            .rows(&self.statements.select_control, (tenant.as_str(),))
            .await?;
        let mut control = TenantControl::default();
        for (erased, retention, office, token) in rows {
            control.erased |= erased == Some(true);
            if let Some(bytes) = retention {
                control.retention = Some(decode("retention policy", &bytes)?);
            }
            if let (Some(office), Some(token)) = (office, token) {
                control.tokens.insert(office, stored_token(token)?);
            }
        }
        Ok(control)
    }

    /// `Erased` if the tenant is.
    pub(super) async fn ensure_not_erased(&self, tenant: &TenantId) -> Result<(), StoreError> {
        if self.control(tenant).await?.erased {
            return Err(StoreError::Erased(tenant.clone()));
        }
        Ok(())
    }

    /// The retention that sets the TTLs of the tenant's rows.
    pub(super) fn ttl_policy(&self, control: &TenantControl) -> RetentionPolicy {
        control.retention.unwrap_or(self.config.default_retention)
    }

    /// See [`crate::Store::acquire_office`]: compare-and-set of the token, retried on lost
    /// races, conditioned on the tenant not being erased.
    pub(super) async fn acquire_office(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<u64, StoreError> {
        let mut expected: Option<i64> = self
            .control(tenant)
            .await?
            .tokens
            .get(office.as_str())
            .map(|&t| i64::try_from(t).unwrap_or(i64::MAX));
        for _ in 0..MAX_ACQUIRE_ATTEMPTS {
            let next = expected.unwrap_or(0) + 1;
            let outcome = self
                .lwt(
                    &self.statements.acquire_office,
                    (next, tenant.as_str(), office.as_str(), expected),
                )
                .await?;
            if outcome.applied {
                return stored_token(next);
            }
            if matches!(outcome.found("erased"), Some(CqlValue::Boolean(true))) {
                return Err(StoreError::Erased(tenant.clone()));
            }
            expected = match outcome.found("owner_token") {
                Some(CqlValue::BigInt(token)) => Some(*token),
                None => None,
                Some(other) => return Err(shape(format!("owner_token {other:?}"))),
            };
        }
        Err(StoreError::Unavailable(format!(
            "office {tenant}/{office}: {MAX_ACQUIRE_ATTEMPTS} concurrent acquisitions in a row"
        )))
    }

    /// See [`crate::Store::set_retention`].
    pub(super) async fn set_retention(
        &self,
        tenant: &TenantId,
        policy: Option<&RetentionPolicy>,
    ) -> Result<(), StoreError> {
        self.ensure_not_erased(tenant).await?;
        if self.tenant(tenant).await?.is_none() {
            return Err(StoreError::NotFound {
                kind: "tenant",
                id: tenant.to_string(),
            });
        }
        let encoded = policy.map(encode).transpose()?;
        self.execute(&self.statements.set_retention, (encoded, tenant.as_str()))
            .await
    }

    /// See [`crate::Store::retention`].
    pub(super) async fn retention(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<RetentionPolicy>, StoreError> {
        let control = self.control(tenant).await?;
        Ok(if control.erased {
            None
        } else {
            control.retention
        })
    }
}
