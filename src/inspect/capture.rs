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
    ) -> Result<(Capture, CaptureEvents), TransportError> {
        let (events, messages) = mpsc::channel(buffer.max(1));
        let (overflow, control) = mpsc::unbounded_channel();
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
                    Incoming::Event(ConnectionEvent::Disconnected { since, reason, .. }) => {
                        if let Ok(mut last) = last_reason.lock() {
                            last.clone_from(&reason);
                        }
                        Event::Lost { at: since, reason }
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
                let is_message = matches!(event, Event::Message(_));
                if let Err(full) = events.try_send(event) {
                    if is_message {
                        dropped.fetch_add(1, Ordering::Relaxed);
                    } else {
                        // A loss or a gap is never dropped: it is how the reader learns
                        // that messages may be missing.
                        let _ = overflow.send(full.into_inner());
                    }
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
        Ok((capture, CaptureEvents { messages, control }))
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

/// The events of a capture, in order. Connection events that found the buffer full wait
/// on a side channel that is never dropped and are handed over first.
pub struct CaptureEvents {
    messages: mpsc::Receiver<Event>,
    control: mpsc::UnboundedReceiver<Event>,
}

impl From<mpsc::Receiver<Event>> for CaptureEvents {
    /// Events from anywhere else (a capture file being read), with the same interface.
    fn from(messages: mpsc::Receiver<Event>) -> Self {
        let (_, control) = mpsc::unbounded_channel();
        CaptureEvents { messages, control }
    }
}

impl CaptureEvents {
    /// Waits for events and moves up to `limit` of them into `buffer`; 0 when the
    /// capture has ended.
    pub async fn recv_many(&mut self, buffer: &mut Vec<Event>, limit: usize) -> usize {
        let mut moved = 0;
        while moved < limit
            && let Ok(event) = self.control.try_recv()
        {
            buffer.push(event);
            moved += 1;
        }
        if moved > 0 {
            return moved;
        }
        tokio::select! {
            received = self.messages.recv_many(buffer, limit) => received,
            Some(event) = self.control.recv() => {
                buffer.push(event);
                1
            }
        }
    }

    /// Waits for the next event; `None` when the capture has ended.
    pub async fn recv(&mut self) -> Option<Event> {
        let mut buffer = Vec::with_capacity(1);
        match self.recv_many(&mut buffer, 1).await {
            0 => None,
            _ => buffer.pop(),
        }
    }

    /// The next event if one is waiting.
    pub fn try_recv(&mut self) -> Option<Event> {
        self.control
            .try_recv()
            .ok()
            .or_else(|| self.messages.try_recv().ok())
    }
}
