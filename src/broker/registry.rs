//! Who hears what: the subscribers of every channel and pattern, and the monitors. It
//! sits behind a lock of its own, read by PUBLISH and written only when a subscription
//! changes, so that publishers fan out side by side and never wait on the key space.
//!
//! ```text
//!   PUBLISH ─read─▶ channels[channel] ∪ patterns matching ─▶ each subscriber's outbox
//!   SUBSCRIBE ─write─▶ add, then queue the confirmation before letting go
//! ```
//!
//! A subscription change queues its confirmation while it still holds the lock
//! ([`Ctx::flush`](super::commands)), so a subscriber reads "subscribe" before any
//! message it brings and nothing of a channel after "unsubscribe". A publisher delivers
//! while it holds its read lock: its messages reach each subscriber in the order it
//! published them.

use super::clients::{ClientId, Outbox};
use super::glob;
use super::resp::{Protocol, Write};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// A client with at least one subscription.
#[derive(Debug)]
struct Subscriber {
    outbox: Outbox,
    protocol: Protocol,
    channels: HashSet<Vec<u8>>,
    patterns: HashSet<Vec<u8>>,
}

/// Whether a subscription change is for a channel or a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// SUBSCRIBE / UNSUBSCRIBE.
    Channel,
    /// PSUBSCRIBE / PUNSUBSCRIBE.
    Pattern,
}

/// Every subscription and every monitor.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    subscribers: HashMap<ClientId, Subscriber>,
    channels: HashMap<Vec<u8>, BTreeSet<ClientId>>,
    patterns: HashMap<Vec<u8>, BTreeSet<ClientId>>,
    monitors: BTreeMap<ClientId, Outbox>,
}

impl Registry {
    /// How many channels and patterns a client is subscribed to.
    pub(crate) fn counts(&self, id: ClientId) -> (usize, usize) {
        self.subscribers.get(&id).map_or((0, 0), |subscriber| {
            (subscriber.channels.len(), subscriber.patterns.len())
        })
    }

    /// How many channels and patterns, together, a client is subscribed to.
    pub(crate) fn subscriptions(&self, id: ClientId) -> usize {
        let (channels, patterns) = self.counts(id);
        channels + patterns
    }

    /// The channels or patterns a client is subscribed to.
    pub(crate) fn subscribed(&self, id: ClientId, kind: Kind) -> Vec<Vec<u8>> {
        let Some(subscriber) = self.subscribers.get(&id) else {
            return Vec::new();
        };
        let set = match kind {
            Kind::Channel => &subscriber.channels,
            Kind::Pattern => &subscriber.patterns,
        };
        set.iter().cloned().collect()
    }

    /// Subscribes a client whose messages go to `outbox` in `protocol`; returns its
    /// subscription count afterwards.
    pub(crate) fn subscribe(
        &mut self,
        id: ClientId,
        outbox: &Outbox,
        protocol: Protocol,
        kind: Kind,
        name: &[u8],
    ) -> usize {
        let subscriber = self.subscribers.entry(id).or_insert_with(|| Subscriber {
            outbox: outbox.clone(),
            protocol,
            channels: HashSet::new(),
            patterns: HashSet::new(),
        });
        let (own, all) = match kind {
            Kind::Channel => (&mut subscriber.channels, &mut self.channels),
            Kind::Pattern => (&mut subscriber.patterns, &mut self.patterns),
        };
        if own.insert(name.to_vec()) {
            all.entry(name.to_vec()).or_default().insert(id);
        }
        self.subscriptions(id)
    }

    /// Unsubscribes a client; returns its subscription count afterwards.
    pub(crate) fn unsubscribe(&mut self, id: ClientId, kind: Kind, name: &[u8]) -> usize {
        let Some(subscriber) = self.subscribers.get_mut(&id) else {
            return 0;
        };
        let (own, all) = match kind {
            Kind::Channel => (&mut subscriber.channels, &mut self.channels),
            Kind::Pattern => (&mut subscriber.patterns, &mut self.patterns),
        };
        if own.remove(name) {
            forget(all, name, id);
        }
        let left = subscriber.channels.len() + subscriber.patterns.len();
        if left == 0 {
            self.subscribers.remove(&id);
        }
        left
    }

    /// The protocol a subscriber's messages are written in, from now on (HELLO).
    pub(crate) fn set_protocol(&mut self, id: ClientId, protocol: Protocol) {
        if let Some(subscriber) = self.subscribers.get_mut(&id) {
            subscriber.protocol = protocol;
        }
    }

    /// Drops a client's subscriptions and monitoring (RESET, disconnection).
    pub(crate) fn remove(&mut self, id: ClientId) {
        if let Some(subscriber) = self.subscribers.remove(&id) {
            for channel in &subscriber.channels {
                forget(&mut self.channels, channel, id);
            }
            for pattern in &subscriber.patterns {
                forget(&mut self.patterns, pattern, id);
            }
        }
        self.monitors.remove(&id);
    }

    /// Makes a client a monitor; false when it already was one.
    pub(crate) fn start_monitoring(&mut self, id: ClientId, outbox: &Outbox) -> bool {
        if self.monitors.contains_key(&id) {
            return false;
        }
        self.monitors.insert(id, outbox.clone());
        true
    }

    /// Whether a client is a monitor.
    pub(crate) fn is_monitor(&self, id: ClientId) -> bool {
        self.monitors.contains_key(&id)
    }

    /// Whether anyone monitors.
    pub(crate) fn monitored(&self) -> bool {
        !self.monitors.is_empty()
    }

    /// Gives every monitor the line for a command `from` ran. A monitor's own commands
    /// reach it too, in order with its other replies: its line goes to `own`, the replies
    /// being gathered, or nowhere when `own` is `None` (the monitor is closing).
    pub(crate) fn feed_monitors(
        &self,
        line: &[u8],
        from: ClientId,
        own: Option<&mut Vec<u8>>,
        limit: usize,
    ) {
        for (id, outbox) in &self.monitors {
            if *id != from {
                outbox.push_unasked(line.to_vec(), limit, "monitor");
            }
        }
        if let Some(own) = own
            && self.monitors.contains_key(&from)
        {
            own.extend_from_slice(line);
        }
    }

    /// Delivers a message to every subscriber of the channel and every matching pattern
    /// subscriber (channel subscribers first, as Redis); returns how many got it. A RESP3
    /// client may publish to itself: its copy goes to `own`, the replies being gathered,
    /// so that it follows the replies to the commands before and precedes PUBLISH's own.
    pub(crate) fn publish(
        &self,
        channel: &[u8],
        payload: &[u8],
        from: ClientId,
        own: &mut Vec<u8>,
        limit: usize,
    ) -> usize {
        let mut receivers = 0;
        if let Some(ids) = self.channels.get(channel) {
            let frames = Frames::new(3, &[b"message", channel, payload]);
            receivers += self.deliver(ids, &frames, from, own, limit);
        }
        for (pattern, ids) in &self.patterns {
            if glob::matches(pattern, channel) {
                let frames = Frames::new(4, &[b"pmessage", pattern, channel, payload]);
                receivers += self.deliver(ids, &frames, from, own, limit);
            }
        }
        receivers
    }

    fn deliver(
        &self,
        ids: &BTreeSet<ClientId>,
        frames: &Frames,
        from: ClientId,
        own: &mut Vec<u8>,
        limit: usize,
    ) -> usize {
        let mut receivers = 0;
        for id in ids {
            if let Some(subscriber) = self.subscribers.get(id) {
                let frame = frames.get(subscriber.protocol);
                if *id == from {
                    own.extend_from_slice(&frame);
                } else {
                    subscriber.outbox.push_unasked(frame, limit, "subscriber");
                }
                receivers += 1;
            }
        }
        receivers
    }

    /// The channels with at least one subscriber, those matching `pattern` when given.
    pub(crate) fn active_channels(&self, pattern: Option<&[u8]>) -> Vec<&[u8]> {
        self.channels
            .keys()
            .filter(|channel| pattern.is_none_or(|pattern| glob::matches(pattern, channel)))
            .map(Vec::as_slice)
            .collect()
    }

    /// How many clients are subscribed to a channel (patterns not counted).
    pub(crate) fn numsub(&self, channel: &[u8]) -> usize {
        self.channels.get(channel).map_or(0, BTreeSet::len)
    }

    /// How many distinct patterns are subscribed to.
    pub(crate) fn numpat(&self) -> usize {
        self.patterns.len()
    }
}

/// One message as RESP2 (`*n`) and RESP3 (`>n`) subscribers receive it: the same bytes
/// but for the first.
struct Frames {
    resp2: Vec<u8>,
}

impl Frames {
    fn new(len: usize, parts: &[&[u8]]) -> Frames {
        let size: usize = parts.iter().map(|part| part.len() + 16).sum();
        let mut resp2 = Vec::with_capacity(size + 8);
        resp2.push_header(len, Protocol::Resp2);
        for part in parts {
            resp2.bulk(part);
        }
        Frames { resp2 }
    }

    fn get(&self, protocol: Protocol) -> Vec<u8> {
        let mut frame = self.resp2.clone();
        if protocol == Protocol::Resp3 {
            frame[0] = b'>';
        }
        frame
    }
}

fn forget(all: &mut HashMap<Vec<u8>, BTreeSet<ClientId>>, name: &[u8], id: ClientId) {
    if let Some(ids) = all.get_mut(name) {
        ids.remove(&id);
        if ids.is_empty() {
            all.remove(name);
        }
    }
}
