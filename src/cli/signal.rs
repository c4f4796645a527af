//! `gilmour signal TOPIC [DATA]`: publish a signal, print its sender id.

use super::{Connection, EXIT_UNAVAILABLE, data};
use clap::Args;
use gilmour::engine::EngineError;
use std::process::ExitCode;

/// Arguments of `gilmour signal`.
#[derive(Debug, Args)]
pub struct SignalArgs {
    /// The topic to signal.
    topic: String,
    /// The signal data: JSON, or a bare word taken as a string; `-` reads stdin.
    data: Option<String>,
}

/// Runs `gilmour signal`.
pub async fn run(connection: &Connection, args: SignalArgs) -> anyhow::Result<ExitCode> {
    let data = data::parse(args.data.as_deref())?;
    let engine = connection.builder().connect().await?;
    let result = engine.signal(&args.topic, data).await;
    let _ = engine.shutdown().await;
    match result {
        Ok(sender) => {
            println!("{sender}");
            Ok(ExitCode::SUCCESS)
        }
        Err(error @ EngineError::NoReceivers { .. }) => {
            eprintln!("gilmour: {error}");
            Ok(ExitCode::from(EXIT_UNAVAILABLE))
        }
        Err(error) => Err(error.into()),
    }
}
