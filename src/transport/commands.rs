//! The command connection: one multiplexed, pipelined socket shared by every task of a
//! process (no pool, no per-command PING), reconnected by redis-rs's connection manager;
//! on a cluster, redis-rs's cluster connection (one such socket per node); with
//! Sentinel, a socket to the primary that follows it across failovers
//! ([`super::connection`]).

use super::cluster::{self, Node};
use super::config::{ClusterPubSub, HOME_SLOT};
use super::config::{Endpoint, Topology, sentinel_client};
use super::connection::{self, Connection, SentinelLink};
use super::{RedisConfig, TransportError};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster_routing::{
    MultipleNodeRoutingInfo, Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr,
};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// How long a group lock lives; no implementation ever deletes one.
const LOCK_SECONDS: u64 = 600;
/// How often a command is tried when its connection turns out to be dead.
const ATTEMPTS: u32 = 3;
/// The error queue keeps this many records (`LTRIM 0 9999`).
const ERROR_QUEUE_LAST_INDEX: isize = 9999;

/// How many subscribers a `PUBLISH` reached, as far as Redis can tell.
///
/// One server counts every receiver (pattern subscribers included). A cluster node
/// counts only its own clients, though the message reaches every node's: there a count
/// of 0 says nothing, and a count above 0 is a lower bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receivers {
    count: usize,
    complete: bool,
}

impl Receivers {
    /// The receivers Redis counted (on a cluster, those of the node that took it).
    pub fn count(self) -> usize {
        self.count
    }

    /// Whether the count covers every receiver (false on a cluster).
    pub fn complete(self) -> bool {
        self.complete
    }

    /// Whether Redis says that nobody received it: a complete count of 0.
    pub fn nobody(self) -> bool {
        self.complete && self.count == 0
    }
}

impl fmt::Display for Receivers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.complete {
            write!(f, "{}", self.count)
        } else {
            write!(f, "{} on its cluster node", self.count)
        }
    }
}

/// A cluster's replicas, for what must be asked of every node: the redis crate's cluster
/// client connects to the primaries only, and its fan-out of `PUBSUB NUMSUB` reaches
/// only them, while a subscriber on a replica is as good as any.
struct Replicas {
    config: RedisConfig,
    /// The replicas' addresses from `CLUSTER NODES`, and when they were read.
    known: std::sync::Mutex<Option<(std::time::Instant, Vec<String>)>>,
    /// One multiplexed connection per replica, made on first use.
    connections: tokio::sync::Mutex<HashMap<String, redis::aio::MultiplexedConnection>>,
}

/// How long the replica list is kept before `CLUSTER NODES` is asked again.
const REPLICAS_KEPT: std::time::Duration = std::time::Duration::from_secs(5);

/// A cheap, cloneable handle on the command connection.
#[derive(Clone)]
pub struct Commands {
    connection: Connection,
    replicas: Option<Arc<Replicas>>,
    /// The `CLIENT SETNAME` name, if any, and whether the current socket has it: the
    /// manager reconnects on its own, and a new socket starts nameless.
    name: Option<Arc<str>>,
    named: Arc<AtomicBool>,
    /// On a cluster, where `PUBLISH` goes: the primary of [`HOME_SLOT`], or (`None`) the
    /// primary of the channel's slot.
    publish_to: Option<SingleNodeRoutingInfo>,
    /// When the crate's route to the home was last put to the test (see
    /// [`Self::check_home_route`]).
    home_route_checked: Arc<std::sync::Mutex<std::time::Instant>>,
}

/// How often the route to the home of pub/sub is checked.
const HOME_ROUTE_CHECK: std::time::Duration = std::time::Duration::from_secs(5);

impl Commands {
    /// Connects, failing when Redis cannot be reached within the connect timeout.
    pub async fn connect(config: &RedisConfig) -> Result<Self, TransportError> {
        let failed = |error: redis::RedisError| TransportError::Connect {
            url: config.display_url(),
            reason: error.to_string(),
        };
        let endpoint = config.endpoint()?;
        let connection = match &endpoint {
            Endpoint::Single(client) => {
                let manager_config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(config.connect_timeout))
                    .set_response_timeout(Some(config.command_timeout))
                    .set_min_delay(config.min_backoff)
                    .set_max_delay(config.max_backoff)
                    .set_number_of_retries(3);
                let manager = ConnectionManager::new_with_config(client.clone(), manager_config)
                    .await
                    .map_err(failed)?;
                Connection::Single(manager)
            }
            Endpoint::Cluster(nodes) => {
                let millis = |duration: std::time::Duration| {
                    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
                };
                let client = redis::cluster::ClusterClientBuilder::new(nodes.clone())
                    .connection_timeout(config.connect_timeout)
                    .response_timeout(config.command_timeout)
                    .min_retry_wait(millis(config.min_backoff))
                    .max_retry_wait(millis(config.max_backoff))
                    .retries(3)
                    .build()
                    .map_err(|error| TransportError::InvalidUrl {
                        url: config.display_url(),
                        error,
                    })?;
                let connect = client.get_async_connection();
                let cluster = tokio::time::timeout(config.connect_timeout, connect)
                    .await
                    .map_err(|_| TransportError::Connect {
                        url: config.display_url(),
                        reason: format!(
                            "no connection within {} ms",
                            config.connect_timeout.as_millis()
                        ),
                    })?
                    .map_err(failed)?;
                Connection::Cluster(cluster)
            }
            Endpoint::Sentinel {
                sentinels,
                primary,
                node,
            } => {
                let sentinel = sentinel_client(sentinels, primary, node).map_err(|error| {
                    TransportError::InvalidUrl {
                        url: config.display_url(),
                        error,
                    }
                })?;
                let link =
                    SentinelLink::new(sentinel, config.connect_timeout, config.command_timeout);
                link.get().await.map_err(failed)?;
                Connection::Sentinel(Arc::new(link))
            }
        };
        let replicas = matches!(connection, Connection::Cluster(_)).then(|| {
            Arc::new(Replicas {
                config: config.clone(),
                known: std::sync::Mutex::new(None),
                connections: tokio::sync::Mutex::new(HashMap::new()),
            })
        });
        let publish_to = (matches!(connection, Connection::Cluster(_))
            && config.cluster_pubsub == ClusterPubSub::Home)
            .then(|| SingleNodeRoutingInfo::SpecificNode(Route::new(HOME_SLOT, SlotAddr::Master)));
        let commands = Commands {
            connection,
            replicas,
            publish_to,
            home_route_checked: Arc::new(std::sync::Mutex::new(std::time::Instant::now())),
            name: config.client_name.as_deref().map(Arc::from),
            named: Arc::new(AtomicBool::new(false)),
        };
        // Named now, so that the first command sent is the caller's own.
        let _ = commands.connection().await;
        Ok(commands)
    }

    /// Which kind of deployment the connection is to.
    pub fn topology(&self) -> Topology {
        match self.connection {
            Connection::Single(_) => Topology::Single,
            Connection::Cluster(_) => Topology::Cluster,
            Connection::Sentinel(_) => Topology::Sentinel,
        }
    }

    /// The connection, named first if its socket is new.
    pub(super) async fn connection(&self) -> Connection {
        let mut connection = self.connection.clone();
        if let Some(name) = &self.name
            && !self.named.load(Ordering::Relaxed)
        {
            let named: redis::RedisResult<()> = redis::cmd("CLIENT")
                .arg("SETNAME")
                .arg(&**name)
                .query_async(&mut connection)
                .await;
            match named {
                Ok(()) => self.named.store(true, Ordering::Relaxed),
                Err(error) => tracing::debug!(%error, "CLIENT SETNAME failed"),
            }
        }
        connection
    }

    /// Notes that the socket may have been replaced, so the next command names it again.
    pub(super) fn dropped(&self, error: &redis::RedisError) {
        if connection::stale(error) {
            self.named.store(false, Ordering::Relaxed);
        }
    }

    /// Runs a command, retrying it on a fresh socket when the connection was found dead.
    /// Only for commands whose repetition is harmless.
    async fn run<T: redis::FromRedisValue>(
        &self,
        command: &'static str,
        cmd: &redis::Cmd,
    ) -> Result<T, TransportError> {
        self.attempt(command, cmd, ATTEMPTS).await
    }

    async fn attempt<T: redis::FromRedisValue>(
        &self,
        command: &'static str,
        cmd: &redis::Cmd,
        attempts: u32,
    ) -> Result<T, TransportError> {
        self.attempt_routed(command, cmd, attempts, None).await
    }

    /// A PUBLISH has no key, so a replica takes it without the MOVED that makes the
    /// crate read the slot map again: after a failover, the crate would go on sending
    /// PUBLISH to the old home, now a replica, and every message would cross the bus.
    /// Every [`HOME_ROUTE_CHECK`] a publishing handle sends, in the background, a read of
    /// a key of the home slot the same way, which a replica answers with MOVED.
    fn check_home_route(&self) {
        let Some(route) = &self.publish_to else {
            return;
        };
        {
            let mut checked = self
                .home_route_checked
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if checked.elapsed() < HOME_ROUTE_CHECK {
                return;
            }
            *checked = std::time::Instant::now();
        }
        let Connection::Cluster(mut cluster) = self.connection.clone() else {
            return;
        };
        let route = RoutingInfo::SingleNode(route.clone());
        tokio::spawn(async move {
            let mut cmd = redis::cmd("EXISTS");
            cmd.arg("gilmour");
            if let Err(error) = cluster.route_command(cmd, route).await {
                tracing::debug!(%error, "checking the route to the home of pub/sub");
            }
        });
    }

    /// [`Self::attempt`], sent on a cluster to the node `route` names.
    async fn attempt_routed<T: redis::FromRedisValue>(
        &self,
        command: &'static str,
        cmd: &redis::Cmd,
        attempts: u32,
        route: Option<&SingleNodeRoutingInfo>,
    ) -> Result<T, TransportError> {
        let mut attempt = 1;
        loop {
            let mut connection = self.connection().await;
            let result = match (&mut connection, route) {
                (Connection::Cluster(cluster), Some(route)) => cluster
                    .route_command(cmd.clone(), RoutingInfo::SingleNode(route.clone()))
                    .await
                    .and_then(|value| redis::from_redis_value(value).map_err(Into::into)),
                _ => cmd.query_async(&mut connection).await,
            };
            if let Err(error) = &result {
                self.dropped(error);
            }
            match result {
                Ok(value) => return Ok(value),
                // The first command on a socket that died fails and makes the manager
                // reconnect; the retry waits for the new socket. A timeout is not retried:
                // the command may have run. A replica's READONLY means it did not run
                // (a Sentinel primary demoted under us: the retry finds the new one).
                Err(error)
                    if attempt < attempts
                        && (((error.is_connection_dropped() || error.is_io_error())
                            && !error.is_timeout())
                            || connection::readonly(&error)) =>
                {
                    tracing::debug!(%error, command, "retrying on a fresh connection");
                    attempt += 1;
                }
                Err(error) => return Err(TransportError::Command { command, error }),
            }
        }
    }

    /// `PUBLISH`, tried once: returns how many subscribers received it (pattern
    /// subscribers included). A dead socket is an error rather than a retry, because the
    /// message may have gone out before the socket died and a request or signal must not
    /// be delivered twice.
    pub async fn publish(&self, channel: &str, payload: &str) -> Result<Receivers, TransportError> {
        self.check_home_route();
        let count = self
            .attempt_routed(
                "PUBLISH",
                redis::cmd("PUBLISH").arg(channel).arg(payload),
                1,
                self.publish_to.as_ref(),
            )
            .await?;
        Ok(self.receivers(count))
    }

    fn receivers(&self, count: usize) -> Receivers {
        Receivers {
            count,
            complete: self.topology() != Topology::Cluster,
        }
    }

    /// `PUBLISH` of a message whose duplicate does no harm (a reply: the first one wins;
    /// an error record), retried on a fresh socket when the connection was found dead.
    pub async fn publish_retrying(
        &self,
        channel: &str,
        payload: &str,
    ) -> Result<Receivers, TransportError> {
        self.check_home_route();
        let count = self
            .attempt_routed(
                "PUBLISH",
                redis::cmd("PUBLISH").arg(channel).arg(payload),
                ATTEMPTS,
                self.publish_to.as_ref(),
            )
            .await?;
        Ok(self.receivers(count))
    }

    /// Many `PUBLISH`es in one pipeline (one round trip), in order.
    pub async fn publish_all(&self, messages: &[(String, String)]) -> Result<(), TransportError> {
        if messages.is_empty() {
            return Ok(());
        }
        self.check_home_route();
        let mut pipeline = redis::pipe();
        for (channel, payload) in messages {
            pipeline.cmd("PUBLISH").arg(channel).arg(payload).ignore();
        }
        let mut connection = self.connection().await;
        if let Connection::Cluster(cluster) = &mut connection {
            // Channels are no keys to a node: any one takes them all, and the cluster
            // passes them on. Routed by the first channel, the others would be refused as
            // crossing slots.
            let count = messages.len();
            let route = self
                .publish_to
                .clone()
                .unwrap_or(SingleNodeRoutingInfo::Random);
            return cluster
                .route_pipeline(pipeline, 0, count, route)
                .await
                .map(drop)
                .map_err(|error| {
                    self.dropped(&error);
                    TransportError::Command {
                        command: "PUBLISH",
                        error,
                    }
                });
        }
        pipeline
            .query_async::<()>(&mut connection)
            .await
            .map_err(|error| {
                self.dropped(&error);
                TransportError::Command {
                    command: "PUBLISH",
                    error,
                }
            })
    }

    /// `PUBSUB NUMSUB` for one channel: exact subscribers only, patterns are not counted.
    pub async fn numsub(&self, channel: &str) -> Result<usize, TransportError> {
        let counts = self.numsub_many(&[channel]).await?;
        Ok(counts.first().map_or(0, |(_, count)| *count))
    }

    /// Whether some node has an exact subscriber to `channel` (`PUBSUB NUMSUB`). On a
    /// cluster the home of pub/sub ([`super::ClusterPubSub::Home`]), where every gilmour
    /// process subscribes, is asked first, alone; every node only when it has none.
    pub async fn subscribed(&self, channel: &str) -> Result<bool, TransportError> {
        if let Some(home) = &self.publish_to {
            let mut cmd = redis::cmd("PUBSUB");
            cmd.arg("NUMSUB").arg(channel);
            // The home out of reach, every node is asked.
            let counts: Result<HashMap<String, usize>, _> = self
                .attempt_routed("PUBSUB NUMSUB", &cmd, ATTEMPTS, Some(home))
                .await;
            if counts.is_ok_and(|counts| counts.get(channel).is_some_and(|count| *count > 0)) {
                return Ok(true);
            }
        }
        Ok(self.numsub(channel).await? > 0)
    }

    /// `PUBSUB NUMSUB` for several channels.
    pub async fn numsub_many(
        &self,
        channels: &[&str],
    ) -> Result<Vec<(String, usize)>, TransportError> {
        let mut cmd = redis::cmd("PUBSUB");
        cmd.arg("NUMSUB").arg(channels);
        // One server answers a flat list in the order asked; a cluster's answer is every
        // node's summed by the redis crate (queried in parallel over the nodes of its
        // cached slot map), as a map.
        let mut counts: HashMap<String, usize> = self.run("PUBSUB NUMSUB", &cmd).await?;
        if let Some(replicas) = &self.replicas {
            for (channel, count) in self.replica_numsub(replicas, &cmd).await? {
                *counts.entry(channel).or_insert(0) += count;
            }
        }
        Ok(channels
            .iter()
            .map(|channel| {
                let count = counts.get(*channel).copied().unwrap_or(0);
                ((*channel).to_owned(), count)
            })
            .collect())
    }

    /// `PUBSUB NUMSUB` on every replica of the cluster at once, summed. A replica that
    /// cannot be reached is left out (its subscribers have lost their link too).
    async fn replica_numsub(
        &self,
        replicas: &Replicas,
        cmd: &redis::Cmd,
    ) -> Result<Vec<(String, usize)>, TransportError> {
        let fresh = replicas
            .known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .filter(|(at, _)| at.elapsed() < REPLICAS_KEPT)
            .map(|(_, addresses)| addresses.clone());
        let addresses = match fresh {
            Some(addresses) => addresses,
            None => {
                let addresses: Vec<String> = self
                    .nodes()
                    .await?
                    .into_iter()
                    .filter(|node| node.role == cluster::Role::Replica && !node.failed)
                    .map(|node| node.address)
                    .collect();
                *replicas
                    .known
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) =
                    Some((std::time::Instant::now(), addresses.clone()));
                addresses
            }
        };
        let name = &self.name;
        let asks = addresses.iter().map(|address| async move {
            let connection = {
                let mut connections = replicas.connections.lock().await;
                match connections.get(address) {
                    Some(connection) => Some(connection.clone()),
                    None => {
                        let made = async {
                            let client = replicas.config.node(address)?.client().ok()?;
                            let config = redis::AsyncConnectionConfig::new()
                                .set_connection_timeout(Some(replicas.config.connect_timeout))
                                .set_response_timeout(Some(replicas.config.command_timeout));
                            let mut connection = client
                                .get_multiplexed_async_connection_with_config(&config)
                                .await
                                .ok()?;
                            // Named as the cluster client's sockets are, for MONITOR.
                            if let Some(name) = name {
                                let _: redis::RedisResult<()> = redis::cmd("CLIENT")
                                    .arg("SETNAME")
                                    .arg(&**name)
                                    .query_async(&mut connection)
                                    .await;
                            }
                            Some(connection)
                        }
                        .await;
                        if let Some(connection) = &made {
                            connections.insert(address.clone(), connection.clone());
                        }
                        made
                    }
                }
            };
            let mut connection = connection?;
            match cmd
                .query_async::<HashMap<String, usize>>(&mut connection)
                .await
            {
                Ok(counts) => Some(counts),
                Err(error) => {
                    tracing::debug!(%error, address, "NUMSUB on a replica failed");
                    replicas.connections.lock().await.remove(address);
                    None
                }
            }
        });
        Ok(futures_util::future::join_all(asks)
            .await
            .into_iter()
            .flatten()
            .flatten()
            .collect())
    }

    /// Whether anyone may receive what is published on `channel`: an exact subscriber or
    /// any pattern subscriber, on any node. For what a cluster's PUBLISH cannot count.
    pub async fn listened(&self, channel: &str) -> Result<bool, TransportError> {
        Ok(self.numsub(channel).await? > 0 || self.numpat().await? > 0)
    }

    /// The nodes of the cluster (`CLUSTER NODES`, asked of any node); none when the
    /// connection is not to a cluster.
    pub async fn nodes(&self) -> Result<Vec<Node>, TransportError> {
        if self.topology() != Topology::Cluster {
            return Ok(Vec::new());
        }
        Ok(cluster::parse_nodes(&self.cluster_nodes().await?))
    }

    /// The reply to `CLUSTER NODES`, from whichever node the crate asks.
    async fn cluster_nodes(&self) -> Result<String, TransportError> {
        self.run("CLUSTER NODES", redis::cmd("CLUSTER").arg("NODES"))
            .await
    }

    /// On a cluster whose pub/sub has a home ([`super::ClusterPubSub::Home`]), the
    /// address of the primary serving [`HOME_SLOT`]; `None` elsewhere.
    pub async fn home(&self) -> Result<Option<String>, TransportError> {
        if self.publish_to.is_none() {
            return Ok(None);
        }
        Ok(cluster::serving(&self.cluster_nodes().await?, HOME_SLOT))
    }

    /// A client for a connection of one's own to the server that holds `key` (for
    /// `WATCH`, whose state is a connection's): the one server, the primary of the key's
    /// slot on a cluster, the primary Sentinel names now.
    pub(super) async fn client_for(
        &self,
        config: &RedisConfig,
        key: &str,
    ) -> Result<redis::Client, TransportError> {
        match &self.connection {
            Connection::Single(_) => config.client(),
            Connection::Sentinel(link) => {
                link.client()
                    .await
                    .map_err(|error| TransportError::Connect {
                        url: config.display_url(),
                        reason: error.to_string(),
                    })
            }
            Connection::Cluster(_) => {
                let slot: u16 = self
                    .run(
                        "CLUSTER KEYSLOT",
                        redis::cmd("CLUSTER").arg("KEYSLOT").arg(key),
                    )
                    .await?;
                let text = self.cluster_nodes().await?;
                let no_primary = || TransportError::Connect {
                    url: config.display_url(),
                    reason: format!("no primary serves slot {slot} (the key {key})"),
                };
                let address = cluster::serving(&text, slot).ok_or_else(no_primary)?;
                config.node(&address).ok_or_else(no_primary)?.client()
            }
        }
    }

    /// `PUBSUB CHANNELS <pattern>`: the channels that have exact subscribers.
    pub async fn channels(&self, pattern: &str) -> Result<Vec<String>, TransportError> {
        let mut channels: Vec<String> = self
            .run(
                "PUBSUB CHANNELS",
                redis::cmd("PUBSUB").arg("CHANNELS").arg(pattern),
            )
            .await?;
        // A cluster's answer joins every node's.
        channels.sort_unstable();
        channels.dedup();
        Ok(channels)
    }

    /// Takes an exclusive-group lock: `SET <key> <key> NX EX 600`. True when this caller
    /// won it, false when another did.
    ///
    /// A SET NX whose reply was lost must not simply be sent again: the repeat gets nil
    /// whoever won, and every member would believe it lost. When the socket turns out to
    /// be dead (the first command after a Redis restart), `GET <key>` on a fresh socket
    /// tells whether the first try can have run: no key, and the SET is tried once more.
    /// An error means the outcome is unknown (a timeout, or a key that may be ours).
    pub async fn take_lock(&self, key: &str) -> Result<bool, TransportError> {
        let mut set = redis::cmd("SET");
        set.arg(key).arg(key).arg("NX").arg("EX").arg(LOCK_SECONDS);
        match self.attempt::<Option<String>>("SET", &set, 1).await {
            Ok(reply) => Ok(reply.is_some()),
            Err(TransportError::Command { command, error })
                if (error.is_connection_dropped() || error.is_io_error())
                    && !error.is_timeout() =>
            {
                let existing: Option<String> = self.run("GET", redis::cmd("GET").arg(key)).await?;
                if existing.is_some() {
                    return Err(TransportError::Command { command, error });
                }
                tracing::debug!(%error, "lock not taken before the socket died: trying again");
                let reply: Option<String> = self.attempt("SET", &set, 1).await?;
                Ok(reply.is_some())
            }
            Err(error) => Err(error),
        }
    }

    /// Queues an error record: `LPUSH <queue> <record>` then `LTRIM <queue> 0 9999`, in one
    /// round trip.
    pub async fn queue_error(&self, queue: &str, record: &str) -> Result<(), TransportError> {
        let mut pipeline = redis::pipe();
        pipeline
            .cmd("LPUSH")
            .arg(queue)
            .arg(record)
            .ignore()
            .cmd("LTRIM")
            .arg(queue)
            .arg(0)
            .arg(ERROR_QUEUE_LAST_INDEX)
            .ignore();
        let mut connection = self.connection().await;
        pipeline
            .query_async::<()>(&mut connection)
            .await
            .map_err(|error| {
                self.dropped(&error);
                TransportError::Command {
                    command: "LPUSH",
                    error,
                }
            })
    }

    /// `LRANGE <list> <start> <stop>`.
    pub async fn range(
        &self,
        list: &str,
        start: isize,
        stop: isize,
    ) -> Result<Vec<String>, TransportError> {
        self.run(
            "LRANGE",
            redis::cmd("LRANGE").arg(list).arg(start).arg(stop),
        )
        .await
    }

    /// `LLEN <list>`.
    pub async fn length(&self, list: &str) -> Result<usize, TransportError> {
        self.run("LLEN", redis::cmd("LLEN").arg(list)).await
    }

    /// `LREM <list> 1 <value>`: removes one entry; true when one was removed. Tried once:
    /// a repeat after a lost reply would remove a second, identical record.
    pub async fn remove_one(&self, list: &str, value: &str) -> Result<bool, TransportError> {
        let removed: usize = self
            .attempt("LREM", redis::cmd("LREM").arg(list).arg(1).arg(value), 1)
            .await?;
        Ok(removed > 0)
    }

    /// `LTRIM <list> <start> <stop>`.
    pub async fn trim(&self, list: &str, start: isize, stop: isize) -> Result<(), TransportError> {
        self.run("LTRIM", redis::cmd("LTRIM").arg(list).arg(start).arg(stop))
            .await
    }

    /// `HSET <hash> <field> <value>`.
    pub async fn hash_set(
        &self,
        hash: &str,
        field: &str,
        value: &str,
    ) -> Result<(), TransportError> {
        self.run::<usize>("HSET", redis::cmd("HSET").arg(hash).arg(field).arg(value))
            .await
            .map(drop)
    }

    /// `HDEL <hash> <field>`.
    pub async fn hash_delete(&self, hash: &str, field: &str) -> Result<(), TransportError> {
        self.run::<usize>("HDEL", redis::cmd("HDEL").arg(hash).arg(field))
            .await
            .map(drop)
    }

    /// `HGETALL <hash>`.
    pub async fn hash_all(&self, hash: &str) -> Result<HashMap<String, String>, TransportError> {
        self.run("HGETALL", redis::cmd("HGETALL").arg(hash)).await
    }

    /// `INFO <section>`. On a cluster, every primary's, one after another, each under a
    /// `# node <address>` line.
    pub async fn info(&self, section: &str) -> Result<String, TransportError> {
        let mut cmd = redis::cmd("INFO");
        cmd.arg(section);
        let mut connection = self.connection().await;
        let Connection::Cluster(cluster) = &mut connection else {
            return self.run("INFO", &cmd).await;
        };
        let routing = RoutingInfo::MultiNode((MultipleNodeRoutingInfo::AllMasters, None));
        let value = cluster.route_command(cmd, routing).await.map_err(|error| {
            self.dropped(&error);
            TransportError::Command {
                command: "INFO",
                error,
            }
        })?;
        let mut per_node: Vec<(String, String)> =
            redis::from_redis_value(value).map_err(|error| TransportError::Command {
                command: "INFO",
                error: error.into(),
            })?;
        per_node.sort();
        Ok(per_node
            .into_iter()
            .map(|(node, text)| format!("# node {node}\r\n{text}"))
            .collect())
    }

    /// `LLEN` and `LRANGE <list> <start> <stop>` in one round trip: a page and the
    /// length of the list it was cut from. Pipelined, not a `MULTI`: the built-in broker
    /// has no transactions, and a record pushed in between only makes the length one
    /// ahead of the page.
    pub async fn page(
        &self,
        list: &str,
        start: isize,
        stop: isize,
    ) -> Result<(usize, Vec<String>), TransportError> {
        let mut pipeline = redis::pipe();
        pipeline
            .cmd("LLEN")
            .arg(list)
            .cmd("LRANGE")
            .arg(list)
            .arg(start)
            .arg(stop);
        self.transaction("LRANGE", &pipeline).await
    }

    /// `LINDEX <list> <index>`.
    pub async fn index(&self, list: &str, index: isize) -> Result<Option<String>, TransportError> {
        self.run("LINDEX", redis::cmd("LINDEX").arg(list).arg(index))
            .await
    }

    /// `PUBSUB NUMPAT`: how many pattern subscriptions there are (inspectors included;
    /// on a cluster, summed over every node).
    pub async fn numpat(&self) -> Result<usize, TransportError> {
        self.run("PUBSUB NUMPAT", redis::cmd("PUBSUB").arg("NUMPAT"))
            .await
    }

    /// A pipeline, sent once.
    async fn transaction<T: redis::FromRedisValue>(
        &self,
        command: &'static str,
        pipeline: &redis::Pipeline,
    ) -> Result<T, TransportError> {
        let mut connection = self.connection().await;
        pipeline
            .query_async(&mut connection)
            .await
            .map_err(|error| {
                self.dropped(&error);
                TransportError::Command { command, error }
            })
    }

    /// `PING`, for callers that want to know the link works.
    pub async fn ping(&self) -> Result<(), TransportError> {
        self.run::<String>("PING", &redis::cmd("PING"))
            .await
            .map(drop)
    }
}
