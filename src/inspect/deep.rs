//! Deep capture: a MONITOR connection beside the pattern subscription, turned into facts
//! about traces — who called, who answered, who raced for the group lock and who won,
//! and Redis's own timing of each step.
//!
//! ```text
//!  Redis ──MONITOR──▶ DeepCapture ──(Gilmour commands only)──▶ DeepEvent ──▶ Inspector
//!          CLIENT LIST ──▶ client names (gilmour:<ident>)            │  by sender id,
//!                                                                    ▼  held until its trace opens
//!                                                             Trace::deep (caller, locks, responder, timing)
//! ```
//!
//! MONITOR costs Redis throughput and sees every command of every client, so it is
//! opt-in, and everything that is not a Gilmour channel, a lock `SET … NX` or the calls
//! around a request (NUMSUB, a Go caller's SUBSCRIBE/UNSUBSCRIBE, its pool's PINGs) is
//! dropped at once.

use super::monitor::{self, MonitorLine};
use crate::protocol::{ChannelKind, Channels};
use crate::transport::RedisConfig;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use thiserror::Error;
use tokio::sync::mpsc;

/// How many deep events may wait for the reader before new ones are dropped.
pub const DEFAULT_DEEP_BUFFER: usize = 1 << 16;

/// The most lock attempts, and the most calls around a request, one trace keeps.
pub const MAX_DEEP_ITEMS: usize = 32;

/// A time measured by Redis's clock, which MONITOR gives to the microsecond: `45µs`,
/// `0.29ms`, `13ms`.
pub fn human_server_time(time: Duration) -> String {
    if time < Duration::from_millis(1) {
        format!("{}µs", time.as_micros())
    } else {
        super::trace::human_latency(time)
    }
}

/// A Redis client, as MONITOR and CLIENT LIST name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Client {
    /// `127.0.0.1:52310`, `unix:/path`, `lua`.
    pub addr: Arc<str>,
    /// Its `CLIENT SETNAME` name (ours: `gilmour:<ident>`), when it has one.
    pub name: Option<Arc<str>>,
}

impl Client {
    /// The name when there is one, else the address.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.addr)
    }
}

/// What one Gilmour-related command was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fact {
    /// `PUBLISH <prefix>.request.<topic>` (or a health ping).
    Request {
        /// The request's sender id.
        sender: Arc<str>,
    },
    /// `PUBLISH <prefix>.response.<sender>`.
    Reply {
        /// The sender id it answers.
        sender: Arc<str>,
    },
    /// `SET <key> … NX [EX ttl]`: a bid for a group lock.
    Lock {
        /// The key (`<sender><group>`).
        key: Arc<str>,
        /// The expiry asked for, in seconds.
        ttl: Option<u64>,
    },
    /// A command around a request: NUMSUB, (UN)SUBSCRIBE, PING.
    Call {
        /// The command and its first argument, as text.
        command: Arc<str>,
        /// The sender id it concerns, when it names one (a Go caller's reply channel).
        sender: Option<Arc<str>>,
    },
}

/// One command of MONITOR that concerns Gilmour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeepEvent {
    /// When Redis ran it.
    pub at: DateTime<Utc>,
    /// Who sent it.
    pub client: Client,
    /// What it was.
    pub fact: Fact,
}

/// A lock attempt, in Redis's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bid {
    /// When Redis ran the `SET`.
    pub at: DateTime<Utc>,
    /// Who sent it.
    pub client: Client,
}

/// The race for one group lock: every `SET NX` on its key; the first one won.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockRace {
    /// The key.
    pub key: Arc<str>,
    /// The expiry the winner asked for, in seconds.
    pub ttl: Option<u64>,
    /// Every attempt, first (the winner) first.
    pub bids: Vec<Bid>,
}

impl LockRace {
    /// Who took the lock.
    pub fn winner(&self) -> Option<&Client> {
        self.bids.first().map(|bid| &bid.client)
    }

    /// How many attempts there were.
    pub fn contenders(&self) -> usize {
        self.bids.len()
    }

    /// By how much the winner beat the runner-up.
    pub fn margin(&self) -> Option<Duration> {
        let [first, second, ..] = &self.bids[..] else {
            return None;
        };
        (second.at - first.at).to_std().ok()
    }
}

/// A call around a request, by its caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// When Redis ran it.
    pub at: DateTime<Utc>,
    /// Who sent it.
    pub client: Client,
    /// The command and its first argument.
    pub command: Arc<str>,
}

/// What deep capture knows of one trace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deep {
    /// Who published the request.
    pub caller: Option<Client>,
    /// When Redis ran the request's PUBLISH.
    pub request_at: Option<DateTime<Utc>>,
    /// The lock races, one per group.
    pub locks: Vec<LockRace>,
    /// Who published the first reply.
    pub responder: Option<Client>,
    /// When Redis ran the first reply's PUBLISH.
    pub reply_at: Option<DateTime<Utc>>,
    /// The caller's other commands for this request (NUMSUB, SUBSCRIBE, PINGs…).
    pub calls: Vec<Call>,
    /// Items not kept past [`MAX_DEEP_ITEMS`].
    pub cut: u32,
}

impl Deep {
    /// Request PUBLISH to reply PUBLISH, by Redis's clock.
    pub fn server_latency(&self) -> Option<Duration> {
        (self.reply_at? - self.request_at?).to_std().ok()
    }

    /// Request PUBLISH to the first lock won, by Redis's clock.
    pub fn lock_latency(&self) -> Option<Duration> {
        let won = self
            .locks
            .iter()
            .filter_map(|race| race.bids.first())
            .map(|bid| bid.at)
            .min()?;
        (won - self.request_at?).to_std().ok()
    }

    /// The most contenders in any of its lock races.
    pub fn contenders(&self) -> usize {
        self.locks
            .iter()
            .map(LockRace::contenders)
            .max()
            .unwrap_or(0)
    }

    /// Roughly how many bytes it holds.
    pub fn footprint(&self) -> usize {
        std::mem::size_of::<Deep>()
            + self.locks.len() * std::mem::size_of::<LockRace>()
            + self
                .locks
                .iter()
                .map(|race| race.key.len() + race.bids.len() * std::mem::size_of::<Bid>())
                .sum::<usize>()
            + self
                .calls
                .iter()
                .map(|call| std::mem::size_of::<Call>() + call.command.len())
                .sum::<usize>()
    }

    /// Adds one fact.
    pub(crate) fn add(&mut self, event: &DeepEvent) {
        match &event.fact {
            Fact::Request { .. } => {
                self.caller.get_or_insert_with(|| event.client.clone());
                self.request_at.get_or_insert(event.at);
            }
            Fact::Reply { .. } => {
                if self.reply_at.is_none() {
                    self.responder = Some(event.client.clone());
                    self.reply_at = Some(event.at);
                }
            }
            Fact::Lock { key, ttl } => {
                let bid = Bid {
                    at: event.at,
                    client: event.client.clone(),
                };
                let known = self.locks.len();
                match self.locks.iter().position(|race| race.key == *key) {
                    Some(at) if self.locks[at].bids.len() < MAX_DEEP_ITEMS => {
                        self.locks[at].bids.push(bid);
                    }
                    None if known < MAX_DEEP_ITEMS => self.locks.push(LockRace {
                        key: key.clone(),
                        ttl: *ttl,
                        bids: vec![bid],
                    }),
                    _ => self.cut += 1,
                }
            }
            Fact::Call { command, .. } => {
                if self.calls.len() < MAX_DEEP_ITEMS {
                    self.calls.push(Call {
                        at: event.at,
                        client: event.client.clone(),
                        command: command.clone(),
                    });
                } else {
                    self.cut += 1;
                }
            }
        }
    }
}

/// Why deep capture could not start.
#[derive(Debug, Error)]
pub enum DeepError {
    /// Redis would not run MONITOR (an ACL without it, a managed Redis).
    #[error("Redis refused MONITOR ({0}): deep capture is off, the normal capture goes on")]
    Refused(String),
    /// Redis could not be reached.
    #[error("cannot connect to Redis for deep capture: {0}")]
    Connect(String),
}

/// A running deep capture. Dropping it (and the receiver) stops it.
pub struct DeepCapture {
    dropped: Arc<AtomicU64>,
    lines: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for DeepCapture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.task.abort();
    }
}

impl DeepCapture {
    /// Connects, starts MONITOR and reads it; deep events arrive on the receiver.
    pub async fn start(
        redis: RedisConfig,
        channels: Channels,
        buffer: usize,
    ) -> Result<(DeepCapture, mpsc::Receiver<DeepEvent>), DeepError> {
        let client = redis
            .client()
            .map_err(|error| DeepError::Connect(error.to_string()))?;
        let monitor = open(&client, redis.connect_timeout).await?;
        let names = tokio::time::timeout(
            redis.connect_timeout,
            client.get_multiplexed_async_connection(),
        )
        .await
        .map_err(|_| DeepError::Connect("no connection in time".to_owned()))?
        .map_err(|error| DeepError::Connect(error.to_string()))?;
        let (events, receiver) = mpsc::channel(buffer.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        let lines = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let reader = Reader {
            channels,
            events,
            dropped: dropped.clone(),
            lines: lines.clone(),
            names: Names::new(names),
        };
        let task = tokio::spawn(reader.run(client, redis.connect_timeout, monitor, stop.clone()));
        Ok((
            DeepCapture {
                dropped,
                lines,
                stop,
                task,
            },
            receiver,
        ))
    }

    /// Deep events dropped because the reader fell behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// MONITOR lines read (every command of every client).
    pub fn lines(&self) -> u64 {
        self.lines.load(Ordering::Relaxed)
    }
}

async fn open(client: &redis::Client, timeout: Duration) -> Result<redis::aio::Monitor, DeepError> {
    // The monitor connection takes MONITOR's reply without looking at it: ask on a
    // connection of its own first (and close it), so a refusal is told as one.
    let probe = async {
        let mut connection = client.get_multiplexed_async_connection().await?;
        redis::cmd("MONITOR")
            .query_async::<redis::Value>(&mut connection)
            .await
    };
    match tokio::time::timeout(timeout, probe).await {
        Ok(Ok(_)) => {}
        Ok(Err(error)) if is_refusal(&error.to_string()) => {
            return Err(DeepError::Refused(error.to_string()));
        }
        Ok(Err(error)) => return Err(DeepError::Connect(error.to_string())),
        Err(_) => {
            return Err(DeepError::Connect(format!(
                "no connection within {} ms",
                timeout.as_millis()
            )));
        }
    }
    match tokio::time::timeout(timeout, client.get_async_monitor()).await {
        Ok(Ok(monitor)) => Ok(monitor),
        Ok(Err(error)) if is_refusal(&error.to_string()) => {
            Err(DeepError::Refused(error.to_string()))
        }
        Ok(Err(error)) => Err(DeepError::Connect(error.to_string())),
        Err(_) => Err(DeepError::Connect(format!(
            "no connection within {} ms",
            timeout.as_millis()
        ))),
    }
}

/// Whether Redis said no to MONITOR itself (rather than to the connection).
fn is_refusal(error: &str) -> bool {
    let error = error.to_ascii_lowercase();
    ["noperm", "unknown command", "permission", "not allowed"]
        .iter()
        .any(|word| error.contains(word))
}

/// Client names from CLIENT LIST, read again when an unknown address shows up (at most
/// every 50 ms); an address still unknown then is asked about again after 2 s.
struct Names {
    connection: redis::aio::MultiplexedConnection,
    known: HashMap<Arc<str>, Option<Arc<str>>>,
    /// Addresses CLIENT LIST did not have, and when that was found.
    missing: HashMap<Arc<str>, Instant>,
    refreshed: Option<Instant>,
}

impl Names {
    fn new(connection: redis::aio::MultiplexedConnection) -> Self {
        Names {
            connection,
            known: HashMap::new(),
            missing: HashMap::new(),
            refreshed: None,
        }
    }

    async fn client(&mut self, addr: &Arc<str>) -> Client {
        let recently_missing = self
            .missing
            .get(addr)
            .is_some_and(|at| at.elapsed() < Duration::from_secs(2));
        if !self.known.contains_key(addr) && !recently_missing {
            // At most every 50 ms: wait out the rest rather than take the client for
            // nameless (MONITOR's lines wait in the socket meanwhile).
            if let Some(at) = self.refreshed {
                let rest = Duration::from_millis(50).saturating_sub(at.elapsed());
                if !rest.is_zero() {
                    tokio::time::sleep(rest).await;
                }
            }
            self.refresh().await;
            if !self.known.contains_key(addr) {
                if self.missing.len() >= 65_536 {
                    self.missing.clear();
                }
                self.missing.insert(addr.clone(), Instant::now());
            }
        }
        Client {
            addr: addr.clone(),
            name: self.known.get(addr).cloned().flatten(),
        }
    }

    async fn refresh(&mut self) {
        self.refreshed = Some(Instant::now());
        let list: redis::RedisResult<String> = redis::cmd("CLIENT")
            .arg("LIST")
            .query_async(&mut self.connection)
            .await;
        let Ok(list) = list else {
            return;
        };
        self.known.clear();
        for line in list.lines() {
            let mut addr = None;
            let mut name = None;
            for field in line.split(' ') {
                if let Some(value) = field.strip_prefix("addr=") {
                    addr = Some(value);
                } else if let Some(value) = field.strip_prefix("name=") {
                    name = (!value.is_empty()).then_some(value);
                }
            }
            if let Some(addr) = addr {
                let addr: Arc<str> = Arc::from(addr);
                self.missing.remove(&addr);
                self.known.insert(addr, name.map(Arc::from));
            }
        }
    }
}

struct Reader {
    channels: Channels,
    events: mpsc::Sender<DeepEvent>,
    dropped: Arc<AtomicU64>,
    lines: Arc<AtomicU64>,
    names: Names,
}

impl Reader {
    async fn run(
        mut self,
        client: redis::Client,
        timeout: Duration,
        first: redis::aio::Monitor,
        stop: Arc<AtomicBool>,
    ) {
        let mut monitor = Some(first);
        let mut backoff = Duration::from_millis(100);
        while !stop.load(Ordering::Relaxed) {
            let stream = match monitor.take() {
                Some(monitor) => monitor,
                None => match open(&client, timeout).await {
                    Ok(monitor) => monitor,
                    Err(error) => {
                        tracing::debug!(%error, "deep capture: reconnect failed");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                        continue;
                    }
                },
            };
            backoff = Duration::from_millis(100);
            let mut lines = stream.into_on_message::<String>();
            while let Some(line) = lines.next().await {
                self.lines.fetch_add(1, Ordering::Relaxed);
                let Ok(line) = monitor::parse(line.as_bytes()) else {
                    continue;
                };
                let Some((addr, fact)) = fact_of(&self.channels, &line) else {
                    continue;
                };
                let client = self.names.client(&addr).await;
                let event = DeepEvent {
                    at: line.at,
                    client,
                    fact,
                };
                match self.events.try_send(event) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        self.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => return,
                }
            }
            tracing::warn!("deep capture: the MONITOR connection ended; reconnecting");
        }
    }
}

/// The Gilmour fact a MONITOR line states, if any.
pub fn fact_of(channels: &Channels, line: &MonitorLine) -> Option<(Arc<str>, Fact)> {
    let command = line.command();
    let text = |n: usize| line.arg(n);
    let fact = match command.as_str() {
        "PUBLISH" => {
            let channel = text(1)?;
            match channels.classify(&channel) {
                (ChannelKind::Request | ChannelKind::Health, _) => Fact::Request {
                    sender: Arc::from(payload_sender(line.args.get(2)?)?),
                },
                (ChannelKind::Response, sender) if !sender.is_empty() => Fact::Reply {
                    sender: Arc::from(sender),
                },
                _ => return None,
            }
        }
        "SET" => {
            let options: Vec<String> = line
                .args
                .iter()
                .skip(3)
                .map(|arg| String::from_utf8_lossy(arg).to_ascii_uppercase())
                .collect();
            if !options.iter().any(|option| option == "NX") {
                return None;
            }
            let ttl = options
                .iter()
                .position(|option| option == "EX" || option == "PX")
                .and_then(|at| {
                    let value: u64 = options.get(at + 1)?.parse().ok()?;
                    Some(if options[at] == "PX" {
                        value / 1000
                    } else {
                        value
                    })
                });
            Fact::Lock {
                key: Arc::from(&*text(1)?),
                ttl,
            }
        }
        "PING" => Fact::Call {
            command: Arc::from("PING"),
            sender: None,
        },
        "PUBSUB" | "SUBSCRIBE" | "UNSUBSCRIBE" | "PSUBSCRIBE" | "PUNSUBSCRIBE" => {
            let at = if command == "PUBSUB" { 2 } else { 1 };
            let channel = text(at)?;
            let (kind, name) = channels.classify(&channel);
            if kind == ChannelKind::Other && !channel.starts_with(channels.prefix()) {
                return None;
            }
            let sender =
                (kind == ChannelKind::Response && !name.is_empty() && !name.ends_with('*'))
                    .then(|| Arc::from(name));
            let verb = if command == "PUBSUB" {
                format!("PUBSUB {}", text(1)?.to_ascii_uppercase())
            } else {
                command.clone()
            };
            Fact::Call {
                command: Arc::from(format!("{verb} {channel}")),
                sender,
            }
        }
        _ => return None,
    };
    Some((line.client.clone(), fact))
}

#[derive(Deserialize)]
struct SenderOnly {
    #[serde(default)]
    sender: Option<serde_json::Value>,
}

fn payload_sender(payload: &[u8]) -> Option<String> {
    let peek: SenderOnly = serde_json::from_slice(payload).ok()?;
    match peek.sender? {
        serde_json::Value::String(text) if !text.is_empty() => Some(text),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(line: &str) -> Option<Fact> {
        let line = monitor::parse(line.as_bytes()).expect("line");
        fact_of(&Channels::default(), &line).map(|(_, fact)| fact)
    }

    #[test]
    fn gilmour_commands_become_facts_and_the_rest_is_dropped() {
        assert_eq!(
            fact(
                r#"1.000000 [0 a:1] "PUBLISH" "gilmour.request.echo" "{\"data\":1,\"code\":200,\"sender\":\"s-1\"}""#
            ),
            Some(Fact::Request {
                sender: Arc::from("s-1")
            })
        );
        assert_eq!(
            fact(r#"1.000000 [0 a:1] "PUBLISH" "gilmour.response.s-1" "{\"data\":1}""#),
            Some(Fact::Reply {
                sender: Arc::from("s-1")
            })
        );
        assert_eq!(
            fact(r#"1.000000 [0 a:1] "SET" "s-1g" "s-1g" "NX" "EX" "600""#),
            Some(Fact::Lock {
                key: Arc::from("s-1g"),
                ttl: Some(600)
            })
        );
        assert_eq!(
            fact(r#"1.000000 [0 a:1] "set" "k" "v" "px" "5000" "nx""#),
            Some(Fact::Lock {
                key: Arc::from("k"),
                ttl: Some(5)
            })
        );
        assert_eq!(
            fact(r#"1.000000 [0 a:1] "SUBSCRIBE" "gilmour.response.go-1""#),
            Some(Fact::Call {
                command: Arc::from("SUBSCRIBE gilmour.response.go-1"),
                sender: Some(Arc::from("go-1"))
            })
        );
        assert_eq!(
            fact(r#"1.000000 [0 a:1] "PUBSUB" "numsub" "gilmour.request.echo""#),
            Some(Fact::Call {
                command: Arc::from("PUBSUB NUMSUB gilmour.request.echo"),
                sender: None
            })
        );
        for other in [
            r#"1.000000 [0 a:1] "SET" "k" "v""#,
            r#"1.000000 [0 a:1] "GET" "k""#,
            r#"1.000000 [0 a:1] "PUBLISH" "news" "x""#,
            r#"1.000000 [0 a:1] "PUBLISH" "gilmour.request.echo" "not json""#,
            r#"1.000000 [0 a:1] "SUBSCRIBE" "other.channel""#,
            r#"1.000000 [0 a:1] "PUBLISH""#,
        ] {
            assert_eq!(fact(other), None, "{other}");
        }
    }

    #[test]
    fn a_race_has_a_winner_contenders_and_a_margin() {
        let at = |micros: u32| DateTime::from_timestamp(1, micros * 1000).expect("time");
        let client = |addr: &str| Client {
            addr: Arc::from(addr),
            name: None,
        };
        let mut deep = Deep::default();
        for (micros, addr, fact) in [
            (
                100,
                "c:1",
                Fact::Request {
                    sender: Arc::from("s"),
                },
            ),
            (
                330,
                "r:1",
                Fact::Lock {
                    key: Arc::from("sg"),
                    ttl: Some(600),
                },
            ),
            (
                360,
                "r:2",
                Fact::Lock {
                    key: Arc::from("sg"),
                    ttl: Some(600),
                },
            ),
            (
                450,
                "r:1",
                Fact::Reply {
                    sender: Arc::from("s"),
                },
            ),
            (
                460,
                "r:2",
                Fact::Reply {
                    sender: Arc::from("s"),
                },
            ),
        ] {
            deep.add(&DeepEvent {
                at: at(micros),
                client: client(addr),
                fact,
            });
        }
        let race = &deep.locks[0];
        assert_eq!((race.contenders(), race.ttl), (2, Some(600)));
        assert_eq!(race.winner().map(Client::label), Some("r:1"));
        assert_eq!(race.margin(), Some(Duration::from_micros(30)));
        assert_eq!(deep.responder.as_ref().map(Client::label), Some("r:1"));
        assert_eq!(deep.server_latency(), Some(Duration::from_micros(350)));
        assert_eq!(deep.lock_latency(), Some(Duration::from_micros(230)));
    }
}
