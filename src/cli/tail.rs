//! `gilmour tail`: the inspector without a screen. Prints each trace when it completes
//! (and each gap in the capture), one line per trace, or one JSON object per trace. A
//! trace that changes after it was printed (a reply after a timeout, an error record
//! after the reply, its request after its reply) is printed again, marked `↻` (in JSON,
//! the whole trace again with `"update": true` and the same `id`).

use super::store::{StoreArgs, human_bytes};
use super::{Connection, EXIT_UNAVAILABLE, interrupted};
use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Args;
use gilmour::inspect::deep::{self, DeepCapture};
use gilmour::inspect::export::trace_json_with;
use gilmour::inspect::sanitize::{clean_bytes, column, pad};
use gilmour::inspect::{
    Capture, Event, Filter, Inspector, Trace, TraceId, TraceKind, TraceStatus, TraceStore, Update,
    capture, file, tree,
};
use gilmour::protocol::Channels;
use std::collections::{HashSet, VecDeque};
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
    /// Deep capture: also MONITOR Redis, to name each request's caller and responder,
    /// the group-lock race and Redis's own timing. MONITOR costs Redis throughput.
    #[arg(long)]
    deep: bool,
    /// Print each finished call tree once: the top-level trace, then its calls and a
    /// composition's steps indented, with their timings (a change reprints the tree).
    #[arg(long)]
    tree: bool,
    /// Also serve Prometheus metrics of what is captured on ADDR (`/metrics`), as
    /// `gilmour exporter` does.
    #[arg(long, value_name = "ADDR")]
    metrics: Option<std::net::SocketAddr>,
    #[command(flatten)]
    metrics_options: super::exporter::MetricsArgs,
    #[command(flatten)]
    store: StoreArgs,
}

struct Printer {
    filter: Filter,
    json: bool,
    show_health: bool,
    channels: Channels,
    out: std::io::BufWriter<std::io::Stdout>,
    /// Traces printed again because they changed after they were printed.
    updates: u64,
    /// Traces waiting to be printed: in deep mode, completed requests waiting for
    /// MONITOR's account of their reply; in tree mode, roots waiting for their tree.
    /// Each with when it was held (by the capture's clock) and whether it is an update.
    held: VecDeque<(DateTime<Utc>, TraceId, bool)>,
    deep: bool,
    /// Print each finished root with its spans indented, instead of each trace.
    tree: bool,
    /// The roots printed as trees, so that a later change to one of their traces prints
    /// the tree again.
    printed_roots: HashSet<TraceId>,
    /// With `--metrics`: every trace counted, whatever the filter shows.
    metrics: Option<gilmour::inspect::metrics::Metrics>,
}

impl Printer {
    fn shows(&self, trace: &Trace) -> bool {
        trace.kind == TraceKind::Gap
            || (self.filter.matches(trace) && (!trace.is_health() || self.show_health))
    }

    fn trace(&mut self, trace: &Trace, update: bool) -> std::io::Result<()> {
        if !self.shows(trace) {
            return Ok(());
        }
        if update {
            self.updates += 1;
        }
        if self.json {
            let mut object = trace_json_with(&self.channels, trace);
            if update && let Some(fields) = object.as_object_mut() {
                fields.insert("update".into(), serde_json::Value::Bool(true));
            }
            serde_json::to_writer(&mut self.out, &object)?;
            return self.out.write_all(b"\n");
        }
        writeln!(self.out, "{}", line(trace, update))
    }

    /// Prints the tree under `root`, when any of its traces passes the filter: the root's
    /// line, then one indented line per span (in JSON, the root's object with `spans`).
    fn tree(&mut self, store: &TraceStore, root: TraceId, update: bool) -> std::io::Result<()> {
        let spans = tree::spans(store, root);
        let traces: Vec<&Trace> = spans.iter().filter_map(|span| store.get(span.id)).collect();
        let Some(top) = traces.first() else {
            return Ok(());
        };
        if !traces.iter().any(|trace| self.shows(trace)) {
            return Ok(());
        }
        self.printed_roots.insert(root);
        if update {
            self.updates += 1;
        }
        if self.json {
            let mut object = trace_json_with(&self.channels, top);
            if let Some(fields) = object.as_object_mut() {
                if update {
                    fields.insert("update".into(), serde_json::Value::Bool(true));
                }
                let rows = spans
                    .iter()
                    .zip(&traces)
                    .map(|(span, trace)| span_json(span, trace));
                fields.insert("spans".into(), serde_json::Value::Array(rows.collect()));
            }
            serde_json::to_writer(&mut self.out, &object)?;
            return self.out.write_all(b"\n");
        }
        writeln!(self.out, "{}", line(top, update))?;
        for (span, trace) in spans.iter().zip(&traces).skip(1) {
            writeln!(self.out, "{}", span_line(span, trace))?;
        }
        Ok(())
    }

    /// Prints a trace now, or holds it: in deep mode a request until MONITOR's account
    /// of its reply is in (at most [`DEEP_HOLD`]), so that its line names the responder;
    /// in tree mode a root until its tree is done, and a change to a printed tree's trace
    /// as a change to that tree.
    fn completed(
        &mut self,
        store: &TraceStore,
        trace: &Trace,
        update: bool,
        now: DateTime<Utc>,
    ) -> std::io::Result<()> {
        if self.tree {
            let root = tree::root_of(store, trace.id);
            if root != trace.id {
                if self.printed_roots.contains(&root) {
                    self.hold(root, true, now);
                }
                return Ok(());
            }
            self.hold(root, update || self.printed_roots.contains(&root), now);
            return Ok(());
        }
        if self.deep && waits_for_deep(trace) {
            self.hold(trace.id, update, now);
            return Ok(());
        }
        self.held.retain(|(_, id, _)| *id != trace.id);
        self.trace(trace, update)
    }

    fn hold(&mut self, id: TraceId, update: bool, now: DateTime<Utc>) {
        match self.held.iter_mut().find(|(_, held, _)| *held == id) {
            Some((_, _, was_update)) => *was_update |= update,
            None => self.held.push_back((now, id, update)),
        }
    }

    /// Prints the held traces that are ready or waited long enough, as of `now`; all
    /// of them when `all`.
    fn release(
        &mut self,
        inspector: &Inspector,
        now: DateTime<Utc>,
        all: bool,
    ) -> std::io::Result<()> {
        let store = inspector.store();
        let mut waiting = std::mem::take(&mut self.held);
        let mut result = Ok(());
        waiting.retain(|(since, id, update)| {
            let Some(trace) = store.get(*id) else {
                return false;
            };
            let waited = (now - *since).to_std().unwrap_or_default();
            // A root held for its tree may have become part of another since (a peer's
            // pipe, inferred): that tree is printed instead.
            if self.tree && tree::root_of(store, *id) != *id {
                return false;
            }
            let ready = all
                || if self.tree {
                    tree_done(store, *id, waited, self.deep)
                } else {
                    waited >= DEEP_HOLD || !waits_for_deep(trace)
                };
            if ready && result.is_ok() {
                result = if self.tree {
                    self.tree(store, *id, *update)
                } else {
                    self.trace(trace, *update)
                };
            }
            !ready
        });
        self.held = waiting;
        if self.printed_roots.len() > 2 * store.capacity() {
            self.printed_roots.retain(|id| store.get(*id).is_some());
        }
        result
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

/// How long a completed request waits for MONITOR's account of its reply.
const DEEP_HOLD: Duration = Duration::from_millis(250);

/// How long a finished root waits for calls still under way in its tree before it is
/// printed as it stands; and how long a signal, whose slots may still be calling, waits
/// for its first.
const TREE_WAIT: Duration = Duration::from_secs(5);
const SIGNAL_WAIT: Duration = Duration::from_millis(250);

/// Whether, in deep mode, a completed request still waits for its reply's deep facts.
fn waits_for_deep(trace: &Trace) -> bool {
    matches!(trace.kind, TraceKind::Request | TraceKind::Health)
        && trace.reply.is_some()
        && trace
            .deep
            .as_ref()
            .is_none_or(|deep| deep.reply_at.is_none())
}

/// Whether the tree under `root` is done (every span complete, and in deep mode told by
/// MONITOR for up to [`DEEP_HOLD`]; a signal root has waited for its slots' calls), or
/// has waited long enough.
fn tree_done(store: &TraceStore, root: TraceId, waited: Duration, deep: bool) -> bool {
    if waited >= TREE_WAIT {
        return true;
    }
    let spans = tree::spans(store, root);
    let told = |span: &tree::Span| {
        !deep
            || waited >= DEEP_HOLD
            || store
                .get(span.id)
                .is_none_or(|trace| !waits_for_deep(trace))
    };
    let all_done = spans
        .iter()
        .all(|span| span.status != TraceStatus::Pending && told(span));
    let is_signal = store
        .get(root)
        .is_some_and(|trace| trace.kind == TraceKind::Signal);
    all_done && (!is_signal || spans.len() > 1 || waited >= SIGNAL_WAIT)
}

/// A span under a root: indented by depth, its place in its composition, kind, topic,
/// code, how long it took and when it started after the root.
fn span_line(span: &tree::Span, trace: &Trace) -> String {
    let indent = "  ".repeat(span.depth.saturating_sub(1));
    let place = span.step.as_deref().map_or_else(String::new, |step| {
        format!("{} ", clean_bytes(step.as_bytes(), 12))
    });
    let code = trace
        .code()
        .map_or_else(|| "-".to_owned(), |code| code.to_string());
    let took = span
        .duration
        .map_or_else(|| "-".to_owned(), gilmour::inspect::trace::human_latency);
    let label = format!("{indent}└ {place}{}", trace.kind.as_str());
    // Columns are padded by display width: a CJK topic takes two columns a character.
    format!(
        "               {} {} {code:>4} {took:>9} {:<10} +{}{}",
        pad(&label, 16),
        column(&trace.topic, 24),
        trace.status.as_str(),
        gilmour::inspect::trace::human_latency(span.start),
        deep_words(trace).map_or_else(String::new, |words| format!("  ({words})")),
    )
}

/// A span in JSON: the trace's id, sender, kind, topic, code and status, its depth and
/// place, and its times relative to the root.
fn span_json(span: &tree::Span, trace: &Trace) -> serde_json::Value {
    serde_json::json!({
        "id": trace.id.0,
        "depth": span.depth,
        "step": span.step.as_deref(),
        "kind": trace.kind.as_str(),
        "topic": &*trace.topic,
        "sender": &*trace.sender,
        "code": trace.code().map(|code| code.0),
        "status": trace.status.as_str(),
        "start_ms": span.start.as_secs_f64() * 1000.0,
        "duration_ms": span.duration.map(|took| took.as_secs_f64() * 1000.0),
    })
}

/// What deep capture knows, in a few words: who answered, the lock race, Redis's time.
fn deep_words(trace: &Trace) -> Option<String> {
    let deep = trace.deep.as_ref()?;
    let mut words = Vec::new();
    if let Some(responder) = &deep.responder {
        words.push(format!(
            "answered by {}",
            clean_bytes(responder.label().as_bytes(), 40)
        ));
    }
    if let Some(race) = deep.locks.first() {
        words.push(format!(
            "lock won by {} of {}",
            race.winner().map_or_else(
                || "?".to_owned(),
                |winner| clean_bytes(winner.label().as_bytes(), 40)
            ),
            race.contenders()
        ));
    }
    if let Some(latency) = deep.server_latency() {
        words.push(format!("server {}", deep::human_server_time(latency)));
    }
    // What a request costs its caller in commands: a Go caller subscribes, unsubscribes
    // and pings around each one.
    if !deep.calls.is_empty() {
        words.push(format!("caller sent {} commands", deep.calls.len() + 1));
    }
    (!words.is_empty()).then(|| words.join(", "))
}

/// One trace as a line: time, a `↻` for a trace shown again, kind, topic, code,
/// latency, status, short sender, and a data preview (`!` and why, for a payload that
/// is not a well-formed message), then what is known beyond the status.
fn line(trace: &Trace, update: bool) -> String {
    let time = trace
        .started
        .with_timezone(&chrono::Local)
        .format("%H:%M:%S%.3f");
    let mark = if update { '↻' } else { ' ' };
    if let Some(gap) = &trace.gap {
        return format!(
            "{time} {mark} gap    capture lost {:.1} s: messages may be missing ({})",
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
    let preview = match &trace.links {
        Some(links) if trace.kind == TraceKind::Composition => {
            let steps = links.children.len() + links.cut as usize;
            let inferred = if links.inferred { ", inferred" } else { "" };
            format!(
                "{steps} step{}{inferred}",
                if steps == 1 { "" } else { "s" }
            )
        }
        _ => trace.headline().map(preview).unwrap_or_default(),
    };
    // The preview already says why a payload is flagged.
    let notes = trace.notes();
    let notes = match notes
        .iter()
        .find(|note| !note.contains(" payload kept as is: "))
    {
        Some(first) => format!("  [{}]", clean_bytes(first.as_bytes(), 100)),
        None => String::new(),
    };
    let notes = match deep_words(trace) {
        Some(words) => format!("{notes}  ({words})"),
        None => notes,
    };
    format!(
        "{time} {mark} {:<6} {} {:>4} {:>9} {:<10} {} {preview}{notes}",
        trace.kind.as_str(),
        column(&trace.topic, 24),
        code,
        latency,
        trace.status.as_str(),
        column(gilmour::protocol::short_sender(&trace.sender), 8),
    )
}

/// A message's data, short; a flagged payload says so, and an envelope that did not
/// parse is never shown as if it were the data.
fn preview(event: &gilmour::inspect::MessageEvent) -> String {
    match (event.data(), &event.payload_error) {
        (Some(data), None) => clean_bytes(data.to_string().as_bytes(), 60),
        (Some(data), Some(why)) => format!(
            "! {} ({})",
            clean_bytes(data.to_string().as_bytes(), 40),
            clean_bytes(why.as_bytes(), 60)
        ),
        (None, Some(why)) => format!("! {}", clean_bytes(why.as_bytes(), 80)),
        (None, None) => format!(
            "! payload of {} bytes, only a prefix kept",
            event.payload_len()
        ),
    }
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
    let mut inspector = Inspector::new(args.store.options()?);
    let channels = connection.builder().channels();
    let mut printer = Printer {
        filter,
        json: args.json,
        show_health: args.show_health,
        channels: channels.clone(),
        out: std::io::BufWriter::new(std::io::stdout()),
        updates: 0,
        held: VecDeque::new(),
        deep: args.deep && args.read.is_none(),
        tree: args.tree,
        printed_roots: HashSet::new(),
        metrics: None,
    };
    if args.metrics.is_some() && args.read.is_some() {
        eprintln!("gilmour: --metrics needs live capture, not --read");
        return Ok(ExitCode::from(EXIT_UNAVAILABLE));
    }
    let _metrics_server = match args.metrics {
        Some(listen) => {
            let (metrics, guard) = args.metrics_options.start(connection, listen).await?;
            eprintln!(
                "gilmour: serving metrics on http://{}/metrics",
                guard.address()
            );
            printer.metrics = Some(metrics);
            Some(guard)
        }
        _ => None,
    };
    let outcome = match &args.read {
        Some(path) => replay(path, channels, &mut inspector, &mut printer),
        None => live(connection, channels, &mut inspector, &mut printer).await,
    };
    match outcome {
        Ok(dropped) => {
            let _ = printer.out.flush();
            summary(&inspector, &printer, dropped);
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
    now: DateTime<Utc>,
) -> std::io::Result<()> {
    if let Some(metrics) = &printer.metrics {
        metrics.apply(inspector, update);
    }
    match update {
        Update::Completed(id) | Update::Changed(id) => match inspector.store().get(id) {
            Some(trace) => printer.completed(
                inspector.store(),
                trace,
                matches!(update, Update::Changed(_)),
                now,
            ),
            None => Ok(()),
        },
        Update::Lost => printer.lost(lost_reason.unwrap_or("unknown reason")),
        Update::Opened(_) | Update::Grew(_) => Ok(()),
    }
}

fn ingest(inspector: &mut Inspector, printer: &mut Printer, event: Event) -> std::io::Result<()> {
    let reason = match &event {
        Event::Lost { reason, .. } => Some(reason.clone()),
        _ => None,
    };
    let at = event.at();
    let update = inspector.ingest(event);
    apply(inspector, printer, update, reason.as_deref(), at)
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
        printer.release(inspector, at, false)?;
    }
    printer.release(inspector, chrono::Utc::now(), true)?;
    // What is still pending at the end of the file is shown as it stands.
    let pending: Vec<_> = inspector
        .store()
        .newest_first()
        .rev()
        .filter(|trace| !trace.is_complete())
        .map(|trace| trace.id)
        .collect();
    for id in pending {
        let store = inspector.store();
        if printer.tree {
            // A pending trace inside a tree shows with its root, printed or not yet.
            let root = tree::root_of(store, id);
            if root == id && !printer.printed_roots.contains(&root) {
                printer.tree(store, root, false)?;
            }
        } else if let Some(trace) = store.get(id) {
            printer.trace(trace, false)?;
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
        apply(inspector, printer, update, None, now)?;
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
    let (capture, mut events) =
        Capture::start(redis.clone(), channels.clone(), capture::DEFAULT_BUFFER).await?;
    let (deep, mut deep_events) = if printer.deep {
        match DeepCapture::start(redis, channels, deep::DEFAULT_DEEP_BUFFER).await {
            Ok((deep, events)) => (Some(deep), Some(events)),
            Err(error) => {
                eprintln!("gilmour: {error}");
                printer.deep = false;
                (None, None)
            }
        }
    } else {
        (None, None)
    };
    let stop = interrupted();
    eprintln!(
        "gilmour: tailing {} on {}{} (Ctrl-C to stop)",
        capture.pattern(),
        gilmour::transport::redact_url(connection.url()),
        if deep.is_some() {
            "; deep capture is on (MONITOR costs Redis throughput)"
        } else {
            ""
        }
    );
    let mut batch = Vec::with_capacity(1024);
    let mut deep_batch = Vec::with_capacity(1024);
    let tick = if deep.is_some() || printer.tree {
        DEEP_HOLD / 5
    } else {
        Duration::from_secs(1)
    };
    let mut ticker = tokio::time::interval(tick);
    let mut swept = std::time::Instant::now();
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
                if printer.tree {
                    printer.release(inspector, chrono::Utc::now(), false)?;
                }
                printer.out.flush()?;
            }
            received = deep::next_batch(deep_events.as_mut(), &mut deep_batch, 1024) => {
                if received == 0 {
                    deep_events = None;
                    continue;
                }
                for event in deep_batch.drain(..) {
                    inspector.ingest_deep(event);
                }
                printer.release(inspector, chrono::Utc::now(), false)?;
                printer.out.flush()?;
            }
            _ = ticker.tick() => {
                if let Some(metrics) = &printer.metrics {
                    metrics.sync(inspector, capture.dropped());
                }
                // Compositions settle on a sweep: in tree mode, sweep at every tick.
                if printer.tree || swept.elapsed() >= Duration::from_secs(1) {
                    sweep(inspector, printer, chrono::Utc::now())?;
                    swept = std::time::Instant::now();
                }
                printer.release(inspector, chrono::Utc::now(), false)?;
                printer.out.flush()?;
            }
            () = &mut stop => break,
        }
    }
    printer.release(inspector, chrono::Utc::now(), true)?;
    let dropped = capture.dropped() + deep.as_ref().map_or(0, DeepCapture::dropped);
    capture.close().await;
    Ok(dropped)
}

fn summary(inspector: &Inspector, printer: &Printer, dropped: u64) {
    eprintln!("{}", summary_line(inspector, printer.updates, dropped));
}

/// What `tail` says when it stops: how much it saw, held and let go.
fn summary_line(inspector: &Inspector, updates: u64, dropped: u64) -> String {
    let counters = inspector.counters();
    let store = inspector.store();
    format!(
        "gilmour: {}, {}, {}, {}, {} unanswered, {}, {}, {} dropped; {} held ({}), {} evicted ({}), {} cut short, {} past the per-trace cap",
        count(counters.traces, "trace"),
        count(updates, "update"),
        count(counters.errors, "error"),
        count(counters.timeouts, "timeout"),
        counters.unanswered,
        count(counters.orphans, "orphan"),
        count(counters.gaps, "gap"),
        dropped,
        human_bytes(store.bytes() as u64),
        count(store.len() as u64, "trace"),
        human_bytes(store.evicted_bytes()),
        count(store.evicted(), "trace"),
        count(counters.truncated, "payload"),
        count(counters.cut, "message"),
    )
}

/// `1 trace`, `2 traces`.
fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gilmour::inspect::sanitize::display_width;
    use gilmour::inspect::{InspectorOptions, MessageEvent};
    use std::sync::Arc;

    fn message(ms: i64, channel: &str, payload: &str) -> Event {
        let at = DateTime::from_timestamp_millis(1_800_000_000_000 + ms).expect("a time");
        Event::Message(MessageEvent::read(
            &Channels::default(),
            at,
            channel,
            Arc::from(payload.as_bytes()),
        ))
    }

    /// Where the code column starts on a line, in terminal columns.
    fn code_column(line: &str) -> usize {
        let at = line.find(" 200 ").expect("a code");
        display_width(&line[..at])
    }

    #[test]
    fn the_summary_counts_one_trace_in_the_singular() {
        let mut inspector = Inspector::new(InspectorOptions::default());
        inspector.ingest(message(
            0,
            "gilmour.request.echo",
            r#"{"data":1,"sender":"s"}"#,
        ));
        inspector.ingest(message(1, "gilmour.response.s", r#"{"data":1,"code":200}"#));
        let line = summary_line(&inspector, 2, 0);
        assert!(
            line.starts_with("gilmour: 1 trace, 2 updates, 0 errors,"),
            "{line}"
        );
        assert!(line.contains("held (1 trace)"), "{line}");
        assert!(line.contains("evicted (0 traces)"), "{line}");
    }

    #[test]
    fn columns_line_up_after_cjk_and_emoji() {
        let mut inspector = Inspector::new(InspectorOptions::default());
        let topics = [
            "echo",
            "注文.作成",
            "🙂.ping",
            "注文.作成.確認.送信.完了.通知.すべて",
        ];
        for (n, topic) in topics.iter().enumerate() {
            let sender = format!("送信者{n}-abcdef");
            let ms = n as i64 * 10;
            inspector.ingest(message(
                ms,
                &format!("gilmour.request.{topic}"),
                &format!(r#"{{"data":"データ","code":200,"sender":"{sender}"}}"#),
            ));
            inspector.ingest(message(
                ms + 1,
                &format!("gilmour.response.{sender}"),
                &format!(r#"{{"data":"🙂","code":200,"sender":"gilmour.response.{sender}"}}"#),
            ));
        }
        let lines: Vec<String> = inspector
            .store()
            .newest_first()
            .map(|trace| line(trace, false))
            .collect();
        assert_eq!(lines.len(), 4);
        let first = code_column(&lines[0]);
        for line in &lines {
            assert_eq!(code_column(line), first, "{lines:#?}");
            // The data column, after the sender's, starts at the same place too.
            let data = line.find("\"🙂\"").expect("the reply's data");
            assert_eq!(
                display_width(&line[..data]),
                display_width(&lines[0][..lines[0].find("\"🙂\"").expect("data")]),
                "{lines:#?}"
            );
        }
    }
}
