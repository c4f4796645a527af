//! Call trees: which request's handler made which call, and which requests are the steps
//! of one composition.
//!
//! ```text
//!  request.context.parent ──▶ the parent's trace ── children ──▶ this trace
//!  request.context.composition {id, step} ──▶ a composition trace (made on its first step)
//!                                               ── children ──▶ its steps, by place
//! ```
//!
//! Links are read from the messages (our engine writes them; see
//! [`CallContext`](crate::protocol::CallContext)) or, in deep mode, inferred for peers that
//! write none (a pipe: one client's consecutive requests, each fed the previous reply).
//! [`spans`] lays a tree out for the faces: one row per trace, depth first, on one clock.

pub(crate) mod link;

use super::filter::TraceStatus;
use super::store::TraceStore;
use super::trace::{Trace, TraceId};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

/// The most children one trace keeps; more are counted in [`Links::cut`].
pub const MAX_CHILDREN: usize = 256;

/// The deepest a tree is laid out, and the most rows it gives.
pub const MAX_DEPTH: usize = 32;
/// See [`MAX_DEPTH`].
pub const MAX_SPANS: usize = 2_000;

/// A reference to another trace: the sender id the messages named, and that trace's id
/// in the store when it was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Its trace, when the capture saw it (it may be evicted since).
    pub id: Option<TraceId>,
    /// Its sender id (a composition's: its execution id).
    pub sender: Arc<str>,
}

/// A step's place in its composition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepOf {
    /// The composition's trace and execution id.
    pub composition: Link,
    /// Its place: `1`, `2.1`, … (for an inferred pipe, its position).
    pub step: Arc<str>,
}

/// How a trace sits in its call tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Links {
    /// The request (or signal) whose handler made this call.
    pub parent: Option<Link>,
    /// The composition this trace is a step of.
    pub step_of: Option<StepOf>,
    /// The calls made while handling it (for a composition, its steps), as seen.
    pub children: Vec<Link>,
    /// Children not kept past [`MAX_CHILDREN`].
    pub cut: u32,
    /// Whether the links were inferred by the inspector rather than read from messages.
    pub inferred: bool,
    /// Whether it is the slowest of two or more siblings (the `slow-step` filter).
    pub slowest: bool,
    /// For a composition: when its last step ended, as far as seen.
    pub ended: Option<DateTime<Utc>>,
    /// For a composition: its steps' highest failure code, else their highest code.
    pub code: Option<crate::protocol::Code>,
}

impl Links {
    /// The trace above this one in its tree: its composition, else its parent.
    pub fn up(&self) -> Option<TraceId> {
        match &self.step_of {
            Some(step) => step.composition.id,
            None => self.parent.as_ref().and_then(|parent| parent.id),
        }
    }

    /// Whether it is a top-level trace: no parent, no composition.
    pub fn is_root(&self) -> bool {
        self.parent.is_none() && self.step_of.is_none()
    }

    /// Roughly how many bytes it holds beyond the trace.
    pub fn footprint(&self) -> usize {
        std::mem::size_of::<Links>()
            + self.children.len() * std::mem::size_of::<Link>()
            + self.step_of.as_ref().map_or(0, |step| step.step.len())
    }
}

impl Trace {
    /// Whether it is a top-level trace (the `root` filter): nothing named a parent or a
    /// composition for it.
    pub fn is_root(&self) -> bool {
        self.links.as_ref().is_none_or(|links| links.is_root())
    }

    /// Whether it belongs to a composition: a composition or one of its steps.
    pub fn in_composition(&self) -> bool {
        self.kind == super::TraceKind::Composition
            || self
                .links
                .as_ref()
                .is_some_and(|links| links.step_of.is_some())
    }

    /// Whether it is the slowest of its siblings.
    pub fn is_slowest_step(&self) -> bool {
        self.links.as_ref().is_some_and(|links| links.slowest)
    }

    /// When it ended, as far as the capture saw: its first reply, a composition's last
    /// step, else when it started.
    pub fn ended(&self) -> DateTime<Utc> {
        if let Some(end) = self.links.as_ref().and_then(|links| links.ended) {
            return end;
        }
        self.reply
            .as_ref()
            .map_or(self.started, |reply| reply.at)
            .max(self.started)
    }
}

/// One row of a laid-out tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// The trace.
    pub id: TraceId,
    /// 0 for the root.
    pub depth: usize,
    /// Its place in its composition, when it is a step.
    pub step: Option<Arc<str>>,
    /// From the root's start to its start.
    pub start: Duration,
    /// How long it took, when it ended.
    pub duration: Option<Duration>,
    /// Where it stands.
    pub status: TraceStatus,
}

/// The top of the tree `id` belongs to (itself when it has no trace above it in the
/// store).
pub fn root_of(store: &TraceStore, id: TraceId) -> TraceId {
    let mut at = id;
    for _ in 0..MAX_DEPTH {
        let up = store
            .get(at)
            .and_then(|trace| trace.links.as_ref())
            .and_then(|links| links.up())
            .filter(|up| store.get(*up).is_some());
        match up {
            Some(up) if up != at => at = up,
            _ => break,
        }
    }
    at
}

/// The tree under `root`, depth first, siblings in the order they started: one row per
/// trace still stored, times relative to the root's start. Bounded by [`MAX_DEPTH`] and
/// [`MAX_SPANS`], and safe against links that loop.
pub fn spans(store: &TraceStore, root: TraceId) -> Vec<Span> {
    let Some(top) = store.get(root) else {
        return Vec::new();
    };
    let origin = top.started;
    let mut rows = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![(root, 0_usize)];
    while let Some((id, depth)) = stack.pop() {
        if rows.len() >= MAX_SPANS || !seen.insert(id) {
            continue;
        }
        let Some(trace) = store.get(id) else {
            continue;
        };
        let start = (trace.started - origin).to_std().unwrap_or_default();
        let duration = trace
            .is_complete()
            .then(|| (trace.ended() - trace.started).to_std().unwrap_or_default());
        rows.push(Span {
            id,
            depth,
            step: trace
                .links
                .as_ref()
                .and_then(|links| links.step_of.as_ref())
                .map(|step| step.step.clone()),
            start,
            duration,
            status: trace.status,
        });
        if depth + 1 >= MAX_DEPTH {
            continue;
        }
        let mut children: Vec<&Trace> = trace
            .links
            .iter()
            .flat_map(|links| links.children.iter())
            .filter_map(|child| child.id.and_then(|id| store.get(id)))
            .collect();
        children.sort_by_key(|child| (child.started, child.id));
        // Pushed last first, so that the first starts pops first.
        for child in children.into_iter().rev() {
            stack.push((child.id, depth + 1));
        }
    }
    rows
}

#[cfg(test)]
mod tests;
