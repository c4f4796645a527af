//! The Gilmour engine: serve topics (`reply_to`, `slot`), call them (`request`, `signal`,
//! `broadcast`), report failures, answer health pings, shut down cleanly.
//!
//! ```text
//!  request ──NUMSUB, PUBLISH──▶ Redis ──▶ responder: SET lock NX, handler, PUBLISH reply
//!     ▲                                                                  │
//!     └──── reply multiplexer ◀── pattern <prefix>.response.<engine>-* ◀─┘
//! ```
//!
//! Replies to this engine's requests arrive on one pattern subscription over its own
//! sender-id prefix, made once at start: a request costs NUMSUB and PUBLISH and no
//! subscription round trip, and a reply can never beat its subscription.

mod builder;
mod context;
mod handler;
mod options;
mod report;
mod router;
mod routes;
mod serve;
mod stats;
mod subscription;

pub use builder::EngineBuilder;
pub use context::{current_context, in_context};
pub use handler::{Reply, Request, Response};
pub use options::{
    DEFAULT_GROUP, DEFAULT_HANDLER_TIMEOUT, DEFAULT_MAX_IN_FLIGHT, DEFAULT_QUEUE,
    DEFAULT_REQUEST_TIMEOUT, ErrorPolicy, HEALTH_GROUP, HandlerOptions, RequestOptions,
    SHUTTING_DOWN, TIMED_OUT,
};
pub use stats::Stats;
pub use subscription::Subscription;

use crate::protocol::{self, CallContext, Channels, Code, Ident, Message, Sender, TopicError};
use crate::transport::{
    Commands, ConnectionEvent, RedisConfig, Subscriber, Target, TransportError,
};
use report::Failure;
use routes::{Capacity, Handler, Route, Routes};
use serde_json::Value;
use stats::Counters;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use thiserror::Error;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// What can go wrong in the engine.
#[derive(Debug, Error)]
pub enum EngineError {
    /// Talking to Redis failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The topic cannot be used this way.
    #[error(transparent)]
    Topic(#[from] TopicError),
    /// Nobody is subscribed to the request channel; nothing was published.
    #[error("no active listeners for `{topic}`")]
    NoListeners {
        /// The topic.
        topic: String,
    },
    /// A signal reached no subscriber. (A running inspector counts as a receiver, so
    /// this check can be fooled; Redis cannot tell the two apart.)
    #[error("signal on `{topic}` was not received by anyone")]
    NoReceivers {
        /// The topic.
        topic: String,
    },
    /// This engine already has a handler of this group on this topic.
    #[error("`{topic}` already has a handler in group `{group}` in this process")]
    DuplicateGroup {
        /// The channel or pattern.
        topic: String,
        /// The group.
        group: String,
    },
    /// The link to Redis went down while the request waited: its reply may be lost.
    #[error("lost the connection to Redis while waiting for the reply: {reason}")]
    Disconnected {
        /// Why the link went down.
        reason: String,
    },
    /// The link to Redis is down and did not come back in time.
    #[error("not connected to Redis (reconnecting)")]
    NotConnected,
    /// The engine is shutting down.
    #[error("the engine is shutting down")]
    ShuttingDown,
}

/// The parts every task of the engine shares.
pub(crate) struct Core {
    channels: Channels,
    commands: Commands,
    policy: ErrorPolicy,
    /// The serving tasks.
    tracker: TaskTracker,
    /// The 499 notices of timed-out requests, published after their caller has its answer.
    notices: TaskTracker,
    /// Fired when the shutdown timeout runs out: handlers still running are dropped and
    /// their callers answered 503.
    abandon: CancellationToken,
    counters: Counters,
}

struct Inner {
    core: Arc<Core>,
    routes: Arc<Routes>,
    subscriber: Subscriber,
    redis: RedisConfig,
    sender_prefix: String,
    next_sender: AtomicU64,
    next_route: AtomicU64,
    ident: Option<Ident>,
    closing: AtomicBool,
    shutdown_timeout: Duration,
    /// Whether what it sends carries the call context of the running handler.
    call_context: bool,
}

/// A connection to Gilmour: a cheap, cloneable handle.
///
/// The engine keeps its handlers, so a handler that captures an `Engine` keeps the engine
/// alive for ever (until [`Engine::shutdown`]). Handlers that call the engine should
/// capture a [`WeakEngine`] instead: then dropping the last `Engine` frees everything,
/// closes the connections and so takes the engine's subscriptions off Redis.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

/// A handle on an engine that does not keep it alive: what a handler should capture to
/// call the engine it runs in.
#[derive(Clone)]
pub struct WeakEngine {
    inner: std::sync::Weak<Inner>,
}

impl WeakEngine {
    /// The engine, while some `Engine` handle still holds it.
    pub fn upgrade(&self) -> Option<Engine> {
        self.inner.upgrade().map(|inner| Engine { inner })
    }
}

impl Engine {
    /// Connects with the defaults: prefix `gilmour`, errors ignored, no health ident.
    pub async fn connect(url: &str) -> Result<Engine, EngineError> {
        Engine::builder(url).connect().await
    }

    /// Starts configuring an engine for a Redis URL.
    pub fn builder(url: &str) -> EngineBuilder {
        EngineBuilder {
            redis: RedisConfig::new(url),
            prefix: "gilmour".to_owned(),
            error_channel: None,
            error_queue: None,
            policy: ErrorPolicy::default(),
            health: false,
            shutdown_timeout: Duration::from_secs(10),
            call_context: true,
        }
    }

    /// A handle that does not keep the engine alive, for handlers to capture.
    pub fn downgrade(&self) -> WeakEngine {
        WeakEngine {
            inner: Arc::downgrade(&self.inner),
        }
    }

    /// The channel names in use.
    pub fn channels(&self) -> &Channels {
        &self.inner.core.channels
    }

    /// The command connection, for callers that need plain Redis commands.
    pub fn commands(&self) -> &Commands {
        &self.inner.core.commands
    }

    /// The Redis settings in use.
    pub fn redis(&self) -> &RedisConfig {
        &self.inner.redis
    }

    /// This process's health ident, when health checks are on.
    pub fn ident(&self) -> Option<&Ident> {
        self.inner.ident.as_ref()
    }

    /// Connection events of the subscriber connection from now on.
    pub fn events(&self) -> broadcast::Receiver<ConnectionEvent> {
        self.inner.subscriber.events()
    }

    /// How many of this engine's requests are waiting for their reply.
    pub fn waiting_requests(&self) -> usize {
        self.inner.routes.waiting()
    }

    /// Whether the subscriber connection is up and subscribed.
    pub fn is_connected(&self) -> bool {
        self.inner.subscriber.is_connected()
    }

    /// What the engine has counted since it connected: lock attempts put off or skipped
    /// at capacity, lock outcomes unknown, replies published again, messages shed.
    pub fn stats(&self) -> Stats {
        self.inner.core.counters.snapshot()
    }

    /// Serves requests on `topic`: `handler` answers each request this process wins the
    /// group lock for. Refuses wildcard topics and a second handler of the same group.
    pub async fn reply_to<F, Fut>(
        &self,
        topic: &str,
        options: HandlerOptions,
        handler: F,
    ) -> Result<Subscription, EngineError>
    where
        F: Fn(Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Reply> + Send + 'static,
    {
        protocol::check_reply_topic(topic)?;
        let group = options.group.unwrap_or_else(|| DEFAULT_GROUP.to_owned());
        let handler = Handler::Reply(Arc::new(move |request| Box::pin(handler(request))));
        let target = Target::Channel(self.channels().request(topic));
        let options = HandlerOptions {
            group: Some(group),
            ..options
        };
        self.add_route(target, options, handler, false).await
    }

    /// Receives signals on `topic` (a pattern when it contains `*`). Without a group every
    /// slot receives every signal; with one, exactly one slot of the group, across all
    /// processes, handles each.
    pub async fn slot<F, Fut>(
        &self,
        topic: &str,
        options: HandlerOptions,
        handler: F,
    ) -> Result<Subscription, EngineError>
    where
        F: Fn(Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        protocol::check_topic(topic)?;
        let channel = self.channels().slot(topic);
        let target = if protocol::is_pattern(topic) {
            Target::Pattern(channel)
        } else {
            Target::Channel(channel)
        };
        let handler = Handler::Slot(Arc::new(move |request| Box::pin(handler(request))));
        self.add_route(target, options, handler, false).await
    }

    /// Adds the route, then subscribes for it. The subscriber counts the uses of each
    /// channel and is the one place that knows what Redis has confirmed: a route whose
    /// SUBSCRIBE fails (refused, unconfirmed, link down) is removed again and its error
    /// returned, so that nothing is advertised that is not served.
    async fn add_route(
        &self,
        target: Target,
        options: HandlerOptions,
        handler: Handler,
        internal: bool,
    ) -> Result<Subscription, EngineError> {
        if self.inner.closing.load(Ordering::Acquire) {
            return Err(EngineError::ShuttingDown);
        }
        let id = self.inner.next_route.fetch_add(1, Ordering::Relaxed);
        let route = Route {
            id,
            target: target.clone(),
            group: options.group,
            timeout: options.timeout,
            handler,
            internal,
            capacity: Capacity::new(options.max_in_flight, options.queue),
        };
        self.inner.routes.add(route)?;
        if let Err(error) = self.inner.subscriber.subscribe(target.clone()).await {
            self.inner.routes.remove(&target, id);
            return Err(error.into());
        }
        Ok(Subscription {
            engine: Arc::downgrade(&self.inner),
            target,
            id,
        })
    }

    fn next_sender(&self) -> Sender {
        let number = self.inner.next_sender.fetch_add(1, Ordering::Relaxed);
        Sender(format!("{}-{number}", self.inner.sender_prefix))
    }

    /// A fresh id for one execution of a composition, from the same counter as sender
    /// ids so that it is unique across this engine's traffic.
    pub(crate) fn next_composition_id(&self) -> String {
        let number = self.inner.next_sender.fetch_add(1, Ordering::Relaxed);
        format!("{}-c{number}", self.inner.sender_prefix)
    }

    /// The wire form of a message sent from the running task: with its call context
    /// unless the engine was told not to carry one.
    fn wire(&self, message: &Message) -> String {
        let context: Option<CallContext> = self.inner.call_context.then(current_context).flatten();
        message.to_json_in(context.as_ref())
    }

    /// Sends a request and waits for its reply.
    ///
    /// Every step (waiting for the link, NUMSUB, PUBLISH, waiting for the reply) draws on
    /// the one budget of `options.timeout`, so the call never outlives it, whatever Redis
    /// does. Fails with [`EngineError::NoListeners`] before publishing when nobody serves
    /// the topic, with [`EngineError::Transport`] when Redis does not answer NUMSUB within
    /// the budget, and with [`EngineError::Disconnected`] when the link drops while
    /// waiting. When the budget runs out once the request may have gone out, resolves with
    /// code 499 at once; that 499 is then published on the reply channel (so that
    /// observers see it) and reported, in the background.
    pub async fn request(
        &self,
        topic: &str,
        data: impl Into<Value>,
        options: RequestOptions,
    ) -> Result<Response, EngineError> {
        protocol::check_reply_topic(topic)?;
        if self.inner.closing.load(Ordering::Acquire) {
            return Err(EngineError::ShuttingDown);
        }
        let deadline = tokio::time::Instant::now() + options.timeout;
        let channel = self.channels().request(topic);
        let subscriber = &self.inner.subscriber;
        let patience = options.timeout.min(self.inner.redis.command_timeout);
        if !subscriber.wait_connected(patience).await {
            return Err(EngineError::NotConnected);
        }
        let commands = &self.inner.core.commands;
        let subscribed = tokio::time::timeout_at(deadline, commands.subscribed(&channel))
            .await
            .map_err(|_| TransportError::Timeout {
                command: "PUBSUB NUMSUB",
                timeout_ms: options.timeout.as_millis(),
            })??;
        if !subscribed {
            return Err(EngineError::NoListeners {
                topic: topic.to_owned(),
            });
        }
        let sender = self.next_sender();
        let message = Message::new(data.into(), sender.clone());
        let mut waiting = Waiting::new(&self.inner.routes, message.sender.as_str());
        // Registered first, checked second: a loss of the link from now on fails the
        // waiter, and one that happened before is seen here.
        if !subscriber.is_connected() {
            return Err(EngineError::NotConnected);
        }
        let started = Instant::now();
        let timed_out = |engine: &Engine| Response {
            reply: engine.time_out(&channel, &message),
            sender: sender.clone(),
            elapsed: started.elapsed(),
        };
        let published = match tokio::time::timeout_at(
            deadline,
            commands.publish(&channel, &self.wire(&message)),
        )
        .await
        {
            // Redis did not answer in time: the request may have gone out.
            Err(_) => return Ok(timed_out(self)),
            Ok(published) => published?,
        };
        // The responder may have left between NUMSUB and now; Redis says so (unless a
        // pattern subscriber such as an inspector also received it). A cluster node
        // counts only its own subscribers: its 0 says nothing.
        if published.nobody() {
            return Err(EngineError::NoListeners {
                topic: topic.to_owned(),
            });
        }
        let outcome = match tokio::time::timeout_at(deadline, &mut waiting.reply).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Err(EngineError::ShuttingDown),
            Err(_) => {
                self.inner.routes.forget_reply(sender.as_str());
                // The reply may have landed just as the timer fired.
                match waiting.reply.try_recv() {
                    Ok(outcome) => outcome,
                    Err(_) => return Ok(timed_out(self)),
                }
            }
        };
        let payload = outcome?;
        Ok(Response {
            reply: Message::parse_lenient(&payload).0,
            sender,
            elapsed: started.elapsed(),
        })
    }

    /// The 499 of a request whose client timeout fired. Publishing it (so that observers
    /// see the timeout) and reporting it run in the background: a frozen Redis must not
    /// hold the caller's answer. `shutdown` waits for them, within its timeout.
    fn time_out(&self, channel: &str, request: &Message) -> Message {
        let response_channel = self.channels().response(&request.sender);
        let reply = Message::with_code(
            Value::from(TIMED_OUT),
            Code::TIMEOUT,
            Sender(response_channel.clone()),
        );
        let core = self.inner.core.clone();
        let channel = channel.to_owned();
        let request = request.clone();
        let notice = reply.clone();
        core.notices.clone().spawn(async move {
            if let Err(error) = core
                .commands
                .publish_retrying(&response_channel, &notice.to_json())
                .await
            {
                tracing::warn!(%error, "could not publish a client timeout");
            }
            let failure = Failure {
                channel: &channel,
                request_data: &request.data,
                user_data: &notice.data,
                sender: &request.sender,
                code: Code::TIMEOUT,
                backtrace: None,
            };
            report::report(core.policy, &core.channels, &core.commands, failure).await;
        });
        reply
    }

    /// Publishes a signal; returns its sender id. Fails when nobody received it.
    pub async fn signal(&self, topic: &str, data: impl Into<Value>) -> Result<Sender, EngineError> {
        protocol::check_topic(topic)?;
        let sender = self.next_sender();
        let message = Message::new(data.into(), sender.clone());
        let channel = self.channels().slot(topic);
        let receivers = self
            .inner
            .core
            .commands
            .publish(&channel, &self.wire(&message))
            .await?;
        if self.unheard(receivers, &[&channel]).await? {
            return Err(EngineError::NoReceivers {
                topic: topic.to_owned(),
            });
        }
        Ok(sender)
    }

    /// Publishes one message, with one sender id, to both the request and the slot
    /// channel of `topic`, waiting for no reply. Fails when nobody received it on either.
    pub async fn broadcast(
        &self,
        topic: &str,
        data: impl Into<Value>,
    ) -> Result<Sender, EngineError> {
        protocol::check_reply_topic(topic)?;
        let sender = self.next_sender();
        let payload = self.wire(&Message::new(data.into(), sender.clone()));
        let commands = &self.inner.core.commands;
        let requests = commands
            .publish(&self.channels().request(topic), &payload)
            .await?;
        let slots = commands
            .publish(&self.channels().slot(topic), &payload)
            .await?;
        if self
            .unheard(
                requests,
                &[
                    &self.channels().request(topic),
                    &self.channels().slot(topic),
                ],
            )
            .await?
            && self.unheard(slots, &[]).await?
        {
            return Err(EngineError::NoReceivers {
                topic: topic.to_owned(),
            });
        }
        Ok(sender)
    }

    /// Whether nobody received what was published on `channels`: Redis's count says so,
    /// or, where it counts only its own node's receivers (a cluster), no node has a
    /// subscriber to those channels nor any pattern subscriber.
    async fn unheard(
        &self,
        receivers: crate::transport::Receivers,
        channels: &[&str],
    ) -> Result<bool, EngineError> {
        if receivers.count() > 0 {
            return Ok(false);
        }
        if receivers.complete() {
            return Ok(true);
        }
        let commands = &self.inner.core.commands;
        for channel in channels {
            if commands.listened(channel).await? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The channels and patterns this engine serves, internal ones left out.
    pub fn served(&self) -> Vec<String> {
        let mut served: Vec<String> = self
            .inner
            .routes
            .targets()
            .into_iter()
            .filter(|(_, internal)| !internal)
            .map(|(target, _)| match target {
                Target::Channel(name) | Target::Pattern(name) => name,
            })
            .collect();
        served.sort();
        served
    }

    async fn start_health(&self, ident: Ident) -> Result<(), EngineError> {
        let weak = Arc::downgrade(&self.inner);
        let handler = Handler::Reply(Arc::new(move |_request| {
            let served = weak
                .upgrade()
                .map(|inner| Engine { inner }.served())
                .unwrap_or_default();
            Box::pin(async move { Reply::ok(served) })
        }));
        let channel = self.channels().health(&ident);
        let options = HandlerOptions::default().group(HEALTH_GROUP);
        self.add_route(Target::Channel(channel), options, handler, true)
            .await?;
        self.inner
            .core
            .commands
            .hash_set(self.channels().health_hash(), ident.as_str(), "true")
            .await?;
        Ok(())
    }

    /// Stops taking messages, waits (at most the shutdown timeout) for running handlers,
    /// fails requests still waiting, removes the health ident and closes the connections.
    ///
    /// Handlers still running when the timeout runs out are dropped (a `--exec` child with
    /// them) and their callers answered 503 [`SHUTTING_DOWN`], rather than left to wait
    /// out their own timeouts.
    pub async fn shutdown(&self) -> Result<(), EngineError> {
        if self.inner.closing.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        // Unsubscribe first and keep the routes until the socket is drained, so that a
        // message that reached us before the unsubscribe is still handled.
        let subscriber = &self.inner.subscriber;
        for target in self.inner.routes.uses() {
            // A failed unsubscribe only matters while the socket lives; it closes below.
            let _ = subscriber.unsubscribe(target).await;
        }
        let _ = subscriber.flush().await;
        self.inner.routes.drain();
        let core = &self.inner.core;
        let started = tokio::time::Instant::now();
        let deadline = started + self.inner.shutdown_timeout;
        core.tracker.close();
        if tokio::time::timeout_at(deadline, core.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                running = core.tracker.len(),
                "handlers still running after the shutdown timeout: answering their callers 503"
            );
            core.abandon.cancel();
            // What is left is publishing the 503s; a frozen Redis gets one more timeout.
            let grace = tokio::time::Instant::now() + self.inner.redis.command_timeout;
            let _ = tokio::time::timeout_at(grace, core.tracker.wait()).await;
        }
        core.notices.close();
        let _ = tokio::time::timeout_at(deadline, core.notices.wait()).await;
        self.inner.routes.fail_waiting(|| EngineError::ShuttingDown);
        self.inner.subscriber.close().await;
        if let Some(ident) = &self.inner.ident {
            self.inner
                .core
                .commands
                .hash_delete(self.channels().health_hash(), ident.as_str())
                .await?;
        }
        Ok(())
    }
}

/// A request's place in the reply multiplexer, given up when the request ends however it
/// ends (a caller may drop the request future), so that the map never keeps strangers.
struct Waiting<'a> {
    routes: &'a Routes,
    sender: &'a str,
    reply: tokio::sync::oneshot::Receiver<routes::ReplyOutcome>,
}

impl<'a> Waiting<'a> {
    fn new(routes: &'a Routes, sender: &'a str) -> Self {
        let reply = routes.await_reply(sender);
        Waiting {
            routes,
            sender,
            reply,
        }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.routes.forget_reply(self.sender);
    }
}
