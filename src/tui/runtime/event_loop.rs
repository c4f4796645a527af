//! The event loop: one task owns the state. It waits on terminal input, batches of
//! captured events (`recv_many`), results of background work and a one-second tick; each
//! becomes an [`Action`] for `update`. It draws only when something changed, and at most
//! [`FPS`] times a second, however fast events arrive.

use super::Sources;
use super::tasks::Worker;
use super::terminal::{self, Screen};
use crate::tui::action::{Action, Done, Effect, Failure, Probe};
use crate::tui::state::State;
use crate::tui::update::update;
use crate::tui::view::{self, Cache};
use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use futures_util::StreamExt;
use gilmour::inspect::Event;
use gilmour::inspect::deep::{DEFAULT_DEEP_BUFFER, DeepCapture};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior, interval, sleep_until};

/// The most frames per second.
pub const FPS: u32 = 30;
/// How many captured events one action carries at most.
const BATCH: usize = 4096;

/// Runs until the user quits.
pub async fn run(mut app: State, screen: &mut Screen, sources: Sources) -> anyhow::Result<State> {
    let Sources {
        mut events,
        capture,
        engine,
        file,
        deep,
        redis,
    } = sources;
    let (mut deep_capture, mut deep_events) = match deep {
        Some((capture, events)) => (Some(capture), Some(events)),
        None => (None, None),
    };
    // Deep capture started from the app arrives here: its MONITOR probe talks to Redis,
    // which must never hold the screen.
    let (deep_tx, mut deep_started) = mpsc::unbounded_channel();
    let mut deep_batch = Vec::with_capacity(BATCH);
    let mut file = file;
    let (results_tx, mut results) = mpsc::unbounded_channel::<Done>();
    let shutdown = engine.clone();
    let failed = results_tx.clone();
    let history = super::history::Writer::start(move |error| {
        let _ = failed.send(Done::Failed(
            Failure::Status,
            format!("filter history not written: {error}"),
        ));
    })?;
    let worker = Worker::new(engine, results_tx);
    let mut input = EventStream::new();
    let mut ticker = interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let frame = Duration::from_secs(1) / FPS;
    let mut last_draw = Instant::now() - frame;
    let mut cache = Cache::default();
    let mut batch: Vec<Event> = Vec::with_capacity(BATCH);
    let mut events_open = true;
    let size = screen.size()?;
    let mut effects = update(&mut app, Action::Resize(size.width, size.height));
    // `kill` or a closed terminal must still give the terminal back: they end the loop
    // like `q` does.
    let stop = terminated();
    tokio::pin!(stop);

    while !app.quit {
        if app.dirty && last_draw.elapsed() >= frame {
            screen.draw(|frame| view::draw(frame, &app, &mut cache))?;
            app.dirty = false;
            last_draw = Instant::now();
        }
        let action = tokio::select! {
            input = input.next() => match input {
                Some(Ok(event)) => match terminal_action(event) {
                    Some(action) => action,
                    None => continue,
                },
                Some(Err(error)) => return Err(error.into()),
                None => break,
            },
            received = events.recv_many(&mut batch, BATCH), if events_open => {
                if received > 0 {
                    Action::Events(std::mem::take(&mut batch))
                } else {
                    events_open = false;
                    match file.take() {
                        Some(reader) => Action::FileDone(reader.await.unwrap_or_else(|error| Some(error.to_string()))),
                        None => Action::Done(Done::Failed(Failure::Status, "the capture stopped".to_owned())),
                    }
                }
            },
            received = gilmour::inspect::deep::next_batch(deep_events.as_mut(), &mut deep_batch, BATCH) => {
                if received == 0 {
                    deep_events = None;
                    continue;
                }
                Action::Deep(std::mem::take(&mut deep_batch))
            },
            Some(done) = results.recv() => Action::Done(done),
            Some(started) = deep_started.recv() => match started {
                Ok((capture, events)) => {
                    deep_capture = Some(capture);
                    deep_events = Some(events);
                    Action::Done(Done::Deep(Ok(true)))
                }
                Err(why) => Action::Done(Done::Deep(Err(why))),
            },
            _ = ticker.tick() => Action::Tick(Probe {
                now: chrono::Utc::now(),
                connected: capture.as_ref().map(|capture| capture.is_connected()),
                dropped: capture.as_ref().map_or(0, |capture| capture.dropped()),
            }),
            () = sleep_until(last_draw + frame), if app.dirty => continue,
            () = &mut stop => break,
        };
        effects.extend(update(&mut app, action));
        // Carrying out an effect can make more (an edit ends in a replay).
        while !effects.is_empty() {
            for effect in std::mem::take(&mut effects) {
                match effect {
                    Effect::Repaint => {
                        if let Err(error) = terminal::repaint(screen) {
                            app.complain(format!("cannot repaint: {error}"));
                        }
                        app.dirty = true;
                    }
                    Effect::Copy(text) => {
                        if let Err(error) = terminal::copy(&text) {
                            app.complain(format!("cannot copy: {error}"));
                        }
                    }
                    Effect::Edit { original, text } => {
                        let editor = std::env::var("EDITOR").unwrap_or_else(|_| "vi".to_owned());
                        // The input stream would read the keys meant for the editor.
                        drop(input);
                        let done = match terminal::edit(screen, &editor, &text) {
                            Ok(text) => Done::Edited { original, text },
                            Err(why) => Done::Failed(Failure::Status, why),
                        };
                        input = EventStream::new();
                        app.dirty = true;
                        effects.extend(update(&mut app, Action::Done(done)));
                    }
                    Effect::Deep(true) if deep_capture.is_none() => match &redis {
                        Some(redis) => {
                            let (redis, channels, tx) =
                                (redis.clone(), app.channels.clone(), deep_tx.clone());
                            tokio::spawn(async move {
                                let started =
                                    DeepCapture::start(redis, channels, DEFAULT_DEEP_BUFFER)
                                        .await
                                        .map_err(|error| error.to_string());
                                let _ = tx.send(started);
                            });
                        }
                        None => effects.extend(update(
                            &mut app,
                            Action::Done(Done::Deep(Err("no Redis to monitor".to_owned()))),
                        )),
                    },
                    Effect::Deep(on) => {
                        if !on {
                            // Dropping it closes its connection: MONITOR stops.
                            deep_capture = None;
                            deep_events = None;
                        }
                        let on = deep_capture.is_some();
                        effects.extend(update(&mut app, Action::Done(Done::Deep(Ok(on)))));
                    }
                    Effect::SaveHistory { path, filters } => history.save(path, filters),
                    other => worker.start(other),
                }
            }
        }
    }
    // What was applied last is on disk before the app ends.
    let _ = tokio::task::spawn_blocking(move || history.finish()).await;
    if let Some(capture) = capture {
        capture.close().await;
    }
    if let Some(engine) = shutdown {
        // Nothing is served: this only closes the connections.
        let _ = engine.shutdown().await;
    }
    Ok(app)
}

fn terminal_action(event: TermEvent) -> Option<Action> {
    match event {
        TermEvent::Key(key) if key.kind != KeyEventKind::Release => Some(Action::Key(key)),
        TermEvent::Mouse(mouse) => Some(Action::Mouse(mouse)),
        TermEvent::Paste(text) => Some(Action::Paste(text)),
        TermEvent::Resize(width, height) => Some(Action::Resize(width, height)),
        _ => None,
    }
}

/// Waits for SIGTERM or SIGHUP (Ctrl-C is a key in raw mode, bound to quit). Installed at
/// once, so a signal that comes before the first poll is not met by its default action.
fn terminated() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let terminate = signal(SignalKind::terminate());
    let hangup = signal(SignalKind::hangup());
    async move {
        match (terminate, hangup) {
            (Ok(mut terminate), Ok(mut hangup)) => {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = hangup.recv() => {}
                }
            }
            // Without signal handlers the default actions stay; nothing to wait for.
            _ => std::future::pending().await,
        }
    }
}
