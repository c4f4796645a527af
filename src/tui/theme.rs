//! Colours and emphasis, in one place: what a status, a JSON token or a key looks like.

use gilmour::inspect::TraceStatus;
use ratatui::style::{Color, Modifier, Style};

/// The kinds of text the screens draw, each with one style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Ordinary text.
    Plain,
    /// Less important text (labels, separators).
    Dim,
    /// A section heading.
    Heading,
    /// A JSON object key.
    Key,
    /// A JSON string.
    Str,
    /// A JSON number.
    Num,
    /// `true`, `false`, `null`.
    Literal,
    /// Something that went wrong.
    Bad,
    /// Something that went right.
    Good,
    /// Something to look at twice.
    Warn,
    /// A search match.
    Match,
}

/// The style of a tone.
pub fn tone(tone: Tone) -> Style {
    let style = Style::default();
    match tone {
        Tone::Plain => style,
        Tone::Dim => style.fg(Color::DarkGray),
        Tone::Heading => style.fg(Color::Cyan).add_modifier(Modifier::BOLD),
        Tone::Key => style.fg(Color::Blue),
        Tone::Str => style.fg(Color::Green),
        Tone::Num => style.fg(Color::Magenta),
        Tone::Literal => style.fg(Color::Yellow),
        Tone::Bad => style.fg(Color::Red),
        Tone::Good => style.fg(Color::Green),
        Tone::Warn => style.fg(Color::Yellow),
        Tone::Match => style.fg(Color::Black).bg(Color::Yellow),
    }
}

/// The colour of a trace's status.
pub fn status(status: TraceStatus) -> Style {
    let style = Style::default();
    match status {
        TraceStatus::Ok => style.fg(Color::Green),
        TraceStatus::Error => style.fg(Color::Red),
        TraceStatus::Timeout => style.fg(Color::Yellow),
        TraceStatus::Pending => style.fg(Color::Cyan),
        TraceStatus::Unanswered => style.fg(Color::Magenta),
        TraceStatus::Orphan => style.fg(Color::DarkGray),
    }
}

/// The selected row.
pub fn selected() -> Style {
    Style::default().add_modifier(Modifier::REVERSED)
}

/// The header and footer bars.
pub fn bar() -> Style {
    Style::default().bg(Color::Indexed(236)).fg(Color::White)
}

/// A key name in the footer and help.
pub fn key() -> Style {
    Style::default()
        .fg(Color::Yellow)
        .add_modifier(Modifier::BOLD)
}

/// The current screen's tab.
pub fn tab_active() -> Style {
    Style::default()
        .fg(Color::Black)
        .bg(Color::Cyan)
        .add_modifier(Modifier::BOLD)
}

/// A marked trace's marker.
pub fn mark() -> Style {
    Style::default()
        .fg(Color::Yellow)
        .add_modifier(Modifier::BOLD)
}
