//! The terminal app: watch Gilmour traffic live (or from a capture file), filter it, open
//! a trace, replay it, fire requests, signals and compositions, read the error queue and
//! see which services are alive. The only module that knows ratatui and crossterm.
//!
//! ```text
//!  crossterm EventStream ─┐
//!  Capture ─recv_many─────┼─▶ event_loop ─Action─▶ update(&mut App) ─Effect─▶ tasks (Redis, disk)
//!  tasks ─Done────────────┘        │                                              │
//!                                  └─ view::draw(&App), only when dirty, ≤ 30/s   └─Done─▶ loop
//! ```
//!
//! [`app`] is the state, [`action`] what changes it, [`update`] the transitions (no I/O),
//! [`view`] one module per screen region (pure), [`keymap`] the named commands with their
//! keys (and the help is made from it).

pub mod action;
pub mod app;
pub mod bench;
pub mod detail;
pub mod event_loop;
pub mod forms;
pub mod input;
pub mod keymap;
pub mod layout;
pub mod list;
pub mod model;
pub mod tasks;
pub mod terminal;
pub mod theme;
pub mod update;
pub mod view;

#[cfg(test)]
mod fixture;
#[cfg(test)]
mod tests;

use gilmour::engine::Engine;
use gilmour::inspect::{Capture, CaptureEvents};
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
    pub deep: Option<(
        gilmour::inspect::deep::DeepCapture,
        tokio::sync::mpsc::Receiver<gilmour::inspect::deep::DeepEvent>,
    )>,
}

/// Runs the app on the terminal until the user quits; the terminal is given back however
/// it ends.
pub async fn run(app: app::App, sources: Sources) -> anyhow::Result<()> {
    let mut screen = terminal::enter()?;
    let _guard = terminal::Guard;
    event_loop::run(app, &mut screen, sources).await
}
