//! Sending from the app: replaying a trace (as it was, or with edited data), copying it as
//! a command line, the fire form, and tying what was sent to the traces it made.

use super::super::action::{Done, Effect};
use super::super::app::{App, Confirmed, Modal};
use super::super::detail::request_data;
use super::super::forms::{EditForm, FireField, FireForm, FireKind, parse_data};
use super::super::input::LineInput;
use super::super::keymap::Command;
use super::super::model::{Fire, FiredComposition, live_record};
use super::super::view::format_latency;
use super::detail;
use crossterm::event::{KeyCode, KeyEvent};
use gilmour::inspect::sanitize::clean;
use gilmour::inspect::{Trace, TraceId, TraceKind, TraceStore};
use gilmour::protocol::{Channels, ErrorView, RecordLayout};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// How long a replayed request waits for its reply.
pub const REPLAY_TIMEOUT: Duration = Duration::from_secs(30);

/// What replaying a trace sends: a request or a signal, its topic and data.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// A signal rather than a request.
    pub signal: bool,
    /// The topic (a channel under the prefix is used as it is).
    pub topic: String,
    /// The data.
    pub data: Value,
}

impl Target {
    fn fire(self, data: Value) -> Fire {
        if self.signal {
            Fire::Signal {
                topic: self.topic,
                data,
            }
        } else {
            Fire::Request {
                topic: self.topic,
                data,
                timeout: REPLAY_TIMEOUT,
            }
        }
    }
}

/// What replaying a trace would send, or why it cannot be replayed.
pub fn target(trace: &Trace, channels: &Channels) -> Result<Target, &'static str> {
    let from_request = |signal| {
        let request = trace
            .request
            .as_ref()
            .ok_or("its request was not captured")?;
        // Health pings are replayed on their channel, which the engine uses as it is.
        let topic = if trace.kind == TraceKind::Health {
            request.channel.to_string()
        } else {
            trace.topic.to_string()
        };
        // A payload cut short or an envelope that did not parse has no data to send
        // again: its text is not its data.
        let data = request
            .data()
            .ok_or("its data cannot be told (the payload was cut short or did not parse)")?;
        Ok(Target {
            signal,
            topic,
            data,
        })
    };
    match trace.kind {
        TraceKind::Request | TraceKind::Health => from_request(false),
        TraceKind::Signal => from_request(true),
        TraceKind::Error => {
            let (record, _) =
                live_record(channels, trace).ok_or("its error record cannot be read")?;
            record_target(&record)
        }
        TraceKind::Gap | TraceKind::Other => Err("there is nothing to replay"),
    }
}

/// The request an error record reports, or why it cannot be told: Go's scrambled
/// records do not carry the topic, and guessing one would send to the wrong service.
pub fn record_target(record: &ErrorView) -> Result<Target, &'static str> {
    if record.topic.is_empty() {
        return Err(match record.layout {
            RecordLayout::GoScrambled => {
                "the record does not say its topic (Go-style records lose it)"
            }
            RecordLayout::Named | RecordLayout::Ruby => "the record does not say its topic",
        });
    }
    Ok(Target {
        signal: false,
        topic: record.topic.clone(),
        data: request_data(record),
    })
}

/// `gilmour request TOPIC 'DATA'` (or `signal`), quoted for a POSIX shell.
pub fn command_line(target: &Target, channels: &Channels) -> String {
    let mut line = String::from("gilmour ");
    if channels.prefix() != "gilmour" {
        line.push_str("--prefix ");
        line.push_str(&shell_quote(channels.prefix()));
        line.push(' ');
    }
    line.push_str(if target.signal { "signal " } else { "request " });
    line.push_str(&shell_quote(&target.topic));
    if !target.data.is_null() {
        line.push(' ');
        line.push_str(&shell_quote(&target.data.to_string()));
    }
    line
}

fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-:/@%+=,".contains(c));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// Replay, edit-then-replay or copy a trace.
pub fn on_trace(app: &mut App, id: TraceId, command: Command) {
    let Some(trace) = app.inspector.store().get(id) else {
        return;
    };
    let target = match target(trace, &app.channels) {
        Ok(target) => target,
        Err(why) => return app.complain(format!("cannot replay {id}: {why}")),
    };
    match command {
        Command::Copy => {
            let line = command_line(&target, &app.channels);
            app.say(format!("copied: {}", clean(&line, 200)));
            app.effects.push(Effect::Copy(line));
        }
        _ if !app.online => app.complain("offline: replaying needs Redis"),
        Command::EditReplay if app.external_editor => {
            let text = serde_json::to_string_pretty(&target.data).unwrap_or_default();
            app.effects.push(Effect::Edit { original: id, text });
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
                data: LineInput::new(target.data.to_string()),
            })));
        }
        _ => replay(app, id, target.clone().fire(target.data)),
    }
}

fn replay(app: &mut App, original: TraceId, fire: Fire) {
    app.say(format!("replaying {original}…"));
    app.effects.push(Effect::Fire(fire, Some(original)));
}

/// Opens the fire form.
pub fn open_fire(app: &mut App) {
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

/// A key while the fire form is open.
pub fn fire_key(app: &mut App, key: KeyEvent) {
    let App {
        modal, inspector, ..
    } = app;
    let Some(Modal::Fire(form)) = modal else {
        return;
    };
    let store = inspector.store();
    match key.code {
        KeyCode::Esc => *modal = None,
        KeyCode::Enter => match form.to_fire() {
            Ok(fire) => {
                *modal = None;
                app.say("counting listeners…");
                app.effects.push(Effect::CheckListeners(fire, None));
            }
            Err(why) => app.complain(why),
        },
        KeyCode::Up | KeyCode::BackTab => form.focus = form.focus.step(false),
        KeyCode::Down => form.focus = form.focus.step(true),
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
            let kind = form.kind;
            form.suggest(fire_topics(store, kind));
        }
        _ => {
            let input = match form.focus {
                FireField::Kind => return,
                FireField::Target => &mut form.target,
                FireField::Data => &mut form.data,
                FireField::Timeout => &mut form.timeout,
            };
            if input.edit(&key) && form.focus == FireField::Target {
                let kind = form.kind;
                form.suggest(fire_topics(store, kind));
            }
        }
    }
}

/// A key while the data editor is open.
pub fn edit_key(app: &mut App, key: KeyEvent) {
    let Some(Modal::Edit(form)) = &mut app.modal else {
        return;
    };
    match key.code {
        KeyCode::Esc => app.modal = None,
        KeyCode::Enter => {
            let (original, text) = (form.original, form.data.text().to_owned());
            if let Err(why) = parse_data(&text) {
                return app.complain(why);
            }
            app.modal = None;
            replay_edited(app, original, &text);
        }
        _ => {
            form.data.edit(&key);
        }
    }
}

fn replay_edited(app: &mut App, original: TraceId, text: &str) {
    let data = match parse_data(text) {
        Ok(data) => data,
        Err(why) => return app.complain(why),
    };
    let Some(target) = app
        .inspector
        .store()
        .get(original)
        .and_then(|t| target(t, &app.channels).ok())
    else {
        return app.complain(format!("{original} is no longer in the store"));
    };
    replay(app, original, target.fire(data));
}

/// Results of sends.
pub fn finished(app: &mut App, done: Done) {
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
                app.links
                    .pending
                    .insert(Arc::from(sender.as_str()), (original, true));
                resolve_links(app);
            }
        }
        Done::Composed {
            text,
            steps,
            code,
            data,
            elapsed,
        } => {
            let index = app.links.compositions.len();
            let last = steps.iter().rev().find_map(|(_, sender, _)| sender.clone());
            for sender in steps.iter().filter_map(|(_, sender, _)| sender.as_deref()) {
                app.links.step_of.insert(Arc::from(sender), index);
            }
            app.links
                .compositions
                .push(FiredComposition { text, steps });
            app.say(format!(
                "composition answered {code} in {}: {}",
                format_latency(elapsed),
                clean(&data, 120)
            ));
            if let Some(sender) = last {
                app.links
                    .pending
                    .insert(Arc::from(sender.as_str()), (None, true));
                resolve_links(app);
            }
        }
        Done::Listeners {
            fire,
            original,
            silent,
        } => {
            if silent.is_empty() {
                app.say("sending…");
                app.effects.push(Effect::Fire(fire, original));
            } else {
                let topics: Vec<String> = silent.iter().map(|t| clean(t, 60)).collect();
                if app.modal.is_some() {
                    // Never take away a dialog the user is in the middle of.
                    app.complain(format!("nobody listens on {}: not sent", topics.join(", ")));
                } else {
                    app.modal = Some(Modal::Confirm {
                        question: format!("Nobody listens on {}. Send anyway?", topics.join(", ")),
                        then: Confirmed::Fire(fire, original),
                    });
                }
            }
        }
        Done::Edited { original, text } => replay_edited(app, original, &text),
        _ => {}
    }
}

/// Ties senders whose trace has now been captured to it (and opens it when asked).
pub fn resolve_links(app: &mut App) {
    if app.links.pending.is_empty() {
        return;
    }
    let store = app.inspector.store();
    let found: Vec<(Arc<str>, TraceId)> = app
        .links
        .pending
        .keys()
        .filter_map(|sender| Some((sender.clone(), store.by_sender(sender)?)))
        .collect();
    for (sender, id) in found {
        let Some((original, open)) = app.links.pending.remove(&sender) else {
            continue;
        };
        if let Some(original) = original {
            app.links.replay_of.insert(id, original);
            app.links.replays.entry(original).or_default().push(id);
        }
        if open {
            detail::open(app, id);
        } else {
            detail::rebuild(app);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_quote_for_the_shell() {
        let target = Target {
            signal: false,
            topic: "echo".into(),
            data: serde_json::json!({"it's": [1, "a b"]}),
        };
        assert_eq!(
            command_line(&target, &Channels::default()),
            r#"gilmour request echo '{"it'\''s":[1,"a b"]}'"#
        );
        let signal = Target {
            signal: true,
            topic: "user.created".into(),
            data: Value::Null,
        };
        assert_eq!(
            command_line(&signal, &Channels::new("app")),
            "gilmour --prefix app signal user.created"
        );
    }
}
