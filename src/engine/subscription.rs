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

    /// Removes the handler; the channel is unsubscribed when it was the last one on it.
    /// The handler keeps serving until Redis has confirmed the unsubscribe and every
    /// message that arrived before it has been handed over, so that no request that
    /// counted this process as a listener is dropped.
    pub async fn unsubscribe(self) -> Result<(), EngineError> {
        let Some(inner) = self.engine.upgrade() else {
            return Ok(());
        };
        if inner.routes.is_only(&self.target, self.id) {
            inner.subscriber.unsubscribe(self.target.clone()).await?;
            inner.subscriber.flush().await?;
        }
        inner.routes.remove(&self.target, self.id);
        Ok(())
    }
}
