//! The header: where the traffic comes from, whether the link is up, the capture rate and
//! the counters that say nothing was lost silently; then the tabs and the list's mode.

use super::super::app::{App, Screen, Source};
use super::super::layout::tab_label;
use super::super::theme;
use super::thousands;
use gilmour::inspect::sanitize::clean;
use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// Draws the two header rows.
pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let bar = theme::bar();
    let dim = bar.patch(theme::tone(theme::Tone::Dim));
    let sep = || Span::styled(" │ ", dim);
    let mut first = vec![Span::styled(" gilmour", bar.add_modifier(Modifier::BOLD))];
    first.push(sep());
    match &app.source {
        Source::Live { url, connected } => {
            first.push(Span::styled(clean(url, 60), bar));
            first.push(sep());
            let link = match (connected, app.inspector.lost_since()) {
                (true, None) => Span::styled("● live", bar.patch(theme::tone(theme::Tone::Good))),
                (_, Some(since)) => Span::styled(
                    format!(
                        "○ reconnecting since {}",
                        since.with_timezone(&app.tz).format("%H:%M:%S")
                    ),
                    bar.patch(theme::tone(theme::Tone::Bad)),
                ),
                (false, None) => {
                    Span::styled("○ reconnecting", bar.patch(theme::tone(theme::Tone::Bad)))
                }
            };
            first.push(link);
            first.push(sep());
            first.push(Span::styled(format!("{:.1} msg/s", app.rate), bar));
        }
        Source::File { path, done } => {
            first.push(Span::styled(format!("file {}", clean(path, 60)), bar));
            first.push(sep());
            let state = if *done {
                "offline, read"
            } else {
                "offline, reading…"
            };
            first.push(Span::styled(state, bar));
        }
    }
    first.push(sep());
    let counters = app.inspector.counters();
    let store = app.inspector.store();
    let figures = [
        ("traces", counters.traces, false),
        ("errors", counters.errors, counters.errors > 0),
        ("timeouts", counters.timeouts, counters.timeouts > 0),
        ("unanswered", counters.unanswered, false),
        ("evicted", store.evicted(), false),
        ("dropped", app.dropped, app.dropped > 0),
        ("gaps", counters.gaps, counters.gaps > 0),
    ];
    for (name, count, alarming) in figures {
        let style = if alarming {
            bar.patch(theme::tone(theme::Tone::Warn))
        } else {
            bar
        };
        first.push(Span::styled(format!("{} ", thousands(count)), style));
        first.push(Span::styled(format!("{name}  "), dim));
    }
    let rows = area.height;
    frame.render_widget(
        Paragraph::new(Line::from(first)).style(bar),
        Rect {
            height: 1.min(rows),
            ..area
        },
    );
    if rows < 2 {
        return;
    }
    let second = Rect {
        y: area.y + 1,
        height: 1,
        ..area
    };
    let mut tabs = Vec::new();
    for (index, screen) in Screen::ALL.into_iter().enumerate() {
        let style = if screen == app.screen {
            theme::tab_active()
        } else {
            Style::default()
        };
        tabs.push(Span::styled(tab_label(index, screen), style));
        tabs.push(Span::raw(" "));
    }
    frame.render_widget(Paragraph::new(Line::from(tabs)), second);
    frame.render_widget(
        Paragraph::new(Line::from(modes(app))).alignment(Alignment::Right),
        second,
    );
}

/// FOLLOW / PAUSED, health shown, marks, how many traces are shown.
fn modes(app: &App) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    let strong = |text: String| Span::styled(text, theme::key());
    if let Some(frozen) = app.traces.frozen {
        let newer = app.traces.list.len() - app.traces.list.len_until(Some(frozen));
        spans.push(strong(format!("PAUSED +{} ", thousands(newer as u64))));
    } else if app.traces.follow {
        spans.push(strong("FOLLOW ".to_owned()));
    }
    if app.traces.show_health {
        spans.push(Span::raw("health shown "));
    }
    if !app.traces.marks.is_empty() {
        spans.push(Span::styled(
            format!("{} marked ", thousands(app.traces.marks.len() as u64)),
            theme::mark(),
        ));
    }
    spans.push(Span::styled(
        format!(" {} shown ", thousands(app.shown() as u64)),
        theme::tone(theme::Tone::Dim),
    ));
    spans
}
