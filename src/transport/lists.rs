//! A list trimmed below an entry someone was shown, on a connection of its own: `WATCH`,
//! find the entry, `MULTI`/`LTRIM`/`EXEC`, again if the list moved in between.
//!
//! The entry is found by value, not by the index it had: entries pushed since move it
//! down, and a list at its cap (the error queue's 10,000) drops its oldest entries as
//! others come in, so no count taken earlier says where it is now.

use super::{RedisConfig, TransportError};

/// How often a trim is tried while the list keeps moving under it.
const ATTEMPTS: usize = 16;

/// What a trim below an entry did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trimmed {
    /// The entry and everything older went: this many entries.
    Removed(usize),
    /// The entry is no longer in the list (removed, or dropped at the cap with everything
    /// older): nothing was cut.
    Gone,
}

/// Removes `entry` and every entry older than it (nearer the tail) from `list`, keeping
/// everything newer, also what was pushed after the caller read the list. `rank` picks
/// the entry among identical ones: 1 for the first from the head (the newest), 2 for the
/// next, and so on. Needs `LPOS` (Redis 6.0.6 or later) and `WATCH`/`MULTI`/`EXEC`.
///
/// `WATCH` state belongs to a connection, and a shared, multiplexed one carries other
/// tasks' commands between ours: this runs on a connection of its own.
pub async fn trim_from(
    config: &RedisConfig,
    list: &str,
    entry: &str,
    rank: usize,
) -> Result<Trimmed, TransportError> {
    let client = config.client()?;
    let connect = client.get_multiplexed_async_connection();
    let mut connection = tokio::time::timeout(config.connect_timeout, connect)
        .await
        .map_err(|_| TransportError::Connect {
            url: config.display_url(),
            reason: format!("no answer within {} ms", config.connect_timeout.as_millis()),
        })?
        .map_err(|error| TransportError::Connect {
            url: config.display_url(),
            reason: error.to_string(),
        })?;
    let command = |command: &'static str| move |error| TransportError::Command { command, error };
    for _ in 0..ATTEMPTS {
        redis::cmd("WATCH")
            .arg(list)
            .query_async::<()>(&mut connection)
            .await
            .map_err(command("WATCH"))?;
        let (position, length): (Option<usize>, usize) = redis::pipe()
            .cmd("LPOS")
            .arg(list)
            .arg(entry)
            .arg("RANK")
            .arg(rank.max(1))
            .cmd("LLEN")
            .arg(list)
            .query_async(&mut connection)
            .await
            .map_err(command("LPOS"))?;
        let Some(position) = position else {
            redis::cmd("UNWATCH")
                .query_async::<()>(&mut connection)
                .await
                .map_err(command("UNWATCH"))?;
            return Ok(Trimmed::Gone);
        };
        // `LTRIM 0 -1` would keep everything: cutting from the head is a range that
        // starts past its end.
        let (start, stop) = match isize::try_from(position) {
            Ok(0) => (1, 0),
            Ok(position) => (0, position - 1),
            Err(_) => return Ok(Trimmed::Removed(0)),
        };
        let done: Option<redis::Value> = redis::pipe()
            .atomic()
            .cmd("LTRIM")
            .arg(list)
            .arg(start)
            .arg(stop)
            .query_async(&mut connection)
            .await
            .map_err(command("LTRIM"))?;
        if done.is_some() {
            return Ok(Trimmed::Removed(length - position));
        }
        // The list moved between WATCH and EXEC: nothing was cut; look again.
    }
    Err(TransportError::Busy {
        command: "LTRIM",
        attempts: ATTEMPTS,
    })
}
