//! The selected topic's latency, under the topics table: p50 and p99 over the last
//! minute as sparklines, and a histogram of every latency seen (oha's bars).
//!
//! ```text
//! ─ weather.fetch · latency ──────────────────────────────────────────
//!  p50   1.20ms ▁▁▂▁▁▁▂▃▂▁▁▁▁▂▁
//!  p99   8.40ms ▂▃█▂▂▁▄▅▃▂▂▂▂▃▂      (one column a second, both on the p99's scale)
//!   up to     count
//!    1.50ms [   812] ■■■■■■■■■■■■■■■■■■■■■■
//!    3.00ms [   140] ■■■■
//! ```

use super::{fit, format_latency, thousands};
use crate::tui::state::State;
use crate::tui::state::screens::TopicLatency;
use crate::tui::theme::{self, Tone};
use gilmour::inspect::sanitize::{clean, display_width};
use gilmour::inspect::stats::SecondQuantiles;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use std::time::Duration;

const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// Which quantile of a second a sparkline draws.
type Quantile = fn(&SecondQuantiles) -> Duration;

/// Draws the panel of the selected topic.
pub fn draw(frame: &mut Frame, area: Rect, app: &State) {
    if area.height == 0 {
        return;
    }
    let Some(latency) = &app.topics.latency else {
        return;
    };
    // The figures beside the sparklines are the newest second's, not the table's
    // p50/p99 over every trace kept: the title says so where there is room.
    let what = if area.width >= 72 {
        " · latency per second, newest second at the right "
    } else {
        " · latency per second "
    };
    let title = format!(
        " {}{what}",
        fit(
            &clean(&latency.topic, 200),
            usize::from(area.width).saturating_sub(display_width(what) + 3)
        )
    );
    let block = Block::default()
        .borders(Borders::TOP)
        .title(title)
        .border_style(theme::tone(Tone::Dim));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    frame.render_widget(
        Paragraph::new(lines(latency, usize::from(inner.width))),
        inner,
    );
}

/// The panel's lines, `width` columns wide.
fn lines(latency: &TopicLatency, width: usize) -> Vec<Line<'static>> {
    if latency.histogram.is_empty() {
        return vec![Line::styled(
            "  no latency: nothing answered on this topic yet (signals have none)",
            theme::tone(Tone::Dim),
        )];
    }
    let mut lines = Vec::new();
    let seconds = width.saturating_sub(15).min(latency.history.len());
    let history = &latency.history[latency.history.len() - seconds..];
    let peak = history
        .iter()
        .flatten()
        .map(|quantiles| quantiles.p99)
        .max()
        .unwrap_or_default();
    let pick: [(&str, Quantile, Tone); 2] = [
        ("p50", |q| q.p50, Tone::Good),
        ("p99", |q| q.p99, Tone::Warn),
    ];
    for (name, value, tone) in pick {
        let last = history
            .iter()
            .rev()
            .flatten()
            .next()
            .map_or_else(|| "-".to_owned(), |q| format_latency(value(q)));
        lines.push(Line::from(vec![
            Span::styled(format!(" {name} "), theme::tone(Tone::Dim)),
            Span::raw(format!("{last:>9} ")),
            Span::styled(spark(history, value, peak), theme::tone(tone)),
        ]));
    }
    let counts = latency.histogram.iter().map(|bar| bar.count);
    let most = counts.clone().max().unwrap_or(0);
    let count_width = thousands(most).len().max(5);
    lines.push(Line::styled(
        format!(
            "  {:>9}  {:>count_width$}  over every trace kept",
            "up to", "count"
        ),
        theme::tone(Tone::Dim),
    ));
    let room = width.saturating_sub(9 + count_width + 7);
    for bar in &latency.histogram {
        let length = if most == 0 {
            0
        } else {
            (bar.count as usize * room).div_ceil(most as usize)
        };
        lines.push(Line::from(vec![
            Span::raw(format!("  {:>9} ", format_latency(bar.to))),
            Span::styled(
                format!("[{:>count_width$}] ", thousands(bar.count)),
                theme::tone(Tone::Dim),
            ),
            Span::styled("■".repeat(length), theme::tone(Tone::Good)),
        ]));
    }
    lines
}

/// One quantile per second as a sparkline on the scale of `peak`; a blank for a second
/// no trace ended in.
fn spark(history: &[Option<SecondQuantiles>], value: Quantile, peak: Duration) -> String {
    history
        .iter()
        .map(|second| match second {
            None => ' ',
            Some(_) if peak.is_zero() => LEVELS[0],
            Some(quantiles) => {
                let share = value(quantiles).as_secs_f64() / peak.as_secs_f64();
                let level = (share * (LEVELS.len() - 1) as f64).round() as usize;
                LEVELS[level.min(LEVELS.len() - 1)]
            }
        })
        .collect()
}
