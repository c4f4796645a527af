//! The inspector: capture, correlation into traces, storage, filters and statistics.

pub mod filter;
