//! The trace list sorted by a column other than time. The filtered index
//! ([`TraceList`](super::list::TraceList)) stays the truth; this is a second order over
//! the same ids, with each one's key copied beside it, built once when a sort is chosen
//! and then kept up to date after every batch by moving the traces it changed: rows in
//! sorted blocks ([`blocks`]), so that a change costs O(√n) on n rows, never a pass
//! over all of them.
//!
//! Row 0 is the first in the sort's order; ties go newest first.

mod blocks;

use super::list::TraceList;
use blocks::SortedBlocks;
use gilmour::inspect::{Trace, TraceId, TraceStore};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering as Atomic};

/// What the list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortColumn {
    /// When the trace started (the list's own order).
    #[default]
    Time,
    /// Request to reply.
    Latency,
    /// Bytes of its payloads.
    Size,
    /// The reply's code.
    Code,
    /// The topic, alphabetically.
    Topic,
}

impl SortColumn {
    /// The columns in the order the sort key cycles through them.
    pub const ALL: [SortColumn; 5] = [
        SortColumn::Time,
        SortColumn::Latency,
        SortColumn::Size,
        SortColumn::Code,
        SortColumn::Topic,
    ];

    /// The column's title in the trace list.
    pub fn title(self) -> &'static str {
        match self {
            SortColumn::Time => "time",
            SortColumn::Latency => "latency",
            SortColumn::Size => "size",
            SortColumn::Code => "code",
            SortColumn::Topic => "topic",
        }
    }

    /// The next column in the cycle.
    pub fn next(self) -> SortColumn {
        let at = SortColumn::ALL
            .iter()
            .position(|column| *column == self)
            .unwrap_or(0);
        SortColumn::ALL[(at + 1) % SortColumn::ALL.len()]
    }

    /// Which way a column sorts first: the biggest (slowest, largest, highest code,
    /// newest) on top, except topics, which read A to Z.
    pub fn descending_first(self) -> bool {
        self != SortColumn::Topic
    }
}

/// The order in force: a column and a direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    /// The column.
    pub column: SortColumn,
    /// Biggest first (Z to A for topics).
    pub descending: bool,
}

impl Default for Sort {
    /// Newest first: the list's own order.
    fn default() -> Self {
        Sort {
            column: SortColumn::Time,
            descending: true,
        }
    }
}

impl Sort {
    /// Whether this is the list's own order (no sorted copy needed).
    pub fn is_default(self) -> bool {
        self == Sort::default()
    }

    /// The arrow the column title carries.
    pub fn arrow(self) -> char {
        if self.descending { '▼' } else { '▲' }
    }
}

/// A row: its key in the sort's order (smaller first), then its trace, newest first
/// among equal keys. Keys are copied into the rows, so that comparing rows never reads
/// the store.
type SortedRow = (u64, Reverse<TraceId>);

/// The shown traces in a sort's order.
#[derive(Debug)]
pub struct SortedRows {
    sort: Sort,
    rows: SortedBlocks<SortedRow>,
    /// Each listed trace's key, to find its row when it changes or leaves; in id
    /// order, so that evicted traces are the first entries.
    keys: BTreeMap<TraceId, u64>,
    /// For the topic sort, each topic's place in alphabetical order (a topic not seen
    /// when the rows were built sorts them again).
    topics: BTreeMap<Arc<str>, u64>,
    /// Traces changed since the rows were last merged (their key may have moved).
    pending: Vec<TraceId>,
    /// Changed traces newer than the paused display: they wait for it to resume, in a
    /// set, so that each batch while paused costs its own traces only.
    waiting: BTreeSet<TraceId>,
    /// Traces before this one have been evicted: the next merge drops them.
    first: TraceId,
    /// Whether `first` moved since the last merge.
    evicted: bool,
    /// The row where the cursor's and the top row's traces were last found: where
    /// they stay when their trace leaves the list (atomics so that the view can
    /// remember on `&self`).
    hints: [AtomicU64; 2],
}

impl Clone for SortedRows {
    fn clone(&self) -> Self {
        SortedRows {
            sort: self.sort,
            rows: self.rows.clone(),
            keys: self.keys.clone(),
            topics: self.topics.clone(),
            pending: self.pending.clone(),
            waiting: self.waiting.clone(),
            first: self.first,
            evicted: self.evicted,
            hints: Default::default(),
        }
    }
}

/// Which remembered position a lookup uses.
#[derive(Debug, Clone, Copy)]
pub enum Hint {
    /// The cursor's row.
    Cursor = 0,
    /// The first visible row.
    Top = 1,
}

impl SortedRows {
    /// The traces of `list` (up to `newest`, when paused) in `sort`'s order.
    pub fn new(sort: Sort, list: &TraceList, newest: Option<TraceId>, store: &TraceStore) -> Self {
        let len = list.len_until(newest);
        let mut topics = BTreeMap::new();
        if sort.column == SortColumn::Topic {
            for trace in list.newest_first(len).filter_map(|id| store.get(id)) {
                topics.entry(trace.topic.clone()).or_insert(0);
            }
            // Places spread over the keys, so that a topic seen later takes the
            // middle of the gap between its neighbours' (see `place_topic`).
            let step = u64::MAX / (topics.len() as u64 + 1);
            for (rank, place) in topics.values_mut().enumerate() {
                *place = (rank as u64 + 1) * step;
            }
        }
        let mut sorted = SortedRows {
            sort,
            rows: SortedBlocks::default(),
            keys: BTreeMap::new(),
            topics,
            pending: Vec::new(),
            waiting: BTreeSet::new(),
            first: TraceId(0),
            evicted: false,
            hints: Default::default(),
        };
        let mut rows: Vec<SortedRow> = list
            .newest_first(len)
            .filter_map(|id| Some((sorted.key(store.get(id)?)?, Reverse(id))))
            .collect();
        sorted.keys = rows.iter().map(|(key, Reverse(id))| (*id, *key)).collect();
        rows.sort_unstable();
        sorted.rows = SortedBlocks::from_sorted(rows);
        sorted
    }

    /// A trace's key: its value in the column, turned so that the sort's first row has
    /// the smallest. A trace without a value (no latency yet, no code) sorts as the
    /// smallest value. `None` for a topic without a place (the rows need building
    /// again).
    fn key(&self, trace: &Trace) -> Option<u64> {
        let value = match self.sort.column {
            SortColumn::Time => trace.id.0,
            SortColumn::Latency => trace.latency().map_or(0, |latency| {
                u64::try_from(latency.as_micros()).unwrap_or(u64::MAX)
            }),
            SortColumn::Size => trace.size() as u64,
            SortColumn::Code => trace
                .code()
                .map_or(0, |code| u64::try_from(code.0).unwrap_or(0)),
            SortColumn::Topic => *self.topics.get(&trace.topic)?,
        };
        Some(if self.sort.descending { !value } else { value })
    }

    /// The order.
    pub fn sort(&self) -> Sort {
        self.sort
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// The trace on a row.
    pub fn at_row(&self, row: usize) -> Option<TraceId> {
        self.rows.get(row).map(|(_, Reverse(id))| *id)
    }

    /// The row of `id`, or (when it is gone) the row last found for `hint`.
    pub fn row_of(&self, id: TraceId, hint: Hint) -> usize {
        let last = &self.hints[hint as usize];
        let found = self
            .keys
            .get(&id)
            .and_then(|key| self.rows.position(&(*key, Reverse(id))));
        match found {
            Some(row) => {
                last.store(row as u64, Atomic::Relaxed);
                row
            }
            None => usize::try_from(last.load(Atomic::Relaxed))
                .unwrap_or(0)
                .min(self.rows.len().saturating_sub(1)),
        }
    }

    /// Notes that a trace changed (or arrived): it is put in its place by [`merge`].
    ///
    /// [`merge`]: SortedRows::merge
    pub fn touched(&mut self, id: TraceId) {
        self.pending.push(id);
    }

    /// Puts the traces changed since the last merge in their place: those `list` shows
    /// (up to `newest`, when paused) at their key's row, the others off; drops the
    /// evicted. O(√n) a trace on n rows.
    pub fn merge(&mut self, list: &TraceList, newest: Option<TraceId>, store: &TraceStore) {
        if self.evicted {
            self.evicted = false;
            let first = self.first;
            // Before `first`: evicted, unless pinned (the list keeps those).
            let gone: Vec<(TraceId, u64)> = self
                .keys
                .range(..first)
                .filter(|(id, _)| !list.contains(**id))
                .map(|(id, key)| (*id, *key))
                .collect();
            for (id, key) in gone {
                self.keys.remove(&id);
                self.rows.remove(&(key, Reverse(id)));
            }
        }
        let mut pending = std::mem::take(&mut self.pending);
        // Paused: newer traces wait until the display resumes.
        match newest {
            Some(newest) => {
                let later = self.waiting.split_off(&TraceId(newest.0.saturating_add(1)));
                let released = std::mem::replace(&mut self.waiting, later);
                let (now, later): (Vec<TraceId>, Vec<TraceId>) =
                    pending.into_iter().partition(|id| *id <= newest);
                self.waiting.extend(later);
                pending = now;
                pending.extend(released);
            }
            None => pending.extend(std::mem::take(&mut self.waiting)),
        }
        pending.sort_unstable();
        pending.dedup();
        for id in pending {
            let key = match store.get(id).filter(|_| list.contains(id)) {
                Some(trace) => match self.key(trace) {
                    Some(key) => Some(key),
                    None if self.place_topic(&trace.topic) => self.key(trace),
                    None => {
                        // A new topic with no room left between its neighbours'
                        // places (after some 50 topics each placed in the last one's
                        // gap): every place is dealt again.
                        let waiting = std::mem::take(&mut self.waiting);
                        *self = SortedRows::new(self.sort, list, newest, store);
                        self.waiting = waiting;
                        return;
                    }
                },
                None => None,
            };
            if let Some(old) = self.keys.remove(&id) {
                self.rows.remove(&(old, Reverse(id)));
            }
            if let Some(key) = key {
                self.keys.insert(id, key);
                self.rows.insert((key, Reverse(id)));
            }
        }
    }

    /// Gives a topic not seen before the place between its neighbours' in alphabetical
    /// order, so that no other row moves; false when there is no room between them.
    fn place_topic(&mut self, topic: &Arc<str>) -> bool {
        let before = self
            .topics
            .range::<str, _>((Bound::Unbounded, Bound::Excluded(&**topic)))
            .next_back()
            .map_or(0, |(_, place)| *place);
        let after = self
            .topics
            .range::<str, _>((Bound::Excluded(&**topic), Bound::Unbounded))
            .next()
            .map_or(u64::MAX, |(_, place)| *place);
        if after.saturating_sub(before) < 2 {
            return false;
        }
        self.topics
            .insert(topic.clone(), before + (after - before) / 2);
        true
    }

    /// Notes that the traces before `first` were evicted from the store: the next merge
    /// drops them (every batch that evicts also changes traces, so it comes at once).
    pub fn evict_before(&mut self, first: TraceId) {
        self.evicted |= first > self.first;
        self.first = first;
        self.pending.retain(|id| *id >= first);
        self.waiting = self.waiting.split_off(&first);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::fixture::request;
    use gilmour::inspect::{Inspector, InspectorOptions};

    /// A request on `topic`, on the list.
    fn push(inspector: &mut Inspector, list: &mut TraceList, topic: &str) -> TraceId {
        let n = inspector.store().len();
        inspector.ingest(request(n as i64, topic, &format!("s{n}"), "1"));
        let id = inspector.store().first_id();
        let id = TraceId(id.0 + n as u64);
        list.set(id, true);
        id
    }

    fn topics_in_order(sorted: &SortedRows, store: &TraceStore) -> Vec<String> {
        (0..sorted.len())
            .filter_map(|row| store.get(sorted.at_row(row)?))
            .map(|trace| trace.topic.to_string())
            .collect()
    }

    #[test]
    fn a_new_topic_takes_its_place_without_moving_the_others() {
        let (mut inspector, mut list) = (
            Inspector::new(InspectorOptions::default()),
            TraceList::default(),
        );
        for topic in ["b", "d"] {
            push(&mut inspector, &mut list, topic);
        }
        let sort = Sort {
            column: SortColumn::Topic,
            descending: false,
        };
        let mut sorted = SortedRows::new(sort, &list, None, inspector.store());
        let before = sorted.topics.clone();
        for topic in ["c", "a", "e", "c"] {
            let id = push(&mut inspector, &mut list, topic);
            sorted.touched(id);
            sorted.merge(&list, None, inspector.store());
        }
        assert_eq!(
            topics_in_order(&sorted, inspector.store()),
            ["a", "b", "c", "c", "d", "e"]
        );
        for (topic, place) in &before {
            assert_eq!(
                sorted.topics.get(topic),
                Some(place),
                "{topic} kept its place"
            );
        }
    }

    #[test]
    fn topics_placed_in_one_gap_until_it_is_full_are_placed_again() {
        let (mut inspector, mut list) = (
            Inspector::new(InspectorOptions::default()),
            TraceList::default(),
        );
        push(&mut inspector, &mut list, "a");
        push(&mut inspector, &mut list, "z");
        let sort = Sort {
            column: SortColumn::Topic,
            descending: false,
        };
        let mut sorted = SortedRows::new(sort, &list, None, inspector.store());
        // Each new topic sorts just after "a": its gap halves every time.
        let mut topic = String::from("a");
        for _ in 0..80 {
            topic.push('a');
            let id = push(&mut inspector, &mut list, &topic);
            sorted.touched(id);
            sorted.merge(&list, None, inspector.store());
        }
        let order = topics_in_order(&sorted, inspector.store());
        let mut expected = order.clone();
        expected.sort();
        assert_eq!(order, expected);
        assert_eq!(order.len(), 82);
    }
}
