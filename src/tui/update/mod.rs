//! State transitions: every [`Action`] goes through [`update`], which changes the state
//! and returns the I/O it needs as [`Effect`]s. No I/O here, so the whole app can be
//! driven by tests.
//!
//! One module per screen, each `fn(&mut State, …) -> Vec<Effect>`; none imports another
//! (a screen that needs another's work hands it an [`Action`] in [`Effect::Then`], which
//! [`update`] carries out before it returns). Keys go first to whatever has the keyboard
//! (a text field of a dialog, the filter bar, the detail search), then through the key
//! map of the current context to a command.

mod cursor;
mod detail;
mod errors;
mod navigate;
mod screens;
mod send;
mod services;
mod topics;
mod traces;

use crate::tui::action::{Action, Done, Effect, Failure, Probe};
use crate::tui::keymap::{Command, Context};
use crate::tui::model::{Screen, Source};
use crate::tui::state::State;
use crate::tui::state::forms::FireField;
use crate::tui::state::modal::{Confirmed, Modal};
use crate::tui::view::last_help_scroll;
use crossterm::event::{KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use std::time::Duration;

/// How long a status message stays.
const STATUS_FOR: Duration = Duration::from_secs(8);

/// Applies one action, and the follow-ups it hands on; returns the work for the event
/// loop.
pub fn update(app: &mut State, action: Action) -> Vec<Effect> {
    let effects = apply(app, action);
    let effects = follow_up(app, effects);
    keep_history(app, effects)
}

/// Runs a command in the current context (as its key would), and the follow-ups it hands
/// on; returns the work for the event loop.
pub fn run(app: &mut State, command: Command) -> Vec<Effect> {
    let effects = command_in_context(app, command);
    let effects = follow_up(app, effects);
    keep_history(app, effects)
}

/// Hands a changed filter history over to be written as soon as it changes: a session
/// that ends in a crash keeps the filters it applied.
fn keep_history(app: &mut State, mut effects: Vec<Effect>) -> Vec<Effect> {
    let bar = &mut app.filter;
    if bar.history_unsaved
        && let Some(path) = &bar.history_file
    {
        bar.history_unsaved = false;
        effects.push(Effect::SaveHistory {
            path: path.clone(),
            filters: bar.history.clone(),
        });
    }
    effects
}

/// Carries out the follow-ups among `effects`, in order; returns the rest.
fn follow_up(app: &mut State, effects: Vec<Effect>) -> Vec<Effect> {
    let mut out = Vec::new();
    let mut next: std::collections::VecDeque<Effect> = effects.into();
    while let Some(effect) = next.pop_front() {
        match effect {
            Effect::Then(action) => {
                for (at, effect) in apply(app, *action).into_iter().enumerate() {
                    next.insert(at, effect);
                }
            }
            effect => out.push(effect),
        }
    }
    out
}

fn apply(app: &mut State, action: Action) -> Vec<Effect> {
    match action {
        Action::Key(key) => {
            app.dirty = true;
            key_pressed(app, key)
        }
        Action::Mouse(mouse) => mouse_used(app, mouse),
        Action::Paste(text) => {
            app.dirty = true;
            pasted(app, &text);
            Vec::new()
        }
        Action::Resize(width, height) => {
            app.size = (width, height);
            app.dirty = true;
            Vec::new()
        }
        Action::Events(events) => {
            app.ingest(events);
            Vec::new()
        }
        Action::Deep(events) => {
            app.deepen(events);
            Vec::new()
        }
        Action::Tick(probe) => tick(app, probe),
        Action::FileDone(error) => {
            if let Source::File { done, .. } = &mut app.source {
                *done = true;
            }
            app.sweep();
            if let Some(error) = error {
                app.complain(error);
            }
            app.dirty = true;
            Vec::new()
        }
        Action::Done(done) => {
            app.dirty = true;
            finished(app, done)
        }
        Action::OnTrace(id, command) => {
            app.dirty = true;
            send::on_trace(app, id, command)
        }
        Action::Write(path) => traces::write(app, path),
        Action::ClearStore => {
            app.clear();
            Vec::new()
        }
    }
}

fn tick(app: &mut State, probe: Probe) -> Vec<Effect> {
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
    if let Some(metrics) = &app.metrics {
        metrics.sync(&app.inspector, probe.dropped);
    }
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
        app.sweep();
    }
    let mut effects = screens::tick(app);
    effects.extend(send::replay_tick(app));
    // While the capture is away, ask Redis why, once at a time.
    if matches!(
        app.source,
        Source::Live {
            connected: false,
            ..
        }
    ) && !app.probing
    {
        app.probing = true;
        effects.push(Effect::ProbeLink);
    }
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
    effects
}

/// Pasted text goes into whatever text field has the keyboard: whole into the data of
/// the fire form or the editor (JSON may span lines), with its line breaks as spaces
/// into a one-line field (a topic, a filter, a file name). Elsewhere it is ignored: a
/// paste is never a string of commands.
fn pasted(app: &mut State, text: &str) {
    let one_line = text.replace("\r\n", " ").replace(['\n', '\r'], " ");
    if app.modal.is_none() && app.filter.editing {
        app.filter.input.insert(&one_line);
        app.filter
            .check(&app.traces, app.inspector.store(), &app.keymap);
        return;
    }
    match &mut app.modal {
        Some(Modal::Fire(form)) => match form.focus {
            FireField::Data => form.data.insert(text),
            // Through the same rules as typing: a pasted composition switches the form.
            FireField::Target => {
                for c in one_line.trim().chars() {
                    form.edit_target(&KeyEvent::new(
                        crossterm::event::KeyCode::Char(c),
                        crossterm::event::KeyModifiers::NONE,
                    ));
                }
            }
            FireField::Timeout => form.timeout.insert(one_line.trim()),
            FireField::Kind => {}
        },
        Some(Modal::Edit(form)) => form.data.insert(text),
        Some(Modal::Write(input) | Modal::GoTo(input)) => input.insert(one_line.trim()),
        Some(Modal::Replay(form)) => form.focused().insert(one_line.trim()),
        None => {
            if let Some(search) = app.detail.as_mut().and_then(|d| d.search.as_mut()) {
                search.insert(&one_line);
            }
        }
        _ => {}
    }
}

fn key_pressed(app: &mut State, key: KeyEvent) -> Vec<Effect> {
    // Ctrl-L repaints wherever the keyboard is, a text field included.
    if app.keymap.command(Context::Global, &key) == Some(Command::Redraw) {
        return vec![Effect::Repaint];
    }
    match &app.modal {
        Some(Modal::Fire(_)) => return send::fire_key(app, key),
        Some(Modal::Edit(_)) => return send::edit_key(app, key),
        Some(Modal::Write(_)) => return traces::write_key(app, key),
        Some(Modal::GoTo(_)) => return navigate::go_to_key(app, key),
        Some(Modal::Replay(_)) => return send::replay_key(app, key),
        _ => {}
    }
    if app.modal.is_none() && app.filter.editing {
        return traces::filter_key(app, key);
    }
    if app.modal.is_none() && app.detail.as_ref().is_some_and(|d| d.search.is_some()) {
        return detail::search_key(app, key);
    }
    match app.keymap.command(app.context(), &key) {
        Some(command) => command_in_context(app, command),
        None => Vec::new(),
    }
}

/// Runs a command in the current context, follow-ups left in.
fn command_in_context(app: &mut State, command: Command) -> Vec<Effect> {
    if app.modal.is_some() {
        return modal_command(app, command);
    }
    if let Some(effects) = global(app, command) {
        return effects;
    }
    if app.detail.is_some() && app.screen == Screen::Traces {
        return detail::command(app, command);
    }
    match app.screen {
        Screen::Traces => traces::command(app, command),
        Screen::Topics => topics::command(app, command),
        Screen::Errors => errors::command(app, command),
        Screen::Services => services::command(app, command),
    }
}

/// Commands that mean the same everywhere, when `command` is one.
fn global(app: &mut State, command: Command) -> Option<Vec<Effect>> {
    let screen = |app: &mut State, screen| Some(screens::show(app, screen));
    match command {
        Command::Quit => app.quit = true,
        Command::Redraw => return Some(vec![Effect::Repaint]),
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
        Command::GoTo => navigate::start_go_to(app),
        Command::ToggleDeep if !app.online => {
            app.complain("deep capture needs a live Redis (this is a capture file)");
        }
        Command::ToggleDeep => {
            app.say(if app.deep {
                "stopping deep capture…"
            } else {
                "starting deep capture (MONITOR)…"
            });
            return Some(vec![Effect::Deep(!app.deep)]);
        }
        _ => return None,
    }
    Some(Vec::new())
}

fn modal_command(app: &mut State, command: Command) -> Vec<Effect> {
    let last_help = match app.modal {
        Some(Modal::Help { .. }) => last_help_scroll(app),
        _ => 0,
    };
    let Some(modal) = &mut app.modal else {
        return Vec::new();
    };
    match modal {
        Modal::Help { scroll } => {
            let last = last_help;
            match command {
                Command::Back | Command::Help | Command::Quit => app.modal = None,
                Command::Up => *scroll = scroll.saturating_sub(1),
                Command::Down => *scroll = (*scroll + 1).min(last),
                Command::PageUp => *scroll = scroll.saturating_sub(10),
                Command::PageDown => *scroll = (*scroll + 10).min(last),
                Command::Top => *scroll = 0,
                Command::Bottom => *scroll = last,
                _ => {}
            }
        }
        Modal::Confirm { then, .. } => match command {
            Command::Yes => {
                let then = then.clone();
                app.modal = None;
                return confirmed(then);
            }
            Command::No => {
                // What the status said while asking ("counting listeners…") is over.
                let sending = matches!(then, Confirmed::Fire(..) | Confirmed::Publish(..));
                app.modal = None;
                if sending {
                    app.say("not sent");
                } else {
                    app.status = None;
                }
            }
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
                    return errors::resend(app, index);
                }
                Command::OpenTrace => {
                    app.modal = None;
                    errors::open_trace(app, index);
                }
                Command::Up => *scroll = scroll.saturating_sub(1),
                Command::Down => *scroll = (*scroll + 1).min(most),
                Command::PageUp => *scroll = scroll.saturating_sub(10),
                Command::PageDown => *scroll = (*scroll + 10).min(most),
                Command::Top => *scroll = 0,
                _ => {}
            }
        }
        Modal::Host { scroll, .. } => match command {
            Command::Back | Command::Open | Command::Quit => app.modal = None,
            // The view stops at the last row; a host's text is never this long.
            Command::Up => *scroll = scroll.saturating_sub(1),
            Command::Down => *scroll = (*scroll + 1).min(1_000),
            Command::PageUp => *scroll = scroll.saturating_sub(10),
            Command::PageDown => *scroll = (*scroll + 10).min(1_000),
            Command::Top => *scroll = 0,
            _ => {}
        },
        Modal::Fire(_) | Modal::Edit(_) | Modal::Write(_) | Modal::GoTo(_) | Modal::Replay(_) => {}
    }
    Vec::new()
}

/// Does what a confirmation said yes to.
fn confirmed(then: Confirmed) -> Vec<Effect> {
    vec![match then {
        Confirmed::DeleteError(entry) => Effect::DeleteError(*entry),
        Confirmed::TrimErrors(entry) => Effect::TrimErrors(*entry),
        Confirmed::RemoveIdent(ident) => Effect::RemoveIdent(ident),
        Confirmed::Fire(fire, original) => Effect::Fire(fire, original),
        Confirmed::Publish(fire, original) => Effect::Publish(fire, original),
        Confirmed::Overwrite(path) => Effect::Then(Box::new(Action::Write(path))),
        Confirmed::ClearStore => Effect::Then(Box::new(Action::ClearStore)),
    }]
}

fn mouse_used(app: &mut State, mouse: MouseEvent) -> Vec<Effect> {
    let command = match mouse.kind {
        MouseEventKind::ScrollDown => Some(Command::Down),
        MouseEventKind::ScrollUp => Some(Command::Up),
        MouseEventKind::Down(MouseButton::Left) => {
            if app.modal.is_none() {
                app.dirty = true;
                return screens::click(app, mouse.column, mouse.row);
            }
            None
        }
        _ => None,
    };
    let mut effects = Vec::new();
    if let Some(command) = command {
        app.dirty = true;
        for _ in 0..3 {
            effects.extend(command_in_context(app, command));
        }
    }
    effects
}

fn finished(app: &mut State, done: Done) -> Vec<Effect> {
    match done {
        Done::Sent { .. }
        | Done::Composed { .. }
        | Done::Listeners { .. }
        | Done::Edited { .. } => return send::finished(app, done),
        Done::Written { path, events } => app.say(format!("wrote {events} events to {path}")),
        Done::LinkProbed(reason) => {
            app.probing = false;
            let connected = matches!(
                app.source,
                Source::Live {
                    connected: true,
                    ..
                }
            );
            if let (Some(reason), false) = (reason, connected) {
                app.link_down = Some(reason);
            }
        }
        Done::Failed(Failure::Status, why) => app.complain(why),
        Done::Deep(Ok(on)) => {
            app.deep = on;
            app.say(if on {
                "deep capture on: MONITOR costs Redis throughput (M turns it off)"
            } else {
                "deep capture off"
            });
        }
        // Refused (ACL, managed Redis): one line, the normal capture goes on.
        Done::Deep(Err(why)) => {
            app.deep = false;
            app.complain(why);
        }
        other => return screens::finished(app, other),
    }
    Vec::new()
}

#[cfg(test)]
mod tests;
