//! The command line: one module per subcommand, each a thin face over the library.
//!
//! Exit codes are the same everywhere (see [`EXIT_CODES`]): 0 success, 1 the call was
//! answered with a failure code, 2 nobody listens or nobody received it (or the command
//! line cannot be used), 3 Redis cannot be reached or refused us, or was lost meanwhile.

mod bench;
mod broker;
mod compose;
mod data;
mod demo;
mod errors;
mod exporter;
mod health;
mod record;
mod reply;
mod request;
mod signal;
mod slot;
mod store;
mod tail;
mod topics;
mod tui;

use clap::{Args, Parser, Subcommand};
use gilmour::engine::{Engine, EngineBuilder, EngineError, ErrorPolicy, in_context};
use gilmour::protocol::{CallContext, Sender};
use gilmour::transport::TransportError;
use std::process::ExitCode;

/// Exit code for a call answered with a failure code (not 200).
pub const EXIT_FAILED: u8 = 1;
/// Exit code for a call nobody listens to or nobody received, and for a command line
/// that cannot be used (as clap does for usage errors).
pub const EXIT_UNAVAILABLE: u8 = 2;
/// Exit code when Redis cannot be reached or refuses us (authentication, ACL), or the
/// link to it is lost while waiting.
pub const EXIT_REDIS: u8 = 3;

/// The exit codes, as `--help` shows them.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  answered with a code other than 200 (a timeout is 499)
  2  nobody listens on the topic, or nobody received the signal; or a bad command line
  3  cannot reach or authenticate to Redis, or lost it while waiting";

/// Gilmour microservices over Redis: call, serve and watch them. With no command, opens
/// the terminal app.
#[derive(Debug, Parser)]
#[command(name = "gilmour", version, about, long_about = None, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    pub connection: Connection,
    /// Log more (repeat for even more); logs go to stderr.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(flatten)]
    tui: tui::TuiArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

/// The Redis URL when none is given.
pub const DEFAULT_URL: &str = "redis://127.0.0.1:6379";

/// Where Redis is and how channels are named.
#[derive(Debug, Clone, Args)]
pub struct Connection {
    /// Redis URL: redis://[user][:password]@host:port/db, rediss:// for TLS;
    /// redis+cluster://[user:pass@]h1:p1[,h2:p2…] for Redis Cluster;
    /// redis+sentinel://[user:pass@]h1:p1[,h2:p2…]/<primary> through Sentinel
    /// [default: redis://127.0.0.1:6379; `demo` looks further].
    #[arg(long = "redis", env = "REDIS_URL", global = true)]
    pub given_url: Option<String>,
    /// Channel prefix.
    #[arg(long, env = "GILMOUR_PREFIX", default_value = "gilmour", global = true)]
    pub prefix: String,
    /// Send messages with the usual three fields only: no "parent" or "composition"
    /// for inspectors to build call trees from.
    #[arg(long, global = true)]
    pub no_call_context: bool,
}

/// Options of the commands that serve topics.
#[derive(Debug, Clone, Args)]
pub struct Serving {
    /// What to do with replies of code 300 or more.
    #[arg(long, value_parser = parse_policy, default_value = "ignore")]
    pub error_policy: ErrorPolicy,
    /// Announce a health ident and answer health pings.
    #[arg(long)]
    pub health: bool,
    /// The channel the publish policy uses [default: <prefix>.errors]; on Ruby's
    /// <prefix>.error, records are sent in Ruby's envelope.
    #[arg(long)]
    pub error_channel: Option<String>,
    /// The list the queue policy uses [default: <prefix>.errorqueue].
    #[arg(long)]
    pub error_queue: Option<String>,
    /// Seconds a stop waits for running handlers; callers of those still running then
    /// are answered 503 and their commands killed.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_seconds)]
    pub shutdown_timeout: std::time::Duration,
}

fn parse_seconds(text: &str) -> Result<std::time::Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    std::time::Duration::try_from_secs_f64(seconds)
        .map_err(|_| "must be a positive number of seconds".to_owned())
}

fn parse_policy(text: &str) -> Result<ErrorPolicy, String> {
    text.parse()
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Send a request and print the reply data as JSON.
    #[command(after_help = EXIT_CODES)]
    Request(request::RequestArgs),
    /// Run a composition of requests (`a | b`, `a && b`, `[a, b]`, …) and print its data.
    #[command(after_help = EXIT_CODES)]
    Compose(compose::ComposeArgs),
    /// Publish a signal and print its sender id.
    #[command(after_help = EXIT_CODES)]
    Signal(signal::SignalArgs),
    /// Serve a topic from the shell: echo, or run a command per request.
    Reply(reply::ReplyArgs),
    /// Print every signal on a topic as one JSON line.
    Slot(slot::SlotArgs),
    /// Print each trace as it completes: one line, or one JSON object, per trace.
    Tail(tail::TailArgs),
    /// Write every captured message as a JSON line, for `tail --read` and the TUI.
    Record(record::RecordArgs),
    /// Measure round trips and signals per second against this Redis.
    Bench(bench::BenchArgs),
    /// Run the services from the Gilmour talk with generated traffic, on any Redis there
    /// is (down to the built-in broker).
    Demo(demo::DemoArgs),
    /// Ping every process of the health hash: exit 0 when all answer, 1 when some do not.
    #[command(after_help = health::EXIT_CODES)]
    Health(health::HealthArgs),
    /// The error queue: list, show, re-send, delete, trim.
    #[command(after_help = EXIT_CODES)]
    Errors(errors::ErrorsArgs),
    /// Watch the traffic for a while, then print count, rate, errors and latency per topic.
    Topics(topics::TopicsArgs),
    /// Serve Prometheus metrics (OpenMetrics text on /metrics) from passive capture.
    Exporter(exporter::ExporterArgs),
    /// Run the built-in broker alone: a small Redis stand-in for Gilmour.
    Broker(broker::BrokerArgs),
    /// The terminal app (what `gilmour` alone opens): live traces, topics, errors, services.
    Tui(tui::TuiArgs),
}

impl Connection {
    /// The Redis URL: the one given, or the default.
    pub fn url(&self) -> &str {
        self.given_url.as_deref().unwrap_or(DEFAULT_URL)
    }

    /// An engine builder for this connection.
    pub fn builder(&self) -> EngineBuilder {
        self.builder_at(self.url())
    }

    /// The same engine settings on another URL (a cluster URL seeded at another node).
    pub fn builder_at(&self, url: &str) -> EngineBuilder {
        Engine::builder(url)
            .prefix(&self.prefix)
            .call_context(!self.no_call_context)
    }
}

/// The environment variable in which `reply --exec` tells its command which request it
/// is handling; `request`, `signal` and `compose` read it and name that request as their
/// parent, so that a shell service's calls join its trace.
pub const PARENT_VARIABLE: &str = "GILMOUR_PARENT";

/// The call context a command inherits from the service that runs it, if any.
fn inherited_context() -> CallContext {
    match std::env::var(PARENT_VARIABLE) {
        Ok(parent) if !parent.trim().is_empty() => {
            CallContext::child_of(Sender(parent.trim().to_owned()))
        }
        _ => CallContext::default(),
    }
}

impl Serving {
    fn apply(&self, mut builder: EngineBuilder) -> EngineBuilder {
        builder = builder
            .error_policy(self.error_policy)
            .health(self.health)
            .shutdown_timeout(self.shutdown_timeout);
        if let Some(channel) = &self.error_channel {
            builder = builder.error_channel(channel);
        }
        if let Some(queue) = &self.error_queue {
            builder = builder.error_queue(queue);
        }
        builder
    }
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> ExitCode {
    let outcome = match cli.command {
        Some(Command::Request(args)) => {
            in_context(inherited_context(), request::run(&cli.connection, args)).await
        }
        Some(Command::Compose(args)) => {
            in_context(inherited_context(), compose::run(&cli.connection, args)).await
        }
        Some(Command::Signal(args)) => {
            in_context(inherited_context(), signal::run(&cli.connection, args)).await
        }
        Some(Command::Reply(args)) => reply::run(&cli.connection, args).await,
        Some(Command::Slot(args)) => slot::run(&cli.connection, args).await,
        Some(Command::Tail(args)) => tail::run(&cli.connection, args).await,
        Some(Command::Record(args)) => record::run(&cli.connection, args).await,
        Some(Command::Bench(args)) => bench::run(&cli.connection, args).await,
        Some(Command::Demo(args)) => demo::run(&cli.connection, args).await,
        Some(Command::Health(args)) => health::run(&cli.connection, args).await,
        Some(Command::Errors(args)) => errors::run(&cli.connection, args).await,
        Some(Command::Topics(args)) => topics::run(&cli.connection, args).await,
        Some(Command::Exporter(args)) => exporter::run(&cli.connection, args).await,
        Some(Command::Broker(args)) => broker::run(args).await,
        Some(Command::Tui(args)) => tui::run(&cli.connection, args).await,
        None => tui::run(&cli.connection, cli.tui).await,
    };
    outcome.unwrap_or_else(|error| {
        eprintln!("gilmour: {}", describe(&error));
        ExitCode::from(exit_code(&error))
    })
}

/// The error and its causes on one line, each said once: a cause whose text the message
/// already carries is left out.
fn describe(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

/// The exit code for an error that ended a command: 3 when Redis is at fault, 2 else.
fn exit_code(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if let Some(error) = cause.downcast_ref::<EngineError>() {
            return match error {
                EngineError::Transport(_)
                | EngineError::Disconnected { .. }
                | EngineError::NotConnected => EXIT_REDIS,
                _ => EXIT_UNAVAILABLE,
            };
        }
        if cause.downcast_ref::<TransportError>().is_some() {
            return EXIT_REDIS;
        }
    }
    EXIT_UNAVAILABLE
}

/// Sends the library's logs to stderr: warnings by default, more with `-v`, or as
/// `RUST_LOG` says.
///
/// While the terminal app owns the screen, anything written to stderr would land on top of
/// it: then the logs go to [`log_file`] instead.
pub fn init_logging(verbose: u8, to_file: bool) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let file = to_file
        .then(|| {
            let path = log_file();
            std::fs::create_dir_all(path.parent()?).ok()?;
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .ok()
        })
        .flatten();
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match file {
        Some(file) => builder
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(file))
            .init(),
        // No file can be written: say nothing rather than draw over the app.
        None if to_file => builder.with_writer(std::io::sink).init(),
        None => builder
            .with_ansi(colour_on_stderr())
            .with_writer(std::io::stderr)
            .init(),
    }
}

/// Whether log lines on stderr may carry colours: only on a terminal, and not when
/// `NO_COLOR` is set to anything but the empty string (<https://no-color.org>).
fn colour_on_stderr() -> bool {
    use std::io::IsTerminal;
    let refused = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    !refused && std::io::stderr().is_terminal()
}

/// Where the terminal app's logs go: `$XDG_STATE_HOME/gilmour/gilmour.log`, else
/// `~/.local/state/gilmour/gilmour.log`, else the temporary folder.
pub fn log_file() -> std::path::PathBuf {
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|home| std::path::PathBuf::from(home).join(".local").join("state"))
        })
        .unwrap_or_else(std::env::temp_dir);
    state.join("gilmour").join("gilmour.log")
}

impl Cli {
    /// Whether this command line opens the terminal app on this terminal.
    pub fn opens_app(&self) -> bool {
        use std::io::IsTerminal;
        let wants_app = match &self.command {
            None | Some(Command::Tui(_)) => true,
            Some(Command::Demo(demo)) => demo.opens_app(),
            Some(_) => false,
        };
        wants_app && std::io::stdout().is_terminal()
    }
}

/// Waits for Ctrl-C or SIGTERM. The handlers are installed when this is called, not when
/// the future is first polled: call it before announcing that the command is running, so
/// that a signal sent right after the announcement is never met by the default action.
pub fn interrupted() -> impl Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let (Ok(mut interrupt), Ok(mut terminate)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            return futures_util::future::Either::Left(async move {
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                }
            });
        }
    }
    futures_util::future::Either::Right(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
