//! The live capture: its own subscriber connection pattern-subscribed to everything under
//! the prefix. Every message becomes an [`Event`] on a bounded channel; when the reader
//! falls behind, events are dropped and counted, never silently. Reconnects become
//! [`Event::Lost`] and, once back, [`Event::Gap`] with the outage.

use super::event::{Event, GapEvent, MessageEvent};
use crate::protocol::Channels;
use crate::transport::{
    ConnectionEvent, Incoming, RedisConfig, Subscriber, Target, TransportError,
};
use chrono::Utc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// How many events may wait for the reader before new ones are dropped.
pub const DEFAULT_BUFFER: usize = 1 << 18;

/// A running capture. Dropping every clone (and the receiver) stops it.
#[derive(Clone)]
pub struct Capture {
    subscriber: Subscriber,
    dropped: Arc<AtomicU64>,
    received: Arc<AtomicU64>,
    pattern: String,
}

impl Capture {
    /// Connects and pattern-subscribes; events arrive on the returned receiver.
    pub async fn start(
        redis: RedisConfig,
        channels: Channels,
        buffer: usize,
    ) -> Result<(Capture, mpsc::Receiver<Event>), TransportError> {
        let (events, receiver) = mpsc::channel(buffer.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        let received = Arc::new(AtomicU64::new(0));
        let pattern = channels.everything_pattern();
        let deliver = {
            let dropped = dropped.clone();
            let received = received.clone();
            let last_reason = Mutex::new(String::new());
            move |incoming: Incoming| {
                let event = match incoming {
                    Incoming::Message(delivery) => {
                        received.fetch_add(1, Ordering::Relaxed);
                        Event::Message(MessageEvent::read(
                            &channels,
                            Utc::now(),
                            &delivery.channel,
                            delivery.payload,
                        ))
                    }
                    Incoming::Event(ConnectionEvent::Disconnected { at, reason }) => {
                        if let Ok(mut last) = last_reason.lock() {
                            last.clone_from(&reason);
                        }
                        Event::Lost { at, reason }
                    }
                    Incoming::Event(ConnectionEvent::Resubscribed { at, outage, .. }) => {
                        let reason = last_reason
                            .lock()
                            .map(|last| last.clone())
                            .unwrap_or_default();
                        let since = at - chrono::Duration::from_std(outage).unwrap_or_default();
                        Event::Gap(GapEvent {
                            since,
                            until: at,
                            reason,
                        })
                    }
                    Incoming::Event(ConnectionEvent::Connected { .. }) => return,
                };
                if events.try_send(event).is_err() {
                    dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
        };
        let subscriber = Subscriber::start(redis, deliver).await?;
        subscriber
            .subscribe(Target::Pattern(pattern.clone()))
            .await?;
        let capture = Capture {
            subscriber,
            dropped,
            received,
            pattern,
        };
        Ok((capture, receiver))
    }

    /// Events dropped because the reader fell behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Messages received from Redis.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// The pattern captured.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Whether the capture connection is up.
    pub fn is_connected(&self) -> bool {
        self.subscriber.is_connected()
    }

    /// Stops capturing.
    pub async fn close(&self) {
        self.subscriber.close().await;
    }
}
