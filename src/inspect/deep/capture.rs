//! The MONITOR connection: reads every command Redis runs, keeps the few that concern
//! Gilmour as [`DeepEvent`]s, and names their clients from CLIENT LIST.
//!
//! On a cluster, every node runs its own commands, so there is one MONITOR per node
//! (each naming its clients from its own CLIENT LIST), and their facts are merged by
//! Redis's timestamps before they are handed on:
//!
//! ```text
//!   node 1 ──MONITOR──▶ Reader ─┐
//!   node 2 ──MONITOR──▶ Reader ─┼──▶ Merge (by timestamp, 50 ms window) ──▶ DeepEvent
//!   node … ──MONITOR──▶ Reader ─┘
//! ```

use super::{Client, DeepEvent, Fact};
use crate::inspect::monitor::{self, MonitorLine};
use crate::protocol::{ChannelKind, Channels};
use crate::transport::cluster::{Node, Role};
use crate::transport::config::{Endpoint, sentinel_client};
use crate::transport::{Commands, RedisConfig, Topology};
use futures_util::StreamExt;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use thiserror::Error;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// How many deep events may wait for the reader before new ones are dropped.
pub const DEFAULT_DEEP_BUFFER: usize = 1 << 16;

/// Why deep capture could not start.
#[derive(Debug, Error)]
pub enum DeepError {
    /// Redis would not run MONITOR (an ACL without it, a managed Redis).
    #[error("Redis refused MONITOR ({0}): deep capture is off, the normal capture goes on")]
    Refused(String),
    /// Redis could not be reached.
    #[error("cannot connect to Redis for deep capture: {0}")]
    Connect(String),
}

/// How long a fact from one node waits for the other nodes' facts of the same moment
/// before it is handed on.
const MERGE_WINDOW: Duration = Duration::from_millis(50);

/// A running deep capture. Dropping it (and the receiver) stops it.
pub struct DeepCapture {
    dropped: Arc<AtomicU64>,
    lines: Arc<AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    nodes: Arc<AtomicUsize>,
}

impl Drop for DeepCapture {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl DeepCapture {
    /// Connects, starts MONITOR and reads it; deep events arrive on the receiver.
    pub async fn start(
        redis: RedisConfig,
        channels: Channels,
        buffer: usize,
    ) -> Result<(DeepCapture, mpsc::Receiver<DeepEvent>), DeepError> {
        let (events, receiver) = mpsc::channel(buffer.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        let lines = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        if redis.topology() != Topology::Cluster {
            let (reader, server, monitor) =
                Reader::connect(&redis, &channels, None, events, &dropped, &lines).await?;
            tasks.push(tokio::spawn(reader.run(
                server,
                Timing::of(&redis),
                monitor,
            )));
            return Ok((
                DeepCapture {
                    dropped,
                    lines,
                    tasks,
                    nodes: Arc::new(AtomicUsize::new(1)),
                },
                receiver,
            ));
        }
        let nodes = Commands::connect(&redis)
            .await
            .map_err(|error| DeepError::Connect(error.to_string()))?
            .nodes()
            .await
            .map_err(|error| DeepError::Connect(error.to_string()))?;
        let (merge_tx, merge_rx) = mpsc::channel(buffer.max(1));
        let mut readers = Vec::new();
        for node in nodes.iter().filter(|node| !node.failed) {
            readers.push(
                node_reader(&redis, &nodes, node, &channels, &merge_tx, &dropped, &lines).await,
            );
        }
        // A node that refuses MONITOR refuses it on every node; one that cannot be
        // reached is left out (it is down, or its address is not ours to reach).
        let mut started = JoinSet::new();
        let mut watched = Vec::new();
        for reader in readers {
            match reader {
                Some(Ok((reader, server, monitor, config))) => {
                    watched.push(reader.address());
                    started.spawn(reader.run(server, Timing::of(&config), monitor));
                }
                Some(Err(error @ DeepError::Refused(_))) => return Err(error),
                Some(Err(error)) => {
                    tracing::warn!(%error, "deep capture: a cluster node left out");
                }
                None => {}
            }
        }
        if started.is_empty() {
            return Err(DeepError::Connect(
                "no cluster node runs MONITOR".to_owned(),
            ));
        }
        let count = Arc::new(AtomicUsize::new(started.len()));
        tasks.push(tokio::spawn(merge(merge_rx, events, dropped.clone())));
        tasks.push(tokio::spawn(watch_nodes(
            redis,
            channels,
            merge_tx,
            (dropped.clone(), lines.clone(), count.clone()),
            (started, watched),
        )));
        Ok((
            DeepCapture {
                dropped,
                lines,
                tasks,
                nodes: count,
            },
            receiver,
        ))
    }

    /// How many servers it runs MONITOR on: 1, or a cluster's nodes.
    pub fn nodes(&self) -> usize {
        self.nodes.load(Ordering::Relaxed)
    }

    /// Deep events dropped because the reader fell behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// MONITOR lines read (every command of every client).
    pub fn lines(&self) -> u64 {
        self.lines.load(Ordering::Relaxed)
    }
}

async fn open(client: &redis::Client, timeout: Duration) -> Result<redis::aio::Monitor, DeepError> {
    // The monitor connection takes MONITOR's reply without looking at it: ask on a
    // connection of its own first (and close it), so a refusal is told as one.
    let probe = async {
        let mut connection = client.get_multiplexed_async_connection().await?;
        redis::cmd("MONITOR")
            .query_async::<redis::Value>(&mut connection)
            .await
    };
    match tokio::time::timeout(timeout, probe).await {
        Ok(Ok(_)) => {}
        Ok(Err(error)) if is_refusal(&error.to_string()) => {
            return Err(DeepError::Refused(error.to_string()));
        }
        Ok(Err(error)) => return Err(DeepError::Connect(error.to_string())),
        Err(_) => {
            return Err(DeepError::Connect(format!(
                "no connection within {} ms",
                timeout.as_millis()
            )));
        }
    }
    match tokio::time::timeout(timeout, client.get_async_monitor()).await {
        Ok(Ok(monitor)) => Ok(monitor),
        Ok(Err(error)) if is_refusal(&error.to_string()) => {
            Err(DeepError::Refused(error.to_string()))
        }
        Ok(Err(error)) => Err(DeepError::Connect(error.to_string())),
        Err(_) => Err(DeepError::Connect(format!(
            "no connection within {} ms",
            timeout.as_millis()
        ))),
    }
}

/// Whether Redis said no to MONITOR itself (rather than to the connection).
fn is_refusal(error: &str) -> bool {
    let error = error.to_ascii_lowercase();
    ["noperm", "unknown command", "permission", "not allowed"]
        .iter()
        .any(|word| error.contains(word))
}

/// Client names from CLIENT LIST, read again when an unknown address shows up (at most
/// every 50 ms); an address still unknown then is asked about again after 2 s.
struct Names {
    connection: redis::aio::MultiplexedConnection,
    known: HashMap<Arc<str>, Option<Arc<str>>>,
    /// Addresses CLIENT LIST did not have, and when that was found.
    missing: HashMap<Arc<str>, Instant>,
    refreshed: Option<Instant>,
}

impl Names {
    fn new(connection: redis::aio::MultiplexedConnection) -> Self {
        Names {
            connection,
            known: HashMap::new(),
            missing: HashMap::new(),
            refreshed: None,
        }
    }

    async fn client(&mut self, addr: &Arc<str>) -> Client {
        let recently_missing = self
            .missing
            .get(addr)
            .is_some_and(|at| at.elapsed() < Duration::from_secs(2));
        if !self.known.contains_key(addr) && !recently_missing {
            // At most every 50 ms: wait out the rest rather than take the client for
            // nameless (MONITOR's lines wait in the socket meanwhile).
            if let Some(at) = self.refreshed {
                let rest = Duration::from_millis(50).saturating_sub(at.elapsed());
                if !rest.is_zero() {
                    tokio::time::sleep(rest).await;
                }
            }
            self.refresh().await;
            if !self.known.contains_key(addr) {
                if self.missing.len() >= 65_536 {
                    self.missing.clear();
                }
                self.missing.insert(addr.clone(), Instant::now());
            }
        }
        Client {
            addr: addr.clone(),
            name: self.known.get(addr).cloned().flatten(),
        }
    }

    async fn refresh(&mut self) {
        self.refreshed = Some(Instant::now());
        let list: redis::RedisResult<String> = redis::cmd("CLIENT")
            .arg("LIST")
            .query_async(&mut self.connection)
            .await;
        let Ok(list) = list else {
            return;
        };
        self.known.clear();
        for line in list.lines() {
            let mut addr = None;
            let mut name = None;
            for field in line.split(' ') {
                if let Some(value) = field.strip_prefix("addr=") {
                    addr = Some(value);
                } else if let Some(value) = field.strip_prefix("name=") {
                    name = (!value.is_empty()).then_some(value);
                }
            }
            if let Some(addr) = addr {
                let addr: Arc<str> = Arc::from(addr);
                self.missing.remove(&addr);
                self.known.insert(addr, name.map(Arc::from));
            }
        }
    }
}

struct Reader {
    channels: Channels,
    events: mpsc::Sender<DeepEvent>,
    dropped: Arc<AtomicU64>,
    lines: Arc<AtomicU64>,
    names: Names,
    /// On a cluster replica: its primary's address, whose replicated commands it skips.
    replication: Option<Arc<str>>,
    /// The address of the server MONITOR reads.
    at: Option<String>,
}

impl Reader {
    /// Connects to one server: its MONITOR, and a connection for CLIENT LIST.
    async fn connect(
        redis: &RedisConfig,
        channels: &Channels,
        replication: Option<Arc<str>>,
        events: mpsc::Sender<DeepEvent>,
        dropped: &Arc<AtomicU64>,
        lines: &Arc<AtomicU64>,
    ) -> Result<(Reader, Server, redis::aio::Monitor), DeepError> {
        let mut server = Server::new(redis)?;
        let client = server.client(redis.connect_timeout).await?;
        let monitor = open(&client, redis.connect_timeout).await?;
        let names = tokio::time::timeout(
            redis.connect_timeout,
            client.get_multiplexed_async_connection(),
        )
        .await
        .map_err(|_| DeepError::Connect("no connection in time".to_owned()))?
        .map_err(|error| DeepError::Connect(error.to_string()))?;
        let reader = Reader {
            channels: channels.clone(),
            events,
            dropped: dropped.clone(),
            lines: lines.clone(),
            names: Names::new(names),
            replication,
            at: Some(client.get_connection_info().addr().to_string()),
        };
        Ok((reader, server, monitor))
    }

    async fn run(mut self, mut server: Server, timing: Timing, first: redis::aio::Monitor) {
        let timeout = timing.connect;
        let mut monitor = Some(first);
        let mut backoff = timing.min_backoff;
        loop {
            let stream = match monitor.take() {
                Some(monitor) => monitor,
                None => match self.reopen(&mut server, timeout).await {
                    Ok(monitor) => monitor,
                    Err(error) => {
                        tracing::debug!(%error, "deep capture: reconnect failed");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(timing.max_backoff);
                        continue;
                    }
                },
            };
            backoff = timing.min_backoff;
            let mut lines = stream.into_on_message::<String>();
            let mut check = tokio::time::interval(LIVENESS_CHECK);
            check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            check.tick().await;
            loop {
                let line = tokio::select! {
                    line = lines.next() => line,
                    _ = check.tick() => {
                        if let Err(why) = self.still_there(&mut server, timeout).await {
                            tracing::warn!(%why, "deep capture: MONITOR gone quiet; reconnecting");
                            break;
                        }
                        continue;
                    }
                };
                let Some(line) = line else {
                    tracing::warn!("deep capture: the MONITOR connection ended; reconnecting");
                    break;
                };
                self.lines.fetch_add(1, Ordering::Relaxed);
                let Ok(line) = monitor::parse(line.as_bytes()) else {
                    continue;
                };
                let Some((addr, fact)) = fact_of(&self.channels, &line) else {
                    continue;
                };
                if self.replication.as_ref() == Some(&addr) {
                    continue;
                }
                let client = self.names.client(&addr).await;
                let event = DeepEvent {
                    at: line.at,
                    client,
                    fact,
                };
                match self.events.try_send(event) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        self.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => return,
                }
            }
        }
    }
}

/// How patient a reader is: the connection's own settings.
#[derive(Clone, Copy)]
struct Timing {
    connect: Duration,
    min_backoff: Duration,
    max_backoff: Duration,
}

impl Timing {
    fn of(redis: &RedisConfig) -> Self {
        Timing {
            connect: redis.connect_timeout,
            min_backoff: redis.min_backoff,
            max_backoff: redis.max_backoff,
        }
    }
}

/// How often a MONITOR's server is checked: a socket whose server died or froze may say
/// nothing, and MONITOR carries no heartbeat of its own.
const LIVENESS_CHECK: Duration = Duration::from_secs(1);

impl Reader {
    /// The `host:port` of the server MONITOR reads, as the node list has it.
    fn address(&self) -> String {
        self.at.as_deref().unwrap_or_default().to_owned()
    }

    /// Whether the server MONITOR reads is still the one to read: it answers a PING on
    /// the CLIENT LIST connection in time, and behind Sentinel, it is still the primary
    /// the sentinels name.
    async fn still_there(&mut self, server: &mut Server, timeout: Duration) -> Result<(), String> {
        let patience = timeout.min(Duration::from_secs(2));
        let cmd = redis::cmd("PING");
        let ping = cmd.query_async::<()>(&mut self.names.connection);
        match tokio::time::timeout(patience, ping).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(format!("PING failed: {error}")),
            Err(_) => {
                return Err(format!(
                    "no answer to PING within {} ms",
                    patience.as_millis()
                ));
            }
        }
        if matches!(server, Server::Primary(_)) {
            let named = server
                .client(patience)
                .await
                .map_err(|error| error.to_string())?;
            let named = named.get_connection_info().addr().to_string();
            if self.at.as_deref() != Some(named.as_str()) {
                return Err(format!("the sentinels name {named} as the primary now"));
            }
        }
        Ok(())
    }

    /// MONITOR again after its connection ended; behind Sentinel, on whatever server is
    /// the primary now, whose clients CLIENT LIST then names.
    async fn reopen(
        &mut self,
        server: &mut Server,
        timeout: Duration,
    ) -> Result<redis::aio::Monitor, DeepError> {
        let client = server.client(timeout).await?;
        let monitor = open(&client, timeout).await?;
        self.at = Some(client.get_connection_info().addr().to_string());
        if matches!(server, Server::Primary(_))
            && let Ok(Ok(names)) =
                tokio::time::timeout(timeout, client.get_multiplexed_async_connection()).await
        {
            self.names = Names::new(names);
        }
        Ok(monitor)
    }
}

/// The server one MONITOR reads: always the same, or the primary Sentinel names.
enum Server {
    Fixed(Box<redis::Client>),
    Primary(Box<redis::sentinel::SentinelClient>),
}

impl Server {
    fn new(redis: &RedisConfig) -> Result<Server, DeepError> {
        let connect = |error: &dyn std::fmt::Display| DeepError::Connect(error.to_string());
        match redis.endpoint().map_err(|error| connect(&error))? {
            Endpoint::Single(client) => Ok(Server::Fixed(Box::new(client))),
            Endpoint::Sentinel {
                sentinels,
                primary,
                node,
            } => sentinel_client(&sentinels, &primary, &node)
                .map(|client| Server::Primary(Box::new(client)))
                .map_err(|error| connect(&error)),
            Endpoint::Cluster(_) => Err(DeepError::Connect(
                "a cluster is read node by node".to_owned(),
            )),
        }
    }

    async fn client(&mut self, timeout: Duration) -> Result<redis::Client, DeepError> {
        match self {
            Server::Fixed(client) => Ok((**client).clone()),
            Server::Primary(sentinel) => {
                match tokio::time::timeout(timeout, sentinel.async_get_client()).await {
                    Ok(Ok(client)) => Ok(client),
                    Ok(Err(error)) => Err(DeepError::Connect(error.to_string())),
                    Err(_) => Err(DeepError::Connect(
                        "the sentinels did not name the primary in time".to_owned(),
                    )),
                }
            }
        }
    }
}

/// One fact waiting in the merge, ordered by Redis's timestamp, then by arrival.
struct Waiting {
    event: DeepEvent,
    order: u64,
}

impl PartialEq for Waiting {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for Waiting {}

impl PartialOrd for Waiting {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Waiting {
    // Reversed: the heap's top is the oldest.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (other.event.at, other.order).cmp(&(self.event.at, self.order))
    }
}

/// Hands on the facts of every node's MONITOR in the order of Redis's timestamps: each
/// waits [`MERGE_WINDOW`] for facts of other nodes that happened before it and arrive
/// later (each node's MONITOR is a socket of its own). The nodes' clocks are taken to
/// agree, as NTP keeps them.
async fn merge(
    mut input: mpsc::Receiver<DeepEvent>,
    output: mpsc::Sender<DeepEvent>,
    dropped: Arc<AtomicU64>,
) {
    let mut waiting = BinaryHeap::new();
    // The same facts by arrival, to find those whose window is over.
    let mut arrivals: std::collections::VecDeque<(Instant, (chrono::DateTime<chrono::Utc>, u64))> =
        std::collections::VecDeque::new();
    let mut order = 0u64;
    let mut open = true;
    while open || !waiting.is_empty() {
        let due = arrivals
            .front()
            .map(|(arrived, _)| tokio::time::Instant::from_std(*arrived + MERGE_WINDOW));
        tokio::select! {
            event = input.recv(), if open => match event {
                Some(event) => {
                    order += 1;
                    let arrived = Instant::now();
                    arrivals.push_back((arrived, (event.at, order)));
                    waiting.push(Waiting { event, order });
                }
                None => open = false,
            },
            () = async {
                match due {
                    Some(due) => tokio::time::sleep_until(due).await,
                    None => std::future::pending().await,
                }
            } => {}
        }
        // Everything that waited its window goes, and with it whatever is older.
        let mut newest_due = None;
        while let Some((arrived, key)) = arrivals.front().copied() {
            if open && arrived.elapsed() < MERGE_WINDOW {
                break;
            }
            arrivals.pop_front();
            newest_due = newest_due.max(Some(key));
        }
        let Some(newest_due) = newest_due else {
            continue;
        };
        while waiting
            .peek()
            .is_some_and(|top: &Waiting| (top.event.at, top.order) <= newest_due)
        {
            let Some(item) = waiting.pop() else { break };
            match output.try_send(item.event) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    dropped.fetch_add(1, Ordering::Relaxed);
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return,
            }
        }
    }
}

/// How often a cluster's node list is read again for nodes to monitor.
const NODE_CHECK: Duration = Duration::from_secs(10);

/// A reader for one node of a cluster (`None` when its address is not one to reach).
async fn node_reader(
    redis: &RedisConfig,
    nodes: &[Node],
    node: &Node,
    channels: &Channels,
    events: &mpsc::Sender<DeepEvent>,
    dropped: &Arc<AtomicU64>,
    lines: &Arc<AtomicU64>,
) -> Option<Result<(Reader, Server, redis::aio::Monitor, RedisConfig), DeepError>> {
    let config = redis.node(&node.address)?;
    // A replica runs what its primary sends it: those lines are the primary's, seen
    // once already.
    let replication = match node.role {
        Role::Replica => nodes
            .iter()
            .find(|primary| Some(&primary.id) == node.primary.as_ref())
            .map(|primary| Arc::from(primary.address.as_str())),
        Role::Primary => None,
    };
    Some(
        Reader::connect(
            &config,
            channels,
            replication,
            events.clone(),
            dropped,
            lines,
        )
        .await
        .map(|(reader, server, monitor)| (reader, server, monitor, config)),
    )
}

/// Keeps the cluster's readers, and every [`NODE_CHECK`] starts one on each node that
/// has joined since (scaled out, or back from a failure). Dropped, it stops them all.
async fn watch_nodes(
    redis: RedisConfig,
    channels: Channels,
    events: mpsc::Sender<DeepEvent>,
    (dropped, lines, count): (Arc<AtomicU64>, Arc<AtomicU64>, Arc<AtomicUsize>),
    (mut readers, mut watched): (JoinSet<()>, Vec<String>),
) {
    let Ok(commands) = Commands::connect(&redis).await else {
        // Without a node list, the readers started go on by themselves.
        std::future::pending::<()>().await;
        return;
    };
    let mut check = tokio::time::interval(NODE_CHECK);
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    check.tick().await;
    loop {
        tokio::select! {
            _ = check.tick() => {}
            Some(_) = readers.join_next() => continue,
        }
        let Ok(nodes) = commands.nodes().await else {
            continue;
        };
        for node in nodes.iter().filter(|node| !node.failed) {
            if watched.contains(&node.address) {
                continue;
            }
            match node_reader(&redis, &nodes, node, &channels, &events, &dropped, &lines).await {
                Some(Ok((reader, server, monitor, config))) => {
                    tracing::info!(node = %node.address, "deep capture: a new node monitored");
                    watched.push(node.address.clone());
                    readers.spawn(reader.run(server, Timing::of(&config), monitor));
                    count.fetch_add(1, Ordering::Relaxed);
                }
                Some(Err(error)) => {
                    tracing::debug!(%error, node = %node.address, "deep capture: node not monitored yet");
                }
                None => {}
            }
        }
    }
}

/// The Gilmour fact a MONITOR line states, if any.
pub fn fact_of(channels: &Channels, line: &MonitorLine) -> Option<(Arc<str>, Fact)> {
    let command = line.command();
    let text = |n: usize| line.arg(n);
    let fact = match command.as_str() {
        "PUBLISH" => {
            let channel = text(1)?;
            match channels.classify(&channel) {
                (ChannelKind::Request | ChannelKind::Health, _) => Fact::Request {
                    sender: Arc::from(crate::inspect::event::payload_sender(line.args.get(2)?)?),
                },
                (ChannelKind::Response, sender) if !sender.is_empty() => Fact::Reply {
                    sender: Arc::from(sender),
                },
                _ => return None,
            }
        }
        "SET" => {
            let options: Vec<String> = line
                .args
                .iter()
                .skip(3)
                .map(|arg| String::from_utf8_lossy(arg).to_ascii_uppercase())
                .collect();
            if !options.iter().any(|option| option == "NX") {
                return None;
            }
            let ttl = options
                .iter()
                .position(|option| option == "EX" || option == "PX")
                .and_then(|at| {
                    let value: u64 = options.get(at + 1)?.parse().ok()?;
                    Some(if options[at] == "PX" {
                        value / 1000
                    } else {
                        value
                    })
                });
            Fact::Lock {
                key: Arc::from(&*text(1)?),
                ttl,
            }
        }
        "PING" => Fact::Call {
            command: Arc::from("PING"),
            sender: None,
        },
        "PUBSUB" | "SUBSCRIBE" | "UNSUBSCRIBE" | "PSUBSCRIBE" | "PUNSUBSCRIBE" => {
            let at = if command == "PUBSUB" { 2 } else { 1 };
            let channel = text(at)?;
            let (kind, name) = channels.classify(&channel);
            if kind == ChannelKind::Other && !channel.starts_with(channels.prefix()) {
                return None;
            }
            let sender =
                (kind == ChannelKind::Response && !name.is_empty() && !name.ends_with('*'))
                    .then(|| Arc::from(name));
            let verb = if command == "PUBSUB" {
                format!("PUBSUB {}", text(1)?.to_ascii_uppercase())
            } else {
                command.clone()
            };
            Fact::Call {
                command: Arc::from(format!("{verb} {channel}")),
                sender,
            }
        }
        _ => return None,
    };
    Some((line.client.clone(), fact))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(line: &str) -> Option<Fact> {
        let line = monitor::parse(line.as_bytes()).expect("line");
        fact_of(&Channels::default(), &line).map(|(_, fact)| fact)
    }

    #[test]
    fn gilmour_commands_become_facts_and_the_rest_is_dropped() {
        assert_eq!(
            fact(
                r#"1.000000 [0 a:1] "PUBLISH" "gilmour.request.echo" "{\"data\":1,\"code\":200,\"sender\":\"s-1\"}""#
            ),
            Some(Fact::Request {
                sender: Arc::from("s-1")
            })
        );
        assert_eq!(
            fact(r#"1.000000 [0 a:1] "PUBLISH" "gilmour.response.s-1" "{\"data\":1}""#),
            Some(Fact::Reply {
                sender: Arc::from("s-1")
            })
        );
        assert_eq!(
            fact(r#"1.000000 [0 a:1] "SET" "s-1g" "s-1g" "NX" "EX" "600""#),
            Some(Fact::Lock {
                key: Arc::from("s-1g"),
                ttl: Some(600)
            })
        );
        assert_eq!(
            fact(r#"1.000000 [0 a:1] "set" "k" "v" "px" "5000" "nx""#),
            Some(Fact::Lock {
                key: Arc::from("k"),
                ttl: Some(5)
            })
        );
        assert_eq!(
            fact(r#"1.000000 [0 a:1] "SUBSCRIBE" "gilmour.response.go-1""#),
            Some(Fact::Call {
                command: Arc::from("SUBSCRIBE gilmour.response.go-1"),
                sender: Some(Arc::from("go-1"))
            })
        );
        assert_eq!(
            fact(r#"1.000000 [0 a:1] "PUBSUB" "numsub" "gilmour.request.echo""#),
            Some(Fact::Call {
                command: Arc::from("PUBSUB NUMSUB gilmour.request.echo"),
                sender: None
            })
        );
        for other in [
            r#"1.000000 [0 a:1] "SET" "k" "v""#,
            r#"1.000000 [0 a:1] "GET" "k""#,
            r#"1.000000 [0 a:1] "PUBLISH" "news" "x""#,
            r#"1.000000 [0 a:1] "PUBLISH" "gilmour.request.echo" "not json""#,
            r#"1.000000 [0 a:1] "SUBSCRIBE" "other.channel""#,
            r#"1.000000 [0 a:1] "PUBLISH""#,
        ] {
            assert_eq!(fact(other), None, "{other}");
        }
    }
}
