//! Error records as read off the wire, in one model whatever wrote them.
//!
//! Three layouts are in use:
//!
//! - **named** (ours, and Java): the fields mean what they are called;
//! - **Go-scrambled** (gilmour-e-go): an argument-order bug puts the reply message JSON
//!   in `topic`, the reply channel in `user_data` and `sender`, and loses the topic;
//! - **Ruby** (`gilmour.error`): the record is the `data` of a message envelope, spelt
//!   `userdata`, with the reply data in `backtrace`, the full request channel in `topic`
//!   and a `2026-12-01 19:05:47 UTC` timestamp.
//!
//! [`ErrorView`] reads all three into the same fields, so that every face shows them
//! alike and the sender always names the request's trace.

use super::error_record::is_record;
use super::message::code_of;
use super::{ChannelKind, Channels, Code, ErrorRecord};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

/// Who wrote a record, told from its layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordLayout {
    /// Fields as named (this library, Java).
    Named,
    /// Go's scrambled fields: reply JSON as `topic`, the reply channel as `sender`.
    GoScrambled,
    /// Ruby's: an envelope around the record, the reply data in `backtrace`.
    Ruby,
}

impl RecordLayout {
    /// A short name.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordLayout::Named => "named",
            RecordLayout::GoScrambled => "go",
            RecordLayout::Ruby => "ruby",
        }
    }

    /// What an operator should know about records of this layout, if anything.
    pub fn note(self) -> Option<&'static str> {
        match self {
            RecordLayout::Named => None,
            RecordLayout::GoScrambled => Some(
                "from a Go-style publisher: its fields were scrambled (reply in `topic`, \
                 reply channel in `sender`) and are shown unscrambled; the topic was not sent",
            ),
            RecordLayout::Ruby => Some(
                "from a Ruby publisher: enveloped on the Ruby error channel, reply data in \
                 `backtrace`",
            ),
        }
    }
}

/// One error record, unscrambled.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorView {
    /// Which layout it came in.
    pub layout: RecordLayout,
    /// The request topic, without `<prefix>.request.`; empty when the record does not
    /// say (Go's scrambled records lose it).
    pub topic: String,
    /// The `topic` field as written, when it named a channel.
    pub channel: String,
    /// The request's sender id (a reply channel's `<prefix>.response.` stripped).
    pub sender: String,
    /// The failing code.
    pub code: Code,
    /// The request's data.
    pub request_data: Value,
    /// The reply's data, or what went wrong.
    pub reply: Value,
    /// A backtrace, when the record has one apart from the reply.
    pub backtrace: Value,
    /// When, parsed (RFC 3339, or Ruby's `YYYY-MM-DD HH:MM:SS UTC`).
    pub timestamp: Option<DateTime<Utc>>,
    /// The timestamp as written.
    pub timestamp_text: String,
}

impl ErrorView {
    /// Reads a record from an error channel or the error queue; `None` when the payload
    /// is not an error record in any known layout.
    pub fn parse(channels: &Channels, payload: &[u8]) -> Option<ErrorView> {
        let value: Value = serde_json::from_slice(payload).ok()?;
        let map = value.as_object()?;
        // Ruby's envelope: the record is its data (an object, or JSON text).
        let enveloped = !is_record(map);
        let has_userdata = map.contains_key("userdata") && !map.contains_key("user_data");
        let record = ErrorRecord::from_value(value)?;
        if enveloped {
            return Some(Self::ruby(channels, record));
        }
        if is_go_scrambled(channels, &record) {
            return Some(Self::go(channels, record));
        }
        if has_userdata {
            return Some(Self::ruby(channels, record));
        }
        Some(Self::named(channels, record))
    }

    fn named(channels: &Channels, record: ErrorRecord) -> ErrorView {
        let (topic, channel) = topic_of(channels, &record.topic);
        ErrorView {
            layout: RecordLayout::Named,
            topic,
            channel,
            sender: request_sender(channels, record.sender.as_str()).to_owned(),
            code: record.code,
            request_data: record.request_data,
            reply: record.user_data,
            backtrace: record.backtrace,
            timestamp: parse_timestamp(&record.timestamp),
            timestamp_text: record.timestamp,
        }
    }

    fn ruby(channels: &Channels, record: ErrorRecord) -> ErrorView {
        let (topic, channel) = topic_of(channels, &record.topic);
        // Ruby puts the reply data (or the failure's trace) in `backtrace`; its
        // `userdata` is the handler's own context, usually `"{}"`.
        ErrorView {
            layout: RecordLayout::Ruby,
            topic,
            channel,
            sender: request_sender(channels, record.sender.as_str()).to_owned(),
            code: record.code,
            request_data: record.request_data,
            reply: record.backtrace,
            backtrace: Value::Null,
            timestamp: parse_timestamp(&record.timestamp),
            timestamp_text: record.timestamp,
        }
    }

    fn go(channels: &Channels, record: ErrorRecord) -> ErrorView {
        // `topic` holds the reply message; its data is the reply, its code the failure.
        let reply_message: Option<Value> = serde_json::from_str(&record.topic).ok();
        let reply = reply_message
            .as_ref()
            .and_then(|message| message.get("data").cloned())
            .unwrap_or_else(|| Value::String(record.topic.clone()));
        let code = reply_message
            .as_ref()
            .and_then(|message| message.get("code"))
            .and_then(code_of)
            .unwrap_or(record.code);
        let sender = if record.sender.as_str().is_empty() {
            text_of(&record.user_data)
        } else {
            record.sender.as_str().to_owned()
        };
        ErrorView {
            layout: RecordLayout::GoScrambled,
            topic: String::new(),
            channel: String::new(),
            sender: request_sender(channels, &sender).to_owned(),
            code,
            request_data: match record.request_data {
                Value::String(text) if text.is_empty() => Value::Null,
                other => other,
            },
            reply,
            backtrace: match record.backtrace {
                Value::String(text) if text.is_empty() => Value::Null,
                other => other,
            },
            timestamp: parse_timestamp(&record.timestamp),
            timestamp_text: record.timestamp,
        }
    }

    /// The reply data as one line of text: strings as they are, anything else as JSON.
    pub fn reply_text(&self) -> String {
        text_of(&self.reply)
    }

    /// The request data as one line of text.
    pub fn request_text(&self) -> String {
        text_of(&self.request_data)
    }
}

/// A sender as the request had it: a reply channel (`<prefix>.response.<sid>`, as Go
/// writes it) names the request's sender `<sid>`.
pub fn request_sender<'a>(channels: &Channels, sender: &'a str) -> &'a str {
    match channels.classify(sender) {
        (ChannelKind::Response, sid) if !sid.is_empty() => sid,
        _ => sender,
    }
}

/// Go's scrambled layout: a `topic` that is a JSON message and a `user_data` (or
/// `sender`) that is a reply channel.
fn is_go_scrambled(channels: &Channels, record: &ErrorRecord) -> bool {
    let topic_is_message = record.topic.trim_start().starts_with('{')
        && serde_json::from_str::<Value>(&record.topic)
            .is_ok_and(|value| value.get("data").is_some() || value.get("code").is_some());
    let is_reply_channel = |text: &str| matches!(channels.classify(text), (ChannelKind::Response, sid) if !sid.is_empty());
    topic_is_message
        && (is_reply_channel(&text_of(&record.user_data))
            || is_reply_channel(record.sender.as_str()))
}

fn topic_of(channels: &Channels, topic: &str) -> (String, String) {
    match channels.classify(topic) {
        (ChannelKind::Request | ChannelKind::Slot, name) if !name.is_empty() => {
            (name.to_owned(), topic.to_owned())
        }
        _ => (topic.to_owned(), String::new()),
    }
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Reads RFC 3339 and Ruby's `2026-12-01 19:05:47 UTC`.
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    if let Ok(at) = DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S %z") {
        return Some(at.with_timezone(&Utc));
    }
    let naive = text
        .strip_suffix(" UTC")
        .or_else(|| text.strip_suffix('Z'))
        .unwrap_or(text);
    NaiveDateTime::parse_from_str(naive, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|at| at.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const GO: &str = r#"{"topic":"{\"data\":\"boom\",\"code\":500,\"sender\":\"gilmour.response.4f1c\"}","request_data":"","user_data":"gilmour.response.4f1c","sender":"gilmour.response.4f1c","multi_process":false,"timestamp":"2026-12-01T19:08:39Z","backtrace":"","code":500}"#;
    const RUBY: &str = r#"{"data":{"backtrace":"no such user","code":500,"topic":"gilmour.request.users.find","request_data":"x","userdata":"{}","sender":"9a8b7c6d5e4f30211203948576abcdef","multi_process":false,"timestamp":"2026-12-01 19:05:47 UTC"},"code":0,"sender":"0123456789abcdef0123456789abcdef"}"#;

    fn parse(payload: &str) -> ErrorView {
        ErrorView::parse(&Channels::default(), payload.as_bytes()).expect("a record")
    }

    #[test]
    fn go_records_are_unscrambled() {
        let view = parse(GO);
        assert_eq!(view.layout, RecordLayout::GoScrambled);
        assert_eq!(view.sender, "4f1c");
        assert_eq!(view.topic, "");
        assert_eq!(view.reply, json!("boom"));
        assert_eq!(view.code, Code::INTERNAL);
        assert_eq!(view.request_data, Value::Null);
        assert_eq!(
            view.timestamp.map(|at| at.to_rfc3339()),
            Some("2026-12-01T19:08:39+00:00".to_owned())
        );
        assert!(view.layout.note().expect("note").contains("Go-style"));
    }

    #[test]
    fn ruby_records_read_like_ours() {
        let view = parse(RUBY);
        assert_eq!(view.layout, RecordLayout::Ruby);
        assert_eq!(
            (view.topic.as_str(), view.channel.as_str()),
            ("users.find", "gilmour.request.users.find")
        );
        assert_eq!(view.sender, "9a8b7c6d5e4f30211203948576abcdef");
        assert_eq!(view.reply_text(), "no such user");
        assert_eq!(
            view.timestamp.map(|at| at.to_rfc3339()),
            Some("2026-12-01T19:05:47+00:00".to_owned())
        );
    }

    #[test]
    fn named_records_keep_their_fields() {
        let record = r#"{"topic":"gilmour.request.echo","request_data":"1","user_data":"bad input","sender":"s9","multi_process":false,"timestamp":"2026-12-01T19:00:00.5Z","backtrace":null,"code":500}"#;
        let view = parse(record);
        assert_eq!(view.layout, RecordLayout::Named);
        assert_eq!((view.topic.as_str(), view.sender.as_str()), ("echo", "s9"));
        assert_eq!(view.reply_text(), "bad input");
        assert!(view.layout.note().is_none());
        assert!(ErrorView::parse(&Channels::default(), b"{\"data\":1}").is_none());
        assert!(ErrorView::parse(&Channels::default(), b"nope").is_none());
    }
}
