//! One trace opened in detail: which, how far it is scrolled, the search. Its text is not
//! kept here: the view builds it from the trace (and caches it by trace and
//! [`Detail::revision`]), so nothing has to remember to rebuild it.

use super::input::LineInput;
use crate::tui::model::Screen;
use gilmour::inspect::TraceId;

/// One trace opened in detail.
#[derive(Debug, Clone)]
pub struct Detail {
    /// The trace.
    pub id: TraceId,
    /// Bumped whenever the trace changes while it is open.
    pub revision: u64,
    /// The first line shown.
    pub scroll: usize,
    /// The search being typed.
    pub search: Option<LineInput>,
    /// The search in force (lower case).
    pub query: String,
    /// The row of the call tree's waterfall chosen with `[`/`]` (Enter opens it).
    pub span: usize,
    /// The traces opened before this one from a waterfall (Esc goes back to them).
    pub back: Vec<TraceId>,
    /// The screen it was opened from, which Esc goes back to (a trace opened from the
    /// errors screen, or by re-sending from it, closes back onto it).
    pub from: Screen,
}

impl Detail {
    /// A trace opened at its top, from `from`.
    pub fn new(id: TraceId, from: Screen) -> Detail {
        Detail {
            id,
            revision: 0,
            scroll: 0,
            search: None,
            query: String::new(),
            span: 0,
            back: Vec::new(),
            from,
        }
    }
}
