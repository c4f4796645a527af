//! Replays and fired requests tied to the traces they made. A send is known by its sender
//! id before its trace is captured; [`Links::resolve`] ties the two once the store has it,
//! and [`Links::evict_before`] forgets what the store evicted. Each change bumps
//! [`Links::revision`], which is how anything drawn from the links knows to draw again.

use crate::tui::model::FiredComposition;
use gilmour::inspect::{TraceId, TraceStore};
use std::collections::HashMap;
use std::sync::Arc;

/// Replays and fired requests, tied to their traces.
#[derive(Debug, Clone, Default)]
pub struct Links {
    /// Senders whose trace has not been seen yet: the trace they replay, and whether to
    /// open the trace once it is seen.
    pending: HashMap<Arc<str>, (Option<TraceId>, bool)>,
    /// A replay's original.
    pub replay_of: HashMap<TraceId, TraceId>,
    /// An original's replays.
    pub replays: HashMap<TraceId, Vec<TraceId>>,
    /// Compositions fired from here.
    pub compositions: Vec<FiredComposition>,
    /// Which composition a sender's step belongs to.
    pub step_of: HashMap<Arc<str>, usize>,
    /// Bumped on every change.
    revision: u64,
}

impl Links {
    /// How many times the links changed.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Waits for the trace of `sender`: a replay of `original`, or opened when `open`.
    pub fn expect(&mut self, sender: &str, original: Option<TraceId>, open: bool) {
        self.pending.insert(Arc::from(sender), (original, open));
    }

    /// Remembers a composition fired from here, its steps known by their senders.
    pub fn composed(&mut self, composition: FiredComposition) {
        let index = self.compositions.len();
        self.step_of
            .insert(Arc::from(composition.id.as_str()), index);
        for (_, sender, _) in &composition.steps {
            if let Some(sender) = sender {
                self.step_of.insert(Arc::from(sender.as_str()), index);
            }
        }
        self.compositions.push(composition);
        self.revision += 1;
    }

    /// Ties senders whose trace the store now has to it; returns the traces to open.
    pub fn resolve(&mut self, store: &TraceStore) -> Vec<TraceId> {
        if self.pending.is_empty() {
            return Vec::new();
        }
        let found: Vec<(Arc<str>, TraceId)> = self
            .pending
            .keys()
            .filter_map(|sender| Some((sender.clone(), store.by_sender(sender)?)))
            .collect();
        let mut open = Vec::new();
        for (sender, id) in found {
            let Some((original, opens)) = self.pending.remove(&sender) else {
                continue;
            };
            if let Some(original) = original {
                self.replay_of.insert(id, original);
                self.replays.entry(original).or_default().push(id);
            }
            if opens {
                open.push(id);
            }
            self.revision += 1;
        }
        open
    }

    /// Forgets traces older than `first` (the store evicted them), but not the pinned
    /// ones it passed by: a pinned replay still says what it replays.
    pub fn evict_before(&mut self, first: TraceId, store: &TraceStore) {
        let before = (self.replay_of.len(), self.replays.len());
        let held = |id: TraceId| id >= first || store.get(id).is_some();
        self.replay_of.retain(|replay, _| held(*replay));
        self.replays.retain(|original, replays| {
            replays.retain(|replay| held(*replay));
            held(*original)
        });
        if before != (self.replay_of.len(), self.replays.len()) {
            self.revision += 1;
        }
    }
}
