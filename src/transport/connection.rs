//! The command connection in each kind of deployment, behind one type the rest of the
//! transport sends commands on.
//!
//! - one server: redis-rs's `ConnectionManager` (multiplexed, reconnects by itself);
//! - a cluster: redis-rs's cluster connection (slot map, MOVED/ASK, reconnects; a
//!   command without a key goes where the crate routes it: `PUBSUB NUMSUB` to every
//!   node in parallel, summed);
//! - Sentinel: a multiplexed connection to the primary Sentinel names, replaced by a new
//!   one to whatever primary Sentinel names then as soon as it fails or finds itself on a
//!   replica (`READONLY`): the crate's connection manager would reconnect to the old
//!   address.

use redis::aio::{ConnectionLike, ConnectionManager, MultiplexedConnection};
use redis::cluster_async::ClusterConnection;
use redis::sentinel::SentinelClient;
use redis::{Cmd, Pipeline, RedisError, RedisFuture, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A handle on the command connection, cheap to clone.
#[derive(Clone)]
pub(crate) enum Connection {
    /// One server.
    Single(ConnectionManager),
    /// A cluster.
    Cluster(ClusterConnection),
    /// The primary Sentinel names.
    Sentinel(Arc<SentinelLink>),
}

/// The connection to the primary of a Sentinel-watched set, found again after a failover.
pub(crate) struct SentinelLink {
    sentinel: tokio::sync::Mutex<SentinelClient>,
    current: Mutex<Option<MultiplexedConnection>>,
    config: redis::AsyncConnectionConfig,
    connect_timeout: Duration,
}

impl SentinelLink {
    /// A link that connects on first use.
    pub(crate) fn new(
        sentinel: SentinelClient,
        connect_timeout: Duration,
        response_timeout: Duration,
    ) -> Self {
        SentinelLink {
            sentinel: tokio::sync::Mutex::new(sentinel),
            current: Mutex::new(None),
            config: redis::AsyncConnectionConfig::new()
                .set_connection_timeout(Some(connect_timeout))
                .set_response_timeout(Some(response_timeout)),
            connect_timeout,
        }
    }

    /// A client for the primary Sentinel names now, for a connection of one's own.
    pub(crate) async fn client(&self) -> redis::RedisResult<redis::Client> {
        let mut sentinel = self.sentinel.lock().await;
        tokio::time::timeout(self.connect_timeout, sentinel.async_get_client())
            .await
            .map_err(|_| {
                RedisError::from((redis::ErrorKind::Io, "no answer from the sentinels in time"))
            })?
    }

    /// The connection to the primary, asking the sentinels where it is when there is none.
    pub(crate) async fn get(&self) -> redis::RedisResult<MultiplexedConnection> {
        if let Some(connection) = self.lock().clone() {
            return Ok(connection);
        }
        let mut sentinel = self.sentinel.lock().await;
        // Another task may have connected while this one waited.
        if let Some(connection) = self.lock().clone() {
            return Ok(connection);
        }
        let connect = async {
            let client = sentinel.async_get_client().await?;
            client
                .get_multiplexed_async_connection_with_config(&self.config)
                .await
        };
        let connection = tokio::time::timeout(self.connect_timeout, connect)
            .await
            .map_err(|_| {
                RedisError::from((redis::ErrorKind::Io, "no connection to the primary in time"))
            })??;
        *self.lock() = Some(connection.clone());
        Ok(connection)
    }

    /// Drops the connection after an error that says it is dead or on a replica.
    fn check<T>(&self, result: &redis::RedisResult<T>) {
        if let Err(error) = result
            && stale(error)
        {
            self.lock().take();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<MultiplexedConnection>> {
        self.current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Whether an error means the connection is to be given up: it died, timed out, or
/// reached a server that is no longer the primary.
pub(crate) fn stale(error: &RedisError) -> bool {
    error.is_connection_dropped()
        || error.is_io_error()
        || error.is_timeout()
        || error.is_connection_refusal()
        || readonly(error)
}

/// A write refused by a replica: the command did not run, so trying it again elsewhere is
/// safe.
pub(crate) fn readonly(error: &RedisError) -> bool {
    error.code() == Some("READONLY")
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Single(connection) => connection.req_packed_command(cmd),
            Connection::Cluster(connection) => connection.req_packed_command(cmd),
            Connection::Sentinel(link) => Box::pin(async move {
                let mut connection = link.get().await?;
                let result = connection.req_packed_command(cmd).await;
                link.check(&result);
                result
            }),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Single(connection) => {
                connection.req_packed_commands(pipeline, offset, count)
            }
            Connection::Cluster(connection) => {
                connection.req_packed_commands(pipeline, offset, count)
            }
            Connection::Sentinel(link) => Box::pin(async move {
                let mut connection = link.get().await?;
                let result = connection
                    .req_packed_commands(pipeline, offset, count)
                    .await;
                link.check(&result);
                result
            }),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Single(connection) => connection.get_db(),
            Connection::Cluster(connection) => connection.get_db(),
            Connection::Sentinel(_) => 0,
        }
    }
}
