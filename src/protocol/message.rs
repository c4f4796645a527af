//! The one payload shape of Gilmour: `{"data": …, "code": …, "sender": "…"}`.

use super::{Code, Sender};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A Gilmour message: the payload of every request, reply and signal.
///
/// Serialises with the fields in the order Go writes them: `data`, `code`, `sender`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The payload: any JSON value, `null` allowed.
    pub data: Value,
    /// The status code.
    pub code: Code,
    /// The sender id (on a reply, Go puts the reply channel name here).
    pub sender: Sender,
}

/// How a received payload looked on the wire, so that nothing is silently dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// A JSON object: the usual envelope (missing fields took their defaults).
    Envelope,
    /// A JSON value that is not an object; it became the message's `data`.
    Bare,
    /// Not JSON at all (or not UTF-8); the text, lossily decoded, became the `data`.
    Raw,
}

/// The lenient wire form: every field optional, extra fields ignored.
#[derive(Deserialize)]
struct WireEnvelope {
    #[serde(default)]
    data: Value,
    #[serde(default)]
    code: Option<Value>,
    #[serde(default)]
    sender: Option<Value>,
}

impl Message {
    /// A message with code 200.
    pub fn new(data: Value, sender: Sender) -> Self {
        Message {
            data,
            code: Code::OK,
            sender,
        }
    }

    /// A message with the given code.
    pub fn with_code(data: Value, code: Code, sender: Sender) -> Self {
        Message { data, code, sender }
    }

    /// The message as the JSON text that goes on the wire.
    pub fn to_json(&self) -> String {
        // A `Value` and plain strings cannot fail to serialise.
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }

    /// Reads a payload leniently, as Gilmour receivers must: extra and missing fields are
    /// fine, a bare JSON value or non-JSON text becomes the `data` (as Ruby does), a
    /// missing or non-integer code counts as 200.
    pub fn parse_lenient(payload: &[u8]) -> (Message, Payload) {
        // serde would also read a JSON array as the struct's fields: only an object counts.
        let is_object = payload.iter().find(|byte| !byte.is_ascii_whitespace()) == Some(&b'{');
        if is_object && let Ok(envelope) = serde_json::from_slice::<WireEnvelope>(payload) {
            let code = envelope.code.as_ref().and_then(code_of).unwrap_or(Code::OK);
            let sender = match envelope.sender {
                Some(Value::String(text)) => Sender(text),
                Some(Value::Null) | None => Sender::default(),
                Some(other) => Sender(other.to_string()),
            };
            let message = Message {
                data: envelope.data,
                code,
                sender,
            };
            return (message, Payload::Envelope);
        }
        match serde_json::from_slice::<Value>(payload) {
            Ok(value) => (Message::new(value, Sender::default()), Payload::Bare),
            Err(_) => {
                let text = String::from_utf8_lossy(payload).into_owned();
                (
                    Message::new(Value::String(text), Sender::default()),
                    Payload::Raw,
                )
            }
        }
    }

    /// The data decoded into a Rust type.
    pub fn data_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.data)
    }
}

/// A code from any JSON a peer may send: an integer, a float, or a number as text.
pub(crate) fn code_of(value: &Value) -> Option<Code> {
    match value {
        Value::Number(number) => number
            .as_i64()
            .or_else(|| number.as_f64().map(|float| float as i64))
            .map(Code),
        Value::String(text) => text.trim().parse().ok().map(Code),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serialises_fields_in_go_order() {
        let message = Message::new(json!({"a": 1}), Sender::from("s1"));
        assert_eq!(
            message.to_json(),
            r#"{"data":{"a":1},"code":200,"sender":"s1"}"#
        );
    }

    #[test]
    fn envelope_with_extra_and_missing_fields() {
        let (message, payload) = Message::parse_lenient(br#"{"data":"x","extra":true}"#);
        assert_eq!(payload, Payload::Envelope);
        assert_eq!(message.data, json!("x"));
        assert_eq!(message.code, Code::OK);
        assert_eq!(message.sender, Sender::default());
    }

    #[test]
    fn ruby_zero_code_and_odd_types() {
        let (message, _) = Message::parse_lenient(br#"{"data":null,"code":0,"sender":12}"#);
        assert_eq!(message.code, Code(0));
        assert_eq!(message.sender.as_str(), "12");
        let (message, _) = Message::parse_lenient(br#"{"code":"500"}"#);
        assert_eq!(message.code, Code::INTERNAL);
    }

    #[test]
    fn bare_values_and_raw_text_become_data() {
        let (message, payload) = Message::parse_lenient(b"[1,2]");
        assert_eq!((message.data, payload), (json!([1, 2]), Payload::Bare));
        let (message, payload) = Message::parse_lenient(b"not json {");
        assert_eq!((message.data, payload), (json!("not json {"), Payload::Raw));
        let (message, payload) = Message::parse_lenient(&[0xff, 0xfe]);
        assert_eq!(payload, Payload::Raw);
        assert!(message.data.is_string());
    }

    #[test]
    fn typed_data() {
        let message = Message::new(json!([1, 2, 3]), Sender::default());
        let numbers: Vec<u32> = message.data_as().expect("numbers");
        assert_eq!(numbers, vec![1, 2, 3]);
    }
}
