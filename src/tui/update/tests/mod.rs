//! Headless app tests: drive `update` with actions, assert on the state and the effects.

use crate::tui::action::{Action, Done, Effect, Probe};
use crate::tui::fixture::{at, busy, key, reply, request, send, type_text};
use crate::tui::fixture::{open_detail, run, update};
use crate::tui::keymap::Command;
use crate::tui::model::{Fire, Screen};
use crate::tui::state::modal::{Confirmed, Modal};
use crossterm::event::{KeyCode, MouseButton, MouseEvent, MouseEventKind};
use gilmour::inspect::services::{Dead, Health, Host};
use gilmour::inspect::{InspectorOptions, TraceId};
use serde_json::json;
use std::time::Duration;

fn shown_senders(app: &crate::tui::fixture::App) -> Vec<String> {
    let store = app.inspector.store();
    app.traces
        .list
        .newest_first(app.shown())
        .filter_map(|id| store.get(id))
        .map(|trace| trace.sender.to_string())
        .collect()
}

mod latency;
mod navigating;
mod replaying;
mod screens;
mod sending;
mod sorting;

#[test]
fn the_filtered_list_follows_traces_that_change() {
    let mut app = busy(100, 20);
    update(&mut app, key(KeyCode::Char('/')));
    type_text(&mut app, "status:error");
    update(&mut app, key(KeyCode::Enter));
    assert!(!app.filter.editing);
    assert_eq!(
        shown_senders(&app),
        ["", "s-group-1"],
        "the gap always shows"
    );
    update(
        &mut app,
        Action::Events(vec![request(9_100, "pay", "s-pay", "1")]),
    );
    assert_eq!(shown_senders(&app).len(), 2, "pending: not an error yet");
    update(
        &mut app,
        Action::Events(vec![reply(9_200, "s-pay", 503, "null")]),
    );
    assert_eq!(shown_senders(&app), ["s-pay", "", "s-group-1"]);
    update(&mut app, key(KeyCode::Char('/')));
    update(&mut app, key(KeyCode::Esc));
    assert_eq!(app.shown(), 8, "Esc clears the filter");
    update(&mut app, key(KeyCode::Char('/')));
    update(&mut app, key(KeyCode::Up));
    assert_eq!(
        app.filter.input.text(),
        "status:error",
        "↑ brings back a recent filter"
    );
}

#[test]
fn an_invalid_filter_is_not_applied() {
    let mut app = busy(100, 20);
    update(&mut app, key(KeyCode::Char('/')));
    type_text(&mut app, "code:>>1");
    assert!(app.filter.error.is_some());
    update(&mut app, key(KeyCode::Enter));
    assert!(app.filter.editing, "Enter keeps the bar open on an error");
    assert_eq!(app.filter.applied_text, "");
}

#[test]
fn moving_stops_following_and_the_cursor_stays_on_its_trace() {
    let mut app = busy(100, 20);
    assert!(app.traces.follow);
    assert_eq!(app.selected_trace(), Some(TraceId(7)));
    update(&mut app, key(KeyCode::Down));
    assert!(!app.traces.follow);
    let selected = app.selected_trace();
    update(
        &mut app,
        Action::Events(vec![request(9_500, "new", "s-new", "1")]),
    );
    assert_eq!(
        app.selected_trace(),
        selected,
        "new traces do not move the cursor"
    );
    update(&mut app, key(KeyCode::Char('F')));
    assert_eq!(
        app.selected_trace(),
        Some(TraceId(8)),
        "F follows the newest again"
    );
    update(&mut app, key(KeyCode::Char('G')));
    assert_eq!(app.selected_trace(), Some(TraceId(1)));
}

#[test]
fn an_applied_filter_is_written_to_the_history_file_at_once() {
    let dir = tempfile::tempdir().expect("a directory");
    let path = dir.path().join("gilmour").join("filters");
    let mut app = busy(100, 20);
    app.filter.history = vec!["kind:slot".to_owned()];
    app.filter.history_file = Some(path.clone());
    update(&mut app, key(KeyCode::Char('/')));
    type_text(&mut app, "status:error");
    assert!(app.effects.is_empty(), "typing writes nothing");
    update(&mut app, key(KeyCode::Enter));
    let saves: Vec<_> = app
        .effects
        .drain(..)
        .filter_map(|effect| match effect {
            Effect::SaveHistory { path, filters } => Some((path, filters)),
            _ => None,
        })
        .collect();
    assert_eq!(
        saves,
        [(
            path.clone(),
            vec!["kind:slot".to_owned(), "status:error".to_owned()]
        )]
    );
    // Clearing it changes no history: nothing to write.
    update(&mut app, key(KeyCode::Esc));
    update(&mut app, key(KeyCode::Esc));
    assert!(app.filter.applied_text.is_empty());
    assert!(
        !app.effects
            .iter()
            .any(|effect| matches!(effect, Effect::SaveHistory { .. }))
    );
    // What the event loop does with it: the file holds the session's filters.
    let writer =
        crate::tui::runtime::history::Writer::start(|error| panic!("{error}")).expect("started");
    for (path, filters) in saves {
        writer.save(path, filters);
    }
    writer.finish();
    assert_eq!(
        crate::tui::runtime::history::load(&path).expect("read"),
        ["kind:slot", "status:error"]
    );
}

#[test]
fn tab_completes_a_named_filter_in_the_filter_bar() {
    let mut app = busy(100, 20);
    app.keymap = crate::tui::keymap::KeyMap::from_toml(
        "[filters]\nslow = \"latency:>100ms\"\nslot = \"kind:slot\"\nfailed = \"status:error\"\n",
    )
    .expect("valid");
    update(&mut app, key(KeyCode::Char('/')));
    type_text(&mut app, "@fa");
    update(&mut app, key(KeyCode::Tab));
    assert_eq!(app.filter.input.text(), "@failed");
    assert_eq!(
        app.filter.matches,
        Some((2, false)),
        "counted as what it names"
    );
    update(&mut app, key(KeyCode::Enter));
    assert_eq!(app.filter.applied_text, "status:error");
    assert_eq!(shown_senders(&app), ["", "s-group-1"]);
    // Two names fit: as far as they agree, and the status line names them.
    update(&mut app, key(KeyCode::Char('/')));
    app.filter.input.set("@s");
    update(&mut app, key(KeyCode::Tab));
    assert_eq!(app.filter.input.text(), "@slo");
    update(&mut app, key(KeyCode::Tab));
    assert_eq!(app.filter.input.text(), "@slo");
    let status = format!("{:?}", app.status);
    assert!(status.contains("@slot @slow"), "{status}");
    type_text(&mut app, "t");
    update(&mut app, key(KeyCode::Enter));
    assert_eq!(app.filter.applied_text, "kind:slot");
    // No name fits: said, the text left as typed.
    update(&mut app, key(KeyCode::Char('/')));
    app.filter.input.set("@zz");
    update(&mut app, key(KeyCode::Tab));
    assert_eq!(app.filter.input.text(), "@zz");
    let status = format!("{:?}", app.status);
    assert!(status.contains("no filter named @zz"), "{status}");
    // Not a name: Tab does nothing.
    app.filter.input.set("kind:");
    update(&mut app, key(KeyCode::Tab));
    assert_eq!(app.filter.input.text(), "kind:");
}

#[test]
fn space_pauses_the_display_not_the_capture() {
    let mut app = busy(100, 20);
    update(&mut app, key(KeyCode::Char(' ')));
    update(
        &mut app,
        Action::Events(vec![request(9_500, "new", "s-new", "1")]),
    );
    assert_eq!(app.shown(), 7);
    assert_eq!(app.inspector.store().len(), 8);
    update(&mut app, key(KeyCode::Char(' ')));
    assert_eq!(app.shown(), 8);
}

#[test]
fn evicted_traces_leave_the_list_and_the_marks() {
    let mut app = crate::tui::fixture::app(100, 20);
    app.inspector = gilmour::inspect::Inspector::new(InspectorOptions {
        capacity: 3,
        ..InspectorOptions::default()
    });
    app.links.replay_of.insert(TraceId(2), TraceId(1));
    app.links.replays.insert(TraceId(1), vec![TraceId(2)]);
    update(&mut app, Action::Events(crate::tui::fixture::traffic()));
    assert_eq!(app.shown(), 3);
    assert_eq!(app.inspector.store().evicted(), 4);
    assert!(
        app.links.replay_of.is_empty() && app.links.replays.is_empty(),
        "links of evicted traces go too"
    );
}

#[test]
fn a_marked_trace_past_eviction_takes_its_reply_its_record_and_keeps_its_replay_links() {
    let mut app = crate::tui::fixture::app(160, 20);
    app.state.inspector = gilmour::inspect::Inspector::new(InspectorOptions {
        capacity: 3,
        ..InspectorOptions::default()
    });
    update(
        &mut app,
        Action::Events(vec![
            request(100, "keep", "s-keep", "1"),
            request(110, "keep", "s-copy", "1"),
        ]),
    );
    let store = app.inspector.store();
    let (kept, copy) = (
        store.by_sender("s-keep").expect("traced"),
        store.by_sender("s-copy").expect("traced"),
    );
    app.links.replay_of.insert(copy, kept);
    app.links.replays.insert(kept, vec![copy]);
    app.state.toggle_mark(kept);
    app.state.toggle_mark(copy);
    let others: Vec<_> = (0..5)
        .map(|n| request(200 + n, "other", &format!("s-{n}"), "1"))
        .collect();
    update(&mut app, Action::Events(others));
    assert!(app.inspector.store().first_id() > copy, "both passed by");
    assert_eq!(app.links.replay_of.get(&copy), Some(&kept));
    assert_eq!(app.links.replays.get(&kept), Some(&vec![copy]));
    update(
        &mut app,
        Action::Events(vec![
            reply(300, "s-keep", 503, "null"),
            crate::tui::fixture::message(
                301,
                "gilmour.errors",
                &crate::tui::fixture::error_record(301, "keep", "s-keep", 503),
            ),
        ]),
    );
    let trace = app.inspector.store().get(kept).expect("pinned");
    assert_eq!(
        (trace.status, trace.errors.len()),
        (gilmour::inspect::TraceStatus::Error, 1)
    );
    assert_eq!(
        shown_senders(&app),
        ["s-4", "s-3", "s-2", "s-copy", "s-keep"],
        "no orphan row for its reply, no row for its record"
    );
    let drawn = format!("{:?}", crate::tui::fixture::render(&app));
    assert!(drawn.contains("503"), "{drawn}");
    // Unmarked, they go with their links.
    app.state.toggle_mark(kept);
    app.state.toggle_mark(copy);
    update(
        &mut app,
        Action::Events(vec![request(400, "other", "s-5", "1")]),
    );
    assert!(app.inspector.store().get(kept).is_none());
    assert!(app.inspector.store().by_sender("s-keep").is_none());
    assert!(app.links.replay_of.is_empty() && app.links.replays.is_empty());
}

#[test]
fn write_sends_the_marked_traces_events_in_order() {
    let mut app = busy(100, 20);
    update(&mut app, key(KeyCode::Char('G')));
    update(&mut app, key(KeyCode::Char('m')));
    update(&mut app, key(KeyCode::Up));
    update(&mut app, key(KeyCode::Char('m')));
    assert_eq!(app.traces.marks.len(), 2);
    update(&mut app, key(KeyCode::Char('w')));
    update(&mut app, key(KeyCode::Enter));
    let [Effect::Write { path, events }] = app.effects.as_slice() else {
        panic!("one write: {:?}", app.effects);
    };
    assert!(path.starts_with("gilmour-20261129-2100"), "{path}");
    let times: Vec<_> = events.iter().map(|event| event.at()).collect();
    assert_eq!(times, [at(100), at(101), at(200), at(215), at(216)]);
}

#[test]
fn writing_over_an_existing_file_asks_first() {
    let existing = std::env::temp_dir().join(format!("gilmour-exists-{}", std::process::id()));
    std::fs::write(&existing, "keep me").expect("a file");
    let mut app = busy(100, 20);
    update(&mut app, key(KeyCode::Char('w')));
    if let Some(Modal::Write(input)) = &mut app.modal {
        input.set(existing.display().to_string());
    }
    update(&mut app, key(KeyCode::Enter));
    assert!(app.effects.is_empty(), "nothing written yet");
    assert!(matches!(
        &app.modal,
        Some(Modal::Confirm {
            then: Confirmed::Overwrite(..),
            ..
        })
    ));
    update(&mut app, key(KeyCode::Char('y')));
    assert!(
        matches!(&app.effects[..], [Effect::Write { path, .. }] if *path == existing.display().to_string())
    );
    let _ = std::fs::remove_file(&existing);
}

#[test]
fn mouse_click_selects_and_the_wheel_scrolls() {
    let mut app = busy(100, 20);
    let click = |row| MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 20,
        row,
        modifiers: crossterm::event::KeyModifiers::NONE,
    };
    // Rows: 2 header, 1 column titles, then traces newest first.
    update(&mut app, Action::Mouse(click(5)));
    assert_eq!(app.selected_trace(), Some(TraceId(5)));
    update(
        &mut app,
        Action::Mouse(MouseEvent {
            kind: MouseEventKind::ScrollDown,
            ..click(5)
        }),
    );
    assert_eq!(app.selected_trace(), Some(TraceId(2)));
    update(
        &mut app,
        Action::Mouse(MouseEvent {
            column: 3,
            ..click(1)
        }),
    );
    assert_eq!(app.screen, Screen::Traces);
    update(
        &mut app,
        Action::Mouse(MouseEvent {
            column: 13,
            ..click(1)
        }),
    );
    assert_eq!(
        app.screen,
        Screen::Topics,
        "a click on a tab switches to it"
    );
}

#[test]
fn ticks_measure_the_rate_and_mark_the_unanswered() {
    let mut app = busy(100, 20);
    let tick = |ms| {
        Action::Tick(Probe {
            now: at(ms),
            connected: Some(false),
            dropped: 4,
        })
    };
    update(&mut app, tick(10_000));
    update(
        &mut app,
        Action::Events(vec![
            request(10_100, "x", "s-x", "1"),
            reply(10_200, "s-x", 200, "1"),
        ]),
    );
    update(&mut app, tick(12_000));
    assert_eq!(app.rate, 1.0);
    assert_eq!(app.dropped, 4);
    update(&mut app, tick(45_000));
    let pending = app
        .inspector
        .store()
        .by_sender("s-fetch-2")
        .and_then(|id| app.inspector.store().get(id));
    assert_eq!(pending.map(|t| t.status.as_str()), Some("unanswered"));
}

#[test]
fn help_and_quit() {
    let mut app = busy(100, 20);
    update(&mut app, key(KeyCode::Char('?')));
    assert!(matches!(app.modal, Some(Modal::Help { .. })));
    update(&mut app, key(KeyCode::Char('q')));
    assert!(app.modal.is_none() && !app.quit, "q closes the help first");
    update(&mut app, key(KeyCode::Char('q')));
    assert!(app.quit);
}

#[test]
fn an_idle_tick_draws_nothing() {
    let mut app = busy(100, 20);
    let tick = |ms| {
        Action::Tick(Probe {
            now: at(ms),
            connected: Some(true),
            dropped: 0,
        })
    };
    update(&mut app, tick(10_000));
    app.dirty = false;
    update(&mut app, tick(11_000));
    assert!(!app.dirty, "nothing on screen changed");
    update(
        &mut app,
        Action::Events(vec![request(11_100, "x", "s-x", "1")]),
    );
    update(&mut app, tick(12_000));
    assert!(app.dirty);
}

#[test]
fn health_pings_stay_out_of_the_topics_until_shown() {
    let mut app = busy(100, 20);
    update(
        &mut app,
        Action::Events(vec![
            crate::tui::fixture::message(
                9_700,
                "gilmour.health.host-1",
                r#"{"data":null,"code":200,"sender":"s-h"}"#,
            ),
            reply(9_701, "s-h", 200, "[]"),
        ]),
    );
    run(&mut app, Command::ShowTopics);
    let topics = |app: &crate::tui::fixture::App| -> Vec<String> {
        app.topics
            .rows
            .iter()
            .map(|row| row.summary.topic.to_string())
            .collect()
    };
    assert!(!topics(&app).contains(&"host-1".to_owned()));
    run(&mut app, Command::ShowTraces);
    update(&mut app, key(KeyCode::Char('H')));
    assert_eq!(app.shown(), 8, "the health ping is listed");
    run(&mut app, Command::ShowTopics);
    assert!(topics(&app).contains(&"host-1".to_owned()));
}

#[test]
fn a_request_whose_data_cannot_be_told_is_not_replayed() {
    for sender in ["s-big", "s-deep"] {
        let mut app = crate::tui::fixture::notable(100, 20);
        let id = app.inspector.store().by_sender(sender).expect("the trace");
        open_detail(&mut app, id);
        update(&mut app, key(KeyCode::Char('r')));
        assert!(
            app.effects.is_empty(),
            "{sender}: its envelope's text is not its data: {:?}",
            app.effects
        );
        let status = app.status.as_ref().expect("a reason");
        assert!(
            status.failure && status.text.contains("data cannot be told"),
            "{status:?}"
        );
    }
}

#[test]
fn a_trace_answered_after_it_was_shown_unanswered_changes_in_place() {
    let mut app = crate::tui::fixture::app(100, 20);
    let tick = |ms| {
        Action::Tick(Probe {
            now: at(ms),
            connected: Some(true),
            dropped: 0,
        })
    };
    update(
        &mut app,
        Action::Events(vec![
            request(100, "slow", "s-slow", "1"),
            request(200, "other", "s-other", "2"),
            reply(210, "s-other", 200, "2"),
        ]),
    );
    let id = app
        .inspector
        .store()
        .by_sender("s-slow")
        .expect("the trace");
    update(&mut app, key(KeyCode::Down));
    assert_eq!(app.selected_trace(), Some(id));
    open_detail(&mut app, id);
    update(&mut app, tick(40_000));
    let status = |app: &crate::tui::fixture::App| {
        app.inspector
            .store()
            .get(id)
            .map(|trace| trace.status.as_str())
    };
    assert_eq!(status(&app), Some("unanswered"));
    update(
        &mut app,
        Action::Events(vec![reply(41_000, "s-slow", 200, "\"at last\"")]),
    );
    assert_eq!(status(&app), Some("ok"), "the row shows the reply");
    assert_eq!(
        shown_senders(&app),
        ["s-other", "s-slow"],
        "the trace keeps its place in the list"
    );
    assert_eq!(app.selected_trace(), Some(id), "and the cursor stays on it");
    assert!(app.detail.is_some(), "still open");
    let text = crate::tui::fixture::detail_text(&app);
    assert!(
        text.iter()
            .any(|line| line.contains("shown as unanswered after 39.9s")),
        "the detail was rebuilt with both facts: {text:#?}"
    );
    assert!(text.iter().any(|line| line.contains("Reply")), "{text:#?}");
}

#[test]
fn a_filter_applied_while_scrolled_goes_to_the_newest_match() {
    let mut app = busy(100, 8);
    for _ in 0..5 {
        update(&mut app, key(KeyCode::Down));
    }
    assert!(!app.traces.follow && app.top_row() > 0, "scrolled down");
    let screen = format!("{:?}", crate::tui::fixture::render(&app));
    assert!(
        screen.contains("newer"),
        "the header says newer rows are above: {screen}"
    );
    update(&mut app, key(KeyCode::Char('/')));
    type_text(&mut app, "topic:weather*");
    update(&mut app, key(KeyCode::Enter));
    assert_eq!(app.selected_row(), Some(0), "on the newest match");
    assert_eq!(app.top_row(), 0, "nothing newer hidden above");
    assert!(!app.traces.follow, "and still not following");
}

#[test]
fn esc_that_clears_the_filter_says_how_to_get_it_back() {
    let mut app = busy(100, 20);
    update(&mut app, key(KeyCode::Char('/')));
    type_text(&mut app, "topic:weather*");
    update(&mut app, key(KeyCode::Enter));
    update(&mut app, key(KeyCode::Enter));
    assert!(app.detail.is_some());
    update(&mut app, key(KeyCode::Esc));
    update(&mut app, key(KeyCode::Esc));
    assert_eq!(app.filter.applied_text, "", "the second Esc clears it");
    assert_eq!(
        app.status.as_ref().map(|status| status.text.as_str()),
        Some("filter topic:weather* cleared: / then ↑ brings it back")
    );
    update(&mut app, key(KeyCode::Char('/')));
    update(&mut app, key(KeyCode::Up));
    update(&mut app, key(KeyCode::Enter));
    assert_eq!(app.filter.applied_text, "topic:weather*", "and it does");
}

#[test]
fn the_filter_bar_counts_matches_as_it_is_typed() {
    let mut app = busy(100, 20);
    update(&mut app, key(KeyCode::Char('/')));
    assert_eq!(app.filter.matches, Some((7, false)), "empty: every trace");
    type_text(&mut app, "topic:weather");
    assert_eq!(app.filter.matches, Some((1, false)), "the gap only");
    type_text(&mut app, "*");
    assert_eq!(app.filter.matches, Some((4, false)));
    let drawn = format!("{:?}", crate::tui::fixture::render(&app));
    assert!(drawn.contains("4 match"), "{drawn}");
    type_text(&mut app, " and");
    assert_eq!(app.filter.matches, None, "does not parse: no count");
    assert_eq!(app.shown(), 7, "nothing applied while typing");
}

#[test]
fn at_name_in_the_filter_bar_applies_the_named_filter_of_the_config() {
    let mut app = busy(100, 20);
    app.state.keymap = crate::tui::keymap::KeyMap::from_toml(
        "[filters]\nweather = \"topic:weather* and status:ok\"\n",
    )
    .expect("valid");
    update(&mut app, key(KeyCode::Char('/')));
    type_text(&mut app, "@weather");
    assert_eq!(app.filter.matches, Some((2, false)), "fetch-1 and the gap");
    update(&mut app, key(KeyCode::Enter));
    assert_eq!(app.filter.applied_text, "topic:weather* and status:ok");
    update(&mut app, key(KeyCode::Char('/')));
    for _ in 0..40 {
        update(&mut app, key(KeyCode::Backspace));
    }
    type_text(&mut app, "@nope");
    update(&mut app, key(KeyCode::Enter));
    assert!(app.filter.editing, "still typing");
    let said = app
        .status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default();
    assert_eq!(said, "no filter named nope (named: weather)");
}

#[test]
fn capital_x_clears_the_store_after_a_question() {
    let mut app = busy(100, 20);
    let id = app.inspector.store().by_sender("s-echo-1").expect("traced");
    app.state.traces.toggle_mark(id);
    update(&mut app, key(KeyCode::Char('X')));
    assert!(matches!(
        app.modal,
        Some(Modal::Confirm {
            then: Confirmed::ClearStore,
            ..
        })
    ));
    update(&mut app, key(KeyCode::Char('n')));
    assert_eq!(app.inspector.store().len(), 7, "no: kept");
    update(&mut app, key(KeyCode::Char('X')));
    update(&mut app, key(KeyCode::Char('y')));
    assert!(app.inspector.store().is_empty());
    assert_eq!(app.shown(), 0);
    assert!(app.traces.marks.is_empty());
    assert_eq!(app.inspector.stats().overall(at(10_000)).count, 0);
    update(
        &mut app,
        Action::Events(vec![request(9_900, "echo", "s-new", "1")]),
    );
    assert_eq!(shown_senders(&app), ["s-new"], "capture goes on");
}

#[test]
fn a_marked_trace_is_pinned_and_survives_eviction() {
    let mut app = crate::tui::fixture::app(160, 20);
    app.state.inspector = gilmour::inspect::Inspector::new(InspectorOptions {
        capacity: 3,
        ..InspectorOptions::default()
    });
    update(
        &mut app,
        Action::Events(vec![request(100, "keep", "s-keep", "1")]),
    );
    run(&mut app, Command::Down);
    run(&mut app, Command::Mark);
    let kept = app.inspector.store().by_sender("s-keep").expect("traced");
    assert!(app.inspector.store().is_pinned(kept));
    let events: Vec<_> = (0..5)
        .map(|n| request(200 + n, "other", &format!("s-{n}"), "1"))
        .collect();
    update(&mut app, Action::Events(events));
    assert!(app.inspector.store().get(kept).is_some(), "passed by");
    assert!(app.traces.marks.contains(&kept));
    assert_eq!(shown_senders(&app), ["s-4", "s-3", "s-2", "s-keep"]);
    let drawn = format!("{:?}", crate::tui::fixture::render(&app));
    assert!(drawn.contains("1 pinned"), "{drawn}");
    // Unmarked, it goes.
    app.state.toggle_mark(kept);
    update(
        &mut app,
        Action::Events(vec![request(300, "other", "s-5", "1")]),
    );
    assert!(app.inspector.store().get(kept).is_none());
    assert_eq!(shown_senders(&app), ["s-5", "s-4", "s-3"]);
}
