//! Headless app tests: drive `update` with actions, assert on the state and the effects.

use super::super::action::{Action, Done, Effect, Probe};
use super::super::app::{Confirmed, Fire, Health, Host, Modal, Screen};
use super::super::fixture::{at, busy, key, reply, request, type_text};
use super::super::keymap::Command;
use super::{open_detail, run, update};
use crossterm::event::{KeyCode, MouseButton, MouseEvent, MouseEventKind};
use gilmour::inspect::{InspectorOptions, TraceId};
use serde_json::json;
use std::time::Duration;

fn shown_senders(app: &super::super::app::App) -> Vec<String> {
    let store = app.inspector.store();
    app.traces
        .list
        .newest_first(app.shown())
        .filter_map(|id| store.get(id))
        .map(|trace| trace.sender.to_string())
        .collect()
}

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
    let mut app = super::super::fixture::app(100, 20);
    app.inspector = gilmour::inspect::Inspector::new(InspectorOptions {
        capacity: 3,
        ..InspectorOptions::default()
    });
    app.links.replay_of.insert(TraceId(2), TraceId(1));
    app.links.replays.insert(TraceId(1), vec![TraceId(2)]);
    update(&mut app, Action::Events(super::super::fixture::traffic()));
    assert_eq!(app.shown(), 3);
    assert_eq!(app.inspector.store().evicted(), 4);
    assert!(
        app.links.replay_of.is_empty() && app.links.replays.is_empty(),
        "links of evicted traces go too"
    );
}

#[test]
fn replay_links_both_ways_and_opens_the_new_trace() {
    let mut app = busy(100, 20);
    let original = TraceId(1);
    open_detail(&mut app, original);
    update(&mut app, key(KeyCode::Char('r')));
    let expected = Effect::Fire(
        Fire::Request {
            topic: "weather.fetch".into(),
            data: json!({"city": "Pune"}),
            timeout: Duration::from_secs(30),
        },
        Some(original),
    );
    assert_eq!(app.effects, [expected]);
    app.effects.clear();
    // The reply can come back before the capture delivers the request, or after.
    update(
        &mut app,
        Action::Done(Done::Sent {
            original: Some(original),
            what: "request weather.fetch".into(),
            sender: Some("s-replay".into()),
            result: Ok("answered".into()),
        }),
    );
    update(
        &mut app,
        Action::Events(vec![
            request(9_600, "weather.fetch", "s-replay", r#"{"city":"Pune"}"#),
            reply(9_601, "s-replay", 200, "1"),
        ]),
    );
    let replay = TraceId(8);
    assert_eq!(app.links.replay_of.get(&replay), Some(&original));
    assert_eq!(app.links.replays.get(&original), Some(&vec![replay]));
    assert_eq!(app.detail.as_ref().map(|d| d.id), Some(replay));
    let text: String = app
        .detail
        .iter()
        .flat_map(|d| d.lines.iter().map(|l| l.text()))
        .collect();
    assert!(text.contains("replay of   #1"), "{text}");
}

#[test]
fn edit_then_replay_sends_the_edited_data() {
    let mut app = busy(100, 20);
    update(&mut app, key(KeyCode::Char('e')));
    assert!(matches!(app.modal, Some(Modal::Edit(_))));
    update(&mut app, key(KeyCode::Backspace));
    update(&mut app, key(KeyCode::Enter));
    assert!(app.effects.is_empty(), "invalid JSON is not sent");
    assert!(app.status.as_ref().is_some_and(|s| s.failure));
    type_text(&mut app, "}");
    update(&mut app, key(KeyCode::Enter));
    assert!(app.modal.is_none());
    assert!(matches!(
        app.effects.as_slice(),
        [Effect::Fire(Fire::Request { .. }, Some(TraceId(7)))]
    ));
}

#[test]
fn copy_puts_a_command_line_on_the_clipboard() {
    let mut app = busy(100, 20);
    update(&mut app, key(KeyCode::Char('y')));
    assert_eq!(
        app.effects,
        [Effect::Copy(
            r#"gilmour request weather.fetch '{"city":"Oslo"}'"#.into()
        )]
    );
}

#[test]
fn firing_counts_listeners_and_asks_before_sending_to_nobody() {
    let mut app = busy(100, 20);
    update(&mut app, key(KeyCode::Char('f')));
    update(&mut app, key(KeyCode::Enter));
    assert!(app.effects.is_empty(), "nothing to send without a topic");
    type_text(&mut app, "ech");
    update(&mut app, key(KeyCode::Tab));
    let Some(Modal::Fire(form)) = &app.modal else {
        panic!("the form stays open");
    };
    assert_eq!(form.target.text(), "echo", "Tab completes from seen topics");
    update(&mut app, key(KeyCode::Enter));
    let fire = Fire::Request {
        topic: "echo".into(),
        data: serde_json::Value::Null,
        timeout: Duration::from_secs(30),
    };
    assert_eq!(app.effects, [Effect::CheckListeners(fire.clone(), None)]);
    app.effects.clear();
    update(
        &mut app,
        Action::Done(Done::Listeners {
            fire: fire.clone(),
            original: None,
            silent: vec!["echo".into()],
        }),
    );
    assert!(matches!(
        &app.modal,
        Some(Modal::Confirm {
            then: Confirmed::Fire(..),
            ..
        })
    ));
    update(&mut app, key(KeyCode::Char('y')));
    assert_eq!(app.effects, [Effect::Fire(fire, None)]);
}

#[test]
fn the_fire_form_completes_topics_of_the_kind_being_fired() {
    let mut app = busy(100, 20);
    update(&mut app, key(KeyCode::Char('f')));
    let suggestions = |app: &super::super::app::App| match &app.modal {
        Some(Modal::Fire(form)) => form.suggestions.clone(),
        _ => panic!("the fire form is open"),
    };
    let requests = suggestions(&app);
    assert!(requests.contains(&"echo".to_owned()), "{requests:?}");
    assert!(
        !requests.contains(&"user.created".to_owned()),
        "{requests:?}"
    );
    // Up to the kind, then → to signal.
    update(&mut app, key(KeyCode::Up));
    update(&mut app, key(KeyCode::Right));
    assert_eq!(suggestions(&app), ["user.created"]);
}

#[test]
fn a_late_listener_count_never_replaces_an_open_dialog() {
    let mut app = busy(100, 20);
    update(&mut app, key(KeyCode::Char('f')));
    type_text(&mut app, "half-typed");
    let fire = Fire::Request {
        topic: "echo".into(),
        data: serde_json::Value::Null,
        timeout: Duration::from_secs(30),
    };
    update(
        &mut app,
        Action::Done(Done::Listeners {
            fire,
            original: None,
            silent: vec!["echo".into()],
        }),
    );
    let Some(Modal::Fire(form)) = &app.modal else {
        panic!("the fire form is still open");
    };
    assert_eq!(form.target.text(), "half-typed");
    assert!(app.effects.is_empty(), "nothing was sent");
}

#[test]
fn a_composition_opens_its_last_step() {
    let mut app = busy(100, 20);
    update(
        &mut app,
        Action::Done(Done::Composed {
            text: "weather.fetch | weather.group".into(),
            steps: vec![
                ("weather.fetch".into(), Some("s-fetch-1".into()), 200),
                ("weather.group".into(), Some("s-group-1".into()), 500),
            ],
            code: 500,
            data: "\"division by zero\"".into(),
            elapsed: Duration::from_millis(16),
        }),
    );
    assert_eq!(app.detail.as_ref().map(|d| d.id), Some(TraceId(2)));
    let text: String = app
        .detail
        .iter()
        .flat_map(|d| d.lines.iter().map(|l| l.text()))
        .collect();
    assert!(text.contains("▶ step      weather.group"), "{text}");
}

#[test]
fn topics_enter_filters_the_traces() {
    let mut app = busy(100, 20);
    run(&mut app, Command::ShowTopics);
    update(&mut app, key(KeyCode::Char('G')));
    update(&mut app, key(KeyCode::Enter));
    assert_eq!(app.screen, Screen::Traces);
    assert_eq!(app.filter.applied_text, "topic:weather.group");
    assert_eq!(shown_senders(&app), ["", "s-group-1"]);
}

#[test]
fn r_in_an_open_error_record_re_sends_its_request() {
    let mut app = busy(100, 20);
    update(&mut app, key(KeyCode::Char('3')));
    app.effects.clear();
    let record = super::super::fixture::error_record(216, "weather.group", "s-group-1", 500);
    update(
        &mut app,
        Action::Done(Done::Errors {
            page: 0,
            total: 1,
            entries: vec![record],
        }),
    );
    update(&mut app, key(KeyCode::Enter));
    assert!(
        matches!(app.modal, Some(Modal::Record(0))),
        "the record opens"
    );
    update(&mut app, key(KeyCode::Char('r')));
    assert!(app.modal.is_none());
    assert!(
        matches!(&app.effects[..], [Effect::Fire(Fire::Request { topic, .. }, None)] if topic == "weather.group"),
        "{:?}",
        app.effects
    );
}

#[test]
fn only_readable_records_are_listed_live() {
    let mut app = super::super::fixture::app(100, 20);
    update(
        &mut app,
        Action::Events(vec![
            super::super::fixture::message(100, "gilmour.errors", "not a record at all"),
            super::super::fixture::message(
                200,
                "gilmour.errors",
                &super::super::fixture::error_record(200, "t", "s-1", 500),
            ),
        ]),
    );
    assert_eq!(
        app.errors.live.len(),
        1,
        "the unreadable one is a trace, not a row"
    );
}

#[test]
fn error_queue_delete_and_trim_ask_first() {
    let mut app = busy(100, 20);
    update(&mut app, key(KeyCode::Char('3')));
    assert_eq!(app.effects, [Effect::LoadErrors { page: 0 }]);
    app.effects.clear();
    update(
        &mut app,
        Action::Done(Done::Errors {
            page: 0,
            total: 120,
            entries: vec!["a".into(), "b".into()],
        }),
    );
    update(&mut app, key(KeyCode::Down));
    update(&mut app, key(KeyCode::Char('d')));
    assert!(app.effects.is_empty());
    update(&mut app, key(KeyCode::Char('n')));
    assert!(app.modal.is_none() && app.effects.is_empty());
    update(&mut app, key(KeyCode::Char('d')));
    update(&mut app, key(KeyCode::Char('y')));
    assert_eq!(app.effects, [Effect::DeleteError("b".into())]);
    app.effects.clear();
    update(&mut app, key(KeyCode::Char('D')));
    update(&mut app, key(KeyCode::Enter));
    assert_eq!(app.effects, [Effect::TrimErrors { keep: 2, seen: 120 }]);
    app.effects.clear();
    update(&mut app, key(KeyCode::Char(']')));
    assert_eq!(app.effects, [Effect::LoadErrors { page: 1 }]);
}

#[test]
fn only_dead_idents_can_be_removed() {
    let mut app = busy(100, 20);
    update(&mut app, key(KeyCode::Char('4')));
    assert_eq!(app.effects, [Effect::RefreshServices]);
    app.effects.clear();
    let host = |ident: &str, health| Host {
        ident: ident.into(),
        value: "true".into(),
        health,
    };
    update(
        &mut app,
        Action::Done(Done::Services {
            hosts: vec![
                host(
                    "a",
                    Health::Alive {
                        latency: Duration::from_millis(1),
                        topics: Vec::new(),
                    },
                ),
                host(
                    "b",
                    Health::Dead {
                        reason: "gone".into(),
                    },
                ),
            ],
            listened: Vec::new(),
        }),
    );
    update(&mut app, key(KeyCode::Char('d')));
    assert!(app.modal.is_none() && app.effects.is_empty());
    update(&mut app, key(KeyCode::Down));
    update(&mut app, key(KeyCode::Char('d')));
    update(&mut app, key(KeyCode::Char('y')));
    assert_eq!(app.effects, [Effect::RemoveIdent("b".into())]);
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
            super::super::fixture::message(
                9_700,
                "gilmour.health.host-1",
                r#"{"data":null,"code":200,"sender":"s-h"}"#,
            ),
            reply(9_701, "s-h", 200, "[]"),
        ]),
    );
    run(&mut app, Command::ShowTopics);
    let topics = |app: &super::super::app::App| -> Vec<String> {
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
