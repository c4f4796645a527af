//! One trace in detail: scrolling (paged: only the visible lines are drawn), searching
//! with `/`, `n` and `N`. The text is the view's ([`lines_of`]); what needs it here (the
//! last line, the matches) reads it when the key is pressed.

use crate::tui::action::{Action, Effect};
use crate::tui::keymap::Command;
use crate::tui::state::State;
use crate::tui::state::detail::Detail;
use crate::tui::state::input::LineInput;
use crate::tui::state::layout::list_rows;
use crate::tui::view::document::lines_of;
use crate::tui::view::waterfall;
use crossterm::event::{KeyCode, KeyEvent};
use gilmour::inspect::TraceId;
use gilmour::inspect::tree::Span;

/// The open trace's number of lines.
fn line_count(app: &State) -> usize {
    app.detail
        .as_ref()
        .and_then(|detail| lines_of(app, detail.id))
        .map_or(0, |lines| lines.len())
}

/// The lines of the open trace that hold its search.
fn matches(app: &State) -> Vec<usize> {
    let Some(detail) = &app.detail else {
        return Vec::new();
    };
    lines_of(app, detail.id)
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter(|(_, line)| line.matches(&detail.query))
        .map(|(at, _)| at)
        .collect()
}

/// Runs a command in the detail view.
pub fn command(app: &mut State, command: Command) -> Vec<Effect> {
    let page = list_rows(app);
    let last = match command {
        Command::Down | Command::PageDown | Command::Bottom => line_count(app).saturating_sub(1),
        _ => 0,
    };
    let spans = app
        .detail
        .as_ref()
        .map(|detail| waterfall::spans_of(app.inspector.store(), detail.id))
        .unwrap_or_default();
    let Some(detail) = &mut app.detail else {
        return Vec::new();
    };
    let id = detail.id;
    match command {
        // Back to the trace this one was opened from in its waterfall, else to the list.
        Command::Back => match detail.back.pop() {
            Some(previous) if app.inspector.store().get(previous).is_some() => {
                let back = std::mem::take(&mut detail.back);
                let mut reopened = Detail::new(previous, detail.from);
                reopened.back = back;
                reopened.span = row_of(&spans, previous);
                app.detail = Some(reopened);
            }
            _ => app.close_detail(),
        },
        Command::NextSpan if !spans.is_empty() => {
            detail.span = (detail.span + 1) % spans.len();
        }
        Command::PrevSpan if !spans.is_empty() => {
            detail.span = (detail.span + spans.len() - 1) % spans.len();
        }
        Command::NextSpan | Command::PrevSpan => {
            app.complain("this trace is not part of a call tree");
        }
        Command::Open if detail.link.is_some() => {
            super::navigate::follow_link(app);
        }
        Command::NextLink | Command::PrevLink => {
            super::navigate::next_link(app, command == Command::NextLink);
        }
        Command::FilterTopic | Command::FilterSender => {
            super::navigate::filter_on(app, id, command == Command::FilterSender);
        }
        Command::Open => match spans.get(detail.span) {
            Some(span) if span.id != id => {
                let mut back = std::mem::take(&mut detail.back);
                back.push(id);
                let mut opened = Detail::new(span.id, detail.from);
                opened.back = back;
                opened.span = detail.span;
                app.detail = Some(opened);
            }
            Some(_) => app.say("this span is the trace shown"),
            None => {}
        },
        Command::Up => detail.scroll = detail.scroll.saturating_sub(1),
        Command::Down => detail.scroll = (detail.scroll + 1).min(last),
        Command::PageUp => detail.scroll = detail.scroll.saturating_sub(page),
        Command::PageDown => detail.scroll = (detail.scroll + page).min(last),
        Command::Top => detail.scroll = 0,
        Command::Bottom => detail.scroll = last.saturating_sub(page.saturating_sub(1)),
        Command::Search => detail.search = Some(LineInput::new(detail.query.clone())),
        Command::SearchNext => jump(app, true),
        Command::SearchPrev => jump(app, false),
        Command::Mark => app.toggle_mark(id),
        Command::Replay | Command::EditReplay | Command::ReplayOptions | Command::Copy => {
            return vec![Effect::Then(Box::new(Action::OnTrace(id, command)))];
        }
        _ => {}
    }
    Vec::new()
}

/// The waterfall row of `id` (0, the root, when it is not in the tree).
fn row_of(spans: &[Span], id: TraceId) -> usize {
    spans.iter().position(|span| span.id == id).unwrap_or(0)
}

/// A key while the search prompt has the keyboard.
pub fn search_key(app: &mut State, key: KeyEvent) -> Vec<Effect> {
    let Some(detail) = &mut app.detail else {
        return Vec::new();
    };
    let Some(input) = &mut detail.search else {
        return Vec::new();
    };
    match key.code {
        KeyCode::Esc => detail.search = None,
        KeyCode::Enter => {
            detail.query = input.text().to_lowercase();
            detail.search = None;
            if !detail.query.is_empty() && matches(app).is_empty() {
                let query = app.detail.as_ref().map(|d| d.query.clone());
                app.complain(format!("no match for “{}”", query.unwrap_or_default()));
            } else {
                jump(app, true);
            }
        }
        _ => {
            input.edit(&key);
        }
    }
    Vec::new()
}

/// Scrolls to the next (or previous) match, wrapping around.
fn jump(app: &mut State, forward: bool) {
    let matches = matches(app);
    let Some(detail) = &mut app.detail else {
        return;
    };
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
