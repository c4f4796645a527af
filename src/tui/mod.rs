//! The terminal app: watch Gilmour traffic live (or from a capture file), filter it, open
//! a trace, replay it, fire requests, signals and compositions, read the error queue and
//! see which services are alive. The only module that knows ratatui and crossterm.
//!
//! ```text
//!  crossterm EventStream ─┐
//!  Capture ─recv_many─────┼─▶ runtime ─Action─▶ update(&mut State) ─Effect─▶ tasks (Redis, disk)
//!  tasks ─Done────────────┘      │                                              │
//!                                └─ view::draw(&State), only when dirty, ≤ 30/s └─Done─▶ loop
//! ```
//!
//! Imports go one way: [`model`] (plain data) ← [`action`] ← [`state`] ← [`view`] ←
//! [`update`] ← [`runtime`]; [`keymap`], [`target`] (what a replay sends) and [`theme`]
//! sit beside `model`. The rest of the
//! binary knows only [`run`] and what it takes.

mod action;
pub mod bench;
mod keymap;
mod model;
mod runtime;
mod state;
mod target;
mod theme;
mod update;
mod view;

#[cfg(test)]
mod fixture;
#[cfg(test)]
mod graph;
#[cfg(test)]
mod tests;

pub use keymap::KeyMap;
pub use model::Source;
pub use runtime::{Sources, run};
pub use state::Settings;
