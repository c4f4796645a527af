//! What handlers receive and what they give back.

use crate::protocol::{Code, Message, Sender};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::Duration;

/// A request or signal as a handler sees it.
#[derive(Debug, Clone)]
pub struct Request {
    pub(crate) topic: String,
    pub(crate) channel: String,
    pub(crate) message: Message,
}

impl Request {
    /// The topic it came on; for a wildcard slot, the real topic that matched.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The channel it came on.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The sender id of the request or signal.
    pub fn sender(&self) -> &Sender {
        &self.message.sender
    }

    /// The data.
    pub fn data(&self) -> &Value {
        &self.message.data
    }

    /// The data decoded into a Rust type.
    pub fn data_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        self.message.data_as()
    }

    /// The whole message.
    pub fn message(&self) -> &Message {
        &self.message
    }

    /// Takes the data out.
    pub fn into_data(self) -> Value {
        self.message.data
    }
}

/// What a reply handler answers: data and a code.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The reply data.
    pub data: Value,
    /// The reply code: 200 on success.
    pub code: Code,
}

impl Reply {
    /// A successful reply.
    pub fn ok(data: impl Into<Value>) -> Self {
        Reply {
            data: data.into(),
            code: Code::OK,
        }
    }

    /// A reply with a code of the handler's choosing.
    pub fn with_code(code: impl Into<Code>, data: impl Into<Value>) -> Self {
        Reply {
            data: data.into(),
            code: code.into(),
        }
    }

    /// A successful reply whose data is any serialisable value (a value that cannot be
    /// serialised becomes a 500 reply saying why).
    pub fn json<T: Serialize>(value: &T) -> Self {
        match serde_json::to_value(value) {
            Ok(data) => Reply::ok(data),
            Err(error) => Reply::with_code(
                Code::INTERNAL,
                format!("reply could not be serialised: {error}"),
            ),
        }
    }
}

/// The outcome of a request: the reply as it came over the wire, and how long it took.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The reply message (on a Go reply, its `sender` is the reply channel).
    pub reply: Message,
    /// The request's sender id.
    pub sender: Sender,
    /// From publishing the request to receiving the reply.
    pub elapsed: Duration,
}

impl Response {
    /// The reply code.
    pub fn code(&self) -> Code {
        self.reply.code
    }

    /// Whether the reply code is a success.
    pub fn is_ok(&self) -> bool {
        self.reply.code.is_ok()
    }

    /// The reply data.
    pub fn data(&self) -> &Value {
        &self.reply.data
    }

    /// The reply data decoded into a Rust type.
    pub fn data_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        self.reply.data_as()
    }

    /// Takes the reply data out.
    pub fn into_data(self) -> Value {
        self.reply.data
    }
}
