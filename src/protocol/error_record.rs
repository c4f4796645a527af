//! The error record that the publish and queue error policies send.

use super::message::code_of;
use super::{Code, Sender};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An error record, with Go's field names. Ruby spells `user_data` as `userdata`; both
/// are read.
///
/// Go fills these fields in a scrambled order (an argument-order bug); we fill them as
/// named, so that `sender` always ties an error to its request's trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorRecord {
    /// The channel the request came on.
    #[serde(default)]
    pub topic: String,
    /// The request's data, as JSON text.
    #[serde(default)]
    pub request_data: Value,
    /// The reply data, or a note on what went wrong.
    #[serde(default, alias = "userdata")]
    pub user_data: Value,
    /// The request's sender id.
    #[serde(default)]
    pub sender: Sender,
    /// Always false (kept for the wire format).
    #[serde(default)]
    pub multi_process: bool,
    /// When it happened, RFC 3339.
    #[serde(default)]
    pub timestamp: String,
    /// A backtrace or failure description, if there is one.
    #[serde(default)]
    pub backtrace: Value,
    /// The failing code.
    #[serde(default)]
    pub code: Code,
}

impl ErrorRecord {
    /// The record as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }

    /// The record as the Ruby library publishes it on `gilmour.error`, so that a Ruby
    /// consumer reads it: a message envelope whose `data` is the record, spelled the Ruby
    /// way (`userdata`), with `code` 0 and `sender` a fresh id, as Ruby's own messages.
    pub fn to_ruby_envelope(&self, sender: &Sender) -> String {
        let record = serde_json::json!({
            "backtrace": self.backtrace,
            "code": self.code,
            "topic": self.topic,
            "request_data": self.request_data,
            "userdata": self.user_data,
            "sender": self.sender,
            "multi_process": self.multi_process,
            "timestamp": self.timestamp,
        });
        serde_json::json!({"data": record, "code": 0, "sender": sender}).to_string()
    }

    /// Reads a record from an error channel or the error queue: the raw record (Go,
    /// `gilmour.errors`), or a message envelope whose `data` is the record (Ruby,
    /// `gilmour.error`, where the data may itself be JSON text).
    pub fn parse(payload: &[u8]) -> Option<ErrorRecord> {
        let value: Value = serde_json::from_slice(payload).ok()?;
        Self::from_value(value)
    }

    /// [`ErrorRecord::parse`], from JSON already read.
    pub(crate) fn from_value(value: Value) -> Option<ErrorRecord> {
        let Value::Object(map) = value else {
            return None;
        };
        if !is_record(&map) {
            return match map.get("data") {
                Some(Value::String(text)) => Self::parse(text.as_bytes()),
                Some(inner @ Value::Object(_)) => Self::from_value(inner.clone()),
                _ => None,
            };
        }
        Some(Self::from_fields(map))
    }

    /// Field by field and leniently: one oddly typed field (a numeric sender, a code as
    /// text) must not cost the whole record, since the sender ties it to its trace.
    fn from_fields(mut map: serde_json::Map<String, Value>) -> ErrorRecord {
        let text = |value: Option<Value>| match value {
            Some(Value::String(text)) => text,
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        let user_data = map
            .remove("user_data")
            .or_else(|| map.remove("userdata"))
            .unwrap_or(Value::Null);
        let code = map.get("code").and_then(code_of).unwrap_or(Code::INTERNAL);
        ErrorRecord {
            topic: text(map.remove("topic")),
            request_data: map.remove("request_data").unwrap_or(Value::Null),
            user_data,
            sender: Sender(text(map.remove("sender"))),
            multi_process: matches!(map.get("multi_process"), Some(Value::Bool(true))),
            timestamp: text(map.remove("timestamp")),
            backtrace: map.remove("backtrace").unwrap_or(Value::Null),
            code,
        }
    }
}

/// Whether an object is a record itself rather than an envelope around one.
pub(crate) fn is_record(map: &serde_json::Map<String, Value>) -> bool {
    map.contains_key("topic") || map.contains_key("request_data")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record() -> ErrorRecord {
        ErrorRecord {
            topic: "gilmour.request.t".into(),
            request_data: json!("{\"a\":1}"),
            user_data: json!("boom"),
            sender: Sender::from("s"),
            multi_process: false,
            timestamp: "2026-01-01T00:00:00Z".into(),
            backtrace: Value::Null,
            code: Code::INTERNAL,
        }
    }

    #[test]
    fn go_field_names() {
        let value: Value = serde_json::from_str(&record().to_json()).expect("json");
        for field in [
            "topic",
            "request_data",
            "user_data",
            "sender",
            "multi_process",
            "timestamp",
            "backtrace",
            "code",
        ] {
            assert!(value.get(field).is_some(), "{field} missing");
        }
    }

    #[test]
    fn reads_raw_and_ruby_enveloped_records() {
        let raw = record().to_json();
        assert_eq!(ErrorRecord::parse(raw.as_bytes()), Some(record()));
        let ruby = json!({"data": {"topic": "gilmour.request.t", "request_data": "{\"a\":1}",
            "userdata": "boom", "sender": "s", "multi_process": false,
            "timestamp": "2026-01-01T00:00:00Z", "backtrace": null, "code": 500},
            "code": 500, "sender": "x"});
        assert_eq!(
            ErrorRecord::parse(ruby.to_string().as_bytes()),
            Some(record())
        );
        let as_text = json!({"data": raw, "code": 500, "sender": "x"});
        assert_eq!(
            ErrorRecord::parse(as_text.to_string().as_bytes()),
            Some(record())
        );
        assert_eq!(ErrorRecord::parse(b"garbage"), None);
        let odd = json!({"topic": "t", "sender": 42, "code": "503", "multi_process": "no"});
        let odd = ErrorRecord::parse(odd.to_string().as_bytes()).expect("lenient");
        assert_eq!((odd.sender.as_str(), odd.code), ("42", Code(503)));
    }
}
