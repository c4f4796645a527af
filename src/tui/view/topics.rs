//! The topics table: count, rate, error share, latency quantiles, and a bar of the last
//! half minute's rate, from figures cached once a second.

use super::{fit, format_latency, thousands};
use crate::tui::state::State;
use crate::tui::state::layout::window_start;
use crate::tui::theme::{self, Tone};
use gilmour::inspect::stats::{NO_TOPIC_LABEL, ORPHAN_LABEL};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::Span;
use ratatui::widgets::{Cell, Paragraph, Row, Table};

/// Seconds of rate each row's bar shows, when there is room.
const BAR_SECONDS: usize = 30;
const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Draws the table.
pub fn draw(frame: &mut Frame, area: Rect, app: &State) {
    let topics = &app.topics;
    if topics.rows.is_empty() {
        frame.render_widget(
            Paragraph::new("  no completed trace yet").style(theme::tone(Tone::Dim)),
            area,
        );
        return;
    }
    // The topic is what a row is about: on a narrow terminal the rate bar shortens, then
    // goes, before the topic is squeezed (a topic cut to a few letters reads as another).
    // With deep capture, who answered comes before the bar, when there is room for both.
    let answered =
        if app.deep && usize::from(area.width) >= FIXED_COLUMNS + MIN_TOPIC + ANSWERED + 11 {
            ANSWERED
        } else {
            0
        };
    let seconds = usize::from(area.width)
        .saturating_sub(FIXED_COLUMNS + MIN_TOPIC + answered)
        .min(BAR_SECONDS);
    let seconds = if seconds < 10 { 0 } else { seconds };
    // Narrower still, the rate goes, then the median: the topic keeps 16 columns and the
    // errors and the p99 stay, which say whether the topic is in trouble.
    let without_rate = usize::from(area.width) < FIXED_COLUMNS - 1 + TOPIC_AT_LEAST;
    let without_p50 = usize::from(area.width) < FIXED_COLUMNS - 1 - 9 + TOPIC_AT_LEAST;
    let hidden = 9 * (usize::from(without_rate) + usize::from(without_p50));
    let topic_width = if seconds > 0 {
        usize::from(area.width).saturating_sub(FIXED_COLUMNS + seconds + answered)
    } else {
        // No bar, and one space fewer between columns.
        usize::from(area.width).saturating_sub(FIXED_COLUMNS - 1 - hidden)
    };
    let keep = |column: usize| !(column == 2 && without_rate || column == 4 && without_p50);
    let rows = usize::from(area.height.saturating_sub(1));
    let start = window_start(topics.selected, rows);
    let table_rows = topics
        .rows
        .iter()
        .enumerate()
        .skip(start)
        .take(rows)
        .map(|(at, row)| {
            let summary = &row.summary;
            let errors = summary.error_rate() * 100.0;
            let error_style = if summary.errors > 0 {
                theme::tone(Tone::Bad)
            } else {
                theme::tone(Tone::Dim)
            };
            let (p50, p99) = summary.latency.map_or_else(
                || (String::new(), String::new()),
                |latency| (format_latency(latency.p50), format_latency(latency.p99)),
            );
            let mut cells: Vec<Cell> = [
                Cell::from(label(&summary.topic, topic_width)),
                Cell::from(thousands(summary.count)),
                Cell::from(format!("{:.1}", summary.rate_10s)),
                Cell::from(Span::styled(format!("{errors:.1}%"), error_style)),
                Cell::from(p50),
                Cell::from(p99),
            ]
            .into_iter()
            .enumerate()
            .filter(|(column, _)| keep(*column))
            .map(|(_, cell)| cell)
            .collect();
            if answered > 0 {
                cells.push(Cell::from(responders(summary, answered - 1)));
            }
            if seconds > 0 {
                cells.push(Cell::from(Span::styled(
                    bar(&row.recent, seconds),
                    theme::tone(Tone::Good),
                )));
            }
            let built = Row::new(cells);
            if at == topics.selected {
                built.style(theme::selected())
            } else {
                built
            }
        });
    let last = format!("last {seconds} s");
    let columns = [
        ("topic", Constraint::Fill(1)),
        ("count", Constraint::Length(10)),
        ("rate/s", Constraint::Length(8)),
        ("errors", Constraint::Length(7)),
        ("p50", Constraint::Length(8)),
        ("p99", Constraint::Length(8)),
    ];
    let (mut titles, mut widths): (Vec<&str>, Vec<Constraint>) = columns
        .into_iter()
        .enumerate()
        .filter(|(column, _)| keep(*column))
        .map(|(_, column)| column)
        .unzip();
    if answered > 0 {
        titles.push("answered by (share)");
        widths.push(Constraint::Length(answered as u16 - 1));
    }
    if seconds > 0 {
        titles.push(&last);
        widths.push(Constraint::Length(seconds as u16));
    }
    let header = Row::new(titles).style(theme::tone(Tone::Dim).add_modifier(Modifier::BOLD));
    frame.render_widget(Table::new(table_rows, widths).header(header), area);
}

/// The width of the "answered by" column, spacing included.
const ANSWERED: usize = 28;

/// Who answered a topic's requests, most first: `web-a:7·cd34 62% +1` (the top
/// responder, its share, and how many others answered).
fn responders(summary: &gilmour::inspect::Summary, width: usize) -> String {
    let Some((top, count)) = summary.responders.first() else {
        return String::new();
    };
    let all: u64 = summary.responders.iter().map(|(_, count)| count).sum();
    let share = *count as f64 * 100.0 / all.max(1) as f64;
    let others = summary.responders.len() - 1;
    let tail = if others > 0 {
        format!(" {share:.0}% +{others}")
    } else {
        format!(" {share:.0}%")
    };
    let name = super::traces::short_client(top);
    let room = width.saturating_sub(tail.chars().count());
    format!(
        "{}{tail}",
        super::fit(&gilmour::inspect::sanitize::clean(&name, 200), room)
    )
}

/// A row's topic; the labels of traces without one are dimmed, so they do not read as
/// topics of those names.
fn label(topic: &str, width: usize) -> Span<'static> {
    if topic == ORPHAN_LABEL || topic == NO_TOPIC_LABEL {
        Span::styled(fit(topic, width), theme::tone(Tone::Dim))
    } else {
        Span::raw(fit(topic, width))
    }
}

/// The columns other than the topic and the bar, with the spaces between columns.
const FIXED_COLUMNS: usize = 10 + 8 + 7 + 8 + 8 + 6;

/// The narrowest the topic gets before the bar gives way.
const MIN_TOPIC: usize = 28;
/// The fewest columns the topic gets, before the rate and the median give way.
const TOPIC_AT_LEAST: usize = 16;

/// The last `seconds` of per-second counts as a bar, scaled to its own peak.
pub fn bar(recent: &[u32], seconds: usize) -> String {
    let last = &recent[recent.len().saturating_sub(seconds)..];
    let peak = last.iter().copied().max().unwrap_or(0);
    last.iter()
        .map(|count| match (*count, peak) {
            (0, _) | (_, 0) => ' ',
            (count, peak) => {
                let level =
                    (u64::from(count) * (LEVELS.len() as u64 - 1)).div_ceil(u64::from(peak));
                LEVELS[level as usize]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn bars_scale_to_their_peak() {
        assert_eq!(super::bar(&[0, 1, 2, 4, 8], 30), " ▂▃▅█");
        assert_eq!(super::bar(&[0; 60], 30).len(), 30);
        assert_eq!(super::bar(&[0, 0, 1, 1], 2), "██");
    }
}
