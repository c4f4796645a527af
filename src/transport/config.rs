//! Where Redis is and how patiently we talk to it.

use super::{TransportError, redact_url};
use std::time::Duration;

/// How to reach Redis and how to watch the link.
///
/// The URL carries everything Redis needs: `redis://[user][:password]@host:port/db`,
/// `rediss://` for TLS (add `#insecure` to skip certificate checks).
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// The Redis URL.
    pub url: String,
    /// How long to wait for a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// How long a command may take before it counts as failed.
    pub command_timeout: Duration,
    /// How often the subscriber connection is pinged when it is idle.
    pub heartbeat_interval: Duration,
    /// How long a ping may go unanswered before the link counts as dead.
    pub heartbeat_timeout: Duration,
    /// The first pause before reconnecting; it doubles up to `max_backoff`.
    pub min_backoff: Duration,
    /// The longest pause between reconnection attempts.
    pub max_backoff: Duration,
    /// The name the command connection gives itself (`CLIENT SETNAME`), so that
    /// `CLIENT LIST` and MONITOR tell which process sent what; set again after a
    /// reconnect.
    pub client_name: Option<String>,
}

impl RedisConfig {
    /// The defaults for a URL: 5 s to connect, 5 s per command, a ping every 2 s that must
    /// be answered within 3 s, reconnect backoff from 50 ms to 2 s.
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            connect_timeout: Duration::from_secs(5),
            command_timeout: Duration::from_secs(5),
            heartbeat_interval: Duration::from_secs(2),
            heartbeat_timeout: Duration::from_secs(3),
            min_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
            client_name: None,
        }
    }

    /// The URL without its password, for messages and headers.
    pub fn display_url(&self) -> String {
        redact_url(&self.url)
    }

    pub(crate) fn client(&self) -> Result<redis::Client, TransportError> {
        redis::Client::open(self.url.as_str()).map_err(|error| TransportError::InvalidUrl {
            url: self.display_url(),
            error,
        })
    }
}
