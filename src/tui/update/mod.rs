//! State transitions: every [`Action`] goes through [`update`], which changes the state
//! and asks for I/O only by pushing [`Effect`](super::action::Effect)s. No I/O here, so
//! the whole app can be driven by tests.
//!
//! Keys go first to whatever has the keyboard (a text field of a dialog, the filter bar,
//! the detail search), then through the key map of the current context to a command.

mod detail;
mod screens;
mod send;
mod traces;

#[cfg(test)]
pub use detail::open as open_detail;
pub use traces::apply_filter;

use super::action::{Action, Done, Failure, Probe};
use super::app::{App, Modal};
use super::keymap::Command;
use super::model::{Screen, Source};
use crossterm::event::{KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use std::time::Duration;

/// How long a status message stays.
const STATUS_FOR: Duration = Duration::from_secs(8);

/// Applies one action.
pub fn update(app: &mut App, action: Action) {
    match action {
        Action::Key(key) => {
            app.dirty = true;
            key_pressed(app, key);
        }
        Action::Mouse(mouse) => mouse_used(app, mouse),
        Action::Resize(width, height) => {
            app.size = (width, height);
            // The detail's notes are wrapped to the width.
            detail::rebuild(app);
            app.dirty = true;
        }
        Action::Events(events) => traces::ingest(app, events),
        Action::Deep(events) => traces::deepen(app, events),
        Action::Tick(probe) => tick(app, probe),
        Action::FileDone(error) => {
            if let Source::File { done, .. } = &mut app.source {
                *done = true;
            }
            traces::sweep(app);
            if let Some(error) = error {
                app.complain(error);
            }
            app.dirty = true;
        }
        Action::Done(done) => {
            app.dirty = true;
            finished(app, done);
        }
    }
}

fn tick(app: &mut App, probe: Probe) {
    let before = (
        app.rate,
        app.dropped,
        app.source.clone(),
        app.status.is_some(),
    );
    app.wall = probe.now;
    if app.online {
        app.now = probe.now;
    }
    if let (Source::Live { connected, .. }, Some(up)) = (&mut app.source, probe.connected) {
        *connected = up;
    }
    app.dropped = probe.dropped;
    let messages = app.inspector.counters().messages;
    let (counted, at) = app.messages_at_tick;
    if let Some(at) = at
        && let Ok(elapsed) = (probe.now - at).to_std()
        && !elapsed.is_zero()
    {
        app.rate = messages.saturating_sub(counted) as f64 / elapsed.as_secs_f64();
    }
    app.messages_at_tick = (messages, Some(probe.now));
    if app.online {
        traces::sweep(app);
    }
    screens::tick(app);
    if app.status.as_ref().is_some_and(|status| {
        (app.wall - status.at)
            .to_std()
            .is_ok_and(|age| age > STATUS_FOR)
    }) {
        app.status = None;
    }
    // An idle app is not redrawn: only what a tick changed on screen asks for a frame.
    let after = (
        app.rate,
        app.dropped,
        app.source.clone(),
        app.status.is_some(),
    );
    if after != before || app.screen == Screen::Topics {
        app.dirty = true;
    }
}

fn key_pressed(app: &mut App, key: KeyEvent) {
    match &app.modal {
        Some(Modal::Fire(_)) => return send::fire_key(app, key),
        Some(Modal::Edit(_)) => return send::edit_key(app, key),
        Some(Modal::Write(_)) => return traces::write_key(app, key),
        _ => {}
    }
    if app.modal.is_none() && app.filter.editing {
        return traces::filter_key(app, key);
    }
    if app.modal.is_none() && app.detail.as_ref().is_some_and(|d| d.search.is_some()) {
        return detail::search_key(app, key);
    }
    if let Some(command) = app.keymap.command(app.context(), &key) {
        run(app, command);
    }
}

/// Runs a command in the current context.
pub fn run(app: &mut App, command: Command) {
    if app.modal.is_some() {
        return modal_command(app, command);
    }
    if global(app, command) {
        return;
    }
    if app.detail.is_some() && app.screen == Screen::Traces {
        return detail::command(app, command);
    }
    match app.screen {
        Screen::Traces => traces::command(app, command),
        Screen::Topics => screens::topics_command(app, command),
        Screen::Errors => screens::errors_command(app, command),
        Screen::Services => screens::services_command(app, command),
    }
}

/// Commands that mean the same everywhere; true when `command` was one.
fn global(app: &mut App, command: Command) -> bool {
    let screen = |app: &mut App, screen| {
        screens::show(app, screen);
        true
    };
    match command {
        Command::Quit => app.quit = true,
        Command::Help => app.modal = Some(Modal::Help { scroll: 0 }),
        Command::NextScreen | Command::PrevScreen => {
            let at = Screen::ALL
                .iter()
                .position(|s| *s == app.screen)
                .unwrap_or(0);
            let len = Screen::ALL.len();
            let next = if command == Command::NextScreen {
                (at + 1) % len
            } else {
                (at + len - 1) % len
            };
            return screen(app, Screen::ALL[next]);
        }
        Command::ShowTraces => return screen(app, Screen::Traces),
        Command::ShowTopics => return screen(app, Screen::Topics),
        Command::ShowErrors => return screen(app, Screen::Errors),
        Command::ShowServices => return screen(app, Screen::Services),
        Command::Filter => traces::start_filter(app),
        Command::Fire => send::open_fire(app),
        _ => return false,
    }
    true
}

fn modal_command(app: &mut App, command: Command) {
    let Some(modal) = &mut app.modal else {
        return;
    };
    match modal {
        Modal::Help { scroll } => match command {
            Command::Back | Command::Help | Command::Quit => app.modal = None,
            Command::Up => *scroll = scroll.saturating_sub(1),
            Command::Down => *scroll += 1,
            Command::PageUp => *scroll = scroll.saturating_sub(10),
            Command::PageDown => *scroll += 10,
            Command::Top => *scroll = 0,
            _ => {}
        },
        Modal::Confirm { then, .. } => match command {
            Command::Yes => {
                let then = then.clone();
                app.modal = None;
                screens::confirmed(app, then);
            }
            Command::No => app.modal = None,
            _ => {}
        },
        Modal::Record { index, scroll } => {
            let index = *index;
            // The view stops at the last row; this only keeps the count from running away.
            let most = app
                .errors
                .queue
                .get(index)
                .map_or(0, |entry| entry.raw.len());
            match command {
                Command::Back | Command::Open | Command::Quit => app.modal = None,
                Command::Resend => {
                    app.modal = None;
                    screens::resend(app, index);
                }
                Command::Up => *scroll = scroll.saturating_sub(1),
                Command::Down => *scroll = (*scroll + 1).min(most),
                Command::PageUp => *scroll = scroll.saturating_sub(10),
                Command::PageDown => *scroll = (*scroll + 10).min(most),
                Command::Top => *scroll = 0,
                _ => {}
            }
        }
        Modal::Fire(_) | Modal::Edit(_) | Modal::Write(_) => {}
    }
}

fn mouse_used(app: &mut App, mouse: MouseEvent) {
    let command = match mouse.kind {
        MouseEventKind::ScrollDown => Some(Command::Down),
        MouseEventKind::ScrollUp => Some(Command::Up),
        MouseEventKind::Down(MouseButton::Left) => {
            if app.modal.is_none() {
                screens::click(app, mouse.column, mouse.row);
                app.dirty = true;
            }
            None
        }
        _ => None,
    };
    if let Some(command) = command {
        app.dirty = true;
        for _ in 0..3 {
            run(app, command);
        }
    }
}

fn finished(app: &mut App, done: Done) {
    match done {
        Done::Sent { .. }
        | Done::Composed { .. }
        | Done::Listeners { .. }
        | Done::Edited { .. } => {
            send::finished(app, done);
        }
        Done::Written { path, events } => app.say(format!("wrote {events} events to {path}")),
        Done::Failed(Failure::Status, why) => app.complain(why),
        other => screens::finished(app, other),
    }
}

#[cfg(test)]
mod tests;
