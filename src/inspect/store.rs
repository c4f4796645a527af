//! The trace store: bounded by count and by bytes, oldest evicted first, every eviction
//! counted, indexed for the lookups the correlator and the screens need (by id, by
//! sender, newest first, by topic).
//!
//! Bytes are each trace's [`Trace::footprint`]: its payloads as kept plus the fixed
//! size of its records. Changes to a stored trace go through [`TraceStore::update`], so
//! the total stays exact.

use super::blocks::Blocks;
use super::filter::TraceKind;
use super::trace::{Trace, TraceId};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

/// How many traces a store keeps unless told otherwise.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// How many bytes a store holds unless told otherwise (256 MiB).
pub const DEFAULT_MAX_MEMORY: usize = 256 << 20;

/// A bounded store of traces.
#[derive(Debug)]
pub struct TraceStore {
    /// Each stored trace with its footprint as last counted, oldest first (in blocks:
    /// growing never moves a trace, see [`Blocks`]).
    traces: Blocks<(Trace, usize)>,
    /// The id of `traces[0]`; ids are consecutive, so lookup by id is an index.
    first: u64,
    capacity: usize,
    max_bytes: usize,
    bytes: usize,
    evicted: u64,
    evicted_bytes: u64,
    by_sender: HashMap<Arc<str>, TraceId>,
    by_topic: HashMap<Arc<str>, VecDeque<TraceId>>,
    /// Traces eviction skips (see [`TraceStore::pin`]).
    pins: HashSet<TraceId>,
    /// Pinned traces that eviction reached, with their footprint: kept here, still
    /// counted in the bytes held.
    kept: BTreeMap<TraceId, (Trace, usize)>,
}

/// Why a trace cannot be pinned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    /// It is not in the store.
    #[error("{0} is not in the store")]
    Gone(TraceId),
    /// Pins may hold at most half the store's bytes, so that the rest still has room.
    #[error("pinned traces would hold more than half of the store's {0} bytes")]
    Full(usize),
}

impl Default for TraceStore {
    fn default() -> Self {
        TraceStore::with_capacity(DEFAULT_CAPACITY)
    }
}

impl TraceStore {
    /// A store that keeps at most `capacity` traces (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        TraceStore::with_limits(capacity, DEFAULT_MAX_MEMORY)
    }

    /// A store that keeps at most `capacity` traces and about `max_bytes` bytes; the
    /// newest trace is kept whatever its size.
    pub fn with_limits(capacity: usize, max_bytes: usize) -> Self {
        TraceStore {
            traces: Blocks::default(),
            first: 1,
            capacity: capacity.max(1),
            max_bytes,
            bytes: 0,
            evicted: 0,
            evicted_bytes: 0,
            by_sender: HashMap::new(),
            by_topic: HashMap::new(),
            pins: HashSet::new(),
            kept: BTreeMap::new(),
        }
    }

    /// Pins a trace: eviction passes it by, and it stays until unpinned. Pinned traces
    /// count toward the bytes held and may hold at most half of them.
    pub fn pin(&mut self, id: TraceId) -> Result<(), PinError> {
        if self.pins.contains(&id) {
            return Ok(());
        }
        let Some((_, size)) = self.index_of(id).and_then(|index| self.traces.get(index)) else {
            return Err(PinError::Gone(id));
        };
        let size = *size;
        if self.pinned_bytes() + size > self.max_bytes / 2 {
            return Err(PinError::Full(self.max_bytes));
        }
        self.pins.insert(id);
        Ok(())
    }

    /// Unpins a trace; one that eviction had passed by goes at once.
    pub fn unpin(&mut self, id: TraceId) {
        self.pins.remove(&id);
        if let Some((trace, size)) = self.kept.remove(&id) {
            self.bytes -= size;
            self.evicted += 1;
            self.evicted_bytes += size as u64;
            self.unindex(&trace);
        }
    }

    /// Whether a trace is pinned.
    pub fn is_pinned(&self, id: TraceId) -> bool {
        self.pins.contains(&id)
    }

    /// How many traces are pinned.
    pub fn pinned(&self) -> usize {
        self.pins.len()
    }

    /// The pinned traces eviction passed by, oldest first.
    pub fn kept(&self) -> impl DoubleEndedIterator<Item = &Trace> {
        self.kept.values().map(|(trace, _)| trace)
    }

    /// The oldest id still in the store's run of consecutive ids (pinned traces kept
    /// past eviction are older).
    pub fn first_id(&self) -> TraceId {
        TraceId(self.first)
    }

    fn pinned_bytes(&self) -> usize {
        self.pins
            .iter()
            .map(
                |id| match self.index_of(*id).and_then(|index| self.traces.get(index)) {
                    Some((_, size)) => *size,
                    None => self.kept.get(id).map_or(0, |(_, size)| *size),
                },
            )
            .sum()
    }

    fn index_of(&self, id: TraceId) -> Option<usize> {
        let index = usize::try_from(id.0.checked_sub(self.first)?).ok()?;
        (index < self.traces.len()).then_some(index)
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
        let size = trace.footprint();
        self.bytes += size;
        self.traces.push_back((trace, size));
        self.fit();
        id
    }

    /// Changes a stored trace; its bytes are counted again and the store evicts what no
    /// longer fits (never the trace just changed while it is the newest).
    ///
    /// A pinned trace that eviction passed by changes like any other: its late reply or
    /// error record must reach it, or it would show a state it no longer has.
    pub fn update<R>(&mut self, id: TraceId, change: impl FnOnce(&mut Trace) -> R) -> Option<R> {
        let (trace, counted) = match self.index_of(id) {
            Some(index) => self.traces.get_mut(index)?,
            None => self.kept.get_mut(&id)?,
        };
        let result = change(trace);
        let size = trace.footprint();
        let old = std::mem::replace(counted, size);
        self.bytes = self.bytes - old + size;
        self.fit();
        Some(result)
    }

    /// Evicts oldest first until both limits hold, keeping at least the newest trace
    /// (pinned traces are passed by, and held to half the bytes).
    fn fit(&mut self) {
        while self.traces.len() > 1 && self.bytes > self.max_bytes {
            self.evict_oldest();
        }
    }

    fn evict_oldest(&mut self) {
        let Some((oldest, size)) = self.traces.pop_front() else {
            return;
        };
        self.first += 1;
        if self.pins.contains(&oldest.id) {
            // Passed by: it keeps its bytes and its place in the indexes.
            self.kept.insert(oldest.id, (oldest, size));
            return;
        }
        self.bytes -= size;
        self.evicted_bytes += size as u64;
        self.evicted += 1;
        self.unindex(&oldest);
    }

    /// Takes a trace that leaves the store out of the indexes.
    fn unindex(&mut self, oldest: &Trace) {
        if self.by_sender.get(&oldest.sender) == Some(&oldest.id) {
            self.by_sender.remove(&oldest.sender);
        }
        if let Some(ids) = self.by_topic.get_mut(&oldest.topic) {
            if ids.front() == Some(&oldest.id) {
                ids.pop_front();
            } else if let Ok(at) = ids.binary_search(&oldest.id) {
                // A pinned trace, unpinned after newer ones of its topic went.
                ids.remove(at);
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
        let Some(trace) = self.get_mut_uncounted(id) else {
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
        if id.0 < self.first {
            return self.kept.get(&id).map(|(trace, _)| trace);
        }
        let index = id.0.checked_sub(self.first)?;
        self.traces
            .get(usize::try_from(index).ok()?)
            .map(|(trace, _)| trace)
    }

    /// The trace with this id, for a change that does not alter its size (a status, a
    /// flag); anything that adds or removes messages goes through [`TraceStore::update`].
    pub(crate) fn get_mut_uncounted(&mut self, id: TraceId) -> Option<&mut Trace> {
        match self.index_of(id) {
            Some(index) => self.traces.get_mut(index).map(|(trace, _)| trace),
            None => self.kept.get_mut(&id).map(|(trace, _)| trace),
        }
    }

    /// The first trace stored for a sender id, unless evicted.
    pub fn by_sender(&self, sender: &str) -> Option<TraceId> {
        self.by_sender.get(sender).copied()
    }

    /// Every trace, newest first.
    pub fn newest_first(&self) -> impl DoubleEndedIterator<Item = &Trace> + ExactSizeIterator {
        self.traces.iter().rev().map(|(trace, _)| trace)
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

    /// How many traces are stored (pinned traces kept past eviction included).
    pub fn len(&self) -> usize {
        self.traces.len() + self.kept.len()
    }

    /// Whether no trace is stored (pinned traces kept past eviction count, as in
    /// [`TraceStore::len`]).
    pub fn is_empty(&self) -> bool {
        self.traces.is_empty() && self.kept.is_empty()
    }

    /// The most traces it keeps.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many traces were evicted to make room.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// The bytes the stored traces hold.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The most bytes it holds.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// The bytes of every trace evicted so far.
    pub fn evicted_bytes(&self) -> u64 {
        self.evicted_bytes
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
    fn bounded_by_bytes_oldest_first_and_exactly_counted() {
        let one = trace("s0", "t").footprint();
        let mut store = TraceStore::with_limits(1000, one * 3 + one / 2);
        let ids: Vec<TraceId> = (0..5)
            .map(|n| store.push(trace(&format!("s{n}"), "t")))
            .collect();
        assert_eq!(store.len(), 3);
        assert_eq!(store.evicted(), 2);
        assert!(store.get(ids[1]).is_none() && store.get(ids[2]).is_some());
        assert_eq!(
            store.bytes(),
            store.newest_first().map(Trace::footprint).sum::<usize>()
        );
        // A trace that grows makes room by evicting the oldest.
        store.update(ids[4], |trace| trace.sender = Arc::from("s".repeat(one)));
        assert_eq!(store.len(), 2);
        assert_eq!(
            store.bytes(),
            store.newest_first().map(Trace::footprint).sum::<usize>()
        );
        assert_eq!(store.evicted_bytes(), (one * 3) as u64);
        // The newest stays whatever its size.
        let huge = store.push(trace(&"h".repeat(one * 10), "t"));
        assert_eq!((store.len(), store.get(huge).is_some()), (1, true));
    }

    #[test]
    fn pinned_traces_survive_eviction_and_count_their_bytes() {
        let one = trace("s0", "t").footprint();
        let mut store = TraceStore::with_limits(3, one * 20);
        let ids: Vec<TraceId> = (0..3)
            .map(|n| store.push(trace(&format!("s{n}"), "t")))
            .collect();
        store.pin(ids[0]).expect("room");
        assert_eq!(store.pin(TraceId(99)), Err(PinError::Gone(TraceId(99))));
        for n in 3..6 {
            store.push(trace(&format!("s{n}"), "t"));
        }
        assert_eq!(store.evicted(), 2, "s1 and s2 went, s0 was passed by");
        assert_eq!(store.get(ids[0]).map(|t| &*t.sender), Some("s0"));
        assert_eq!(store.by_sender("s0"), Some(ids[0]));
        assert_eq!((store.len(), store.pinned()), (4, 1));
        assert!(!store.is_empty());
        assert_eq!(store.kept().count(), 1);
        assert_eq!(store.bytes(), one * 4, "its bytes still count");
        assert!(store.first_id() > ids[0]);
        store.unpin(ids[0]);
        assert!(store.get(ids[0]).is_none() && store.by_sender("s0").is_none());
        assert_eq!(
            (store.len(), store.evicted(), store.bytes()),
            (3, 3, one * 3)
        );
        assert_eq!(store.by_topic("t").count(), 3);
        // Pins hold at most half the bytes.
        let mut small = TraceStore::with_limits(10, one * 3);
        let first = small.push(trace("a", "t"));
        let second = small.push(trace("b", "t"));
        assert_eq!(small.pin(first), Ok(()));
        assert_eq!(small.pin(second), Err(PinError::Full(one * 3)));
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
