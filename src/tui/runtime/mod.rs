//! Running the app on a real terminal: the event loop that owns the state, the tasks that
//! do its I/O, and the terminal itself.

pub mod event_loop;
pub mod history;
pub mod tasks;
pub mod terminal;

use crate::tui::state::{Settings, State};
use gilmour::engine::Engine;
use gilmour::inspect::deep::{DeepCapture, DeepEvent};
use gilmour::inspect::{Capture, CaptureEvents};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Where the app's traffic and network work come from.
pub struct Sources {
    /// Captured events (live, or read from a file).
    pub events: CaptureEvents,
    /// The live capture, to ask whether it is connected and what it dropped.
    pub capture: Option<Capture>,
    /// The engine that replays, fires and queries Redis; none offline.
    pub engine: Option<Engine>,
    /// The file reader, which says at the end whether it failed.
    pub file: Option<JoinHandle<Option<String>>>,
    /// Deep capture (MONITOR) and its facts, when it is on.
    pub deep: Option<(DeepCapture, mpsc::Receiver<DeepEvent>)>,
    /// How to reach Redis to start deep capture from the app; none offline.
    pub redis: Option<gilmour::transport::RedisConfig>,
}

/// Runs the app on the terminal until the user quits; the terminal is given back however
/// it ends.
pub async fn run(settings: Settings, sources: Sources) -> anyhow::Result<()> {
    let mut state = State::new(settings);
    state.deep = sources.deep.is_some();
    let place = history::place();
    match place.as_deref().map(history::load) {
        Some(Ok(filters)) => state.filter.history = filters,
        // Not an error: the app runs without its history, and says so.
        Some(Err(why)) => state.complain(format!("filter history not read: {why}")),
        None => {}
    }
    // Written each time a filter is applied (by the worker, off the render path).
    state.filter.history_file = place;
    let mut screen = terminal::enter()?;
    let _guard = terminal::Guard;
    event_loop::run(state, &mut screen, sources).await?;
    Ok(())
}
