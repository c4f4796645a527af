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
mod handler;
mod options;
mod report;
mod router;
mod routes;
mod serve;
mod subscription;

pub use builder::EngineBuilder;
pub use handler::{Reply, Request, Response};
pub use options::{
    DEFAULT_GROUP, DEFAULT_HANDLER_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, ErrorPolicy, HEALTH_GROUP,
    HandlerOptions, RequestOptions, TIMED_OUT,
};
pub use subscription::Subscription;

use crate::protocol::{self, Channels, Code, Ident, Message, Sender, TopicError};
use crate::transport::{
    Commands, ConnectionEvent, RedisConfig, Subscriber, Target, TransportError,
};
use report::Failure;
use routes::{Handler, Route, Routes};
use serde_json::Value;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use thiserror::Error;
use tokio::sync::broadcast;
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
    tracker: TaskTracker,
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
}

/// A connection to Gilmour: a cheap, cloneable handle.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
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
        self.add_route(target, Some(group), options.timeout, handler, false)
            .await
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
        self.add_route(target, options.group, options.timeout, handler, false)
            .await
    }

    async fn add_route(
        &self,
        target: Target,
        group: Option<String>,
        timeout: Duration,
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
            group,
            timeout,
            handler,
            internal,
        };
        if self.inner.routes.add(route)?
            && let Err(error) = self.inner.subscriber.subscribe(target.clone()).await
        {
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

    /// Sends a request and waits for its reply.
    ///
    /// Fails with [`EngineError::NoListeners`] before publishing when nobody serves the
    /// topic, and with [`EngineError::Disconnected`] when the link drops while waiting.
    /// When the client timeout fires, resolves with code 499 and publishes that 499 on
    /// the reply channel so that observers see it.
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
        let channel = self.channels().request(topic);
        let subscriber = &self.inner.subscriber;
        let patience = options.timeout.min(self.inner.redis.command_timeout);
        if !subscriber.wait_connected(patience).await {
            return Err(EngineError::NotConnected);
        }
        let commands = &self.inner.core.commands;
        if commands.numsub(&channel).await? == 0 {
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
        // The responder may have left between NUMSUB and now; Redis says so (unless a
        // pattern subscriber such as an inspector also received it).
        if commands.publish(&channel, &message.to_json()).await? == 0 {
            return Err(EngineError::NoListeners {
                topic: topic.to_owned(),
            });
        }
        let outcome = match tokio::time::timeout(options.timeout, &mut waiting.reply).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Err(EngineError::ShuttingDown),
            Err(_) => {
                self.inner.routes.forget_reply(sender.as_str());
                // The reply may have landed just as the timer fired.
                match waiting.reply.try_recv() {
                    Ok(outcome) => outcome,
                    Err(_) => {
                        let reply = self.time_out(&channel, &message).await;
                        return Ok(Response {
                            reply,
                            sender,
                            elapsed: started.elapsed(),
                        });
                    }
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

    /// Publishes the 499 of a request whose client timeout fired, and reports it.
    async fn time_out(&self, channel: &str, request: &Message) -> Message {
        let response_channel = self.channels().response(&request.sender);
        let reply = Message::with_code(
            Value::from(TIMED_OUT),
            Code::TIMEOUT,
            Sender(response_channel.clone()),
        );
        let core = &self.inner.core;
        if let Err(error) = core
            .commands
            .publish_retrying(&response_channel, &reply.to_json())
            .await
        {
            tracing::warn!(%error, "could not publish a client timeout");
        }
        let failure = Failure {
            channel,
            request_data: &request.data,
            user_data: &reply.data,
            sender: &request.sender,
            code: Code::TIMEOUT,
            backtrace: None,
        };
        report::report(core.policy, &core.channels, &core.commands, failure).await;
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
            .publish(&channel, &message.to_json())
            .await?;
        if receivers == 0 {
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
        let payload = Message::new(data.into(), sender.clone()).to_json();
        let commands = &self.inner.core.commands;
        let requests = commands
            .publish(&self.channels().request(topic), &payload)
            .await?;
        let slots = commands
            .publish(&self.channels().slot(topic), &payload)
            .await?;
        if requests + slots == 0 {
            return Err(EngineError::NoReceivers {
                topic: topic.to_owned(),
            });
        }
        Ok(sender)
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
        self.add_route(
            Target::Channel(channel),
            Some(HEALTH_GROUP.to_owned()),
            DEFAULT_HANDLER_TIMEOUT,
            handler,
            true,
        )
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
    pub async fn shutdown(&self) -> Result<(), EngineError> {
        if self.inner.closing.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        // Unsubscribe first and keep the routes until the socket is drained, so that a
        // message that reached us before the unsubscribe is still handled.
        let subscriber = &self.inner.subscriber;
        for (target, _) in self.inner.routes.targets() {
            // A failed unsubscribe only matters while the socket lives; it closes below.
            let _ = subscriber.unsubscribe(target).await;
        }
        let _ = subscriber.flush().await;
        self.inner.routes.drain();
        let tracker = &self.inner.core.tracker;
        tracker.close();
        if tokio::time::timeout(self.inner.shutdown_timeout, tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                running = tracker.len(),
                "handlers still running after the shutdown timeout"
            );
        }
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
