//! `gilmour record FILE`: write every captured event as a JSON line.

use super::{Connection, interrupted};
use anyhow::Context;
use clap::Args;
use gilmour::inspect::{Capture, capture, file};
use gilmour::protocol::Channels;
use std::io::Write;
use std::process::ExitCode;

/// Arguments of `gilmour record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Where to write (`-` for stdout); an existing file is appended to.
    file: String,
}

/// Runs `gilmour record` until interrupted.
pub async fn run(connection: &Connection, args: RecordArgs) -> anyhow::Result<ExitCode> {
    let mut out: Box<dyn Write + Send> = if args.file == "-" {
        Box::new(std::io::stdout())
    } else {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&args.file)
            .with_context(|| format!("cannot open {}", args.file))?;
        Box::new(file)
    };
    let mut out = std::io::BufWriter::new(&mut out);
    let channels = Channels::new(&connection.prefix);
    let redis = connection.builder().redis_config();
    let (capture, mut events) = Capture::start(redis, channels, capture::DEFAULT_BUFFER).await?;
    let stop = interrupted();
    eprintln!(
        "gilmour: recording {} to {} (Ctrl-C to stop)",
        capture.pattern(),
        args.file
    );
    let mut written = 0u64;
    let mut batch = Vec::with_capacity(1024);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            received = events.recv_many(&mut batch, 1024) => {
                if received == 0 {
                    break;
                }
                for event in batch.drain(..) {
                    file::write_event(&mut out, &event)?;
                    written += 1;
                }
                out.flush()?;
            }
            () = &mut stop => break,
        }
    }
    while let Some(event) = events.try_recv() {
        file::write_event(&mut out, &event)?;
        written += 1;
    }
    out.flush()?;
    let dropped = capture.dropped();
    capture.close().await;
    eprintln!("gilmour: {written} events written, {dropped} dropped");
    Ok(ExitCode::SUCCESS)
}
