//! Every screen at the four sizes an operator's terminal is likely to have: a big
//! monitor (160×45), a laptop half (100×30), the classic 80×24 and a small split (60×15).
//! Columns give way by priority; none of these may lose the topic or cut the tabs.

use crate::tui::action::{Action, Done};
use crate::tui::fixture::{App, at, busy, error_record, open_detail, render, reply, request};
use crate::tui::fixture::{run, update};
use crate::tui::keymap::Command;
use gilmour::inspect::services::{Dead, Health, Host};
use std::time::Duration;

const SIZES: [(u16, u16); 4] = [(160, 45), (100, 30), (80, 24), (60, 15)];

/// Hosts as the demo's services report them: long idents, the request channels they
/// serve.
fn hosts() -> Done {
    let ident = |n: u32| format!("vm-pid-18059-uuid-2c6de4e4-9e95-472e-8c58-03a1b2c3d4e{n}");
    let topics = [
        "echo",
        "weather.fetch",
        "weather.group",
        "example.popular5",
        "event.level.completed",
    ];
    Done::Services {
        hosts: vec![
            Host {
                ident: ident(1),
                value: "true".to_owned(),
                health: Health::Alive {
                    latency: Duration::from_micros(2_610),
                    topics: topics
                        .iter()
                        .map(|topic| format!("gilmour.request.{topic}"))
                        .collect(),
                },
            },
            Host {
                ident: ident(2),
                value: "true".to_owned(),
                health: Health::Slow {
                    latency: Duration::from_millis(412),
                    topics: vec!["gilmour.request.echo".to_owned()],
                },
            },
            Host {
                ident: ident(3),
                value: "true".to_owned(),
                health: Health::Failing {
                    latency: Duration::from_millis(3),
                    code: 503,
                    reply: serde_json::json!("database down"),
                },
            },
            Host {
                ident: ident(4),
                value: "active".to_owned(),
                health: Health::Dead {
                    reason: Dead::NoListener,
                },
            },
        ],
        listened: topics
            .iter()
            .map(|topic| (format!("gilmour.request.{topic}"), 1))
            .collect(),
        nodes: cluster(),
    }
}

fn screen(width: u16, height: u16, which: &str) -> App {
    let mut app = busy(width, height);
    match which {
        "traces" => {}
        "detail" => {
            let id = app
                .inspector
                .store()
                .by_sender("s-group-1")
                .expect("traced");
            open_detail(&mut app, id);
        }
        "topics" => run(&mut app, Command::ShowTopics),
        "latency" => {
            // Latencies to draw: weather.fetch answered 20 more times, 1 to 20 ms.
            let events = (1..=20).flat_map(|n| {
                let sender = format!("s-more-{n}");
                [
                    request(9_100 + n * 20, "weather.fetch", &sender, "1"),
                    reply(9_100 + n * 21, &sender, 200, "2"),
                ]
            });
            update(&mut app, Action::Events(events.collect()));
            app.now = at(10_500);
            run(&mut app, Command::ShowTopics);
            run(&mut app, Command::Latency);
        }
        "diff" => {
            // weather.fetch replayed: the same code, other data.
            let original = app
                .inspector
                .store()
                .by_sender("s-fetch-1")
                .expect("traced");
            app.links.expect("s-fetch-3", Some(original), false);
            let events = vec![
                request(9_500, "weather.fetch", "s-fetch-3", r#"{"city":"Pune"}"#),
                reply(
                    9_502,
                    "s-fetch-3",
                    200,
                    r#"{"temp":[21.5,24.0],"ok":true,"note":"cached"}"#,
                ),
            ];
            update(&mut app, Action::Events(events));
            let replay = app
                .inspector
                .store()
                .by_sender("s-fetch-3")
                .expect("traced");
            open_detail(&mut app, replay);
            let text = crate::tui::fixture::detail_text(&app);
            let heading = text
                .iter()
                .position(|line| line.starts_with("Reply against"))
                .expect("a diff");
            if let Some(detail) = &mut app.detail {
                detail.scroll = heading;
            }
        }
        "replay" => {
            let id = app.inspector.store().by_sender("s-echo-1").expect("traced");
            open_detail(&mut app, id);
            run(&mut app, Command::ReplayOptions);
        }
        "errors" => {
            run(&mut app, Command::ShowErrors);
            update(
                &mut app,
                Action::Done(Done::Errors {
                    page: 0,
                    total: 1,
                    entries: crate::tui::fixture::queued(vec![error_record(
                        9_000,
                        "billing.charge",
                        "s-bill-9",
                        503,
                    )]),
                }),
            );
        }
        "services" => {
            run(&mut app, Command::ShowServices);
            update(&mut app, Action::Done(hosts()));
        }
        other => panic!("no screen {other}"),
    }
    app
}

#[test]
fn every_screen_at_every_size() {
    for which in [
        "traces", "detail", "diff", "replay", "topics", "latency", "errors", "services",
    ] {
        for (width, height) in SIZES {
            let app = screen(width, height, which);
            insta::with_settings!({filters => vec![(r#"(?m)\d+(?:\.\d+)? (?:B|KiB|MiB)/256 MiB held([^"\n]*?) *"$"#, r#"[bytes]/256 MiB held$1""#)]}, {
                insta::assert_snapshot!(format!("{which}_{width}x{height}"), render(&app));
            });
        }
    }
}

#[test]
fn enter_on_a_host_shows_its_ident_and_what_it_serves_whole() {
    use crate::tui::fixture::key;
    use crate::tui::state::modal::Modal;
    use crossterm::event::KeyCode;
    let mut app = screen(80, 24, "services");
    update(&mut app, key(KeyCode::Enter));
    assert!(matches!(app.modal, Some(Modal::Host { index: 0, .. })));
    let drawn = format!("{:?}", render(&app));
    assert!(
        drawn.contains("vm-pid-18059-uuid-2c6de4e4-9e95-472e-8c58-03a1b2c3d4e1"),
        "the ident whole: {drawn}"
    );
    assert!(
        drawn.contains("gilmour.request.event.level.completed"),
        "{drawn}"
    );
    insta::with_settings!({filters => vec![(r"\d+(?:\.\d+)? (?:B|KiB|MiB)/256 MiB held", "[bytes]/256 MiB held")]}, {
        insta::assert_snapshot!(render(&app));
    });
    update(&mut app, key(KeyCode::Esc));
    assert!(app.modal.is_none());
}

/// A multi-line JSON, one comma short on its fifth line: more lines than the smaller
/// screens have rows for the data.
const PASTED: &str = "{\n  \"city\": \"Pune\",\n  \"days\": [\n    1,\n    2\n    3\n  ],\n  \"note\": \"日本語 and 🙂\"\n}";

#[test]
fn the_data_editor_at_every_size() {
    use crate::tui::fixture::key;
    use crossterm::event::KeyCode;
    for (width, height) in SIZES {
        let mut app = busy(width, height);
        update(&mut app, key(KeyCode::Char('f')));
        crate::tui::fixture::type_text(&mut app, "weather.fetch");
        update(&mut app, key(KeyCode::Down));
        update(&mut app, Action::Paste(PASTED.to_owned()));
        update(&mut app, key(KeyCode::Up));
        let drawn = render(&app);
        insta::with_settings!({filters => vec![(r#"(?m)\d+(?:\.\d+)? (?:B|KiB|MiB)/256 MiB held([^"\n]*?) *"$"#, r#"[bytes]/256 MiB held$1""#)]}, {
            insta::assert_snapshot!(format!("fire_data_{width}x{height}"), drawn);
        });
        let mut app = busy(width, height);
        update(&mut app, key(KeyCode::Char('e')));
        update(&mut app, key(KeyCode::Delete));
        update(&mut app, Action::Paste(PASTED.to_owned()));
        insta::with_settings!({filters => vec![(r#"(?m)\d+(?:\.\d+)? (?:B|KiB|MiB)/256 MiB held([^"\n]*?) *"$"#, r#"[bytes]/256 MiB held$1""#)]}, {
            insta::assert_snapshot!(format!("edit_data_{width}x{height}"), render(&app));
        });
    }
}

#[test]
fn the_terminal_cursor_stands_after_wide_characters() {
    use crate::tui::fixture::key;
    use crossterm::event::KeyCode;
    use ratatui::backend::Backend as _;
    let mut app = busy(80, 24);
    update(&mut app, key(KeyCode::Char('f')));
    crate::tui::fixture::type_text(&mut app, "echo");
    update(&mut app, key(KeyCode::Down));
    update(&mut app, Action::Paste("[\n\"日本🙂\"".to_owned()));
    let mut drawn = render(&app);
    let buffer = drawn.buffer().clone();
    // Where the data's second line is drawn: the cell of its opening quote.
    let (x, y) = (0..buffer.area.height)
        .flat_map(|y| (0..buffer.area.width).map(move |x| (x, y)))
        .find(|&(x, y)| buffer[(x, y)].symbol() == "\"" && buffer[(x + 1, y)].symbol() == "日")
        .expect("the second line is drawn");
    // Two columns for each of 日, 本 and 🙂, one for each quote.
    let cursor = drawn.get_cursor_position().expect("a cursor");
    assert_eq!((cursor.x, cursor.y), (x + 8, y));
}

/// Three primaries and their replicas, one of them failed.
fn cluster() -> Vec<gilmour::transport::cluster::Node> {
    use gilmour::transport::cluster::{Node, Role};
    let node = |n: u16, role: Role, failed: bool, slots: usize| Node {
        id: format!("{n:040}"),
        address: format!("127.0.0.1:{}", 7000 + n),
        role,
        primary: (role == Role::Replica).then(|| format!("{:040}", n - 3)),
        failed,
        slots,
    };
    vec![
        node(1, Role::Primary, false, 5461),
        node(2, Role::Primary, false, 5462),
        node(3, Role::Primary, false, 5461),
        node(4, Role::Replica, false, 0),
        node(5, Role::Replica, true, 0),
        node(6, Role::Replica, false, 0),
    ]
}
