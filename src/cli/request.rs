//! `gilmour request TOPIC [DATA]`: one request, its reply on stdout.

use super::{Connection, EXIT_FAILED, EXIT_UNAVAILABLE, data};
use clap::Args;
use gilmour::engine::{EngineError, RequestOptions};
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `gilmour request`.
#[derive(Debug, Args)]
pub struct RequestArgs {
    /// The topic to call.
    topic: String,
    /// The request data: JSON, or a bare word taken as a string; `-` reads stdin.
    data: Option<String>,
    /// Seconds to wait for the reply before giving up with 499.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
    /// Print the whole reply message, not only its data.
    #[arg(long)]
    full: bool,
}

/// Runs `gilmour request`.
pub async fn run(connection: &Connection, args: RequestArgs) -> anyhow::Result<ExitCode> {
    let data = data::parse(args.data.as_deref())?;
    let timeout = Duration::try_from_secs_f64(args.timeout)
        .map_err(|_| anyhow::anyhow!("--timeout must be a positive number of seconds"))?;
    let engine = connection.builder().connect().await?;
    let result = engine
        .request(&args.topic, data, RequestOptions::timeout(timeout))
        .await;
    // Nothing is being served: the shutdown only closes the connections.
    let _ = engine.shutdown().await;
    let response = match result {
        Ok(response) => response,
        Err(error @ EngineError::NoListeners { .. }) => {
            eprintln!("gilmour: {error}");
            return Ok(ExitCode::from(EXIT_UNAVAILABLE));
        }
        Err(error) => return Err(error.into()),
    };
    let shown = if args.full {
        serde_json::to_string(&response.reply)?
    } else {
        serde_json::to_string(response.data())?
    };
    if response.is_ok() {
        println!("{shown}");
        Ok(ExitCode::SUCCESS)
    } else {
        if args.full {
            println!("{shown}");
        }
        eprintln!(
            "gilmour: {} answered {}: {}",
            args.topic,
            response.code(),
            response.data()
        );
        Ok(ExitCode::from(EXIT_FAILED))
    }
}
