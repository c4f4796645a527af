//! One trace opened in detail: which, how far it is scrolled, the search. Its text is not
//! kept here: the view builds it from the trace (and caches it by trace and
//! [`Detail::revision`]), so nothing has to remember to rebuild it.

use super::input::LineInput;
use super::links::Links;
use crate::tui::model::Screen;
use gilmour::inspect::{Trace, TraceId};

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
    /// The reference chosen with Tab (Enter follows it), by its place in
    /// [`references`].
    pub link: Option<usize>,
}

/// How a trace refers to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// The trace this one replays.
    ReplayOf,
    /// A replay of this one.
    Replay,
    /// The request whose handler called it.
    Parent,
    /// The composition this trace is a step of.
    Composition,
    /// A call made while handling it.
    Call,
    /// A composition's step.
    Step,
}

impl Relation {
    /// How the detail names it.
    pub fn label(self) -> &'static str {
        match self {
            Relation::ReplayOf => "replay of",
            Relation::Replay => "replayed as",
            Relation::Parent => "parent",
            Relation::Composition => "composition",
            Relation::Call => "call",
            Relation::Step => "step",
        }
    }
}

/// The traces a trace refers to that the store may still have, in the order Tab visits
/// them: its original, its replays, what it was called from, its calls.
pub fn references(links: &Links, trace: &Trace) -> Vec<(Relation, TraceId)> {
    let mut found = Vec::new();
    if let Some(original) = links.replay_of.get(&trace.id) {
        found.push((Relation::ReplayOf, *original));
    }
    if let Some(replays) = links.replays.get(&trace.id) {
        found.extend(replays.iter().map(|id| (Relation::Replay, *id)));
    }
    if let Some(tree) = &trace.links {
        let up = if tree.step_of.is_some() {
            Relation::Composition
        } else {
            Relation::Parent
        };
        found.extend(tree.up().map(|id| (up, id)));
        let down = if trace.kind == gilmour::inspect::TraceKind::Composition {
            Relation::Step
        } else {
            Relation::Call
        };
        found.extend(
            tree.children
                .iter()
                .filter_map(|child| child.id)
                .map(|id| (down, id)),
        );
    }
    found
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
            link: None,
        }
    }
}
