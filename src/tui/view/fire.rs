//! The fire form: kind, topic (or composition) with completions, data, timeout, each with
//! what is wrong with it as typed.

use super::centered;
use super::dialog::{field, row};
use crate::tui::state::forms::{FireField, FireForm, FireKind};
use crate::tui::theme::{self, Tone};
use gilmour::inspect::sanitize::clean;
use ratatui::Frame;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

/// Draws the form.
pub fn draw(frame: &mut Frame, form: &FireForm) {
    let area = centered(frame.area(), 100, 14);
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

    field(
        frame,
        row(inner, 5),
        "data   ",
        &form.data,
        form.focus == FireField::Data,
    );
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
    frame.render_widget(Paragraph::new(data_hint), row(inner, 6));

    if form.kind != FireKind::Signal {
        field(
            frame,
            row(inner, 8),
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
                row(inner, 9),
            );
        }
    }
    frame.render_widget(
        Paragraph::new(Span::styled(
            "Enter counts the listeners first and asks before sending to nobody.",
            theme::tone(Tone::Dim),
        )),
        row(inner, 11),
    );
}
