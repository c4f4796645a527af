//! All Redis I/O. Two connections per user: [`Commands`] (multiplexed, pipelined, for
//! PUBLISH, locks, the error queue and the health hash) and a [`Subscriber`] that owns the
//! pub/sub socket, keeps the subscription registry, watches the link with a heartbeat and
//! reconnects with backoff, re-subscribing everything.
//!
//! ```text
//!   engine / inspector ──commands──▶ Commands (ConnectionManager) ──▶ Redis
//!   engine / inspector ◀─Incoming── Subscriber task ◀── pub/sub socket ◀── Redis
//! ```

mod commands;
mod config;
mod subscriber;

pub use commands::Commands;
pub use config::RedisConfig;
pub use subscriber::{ConnectionEvent, Delivery, Incoming, Subscriber, Target};

use thiserror::Error;

/// What can go wrong talking to Redis.
#[derive(Debug, Error)]
pub enum TransportError {
    /// The URL could not be read.
    #[error("invalid Redis URL `{url}`: {source}")]
    InvalidUrl {
        /// The URL as given, password hidden.
        url: String,
        /// What was wrong with it.
        source: redis::RedisError,
    },
    /// Redis could not be reached or refused the connection.
    #[error("cannot connect to Redis at {url}: {reason}")]
    Connect {
        /// The URL, password hidden.
        url: String,
        /// Why.
        reason: String,
    },
    /// A command failed.
    #[error("Redis command {command} failed: {source}")]
    Command {
        /// The command name.
        command: &'static str,
        /// The error from Redis or the connection.
        source: redis::RedisError,
    },
    /// A command got no answer in time.
    #[error("Redis command {command} got no answer within {timeout_ms} ms")]
    Timeout {
        /// The command name.
        command: &'static str,
        /// How long we waited.
        timeout_ms: u128,
    },
    /// The subscriber task has stopped (the engine was shut down).
    #[error("the subscriber connection is closed")]
    Closed,
}

/// Shows a Redis URL without its password.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    // The credentials end at the last `@` before the path: a password may contain `@`.
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((credentials, host)) => {
            let host = format!("{host}{}", &rest[authority_end..]);
            let user = credentials.split(':').next().unwrap_or_default();
            if credentials.contains(':') {
                format!("{scheme}://{user}:***@{host}")
            } else {
                format!("{scheme}://{user}@{host}")
            }
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("redis://:secret@host:1/2"),
            "redis://:***@host:1/2"
        );
        assert_eq!(
            redact_url("rediss://user:pw@host"),
            "rediss://user:***@host"
        );
        assert_eq!(redact_url("redis://host"), "redis://host");
        assert_eq!(redact_url("redis://:p@ss@host/0"), "redis://:***@host/0");
        assert_eq!(redact_url("redis://host/0?a=b@c"), "redis://host/0?a=b@c");
    }
}
