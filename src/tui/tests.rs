//! Whole-screen snapshots of every screen and dialog, drawn on ratatui's `TestBackend`
//! from fixed events (fixed clock, senders and time zone, so nothing needs redacting).
//! `cargo insta review` after a deliberate change; CI (`CI=true`) fails on any mismatch.

use super::action::{Action, Done};
use super::fixture::{at, busy, error_record, key, render, type_text};
use super::fixture::{run, update};
use super::keymap::Command;
use crossterm::event::KeyCode;
use gilmour::inspect::services::{Dead, Health, Host};

/// Snapshots with the bytes held redacted: the figure follows the size of the store's
/// records, not anything the screen decides (the header tests check it apart).
macro_rules! assert_snapshot {
    ($($arg:tt)*) => {
        insta::with_settings!({filters => vec![(r#"(?m)\d+(?:\.\d+)? (?:B|KiB|MiB)/256 MiB held([^"\n]*?) *"$"#, r#"[bytes]/256 MiB held$1""#)]}, {
            insta::assert_snapshot!($($arg)*)
        })
    };
}
use std::time::Duration;

#[test]
fn traces_following_with_every_kind_of_row() {
    let app = busy(140, 20);
    assert_snapshot!(render(&app));
}

#[test]
fn traces_empty_while_waiting() {
    let app = super::fixture::app(100, 8);
    assert_snapshot!(render(&app));
}

#[test]
fn filter_bar_shows_the_parse_error_as_typed() {
    let mut app = busy(120, 16);
    update(&mut app, key(KeyCode::Char('/')));
    type_text(&mut app, "topic:weather* and (code:");
    assert_snapshot!(render(&app));
}

#[test]
fn filter_applied_and_cursor_moved() {
    let mut app = busy(120, 14);
    update(&mut app, key(KeyCode::Char('/')));
    type_text(&mut app, "topic:weather*");
    update(&mut app, key(KeyCode::Enter));
    update(&mut app, key(KeyCode::Down));
    assert_snapshot!(render(&app));
}

#[test]
fn paused_with_marks() {
    let mut app = busy(120, 14);
    update(&mut app, key(KeyCode::Char('m')));
    update(&mut app, key(KeyCode::Char(' ')));
    update(
        &mut app,
        Action::Events(vec![super::fixture::request(9_500, "late", "s-late", "1")]),
    );
    assert_snapshot!(render(&app));
}

#[test]
fn detail_of_a_failed_request_with_its_error_record() {
    let mut app = busy(120, 45);
    let id = app
        .inspector
        .store()
        .by_sender("s-group-1")
        .unwrap_or_else(|| panic!("the trace"));
    super::fixture::open_detail(&mut app, id);
    assert_snapshot!(render(&app));
}

#[test]
fn detail_search_highlights_and_hostile_text_is_escaped() {
    let mut app = busy(120, 24);
    let id = app
        .inspector
        .store()
        .by_sender("s-echo-1")
        .unwrap_or_else(|| panic!("the trace"));
    super::fixture::open_detail(&mut app, id);
    update(&mut app, key(KeyCode::Char('/')));
    type_text(&mut app, "evil");
    assert_snapshot!("detail_search_prompt", render(&app));
    update(&mut app, key(KeyCode::Enter));
    assert_snapshot!("detail_search_found", render(&app));
}

#[test]
fn topics_with_rates_and_latencies() {
    let mut app = busy(120, 12);
    run(&mut app, Command::ShowTopics);
    assert_snapshot!(render(&app));
}

fn with_errors() -> crate::tui::fixture::App {
    let mut app = busy(120, 14);
    run(&mut app, Command::ShowErrors);
    update(
        &mut app,
        Action::Done(Done::Errors {
            page: 0,
            total: 2,
            entries: crate::tui::fixture::queued(vec![
                error_record(9_000, "billing.charge", "s-bill-9", 503),
                "not a record".to_owned(),
            ]),
        }),
    );
    app
}

/// Moves the errors screen's cursor past the live rows, onto the queue's first entry.
fn to_the_queue(app: &mut crate::tui::fixture::App) {
    for _ in 0..app.errors.live.len() {
        update(app, key(KeyCode::Down));
    }
}

#[test]
fn errors_queue_joined_with_the_live_channel() {
    assert_snapshot!(render(&with_errors()));
}

#[test]
fn error_record_dialog() {
    let mut app = with_errors();
    to_the_queue(&mut app);
    update(&mut app, key(KeyCode::Enter));
    assert_snapshot!(render(&app));
}

#[test]
fn trim_confirmation() {
    let mut app = with_errors();
    to_the_queue(&mut app);
    update(&mut app, key(KeyCode::Char('D')));
    assert_snapshot!(render(&app));
}

#[test]
fn services_alive_slow_failing_and_dead() {
    let mut app = busy(130, 12);
    run(&mut app, Command::ShowServices);
    update(
        &mut app,
        Action::Done(Done::Services {
            hosts: vec![
                Host {
                    ident: "web-1-pid-10-uuid-aaaa".to_owned(),
                    value: "true".to_owned(),
                    health: Health::Alive {
                        latency: Duration::from_micros(840),
                        topics: vec!["gilmour.request.echo".to_owned()],
                    },
                },
                Host {
                    ident: "web-2-pid-12-uuid-cccc".to_owned(),
                    value: "true".to_owned(),
                    health: Health::Slow {
                        latency: Duration::from_millis(412),
                        topics: vec!["gilmour.request.echo".to_owned()],
                    },
                },
                Host {
                    ident: "web-3-pid-13-uuid-dddd".to_owned(),
                    value: "true".to_owned(),
                    health: Health::Failing {
                        latency: Duration::from_millis(3),
                        code: 503,
                        reply: serde_json::json!("database down"),
                    },
                },
                Host {
                    ident: "ruby-2-pid-11-uuid-bbbb".to_owned(),
                    value: "active".to_owned(),
                    health: Health::Dead {
                        reason: Dead::NoListener,
                    },
                },
            ],
            listened: vec![("gilmour.request.echo".to_owned(), 2)],
            nodes: Vec::new(),
        }),
    );
    assert_snapshot!(render(&app));
}

#[test]
fn help_is_generated_from_the_key_map() {
    let mut app = busy(120, 70);
    update(&mut app, key(KeyCode::Char('?')));
    assert_snapshot!(render(&app));
}

#[test]
fn help_lists_the_named_filters() {
    let mut app = busy(120, 30);
    app.keymap = super::keymap::KeyMap::from_toml(
        "[filters]\nslow = \"latency:>100ms\"\nfailed = \"code:>=500 and kind:req\"\n",
    )
    .expect("valid");
    update(&mut app, key(KeyCode::Char('?')));
    assert_snapshot!(render(&app));
}

#[test]
fn fire_form_checks_a_composition_as_typed() {
    let mut app = busy(120, 20);
    update(&mut app, key(KeyCode::Char('f')));
    update(&mut app, key(KeyCode::Up));
    update(&mut app, key(KeyCode::Right));
    update(&mut app, key(KeyCode::Right));
    update(&mut app, key(KeyCode::Down));
    type_text(&mut app, "weather.fetch | wea");
    assert_snapshot!("fire_composition_completing", render(&app));
    type_text(&mut app, "ther.group |");
    update(&mut app, key(KeyCode::Down));
    type_text(&mut app, "{\"city\":");
    assert_snapshot!("fire_composition_errors", render(&app));
}

#[test]
fn edit_before_replay() {
    let mut app = busy(120, 14);
    update(&mut app, key(KeyCode::Char('e')));
    // alt->: the last line, as in Emacs; then its end.
    update(
        &mut app,
        Action::Key(crossterm::event::KeyEvent::new(
            KeyCode::Char('>'),
            crossterm::event::KeyModifiers::ALT,
        )),
    );
    update(&mut app, key(KeyCode::End));
    update(&mut app, key(KeyCode::Backspace));
    assert_snapshot!(render(&app));
}

#[test]
fn write_prompt() {
    let mut app = busy(120, 14);
    update(&mut app, key(KeyCode::Char('w')));
    assert_snapshot!(render(&app));
}

#[test]
fn offline_file_with_a_status_line() {
    let mut app = super::fixture::offline(120, 10);
    update(&mut app, Action::Events(super::fixture::traffic()));
    update(&mut app, Action::FileDone(None));
    update(&mut app, key(KeyCode::Char('r')));
    assert_eq!(app.now, at(9_000), "offline, the file's clock is the app's");
    assert_snapshot!(render(&app));
}

/// The errors screen with a Go and a Ruby record, seen live and queued.
fn with_foreign_errors(width: u16, height: u16) -> crate::tui::fixture::App {
    use super::fixture::{GO_SENDER, RUBY_SENDER, go_record, ruby_record};
    let mut app = super::fixture::app(width, height);
    update(&mut app, Action::Events(super::fixture::foreign_traffic()));
    run(&mut app, Command::ShowErrors);
    update(
        &mut app,
        Action::Done(Done::Errors {
            page: 0,
            total: 2,
            entries: crate::tui::fixture::queued(vec![
                go_record(GO_SENDER),
                ruby_record("users.find", RUBY_SENDER),
            ]),
        }),
    );
    app
}

#[test]
fn errors_from_go_and_ruby_read_alike_at_80_columns() {
    assert_snapshot!(render(&with_foreign_errors(80, 24)));
}

#[test]
fn errors_from_go_and_ruby_read_alike_wide() {
    assert_snapshot!(render(&with_foreign_errors(140, 16)));
}

#[test]
fn a_go_record_dialog_says_it_was_unscrambled() {
    let mut app = with_foreign_errors(80, 24);
    to_the_queue(&mut app);
    update(&mut app, key(KeyCode::Enter));
    assert_snapshot!(render(&app));
}

#[test]
fn traces_flag_what_they_keep_at_80_columns() {
    assert_snapshot!(render(&super::fixture::notable(80, 24)));
}

#[test]
fn traces_flag_what_they_keep_wide() {
    assert_snapshot!(render(&super::fixture::notable(140, 12)));
}

fn detail_of(mut app: crate::tui::fixture::App, sender: &str) -> crate::tui::fixture::App {
    let id = app
        .inspector
        .store()
        .by_sender(sender)
        .unwrap_or_else(|| panic!("the trace of {sender}"));
    super::fixture::open_detail(&mut app, id);
    app
}

#[test]
fn detail_notes_a_late_answer_at_80_columns() {
    assert_snapshot!(render(&detail_of(
        super::fixture::notable(80, 24),
        "s-late"
    )));
}

#[test]
fn detail_notes_a_late_answer_wide() {
    assert_snapshot!(render(&detail_of(
        super::fixture::notable(140, 34),
        "s-late"
    )));
}

#[test]
fn detail_notes_a_spurious_timeout_notice() {
    assert_snapshot!(render(&detail_of(
        super::fixture::notable(80, 24),
        "s-spur"
    )));
}

#[test]
fn detail_of_a_payload_cut_short() {
    assert_snapshot!(render(&detail_of(super::fixture::notable(80, 24), "s-big")));
}

#[test]
fn detail_of_an_envelope_that_does_not_parse() {
    assert_snapshot!(render(&detail_of(
        super::fixture::notable(100, 24),
        "s-deep"
    )));
}

/// An app whose store is too small for its traffic, and whose capture fell behind.
fn squeezed(width: u16, height: u16) -> crate::tui::fixture::App {
    let mut app = super::fixture::app(width, height);
    app.inspector = gilmour::inspect::Inspector::new(gilmour::inspect::InspectorOptions {
        max_memory: 4 << 10,
        ..gilmour::inspect::InspectorOptions::default()
    });
    update(
        &mut app,
        Action::Tick(super::action::Probe {
            now: at(10_000),
            connected: Some(true),
            dropped: 3,
        }),
    );
    update(&mut app, Action::Events(super::fixture::traffic()));
    app
}

#[test]
fn header_shows_bytes_held_and_evicted_at_80_columns() {
    let app = squeezed(80, 24);
    let store = app.inspector.store();
    assert!(store.evicted() > 0 && store.bytes() <= store.max_bytes());
    assert_snapshot!(render(&app));
}

#[test]
fn header_shows_bytes_held_and_evicted_wide() {
    let app = squeezed(160, 8);
    let store = app.inspector.store();
    assert_eq!(store.max_bytes(), 4 << 10);
    let held = format!(
        "{}/4 KiB held",
        bytesize::ByteSize(store.bytes() as u64).display().iec()
    );
    let screen = render(&app);
    assert!(
        format!("{screen:?}").contains(&held),
        "{held} in the header"
    );
    assert_snapshot!(screen);
}

#[test]
fn latencies_below_the_capture_resolution_never_read_as_zero() {
    use gilmour::inspect::{Event, MessageEvent};
    use gilmour::protocol::Channels;
    use std::sync::Arc;
    let read = |at, channel: &str, payload: &str| {
        Event::Message(MessageEvent::read(
            &Channels::default(),
            at,
            channel,
            Arc::from(payload.as_bytes()),
        ))
    };
    let mut app = super::fixture::app(120, 30);
    update(
        &mut app,
        Action::Events(vec![
            read(
                at(100),
                "gilmour.request.fast",
                r#"{"data":1,"code":200,"sender":"s-fast"}"#,
            ),
            read(
                at(100) + chrono::Duration::microseconds(10),
                "gilmour.response.s-fast",
                r#"{"data":1,"code":200,"sender":"gilmour.response.s-fast"}"#,
            ),
        ]),
    );
    let screen = |app: &crate::tui::fixture::App| format!("{:?}", render(app));
    let list = screen(&app);
    assert!(list.contains("<0.05ms"), "{list}");
    update(&mut app, key(KeyCode::Enter));
    let detail = screen(&app);
    assert!(
        detail.contains("latency <0.05ms") && detail.contains("(+<0.05ms)"),
        "{detail}"
    );
    assert!(!list.contains("0.00ms") && !detail.contains("0.00ms"));
}

#[test]
fn topics_at_80_columns_with_orphans_and_topic_less_traces() {
    let mut app = busy(80, 24);
    update(
        &mut app,
        Action::Events(vec![
            super::fixture::reply(9_100, "s-nobody", 200, "1"),
            super::fixture::message(
                9_200,
                "gilmour.errors",
                &super::fixture::go_record("s-go-alone"),
            ),
        ]),
    );
    run(&mut app, Command::ShowTopics);
    assert_snapshot!(render(&app));
}

#[test]
fn a_record_longer_than_its_dialog_scrolls_to_its_end() {
    let mut app = with_errors();
    to_the_queue(&mut app);
    update(&mut app, key(KeyCode::Enter));
    let before = format!("{:?}", render(&app));
    assert!(!before.contains("at main"), "the backtrace's end is below");
    for _ in 0..20 {
        update(&mut app, key(KeyCode::Down));
    }
    assert_snapshot!(render(&app));
}

#[test]
fn unanswered_requests_keep_their_count_in_a_narrow_header() {
    let mut app = super::fixture::app(80, 24);
    update(
        &mut app,
        Action::Events(vec![super::fixture::request(100, "slow", "s-slow", "1")]),
    );
    let header = |app: &crate::tui::fixture::App| {
        let screen = render(app);
        (0..80)
            .map(|x| screen.buffer()[(x, 0)].symbol().to_owned())
            .collect::<String>()
    };
    assert!(!header(&app).contains("unanswered"), "{}", header(&app));
    update(
        &mut app,
        Action::Tick(super::action::Probe {
            now: at(40_000),
            connected: Some(true),
            dropped: 0,
        }),
    );
    assert!(header(&app).contains("1 unanswered"), "{}", header(&app));
}

#[test]
fn a_cell_too_narrow_for_its_text_says_so() {
    let mut app = super::fixture::app(80, 8);
    update(
        &mut app,
        Action::Events(vec![
            super::fixture::request(100, "payments.refunds.partial.eu-west-1.v2", "s-pay", "1"),
            super::fixture::reply(101, "s-pay", 200, "1"),
        ]),
    );
    let screen = format!("{:?}", render(&app));
    assert!(
        screen.contains("payments.refunds.partia…") && !screen.contains("eu-west"),
        "a topic cut at its column's edge could read as another topic: {screen}"
    );
}

#[test]
fn a_detail_line_wider_than_the_screen_says_it_goes_on() {
    let long = format!("\"{}end\"", "x".repeat(100));
    let mut app = super::fixture::app(80, 24);
    update(
        &mut app,
        Action::Events(vec![super::fixture::request(100, "wide", "s-wide", &long)]),
    );
    let app = detail_of(app, "s-wide");
    let screen = render(&app);
    let rows: Vec<String> = (0..24)
        .map(|y| {
            (0..80)
                .map(|x| screen.buffer()[(x, y)].symbol().to_owned())
                .collect()
        })
        .collect();
    let data = rows
        .iter()
        .find(|row| row.starts_with("    \"xxx"))
        .unwrap_or_else(|| panic!("the data line: {rows:#?}"));
    assert!(data.ends_with("x…"), "{data:?}");
    assert!(
        rows.iter()
            .any(|row| row.trim_end().ends_with("\"sender\":\"s-wide\"}")),
        "the raw payload is wrapped whole: {rows:#?}"
    );
}

#[test]
fn the_errors_title_never_cuts_a_channel_name() {
    for width in [140, 80, 60] {
        let app = with_foreign_errors(width, 12);
        let screen = render(&app);
        let title: String = (0..width)
            .map(|x| screen.buffer()[(x, 2)].symbol().to_owned())
            .collect();
        // The time of the load comes last, after the channels.
        let title = title
            .split("   as of")
            .next()
            .unwrap_or_default()
            .trim_end();
        assert!(
            title.ends_with("live on gilmour.error + gilmour.errors: 2")
                || title.ends_with("live: 2"),
            "at {width} columns: {title:?}"
        );
    }
}

#[test]
fn traces_without_a_topic_are_labelled_in_the_list() {
    let mut app = super::fixture::app(100, 8);
    update(
        &mut app,
        Action::Events(vec![
            super::fixture::reply(100, "s-nobody", 200, "1"),
            super::fixture::message(
                200,
                "gilmour.errors",
                &super::fixture::go_record("s-go-alone"),
            ),
        ]),
    );
    assert_snapshot!(render(&app));
}

mod deep;
mod sizes;
mod tree;

#[test]
fn a_narrow_footer_keeps_help_and_quit_and_says_it_left_keys_out() {
    for width in [60, 80] {
        let app = busy(width, 20);
        let screen = render(&app);
        let footer: String = (0..width)
            .map(|x| screen.buffer()[(x, 19)].symbol().to_owned())
            .collect();
        assert!(
            footer.contains("? help") && footer.contains("q quit"),
            "{footer}"
        );
        assert!(footer.contains('…'), "{footer}");
        // Only whole hints: every key shown is followed by its name.
        assert!(!footer.trim_end().ends_with("writ"), "{footer}");
    }
    let wide = render(&busy(220, 20));
    let footer: String = (0..220)
        .map(|x| wide.buffer()[(x, 19)].symbol().to_owned())
        .collect();
    assert!(
        !footer.contains('…'),
        "nothing is left out when it fits: {footer}"
    );
}
