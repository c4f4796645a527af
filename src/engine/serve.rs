//! The serving side: one task per incoming message and route. It takes the group lock,
//! runs the handler under its timeout with panics caught, publishes the reply and reports
//! failures.

use super::Core;
use super::handler::{Reply, Request};
use super::options::{DEFAULT_GROUP, TIMED_OUT};
use super::report::{Failure, report};
use super::routes::{Handler, Route};
use crate::protocol::{Code, Message, Payload, Sender};
use futures_util::FutureExt;
use serde_json::Value;
use std::sync::Arc;

/// Handles one message for one route.
pub(crate) async fn serve(
    core: Arc<Core>,
    route: Arc<Route>,
    channel: Arc<str>,
    payload: Arc<[u8]>,
) {
    let (message, shape) = Message::parse_lenient(&payload);
    let (_, topic) = core.channels.classify(&channel);
    let request = Request {
        topic: topic.to_owned(),
        channel: channel.to_string(),
        message,
    };
    let is_reply = matches!(route.handler, Handler::Reply(_));
    let group = match (&route.group, is_reply) {
        (Some(group), _) => Some(group.as_str()),
        (None, true) => Some(DEFAULT_GROUP),
        (None, false) => None,
    };
    if request.message.sender.as_str().is_empty() && group.is_some() {
        // Without a sender there is no reply channel and no lock key: say so loudly. (A
        // slot without a group needs neither and takes bare values as Ruby sends them.)
        refuse_unanswerable(&core, &request, shape, is_reply).await;
        return;
    }
    if let Some(group) = group {
        match core
            .commands
            .take_lock(&request.message.sender.lock_key(group))
            .await
        {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                tracing::warn!(%error, channel = request.channel, "could not take the group lock");
                return;
            }
        }
    }
    match &route.handler {
        Handler::Reply(handler) => {
            let handler = handler.clone();
            let input = request.clone();
            // The closure itself runs inside the task, so a panic in it is caught too.
            let outcome = run(route.timeout, async move { handler(input).await }).await;
            let reply = match &outcome {
                Outcome::Done(reply) => reply.clone(),
                Outcome::TimedOut => Reply::with_code(Code::TIMEOUT, TIMED_OUT),
                Outcome::Panicked(why) => Reply::with_code(Code::INTERNAL, why.clone()),
            };
            // Report first: whoever sees a failed reply can count on its record existing.
            if reply.code.is_failure() {
                let backtrace = match &outcome {
                    Outcome::Panicked(why) => Some(why.clone()),
                    _ => None,
                };
                report_failure(&core, &request, &reply.data, reply.code, backtrace).await;
            }
            let response_channel = core.channels.response(&request.message.sender);
            let message =
                Message::with_code(reply.data, reply.code, Sender(response_channel.clone()));
            if let Err(error) = core
                .commands
                .publish_retrying(&response_channel, &message.to_json())
                .await
            {
                tracing::warn!(%error, channel = request.channel, "could not publish a reply");
            }
        }
        Handler::Slot(handler) => {
            let handler = handler.clone();
            let input = request.clone();
            match run(route.timeout, async move { handler(input).await }).await {
                Outcome::Done(()) => {}
                Outcome::TimedOut => {
                    let data = Value::from(TIMED_OUT);
                    report_failure(&core, &request, &data, Code::TIMEOUT, None).await;
                }
                Outcome::Panicked(why) => {
                    let data = Value::from(why.clone());
                    report_failure(&core, &request, &data, Code::INTERNAL, Some(why)).await;
                }
            }
        }
    }
}

async fn report_failure(
    core: &Core,
    request: &Request,
    data: &Value,
    code: Code,
    backtrace: Option<String>,
) {
    let failure = Failure {
        channel: &request.channel,
        request_data: &request.message.data,
        user_data: data,
        sender: &request.message.sender,
        code,
        backtrace,
    };
    report(core.policy, &core.channels, &core.commands, failure).await;
}

async fn refuse_unanswerable(core: &Core, request: &Request, payload: Payload, is_reply: bool) {
    let what = match payload {
        Payload::Envelope => "a message without a sender",
        Payload::Bare => "a bare JSON value instead of a message",
        Payload::Raw => "text that is not JSON",
    };
    let note = if is_reply {
        format!("cannot answer {what}: there is no reply channel")
    } else {
        format!("ignored {what}: a grouped slot needs a sender for its lock")
    };
    tracing::warn!(channel = request.channel, "{note}");
    if is_reply {
        let data = Value::from(note);
        report_failure(core, request, &data, Code::BAD_REQUEST, None).await;
    }
}

enum Outcome<T> {
    Done(T),
    TimedOut,
    Panicked(String),
}

/// Runs a handler with its panics caught and under its timeout (a handler that runs out
/// of time is dropped). It runs in the serving task itself: a task of its own would cost
/// a spawn per message for nothing more.
async fn run<T>(
    timeout: std::time::Duration,
    work: impl std::future::Future<Output = T>,
) -> Outcome<T> {
    let guarded = std::panic::AssertUnwindSafe(work).catch_unwind();
    match tokio::time::timeout(timeout, guarded).await {
        Ok(Ok(value)) => Outcome::Done(value),
        Ok(Err(payload)) => Outcome::Panicked(panic_text(payload)),
        Err(_) => Outcome::TimedOut,
    }
}

fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-text panic payload".to_owned());
    format!("handler panicked: {text}")
}
