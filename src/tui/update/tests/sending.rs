//! Replaying, editing, copying and firing.

use super::*;

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
    let text: String = crate::tui::fixture::detail_text(&app).concat();
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
    let suggestions = |app: &crate::tui::fixture::App| match &app.modal {
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
fn a_fired_composition_opens_as_its_waterfall() {
    use crate::tui::fixture::{message, reply};
    let mut app = crate::tui::fixture::app(100, 30);
    let step = |ms: i64, topic: &str, sender: &str, place: &str| {
        message(
            ms,
            &format!("gilmour.request.{topic}"),
            &format!(
                r#"{{"data":1,"code":200,"sender":"{sender}","composition":{{"id":"c-fired-1","step":"{place}"}}}}"#
            ),
        )
    };
    update(
        &mut app,
        Action::Events(vec![
            step(100, "weather.fetch", "s-fetch-9", "1"),
            reply(104, "s-fetch-9", 200, "2"),
            step(105, "weather.group", "s-group-9", "2"),
            reply(109, "s-group-9", 500, r#""division by zero""#),
        ]),
    );
    update(
        &mut app,
        Action::Done(Done::Composed {
            text: "weather.fetch | weather.group".into(),
            id: "c-fired-1".into(),
            steps: vec![
                ("weather.fetch".into(), Some("s-fetch-9".into()), 200),
                ("weather.group".into(), Some("s-group-9".into()), 500),
            ],
            code: 500,
            data: "\"division by zero\"".into(),
            elapsed: Duration::from_micros(16),
        }),
    );
    assert_eq!(
        app.status.as_ref().map(|status| status.text.as_str()),
        Some("composition answered 500 in <0.05ms: \"division by zero\""),
        "latencies read alike everywhere"
    );
    // It is done once quiet for a moment (the app sweeps on its ticks).
    app.now = crate::tui::fixture::at(1_000);
    app.sweep();
    // Not its successful first step: the composition, failed, with every step.
    let opened = app.detail.as_ref().map(|d| d.id);
    let composition = app.inspector.store().by_sender("c-fired-1");
    assert!(opened.is_some() && opened == composition, "{opened:?}");
    let text: String = crate::tui::fixture::detail_text(&app).concat();
    assert!(text.contains("status error"), "{text}");
    assert!(
        text.contains("composition weather.fetch | weather.group"),
        "{text}"
    );
    assert!(text.contains("Call tree · 3 spans"), "{text}");
    assert!(
        text.contains("2 ") && text.contains("req weather.group"),
        "{text}"
    );

    // Nothing went out (nobody listened): nothing to open, the status says why.
    app.detail = None;
    update(
        &mut app,
        Action::Done(Done::Composed {
            text: "nobody.x".into(),
            id: "c-fired-2".into(),
            steps: vec![("nobody.x".into(), None, 404)],
            code: 404,
            data: "\"no active listeners for `nobody.x`\"".into(),
            elapsed: Duration::from_micros(900),
        }),
    );
    assert!(app.detail.is_none());
    assert!(
        app.status
            .as_ref()
            .is_some_and(|status| status.text.starts_with("composition answered 404"))
    );
}
