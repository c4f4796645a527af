//! What the engine counts about load and faults, so that nothing it sheds, delays or
//! cannot be sure of is silent.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};

/// The engine's counters (shared by its tasks).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub lock_delayed: AtomicU64,
    pub lock_skipped: AtomicU64,
    pub lock_unknown: AtomicU64,
    pub replies_republished: AtomicU64,
    pub replies_unheard: AtomicU64,
    pub shed: AtomicU64,
}

impl Counters {
    /// Adds one.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Stats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        Stats {
            lock_delayed: read(&self.lock_delayed),
            lock_skipped: read(&self.lock_skipped),
            lock_unknown: read(&self.lock_unknown),
            replies_republished: read(&self.replies_republished),
            replies_unheard: read(&self.replies_unheard),
            shed: read(&self.shed),
        }
    }
}

/// A snapshot of the engine's counters since it connected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Group lock attempts put off for a moment because the route was at capacity, so
    /// that a member with capacity wins the lock.
    pub lock_delayed: u64,
    /// Messages of a grouped route this process did not compete for at all, because the
    /// route's queue was full; a member with capacity serves them.
    pub lock_skipped: u64,
    /// Group lock attempts whose outcome is unknown (the `SET NX` got no reply): the
    /// message was left to the other members, which may all have lost it.
    pub lock_unknown: u64,
    /// Replies published again because nobody had received them yet (a caller that
    /// subscribes to its reply channel late, as the Ruby library does).
    pub replies_republished: u64,
    /// Replies that nobody received, even after publishing them again.
    pub replies_unheard: u64,
    /// Messages dropped because a bounded queue was full (logged as they are dropped).
    pub shed: u64,
}
