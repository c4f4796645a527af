//! The trace list: only the visible window is built, from the cached filtered list, so a
//! store of a million traces draws as fast as one of a hundred.

use super::columns::{self, Step, plan, step};
use super::grid::{Grid, Row};
use super::{bytes, fit, format_latency};
use crate::tui::model::kind_label;
use crate::tui::state::State;
use crate::tui::theme;
use chrono::{DateTime, FixedOffset, Timelike, Utc};
use gilmour::inspect::sanitize::{clean, clean_bytes};
use gilmour::inspect::stats::label_of;
use gilmour::inspect::{EventKind, MessageEvent, Trace};
use gilmour::protocol::ErrorView;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// Payloads up to this size are parsed for the preview; bigger ones are previewed from
/// their first bytes, so a huge payload costs no more than a small one.
const PARSE_PREVIEW_UNDER: usize = 4096;

/// Where a gap's text starts: after the mark and time columns and their spacing.
const GAP_TEXT_AT: u16 = 2 + 1 + 12 + 1;

/// The columns, in the table's order.
const TITLES: [&str; 10] = [
    "",
    "time",
    "kind",
    "topic",
    "code",
    "latency",
    "sender",
    "size",
    "answered by",
    "data (→ sent)",
];
const MARK: usize = 0;
const TIME: usize = 1;
const KIND: usize = 2;
const TOPIC: usize = 3;
const CODE: usize = 4;
const LATENCY: usize = 5;
const SENDER: usize = 6;
const SIZE: usize = 7;
const ANSWERED: usize = 8;
const DATA: usize = 9;

/// What gives way first on a narrow terminal: the columns in order of importance. The
/// topic never gets fewer than 16 columns (a topic cut to a few letters reads as another)
/// and the data keeps 12 before latency, sender and size are shown; with deep capture,
/// "answered by" comes last. The data takes the rest.
const PLAN: [Step; 13] = [
    step(MARK, 2),
    step(TIME, 12),
    step(TOPIC, 16),
    step(KIND, 7),
    step(CODE, 4),
    step(DATA, 12),
    step(LATENCY, 8),
    step(TOPIC, 24),
    step(DATA, 20),
    step(SENDER, 8),
    step(SIZE, 6),
    step(TOPIC, 32),
    step(ANSWERED, 18),
];

/// The width of each column for a list `width` wide (0: not shown). Computed here rather
/// than by the table so that every cell's text is cut to its column with a visible `…`.
///
/// A topic width the user chose takes the topic's place in the plan: it shows at its
/// least width where it always did, then widens to the width chosen as soon as the
/// kind, code, a little data and the latency are shown; the other columns have what is
/// left.
fn widths(width: u16, deep: bool, topic: Option<u16>) -> Vec<u16> {
    let mut steps: Vec<Step> = if deep {
        PLAN.to_vec()
    } else {
        PLAN[..PLAN.len() - 1].to_vec()
    };
    if let Some(chosen) = topic {
        steps.retain(|step| step.column != TOPIC);
        let place = |steps: &[Step], column| {
            steps
                .iter()
                .position(|step| step.column == column)
                .map_or(0, |at| at + 1)
        };
        steps.insert(place(&steps, TIME), step(TOPIC, chosen.min(16)));
        steps.insert(place(&steps, LATENCY), step(TOPIC, chosen));
    }
    let mut widths = plan(width, TITLES.len(), &steps, Some(DATA));
    // "Answered by" is worth showing only beside a readable data column.
    if widths[ANSWERED] > 0 && widths[DATA] < 20 {
        widths[DATA] += widths[ANSWERED] + 1;
        widths[ANSWERED] = 0;
    }
    widths
}

/// How wide the topic column is drawn in a list `width` wide.
pub fn topic_width(width: u16, deep: bool, topic: Option<u16>) -> u16 {
    widths(width, deep, topic)[TOPIC]
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
    let widths = widths(area.width, app.deep, app.traces.topic_width);
    let store = app.inspector.store();
    let mut table_rows = Vec::with_capacity(rows);
    let mut gaps = Vec::new();
    for row in top..(top + rows).min(shown) {
        let Some(trace) = app.traces.at_row(row).and_then(|id| store.get(id)) else {
            continue;
        };
        let mut built = if trace.gap.is_some() {
            gaps.push((table_rows.len(), trace));
            gap_row(trace, app)
        } else {
            trace_row(trace, app, &widths)
        };
        if Some(row) == selected {
            built = built.style(theme::selected());
        }
        table_rows.push(built);
    }
    let header = Row::new(
        columns::shown(&widths, titles(app, &widths))
            .into_iter()
            .map(Line::from),
    )
    .style(theme::tone(theme::Tone::Dim).add_modifier(Modifier::BOLD));
    frame.render_widget(
        Grid {
            widths: &widths,
            header,
            rows: table_rows,
        },
        area,
    );
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

/// The column titles, the sorted column's with its arrow (`latency▼`), cut to fit its
/// column so that the arrow always shows.
fn titles(app: &State, widths: &[u16]) -> Vec<String> {
    let sort = app.traces.sort();
    TITLES
        .iter()
        .enumerate()
        .map(|(column, title)| {
            if sort.is_default() || *title != sort.column.title() {
                return (*title).to_owned();
            }
            let room = usize::from(widths[column]).saturating_sub(1);
            let title: String = title.chars().take(room).collect();
            format!("{title}{}", sort.arrow())
        })
        .collect()
}

fn trace_row<'a>(trace: &Trace, app: &State, widths: &[u16]) -> Row<'a> {
    let width = |column: usize| usize::from(widths[column]);
    let status = theme::status(trace.status);
    let kind = if app.links.replay_of.contains_key(&trace.id) {
        format!("{}↻", kind_label(trace))
    } else {
        kind_label(trace).to_owned()
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
    // Only the cells of shown columns are built: a hidden data column costs nothing.
    let cell = |column: usize| -> (Line<'a>, Style) {
        match column {
            MARK => plain(Line::from(vec![mark.clone(), flag.clone()])),
            TIME => plain(clock(trace.started, &app.tz)),
            KIND => plain(Span::styled(kind.clone(), status)),
            TOPIC => topic_cell(trace, width(TOPIC)),
            CODE => plain(Span::styled(code.clone(), status)),
            LATENCY => plain(latency.clone()),
            SENDER => (
                Line::from(super::sender_label(&trace.sender, 8)),
                theme::tone(theme::Tone::Dim),
            ),
            SIZE => plain(bytes(trace.size())),
            ANSWERED => plain(fit(
                &clean(&responder_label(trace).unwrap_or_default(), 200),
                width(ANSWERED),
            )),
            _ => match &trace.links {
                // A composition has no payload of its own: how many steps, and whether
                // the inspector guessed them.
                Some(links) if trace.kind == gilmour::inspect::TraceKind::Composition => {
                    let steps = links.children.len() + links.cut as usize;
                    let inferred = if links.inferred { ", inferred" } else { "" };
                    let text = format!(
                        "{steps} step{}{inferred}",
                        if steps == 1 { "" } else { "s" }
                    );
                    plain(Span::styled(text, theme::tone(theme::Tone::Dim)))
                }
                _ => match trace.headline() {
                    // The reply's data when there is one; what was sent (a request still
                    // waiting, a signal) is marked `→`, so the column never leaves one guessing.
                    Some(event) if trace.reply.is_none() && trace.request.is_some() => {
                        plain(Line::from(vec![
                            Span::styled("→ ", theme::tone(theme::Tone::Dim)),
                            preview(event, app, width(DATA).saturating_sub(2)),
                        ]))
                    }
                    Some(event) => plain(preview(event, app, width(DATA))),
                    None => plain(""),
                },
            },
        }
    };
    Row {
        cells: (0..TITLES.len())
            .filter(|column| widths[*column] > 0)
            .map(cell)
            .collect(),
        style: Style::default(),
    }
}

/// A trace's topic; one without (an orphan reply, a record that names none) shows the
/// label its figures are counted under, dimmed, rather than a blank.
fn topic_cell<'a>(trace: &Trace, width: usize) -> (Line<'a>, Style) {
    if trace.topic.is_empty() {
        plain(Span::styled(
            fit(label_of(trace), width),
            theme::tone(theme::Tone::Dim),
        ))
    } else {
        plain(fit(&trace.topic, width))
    }
}

fn gap_row<'a>(trace: &Trace, app: &State) -> Row<'a> {
    Row::new([Line::from(""), Line::from(clock(trace.started, &app.tz))])
}

/// When a trace started, `21:00:00.104` in the app's time zone: what chrono's
/// `%H:%M:%S%.3f` writes (a leap second as :60), without parsing that format for
/// every row of every frame.
fn clock(at: DateTime<Utc>, tz: &FixedOffset) -> String {
    let time = at.with_timezone(tz).time();
    let second = time.second() + time.nanosecond() / 1_000_000_000;
    let milli = time.nanosecond() / 1_000_000 % 1000;
    let digit = |n: u32| char::from(b'0' + (n % 10) as u8);
    let mut out = String::with_capacity(12);
    for (n, after) in [(time.hour(), ':'), (time.minute(), ':'), (second, '.')] {
        out.push(digit(n / 10));
        out.push(digit(n));
        out.push(after);
    }
    out.extend([digit(milli / 100), digit(milli / 10), digit(milli)]);
    out
}

/// A cell of `text` with no style of its own.
fn plain<'a>(text: impl Into<Line<'a>>) -> (Line<'a>, Style) {
    (text.into(), Style::default())
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

#[cfg(test)]
mod tests {
    use super::clock;
    use chrono::{DateTime, FixedOffset, NaiveDate, Offset, TimeDelta, Utc};

    #[test]
    fn the_clock_reads_as_chrono_writes_it() {
        let start = NaiveDate::from_ymd_opt(2026, 12, 31)
            .and_then(|day| day.and_hms_opt(23, 59, 58))
            .map(|time| time.and_utc())
            .unwrap_or_default();
        let leap = NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|day| day.and_hms_milli_opt(23, 59, 59, 1_250))
            .map(|time| time.and_utc())
            .unwrap_or_default();
        let zones = [0, 5 * 3600 + 1800, -(9 * 3600 + 45 * 60)]
            .map(|east| FixedOffset::east_opt(east).unwrap_or(Utc.fix()));
        let times = (0..5000i64)
            .map(|step| start + TimeDelta::microseconds(step * 997))
            .chain([leap, DateTime::<Utc>::UNIX_EPOCH]);
        for at in times {
            for tz in &zones {
                let chrono = at.with_timezone(tz).format("%H:%M:%S%.3f").to_string();
                assert_eq!(clock(at, tz), chrono, "{at:?} in {tz}");
            }
        }
        assert_eq!(clock(leap, &zones[0]), "23:59:60.250");
    }
}
