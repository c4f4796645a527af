//! The Topics, Errors and Services screens.

use super::*;

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
    let record = crate::tui::fixture::error_record(216, "weather.group", "s-group-1", 500);
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
    let mut app = crate::tui::fixture::app(100, 20);
    update(
        &mut app,
        Action::Events(vec![
            crate::tui::fixture::message(100, "gilmour.errors", "not a record at all"),
            crate::tui::fixture::message(
                200,
                "gilmour.errors",
                &crate::tui::fixture::error_record(200, "t", "s-1", 500),
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
