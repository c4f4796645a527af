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
    update(&mut app, key(KeyCode::Delete));
    update(&mut app, send());
    assert!(app.effects.is_empty(), "invalid JSON is not sent");
    assert!(app.status.as_ref().is_some_and(|s| s.failure));
    type_text(&mut app, "{");
    update(&mut app, key(KeyCode::Enter));
    assert!(app.effects.is_empty(), "Enter is a new line");
    assert!(matches!(&app.modal, Some(Modal::Edit(form)) if form.data.lines().len() == 4));
    update(&mut app, send());
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
            patterns: Vec::new(),
        }),
    );
    let Some(Modal::Confirm { question, then }) = &app.modal else {
        panic!("a question: {:?}", app.modal);
    };
    assert_eq!(
        question,
        "Nobody listens on echo. Publish anyway? (nobody will answer)"
    );
    assert!(matches!(then, Confirmed::Publish(..)));
    update(&mut app, key(KeyCode::Char('y')));
    // The engine refuses to request from nobody: yes publishes the request as it is.
    assert_eq!(app.effects, [Effect::Publish(fire, None)]);
}

#[test]
fn a_composition_nobody_serves_is_run_anyway_on_yes() {
    let mut app = busy(100, 20);
    let fire = Fire::Compose {
        text: "echo | nobody.x".into(),
        data: serde_json::Value::Null,
        timeout: Duration::from_secs(30),
    };
    update(
        &mut app,
        Action::Done(Done::Listeners {
            fire: fire.clone(),
            original: None,
            silent: vec!["nobody.x".into()],
            patterns: Vec::new(),
        }),
    );
    assert!(
        matches!(&app.modal, Some(Modal::Confirm { question, .. }) if question.contains("fail with 404")),
        "{:?}",
        app.modal
    );
    update(&mut app, key(KeyCode::Char('y')));
    assert_eq!(app.effects, [Effect::Fire(fire, None)]);
}

#[test]
fn a_signal_taken_by_pattern_slots_is_sent_without_asking() {
    let mut app = busy(100, 20);
    let fire = Fire::Signal {
        topic: "event.level.completed".into(),
        data: serde_json::Value::Null,
    };
    update(
        &mut app,
        Action::Done(Done::Listeners {
            fire: fire.clone(),
            original: None,
            silent: vec!["event.level.completed".into()],
            patterns: vec!["gilmour.slot.event.*".into()],
        }),
    );
    assert!(app.modal.is_none(), "nothing to ask: {:?}", app.modal);
    assert_eq!(app.effects, [Effect::Fire(fire, None)]);
    assert_eq!(
        app.status.as_ref().map(|status| status.text.as_str()),
        Some(
            "no exact subscriber on event.level.completed; 1 pattern subscription exists \
             (gilmour.slot.event.*): sending…"
        )
    );
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
            patterns: Vec::new(),
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
            input: serde_json::Value::Null,
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
            input: serde_json::Value::Null,
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

#[test]
fn the_readme_tour_fires_a_composition_typed_on_a_fresh_form() {
    let mut app = busy(100, 20);
    update(&mut app, key(KeyCode::Char('f')));
    type_text(&mut app, "echo | [echo, echo]");
    update(&mut app, key(KeyCode::Enter));
    assert_eq!(
        app.effects,
        [Effect::CheckListeners(
            Fire::Compose {
                text: "echo | [echo, echo]".into(),
                data: serde_json::Value::Null,
                timeout: Duration::from_secs(30),
            },
            None
        )]
    );
}

#[test]
fn the_status_line_never_outlives_what_it_says() {
    let mut app = busy(100, 20);
    update(&mut app, key(KeyCode::Char('f')));
    type_text(&mut app, "echo");
    update(&mut app, key(KeyCode::Down));
    type_text(&mut app, "{\"a\":");
    update(&mut app, send());
    let status = |app: &crate::tui::fixture::App| app.status.as_ref().map(|s| s.text.clone());
    assert!(
        status(&app).is_some_and(|text| text.starts_with("not JSON")),
        "{:?}",
        status(&app)
    );
    type_text(&mut app, "1}");
    assert_eq!(status(&app), None, "the data is valid JSON now");
    update(&mut app, send());
    assert_eq!(status(&app).as_deref(), Some("counting listeners…"));
    let fire = match app.effects.as_slice() {
        [Effect::CheckListeners(fire, None)] => fire.clone(),
        other => panic!("{other:?}"),
    };
    update(
        &mut app,
        Action::Done(Done::Listeners {
            fire,
            original: None,
            silent: vec!["echo".into()],
            patterns: Vec::new(),
        }),
    );
    update(&mut app, key(KeyCode::Char('n')));
    assert_eq!(status(&app).as_deref(), Some("not sent"));
}

#[test]
fn copy_names_the_connection_and_a_step_copies_its_composition() {
    let mut app = busy(100, 20);
    app.redis = Some("redis://:***@db.internal:6380/2".into());
    update(&mut app, key(KeyCode::Char('y')));
    assert_eq!(
        app.effects,
        [Effect::Copy(
            r#"gilmour --redis 'redis://:***@db.internal:6380/2' request weather.fetch '{"city":"Oslo"}'"#
                .into()
        )],
        "pasted elsewhere, it reaches the same Redis (the password is never copied)"
    );
    app.effects.clear();
    update(
        &mut app,
        Action::Done(Done::Composed {
            input: json!({"city": "Pune"}),
            text: "weather.fetch | weather.group".into(),
            id: "c-fired-3".into(),
            steps: vec![
                ("weather.fetch".into(), Some("s-fetch-1".into()), 200),
                ("weather.group".into(), Some("s-group-1".into()), 500),
            ],
            code: 500,
            data: "\"division by zero\"".into(),
            elapsed: Duration::from_micros(16),
        }),
    );
    // A step of it, opened, copies the composition whole.
    let step = app
        .inspector
        .store()
        .by_sender("s-group-1")
        .expect("the step");
    crate::tui::fixture::open_detail(&mut app, step);
    update(&mut app, key(KeyCode::Char('y')));
    assert_eq!(
        app.effects,
        [Effect::Copy(
            r#"gilmour --redis 'redis://:***@db.internal:6380/2' compose 'weather.fetch | weather.group' '{"city":"Pune"}'"#
                .into()
        )]
    );
}

#[test]
fn copy_refuses_what_the_terminal_would_drop() {
    let mut app = crate::tui::fixture::app(100, 20);
    // A store that keeps big payloads whole (the default cuts them, and a payload cut
    // short is not copied at all).
    app.inspector = gilmour::inspect::Inspector::new(InspectorOptions {
        max_payload: 1 << 20,
        ..InspectorOptions::default()
    });
    let big = format!("\"{}\"", "x".repeat(super::super::send::COPY_LIMIT));
    update(
        &mut app,
        Action::Events(vec![request(100, "big.one", "s-big", &big)]),
    );
    update(&mut app, key(KeyCode::Char('y')));
    assert!(app.effects.is_empty(), "{:?}", app.effects);
    let status = app.status.as_ref().expect("a reason");
    assert!(
        status.failure && status.text.starts_with("not copied:"),
        "{status:?}"
    );
    assert!(
        status.text.contains("w writes the trace to a file"),
        "{status:?}"
    );
}

#[test]
fn a_multi_line_json_paste_is_one_paste_not_a_send_per_line() {
    let mut app = busy(100, 20);
    update(&mut app, key(KeyCode::Char('f')));
    update(&mut app, Action::Paste("echo | [echo,\n echo]".into()));
    update(&mut app, key(KeyCode::Down));
    update(&mut app, Action::Paste("{\n  \"a\": 1\n}\n".into()));
    let Some(Modal::Fire(form)) = &app.modal else {
        panic!("the form is still open: nothing was sent");
    };
    assert_eq!(form.target.text(), "echo | [echo,  echo]");
    assert_eq!(form.kind, crate::tui::state::forms::FireKind::Compose);
    assert_eq!(form.data.text(), "{\n  \"a\": 1\n}\n");
    assert_eq!(form.data_error(), None, "valid JSON as pasted");
    assert!(app.effects.is_empty());
    update(&mut app, key(KeyCode::Enter));
    assert!(app.effects.is_empty(), "Enter in the data is a new line");
    update(&mut app, send());
    assert!(
        matches!(&app.effects[..], [Effect::CheckListeners(Fire::Compose { data, .. }, None)] if *data == json!({"a": 1})),
        "{:?}",
        app.effects
    );
}

/// The fire form with `topic` typed and the data field focused.
fn fire_form_at_the_data(topic: &str) -> crate::tui::fixture::App {
    let mut app = busy(100, 30);
    update(&mut app, key(KeyCode::Char('f')));
    type_text(&mut app, topic);
    update(&mut app, key(KeyCode::Down));
    app
}

fn fire_form(app: &crate::tui::fixture::App) -> &crate::tui::state::forms::FireForm {
    match &app.modal {
        Some(Modal::Fire(form)) => form,
        other => panic!("the fire form is not open: {other:?}"),
    }
}

#[test]
fn the_data_field_takes_lines_and_the_arrows_move_across_them() {
    use crate::tui::state::forms::FireField;
    let mut app = fire_form_at_the_data("echo");
    for line in ["{", "\"a\": 1,", "\"b\": \"日本\""] {
        type_text(&mut app, line);
        update(&mut app, key(KeyCode::Enter));
    }
    type_text(&mut app, "}");
    assert!(app.effects.is_empty(), "Enter sent nothing");
    let form = fire_form(&app);
    assert_eq!(form.data.text(), "{\n\"a\": 1,\n\"b\": \"日本\"\n}");
    assert_eq!(form.data.cursor(), (3, 1));
    assert_eq!(form.data_error(), None);
    // ↑ goes up a line, keeping the column where the line is long enough.
    update(&mut app, key(KeyCode::Up));
    assert_eq!(fire_form(&app).data.cursor(), (2, 1));
    update(&mut app, key(KeyCode::End));
    update(&mut app, key(KeyCode::Left));
    type_text(&mut app, "語");
    assert_eq!(
        fire_form(&app).data.lines()[2],
        "\"b\": \"日本語\"",
        "typed where the cursor is, after wide characters"
    );
    // → at a line's end goes to the next line's start.
    update(&mut app, key(KeyCode::Right));
    update(&mut app, key(KeyCode::Right));
    assert_eq!(fire_form(&app).data.cursor(), (3, 0));
    // Backspace at a line's start joins it to the line above.
    update(&mut app, key(KeyCode::Backspace));
    assert_eq!(fire_form(&app).data.lines().len(), 3);
    assert_eq!(fire_form(&app).data.lines()[2], "\"b\": \"日本語\"}");
    // ↓ on the last line leaves for the next field; ↑ on the first comes back up.
    update(&mut app, key(KeyCode::Down));
    assert_eq!(fire_form(&app).focus, FireField::Timeout);
    update(&mut app, key(KeyCode::Up));
    assert_eq!(fire_form(&app).focus, FireField::Data);
    for _ in 0..2 {
        update(&mut app, key(KeyCode::Up));
        assert_eq!(fire_form(&app).focus, FireField::Data, "moving up a line");
    }
    update(&mut app, key(KeyCode::Up));
    assert_eq!(fire_form(&app).focus, FireField::Target);
    // Enter in the topic sends, as ctrl-s does anywhere.
    update(&mut app, key(KeyCode::Enter));
    assert!(
        matches!(&app.effects[..], [Effect::CheckListeners(Fire::Request { data, .. }, None)]
            if *data == json!({"a": 1, "b": "日本語"})),
        "{:?}",
        app.effects
    );
}

#[test]
fn alt_enter_sends_from_the_data_field() {
    let mut app = fire_form_at_the_data("echo");
    type_text(&mut app, "[1, 2]");
    update(
        &mut app,
        Action::Key(crossterm::event::KeyEvent::new(
            KeyCode::Enter,
            crossterm::event::KeyModifiers::ALT,
        )),
    );
    assert!(
        matches!(&app.effects[..], [Effect::CheckListeners(Fire::Request { data, .. }, None)]
            if *data == json!([1, 2])),
        "{:?}",
        app.effects
    );
}

#[test]
fn a_json_error_says_its_line_and_column_as_typed() {
    let mut app = fire_form_at_the_data("echo");
    update(
        &mut app,
        Action::Paste("{\n  \"a\": 1\n  \"b\": 2\n}".into()),
    );
    let error = fire_form(&app).data_error().unwrap_or_default();
    assert_eq!(error, "not JSON at 3:3: expected `,` or `}`");
    // Columns count characters: `日本` is six bytes, two characters.
    let mut app = fire_form_at_the_data("echo");
    type_text(&mut app, "{\"日本\": 1 x}");
    let error = fire_form(&app).data_error().unwrap_or_default();
    assert!(error.starts_with("not JSON at 1:10: "), "{error}");
    update(&mut app, send());
    let status = app
        .status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default();
    assert!(status.starts_with("not JSON at 1:10"), "{status}");
    assert!(app.effects.is_empty(), "not sent");
}

#[test]
fn a_paste_into_the_editor_lands_whole_and_replays_as_pasted() {
    let mut app = busy(100, 20);
    update(&mut app, key(KeyCode::Char('e')));
    let Some(Modal::Edit(form)) = &app.modal else {
        panic!("the editor is open");
    };
    assert_eq!(
        form.data.text(),
        "{\n  \"city\": \"Oslo\"\n}",
        "the data as pretty JSON"
    );
    assert_eq!(form.data.cursor(), (0, 0), "at its start");
    update(&mut app, key(KeyCode::Delete));
    update(
        &mut app,
        Action::Paste("{\r\n  \"list\": [1,\r\n    2],\r\n  \"note\": \"é\"\r\n}\r\n".into()),
    );
    let Some(Modal::Edit(form)) = &app.modal else {
        panic!("a paste sends nothing");
    };
    assert_eq!(
        form.data.lines(),
        [
            "{",
            "  \"list\": [1,",
            "    2],",
            "  \"note\": \"é\"",
            "}",
            "",
            "  \"city\": \"Oslo\"",
            "}"
        ],
        "line breaks as pasted, CRLF as one, the old text after the cursor"
    );
    assert_eq!(form.data.cursor(), (5, 0));
    // The old data is a second value, which is not JSON: ctrl-k takes it away (the rest
    // of the line, or at its end the line break).
    for _ in 0..4 {
        update(
            &mut app,
            Action::Key(crossterm::event::KeyEvent::new(
                KeyCode::Char('k'),
                crossterm::event::KeyModifiers::CONTROL,
            )),
        );
    }
    update(&mut app, send());
    assert!(
        matches!(&app.effects[..], [Effect::Fire(Fire::Request { data, .. }, Some(TraceId(7)))]
            if *data == json!({"list": [1, 2], "note": "é"})),
        "{:?} {:?}",
        app.effects,
        app.status
    );
}

#[test]
fn what_the_terminal_must_not_see_is_kept_as_its_json_escape() {
    let mut app = fire_form_at_the_data("echo");
    update(
        &mut app,
        Action::Paste("\"right\u{202e}left\u{1b}[2J\"".into()),
    );
    let form = fire_form(&app);
    assert_eq!(form.data.text(), "\"right\\u202eleft\\u001b[2J\"");
    update(&mut app, send());
    assert!(
        matches!(&app.effects[..], [Effect::CheckListeners(Fire::Request { data, .. }, None)]
            if *data == json!("right\u{202e}left\u{1b}[2J")),
        "the same string: {:?}",
        app.effects
    );
}

#[test]
fn the_send_key_is_the_key_map_s_and_the_footer_says_which() {
    let mut app = busy(100, 30);
    app.keymap =
        crate::tui::keymap::KeyMap::from_toml("[form]\nsend = \"ctrl-x\"").expect("bindings");
    update(&mut app, key(KeyCode::Char('f')));
    type_text(&mut app, "echo");
    update(&mut app, send());
    assert!(app.effects.is_empty(), "ctrl-s is no longer the send key");
    let footer = format!("{:?}", crate::tui::fixture::render(&app));
    assert!(footer.contains("ctrl-x send"), "{footer}");
    update(
        &mut app,
        Action::Key(crossterm::event::KeyEvent::new(
            KeyCode::Char('x'),
            crossterm::event::KeyModifiers::CONTROL,
        )),
    );
    assert!(
        matches!(
            &app.effects[..],
            [Effect::CheckListeners(Fire::Request { .. }, None)]
        ),
        "{:?}",
        app.effects
    );
}
