//! The replay form: another topic and timeout, copies all at once or at a rate, each
//! linked back to its original.

use crate::tui::action::{Action, Effect, Probe};
use crate::tui::fixture::{App, at, busy, key, render, run, type_text, update};
use crate::tui::keymap::Command;
use crate::tui::model::Fire;
use crate::tui::state::modal::Modal;
use crossterm::event::KeyCode;
use std::time::Duration;

fn replay_form_on_echo() -> (App, gilmour::inspect::TraceId) {
    let mut app = busy(80, 24);
    let id = app.inspector.store().by_sender("s-echo-1").expect("traced");
    app.state.open(id);
    run(&mut app, Command::ReplayOptions);
    assert!(matches!(app.modal, Some(Modal::Replay(_))));
    (app, id)
}

fn clear(app: &mut App) {
    for _ in 0..40 {
        update(app, key(KeyCode::Backspace));
    }
}

#[test]
fn copies_go_at_the_rate_asked_to_the_topic_asked_each_a_replay_of_the_original() {
    let (mut app, original) = replay_form_on_echo();
    insta::assert_snapshot!(render(&app));
    clear(&mut app);
    type_text(&mut app, "echo.v2");
    update(&mut app, key(KeyCode::Tab));
    clear(&mut app);
    type_text(&mut app, "2.5");
    update(&mut app, key(KeyCode::Tab));
    clear(&mut app);
    type_text(&mut app, "5");
    update(&mut app, key(KeyCode::Tab));
    type_text(&mut app, "2");
    app.effects.clear();
    update(&mut app, key(KeyCode::Enter));
    assert!(app.modal.is_none());
    let sent = |effects: &[Effect]| {
        effects
            .iter()
            .filter(|effect| match effect {
                Effect::Fire(Fire::Request { topic, timeout, .. }, Some(of)) => {
                    topic == "echo.v2"
                        && *timeout == Duration::from_millis(2_500)
                        && *of == original
                }
                _ => false,
            })
            .count()
    };
    assert_eq!(sent(&app.effects), 2, "two now: {:?}", app.effects);
    let tick = |app: &mut App, ms| {
        app.effects.clear();
        update(
            app,
            Action::Tick(Probe {
                now: at(ms),
                connected: Some(true),
                dropped: 0,
            }),
        );
        sent(&app.effects)
    };
    assert_eq!(tick(&mut app, 11_000), 2);
    assert_eq!(tick(&mut app, 12_000), 1, "five in all");
    assert!(app.replaying.is_none());
    assert_eq!(tick(&mut app, 13_000), 0);
}

#[test]
fn a_count_without_a_rate_goes_at_once_and_a_bad_field_is_said() {
    let (mut app, _) = replay_form_on_echo();
    update(&mut app, key(KeyCode::Tab));
    update(&mut app, key(KeyCode::Tab));
    clear(&mut app);
    type_text(&mut app, "0");
    update(&mut app, key(KeyCode::Enter));
    assert!(matches!(app.modal, Some(Modal::Replay(_))), "stays open");
    let said = app
        .status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default();
    assert!(said.contains("the count is 1 to 1000"), "{said}");
    clear(&mut app);
    type_text(&mut app, "3");
    app.effects.clear();
    update(&mut app, key(KeyCode::Enter));
    let fired = app
        .effects
        .iter()
        .filter(|effect| matches!(effect, Effect::Fire(Fire::Request { topic, .. }, Some(_)) if topic == "echo"))
        .count();
    assert_eq!(fired, 3);
    assert!(app.replaying.is_none());
}

#[test]
fn the_first_copy_opens_and_the_others_leave_it_open() {
    use crate::tui::action::Done;
    use crate::tui::fixture::{reply, request};
    let (mut app, original) = replay_form_on_echo();
    for n in 1..=3 {
        let sender = format!("s-copy-{n}");
        update(
            &mut app,
            Action::Done(Done::Sent {
                original: Some(original),
                what: "request echo".to_owned(),
                sender: Some(sender.clone()),
                result: Ok("answered".to_owned()),
            }),
        );
        update(
            &mut app,
            Action::Events(vec![
                request(9_500 + n, "echo", &sender, "1"),
                reply(9_501 + n, &sender, 200, "1"),
            ]),
        );
    }
    let first = app.inspector.store().by_sender("s-copy-1").expect("traced");
    assert_eq!(app.detail.as_ref().map(|d| d.id), Some(first));
    assert_eq!(app.links.replays.get(&original).map(Vec::len), Some(3));
}
