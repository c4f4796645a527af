//! The subscriber connection: one task owns the pub/sub socket and everything it is
//! subscribed to.
//!
//! The task keeps a registry of channels and patterns (reference-counted, so two local
//! users of one channel share one SUBSCRIBE), pings the server on a heartbeat because a
//! half-open socket never reports an error by itself, and on any failure reconnects with
//! exponential backoff and subscribes the whole registry again. Messages and connection
//! events reach the owner in order, through one callback, so an observer can tell exactly
//! where a gap in the traffic is.

use super::cluster::{self, Role};
use super::config::{ClusterPubSub, Endpoint, HOME_SLOT, sentinel_client};
use super::{RedisConfig, TransportError};
use chrono::{DateTime, Utc};
use futures_util::future::OptionFuture;
use futures_util::{FutureExt, StreamExt};
use redis::aio::{PubSub, PubSubSink};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

mod moves;

use moves::{Dedupe, HOME_CHECK, MOVE_OVERLAP, MOVE_RECORD, Moved, Moves, Moving, NEW, OLD};

/// Something to subscribe to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// One channel (`SUBSCRIBE`).
    Channel(String),
    /// A glob pattern (`PSUBSCRIBE`).
    Pattern(String),
}

/// One pub/sub message as it arrived.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// When it came off the socket (stamped by the connection's task, before anything
    /// else is done with it).
    pub at: DateTime<Utc>,
    /// The channel it was published on (`?` where the name is not UTF-8: see
    /// `raw_channel`).
    pub channel: String,
    /// The channel's bytes, when they are not UTF-8.
    pub raw_channel: Option<Arc<[u8]>>,
    /// The pattern that matched it, for pattern subscriptions.
    pub pattern: Option<String>,
    /// The payload bytes, untouched (shared, so handing them on copies nothing).
    pub payload: Arc<[u8]>,
}

/// A change in the state of the subscriber connection.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectionEvent {
    /// The first connection is up and subscribed.
    Connected {
        /// When.
        at: DateTime<Utc>,
    },
    /// The link was lost: messages published from now until `Resubscribed` are gone.
    Disconnected {
        /// When the loss was noticed.
        at: DateTime<Utc>,
        /// The last sign of life before it (a message or an answered heartbeat): nothing
        /// published after this moment is sure to have arrived.
        since: DateTime<Utc>,
        /// Why the link counts as lost.
        reason: String,
    },
    /// The link is back and every subscription is in place again.
    Resubscribed {
        /// When.
        at: DateTime<Utc>,
        /// How many channels were subscribed again.
        channels: usize,
        /// How many patterns were subscribed again.
        patterns: usize,
        /// How long the link was down, from its last sign of life.
        outage: Duration,
    },
}

/// What the subscriber hands to its owner, in the order it happened.
#[derive(Debug, Clone)]
pub enum Incoming {
    /// A message.
    Message(Delivery),
    /// A connection event.
    Event(ConnectionEvent),
}

type Deliver = Arc<dyn Fn(Incoming) + Send + Sync>;
type Ack = oneshot::Sender<()>;
/// A subscription change is answered with what Redis said.
type Confirm = oneshot::Sender<Result<(), TransportError>>;

enum Command {
    Subscribe(Target, Confirm),
    Unsubscribe(Target, Confirm),
    Flush(Ack),
    Close(Ack),
}

impl Target {
    /// The channel or pattern name.
    pub fn name(&self) -> &str {
        match self {
            Target::Channel(name) | Target::Pattern(name) => name,
        }
    }
}

/// Why a subscription change did not happen.
enum Refusal {
    /// Redis answered with an error (an ACL without the channel, say); the link is fine.
    Refused(String),
    /// The link failed or did not answer in time.
    Link(String),
}

/// A handle on the subscriber task. Dropping every clone stops the task.
#[derive(Clone)]
pub struct Subscriber {
    commands: mpsc::UnboundedSender<Command>,
    connected: watch::Receiver<bool>,
    events: broadcast::Sender<ConnectionEvent>,
}

impl Subscriber {
    /// Connects (failing at once when Redis cannot be reached) and starts the task.
    /// `deliver` runs on the task for every message and event: it must not block.
    pub async fn start(
        config: RedisConfig,
        deliver: impl Fn(Incoming) + Send + Sync + 'static,
    ) -> Result<Self, TransportError> {
        let mut source = Source::new(&config)?;
        let link = source
            .connect(&config)
            .await
            .map_err(|reason| TransportError::Connect {
                url: config.display_url(),
                reason,
            })?;
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (connected_tx, connected) = watch::channel(false);
        let (events, _) = broadcast::channel(64);
        let task = Task {
            source,
            config,
            deliver: Arc::new(deliver),
            commands: command_rx,
            connected: connected_tx,
            events: events.clone(),
            registry: HashMap::new(),
            last_seen: Instant::now(),
        };
        tokio::spawn(task.run(link));
        let subscriber = Subscriber {
            commands,
            connected,
            events,
        };
        Ok(subscriber)
    }

    /// Subscribes and waits for Redis to confirm it; the registry counts local users, so
    /// only the first sends SUBSCRIBE. Fails, and leaves the registry as it was, when Redis
    /// refuses the subscription, when it is not confirmed in time, or while the link is
    /// down: what succeeds is subscribed, and stays so across reconnects.
    pub async fn subscribe(&self, target: Target) -> Result<(), TransportError> {
        self.confirm(|confirm| Command::Subscribe(target, confirm))
            .await
    }

    /// Gives up one local use of the target; the last one sends UNSUBSCRIBE and waits for
    /// its confirmation.
    pub async fn unsubscribe(&self, target: Target) -> Result<(), TransportError> {
        self.confirm(|confirm| Command::Unsubscribe(target, confirm))
            .await
    }

    async fn confirm(
        &self,
        command: impl FnOnce(Confirm) -> Command,
    ) -> Result<(), TransportError> {
        let (confirm, done) = oneshot::channel();
        self.commands
            .send(command(confirm))
            .map_err(|_| TransportError::Closed)?;
        done.await.map_err(|_| TransportError::Closed)?
    }

    /// Waits until every message that reached the socket before this call has been handed
    /// to the owner (used to drain in-flight work before a shutdown).
    pub async fn flush(&self) -> Result<(), TransportError> {
        self.call(Command::Flush).await
    }

    /// Stops the task and closes the socket.
    pub async fn close(&self) {
        // An error means the task is already gone, which is what we want.
        let _ = self.call(Command::Close).await;
    }

    /// Whether the link is up and every subscription is in place.
    pub fn is_connected(&self) -> bool {
        *self.connected.borrow()
    }

    /// Waits until the link is up, for at most `timeout`. True when it is.
    pub async fn wait_connected(&self, timeout: Duration) -> bool {
        let mut connected = self.connected.clone();
        let wait = connected.wait_for(|up| *up);
        matches!(tokio::time::timeout(timeout, wait).await, Ok(Ok(_)))
    }

    /// Connection events from now on.
    pub fn events(&self) -> broadcast::Receiver<ConnectionEvent> {
        self.events.subscribe()
    }

    async fn call(&self, command: impl FnOnce(Ack) -> Command) -> Result<(), TransportError> {
        let (ack, done) = oneshot::channel();
        self.commands
            .send(command(ack))
            .map_err(|_| TransportError::Closed)?;
        done.await.map_err(|_| TransportError::Closed)
    }
}

/// Where the pub/sub socket goes: the one server; one node of a cluster (its home, the
/// primary serving [`HOME_SLOT`], else the first seed that answers, else any node it knows
/// of: a PUBLISH on any node reaches every node's subscribers); the primary Sentinel
/// names at the time.
enum Source {
    Single(Box<redis::Client>),
    Cluster {
        /// The seeds first, in the URL's order, then the nodes found since.
        nodes: Vec<redis::ConnectionInfo>,
        pubsub: ClusterPubSub,
        /// The node the socket is on.
        current: Option<String>,
    },
    Sentinel(Box<redis::sentinel::SentinelClient>),
}

impl Source {
    fn new(config: &RedisConfig) -> Result<Source, TransportError> {
        Ok(match config.endpoint()? {
            Endpoint::Single(client) => Source::Single(Box::new(client)),
            Endpoint::Cluster(nodes) => Source::Cluster {
                nodes,
                pubsub: config.cluster_pubsub,
                current: None,
            },
            Endpoint::Sentinel {
                sentinels,
                primary,
                node,
            } => Source::Sentinel(Box::new(
                sentinel_client(&sentinels, &primary, &node).map_err(|error| {
                    TransportError::InvalidUrl {
                        url: config.display_url(),
                        error,
                    }
                })?,
            )),
        })
    }

    async fn connect(&mut self, config: &RedisConfig) -> Result<PubSub, String> {
        match self {
            Source::Single(client) => connect(client, config).await,
            Source::Sentinel(sentinel) => {
                let client = within(config, sentinel.async_get_client()).await?;
                connect(&client, config).await
            }
            Source::Cluster {
                nodes,
                pubsub,
                current,
            } => {
                let home = learn_nodes(nodes, config).await;
                let mut order = nodes.clone();
                if *pubsub == ClusterPubSub::Home
                    && let Some(home) = &home
                    && let Some(at) = order
                        .iter()
                        .position(|info| info.addr().to_string() == *home)
                {
                    let home = order.remove(at);
                    order.insert(0, home);
                }
                let mut failures = Vec::new();
                for info in order {
                    let client = redis::Client::open(info.clone()).map_err(|e| e.to_string())?;
                    match connect(&client, config).await {
                        Ok(pubsub) => {
                            let address = info.addr().to_string();
                            tracing::debug!(node = %address, "subscriber connected");
                            if home.as_ref() != Some(&address) {
                                tracing::info!(node = %address, "subscriber away from the home of pub/sub");
                            }
                            *current = Some(address);
                            return Ok(pubsub);
                        }
                        Err(reason) => failures.push(format!("{}: {reason}", info.addr())),
                    }
                }
                Err(format!(
                    "no cluster node answered ({})",
                    failures.join("; ")
                ))
            }
        }
    }
}

impl Source {
    /// On a cluster whose pub/sub has a home: a search for the home as it is now (it
    /// moves in a failover, and could not be reached when the socket connected, say),
    /// connected to it unless it is where the socket is already.
    fn homecoming(&self, config: &RedisConfig) -> Option<Homecoming> {
        let Source::Cluster {
            nodes,
            pubsub: ClusterPubSub::Home,
            current: Some(address),
        } = self
        else {
            return None;
        };
        let mut nodes = nodes.clone();
        let config = config.clone();
        let address = address.clone();
        Some(Box::pin(async move {
            let home = learn_nodes(&mut nodes, &config).await?;
            if home == address {
                return None;
            }
            let info = nodes.iter().find(|info| info.addr().to_string() == home)?;
            let client = redis::Client::open(info.clone()).ok()?;
            let pubsub = connect(&client, &config).await.ok()?;
            Some((home, pubsub))
        }))
    }

    /// Notes that the socket is on the home now.
    fn arrived(&mut self, home: String) {
        if let Source::Cluster { current, .. } = self {
            *current = Some(home);
        }
    }
}

/// A search for the home of pub/sub, with a socket connected to it.
type Homecoming = Pin<Box<dyn Future<Output = Option<(String, PubSub)>> + Send>>;

/// Asks the known nodes in turn for `CLUSTER NODES` until one answers, adds the nodes it
/// names that are not known yet (after those known, so that losing every seed is
/// survived too), and returns the address of the primary serving [`HOME_SLOT`].
async fn learn_nodes(
    nodes: &mut Vec<redis::ConnectionInfo>,
    config: &RedisConfig,
) -> Option<String> {
    for reached in nodes.clone() {
        let ask = async {
            let client = redis::Client::open(reached.clone())?;
            let mut connection = client.get_multiplexed_async_connection().await?;
            redis::cmd("CLUSTER")
                .arg("NODES")
                .query_async::<String>(&mut connection)
                .await
        };
        let Ok(text) = within(config, ask).await else {
            continue;
        };
        add_nodes(nodes, &reached, &text);
        return cluster::serving(&text, HOME_SLOT);
    }
    None
}

fn add_nodes(nodes: &mut Vec<redis::ConnectionInfo>, reached: &redis::ConnectionInfo, text: &str) {
    let known: Vec<String> = nodes.iter().map(|info| info.addr().to_string()).collect();
    for node in cluster::parse_nodes(text) {
        let Some((host, port)) = node.host_port() else {
            continue;
        };
        if node.failed || known.contains(&node.address) {
            continue;
        }
        let addr = match reached.addr() {
            redis::ConnectionAddr::TcpTls {
                insecure,
                tls_params,
                ..
            } => redis::ConnectionAddr::TcpTls {
                host: host.to_owned(),
                port,
                insecure: *insecure,
                tls_params: tls_params.clone(),
            },
            _ => redis::ConnectionAddr::Tcp(host.to_owned(), port),
        };
        // Primaries first: they are the last to go in a failover.
        let info = reached.clone().set_addr(addr);
        if node.role == Role::Primary {
            let at = nodes.len().min(known.len());
            nodes.insert(at, info);
        } else {
            nodes.push(info);
        }
    }
}

async fn within<T>(
    config: &RedisConfig,
    future: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, String> {
    match tokio::time::timeout(config.connect_timeout, future).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!(
            "no connection within {} ms",
            config.connect_timeout.as_millis()
        )),
    }
}

async fn connect(client: &redis::Client, config: &RedisConfig) -> Result<PubSub, String> {
    within(config, client.get_async_pubsub()).await
}

/// What ended a connected session of the task.
enum Ended {
    Lost(String),
    Closed,
}

type Ping = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

struct Task {
    source: Source,
    config: RedisConfig,
    deliver: Deliver,
    commands: mpsc::UnboundedReceiver<Command>,
    connected: watch::Sender<bool>,
    events: broadcast::Sender<ConnectionEvent>,
    registry: HashMap<Target, usize>,
    /// The last sign of life of the link: a message or an answered heartbeat.
    last_seen: Instant,
}

impl Task {
    async fn run(mut self, first: PubSub) {
        let mut link = Some(first);
        let mut down_since: Option<Instant> = None;
        let mut backoff = self.config.min_backoff;
        loop {
            let pubsub = match link.take() {
                Some(pubsub) => pubsub,
                None => match self.source.connect(&self.config).await {
                    Ok(pubsub) => pubsub,
                    Err(reason) => {
                        tracing::debug!(%reason, "reconnect failed");
                        if self.pause(&mut backoff).await {
                            return;
                        }
                        continue;
                    }
                },
            };
            let (mut sink, stream) = pubsub.split();
            if let Err(reason) = self.subscribe_all(&mut sink).await {
                tracing::debug!(%reason, "resubscribe failed");
                if self.pause(&mut backoff).await {
                    return;
                }
                continue;
            }
            backoff = self.config.min_backoff;
            self.last_seen = Instant::now();
            self.connected.send_replace(true);
            let event = match down_since.take() {
                None => ConnectionEvent::Connected { at: Utc::now() },
                Some(since) => ConnectionEvent::Resubscribed {
                    at: Utc::now(),
                    channels: self.count(|target| matches!(target, Target::Channel(_))),
                    patterns: self.count(|target| matches!(target, Target::Pattern(_))),
                    outage: since.elapsed(),
                },
            };
            self.announce(event);
            match self.serve(sink, stream).await {
                Ended::Closed => {
                    self.connected.send_replace(false);
                    return;
                }
                Ended::Lost(reason) => {
                    tracing::warn!(%reason, "lost the subscriber connection to Redis");
                    self.connected.send_replace(false);
                    down_since = Some(self.last_seen);
                    let now = Utc::now();
                    let silent =
                        chrono::Duration::from_std(self.last_seen.elapsed()).unwrap_or_default();
                    self.announce(ConnectionEvent::Disconnected {
                        at: now,
                        since: now - silent,
                        reason,
                    });
                    if self.pause(&mut backoff).await {
                        return;
                    }
                }
            }
        }
    }

    /// Relays messages and commands while the link is up.
    async fn serve(&mut self, mut sink: PubSubSink, mut stream: redis::aio::PubSubStream) -> Ended {
        let mut heartbeat = tokio::time::interval(self.config.heartbeat_interval);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        heartbeat.tick().await;
        let mut ping: Option<Ping> = None;
        let mut home_check = tokio::time::interval(HOME_CHECK);
        home_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        home_check.tick().await;
        let mut homecoming: Option<Homecoming> = None;
        let mut moves = Moves::default();
        loop {
            let move_at = moves.moving.as_ref().map(|moving| moving.at);
            let tail_until = moves.tail.as_ref().map(|tail| tail.until);
            tokio::select! {
                Some(()) = OptionFuture::from(tail_until.map(tokio::time::sleep_until)), if tail_until.is_some() => {
                    moves.expire();
                }
                _ = home_check.tick(), if homecoming.is_none() && moves.idle() => {
                    homecoming = self.source.homecoming(&self.config);
                }
                Some(found) = OptionFuture::from(homecoming.as_mut()), if homecoming.is_some() => {
                    homecoming = None;
                    if let Some((home, pubsub)) = found {
                        moves.moving = Some(Moving {
                            home,
                            pubsub,
                            dedupe: Dedupe::default(),
                            at: tokio::time::Instant::now() + MOVE_RECORD,
                        });
                    }
                }
                Some(()) = OptionFuture::from(move_at.map(tokio::time::sleep_until)), if move_at.is_some() => {
                    let Some(moving) = moves.moving.take() else { continue };
                    match self.move_home(&mut stream, moving.pubsub, moving.dedupe).await {
                        Ok(Moved::Home(new_sink, new_stream, tail)) => {
                            tracing::info!(node = %moving.home, "subscriber moved to the home of pub/sub");
                            self.source.arrived(moving.home);
                            sink = new_sink;
                            stream = new_stream;
                            ping = None;
                            moves.tail = Some(tail);
                        }
                        Ok(Moved::Stayed(tail)) => moves.tail = tail,
                        Err(reason) => return Ended::Lost(reason),
                    }
                }
                message = stream.next() => match message {
                    Some(message) => {
                        self.last_seen = Instant::now();
                        let delivery = delivery(&message);
                        if moves.admit(&delivery) {
                            (self.deliver)(Incoming::Message(delivery));
                        }
                    }
                    None => return Ended::Lost("the connection was closed".to_owned()),
                },
                command = self.commands.recv() => {
                    let Some(command) = command else { return Ended::Closed };
                    if let Command::Flush(ack) = command {
                        while let Some(Some(message)) = stream.next().now_or_never() {
                            let delivery = delivery(&message);
                            if moves.admit(&delivery) {
                                (self.deliver)(Incoming::Message(delivery));
                            }
                        }
                        let _ = ack.send(());
                        continue;
                    }
                    match self.apply(command, Some(&mut sink)).await {
                        Ok(true) => return Ended::Closed,
                        Ok(false) => {}
                        Err(reason) => return Ended::Lost(reason),
                    }
                }
                _ = heartbeat.tick(), if ping.is_none() => {
                    ping = Some(self.ping(sink.clone()));
                }
                Some(result) = OptionFuture::from(ping.as_mut()), if ping.is_some() => {
                    ping = None;
                    if let Err(reason) = result {
                        return Ended::Lost(reason);
                    }
                    self.last_seen = Instant::now();
                }
            }
        }
    }

    /// Subscribes everything again on `pubsub` (a socket on the home), then for
    /// [`MOVE_OVERLAP`] hands on the messages of both sockets, each once, and what the
    /// old one still holds. An error when both sockets were lost.
    async fn move_home(
        &mut self,
        old: &mut redis::aio::PubSubStream,
        pubsub: PubSub,
        mut dedupe: Dedupe,
    ) -> Result<Moved, String> {
        let (mut sink, mut stream) = pubsub.split();
        if let Err(reason) = self.subscribe_all(&mut sink).await {
            tracing::debug!(%reason, "could not subscribe on the home of pub/sub");
            return Ok(Moved::Stayed(None));
        }
        let subscribed = tokio::time::Instant::now();
        let until = subscribed + MOVE_OVERLAP;
        let mut old_open = true;
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(until) => break,
                message = stream.next() => match message {
                    Some(message) => {
                        self.last_seen = Instant::now();
                        let delivery = delivery(&message);
                        if dedupe.first(NEW, &delivery) {
                            (self.deliver)(Incoming::Message(delivery));
                        }
                    }
                    // The old socket goes on, dropping its copies of what the new one
                    // handed on.
                    None if old_open => {
                        return Ok(Moved::Stayed(Some(dedupe.into_tail(NEW, subscribed))));
                    }
                    None => return Err("the connection was closed".to_owned()),
                },
                message = old.next(), if old_open => match message {
                    Some(message) => {
                        let delivery = delivery(&message);
                        if dedupe.first(OLD, &delivery) {
                            (self.deliver)(Incoming::Message(delivery));
                        }
                    }
                    None => old_open = false,
                },
            }
        }
        // What the old socket has read already is handed on too (unless the new one
        // had it), rather than dropped with it.
        while old_open && let Some(Some(message)) = old.next().now_or_never() {
            let delivery = delivery(&message);
            if dedupe.first(OLD, &delivery) {
                (self.deliver)(Incoming::Message(delivery));
            }
        }
        Ok(Moved::Home(sink, stream, dedupe.into_tail(OLD, subscribed)))
    }

    fn ping(&self, mut sink: PubSubSink) -> Ping {
        let timeout = self.config.heartbeat_timeout;
        Box::pin(async move {
            match tokio::time::timeout(timeout, sink.ping::<redis::Value>()).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(error)) => Err(format!("heartbeat failed: {error}")),
                Err(_) => Err(format!(
                    "no answer to the heartbeat within {} ms",
                    timeout.as_millis()
                )),
            }
        })
    }

    /// Applies a command to the registry and, when the link is up, to Redis. Returns true
    /// when the task must stop; an error when the link failed.
    async fn apply(
        &mut self,
        command: Command,
        sink: Option<&mut PubSubSink>,
    ) -> Result<bool, String> {
        match command {
            Command::Close(ack) => {
                let _ = ack.send(());
                Ok(true)
            }
            Command::Flush(ack) => {
                // Nothing can be buffered while the link is down.
                let _ = ack.send(());
                Ok(false)
            }
            Command::Subscribe(target, confirm) => {
                if let Some(count) = self.registry.get_mut(&target) {
                    // Subscribed already, and so confirmed by Redis.
                    *count += 1;
                    let _ = confirm.send(Ok(()));
                    return Ok(false);
                }
                let Some(sink) = sink else {
                    let _ = confirm.send(Err(TransportError::NotSubscribed {
                        target: target.name().to_owned(),
                        reason: "the link to Redis is down".to_owned(),
                    }));
                    return Ok(false);
                };
                match self.send(sink, &target, true).await {
                    Ok(()) => {
                        self.registry.insert(target, 1);
                        let _ = confirm.send(Ok(()));
                        Ok(false)
                    }
                    Err(Refusal::Refused(reason)) => {
                        let _ = confirm.send(Err(TransportError::Refused {
                            target: target.name().to_owned(),
                            reason,
                        }));
                        Ok(false)
                    }
                    Err(Refusal::Link(reason)) => {
                        let _ = confirm.send(Err(TransportError::NotSubscribed {
                            target: target.name().to_owned(),
                            reason: reason.clone(),
                        }));
                        Err(reason)
                    }
                }
            }
            Command::Unsubscribe(target, confirm) => {
                let last = match self.registry.get_mut(&target) {
                    Some(count) if *count > 1 => {
                        *count -= 1;
                        false
                    }
                    Some(_) => {
                        self.registry.remove(&target);
                        true
                    }
                    None => false,
                };
                match (sink, last) {
                    (Some(sink), true) => match self.send(sink, &target, false).await {
                        Ok(()) => {
                            let _ = confirm.send(Ok(()));
                            Ok(false)
                        }
                        Err(Refusal::Refused(reason)) => {
                            let _ = confirm.send(Err(TransportError::Refused {
                                target: target.name().to_owned(),
                                reason,
                            }));
                            Ok(false)
                        }
                        // The link is lost, and the target is out of the registry: it is
                        // not subscribed again, which is what was asked.
                        Err(Refusal::Link(reason)) => {
                            let _ = confirm.send(Ok(()));
                            Err(reason)
                        }
                    },
                    _ => {
                        let _ = confirm.send(Ok(()));
                        Ok(false)
                    }
                }
            }
        }
    }

    async fn send(&self, sink: &mut PubSubSink, target: &Target, on: bool) -> Result<(), Refusal> {
        let timeout = self.config.command_timeout;
        let confirmed = match (target, on) {
            (Target::Channel(name), true) => {
                tokio::time::timeout(timeout, sink.subscribe(name)).await
            }
            (Target::Channel(name), false) => {
                tokio::time::timeout(timeout, sink.unsubscribe(name)).await
            }
            (Target::Pattern(name), true) => {
                tokio::time::timeout(timeout, sink.psubscribe(name)).await
            }
            (Target::Pattern(name), false) => {
                tokio::time::timeout(timeout, sink.punsubscribe(name)).await
            }
        };
        match confirmed {
            Ok(Ok(())) => Ok(()),
            // An error reply (NOPERM, …) leaves the connection usable.
            Ok(Err(error)) if error.code().is_some() => Err(Refusal::Refused(error.to_string())),
            Ok(Err(error)) => Err(Refusal::Link(format!(
                "subscription change failed: {error}"
            ))),
            Err(_) => Err(Refusal::Link(format!(
                "subscription change not confirmed within {} ms",
                timeout.as_millis()
            ))),
        }
    }

    async fn subscribe_all(&self, sink: &mut PubSubSink) -> Result<(), String> {
        let timeout = self.config.command_timeout;
        let mut channels = Vec::new();
        let mut patterns = Vec::new();
        for target in self.registry.keys() {
            match target {
                Target::Channel(name) => channels.push(name.as_str()),
                Target::Pattern(name) => patterns.push(name.as_str()),
            }
        }
        let failed = |error: String| format!("resubscribing failed: {error}");
        if !channels.is_empty() {
            tokio::time::timeout(timeout, sink.subscribe(&channels))
                .await
                .map_err(|_| failed("timed out".to_owned()))?
                .map_err(|error| failed(error.to_string()))?;
        }
        if !patterns.is_empty() {
            tokio::time::timeout(timeout, sink.psubscribe(&patterns))
                .await
                .map_err(|_| failed("timed out".to_owned()))?
                .map_err(|error| failed(error.to_string()))?;
        }
        Ok(())
    }

    /// Waits out the backoff while still taking commands (they only touch the registry
    /// now). Returns true when the task must stop.
    async fn pause(&mut self, backoff: &mut Duration) -> bool {
        let wake = tokio::time::sleep(*backoff);
        tokio::pin!(wake);
        *backoff = (*backoff * 2).min(self.config.max_backoff);
        loop {
            tokio::select! {
                () = &mut wake => return false,
                command = self.commands.recv() => {
                    let Some(command) = command else { return true };
                    if let Ok(true) = self.apply(command, None).await {
                        return true;
                    }
                }
            }
        }
    }

    fn count(&self, wanted: impl Fn(&Target) -> bool) -> usize {
        self.registry.keys().filter(|target| wanted(target)).count()
    }

    fn announce(&self, event: ConnectionEvent) {
        // Nobody listening to the broadcast is fine.
        let _ = self.events.send(event.clone());
        (self.deliver)(Incoming::Event(event));
    }
}

fn delivery(message: &redis::Msg) -> Delivery {
    let at = Utc::now();
    let pattern = if message.from_pattern() {
        message.get_pattern::<String>().ok()
    } else {
        None
    };
    let raw_channel = match message.get_channel::<Vec<u8>>() {
        Ok(bytes) if std::str::from_utf8(&bytes).is_err() => Some(Arc::from(bytes)),
        _ => None,
    };
    Delivery {
        at,
        channel: message.get_channel_name().to_owned(),
        raw_channel,
        pattern,
        payload: Arc::from(message.get_payload_bytes()),
    }
}
