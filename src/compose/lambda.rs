//! Lambdas: local Rust functions from message to message that stand in a composition
//! like any service, without a request on the wire.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::protocol::Message;

type Function = dyn Fn(Message) -> BoxFuture<'static, Message> + Send + Sync;

/// A named local function from [`Message`] to [`Message`], usable as a step of a
/// [`Composition`](crate::compose::Composition).
///
/// It receives the step's input as the message's `data` (code 200, empty sender: no
/// request was made) and answers with a message whose `data` and `code` count like a
/// service's reply (its `sender` is ignored). The executor runs it under the step timeout
/// and turns a panic into a 500.
///
/// Cloning shares the function. Two lambdas are equal when they have the same name and
/// share the same function (one is a clone of the other): closures cannot be compared,
/// and equal names alone would make different functions look the same.
///
/// Lambdas have no text form: they print as `<lambda NAME>`, which
/// [`parse`](crate::compose::parse) rejects.
#[derive(Clone)]
pub struct Lambda {
    name: String,
    function: Arc<Function>,
}

impl Lambda {
    /// An asynchronous lambda.
    pub fn new<F, Fut>(name: impl Into<String>, function: F) -> Self
    where
        F: Fn(Message) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Message> + Send + 'static,
    {
        Lambda {
            name: name.into(),
            function: Arc::new(move |message| Box::pin(function(message))),
        }
    }

    /// A lambda from a plain function, for work that does not wait on anything.
    pub fn sync<F>(name: impl Into<String>, function: F) -> Self
    where
        F: Fn(Message) -> Message + Send + Sync + 'static,
    {
        Lambda {
            name: name.into(),
            function: Arc::new(move |message| Box::pin(std::future::ready(function(message)))),
        }
    }

    /// The name it is shown by (in step records and when printed).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Starts the function on `message`. A sync lambda runs, and may panic, right here.
    pub(crate) fn call(&self, message: Message) -> BoxFuture<'static, Message> {
        (self.function)(message)
    }
}

impl fmt::Debug for Lambda {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Lambda").field(&self.name).finish()
    }
}

impl PartialEq for Lambda {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && Arc::ptr_eq(&self.function, &other.function)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Sender;
    use serde_json::json;

    fn double() -> Lambda {
        Lambda::sync("double", |message: Message| {
            let n = message.data.as_i64().unwrap_or(0);
            Message::new(json!(n * 2), message.sender)
        })
    }

    #[tokio::test]
    async fn sync_and_async_lambdas_answer() {
        let out = double()
            .call(Message::new(json!(21), Sender::default()))
            .await;
        assert_eq!(out.data, json!(42));
        let shout = Lambda::new("shout", |message: Message| async move {
            let text = message.data.as_str().unwrap_or_default().to_uppercase();
            Message::new(json!(text), message.sender)
        });
        let out = shout
            .call(Message::new(json!("hi"), Sender::default()))
            .await;
        assert_eq!(out.data, json!("HI"));
    }

    #[test]
    fn equal_only_to_clones_of_itself() {
        let a = double();
        assert_eq!(a, a.clone());
        assert_ne!(a, double(), "same name, different function");
        assert_eq!(format!("{a:?}"), "Lambda(\"double\")");
        assert_eq!(a.name(), "double");
    }
}
