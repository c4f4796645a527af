//! `gilmour broker [--port N]`: the built-in broker alone, for machines without Redis.

use super::interrupted;
use anyhow::Context;
use clap::Args;
use gilmour::broker::Broker;
use std::process::ExitCode;

/// Arguments of `gilmour broker`.
#[derive(Debug, Args)]
pub struct BrokerArgs {
    /// The loopback port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 6379)]
    port: u16,
}

/// Runs the broker until interrupted; its URL goes to stdout.
pub async fn run(args: BrokerArgs) -> anyhow::Result<ExitCode> {
    let broker = Broker::start(("127.0.0.1", args.port))
        .with_context(|| format!("cannot listen on 127.0.0.1:{}", args.port))?;
    let stop = interrupted();
    println!("{}", broker.url());
    eprintln!(
        "gilmour: broker listening on {} (Ctrl-C to stop); point gilmour at it with \
         --redis {} or REDIS_URL",
        broker.addr(),
        broker.url()
    );
    stop.await;
    // Stopping joins the broker's thread: do it off the async threads.
    tokio::task::spawn_blocking(move || broker.stop()).await?;
    Ok(ExitCode::SUCCESS)
}
