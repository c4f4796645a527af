//! The filter bar: the text being typed (or the filter in force), and below it, while the
//! text does not parse, the parser's message with a caret under the column.

use crate::tui::state::State;
use crate::tui::state::input::display_width;
use crate::tui::state::traces::COUNT_AT_MOST;
use crate::tui::theme::{self, Tone};
use gilmour::inspect::sanitize::clean;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// Draws the bar and, when there is one, the error.
pub fn draw(frame: &mut Frame, bar: Rect, error_area: Rect, app: &State) {
    if bar.height == 0 {
        return;
    }
    let filter = &app.filter;
    let (text, style) = if filter.editing {
        (filter.input.text(), theme::tone(Tone::Plain))
    } else {
        (filter.applied_text.as_str(), theme::tone(Tone::Warn))
    };
    let valid = filter.error.is_none();
    let marker = if !filter.editing {
        Span::styled("filter ", theme::tone(Tone::Dim))
    } else if valid {
        Span::styled("/ ", theme::key())
    } else {
        Span::styled("/ ", theme::tone(Tone::Bad))
    };
    let width = marker.content.chars().count() as u16;
    let line = Line::from(vec![
        marker,
        Span::styled(clean(text, usize::from(bar.width)), style),
    ]);
    frame.render_widget(Paragraph::new(line), bar);
    if let (true, Some((count, partial))) = (filter.editing, filter.matches) {
        let count = super::thousands(count as u64);
        let text = if partial {
            format!(
                " {count} of the newest {} ",
                super::thousands(COUNT_AT_MOST as u64)
            )
        } else {
            format!(" {count} match ")
        };
        let width = text.chars().count() as u16;
        let typed = display_width(&clean(filter.input.text(), usize::MAX)) as u16;
        // Only where it leaves the text and the cursor in view.
        if bar.width > width + typed + 4 {
            let area = Rect {
                x: bar.right() - width,
                width,
                ..bar
            };
            frame.render_widget(
                Paragraph::new(Span::styled(text, theme::tone(Tone::Dim))),
                area,
            );
        }
    }
    if filter.editing {
        let x = bar.x + width + filter.input.cursor_column() as u16;
        frame.set_cursor_position((x.min(bar.right().saturating_sub(1)), bar.y));
    }
    if let (Some(error), true) = (&filter.error, error_area.height > 0) {
        // The column counts characters; the caret goes where they are drawn.
        let before: String = filter
            .input
            .text()
            .chars()
            .take(error.column.saturating_sub(1))
            .collect();
        let caret = " ".repeat(usize::from(width) + display_width(&clean(&before, usize::MAX)));
        let line = Line::from(vec![
            Span::styled(format!("{caret}^ "), theme::tone(Tone::Bad)),
            Span::styled(clean(&error.message, 200), theme::tone(Tone::Bad)),
        ]);
        frame.render_widget(Paragraph::new(line), error_area);
    }
}
