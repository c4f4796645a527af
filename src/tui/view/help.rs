//! The help: every binding of every context, generated from the key map, so it always
//! says what the keys really do.

use super::centered;
use crate::tui::keymap::Context;
use crate::tui::state::State;
use crate::tui::theme::{self, Tone};
use gilmour::inspect::sanitize::clean;
use ratatui::Frame;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

/// The help's lines.
pub fn lines(app: &State) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::from(Span::styled(
            "Gilmour traffic, live: traces are requests with their replies, signals, error records and gaps.",
            theme::tone(Tone::Dim),
        )),
        Line::from(Span::styled(
            "Filters: topic:echo*  code:>=400  kind:req|slot  status:timeout  latency:>100ms  data:\"text\"  not/and/or",
            theme::tone(Tone::Dim),
        )),
        Line::from(Span::styled(
            "Trace list: * marked  ! a payload kept but flagged (not an envelope, cut short)  + notes in the detail",
            theme::tone(Tone::Dim),
        )),
        Line::from(Span::styled(
            "Errors: fmt go = a Go-style record (unscrambled, no topic)  rb = a Ruby record",
            theme::tone(Tone::Dim),
        )),
        // The list colours kind and code by status: say which is which, and what the
        // code column shows when there is no code, so nothing is told by colour alone.
        Line::from(vec![
            Span::styled("Status: ", theme::tone(Tone::Dim)),
            Span::styled("ok", theme::tone(Tone::Good)),
            Span::styled("  error (code ≥ 300)", theme::tone(Tone::Bad)),
            Span::styled("  timeout (499) unanswered", theme::tone(Tone::Warn)),
            Span::styled("  pending (code …) orphan", theme::tone(Tone::Dim)),
            Span::styled("  — the detail names it", theme::tone(Tone::Dim)),
        ]),
    ];
    let named: Vec<&str> = app.keymap.filter_names().collect();
    if !named.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::from(vec![
            Span::styled("[named filters]", theme::tone(Tone::Heading)),
            Span::styled(
                "  @name in the filter bar applies one, Tab completes it; set in [filters] of keys.toml",
                theme::tone(Tone::Dim),
            ),
        ]));
        for name in named {
            let text = app.keymap.filter(name).unwrap_or_default();
            lines.push(Line::from(vec![
                Span::styled(
                    format!("  {:<33}", clean(&format!("@{name}"), 33)),
                    theme::key(),
                ),
                Span::raw(clean(text, 80)),
            ]));
        }
    }
    for context in Context::ALL {
        let bindings: Vec<_> = app.keymap.bindings(context).collect();
        if bindings.is_empty() {
            continue;
        }
        lines.push(Line::raw(""));
        lines.push(Line::from(Span::styled(
            format!("[{}]", context.name()),
            theme::tone(Tone::Heading),
        )));
        for (command, keys) in bindings {
            let keys: Vec<String> = keys.iter().map(ToString::to_string).collect();
            let keys = if keys.is_empty() {
                "(unbound)".to_owned()
            } else {
                keys.join(", ")
            };
            lines.push(Line::from(vec![
                Span::styled(format!("  {keys:<18}"), theme::key()),
                Span::styled(format!("{:<15}", command.name()), theme::tone(Tone::Dim)),
                Span::raw(command.help()),
            ]));
        }
    }
    lines
}

/// The help's box on a screen of `height` rows: all but two rows above and below.
fn box_height(height: u16) -> u16 {
    height.saturating_sub(4)
}

/// The furthest the help scrolls: its last line at the bottom of the box, never a page
/// of blank below it.
pub fn last_scroll(app: &State) -> usize {
    let rows = usize::from(box_height(app.size.1).saturating_sub(2));
    lines(app).len().saturating_sub(rows)
}

/// Draws the help on top of everything.
pub fn draw(frame: &mut Frame, app: &State, scroll: usize) {
    let area = centered(frame.area(), 110, box_height(frame.area().height));
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" help · keys can be changed in ~/.config/gilmour/keys.toml ");
    let lines = lines(app);
    let rows = usize::from(area.height.saturating_sub(2));
    let scroll = scroll.min(lines.len().saturating_sub(rows));
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .scroll((u16::try_from(scroll).unwrap_or(u16::MAX), 0)),
        area,
    );
}
