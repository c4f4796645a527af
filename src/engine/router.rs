//! Routing what the subscriber receives: replies to the requests waiting for them,
//! everything else to a task per matching handler, within each handler's bounds.

use super::routes::Routes;
use super::stats::Counters;
use super::{Core, EngineError, serve};
use crate::protocol::Ident;
use crate::transport::{ConnectionEvent, Incoming};
use std::sync::Arc;

/// Routes what the subscriber receives: replies to the waiting requests, everything else
/// to a task per matching handler. It runs on the subscriber task, so it parses nothing
/// and never waits: payloads are read by whoever receives them, and a message for a
/// route whose queue is full is left to the route's group, or dropped and counted.
pub(super) struct Router {
    pub(super) core: Arc<Core>,
    pub(super) routes: Arc<Routes>,
    pub(super) reply_pattern: String,
    pub(super) ident: Option<Ident>,
}

impl Router {
    pub(super) fn route(&self, incoming: Incoming) {
        let delivery = match incoming {
            Incoming::Message(delivery) => delivery,
            Incoming::Event(ConnectionEvent::Disconnected { reason, .. }) => {
                self.routes.fail_waiting(|| EngineError::Disconnected {
                    reason: reason.clone(),
                });
                return;
            }
            Incoming::Event(ConnectionEvent::Resubscribed { .. }) => {
                self.announce_again();
                return;
            }
            Incoming::Event(ConnectionEvent::Connected { .. }) => return,
        };
        if delivery.pattern.as_deref() == Some(self.reply_pattern.as_str()) {
            let (_, sender) = self.core.channels.classify(&delivery.channel);
            self.routes.deliver_reply(sender, delivery.payload);
            return;
        }
        let routes = self
            .routes
            .lookup(&delivery.channel, delivery.pattern.as_deref());
        if routes.is_empty() {
            return;
        }
        let channel: Arc<str> = Arc::from(delivery.channel);
        for route in routes {
            let Some(ticket) = route.enter() else {
                self.turn_away(&channel, route.lock_group());
                continue;
            };
            let work = serve::serve(
                self.core.clone(),
                ticket,
                channel.clone(),
                delivery.payload.clone(),
            );
            self.core.tracker.spawn(work);
        }
    }

    /// A message for a route whose queue is full: a grouped route does not compete for
    /// the lock (a member with capacity serves it), an ungrouped slot loses it.
    fn turn_away(&self, channel: &str, group: Option<&str>) {
        let counters = &self.core.counters;
        match group {
            Some(group) => {
                Counters::bump(&counters.lock_skipped);
                tracing::debug!(channel, group, "queue full: left to the other members");
            }
            None => {
                let shed = counters
                    .shed
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                    + 1;
                // Every drop is counted; the log says so at 1, 2, 4, 8, … drops.
                if shed.is_power_of_two() {
                    tracing::warn!(channel, shed, "queue full: signals dropped");
                }
            }
        }
    }

    /// After a reconnect the server may be a new one (a restart) that lost the health
    /// hash: announce the ident again.
    fn announce_again(&self) {
        let Some(ident) = self.ident.clone() else {
            return;
        };
        let core = self.core.clone();
        tokio::spawn(async move {
            let hash = core.channels.health_hash();
            if let Err(error) = core.commands.hash_set(hash, ident.as_str(), "true").await {
                tracing::warn!(%error, "could not announce the health ident again");
            }
        });
    }
}
