//! Test support: a private redis-server on a free loopback port, started for the test run
//! and gone when the test process exits (never the shared instance on 6379).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A redis-server owned by this test process.
pub struct RedisServer {
    port: u16,
    child: Mutex<Child>,
    /// Extra redis-server arguments (TLS, passwords), kept for restarts.
    extra: Vec<String>,
    tls: bool,
}

impl RedisServer {
    /// Starts a new server on a free port. It is stopped when dropped, and also when the
    /// test process dies (its watchdog reads our pipe and stops the server on EOF).
    pub fn start() -> RedisServer {
        RedisServer::start_with(&[])
    }

    /// Starts a server with extra redis-server arguments.
    pub fn start_with(extra: &[&str]) -> RedisServer {
        let port = free_port();
        let extra: Vec<String> = extra.iter().map(|arg| (*arg).to_owned()).collect();
        let child = spawn(port, &extra, false);
        let server = RedisServer {
            port,
            child: Mutex::new(child),
            extra,
            tls: false,
        };
        server.wait_ready();
        server
    }

    /// Starts a server that speaks only TLS, with the given PEM files. Its `url()` is
    /// `rediss://`; `command()` is not available on it.
    pub fn start_tls(cert: &str, key: &str, ca: &str) -> RedisServer {
        let port = free_port();
        let extra: Vec<String> = [
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
        let child = spawn(port, &extra, true);
        let server = RedisServer {
            port,
            child: Mutex::new(child),
            extra,
            tls: true,
        };
        server.wait_ready();
        server
    }

    /// One server shared by all the tests of this test binary; each test uses its own
    /// topic names.
    pub fn shared() -> &'static RedisServer {
        static SHARED: OnceLock<RedisServer> = OnceLock::new();
        SHARED.get_or_init(RedisServer::start)
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
        let mut child = self.child.lock().expect("server lock");
        stop(&mut child);
        *child = spawn(self.port, &self.extra, self.tls);
        drop(child);
        self.wait_ready();
    }

    /// Stops the server (it can be started again with `restart`).
    pub fn stop(&self) {
        stop(&mut self.child.lock().expect("server lock"));
    }

    /// Runs one command over a raw RESP connection and returns the reply line(s) as text.
    pub fn command(&self, args: &[&str]) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to redis");
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
            if self.tls {
                // Listening is all a plain socket can tell about a TLS server.
                if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                    return;
                }
            } else if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
                if stream.write_all(b"PING\r\n").is_ok() {
                    let mut line = String::new();
                    if BufReader::new(stream).read_line(&mut line).is_ok()
                        && (line.starts_with("+PONG") || line.starts_with("-NOAUTH"))
                    {
                        return;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "redis-server on port {} did not answer PING within 10 s",
            self.port
        );
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Ok(mut child) = self.child.lock() {
            stop(&mut child);
        }
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

fn spawn(port: u16, extra: &[String], tls: bool) -> Child {
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
         --daemonize no --loglevel warning \"$@\" & server=$!; \
         cat >/dev/null; kill $server 2>/dev/null; wait $server"
    );
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("redis-server")
        .args(extra)
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
    pub fn psubscribe(server: &RedisServer, pattern: &str) -> RawSubscriber {
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
    pub fn subscribe(server: &RedisServer, channel: &str) -> RawSubscriber {
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
