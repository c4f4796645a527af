//! Snapshots of the call tree's waterfall in the detail view, and moving through it.

use super::detail_of;
use crate::tui::action::Action;
use crate::tui::fixture::{App, at, key, message, render, reply, update};
use crossterm::event::KeyCode;

/// `weather.fetch | [weather.group, weather.avg]` fired as one composition, its second
/// step calling `geo.lookup` while it runs; settled.
fn composed(width: u16, height: u16) -> App {
    let mut app = crate::tui::fixture::app(width, height);
    let step = |ms: i64, topic: &str, sender: &str, place: &str, parent: &str| {
        let parent = if parent.is_empty() {
            String::new()
        } else {
            format!(r#","parent":"{parent}""#)
        };
        message(
            ms,
            &format!("gilmour.request.{topic}"),
            &format!(
                r#"{{"data":{{"city":"Pune"}},"code":200,"sender":"{sender}"{parent},"composition":{{"id":"c-run-1","step":"{place}"}}}}"#
            ),
        )
    };
    update(
        &mut app,
        Action::Events(vec![
            step(100, "weather.fetch", "s-fetch", "1", ""),
            reply(112, "s-fetch", 200, r#"{"temps":[21,23]}"#),
            step(113, "weather.group", "s-group", "2.1", ""),
            step(113, "weather.avg", "s-avg", "2.2", ""),
            message(
                114,
                "gilmour.request.geo.lookup",
                r#"{"data":"Pune","code":200,"sender":"s-geo","parent":"s-group"}"#,
            ),
            reply(118, "s-geo", 200, r#"{"lat":18.5}"#),
            reply(119, "s-avg", 200, "22"),
            reply(140, "s-group", 500, r#""division by zero""#),
        ]),
    );
    app.now = at(1_000);
    app.sweep();
    app
}

#[test]
fn a_composition_opens_as_its_waterfall_at_80_columns() {
    let app = detail_of(composed(80, 24), "c-run-1");
    let trace = app
        .inspector
        .store()
        .newest_first()
        .find(|trace| &*trace.sender == "c-run-1")
        .expect("the composition");
    assert_eq!(
        trace.status,
        gilmour::inspect::TraceStatus::Error,
        "a failed step fails it"
    );
    assert_snapshot!(render(&app));
}

#[test]
fn a_composition_opens_as_its_waterfall_wide() {
    assert_snapshot!(render(&detail_of(composed(140, 30), "c-run-1")));
}

#[test]
fn a_step_shows_its_place_in_the_tree() {
    assert_snapshot!(render(&detail_of(composed(100, 30), "s-geo")));
}

#[test]
fn enter_opens_the_selected_span_and_esc_comes_back() {
    let mut app = detail_of(composed(100, 30), "c-run-1");
    let id_of = |app: &App, sender: &str| app.inspector.store().by_sender(sender).expect(sender);
    // Rows: the composition, 1 fetch, 2.1 group, its geo call, 2.2 avg; the cursor
    // starts on the trace shown.
    assert_eq!(app.detail.as_ref().map(|d| d.span), Some(0));
    for _ in 0..3 {
        update(&mut app, key(KeyCode::Char(']')));
    }
    update(&mut app, key(KeyCode::Enter));
    assert_eq!(
        app.detail.as_ref().map(|d| d.id),
        Some(id_of(&app, "s-geo"))
    );
    assert_eq!(app.detail.as_ref().map(|d| d.span), Some(3));
    update(&mut app, key(KeyCode::Char('[')));
    update(&mut app, key(KeyCode::Enter));
    assert_eq!(
        app.detail.as_ref().map(|d| d.id),
        Some(id_of(&app, "s-group"))
    );
    update(&mut app, key(KeyCode::Esc));
    assert_eq!(
        app.detail.as_ref().map(|d| d.id),
        Some(id_of(&app, "s-geo"))
    );
    update(&mut app, key(KeyCode::Esc));
    assert_eq!(
        app.detail.as_ref().map(|d| d.id),
        Some(id_of(&app, "c-run-1"))
    );
    update(&mut app, key(KeyCode::Esc));
    assert!(app.detail.is_none(), "back to the list");
    // A trace outside any tree says so.
    let mut app = detail_of(crate::tui::fixture::busy(100, 20), "s-group-1");
    update(&mut app, key(KeyCode::Char(']')));
    assert!(app.detail.is_some());
}

#[test]
fn a_composition_is_listed_with_its_steps_at_80_columns() {
    assert_snapshot!(render(&composed(80, 12)));
}
