//! The trace list: only the visible window is built, from the cached filtered list, so a
//! store of a million traces draws as fast as one of a hundred.

use super::{bytes, fit, format_latency};
use crate::tui::state::State;
use crate::tui::theme;
use gilmour::inspect::sanitize::{clean, clean_bytes};
use gilmour::inspect::stats::label_of;
use gilmour::inspect::{EventKind, MessageEvent, Trace};
use gilmour::protocol::ErrorView;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

/// Payloads up to this size are parsed for the preview; bigger ones are previewed from
/// their first bytes, so a huge payload costs no more than a small one.
const PARSE_PREVIEW_UNDER: usize = 4096;

/// Where a gap's text starts: after the mark and time columns and their spacing.
const GAP_TEXT_AT: u16 = 2 + 1 + 12 + 1;

/// The columns' widths but the topic's and the data's, which share the rest.
const FIXED: [u16; 7] = [2, 12, 7, 4, 8, 8, 6];

/// The widest the topic column gets.
const TOPIC: u16 = 32;

/// The width of the "answered by" column, shown with deep capture when there is room.
const ANSWERED_BY: u16 = 18;

/// The width of each column for a list `width` wide: the topic takes what it needs up
/// to [`TOPIC`], the data the rest; with deep capture, an "answered by" column comes
/// before the data once the data keeps 20 columns. Computed here rather than by the
/// table so that every cell's text is cut to its column with a visible `…`.
fn widths(width: u16, deep: bool) -> (u16, u16, u16, Vec<Constraint>) {
    let spacing = FIXED.len() as u16 + 1;
    let room = width.saturating_sub(FIXED.iter().sum::<u16>() + spacing);
    let topic = room.min(TOPIC);
    let mut data = room - topic;
    let answered = if deep && data >= ANSWERED_BY + 1 + 20 {
        data -= ANSWERED_BY + 1;
        ANSWERED_BY
    } else {
        0
    };
    let [mark, time, kind, code, latency, sender, size] = FIXED.map(Constraint::Length);
    let mut columns = vec![
        mark,
        time,
        kind,
        Constraint::Length(topic),
        code,
        latency,
        sender,
        size,
    ];
    if answered > 0 {
        columns.push(Constraint::Length(answered));
    }
    columns.push(Constraint::Length(data));
    (topic, answered, data, columns)
}

/// Who answered, short: an engine's `gilmour:<host>-pid-<pid>-uuid-<uuid>` as
/// `<host>:<pid>·<first 4 of uuid>` (two engines of one process still differ), any other
/// name as it is, else the address.
fn responder_label(trace: &Trace) -> Option<String> {
    let client = trace.deep.as_ref()?.responder.as_ref()?;
    Some(short_client(client.label()))
}

/// A client's name (or address) short: an engine's
/// `gilmour:<host>-pid-<pid>-uuid-<uuid>` as `<host>:<pid>·<first 4 of uuid>`, anything
/// else as it is.
pub fn short_client(label: &str) -> String {
    label
        .strip_prefix("gilmour:")
        .and_then(|ident| {
            let (host, rest) = ident.split_once("-pid-")?;
            let (pid, uuid) = rest.split_once("-uuid-")?;
            Some(format!("{host}:{pid}·{}", uuid.get(..4)?))
        })
        .unwrap_or_else(|| label.to_owned())
}

/// Draws the list.
pub fn draw(frame: &mut Frame, area: Rect, app: &State) {
    let shown = app.shown();
    if shown == 0 {
        let text = if app.inspector.store().is_empty() {
            "  waiting for traffic…"
        } else {
            "  no trace matches the filter (Esc clears it)"
        };
        frame.render_widget(
            Paragraph::new(text).style(theme::tone(theme::Tone::Dim)),
            area,
        );
        return;
    }
    let rows = usize::from(area.height.saturating_sub(1));
    let selected = app.selected_row();
    let top = app.top_row();
    // The cursor stays visible even before `update` has scrolled for a resize.
    let top = match selected {
        Some(row) if row >= top + rows => row + 1 - rows,
        Some(row) if row < top => row,
        _ => top,
    };
    let (topic_width, answered_width, data_width, columns) = widths(area.width, app.deep);
    let store = app.inspector.store();
    let list = &app.traces.list;
    let mut table_rows = Vec::with_capacity(rows);
    let mut gaps = Vec::new();
    for row in top..(top + rows).min(shown) {
        let Some(trace) = list.at_row(row, shown).and_then(|id| store.get(id)) else {
            continue;
        };
        let mut built = if trace.gap.is_some() {
            gaps.push((table_rows.len(), trace));
            gap_row(trace, app)
        } else {
            trace_row(trace, app, topic_width, answered_width, data_width)
        };
        if Some(row) == selected {
            built = built.style(theme::selected());
        }
        table_rows.push(built);
    }
    let mut titles = vec![
        "", "time", "kind", "topic", "code", "latency", "sender", "size",
    ];
    if answered_width > 0 {
        titles.push("answered by");
    }
    titles.push("data");
    let header = Row::new(titles).style(theme::tone(theme::Tone::Dim).add_modifier(Modifier::BOLD));
    frame.render_widget(Table::new(table_rows, columns).header(header), area);
    // A gap's text runs across the columns after its time.
    for (index, trace) in gaps {
        let Some(gap) = &trace.gap else {
            continue;
        };
        let text = format!(
            "gap     ── capture lost {:.1} s: messages may be missing ({}) ──",
            gap.lost().as_secs_f64(),
            clean(&gap.reason, 80)
        );
        let mut style = theme::tone(theme::Tone::Bad).add_modifier(Modifier::BOLD);
        if app.selected_trace() == Some(trace.id) {
            style = style.patch(theme::selected());
        }
        let x = area.x + GAP_TEXT_AT;
        let line = Rect {
            x,
            y: area.y + 1 + index as u16,
            width: area.right().saturating_sub(x),
            height: 1,
        };
        let text = fit(&text, usize::from(line.width));
        frame.render_widget(Paragraph::new(Span::styled(text, style)), line);
    }
}

fn trace_row<'a>(
    trace: &Trace,
    app: &State,
    topic_width: u16,
    answered_width: u16,
    data_width: u16,
) -> Row<'a> {
    let status = theme::status(trace.status);
    let kind = if app.links.replay_of.contains_key(&trace.id) {
        format!("{}↻", trace.kind.as_str())
    } else {
        trace.kind.as_str().to_owned()
    };
    let code = trace
        .code()
        .map_or_else(|| "-".to_owned(), |code| code.to_string());
    let code = if trace.is_complete() || trace.code().is_some() {
        code
    } else {
        "…".to_owned()
    };
    let latency = trace.latency().map_or_else(String::new, format_latency);
    let mark = if app.traces.marks.contains(&trace.id) {
        Span::styled("*", theme::mark())
    } else {
        Span::raw(" ")
    };
    // `!`: a payload kept but flagged (not an envelope, cut short); `+`: the detail has
    // notes beyond the status (a late answer, a spurious timeout, a Go-style record).
    let flag = if trace.is_flagged() {
        Span::styled("!", theme::tone(theme::Tone::Warn))
    } else if trace.has_notes() {
        Span::styled("+", theme::tone(theme::Tone::Warn))
    } else {
        Span::raw(" ")
    };
    let mut cells = vec![
        Cell::from(Line::from(vec![mark, flag])),
        Cell::from(
            trace
                .started
                .with_timezone(&app.tz)
                .format("%H:%M:%S%.3f")
                .to_string(),
        ),
        Cell::from(Span::styled(kind, status)),
        topic_cell(trace, usize::from(topic_width)),
        Cell::from(Span::styled(code, status)),
        Cell::from(latency),
        Cell::from(clean(gilmour::protocol::short_sender(&trace.sender), 8))
            .style(theme::tone(theme::Tone::Dim)),
        Cell::from(bytes(trace.size())),
    ];
    if answered_width > 0 {
        let answered = responder_label(trace).unwrap_or_default();
        cells.push(Cell::from(fit(
            &clean(&answered, 200),
            usize::from(answered_width),
        )));
    }
    cells.push(Cell::from(
        trace
            .headline()
            .map(|event| preview(event, app, usize::from(data_width)))
            .unwrap_or_default(),
    ));
    Row::new(cells)
}

/// A trace's topic; one without (an orphan reply, a record that names none) shows the
/// label its figures are counted under, dimmed, rather than a blank.
fn topic_cell<'a>(trace: &Trace, width: usize) -> Cell<'a> {
    if trace.topic.is_empty() {
        Cell::from(Span::styled(
            fit(label_of(trace), width),
            theme::tone(theme::Tone::Dim),
        ))
    } else {
        Cell::from(fit(&trace.topic, width))
    }
}

fn gap_row<'a>(trace: &Trace, app: &State) -> Row<'a> {
    Row::new([
        Cell::from(""),
        Cell::from(
            trace
                .started
                .with_timezone(&app.tz)
                .format("%H:%M:%S%.3f")
                .to_string(),
        ),
    ])
}

/// The data of a message, on one line, fitted to its cell; for a payload whose data
/// cannot be told (cut short, or an envelope that did not parse), why not.
fn preview(event: &MessageEvent, app: &State, width: usize) -> Span<'static> {
    let flagged = |text: &str| Span::styled(fit(text, width), theme::tone(theme::Tone::Warn));
    if let Some(full) = event.full_len {
        return flagged(&super::kept_short(full, event.payload.len()));
    }
    if event.is_broken_envelope() {
        return flagged(
            event
                .payload_error
                .as_deref()
                .unwrap_or("the envelope did not parse"),
        );
    }
    if event.kind == EventKind::Error {
        return match ErrorView::parse(&app.channels, &event.payload) {
            Some(record) => Span::raw(fit(&record.reply_text(), width)),
            None => flagged(
                event
                    .payload_error
                    .as_deref()
                    .unwrap_or("not an error record"),
            ),
        };
    }
    if event.payload.len() < PARSE_PREVIEW_UNDER {
        let data = event.data().unwrap_or_default();
        return Span::raw(fit(&data.to_string(), width));
    }
    // Our engine and Go's write `data` first: skip the envelope's opening. The text is
    // cut, so it always ends in `…`.
    let payload: &[u8] = &event.payload;
    let data = payload.strip_prefix(b"{\"data\":").unwrap_or(payload);
    let mut text = clean_bytes(data, width.saturating_sub(1));
    if !text.ends_with('…') {
        text.push('…');
    }
    Span::raw(fit(&text, width))
}
