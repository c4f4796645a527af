//! The errors screen: a page of the error queue, newest first, then the records seen live
//! on the error channel; each row says where it is from and which trace it belongs to.

use super::columns::{self, Step, constraints, plan, step};
use super::{fit, thousands};
use crate::tui::model::{ERRORS_PAGE, live_record};
use crate::tui::state::State;
use crate::tui::state::layout::window_start;
use crate::tui::theme::{self, Tone};
use gilmour::inspect::sanitize::clean;
use gilmour::protocol::{ErrorView, RecordLayout};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

/// Draws the screen.
pub fn draw(frame: &mut Frame, area: Rect, app: &State) {
    let errors = &app.errors;
    frame.render_widget(
        Paragraph::new(Line::from(title(app, usize::from(area.width)))),
        Rect { height: 1, ..area },
    );
    let table_area = Rect {
        y: area.y + 1,
        height: area.height.saturating_sub(1),
        ..area
    };
    let (cells, widths) = columns(table_area.width);
    let widths = &widths[..];
    let store = app.inspector.store();
    let queued = errors.queue.iter().map(|entry| match &entry.record {
        Some(record) => row(
            app,
            (cells, widths),
            "queue",
            record,
            store.by_sender(&record.sender),
        ),
        None => Row::new(columns::shown(
            widths,
            [
                Cell::from("queue"),
                Cell::from(""),
                Cell::from(""),
                Cell::from(""),
                Cell::from(Span::styled("not a record", theme::tone(Tone::Warn))),
                Cell::from(""),
                Cell::from(""),
                Cell::from(fit(&entry.raw, cells.reply)),
            ],
        )),
    });
    // Only the rows up to the window's end are read: the rest are never parsed.
    let live = errors.live.iter().rev().map(|live| {
        let record = store
            .get(live.id)
            .and_then(|trace| live_record(&app.channels, trace));
        match record {
            Some((record, _)) => row(app, (cells, widths), "live", &record, Some(live.id)),
            None => Row::new(columns::shown(
                widths,
                [
                    Cell::from("live"),
                    Cell::from(""),
                    Cell::from(""),
                    Cell::from(""),
                    Cell::from(Span::styled("evicted", theme::tone(Tone::Dim))),
                    Cell::from(""),
                    Cell::from(live.id.to_string()),
                    Cell::from(""),
                ],
            )),
        }
    });
    let rows = usize::from(table_area.height.saturating_sub(1));
    let start = window_start(errors.selected, rows);
    let table_rows = live
        .chain(queued)
        .enumerate()
        .skip(start)
        .take(rows)
        .map(|(at, built)| {
            if at == errors.selected {
                built.style(theme::selected())
            } else {
                built
            }
        });
    let header = Row::new(columns::shown(
        widths,
        [
            "from",
            "time",
            "code",
            "fmt",
            "topic",
            "sender",
            "trace",
            "reply data",
        ],
    ))
    .style(theme::tone(Tone::Dim).add_modifier(Modifier::BOLD));
    frame.render_widget(
        Table::new(table_rows, constraints(widths)).header(header),
        table_area,
    );
}

/// The title row: the queue and its page, then the live channels that were counted,
/// named in full (a name cut short could read as another channel: `gilmour.errors`
/// cut by one is `gilmour.error`). When it does not fit, the queue's name goes first.
fn title(app: &State, width: usize) -> Vec<Span<'static>> {
    let errors = &app.errors;
    let pages = errors.total.div_ceil(ERRORS_PAGE).max(1);
    let channels = errors.live_channels();
    let live_on = if channels.is_empty() {
        clean(app.channels.error_channel(), 60)
    } else {
        channels
            .iter()
            .map(|channel| clean(channel, 60))
            .collect::<Vec<_>>()
            .join(" + ")
    };
    let queue = format!(" queue {}", clean(app.channels.error_queue(), 60));
    let figures = format!(
        ": {} entries, page {}/{pages}",
        thousands(errors.total as u64),
        errors.page + 1
    );
    let live = format!(
        "  · live on {live_on}: {}",
        thousands(errors.live.len() as u64)
    );
    let long = |queue: &str, live: &str| {
        queue.chars().count() + figures.chars().count() + live.chars().count() > width
    };
    let queue = if long(&queue, &live) {
        " queue".to_owned()
    } else {
        queue
    };
    // Narrower still, the channels go rather than be cut.
    let live = if long(&queue, &live) {
        format!("  · live: {}", thousands(errors.live.len() as u64))
    } else {
        live
    };
    let mut title = vec![
        Span::styled(queue, theme::tone(Tone::Heading)),
        Span::raw(figures),
        Span::raw(live),
    ];
    if errors.loading {
        title.push(Span::styled("   loading…", theme::tone(Tone::Dim)));
    } else if let Some(at) = errors.refreshed {
        title.push(Span::styled(
            format!("   as of {}", at.with_timezone(&app.tz).format("%H:%M:%S")),
            theme::tone(Tone::Dim),
        ));
    }
    if let Some(why) = &errors.failure {
        title.push(Span::styled(
            format!("   {}", clean(why, 200)),
            theme::tone(Tone::Bad),
        ));
    }
    title
}

/// The widths of the cells whose text is cut to fit.
#[derive(Debug, Clone, Copy)]
struct Cells {
    topic: usize,
    reply: usize,
}

const TOPIC: usize = 4;
const REPLY: usize = 7;

/// The columns in order of importance: where the record is, its code and topic, when
/// (with the year: the queue keeps records for as long as nobody trims it), then the reply
/// data, the trace, the layout, the sender; the topic widens to 30 last, and the reply
/// data takes the rest.
const PLAN: [Step; 10] = [
    step(0, 5),
    step(2, 4),
    step(TOPIC, 16),
    step(1, 19),
    step(REPLY, 12),
    step(6, 7),
    step(3, 3),
    step(5, 8),
    step(TOPIC, 30),
    step(REPLY, 12),
];

/// The columns' widths for a table `width` wide (0: not shown). Computed here so that each
/// cell's text is cut to its column with a visible `…`.
fn columns(width: u16) -> (Cells, Vec<u16>) {
    let widths = plan(width, 8, &PLAN, Some(REPLY));
    (
        Cells {
            topic: usize::from(widths[TOPIC]),
            reply: usize::from(widths[REPLY]),
        },
        widths,
    )
}

fn row<'a>(
    app: &State,
    (cells, widths): (Cells, &[u16]),
    from: &'a str,
    record: &ErrorView,
    trace: Option<gilmour::inspect::TraceId>,
) -> Row<'a> {
    // Every layout's time is shown alike, in the app's time zone; one that does not read
    // as a time is shown as written, flagged.
    let time = match record.timestamp {
        Some(at) => Cell::from(
            at.with_timezone(&app.tz)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string(),
        ),
        None => Cell::from(Span::styled(
            fit(&record.timestamp_text, 19),
            theme::tone(Tone::Warn),
        )),
    };
    let layout = match record.layout {
        RecordLayout::Named => Span::raw(""),
        RecordLayout::GoScrambled => Span::styled("go", theme::tone(Tone::Warn)),
        RecordLayout::Ruby => Span::styled("rb", theme::tone(Tone::Dim)),
    };
    let topic = if record.topic.is_empty() {
        Cell::from(Span::styled("(not sent)", theme::tone(Tone::Dim)))
    } else {
        Cell::from(fit(&record.topic, cells.topic))
    };
    Row::new(columns::shown(
        widths,
        [
            Cell::from(from),
            time,
            Cell::from(Span::styled(
                record.code.to_string(),
                theme::tone(Tone::Bad),
            )),
            Cell::from(layout),
            topic,
            Cell::from(super::sender_label(&record.sender, 8)),
            Cell::from(trace.map_or_else(String::new, |id| id.to_string())),
            Cell::from(fit(&record.reply_text(), cells.reply)),
        ],
    ))
}
