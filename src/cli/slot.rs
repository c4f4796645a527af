//! `gilmour slot TOPIC`: print every signal as one JSON line.

use super::{Connection, Serving, interrupted};
use clap::Args;
use gilmour::engine::{HandlerOptions, Request};
use serde_json::json;
use std::io::Write;
use std::process::ExitCode;

/// Arguments of `gilmour slot`.
#[derive(Debug, Args)]
pub struct SlotArgs {
    /// The topic (may contain `*`).
    topic: String,
    /// An exclusive group: one slot of the group, across processes, gets each signal.
    #[arg(long)]
    group: Option<String>,
    #[command(flatten)]
    serving: Serving,
}

/// Runs `gilmour slot` until interrupted.
pub async fn run(connection: &Connection, args: SlotArgs) -> anyhow::Result<ExitCode> {
    let engine = args.serving.apply(connection.builder()).connect().await?;
    let options = HandlerOptions {
        group: args.group,
        ..HandlerOptions::default()
    };
    engine
        .slot(&args.topic, options, |request: Request| async move {
            let line = json!({
                "topic": request.topic(),
                "sender": request.sender(),
                "data": request.data(),
            });
            let mut stdout = std::io::stdout().lock();
            // A closed stdout (e.g. `| head`) is the reader's choice, not an error here.
            let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
        })
        .await?;
    let stop = interrupted();
    eprintln!(
        "gilmour: listening for signals on {} at {} (Ctrl-C to stop)",
        args.topic,
        engine.redis().display_url()
    );
    stop.await;
    engine.shutdown().await?;
    Ok(ExitCode::SUCCESS)
}
