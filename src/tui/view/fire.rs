//! The fire form: kind, topic (or composition) with completions, data, timeout, each with
//! what is wrong with it as typed.

use super::centered;
use super::dialog::{editor, editor_rows, field, row};
use crate::tui::state::forms::{FireField, FireForm, FireKind};
use crate::tui::theme::{self, Tone};
use gilmour::inspect::sanitize::clean;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

/// The label of the data field.
const DATA: &str = "data   ";

/// Draws the form: the data takes as many rows as its text, within the screen (it
/// scrolls past that); the rows below it move down.
pub fn draw(frame: &mut Frame, form: &FireForm) {
    let screen = frame.area();
    let width = screen.width.min(100);
    // The form's other rows and border; the screen's header and footer.
    let most = screen.height.saturating_sub(13 + 4).min(20);
    let rows = editor_rows(&form.data, width.saturating_sub(2), DATA, most);
    let area = centered(screen, width, 13 + rows);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" fire ")
        .border_style(theme::key());
    let inner = block.inner(area);
    frame.render_widget(Clear, area);
    frame.render_widget(block, area);

    let mut kinds = vec![Span::styled(
        "kind    ",
        if form.focus == FireField::Kind {
            theme::key()
        } else {
            theme::tone(Tone::Dim)
        },
    )];
    for kind in FireKind::ALL {
        let style = if kind == form.kind {
            theme::tab_active()
        } else {
            theme::tone(Tone::Plain)
        };
        kinds.push(Span::styled(format!(" {} ", kind.name()), style));
        kinds.push(Span::raw(" "));
    }
    frame.render_widget(Paragraph::new(Line::from(kinds)), row(inner, 0));

    let target_label = match form.kind {
        FireKind::Compose => "expr   ",
        _ => "topic  ",
    };
    field(
        frame,
        row(inner, 2),
        target_label,
        &form.target,
        form.focus == FireField::Target,
    );
    let hint = match form.target_error() {
        Some(why) if !form.target.text().is_empty() => Span::styled(
            format!("        {}", clean(&why, 200)),
            theme::tone(Tone::Bad),
        ),
        _ if form.notice.is_some() => Span::styled(
            format!(
                "        {}",
                form.notice.map(|notice| notice.text()).unwrap_or_default()
            ),
            theme::tone(Tone::Warn),
        ),
        _ if !form.suggestions.is_empty() => Span::styled(
            format!(
                "        tab: {}",
                form.suggestions
                    .iter()
                    .map(|topic| clean(topic, 40))
                    .collect::<Vec<_>>()
                    .join("  ")
            ),
            theme::tone(Tone::Dim),
        ),
        _ => Span::raw(""),
    };
    frame.render_widget(Paragraph::new(hint), row(inner, 3));

    let below = rows - 1;
    let data_hint = match form.data_error() {
        Some(why) => Span::styled(
            format!("        {}", clean(&why, 200)),
            theme::tone(Tone::Bad),
        ),
        None if form.data.text().trim().is_empty() => {
            Span::styled("        empty sends null", theme::tone(Tone::Dim))
        }
        None => Span::styled("        valid JSON", theme::tone(Tone::Good)),
    };
    frame.render_widget(Paragraph::new(data_hint), row(inner, 6 + below));

    if form.kind != FireKind::Signal {
        field(
            frame,
            row(inner, 8 + below),
            "timeout",
            &form.timeout,
            form.focus == FireField::Timeout,
        );
        if let Some(why) = form.timeout_error() {
            frame.render_widget(
                Paragraph::new(Span::styled(
                    format!("        {why}"),
                    theme::tone(Tone::Bad),
                )),
                row(inner, 9 + below),
            );
        }
    }
    frame.render_widget(
        Paragraph::new(Span::styled(
            "Sending counts the listeners first and asks before sending to nobody.",
            theme::tone(Tone::Dim),
        )),
        row(inner, 11 + below),
    );
    let data = Rect {
        y: inner.y + 5,
        height: rows.min(inner.height.saturating_sub(5)),
        ..inner
    };
    if !data.is_empty() {
        editor(frame, data, DATA, &form.data, form.focus == FireField::Data);
    }
}
