//! `gilmour compose EXPR [DATA]`: run a composition, its final data on stdout.

use super::{Connection, EXIT_FAILED, EXIT_UNAVAILABLE, data};
use clap::Args;
use gilmour::compose::{ExecuteOptions, Outcome, parse};
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `gilmour compose`.
#[derive(Debug, Args)]
pub struct ComposeArgs {
    /// The composition, e.g. 'fetch | words | [min, max {"unit": "C"}]'; `a && b`,
    /// `a || b`, `a ; b`, `record(a ; b)` and parentheses work too.
    expression: String,
    /// The input data: JSON, or a bare word taken as a string; `-` reads stdin.
    data: Option<String>,
    /// Seconds each step waits for its reply before it counts as failed with 499.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
    /// Also print every step (code, milliseconds, topic) on stderr, in the order they
    /// started.
    #[arg(long)]
    steps: bool,
}

/// Runs `gilmour compose`.
pub async fn run(connection: &Connection, args: ComposeArgs) -> anyhow::Result<ExitCode> {
    // Before connecting: a typo should not wait on Redis.
    let composition = match parse(&args.expression) {
        Ok(composition) => composition,
        Err(error) => {
            eprintln!("gilmour: {error}");
            return Ok(ExitCode::from(EXIT_UNAVAILABLE));
        }
    };
    let data = data::parse(args.data.as_deref())?;
    let timeout = Duration::try_from_secs_f64(args.timeout)
        .map_err(|_| anyhow::anyhow!("--timeout must be a positive number of seconds"))?;
    let engine = connection.builder().connect().await?;
    let outcome = composition
        .execute(&engine, data, ExecuteOptions::step_timeout(timeout))
        .await;
    // Nothing is being served: the shutdown only closes the connections.
    let _ = engine.shutdown().await;
    if args.steps {
        print_steps(&outcome);
    }
    if outcome.is_ok() {
        println!("{}", serde_json::to_string(&outcome.data)?);
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "gilmour: the composition answered {}: {}",
            outcome.code, outcome.data
        );
        Ok(ExitCode::from(EXIT_FAILED))
    }
}

/// One line per step on stderr, in the order the steps started:
/// `  200      1.3 ms  weather.fetch`.
fn print_steps(outcome: &Outcome) {
    let mut steps: Vec<_> = outcome.steps.iter().collect();
    steps.sort_by_key(|step| step.start);
    for step in steps {
        eprintln!(
            "  {}  {:>8.1} ms  {}",
            step.code,
            step.duration.as_secs_f64() * 1000.0,
            step.name
        );
    }
}
