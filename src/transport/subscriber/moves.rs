//! A subscriber's move to the home of pub/sub on a cluster: for a while both sockets
//! deliver, and each message is handed on once (see [`Dedupe`]).

use super::Delivery;
use redis::aio::{PubSub, PubSubSink};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

/// How often a subscriber on a cluster checks that it is on the home of pub/sub.
pub(super) const HOME_CHECK: Duration = Duration::from_secs(5);
/// How long the sockets on the old node and on the home both deliver, so that a message
/// on its way to either is not lost: each is handed on once, from whichever has it first.
pub(super) const MOVE_OVERLAP: Duration = Duration::from_secs(2);
/// How long before the new socket subscribes the old one's messages are noted: the
/// cluster bus may bring the new one a message the old one delivered that long ago.
pub(super) const MOVE_RECORD: Duration = Duration::from_secs(1);
/// How long after the old socket is closed the new one's copies of what it delivered
/// are still recognised.
pub(super) const MOVE_TAIL: Duration = Duration::from_secs(2);
/// The sides of a [`Dedupe`].
pub(super) const OLD: usize = 0;
pub(super) const NEW: usize = 1;

/// How a move ended.
pub(super) enum Moved {
    /// On the home: the new socket's halves, and the tail of the move.
    Home(PubSubSink, redis::aio::PubSubStream, Tail),
    /// On the old socket still, with a tail when the new one delivered meanwhile.
    Stayed(Option<Tail>),
}

/// A move of the subscriber to the home of pub/sub, under way.
pub(super) struct Moving {
    pub(super) home: String,
    /// Connected to the home, not subscribed yet.
    pub(super) pubsub: PubSub,
    /// What the old socket delivered since the move began.
    pub(super) dedupe: Dedupe,
    /// When the new socket subscribes.
    pub(super) at: tokio::time::Instant,
}

/// The moves of one connected session: the one under way, and the last one's tail.
#[derive(Default)]
pub(super) struct Moves {
    pub(super) moving: Option<Moving>,
    pub(super) tail: Option<Tail>,
}

/// After a move: for a while, the socket kept drops its copies of what the other one
/// delivered.
pub(super) struct Tail {
    dedupe: Dedupe,
    /// The side whose deliveries the socket kept may still bring copies of.
    other: usize,
    pub(super) until: tokio::time::Instant,
}

impl Moves {
    pub(super) fn idle(&self) -> bool {
        self.moving.is_none() && self.tail.is_none()
    }

    /// Whether a message from the socket in use is to be handed on: not when it is the
    /// copy of one the other socket delivered in a move just made.
    pub(super) fn admit(&mut self, delivery: &Delivery) -> bool {
        if let Some(moving) = &mut self.moving {
            moving.dedupe.first(OLD, delivery);
            return true;
        }
        self.expire();
        let Some(tail) = &mut self.tail else {
            return true;
        };
        !tail.dedupe.copy_of(tail.other, delivery)
    }

    /// Ends the tail once it is over or has nothing left to match.
    pub(super) fn expire(&mut self) {
        if self.tail.as_ref().is_some_and(|tail| {
            tokio::time::Instant::now() >= tail.until
                || tail.dedupe.unmatched[tail.other].is_empty()
        }) {
            self.tail = None;
        }
    }
}

/// Hands on each message of two subscriptions to the same targets once: a message from
/// one side is a copy when the other side has delivered one like it that this side has
/// not matched yet.
#[derive(Default)]
pub(super) struct Dedupe {
    /// Per side, what it delivered that the other has not matched yet, with when.
    unmatched: [HashMap<MessageKey, VecDeque<tokio::time::Instant>>; 2],
}

/// What tells two copies of a message apart from other messages: channel (its bytes),
/// pattern and payload.
type MessageKey = (Arc<[u8]>, Option<String>, Arc<[u8]>);

fn key(delivery: &Delivery) -> MessageKey {
    let channel = delivery
        .raw_channel
        .clone()
        .unwrap_or_else(|| Arc::from(delivery.channel.as_bytes()));
    (channel, delivery.pattern.clone(), delivery.payload.clone())
}

impl Dedupe {
    /// Whether `delivery` is the copy of one `side` delivered; that one is matched then.
    fn copy_of(&mut self, side: usize, delivery: &Delivery) -> bool {
        self.take(side, &key(delivery))
    }

    /// Whether `delivery`, from `side` (0 or 1), is the first of its two copies.
    pub(super) fn first(&mut self, side: usize, delivery: &Delivery) -> bool {
        let key = key(delivery);
        if self.take(1 - side, &key) {
            return false;
        }
        self.unmatched[side]
            .entry(key)
            .or_default()
            .push_back(tokio::time::Instant::now());
        true
    }

    /// Matches one unmatched delivery of `key` from `side`, if there is one.
    fn take(&mut self, side: usize, key: &MessageKey) -> bool {
        let Some(times) = self.unmatched[side].get_mut(key) else {
            return false;
        };
        times.pop_front();
        if times.is_empty() {
            self.unmatched[side].remove(key);
        }
        true
    }

    /// The tail of a move, for the socket kept, `other` being the side it may still
    /// bring copies of: only what `other` delivered since `since` (when both sockets
    /// were subscribed) is kept; a copy of anything older would have come by now, and
    /// an unmatched one would swallow a new message that is equal to it.
    pub(super) fn into_tail(mut self, other: usize, since: tokio::time::Instant) -> Tail {
        self.unmatched[1 - other].clear();
        self.unmatched[other].retain(|_, times| {
            times.retain(|at| *at >= since);
            !times.is_empty()
        });
        Tail {
            dedupe: self,
            other,
            until: tokio::time::Instant::now() + MOVE_TAIL,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn message(channel: &str, pattern: Option<&str>, payload: &str) -> Delivery {
        Delivery {
            at: Utc::now(),
            channel: channel.to_owned(),
            raw_channel: None,
            pattern: pattern.map(str::to_owned),
            payload: Arc::from(payload.as_bytes()),
        }
    }

    #[test]
    fn two_subscriptions_hand_on_each_message_once() {
        let mut dedupe = Dedupe::default();
        let (a, b) = (message("c", None, "1"), message("c", None, "2"));
        // Whichever side has it first delivers it; the other's copy is dropped.
        assert!(dedupe.first(0, &a));
        assert!(dedupe.first(1, &b));
        assert!(!dedupe.first(1, &a));
        assert!(!dedupe.first(0, &b));
        // Two equal messages are two messages: each side delivers its first copy once.
        assert!(dedupe.first(0, &a));
        assert!(dedupe.first(0, &a));
        assert!(!dedupe.first(1, &a));
        assert!(!dedupe.first(1, &a));
        assert!(dedupe.first(1, &a));
        // The same message through a pattern is another delivery, not a copy.
        let by_pattern = message("c", Some("c*"), "1");
        assert!(dedupe.first(1, &by_pattern));
    }

    #[test]
    fn a_moves_tail_drops_late_copies_and_nothing_else() {
        let mut dedupe = Dedupe::default();
        // Delivered by the old socket before the new one subscribed: its copy never
        // comes to the new one.
        let tick = message("c", None, "tick");
        assert!(dedupe.first(OLD, &tick));
        std::thread::sleep(Duration::from_millis(2));
        let since = tokio::time::Instant::now();
        // Delivered by the old socket while both were subscribed: its copy is on its way.
        let late = message("c", None, "late");
        assert!(dedupe.first(OLD, &late));
        assert!(dedupe.first(NEW, &message("c", None, "other")));
        let mut tail = dedupe.into_tail(OLD, since);
        assert!(tail.dedupe.copy_of(OLD, &late), "the late copy is dropped");
        assert!(!tail.dedupe.copy_of(OLD, &late), "once");
        assert!(
            !tail.dedupe.copy_of(OLD, &tick),
            "a new tick equal to an old one is a new message"
        );
        assert!(tail.dedupe.unmatched[NEW].is_empty());
    }

    #[test]
    fn channels_that_are_not_utf8_are_told_apart() {
        let mut dedupe = Dedupe::default();
        let mut one = message("?", None, "x");
        one.raw_channel = Some(Arc::from(&b"\xff1"[..]));
        let mut two = message("?", None, "x");
        two.raw_channel = Some(Arc::from(&b"\xff2"[..]));
        assert!(dedupe.first(OLD, &one));
        assert!(dedupe.first(NEW, &two), "another channel: no copy");
    }
}
