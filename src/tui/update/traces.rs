//! The trace list: taking in batches of events, keeping the filtered list current one
//! trace at a time, the cursor, follow and pause, marks, the filter bar, writing files.

use super::super::action::Effect;
use super::super::app::{App, Modal};
use super::super::input::LineInput;
use super::super::keymap::Command;
use super::super::layout::list_rows;
use super::super::list::TraceList;
use super::super::model::{LIVE_ERRORS, LiveError, live_record};
use super::{detail, send};
use crossterm::event::{KeyCode, KeyEvent};
use gilmour::inspect::{Event, Filter, Trace, TraceId, TraceKind, Update};

/// Takes in a batch of captured events.
pub fn ingest(app: &mut App, events: Vec<Event>) {
    if events.is_empty() {
        return;
    }
    let mut detail_changed = false;
    for event in events {
        if !app.online && event.at() > app.now {
            // Offline, the file's clock is the app's clock.
            app.now = event.at();
        }
        if let Some(id) = touched_by(app.inspector.ingest(event)) {
            detail_changed |= app.detail.as_ref().is_some_and(|d| d.id == id);
            touch(app, id);
        }
    }
    settle(app, detail_changed);
}

/// Takes in a batch of deep capture's facts: who called, who answered, the lock race.
pub fn deepen(app: &mut App, events: Vec<gilmour::inspect::deep::DeepEvent>) {
    let mut detail_changed = false;
    let mut touched = false;
    for event in events {
        if let Some(id) = app.inspector.ingest_deep(event) {
            detail_changed |= app.detail.as_ref().is_some_and(|d| d.id == id);
            touch(app, id);
            touched = true;
        }
    }
    if touched {
        settle(app, detail_changed);
    }
}

fn touched_by(update: Update) -> Option<TraceId> {
    match update {
        Update::Opened(id) | Update::Grew(id) | Update::Completed(id) | Update::Changed(id) => {
            Some(id)
        }
        Update::Lost => None,
    }
}

/// Marks requests that waited too long as unanswered, by the app's clock.
pub fn sweep(app: &mut App) {
    let mut touched = Vec::new();
    app.inspector
        .sweep(app.now, |update| touched.extend(touched_by(update)));
    if touched.is_empty() {
        return;
    }
    let detail_changed = touched
        .iter()
        .any(|id| app.detail.as_ref().is_some_and(|d| d.id == *id));
    for id in touched {
        touch(app, id);
    }
    settle(app, detail_changed);
}

/// After a batch: forget evicted traces, tie up replays, refresh an open detail.
/// How many applied filters `↑` can recall.
const FILTER_HISTORY: usize = 100;

fn settle(app: &mut App, detail_changed: bool) {
    let store = app.inspector.store();
    let first = store
        .newest_first()
        .next_back()
        .map_or(TraceId(u64::MAX), |oldest| oldest.id);
    app.traces.list.evict_before(first);
    app.traces.marks.retain(|id| *id >= first);
    app.links.replay_of.retain(|replay, _| *replay >= first);
    app.links.replays.retain(|original, replays| {
        replays.retain(|replay| *replay >= first);
        *original >= first
    });
    while app.errors.live.front().is_some_and(|live| live.id < first) {
        app.errors.live.pop_front();
    }
    send::resolve_links(app);
    if detail_changed {
        detail::rebuild(app);
    }
    app.dirty = true;
}

fn touch(app: &mut App, id: TraceId) {
    let Some(trace) = app.inspector.store().get(id) else {
        return;
    };
    let shown = shows(app, trace);
    // Only records that read as such are listed live: the Errors screen's rows and the
    // commands on them must index the same list.
    let channel = live_record(&app.channels, trace).map(|(_, event)| event.channel.clone());
    app.traces.list.set(id, shown);
    if let Some(channel) = channel
        && !app.errors.live.iter().any(|live| live.id == id)
    {
        app.errors.live.push_back(LiveError { id, channel });
        if app.errors.live.len() > LIVE_ERRORS {
            app.errors.live.pop_front();
        }
    }
}

/// Whether the list shows a trace: gaps always, health pings when asked, the rest when
/// the filter matches.
fn shows(app: &App, trace: &Trace) -> bool {
    trace.kind == TraceKind::Gap
        || ((app.traces.show_health || !trace.is_health()) && app.filter.applied.matches(trace))
}

/// Filters the whole store again (a new filter, health shown or hidden).
pub fn refilter(app: &mut App) {
    let selected = app.selected_trace();
    let ids: Vec<TraceId> = app
        .inspector
        .store()
        .newest_first()
        .rev()
        .filter(|trace| shows(app, trace))
        .map(|trace| trace.id)
        .collect();
    app.traces.list = TraceList::from_sorted(ids);
    if !app.traces.follow {
        app.traces.selected = selected;
        app.traces.top = selected;
        keep_visible(app);
    }
}

/// Runs a trace list command.
pub fn command(app: &mut App, command: Command) {
    let page = list_rows(app) as isize;
    match command {
        Command::Up => step(app, -1),
        Command::Down => step(app, 1),
        Command::PageUp => step(app, -page),
        Command::PageDown => step(app, page),
        Command::Top => step(app, isize::MIN / 2),
        Command::Bottom => step(app, isize::MAX / 2),
        Command::Follow => {
            app.traces.follow = !app.traces.follow;
            if app.traces.follow {
                app.traces.selected = None;
                app.traces.top = None;
            }
        }
        Command::Pause => {
            app.traces.frozen = match app.traces.frozen {
                Some(_) => None,
                None => Some(
                    app.traces
                        .list
                        .at_row(0, app.traces.list.len())
                        .unwrap_or(TraceId(0)),
                ),
            };
        }
        Command::ToggleHealth => {
            app.traces.show_health = !app.traces.show_health;
            refilter(app);
        }
        Command::Open => {
            if let Some(id) = app.selected_trace() {
                detail::open(app, id);
            }
        }
        Command::Back if !app.filter.applied_text.is_empty() => {
            apply_filter(app, String::new(), Filter::all());
        }
        Command::Mark => {
            if let Some(id) = app.selected_trace() {
                toggle_mark(app, id);
                step(app, 1);
            }
        }
        Command::Write => {
            let name = format!("gilmour-{}.jsonl", app.now.format("%Y%m%d-%H%M%S"));
            app.modal = Some(Modal::Write(LineInput::new(name)));
        }
        Command::Replay | Command::EditReplay | Command::Copy => {
            if let Some(id) = app.selected_trace() {
                send::on_trace(app, id, command);
            }
        }
        _ => {}
    }
}

/// Marks or unmarks a trace.
pub fn toggle_mark(app: &mut App, id: TraceId) {
    if !app.traces.marks.remove(&id) {
        app.traces.marks.insert(id);
    }
}

/// Moves the cursor by `rows` (positive is older); moving stops following.
fn step(app: &mut App, rows: isize) {
    let shown = app.shown();
    if shown == 0 {
        return;
    }
    let row = app.selected_row().unwrap_or(0) as isize;
    let target = row.saturating_add(rows).clamp(0, shown as isize - 1) as usize;
    app.traces.follow = false;
    if app.traces.top.is_none() {
        app.traces.top = app.traces.list.at_row(0, shown);
    }
    app.traces.selected = app.traces.list.at_row(target, shown);
    keep_visible(app);
}

/// Selects a row (a click); stops following.
pub fn select_row(app: &mut App, row: usize) {
    let shown = app.shown();
    if row >= shown {
        return;
    }
    app.traces.follow = false;
    if app.traces.top.is_none() {
        app.traces.top = app.traces.list.at_row(0, shown);
    }
    app.traces.selected = app.traces.list.at_row(row, shown);
}

/// Scrolls so that the selected row is on screen.
fn keep_visible(app: &mut App) {
    let Some(row) = app.selected_row() else {
        return;
    };
    let rows = list_rows(app);
    let top = app.top_row();
    let shown = app.shown();
    if row < top {
        app.traces.top = app.traces.list.at_row(row, shown);
    } else if row >= top + rows {
        app.traces.top = app.traces.list.at_row(row + 1 - rows, shown);
    }
}

/// Opens the filter bar with the filter in force.
pub fn start_filter(app: &mut App) {
    app.filter.editing = true;
    app.filter.input = LineInput::new(app.filter.applied_text.clone());
    app.filter.error = None;
    app.filter.history_at = None;
}

/// A key while the filter bar has the keyboard.
pub fn filter_key(app: &mut App, key: KeyEvent) {
    let bar = &mut app.filter;
    match key.code {
        KeyCode::Enter => {
            let text = bar.input.text().trim().to_owned();
            match text.parse::<Filter>() {
                Ok(filter) => {
                    bar.editing = false;
                    apply_filter(app, text, filter);
                }
                Err(error) => bar.error = Some(error),
            }
        }
        KeyCode::Esc => {
            bar.editing = false;
            bar.error = None;
            apply_filter(app, String::new(), Filter::all());
        }
        KeyCode::Up | KeyCode::Down => {
            if bar.history.is_empty() {
                return;
            }
            let last = bar.history.len() - 1;
            let at = match (bar.history_at, key.code) {
                (None, KeyCode::Up) => last,
                (Some(at), KeyCode::Up) => at.saturating_sub(1),
                (Some(at), _) if at < last => at + 1,
                _ => return,
            };
            bar.history_at = Some(at);
            bar.input.set(bar.history[at].clone());
            bar.error = bar.input.text().parse::<Filter>().err();
        }
        _ => {
            if bar.input.edit(&key) {
                bar.error = bar.input.text().parse::<Filter>().err();
            }
        }
    }
}

/// Puts a filter in force and refilters.
pub fn apply_filter(app: &mut App, text: String, filter: Filter) {
    let bar = &mut app.filter;
    if !text.is_empty() {
        bar.history.retain(|old| *old != text);
        bar.history.push(text.clone());
        if bar.history.len() > FILTER_HISTORY {
            bar.history.remove(0);
        }
    }
    bar.applied = filter;
    bar.applied_text = text;
    refilter(app);
}

/// A key while the file name prompt has the keyboard.
pub fn write_key(app: &mut App, key: KeyEvent) {
    let Some(Modal::Write(input)) = &mut app.modal else {
        return;
    };
    match key.code {
        KeyCode::Esc => app.modal = None,
        KeyCode::Enter => {
            let path = input.text().trim().to_owned();
            if path.is_empty() {
                return;
            }
            if std::path::Path::new(&path).exists() {
                app.modal = Some(Modal::Confirm {
                    question: format!(
                        "{} exists. Write over it?",
                        gilmour::inspect::sanitize::clean(&path, 80)
                    ),
                    then: super::super::app::Confirmed::Overwrite(path),
                });
                return;
            }
            app.modal = None;
            write(app, path);
        }
        _ => {
            input.edit(&key);
        }
    }
}

/// Asks for the marked traces (or, without marks, the shown ones) to be written.
pub fn write(app: &mut App, path: String) {
    let store = app.inspector.store();
    let marked = !app.traces.marks.is_empty();
    let ids: Vec<TraceId> = if marked {
        let mut ids: Vec<TraceId> = app.traces.marks.iter().copied().collect();
        ids.sort();
        ids
    } else {
        let shown = app.shown();
        let mut ids: Vec<TraceId> = app.traces.list.newest_first(shown).collect();
        ids.reverse();
        ids
    };
    let mut events: Vec<Event> = Vec::new();
    for trace in ids.iter().filter_map(|id| store.get(*id)) {
        if let Some(gap) = &trace.gap {
            events.push(Event::Gap((**gap).clone()));
        }
        events.extend(trace.events().cloned().map(Event::Message));
    }
    // A capture file is in the order things happened.
    events.sort_by_key(Event::at);
    let what = if marked { "marked" } else { "shown" };
    app.say(format!("writing {} {what} traces to {path}…", ids.len()));
    app.effects.push(Effect::Write { path, events });
}
