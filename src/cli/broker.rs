//! `gilmour broker [--port N] [--bind ADDR] [--password P]`: the built-in broker alone,
//! for machines without Redis.

use super::interrupted;
use anyhow::{Context, bail};
use clap::Args;
use gilmour::broker::{Broker, BrokerConfig};
use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

/// Arguments of `gilmour broker`.
#[derive(Debug, Args)]
pub struct BrokerArgs {
    /// The port to listen on (0 picks a free one). A port in use is refused, never shared.
    #[arg(long, default_value_t = 6379)]
    port: u16,
    /// The address to listen on: loopback unless you mean to let other machines in.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// A password clients must give (AUTH or HELLO … AUTH), as Redis's `requirepass`.
    #[arg(long, env = "GILMOUR_BROKER_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// Threads serving connections (1: all on one, as Redis).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: u16,
}

/// Runs the broker until interrupted; its URL goes to stdout.
pub async fn run(args: BrokerArgs) -> anyhow::Result<ExitCode> {
    let config = BrokerConfig {
        password: args.password,
        threads: usize::from(args.threads),
        ..BrokerConfig::default()
    };
    let with_password = config.password.is_some();
    // The process is the broker alone: what big payloads took goes back once they are
    // gone (see the README's broker figures).
    crate::return_freed_memory_at_once();
    let broker = match Broker::start_with((args.bind, args.port), config) {
        Ok(broker) => broker,
        Err(error) if error.kind() == ErrorKind::AddrInUse => bail!(
            "cannot listen on {}: the port is in use (by a Redis?); choose another with \
             --port, or --port 0 for a free one",
            SocketAddr::new(args.bind, args.port)
        ),
        Err(error) => {
            let addr = SocketAddr::new(args.bind, args.port);
            return Err(error).with_context(|| format!("cannot listen on {addr}"));
        }
    };
    let stop = interrupted();
    // The URL never carries the password: it is the user's to add.
    println!("{}", broker.url());
    eprintln!(
        "gilmour: broker listening on {}{} (Ctrl-C to stop): a small stand-in for Gilmour, \
         not Redis (only the commands Gilmour uses, nothing kept on disk); point gilmour at \
         it with --redis {} or REDIS_URL",
        broker.addr(),
        if with_password {
            ", password required"
        } else {
            ""
        },
        broker.url()
    );
    stop.await;
    // Stopping joins the broker's thread: do it off the async threads.
    tokio::task::spawn_blocking(move || broker.stop()).await?;
    Ok(ExitCode::SUCCESS)
}
