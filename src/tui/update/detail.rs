//! One trace in detail: opening it, scrolling (paged: only the visible lines are drawn),
//! searching with `/`, `n` and `N`.

use super::super::app::{App, Detail};
use super::super::detail::build;
use super::super::input::LineInput;
use super::super::keymap::Command;
use super::super::layout::list_rows;
use super::super::model::Screen;
use super::{send, traces};
use crossterm::event::{KeyCode, KeyEvent};
use gilmour::inspect::TraceId;

/// Opens a trace in detail, on the traces screen.
pub fn open(app: &mut App, id: TraceId) {
    let Some(trace) = app.inspector.store().get(id) else {
        app.complain(format!("{id} is no longer in the store"));
        return;
    };
    let lines = build(app, trace);
    app.screen = Screen::Traces;
    app.detail = Some(Detail {
        id,
        lines,
        scroll: 0,
        search: None,
        query: String::new(),
        matches: Vec::new(),
    });
}

/// Builds the open trace's text again (it changed, or a link appeared).
pub fn rebuild(app: &mut App) {
    let Some(id) = app.detail.as_ref().map(|detail| detail.id) else {
        return;
    };
    let Some(trace) = app.inspector.store().get(id) else {
        return;
    };
    let lines = build(app, trace);
    if let Some(detail) = &mut app.detail {
        detail.lines = lines;
        detail.scroll = detail.scroll.min(detail.lines.len().saturating_sub(1));
        find(detail);
    }
}

/// Runs a command in the detail view.
pub fn command(app: &mut App, command: Command) {
    let page = list_rows(app);
    let Some(detail) = &mut app.detail else {
        return;
    };
    let last = detail.lines.len().saturating_sub(1);
    let id = detail.id;
    match command {
        Command::Back => app.detail = None,
        Command::Up => detail.scroll = detail.scroll.saturating_sub(1),
        Command::Down => detail.scroll = (detail.scroll + 1).min(last),
        Command::PageUp => detail.scroll = detail.scroll.saturating_sub(page),
        Command::PageDown => detail.scroll = (detail.scroll + page).min(last),
        Command::Top => detail.scroll = 0,
        Command::Bottom => detail.scroll = last.saturating_sub(page.saturating_sub(1)),
        Command::Search => detail.search = Some(LineInput::new(detail.query.clone())),
        Command::SearchNext => jump(app, true),
        Command::SearchPrev => jump(app, false),
        Command::Mark => traces::toggle_mark(app, id),
        Command::Replay | Command::EditReplay | Command::Copy => send::on_trace(app, id, command),
        _ => {}
    }
}

/// A key while the search prompt has the keyboard.
pub fn search_key(app: &mut App, key: KeyEvent) {
    let Some(detail) = &mut app.detail else {
        return;
    };
    let Some(input) = &mut detail.search else {
        return;
    };
    match key.code {
        KeyCode::Esc => detail.search = None,
        KeyCode::Enter => {
            detail.query = input.text().to_lowercase();
            detail.search = None;
            find(detail);
            if detail.matches.is_empty() && !detail.query.is_empty() {
                let query = detail.query.clone();
                app.complain(format!("no match for “{query}”"));
            } else {
                jump(app, true);
            }
        }
        _ => {
            input.edit(&key);
        }
    }
}

fn find(detail: &mut Detail) {
    detail.matches = if detail.query.is_empty() {
        Vec::new()
    } else {
        detail
            .lines
            .iter()
            .enumerate()
            .filter(|(_, line)| line.text().to_lowercase().contains(&detail.query))
            .map(|(at, _)| at)
            .collect()
    };
}

/// Scrolls to the next (or previous) match, wrapping around.
fn jump(app: &mut App, forward: bool) {
    let Some(detail) = &mut app.detail else {
        return;
    };
    let matches = &detail.matches;
    let next = if forward {
        matches
            .iter()
            .find(|at| **at > detail.scroll)
            .or(matches.first())
    } else {
        matches
            .iter()
            .rev()
            .find(|at| **at < detail.scroll)
            .or(matches.last())
    };
    if let Some(&at) = next {
        detail.scroll = at;
        let shown = matches.iter().position(|m| *m == at).map_or(0, |n| n + 1);
        let total = matches.len();
        app.say(format!("match {shown} of {total}"));
    }
}
