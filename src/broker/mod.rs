//! A small Redis stand-in: a RESP2 and RESP3 server on a loopback port with exactly what Gilmour
//! uses, so that `gilmour demo` works on a machine without Redis and other processes
//! (and other Gilmour libraries) can join it.
//!
//! ```text
//!   Broker::start ─▶ own thread, own runtime (1 or `threads` workers) ─▶ accept ─▶ one task per connection
//!                                                         │
//!        Shared: key space │ registry (read by PUBLISH) │ clients │ stats │ monitor clock
//!                each behind a lock of its own, taken by the commands that need it
//! ```
//!
//! It speaks: PING, AUTH, SELECT, HELLO (RESP2 and RESP3: maps, nulls, verbatim text,
//! pub/sub as pushes on a connection that runs other commands too), CLIENT SETNAME / GETNAME / SETINFO / ID /
//! KILL, QUIT, RESET, MONITOR; PUBLISH, SUBSCRIBE, PSUBSCRIBE (Redis glob patterns),
//! UNSUBSCRIBE, PUNSUBSCRIBE, PUBSUB CHANNELS / NUMSUB / NUMPAT; SET (NX, XX, EX, PX), GET,
//! DEL, EXISTS, TTL; LPUSH, LTRIM, LRANGE, LLEN, LREM, LINDEX; HSET, HDEL, HGETALL, HGET,
//! HKEYS, HLEN, HEXISTS; INFO, DBSIZE. Anything else gets Redis's unknown-command error.
//! Not there: persistence, replication, CLIENT PAUSE, scripts (EVAL, EVALSHA),
//! transactions (WATCH, MULTI, EXEC) and LPOS; the transport's list trim, which would use
//! them, reads and cuts instead (`transport::lists`). No command of the set answers with
//! a RESP3 double or set in Redis 7.0, so neither does the broker.
//!
//! The broker runs on a thread of its own so that it outlives whichever runtime started
//! it (test harnesses start one per test) and keeps serving while the caller is busy.
//! This module imports nothing else of the crate.

mod clients;
mod commands;
mod connection;
mod glob;
mod keyspace;
mod monitor;
mod registry;
mod resp;

use clients::Clients;
use keyspace::Keyspace;
use registry::Registry;
use std::collections::BTreeMap;
use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// The Redis version the broker answers as (HELLO, INFO): the oldest whose replies it
/// copies.
pub const REDIS_VERSION: &str = "7.0.0";

/// How many connections may wait to be accepted: Redis's `tcp-backlog` default. Std's
/// `TcpListener::bind` asks for 128, and a burst of a thousand clients then waits a
/// second for SYN retransmits.
const BACKLOG: i32 = 511;

/// How often keys past their deadline are swept away.
const SWEEP_INTERVAL: Duration = Duration::from_millis(100);

/// How a broker behaves.
#[derive(Clone, PartialEq, Eq)]
pub struct BrokerConfig {
    /// A subscriber or monitor whose unsent messages or lines would exceed this many bytes
    /// is disconnected (Redis's `client-output-buffer-limit pubsub` hard limit; default
    /// 32 MiB). Redis leaves monitors unbounded; the broker does not.
    pub output_limit: usize,
    /// The password of the `default` user, as Redis's `requirepass`: when set, a client
    /// must AUTH (or HELLO … AUTH) before anything else. `None`: no password (default).
    pub password: Option<String>,
    /// How many threads serve connections: 1 (the default) runs everything on the
    /// broker's own thread, as Redis does; more let publishers on different
    /// connections fan out at the same time.
    pub threads: usize,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            output_limit: 32 * 1024 * 1024,
            password: None,
            threads: 1,
        }
    }
}

impl std::fmt::Debug for BrokerConfig {
    // The password never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerConfig")
            .field("output_limit", &self.output_limit)
            .field("password", &self.password.as_ref().map(|_| "(redacted)"))
            .field("threads", &self.threads)
            .finish()
    }
}

/// A running broker. Dropping it (or [`Broker::stop`]) stops it and closes every
/// connection.
#[derive(Debug)]
pub struct Broker {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Broker {
    /// Starts a broker listening on `addr` (port 0 picks a free port) with the default
    /// configuration.
    pub fn start(addr: impl ToSocketAddrs) -> io::Result<Broker> {
        Broker::start_with(addr, BrokerConfig::default())
    }

    /// Starts a broker with the given configuration.
    pub fn start_with(addr: impl ToSocketAddrs, config: BrokerConfig) -> io::Result<Broker> {
        let listener = listen(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = if config.threads > 1 {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(config.threads)
                .thread_name(format!("gilmour-broker-{}", addr.port()))
                .enable_all()
                .build()?
        } else {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
        };
        let (stop, stopped) = oneshot::channel();
        let shared = Arc::new(Shared::new(addr.port(), &config));
        let thread = std::thread::Builder::new()
            .name(format!("gilmour-broker-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => run(shared, listener, stopped).await,
                        Err(error) => tracing::error!(%error, "the broker cannot listen"),
                    }
                });
                // Dropping the runtime ends every connection task: their sockets close.
                drop(runtime);
            })?;
        Ok(Broker {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The URL clients connect to.
    pub fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    /// Stops listening, closes every connection and waits for the broker's thread.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            // A panic on the broker's thread has already been reported by the hook.
            let _ = thread.join();
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// Listens on the first of the addresses that can be bound, as `TcpListener::bind`
/// does, but with [`BACKLOG`].
fn listen(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
    let mut last = None;
    for addr in addr.to_socket_addrs()? {
        match listen_on(addr) {
            Ok(listener) => return Ok(listener),
            Err(error) => last = Some(error),
        }
    }
    Err(last
        .unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to listen on")))
}

fn listen_on(addr: SocketAddr) -> io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // As std and Redis: a restarted broker may bind its port while old connections
    // linger in TIME_WAIT. It never lets two listeners share a port.
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// What every connection shares. Each part has its own lock, so that a command waits
/// only for those that touch what it touches: PUBLISH reads the registry while other
/// clients' SETs hold the key space. Where one command takes two, the clients come
/// before the registry, and the monitor clock before the registry.
struct Shared {
    keys: Mutex<Keyspace>,
    registry: RwLock<Registry>,
    clients: Mutex<Clients>,
    stats: Mutex<Stats>,
    clock: Mutex<monitor::Clock>,
    next_id: AtomicU64,
    started: Instant,
    port: u16,
    output_limit: usize,
    password: Option<Vec<u8>>,
}

impl Shared {
    fn new(port: u16, config: &BrokerConfig) -> Shared {
        Shared {
            keys: Mutex::default(),
            registry: RwLock::default(),
            clients: Mutex::default(),
            stats: Mutex::default(),
            clock: Mutex::default(),
            next_id: AtomicU64::new(1),
            started: Instant::now(),
            port,
            output_limit: config.output_limit,
            password: config
                .password
                .as_ref()
                .map(|password| password.as_bytes().to_vec()),
        }
    }

    fn keys(&self) -> MutexGuard<'_, Keyspace> {
        lock(&self.keys)
    }

    fn clients(&self) -> MutexGuard<'_, Clients> {
        lock(&self.clients)
    }

    fn registry(&self) -> RwLockReadGuard<'_, Registry> {
        self.registry
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn registry_mut(&self) -> RwLockWriteGuard<'_, Registry> {
        self.registry
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn stats(&self) -> MutexGuard<'_, Stats> {
        lock(&self.stats)
    }

    /// Forgets a client that left or was killed: its entry and its subscriptions.
    fn forget(&self, id: clients::ClientId) {
        self.clients().remove(id);
        self.registry_mut().remove(id);
    }
}

/// Takes a lock. A panic while holding one leaves data that is still consistent enough
/// to serve: every command finishes its change before replying.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Calls per command, for `INFO commandstats` (what `gilmour bench` reads), by command
/// and subcommand name (`""` for none): counting allocates nothing once a command has
/// been seen.
#[derive(Debug, Default)]
struct Stats {
    commands: BTreeMap<(&'static str, &'static str), Counts>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    calls: u64,
    failed: u64,
    rejected: u64,
}

impl Stats {
    fn called(&mut self, name: (&'static str, &'static str), failed: bool) {
        let counts = self.commands.entry(name).or_default();
        counts.calls += 1;
        counts.failed += u64::from(failed);
    }

    fn rejected(&mut self, name: (&'static str, &'static str)) {
        self.commands.entry(name).or_default().rejected += 1;
    }

    /// Every command seen, by its name as INFO writes it (`client|setname`), in
    /// Redis's order: by that name.
    fn iter(&self) -> impl Iterator<Item = (String, &Counts)> {
        self.commands.iter().map(|((name, sub), counts)| {
            let name = if sub.is_empty() {
                (*name).to_owned()
            } else {
                format!("{name}|{sub}")
            };
            (name, counts)
        })
    }
}

async fn run(
    shared: Arc<Shared>,
    listener: tokio::net::TcpListener,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut sweep = tokio::time::interval(SWEEP_INTERVAL);
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            _ = sweep.tick() => shared.keys().expire(Instant::now()),
            accepted = listener.accept() => match accepted {
                Ok((stream, addr)) => {
                    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(connection::serve(shared.clone(), stream, addr, id));
                }
                Err(error) => {
                    // Out of file descriptors and the like: wait a little and go on.
                    tracing::warn!(%error, "the broker could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
}
