//! `pg-readings-insert`: how the PostgreSQL backend should insert a group commit's raw readings,
//! measured in one run against a throwaway PostgreSQL (started like the tests start theirs):
//!
//! - **unnest** (what `PostgresStore::write_batch` does): one `INSERT … SELECT FROM
//!   unnest($arrays) ON CONFLICT DO NOTHING` per transaction;
//! - **COPY**: `COPY … FROM STDIN (FORMAT binary)` into a temporary staging table (`ON COMMIT
//!   DELETE ROWS`), then `INSERT … SELECT FROM staging ON CONFLICT DO NOTHING`.
//!
//! Both run as the runtime role through row-level security, one transaction per group commit,
//! `synchronous_commit = on`, alternating in rounds; figures are readings/s and COPY / unnest.
//! See `benches/README.md`.

use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use futures::pin_mut;
use tally_storage::PostgresStore;
use tally_storage::testkit::{APP_ROLE, PostgresServer};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

/// Times both ways of inserting readings in alternating rounds.
#[derive(Debug, Parser)]
struct Args {
    /// Transactions (group commits) per method per round.
    #[arg(long, default_value_t = 300)]
    commits: u32,
    /// Readings per transaction (the store-commit bench's 50 rooms x 4).
    #[arg(long, default_value_t = 200)]
    rows: u32,
    /// Rounds of unnest then COPY.
    #[arg(long, default_value_t = 3)]
    rounds: u32,
}

const UNNEST: &str = "INSERT INTO readings \
     (tenant_id, room_id, ts, sensor_id, seq, count, received_at) \
     SELECT $1::text, * FROM unnest($2::text[], $3::int8[], $4::text[], $5::int8[], $6::int8[], $7::int8[]) \
     ON CONFLICT DO NOTHING";
const STAGING: &str = "CREATE TEMPORARY TABLE staging_readings \
     (room_id text, ts int8, sensor_id text, seq int8, count int8, received_at int8) \
     ON COMMIT DELETE ROWS";
const COPY_IN: &str = "COPY staging_readings (room_id, ts, sensor_id, seq, count, received_at) \
     FROM STDIN (FORMAT binary)";
const FROM_STAGING: &str = "INSERT INTO readings \
     (tenant_id, room_id, ts, sensor_id, seq, count, received_at) \
     SELECT $1::text, * FROM staging_readings ON CONFLICT DO NOTHING";

/// The readings of one transaction, as columns.
struct Rows {
    room: Vec<String>,
    ts: Vec<i64>,
    sensor: Vec<String>,
    seq: Vec<i64>,
    count: Vec<i64>,
    received_at: Vec<i64>,
}

impl Rows {
    /// `rows` new readings (distinct keys: `first_seq` onwards) over 50 rooms, stamped today.
    fn new(rows: u32, first_seq: i64, now: i64) -> Self {
        let mut r = Rows {
            room: Vec::new(),
            ts: Vec::new(),
            sensor: Vec::new(),
            seq: Vec::new(),
            count: Vec::new(),
            received_at: Vec::new(),
        };
        for i in 0..i64::from(rows) {
            r.room.push(format!("room-{}", i % 50));
            r.ts.push(now + i);
            r.sensor.push(format!("sensor-{}", i % 50));
            r.seq.push(first_seq + i);
            r.count.push(i % 37);
            r.received_at.push(now);
        }
        r
    }
}

/// Opens a transaction set to `tenant`, as the store does.
async fn begin<'a>(
    client: &'a mut tokio_postgres::Client,
    tenant: &str,
) -> anyhow::Result<tokio_postgres::Transaction<'a>> {
    let tx = client.transaction().await?;
    tx.execute("SELECT set_config('app.tenant', $1, true)", &[&tenant])
        .await?;
    Ok(tx)
}

async fn insert_unnest(
    client: &mut tokio_postgres::Client,
    tenant: &str,
    rows: &Rows,
) -> anyhow::Result<u64> {
    let tx = begin(client, tenant).await?;
    let params: [&(dyn ToSql + Sync); 7] = [
        &tenant,
        &rows.room,
        &rows.ts,
        &rows.sensor,
        &rows.seq,
        &rows.count,
        &rows.received_at,
    ];
    let inserted = tx.execute(UNNEST, &params).await?;
    tx.commit().await?;
    Ok(inserted)
}

async fn insert_copy(
    client: &mut tokio_postgres::Client,
    tenant: &str,
    rows: &Rows,
) -> anyhow::Result<u64> {
    let tx = begin(client, tenant).await?;
    let sink = tx.copy_in(COPY_IN).await?;
    let types = [
        Type::TEXT,
        Type::INT8,
        Type::TEXT,
        Type::INT8,
        Type::INT8,
        Type::INT8,
    ];
    let writer = BinaryCopyInWriter::new(sink, &types);
    pin_mut!(writer);
    for i in 0..rows.seq.len() {
        writer
            .as_mut()
            .write(&[
                &rows.room[i],
                &rows.ts[i],
                &rows.sensor[i],
                &rows.seq[i],
                &rows.count[i],
                &rows.received_at[i],
            ])
            .await?;
    }
    writer.finish().await?;
    let inserted = tx.execute(FROM_STAGING, &[&tenant]).await?;
    tx.commit().await?;
    Ok(inserted)
}

/// Readings per second of `commits` transactions of one method.
async fn measure(
    client: &mut tokio_postgres::Client,
    copy: bool,
    tenant: &str,
    args: &Args,
    next_seq: &mut i64,
) -> anyhow::Result<f64> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    let batches: Vec<Rows> = (0..args.commits)
        .map(|n| Rows::new(args.rows, *next_seq + i64::from(n * args.rows), now))
        .collect();
    *next_seq += i64::from(args.commits * args.rows);
    let started = Instant::now();
    for rows in &batches {
        let inserted = if copy {
            insert_copy(client, tenant, rows).await?
        } else {
            insert_unnest(client, tenant, rows).await?
        };
        anyhow::ensure!(inserted == u64::from(args.rows), "{inserted} rows inserted");
    }
    Ok(f64::from(args.commits * args.rows) / started.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let server = PostgresServer::start()
        .await
        .map_err(anyhow::Error::msg)
        .context(
            "starting a throwaway PostgreSQL (storage/scripts/install-postgres.sh installs it)",
        )?;
    let database = server.create_database().await;
    // Migrates the schema and creates today's partition.
    drop(PostgresStore::connect(&database.config()).await?);
    let mut client = database.client(APP_ROLE).await;
    client
        .batch_execute("SET search_path = tally; SET synchronous_commit = on")
        .await?;
    client.batch_execute(STAGING).await?;
    println!(
        "shape: {} transactions of {} readings per method per round",
        args.commits, args.rows
    );
    let mut next_seq = 1;
    for round in 0..args.rounds {
        let tenant = "bench";
        let unnest = measure(&mut client, false, tenant, &args, &mut next_seq).await?;
        let copy = measure(&mut client, true, tenant, &args, &mut next_seq).await?;
        println!(
            "round {round}: unnest {unnest:.0} readings/s, COPY via staging {copy:.0} readings/s, COPY/unnest {:.2}",
            copy / unnest
        );
    }
    Ok(())
}
