//! The live capture: its own subscriber connection pattern-subscribed to everything under
//! the prefix, on a thread of its own.
//!
//! Every message is stamped where it comes off the socket, on the capture's own thread
//! and runtime, so the stamp does not wait for whatever the reader is busy with (drawing,
//! correlating, a paused pipe): latencies are the wire's, not the observer's. Events then
//! cross a buffer bounded by count and by bytes; when the reader falls behind, messages
//! are dropped and counted, never silently. Reconnects become [`Event::Lost`] and, once
//! back, [`Event::Gap`] with the outage — never dropped, and never ahead of the messages
//! that came before them.
//!
//! ```text
//!  capture thread                               reader (tail, the app)
//!  socket ─▶ Delivery{at} ─▶ MessageEvent ─▶ [buffer: count, bytes] ─▶ recv_many
//!            lost / gap ───(buffer full)──▶ [side queue, with its place] ─┘
//! ```

use super::event::{Event, GapEvent, MessageEvent};
use crate::protocol::Channels;
use crate::transport::{
    ConnectionEvent, Incoming, RedisConfig, Subscriber, Target, TransportError,
};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// How many events may wait for the reader before new ones are dropped.
pub const DEFAULT_BUFFER: usize = 1 << 18;

/// How many payload bytes may wait for the reader before new messages are dropped.
pub const DEFAULT_BUFFER_BYTES: usize = 128 << 20;

/// A running capture. Dropping every clone (and the receiver) stops it.
#[derive(Clone)]
pub struct Capture {
    subscriber: Subscriber,
    dropped: Arc<AtomicU64>,
    received: Arc<AtomicU64>,
    pattern: String,
}

/// What the capture thread and the reader share about the buffer.
#[derive(Default)]
struct Flow {
    /// Events put in the buffer so far.
    sent: AtomicU64,
    /// Payload bytes in the buffer now.
    bytes: AtomicUsize,
}

impl Capture {
    /// Connects and pattern-subscribes; events arrive on the returned receiver. The
    /// buffer holds at most `buffer` events and [`DEFAULT_BUFFER_BYTES`] bytes.
    pub async fn start(
        redis: RedisConfig,
        channels: Channels,
        buffer: usize,
    ) -> Result<(Capture, CaptureEvents), TransportError> {
        Capture::start_bounded(redis, channels, buffer, DEFAULT_BUFFER_BYTES).await
    }

    /// [`Capture::start`] with a bound on the bytes waiting in the buffer.
    pub async fn start_bounded(
        redis: RedisConfig,
        channels: Channels,
        buffer: usize,
        max_bytes: usize,
    ) -> Result<(Capture, CaptureEvents), TransportError> {
        let (events, messages) = mpsc::channel(buffer.max(1));
        let (overflow, control) = mpsc::unbounded_channel();
        let dropped = Arc::new(AtomicU64::new(0));
        let received = Arc::new(AtomicU64::new(0));
        let flow = Arc::new(Flow::default());
        let pattern = channels.everything_pattern();
        let deliver = {
            let dropped = dropped.clone();
            let received = received.clone();
            let flow = flow.clone();
            let last_reason = Mutex::new(String::new());
            move |incoming: Incoming| {
                let event = match incoming {
                    Incoming::Message(delivery) => {
                        received.fetch_add(1, Ordering::Relaxed);
                        let size = delivery.payload.len();
                        if flow.bytes.load(Ordering::Relaxed) + size > max_bytes {
                            dropped.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                        let event = match &delivery.raw_channel {
                            Some(bytes) => MessageEvent::read_bytes(
                                &channels,
                                delivery.at,
                                bytes,
                                delivery.payload,
                            ),
                            None => MessageEvent::read(
                                &channels,
                                delivery.at,
                                &delivery.channel,
                                delivery.payload,
                            ),
                        };
                        Event::Message(event)
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
                let size = match &event {
                    Event::Message(message) => message.payload.len(),
                    _ => 0,
                };
                let is_message = matches!(event, Event::Message(_));
                // Counted before the send, so the reader never takes back bytes it was
                // not yet charged for.
                flow.bytes.fetch_add(size, Ordering::Relaxed);
                match events.try_send(event) {
                    Ok(()) => {
                        flow.sent.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(full) if is_message => {
                        drop(full);
                        flow.bytes.fetch_sub(size, Ordering::Relaxed);
                        dropped.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(full) => {
                        // A loss or a gap is never dropped: it is how the reader learns
                        // that messages may be missing. It goes aside with its place:
                        // after every event already in the buffer, before any later one.
                        let after = flow.sent.load(Ordering::Relaxed);
                        let _ = overflow.send((after, full.into_inner()));
                    }
                }
            }
        };
        let subscriber = start_on_own_thread(redis, deliver).await?;
        subscriber
            .subscribe(Target::Pattern(pattern.clone()))
            .await?;
        let capture = Capture {
            subscriber,
            dropped,
            received,
            pattern,
        };
        let events = CaptureEvents {
            messages,
            control: Some(control),
            waiting: None,
            taken: 0,
            flow: Some(flow),
        };
        Ok((capture, events))
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

/// Runs the subscriber on a thread and a runtime of its own, so that its stamps are
/// taken when messages come off the socket whatever the caller's runtime is doing. The
/// thread ends when the subscriber does.
async fn start_on_own_thread(
    redis: RedisConfig,
    deliver: impl Fn(Incoming) + Send + Sync + 'static,
) -> Result<Subscriber, TransportError> {
    let (started, start) = oneshot::channel();
    let url = redis.display_url();
    let failed = move |error: std::io::Error| TransportError::Connect {
        url: url.clone(),
        reason: format!("cannot start the capture thread: {error}"),
    };
    let thread_failed = failed.clone();
    let spawned = std::thread::Builder::new()
        .name("gilmour-capture".to_owned())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => {
                    let _ = started.send(Err(thread_failed(error)));
                    return;
                }
            };
            runtime.block_on(async move {
                let subscriber = match Subscriber::start(redis, deliver).await {
                    Ok(subscriber) => subscriber,
                    Err(error) => {
                        let _ = started.send(Err(error));
                        return;
                    }
                };
                // The task's event stream closes when the task ends (every handle
                // dropped, or closed): then this thread is done.
                let mut events = subscriber.events();
                if started.send(Ok(subscriber)).is_err() {
                    return;
                }
                while !matches!(
                    events.recv().await,
                    Err(tokio::sync::broadcast::error::RecvError::Closed)
                ) {}
            });
        });
    if let Err(error) = spawned {
        return Err(failed(error));
    }
    start.await.map_err(|_| TransportError::Closed)?
}

/// The events of a capture, in order. Connection events that found the buffer full wait
/// on a side queue that is never dropped and are handed over at their place.
pub struct CaptureEvents {
    messages: mpsc::Receiver<Event>,
    control: Option<mpsc::UnboundedReceiver<(u64, Event)>>,
    /// A connection event from the side queue, waiting for its place.
    waiting: Option<(u64, Event)>,
    /// Events taken from the buffer so far.
    taken: u64,
    flow: Option<Arc<Flow>>,
}

impl From<mpsc::Receiver<Event>> for CaptureEvents {
    /// Events from anywhere else (a capture file being read), with the same interface.
    fn from(messages: mpsc::Receiver<Event>) -> Self {
        CaptureEvents {
            messages,
            control: None,
            waiting: None,
            taken: 0,
            flow: None,
        }
    }
}

impl CaptureEvents {
    /// Waits for events and moves up to `limit` of them into `buffer`; 0 when the
    /// capture has ended.
    pub async fn recv_many(&mut self, buffer: &mut Vec<Event>, limit: usize) -> usize {
        let limit = limit.max(1);
        let before = buffer.len();
        loop {
            self.take_waiting();
            if let Some((after, _)) = &self.waiting
                && *after <= self.taken
                && let Some((_, event)) = self.waiting.take()
            {
                buffer.push(event);
                continue;
            }
            if buffer.len() > before {
                return buffer.len() - before;
            }
            // Take no more than what comes before the waiting event's place.
            let room = match &self.waiting {
                Some((after, _)) => usize::try_from(after - self.taken).unwrap_or(usize::MAX),
                None => usize::MAX,
            };
            let wanted = limit.min(room).max(1);
            let received = match (&mut self.control, self.waiting.is_some()) {
                (Some(control), false) => tokio::select! {
                    received = self.messages.recv_many(buffer, wanted) => received,
                    Some(aside) = control.recv() => {
                        self.waiting = Some(aside);
                        continue;
                    }
                },
                _ => self.messages.recv_many(buffer, wanted).await,
            };
            if received == 0 {
                // The buffer is closed: hand over what waits aside, then end.
                if let Some((_, event)) = self.waiting.take() {
                    buffer.push(event);
                    return 1;
                }
                return 0;
            }
            self.took(&buffer[buffer.len() - received..]);
            return received;
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
        self.take_waiting();
        if let Some((after, _)) = &self.waiting
            && *after <= self.taken
        {
            return self.waiting.take().map(|(_, event)| event);
        }
        let event = self.messages.try_recv().ok()?;
        self.took(std::slice::from_ref(&event));
        Some(event)
    }

    /// Moves the next connection event from the side queue into `waiting`.
    fn take_waiting(&mut self) {
        if self.waiting.is_none()
            && let Some(control) = &mut self.control
            && let Ok(aside) = control.try_recv()
        {
            self.waiting = Some(aside);
        }
    }

    fn took(&mut self, events: &[Event]) {
        self.taken += events.len() as u64;
        if let Some(flow) = &self.flow {
            let bytes: usize = events
                .iter()
                .map(|event| match event {
                    Event::Message(message) => message.payload.len(),
                    _ => 0,
                })
                .sum();
            flow.bytes.fetch_sub(bytes, Ordering::Relaxed);
        }
    }
}
