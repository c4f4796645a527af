//! The traces on show: the ids that pass the filter, oldest first, kept up to date one
//! update at a time, so that no frame ever filters the whole store.
//!
//! Ids only grow and the store evicts from the oldest end, so the list stays sorted and
//! finding a trace's row is a binary search. Row 0 is the newest.

use gilmour::inspect::TraceId;
use std::collections::VecDeque;

/// Sorted ids of the traces shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceList {
    ids: VecDeque<TraceId>,
}

impl TraceList {
    /// A list of these ids (they must be in increasing order).
    pub fn from_sorted(ids: impl IntoIterator<Item = TraceId>) -> Self {
        TraceList {
            ids: ids.into_iter().collect(),
        }
    }

    /// Puts `id` on the list or takes it off, as `shown` says; true when that changed it.
    pub fn set(&mut self, id: TraceId, shown: bool) -> bool {
        // New traces arrive at the end: look there first.
        if shown && self.ids.back().is_none_or(|last| *last < id) {
            self.ids.push_back(id);
            return true;
        }
        match (self.ids.binary_search(&id), shown) {
            (Ok(_), true) | (Err(_), false) => false,
            (Ok(at), false) => {
                self.ids.remove(at);
                true
            }
            (Err(at), true) => {
                self.ids.insert(at, id);
                true
            }
        }
    }

    /// Drops the ids before `first` (evicted from the store); how many went.
    pub fn evict_before(&mut self, first: TraceId) -> usize {
        let gone = self.ids.partition_point(|id| *id < first);
        self.ids.drain(..gone);
        gone
    }

    /// How many are shown, up to and including `newest` when the display is paused.
    pub fn len_until(&self, newest: Option<TraceId>) -> usize {
        match newest {
            Some(newest) => self.ids.partition_point(|id| *id <= newest),
            None => self.ids.len(),
        }
    }

    /// Whether `id` is on the list.
    pub fn contains(&self, id: TraceId) -> bool {
        self.ids.binary_search(&id).is_ok()
    }

    /// How many are on the list.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// The id on a row (0 is the newest) of a list of `len` rows.
    pub fn at_row(&self, row: usize, len: usize) -> Option<TraceId> {
        let index = len.checked_sub(row + 1)?;
        self.ids.get(index).copied()
    }

    /// The row an id would have (its own, or the nearest older one's) in `len` rows.
    pub fn nearest_row(&self, id: TraceId, len: usize) -> usize {
        let index = match self.ids.binary_search(&id) {
            Ok(index) => index,
            Err(index) => index.saturating_sub(1),
        };
        len.saturating_sub(1)
            .saturating_sub(index.min(len.saturating_sub(1)))
    }

    /// Ids from the newest of `len` rows to the oldest.
    pub fn newest_first(&self, len: usize) -> impl Iterator<Item = TraceId> + '_ {
        self.ids.iter().take(len).rev().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &TraceList) -> Vec<u64> {
        list.newest_first(list.len()).map(|id| id.0).collect()
    }

    #[test]
    fn stays_sorted_as_traces_come_go_and_change() {
        let mut list = TraceList::default();
        for n in [1, 2, 4, 5] {
            assert!(list.set(TraceId(n), true));
        }
        assert!(!list.set(TraceId(5), true), "already there");
        assert!(
            list.set(TraceId(3), true),
            "a trace that matches once it completed"
        );
        assert!(list.set(TraceId(4), false), "one that no longer matches");
        assert!(!list.set(TraceId(9), false));
        assert_eq!(ids(&list), [5, 3, 2, 1]);
        assert_eq!(list.evict_before(TraceId(3)), 2);
        assert_eq!(ids(&list), [5, 3]);
    }

    #[test]
    fn rows_count_from_the_newest_and_pause_hides_newer() {
        let list = TraceList::from_sorted([10, 20, 30, 40].map(TraceId));
        let len = list.len();
        assert_eq!(list.at_row(0, len), Some(TraceId(40)));
        assert_eq!(list.nearest_row(TraceId(10), len), 3);
        let paused = list.len_until(Some(TraceId(25)));
        assert_eq!(paused, 2);
        assert_eq!(list.at_row(0, paused), Some(TraceId(20)));
        assert_eq!(list.nearest_row(TraceId(40), paused), 0);
        assert_eq!(list.nearest_row(TraceId(35), len), 1);
        assert_eq!(list.at_row(9, len), None);
    }
}
