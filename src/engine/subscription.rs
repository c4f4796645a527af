//! Subscription handles: what `reply_to` and `slot` return.

use super::{EngineError, Inner};
use crate::transport::Target;
use std::sync::Weak;

/// A handler's subscription. Dropping it keeps the handler; call
/// [`Subscription::unsubscribe`] to remove it.
pub struct Subscription {
    pub(super) engine: Weak<Inner>,
    pub(super) target: Target,
    pub(super) id: u64,
}

impl Subscription {
    /// The channel or pattern subscribed to.
    pub fn channel(&self) -> &str {
        match &self.target {
            Target::Channel(name) | Target::Pattern(name) => name,
        }
    }

    /// Removes the handler; the channel is unsubscribed when it was the last one on it
    /// (the subscriber counts the uses of each channel, so a handler of another group
    /// added meanwhile keeps it subscribed). The handler keeps serving until Redis has
    /// confirmed the unsubscribe and every message that arrived before it has been handed
    /// over, so that no request that counted this process as a listener is dropped.
    pub async fn unsubscribe(self) -> Result<(), EngineError> {
        let Some(inner) = self.engine.upgrade() else {
            return Ok(());
        };
        let result = inner.subscriber.unsubscribe(self.target.clone()).await;
        if result.is_ok() {
            // A subscriber that is gone has nothing left to hand over.
            let _ = inner.subscriber.flush().await;
        }
        inner.routes.remove(&self.target, self.id);
        result.map_err(EngineError::from)
    }
}
