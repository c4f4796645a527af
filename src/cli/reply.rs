//! `gilmour reply TOPIC [--exec CMD]`: serve a topic from the shell.

use super::{Connection, Serving, data, interrupted};
use clap::Args;
use gilmour::engine::{HandlerOptions, Reply, Request, Stats};
use gilmour::protocol::Code;
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// Arguments of `gilmour reply`.
#[derive(Debug, Args)]
pub struct ReplyArgs {
    /// The topic to serve.
    topic: String,
    /// The exclusive group [default: _default].
    #[arg(long)]
    group: Option<String>,
    /// Seconds a request may take before it is answered with 499.
    #[arg(long, default_value_t = 600.0)]
    timeout: f64,
    /// Run CMD (with `sh -c`) per request: the request data as JSON on its stdin, its
    /// stdout as the reply (JSON if it parses, else a string); failing → 500 with stderr.
    #[arg(long, value_name = "CMD")]
    exec: Option<String>,
    /// Requests handled at once (with --exec: commands running at once). At capacity this
    /// process lets the other members of its group take each request first; with its
    /// queue full too, it leaves requests to them.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
    max_in_flight: u32,
    #[command(flatten)]
    serving: Serving,
}

/// Runs `gilmour reply` until interrupted.
pub async fn run(connection: &Connection, args: ReplyArgs) -> anyhow::Result<ExitCode> {
    let timeout = Duration::try_from_secs_f64(args.timeout)
        .map_err(|_| anyhow::anyhow!("--timeout must be a positive number of seconds"))?;
    let engine = args.serving.apply(connection.builder()).connect().await?;
    let mut options = HandlerOptions::default()
        .timeout(timeout)
        .max_in_flight(usize::try_from(args.max_in_flight).unwrap_or(usize::MAX));
    options.group = args.group;
    let exec = args.exec.map(Arc::<str>::from);
    let tell_parent = !connection.no_call_context;
    engine
        .reply_to(&args.topic, options, move |request: Request| {
            let exec = exec.clone();
            async move {
                match exec {
                    Some(command) => run_command(&command, &request, tell_parent).await,
                    None => Reply::ok(request.into_data()),
                }
            }
        })
        .await?;
    let stop = interrupted();
    eprintln!(
        "gilmour: serving {} on {} (Ctrl-C to stop)",
        args.topic,
        engine.redis().display_url()
    );
    tokio::select! {
        () = stop => {}
        () = log_stats(&engine) => {}
    }
    engine.shutdown().await?;
    log_load(engine.stats(), "stopped");
    Ok(ExitCode::SUCCESS)
}

/// Logs (at `-v`) what the engine counted — lock attempts put off or skipped at
/// capacity, unknown lock outcomes, replies published again, messages shed — whenever it
/// changed, at most every few seconds.
async fn log_stats(engine: &gilmour::engine::Engine) {
    let mut last = engine.stats();
    let mut every = tokio::time::interval(Duration::from_secs(5));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let stats = engine.stats();
        if stats != last {
            log_load(stats, "load");
            last = stats;
        }
    }
}

fn log_load(stats: Stats, what: &str) {
    tracing::info!(
        lock_delayed = stats.lock_delayed,
        lock_skipped = stats.lock_skipped,
        lock_unknown = stats.lock_unknown,
        replies_republished = stats.replies_republished,
        replies_unheard = stats.replies_unheard,
        shed = stats.shed,
        "{what}"
    );
}

/// Runs the command for one request, in a process group of its own. If the handler is
/// dropped first (its timeout, or the shutdown timeout), the whole group is killed: the
/// shell and whatever it started. Unless `tell_parent` is off, the command learns in
/// `GILMOUR_PARENT` which request it handles, so that what it calls joins its trace.
async fn run_command(command: &str, request: &Request, tell_parent: bool) -> Reply {
    let mut child = tokio::process::Command::new("sh");
    child
        .arg("-c")
        .arg(command)
        .env("GILMOUR_TOPIC", request.topic())
        .env("GILMOUR_SENDER", request.sender().as_str());
    if tell_parent && !request.sender().as_str().is_empty() {
        child.env(super::PARENT_VARIABLE, request.sender().as_str());
    } else {
        child.env_remove(super::PARENT_VARIABLE);
    }
    let child = child
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) => {
            return Reply::with_code(Code::INTERNAL, format!("cannot run `{command}`: {error}"));
        }
    };
    let mut group = ProcessGroup(child.id());
    let stdin = child.stdin.take();
    let input = request.data().to_string();
    // Written while the output is read: a command that answers before it has read all
    // its input would otherwise block on a full pipe, and so would we.
    let feed = async move {
        if let Some(mut stdin) = stdin {
            // A command that does not read its input closes the pipe early; that is fine.
            let _ = stdin.write_all(input.as_bytes()).await;
        }
    };
    let ((), output) = tokio::join!(feed, child.wait_with_output());
    // It finished: what it left running in the background is its own business.
    group.0 = None;
    match output {
        Ok(output) if output.status.success() => {
            Reply::ok(data::from_text(&String::from_utf8_lossy(&output.stdout)))
        }
        Ok(output) => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let why = match stderr.trim() {
                "" => format!("`{command}` failed ({})", output.status),
                text => text.to_owned(),
            };
            Reply::with_code(Code::INTERNAL, why)
        }
        Err(error) => Reply::with_code(Code::INTERNAL, format!("`{command}` failed: {error}")),
    }
}

/// The process group of a running command (its leader's pid), killed when dropped before
/// the command finished.
struct ProcessGroup(Option<u32>);

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        let leader = self
            .0
            .and_then(|pid| i32::try_from(pid).ok())
            .and_then(rustix::process::Pid::from_raw);
        if let Some(leader) = leader {
            // Gone already is fine.
            let _ = rustix::process::kill_process_group(leader, rustix::process::Signal::KILL);
        }
    }
}
