//! The topics, errors and services screens' state: rows fetched or computed, cursors,
//! loading and failures.

use crate::tui::model::{LiveError, TopicRow};
use chrono::{DateTime, Utc};
use gilmour::inspect::TraceId;
use gilmour::inspect::errors::QueuedError;
use gilmour::inspect::services::Host;
use std::collections::VecDeque;

/// The topics screen.
#[derive(Debug, Clone, Default)]
pub struct TopicsView {
    /// Rows, busiest first, refreshed once a second.
    pub rows: Vec<TopicRow>,
    /// The selected row.
    pub selected: usize,
    /// The selected topic's latencies, refreshed with the rows.
    pub latency: Option<TopicLatency>,
    /// Whether the latency panel takes the whole screen (on a short terminal it has no
    /// room below the table).
    pub latency_only: bool,
}

/// One topic's latencies, for the panel under the topics table.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicLatency {
    /// The topic.
    pub topic: std::sync::Arc<str>,
    /// Its histogram, fastest first.
    pub histogram: Vec<gilmour::inspect::stats::Bucket>,
    /// p50 and p99 per second over the last minute, oldest first.
    pub history: Vec<Option<gilmour::inspect::stats::SecondQuantiles>>,
}

/// The errors screen.
#[derive(Debug, Clone, Default)]
pub struct ErrorsView {
    /// The page of queued records, newest first.
    pub queue: Vec<QueuedError>,
    /// The length of the queue.
    pub total: usize,
    /// The page shown (0 is the newest).
    pub page: usize,
    /// The selected row: live rows first, then queue ones.
    pub selected: usize,
    /// Whether a load is on its way.
    pub loading: bool,
    /// Why the last load failed.
    pub failure: Option<String>,
    /// When the last load came back.
    pub refreshed: Option<DateTime<Utc>>,
    /// Traces with a record from a live error channel, oldest first, at most
    /// [`LIVE_ERRORS`](crate::tui::model::LIVE_ERRORS).
    pub live: VecDeque<LiveError>,
}

/// A row of the errors screen: the live records come first, newest first (they are what
/// is happening now), then the page of the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorRow {
    /// A trace with a record seen live.
    Live(TraceId),
    /// The queue entry at this index of the page.
    Queued(usize),
}

impl ErrorsView {
    /// How many rows the screen lists.
    pub fn rows(&self) -> usize {
        self.live.len() + self.queue.len()
    }

    /// What the row `at` is.
    pub fn row(&self, at: usize) -> Option<ErrorRow> {
        let live = self.live.len();
        if at < live {
            return self
                .live
                .get(live - 1 - at)
                .map(|row| ErrorRow::Live(row.id));
        }
        let index = at - live;
        (index < self.queue.len()).then_some(ErrorRow::Queued(index))
    }

    /// The channels the live rows came on, each once, in the order first seen.
    pub fn live_channels(&self) -> Vec<&str> {
        let mut channels: Vec<&str> = Vec::new();
        for live in &self.live {
            if !channels.contains(&&*live.channel) {
                channels.push(&live.channel);
            }
        }
        channels
    }
}

/// The services screen.
#[derive(Debug, Clone, Default)]
pub struct ServicesView {
    /// Known hosts.
    pub hosts: Vec<Host>,
    /// Request channels with listeners, and how many.
    pub listened: Vec<(String, usize)>,
    /// The cluster's nodes, primaries first (none when Redis is no cluster).
    pub nodes: Vec<gilmour::transport::cluster::Node>,
    /// The selected host.
    pub selected: usize,
    /// Whether a refresh is on its way.
    pub loading: bool,
    /// When the last refresh came back.
    pub refreshed: Option<DateTime<Utc>>,
    /// Why the last refresh failed.
    pub failure: Option<String>,
}
