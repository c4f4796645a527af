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
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering as Atomic};

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

    /// A trace's key in this column. A trace without a value (no latency yet, no code)
    /// sorts as the smallest.
    fn key(self, trace: &Trace) -> SortKey {
        match self {
            SortColumn::Time => SortKey::Num(trace.id.0),
            SortColumn::Latency => SortKey::Num(trace.latency().map_or(0, |latency| {
                u64::try_from(latency.as_micros()).unwrap_or(u64::MAX)
            })),
            SortColumn::Size => SortKey::Num(trace.size() as u64),
            SortColumn::Code => SortKey::Num(
                trace
                    .code()
                    .map_or(0, |code| u64::try_from(code.0).unwrap_or(0)),
            ),
            SortColumn::Topic => SortKey::Text(trace.topic.clone()),
        }
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

/// A copy of a trace's sort value, so that comparing rows never reads the store.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum SortKey {
    Num(u64),
    Text(Arc<str>),
}

/// The shown traces in a sort's order.
#[derive(Debug, Default)]
pub struct SortedRows {
    sort: Sort,
    rows: Vec<(SortKey, TraceId)>,
    /// Traces changed since the rows were last merged (their key may have moved).
    pending: Vec<TraceId>,
    /// Where the cursor and the top row last were: finding a row by id is then O(1)
    /// while nothing moved (atomics so that the view can remember on `&self`).
    hints: [AtomicUsize; 2],
}

impl Clone for SortedRows {
    fn clone(&self) -> Self {
        SortedRows {
            sort: self.sort,
            rows: self.rows.clone(),
            pending: self.pending.clone(),
            hints: [
                AtomicUsize::new(self.hints[0].load(Atomic::Relaxed)),
                AtomicUsize::new(self.hints[1].load(Atomic::Relaxed)),
            ],
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
        let mut rows: Vec<(SortKey, TraceId)> = list
            .newest_first(len)
            .filter_map(|id| Some((sort.column.key(store.get(id)?), id)))
            .collect();
        rows.sort_unstable_by(|a, b| order(sort, a, b));
        SortedRows {
            sort,
            rows,
            pending: Vec::new(),
            hints: [AtomicUsize::new(0), AtomicUsize::new(0)],
        }
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
        let cell = &self.hints[hint as usize];
        let last = cell.load(Atomic::Relaxed);
        if self.at_row(last) == Some(id) {
            return last;
        }
        match self.rows.iter().position(|(_, other)| *other == id) {
            Some(row) => {
                cell.store(row, Atomic::Relaxed);
                row
            }
            None => last.min(self.rows.len().saturating_sub(1)),
        }
    }

    /// Notes that a trace changed (or arrived): it is put in its place by [`merge`].
    ///
    /// [`merge`]: SortedRows::merge
    pub fn touched(&mut self, id: TraceId) {
        self.pending.push(id);
    }

    /// Puts the traces changed since the last merge in their place: those `list` shows
    /// (up to `newest`, when paused) at their key's row, the others off. One pass.
    pub fn merge(&mut self, list: &TraceList, newest: Option<TraceId>, store: &TraceStore) {
        if self.pending.is_empty() {
            return;
        }
        let mut pending = std::mem::take(&mut self.pending);
        pending.sort_unstable();
        pending.dedup();
        // Paused: newer traces wait until the display resumes.
        if let Some(newest) = newest {
            let later = pending.partition_point(|id| *id <= newest);
            self.pending = pending.split_off(later);
        }
        let lowest = pending.first().copied().unwrap_or(TraceId(u64::MAX));
        let changed: HashSet<TraceId> = pending.iter().copied().collect();
        self.rows
            .retain(|(_, id)| *id < lowest || !changed.contains(id));
        let mut fresh: Vec<(SortKey, TraceId)> = pending
            .into_iter()
            .filter(|id| list.contains(*id))
            .filter_map(|id| Some((self.sort.column.key(store.get(id)?), id)))
            .collect();
        if fresh.is_empty() {
            return;
        }
        fresh.sort_unstable_by(|a, b| order(self.sort, a, b));
        let old = std::mem::take(&mut self.rows);
        let mut merged = Vec::with_capacity(old.len() + fresh.len());
        let mut fresh = fresh.into_iter().peekable();
        for row in old {
            while let Some(next) = fresh.next_if(|next| order(self.sort, next, &row).is_lt()) {
                merged.push(next);
            }
            merged.push(row);
        }
        merged.extend(fresh);
        self.rows = merged;
    }

    /// Drops the traces before `first` (evicted from the store).
    pub fn evict_before(&mut self, first: TraceId) {
        if self.rows.iter().any(|(_, id)| *id < first) {
            self.rows.retain(|(_, id)| *id >= first);
        }
        self.pending.retain(|id| *id >= first);
    }
}

fn order(sort: Sort, a: &(SortKey, TraceId), b: &(SortKey, TraceId)) -> Ordering {
    let by_key = if sort.descending {
        b.0.cmp(&a.0)
    } else {
        a.0.cmp(&b.0)
    };
    by_key.then_with(|| b.1.cmp(&a.1))
}
