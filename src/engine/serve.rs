//! The serving side: one task per incoming message and route, within the route's bounds.
//! A grouped route at capacity puts off its lock attempt for a moment scaled by its
//! backlog, so that a member with capacity wins the `SET NX`; the winner waits for a free
//! slot, runs the handler under its timeout with panics caught, publishes the reply
//! (again, a few times, while nobody has received it) and reports failures.

use super::Core;
use super::context::in_context;
use super::handler::{Reply, Request};
use super::options::{SHUTTING_DOWN, TIMED_OUT};
use super::report::{Failure, report};
use super::routes::{Handler, Ticket};
use super::stats::Counters;
use crate::protocol::{CallContext, Code, Message, Payload, Sender};
use futures_util::FutureExt;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// How long a lock attempt at capacity is put off, per message waiting ahead of it.
const LOCK_DELAY_STEP: Duration = Duration::from_millis(2);
/// The longest a lock attempt is put off.
const LOCK_DELAY_MAX: Duration = Duration::from_millis(20);
/// The pauses before publishing again a reply that nobody received, about 50 ms in all:
/// a caller that publishes its request before its SUBSCRIBE is confirmed (the Ruby
/// library does) is a few milliseconds late.
const REPUBLISH_PAUSES: [Duration; 4] = [
    Duration::from_millis(5),
    Duration::from_millis(10),
    Duration::from_millis(15),
    Duration::from_millis(20),
];

/// Handles one message for the route its ticket is for.
pub(crate) async fn serve(core: Arc<Core>, ticket: Ticket, channel: Arc<str>, payload: Arc<[u8]>) {
    let route = ticket.route();
    let (message, shape) = Message::parse_lenient(&payload);
    let (_, topic) = core.channels.classify(&channel);
    let request = Request {
        topic: topic.to_owned(),
        channel: channel.to_string(),
        message,
    };
    let is_reply = matches!(route.handler, Handler::Reply(_));
    let group = route.lock_group();
    if request.message.sender.as_str().is_empty() && group.is_some() {
        // Without a sender there is no reply channel and no lock key: say so loudly. (A
        // slot without a group needs neither and takes bare values as Ruby sends them.)
        refuse_unanswerable(&core, &request, shape, is_reply).await;
        return;
    }
    if let Some(group) = group {
        if route.capacity.is_busy() {
            let ahead = u32::try_from(route.capacity.backlog()).unwrap_or(u32::MAX);
            let delay = LOCK_DELAY_STEP
                .saturating_mul(ahead.saturating_add(1))
                .min(LOCK_DELAY_MAX);
            Counters::bump(&core.counters.lock_delayed);
            tracing::debug!(
                channel = request.channel,
                group,
                delay_ms = delay.as_millis(),
                "at capacity: lock attempt put off"
            );
            tokio::time::sleep(delay).await;
        }
        match core
            .commands
            .take_lock(&request.message.sender.lock_key(group))
            .await
        {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                Counters::bump(&core.counters.lock_unknown);
                tracing::warn!(
                    %error,
                    channel = request.channel,
                    sender = request.message.sender.as_str(),
                    "outcome of the group lock unknown: left to the other members"
                );
                return;
            }
        }
    }
    match &route.handler {
        Handler::Reply(handler) => {
            let handler = handler.clone();
            let input = request.clone();
            let context = CallContext::child_of(request.message.sender.clone());
            // The closure itself runs inside the task, so a panic in it is caught too; what
            // the handler sends names this request as its parent.
            let work = in_context(context, async move { handler(input).await });
            let outcome = run(&core, &ticket, work).await;
            let reply = match &outcome {
                Outcome::Done(reply) => reply.clone(),
                Outcome::TimedOut => Reply::with_code(Code::TIMEOUT, TIMED_OUT),
                Outcome::Panicked(why) => Reply::with_code(Code::INTERNAL, why.clone()),
                Outcome::Abandoned => Reply::with_code(Code::UNAVAILABLE, SHUTTING_DOWN),
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
            publish_reply(&core, &response_channel, &message.to_json()).await;
        }
        Handler::Slot(handler) => {
            let handler = handler.clone();
            let input = request.clone();
            let context = CallContext::child_of(request.message.sender.clone());
            let work = in_context(context, async move { handler(input).await });
            match run(&core, &ticket, work).await {
                Outcome::Done(()) => {}
                Outcome::TimedOut => {
                    let data = Value::from(TIMED_OUT);
                    report_failure(&core, &request, &data, Code::TIMEOUT, None).await;
                }
                Outcome::Panicked(why) => {
                    let data = Value::from(why.clone());
                    report_failure(&core, &request, &data, Code::INTERNAL, Some(why)).await;
                }
                Outcome::Abandoned => {
                    tracing::warn!(
                        channel = request.channel,
                        "slot handler stopped by the shutdown"
                    );
                }
            }
        }
    }
}

/// Publishes a reply; while nobody has received it, publishes it again a few times over
/// about 50 ms. Nobody is a caller that has not subscribed yet, or one that is gone.
async fn publish_reply(core: &Core, channel: &str, payload: &str) {
    let mut pauses = REPUBLISH_PAUSES.iter();
    loop {
        match core.commands.publish_retrying(channel, payload).await {
            Ok(receivers) if receivers.nobody() => {}
            // A cluster node that counted nobody cannot say whether a subscriber on
            // another node received it, so there is nothing to go on.
            Ok(_) => return,
            Err(error) => {
                tracing::warn!(%error, channel, "could not publish a reply");
                return;
            }
        }
        let Some(pause) = pauses.next() else {
            Counters::bump(&core.counters.replies_unheard);
            tracing::debug!(channel, "nobody received the reply");
            return;
        };
        tokio::time::sleep(*pause).await;
        Counters::bump(&core.counters.replies_republished);
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
    /// The engine's shutdown timeout ran out before the handler finished (or started).
    Abandoned,
}

/// Waits for a free slot of the route, then runs the handler with its panics caught and
/// under its timeout (a handler that runs out of time is dropped, and so is one still
/// running when the shutdown timeout runs out). It runs in the serving task itself: a
/// task of its own would cost a spawn per message for nothing more.
async fn run<T>(
    core: &Core,
    ticket: &Ticket,
    work: impl std::future::Future<Output = T>,
) -> Outcome<T> {
    let route = ticket.route();
    let handled = async {
        let Some(_slot) = route.capacity.slot().await else {
            return Outcome::Abandoned;
        };
        let guarded = std::panic::AssertUnwindSafe(work).catch_unwind();
        match tokio::time::timeout(route.timeout, guarded).await {
            Ok(Ok(value)) => Outcome::Done(value),
            Ok(Err(payload)) => Outcome::Panicked(panic_text(payload)),
            Err(_) => Outcome::TimedOut,
        }
    };
    tokio::select! {
        outcome = handled => outcome,
        () = core.abandon.cancelled() => Outcome::Abandoned,
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
