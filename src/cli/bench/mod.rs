//! `gilmour bench`: measurements, never assertions. Without a subcommand it measures
//! request/reply and signals; `gilmour bench ingest` measures the inspector and
//! `gilmour bench render` the terminal app.

mod ingest;
mod render;
mod round_trips;

use super::Connection;
use clap::{Args, Subcommand};
use std::process::ExitCode;

/// Arguments of `gilmour bench`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    #[command(subcommand)]
    what: Option<Bench>,
    #[command(flatten)]
    round_trips: round_trips::RoundTripArgs,
}

#[derive(Debug, Subcommand)]
enum Bench {
    /// Capture and correlation throughput, memory per stored trace, filter speed.
    Ingest(ingest::IngestArgs),
    /// Frame times of the terminal app with a full store while traffic arrives (no
    /// Redis needed; build with --release for figures that mean something).
    Render(render::RenderArgs),
}

/// Runs `gilmour bench`.
pub async fn run(connection: &Connection, args: BenchArgs) -> anyhow::Result<ExitCode> {
    match args.what {
        Some(Bench::Ingest(ingest)) => ingest::run(connection, ingest).await,
        Some(Bench::Render(render)) => render::run(&render),
        None => round_trips::run(connection, args.round_trips).await,
    }
}
