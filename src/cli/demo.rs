//! `gilmour demo [--no-tui] [--rate N]`: the talk's services and generated traffic, on
//! the Redis given, else one already running, else a private redis-server, else the
//! built-in broker.

use super::tui::{self, TuiArgs};
use super::{Connection, interrupted};
use anyhow::Context;
use clap::Args;
use gilmour::demo::{DEFAULT_RATE, Demo, DemoOptions, find_redis};
use std::io::IsTerminal;
use std::process::ExitCode;

/// Arguments of `gilmour demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Only run the services and the traffic; print the URL to point another gilmour at.
    #[arg(long)]
    no_tui: bool,
    /// Open the app with deep capture on (MONITOR: who answered, the lock races).
    #[arg(long)]
    deep: bool,
    /// Generated actions (requests, signals, compositions) per second; 0 generates none.
    #[arg(long, default_value_t = DEFAULT_RATE)]
    rate: f64,
}

impl DemoArgs {
    /// Whether the demo opens the terminal app (when on a terminal).
    pub fn opens_app(&self) -> bool {
        !self.no_tui
    }
}

/// Runs the demo until interrupted.
pub async fn run(connection: &Connection, args: DemoArgs) -> anyhow::Result<ExitCode> {
    if !(args.rate.is_finite() && args.rate >= 0.0) {
        anyhow::bail!("--rate must be a number of actions per second, 0 or more");
    }
    let source = find_redis(connection.given_url.as_deref())
        .await
        .context("cannot find or start a Redis for the demo")?;
    let options = DemoOptions {
        prefix: connection.prefix.clone(),
        rate: args.rate,
    };
    let demo = Demo::start(&source.url(), options)
        .await
        .with_context(|| format!("cannot start the demo services on {source}"))?;
    let on_a_terminal = std::io::stdout().is_terminal();
    if !args.no_tui && !on_a_terminal {
        eprintln!("gilmour: not on a terminal, so running as --no-tui");
    }
    if !args.no_tui && on_a_terminal {
        let label = source.to_string();
        let outcome = tui::run_on(
            connection,
            &source.url(),
            label,
            TuiArgs::default().with_deep(args.deep),
        )
        .await;
        demo.shutdown().await;
        tokio::task::spawn_blocking(move || drop(source)).await?;
        return outcome;
    }
    let stop = interrupted();
    println!("{}", source.url());
    eprintln!(
        "gilmour: demo services and traffic ({} actions/s) on {source} (Ctrl-C to stop); \
         watch them with: gilmour --redis {} tail",
        args.rate,
        source.url()
    );
    stop.await;
    demo.shutdown().await;
    // Dropping the source stops a private redis-server or the broker (both block
    // briefly while they stop).
    tokio::task::spawn_blocking(move || drop(source)).await?;
    Ok(ExitCode::SUCCESS)
}
