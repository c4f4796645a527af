//! Where the demo's Redis comes from, in order: the URL the user gave; a Redis already
//! answering on 127.0.0.1:6379; a private `redis-server` on a free port when one is
//! installed; else the built-in broker (with the `broker` feature). Whatever was chosen
//! is returned, so that the caller can say which (the TUI's header does).

#[cfg(feature = "broker")]
use crate::broker::Broker;
use std::fmt;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a Redis may take to answer the PING that looks for it.
const PROBE_TIMEOUT: Duration = Duration::from_millis(300);
/// How long a private redis-server may take to start.
const START_TIMEOUT: Duration = Duration::from_secs(5);

/// Where to look, besides a URL given by the user.
#[derive(Debug, Clone)]
pub struct Search {
    /// Where an already running Redis would answer (default 127.0.0.1:6379).
    pub local: SocketAddr,
    /// The redis-server program to start a private server with (default `redis-server`,
    /// looked up on `PATH`).
    pub redis_server: String,
}

impl Default for Search {
    fn default() -> Self {
        Search {
            local: SocketAddr::from(([127, 0, 0, 1], 6379)),
            redis_server: "redis-server".to_owned(),
        }
    }
}

/// The Redis the demo runs on. Dropping it stops a private server or the broker.
#[derive(Debug)]
pub enum RedisSource {
    /// The URL the user gave (`--redis` or `REDIS_URL`).
    Given(String),
    /// A Redis that was already answering at the local address.
    Running(String),
    /// A redis-server started for this process.
    Private(PrivateRedis),
    /// The built-in broker.
    #[cfg(feature = "broker")]
    Builtin(Broker),
}

impl RedisSource {
    /// The URL to connect to.
    pub fn url(&self) -> String {
        match self {
            RedisSource::Given(url) | RedisSource::Running(url) => url.clone(),
            RedisSource::Private(redis) => redis.url(),
            #[cfg(feature = "broker")]
            RedisSource::Builtin(broker) => broker.url(),
        }
    }

    /// What it is, in a few words.
    pub fn describe(&self) -> &'static str {
        match self {
            RedisSource::Given(_) => "the Redis given",
            RedisSource::Running(_) => "the Redis already running",
            RedisSource::Private(_) => "a private redis-server",
            #[cfg(feature = "broker")]
            RedisSource::Builtin(_) => "the built-in broker",
        }
    }
}

impl fmt::Display for RedisSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = crate::transport::redact_url(&self.url());
        write!(f, "{url} ({})", self.describe())
    }
}

/// Chooses the demo's Redis, looking in the usual places.
pub async fn find_redis(given: Option<&str>) -> io::Result<RedisSource> {
    find_redis_in(given, Search::default()).await
}

/// Chooses the demo's Redis, looking where `search` says. Fails only when even the
/// built-in broker cannot start (or, built without it, when no Redis was found).
pub async fn find_redis_in(given: Option<&str>, search: Search) -> io::Result<RedisSource> {
    if let Some(url) = given {
        return Ok(RedisSource::Given(url.to_owned()));
    }
    // The probes and the server start block: keep them off the async threads.
    tokio::task::spawn_blocking(move || {
        if answers_ping(search.local, PROBE_TIMEOUT) {
            return Ok(RedisSource::Running(format!("redis://{}", search.local)));
        }
        match PrivateRedis::start(&search.redis_server) {
            Ok(redis) => return Ok(RedisSource::Private(redis)),
            Err(error) => tracing::info!(%error, "no private redis-server"),
        }
        #[cfg(feature = "broker")]
        return Broker::start("127.0.0.1:0").map(RedisSource::Builtin);
        #[cfg(not(feature = "broker"))]
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "no Redis answers and no redis-server could be started (built without the broker)",
        ));
    })
    .await
    .map_err(io::Error::other)?
}

/// Whether a Redis at `addr` answers PING with PONG.
fn answers_ping(addr: SocketAddr, timeout: Duration) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, timeout) else {
        return false;
    };
    if stream.set_read_timeout(Some(timeout)).is_err() || stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).is_ok() && line.starts_with("+PONG")
}

/// A redis-server this process started. It stops when this is dropped, and also when
/// the process dies however it dies: a watchdog shell reads our end of a pipe and stops
/// the server when the pipe closes.
#[derive(Debug)]
pub struct PrivateRedis {
    port: u16,
    watchdog: Child,
}

impl PrivateRedis {
    /// Starts `program` on a free loopback port, without persistence, and waits until it
    /// answers.
    pub fn start(program: &str) -> io::Result<PrivateRedis> {
        let version = Command::new(program)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        if !version.success() {
            return Err(io::Error::other(format!("`{program} --version` failed")));
        }
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        // The program name travels as "$0" so that no quoting can go wrong.
        let script = "\"$0\" --port \"$1\" --bind 127.0.0.1 --save '' --appendonly no \
                      --daemonize no --loglevel warning & server=$!; \
                      cat >/dev/null; kill $server 2>/dev/null; wait $server";
        let watchdog = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(program)
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: Ctrl-C in our terminal must not stop the server
            // before the demo's services have shut down on it.
            .process_group(0)
            .spawn()?;
        let mut redis = PrivateRedis { port, watchdog };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + START_TIMEOUT;
        while !answers_ping(addr, PROBE_TIMEOUT) {
            if Instant::now() > deadline || matches!(redis.watchdog.try_wait(), Ok(Some(_))) {
                redis.halt();
                return Err(io::Error::other(format!(
                    "{program} did not answer on port {port} within {} s",
                    START_TIMEOUT.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(redis)
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn halt(&mut self) {
        // Closing the pipe makes the watchdog stop the server and wait for it.
        drop(self.watchdog.stdin.take());
        let _ = self.watchdog.wait();
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.halt();
    }
}
