//! Sending from the app: replaying a trace (as it was, or with edited data), copying it as
//! a command line, the fire form, and tying what was sent to the traces it made.

use crate::tui::action::{Done, Effect};
use crate::tui::keymap::{Command, Context};
use crate::tui::model::{Fire, FiredComposition};
use crate::tui::state::State;
use crate::tui::state::forms::{EditForm, FireField, FireForm, FireKind, parse_data};
use crate::tui::state::input::TextEditor;
use crate::tui::state::modal::{Confirmed, Modal};
use crate::tui::state::replay::ReplayForm;
use crate::tui::target::{command_line, compose_line, target};

/// The most text copied through OSC 52: what most terminals take (hterm's limit, base64
/// of it under 100,000 bytes); more is dropped by the terminal without a word.
pub const COPY_LIMIT: usize = 74_994;
use crossterm::event::{KeyCode, KeyEvent};
use gilmour::inspect::sanitize::clean;
use gilmour::inspect::trace::human_latency as format_latency;
use gilmour::inspect::{TraceId, TraceKind, TraceStore};

/// Replay, edit-then-replay or copy a trace.
pub fn on_trace(app: &mut State, id: TraceId, command: Command) -> Vec<Effect> {
    let Some(trace) = app.inspector.store().get(id) else {
        return Vec::new();
    };
    let target = match target(trace, &app.channels) {
        Ok(target) => target,
        Err(why) => {
            let verb = if command == Command::Copy {
                "copy"
            } else {
                "replay"
            };
            app.complain(format!("cannot {verb} {id}: {why}"));
            return Vec::new();
        }
    };
    match command {
        Command::Copy => {
            // A step of a composition fired from here is copied as the composition.
            let composition = app
                .links
                .step_of
                .get(&trace.sender)
                .and_then(|index| app.links.compositions.get(*index));
            let redis = app.redis.as_deref();
            let line = match composition {
                Some(fired) => compose_line(&fired.text, &fired.input, &app.channels, redis),
                None => command_line(&target, &app.channels, redis),
            };
            if line.len() > COPY_LIMIT {
                app.complain(format!(
                    "not copied: the command line is {} bytes, more than terminals take \
                     through OSC 52 ({} KiB); w writes the trace to a file",
                    line.len(),
                    COPY_LIMIT / 1024
                ));
                return Vec::new();
            }
            app.say(format!("copied: {}", clean(&line, 200)));
            return vec![Effect::Copy(line)];
        }
        _ if !app.online => app.complain("offline: replaying needs Redis"),
        Command::ReplayOptions => {
            app.modal = Some(Modal::Replay(Box::new(ReplayForm::new(id, target))));
        }
        Command::EditReplay if app.external_editor => {
            let text = serde_json::to_string_pretty(&target.data).unwrap_or_default();
            return vec![Effect::Edit { original: id, text }];
        }
        Command::EditReplay => {
            let what = format!(
                "{} {}",
                if target.signal { "signal" } else { "request" },
                clean(&target.topic, 60)
            );
            app.modal = Some(Modal::Edit(Box::new(EditForm {
                original: id,
                what,
                data: editor_with(&target.data),
            })));
        }
        _ => return replay(app, id, target.clone().fire(target.data)),
    }
    Vec::new()
}

/// The editor holding a payload as pretty JSON, the cursor at its start (where a long
/// payload's beginning shows).
fn editor_with(data: &serde_json::Value) -> TextEditor {
    let text = serde_json::to_string_pretty(data).unwrap_or_default();
    let mut editor = TextEditor::new(&text);
    editor.move_to_start();
    editor
}

fn replay(app: &mut State, original: TraceId, fire: Fire) -> Vec<Effect> {
    app.say(format!("replaying {original}…"));
    vec![Effect::Fire(fire, Some(original))]
}

/// A key while the replay form is open.
pub fn replay_key(app: &mut State, key: KeyEvent) -> Vec<Effect> {
    let Some(Modal::Replay(form)) = &mut app.modal else {
        return Vec::new();
    };
    match key.code {
        KeyCode::Esc => app.modal = None,
        KeyCode::Tab | KeyCode::Down => form.focus = form.focus.step(true),
        KeyCode::BackTab | KeyCode::Up => form.focus = form.focus.step(false),
        KeyCode::Enter => match form.plan() {
            Ok(mut plan) => {
                app.modal = None;
                let (original, total) = (plan.original, plan.left);
                let now = plan.take();
                app.say(match plan.rate {
                    Some(rate) => format!("replaying {original} {total} times, {rate} a second…"),
                    None if total == 1 => format!("replaying {original}…"),
                    None => format!("replaying {original} {total} times…"),
                });
                app.replaying = (plan.left > 0).then_some(plan);
                return now
                    .into_iter()
                    .map(|fire| Effect::Fire(fire, Some(original)))
                    .collect();
            }
            Err(why) => app.complain(why),
        },
        _ => {
            form.focused().edit(&key);
        }
    }
    Vec::new()
}

/// Once a second: the next copies of a replay at a rate.
pub fn replay_tick(app: &mut State) -> Vec<Effect> {
    let Some(plan) = &mut app.replaying else {
        return Vec::new();
    };
    let original = plan.original;
    let now = plan.take();
    if plan.left == 0 {
        app.replaying = None;
    }
    now.into_iter()
        .map(|fire| Effect::Fire(fire, Some(original)))
        .collect()
}

/// Opens the fire form.
pub fn open_fire(app: &mut State) {
    if !app.online {
        return app.complain("offline: firing needs Redis");
    }
    let mut form = FireForm::default();
    form.suggest(fire_topics(app.inspector.store(), form.kind));
    app.modal = Some(Modal::Fire(Box::new(form)));
}

/// The seen topics worth completing for what is being fired: those last seen with
/// requests for a request or composition, with signals for a signal.
fn fire_topics(store: &TraceStore, kind: FireKind) -> impl Iterator<Item = &str> {
    let wanted = match kind {
        FireKind::Signal => TraceKind::Signal,
        FireKind::Request | FireKind::Compose => TraceKind::Request,
    };
    store
        .topics()
        .filter(move |topic| {
            store
                .by_topic(topic)
                .next()
                .is_some_and(|trace| trace.kind == wanted)
        })
        .map(|topic| &**topic)
}

/// A key while the fire form is open. The send key sends from any field; Enter sends
/// too, except in the data, where it starts a new line, and ↑↓ move between lines there
/// before they move to the field above or below.
pub fn fire_key(app: &mut State, key: KeyEvent) -> Vec<Effect> {
    let send = app.keymap.command(Context::Form, &key) == Some(Command::Send);
    let State {
        modal, inspector, ..
    } = app;
    let Some(Modal::Fire(form)) = modal else {
        return Vec::new();
    };
    let store = inspector.store();
    let in_data = form.focus == FireField::Data;
    let leaves_data = |up: bool| !in_data || form.data.at_edge(up);
    match key.code {
        _ if send => return send_fire(app),
        KeyCode::Esc => *modal = None,
        KeyCode::Enter if !in_data => return send_fire(app),
        KeyCode::Up if leaves_data(true) => form.focus = form.focus.step(false),
        KeyCode::BackTab => form.focus = form.focus.step(false),
        KeyCode::Down if leaves_data(false) => form.focus = form.focus.step(true),
        KeyCode::Tab => {
            if form.focus != FireField::Target || !form.complete() {
                form.focus = form.focus.step(true);
            }
            let kind = form.kind;
            form.suggest(fire_topics(store, kind));
        }
        KeyCode::Left | KeyCode::Right if form.focus == FireField::Kind => {
            let at = FireKind::ALL
                .iter()
                .position(|k| *k == form.kind)
                .unwrap_or(0);
            let len = FireKind::ALL.len();
            let next = if key.code == KeyCode::Right {
                at + 1
            } else {
                at + len - 1
            };
            form.kind = FireKind::ALL[next % len];
            form.notice = None;
            let kind = form.kind;
            form.suggest(fire_topics(store, kind));
        }
        _ => {
            let changed = match form.focus {
                FireField::Kind => return Vec::new(),
                FireField::Target => form.edit_target(&key),
                FireField::Data => form.data.edit(&key),
                FireField::Timeout => form.timeout.edit(&key),
            };
            // A complaint about the form ("not JSON …") is stale once its text changes:
            // the form says under each field what is wrong with it now.
            if changed && app.status.as_ref().is_some_and(|status| status.failure) {
                app.status = None;
            }
            if changed && form.focus == FireField::Target {
                let kind = form.kind;
                form.suggest(fire_topics(store, kind));
            }
        }
    }
    Vec::new()
}

/// Sends what the fire form says, once the listeners are counted; or says why not.
fn send_fire(app: &mut State) -> Vec<Effect> {
    let Some(Modal::Fire(form)) = &app.modal else {
        return Vec::new();
    };
    match form.to_fire() {
        Ok(fire) => {
            app.modal = None;
            app.say("counting listeners…");
            vec![Effect::CheckListeners(fire, None)]
        }
        Err(why) => {
            app.complain(why);
            Vec::new()
        }
    }
}

/// A key while the data editor is open: the send key replays, Enter starts a new line.
pub fn edit_key(app: &mut State, key: KeyEvent) -> Vec<Effect> {
    let send = app.keymap.command(Context::Form, &key) == Some(Command::Send);
    let Some(Modal::Edit(form)) = &mut app.modal else {
        return Vec::new();
    };
    match key.code {
        _ if send => {
            let (original, text) = (form.original, form.data.text());
            if let Err(why) = parse_data(&text) {
                app.complain(why);
                return Vec::new();
            }
            app.modal = None;
            return replay_edited(app, original, &text);
        }
        KeyCode::Esc => app.modal = None,
        _ => {
            if form.data.edit(&key) && app.status.as_ref().is_some_and(|status| status.failure) {
                app.status = None;
            }
        }
    }
    Vec::new()
}

fn replay_edited(app: &mut State, original: TraceId, text: &str) -> Vec<Effect> {
    let data = match parse_data(text) {
        Ok(data) => data,
        Err(why) => {
            app.complain(why);
            return Vec::new();
        }
    };
    let Some(target) = app
        .inspector
        .store()
        .get(original)
        .and_then(|t| target(t, &app.channels).ok())
    else {
        app.complain(format!("{original} is no longer in the store"));
        return Vec::new();
    };
    replay(app, original, target.fire(data))
}

/// What to do once the listeners are counted: send; send to the pattern slots that take
/// a signal nobody subscribes to exactly; or ask, and say what yes does.
fn listeners_counted(
    app: &mut State,
    fire: Fire,
    original: Option<TraceId>,
    silent: &[String],
    patterns: &[String],
) -> Vec<Effect> {
    if silent.is_empty() {
        app.say("sending…");
        return vec![Effect::Fire(fire, original)];
    }
    let topics: Vec<String> = silent.iter().map(|t| clean(t, 60)).collect();
    let topics = topics.join(", ");
    if matches!(fire, Fire::Signal { .. }) && !patterns.is_empty() {
        let count = patterns.len();
        let plural = if count == 1 { "" } else { "s" };
        let exist = if count == 1 { "exists" } else { "exist" };
        let names: Vec<String> = patterns.iter().map(|p| clean(p, 60)).collect();
        app.say(format!(
            "no exact subscriber on {topics}; {count} pattern subscription{plural} {exist} \
             ({}): sending…",
            names.join(", ")
        ));
        return vec![Effect::Fire(fire, original)];
    }
    if app.modal.is_some() {
        // Never take away a dialog the user is in the middle of.
        app.complain(format!("nobody listens on {topics}: not sent"));
        return Vec::new();
    }
    let (question, then) = match fire {
        Fire::Compose { .. } => (
            format!("Nobody serves {topics}. Run anyway? (those steps fail with 404)"),
            Confirmed::Fire(fire, original),
        ),
        Fire::Request { .. } | Fire::Signal { .. } => (
            format!("Nobody listens on {topics}. Publish anyway? (nobody will answer)"),
            Confirmed::Publish(fire, original),
        ),
    };
    app.modal = Some(Modal::Confirm { question, then });
    Vec::new()
}

/// Results of sends.
pub fn finished(app: &mut State, done: Done) -> Vec<Effect> {
    match done {
        Done::Sent {
            original,
            what,
            sender,
            result,
        } => {
            match result {
                Ok(line) => app.say(line),
                Err(why) => app.complain(format!("{what}: {why}")),
            }
            if let Some(sender) = sender {
                app.links.expect(&sender, original, true);
                app.resolve_links();
            }
        }
        Done::Composed {
            text,
            id,
            steps,
            input,
            code,
            data,
            elapsed,
        } => {
            // Its result opens as its own trace, the waterfall of all its steps (when at
            // least one step went out; none may have, when nobody listened).
            let published = steps.iter().any(|(_, sender, _)| sender.is_some());
            app.links.composed(FiredComposition {
                text,
                id: id.clone(),
                steps,
                input,
            });
            app.say(format!(
                "composition answered {code} in {}: {}",
                format_latency(elapsed),
                clean(&data, 120)
            ));
            if published {
                app.links.expect(&id, None, true);
                app.resolve_links();
            }
        }
        Done::Listeners {
            fire,
            original,
            silent,
            patterns,
        } => return listeners_counted(app, fire, original, &silent, &patterns),
        Done::Edited { original, text } => return replay_edited(app, original, &text),
        _ => {}
    }
    Vec::new()
}
