//! Test support: the server a test talks to, started for the test run and gone when the
//! test process exits (never the shared instance on 6379). There are two backends: a
//! private redis-server on a free loopback port, and the crate's built-in broker. Tests
//! written once as `async fn NAME(backend: Backend)` run on both through
//! [`on_both_backends!`], so the broker cannot drift from Redis.
// Each test binary uses its own part of this module.
#![allow(dead_code, unused_imports, unused_macros)]

mod proxy;
mod raw;

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
    Redis(Child),
    Broker(Broker),
    Stopped,
}

/// A server owned by this test process.
pub struct Server {
    backend: Backend,
    port: u16,
    process: Mutex<Process>,
}

impl Server {
    /// Starts a new server on a free port. It is stopped when dropped, and also when the
    /// test process dies (a redis-server's watchdog reads our pipe and stops the server on
    /// EOF; the broker is a thread of this process).
    pub fn start(backend: Backend) -> Server {
        let port = free_port();
        let server = Server {
            backend,
            port,
            process: Mutex::new(launch(backend, port)),
        };
        server.wait_ready();
        server
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
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server and starts a new one on the same port (a Redis restart).
    pub fn restart(&self) {
        let mut process = self.process.lock().expect("server lock");
        halt(&mut process);
        *process = launch(self.backend, self.port);
        drop(process);
        self.wait_ready();
    }

    /// Stops the server (it can be started again with `restart`).
    pub fn stop(&self) {
        halt(&mut self.process.lock().expect("server lock"));
    }

    /// Runs one command over a raw RESP connection and returns the reply line(s) as text.
    pub fn command(&self, args: &[&str]) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to server");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        stream.write_all(&resp(args)).expect("write");
        let mut reader = BufReader::new(stream);
        read_reply(&mut reader)
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
                if stream.write_all(b"PING\r\n").is_ok() {
                    let mut line = String::new();
                    if BufReader::new(stream).read_line(&mut line).is_ok()
                        && line.starts_with("+PONG")
                    {
                        return;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "{:?} server on port {} did not answer PING within 10 s",
            self.backend, self.port
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(mut process) = self.process.lock() {
            halt(&mut process);
        }
    }
}

fn launch(backend: Backend, port: u16) -> Process {
    match backend {
        Backend::Redis => Process::Redis(spawn(port)),
        Backend::Broker => {
            Process::Broker(Broker::start(("127.0.0.1", port)).expect("start the broker"))
        }
    }
}

fn halt(process: &mut Process) {
    match std::mem::replace(process, Process::Stopped) {
        Process::Redis(mut child) => stop(&mut child),
        Process::Broker(broker) => broker.stop(),
        Process::Stopped => {}
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

fn spawn(port: u16) -> Child {
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
    let script = format!(
        "redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no \
         --daemonize no --loglevel warning & server=$!; \
         cat >/dev/null; kill $server 2>/dev/null; wait $server"
    );
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start redis-server")
}

fn stop(child: &mut Child) {
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

    /// The next message: (channel, payload).
    pub fn next(&mut self) -> (String, String) {
        let reply = read_reply(&mut self.reader);
        let mut parts = reply.splitn(4, '\n');
        assert_eq!(parts.next(), Some("pmessage"), "{reply}");
        let _pattern = parts.next();
        let channel = parts.next().expect("channel").to_owned();
        let payload = parts.next().expect("payload").to_owned();
        (channel, payload)
    }
}
