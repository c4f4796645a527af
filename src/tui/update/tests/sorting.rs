//! Sorting the trace list by a column, and the topic column's width.

use super::shown_senders;
use crate::tui::action::Action;
use crate::tui::fixture::{App, busy, key, render, reply, request, run, update};
use crate::tui::keymap::Command;
use crate::tui::state::sort::SortColumn;
use crossterm::event::KeyCode;

/// The senders in the order the list shows them.
fn rows(app: &App) -> Vec<String> {
    let store = app.inspector.store();
    (0..app.shown())
        .filter_map(|row| app.traces.at_row(row))
        .filter_map(|id| store.get(id))
        .map(|trace| trace.sender.to_string())
        .collect()
}

#[test]
fn s_cycles_the_sort_column_and_capital_s_reverses_it() {
    let mut app = busy(160, 30);
    assert!(app.traces.follow);
    update(&mut app, key(KeyCode::Char('s')));
    assert_eq!(app.traces.sort().column, SortColumn::Latency);
    assert!(
        !app.traces.follow,
        "a sort by another column stops following"
    );
    let slowest_first = rows(&app);
    assert_eq!(
        &slowest_first[..3],
        ["s-slow-1", "s-group-1", "s-echo-1"],
        "ties newest first: {slowest_first:?}"
    );
    assert_eq!(
        app.selected_trace(),
        app.traces.at_row(0),
        "cursor on the first row"
    );
    update(&mut app, key(KeyCode::Char('S')));
    assert!(!app.traces.sort().descending);
    let fastest_first = rows(&app);
    assert_eq!(fastest_first.last().map(String::as_str), Some("s-slow-1"));
    let drawn = format!("{:?}", render(&app));
    assert!(
        drawn.contains("latency▲"),
        "the header says the sort: {drawn}"
    );
    for column in [
        SortColumn::Size,
        SortColumn::Code,
        SortColumn::Topic,
        SortColumn::Time,
    ] {
        update(&mut app, key(KeyCode::Char('s')));
        assert_eq!(app.traces.sort().column, column);
    }
    assert!(app.traces.sort().is_default(), "back to newest first");
    assert_eq!(rows(&app), shown_senders(&app));
}

#[test]
fn a_sorted_list_puts_new_and_changed_traces_in_their_place() {
    let mut app = busy(160, 30);
    update(&mut app, key(KeyCode::Char('s')));
    update(
        &mut app,
        Action::Events(vec![request(9_100, "pay", "s-pay", "1")]),
    );
    assert_eq!(
        &rows(&app)[4..],
        ["s-pay", "s-fetch-2", "", "s-sig-1"],
        "no latency yet: below those with one"
    );
    update(
        &mut app,
        Action::Events(vec![reply(9_600, "s-pay", 200, "2")]),
    );
    assert_eq!(
        &rows(&app)[..3],
        ["s-slow-1", "s-pay", "s-group-1"],
        "its reply took 500 ms: second slowest"
    );
    // Following again is newest first.
    run(&mut app, Command::Follow);
    assert!(app.traces.follow && app.traces.sort().is_default());
    assert_eq!(rows(&app).first().map(String::as_str), Some("s-pay"));
}

#[test]
fn a_filter_applies_to_the_sorted_list() {
    let mut app = busy(160, 30);
    update(&mut app, key(KeyCode::Char('s')));
    update(&mut app, key(KeyCode::Char('/')));
    for c in "topic:weather*".chars() {
        update(&mut app, key(KeyCode::Char(c)));
    }
    update(&mut app, key(KeyCode::Enter));
    assert_eq!(
        app.traces.sort().column,
        SortColumn::Latency,
        "the sort stays"
    );
    assert_eq!(rows(&app), ["s-group-1", "s-fetch-1", "s-fetch-2", ""]);
}

#[test]
fn the_topic_column_widens_and_narrows() {
    let mut app = busy(100, 20);
    let before = format!("{:?}", render(&app));
    update(&mut app, key(KeyCode::Char('<')));
    update(&mut app, key(KeyCode::Char('<')));
    let narrow = app.traces.topic_width.expect("set");
    update(&mut app, key(KeyCode::Char('>')));
    assert_eq!(app.traces.topic_width, Some(narrow + 4));
    for _ in 0..40 {
        update(&mut app, key(KeyCode::Char('>')));
    }
    assert_eq!(app.traces.topic_width, Some(120), "bounded");
    let after = format!("{:?}", render(&app));
    assert_ne!(before, after);
    insta::assert_snapshot!(render(&app));
}

#[test]
fn a_new_topic_takes_its_place_in_the_topic_sort_and_evicted_traces_leave() {
    let mut app = crate::tui::fixture::app(160, 30);
    app.state.inspector = gilmour::inspect::Inspector::new(gilmour::inspect::InspectorOptions {
        capacity: 4,
        ..Default::default()
    });
    let events: Vec<_> = ["m", "b", "z"]
        .iter()
        .enumerate()
        .map(|(n, topic)| request(100 * n as i64, topic, &format!("s-{topic}"), "1"))
        .collect();
    update(&mut app, Action::Events(events));
    while app.traces.sort().column != SortColumn::Topic {
        update(&mut app, key(KeyCode::Char('s')));
    }
    assert_eq!(rows(&app), ["s-b", "s-m", "s-z"]);
    update(
        &mut app,
        Action::Events(vec![request(400, "a", "s-a", "1")]),
    );
    assert_eq!(rows(&app), ["s-a", "s-b", "s-m", "s-z"]);
    update(
        &mut app,
        Action::Events(vec![request(500, "c", "s-c", "1")]),
    );
    assert_eq!(
        rows(&app),
        ["s-a", "s-b", "s-c", "s-z"],
        "the oldest (m) was evicted"
    );
}

#[test]
fn a_long_sorted_list_takes_every_change_in_the_batch_that_brings_it() {
    let mut app = crate::tui::fixture::app(160, 30);
    let events: Vec<_> = (0..200)
        .flat_map(|n| {
            let sender = format!("s-{n}");
            [
                request(n * 10, "t", &sender, "1"),
                reply(n * 10 + 1, &sender, 200, "2"),
            ]
        })
        .collect();
    update(&mut app, Action::Events(events));
    update(&mut app, key(KeyCode::Char('s')));
    update(
        &mut app,
        Action::Events(vec![
            request(2_000, "t", "s-slow", "1"),
            reply(2_900, "s-slow", 200, "2"),
        ]),
    );
    assert_eq!(app.shown(), 201, "no tick needed");
    assert_eq!(rows(&app).first().map(String::as_str), Some("s-slow"));
}

/// The latency on each row, as the list shows them.
fn latencies(app: &App) -> Vec<(Option<std::time::Duration>, gilmour::inspect::TraceId)> {
    let store = app.inspector.store();
    (0..app.shown())
        .filter_map(|row| app.traces.at_row(row))
        .map(|id| (store.get(id).and_then(|trace| trace.latency()), id))
        .collect()
}

#[test]
fn after_every_batch_each_row_agrees_with_its_place() {
    let mut app = crate::tui::fixture::app(160, 30);
    app.state.inspector = gilmour::inspect::Inspector::new(gilmour::inspect::InspectorOptions {
        capacity: 300,
        ..Default::default()
    });
    update(&mut app, key(KeyCode::Char('s')));
    assert_eq!(app.traces.sort().column, SortColumn::Latency);
    // A seeded sequence: requests, replies after 1 to 1,000 ms, some never answered,
    // and more traces than the store keeps (the oldest are evicted).
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |below: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % below
    };
    let mut open: Vec<(String, i64)> = Vec::new();
    let mut ms = 0;
    for batch in 0..60 {
        let mut events = Vec::new();
        for n in 0..20 {
            ms += 1;
            let sender = format!("s-{batch}-{n}");
            events.push(request(ms, "t", &sender, "1"));
            open.push((sender, ms));
        }
        for _ in 0..15 {
            if open.is_empty() {
                break;
            }
            let (sender, sent) = open.swap_remove(next(open.len() as u64) as usize);
            events.push(reply(sent + 1 + next(1_000) as i64, &sender, 200, "2"));
        }
        update(&mut app, Action::Events(events));
        let shown = latencies(&app);
        let mut sorted = shown.clone();
        // Slowest first, no latency last, ties newest first.
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(shown, sorted, "batch {batch}");
        assert_eq!(shown.len(), app.traces.list.len(), "batch {batch}");
    }
    assert!(app.inspector.store().first_id().0 > 1, "some were evicted");
}

#[test]
fn a_paused_sorted_list_takes_what_came_meanwhile_when_it_resumes() {
    let mut app = busy(160, 30);
    update(&mut app, key(KeyCode::Char('s')));
    let before = rows(&app);
    run(&mut app, Command::Pause);
    for n in 0..3 {
        let sender = format!("s-late-{n}");
        update(
            &mut app,
            Action::Events(vec![
                request(9_000 + n * 10, "late", &sender, "1"),
                reply(20_000 + n * 10, &sender, 200, "2"),
            ]),
        );
    }
    assert_eq!(rows(&app), before, "paused: nothing moves");
    run(&mut app, Command::Pause);
    assert_eq!(
        &rows(&app)[..3],
        ["s-late-2", "s-late-1", "s-late-0"],
        "the slowest, ties newest first"
    );
    assert_eq!(rows(&app).len(), before.len() + 3);
}
