//! Call context: what a request, signal or composition step says about where it comes
//! from, so that an observer can build call trees.
//!
//! Two optional fields after the usual three, written only when there is a context:
//!
//! ```text
//! {"data":…,"code":200,"sender":"…","parent":"<sender being handled>","composition":{"id":"…","step":"2.1"}}
//! ```
//!
//! Go's `encoding/json` and Ruby's `JSON.parse` ignore fields they do not know, so peers
//! read these messages as before; a message without a context is byte for byte what it
//! always was.

use super::{Code, Message, Sender};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

/// Where a message comes from: the request being handled when it was sent, and the
/// composition step it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CallContext {
    /// The sender id of the request (or signal) whose handler sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Sender>,
    /// The composition and step it is part of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub composition: Option<CompositionStep>,
}

/// One step of one execution of a composition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CompositionStep {
    /// The execution's id, the same for all its steps.
    pub id: String,
    /// The step's place in the composition: 1-based positions, dot-separated by depth
    /// (`2.1` is the first child of the second node).
    pub step: String,
}

impl CallContext {
    /// The context of messages sent while handling the request (or signal) `sender`;
    /// none for a message without a sender.
    pub fn child_of(sender: Sender) -> Self {
        CallContext {
            parent: (!sender.as_str().is_empty()).then_some(sender),
            composition: None,
        }
    }

    /// Whether it says nothing.
    pub fn is_empty(&self) -> bool {
        self.parent.is_none() && self.composition.is_none()
    }

    /// Reads the context of a payload leniently: a `parent` that is not a non-empty
    /// string, or a `composition` without string `id` and `step`, is no context.
    pub fn read(payload: &[u8]) -> Option<CallContext> {
        #[derive(Deserialize)]
        struct Peek<'a> {
            #[serde(default, borrow)]
            parent: Option<&'a RawValue>,
            #[serde(default, borrow)]
            composition: Option<&'a RawValue>,
        }
        let peek: Peek<'_> = serde_json::from_slice(payload).ok()?;
        let parent = peek
            .parent
            .and_then(|raw| serde_json::from_str::<String>(raw.get()).ok())
            .filter(|parent| !parent.is_empty())
            .map(Sender);
        let composition = peek
            .composition
            .and_then(|raw| serde_json::from_str::<CompositionStep>(raw.get()).ok())
            .filter(|step| !step.id.is_empty());
        let context = CallContext {
            parent,
            composition,
        };
        (!context.is_empty()).then_some(context)
    }
}

impl Message {
    /// The message as wire JSON with a call context after the usual fields; with no
    /// context (or an empty one), exactly [`Message::to_json`].
    pub fn to_json_in(&self, context: Option<&CallContext>) -> String {
        #[derive(Serialize)]
        struct WithContext<'a> {
            data: &'a Value,
            code: Code,
            sender: &'a Sender,
            #[serde(flatten)]
            context: &'a CallContext,
        }
        match context {
            Some(context) if !context.is_empty() => serde_json::to_string(&WithContext {
                data: &self.data,
                code: self.code,
                sender: &self.sender,
                context,
            })
            .unwrap_or_else(|_| self.to_json()),
            _ => self.to_json(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn step(id: &str, step: &str) -> CompositionStep {
        CompositionStep {
            id: id.to_owned(),
            step: step.to_owned(),
        }
    }

    #[test]
    fn no_context_is_byte_identical() {
        let message = Message::new(json!({"a": 1}), Sender::from("s1"));
        assert_eq!(message.to_json_in(None), message.to_json());
        assert_eq!(
            message.to_json_in(Some(&CallContext::default())),
            message.to_json()
        );
    }

    #[test]
    fn context_fields_follow_the_usual_three() {
        let message = Message::new(json!("x"), Sender::from("s2"));
        let context = CallContext {
            parent: Some(Sender::from("p1")),
            composition: Some(step("c1", "2.1")),
        };
        assert_eq!(
            message.to_json_in(Some(&context)),
            r#"{"data":"x","code":200,"sender":"s2","parent":"p1","composition":{"id":"c1","step":"2.1"}}"#
        );
        let only_parent = CallContext::child_of(Sender::from("p1"));
        assert_eq!(
            message.to_json_in(Some(&only_parent)),
            r#"{"data":"x","code":200,"sender":"s2","parent":"p1"}"#
        );
        let senderless = CallContext::child_of(Sender::default());
        assert_eq!(message.to_json_in(Some(&senderless)), message.to_json());
    }

    #[test]
    fn reads_back_and_ignores_what_it_cannot_use() {
        let context = CallContext {
            parent: Some(Sender::from("p")),
            composition: Some(step("c", "1")),
        };
        let wire = Message::new(json!(1), Sender::from("s")).to_json_in(Some(&context));
        assert_eq!(CallContext::read(wire.as_bytes()), Some(context));
        // A peer's message still reads as a message, its context ignored.
        let (message, _) = Message::parse_lenient(wire.as_bytes());
        assert_eq!(message.sender.as_str(), "s");
        for odd in [
            r#"{"data":1,"sender":"s"}"#,
            r#"{"parent":""}"#,
            r#"{"parent":7,"composition":"c"}"#,
            r#"{"composition":{"id":"","step":"1"}}"#,
            r#"{"composition":{"id":"c"}}"#,
            "[1]",
            "not json",
        ] {
            assert_eq!(CallContext::read(odd.as_bytes()), None, "{odd}");
        }
        assert_eq!(
            CallContext::read(br#"{"parent":"p","composition":{"id":1}}"#),
            Some(CallContext::child_of(Sender::from("p")))
        );
    }
}
