//! `fencing-cost`: what the owner-token check costs a group commit on the ScyllaDB backend, as
//! the rows of one commit written four ways on tally's own tables, in one run:
//!
//! - **plain**: the rows alone (per room one unlogged batch of its readings, then its state);
//! - **read-checked** (tally's write): one `LOCAL_QUORUM` read of the tenant's `tenant_control`
//!   partition first (owner tokens and erased mark), then the rows;
//! - **LWT-checked**: the check as a lightweight transaction on the office's owner row
//!   (`UPDATE … IF owner_token = ?`, Paxos), then the rows;
//! - **LWT per partition**: every written partition conditioned (each room's readings batch
//!   and its state written as conditional statements), what closing the fencing gap needs.
//!
//! Each variant runs the same commits in turn, round after round; the figures are per-commit
//! latencies and their ratios to the plain write of the same round.

use std::time::Instant;

use anyhow::Context;
use scylla::client::session::Session;
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::prepared::PreparedStatement;
use serde::Serialize;

use crate::stats::{Latency, LatencySummary};

/// How a commit is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FencingVariant {
    /// The rows alone.
    Plain,
    /// A read of the tenant's control partition, then the rows (tally's write).
    ReadChecked,
    /// A lightweight transaction on the office's owner row, then the rows.
    LwtChecked,
    /// Every written partition as a conditional write.
    LwtPerPartition,
}

impl FencingVariant {
    /// Every variant, plain first.
    pub const ALL: [Self; 4] = [
        Self::Plain,
        Self::ReadChecked,
        Self::LwtChecked,
        Self::LwtPerPartition,
    ];
}

/// The shape of one measured commit.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct FencingShape {
    /// Commits per variant per round.
    pub commits: u32,
    /// Rooms per commit.
    pub rooms: u32,
    /// Readings per room per commit.
    pub readings_per_room: u32,
}

/// Tally's tables in `keyspace` (migrated by `ScyllaStore::connect`), with the statements the
/// variants use.
#[derive(Debug)]
pub struct FencingRig {
    session: Session,
    insert_reading: PreparedStatement,
    insert_reading_if_new: PreparedStatement,
    insert_state: PreparedStatement,
    insert_state_if_new: PreparedStatement,
    select_control: PreparedStatement,
    set_token: PreparedStatement,
    cas_token: PreparedStatement,
    /// Gives every commit fresh keys, so conditional inserts always apply.
    next_key: i64,
}

impl FencingRig {
    /// Prepares the statements on `session`, against tally's tables in `keyspace`.
    ///
    /// # Errors
    /// If a statement does not prepare.
    pub async fn prepare(session: Session, keyspace: &str) -> anyhow::Result<Self> {
        let p = |cql: String| {
            let session = &session;
            async move {
                let mut statement = session
                    .prepare(cql.clone())
                    .await
                    .with_context(|| format!("preparing {cql}"))?;
                statement.set_is_idempotent(!cql.contains(" IF "));
                anyhow::Ok(statement)
            }
        };
        let reading = format!(
            "INSERT INTO {keyspace}.readings (tenant, room, day, ts, sensor, seq, count, \
             received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        );
        let state =
            format!("INSERT INTO {keyspace}.room_state (tenant, room, state) VALUES (?, ?, ?)");
        Ok(Self {
            insert_reading: p(reading.clone()).await?,
            insert_reading_if_new: p(format!("{reading} IF NOT EXISTS")).await?,
            insert_state: p(state.clone()).await?,
            insert_state_if_new: p(format!("{state} IF NOT EXISTS")).await?,
            select_control: p(format!(
                "SELECT erased, retention, office, owner_token FROM {keyspace}.tenant_control \
                 WHERE tenant = ?"
            ))
            .await?,
            set_token: p(format!(
                "UPDATE {keyspace}.tenant_control SET owner_token = ? WHERE tenant = ? \
                 AND office = ?"
            ))
            .await?,
            cas_token: p(format!(
                "UPDATE {keyspace}.tenant_control SET owner_token = ? WHERE tenant = ? \
                 AND office = ? IF owner_token = ?"
            ))
            .await?,
            session,
            next_key: 0,
        })
    }

    /// Gives `tenant`'s office `o` owner token 1, as an activation would.
    ///
    /// # Errors
    /// If the write fails.
    pub async fn activate(&self, tenant: &str) -> anyhow::Result<()> {
        self.session
            .execute_unpaged(&self.set_token, (1_i64, tenant, "o"))
            .await?;
        Ok(())
    }

    /// Writes `shape.commits` commits of `tenant` as `variant`: their latencies, in ms.
    ///
    /// # Errors
    /// If a write fails or a conditional one does not apply.
    pub async fn commits(
        &mut self,
        variant: FencingVariant,
        tenant: &str,
        shape: FencingShape,
    ) -> anyhow::Result<LatencySummary> {
        let mut latency = Latency::new();
        for _ in 0..shape.commits {
            self.next_key += 1;
            let started = Instant::now();
            self.commit(variant, tenant, shape).await?;
            latency.record(i64::try_from(started.elapsed().as_micros()).unwrap_or(i64::MAX));
        }
        Ok(latency.summary(1000.0))
    }

    /// One commit: the check of `variant`, then every room's readings and state.
    async fn commit(
        &self,
        variant: FencingVariant,
        tenant: &str,
        shape: FencingShape,
    ) -> anyhow::Result<()> {
        match variant {
            FencingVariant::Plain | FencingVariant::LwtPerPartition => {}
            FencingVariant::ReadChecked => {
                self.session
                    .execute_unpaged(&self.select_control, (tenant,))
                    .await?;
            }
            FencingVariant::LwtChecked => {
                let result = self
                    .session
                    .execute_unpaged(&self.cas_token, (1_i64, tenant, "o", 1_i64))
                    .await?;
                anyhow::ensure!(applied(result)?, "the owner token was not 1");
            }
        }
        let conditional = variant == FencingVariant::LwtPerPartition;
        let rooms = (0..shape.rooms).map(|room| self.room(tenant, room, shape, conditional));
        futures::future::try_join_all(rooms).await?;
        Ok(())
    }

    /// One room's readings (one batch, one partition), then its state.
    async fn room(
        &self,
        tenant: &str,
        room: u32,
        shape: FencingShape,
        conditional: bool,
    ) -> anyhow::Result<()> {
        let room = format!("r{room}");
        let (reading, state) = if conditional {
            (&self.insert_reading_if_new, &self.insert_state_if_new)
        } else {
            (&self.insert_reading, &self.insert_state)
        };
        let mut batch = Batch::new(BatchType::Unlogged);
        let mut values = Vec::new();
        for seq in 0..i64::from(shape.readings_per_room) {
            batch.append_statement(reading.clone());
            let ts = self.next_key * 1_000 + seq;
            values.push((tenant, room.as_str(), 0_i64, ts, "s1", seq, 1_i32, ts));
        }
        let result = self.session.batch(&batch, values).await?;
        if conditional {
            anyhow::ensure!(
                applied(result)?,
                "a conditional readings batch did not apply"
            );
        }
        let state_room = format!("{room}-{}", self.next_key);
        let key = if conditional { &state_room } else { &room };
        let result = self
            .session
            .execute_unpaged(state, (tenant, key.as_str(), vec![0_u8; 64]))
            .await?;
        if conditional {
            anyhow::ensure!(applied(result)?, "a conditional state write did not apply");
        }
        Ok(())
    }
}

/// Whether a lightweight transaction applied (its first column, `[applied]`).
fn applied(result: scylla::response::query_result::QueryResult) -> anyhow::Result<bool> {
    let rows = result.into_rows_result()?;
    let (applied,) = rows
        .rows::<(bool,)>()?
        .next()
        .context("an LWT answered no row")??;
    Ok(applied)
}
