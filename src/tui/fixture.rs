//! Test fixtures: an app fed with fixed events (fixed times, senders and time zone), so
//! that snapshots are the same on every machine without redacting anything.

use super::action::{Action, Effect};
use super::keymap::Command;
use super::keymap::KeyMap;
use super::model::Source;
use super::state::{Settings, State};
use super::view;
use chrono::{DateTime, Duration, Offset, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use gilmour::inspect::{Event, GapEvent, InspectorOptions, MessageEvent};
use gilmour::protocol::Channels;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::sync::Arc;

/// The app as the event loop holds it: the state, and the effects it asked for that
/// have not been looked at yet (tests take them with [`App::effects`] or clear them).
pub struct App {
    /// The state.
    pub state: State,
    /// Effects asked for, oldest first.
    pub effects: Vec<Effect>,
}

impl std::ops::Deref for App {
    type Target = State;
    fn deref(&self) -> &State {
        &self.state
    }
}

impl std::ops::DerefMut for App {
    fn deref_mut(&mut self) -> &mut State {
        &mut self.state
    }
}

/// Applies an action, keeping the effects it asks for.
pub fn update(app: &mut App, action: Action) {
    let effects = super::update::update(&mut app.state, action);
    app.effects.extend(effects);
}

/// Runs a command in the current context, keeping the effects it asks for.
pub fn run(app: &mut App, command: Command) {
    let effects = super::update::run(&mut app.state, command);
    app.effects.extend(effects);
}

/// The text of the trace open in detail, as the view draws it.
pub fn detail_text(app: &App) -> Vec<String> {
    app.detail
        .as_ref()
        .and_then(|detail| super::view::document::lines_of(app, detail.id))
        .unwrap_or_default()
        .iter()
        .map(|line| line.text())
        .collect()
}

/// Opens a trace in detail.
pub fn open_detail(app: &mut App, id: gilmour::inspect::TraceId) {
    app.state.open(id);
}

/// The fixtures' epoch: every event is at a fixed offset from it.
pub fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 29, 21, 0, 0)
        .single()
        .unwrap_or_default()
}

/// A time `ms` milliseconds after the epoch.
pub fn at(ms: i64) -> DateTime<Utc> {
    epoch() + Duration::milliseconds(ms)
}

/// An app of `width` × `height`, live, empty.
pub fn app(width: u16, height: u16) -> App {
    with_source(
        width,
        height,
        Source::Live {
            url: "redis://127.0.0.1:6379".to_owned(),
            connected: true,
        },
    )
}

/// An app reading a capture file.
pub fn offline(width: u16, height: u16) -> App {
    with_source(
        width,
        height,
        Source::File {
            path: "capture.jsonl".to_owned(),
            done: false,
        },
    )
}

fn with_source(width: u16, height: u16, source: Source) -> App {
    let state = State::new(Settings {
        source,
        inspector: InspectorOptions::default(),
        channels: Channels::default(),
        redis: None,
        keymap: KeyMap::default(),
        tz: Utc.fix(),
        external_editor: false,
        now: at(10_000),
        size: (width, height),
        notice: None,
        metrics: None,
    });
    App {
        state,
        effects: Vec::new(),
    }
}

/// A message on a channel at `ms`.
pub fn message(ms: i64, channel: &str, payload: &str) -> Event {
    Event::Message(MessageEvent::read(
        &Channels::default(),
        at(ms),
        channel,
        Arc::from(payload.as_bytes()),
    ))
}

/// A request from `sender` on `topic`.
pub fn request(ms: i64, topic: &str, sender: &str, data: &str) -> Event {
    message(
        ms,
        &format!("gilmour.request.{topic}"),
        &format!(r#"{{"data":{data},"code":200,"sender":"{sender}"}}"#),
    )
}

/// The reply to `sender`.
pub fn reply(ms: i64, sender: &str, code: i64, data: &str) -> Event {
    message(
        ms,
        &format!("gilmour.response.{sender}"),
        &format!(r#"{{"data":{data},"code":{code},"sender":"gilmour.response.{sender}"}}"#),
    )
}

/// An error record for `sender`'s request on `topic`, as the publish policy sends it.
pub fn error_record(ms: i64, topic: &str, sender: &str, code: i64) -> String {
    format!(
        r#"{{"topic":"gilmour.request.{topic}","request_data":"{{\"city\":\"Pune\"}}","user_data":"boom","sender":"{sender}","multi_process":false,"timestamp":"{}","backtrace":"at handler\nat main","code":{code}}}"#,
        at(ms).to_rfc3339()
    )
}

/// A little of everything: requests answered, failed and timed out, one pending, a
/// signal, an error record, a gap and a hostile payload.
pub fn traffic() -> Vec<Event> {
    vec![
        request(100, "weather.fetch", "s-fetch-1", r#"{"city":"Pune"}"#),
        reply(
            101,
            "s-fetch-1",
            200,
            r#"{"temp":[21.5,23.0],"ok":true,"note":null}"#,
        ),
        request(200, "weather.group", "s-group-1", "[1,2,3]"),
        reply(215, "s-group-1", 500, r#""division by zero""#),
        message(
            216,
            "gilmour.errors",
            &error_record(216, "weather.group", "s-group-1", 500),
        ),
        message(
            300,
            "gilmour.slot.user.created",
            r#"{"data":{"id":7},"code":200,"sender":"s-sig-1"}"#,
        ),
        Event::Gap(GapEvent {
            since: at(400),
            until: at(3_600),
            reason: "the connection was closed".to_owned(),
        }),
        request(4_000, "echo", "s-echo-1", "\"\\u001b[2J\u{202e}evil\""),
        reply(4_001, "s-echo-1", 200, "\"\\u001b[2J\u{202e}evil\""),
        request(5_000, "slow.thing", "s-slow-1", "null"),
        reply(6_000, "s-slow-1", 499, r#""Execution timed out""#),
        request(9_000, "weather.fetch", "s-fetch-2", r#"{"city":"Oslo"}"#),
    ]
}

/// The app with [`traffic`] in it.
pub fn busy(width: u16, height: u16) -> App {
    let mut app = app(width, height);
    update(&mut app, Action::Events(traffic()));
    app
}

/// Queue entries as a page read them: numbered from 0, the newest.
pub fn queued(raw: Vec<String>) -> Vec<gilmour::inspect::errors::QueuedError> {
    raw.into_iter()
        .enumerate()
        .map(|(index, raw)| {
            gilmour::inspect::errors::QueuedError::read(&Channels::default(), index, raw)
        })
        .collect()
}

/// A key press.
pub fn key(code: KeyCode) -> Action {
    Action::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// The fire form's and the data editor's send key (Enter starts a new line there).
pub fn send() -> Action {
    Action::Key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL))
}

/// Presses a key for each character.
pub fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        update(app, key(KeyCode::Char(c)));
    }
}

/// The app drawn on a test terminal of its size.
pub fn render(app: &State) -> TestBackend {
    let (width, height) = app.size;
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap_or_else(|e| {
        panic!("a test terminal: {e}");
    });
    terminal
        .draw(|frame| view::draw(frame, app, &mut view::Cache::default()))
        .unwrap_or_else(|e| panic!("drawing: {e}"));
    terminal.backend().clone()
}

/// The sender of the Go caller in [`foreign_traffic`].
pub const GO_SENDER: &str = "4f1c9e2a-7b3d-4e8f-a1b2-c3d4e5f6a7b8";

/// The sender of the Ruby caller in [`foreign_traffic`].
pub const RUBY_SENDER: &str = "9a8b7c6d5e4f30211203948576abcdef";

/// An error record as gilmour-e-go builds it: fields scrambled, the reply channel as sender.
pub fn go_record(sender: &str) -> String {
    format!(
        r#"{{"topic":"{{\"data\":\"boom\",\"code\":500,\"sender\":\"gilmour.response.{sender}\"}}","request_data":"","user_data":"gilmour.response.{sender}","sender":"gilmour.response.{sender}","multi_process":false,"timestamp":"2026-12-01T19:08:39Z","backtrace":"","code":500}}"#
    )
}

/// An error record as Ruby gilmour publishes it on `gilmour.error`: enveloped, the reply
/// in `backtrace`, a timestamp that is not RFC 3339.
pub fn ruby_record(topic: &str, sender: &str) -> String {
    format!(
        r#"{{"data":{{"backtrace":"no such user","code":500,"topic":"gilmour.request.{topic}","request_data":"x","userdata":"{{}}","sender":"{sender}","multi_process":false,"timestamp":"2026-12-01 19:05:47 UTC"}},"code":0,"sender":"0123456789abcdef0123456789abcdef"}}"#
    )
}

/// A Go caller and a Ruby caller failing, each with its error record as its library
/// sends it.
pub fn foreign_traffic() -> Vec<Event> {
    vec![
        message(
            100,
            "gilmour.request.users.find",
            &format!(r#"{{"data":"x","code":0,"sender":"{RUBY_SENDER}"}}"#),
        ),
        reply(120, RUBY_SENDER, 500, "\"no such user\""),
        message(
            121,
            "gilmour.error",
            &ruby_record("users.find", RUBY_SENDER),
        ),
        request(200, "billing.charge", GO_SENDER, r#"{"cents":120}"#),
        reply(230, GO_SENDER, 500, "\"boom\""),
        message(231, "gilmour.errors", &go_record(GO_SENDER)),
    ]
}

/// Traces that say more than their status: an answer after the caller's timeout, a
/// spurious timeout notice after success, a payload cut short, an envelope that does not
/// parse.
pub fn notable_traffic() -> Vec<Event> {
    let deep = format!(
        r#"{{"sender":"s-deep","code":200,"data":{}{}}}"#,
        "[".repeat(130),
        "]".repeat(130)
    );
    let big = format!(
        r#"{{"data":"{}","code":200,"sender":"s-big"}}"#,
        "x".repeat(70_000)
    );
    vec![
        request(100, "users.get", "s-late", r#"{"id":7}"#),
        reply(1_100, "s-late", 499, r#""Execution timed out""#),
        reply(1_600, "s-late", 200, r#"{"name":"Ann"}"#),
        request(2_000, "users.get", "s-spur", r#"{"id":8}"#),
        reply(2_002, "s-spur", 200, r#"{"name":"Bo"}"#),
        reply(3_000, "s-spur", 499, r#""Execution timed out""#),
        message(4_000, "gilmour.request.upload.put", &big),
        reply(4_010, "s-big", 200, "true"),
        message(5_000, "gilmour.request.echo", &deep),
        reply(5_001, "s-deep", 200, "null"),
    ]
}

/// The app with [`notable_traffic`] in it.
pub fn notable(width: u16, height: u16) -> App {
    let mut app = app(width, height);
    update(&mut app, Action::Events(notable_traffic()));
    app
}
