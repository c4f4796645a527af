//! Events: what the capture saw, one message (or one gap in the capture) at a time.
//!
//! A message event keeps its payload bytes exactly as they came and the few fields the
//! correlator needs, read leniently: an envelope, a bare JSON value, raw text or a
//! non-UTF-8 blob all become events, flagged, never errors.

use crate::protocol::message::code_of;
use crate::protocol::{ChannelKind, Channels, Code, ErrorRecord, Payload};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

/// What travelled, read from the channel (and, for health replies, from the correlator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A request on `<prefix>.request.<topic>`.
    Request,
    /// A reply on `<prefix>.response.<sender>`.
    Response,
    /// A signal on `<prefix>.slot.<topic>`.
    Slot,
    /// An error record (`<prefix>.errors`, or Ruby's enveloped `<prefix>.error`).
    Error,
    /// A health ping on `<prefix>.health.<ident>`.
    HealthPing,
    /// The reply to a health ping.
    HealthReply,
    /// Anything else under the prefix.
    Other,
}

impl EventKind {
    /// A short lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Request => "request",
            EventKind::Response => "response",
            EventKind::Slot => "slot",
            EventKind::Error => "error",
            EventKind::HealthPing => "health-ping",
            EventKind::HealthReply => "health-reply",
            EventKind::Other => "other",
        }
    }
}

/// One captured message.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageEvent {
    /// When the capture received it.
    pub at: DateTime<Utc>,
    /// The channel it came on.
    pub channel: Arc<str>,
    /// What it is.
    pub kind: EventKind,
    /// The topic (requests, signals, errors), the ident (health pings) or the channel
    /// (other); empty for replies, whose request names the topic.
    pub topic: Arc<str>,
    /// The sender id it belongs to: the payload's for requests and signals, the reply
    /// channel's for replies, the record's for errors.
    pub sender: Arc<str>,
    /// The code, when the payload has one (a reply without one counts as 200).
    pub code: Option<Code>,
    /// How the payload looked.
    pub shape: Payload,
    /// The payload bytes, untouched.
    pub payload: Arc<[u8]>,
}

/// A stretch of time in which the capture was disconnected: messages may be missing.
#[derive(Debug, Clone, PartialEq)]
pub struct GapEvent {
    /// When the link was lost.
    pub since: DateTime<Utc>,
    /// When it was back.
    pub until: DateTime<Utc>,
    /// Why it was lost.
    pub reason: String,
}

impl GapEvent {
    /// How long the capture was blind.
    pub fn lost(&self) -> Duration {
        (self.until - self.since).to_std().unwrap_or_default()
    }
}

/// What the capture hands to the correlator.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A message.
    Message(MessageEvent),
    /// The capture lost its link; a [`Event::Gap`] follows once it is back.
    Lost {
        /// When.
        at: DateTime<Utc>,
        /// Why.
        reason: String,
    },
    /// The capture is back after a loss.
    Gap(GapEvent),
}

impl Event {
    /// When it happened (for a gap, when it ended).
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Event::Message(message) => message.at,
            Event::Lost { at, .. } => *at,
            Event::Gap(gap) => gap.until,
        }
    }
}

/// Just the fields the correlator needs, as raw JSON so that any type is accepted (a
/// numeric sender, a code as text); `data` is skipped, not parsed.
#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(default, borrow)]
    sender: Option<&'a RawValue>,
    #[serde(default, borrow)]
    code: Option<&'a RawValue>,
}

impl Peek<'_> {
    fn sender(&self) -> Option<Cow<'_, str>> {
        let raw = self.sender?.get();
        if raw.starts_with('"') {
            serde_json::from_str::<Cow<'_, str>>(raw).ok()
        } else if raw == "null" {
            None
        } else {
            Some(Cow::Borrowed(raw))
        }
    }

    fn code(&self) -> Option<Code> {
        let value: Value = serde_json::from_str(self.code?.get()).ok()?;
        code_of(&value)
    }
}

impl MessageEvent {
    /// Reads a message from the channel it came on.
    pub fn read(
        channels: &Channels,
        at: DateTime<Utc>,
        channel: &str,
        payload: Arc<[u8]>,
    ) -> MessageEvent {
        let (channel_kind, name) = channels.classify(channel);
        let (peek, shape) = peek(&payload);
        let payload_sender = peek.as_ref().and_then(Peek::sender);
        let payload_sender = payload_sender.as_deref();
        let code = peek.as_ref().and_then(Peek::code);
        let (kind, topic, sender, code) = match channel_kind {
            ChannelKind::Request => (EventKind::Request, name, payload_sender, code),
            ChannelKind::Slot => (EventKind::Slot, name, payload_sender, code),
            ChannelKind::Health => (EventKind::HealthPing, name, payload_sender, code),
            ChannelKind::Response => (EventKind::Response, "", Some(name), code.or(Some(Code::OK))),
            ChannelKind::ErrorRecords | ChannelKind::ErrorEnvelopes => {
                return error_event(channels, at, channel, payload, shape);
            }
            ChannelKind::Other => (EventKind::Other, channel, payload_sender, code),
        };
        MessageEvent {
            at,
            channel: Arc::from(channel),
            kind,
            topic: Arc::from(topic),
            sender: Arc::from(sender.unwrap_or_default()),
            code,
            shape,
            payload,
        }
    }

    /// The payload as text (lossy for non-UTF-8 bytes).
    pub fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.payload)
    }

    /// The payload parsed as a message: data, code and sender.
    pub fn message(&self) -> crate::protocol::Message {
        crate::protocol::Message::parse_lenient(&self.payload).0
    }
}

fn peek(payload: &[u8]) -> (Option<Peek<'_>>, Payload) {
    let is_object = payload.iter().find(|byte| !byte.is_ascii_whitespace()) == Some(&b'{');
    if is_object && let Ok(peek) = serde_json::from_slice::<Peek<'_>>(payload) {
        return (Some(peek), Payload::Envelope);
    }
    // Not an envelope: tell a bare JSON value from raw text without keeping the value.
    let shape = match serde_json::from_slice::<serde::de::IgnoredAny>(payload) {
        Ok(_) => Payload::Bare,
        Err(_) => Payload::Raw,
    };
    (None, shape)
}

fn error_event(
    channels: &Channels,
    at: DateTime<Utc>,
    channel: &str,
    payload: Arc<[u8]>,
    shape: Payload,
) -> MessageEvent {
    let record = ErrorRecord::parse(&payload);
    let (topic, sender, code) = match &record {
        Some(record) => {
            let (_, topic) = channels.classify(&record.topic);
            let topic = if topic.is_empty() {
                record.topic.as_str()
            } else {
                topic
            };
            (
                topic.to_owned(),
                record.sender.to_string(),
                Some(record.code),
            )
        }
        None => (String::new(), String::new(), None),
    };
    MessageEvent {
        at,
        channel: Arc::from(channel),
        kind: EventKind::Error,
        topic: Arc::from(topic),
        sender: Arc::from(sender),
        code,
        shape,
        payload,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(channel: &str, payload: &str) -> MessageEvent {
        MessageEvent::read(
            &Channels::default(),
            Utc::now(),
            channel,
            Arc::from(payload.as_bytes()),
        )
    }

    #[test]
    fn requests_replies_and_signals() {
        let request = read(
            "gilmour.request.echo",
            r#"{"data":1,"code":200,"sender":"s1"}"#,
        );
        assert_eq!(
            (
                request.kind,
                &*request.topic,
                &*request.sender,
                request.code
            ),
            (EventKind::Request, "echo", "s1", Some(Code::OK))
        );
        let reply = read(
            "gilmour.response.s1",
            r#"{"data":1,"code":500,"sender":"gilmour.response.s1"}"#,
        );
        assert_eq!(
            (reply.kind, &*reply.sender, reply.code),
            (EventKind::Response, "s1", Some(Code::INTERNAL))
        );
        let codeless = read("gilmour.response.s2", r#"{"data":1}"#);
        assert_eq!(
            codeless.code,
            Some(Code::OK),
            "a reply without a code counts as 200"
        );
        let signal = read("gilmour.slot.user.created", r#"{"data":1,"sender":"s3"}"#);
        assert_eq!(
            (signal.kind, &*signal.topic),
            (EventKind::Slot, "user.created")
        );
    }

    #[test]
    fn any_sender_type_and_codes_as_text() {
        let numeric = read(
            "gilmour.request.echo",
            r#"{"data":1,"sender":12,"code":"0"}"#,
        );
        assert_eq!(
            (&*numeric.sender, numeric.code, numeric.shape),
            ("12", Some(Code(0)), Payload::Envelope)
        );
        let escaped = read("gilmour.request.echo", r#"{"sender":"a\"b"}"#);
        assert_eq!(&*escaped.sender, "a\"b");
        let reply = read("gilmour.response.s", r#"{"data":1,"code":"500"}"#);
        assert_eq!(reply.code, Some(Code::INTERNAL));
    }

    #[test]
    fn odd_payloads_are_flagged_not_lost() {
        let bare = read("gilmour.request.echo", "[1,2]");
        assert_eq!((bare.shape, &*bare.sender), (Payload::Bare, ""));
        let raw = read("gilmour.request.echo", "{oops");
        assert_eq!(raw.shape, Payload::Raw);
        assert_eq!(raw.text(), "{oops");
    }

    #[test]
    fn both_error_formats() {
        let record = r#"{"topic":"gilmour.request.echo","request_data":"1","user_data":"x","sender":"s9","multi_process":false,"timestamp":"t","backtrace":null,"code":500}"#;
        let go = read("gilmour.errors", record);
        assert_eq!(
            (go.kind, &*go.topic, &*go.sender, go.code),
            (EventKind::Error, "echo", "s9", Some(Code::INTERNAL))
        );
        let ruby = format!(
            r#"{{"data":{},"code":500,"sender":"r"}}"#,
            record.replace("user_data", "userdata")
        );
        let ruby = read("gilmour.error", &ruby);
        assert_eq!((ruby.kind, &*ruby.sender), (EventKind::Error, "s9"));
    }
}
