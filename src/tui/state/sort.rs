//! The trace list sorted by a column other than time. The filtered index
//! ([`TraceList`](super::list::TraceList)) stays the truth; this is a second order over
//! the same ids, with each one's key copied beside it, built once when a sort is chosen
//! and then kept up to date by merging the traces that changed since: a batch of
//! updates costs one pass over the rows, never a sort of the whole list.
//!
//! Row 0 is the first in the sort's order; ties go newest first.

use super::list::TraceList;
use gilmour::inspect::{Trace, TraceId, TraceStore};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashSet};
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

/// How many rows one change lets wait for a merge (see [`SortedRows::due`]).
const ROWS_PER_CHANGE: usize = 64;

/// A row: its key in the sort's order (smaller first) and its trace. Keys are copied
/// into the rows, so that comparing rows never reads the store, and kept small (16
/// bytes a row): a batch's merge is a pass over them.
type SortedRow = (u64, TraceId);

/// The shown traces in a sort's order.
#[derive(Debug)]
pub struct SortedRows {
    sort: Sort,
    rows: Vec<SortedRow>,
    /// The rows being built by a merge, kept between merges so that a merge does not
    /// allocate.
    spare: Vec<SortedRow>,
    /// For the topic sort, each topic's place in alphabetical order (a topic not seen
    /// when the rows were built sorts them again).
    topics: BTreeMap<Arc<str>, u64>,
    /// Traces changed since the rows were last merged (their key may have moved).
    pending: Vec<TraceId>,
    /// Traces before this one have been evicted: the next merge drops them.
    first: TraceId,
    /// Whether `first` moved since the last merge.
    evicted: bool,
    /// Where the cursor and the top row last were found, by merge (the generation),
    /// id and row: finding a row by id is then O(1) until the next merge, even for a
    /// trace no longer on the list (atomics so that the view can remember on `&self`).
    hints: [[AtomicU64; 3]; 2],
    /// Bumped by every merge.
    generation: u64,
}

impl Clone for SortedRows {
    fn clone(&self) -> Self {
        SortedRows {
            sort: self.sort,
            rows: self.rows.clone(),
            spare: Vec::new(),
            topics: self.topics.clone(),
            pending: self.pending.clone(),
            first: self.first,
            evicted: self.evicted,
            hints: Default::default(),
            generation: self.generation,
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
            for (rank, place) in topics.values_mut().enumerate() {
                *place = rank as u64;
            }
        }
        let mut sorted = SortedRows {
            sort,
            rows: Vec::new(),
            spare: Vec::new(),
            topics,
            pending: Vec::new(),
            first: TraceId(0),
            evicted: false,
            hints: Default::default(),
            generation: 1,
        };
        let mut rows: Vec<SortedRow> = list
            .newest_first(len)
            .filter_map(|id| Some((sorted.key(store.get(id)?)?, id)))
            .collect();
        rows.sort_unstable_by(order);
        sorted.rows = rows;
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
        self.rows.get(row).map(|(_, id)| *id)
    }

    /// The row of `id`, or (when it is gone) the row last found for `hint`.
    pub fn row_of(&self, id: TraceId, hint: Hint) -> usize {
        let [generation, found, row] = &self.hints[hint as usize];
        let last = usize::try_from(row.load(Atomic::Relaxed)).unwrap_or(0);
        let clamp = |row: usize| row.min(self.rows.len().saturating_sub(1));
        if generation.load(Atomic::Relaxed) == self.generation
            && found.load(Atomic::Relaxed) == id.0
        {
            return clamp(last);
        }
        let at = match self.rows.iter().position(|(_, other)| *other == id) {
            Some(at) => at,
            None => clamp(last),
        };
        generation.store(self.generation, Atomic::Relaxed);
        found.store(id.0, Atomic::Relaxed);
        row.store(at as u64, Atomic::Relaxed);
        at
    }

    /// Notes that a trace changed (or arrived): it is put in its place by [`merge`].
    ///
    /// [`merge`]: SortedRows::merge
    pub fn touched(&mut self, id: TraceId) {
        self.pending.push(id);
    }

    /// Whether enough changed for a merge to be worth its pass over the rows: one
    /// change for every [`ROWS_PER_CHANGE`] rows. A small list merges every batch; a
    /// list of a million rows every 15,000 changes, or on the next tick.
    pub fn due(&self) -> bool {
        self.pending.len().saturating_mul(ROWS_PER_CHANGE) >= self.rows.len()
    }

    /// Puts the traces changed since the last merge in their place: those `list` shows
    /// (up to `newest`, when paused) at their key's row, the others off; drops the
    /// evicted. One pass over the rows.
    pub fn merge(&mut self, list: &TraceList, newest: Option<TraceId>, store: &TraceStore) {
        if self.pending.is_empty() && !self.evicted {
            return;
        }
        self.evicted = false;
        let mut pending = std::mem::take(&mut self.pending);
        pending.sort_unstable();
        pending.dedup();
        // Paused: newer traces wait until the display resumes.
        if let Some(newest) = newest {
            let later = pending.partition_point(|id| *id <= newest);
            self.pending = pending.split_off(later);
        }
        let lowest = pending.first().copied().unwrap_or(TraceId(u64::MAX));
        let mut fresh = Vec::with_capacity(pending.len());
        for id in &pending {
            let Some(trace) = store.get(*id).filter(|_| list.contains(*id)) else {
                continue;
            };
            match self.key(trace) {
                Some(key) => fresh.push((key, *id)),
                None => {
                    // A new topic: its place among the others changes every rank.
                    *self = SortedRows::new(self.sort, list, newest, store);
                    return;
                }
            }
        }
        fresh.sort_unstable_by(order);
        let changed: HashSet<TraceId> = pending.into_iter().collect();
        let first = self.first;
        // Before `first`: evicted, unless pinned (the list keeps those).
        let kept = |(_, id): &&SortedRow| {
            (*id >= first || list.contains(*id)) && (*id < lowest || !changed.contains(id))
        };
        let mut merged = std::mem::take(&mut self.spare);
        merged.clear();
        merged.reserve(self.rows.len() + fresh.len());
        let mut fresh = fresh.into_iter().peekable();
        for row in self.rows.iter().filter(kept) {
            while let Some(next) = fresh.next_if(|next| order(next, row).is_lt()) {
                merged.push(next);
            }
            merged.push(*row);
        }
        merged.extend(fresh);
        self.spare = std::mem::replace(&mut self.rows, merged);
        self.generation += 1;
    }

    /// Notes that the traces before `first` were evicted from the store: the next merge
    /// drops them (every batch that evicts also changes traces, so it comes at once).
    pub fn evict_before(&mut self, first: TraceId) {
        self.evicted |= first > self.first;
        self.first = first;
        self.pending.retain(|id| *id >= first);
    }
}

/// Smaller keys first; ties newest first.
fn order(a: &SortedRow, b: &SortedRow) -> Ordering {
    a.0.cmp(&b.0).then_with(|| b.1.cmp(&a.1))
}
