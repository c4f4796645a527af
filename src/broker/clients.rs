//! The connected clients, what each is subscribed to, and publishing to them.
//!
//! Every client has an [`Outbox`]: its replies and the messages published to it wait
//! there for its writer task, so a publisher never waits on a slow subscriber. A
//! subscriber or monitor whose outbox grows past the output limit is disconnected, as
//! Redis does with `client-output-buffer-limit pubsub`.

use super::glob;
use super::resp::{Protocol, Write};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A connection's number, unique for the life of the broker (CLIENT ID).
pub(crate) type ClientId = u64;

/// Where a connection's outgoing bytes wait for its writer.
#[derive(Debug, Clone)]
pub(crate) struct Outbox {
    frames: mpsc::UnboundedSender<Vec<u8>>,
    queued: Arc<AtomicUsize>,
    kill: CancellationToken,
}

/// The writer's end of an [`Outbox`].
#[derive(Debug)]
pub(crate) struct Drain {
    /// Frames to write, in order.
    pub frames: mpsc::UnboundedReceiver<Vec<u8>>,
    queued: Arc<AtomicUsize>,
}

impl Drain {
    /// Records that `bytes` were written.
    pub(crate) fn written(&self, bytes: usize) {
        self.queued.fetch_sub(bytes, Ordering::AcqRel);
    }
}

impl Outbox {
    /// A new outbox and its writer's end; `kill` closes the connection.
    pub(crate) fn new(kill: CancellationToken) -> (Outbox, Drain) {
        let (frames, receiver) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let outbox = Outbox {
            frames,
            queued: queued.clone(),
            kill,
        };
        let drain = Drain {
            frames: receiver,
            queued,
        };
        (outbox, drain)
    }

    /// Queues bytes for the client.
    pub(crate) fn push(&self, frame: Vec<u8>) {
        if frame.is_empty() {
            return;
        }
        self.queued.fetch_add(frame.len(), Ordering::AcqRel);
        if self.frames.send(frame).is_err() {
            // The writer is gone: the connection is closing anyway.
            self.kill.cancel();
        }
    }

    /// Queues what the client did not ask for (a published message, a monitor line)
    /// unless that takes the outbox past `limit` bytes; then the client is disconnected
    /// instead. `who` names the kind of client in the log.
    fn push_unasked(&self, frame: Vec<u8>, limit: usize, who: &str) {
        if self.kill.is_cancelled() {
            // Already cut off: nothing more to queue, nothing more to say.
            return;
        }
        if self.queued() + frame.len() > limit {
            tracing::info!(limit, who, "disconnecting a client that fell behind");
            self.kill.cancel();
            return;
        }
        self.push(frame);
    }

    /// Bytes queued and not yet written.
    pub(crate) fn queued(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    /// Closes the connection at once, dropping what is queued.
    pub(crate) fn kill(&self) {
        self.kill.cancel();
    }
}

/// One connected client.
#[derive(Debug)]
pub(crate) struct Client {
    outbox: Outbox,
    addr: SocketAddr,
    name: Option<Vec<u8>>,
    protocol: Protocol,
    channels: HashSet<Vec<u8>>,
    patterns: HashSet<Vec<u8>>,
}

/// What CLIENT KILL selects.
#[derive(Debug, Default)]
pub(crate) struct KillFilter {
    /// `ID n`.
    pub id: Option<ClientId>,
    /// `TYPE pubsub` (true) or `TYPE normal` (false).
    pub pubsub: Option<bool>,
    /// `TYPE master|replica|slave`: no client of ours is one.
    pub nobody: bool,
    /// `ADDR ip:port`.
    pub addr: Option<Vec<u8>>,
    /// The caller, when `SKIPME yes` (the default).
    pub skip: Option<ClientId>,
}

/// Every client, every subscription and every monitor.
#[derive(Debug, Default)]
pub(crate) struct Clients {
    clients: HashMap<ClientId, Client>,
    channels: HashMap<Vec<u8>, BTreeSet<ClientId>>,
    patterns: HashMap<Vec<u8>, BTreeSet<ClientId>>,
    monitors: BTreeSet<ClientId>,
}

/// Whether a subscription change is for a channel or a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// SUBSCRIBE / UNSUBSCRIBE.
    Channel,
    /// PSUBSCRIBE / PUNSUBSCRIBE.
    Pattern,
}

impl Clients {
    /// Registers a new connection.
    pub(crate) fn add(&mut self, id: ClientId, outbox: Outbox, addr: SocketAddr) {
        let client = Client {
            outbox,
            addr,
            name: None,
            protocol: Protocol::Resp2,
            channels: HashSet::new(),
            patterns: HashSet::new(),
        };
        self.clients.insert(id, client);
    }

    /// `CLIENT LIST`: one line per client, in the order of their ids, with the fields of
    /// Redis's own list that the broker keeps per client (`id`, `addr`, `name`,
    /// `flags`, `sub`, `psub`), each as Redis writes it; fields it does not keep are left
    /// out rather than made up.
    pub(crate) fn list(&self) -> String {
        let mut ids: Vec<&ClientId> = self.clients.keys().collect();
        ids.sort();
        let mut list = String::new();
        for id in ids {
            let client = &self.clients[id];
            let flags = if self.monitors.contains(id) {
                "O"
            } else if client.channels.len() + client.patterns.len() > 0 {
                "P"
            } else {
                "N"
            };
            let name = client
                .name
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            list.push_str(&format!(
                "id={id} addr={} name={name} flags={flags} sub={} psub={}\n",
                client.addr,
                client.channels.len(),
                client.patterns.len(),
            ));
        }
        list
    }

    /// Forgets a connection and its subscriptions.
    pub(crate) fn remove(&mut self, id: ClientId) {
        self.reset(id);
        self.clients.remove(&id);
    }

    /// The address a client connected from.
    pub(crate) fn addr(&self, id: ClientId) -> Option<SocketAddr> {
        self.clients.get(&id).map(|client| client.addr)
    }

    /// Makes a client a monitor; false when it already was one.
    pub(crate) fn start_monitoring(&mut self, id: ClientId) -> bool {
        self.clients.contains_key(&id) && self.monitors.insert(id)
    }

    /// Whether a client is a monitor.
    pub(crate) fn is_monitor(&self, id: ClientId) -> bool {
        self.monitors.contains(&id)
    }

    /// Whether anyone monitors.
    pub(crate) fn monitored(&self) -> bool {
        !self.monitors.is_empty()
    }

    /// Gives every monitor the line for a command `from` ran. A monitor's own commands
    /// are shown to it too, after their replies: its line goes to `own`, the replies
    /// being gathered, or nowhere when `own` is `None` (the monitor is closing).
    pub(crate) fn feed_monitors(
        &self,
        line: &[u8],
        from: ClientId,
        own: Option<&mut Vec<u8>>,
        limit: usize,
    ) {
        for id in &self.monitors {
            if *id == from {
                continue;
            }
            if let Some(client) = self.clients.get(id) {
                client.outbox.push_unasked(line.to_vec(), limit, "monitor");
            }
        }
        if let Some(own) = own
            && self.monitors.contains(&from)
        {
            own.extend_from_slice(line);
        }
    }

    /// How many clients are connected.
    pub(crate) fn len(&self) -> usize {
        self.clients.len()
    }

    /// A client's name (CLIENT SETNAME).
    pub(crate) fn name(&self, id: ClientId) -> Option<&[u8]> {
        self.clients.get(&id)?.name.as_deref()
    }

    /// The protocol a client speaks.
    pub(crate) fn protocol(&self, id: ClientId) -> Protocol {
        self.clients
            .get(&id)
            .map_or(Protocol::Resp2, |client| client.protocol)
    }

    /// Switches a client's protocol (HELLO).
    pub(crate) fn set_protocol(&mut self, id: ClientId, protocol: Protocol) {
        if let Some(client) = self.clients.get_mut(&id) {
            client.protocol = protocol;
        }
    }

    /// Drops a client's subscriptions, name and monitoring and takes it back to RESP2
    /// (RESET).
    pub(crate) fn reset(&mut self, id: ClientId) {
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        client.name = None;
        client.protocol = Protocol::Resp2;
        for channel in std::mem::take(&mut client.channels) {
            forget(&mut self.channels, &channel, id);
        }
        for pattern in std::mem::take(&mut client.patterns) {
            forget(&mut self.patterns, &pattern, id);
        }
        self.monitors.remove(&id);
    }

    /// Names a client; an empty name removes it.
    pub(crate) fn set_name(&mut self, id: ClientId, name: &[u8]) {
        if let Some(client) = self.clients.get_mut(&id) {
            client.name = (!name.is_empty()).then(|| name.to_vec());
        }
    }

    /// How many channels and patterns a client is subscribed to.
    pub(crate) fn subscriptions(&self, id: ClientId) -> usize {
        self.clients
            .get(&id)
            .map_or(0, |client| client.channels.len() + client.patterns.len())
    }

    /// The channels or patterns a client is subscribed to.
    pub(crate) fn subscribed(&self, id: ClientId, kind: Kind) -> Vec<Vec<u8>> {
        let Some(client) = self.clients.get(&id) else {
            return Vec::new();
        };
        let set = match kind {
            Kind::Channel => &client.channels,
            Kind::Pattern => &client.patterns,
        };
        set.iter().cloned().collect()
    }

    /// Subscribes a client; returns its subscription count afterwards.
    pub(crate) fn subscribe(&mut self, id: ClientId, kind: Kind, name: &[u8]) -> usize {
        if let Some(client) = self.clients.get_mut(&id) {
            let (own, all) = match kind {
                Kind::Channel => (&mut client.channels, &mut self.channels),
                Kind::Pattern => (&mut client.patterns, &mut self.patterns),
            };
            if own.insert(name.to_vec()) {
                all.entry(name.to_vec()).or_default().insert(id);
            }
        }
        self.subscriptions(id)
    }

    /// Unsubscribes a client; returns its subscription count afterwards.
    pub(crate) fn unsubscribe(&mut self, id: ClientId, kind: Kind, name: &[u8]) -> usize {
        if let Some(client) = self.clients.get_mut(&id) {
            let (own, all) = match kind {
                Kind::Channel => (&mut client.channels, &mut self.channels),
                Kind::Pattern => (&mut client.patterns, &mut self.patterns),
            };
            if own.remove(name) {
                forget(all, name, id);
            }
        }
        self.subscriptions(id)
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
            if let Some(client) = self.clients.get(id) {
                let frame = frames.get(client.protocol);
                if *id == from {
                    own.extend_from_slice(&frame);
                } else {
                    client.outbox.push_unasked(frame, limit, "subscriber");
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

    /// Disconnects the clients the filter selects and forgets them at once (as Redis
    /// frees them), so that the next command no longer counts them; returns their ids.
    pub(crate) fn kill(&mut self, filter: &KillFilter) -> Vec<ClientId> {
        if filter.nobody {
            return Vec::new();
        }
        let selected: Vec<ClientId> =
            self.clients
                .iter()
                .filter(|(id, client)| {
                    filter.skip != Some(**id)
                        && filter.id.is_none_or(|wanted| wanted == **id)
                        && filter.pubsub.is_none_or(|pubsub| {
                            pubsub == (client.channels.len() + client.patterns.len() > 0)
                        })
                        && filter.addr.as_ref().is_none_or(|addr| {
                            client.addr.to_string().as_bytes() == addr.as_slice()
                        })
                })
                .map(|(id, _)| *id)
                .collect();
        for id in &selected {
            if let Some(client) = self.clients.get(id) {
                client.outbox.kill();
            }
            self.remove(*id);
        }
        selected
    }
}

/// One message as RESP2 (`*n`) and RESP3 (`>n`) subscribers receive it: the same bytes
/// but for the first.
struct Frames {
    resp2: Vec<u8>,
}

impl Frames {
    fn new(len: usize, parts: &[&[u8]]) -> Frames {
        let mut resp2 = Vec::new();
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
