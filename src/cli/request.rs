//! `gilmour request TOPIC [DATA]`: one request, its reply on stdout.

use super::{Connection, EXIT_FAILED, EXIT_UNAVAILABLE, data};
use clap::Args;
use gilmour::engine::{EngineError, RequestOptions, Response};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Arguments of `gilmour request`.
#[derive(Debug, Args)]
pub struct RequestArgs {
    /// The topic to call.
    topic: String,
    /// The request data: JSON, or a bare word taken as a string; `-` reads stdin.
    data: Option<String>,
    /// Seconds the whole request may take, connecting to Redis included; a reply that
    /// has not come by then is a 499.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
    /// Print the whole reply message, not only its data.
    #[arg(long)]
    full: bool,
}

/// How long the connections get to close after the answer is known: the reply is
/// printed first, and a frozen Redis must not hold the exit.
const CLOSE_GRACE: Duration = Duration::from_millis(250);

/// Runs `gilmour request`. Connecting, asking who listens, publishing and waiting all
/// draw on the one `--timeout`.
pub async fn run(connection: &Connection, args: RequestArgs) -> anyhow::Result<ExitCode> {
    let data = data::parse(args.data.as_deref())?;
    let timeout = Duration::try_from_secs_f64(args.timeout)
        .map_err(|_| anyhow::anyhow!("--timeout must be a positive number of seconds"))?;
    let deadline = Instant::now() + timeout;
    let engine = connection
        .builder()
        .redis(|redis| redis.connect_timeout = redis.connect_timeout.min(timeout))
        .connect()
        .await?;
    let remaining = deadline.saturating_duration_since(Instant::now());
    let result = engine
        .request(&args.topic, data, RequestOptions::timeout(remaining))
        .await;
    let exit = answer(&args, result);
    // Nothing is being served: the shutdown only closes the connections (and sends the
    // 499 notice of a timeout, when Redis takes it).
    let _ = tokio::time::timeout(CLOSE_GRACE, engine.shutdown()).await;
    exit
}

/// Prints the outcome; returns the exit code.
fn answer(args: &RequestArgs, result: Result<Response, EngineError>) -> anyhow::Result<ExitCode> {
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
