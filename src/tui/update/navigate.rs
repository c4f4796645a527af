//! Getting from one trace to another: `#` opens a trace by its number, Tab and Enter in
//! a detail follow its references (replay of, replays, parent, calls), and `t`/`c` turn
//! a trace's topic or sender into the filter. Each opened trace remembers the one it
//! was opened from, so Esc walks back.

use crate::tui::action::Effect;
use crate::tui::state::State;
use crate::tui::state::detail::references;
use crate::tui::state::input::LineInput;
use crate::tui::state::modal::Modal;
use crossterm::event::{KeyCode, KeyEvent};
use gilmour::inspect::filter::{Expr, Test, TopicPattern};
use gilmour::inspect::sanitize::clean;
use gilmour::inspect::{Filter, TraceId};

/// Opens the "go to #N" prompt.
pub fn start_go_to(app: &mut State) {
    app.modal = Some(Modal::GoTo(LineInput::new(String::new())));
}

/// A key while the "go to #N" prompt has the keyboard.
pub fn go_to_key(app: &mut State, key: KeyEvent) -> Vec<Effect> {
    let Some(Modal::GoTo(input)) = &mut app.modal else {
        return Vec::new();
    };
    match key.code {
        KeyCode::Esc => app.modal = None,
        KeyCode::Enter => {
            let text = input.text().trim().trim_start_matches('#').to_owned();
            let Ok(number) = text.parse::<u64>() else {
                app.complain(format!("#{} is not a trace number", clean(&text, 20)));
                return Vec::new();
            };
            app.modal = None;
            open_from_here(app, TraceId(number));
        }
        _ => {
            input.edit(&key);
        }
    }
    Vec::new()
}

/// Opens `id`; from a detail, Esc comes back to the trace that was open.
pub fn open_from_here(app: &mut State, id: TraceId) {
    if app.inspector.store().get(id).is_none() {
        return app.complain(format!(
            "{id} is not in the store (evicted, or not seen yet)"
        ));
    }
    let back = match app.detail.take() {
        Some(open) if app.screen == crate::tui::model::Screen::Traces => {
            let mut back = open.back.clone();
            back.push(open.id);
            let from = open.from;
            app.detail = Some(open);
            Some((back, from))
        }
        other => {
            app.detail = other;
            None
        }
    };
    app.open(id);
    if let (Some((back, _)), Some(detail)) = (back, &mut app.detail) {
        detail.back = back;
    }
}

/// Chooses the next (or previous) reference of the open trace.
pub fn next_link(app: &mut State, forward: bool) {
    let Some(detail) = &app.detail else {
        return;
    };
    let Some(trace) = app.inspector.store().get(detail.id) else {
        return;
    };
    let found = references(&app.links, trace);
    if found.is_empty() {
        return app.complain("this trace refers to no other");
    }
    let len = found.len();
    let at = match (detail.link, forward) {
        (None, true) => 0,
        (None, false) => len - 1,
        (Some(at), true) => (at + 1) % len,
        (Some(at), false) => (at + len - 1) % len,
    };
    let (relation, id) = found[at];
    if let Some(detail) = &mut app.detail {
        detail.link = Some(at);
    }
    app.say(format!(
        "{} {id} ({}/{len}): enter follows, esc comes back",
        relation.label(),
        at + 1
    ));
}

/// Follows the chosen reference of the open trace; false when none is chosen.
pub fn follow_link(app: &mut State) -> bool {
    let Some(detail) = &app.detail else {
        return false;
    };
    let Some(at) = detail.link else {
        return false;
    };
    let target = app
        .inspector
        .store()
        .get(detail.id)
        .and_then(|trace| references(&app.links, trace).get(at).copied());
    match target {
        Some((_, id)) => open_from_here(app, id),
        None => {
            if let Some(detail) = &mut app.detail {
                detail.link = None;
            }
        }
    }
    true
}

/// Puts a filter on `id`'s topic (or sender) in force, and opens the bar on it so that
/// it can be read and changed.
pub fn filter_on(app: &mut State, id: TraceId, sender: bool) {
    let Some(trace) = app.inspector.store().get(id) else {
        return;
    };
    let test = if sender {
        if trace.sender.is_empty() {
            return app.complain("this trace has no sender");
        }
        Test::Sender(trace.sender.to_string())
    } else {
        if trace.topic.is_empty() {
            return app.complain("this trace has no topic");
        }
        Test::Topic(TopicPattern::Exact(trace.topic.to_string()))
    };
    let filter = Filter::from(Expr::Test(test));
    let text = filter.to_string();
    // The filter is the trace list's: it shows the list it filters.
    app.detail = None;
    app.screen = crate::tui::model::Screen::Traces;
    app.apply_filter(text.clone(), filter);
    app.filter.editing = true;
    app.filter.input = LineInput::new(text);
    app.filter.history_at = None;
    app.filter
        .check(&app.traces, app.inspector.store(), &app.keymap);
}
