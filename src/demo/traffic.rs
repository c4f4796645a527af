//! The traffic generator: requests, signals and the two compositions, one at a time at
//! an adjustable rate, so that the inspector always has something to show.
//!
//! Each action runs in its own task, so a slow one (a flaky timeout) never holds up the
//! next; at most [`MAX_IN_FLIGHT`] run at once, and beyond that actions are skipped.

use super::{games, weather, wordcount};
use crate::compose::{Composition, ExecuteOptions, ParseError, parse};
use crate::engine::{Engine, RequestOptions};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Actions running at once beyond which the generator skips its turn.
const MAX_IN_FLIGHT: usize = 32;
/// How long a generated request or composition step may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest pause between two actions, whatever the rate.
const LONGEST_PAUSE: Duration = Duration::from_secs(60);

/// What the generator does on one turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Echo,
    Log,
    GameEvent,
    WordCount,
    Weather,
    Flaky,
}

/// The turns, in order, over and over: events are the most frequent, compositions the
/// least.
const PLAN: &[Action] = &[
    Action::Echo,
    Action::GameEvent,
    Action::WordCount,
    Action::Log,
    Action::Flaky,
    Action::GameEvent,
    Action::Weather,
    Action::Echo,
    Action::GameEvent,
    Action::Flaky,
];

/// A running traffic generator.
pub struct Traffic {
    rate: watch::Sender<f64>,
    fired: Arc<AtomicU64>,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

struct Generator {
    engine: Engine,
    word_count: Composition,
    weather: Composition,
    fired: Arc<AtomicU64>,
    tracker: TaskTracker,
}

impl Traffic {
    /// Starts generating on `engine` at `per_second` actions a second (0 pauses).
    pub fn start(engine: Engine, per_second: f64) -> Result<Traffic, ParseError> {
        let fired = Arc::new(AtomicU64::new(0));
        let generator = Generator {
            engine,
            word_count: parse(wordcount::WORD_COUNT)?,
            weather: parse(weather::WEATHER)?,
            fired: fired.clone(),
            tracker: TaskTracker::new(),
        };
        let (rate, rates) = watch::channel(sane(per_second));
        let stop = CancellationToken::new();
        let task = tokio::spawn(generator.run(rates, stop.clone()));
        Ok(Traffic {
            rate,
            fired,
            stop,
            task,
        })
    }

    /// Changes the rate, in actions a second, at once (0 pauses).
    pub fn set_rate(&self, per_second: f64) {
        self.rate.send_replace(sane(per_second));
    }

    /// The rate, in actions a second.
    pub fn rate(&self) -> f64 {
        *self.rate.borrow()
    }

    /// How many actions have been started.
    pub fn fired(&self) -> u64 {
        self.fired.load(Ordering::Relaxed)
    }

    /// Stops generating and waits for the actions still running.
    pub async fn stop(self) {
        self.stop.cancel();
        // The task only ends by being stopped, after its actions finished.
        let _ = self.task.await;
    }
}

/// A usable rate: not negative, not NaN.
fn sane(per_second: f64) -> f64 {
    if per_second.is_finite() && per_second > 0.0 {
        per_second
    } else {
        0.0
    }
}

impl Generator {
    async fn run(self, mut rates: watch::Receiver<f64>, stop: CancellationToken) {
        let mut turn = 0_u64;
        loop {
            let rate = *rates.borrow_and_update();
            let pause = if rate > 0.0 {
                Duration::from_secs_f64(1.0 / rate).min(LONGEST_PAUSE)
            } else {
                LONGEST_PAUSE
            };
            tokio::select! {
                () = stop.cancelled() => break,
                // A new rate applies at once; paused, only a new rate wakes us.
                changed = rates.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    continue;
                }
                () = tokio::time::sleep(pause), if rate > 0.0 => {}
            }
            if self.tracker.len() < MAX_IN_FLIGHT {
                let action = PLAN[(turn % PLAN.len() as u64) as usize];
                self.tracker.spawn(self.fire(action, turn));
                self.fired.fetch_add(1, Ordering::Relaxed);
            }
            turn += 1;
        }
        self.tracker.close();
        self.tracker.wait().await;
    }

    fn fire(&self, action: Action, turn: u64) -> impl Future<Output = ()> + Send + 'static {
        let engine = self.engine.clone();
        let word_count = self.word_count.clone();
        let weather = self.weather.clone();
        async move {
            let options = RequestOptions::timeout(CALL_TIMEOUT);
            let steps = ExecuteOptions::step_timeout(CALL_TIMEOUT);
            let failed = match action {
                Action::Echo => engine
                    .request("echo", format!("Hello: {turn}"), options)
                    .await
                    .err(),
                Action::Flaky => engine
                    .request("example.flaky", json!({"n": turn}), options)
                    .await
                    .err(),
                Action::Log => engine
                    .signal("example.log", json!({"message": "tick", "n": turn}))
                    .await
                    .err(),
                Action::GameEvent => {
                    let topic = games::EVENTS[(turn % games::EVENTS.len() as u64) as usize];
                    engine.signal(topic, games::event_data(turn)).await.err()
                }
                Action::WordCount => {
                    let url = "https://en.wikipedia.org/wiki/Gettysburg_Address";
                    word_count.execute(&engine, json!(url), steps).await;
                    None
                }
                Action::Weather => {
                    weather
                        .execute(&engine, json!({"region": "world"}), steps)
                        .await;
                    None
                }
            };
            if let Some(error) = failed {
                tracing::debug!(%error, ?action, "generated traffic failed");
            }
        }
    }
}
