//! A small Redis stand-in: a RESP2 and RESP3 server on a loopback port with exactly what Gilmour
//! uses, so that `gilmour demo` works on a machine without Redis and other processes
//! (and other Gilmour libraries) can join it.
//!
//! ```text
//!   Broker::start ─▶ own thread, own runtime ─▶ accept ─▶ one task per connection
//!                                                         │
//!                        State (one lock): key space, clients, subscriptions, stats
//! ```
//!
//! It speaks: PING, AUTH, SELECT, HELLO (RESP2 and RESP3: maps, nulls, verbatim text,
//! pub/sub as pushes on a connection that runs other commands too), CLIENT SETNAME / GETNAME / SETINFO / ID /
//! KILL, QUIT, RESET, MONITOR; PUBLISH, SUBSCRIBE, PSUBSCRIBE (Redis glob patterns),
//! UNSUBSCRIBE, PUNSUBSCRIBE, PUBSUB CHANNELS / NUMSUB / NUMPAT; SET (NX, XX, EX, PX), GET,
//! DEL, EXISTS, TTL; LPUSH, LTRIM, LRANGE, LLEN, LREM, LINDEX; HSET, HDEL, HGETALL, HGET,
//! HKEYS, HLEN, HEXISTS; INFO, DBSIZE. Anything else gets Redis's unknown-command error.
//! Not there: persistence, replication, CLIENT PAUSE. No command of the set answers with
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
mod resp;

use clients::Clients;
use keyspace::Keyspace;
use std::collections::BTreeMap;
use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
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
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            output_limit: 32 * 1024 * 1024,
            password: None,
        }
    }
}

impl std::fmt::Debug for BrokerConfig {
    // The password never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerConfig")
            .field("output_limit", &self.output_limit)
            .field("password", &self.password.as_ref().map(|_| "(redacted)"))
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
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (stop, stopped) = oneshot::channel();
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new(addr.port(), &config)),
            next_id: AtomicU64::new(1),
        });
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

/// What every connection shares.
struct Shared {
    state: Mutex<State>,
    next_id: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves data that is still consistent enough to
        // serve: every command finishes its change before replying.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Everything the commands work on.
struct State {
    keys: Keyspace,
    clients: Clients,
    stats: Stats,
    clock: monitor::Clock,
    started: Instant,
    port: u16,
    output_limit: usize,
    password: Option<Vec<u8>>,
}

impl State {
    fn new(port: u16, config: &BrokerConfig) -> State {
        State {
            keys: Keyspace::default(),
            clients: Clients::default(),
            stats: Stats::default(),
            clock: monitor::Clock::default(),
            started: Instant::now(),
            port,
            output_limit: config.output_limit,
            password: config
                .password
                .as_ref()
                .map(|password| password.as_bytes().to_vec()),
        }
    }
}

/// Calls per command, for `INFO commandstats` (what `gilmour bench` reads).
#[derive(Debug, Default)]
struct Stats {
    commands: BTreeMap<String, Counts>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    calls: u64,
    failed: u64,
    rejected: u64,
}

impl Stats {
    fn called(&mut self, name: String, failed: bool) {
        let counts = self.commands.entry(name).or_default();
        counts.calls += 1;
        counts.failed += u64::from(failed);
    }

    fn rejected(&mut self, name: String) {
        self.commands.entry(name).or_default().rejected += 1;
    }

    fn iter(&self) -> impl Iterator<Item = (&String, &Counts)> {
        self.commands.iter()
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
            _ = sweep.tick() => shared.lock().keys.expire(Instant::now()),
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
