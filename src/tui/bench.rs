//! `gilmour bench render`: how long a frame takes with a full store while traffic
//! arrives. The app is filled with a million request/reply traces, then, frame by frame,
//! each frame's share of the arrival rate is taken in (one `recv_many` batch, as live)
//! and the screen is drawn on a `TestBackend` of a real terminal's size: the same
//! `update` and `view` code as the app, without a tty to write to.

use super::action::Action;
use super::keymap::{Command, KeyMap};
use super::model::Source;
use super::runtime::event_loop::FPS;
use super::state::{Settings, State};
use super::update::{run, update};
use super::view;
use chrono::{DateTime, Duration as Span, Offset, Utc};
use gilmour::inspect::{Event, InspectorOptions, MessageEvent};
use gilmour::protocol::Channels;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What to measure.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Traces in the store before measuring.
    pub traces: usize,
    /// Events per second arriving while measuring.
    pub rate: usize,
    /// Frames measured per scenario.
    pub frames: usize,
    /// The terminal's size.
    pub size: (u16, u16),
}

/// The figures of one scenario, in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    /// What was on screen.
    pub scenario: &'static str,
    /// Taking in one frame's events (update), mean.
    pub update_mean_ms: f64,
    /// Drawing one frame, median.
    pub draw_p50_ms: f64,
    /// Drawing one frame, 99th percentile.
    pub draw_p99_ms: f64,
    /// Update and draw of the slowest frame.
    pub frame_max_ms: f64,
}

/// Everything one run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Traces in the store.
    pub traces: usize,
    /// Events per second arriving.
    pub rate: usize,
    /// Events taken in per frame.
    pub events_per_frame: usize,
    /// Seconds it took to fill the store.
    pub fill_seconds: f64,
    /// Per scenario.
    pub scenarios: Vec<Figures>,
}

/// Makes request/reply pairs on 50 topics, one payload shared by all.
struct Traffic {
    channels: Channels,
    start: DateTime<Utc>,
    request: Arc<[u8]>,
    next: u64,
}

impl Traffic {
    fn pair(&mut self) -> [Event; 2] {
        let n = self.next;
        self.next += 1;
        let at = self.start + Span::microseconds(i64::try_from(n * 100).unwrap_or(i64::MAX));
        let sender = format!("bench-{n:016x}");
        let topic = format!("gilmour.request.topic-{}", n % 50);
        let mut request = MessageEvent::read(&self.channels, at, &topic, self.request.clone());
        // One payload serves every request; the sender that ties each pair is set here.
        request.sender = Arc::from(sender.as_str());
        let reply_payload = format!(r#"{{"data":{{"n":{n}}},"code":200,"sender":"x"}}"#);
        let reply = MessageEvent::read(
            &self.channels,
            at + Span::microseconds(40),
            &format!("gilmour.response.{sender}"),
            Arc::from(reply_payload.into_bytes()),
        );
        [Event::Message(request), Event::Message(reply)]
    }
}

/// Fills an app and measures its frames.
pub fn measure(options: Options) -> Report {
    let start = Utc::now();
    let mut app = State::new(Settings {
        source: Source::Live {
            url: "redis://bench".to_owned(),
            connected: true,
        },
        inspector: InspectorOptions {
            capacity: options.traces,
            // The render benchmark measures drawing a full store, not eviction by bytes.
            max_memory: usize::MAX,
            ..InspectorOptions::default()
        },
        channels: Channels::default(),
        redis: None,
        keymap: KeyMap::default(),
        tz: Utc.fix(),
        external_editor: false,
        now: start,
        size: options.size,
        notice: None,
        metrics: None,
    });
    let mut traffic = Traffic {
        channels: Channels::default(),
        start,
        request: Arc::from(
            &br#"{"data":{"city":"Pune","days":[1,2,3],"units":"metric"},"code":200,"sender":"x"}"#
                [..],
        ),
        next: 0,
    };
    let filling = Instant::now();
    let mut batch = Vec::with_capacity(8192);
    for _ in 0..options.traces {
        batch.extend(traffic.pair());
        if batch.len() >= 8192 {
            update(&mut app, Action::Events(std::mem::take(&mut batch)));
        }
    }
    update(&mut app, Action::Events(batch));
    let fill_seconds = filling.elapsed().as_secs_f64();

    let events_per_frame = (options.rate / FPS as usize).max(2);
    let (width, height) = options.size;
    let mut terminal = match Terminal::new(TestBackend::new(width, height)) {
        Ok(terminal) => terminal,
        Err(never) => match never {},
    };
    let mut scenarios = Vec::new();
    let mut cache = view::Cache::default();
    let mut frames = |app: &mut State, scenario| {
        let mut updates = Vec::with_capacity(options.frames);
        let mut draws = Vec::with_capacity(options.frames);
        for _ in 0..options.frames {
            let events: Vec<Event> = (0..events_per_frame / 2)
                .flat_map(|_| traffic.pair())
                .collect();
            let began = Instant::now();
            update(app, Action::Events(events));
            let updated = began.elapsed();
            let began = Instant::now();
            let _ = terminal.draw(|frame| view::draw(frame, app, &mut cache));
            draws.push(began.elapsed());
            updates.push(updated);
        }
        scenarios.push(figures(scenario, &updates, &draws));
    };
    frames(&mut app, "traces, following");
    run(&mut app, Command::Down);
    frames(&mut app, "traces, scrolled");
    run(&mut app, Command::Bottom);
    frames(&mut app, "traces, at the oldest");
    let filter = "topic:topic-7 or code:>=500";
    if let Ok(parsed) = filter.parse() {
        app.apply_filter(filter.to_owned(), parsed);
    }
    frames(&mut app, "traces, filtered");
    run(&mut app, Command::ShowTopics);
    frames(&mut app, "topics");
    run(&mut app, Command::ShowTraces);
    app.apply_filter(String::new(), gilmour::inspect::Filter::all());
    run(&mut app, Command::Sort);
    frames(&mut app, "traces, sorted by latency");
    Report {
        traces: options.traces,
        rate: options.rate,
        events_per_frame,
        fill_seconds,
        scenarios,
    }
}

fn figures(scenario: &'static str, updates: &[Duration], draws: &[Duration]) -> Figures {
    let ms = |duration: &Duration| duration.as_secs_f64() * 1000.0;
    let mut sorted: Vec<f64> = draws.iter().map(ms).collect();
    sorted.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
        sorted.get(index).copied().unwrap_or(0.0)
    };
    let frame_max = updates
        .iter()
        .zip(draws)
        .map(|(update, draw)| ms(update) + ms(draw))
        .fold(0.0, f64::max);
    Figures {
        scenario,
        update_mean_ms: updates.iter().map(ms).sum::<f64>() / updates.len().max(1) as f64,
        draw_p50_ms: at(0.5),
        draw_p99_ms: at(0.99),
        frame_max_ms: frame_max,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_small_run_measures_every_scenario() {
        let report = super::measure(super::Options {
            traces: 2_000,
            rate: 10_000,
            frames: 3,
            size: (160, 45),
        });
        assert_eq!(report.scenarios.len(), 6);
        assert_eq!(report.events_per_frame, 333);
    }
}
