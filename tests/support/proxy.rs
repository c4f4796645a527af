//! A TCP proxy in front of a server that can stall the links open through it: bytes stop
//! flowing in both directions while the sockets stay open, as on a half-open connection.
//! It works the same in front of redis-server and the broker.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Links opened before `opened_before` carry nothing until `until`.
#[derive(Clone, Copy)]
struct Stall {
    opened_before: Instant,
    until: Instant,
}

/// A running proxy; its threads end with the test process.
pub struct Proxy {
    port: u16,
    stall: Arc<Mutex<Option<Stall>>>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards every connection to `upstream`.
    pub fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let stall = Arc::new(Mutex::new(None));
        let shared = stall.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let opened = Instant::now();
                for (from, to) in [(&client, &server), (&server, &client)] {
                    let (from, to) = (from.try_clone(), to.try_clone());
                    let (Ok(from), Ok(to)) = (from, to) else {
                        continue;
                    };
                    let stall = shared.clone();
                    std::thread::spawn(move || forward(from, to, opened, &stall));
                }
            }
        });
        Proxy { port, stall }
    }

    /// The URL to connect through.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stalls every link open now for `duration`; links opened later flow freely.
    pub fn stall_open_links(&self, duration: Duration) {
        let now = Instant::now();
        *self.stall.lock().expect("stall lock") = Some(Stall {
            opened_before: now,
            until: now + duration,
        });
    }
}

fn forward(mut from: TcpStream, mut to: TcpStream, opened: Instant, stall: &Mutex<Option<Stall>>) {
    let mut buffer = [0; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        let held = *stall.lock().expect("stall lock");
        if let Some(held) = held
            && opened < held.opened_before
        {
            // The stall is what the test simulates: these bytes wait like on a dead link.
            std::thread::sleep(held.until.saturating_duration_since(Instant::now()));
        }
        if to.write_all(&buffer[..read]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
