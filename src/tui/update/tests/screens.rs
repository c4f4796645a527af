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
            entries: crate::tui::fixture::queued(vec![record]),
        }),
    );
    // The live rows come first.
    update(&mut app, key(KeyCode::Down));
    update(&mut app, key(KeyCode::Enter));
    assert!(
        matches!(app.modal, Some(Modal::Record { index: 0, .. })),
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
            entries: crate::tui::fixture::queued(vec!["a".into(), "b".into()]),
        }),
    );
    // Past the live row (weather.group's record) and the queue's first entry.
    update(&mut app, key(KeyCode::Down));
    update(&mut app, key(KeyCode::Down));
    update(&mut app, key(KeyCode::Char('d')));
    assert!(app.effects.is_empty());
    update(&mut app, key(KeyCode::Char('n')));
    assert!(app.modal.is_none() && app.effects.is_empty());
    update(&mut app, key(KeyCode::Char('d')));
    update(&mut app, key(KeyCode::Char('y')));
    assert!(
        matches!(&app.effects[..], [Effect::DeleteError(entry)] if entry.raw == "b"),
        "{:?}",
        app.effects
    );
    app.effects.clear();
    update(&mut app, key(KeyCode::Char('D')));
    update(&mut app, key(KeyCode::Enter));
    assert!(
        matches!(&app.effects[..], [Effect::TrimErrors(entry)] if entry.raw == "b" && entry.index == 1),
        "below the entry under the cursor: {:?}",
        app.effects
    );
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
                    "s",
                    Health::Slow {
                        latency: Duration::from_millis(400),
                        topics: Vec::new(),
                    },
                ),
                host(
                    "f",
                    Health::Failing {
                        latency: Duration::from_millis(2),
                        code: 503,
                        reply: serde_json::json!("database down"),
                    },
                ),
                host(
                    "b",
                    Health::Dead {
                        reason: Dead::NoAnswer(Duration::from_secs(1)),
                    },
                ),
            ],
            listened: Vec::new(),
            nodes: Vec::new(),
        }),
    );
    for _ in 0..3 {
        // Alive, slow or failing, the process answers: its ident stays.
        update(&mut app, key(KeyCode::Char('d')));
        assert!(app.modal.is_none() && app.effects.is_empty());
        update(&mut app, key(KeyCode::Down));
    }
    update(&mut app, key(KeyCode::Char('d')));
    update(&mut app, key(KeyCode::Char('y')));
    assert_eq!(app.effects, [Effect::RemoveIdent("b".into())]);
}

#[test]
fn go_and_ruby_records_find_their_traces_and_name_their_channels() {
    use crate::tui::fixture::{GO_SENDER, RUBY_SENDER, foreign_traffic};
    let mut app = crate::tui::fixture::app(100, 20);
    update(&mut app, Action::Events(foreign_traffic()));
    let store = app.inspector.store();
    let listed: Vec<TraceId> = app.errors.live.iter().map(|live| live.id).collect();
    assert_eq!(
        listed,
        [
            store.by_sender(RUBY_SENDER).expect("the Ruby request"),
            store.by_sender(GO_SENDER).expect("the Go request"),
        ],
        "each record is listed with its request's trace"
    );
    assert_eq!(
        app.errors.live_channels(),
        ["gilmour.error", "gilmour.errors"],
        "both channels are counted, so both are named"
    );
}

#[test]
fn a_go_record_is_not_re_sent_to_a_guessed_topic() {
    use crate::tui::fixture::{GO_SENDER, RUBY_SENDER, go_record, ruby_record};
    let mut app = crate::tui::fixture::app(100, 20);
    update(&mut app, key(KeyCode::Char('3')));
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
    app.effects.clear();
    update(&mut app, key(KeyCode::Char('r')));
    assert!(app.effects.is_empty(), "{:?}", app.effects);
    let status = app.status.as_ref().expect("a reason");
    assert!(
        status.failure && status.text.contains("does not say its topic"),
        "{status:?}"
    );
    update(&mut app, key(KeyCode::Down));
    update(&mut app, key(KeyCode::Char('r')));
    assert!(
        matches!(&app.effects[..], [Effect::Fire(Fire::Request { topic, data, .. }, None)]
            if topic == "users.find" && *data == json!("x")),
        "Ruby's record names its topic under the full channel: {:?}",
        app.effects
    );
}

#[test]
fn traces_without_a_topic_have_rows_of_their_own() {
    use gilmour::inspect::stats::{NO_TOPIC_LABEL, ORPHAN_LABEL};
    let mut app = busy(100, 20);
    update(
        &mut app,
        Action::Events(vec![
            reply(9_100, "s-nobody", 200, "1"),
            crate::tui::fixture::message(
                9_200,
                "gilmour.errors",
                &crate::tui::fixture::go_record("s-go-alone"),
            ),
        ]),
    );
    run(&mut app, Command::ShowTopics);
    let topics: Vec<String> = app
        .topics
        .rows
        .iter()
        .map(|row| row.summary.topic.to_string())
        .collect();
    assert!(!topics.contains(&String::new()), "{topics:?}");
    assert!(
        topics.contains(&ORPHAN_LABEL.to_owned()) && topics.contains(&NO_TOPIC_LABEL.to_owned()),
        "{topics:?}"
    );
    for (label, senders) in [
        (ORPHAN_LABEL, ["s-nobody"]),
        (NO_TOPIC_LABEL, ["s-go-alone"]),
    ] {
        run(&mut app, Command::ShowTopics);
        app.topics.selected = app
            .topics
            .rows
            .iter()
            .position(|row| &*row.summary.topic == label)
            .expect("its row");
        update(&mut app, key(KeyCode::Enter));
        let shown: Vec<String> = shown_senders(&app)
            .into_iter()
            .filter(|sender| !sender.is_empty())
            .collect();
        assert_eq!(shown, senders, "enter on {label} lists its traces");
    }
}

#[test]
fn a_signal_reads_as_a_signal_and_an_orphan_reply_as_a_reply() {
    let mut app = busy(100, 20);
    update(
        &mut app,
        Action::Events(vec![reply(9_500, "s-orphan", 200, "1")]),
    );
    let signal = app.inspector.store().by_sender("s-sig-1").expect("traced");
    open_detail(&mut app, signal);
    let text = crate::tui::fixture::detail_text(&app);
    assert!(text[0].starts_with("#3 slot user.created"), "{text:#?}");
    assert!(
        text.iter()
            .any(|line| line.starts_with("Signal  on gilmour.slot.user.created")),
        "{text:#?}"
    );
    assert!(
        !text.iter().any(|line| line.starts_with("Request")),
        "{text:#?}"
    );
    let orphan = app.inspector.store().by_sender("s-orphan").expect("traced");
    open_detail(&mut app, orphan);
    let text = crate::tui::fixture::detail_text(&app);
    assert!(text[0].contains(" reply "), "{text:#?}");
    let footer = footer(&app);
    assert!(
        !footer.contains("replay") && !footer.contains("copy"),
        "{footer}"
    );
}

/// The footer row as drawn.
fn footer(app: &crate::tui::fixture::App) -> String {
    let screen = crate::tui::fixture::render(app);
    let y = app.size.1 - 1;
    (0..app.size.0)
        .map(|x| screen.buffer()[(x, y)].symbol().to_owned())
        .collect()
}

#[test]
fn offline_the_footer_offers_nothing_that_needs_redis() {
    let mut app = crate::tui::fixture::offline(140, 20);
    update(&mut app, Action::Events(crate::tui::fixture::traffic()));
    let traces = footer(&app);
    assert!(
        traces.contains("y copy"),
        "copying needs no Redis: {traces}"
    );
    for needs_redis in ["r replay", "e edit-replay", "f fire"] {
        assert!(!traces.contains(needs_redis), "{traces}");
    }
    run(&mut app, Command::ShowErrors);
    let errors = footer(&app);
    for needs_redis in ["r resend", "d delete", "D trim", "R refresh"] {
        assert!(!errors.contains(needs_redis), "{errors}");
    }
    run(&mut app, Command::ShowServices);
    let services = footer(&app);
    assert!(
        !services.contains("R refresh") && !services.contains("d delete"),
        "{services}"
    );
}

#[test]
fn esc_after_re_sending_from_errors_goes_back_to_errors() {
    let mut app = busy(100, 20);
    run(&mut app, Command::ShowErrors);
    // The live row of weather.group's error, the first: re-send it.
    run(&mut app, Command::Resend);
    assert!(
        matches!(
            &app.effects[..],
            [Effect::LoadErrors { .. }, Effect::Fire(_, Some(_))]
        ),
        "{:?}",
        app.effects
    );
    update(
        &mut app,
        Action::Done(Done::Sent {
            original: Some(TraceId(2)),
            what: "request weather.group".into(),
            sender: Some("s-resent".into()),
            result: Ok("answered".into()),
        }),
    );
    update(
        &mut app,
        Action::Events(vec![request(9_800, "weather.group", "s-resent", "[1]")]),
    );
    assert_eq!(app.screen, Screen::Traces, "the new trace opens");
    assert!(app.detail.is_some());
    update(&mut app, key(KeyCode::Esc));
    assert_eq!(
        app.screen,
        Screen::Errors,
        "Esc goes back where the user was"
    );
    assert!(app.detail.is_none());
}

#[test]
fn help_stops_at_its_last_page() {
    let mut app = busy(100, 20);
    update(&mut app, key(KeyCode::Char('?')));
    for _ in 0..50 {
        update(&mut app, key(KeyCode::PageDown));
    }
    let Some(Modal::Help { scroll }) = app.modal else {
        panic!("help open");
    };
    let last = crate::tui::view::last_help_scroll(&app);
    assert!(last > 0, "the help is longer than 20 rows");
    assert_eq!(scroll, last);
    update(&mut app, key(KeyCode::Up));
    assert!(
        matches!(app.modal, Some(Modal::Help { scroll }) if scroll == last - 1),
        "one up from the end moves at once"
    );
    let screen = format!("{:?}", crate::tui::fixture::render(&app));
    assert!(
        screen.contains("[confirm]"),
        "the last section shows: {screen}"
    );
}

#[test]
fn the_header_says_why_the_capture_cannot_reconnect() {
    let mut app = busy(120, 20);
    let header = |app: &crate::tui::fixture::App| {
        let screen = crate::tui::fixture::render(app);
        (0..app.size.0)
            .map(|x| screen.buffer()[(x, 0)].symbol().to_owned())
            .collect::<String>()
    };
    update(
        &mut app,
        Action::Events(vec![gilmour::inspect::Event::Lost {
            at: at(9_500),
            reason: "NOAUTH Authentication required.".into(),
        }]),
    );
    let down = header(&app);
    assert!(
        down.contains("reconnecting since")
            && down.contains("NOAUTH: Redis wants a password (redis://:PASSWORD@host)"),
        "{down}"
    );
    let narrow = {
        update(&mut app, Action::Resize(80, 20));
        header(&app)
    };
    assert!(
        narrow.contains("reconnecting since") && narrow.contains("NOAUTH"),
        "{narrow}"
    );
    update(
        &mut app,
        Action::Events(vec![gilmour::inspect::Event::Gap(
            gilmour::inspect::GapEvent {
                since: at(9_500),
                until: at(9_900),
                reason: "NOAUTH Authentication required.".into(),
            },
        )]),
    );
    assert_eq!(app.link_down, None, "back: the reason goes");
}

#[test]
fn while_the_capture_is_away_redis_is_asked_why() {
    let mut app = busy(120, 20);
    update(
        &mut app,
        Action::Tick(Probe {
            now: at(11_000),
            connected: Some(false),
            dropped: 0,
        }),
    );
    assert!(
        app.effects.contains(&Effect::ProbeLink),
        "{:?}",
        app.effects
    );
    app.effects.clear();
    update(
        &mut app,
        Action::Tick(Probe {
            now: at(12_000),
            connected: Some(false),
            dropped: 0,
        }),
    );
    assert!(!app.effects.contains(&Effect::ProbeLink), "one at a time");
    update(
        &mut app,
        Action::Done(Done::LinkProbed(Some(
            "NOAUTH: Authentication required.".into(),
        ))),
    );
    let screen = format!("{:?}", crate::tui::fixture::render(&app));
    assert!(
        screen.contains("○ reconnecting") && screen.contains("NOAUTH: Redis wants a password"),
        "{screen}"
    );
}

#[test]
fn a_topic_of_two_thousand_characters_reads_whole_in_the_detail() {
    let topic: String = (0..2_000)
        .map(|n| char::from(b'a' + (n % 26) as u8))
        .collect();
    let mut app = crate::tui::fixture::app(80, 24);
    update(
        &mut app,
        Action::Events(vec![request(100, &topic, "s-long", "1")]),
    );
    let id = app.inspector.store().by_sender("s-long").expect("traced");
    open_detail(&mut app, id);
    let text = crate::tui::fixture::detail_text(&app);
    let label = "  topic       ";
    let at = text
        .iter()
        .position(|line| line.starts_with(label))
        .unwrap_or_else(|| panic!("a topic field: {text:#?}"));
    let mut read = String::new();
    for line in &text[at..] {
        let Some(part) = line
            .strip_prefix(label)
            .or_else(|| line.strip_prefix(&" ".repeat(label.len())))
        else {
            break;
        };
        assert!(line.chars().count() <= 80, "each line fits: {line}");
        read.push_str(part);
    }
    assert_eq!(read, topic, "all of it, in order");
    assert!(
        text.iter().any(|line| line == "Request"),
        "its channel is too long for the heading too: {:#?}",
        &text[..12]
    );
}

#[test]
fn the_errors_screen_lists_live_records_first_and_refreshes_by_itself() {
    let mut app = busy(100, 20);
    run(&mut app, Command::ShowErrors);
    app.effects.clear();
    let entries: Vec<String> = (0..50)
        .map(|n| crate::tui::fixture::error_record(100 + n, "old.topic", "s-old", 500))
        .collect();
    update(
        &mut app,
        Action::Done(Done::Errors {
            page: 0,
            total: 50,
            entries: crate::tui::fixture::queued(entries),
        }),
    );
    let screen = format!("{:?}", crate::tui::fixture::render(&app));
    let drawn = crate::tui::fixture::render(&app);
    let first_row: String = (0..app.size.0)
        .map(|x| drawn.buffer()[(x, 4)].symbol().to_owned())
        .collect();
    assert!(
        first_row.contains("live") && first_row.contains("weather.group"),
        "the live record is on top, not below 50 queue rows: {first_row}"
    );
    assert!(screen.contains("as of 21:00:10"), "{screen}");
    let tick = |ms| {
        Action::Tick(Probe {
            now: at(ms),
            connected: Some(true),
            dropped: 0,
        })
    };
    update(&mut app, tick(15_000));
    assert!(app.effects.is_empty(), "fresh: {:?}", app.effects);
    update(&mut app, tick(21_000));
    assert_eq!(
        app.effects,
        [Effect::LoadErrors { page: 0 }],
        "stale after 10 s"
    );
    app.effects.clear();
    update(&mut app, tick(22_000));
    assert!(app.effects.is_empty(), "one load at a time");
}

#[test]
fn the_filter_and_its_count_show_only_on_the_list_they_filter() {
    let mut app = busy(120, 20);
    update(&mut app, key(KeyCode::Char('/')));
    type_text(&mut app, "topic:weather*");
    update(&mut app, key(KeyCode::Enter));
    let traces = format!("{:?}", crate::tui::fixture::render(&app));
    assert!(traces.contains("filter topic:weather*") && traces.contains(" shown"));
    run(&mut app, Command::ShowTopics);
    let topics = format!("{:?}", crate::tui::fixture::render(&app));
    assert!(!topics.contains("filter topic:weather*"), "{topics}");
    assert!(
        !topics.contains(" shown ") && !topics.contains("FOLLOW"),
        "{topics}"
    );
    update(&mut app, key(KeyCode::Char('/')));
    assert_eq!(
        app.screen,
        Screen::Traces,
        "typing a filter shows the list it filters"
    );
}

#[test]
fn slow_and_failing_hosts_are_shown_as_such_not_as_alive_or_dead() {
    let mut app = busy(120, 24);
    update(&mut app, key(KeyCode::Char('4')));
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
                    "slow-one",
                    Health::Slow {
                        latency: Duration::from_millis(412),
                        topics: vec!["gilmour.request.echo".to_owned()],
                    },
                ),
                host(
                    "failing-one",
                    Health::Failing {
                        latency: Duration::from_millis(3),
                        code: 503,
                        reply: serde_json::json!({"db": "down"}),
                    },
                ),
            ],
            listened: Vec::new(),
            nodes: Vec::new(),
        }),
    );
    let drawn = format!("{:?}", crate::tui::fixture::render(&app));
    assert!(
        drawn.contains("◐ slow") && drawn.contains("412ms"),
        "{drawn}"
    );
    assert!(
        drawn.contains("▲ failing") && drawn.contains("answered 503"),
        "{drawn}"
    );
    assert!(
        !drawn.contains("alive") && !drawn.contains("dead"),
        "{drawn}"
    );
    update(&mut app, key(KeyCode::Down));
    update(&mut app, key(KeyCode::Enter));
    assert!(matches!(app.modal, Some(Modal::Host { index: 1, .. })));
    let drawn = format!("{:?}", crate::tui::fixture::render(&app));
    assert!(drawn.contains("with code 503"), "{drawn}");
    assert!(
        drawn.contains(r#""db": "down""#),
        "the reply it gave: {drawn}"
    );
}
