//! Test support: the server a test talks to, started for the test run and gone when the
//! test process exits (never the shared instance on 6379). There are two backends: a
//! private redis-server on a free loopback port, and the crate's built-in broker. Tests
//! written once as `async fn NAME(backend: Backend)` run on both through
//! [`on_both_backends!`], so the broker cannot drift from Redis.
// Each test binary uses its own part of this module.
#![allow(dead_code, unused_imports, unused_macros)]

pub mod cluster;
pub mod compose;
pub mod engine;
pub mod http;
pub mod process;
pub mod prometheus;
mod proxy;
mod raw;
pub mod sentinel;
pub mod traffic;
pub mod watch;

pub use proxy::Proxy;
pub use raw::{RawConnection, request};

use gilmour::broker::Broker;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Which server a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A real redis-server.
    Redis,
    /// The built-in broker (`gilmour::broker`).
    Broker,
}

/// Runs each listed `async fn NAME(backend: Backend)` of the calling file as two tests,
/// `redis::NAME` and `broker::NAME`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::Backend::Redis).await
                }
            )*
        }
        mod broker {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::Backend::Broker).await
                }
            )*
        }
    };
}
pub(crate) use on_both_backends;

enum Process {
    /// The watchdog shell and the pid of the redis-server it started.
    Redis(Child, u32),
    Broker(Broker),
    Stopped,
}

/// A server owned by this test process.
pub struct Server {
    backend: Backend,
    port: u16,
    process: Mutex<Process>,
    /// Extra redis-server arguments (passwords, TLS files), kept for restarts.
    extra: Vec<String>,
    tls: bool,
}

impl Server {
    /// Starts a new server on a free port. It is stopped when dropped, and also when the
    /// test process dies (a redis-server's watchdog reads our pipe and stops the server on
    /// EOF; the broker is a thread of this process).
    pub fn start(backend: Backend) -> Server {
        Server::launch_with(backend, Vec::new(), false)
    }

    /// Starts a redis-server with extra arguments (a password, say).
    pub fn start_with(extra: &[&str]) -> Server {
        let extra = extra.iter().map(|arg| (*arg).to_owned()).collect();
        Server::launch_with(Backend::Redis, extra, false)
    }

    /// Starts a redis-server that speaks only TLS, with the given PEM files. Its `url()`
    /// is `rediss://`; `command()` is not available on it.
    pub fn start_tls(cert: &str, key: &str, ca: &str) -> Server {
        let extra = [
            "--tls-cert-file",
            cert,
            "--tls-key-file",
            key,
            "--tls-ca-cert-file",
            ca,
            "--tls-auth-clients",
            "no",
        ]
        .iter()
        .map(|arg| (*arg).to_owned())
        .collect();
        Server::launch_with(Backend::Redis, extra, true)
    }

    /// Starts the server on a free port. A free port can be taken by another test between
    /// finding it and binding it, so a redis-server that fails to start (or a port that
    /// turns out to answer for another server) is retried on a new port; the broker binds
    /// port 0 itself and cannot race.
    fn launch_with(backend: Backend, extra: Vec<String>, tls: bool) -> Server {
        for _ in 0..5 {
            let (port, process) = match backend {
                Backend::Broker => {
                    let broker = Broker::start(("127.0.0.1", 0)).expect("start the broker");
                    (broker.port(), Process::Broker(broker))
                }
                Backend::Redis => {
                    let port = free_port();
                    (port, launch(backend, port, &extra, tls))
                }
            };
            let server = Server {
                backend,
                port,
                process: Mutex::new(process),
                extra: extra.clone(),
                tls,
            };
            if server.wait_ready() {
                return server;
            }
        }
        panic!("{backend:?} server did not start on any of 5 free ports");
    }

    /// Starts a redis-server on the given port with extra arguments (a cluster node, a
    /// replica); `None` when it does not come up there (the port was taken meanwhile).
    pub fn start_on(port: u16, extra: &[String]) -> Option<Server> {
        let server = Server {
            backend: Backend::Redis,
            port,
            process: Mutex::new(launch(Backend::Redis, port, extra, false)),
            extra: extra.to_vec(),
            tls: false,
        };
        server.wait_ready().then_some(server)
    }

    /// The pid of the redis-server.
    pub fn pid(&self) -> Option<u32> {
        self.redis_pid()
    }

    /// One server per backend shared by all the tests of this test binary; each test uses
    /// its own topic names.
    pub fn shared(backend: Backend) -> &'static Server {
        static REDIS: OnceLock<Server> = OnceLock::new();
        static BROKER: OnceLock<Server> = OnceLock::new();
        let cell = match backend {
            Backend::Redis => &REDIS,
            Backend::Broker => &BROKER,
        };
        cell.get_or_init(|| Server::start(backend))
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The server's URL.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "rediss" } else { "redis" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server and starts a new one on the same port (a Redis restart).
    pub fn restart(&self) {
        let mut process = self.process.lock().expect("server lock");
        halt(&mut process);
        *process = launch(self.backend, self.port, &self.extra, self.tls);
        drop(process);
        assert!(
            self.wait_ready(),
            "the server did not come back on port {}",
            self.port
        );
    }

    /// Freezes the redis-server with SIGSTOP: its sockets stay open and it answers nothing,
    /// as a hung server does. It resumes when the guard drops, a failing test included
    /// (and the watchdog resumes it before stopping it, should the test process die).
    pub fn freeze(&self) -> Frozen<'_> {
        let pid = self.redis_pid().expect("only a redis-server can be frozen");
        signal(pid, "-STOP");
        Frozen {
            pid,
            _server: std::marker::PhantomData,
        }
    }

    /// Kills the redis-server with SIGKILL, as a crash would, and reaps it.
    pub fn kill(&self) {
        if let Some(pid) = self.redis_pid() {
            signal(pid, "-KILL");
        }
        self.stop();
    }

    /// Stops the server (it can be started again with `restart`).
    pub fn stop(&self) {
        halt(&mut self.process.lock().expect("server lock"));
    }

    /// Runs one command over a raw RESP connection and returns the reply line(s) as text.
    pub fn command(&self, args: &[&str]) -> String {
        command_at(self.port, args)
    }

    /// Publishes raw bytes (a channel name that is not UTF-8, a payload that is not
    /// text); the number of receivers.
    pub fn publish_bytes(&self, channel: &[u8], payload: &[u8]) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to server");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut out = b"*3\r\n$7\r\nPUBLISH\r\n".to_vec();
        for arg in [channel, payload] {
            out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            out.extend_from_slice(arg);
            out.extend_from_slice(b"\r\n");
        }
        stream.write_all(&out).expect("write");
        read_reply(&mut BufReader::new(stream))
    }

    /// Waits until the server answers on its port and is ours; false when it died or the
    /// port answers for someone else.
    fn wait_ready(&self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            match &mut *self.process.lock().expect("server lock") {
                Process::Broker(_) => return true,
                Process::Stopped => return false,
                Process::Redis(child, _) => {
                    if !matches!(child.try_wait(), Ok(None)) {
                        return false;
                    }
                }
            }
            if self.tls {
                // Listening is all a plain socket can tell about a TLS server; a live
                // process that bound the port is the rest.
                if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                    return self.still_running();
                }
            } else if let Some(answer) = self.ask(b"INFO server\r\n") {
                if answer.starts_with("-NOAUTH") {
                    return self.still_running();
                }
                let pid = answer
                    .lines()
                    .find_map(|line| line.strip_prefix("process_id:"))
                    .and_then(|pid| pid.trim().parse::<u32>().ok());
                return pid == self.redis_pid();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn still_running(&self) -> bool {
        // Give a server that failed to bind the moment it needs to exit.
        std::thread::sleep(Duration::from_millis(100));
        match &mut *self.process.lock().expect("server lock") {
            Process::Redis(child, _) => matches!(child.try_wait(), Ok(None)),
            Process::Broker(_) => true,
            Process::Stopped => false,
        }
    }

    fn redis_pid(&self) -> Option<u32> {
        match &*self.process.lock().expect("server lock") {
            Process::Redis(_, pid) => Some(*pid),
            _ => None,
        }
    }

    /// Sends an inline command and reads one reply (a bulk reply whole).
    fn ask(&self, command: &[u8]) -> Option<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
        stream.write_all(command).ok()?;
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        if let Some(length) = line.strip_prefix('$') {
            let length: usize = length.trim().parse().ok()?;
            let mut body = vec![0; length];
            std::io::Read::read_exact(&mut reader, &mut body).ok()?;
            return Some(String::from_utf8_lossy(&body).into_owned());
        }
        Some(line)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(mut process) = self.process.lock() {
            halt(&mut process);
        }
    }
}

/// A frozen redis-server, resumed when dropped.
pub struct Frozen<'a> {
    pid: u32,
    _server: std::marker::PhantomData<&'a Server>,
}

impl Frozen<'_> {
    /// Resumes the server now.
    pub fn thaw(self) {}
}

impl Drop for Frozen<'_> {
    fn drop(&mut self) {
        signal(self.pid, "-CONT");
    }
}

fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill {signal} {pid} failed");
}

fn launch(backend: Backend, port: u16, extra: &[String], tls: bool) -> Process {
    match backend {
        Backend::Redis => {
            let (child, pid) = spawn(port, extra, tls);
            Process::Redis(child, pid)
        }
        Backend::Broker => {
            Process::Broker(Broker::start(("127.0.0.1", port)).expect("start the broker"))
        }
    }
}

fn halt(process: &mut Process) {
    match std::mem::replace(process, Process::Stopped) {
        Process::Redis(mut child, _) => stop(&mut child),
        Process::Broker(broker) => broker.stop(),
        Process::Stopped => {}
    }
}

/// Runs one command over a raw RESP connection to a loopback port; the reply as text
/// (arrays flattened, one element a line). Panics when nothing answers there.
pub fn command_at(port: u16, args: &[&str]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to server");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    stream.write_all(&resp(args)).expect("write");
    let mut reader = BufReader::new(stream);
    read_reply(&mut reader)
}

/// The same, or `None` when nothing answers on the port (a server that was stopped).
pub fn try_command_at(port: u16, args: &[&str]) -> Option<String> {
    TcpStream::connect(("127.0.0.1", port)).ok()?;
    std::panic::catch_unwind(|| command_at(port, args)).ok()
}

/// A free loopback port whose +10000 is free too (a cluster node's bus port), at most
/// 55535: ephemeral ports from the OS are often too high for that.
pub fn free_port_pair() -> u16 {
    loop {
        let port = 20_000 + (uuid::Uuid::new_v4().as_u128() % 35_000) as u16;
        let free = |port: u16| TcpListener::bind(("127.0.0.1", port)).is_ok();
        if free(port) && free(port + 10_000) {
            return port;
        }
    }
}

pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// Starts redis-server under a watchdog shell; returns the shell and the server's pid.
fn spawn(port: u16, extra: &[String], tls: bool) -> (Child, u32) {
    if Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!(
            "redis-server is not installed: the tests need a real Redis. \
             Install the `redis-server` package (Debian/Ubuntu: apt-get install redis-server)"
        );
    }
    // The shell waits on its stdin, our pipe: when this test process exits, however it
    // exits, the pipe closes and the server goes with it.
    let ports = if tls {
        format!("--port 0 --tls-port {port}")
    } else {
        format!("--port {port}")
    };
    let script = format!(
        "redis-server {ports} --bind 127.0.0.1 --save '' --appendonly no \
         --daemonize no --loglevel warning \"$@\" >/dev/null & server=$!; \
         echo $server; cat >/dev/null; kill $server 2>/dev/null; \
         kill -CONT $server 2>/dev/null; wait $server"
    );
    watched(&script, extra)
}

/// Runs `script` (which starts a server and echoes its pid) under a watchdog shell that
/// stops the server when this test process exits, however it exits; `"$@"` in the script
/// is `args`. Returns the shell and the server's pid.
pub fn watched(script: &str, args: &[String]) -> (Child, u32) {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("redis-server")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start redis-server");
    let mut pid = String::new();
    if let Some(stdout) = child.stdout.take() {
        let _ = BufReader::new(stdout).read_line(&mut pid);
    }
    let pid = pid.trim().parse().unwrap_or(0);
    (child, pid)
}

pub fn stop(child: &mut Child) {
    // Closing stdin makes the watchdog stop the server and wait for it.
    drop(child.stdin.take());
    let _ = child.wait();
}

fn resp(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn read_reply(reader: &mut impl BufRead) -> String {
    let mut line = String::new();
    reader.read_line(&mut line).expect("read reply");
    let line = line.trim_end().to_owned();
    match line.as_bytes().first() {
        Some(b'$') => {
            let length: i64 = line[1..].parse().expect("bulk length");
            if length < 0 {
                return "(nil)".to_owned();
            }
            let mut body = vec![0; length as usize + 2];
            std::io::Read::read_exact(reader, &mut body).expect("bulk body");
            String::from_utf8_lossy(&body[..length as usize]).into_owned()
        }
        Some(b'*') => {
            let count: i64 = line[1..].parse().expect("array length");
            (0..count.max(0))
                .map(|_| read_reply(reader))
                .collect::<Vec<_>>()
                .join("\n")
        }
        _ => line[1..].to_owned(),
    }
}

/// A raw subscriber on its own connection, independent of the engine: it sees exactly
/// what goes over the wire.
pub struct RawSubscriber {
    reader: BufReader<TcpStream>,
}

impl RawSubscriber {
    /// Pattern-subscribes to `pattern` and waits for the confirmation.
    pub fn psubscribe(server: &Server, pattern: &str) -> RawSubscriber {
        let mut stream = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        stream
            .write_all(&resp(&["PSUBSCRIBE", pattern]))
            .expect("write");
        let mut subscriber = RawSubscriber {
            reader: BufReader::new(stream),
        };
        let confirmation = read_reply(&mut subscriber.reader);
        assert!(confirmation.starts_with("psubscribe"), "{confirmation}");
        subscriber
    }

    /// Subscribes to one channel (counted by `PUBSUB NUMSUB`, unlike a pattern) and waits
    /// for the confirmation.
    pub fn subscribe(server: &Server, channel: &str) -> RawSubscriber {
        let mut stream = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        stream
            .write_all(&resp(&["SUBSCRIBE", channel]))
            .expect("write");
        let mut subscriber = RawSubscriber {
            reader: BufReader::new(stream),
        };
        let confirmation = read_reply(&mut subscriber.reader);
        assert!(confirmation.starts_with("subscribe"), "{confirmation}");
        subscriber
    }

    /// The next message: (channel, payload), from a pattern or a channel subscription.
    pub fn next(&mut self) -> (String, String) {
        let reply = read_reply(&mut self.reader);
        if let Some(rest) = reply.strip_prefix("message\n") {
            let (channel, payload) = rest.split_once('\n').expect("channel and payload");
            return (channel.to_owned(), payload.to_owned());
        }
        let mut parts = reply.splitn(4, '\n');
        assert_eq!(parts.next(), Some("pmessage"), "{reply}");
        let _pattern = parts.next();
        let channel = parts.next().expect("channel").to_owned();
        let payload = parts.next().expect("payload").to_owned();
        (channel, payload)
    }
}
