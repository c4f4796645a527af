//! The error queue (`gilmour.errorqueue`, or the configured list): read a page, read one
//! entry, re-send the request it reports, delete an entry, trim the queue.
//!
//! ```text
//!   LPUSH (queue policy) ──▶ [ newest … oldest ] ──▶ LTRIM 0 9999 (the cap)
//!                              0   1   2 …
//! ```
//!
//! Entries are numbered from the head, 0 the newest, as `LRANGE` numbers them; new
//! records move every number up. So anything that changes the queue works by value:
//! delete is `LREM` of the entry's bytes, and a trim below an entry someone was shown
//! finds that entry again (see [`crate::transport::lists`]). Entries are read in every
//! layout there is (ours, Go's scrambled one, Ruby's envelope) through [`ErrorView`].

use super::filter::{FilterSubject, Needle, TraceKind, TraceStatus};
use crate::engine::{Engine, EngineError, RequestOptions, Response};
use crate::protocol::{Channels, Code, ErrorView, RecordLayout};
use crate::transport::lists::{self, Cut, Trimmed};
use crate::transport::{Commands, RedisConfig, TransportError};
use serde_json::Value;
use std::time::Duration;
use thiserror::Error;

/// The most entries the queue policies keep (`LTRIM 0 9999`).
pub const QUEUE_CAP: usize = 10_000;

/// What can go wrong with the error queue.
#[derive(Debug, Error)]
pub enum QueueError {
    /// Redis failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// Re-sending failed before an answer came.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// No entry at that index.
    #[error("the queue has no entry {index} (it holds {length})")]
    NoEntry {
        /// The index asked for.
        index: usize,
        /// The queue's length.
        length: usize,
    },
    /// The entry cannot be re-sent.
    #[error("cannot re-send entry {index}: {why}")]
    NotResendable {
        /// The entry.
        index: usize,
        /// Why.
        why: &'static str,
    },
}

/// One queue entry as read.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedError {
    /// Its index when it was read (0 is the newest).
    pub index: usize,
    /// The entry as stored: deleting it needs it byte for byte.
    pub raw: String,
    /// The record, when the entry reads as one in any layout.
    pub record: Option<ErrorView>,
    /// Which of identical entries it is, counted from the newest (1 for the first).
    pub rank: usize,
}

impl QueuedError {
    /// An entry as `LRANGE` gave it, read in whatever layout it came.
    pub fn read(channels: &Channels, index: usize, raw: String) -> QueuedError {
        QueuedError {
            index,
            record: ErrorView::parse(channels, raw.as_bytes()),
            raw,
            rank: 1,
        }
    }

    /// The request its record reports (see [`record_request`]).
    pub fn request(&self) -> Result<(String, Value), &'static str> {
        record_request(
            self.record
                .as_ref()
                .ok_or("the entry is not an error record")?,
        )
    }

    /// The entry as JSON for scripts: index, layout, the fields unscrambled, the raw entry.
    pub fn to_json(&self) -> Value {
        let mut object = serde_json::Map::new();
        object.insert("index".into(), self.index.into());
        match &self.record {
            Some(record) => {
                object.insert("layout".into(), record.layout.as_str().into());
                object.insert("topic".into(), record.topic.clone().into());
                object.insert("sender".into(), record.sender.clone().into());
                object.insert("code".into(), record.code.0.into());
                object.insert(
                    "timestamp".into(),
                    record.timestamp.map_or_else(
                        || Value::from(record.timestamp_text.clone()),
                        |at| at.to_rfc3339().into(),
                    ),
                );
                object.insert("request_data".into(), record.request_data.clone());
                object.insert("reply".into(), record.reply.clone());
                object.insert("backtrace".into(), record.backtrace.clone());
                if let Some(note) = record.layout.note() {
                    object.insert("note".into(), note.into());
                }
            }
            None => {
                object.insert("layout".into(), Value::Null);
            }
        }
        object.insert("raw".into(), self.raw.clone().into());
        Value::Object(object)
    }
}

/// The request an error record reports, topic and data, or why it cannot be told: Go's
/// scrambled records do not carry the topic, and guessing one would send to the wrong
/// service.
pub fn record_request(record: &ErrorView) -> Result<(String, Value), &'static str> {
    if record.topic.is_empty() {
        return Err(match record.layout {
            RecordLayout::GoScrambled => {
                "the record does not say its topic (Go-style records lose it)"
            }
            RecordLayout::Named | RecordLayout::Ruby => "the record does not say its topic",
        });
    }
    Ok((record.topic.clone(), request_data(record)))
}

/// The request data a record carries: JSON text (as Go and we write it) is read back into
/// its value; anything else is sent as it is.
fn request_data(record: &ErrorView) -> Value {
    match &record.request_data {
        Value::String(text) => serde_json::from_str(text).unwrap_or_else(|_| text.clone().into()),
        other => other.clone(),
    }
}

impl FilterSubject for QueuedError {
    fn topic(&self) -> &str {
        self.record.as_ref().map_or("", |record| &record.topic)
    }

    fn code(&self) -> Option<i64> {
        self.record.as_ref().map(|record| record.code.0)
    }

    fn kind(&self) -> TraceKind {
        TraceKind::Error
    }

    fn status(&self) -> TraceStatus {
        match self.record.as_ref().map(|record| record.code) {
            Some(Code::TIMEOUT) => TraceStatus::Timeout,
            _ => TraceStatus::Error,
        }
    }

    fn sender(&self) -> &str {
        self.record.as_ref().map_or("", |record| &record.sender)
    }

    fn latency(&self) -> Option<Duration> {
        None
    }

    fn payload_contains(&self, needle: &Needle) -> bool {
        needle.is_in(self.raw.as_bytes())
    }
}

/// A page of the queue, as of one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The page (0 is the newest).
    pub page: usize,
    /// Entries per page.
    pub size: usize,
    /// The queue's length when the page was read.
    pub total: usize,
    /// The entries, newest first.
    pub entries: Vec<QueuedError>,
}

/// What a trim did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrimReport {
    /// Entries removed.
    pub removed: usize,
}

/// The error queue of one deployment.
#[derive(Clone)]
pub struct ErrorQueue {
    commands: Commands,
    redis: RedisConfig,
    channels: Channels,
}

impl ErrorQueue {
    /// The queue `channels` names, on the engine's connection.
    pub fn new(engine: &Engine) -> ErrorQueue {
        ErrorQueue {
            commands: engine.commands().clone(),
            redis: engine.redis().clone(),
            channels: engine.channels().clone(),
        }
    }

    /// The list's name.
    pub fn name(&self) -> &str {
        self.channels.error_queue()
    }

    /// The queue's length.
    pub async fn len(&self) -> Result<usize, QueueError> {
        Ok(self.commands.length(self.name()).await?)
    }

    /// Whether the queue is empty (or does not exist).
    pub async fn is_empty(&self) -> Result<bool, QueueError> {
        Ok(self.len().await? == 0)
    }

    /// Page `page` of `size` entries (0 the newest), with the length, read in one round
    /// trip.
    pub async fn page(&self, page: usize, size: usize) -> Result<Page, QueueError> {
        let size = size.max(1);
        let start = page.saturating_mul(size);
        let (total, raw) = self
            .commands
            .page(
                self.name(),
                isize::try_from(start).unwrap_or(isize::MAX),
                isize::try_from(start.saturating_add(size - 1)).unwrap_or(isize::MAX),
            )
            .await?;
        let mut entries: Vec<QueuedError> = raw
            .into_iter()
            .enumerate()
            .map(|(n, raw)| QueuedError::read(&self.channels, start + n, raw))
            .collect();
        // Identical entries on this page: which one each is, for a trim below it.
        for n in 0..entries.len() {
            let rank = 1 + entries[..n]
                .iter()
                .filter(|earlier| earlier.raw == entries[n].raw)
                .count();
            entries[n].rank = rank;
        }
        Ok(Page {
            page,
            size,
            total,
            entries,
        })
    }

    /// Every entry, newest first (at most [`QUEUE_CAP`] under the queue policies).
    pub async fn all(&self) -> Result<Page, QueueError> {
        let page = self.page(0, usize::MAX / 2).await?;
        Ok(page)
    }

    /// The entry at `index` now.
    pub async fn get(&self, index: usize) -> Result<QueuedError, QueueError> {
        let at = isize::try_from(index).unwrap_or(isize::MAX);
        match self.commands.index(self.name(), at).await? {
            Some(raw) => Ok(QueuedError::read(&self.channels, index, raw)),
            None => Err(QueueError::NoEntry {
                index,
                length: self.len().await?,
            }),
        }
    }

    /// Sends the request an entry reports again (with a fresh sender) and waits for its
    /// answer.
    pub async fn resend(
        &self,
        engine: &Engine,
        entry: &QueuedError,
        timeout: Duration,
    ) -> Result<Response, QueueError> {
        let (topic, data) = entry.request().map_err(|why| QueueError::NotResendable {
            index: entry.index,
            why,
        })?;
        Ok(engine
            .request(&topic, data, RequestOptions::timeout(timeout))
            .await?)
    }

    /// Deletes one entry by value (`LREM 1`); false when it was already gone.
    pub async fn delete(&self, entry: &QueuedError) -> Result<bool, QueueError> {
        Ok(self.commands.remove_one(self.name(), &entry.raw).await?)
    }

    /// Keeps the `keep` newest entries as of now; what it removed, counted in the same
    /// atomic step.
    pub async fn keep_newest(&self, keep: usize) -> Result<TrimReport, QueueError> {
        let removed = lists::keep_newest(&self.commands, self.name(), keep).await?;
        Ok(TrimReport { removed })
    }

    /// Removes `entry` (as read from a page) and everything older, keeping everything
    /// newer — also what was pushed since the page was read, however full the queue is.
    /// `None` when the entry is gone already.
    pub async fn trim_from(&self, entry: &QueuedError) -> Result<Option<TrimReport>, QueueError> {
        self.trim(entry, Cut::From).await
    }

    /// Keeps `entry` (as read from a page) and everything newer, removing everything
    /// older: "trim below the cursor". `None` when the entry is gone already.
    pub async fn trim_below(&self, entry: &QueuedError) -> Result<Option<TrimReport>, QueueError> {
        self.trim(entry, Cut::Below).await
    }

    async fn trim(&self, entry: &QueuedError, cut: Cut) -> Result<Option<TrimReport>, QueueError> {
        let found = (entry.raw.as_str(), entry.rank);
        match lists::trim(&self.commands, &self.redis, self.name(), found, cut).await? {
            Trimmed::Removed(removed) => Ok(Some(TrimReport { removed })),
            Trimmed::Gone => Ok(None),
        }
    }
}
