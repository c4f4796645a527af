//! The trace list's state: the filtered list, the cursor, follow and pause, marks, the
//! filter bar. The list is a view of the store through the filter; [`TracesState::refilter`]
//! is the one way to rebuild it, and setting a filter or showing health pings goes through
//! it, so the list cannot disagree with the filter in force.

use super::input::LineInput;
use super::list::TraceList;
use super::sort::{Hint, Sort, SortedRows};
use crate::tui::keymap::KeyMap;
use gilmour::inspect::{Filter, FilterError, Trace, TraceId, TraceKind, TraceStore};
use std::collections::HashSet;

/// How many applied filters `↑` can recall.
const FILTER_HISTORY: usize = 100;

/// The trace list's cursor and display.
#[derive(Debug, Clone, Default)]
pub struct TracesState {
    /// The traces that pass the filter.
    pub list: TraceList,
    /// The selected trace; `None` while following (the newest is selected).
    pub selected: Option<TraceId>,
    /// The trace on the first visible row; `None` while following.
    pub top: Option<TraceId>,
    /// Whether the newest trace stays selected as traces arrive.
    pub follow: bool,
    /// While paused, the newest trace shown: newer ones are captured but not shown.
    pub frozen: Option<TraceId>,
    /// Marked traces.
    pub marks: HashSet<TraceId>,
    /// Whether health pings are shown.
    pub show_health: bool,
    /// The list in another order than newest first, when one is chosen.
    pub sorted: Option<SortedRows>,
    /// The topic column's width, when the user set it (else it gives way by priority).
    pub topic_width: Option<u16>,
}

/// The filter bar.
#[derive(Debug, Clone, Default)]
pub struct FilterBar {
    /// What is being typed.
    pub input: LineInput,
    /// Whether the bar has the keyboard.
    pub editing: bool,
    /// The filter in force.
    pub applied: Filter,
    /// Its text.
    pub applied_text: String,
    /// Why the text being typed does not parse.
    pub error: Option<FilterError>,
    /// Filters applied before, newest last.
    pub history: Vec<String>,
    /// Where `↑` is in the history.
    pub history_at: Option<usize>,
    /// The file the history is kept in across sessions, when there is one.
    pub history_file: Option<std::path::PathBuf>,
    /// Whether the history changed since it was last handed over to be written.
    pub history_unsaved: bool,
    /// While typing: how many traces the text would show, and whether only the newest
    /// [`COUNT_AT_MOST`] were counted.
    pub matches: Option<(usize, bool)>,
}

/// The most traces the live match count reads per key: a key press stays quick on a
/// store of millions.
pub const COUNT_AT_MOST: usize = 100_000;

impl TracesState {
    /// How many traces the list shows (fewer while paused).
    pub fn shown(&self) -> usize {
        match &self.sorted {
            Some(sorted) => sorted.len(),
            None => self.list.len_until(self.frozen),
        }
    }

    /// The order of the list.
    pub fn sort(&self) -> Sort {
        self.sorted
            .as_ref()
            .map_or_else(Sort::default, SortedRows::sort)
    }

    /// The trace on a row (0 is the first shown).
    pub fn at_row(&self, row: usize) -> Option<TraceId> {
        match &self.sorted {
            Some(sorted) => sorted.at_row(row),
            None => self.list.at_row(row, self.shown()),
        }
    }

    /// The row of `id` (its own, or the nearest one's when it is no longer shown).
    fn row_of(&self, id: TraceId, hint: Hint) -> usize {
        match &self.sorted {
            Some(sorted) => sorted.row_of(id, hint),
            None => self.list.nearest_row(id, self.shown()),
        }
    }

    /// Sorts the list (the default order: newest first, as it comes); a sort other than
    /// time stops following and puts the cursor on its first row.
    pub fn set_sort(&mut self, sort: Sort, store: &TraceStore) {
        if sort.is_default() {
            self.sorted = None;
        } else {
            self.sorted = Some(SortedRows::new(sort, &self.list, self.frozen, store));
            self.follow = false;
        }
        self.select_newest();
    }

    /// Puts the traces changed since the last merge in the sort's order (after every
    /// batch: a row never shows a value its place disagrees with).
    pub fn merge(&mut self, store: &TraceStore) {
        if let Some(sorted) = &mut self.sorted {
            sorted.merge(&self.list, self.frozen, store);
        }
    }

    /// The selected trace's row, if any trace is shown.
    pub fn selected_row(&self) -> Option<usize> {
        let shown = self.shown();
        if shown == 0 {
            return None;
        }
        Some(match self.selected {
            Some(id) => self.row_of(id, Hint::Cursor),
            None => 0,
        })
    }

    /// The selected trace.
    pub fn selected_trace(&self) -> Option<TraceId> {
        let row = self.selected_row()?;
        self.at_row(row)
    }

    /// The first visible row of the trace list.
    pub fn top_row(&self) -> usize {
        match self.top {
            Some(id) => self.row_of(id, Hint::Top),
            None => 0,
        }
    }

    /// Whether the list shows a trace: gaps always, health pings when asked, the rest when
    /// the filter matches.
    pub fn shows(&self, filter: &Filter, trace: &Trace) -> bool {
        trace.kind == TraceKind::Gap
            || ((self.show_health || !trace.is_health()) && filter.matches(trace))
    }

    /// Puts a trace that changed on the list or takes it off.
    pub fn touch(&mut self, filter: &Filter, trace: &Trace) {
        let shown = self.shows(filter, trace);
        let changed = self.list.set(trace.id, shown);
        // A trace's key may move without changing whether it is shown (its reply came).
        if let Some(sorted) = &mut self.sorted
            && (changed || shown)
        {
            sorted.touched(trace.id);
        }
    }

    /// Forgets traces older than `first` (the store evicted them), but the pinned ones
    /// it passed by.
    pub fn evict_before(&mut self, first: TraceId, store: &TraceStore, filter: &Filter) {
        let gone = self.list.evict_before(first);
        if gone > 0 {
            for trace in store.kept() {
                let shown = self.shows(filter, trace);
                self.list.set(trace.id, shown);
            }
        }
        if let Some(sorted) = &mut self.sorted {
            sorted.evict_before(first);
        }
        self.marks.retain(|id| *id >= first || store.is_pinned(*id));
    }

    /// Filters the whole store again (a new filter, health shown or hidden); a cursor that
    /// is not following stays on its trace, `rows` rows high.
    pub fn refilter(&mut self, store: &TraceStore, filter: &Filter, rows: usize) {
        let selected = self.selected_trace();
        let ids: Vec<TraceId> = store
            .kept()
            .chain(store.newest_first().rev())
            .filter(|trace| self.shows(filter, trace))
            .map(|trace| trace.id)
            .collect();
        self.list = TraceList::from_sorted(ids);
        if let Some(sorted) = &self.sorted {
            self.sorted = Some(SortedRows::new(
                sorted.sort(),
                &self.list,
                self.frozen,
                store,
            ));
        }
        if !self.follow {
            self.selected = selected;
            self.top = selected;
            self.keep_visible(rows);
        }
    }

    /// Puts the cursor and the top row on the newest trace shown (still not following).
    pub fn select_newest(&mut self) {
        let newest = self.at_row(0);
        self.selected = newest;
        self.top = newest;
    }

    /// How many shown traces are above the first visible row (newer, off screen).
    pub fn newer_above(&self) -> usize {
        if self.follow { 0 } else { self.top_row() }
    }

    /// Marks or unmarks a trace.
    pub fn toggle_mark(&mut self, id: TraceId) {
        if !self.marks.remove(&id) {
            self.marks.insert(id);
        }
    }

    /// Moves the cursor by `rows` (positive is older); moving stops following.
    pub fn step(&mut self, rows: isize, page: usize) {
        let shown = self.shown();
        if shown == 0 {
            return;
        }
        let row = self.selected_row().unwrap_or(0) as isize;
        let target = row.saturating_add(rows).clamp(0, shown as isize - 1) as usize;
        self.follow = false;
        if self.top.is_none() {
            self.top = self.at_row(0);
        }
        self.selected = self.at_row(target);
        self.keep_visible(page);
    }

    /// Selects a row (a click); stops following.
    pub fn select_row(&mut self, row: usize) {
        let shown = self.shown();
        if row >= shown {
            return;
        }
        self.follow = false;
        if self.top.is_none() {
            self.top = self.at_row(0);
        }
        self.selected = self.at_row(row);
    }

    /// Scrolls so that the selected row is on screen, `rows` rows high.
    pub fn keep_visible(&mut self, rows: usize) {
        let Some(row) = self.selected_row() else {
            return;
        };
        let top = self.top_row();
        if row < top {
            self.top = self.at_row(row);
        } else if row >= top + rows {
            self.top = self.at_row(row + 1 - rows);
        }
    }
}

impl FilterBar {
    /// Reads the text being typed (`@name`: the filter of that name): why it does not
    /// parse, or how many traces it matches.
    pub fn check(&mut self, traces: &TracesState, store: &TraceStore, keymap: &KeyMap) {
        let typed = self.input.text().trim();
        let text = match typed.strip_prefix('@') {
            Some(name) => match keymap.filter(name) {
                Some(text) => text,
                None => {
                    self.error = None;
                    self.matches = None;
                    return;
                }
            },
            None => typed,
        };
        match text.parse::<Filter>() {
            Ok(filter) => {
                self.error = None;
                let counted = store
                    .newest_first()
                    .take(COUNT_AT_MOST)
                    .filter(|trace| traces.shows(&filter, trace))
                    .count();
                self.matches = Some((counted, store.len() > COUNT_AT_MOST));
            }
            Err(error) => {
                self.error = Some(error);
                self.matches = None;
            }
        }
    }

    /// Completes `@na` to a named filter's `@name`: to the name when one fits, else as far
    /// as the names that fit agree. The names that fit, in order (none: not a name typed).
    pub fn complete_name(&mut self, keymap: &KeyMap) -> Vec<String> {
        let Some(typed) = self.input.text().trim_start().strip_prefix('@') else {
            return Vec::new();
        };
        let fits: Vec<String> = keymap
            .filter_names()
            .filter(|name| name.starts_with(typed))
            .map(str::to_owned)
            .collect();
        let Some(first) = fits.first() else {
            return fits;
        };
        let agreed = fits.iter().skip(1).fold(first.as_str(), |agreed, name| {
            let same = agreed
                .char_indices()
                .zip(name.chars())
                .take_while(|((_, a), b)| a == b)
                .last()
                .map_or(0, |((at, a), _)| at + a.len_utf8());
            &agreed[..same]
        });
        if agreed.len() > typed.len() {
            self.input.set(format!("@{agreed}"));
        }
        fits
    }

    /// Puts a filter in force (remembered in the history); the caller refilters.
    pub(super) fn apply(&mut self, text: String, filter: Filter) {
        if !text.is_empty() {
            self.history.retain(|old| *old != text);
            self.history.push(text.clone());
            if self.history.len() > FILTER_HISTORY {
                self.history.remove(0);
            }
            self.history_unsaved = true;
        }
        self.applied = filter;
        self.applied_text = text;
    }
}
