//! `fencing-cost`: the per-commit cost of the owner-token check on the ScyllaDB backend (tally's
//! read-checked write, an LWT-checked one, every partition conditioned) against the plain write
//! of the same rows, on a Cassandra 5.0 node started like the tests start theirs. See
//! `benches/README.md` and `tally_benches::fencing_cost`.

use anyhow::Context;
use clap::Parser;
use scylla::client::session_builder::SessionBuilder;
use tally_benches::{FencingRig, FencingShape, FencingVariant};
use tally_storage::ScyllaStore;
use tally_storage::testkit::CassandraNode;

/// Times each variant's commits in turn, round after round.
#[derive(Debug, Parser)]
struct Args {
    /// Commits per variant per round.
    #[arg(long, default_value_t = 200)]
    commits: u32,
    /// Rooms per commit.
    #[arg(long, default_value_t = 10)]
    rooms: u32,
    /// Readings per room per commit.
    #[arg(long, default_value_t = 4)]
    readings_per_room: u32,
    /// Rounds of every variant, to see the spread.
    #[arg(long, default_value_t = 3)]
    rounds: u32,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let shape = FencingShape {
        commits: args.commits,
        rooms: args.rooms,
        readings_per_room: args.readings_per_room,
    };
    let node = CassandraNode::start()
        .await
        .map_err(anyhow::Error::msg)
        .context("starting a Cassandra node (storage/scripts/fetch-cassandra.sh fetches it)")?;
    let config = node.config(&node.fresh_keyspace());
    // Creates tally's schema in the keyspace, and the session settings tally uses.
    drop(ScyllaStore::connect(&config).await?);
    let session = SessionBuilder::new()
        .known_node(node.contact_point())
        .build()
        .await?;
    let mut rig = FencingRig::prepare(session, &config.keyspace).await?;
    println!("shape: {}", serde_json::to_string(&shape)?);
    for round in 0..args.rounds {
        let tenant = format!("bench-{round}");
        rig.activate(&tenant).await?;
        let mut medians = Vec::new();
        for variant in FencingVariant::ALL {
            medians.push((variant, rig.commits(variant, &tenant, shape).await?));
        }
        let plain = medians[0].1.p50;
        let line: Vec<String> = medians
            .iter()
            .map(|(variant, figures)| {
                format!(
                    "{} p50 {:.2} ms p99 {:.2} ms ({:.2}x plain)",
                    serde_json::to_string(variant).unwrap_or_default(),
                    figures.p50,
                    figures.p99,
                    figures.p50 / plain
                )
            })
            .collect();
        println!("round {round}: {}", line.join(", "));
    }
    Ok(())
}
