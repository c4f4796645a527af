//! The trace list's keys: the cursor, follow and pause, marks, the filter bar, writing
//! files. Taking in traffic is the state's own ([`State::ingest`](crate::tui::state::State::ingest)).

use crate::tui::action::{Action, Effect};
use crate::tui::keymap::Command;
use crate::tui::state::State;
use crate::tui::state::input::LineInput;
use crate::tui::state::layout::list_rows;
use crate::tui::state::modal::{Confirmed, Modal};
use crate::tui::state::sort::Sort;
use crate::tui::view::traces::topic_width;
use crossterm::event::{KeyCode, KeyEvent};
use gilmour::inspect::{Event, Filter, TraceId};

/// The narrowest and widest the topic column can be made.
const TOPIC_LEAST: u16 = 8;
const TOPIC_MOST: u16 = 120;

/// Runs a trace list command.
pub fn command(app: &mut State, command: Command) -> Vec<Effect> {
    let rows = list_rows(app);
    let page = rows as isize;
    let traces = &mut app.traces;
    match command {
        Command::Up => traces.step(-1, rows),
        Command::Down => traces.step(1, rows),
        Command::PageUp => traces.step(-page, rows),
        Command::PageDown => traces.step(page, rows),
        Command::Top => traces.step(isize::MIN / 2, rows),
        Command::Bottom => traces.step(isize::MAX / 2, rows),
        Command::Follow => {
            app.traces.follow = !app.traces.follow;
            if app.traces.follow {
                // Following is newest first: the newest is what it follows.
                app.traces.set_sort(Sort::default(), app.inspector.store());
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
            app.traces.merge(app.inspector.store());
        }
        Command::Sort | Command::SortReverse => {
            let now = app.traces.sort();
            let sort = if command == Command::Sort {
                let column = now.column.next();
                Sort {
                    column,
                    descending: column.descending_first(),
                }
            } else {
                Sort {
                    descending: !now.descending,
                    ..now
                }
            };
            app.traces.set_sort(sort, app.inspector.store());
            app.traces.keep_visible(rows);
            let arrow = sort.arrow();
            app.say(if sort.is_default() {
                "sorted by time, newest first (F follows)".to_owned()
            } else {
                format!(
                    "sorted by {}{arrow} (s: next column, S: reverse)",
                    sort.column.title()
                )
            });
        }
        Command::TopicWider | Command::TopicNarrower => {
            let (width, deep) = (app.size.0, app.deep);
            let now = app
                .traces
                .topic_width
                .unwrap_or_else(|| topic_width(width, deep, None));
            let chosen = if command == Command::TopicWider {
                now.saturating_add(4).min(TOPIC_MOST)
            } else {
                now.saturating_sub(4).max(TOPIC_LEAST)
            };
            app.traces.topic_width = Some(chosen);
            let shown = topic_width(width, deep, Some(chosen));
            app.say(if shown < chosen {
                format!("topic column {chosen} wide ({shown} fit)")
            } else {
                format!("topic column {chosen} wide")
            });
        }
        Command::ToggleHealth => app.toggle_health(),
        Command::Open => {
            if let Some(id) = app.selected_trace() {
                app.open(id);
            }
        }
        Command::Back if !app.filter.applied_text.is_empty() => {
            // One Esc too many (backing out of a detail) must not lose a filter for good:
            // it is in the history, and the status line says how to get it back.
            let cleared = gilmour::inspect::sanitize::clean(&app.filter.applied_text, 60);
            app.apply_filter(String::new(), Filter::all());
            app.say(format!("filter {cleared} cleared: / then ↑ brings it back"));
        }
        Command::Mark => {
            if let Some(id) = app.selected_trace() {
                app.toggle_mark(id);
                app.traces.step(1, rows);
            }
        }
        Command::Write => {
            let name = format!("gilmour-{}.jsonl", app.now.format("%Y%m%d-%H%M%S"));
            app.modal = Some(Modal::Write(LineInput::new(name)));
        }
        Command::ClearStore => {
            let held = app.inspector.store().len();
            app.modal = Some(Modal::Confirm {
                question: format!(
                    "Forget all {held} traces, their marks and figures? (capture goes on)"
                ),
                then: Confirmed::ClearStore,
            });
        }
        Command::FilterTopic | Command::FilterSender => {
            if let Some(id) = app.selected_trace() {
                super::navigate::filter_on(app, id, command == Command::FilterSender);
            }
        }
        Command::Replay | Command::EditReplay | Command::ReplayOptions | Command::Copy => {
            if let Some(id) = app.selected_trace() {
                return vec![Effect::Then(Box::new(Action::OnTrace(id, command)))];
            }
        }
        _ => {}
    }
    Vec::new()
}

/// Opens the filter bar with the filter in force.
pub fn start_filter(app: &mut State) {
    // The filter is the trace list's: typing one shows the list it filters.
    app.screen = crate::tui::model::Screen::Traces;
    app.filter.editing = true;
    app.filter.input = LineInput::new(app.filter.applied_text.clone());
    app.filter.error = None;
    app.filter.history_at = None;
    app.filter
        .check(&app.traces, app.inspector.store(), &app.keymap);
}

/// A key while the filter bar has the keyboard.
pub fn filter_key(app: &mut State, key: KeyEvent) -> Vec<Effect> {
    let bar = &mut app.filter;
    match key.code {
        KeyCode::Enter => {
            let mut text = bar.input.text().trim().to_owned();
            if let Some(name) = text.strip_prefix('@') {
                match app.keymap.filter(name) {
                    // The filter it names, to read and change.
                    Some(named) => text = named.to_owned(),
                    None => {
                        let names: Vec<&str> = app.keymap.filter_names().collect();
                        let known = if names.is_empty() {
                            "none in the config file's [filters]".to_owned()
                        } else {
                            names.join(", ")
                        };
                        let name = gilmour::inspect::sanitize::clean(name, 40);
                        app.complain(format!("no filter named {name} (named: {known})"));
                        return Vec::new();
                    }
                }
                bar.input.set(text.clone());
            }
            match text.parse::<Filter>() {
                Ok(filter) => {
                    bar.editing = false;
                    app.apply_filter(text, filter);
                }
                Err(error) => bar.error = Some(error),
            }
        }
        KeyCode::Esc => {
            bar.editing = false;
            bar.error = None;
            app.apply_filter(String::new(), Filter::all());
        }
        KeyCode::Tab => {
            let fits = bar.complete_name(&app.keymap);
            bar.check(&app.traces, app.inspector.store(), &app.keymap);
            let typed = bar.input.text().trim_start().to_owned();
            match fits.len() {
                0 if typed.starts_with('@') => {
                    let names: Vec<String> = app
                        .keymap
                        .filter_names()
                        .map(|name| format!("@{name}"))
                        .collect();
                    let typed = gilmour::inspect::sanitize::clean(&typed, 40);
                    app.complain(if names.is_empty() {
                        format!("no filter named {typed}: none in the config file's [filters]")
                    } else {
                        format!("no filter named {typed} (named: {})", names.join(" "))
                    });
                }
                0 | 1 => {}
                _ => {
                    let names: Vec<String> = fits.iter().map(|name| format!("@{name}")).collect();
                    app.say(format!("named: {}", names.join(" ")));
                }
            }
        }
        KeyCode::Up | KeyCode::Down => {
            if bar.history.is_empty() {
                return Vec::new();
            }
            let last = bar.history.len() - 1;
            let at = match (bar.history_at, key.code) {
                (None, KeyCode::Up) => last,
                (Some(at), KeyCode::Up) => at.saturating_sub(1),
                (Some(at), _) if at < last => at + 1,
                _ => return Vec::new(),
            };
            bar.history_at = Some(at);
            bar.input.set(bar.history[at].clone());
            bar.check(&app.traces, app.inspector.store(), &app.keymap);
        }
        _ => {
            if bar.input.edit(&key) {
                bar.check(&app.traces, app.inspector.store(), &app.keymap);
            }
        }
    }
    Vec::new()
}

/// A key while the file name prompt has the keyboard.
pub fn write_key(app: &mut State, key: KeyEvent) -> Vec<Effect> {
    let Some(Modal::Write(input)) = &mut app.modal else {
        return Vec::new();
    };
    match key.code {
        KeyCode::Esc => app.modal = None,
        KeyCode::Enter => {
            let path = input.text().trim().to_owned();
            if path.is_empty() {
                return Vec::new();
            }
            if std::path::Path::new(&path).exists() {
                app.modal = Some(Modal::Confirm {
                    question: format!(
                        "{} exists. Write over it?",
                        gilmour::inspect::sanitize::clean(&path, 80)
                    ),
                    then: Confirmed::Overwrite(path),
                });
                return Vec::new();
            }
            app.modal = None;
            return write(app, path);
        }
        _ => {
            input.edit(&key);
        }
    }
    Vec::new()
}

/// Asks for the marked traces (or, without marks, the shown ones) to be written.
pub fn write(app: &mut State, path: String) -> Vec<Effect> {
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
    vec![Effect::Write { path, events }]
}
