//! The inspector: capture Gilmour traffic, correlate it into traces, keep them in a
//! bounded store, filter them and measure them.
//!
//! ```text
//!  Redis ──PSUBSCRIBE gilmour.*──▶ Capture ──Event──▶ Inspector ─┬─ Correlator → TraceStore
//!  capture file ──────────────────────────Event──▶      │        └─ Stats
//!                                                        └──▶ Update (tail, TUI)
//! ```
//!
//! [`Inspector`] does no I/O: whoever owns it (`gilmour tail`, the TUI) feeds it events
//! from a live [`Capture`] or a capture file and reads the store.

mod blocks;
pub mod capture;
pub mod correlate;
pub mod deep;
pub mod errors;
pub mod event;
pub mod export;
pub mod file;
pub mod filter;
pub mod metrics;
pub mod monitor;
pub mod sanitize;
pub mod services;
pub mod stats;
pub mod store;
pub mod trace;
pub mod tree;

pub use capture::{Capture, CaptureEvents};
pub use correlate::{
    Correlator, Counters, DEFAULT_MAX_PAYLOAD, DEFAULT_UNANSWERED_AFTER, MAX_EXTRA_EVENTS, Update,
};
pub use event::{Event, EventKind, GapEvent, MessageEvent};
pub use filter::{Filter, FilterError, TraceKind, TraceStatus};
pub use stats::{Stats, Summary};
pub use store::{DEFAULT_CAPACITY, DEFAULT_MAX_MEMORY, TraceStore};
pub use trace::{Trace, TraceId};

use chrono::{DateTime, Utc};
use std::time::Duration;

/// How an inspector keeps its traces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InspectorOptions {
    /// The most traces kept.
    pub capacity: usize,
    /// The most bytes the stored traces hold (oldest evicted first).
    pub max_memory: usize,
    /// The most bytes of one payload kept; a longer one keeps a prefix and its length.
    pub max_payload: usize,
    /// How long a request waits for its reply before it is marked unanswered; also how
    /// far apart a request and a reply or record that came before it may be and still
    /// belong together.
    pub unanswered_after: Duration,
}

impl Default for InspectorOptions {
    fn default() -> Self {
        InspectorOptions {
            capacity: DEFAULT_CAPACITY,
            max_memory: DEFAULT_MAX_MEMORY,
            max_payload: DEFAULT_MAX_PAYLOAD,
            unanswered_after: DEFAULT_UNANSWERED_AFTER,
        }
    }
}

/// Correlation, storage and statistics, fed one event at a time.
#[derive(Debug)]
pub struct Inspector {
    correlator: Correlator,
    stats: Stats,
}

impl Default for Inspector {
    fn default() -> Self {
        Inspector::new(InspectorOptions::default())
    }
}

impl Inspector {
    /// An empty inspector.
    pub fn new(options: InspectorOptions) -> Self {
        Inspector {
            correlator: Correlator::new(options),
            stats: Stats::default(),
        }
    }

    /// Takes in one event; what it changed.
    pub fn ingest(&mut self, event: Event) -> Update {
        let update = self.correlator.ingest(event);
        self.account(update);
        update
    }

    /// Counts a completed trace in the statistics, or moves the figures of one that
    /// changed (a reply after all, its request after its reply): each trace once.
    fn account(&mut self, update: Update) {
        if let Update::Completed(id) | Update::Changed(id) = update
            && let Some(trace) = self.correlator.store_mut().get_mut_uncounted(id)
        {
            self.stats.record(trace);
        }
    }

    /// Takes in one deep fact (from MONITOR); the trace it changed, if it is stored
    /// already. Of the statistics only who answered changes: deep facts add who and
    /// when, not outcomes.
    pub fn ingest_deep(&mut self, event: deep::DeepEvent) -> Option<TraceId> {
        let id = self.correlator.ingest_deep(event)?;
        // Who answered counts in the topic's figures once it is known.
        if let Some(trace) = self.correlator.store_mut().get_mut_uncounted(id)
            && trace.counted.is_some()
        {
            self.stats.record(trace);
        }
        Some(id)
    }

    /// Marks requests that waited too long (as of `now`) as unanswered.
    pub fn sweep(&mut self, now: DateTime<Utc>, mut updated: impl FnMut(Update)) {
        let mut completed = Vec::new();
        self.correlator.sweep(now, |update| completed.push(update));
        for update in completed {
            self.account(update);
            updated(update);
        }
    }

    /// The traces.
    pub fn store(&self) -> &TraceStore {
        self.correlator.store()
    }

    /// Pins a trace: the store's eviction passes it by (see [`TraceStore::pin`]).
    pub fn pin(&mut self, id: TraceId) -> Result<(), store::PinError> {
        self.correlator.store_mut().pin(id)
    }

    /// Unpins a trace.
    pub fn unpin(&mut self, id: TraceId) {
        self.correlator.store_mut().unpin(id);
    }

    /// The statistics.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The running totals.
    pub fn counters(&self) -> Counters {
        self.correlator.counters()
    }

    /// How many topic and channel names are interned (pruned of those no stored trace
    /// uses).
    pub fn interned(&self) -> usize {
        self.correlator.interned()
    }

    /// Since when the capture is disconnected, if it is.
    pub fn lost_since(&self) -> Option<DateTime<Utc>> {
        self.correlator.lost_since()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Channels;
    use std::sync::Arc;

    fn event(at: DateTime<Utc>, channel: &str, payload: &str) -> Event {
        Event::Message(MessageEvent::read(
            &Channels::default(),
            at,
            channel,
            Arc::from(payload.as_bytes()),
        ))
    }

    #[test]
    fn a_late_reply_corrects_the_figures_of_an_unanswered_request() {
        let start = Utc::now();
        let mut inspector = Inspector::default();
        inspector.ingest(event(
            start,
            "gilmour.request.slow",
            r#"{"data":1,"sender":"s"}"#,
        ));
        inspector.sweep(start + chrono::Duration::seconds(31), |_| {});
        let figures = inspector.stats().topic("slow", start).expect("counted");
        assert_eq!(
            (figures.count, figures.errors, figures.latency),
            (1, 0, None)
        );

        let late = start + chrono::Duration::seconds(40);
        let update = inspector.ingest(event(
            late,
            "gilmour.response.s",
            r#"{"data":0,"code":500}"#,
        ));
        assert!(matches!(update, Update::Changed(_)));
        let figures = inspector.stats().topic("slow", start).expect("counted");
        assert_eq!(
            (figures.count, figures.errors),
            (1, 1),
            "counted once, now failed"
        );
        assert_eq!(
            figures.latency.map(|latency| latency.max.as_secs()),
            Some(40)
        );
        assert_eq!(inspector.stats().overall(start).errors, 1);
    }
}
