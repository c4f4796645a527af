//! Snapshots of what deep capture adds: the lock-race panel, who answered in Traces and
//! in Topics.

use super::detail_of;
use crate::tui::action::Action;
use crate::tui::fixture::update;
use crate::tui::fixture::{at, key, render};
use crossterm::event::KeyCode;

/// A request answered by one of two responders in a group, as deep capture saw it.
fn raced(width: u16, height: u16) -> crate::tui::fixture::App {
    use gilmour::inspect::deep::{Client, DeepEvent, Fact};
    use std::sync::Arc;
    let mut app = crate::tui::fixture::app(width, height);
    app.deep = true;
    update(
        &mut app,
        Action::Events(vec![
            crate::tui::fixture::request(100, "weather.fetch", "s-race-1", r#"{"city":"Pune"}"#),
            crate::tui::fixture::reply(103, "s-race-1", 200, r#"{"temp":21.5}"#),
        ]),
    );
    let client = |addr: &str, name: Option<&str>| Client {
        addr: Arc::from(addr),
        name: name.map(Arc::from),
    };
    let micros = |us: i64| at(100) + chrono::Duration::microseconds(us);
    let facts = vec![
        (
            0,
            client(
                "10.0.0.9:40100",
                Some("gilmour:caller-pid-41-uuid-ab12cd34-0000-4000-8000-000000000001"),
            ),
            Fact::Call {
                command: Arc::from("PUBSUB NUMSUB gilmour.request.weather.fetch"),
                sender: None,
            },
        ),
        (
            120,
            client(
                "10.0.0.9:40100",
                Some("gilmour:caller-pid-41-uuid-ab12cd34-0000-4000-8000-000000000001"),
            ),
            Fact::Request {
                sender: Arc::from("s-race-1"),
            },
        ),
        (
            410,
            client(
                "10.0.0.2:51000",
                Some("gilmour:weather-a-pid-7-uuid-cd34ef56-0000-4000-8000-000000000002"),
            ),
            Fact::Lock {
                key: Arc::from("s-race-1weather"),
                ttl: Some(600),
            },
        ),
        (
            455,
            client("10.0.0.3:52000", None),
            Fact::Lock {
                key: Arc::from("s-race-1weather"),
                ttl: Some(600),
            },
        ),
        (
            2_480,
            client(
                "10.0.0.2:51000",
                Some("gilmour:weather-a-pid-7-uuid-cd34ef56-0000-4000-8000-000000000002"),
            ),
            Fact::Reply {
                sender: Arc::from("s-race-1"),
            },
        ),
    ];
    let events = facts
        .into_iter()
        .map(|(us, client, fact)| DeepEvent {
            at: micros(us),
            client,
            fact,
        })
        .collect();
    update(&mut app, Action::Deep(events));
    app
}

#[test]
fn lock_race_panel_at_80_columns() {
    let app = detail_of(raced(80, 24), "s-race-1");
    let trace = app.inspector.store().newest_first().next().expect("trace");
    assert_eq!(trace.deep.as_ref().map(|deep| deep.contenders()), Some(2));
    assert_snapshot!(render(&app));
}

#[test]
fn lock_race_panel_wide() {
    assert_snapshot!(render(&detail_of(raced(140, 30), "s-race-1")));
}

#[test]
fn traces_name_who_answered_when_deep_capture_is_on() {
    assert_snapshot!(render(&raced(140, 6)));
}

#[test]
fn topics_show_who_answered_with_deep_capture() {
    let mut app = raced(140, 6);
    update(&mut app, key(KeyCode::Char('2')));
    assert_snapshot!(render(&app));
}

#[test]
fn m_turns_deep_capture_on_and_off_and_a_refusal_is_one_line() {
    use crate::tui::action::{Done, Effect};
    let mut app = crate::tui::fixture::app(100, 8);
    update(&mut app, key(KeyCode::Char('M')));
    assert!(
        matches!(app.effects.as_slice(), [Effect::Deep(true)]),
        "{:?}",
        app.effects
    );
    app.effects.clear();
    update(&mut app, Action::Done(Done::Deep(Ok(true))));
    assert!(app.deep);
    let screen = render(&app).to_string();
    assert!(screen.contains("◆ deep"), "{screen}");
    assert!(
        screen.contains("MONITOR costs Redis throughput"),
        "{screen}"
    );
    update(&mut app, key(KeyCode::Char('M')));
    assert!(matches!(app.effects.as_slice(), [Effect::Deep(false)]));
    update(&mut app, Action::Done(Done::Deep(Ok(false))));
    assert!(!app.deep && !render(&app).to_string().contains("◆ deep"));
    // Refused by an ACL: said in one line, the normal capture goes on.
    update(
        &mut app,
        Action::Done(Done::Deep(Err(
            "Redis refused MONITOR (NOPERM); the normal capture goes on".to_owned(),
        ))),
    );
    assert!(!app.deep);
    assert!(render(&app).to_string().contains("Redis refused MONITOR"));
    // Offline there is no Redis to watch.
    let mut offline = crate::tui::fixture::offline(100, 8);
    update(&mut offline, key(KeyCode::Char('M')));
    assert!(offline.effects.is_empty());
    assert!(
        render(&offline)
            .to_string()
            .contains("deep capture needs a live Redis")
    );
}
