//! All Redis I/O. Two connections per user: [`Commands`] (multiplexed, pipelined, for
//! PUBLISH, locks, the error queue and the health hash) and a [`Subscriber`] that owns the
//! pub/sub socket, keeps the subscription registry, watches the link with a heartbeat and
//! reconnects with backoff, re-subscribing everything.
//!
//! ```text
//!   engine / inspector ──commands──▶ Commands (ConnectionManager) ──▶ Redis
//!   engine / inspector ◀─Incoming── Subscriber task ◀── pub/sub socket ◀── Redis
//! ```
//!
//! On a Redis Cluster the command connection is the redis crate's cluster client (keys
//! go to their slot's primary; `PUBSUB NUMSUB` is asked of every node and summed) and
//! the subscriber sits on one node: classic pub/sub reaches every node, so Go and Ruby
//! peers subscribed anywhere keep working. With Sentinel both follow the primary.

pub mod cluster;
mod commands;
pub(crate) mod config;
mod connection;
pub mod lists;
mod subscriber;

pub use commands::{Commands, Receivers};
pub use config::{ClusterPubSub, HOME_SLOT, RedisConfig, Topology};
pub use subscriber::{ConnectionEvent, Delivery, Incoming, Subscriber, Target};

use thiserror::Error;

/// What can go wrong talking to Redis.
#[derive(Debug, Error)]
pub enum TransportError {
    /// The URL could not be read.
    // The Redis error is part of the message and so not also a `source`: a report that
    // prints the chain of causes would print it twice.
    #[error("invalid Redis URL `{url}`: {error}")]
    InvalidUrl {
        /// The URL as given, password hidden.
        url: String,
        /// What was wrong with it.
        error: redis::RedisError,
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
    #[error("Redis command {command} failed: {error}")]
    Command {
        /// The command name.
        command: &'static str,
        /// The error from Redis or the connection (in the message, not a `source`).
        error: redis::RedisError,
    },
    /// A command got no answer in time.
    #[error("Redis command {command} got no answer within {timeout_ms} ms")]
    Timeout {
        /// The command name.
        command: &'static str,
        /// How long we waited.
        timeout_ms: u128,
    },
    /// Redis refused a subscription (an ACL user without the channel or the command).
    #[error("Redis refused the subscription to {target}: {reason}")]
    Refused {
        /// The channel or pattern.
        target: String,
        /// What Redis said.
        reason: String,
    },
    /// A subscription could not be confirmed: the link is down, or failed meanwhile.
    #[error("could not subscribe to {target}: {reason}")]
    NotSubscribed {
        /// The channel or pattern.
        target: String,
        /// Why.
        reason: String,
    },
    /// A check-and-set kept failing because others changed the key every time.
    #[error("Redis command {command} gave up after {attempts} tries: the key kept changing")]
    Busy {
        /// The command name.
        command: &'static str,
        /// How often it was tried.
        attempts: usize,
    },
    /// The subscriber task has stopped (the engine was shut down).
    #[error("the subscriber connection is closed")]
    Closed,
}

/// What stands in for a password.
const MASK: &str = "***";

/// Shows a Redis URL without its password: the password of the authority
/// (`redis://user:pw@host`) and the value of every `pass` or `password` query parameter
/// (`unix:///tmp/redis.sock?pass=pw`, `redis+unix://…`) become `***`.
///
/// A URL that does not parse, or that parses into something a typed password could hide
/// in (an `@` in its path or fragment, a TCP URL with no host), is masked by text instead:
/// everything from `://` (or the start, when there is no scheme) to the last `@`.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) if !looks_mangled(&parsed, url) => redact_parsed(parsed, url),
        _ => redact_text(url),
    }
}

/// Whether a URL that parsed may still carry a password outside its userinfo: a password
/// with `/` or `#` ends the authority early, and the rest (`…@host`) lands in the path or
/// the fragment.
fn looks_mangled(parsed: &url::Url, original: &str) -> bool {
    let tcp = matches!(
        parsed.scheme(),
        "redis"
            | "rediss"
            | "valkey"
            | "valkeys"
            | "redis+cluster"
            | "rediss+cluster"
            | "redis+sentinel"
            | "rediss+sentinel"
    );
    parsed.path().contains('@')
        || parsed
            .fragment()
            .is_some_and(|fragment| fragment.contains('@'))
        || (tcp && parsed.host_str().is_none_or(str::is_empty) && original.contains('@'))
}

fn is_secret_key(key: &str) -> bool {
    key.eq_ignore_ascii_case("pass")
        || key.eq_ignore_ascii_case("password")
        || key.eq_ignore_ascii_case("sentinel_password")
}

fn redact_parsed(mut parsed: url::Url, original: &str) -> String {
    let secret_query = parsed.query_pairs().any(|(key, _)| is_secret_key(&key));
    if parsed.password().is_none() && !secret_query {
        // Nothing to hide: show it exactly as typed, not normalised.
        return original.to_owned();
    }
    if parsed.password().is_some() {
        // Cannot fail: a URL with a password has a host.
        let _ = parsed.set_password(Some(MASK));
    }
    if secret_query {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(key, value)| {
                let value = if is_secret_key(&key) {
                    MASK.to_owned()
                } else {
                    value.into_owned()
                };
                (key.into_owned(), value)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

fn redact_text(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), url),
    };
    let rest = match rest.rsplit_once('@') {
        Some((_, host)) => format!("{MASK}@{host}"),
        None => rest.to_owned(),
    };
    format!("{scheme}{}", mask_query_secrets(&rest))
}

/// Masks the value of every `pass=` / `password=` parameter of text that did not parse.
fn mask_query_secrets(text: &str) -> String {
    let Some((head, query)) = text.split_once('?') else {
        return text.to_owned();
    };
    let (query, fragment) = match query.split_once('#') {
        Some((query, fragment)) => (query, Some(fragment)),
        None => (query, None),
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if is_secret_key(key) => format!("{key}={MASK}"),
            _ => pair.to_owned(),
        })
        .collect();
    let mut out = format!("{head}?{}", query.join("&"));
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_authority_passwords() {
        assert_eq!(
            redact_url("redis://:secret@host:1/2"),
            "redis://:***@host:1/2"
        );
        assert_eq!(
            redact_url("rediss://user:pw@host"),
            "rediss://user:***@host"
        );
        assert_eq!(redact_url("redis://user@host"), "redis://user@host");
        assert_eq!(redact_url("redis://:p%40ss@host/0"), "redis://:***@host/0");
        assert_eq!(
            redact_url("rediss://u:pw@host:6380/1#insecure"),
            "rediss://u:***@host:6380/1#insecure"
        );
    }

    #[test]
    fn leaves_urls_without_secrets_as_typed() {
        assert_eq!(redact_url("redis://host"), "redis://host");
        assert_eq!(redact_url("redis://host/0?a=b@c"), "redis://host/0?a=b@c");
        assert_eq!(
            redact_url("unix:///tmp/redis.sock?db=2"),
            "unix:///tmp/redis.sock?db=2"
        );
    }

    #[test]
    fn redacts_query_passwords_of_socket_urls() {
        assert_eq!(
            redact_url("unix:///tmp/redis.sock?pass=secret"),
            "unix:///tmp/redis.sock?pass=***"
        );
        assert_eq!(
            redact_url("redis+unix:///tmp/redis.sock?db=1&user=u&password=secret"),
            "redis+unix:///tmp/redis.sock?db=1&user=u&password=***"
        );
        assert_eq!(
            redact_url("redis://host/0?PASS=secret&pass=again"),
            "redis://host/0?PASS=***&pass=***"
        );
    }

    #[test]
    fn masks_urls_that_do_not_parse_by_text() {
        // A password with `@`, `/`, `:`, `#` or `?`, typed without percent-encoding.
        for (url, shown) in [
            ("redis://:p@ss@host/0", "redis://:***@host/0"),
            ("redis://:pa/ss@host:6379", "redis://***@host:6379"),
            ("redis://user:1/x@host", "redis://***@host"),
            ("redis://u:a:b@host", "redis://u:***@host"),
            ("redis://:pa#ss@host", "redis://***@host"),
            ("redis://:12#ss@host", "redis://***@host"),
            ("redis://:1?x@host", "redis://***@host"),
            ("redis://:secret@host:notaport", "redis://***@host:notaport"),
            (":secret@localhost:6379", "***@localhost:6379"),
            ("localhost:6379?pass=secret", "localhost:6379?pass=***"),
            (
                "unix://relative path?db=1&pass=secret#x",
                "unix://relative path?db=1&pass=***#x",
            ),
        ] {
            let redacted = redact_url(url);
            assert_eq!(redacted, shown, "{url}");
            for secret in [
                "secret", "p@ss", "pa/ss", "1/x", "a:b", "pa#ss", "12#ss", "1?x",
            ] {
                if url.contains(secret) {
                    assert!(!redacted.contains(secret), "{url} → {redacted}");
                }
            }
        }
    }
}
