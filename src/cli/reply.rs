//! `gilmour reply TOPIC [--exec CMD]`: serve a topic from the shell.

use super::{Connection, Serving, data, interrupted};
use clap::Args;
use gilmour::engine::{HandlerOptions, Reply, Request};
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
    #[command(flatten)]
    serving: Serving,
}

/// Runs `gilmour reply` until interrupted.
pub async fn run(connection: &Connection, args: ReplyArgs) -> anyhow::Result<ExitCode> {
    let timeout = Duration::try_from_secs_f64(args.timeout)
        .map_err(|_| anyhow::anyhow!("--timeout must be a positive number of seconds"))?;
    let engine = args.serving.apply(connection.builder()).connect().await?;
    let options = HandlerOptions {
        group: args.group,
        timeout,
        ..HandlerOptions::default()
    };
    let exec = args.exec.map(Arc::<str>::from);
    engine
        .reply_to(&args.topic, options, move |request: Request| {
            let exec = exec.clone();
            async move {
                match exec {
                    Some(command) => run_command(&command, &request).await,
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
    stop.await;
    engine.shutdown().await?;
    Ok(ExitCode::SUCCESS)
}

/// Runs the command for one request. The child is killed if the handler times out (its
/// future is dropped).
async fn run_command(command: &str, request: &Request) -> Reply {
    let child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .env("GILMOUR_TOPIC", request.topic())
        .env("GILMOUR_SENDER", request.sender().as_str())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) => {
            return Reply::with_code(Code::INTERNAL, format!("cannot run `{command}`: {error}"));
        }
    };
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
