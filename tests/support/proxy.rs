//! A TCP proxy in front of a server that can stall the links open through it (bytes stop
//! flowing in both directions while the sockets stay open, as on a half-open connection)
//! or cut them around the next command (the reply, or the command itself, is lost with
//! the link). It works the same in front of redis-server and the broker.

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

/// The next command on a link opened before `opened_before` ends that link: after the
/// command reached the server (its reply is lost), or before (the command is lost).
#[derive(Clone, Copy)]
struct Cut {
    opened_before: Instant,
    deliver: bool,
}

/// A running proxy; its threads end with the test process.
pub struct Proxy {
    port: u16,
    stall: Arc<Mutex<Option<Stall>>>,
    cut: Arc<Mutex<Option<Cut>>>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards every connection to `upstream`.
    pub fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let stall = Arc::new(Mutex::new(None));
        let cut = Arc::new(Mutex::new(None));
        let shared = stall.clone();
        let shared_cut = cut.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let opened = Instant::now();
                for (from, to, upstream) in [(&client, &server, true), (&server, &client, false)] {
                    let (from, to) = (from.try_clone(), to.try_clone());
                    let (Ok(from), Ok(to)) = (from, to) else {
                        continue;
                    };
                    let stall = shared.clone();
                    let cut = upstream.then(|| shared_cut.clone());
                    std::thread::spawn(move || forward(from, to, opened, &stall, cut.as_deref()));
                }
            }
        });
        Proxy { port, stall, cut }
    }

    /// The next command sent on any link open now reaches the server, and then the link
    /// is cut before the reply comes back: the client cannot know whether it ran.
    pub fn lose_the_next_reply(&self) {
        self.cut_next(true);
    }

    /// The next command sent on any link open now is lost with its link: it never runs.
    pub fn lose_the_next_command(&self) {
        self.cut_next(false);
    }

    fn cut_next(&self, deliver: bool) {
        *self.cut.lock().expect("cut lock") = Some(Cut {
            opened_before: Instant::now(),
            deliver,
        });
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

fn forward(
    mut from: TcpStream,
    mut to: TcpStream,
    opened: Instant,
    stall: &Mutex<Option<Stall>>,
    cut: Option<&Mutex<Option<Cut>>>,
) {
    let mut buffer = [0; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        let cutting = cut.and_then(|cut| {
            let mut cut = cut.lock().expect("cut lock");
            let due = cut.is_some_and(|due| opened < due.opened_before);
            if due { cut.take() } else { None }
        });
        if let Some(cutting) = cutting {
            // The client's side goes first, so that no reply can reach it any more.
            let _ = from.shutdown(Shutdown::Both);
            if cutting.deliver {
                let _ = to.write_all(&buffer[..read]);
            }
            let _ = to.shutdown(Shutdown::Both);
            return;
        }
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
