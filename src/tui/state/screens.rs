//! The topics, errors and services screens' state: rows fetched or computed, cursors,
//! loading and failures.

use crate::tui::model::{Host, LiveError, QueuedError, TopicRow};
use chrono::{DateTime, Utc};
use std::collections::VecDeque;

/// The topics screen.
#[derive(Debug, Clone, Default)]
pub struct TopicsView {
    /// Rows, busiest first, refreshed once a second.
    pub rows: Vec<TopicRow>,
    /// The selected row.
    pub selected: usize,
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
    /// The selected row: queue rows first, then live ones.
    pub selected: usize,
    /// Whether a load is on its way.
    pub loading: bool,
    /// Why the last load failed.
    pub failure: Option<String>,
    /// Traces with a record from a live error channel, oldest first, at most
    /// [`LIVE_ERRORS`](crate::tui::model::LIVE_ERRORS).
    pub live: VecDeque<LiveError>,
}

impl ErrorsView {
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
    /// The selected host.
    pub selected: usize,
    /// Whether a refresh is on its way.
    pub loading: bool,
    /// When the last refresh came back.
    pub refreshed: Option<DateTime<Utc>>,
    /// Why the last refresh failed.
    pub failure: Option<String>,
}
