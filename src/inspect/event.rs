//! Events: what the capture saw, one message (or one gap in the capture) at a time.
//!
//! A message event keeps its payload bytes exactly as they came and the few fields the
//! correlator needs, read leniently: an envelope, a bare JSON value, raw text or a
//! non-UTF-8 blob all become events, flagged, never errors.

use crate::protocol::message::code_of;
use crate::protocol::{CallContext, ChannelKind, Channels, Code, ErrorView, Payload, RecordLayout};
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
    /// When the capture read it off the socket.
    pub at: DateTime<Utc>,
    /// The channel it came on, as text: bytes that are not UTF-8 are written `\xNN`.
    pub channel: Arc<str>,
    /// The channel's exact bytes, when they are not UTF-8 (so that a capture file keeps
    /// them and a replay gives the same trace).
    pub raw_channel: Option<Arc<[u8]>>,
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
    /// The payload bytes, untouched (only a prefix of them when `full_len` is set).
    pub payload: Arc<[u8]>,
    /// The payload's real length when the store keeps only a prefix of it.
    pub full_len: Option<usize>,
    /// Why the payload is not a well-formed message envelope, when it is not: kept and
    /// flagged, never dropped.
    pub payload_error: Option<Arc<str>>,
    /// For an error record, the layout it came in (ours, Go's scrambled one, Ruby's).
    pub layout: Option<RecordLayout>,
    /// For a request or signal, the call context it carries (its parent, its
    /// composition step), when it names one.
    pub context: Option<Box<CallContext>>,
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
    /// Present in messages that carry a call context.
    #[serde(default, borrow)]
    parent: Option<&'a RawValue>,
    #[serde(default, borrow)]
    composition: Option<&'a RawValue>,
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

/// The sender id a payload names, read as the correlator reads it (any JSON type; a
/// missing, null or empty sender is none).
pub(crate) fn payload_sender(payload: &[u8]) -> Option<String> {
    let peek: Peek<'_> = serde_json::from_slice(payload).ok()?;
    peek.sender()
        .filter(|sender| !sender.is_empty())
        .map(Cow::into_owned)
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
        let (peek, shape, payload_error) = peek(&payload);
        let payload_sender = peek.as_ref().and_then(Peek::sender);
        let payload_sender = payload_sender.as_deref();
        let code = peek.as_ref().and_then(Peek::code);
        let (kind, topic, sender, code) = match channel_kind {
            ChannelKind::Request => (EventKind::Request, name, payload_sender, code),
            ChannelKind::Slot => (EventKind::Slot, name, payload_sender, code),
            ChannelKind::Health => (EventKind::HealthPing, name, payload_sender, code),
            ChannelKind::Response => (EventKind::Response, "", Some(name), code.or(Some(Code::OK))),
            ChannelKind::ErrorRecords | ChannelKind::ErrorEnvelopes => {
                return error_event(channels, at, channel, payload, shape, payload_error);
            }
            ChannelKind::Other => (EventKind::Other, channel, payload_sender, code),
        };
        let has_context = peek
            .as_ref()
            .is_some_and(|peek| peek.parent.is_some() || peek.composition.is_some());
        let context = (has_context && matches!(kind, EventKind::Request | EventKind::Slot))
            .then(|| CallContext::read(&payload))
            .flatten()
            .map(Box::new);
        MessageEvent {
            at,
            channel: Arc::from(channel),
            raw_channel: None,
            kind,
            topic: Arc::from(topic),
            sender: Arc::from(sender.unwrap_or_default()),
            code,
            shape,
            payload,
            full_len: None,
            payload_error,
            layout: None,
            context,
        }
    }

    /// Reads a message whose channel name is bytes, as Redis gives it: a name that is
    /// not UTF-8 is read by its escaped text and keeps its bytes.
    pub fn read_bytes(
        channels: &Channels,
        at: DateTime<Utc>,
        channel: &[u8],
        payload: Arc<[u8]>,
    ) -> MessageEvent {
        match std::str::from_utf8(channel) {
            Ok(text) => MessageEvent::read(channels, at, text, payload),
            Err(_) => {
                let mut event = MessageEvent::read(channels, at, &escape_bytes(channel), payload);
                event.raw_channel = Some(Arc::from(channel));
                event
            }
        }
    }

    /// The channel's exact bytes.
    pub fn channel_bytes(&self) -> &[u8] {
        match &self.raw_channel {
            Some(bytes) => bytes,
            None => self.channel.as_bytes(),
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

    /// The message's data, when it can be told: `None` for a truncated payload and for
    /// an envelope that did not parse (whose whole text is not its data).
    pub fn data(&self) -> Option<Value> {
        if self.full_len.is_some() || self.is_broken_envelope() {
            return None;
        }
        Some(self.message().data)
    }

    /// Whether the payload looked like an envelope (a JSON object) but did not parse.
    pub fn is_broken_envelope(&self) -> bool {
        self.shape != Payload::Envelope && starts_with_brace(&self.payload)
    }

    /// Keeps only a prefix of a payload longer than `limit` bytes, remembering its
    /// length. The prefix and its reference counts together take `limit` bytes, so a
    /// store of cut payloads is one allocator size class (a 64 KiB limit plus the 16
    /// bytes of an `Arc` would land in the next class up, a quarter or more wasted).
    pub fn truncate(&mut self, limit: usize) {
        if self.payload.len() > limit {
            self.full_len = Some(self.full_len.unwrap_or(self.payload.len()));
            let kept = limit.saturating_sub(ARC_COUNTS).max(1);
            self.payload = Arc::from(&self.payload[..kept]);
        }
    }

    /// The payload's real length.
    pub fn payload_len(&self) -> usize {
        self.full_len.unwrap_or(self.payload.len())
    }

    /// Roughly how many bytes this event holds in memory.
    pub fn footprint(&self) -> usize {
        std::mem::size_of::<MessageEvent>()
            + self.payload.len()
            + self.raw_channel.as_ref().map_or(0, |bytes| bytes.len())
            + self.payload_error.as_ref().map_or(0, |error| error.len())
            + self.context.as_ref().map_or(0, |context| {
                std::mem::size_of::<CallContext>()
                    + context.parent.as_ref().map_or(0, |parent| parent.0.len())
                    + context
                        .composition
                        .as_ref()
                        .map_or(0, |step| step.id.len() + step.step.len())
            })
            // Reply channels are one per trace; shared channels are counted once, elsewhere.
            + if self.kind == EventKind::Response || self.kind == EventKind::HealthReply {
                self.channel.len()
            } else {
                0
            }
    }
}

/// The bytes an `Arc` keeps beside its value: the strong and weak counts.
const ARC_COUNTS: usize = 2 * std::mem::size_of::<usize>();

/// Bytes as text: UTF-8 kept, every other byte written `\xNN`.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        text.push_str(chunk.valid());
        for byte in chunk.invalid() {
            text.push_str(&format!("\\x{byte:02x}"));
        }
    }
    text
}

/// serde_json's nesting limit, past which a value does not parse.
const MAX_DEPTH: usize = 128;

/// What keeps JSON that the peek accepted from parsing as a whole: bytes that are not
/// UTF-8, or nesting past serde_json's limit. One pass, no allocation.
fn envelope_flaw(payload: &[u8]) -> Option<String> {
    if let Err(bad) = std::str::from_utf8(payload) {
        return Some(format!(
            "not UTF-8 (bad byte at offset {})",
            bad.valid_up_to()
        ));
    }
    let (mut depth, mut in_string, mut escaped) = (0_usize, false, false);
    for &byte in payload {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(format!(
                        "recursion limit exceeded: nested deeper than {MAX_DEPTH} levels"
                    ));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

fn starts_with_brace(payload: &[u8]) -> bool {
    payload.iter().find(|byte| !byte.is_ascii_whitespace()) == Some(&b'{')
}

fn peek(payload: &[u8]) -> (Option<Peek<'_>>, Payload, Option<Arc<str>>) {
    let is_object = starts_with_brace(payload);
    if is_object {
        match serde_json::from_slice::<Peek<'_>>(payload) {
            // The peek skips `data` without reading it whole: what would still keep the
            // envelope from parsing is checked apart, so it is never shown as the data.
            Ok(peek) => {
                return match envelope_flaw(payload) {
                    None => (Some(peek), Payload::Envelope, None),
                    Some(why) => (
                        Some(peek),
                        Payload::Raw,
                        Some(Arc::from(format!("the envelope did not parse: {why}"))),
                    ),
                };
            }
            Err(error) => {
                let why = match std::str::from_utf8(payload) {
                    Err(bad) => format!(
                        "the envelope did not parse: not UTF-8 (bad byte at offset {})",
                        bad.valid_up_to()
                    ),
                    Ok(_) => format!("the envelope did not parse: {error}"),
                };
                return (None, Payload::Raw, Some(Arc::from(why)));
            }
        }
    }
    // Not an envelope: tell a bare JSON value from raw text without keeping the value.
    match serde_json::from_slice::<serde::de::IgnoredAny>(payload) {
        Ok(_) => (
            None,
            Payload::Bare,
            Some(Arc::from("not a message envelope: a bare JSON value")),
        ),
        Err(error) => {
            let why = match std::str::from_utf8(payload) {
                Err(bad) => format!("not UTF-8 (bad byte at offset {})", bad.valid_up_to()),
                Ok(_) => format!("not JSON: {error}"),
            };
            (None, Payload::Raw, Some(Arc::from(why)))
        }
    }
}

fn error_event(
    channels: &Channels,
    at: DateTime<Utc>,
    channel: &str,
    payload: Arc<[u8]>,
    shape: Payload,
    payload_error: Option<Arc<str>>,
) -> MessageEvent {
    // Any layout (ours, Go's scrambled one, Ruby's envelope) reads into the same fields;
    // the sender is the request's, so the record finds its trace.
    let view = ErrorView::parse(channels, &payload);
    let (topic, sender, code, payload_error, layout) = match view {
        Some(view) => (
            view.topic,
            view.sender,
            Some(view.code),
            None,
            Some(view.layout),
        ),
        None => (
            String::new(),
            String::new(),
            None,
            Some(payload_error.unwrap_or_else(|| Arc::from("not an error record"))),
            None,
        ),
    };
    MessageEvent {
        at,
        channel: Arc::from(channel),
        raw_channel: None,
        kind: EventKind::Error,
        topic: Arc::from(topic),
        sender: Arc::from(sender),
        code,
        shape,
        payload,
        full_len: None,
        payload_error,
        layout,
        context: None,
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
