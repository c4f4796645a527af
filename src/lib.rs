//! Gilmour: microservices that meet on Redis pub/sub instead of HTTP.
//!
//! The crate is the engine (request/reply with exclusive groups, signal/slot, timeouts,
//! error reporting, health idents), compositions of services, and the inspector that
//! captures and correlates Gilmour traffic. The `gilmour` binary puts a CLI and a
//! terminal UI on top of them.
//!
//! Modules, from the bottom up: [`protocol`] (pure data), [`transport`] (all Redis I/O),
//! [`engine`], [`compose`], [`inspect`]. No module imports one above it. [`broker`] stands
//! apart: a Redis stand-in for machines without Redis, importing nothing of the crate.
//! [`demo`] sits on top: the talk's services, written as a user would write them.

#[cfg(feature = "broker")]
pub mod broker;
pub mod compose;
pub mod demo;
pub mod diagnostic;
pub mod engine;
pub mod inspect;
pub mod protocol;
pub mod transport;
