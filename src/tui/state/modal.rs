//! Dialogs on top of the screens, and what a yes in a confirmation does.

use super::forms::{EditForm, FireForm};
use super::input::LineInput;
use crate::tui::model::Fire;
use gilmour::inspect::TraceId;
use gilmour::inspect::errors::QueuedError;

/// What a yes in a confirmation does.
#[derive(Debug, Clone, PartialEq)]
pub enum Confirmed {
    /// Delete one queue entry.
    DeleteError(Box<QueuedError>),
    /// Trim the queue below an entry (it and everything newer stay).
    TrimErrors(Box<QueuedError>),
    /// Remove an ident from the health hash.
    RemoveIdent(String),
    /// Run a composition although nobody serves some of its steps (they fail with 404).
    Fire(Fire, Option<TraceId>),
    /// Publish a request or signal although nobody listens.
    Publish(Fire, Option<TraceId>),
    /// Write over a file that exists.
    Overwrite(String),
    /// Forget every trace.
    ClearStore,
}

/// A modal dialog, on top of everything.
#[derive(Debug, Clone)]
pub enum Modal {
    /// The help, generated from the key map.
    Help {
        /// The first line shown.
        scroll: usize,
    },
    /// A yes/no question.
    Confirm {
        /// The question.
        question: String,
        /// What yes does.
        then: Confirmed,
    },
    /// The fire form.
    Fire(Box<FireForm>),
    /// Editing the data of a trace before replaying it.
    Edit(Box<EditForm>),
    /// A queued error record.
    Record {
        /// Its index on the page.
        index: usize,
        /// The first row shown (the record can be longer than the screen).
        scroll: usize,
    },
    /// The file to write traces to.
    Write(LineInput),
    /// The number of a trace to open.
    GoTo(LineInput),
    /// Replaying a trace with other options.
    Replay(Box<super::replay::ReplayForm>),
    /// A known host of the services screen, whole.
    Host {
        /// Its index in the list.
        index: usize,
        /// The first row shown.
        scroll: usize,
    },
}
