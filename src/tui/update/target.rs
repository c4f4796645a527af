//! What replaying a trace sends, worked out from what was captured: the topic, the data,
//! request or signal, and the same as a command line to paste into a shell.

use crate::tui::model::{Fire, live_record, request_data};
use gilmour::inspect::{Trace, TraceKind};
use gilmour::protocol::{Channels, ErrorView, RecordLayout};
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
