//! `gilmour tail`: the inspector without a screen. Prints each trace when it completes
//! (and each gap in the capture), one line per trace, or one JSON object per trace.

use super::{Connection, EXIT_UNAVAILABLE, interrupted};
use anyhow::Context;
use clap::Args;
use gilmour::inspect::export::trace_json;
use gilmour::inspect::sanitize::clean_bytes;
use gilmour::inspect::{
    Capture, Event, Filter, Inspector, InspectorOptions, Trace, TraceKind, Update, capture, file,
};
use gilmour::protocol::Channels;
use std::io::{BufRead, BufReader, Write};
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `gilmour tail`.
#[derive(Debug, Args)]
pub struct TailArgs {
    /// Only traces matching this filter (e.g. `topic:echo* code:>=400`); gaps always show.
    #[arg(long, short)]
    filter: Option<String>,
    /// One JSON object per trace, for jq.
    #[arg(long)]
    json: bool,
    /// Replay a capture file (from `gilmour record`; `-` for stdin) instead of Redis.
    #[arg(long, value_name = "FILE")]
    read: Option<String>,
    /// Show health pings and replies (hidden by default).
    #[arg(long)]
    show_health: bool,
    /// Seconds a request may wait for its reply before it is shown as unanswered.
    #[arg(long, default_value_t = 30.0)]
    unanswered_after: f64,
    /// The most traces kept for correlation.
    #[arg(long, default_value_t = gilmour::inspect::DEFAULT_CAPACITY)]
    capacity: usize,
}

struct Printer {
    filter: Filter,
    json: bool,
    show_health: bool,
    out: std::io::BufWriter<std::io::Stdout>,
    /// Traces printed as unanswered: printed again if their reply comes after all.
    unanswered: std::collections::HashSet<gilmour::inspect::TraceId>,
}

impl Printer {
    fn trace(&mut self, trace: &Trace) -> std::io::Result<()> {
        let is_gap = trace.kind == TraceKind::Gap;
        if !is_gap && (!self.filter.matches(trace) || (trace.is_health() && !self.show_health)) {
            return Ok(());
        }
        if self.json {
            serde_json::to_writer(&mut self.out, &trace_json(trace))?;
            return self.out.write_all(b"\n");
        }
        writeln!(self.out, "{}", line(trace))
    }

    fn lost(&mut self, reason: &str) -> std::io::Result<()> {
        if self.json {
            return Ok(());
        }
        writeln!(
            self.out,
            "capture lost its connection: {reason}; reconnecting"
        )
    }
}

/// One trace as a line: time, kind, topic, code, latency, short sender, data preview.
fn line(trace: &Trace) -> String {
    let time = trace
        .started
        .with_timezone(&chrono::Local)
        .format("%H:%M:%S%.3f");
    if let Some(gap) = &trace.gap {
        return format!(
            "{time} gap    capture lost {:.1} s: messages may be missing ({})",
            gap.lost().as_secs_f64(),
            clean_bytes(gap.reason.as_bytes(), 200)
        );
    }
    let code = trace
        .code()
        .map_or_else(|| "-".to_owned(), |code| code.to_string());
    let latency = trace
        .latency()
        .map_or_else(|| "-".to_owned(), gilmour::inspect::trace::human_latency);
    let preview = trace
        .headline()
        .map(|event| {
            let message = event.message();
            clean_bytes(message.data.to_string().as_bytes(), 60)
        })
        .unwrap_or_default();
    format!(
        "{time} {:<6} {:<24} {:>4} {:>9} {:<10} {:<8} {preview}",
        trace.kind.as_str(),
        clean_bytes(trace.topic.as_bytes(), 24),
        code,
        latency,
        trace.status.as_str(),
        clean_bytes(gilmour::protocol::short_sender(&trace.sender).as_bytes(), 8),
    )
}

/// Runs `gilmour tail`.
pub async fn run(connection: &Connection, args: TailArgs) -> anyhow::Result<ExitCode> {
    let filter: Filter = match args.filter.as_deref().unwrap_or("").parse() {
        Ok(filter) => filter,
        Err(error) => {
            eprintln!("gilmour: invalid filter: {error}");
            return Ok(ExitCode::from(EXIT_UNAVAILABLE));
        }
    };
    let unanswered_after = Duration::try_from_secs_f64(args.unanswered_after)
        .context("--unanswered-after must be a positive number of seconds")?;
    let mut inspector = Inspector::new(InspectorOptions {
        capacity: args.capacity,
        unanswered_after,
    });
    let mut printer = Printer {
        filter,
        json: args.json,
        show_health: args.show_health,
        out: std::io::BufWriter::new(std::io::stdout()),
        unanswered: std::collections::HashSet::new(),
    };
    let channels = Channels::new(&connection.prefix);
    let outcome = match &args.read {
        Some(path) => replay(path, channels, &mut inspector, &mut printer),
        None => live(connection, channels, &mut inspector, &mut printer).await,
    };
    match outcome {
        Ok(dropped) => {
            let _ = printer.out.flush();
            summary(&inspector, dropped);
            Ok(ExitCode::SUCCESS)
        }
        // Whoever reads our output went away (`| head`): that is how tail ends then.
        Err(error) if is_broken_pipe(&error) => Ok(ExitCode::SUCCESS),
        Err(error) => Err(error),
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

fn apply(
    inspector: &Inspector,
    printer: &mut Printer,
    update: Update,
    lost_reason: Option<&str>,
) -> std::io::Result<()> {
    match update {
        Update::Completed(id) => match inspector.store().get(id) {
            Some(trace) => {
                if trace.status == gilmour::inspect::TraceStatus::Unanswered {
                    printer.unanswered.insert(id);
                    if printer.unanswered.len() > 10_000 {
                        let store = inspector.store();
                        printer.unanswered.retain(|id| store.get(*id).is_some());
                    }
                }
                printer.trace(trace)
            }
            None => Ok(()),
        },
        Update::Changed(id) if printer.unanswered.remove(&id) => match inspector.store().get(id) {
            Some(trace) => printer.trace(trace),
            None => Ok(()),
        },
        Update::Lost => printer.lost(lost_reason.unwrap_or("unknown reason")),
        Update::Opened(_) | Update::Changed(_) => Ok(()),
    }
}

fn ingest(inspector: &mut Inspector, printer: &mut Printer, event: Event) -> std::io::Result<()> {
    let reason = match &event {
        Event::Lost { reason, .. } => Some(reason.clone()),
        _ => None,
    };
    let update = inspector.ingest(event);
    apply(inspector, printer, update, reason.as_deref())
}

fn replay(
    path: &str,
    channels: Channels,
    inspector: &mut Inspector,
    printer: &mut Printer,
) -> anyhow::Result<u64> {
    let input: Box<dyn BufRead> = if path == "-" {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        let file = std::fs::File::open(path).with_context(|| format!("cannot open {path}"))?;
        Box::new(BufReader::new(file))
    };
    for event in file::read_events(input, channels) {
        let event = event?;
        // The file's own clock decides what counts as unanswered.
        let at = event.at();
        ingest(inspector, printer, event)?;
        sweep(inspector, printer, at)?;
    }
    // What is still pending at the end of the file is shown as it stands.
    let pending: Vec<_> = inspector
        .store()
        .newest_first()
        .rev()
        .filter(|trace| !trace.is_complete())
        .map(|trace| trace.id)
        .collect();
    for id in pending {
        if let Some(trace) = inspector.store().get(id) {
            printer.trace(trace)?;
        }
    }
    Ok(0)
}

fn sweep(
    inspector: &mut Inspector,
    printer: &mut Printer,
    now: chrono::DateTime<chrono::Utc>,
) -> std::io::Result<()> {
    let mut updates = Vec::new();
    inspector.sweep(now, |update| updates.push(update));
    for update in updates {
        apply(inspector, printer, update, None)?;
    }
    Ok(())
}

async fn live(
    connection: &Connection,
    channels: Channels,
    inspector: &mut Inspector,
    printer: &mut Printer,
) -> anyhow::Result<u64> {
    let redis = connection.builder().redis_config();
    let (capture, mut events) = Capture::start(redis, channels, capture::DEFAULT_BUFFER).await?;
    let stop = interrupted();
    eprintln!(
        "gilmour: tailing {} on {} (Ctrl-C to stop)",
        capture.pattern(),
        gilmour::transport::redact_url(connection.url())
    );
    let mut batch = Vec::with_capacity(1024);
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    tokio::pin!(stop);
    loop {
        tokio::select! {
            received = events.recv_many(&mut batch, 1024) => {
                if received == 0 {
                    break;
                }
                for event in batch.drain(..) {
                    ingest(inspector, printer, event)?;
                }
                printer.out.flush()?;
            }
            _ = ticker.tick() => {
                sweep(inspector, printer, chrono::Utc::now())?;
                printer.out.flush()?;
            }
            () = &mut stop => break,
        }
    }
    let dropped = capture.dropped();
    capture.close().await;
    Ok(dropped)
}

fn summary(inspector: &Inspector, dropped: u64) {
    let counters = inspector.counters();
    eprintln!(
        "gilmour: {} traces, {} errors, {} timeouts, {} unanswered, {} orphans, {} evicted, {} dropped, {} gaps",
        counters.traces,
        counters.errors,
        counters.timeouts,
        counters.unanswered,
        counters.orphans,
        inspector.store().evicted(),
        dropped,
        counters.gaps
    );
}
