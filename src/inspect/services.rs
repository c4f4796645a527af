//! Who is out there: the hosts of the health hash, each pinged on its health channel, and
//! who listens on which channel right now.
//!
//! ```text
//!   HGETALL gilmour.known_host.health ──▶ ident … ──ping gilmour.health.<ident>──▶ Health
//!   PUBSUB CHANNELS / NUMSUB / NUMPAT ──▶ listeners per request and slot channel
//!   CLUSTER NODES (on a cluster)      ──▶ the nodes: primaries, replicas, failed ones
//! ```
//!
//! A process that crashed leaves its ident in the hash: nobody listens on its health
//! channel then, and that, not the hash, says it is dead. One that is subscribed but
//! does not answer in time is dead too as far as a monitor can tell, but it may come back:
//! only idents nobody listens for, twice, are ever pruned.

use crate::engine::{Engine, EngineError, RequestOptions, Response};
use crate::protocol::{ChannelKind, Ident, is_pattern};
use crate::transport::TransportError;
use crate::transport::cluster::Node;
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;

/// How long a health ping may take before the host counts as dead.
pub const PING_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a healthy answer may take before the host counts as slow.
pub const SLOW_AFTER: Duration = Duration::from_millis(250);

/// How long a prune waits before it pings a silent host the second time.
pub const CONFIRM_AFTER: Duration = Duration::from_secs(1);

/// How hosts are pinged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PingOptions {
    /// No answer within this: dead.
    pub timeout: Duration,
    /// A healthy answer slower than this: slow.
    pub slow_after: Duration,
}

impl Default for PingOptions {
    fn default() -> Self {
        PingOptions {
            timeout: PING_TIMEOUT,
            slow_after: SLOW_AFTER,
        }
    }
}

/// What a health ping found.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Health {
    /// It answered 200 in time.
    Alive {
        /// Round trip.
        #[serde(serialize_with = "seconds")]
        latency: Duration,
        /// The channels and patterns it serves.
        topics: Vec<String>,
    },
    /// It answered 200, but slower than [`PingOptions::slow_after`].
    Slow {
        /// Round trip.
        #[serde(serialize_with = "seconds")]
        latency: Duration,
        /// The channels and patterns it serves.
        topics: Vec<String>,
    },
    /// It answered, with a failure code: the process runs, its health check fails.
    Failing {
        /// Round trip.
        #[serde(serialize_with = "seconds")]
        latency: Duration,
        /// The code it answered.
        code: i64,
        /// What it answered.
        reply: Value,
    },
    /// It did not answer.
    Dead {
        /// Why it counts as dead.
        reason: Dead,
    },
}

/// Why a host counts as dead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "why", content = "detail", rename_all = "snake_case")]
pub enum Dead {
    /// Nobody listens on its health channel: the process is gone.
    NoListener,
    /// Something listens but no answer came in time.
    NoAnswer(#[serde(serialize_with = "seconds")] Duration),
    /// It could not be pinged (Redis failed, or the ident cannot name a channel).
    Unreachable(String),
}

impl std::fmt::Display for Dead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dead::NoListener => f.write_str("nobody listens on its health channel"),
            Dead::NoAnswer(timeout) => {
                write!(f, "no answer within {}", human_duration(*timeout))
            }
            Dead::Unreachable(why) => write!(f, "cannot ping it: {why}"),
        }
    }
}

fn seconds<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(duration.as_secs_f64())
}

fn human_duration(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{} ms", duration.as_millis())
    }
}

/// The closed set of what a ping can find, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HostState {
    /// Answered 200 in time.
    Alive,
    /// Answered 200, slowly.
    Slow,
    /// Answered a failure code.
    Failing,
    /// Did not answer.
    Dead,
}

impl HostState {
    /// Every state, in order.
    pub const ALL: [HostState; 4] = [
        HostState::Alive,
        HostState::Slow,
        HostState::Failing,
        HostState::Dead,
    ];

    /// A short name.
    pub fn as_str(self) -> &'static str {
        match self {
            HostState::Alive => "alive",
            HostState::Slow => "slow",
            HostState::Failing => "failing",
            HostState::Dead => "dead",
        }
    }
}

impl Health {
    /// What it found, in one word.
    pub fn state(&self) -> HostState {
        match self {
            Health::Alive { .. } => HostState::Alive,
            Health::Slow { .. } => HostState::Slow,
            Health::Failing { .. } => HostState::Failing,
            Health::Dead { .. } => HostState::Dead,
        }
    }

    /// Whether it answered 200 (alive or slow).
    pub fn is_healthy(&self) -> bool {
        matches!(self, Health::Alive { .. } | Health::Slow { .. })
    }

    /// The round trip, when it answered.
    pub fn latency(&self) -> Option<Duration> {
        match self {
            Health::Alive { latency, .. }
            | Health::Slow { latency, .. }
            | Health::Failing { latency, .. } => Some(*latency),
            Health::Dead { .. } => None,
        }
    }

    /// The channels it serves, when it said.
    pub fn topics(&self) -> &[String] {
        match self {
            Health::Alive { topics, .. } | Health::Slow { topics, .. } => topics,
            Health::Failing { .. } | Health::Dead { .. } => &[],
        }
    }

    /// What it found, in a few words (for a status line or a table).
    pub fn describe(&self) -> String {
        match self {
            Health::Alive { .. } => "alive".to_owned(),
            Health::Slow { latency, .. } => format!("slow ({} ms)", latency.as_millis()),
            Health::Failing { code, reply, .. } => {
                let reply = match reply {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                format!("answered {code}: {reply}")
            }
            Health::Dead { reason } => format!("dead: {reason}"),
        }
    }
}

/// A known host of the health hash.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Host {
    /// Its ident.
    pub ident: String,
    /// What the hash says (`true`, Ruby's `active`).
    pub value: String,
    /// What the ping found.
    pub health: Health,
}

/// A channel with exact subscribers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listened {
    /// The topic (the channel without `<prefix>.request.` or `<prefix>.slot.`).
    pub topic: String,
    /// The channel.
    pub channel: String,
    /// Its subscribers (`PUBSUB NUMSUB`).
    pub listeners: usize,
}

/// A pattern slot that a host says it serves (Redis counts pattern subscriptions but
/// does not list them: the health answers are where their names come from).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PatternSlot {
    /// The pattern, as subscribed (`gilmour.slot.event.*`).
    pub pattern: String,
    /// The hosts that serve it.
    pub hosts: Vec<String>,
}

/// Who listens on what, right now.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Listeners {
    /// Request channels with subscribers, by topic.
    pub requests: Vec<Listened>,
    /// Slot channels with exact subscribers, by topic.
    pub slots: Vec<Listened>,
    /// Pattern subscriptions on the server, of anyone (inspectors included).
    pub pattern_subscriptions: usize,
}

/// The hosts, pinged, and the listeners.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Survey {
    /// Known hosts, by ident.
    pub hosts: Vec<Host>,
    /// Who listens on which channel.
    pub listeners: Listeners,
    /// Pattern slots the hosts serve.
    pub patterns: Vec<PatternSlot>,
    /// The nodes of the cluster, primaries first (none when Redis is no cluster).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<Node>,
}

impl Survey {
    /// How many hosts are in a state.
    pub fn count(&self, state: HostState) -> usize {
        self.hosts
            .iter()
            .filter(|host| host.health.state() == state)
            .count()
    }

    /// Whether every host answered 200 (an empty hash counts as healthy).
    pub fn all_healthy(&self) -> bool {
        self.hosts.iter().all(|host| host.health.is_healthy())
    }
}

/// The idents of the health hash and what each says, by ident.
pub async fn known_hosts(engine: &Engine) -> Result<Vec<(String, String)>, TransportError> {
    let known = engine
        .commands()
        .hash_all(engine.channels().health_hash())
        .await?;
    let mut known: Vec<(String, String)> = known.into_iter().collect();
    known.sort();
    Ok(known)
}

/// Pings one process on its health channel.
///
/// The ping runs under a deadline of its own, a little shorter than the request's
/// timeout: a missing answer is then told apart from one that came and said 499 (a
/// health handler that timed out), which the engine's own timeout would not.
pub async fn ping(engine: &Engine, ident: &str, options: PingOptions) -> Health {
    let channel = engine.channels().health(&Ident(ident.to_owned()));
    let request = engine.request(
        &channel,
        Value::Null,
        RequestOptions::timeout(options.timeout + Duration::from_secs(1)),
    );
    match tokio::time::timeout(options.timeout, request).await {
        Err(_) => Health::Dead {
            reason: Dead::NoAnswer(options.timeout),
        },
        Ok(Ok(response)) => answered(response, options),
        Ok(Err(EngineError::NoListeners { .. })) => Health::Dead {
            reason: Dead::NoListener,
        },
        Ok(Err(error)) => Health::Dead {
            reason: Dead::Unreachable(error.to_string()),
        },
    }
}

fn answered(response: Response, options: PingOptions) -> Health {
    let latency = response.elapsed;
    if !response.is_ok() {
        return Health::Failing {
            latency,
            code: response.code().0,
            reply: response.into_data(),
        };
    }
    let topics = match response.data() {
        Value::Array(items) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map_or_else(|| item.to_string(), str::to_owned)
            })
            .collect(),
        Value::Null => Vec::new(),
        other => vec![other.to_string()],
    };
    if latency > options.slow_after {
        Health::Slow { latency, topics }
    } else {
        Health::Alive { latency, topics }
    }
}

/// Reads the health hash and pings every host at once; by ident.
pub async fn ping_all(engine: &Engine, options: PingOptions) -> Result<Vec<Host>, TransportError> {
    let known = known_hosts(engine).await?;
    let pings = known.into_iter().map(|(ident, value)| async move {
        let health = ping(engine, &ident, options).await;
        Host {
            ident,
            value,
            health,
        }
    });
    Ok(futures_util::future::join_all(pings).await)
}

/// The request and slot channels with subscribers, and the pattern count.
pub async fn listeners(engine: &Engine) -> Result<Listeners, TransportError> {
    let commands = engine.commands();
    let channels = engine.channels();
    let count = |pattern: String| async move {
        let names = commands.channels(&pattern).await?;
        if names.is_empty() {
            return Ok::<_, TransportError>(Vec::new());
        }
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut counted: Vec<Listened> = commands
            .numsub_many(&names)
            .await?
            .into_iter()
            .filter(|(_, listeners)| *listeners > 0)
            .map(|(channel, listeners)| Listened {
                topic: match channels.classify(&channel) {
                    (ChannelKind::Request | ChannelKind::Slot, topic) => topic.to_owned(),
                    _ => channel.clone(),
                },
                channel,
                listeners,
            })
            .collect();
        counted.sort_by(|a, b| a.topic.cmp(&b.topic));
        Ok(counted)
    };
    let requests = count(format!("{}*", escape(&channels.request("")))).await?;
    let slots = count(format!("{}*", escape(&channels.slot(""))))
        .await?
        .into_iter()
        .filter(|listened| !is_pattern(&listened.topic))
        .collect();
    Ok(Listeners {
        requests,
        slots,
        pattern_subscriptions: commands.numpat().await?,
    })
}

/// Escapes the glob characters of a channel name, for `PUBSUB CHANNELS`.
fn escape(name: &str) -> String {
    let mut escaped = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// The pattern slots the hosts say they serve, by pattern.
pub fn pattern_slots(hosts: &[Host]) -> Vec<PatternSlot> {
    let mut patterns: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for host in hosts {
        for topic in host.health.topics() {
            if is_pattern(topic) {
                patterns.entry(topic).or_default().push(host.ident.clone());
            }
        }
    }
    patterns
        .into_iter()
        .map(|(pattern, hosts)| PatternSlot {
            pattern: pattern.to_owned(),
            hosts,
        })
        .collect()
}

/// Pings every host and counts the listeners: the services screen and `gilmour health`.
pub async fn survey(engine: &Engine, options: PingOptions) -> Result<Survey, TransportError> {
    let (hosts, listeners, nodes) =
        tokio::join!(ping_all(engine, options), listeners(engine), nodes(engine));
    let hosts = hosts?;
    Ok(Survey {
        patterns: pattern_slots(&hosts),
        hosts,
        listeners: listeners?,
        nodes: nodes?,
    })
}

/// The nodes of the cluster the engine is connected to, primaries first; none when it is
/// connected to one server or through Sentinel.
pub async fn nodes(engine: &Engine) -> Result<Vec<Node>, TransportError> {
    engine.commands().nodes().await
}

/// Removes an ident from the health hash.
pub async fn remove_ident(engine: &Engine, ident: &str) -> Result<(), TransportError> {
    engine
        .commands()
        .hash_delete(engine.channels().health_hash(), ident)
        .await
}

/// Removes the idents of `hosts` that nobody listens for, after pinging each of them once
/// more `confirm_after` later (a process may be between a restart's unsubscribe and
/// subscribe). Hosts that are subscribed but silent are left alone: they may come back,
/// and a removed ident is never announced again. Returns the idents removed.
pub async fn prune_dead(
    engine: &Engine,
    hosts: &[Host],
    options: PingOptions,
    confirm_after: Duration,
) -> Result<Vec<String>, TransportError> {
    let silent: Vec<&str> = hosts
        .iter()
        .filter(|host| {
            matches!(
                host.health,
                Health::Dead {
                    reason: Dead::NoListener
                }
            )
        })
        .map(|host| host.ident.as_str())
        .collect();
    if silent.is_empty() {
        return Ok(Vec::new());
    }
    tokio::time::sleep(confirm_after).await;
    let again = futures_util::future::join_all(
        silent
            .iter()
            .map(|ident| async move { (*ident, ping(engine, ident, options).await) }),
    )
    .await;
    let mut removed = Vec::new();
    for (ident, health) in again {
        if health
            == (Health::Dead {
                reason: Dead::NoListener,
            })
        {
            remove_ident(engine, ident).await?;
            removed.push(ident.to_owned());
        }
    }
    Ok(removed)
}
