//! The `tally` binary: `tally run` starts a node, `tally demo` a node with a simulated demo
//! tenant, `tally config` prints its configuration, `tally ctl …` inspects a running cluster.

mod ctl;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tally_config::Settings;

/// tally: live workplace occupancy.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Configuration file (TOML); `TALLY_*` environment variables override it.
    #[arg(long, short, global = true, env = "TALLY_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a node (the default).
    Run,
    /// Run a node in a fresh data directory with a demo tenant and simulated sensors, and print
    /// its wall display URLs.
    Demo,
    /// Print the effective configuration (secrets redacted) and exit.
    Config,
    /// Operate tally: cluster, drain, tenants, quarantines, health, sensors (over a node's
    /// admin API; `cluster status` reads the `[cluster]` settings).
    Ctl(ctl::Ctl),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.as_deref())?;
    match cli.command.unwrap_or(Command::Run) {
        Command::Config => {
            print!("{}", settings.to_toml_redacted());
            Ok(())
        }
        Command::Ctl(ctl) => {
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            runtime.block_on(ctl::run(&settings, ctl))
        }
        Command::Run => {
            // Flushes the spans still to be exported when it drops, after the runtime.
            let _traces = init_tracing(&settings)?;
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            runtime.block_on(run(settings))
        }
        Command::Demo => {
            let _traces = init_tracing(&settings)?;
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            runtime.block_on(demo(settings))
        }
    }
}

async fn demo(settings: Settings) -> anyhow::Result<()> {
    let demo = tally_gateway::demo::start(settings).await?;
    println!(
        "tally demo: tenant \"{}\" on http://{}, simulated sensors posting a working day (one hour every 20 s)",
        tally_gateway::demo::DEMO_TENANT,
        demo.node.addr()
    );
    println!("Open on a screen (the token is in the URL fragment, never sent to the server):");
    for url in &demo.urls {
        println!("  {url}");
    }
    println!("Data: {}", demo.data_dir.display());
    println!("Ctrl-C stops the demo.");
    let sensors = demo.sensors;
    let result = demo.node.run_until(shutdown_signal()).await;
    sensors.abort();
    result
}

fn init_tracing(
    settings: &Settings,
) -> anyhow::Result<Option<tally_gateway::tracing_export::TraceExport>> {
    tally_gateway::logging::init(settings)
}

async fn run(settings: Settings) -> anyhow::Result<()> {
    tracing::info!(node = %settings.node.node_id, region = %settings.node.region, data_dir = %settings.node.data_dir.display(), backend = ?settings.storage.backend, "starting");
    let node = tally_gateway::start(settings).await?;
    node.run_until(shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
