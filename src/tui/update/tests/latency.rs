//! The topics screen's latency panel: it follows the cursor, and `l` gives it the whole
//! screen (on a short terminal it has no room under the table).

use crate::tui::fixture::{busy, key, run, update};
use crate::tui::keymap::Command;
use crossterm::event::KeyCode;

#[test]
fn the_panel_shows_the_selected_topic_and_l_gives_it_the_screen() {
    let mut app = busy(80, 24);
    run(&mut app, Command::ShowTopics);
    let topic = |app: &crate::tui::fixture::App| {
        app.topics
            .latency
            .as_ref()
            .map(|latency| latency.topic.to_string())
    };
    assert_eq!(topic(&app).as_deref(), Some("echo"));
    update(&mut app, key(KeyCode::Down));
    assert_eq!(topic(&app).as_deref(), Some("slow.thing"));
    let latency = app.topics.latency.clone().expect("shown");
    assert_eq!(latency.histogram.len(), 1, "one latency, one bar");
    assert_eq!(latency.histogram[0].count, 1);
    update(&mut app, key(KeyCode::Down));
    let signal = app.topics.latency.clone().expect("shown");
    assert_eq!(&*signal.topic, "user.created");
    assert!(signal.histogram.is_empty(), "a signal has no latency");
    assert!(!app.topics.latency_only);
    update(&mut app, key(KeyCode::Char('l')));
    assert!(app.topics.latency_only);
    update(&mut app, key(KeyCode::Char('l')));
    assert!(!app.topics.latency_only, "and back to the table");
}
