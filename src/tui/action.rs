//! What happens to the app ([`Action`]), what it asks the event loop to do ([`Effect`]),
//! and what that work brings back ([`Done`]).

use super::keymap::Command;
use super::model::Fire;
use chrono::{DateTime, Utc};
use crossterm::event::{KeyEvent, MouseEvent};
use gilmour::inspect::errors::QueuedError;
use gilmour::inspect::services::Host;
use gilmour::inspect::{Event, TraceId};
use std::time::Duration;

/// Everything that changes the app's state.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// A key press.
    Key(KeyEvent),
    /// A click or the wheel.
    Mouse(MouseEvent),
    /// Text pasted into the terminal (bracketed paste: it arrives whole, its newlines
    /// are not Enter presses).
    Paste(String),
    /// The terminal's new size.
    Resize(u16, u16),
    /// A batch of captured events.
    Events(Vec<Event>),
    /// A batch of deep capture's facts (MONITOR).
    Deep(Vec<gilmour::inspect::deep::DeepEvent>),
    /// A second went by: the clock and what the capture reports about itself.
    Tick(Probe),
    /// A capture file has been read to the end (or could not be read further).
    FileDone(Option<String>),
    /// Background work finished.
    Done(Done),
    /// A command on a trace, asked for by another screen than the one that carries it
    /// out (the errors screen replays, the detail copies).
    OnTrace(TraceId, Command),
    /// Write the marked (or shown) traces to a file, once it is sure to be wanted.
    Write(String),
    /// Forget every trace, once it is sure to be wanted.
    ClearStore,
}

/// What the capture reports, read by the event loop once a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// The time.
    pub now: DateTime<Utc>,
    /// Whether the capture connection is up (`None` offline).
    pub connected: Option<bool>,
    /// Events dropped so far.
    pub dropped: u64,
}

/// Work the app asks for; the event loop runs it in a task (or, for the terminal, itself).
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Another action for the app itself, before anything else: how one screen's update
    /// hands over to another's without importing it. `update` carries these out; the
    /// event loop never sees them.
    Then(Box<Action>),
    /// Send a request, signal or composition; `original` is the trace it replays.
    Fire(Fire, Option<TraceId>),
    /// Count the listeners of what a send would reach, before sending it.
    CheckListeners(Fire, Option<TraceId>),
    /// Publish a request or signal as it is, without asking who listens (the engine
    /// refuses to send to nobody; the user said send anyway): the status says how many
    /// receivers the PUBLISH reached, and whatever answers shows in its trace.
    Publish(Fire, Option<TraceId>),
    /// Ask Redis for a PING on the engine's connection, to learn why the capture cannot
    /// get back (its retries say nothing beyond "reconnecting").
    ProbeLink,
    /// Load a page of the error queue.
    LoadErrors {
        /// The page (0 is the newest).
        page: usize,
    },
    /// Remove one entry of the error queue (by value).
    DeleteError(QueuedError),
    /// Trim the error queue below an entry: keep it and everything newer (also what was
    /// pushed since the queue was shown), remove everything older.
    TrimErrors(QueuedError),
    /// Read the health hash, ping every host, count listeners.
    RefreshServices,
    /// Remove an ident from the health hash.
    RemoveIdent(String),
    /// Repaint the whole terminal (Ctrl-L; after the editor had it): whatever is on it
    /// now, nothing of it is trusted.
    Repaint,
    /// Put text on the clipboard (OSC 52).
    Copy(String),
    /// Write events to a capture file.
    Write {
        /// The file.
        path: String,
        /// The events, oldest first.
        events: Vec<Event>,
    },
    /// Edit text in `$EDITOR`, then replay the trace with it as data.
    Edit {
        /// The trace to replay.
        original: TraceId,
        /// The data as pretty JSON.
        text: String,
    },
    /// Start (true) or stop deep capture.
    Deep(bool),
    /// Write the filter history (the whole of it, replacing the file).
    SaveHistory {
        /// The file.
        path: std::path::PathBuf,
        /// The filters, oldest first.
        filters: Vec<String>,
    },
}

/// What background work brought back.
#[derive(Debug, Clone, PartialEq)]
pub enum Done {
    /// A request or signal went out (or could not).
    Sent {
        /// The trace it replays.
        original: Option<TraceId>,
        /// What was sent, for the status line.
        what: String,
        /// The sender id, once published.
        sender: Option<String>,
        /// The outcome: a line for the status bar, or why it failed.
        result: Result<String, String>,
    },
    /// Deep capture started (or was stopped), or why it could not start.
    Deep(Result<bool, String>),
    /// A composition ran.
    Composed {
        /// Its text.
        text: String,
        /// The execution's id: its composition trace's sender.
        id: String,
        /// Each step that ran: topic, sender, code.
        steps: Vec<(String, Option<String>, i64)>,
        /// Its input data.
        input: serde_json::Value,
        /// The final code.
        code: i64,
        /// The final data, compact.
        data: String,
        /// How long it took.
        elapsed: Duration,
    },
    /// Listeners counted: the topics nobody listens on (empty: go ahead).
    Listeners {
        /// What is to be sent.
        fire: Fire,
        /// The trace it replays.
        original: Option<TraceId>,
        /// For a signal nobody subscribes to exactly: the pattern slots, known from the
        /// health replies, whose pattern takes its channel.
        patterns: Vec<String>,
        /// Topics without a listener.
        silent: Vec<String>,
    },
    /// A page of the error queue.
    Errors {
        /// The page.
        page: usize,
        /// The queue's length.
        total: usize,
        /// The entries, newest first.
        entries: Vec<QueuedError>,
    },
    /// The queue changed (an entry deleted, the queue trimmed): what happened.
    QueueChanged(String),
    /// A refresh of the services screen.
    Services {
        /// Known hosts, pinged.
        hosts: Vec<Host>,
        /// Request channels with listeners.
        listened: Vec<(String, usize)>,
        /// The cluster's nodes (none when Redis is no cluster).
        nodes: Vec<gilmour::transport::cluster::Node>,
    },
    /// An ident was removed from the health hash.
    IdentRemoved(String),
    /// A capture file was written.
    Written {
        /// The file.
        path: String,
        /// How many events.
        events: usize,
    },
    /// The editor closed: replay with this text as data.
    Edited {
        /// The trace to replay.
        original: TraceId,
        /// The edited text.
        text: String,
    },
    /// Redis answered a PING (`None`), or why it did not.
    LinkProbed(Option<String>),
    /// Something failed: which screen it concerns, and why.
    Failed(Failure, String),
}

/// Where a failure is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The status line.
    Status,
    /// The errors screen.
    Errors,
    /// The services screen.
    Services,
}
