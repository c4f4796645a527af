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

pub mod capture;
pub mod correlate;
pub mod event;
pub mod export;
pub mod file;
pub mod filter;
pub mod sanitize;
pub mod stats;
pub mod store;
pub mod trace;

pub use capture::{Capture, CaptureEvents};
pub use correlate::{Correlator, Counters, DEFAULT_UNANSWERED_AFTER, Update};
pub use event::{Event, EventKind, GapEvent, MessageEvent};
pub use filter::{Filter, FilterError, TraceKind, TraceStatus};
pub use stats::{Stats, Summary};
pub use store::{DEFAULT_CAPACITY, TraceStore};
pub use trace::{Trace, TraceId};

use chrono::{DateTime, Utc};
use std::time::Duration;

/// How an inspector keeps its traces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InspectorOptions {
    /// The most traces kept.
    pub capacity: usize,
    /// How long a request waits for its reply before it is marked unanswered.
    pub unanswered_after: Duration,
}

impl Default for InspectorOptions {
    fn default() -> Self {
        InspectorOptions {
            capacity: DEFAULT_CAPACITY,
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
            correlator: Correlator::new(options.capacity, options.unanswered_after),
            stats: Stats::default(),
        }
    }

    /// Takes in one event; what it changed.
    pub fn ingest(&mut self, event: Event) -> Update {
        let update = self.correlator.ingest(event);
        if let Update::Completed(id) = update
            && let Some(trace) = self.correlator.store().get(id)
        {
            self.stats.record(trace);
        }
        update
    }

    /// Marks requests that waited too long (as of `now`) as unanswered.
    pub fn sweep(&mut self, now: DateTime<Utc>, mut updated: impl FnMut(Update)) {
        let Inspector { correlator, stats } = self;
        let mut completed = Vec::new();
        correlator.sweep(now, |update| completed.push(update));
        for update in completed {
            if let Update::Completed(id) = update
                && let Some(trace) = correlator.store().get(id)
            {
                stats.record(trace);
            }
            updated(update);
        }
    }

    /// The traces.
    pub fn store(&self) -> &TraceStore {
        self.correlator.store()
    }

    /// The statistics.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The running totals.
    pub fn counters(&self) -> Counters {
        self.correlator.counters()
    }

    /// Since when the capture is disconnected, if it is.
    pub fn lost_since(&self) -> Option<DateTime<Utc>> {
        self.correlator.lost_since()
    }
}
