//! The trace store: bounded, oldest evicted first, every eviction counted, indexed for
//! the lookups the correlator and the screens need (by id, by sender, newest first, by
//! topic).

use super::filter::TraceKind;
use super::trace::{Trace, TraceId};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// How many traces a store keeps unless told otherwise.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// A bounded store of traces.
#[derive(Debug)]
pub struct TraceStore {
    traces: VecDeque<Trace>,
    /// The id of `traces[0]`; ids are consecutive, so lookup by id is an index.
    first: u64,
    capacity: usize,
    evicted: u64,
    by_sender: HashMap<Arc<str>, TraceId>,
    by_topic: HashMap<Arc<str>, VecDeque<TraceId>>,
}

impl Default for TraceStore {
    fn default() -> Self {
        TraceStore::with_capacity(DEFAULT_CAPACITY)
    }
}

impl TraceStore {
    /// A store that keeps at most `capacity` traces (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        TraceStore {
            traces: VecDeque::new(),
            first: 1,
            capacity: capacity.max(1),
            evicted: 0,
            by_sender: HashMap::new(),
            by_topic: HashMap::new(),
        }
    }

    /// Adds a trace, giving it its id; evicts the oldest when full.
    pub fn push(&mut self, mut trace: Trace) -> TraceId {
        if self.traces.len() == self.capacity {
            self.evict_oldest();
        }
        let id = TraceId(self.first + self.traces.len() as u64);
        trace.id = id;
        if !trace.sender.is_empty() {
            // A request (or health ping) owns its sender: its reply must find it, even
            // when a signal or error record with the same sender came first.
            let expects_reply = matches!(trace.kind, TraceKind::Request | TraceKind::Health);
            if expects_reply {
                self.by_sender.insert(trace.sender.clone(), id);
            } else {
                self.by_sender.entry(trace.sender.clone()).or_insert(id);
            }
        }
        if !trace.topic.is_empty() {
            self.index_topic(&trace.topic.clone(), id);
        }
        self.traces.push_back(trace);
        id
    }

    fn evict_oldest(&mut self) {
        let Some(oldest) = self.traces.pop_front() else {
            return;
        };
        self.first += 1;
        self.evicted += 1;
        if self.by_sender.get(&oldest.sender) == Some(&oldest.id) {
            self.by_sender.remove(&oldest.sender);
        }
        if let Some(ids) = self.by_topic.get_mut(&oldest.topic) {
            if ids.front() == Some(&oldest.id) {
                ids.pop_front();
            }
            if ids.is_empty() {
                self.by_topic.remove(&oldest.topic);
            }
        }
    }

    fn index_topic(&mut self, topic: &Arc<str>, id: TraceId) {
        self.by_topic
            .entry(topic.clone())
            .or_default()
            .push_back(id);
    }

    /// Sets the topic of a trace that had none (an orphan reply whose request came late).
    pub fn set_topic(&mut self, id: TraceId, topic: Arc<str>) {
        let Some(trace) = self.get_mut(id) else {
            return;
        };
        if !trace.topic.is_empty() {
            return;
        }
        trace.topic = topic.clone();
        let ids = self.by_topic.entry(topic).or_default();
        // Keep the per-topic list in id order.
        let at = ids.partition_point(|other| *other < id);
        ids.insert(at, id);
    }

    /// The trace with this id, unless evicted.
    pub fn get(&self, id: TraceId) -> Option<&Trace> {
        let index = id.0.checked_sub(self.first)?;
        self.traces.get(usize::try_from(index).ok()?)
    }

    /// The trace with this id, to change it.
    pub fn get_mut(&mut self, id: TraceId) -> Option<&mut Trace> {
        let index = id.0.checked_sub(self.first)?;
        self.traces.get_mut(usize::try_from(index).ok()?)
    }

    /// The first trace stored for a sender id, unless evicted.
    pub fn by_sender(&self, sender: &str) -> Option<TraceId> {
        self.by_sender.get(sender).copied()
    }

    /// Every trace, newest first.
    pub fn newest_first(&self) -> impl DoubleEndedIterator<Item = &Trace> + ExactSizeIterator {
        self.traces.iter().rev()
    }

    /// The traces of one topic, newest first.
    pub fn by_topic<'a>(&'a self, topic: &str) -> impl Iterator<Item = &'a Trace> + 'a {
        self.by_topic
            .get(topic)
            .into_iter()
            .flat_map(|ids| ids.iter().rev())
            .filter_map(|id| self.get(*id))
    }

    /// The topics that have traces.
    pub fn topics(&self) -> impl Iterator<Item = &Arc<str>> {
        self.by_topic.keys()
    }

    /// How many traces are stored.
    pub fn len(&self) -> usize {
        self.traces.len()
    }

    /// Whether no trace is stored.
    pub fn is_empty(&self) -> bool {
        self.traces.is_empty()
    }

    /// The most traces it keeps.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many traces were evicted to make room.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::filter::TraceStatus;
    use chrono::Utc;

    fn trace(sender: &str, topic: &str) -> Trace {
        let mut trace = Trace::new(TraceKind::Request, TraceStatus::Pending, Utc::now());
        trace.sender = Arc::from(sender);
        trace.topic = Arc::from(topic);
        trace
    }

    #[test]
    fn bounded_oldest_evicted_and_counted() {
        let mut store = TraceStore::with_capacity(3);
        let ids: Vec<TraceId> = (0..5)
            .map(|n| {
                store.push(trace(
                    &format!("s{n}"),
                    if n % 2 == 0 { "even" } else { "odd" },
                ))
            })
            .collect();
        assert_eq!(store.len(), 3);
        assert_eq!(store.evicted(), 2);
        assert!(store.get(ids[0]).is_none() && store.get(ids[1]).is_none());
        assert_eq!(store.get(ids[4]).map(|t| &*t.sender), Some("s4"));
        assert_eq!(store.by_sender("s0"), None, "evicted senders are forgotten");
        assert_eq!(store.by_sender("s3"), Some(ids[3]));
        let newest: Vec<&str> = store.newest_first().map(|t| &*t.sender).collect();
        assert_eq!(newest, ["s4", "s3", "s2"]);
        let even: Vec<&str> = store.by_topic("even").map(|t| &*t.sender).collect();
        assert_eq!(even, ["s4", "s2"]);
        assert_eq!(store.by_topic("odd").count(), 1);
    }

    #[test]
    fn late_topic_is_indexed_in_order() {
        let mut store = TraceStore::with_capacity(10);
        let orphan = store.push(trace("a", ""));
        store.push(trace("b", "t"));
        store.set_topic(orphan, Arc::from("t"));
        let senders: Vec<&str> = store.by_topic("t").map(|t| &*t.sender).collect();
        assert_eq!(senders, ["b", "a"]);
    }
}
