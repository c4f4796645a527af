//! The text of the detail view, built when a trace is opened (and again when it changes),
//! never per frame: [`Cache`] keeps the last one by trace, revision and width. Headings,
//! fields, pretty and highlighted JSON, raw payloads.
//! Every piece of untrusted text goes through `sanitize` here, so the view draws it as is.
//! Huge payloads are cut to [`MAX_LINES`] lines per message; the view pages through them.

use super::{kept_short, thousands};
use crate::tui::model::{kind_label, request_data};
use crate::tui::state::State;
use crate::tui::state::detail::references;
use crate::tui::state::links::Links;
use crate::tui::theme::Tone;
use chrono::{DateTime, FixedOffset, Utc};
use gilmour::inspect::TraceId;
use gilmour::inspect::sanitize::{clean, clean_bytes};
use gilmour::inspect::services::{Health, Host};
use gilmour::inspect::{EventKind, MessageEvent, Trace, TraceStore};
use gilmour::protocol::ErrorView;
use std::rc::Rc;

/// The most lines one message's pretty data takes.
pub const MAX_LINES: usize = 5_000;
/// Raw payloads are shown in lines of at most this many characters (fewer when the
/// terminal is narrower: a raw line cut at the edge would hide text between its lines).
const RAW_WIDTH: usize = 120;
/// The most raw characters shown per message.
const MAX_RAW: usize = 64 * 1024;

/// One line of the detail view: pieces of text and how they look.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DetailLine {
    /// The pieces.
    pub spans: Vec<(Tone, String)>,
}

impl DetailLine {
    fn push(mut self, tone: Tone, text: impl Into<String>) -> Self {
        self.spans.push((tone, text.into()));
        self
    }

    /// The line's text, for search.
    pub fn text(&self) -> String {
        self.spans.iter().map(|(_, text)| text.as_str()).collect()
    }

    /// Whether the line holds the search (`query` is in lower case; empty matches
    /// nothing).
    pub fn matches(&self, query: &str) -> bool {
        !query.is_empty() && self.text().to_lowercase().contains(query)
    }
}

fn line(tone: Tone, text: impl Into<String>) -> DetailLine {
    DetailLine::default().push(tone, text)
}

/// How wide a field's label is, with its indent.
const LABEL_WIDTH: usize = 14;

/// A labelled sentence or two, word-wrapped under its label to fit `width` columns: the
/// detail view cuts long lines rather than wrap them, and a note must read whole.
fn wrapped(label: &str, tone: Tone, text: &str, width: usize, lines: &mut Vec<DetailLine>) {
    let room = width.saturating_sub(LABEL_WIDTH).max(20);
    for (at, chunk) in wrap(text, room).into_iter().enumerate() {
        let label = if at == 0 {
            format!("  {label:<12}")
        } else {
            " ".repeat(LABEL_WIDTH)
        };
        lines.push(
            DetailLine::default()
                .push(Tone::Dim, label)
                .push(tone, chunk),
        );
    }
}

/// The columns a line takes.
fn width_of(line: &DetailLine) -> usize {
    line.spans.iter().map(|(_, text)| width_of_text(text)).sum()
}

fn width_of_text(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
}

/// Splits text at spaces into lines of at most `room` characters (a longer word keeps a
/// line of its own).
fn wrap(text: &str, room: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut length = 0;
    for word in text.split_whitespace() {
        let size = word.chars().count();
        if length > 0 && length + 1 + size > room {
            out.push(std::mem::take(&mut current));
            length = 0;
        }
        if length > 0 {
            current.push(' ');
            length += 1;
        }
        current.push_str(word);
        length += size;
    }
    if length > 0 || out.is_empty() {
        out.push(current);
    }
    out
}

/// The most characters of a name (topic, channel, sender) the detail shows: enough for
/// any real one, and a bound on what a hostile one costs.
const MAX_NAME: usize = 16 * 1024;

/// A labelled value that may be wider than the view (a 2,000-character topic): cut into
/// lines of the room beside the label, by display width, so that all of it reads.
fn field_wrapped(name: &str, value: &str, width: usize, lines: &mut Vec<DetailLine>) {
    let room = width.saturating_sub(LABEL_WIDTH).max(20);
    let mut chunk = String::new();
    let mut used = 0;
    let mut first = true;
    let flush = |chunk: &mut String, lines: &mut Vec<DetailLine>, first: &mut bool| {
        let label = if *first {
            format!("  {name:<12}")
        } else {
            " ".repeat(LABEL_WIDTH)
        };
        lines.push(
            DetailLine::default()
                .push(Tone::Dim, label)
                .push(Tone::Plain, std::mem::take(chunk)),
        );
        *first = false;
    };
    for character in value.chars() {
        let size = unicode_width::UnicodeWidthChar::width(character).unwrap_or(0);
        if used + size > room && !chunk.is_empty() {
            flush(&mut chunk, lines, &mut first);
            used = 0;
        }
        chunk.push(character);
        used += size;
    }
    if !chunk.is_empty() || first {
        flush(&mut chunk, lines, &mut first);
    }
}

fn field(name: &str, value: impl Into<String>) -> DetailLine {
    DetailLine::default()
        .push(Tone::Dim, format!("  {name:<12}"))
        .push(Tone::Plain, value)
}

/// What deep capture saw: caller, responder, Redis's timing, and the lock race panel.
fn deep_lines(app: &State, deep: &gilmour::inspect::deep::Deep, lines: &mut Vec<DetailLine>) {
    use gilmour::inspect::deep::human_server_time as format_latency;
    let time = |at: chrono::DateTime<chrono::Utc>| {
        at.with_timezone(&app.tz).format("%H:%M:%S%.6f").to_string()
    };
    lines.push(DetailLine::default());
    lines.push(line(Tone::Heading, "Deep capture (Redis's own view)"));
    if let Some(caller) = &deep.caller {
        lines.push(field("caller", clean(&client_text(caller), 200)));
    }
    if let Some(responder) = &deep.responder {
        lines.push(field("answered by", clean(&client_text(responder), 200)));
    }
    if let Some(latency) = deep.server_latency() {
        let mut timing = format!("request → reply {}", format_latency(latency));
        if let Some(lock) = deep.lock_latency() {
            timing.push_str(&format!(", lock won after {}", format_latency(lock)));
        }
        lines.push(field("server time", timing));
    }
    for race in &deep.locks {
        let ttl = race
            .ttl
            .map_or_else(String::new, |ttl| format!(", EX {ttl}"));
        let margin = race.margin().map_or_else(String::new, |margin| {
            format!(", won by {}", format_latency(margin))
        });
        lines.push(field(
            "lock race",
            format!(
                "{} ({} contender{}{ttl}{margin})",
                clean(&race.key, 120),
                race.contenders(),
                if race.contenders() == 1 { "" } else { "s" }
            ),
        ));
        for (n, bid) in race.bids.iter().enumerate() {
            let mark = if n == 0 { "won " } else { "lost" };
            lines.push(
                DetailLine::default()
                    .push(Tone::Dim, format!("  {:<12}", ""))
                    .push(if n == 0 { Tone::Good } else { Tone::Dim }, mark.to_owned())
                    .push(Tone::Plain, format!("  {}  ", time(bid.at)))
                    .push(Tone::Plain, clean(&client_text(&bid.client), 120)),
            );
        }
    }
    for call in &deep.calls {
        lines.push(field(
            "call",
            format!("{}  {}", time(call.at), clean(&call.command, 160)),
        ));
    }
}

fn client_text(client: &gilmour::inspect::deep::Client) -> String {
    match &client.name {
        // The address first: it always fits, and tells two clients apart at a glance.
        Some(name) => format!("{}  {name}", client.addr),
        None => client.addr.to_string(),
    }
}

/// What a built text depends on besides its trace: when any of it changes, the text is
/// built again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    id: TraceId,
    revision: u64,
    links: u64,
    width: u16,
    span: usize,
    link: Option<usize>,
}

/// The text of the trace open in detail, kept between frames.
#[derive(Debug, Default)]
pub struct Cache {
    detail: Option<(Key, Rc<[DetailLine]>)>,
}

impl Cache {
    /// The text of the open trace (built only when it is not the one kept).
    pub fn detail(&mut self, app: &State) -> Option<Rc<[DetailLine]>> {
        let open = app.detail.as_ref()?;
        let key = Key {
            id: open.id,
            revision: open.revision,
            links: app.links.revision(),
            width: app.size.0,
            span: open.span,
            link: open.link,
        };
        if let Some((kept, lines)) = &self.detail
            && *kept == key
        {
            return Some(lines.clone());
        }
        let lines: Rc<[DetailLine]> = lines_of(app, open.id)?.into();
        self.detail = Some((key, lines.clone()));
        Some(lines)
    }
}

/// The text of a trace's detail, if the store still has the trace.
pub fn lines_of(app: &State, id: TraceId) -> Option<Vec<DetailLine>> {
    Some(build(app, app.inspector.store().get(id)?))
}

/// Builds the text of a trace's detail.
pub fn build(app: &State, trace: &Trace) -> Vec<DetailLine> {
    let mut lines = Vec::new();
    let code = trace
        .code()
        .map_or_else(|| "-".to_owned(), |code| code.to_string());
    let latency = trace
        .latency()
        .map_or_else(|| "-".to_owned(), super::format_latency);
    let width = usize::from(app.size.0);
    let topic = clean(&trace.topic, MAX_NAME);
    let heading = DetailLine::default().push(
        Tone::Heading,
        format!("{} {} ", trace.id, kind_label(trace)),
    );
    let figures = DetailLine::default()
        .push(Tone::Dim, "  status ")
        .push(tone_of_status(trace), trace.status.as_str().to_owned())
        .push(Tone::Dim, format!("  code {code}  latency {latency}"));
    let fits = width_of(&heading) + width_of_text(&topic) + width_of(&figures) <= width;
    if fits {
        let mut heading = heading.push(Tone::Plain, topic);
        heading.spans.extend(figures.spans);
        lines.push(heading);
    } else {
        // A topic too long for the heading gets lines of its own, whole.
        let mut heading = heading;
        heading.spans.extend(figures.spans);
        lines.push(heading);
        field_wrapped("topic", &topic, width, &mut lines);
    }
    let is_composition = trace.kind == gilmour::inspect::TraceKind::Composition;
    if !trace.sender.is_empty() {
        // A composition's "sender" is the id its steps carry.
        let label = if is_composition {
            "execution"
        } else {
            "sender"
        };
        field_wrapped(label, &clean(&trace.sender, MAX_NAME), width, &mut lines);
    }
    lines.push(field("started", stamp(app, trace.started)));
    if !is_composition {
        lines.push(field(
            "size",
            format!("{} bytes", thousands(trace.size() as u64)),
        ));
    }
    // What the status alone does not say, before anything else: an operator acts on it.
    for note in trace.notes() {
        wrapped("note", Tone::Warn, &clean(&note, 1000), width, &mut lines);
    }
    let store = app.inspector.store();
    let in_tree = !super::waterfall::spans_of(store, trace.id).is_empty();
    links(&app.links, store, trace, in_tree, &mut lines);
    let chosen = app
        .detail
        .as_ref()
        .filter(|detail| detail.id == trace.id)
        .and_then(|detail| detail.link);
    references_line(app, trace, chosen, &mut lines);
    if let Some(original) = app
        .links
        .replay_of
        .get(&trace.id)
        .and_then(|id| store.get(*id))
    {
        reply_diff(original, trace, &mut lines);
    }
    if in_tree {
        let selected = app.detail.as_ref().map_or(0, |detail| detail.span);
        let mut rows = Vec::new();
        super::waterfall::lines(store, trace.id, selected, width, &mut rows);
        lines.extend(rows.into_iter().map(|spans| DetailLine { spans }));
    }
    if let Some(deep) = &trace.deep {
        deep_lines(app, deep, &mut lines);
    }
    if let Some(gap) = &trace.gap {
        lines.push(DetailLine::default());
        lines.push(line(
            Tone::Bad,
            "Gap: the capture was disconnected; messages may be missing",
        ));
        lines.push(field("since", stamp(app, gap.since)));
        lines.push(field("until", stamp(app, gap.until)));
        lines.push(field("lost", format!("{:.1} s", gap.lost().as_secs_f64())));
        lines.push(field("reason", clean(&gap.reason, 500)));
    }
    let start = trace.request.as_ref().map(|request| request.at);
    if let Some(request) = &trace.request {
        // A signal's message is no request (and a slot answers none).
        let title = match trace.kind {
            gilmour::inspect::TraceKind::Signal => "Signal",
            gilmour::inspect::TraceKind::Health => "Health ping",
            _ => "Request",
        };
        message(app, title, request, start, &mut lines);
    }
    if let Some(reply) = &trace.reply {
        message(app, "Reply", reply, start, &mut lines);
    }
    for (n, reply) in trace.later_replies.iter().enumerate() {
        message(
            app,
            &format!("Later reply {}", n + 1),
            reply,
            start,
            &mut lines,
        );
    }
    for (n, error) in trace.errors.iter().enumerate() {
        message(
            app,
            &format!("Error record {}", n + 1),
            error,
            start,
            &mut lines,
        );
        if error.full_len.is_none()
            && let Some(record) = ErrorView::parse(&app.channels, &error.payload)
        {
            record_fields(&record, app.tz, usize::from(app.size.0), &mut lines);
        }
    }
    lines
}

fn tone_of_status(trace: &Trace) -> Tone {
    use gilmour::inspect::TraceStatus::*;
    match trace.status {
        Ok => Tone::Good,
        Error => Tone::Bad,
        Timeout | Unanswered => Tone::Warn,
        Pending | Orphan => Tone::Dim,
    }
}

fn stamp(app: &State, at: DateTime<Utc>) -> String {
    at.with_timezone(&app.tz)
        .format("%Y-%m-%d %H:%M:%S%.6f")
        .to_string()
}

/// Replays and fired compositions; a composition's step list only when its waterfall
/// (`in_tree`) does not show its steps.
fn links(
    links: &Links,
    store: &TraceStore,
    trace: &Trace,
    in_tree: bool,
    lines: &mut Vec<DetailLine>,
) {
    if let Some(original) = links.replay_of.get(&trace.id) {
        lines.push(field("replay of", original.to_string()));
    }
    if let Some(replays) = links.replays.get(&trace.id) {
        let ids: Vec<String> = replays.iter().map(ToString::to_string).collect();
        lines.push(field("replayed as", ids.join(", ")));
    }
    let Some(&index) = links.step_of.get(&trace.sender) else {
        return;
    };
    let Some(composition) = links.compositions.get(index) else {
        return;
    };
    lines.push(field("composition", clean(&composition.text, 200)));
    if in_tree {
        return;
    }
    for (topic, sender, code) in &composition.steps {
        let this = sender.as_deref() == Some(&*trace.sender);
        let id = sender
            .as_deref()
            .and_then(|sender| store.by_sender(sender))
            .map_or_else(|| "-".to_owned(), |id| id.to_string());
        let marker = if this { "▶" } else { " " };
        lines.push(
            DetailLine::default()
                .push(Tone::Dim, format!("  {marker} step      "))
                .push(
                    if this { Tone::Heading } else { Tone::Plain },
                    clean(topic, 80),
                )
                .push(Tone::Dim, format!("  {code}  {id}")),
        );
    }
}

/// The most lines a reply diff shows.
const MAX_DIFF_LINES: usize = 400;

/// A replay's reply against its original's: the codes, then a line diff of their data as
/// pretty JSON (`-` the original's, `+` the replay's), unchanged runs cut to their
/// edges.
fn reply_diff(original: &Trace, replay: &Trace, lines: &mut Vec<DetailLine>) {
    let (Some(before), Some(after)) = (&original.reply, &replay.reply) else {
        return;
    };
    let pretty = |event: &MessageEvent| match event.data() {
        Some(data) => serde_json::to_string_pretty(&data).unwrap_or_default(),
        None => clean_bytes(&event.payload, MAX_RAW),
    };
    let (old, new) = (pretty(before), pretty(after));
    lines.push(DetailLine::default());
    lines.push(line(
        Tone::Heading,
        format!("Reply against the original's ({})", original.id),
    ));
    let code = |event: &MessageEvent| event.code.map_or_else(|| "-".to_owned(), |c| c.to_string());
    let (old_code, new_code) = (code(before), code(after));
    if old_code == new_code {
        lines.push(field("code", format!("{new_code} (the same)")));
    } else {
        lines.push(
            DetailLine::default()
                .push(Tone::Dim, format!("  {:<12}", "code"))
                .push(Tone::Bad, format!("-{old_code} "))
                .push(Tone::Good, format!("+{new_code}")),
        );
    }
    if old == new {
        lines.push(line(Tone::Dim, "  data        the same"));
        return;
    }
    let diff = similar::TextDiff::from_lines(&old, &new);
    let mut shown = 0;
    for group in diff.grouped_ops(2) {
        if shown > 0 {
            lines.push(line(Tone::Dim, "    ⋯"));
        }
        for op in group {
            for change in diff.iter_changes(&op) {
                if shown == MAX_DIFF_LINES {
                    lines.push(line(
                        Tone::Warn,
                        "    … the diff goes on (w writes both to a file)",
                    ));
                    return;
                }
                let (sign, tone) = match change.tag() {
                    similar::ChangeTag::Delete => ("-", Tone::Bad),
                    similar::ChangeTag::Insert => ("+", Tone::Good),
                    similar::ChangeTag::Equal => (" ", Tone::Dim),
                };
                let text = change.value().trim_end_matches('\n');
                lines.push(line(tone, format!("  {sign} {}", clean(text, 500))));
                shown += 1;
            }
        }
    }
}

/// How many references the line shows before the chosen one: the line is cut at the
/// edge, and the chosen one must stay on it.
const REFERENCES_BEFORE: usize = 2;

/// The traces this one refers to, as links: Tab chooses one (highlighted), Enter
/// follows it.
fn references_line(app: &State, trace: &Trace, chosen: Option<usize>, lines: &mut Vec<DetailLine>) {
    let found = references(&app.links, trace);
    if found.is_empty() {
        return;
    }
    let first = chosen.map_or(0, |at| at.saturating_sub(REFERENCES_BEFORE));
    let mut line = DetailLine::default().push(Tone::Dim, format!("  {:<12}", "links"));
    if first > 0 {
        line = line.push(Tone::Dim, "… ");
    }
    for (at, (relation, id)) in found.iter().enumerate().skip(first) {
        let tone = if Some(at) == chosen {
            Tone::Match
        } else {
            Tone::Key
        };
        line = line
            .push(tone, format!("{id}"))
            .push(Tone::Dim, format!(" {}  ", relation.label()));
    }
    if chosen.is_none() {
        line = line.push(Tone::Dim, "(tab chooses, enter follows)");
    }
    lines.push(line);
}

fn message(
    app: &State,
    title: &str,
    event: &MessageEvent,
    start: Option<DateTime<Utc>>,
    lines: &mut Vec<DetailLine>,
) {
    lines.push(DetailLine::default());
    let offset = start
        .and_then(|start| (event.at - start).to_std().ok())
        .filter(|offset| !offset.is_zero())
        .map(|offset| format!(" (+{})", super::format_latency(offset)))
        .unwrap_or_default();
    let width = usize::from(app.size.0);
    let channel = clean(&event.channel, MAX_NAME);
    let when = format!(
        "at {}{offset}  {} bytes",
        event.at.with_timezone(&app.tz).format("%H:%M:%S%.6f"),
        thousands(event.payload_len() as u64)
    );
    let heading = DetailLine::default()
        .push(Tone::Heading, title.to_owned())
        .push(Tone::Dim, "  on ");
    if width_of(&heading) + width_of_text(&channel) > width {
        // A channel too long for the heading gets lines of its own, whole.
        lines.push(DetailLine::default().push(Tone::Heading, title.to_owned()));
        field_wrapped("channel", &channel, width, lines);
        lines.push(line(Tone::Dim, format!("  {when}")));
    } else {
        let heading = heading.push(Tone::Plain, channel);
        // On a narrow terminal the time and size go on a line of their own, not off the
        // edge.
        if width_of(&heading) + 2 + when.chars().count() > width {
            lines.push(heading);
            lines.push(line(Tone::Dim, format!("  {when}")));
        } else {
            lines.push(heading.push(Tone::Dim, format!("  {when}")));
        }
    }
    if let Some(full) = event.full_len {
        lines.push(
            DetailLine::default()
                .push(Tone::Dim, format!("  {:<12}", "payload"))
                .push(Tone::Warn, kept_short(full, event.payload.len())),
        );
    }
    if let Some(code) = event.code {
        lines.push(field("code", code.to_string()));
    }
    if let Some(why) = &event.payload_error {
        wrapped("flagged", Tone::Warn, &clean(why, 1000), width, lines);
    }
    // An error record is not an envelope: its fields follow the raw payload.
    if event.kind != EventKind::Error {
        lines.push(line(Tone::Dim, "  data"));
        match event.data() {
            Some(data) => pretty(&data, lines),
            // The whole text of a payload that did not parse, or the first part of one
            // cut short, is not the data: never shown as if it were.
            None if event.full_len.is_some() => lines.push(line(
                Tone::Warn,
                "    not shown: the payload was kept only in part (its start is below)",
            )),
            None => lines.push(line(
                Tone::Warn,
                "    not shown: the payload is not a well-formed envelope (it is below as is)",
            )),
        }
    }
    lines.push(line(
        Tone::Dim,
        if event.full_len.is_some() {
            "  raw (the part kept)"
        } else {
            "  raw"
        },
    ));
    let raw = clean_bytes(&event.payload, MAX_RAW);
    let chars: Vec<char> = raw.chars().collect();
    for chunk in chars.chunks(RAW_WIDTH.min(width.saturating_sub(4)).max(20)) {
        lines.push(line(
            Tone::Dim,
            format!("    {}", chunk.iter().collect::<String>()),
        ));
    }
}

fn record_fields(record: &ErrorView, tz: FixedOffset, width: usize, lines: &mut Vec<DetailLine>) {
    if let Some(note) = record.layout.note() {
        let text = format!("{}: {note}", record.layout.as_str());
        wrapped("layout", Tone::Warn, &text, width, lines);
    }
    if record.topic.is_empty() {
        lines.push(
            DetailLine::default()
                .push(Tone::Dim, format!("  {:<12}", "topic"))
                .push(Tone::Warn, "not in the record"),
        );
    } else {
        field_wrapped("topic", &clean(&record.topic, MAX_NAME), width, lines);
    }
    lines.push(field("code", record.code.to_string()));
    field_wrapped("sender", &clean(&record.sender, MAX_NAME), width, lines);
    lines.push(match record.timestamp {
        Some(at) => field("timestamp", record_time(at, tz)),
        None => DetailLine::default()
            .push(Tone::Dim, format!("  {:<12}", "timestamp"))
            .push(Tone::Plain, clean(&record.timestamp_text, 100))
            .push(Tone::Warn, "  (not a time this app reads)"),
    });
    for (name, value) in [
        ("request data", request_data(record)),
        ("reply data", record.reply.clone()),
    ] {
        lines.push(line(Tone::Dim, format!("  {name}")));
        if value.is_null() {
            // Go's records send the request data empty: nothing to show, not `null`.
            lines.push(line(Tone::Dim, "    none in the record"));
        } else {
            pretty(&value, lines);
        }
    }
    if !record.backtrace.is_null() {
        lines.push(line(Tone::Dim, "  backtrace"));
        let text = match &record.backtrace {
            serde_json::Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        for text_line in text.lines().take(MAX_LINES) {
            lines.push(line(Tone::Plain, format!("    {}", clean(text_line, 500))));
        }
    }
}

/// A record's time in the app's time zone, to the precision it was written with (Ruby
/// and Go write whole seconds), the same for every layout.
pub fn record_time(at: DateTime<Utc>, tz: FixedOffset) -> String {
    at.with_timezone(&tz)
        .format("%Y-%m-%d %H:%M:%S%.f")
        .to_string()
}

/// A host's lines, for the services screen's host dialog: its ident and every channel
/// it serves, whole.
pub fn host_lines(host: &Host, width: usize) -> Vec<DetailLine> {
    let mut lines = Vec::new();
    field_wrapped("ident", &clean(&host.ident, MAX_NAME), width, &mut lines);
    lines.push(field("announces", clean(&host.value, 200)));
    let (state, tone) = super::services::state_text(host.health.state());
    let mut state_line = DetailLine::default()
        .push(Tone::Dim, format!("  {:<12}", "state"))
        .push(tone, state);
    let answered = host.health.latency().map(super::format_latency);
    state_line = match (&host.health, answered) {
        (Health::Alive { .. }, Some(latency)) => {
            state_line.push(Tone::Dim, format!("  answered its ping in {latency}"))
        }
        (Health::Slow { .. }, Some(latency)) => state_line.push(
            Tone::Dim,
            format!("  answered its ping, but slowly: in {latency}"),
        ),
        (Health::Failing { code, .. }, Some(latency)) => state_line.push(
            Tone::Dim,
            format!("  answered its ping in {latency}, with code {code}: its health check fails"),
        ),
        _ => state_line,
    };
    lines.push(state_line);
    match &host.health {
        Health::Alive { topics, .. } | Health::Slow { topics, .. } => {
            lines.push(line(Tone::Dim, format!("  serves ({})", topics.len())));
            for topic in topics {
                let mut served = Vec::new();
                field_wrapped("", &clean(topic, MAX_NAME), width, &mut served);
                lines.extend(served);
            }
        }
        Health::Failing { reply, .. } => {
            lines.push(line(Tone::Dim, "  it answered"));
            pretty(reply, &mut lines);
        }
        Health::Dead { reason } => {
            let why = clean(&reason.to_string(), 1000);
            wrapped("why", Tone::Plain, &why, width, &mut lines);
        }
    }
    lines
}

/// The record's lines, for the errors screen's record dialog.
pub fn record_lines(record: &ErrorView, tz: FixedOffset, width: usize) -> Vec<DetailLine> {
    let mut lines = Vec::new();
    record_fields(record, tz, width, &mut lines);
    lines
}

/// Appends `value` as pretty JSON, highlighted, at most [`MAX_LINES`] lines.
pub fn pretty(value: &serde_json::Value, lines: &mut Vec<DetailLine>) {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    let total = text.lines().count();
    for text_line in text.lines().take(MAX_LINES) {
        lines.push(highlight(text_line));
    }
    if total > MAX_LINES {
        lines.push(line(
            Tone::Warn,
            format!(
                "    … {} more lines not shown (w writes the trace to a file)",
                total - MAX_LINES
            ),
        ));
    }
}

/// One line of pretty JSON, in tones: keys, strings, numbers, literals.
fn highlight(text: &str) -> DetailLine {
    let mut out = DetailLine::default().push(Tone::Plain, "    ");
    let mut rest = text;
    while !rest.is_empty() {
        let first = rest.chars().next().unwrap_or(' ');
        let (token, tone) = if first == '"' {
            let end = string_end(rest);
            let token = &rest[..end];
            let is_key = rest[end..].starts_with(':');
            (token, if is_key { Tone::Key } else { Tone::Str })
        } else if first == '-' || first.is_ascii_digit() {
            let end = rest
                .find(|c: char| !(c.is_ascii_digit() || "+-.eE".contains(c)))
                .unwrap_or(rest.len());
            (&rest[..end], Tone::Num)
        } else if let Some(word) = ["true", "false", "null"]
            .into_iter()
            .find(|word| rest.starts_with(word))
        {
            (&rest[..word.len()], Tone::Literal)
        } else {
            let end = rest
                .find(|c: char| c == '"' || c == '-' || c.is_ascii_alphanumeric())
                .unwrap_or(rest.len());
            // At least one character, so that the scan always moves on.
            let end = if end == 0 { first.len_utf8() } else { end };
            (&rest[..end], Tone::Plain)
        };
        // serde_json escapes control characters but not bidi or zero-width ones.
        out = out.push(tone, clean(token, usize::MAX));
        rest = &rest[token.len()..];
    }
    out
}

/// The byte just past the closing quote of the JSON string `text` starts with.
fn string_end(text: &str) -> usize {
    let mut escaped = false;
    for (at, c) in text.char_indices().skip(1) {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return at + 1,
            _ => escaped = false,
        }
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::action::Action;
    use crate::tui::fixture::{self, reply, request, update};
    use serde_json::json;

    #[test]
    fn the_cache_builds_again_only_when_the_open_trace_changes() {
        let mut app = fixture::app(100, 20);
        update(
            &mut app,
            Action::Events(vec![request(100, "users.get", "s-wait", "7")]),
        );
        let id = app.inspector.store().by_sender("s-wait").expect("captured");
        app.state.open(id);
        let mut cache = Cache::default();
        let first = cache.detail(&app).expect("open");
        update(
            &mut app,
            Action::Events(vec![request(200, "other", "s-other", "1")]),
        );
        let again = cache.detail(&app).expect("open");
        assert!(Rc::ptr_eq(&first, &again), "another trace changed: kept");
        update(
            &mut app,
            Action::Events(vec![reply(300, "s-wait", 200, "8")]),
        );
        let grown = cache.detail(&app).expect("open");
        assert!(
            !Rc::ptr_eq(&first, &grown),
            "its own reply came: built again"
        );
        assert!(grown.iter().any(|line| line.text().starts_with("Reply")));
        update(&mut app, Action::Resize(60, 20));
        let narrow = cache.detail(&app).expect("open");
        assert!(
            !Rc::ptr_eq(&grown, &narrow),
            "the width changed: built again"
        );
    }

    fn tones(line: &DetailLine) -> Vec<(Tone, &str)> {
        line.spans
            .iter()
            .map(|(tone, text)| (*tone, text.as_str()))
            .collect()
    }

    #[test]
    fn highlights_keys_strings_numbers_and_literals() {
        let line = highlight(r#"  "a\"b": [1.5e3, "x", true, null],"#);
        assert_eq!(
            tones(&line),
            [
                (Tone::Plain, "    "),
                (Tone::Plain, "  "),
                (Tone::Key, r#""a\"b""#),
                (Tone::Plain, ": ["),
                (Tone::Num, "1.5e3"),
                (Tone::Plain, ", "),
                (Tone::Str, r#""x""#),
                (Tone::Plain, ", "),
                (Tone::Literal, "true"),
                (Tone::Plain, ", "),
                (Tone::Literal, "null"),
                (Tone::Plain, "],"),
            ]
        );
    }

    #[test]
    fn notes_wrap_at_spaces_and_long_words_stay_whole() {
        assert_eq!(wrap("a bb ccc dddd", 6), ["a bb", "ccc", "dddd"]);
        assert_eq!(wrap("abcdefghij k", 4), ["abcdefghij", "k"]);
        assert_eq!(wrap("", 4), [""]);
        let mut lines = Vec::new();
        let note = "one two three four five six";
        wrapped("note", Tone::Warn, note, LABEL_WIDTH + 20, &mut lines);
        let text: Vec<String> = lines.iter().map(DetailLine::text).collect();
        assert_eq!(
            text,
            ["  note        one two three four", "              five six"]
        );
    }

    #[test]
    fn hostile_text_is_escaped_and_huge_data_cut() {
        let mut lines = Vec::new();
        pretty(&json!({"k": "\u{1b}[2J\u{202e}evil"}), &mut lines);
        let text: String = lines.iter().map(DetailLine::text).collect();
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{202e}'),
            "{text}"
        );
        assert!(text.contains("\\u{202e}"), "{text}");
        let mut lines = Vec::new();
        pretty(&json!((0..MAX_LINES * 2).collect::<Vec<_>>()), &mut lines);
        assert_eq!(lines.len(), MAX_LINES + 1);
        assert!(lines[MAX_LINES].text().contains("more lines not shown"));
    }
}
