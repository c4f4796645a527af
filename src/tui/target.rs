//! What replaying a trace sends, worked out from what was captured: the topic, the data,
//! request or signal, and the same as a command line to paste into a shell.

use crate::tui::model::{Fire, live_record};
use gilmour::inspect::errors::record_request;
use gilmour::inspect::{Trace, TraceKind};
use gilmour::protocol::{Channels, ErrorView};
use serde_json::Value;
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
    /// What to send: this target with `data`.
    pub fn fire(self, data: Value) -> Fire {
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
        TraceKind::Composition => Err("a composition is replayed by its steps"),
    }
}

/// Whether [`target`] would find what to send, without reading the data (the footer asks
/// every frame, and a payload may be megabytes).
pub fn replayable(trace: &Trace, channels: &Channels) -> bool {
    match trace.kind {
        TraceKind::Request | TraceKind::Health | TraceKind::Signal => trace
            .request
            .as_ref()
            .is_some_and(|request| request.full_len.is_none() && !request.is_broken_envelope()),
        TraceKind::Error => {
            live_record(channels, trace).is_some_and(|(record, _)| record_target(&record).is_ok())
        }
        TraceKind::Gap | TraceKind::Other | TraceKind::Composition => false,
    }
}

/// The request an error record reports, or why it cannot be told (see
/// [`record_request`]: a Go-style record does not say its topic).
pub fn record_target(record: &ErrorView) -> Result<Target, &'static str> {
    let (topic, data) = record_request(record)?;
    Ok(Target {
        signal: false,
        topic,
        data,
    })
}

/// `gilmour [--redis URL] [--prefix P] request TOPIC 'DATA'` (or `signal`), quoted for a
/// POSIX shell: pasted elsewhere it reaches the same Redis (`redis` is the URL with its
/// password hidden: it is never copied) under the same prefix.
pub fn command_line(target: &Target, channels: &Channels, redis: Option<&str>) -> String {
    let mut line = flags(channels, redis);
    line.push_str(if target.signal { "signal " } else { "request " });
    line.push_str(&shell_quote(&target.topic));
    if !target.data.is_null() {
        line.push(' ');
        line.push_str(&shell_quote(&target.data.to_string()));
    }
    line
}

/// `gilmour [--redis URL] [--prefix P] compose 'TEXT' 'DATA'`: a composition fired from
/// here, whole (a step copied alone would run one step of it).
pub fn compose_line(text: &str, input: &Value, channels: &Channels, redis: Option<&str>) -> String {
    let mut line = flags(channels, redis);
    line.push_str("compose ");
    line.push_str(&shell_quote(text));
    if !input.is_null() {
        line.push(' ');
        line.push_str(&shell_quote(&input.to_string()));
    }
    line
}

/// `gilmour ` and the flags that name the connection.
fn flags(channels: &Channels, redis: Option<&str>) -> String {
    let mut line = String::from("gilmour ");
    if let Some(redis) = redis {
        line.push_str("--redis ");
        line.push_str(&shell_quote(redis));
        line.push(' ');
    }
    if channels.prefix() != "gilmour" {
        line.push_str("--prefix ");
        line.push_str(&shell_quote(channels.prefix()));
        line.push(' ');
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::action::Action;
    use crate::tui::fixture::{self, message, reply, request, update};

    #[test]
    fn replayable_says_what_target_finds() {
        let mut app = fixture::notable(100, 20);
        update(
            &mut app,
            Action::Events(vec![
                reply(5_000, "s-orphan", 200, "1"),
                request(5_100, "echo", "s-echo", "2"),
                message(
                    5_200,
                    "gilmour.slot.user.created",
                    r#"{"data":1,"sender":"s-sig"}"#,
                ),
            ]),
        );
        let store = app.inspector.store();
        let mut told = 0;
        for trace in store.newest_first() {
            let found = target(trace, &app.channels).is_ok();
            assert_eq!(replayable(trace, &app.channels), found, "{}", trace.id);
            told += usize::from(found);
        }
        assert!(told >= 2 && told < store.len(), "both kinds seen");
    }

    #[test]
    fn command_lines_quote_for_the_shell() {
        let target = Target {
            signal: false,
            topic: "echo".into(),
            data: serde_json::json!({"it's": [1, "a b"]}),
        };
        assert_eq!(
            command_line(&target, &Channels::default(), None),
            r#"gilmour request echo '{"it'\''s":[1,"a b"]}'"#
        );
        let signal = Target {
            signal: true,
            topic: "user.created".into(),
            data: Value::Null,
        };
        assert_eq!(
            command_line(
                &signal,
                &Channels::new("app"),
                Some("redis://:***@db:6380/2")
            ),
            "gilmour --redis 'redis://:***@db:6380/2' --prefix app signal user.created"
        );
        assert_eq!(
            compose_line(
                "echo | [echo, echo]",
                &serde_json::json!("hi"),
                &Channels::default(),
                Some("redis://db:6379")
            ),
            r#"gilmour --redis redis://db:6379 compose 'echo | [echo, echo]' '"hi"'"#
        );
    }
}
