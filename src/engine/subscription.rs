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
    pub async fn unsubscribe(self) -> Result<(), EngineError> {
        let Some(inner) = self.engine.upgrade() else {
            return Ok(());
        };
        if inner.routes.remove(&self.target, self.id) {
            inner.subscriber.unsubscribe(self.target).await?;
        }
        Ok(())
    }
}
