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

mod capture;
pub(crate) mod pending;

pub use capture::{DEFAULT_DEEP_BUFFER, DeepCapture, DeepError, fact_of};

use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

/// The next batch of deep facts, at most `limit` into `batch`, from a deep capture that
/// may be off: with none, it never comes (so a `select!` arm on it stays quiet). 0 when
/// the capture ended.
pub async fn next_batch(
    events: Option<&mut tokio::sync::mpsc::Receiver<DeepEvent>>,
    batch: &mut Vec<DeepEvent>,
    limit: usize,
) -> usize {
    match events {
        Some(events) => events.recv_many(batch, limit).await,
        None => std::future::pending().await,
    }
}

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
            Fact::Call { command, .. } => self.add_call(Call {
                at: event.at,
                client: event.client.clone(),
                command: command.clone(),
            }),
        }
    }

    /// Adds a call around the request, up to [`MAX_DEEP_ITEMS`].
    pub(crate) fn add_call(&mut self, call: Call) {
        if self.calls.len() < MAX_DEEP_ITEMS {
            self.calls.push(call);
        } else {
            self.cut += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
