//! Routing what the subscriber receives: replies to the requests waiting for them,
//! everything else to a task per matching handler.

use super::handler::Request;
use super::routes::Routes;
use super::{Core, EngineError, serve};
use crate::protocol::Message;
use crate::transport::{ConnectionEvent, Incoming};
use std::sync::Arc;

/// Routes what the subscriber receives: replies to the waiting requests, everything else
/// to a task per matching handler.
pub(super) struct Router {
    pub(super) core: Arc<Core>,
    pub(super) routes: Arc<Routes>,
    pub(super) reply_pattern: String,
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
            Incoming::Event(_) => return,
        };
        if delivery.pattern.as_deref() == Some(self.reply_pattern.as_str()) {
            let (_, sender) = self.core.channels.classify(&delivery.channel);
            let (reply, _) = Message::parse_lenient(&delivery.payload);
            self.routes.deliver_reply(sender, reply);
            return;
        }
        let routes = self
            .routes
            .lookup(&delivery.channel, delivery.pattern.as_deref());
        if routes.is_empty() {
            return;
        }
        let (message, payload) = Message::parse_lenient(&delivery.payload);
        let (_, topic) = self.core.channels.classify(&delivery.channel);
        let request = Request {
            topic: topic.to_owned(),
            channel: delivery.channel.clone(),
            message,
        };
        for route in routes {
            let work = serve::serve(self.core.clone(), route, request.clone(), payload);
            self.core.tracker.spawn(work);
        }
    }
}
