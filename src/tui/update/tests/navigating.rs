//! Getting from one trace to another: go to #N, references followed from a detail and
//! back, filters on a trace's topic or sender, a queued record's trace.

use crate::tui::action::{Action, Done};
use crate::tui::fixture::{App, busy, detail_text, error_record, key, message, render, reply};
use crate::tui::fixture::{request, run, type_text, update};
use crate::tui::keymap::Command;
use crate::tui::model::Screen;
use crate::tui::state::modal::Modal;
use crate::tui::state::screens::ErrorRow;
use crossterm::event::KeyCode;
use gilmour::inspect::TraceId;

fn id_of(app: &App, sender: &str) -> TraceId {
    app.inspector.store().by_sender(sender).expect("traced")
}

/// The busy app with `s-echo-2` captured as a replay of `s-echo-1`.
fn with_replay() -> (App, TraceId, TraceId) {
    let mut app = busy(100, 30);
    let original = id_of(&app, "s-echo-1");
    app.links.expect("s-echo-2", Some(original), false);
    update(
        &mut app,
        Action::Events(vec![
            request(9_500, "echo", "s-echo-2", r#""again""#),
            reply(9_501, "s-echo-2", 200, r#""again""#),
        ]),
    );
    let replay = id_of(&app, "s-echo-2");
    (app, original, replay)
}

#[test]
fn hash_opens_a_trace_by_its_number_and_esc_comes_back() {
    let (mut app, original, replay) = with_replay();
    update(&mut app, key(KeyCode::Char('#')));
    assert!(matches!(app.modal, Some(Modal::GoTo(_))));
    type_text(&mut app, &replay.0.to_string());
    insta::assert_snapshot!(render(&app));
    update(&mut app, key(KeyCode::Enter));
    assert_eq!(app.detail.as_ref().map(|d| d.id), Some(replay));
    // From a detail: the trace open before is where Esc goes back to.
    update(&mut app, key(KeyCode::Char('#')));
    type_text(&mut app, &format!("#{}", original.0));
    update(&mut app, key(KeyCode::Enter));
    assert_eq!(app.detail.as_ref().map(|d| d.id), Some(original));
    update(&mut app, key(KeyCode::Esc));
    assert_eq!(app.detail.as_ref().map(|d| d.id), Some(replay));
    update(&mut app, key(KeyCode::Esc));
    assert!(app.detail.is_none());
    update(&mut app, key(KeyCode::Char('#')));
    type_text(&mut app, "999");
    update(&mut app, key(KeyCode::Enter));
    assert!(app.detail.is_none());
    let said = app
        .status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default();
    assert!(said.contains("#999 is not in the store"), "{said}");
}

#[test]
fn tab_chooses_a_reference_and_enter_follows_it_both_ways() {
    let (mut app, original, replay) = with_replay();
    app.state.open(replay);
    let text = detail_text(&app).join("\n");
    assert!(
        text.contains(&format!("links       {original} replay of")),
        "{text}"
    );
    update(&mut app, key(KeyCode::Tab));
    assert_eq!(app.detail.as_ref().and_then(|d| d.link), Some(0));
    assert_eq!(
        app.screen,
        Screen::Traces,
        "Tab chooses a link, not a screen"
    );
    update(&mut app, key(KeyCode::Enter));
    assert_eq!(app.detail.as_ref().map(|d| d.id), Some(original));
    let text = detail_text(&app).join("\n");
    assert!(text.contains(&format!("{replay} replayed as")), "{text}");
    update(&mut app, key(KeyCode::Tab));
    update(&mut app, key(KeyCode::Enter));
    assert_eq!(app.detail.as_ref().map(|d| d.id), Some(replay), "and back");
    update(&mut app, key(KeyCode::Esc));
    assert_eq!(app.detail.as_ref().map(|d| d.id), Some(original));
    update(&mut app, key(KeyCode::Esc));
    assert_eq!(app.detail.as_ref().map(|d| d.id), Some(replay));
    update(&mut app, key(KeyCode::Esc));
    assert!(app.detail.is_none(), "Esc walks back the way it came");
}

#[test]
fn a_call_links_to_its_parent_and_the_parent_to_its_calls() {
    let mut app = busy(100, 30);
    update(
        &mut app,
        Action::Events(vec![
            request(9_100, "outer", "s-outer", "1"),
            message(
                9_110,
                "gilmour.request.inner",
                r#"{"data":2,"code":200,"sender":"s-inner","parent":"s-outer"}"#,
            ),
            reply(9_120, "s-inner", 200, "3"),
            reply(9_130, "s-outer", 200, "4"),
        ]),
    );
    let (outer, inner) = (id_of(&app, "s-outer"), id_of(&app, "s-inner"));
    app.state.open(inner);
    update(&mut app, key(KeyCode::Tab));
    let said = app
        .status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default();
    assert!(said.starts_with(&format!("parent {outer}")), "{said}");
    update(&mut app, key(KeyCode::Enter));
    assert_eq!(app.detail.as_ref().map(|d| d.id), Some(outer));
    update(&mut app, key(KeyCode::BackTab));
    update(&mut app, key(KeyCode::Enter));
    assert_eq!(app.detail.as_ref().map(|d| d.id), Some(inner), "its call");
    insta::assert_snapshot!(render(&app));
}

#[test]
fn t_and_c_filter_on_the_rows_topic_and_sender_in_the_bar() {
    let mut app = busy(100, 30);
    run(&mut app, Command::Down);
    let selected = app.selected_trace().expect("a row");
    let topic = app
        .inspector
        .store()
        .get(selected)
        .map(|t| t.topic.to_string());
    assert_eq!(topic.as_deref(), Some("slow.thing"));
    update(&mut app, key(KeyCode::Char('t')));
    assert_eq!(app.filter.applied_text, "topic:slow.thing");
    assert!(app.filter.editing, "the bar shows it, to change");
    assert_eq!(app.filter.input.text(), "topic:slow.thing");
    assert_eq!(app.shown(), 2, "the trace and the gap");
    update(&mut app, key(KeyCode::Enter));
    update(&mut app, key(KeyCode::Esc));
    assert!(app.filter.applied_text.is_empty());
    // From a detail, on the sender: back to the list it filters.
    let id = id_of(&app, "s-fetch-2");
    app.state.open(id);
    update(&mut app, key(KeyCode::Char('c')));
    assert!(app.detail.is_none());
    assert_eq!(app.filter.applied_text, "sender:s-fetch-2");
}

#[test]
fn o_on_a_queued_record_opens_its_trace() {
    let mut app = busy(100, 30);
    run(&mut app, Command::ShowErrors);
    update(
        &mut app,
        Action::Done(Done::Errors {
            page: 0,
            total: 2,
            entries: crate::tui::fixture::queued(vec![
                error_record(216, "weather.group", "s-group-1", 500),
                error_record(9_000, "billing.charge", "s-gone", 503),
            ]),
        }),
    );
    let queued = |index| {
        (0..app.errors.rows())
            .position(|at| app.errors.row(at) == Some(ErrorRow::Queued(index)))
            .expect("listed")
    };
    let (first, second) = (queued(0), queued(1));
    app.errors.selected = second;
    update(&mut app, key(KeyCode::Char('o')));
    assert!(app.detail.is_none());
    let said = app
        .status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default();
    assert!(said.contains("no trace of sender s-gone"), "{said}");
    app.errors.selected = first;
    update(&mut app, key(KeyCode::Char('o')));
    assert_eq!(
        app.detail.as_ref().map(|d| d.id),
        Some(id_of(&app, "s-group-1"))
    );
}
