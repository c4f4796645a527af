//! Linking traces as they come: a request names its parent and its composition; a
//! composition trace is made on its first step and reported once its steps are done and
//! no new one came for a moment ([`SETTLE`]); a failed step fails it.

use super::{Link, Links, MAX_CHILDREN, StepOf};
use crate::inspect::filter::{TraceKind, TraceStatus};
use crate::inspect::store::TraceStore;
use crate::inspect::trace::{Trace, TraceId};
use crate::protocol::Code;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// How long a composition whose steps are all done waits for another before it is
/// reported complete: the next step of a pipe is published as soon as the previous reply
/// is in, far sooner than this.
pub const SETTLE: Duration = Duration::from_millis(150);

/// The topic a composition trace is listed under.
pub const COMPOSITION_TOPIC: &str = "(composition)";

/// How soon after a reply one client's next request must come to be read as the next
/// step of a pipe, when inferring pipes of peers that send no context.
pub const INFER_WINDOW: Duration = Duration::from_millis(50);

/// The most clients whose last request is remembered for inferring pipes.
const INFER_CLIENTS: usize = 4_096;

/// What links traces into trees.
#[derive(Debug, Default)]
pub(crate) struct Linker {
    /// Compositions not reported complete since they last changed, oldest first.
    open: Vec<TraceId>,
    /// Compositions made since the last sweep (reported as opened).
    made: Vec<TraceId>,
    /// Per client address (from deep capture), its last request without a context.
    last_by_caller: HashMap<Arc<str>, TraceId>,
}

/// What a sweep found about one composition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Settled {
    /// Made since the last sweep, still running.
    Made(TraceId),
    /// Its steps are done and it was quiet long enough: complete now.
    Done(TraceId),
}

impl Linker {
    /// Links a trace that has just got its request (or signal) to its parent and its
    /// composition, as its message names them.
    pub(crate) fn link(&mut self, store: &mut TraceStore, id: TraceId) -> Option<()> {
        let trace = store.get(id)?;
        let context = trace.request.as_ref()?.context.clone()?;
        let sender = trace.sender.clone();
        let started = trace.started;
        let parent = context.parent.map(|parent| {
            let parent: Arc<str> = Arc::from(parent.0);
            let found = store
                .by_sender(&parent)
                .filter(|found| *found != id)
                .filter(|found| store.get(*found).is_some_and(can_parent));
            Link {
                id: found,
                sender: parent,
            }
        });
        match context.composition {
            Some(step) => {
                let execution: Arc<str> = Arc::from(step.id);
                let composition = self.composition(store, &execution, started, parent.clone());
                store.update(id, |trace| {
                    let links = trace.links.get_or_insert_with(Box::default);
                    // The step hangs under its composition; the parent its message named
                    // is kept for what it says (the composition hangs under it).
                    links.parent = parent.clone();
                    links.step_of = Some(StepOf {
                        composition: Link {
                            id: composition,
                            sender: execution.clone(),
                        },
                        step: Arc::from(step.step),
                    });
                });
                if let Some(composition) = composition {
                    adopt(store, composition, id, &sender);
                    self.changed(composition);
                }
            }
            None => {
                let up = parent.as_ref().and_then(|parent| parent.id);
                store.update(id, |trace| {
                    trace.links.get_or_insert_with(Box::default).parent = parent;
                });
                if let Some(up) = up {
                    adopt(store, up, id, &sender);
                }
            }
        }
        Some(())
    }

    /// The composition trace of an execution: the stored one, or a new one (under its
    /// parent, if the step names one).
    fn composition(
        &mut self,
        store: &mut TraceStore,
        execution: &Arc<str>,
        started: DateTime<Utc>,
        parent: Option<Link>,
    ) -> Option<TraceId> {
        let known = store.by_sender(execution).filter(|id| {
            store
                .get(*id)
                .is_some_and(|t| t.kind == TraceKind::Composition)
        });
        if known.is_some() {
            return known;
        }
        let mut trace = Trace::new(TraceKind::Composition, TraceStatus::Pending, started);
        trace.topic = Arc::from(COMPOSITION_TOPIC);
        trace.sender = execution.clone();
        let up = parent.as_ref().and_then(|parent| parent.id);
        trace.links = Some(Box::new(Links {
            parent,
            ended: Some(started),
            ..Links::default()
        }));
        let id = store.push(trace);
        store.get(id)?;
        if let Some(up) = up {
            adopt(store, up, id, execution);
        }
        self.made.push(id);
        Some(id)
    }

    /// In deep mode, for peers that send no context: reads request `id` as the next
    /// step of a pipe when the same client connection sent it within [`INFER_WINDOW`] of
    /// its previous request's reply, with that reply's data as its data. The previous
    /// step must have changed its data (so that a client calling an echo in a loop is
    /// not read as one long pipe). Such trees are marked inferred.
    pub(crate) fn infer(&mut self, store: &mut TraceStore, id: TraceId) -> Option<()> {
        let trace = store.get(id)?;
        if trace.kind != TraceKind::Request || trace.links.is_some() {
            return None;
        }
        let request = trace.request.as_ref()?;
        if request.context.is_some() {
            return None;
        }
        let caller = trace.deep.as_ref()?.caller.as_ref()?.addr.clone();
        if self.last_by_caller.len() >= INFER_CLIENTS {
            self.last_by_caller
                .retain(|_, last| store.get(*last).is_some());
            if self.last_by_caller.len() >= INFER_CLIENTS {
                self.last_by_caller.clear();
            }
        }
        let previous = self.last_by_caller.insert(caller, id)?;
        let before = store.get(previous).filter(|before| before.id < id)?;
        let reply = before.reply.as_ref()?;
        let gap = (request.at - reply.at).to_std().ok()?;
        let fed = request.data()?;
        let transformed = before.request.as_ref()?.data()? != fed;
        if gap > INFER_WINDOW || reply.data()? != fed || !transformed {
            return None;
        }
        if before.links.as_ref().is_some_and(|links| {
            !links.inferred || links.parent.is_some() || !links.children.is_empty()
        }) {
            return None;
        }
        let sender = trace.sender.clone();
        let (composition, execution, place) = match before
            .links
            .as_ref()
            .and_then(|links| links.step_of.as_ref())
        {
            Some(step) => {
                let composition = step.composition.id?;
                let steps = store.get(composition)?.links.as_ref()?.children.len();
                (composition, step.composition.sender.clone(), steps + 1)
            }
            None => {
                let execution: Arc<str> = Arc::from(format!("inferred:{}", before.sender));
                let first_sender = before.sender.clone();
                let started = before.started;
                let composition = self.composition(store, &execution, started, None)?;
                store.update(composition, |trace| {
                    trace.links.get_or_insert_with(Box::default).inferred = true;
                });
                step_into(store, previous, composition, &execution, "1");
                adopt(store, composition, previous, &first_sender);
                (composition, execution, 2)
            }
        };
        step_into(store, id, composition, &execution, &place.to_string());
        adopt(store, composition, id, &sender);
        self.changed(composition);
        Some(())
    }

    fn changed(&mut self, composition: TraceId) {
        if !self.open.contains(&composition) {
            self.open.push(composition);
        }
    }

    /// A trace is complete or changed: its composition's figures and its siblings'
    /// slowest mark follow.
    pub(crate) fn settled(&mut self, store: &mut TraceStore, id: TraceId) {
        let Some(links) = store.get(id).and_then(|trace| trace.links.as_ref()) else {
            return;
        };
        let Some(up) = links.up() else {
            return;
        };
        let is_step = links.step_of.is_some();
        mark_slowest(store, up);
        if is_step {
            self.changed(up);
        }
    }

    /// Brings the open compositions up to date as of `now`: what was made since the last
    /// sweep, and what is now complete.
    pub(crate) fn sweep(&mut self, store: &mut TraceStore, now: DateTime<Utc>) -> Vec<Settled> {
        let mut settled: Vec<Settled> = self
            .made
            .drain(..)
            .filter(|id| store.get(*id).is_some())
            .map(Settled::Made)
            .collect();
        self.open.retain(|&id| {
            let Some((status, code, ended)) = outcome(store, id) else {
                return false;
            };
            let quiet = (now - ended).to_std().unwrap_or_default() >= SETTLE;
            let done = status != TraceStatus::Pending && quiet;
            if let Some(trace) = store.get_mut_uncounted(id)
                && let Some(links) = trace.links.as_mut()
            {
                links.ended = Some(ended);
                links.code = code;
                if done || trace.reported {
                    trace.status = status;
                }
            }
            if done {
                settled.push(Settled::Done(id));
            }
            !done
        });
        settled
    }
}

/// Makes `id` an inferred step of `composition`, at `place`.
fn step_into(
    store: &mut TraceStore,
    id: TraceId,
    composition: TraceId,
    execution: &Arc<str>,
    place: &str,
) {
    store.update(id, |trace| {
        let links = trace.links.get_or_insert_with(Box::default);
        links.inferred = true;
        links.step_of = Some(StepOf {
            composition: Link {
                id: Some(composition),
                sender: execution.clone(),
            },
            step: Arc::from(place),
        });
    });
}

/// Whether a trace can be the parent of a call: a request or signal (whose handler ran).
fn can_parent(trace: &Trace) -> bool {
    matches!(trace.kind, TraceKind::Request | TraceKind::Signal)
}

/// Adds `child` under `parent`, up to [`MAX_CHILDREN`].
fn adopt(store: &mut TraceStore, parent: TraceId, child: TraceId, sender: &Arc<str>) {
    store.update(parent, |trace| {
        let links = trace.links.get_or_insert_with(Box::default);
        if links.children.iter().any(|known| known.id == Some(child)) {
            return;
        }
        if links.children.len() < MAX_CHILDREN {
            links.children.push(Link {
                id: Some(child),
                sender: sender.clone(),
            });
        } else {
            links.cut += 1;
        }
    });
}

/// A composition as its steps stand: the worst status (pending while any step is), the
/// highest failure code (else 200), and when its last step ended.
fn outcome(store: &TraceStore, id: TraceId) -> Option<(TraceStatus, Option<Code>, DateTime<Utc>)> {
    let trace = store.get(id)?;
    let links = trace.links.as_ref()?;
    let mut status = TraceStatus::Ok;
    let (mut worst, mut failure): (Option<Code>, Option<Code>) = (None, None);
    let mut ended = links.ended.unwrap_or(trace.started);
    for step in links
        .children
        .iter()
        .filter_map(|child| child.id.and_then(|id| store.get(id)))
    {
        ended = ended.max(step.ended());
        if rank(step.status) > rank(status) {
            status = step.status;
        }
        if let Some(code) = step.code() {
            worst = worst.max(Some(code));
            if code.is_failure() {
                failure = failure.max(Some(code));
            }
        }
    }
    let code = failure.or(worst);
    Some((status, code, ended))
}

/// How bad a status is, for a composition's: pending outranks all (it is not done).
fn rank(status: TraceStatus) -> u8 {
    match status {
        TraceStatus::Ok => 0,
        TraceStatus::Orphan => 1,
        TraceStatus::Unanswered => 2,
        TraceStatus::Timeout => 3,
        TraceStatus::Error => 4,
        TraceStatus::Pending => 5,
    }
}

/// Marks the slowest of `parent`'s finished children, when it has two or more.
fn mark_slowest(store: &mut TraceStore, parent: TraceId) {
    let Some(children): Option<Vec<TraceId>> = store.get(parent).and_then(|trace| {
        let links = trace.links.as_ref()?;
        Some(links.children.iter().filter_map(|child| child.id).collect())
    }) else {
        return;
    };
    let took = |trace: &Trace| (trace.ended() - trace.started).to_std().unwrap_or_default();
    let slowest = children
        .iter()
        .filter_map(|id| store.get(*id))
        .filter(|trace| trace.is_complete())
        .max_by_key(|trace| (took(trace), std::cmp::Reverse(trace.id)))
        .map(|trace| trace.id)
        .filter(|_| children.len() >= 2);
    for child in children {
        if let Some(links) = store
            .get_mut_uncounted(child)
            .and_then(|trace| trace.links.as_mut())
        {
            links.slowest = Some(child) == slowest;
        }
    }
}
