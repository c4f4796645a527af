//! The connected clients (CLIENT LIST, KILL, SETNAME, INFO clients) and the outbox each
//! one's bytes wait in.
//!
//! Every client has an [`Outbox`]: its replies and the messages published to it wait
//! there for its writer task, so a publisher never waits on a slow subscriber. A
//! subscriber or monitor whose outbox grows past the output limit is disconnected, as
//! Redis does with `client-output-buffer-limit pubsub`. What each client is subscribed
//! to lives in the [`Registry`](super::registry::Registry), which PUBLISH reads without
//! this table.

use super::registry::Registry;
use std::collections::HashMap;
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
    pub(crate) fn push_unasked(&self, frame: Vec<u8>, limit: usize, who: &str) {
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
struct Client {
    outbox: Outbox,
    addr: SocketAddr,
    name: Option<Vec<u8>>,
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

/// Every connected client.
#[derive(Debug, Default)]
pub(crate) struct Clients {
    clients: HashMap<ClientId, Client>,
}

impl Clients {
    /// Registers a new connection.
    pub(crate) fn add(&mut self, id: ClientId, outbox: Outbox, addr: SocketAddr) {
        let client = Client {
            outbox,
            addr,
            name: None,
        };
        self.clients.insert(id, client);
    }

    /// `CLIENT LIST`: one line per client, in the order of their ids, with the fields of
    /// Redis's own list that the broker keeps per client (`id`, `addr`, `name`,
    /// `flags`, `sub`, `psub`), each as Redis writes it; fields it does not keep are left
    /// out rather than made up.
    pub(crate) fn list(&self, registry: &Registry) -> String {
        let mut ids: Vec<&ClientId> = self.clients.keys().collect();
        ids.sort();
        let mut list = String::new();
        for id in ids {
            let client = &self.clients[id];
            let (channels, patterns) = registry.counts(*id);
            let flags = if registry.is_monitor(*id) {
                "O"
            } else if channels + patterns > 0 {
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
                "id={id} addr={} name={name} flags={flags} sub={channels} psub={patterns}\n",
                client.addr,
            ));
        }
        list
    }

    /// Forgets a connection (its subscriptions are the registry's to forget).
    pub(crate) fn remove(&mut self, id: ClientId) {
        self.clients.remove(&id);
    }

    /// How many clients are connected.
    pub(crate) fn len(&self) -> usize {
        self.clients.len()
    }

    /// A client's name (CLIENT SETNAME).
    pub(crate) fn name(&self, id: ClientId) -> Option<&[u8]> {
        self.clients.get(&id)?.name.as_deref()
    }

    /// Names a client; an empty name removes it.
    pub(crate) fn set_name(&mut self, id: ClientId, name: &[u8]) {
        if let Some(client) = self.clients.get_mut(&id) {
            client.name = (!name.is_empty()).then(|| name.to_vec());
        }
    }

    /// Disconnects the clients the filter selects and forgets them here; returns their
    /// ids, for the caller to drop their subscriptions too.
    pub(crate) fn kill(&mut self, filter: &KillFilter, registry: &Registry) -> Vec<ClientId> {
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
                            let (channels, patterns) = registry.counts(**id);
                            pubsub == (channels + patterns > 0)
                        })
                        && filter.addr.as_ref().is_none_or(|addr| {
                            client.addr.to_string().as_bytes() == addr.as_slice()
                        })
                })
                .map(|(id, _)| *id)
                .collect();
        for id in &selected {
            if let Some(client) = self.clients.remove(id) {
                client.outbox.kill();
            }
        }
        selected
    }
}
