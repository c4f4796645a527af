//! One trace in detail: its lines (built by [`document`](super::document) and cached),
//! drawn a page at a time, with the search matches highlighted and the search prompt at
//! the bottom while typing.

use super::document::DetailLine;
use crate::tui::state::detail::Detail;
use crate::tui::theme::{self, Tone};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

/// Draws the detail of `open`, whose text is `lines`.
pub fn draw(frame: &mut Frame, area: Rect, open: &Detail, lines: &[DetailLine]) {
    let total = lines.len();
    // The trace may have shrunk under the cursor (a payload replaced by a shorter one).
    let scroll = open.scroll.min(total.saturating_sub(1));
    let title = format!(" {} · line {}/{} ", open.id, (scroll + 1).min(total), total);
    let block = Block::default()
        .borders(Borders::TOP)
        .title(title)
        .border_style(theme::tone(Tone::Dim));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let prompt_rows = u16::from(open.search.is_some());
    let rows = usize::from(inner.height.saturating_sub(prompt_rows));
    let current = lines
        .get(scroll)
        .is_some_and(|line| line.matches(&open.query))
        .then_some(scroll);
    let lines: Vec<Line> = lines
        .iter()
        .enumerate()
        .skip(scroll)
        .take(rows)
        .map(|(at, line)| {
            cut(
                draw_line(line, &open.query, Some(at) == current),
                usize::from(inner.width),
            )
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
    if let Some(input) = &open.search {
        let prompt = Rect {
            y: inner.bottom().saturating_sub(1),
            height: 1,
            ..inner
        };
        let text = Line::from(vec![
            Span::styled("search: ", theme::key()),
            Span::raw(gilmour::inspect::sanitize::clean(input.text(), 200)),
        ]);
        frame.render_widget(Paragraph::new(text), prompt);
        let x = prompt.x + 8 + input.cursor_column() as u16;
        frame.set_cursor_position((x.min(prompt.right().saturating_sub(1)), prompt.y));
    }
}

/// A line wider than the view, cut to end in a `…` inside it: a value cut at the edge
/// would read as the whole value (the raw payload is wrapped, so nothing is lost there).
fn cut(line: Line<'static>, width: usize) -> Line<'static> {
    if line.width() <= width || width == 0 {
        return line;
    }
    let style = line.style;
    let mut room = width - 1;
    let mut spans = Vec::new();
    for span in line.spans {
        if room == 0 {
            break;
        }
        if span.width() <= room {
            room -= span.width();
            spans.push(span);
            continue;
        }
        let mut text = String::new();
        for character in span.content.chars() {
            let size = Span::raw(character.to_string()).width();
            if size > room {
                break;
            }
            text.push(character);
            room -= size;
        }
        spans.push(Span::styled(text, span.style));
        room = 0;
    }
    spans.push(Span::styled("…", theme::tone(Tone::Warn)));
    Line::from(spans).style(style)
}

/// A line, with every occurrence of the query highlighted (the current match's line in
/// full).
fn draw_line<'a>(line: &DetailLine, query: &str, current: bool) -> Line<'a> {
    let mut spans = Vec::new();
    for (tone, text) in &line.spans {
        let style = theme::tone(*tone);
        if query.is_empty() {
            spans.push(Span::styled(text.clone(), style));
            continue;
        }
        let lower = text.to_lowercase();
        // Lower-casing can change byte lengths; highlight only when it does not.
        if lower.len() != text.len() {
            spans.push(Span::styled(text.clone(), style));
            continue;
        }
        let mut at = 0;
        while let Some(found) = lower[at..].find(query) {
            let start = at + found;
            let end = start + query.len();
            spans.push(Span::styled(text[at..start].to_owned(), style));
            spans.push(Span::styled(
                text[start..end].to_owned(),
                theme::tone(Tone::Match),
            ));
            at = end;
        }
        spans.push(Span::styled(text[at..].to_owned(), style));
    }
    let line = Line::from(spans);
    if current {
        line.style(theme::selected())
    } else {
        line
    }
}
