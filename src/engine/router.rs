//! Routing what the subscriber receives: replies to the requests waiting for them,
//! everything else to a task per matching handler.

use super::routes::Routes;
use super::{Core, EngineError, serve};
use crate::protocol::Ident;
use crate::transport::{ConnectionEvent, Incoming};
use std::sync::Arc;

/// Routes what the subscriber receives: replies to the waiting requests, everything else
/// to a task per matching handler. It runs on the subscriber task, so it parses nothing:
/// payloads are read by whoever receives them.
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
            let work = serve::serve(
                self.core.clone(),
                route,
                channel.clone(),
                delivery.payload.clone(),
            );
            self.core.tracker.spawn(work);
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
