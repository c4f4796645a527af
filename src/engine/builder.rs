//! Configuring an engine and connecting it.

use super::router::Router;
use super::routes::Routes;
use super::stats::Counters;
use super::{Core, Engine, EngineError, ErrorPolicy, Inner};
use crate::protocol::{Channels, Ident};
use crate::transport::{Commands, RedisConfig, Subscriber, Target, TransportError};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Configures an [`Engine`] before it connects.
#[derive(Debug, Clone)]
pub struct EngineBuilder {
    pub(super) redis: RedisConfig,
    pub(super) prefix: String,
    pub(super) error_channel: Option<String>,
    pub(super) error_queue: Option<String>,
    pub(super) policy: ErrorPolicy,
    pub(super) health: bool,
    pub(super) shutdown_timeout: Duration,
    pub(super) call_context: bool,
}

impl EngineBuilder {
    /// The channel prefix (default `gilmour`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The error policy (default [`ErrorPolicy::Ignore`], as Go).
    pub fn error_policy(mut self, policy: ErrorPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The channel the publish policy uses (default `<prefix>.errors`, Go's raw records).
    /// On Ruby's channel, `<prefix>.error`, records go out in Ruby's envelope.
    pub fn error_channel(mut self, channel: impl Into<String>) -> Self {
        self.error_channel = Some(channel.into());
        self
    }

    /// The list the queue policy uses (default `<prefix>.errorqueue`).
    pub fn error_queue(mut self, queue: impl Into<String>) -> Self {
        self.error_queue = Some(queue.into());
        self
    }

    /// Whether to announce a health ident and answer health pings (default off).
    pub fn health(mut self, on: bool) -> Self {
        self.health = on;
        self
    }

    /// How long `shutdown` waits for running handlers (default 10 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Whether requests, signals and broadcasts made inside a handler (or inside
    /// [`in_context`](super::in_context)) carry their call context — `"parent"` and
    /// `"composition"` after the usual fields — so that an inspector builds call trees
    /// (default on). Off, every message is the three fields only.
    pub fn call_context(mut self, on: bool) -> Self {
        self.call_context = on;
        self
    }

    /// Changes the Redis timeouts, heartbeat and backoff.
    pub fn redis(mut self, change: impl FnOnce(&mut RedisConfig)) -> Self {
        change(&mut self.redis);
        self
    }

    /// The Redis settings this builder will use.
    pub fn redis_config(&self) -> RedisConfig {
        self.redis.clone()
    }

    /// The channel names this builder will use.
    pub fn channels(&self) -> Channels {
        let mut channels = Channels::new(&self.prefix);
        if let Some(channel) = &self.error_channel {
            channels = channels.with_error_channel(channel);
        }
        if let Some(queue) = &self.error_queue {
            channels = channels.with_error_queue(queue);
        }
        channels
    }

    /// Connects both Redis connections and subscribes to this engine's replies, all
    /// within the connect timeout of the Redis settings (a Redis that accepts the TCP
    /// connection and then says nothing, a frozen one, fails in that time too).
    pub async fn connect(self) -> Result<Engine, EngineError> {
        let url = self.redis.display_url();
        let timeout = self.redis.connect_timeout;
        match tokio::time::timeout(timeout, self.connect_unbounded()).await {
            Ok(connected) => connected,
            Err(_) => Err(TransportError::Connect {
                url,
                reason: format!("no answer within {} ms", timeout.as_millis()),
            }
            .into()),
        }
    }

    async fn connect_unbounded(mut self) -> Result<Engine, EngineError> {
        let channels = self.channels();
        // Every engine has an ident, health checks or not: its connection is named after
        // it (`gilmour:<ident>`), so CLIENT LIST and MONITOR tell which process sent what.
        let this_process = Ident::for_this_process();
        if self.redis.client_name.is_none() {
            self.redis.client_name = Some(format!("gilmour:{}", this_process.as_str()));
        }
        let commands = Commands::connect(&self.redis).await?;
        // The connection manager sends nothing until asked: a missing or wrong password,
        // or a server that does not answer, shows here as a failure to connect.
        if let Err(error) = commands.ping().await {
            let reason = match error {
                TransportError::Command { error, .. } => error.to_string(),
                other => other.to_string(),
            };
            return Err(TransportError::Connect {
                url: self.redis.display_url(),
                reason,
            }
            .into());
        }
        let core = Arc::new(Core {
            channels,
            commands,
            policy: self.policy,
            tracker: TaskTracker::new(),
            notices: TaskTracker::new(),
            abandon: CancellationToken::new(),
            counters: Counters::default(),
        });
        let routes = Arc::new(Routes::default());
        let sender_prefix = uuid::Uuid::new_v4().simple().to_string();
        let reply_pattern = core.channels.response_pattern(&format!("{sender_prefix}-"));
        let ident = self.health.then_some(this_process);
        let router = Router {
            core: core.clone(),
            routes: routes.clone(),
            reply_pattern: reply_pattern.clone(),
            ident: ident.clone(),
        };
        let subscriber = Subscriber::start(self.redis.clone(), move |incoming| {
            router.route(incoming);
        })
        .await?;
        subscriber.subscribe(Target::Pattern(reply_pattern)).await?;
        let engine = Engine {
            inner: Arc::new(Inner {
                core,
                routes,
                subscriber,
                redis: self.redis,
                sender_prefix,
                next_sender: AtomicU64::new(1),
                next_route: AtomicU64::new(1),
                ident,
                closing: AtomicBool::new(false),
                shutdown_timeout: self.shutdown_timeout,
                call_context: self.call_context,
            }),
        };
        if let Some(ident) = &engine.inner.ident {
            engine.start_health(ident.clone()).await?;
        }
        Ok(engine)
    }
}
