//! The errors screen: a page of the error queue, newest first, then the records seen live
//! on the error channel; each row says where it is from and which trace it belongs to.

use super::super::app::{App, ERRORS_PAGE};
use super::super::layout::window_start;
use super::super::theme::{self, Tone};
use gilmour::inspect::sanitize::clean;
use gilmour::protocol::ErrorRecord;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

/// Draws the screen.
pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let errors = &app.errors;
    let pages = errors.total.div_ceil(ERRORS_PAGE).max(1);
    let mut title = vec![
        Span::styled(
            format!(" queue {}", clean(app.channels.error_queue(), 60)),
            theme::tone(Tone::Heading),
        ),
        Span::raw(format!(
            ": {} entries, page {} of {pages}   live on {}: {}",
            errors.total,
            errors.page + 1,
            clean(app.channels.error_channel(), 60),
            errors.live.len()
        )),
    ];
    if errors.loading {
        title.push(Span::styled("   loading…", theme::tone(Tone::Dim)));
    }
    if let Some(why) = &errors.failure {
        title.push(Span::styled(
            format!("   {}", clean(why, 200)),
            theme::tone(Tone::Bad),
        ));
    }
    frame.render_widget(
        Paragraph::new(Line::from(title)),
        Rect { height: 1, ..area },
    );
    let table_area = Rect {
        y: area.y + 1,
        height: area.height.saturating_sub(1),
        ..area
    };
    let store = app.inspector.store();
    let queued = errors.queue.iter().map(|entry| match &entry.record {
        Some(record) => row(
            app,
            "queue",
            record,
            store.by_sender(record.sender.as_str()),
        ),
        None => Row::new([
            Cell::from("queue"),
            Cell::from(""),
            Cell::from(""),
            Cell::from(Span::styled("not a record", theme::tone(Tone::Warn))),
            Cell::from(""),
            Cell::from(""),
            Cell::from(clean(&entry.raw, 120)),
        ]),
    });
    let live = errors.live.iter().rev().filter_map(|id| {
        let trace = store.get(*id)?;
        let event = trace.errors.first()?;
        let record = ErrorRecord::parse(&event.payload)?;
        Some(row(app, "live", &record, Some(*id)))
    });
    let rows = usize::from(table_area.height.saturating_sub(1));
    let start = window_start(errors.selected, rows);
    let table_rows = queued
        .chain(live)
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
    let header = Row::new([
        "from",
        "time",
        "code",
        "topic",
        "sender",
        "trace",
        "reply data",
    ])
    .style(theme::tone(Tone::Dim).add_modifier(Modifier::BOLD));
    let widths = [
        Constraint::Length(5),
        Constraint::Length(18),
        Constraint::Length(4),
        Constraint::Max(30),
        Constraint::Length(8),
        Constraint::Length(7),
        Constraint::Fill(1),
    ];
    frame.render_widget(Table::new(table_rows, widths).header(header), table_area);
}

fn row<'a>(
    app: &App,
    from: &'a str,
    record: &ErrorRecord,
    trace: Option<gilmour::inspect::TraceId>,
) -> Row<'a> {
    let sender = record.sender.short().to_owned();
    // Shown in the app's time zone when it reads as RFC 3339, as it came otherwise.
    let time = chrono::DateTime::parse_from_rfc3339(&record.timestamp).map_or_else(
        |_| clean(&record.timestamp, 19),
        |at| {
            at.with_timezone(&app.tz)
                .format("%m-%d %H:%M:%S%.3f")
                .to_string()
        },
    );
    Row::new([
        Cell::from(from),
        Cell::from(time),
        Cell::from(Span::styled(
            record.code.to_string(),
            theme::tone(Tone::Bad),
        )),
        Cell::from(clean(&record.topic, 30)),
        Cell::from(clean(&sender, 8)),
        Cell::from(trace.map_or_else(String::new, |id| id.to_string())),
        Cell::from(clean(&record.user_data.to_string(), 120)),
    ])
}
