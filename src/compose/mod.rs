//! Compositions of services: the tree, its executor and its text syntax.
//!
//! ```text
//!   "fetch | words | [min, max {"unit":"C"}]" ──parse──▶ Composition ──execute(engine)──▶ Outcome
//!                                             ◀─Display─                                 data, code,
//!                                                                                        StepRecord per step
//! ```
//!
//! A [`Composition`] is a tree of requests ([`Step`]) and local functions ([`Lambda`])
//! under pipe, and-and, or-or, batch, recorded batch and parallel nodes. Executing it makes
//! each step an ordinary request, so the inspector sees every one; the [`Outcome`] holds
//! the final data and code and a [`StepRecord`] per step that ran, enough to draw the run
//! as a timeline. A composition holds no state of its own: it can be executed any number
//! of times, concurrently.

mod exec;
mod lambda;
pub mod syntax;
pub mod tree;

pub use exec::{ExecuteOptions, Outcome, StepKind, StepRecord};
pub use lambda::Lambda;
pub use syntax::{ParseError, parse};
pub use tree::{Composition, Step, Steps};
