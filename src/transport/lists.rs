//! A list trimmed below an entry someone was shown: the entry is found again by value
//! and cut with everything older, in one step.
//!
//! The entry is found by value, not by the index it had: entries pushed since move it
//! down, and a list at its cap (the error queue's 10,000) drops its oldest entries as
//! others come in, so no count taken earlier says where it is now. Finding and cutting
//! run as one Lua script, atomic and in one round trip however busy the list is. Where
//! scripts are refused (an ACL without `EVAL`), `WATCH`/`MULTI`/`EXEC` on a connection
//! of its own does it instead, tried again while the list moves under it; on a server
//! that knows neither (the built-in broker), a read and a cut, not atomic.

use super::{Commands, RedisConfig, TransportError};

/// How often the `WATCH` fallback is tried while the list keeps moving under it.
const ATTEMPTS: usize = 16;

/// Finds the entry (`ARGV[1]`, the `ARGV[2]`-th of identical ones from the head) and cuts
/// everything after it, and it too when `ARGV[3]` is 1; returns how many went, or -1
/// when it is not there.
const TRIM: &str = r"
local at = redis.call('LPOS', KEYS[1], ARGV[1], 'RANK', tonumber(ARGV[2]))
if not at then return -1 end
if ARGV[3] ~= '1' then at = at + 1 end
local length = redis.call('LLEN', KEYS[1])
if at == 0 then
  redis.call('DEL', KEYS[1])
elseif at < length then
  redis.call('LTRIM', KEYS[1], 0, at - 1)
end
return length - at
";

/// Keeps the `ARGV[1]` newest entries; returns how many went.
const KEEP_NEWEST: &str = r"
local length = redis.call('LLEN', KEYS[1])
local keep = tonumber(ARGV[1])
if keep == 0 then
  redis.call('DEL', KEYS[1])
elseif length > keep then
  redis.call('LTRIM', KEYS[1], 0, keep - 1)
end
return math.max(length - keep, 0)
";

/// Keeps the `keep` newest entries of `list`; how many it removed, counted in the same
/// atomic step (a script). Where scripts are refused, `LLEN` then `LTRIM`: the cut is
/// still exact, the count may miss records pushed in between. Tried once: a repeat
/// would cut again.
pub async fn keep_newest(
    commands: &Commands,
    list: &str,
    keep: usize,
) -> Result<usize, TransportError> {
    let mut connection = commands.connection().await;
    let outcome: redis::RedisResult<i64> = redis::Script::new(KEEP_NEWEST)
        .key(list)
        .arg(keep)
        .invoke_async(&mut connection)
        .await;
    match outcome {
        Ok(removed) => Ok(usize::try_from(removed).unwrap_or(0)),
        Err(error) if refused(&error) => {
            let before = commands.length(list).await?;
            // `LTRIM 0 -1` keeps everything: keeping nothing is a range past its end.
            let (start, stop) = match isize::try_from(keep) {
                Ok(0) => (1, 0),
                Ok(keep) => (0, keep - 1),
                Err(_) => return Ok(0),
            };
            commands.trim(list, start, stop).await?;
            Ok(before.saturating_sub(keep))
        }
        Err(error) => {
            commands.dropped(&error);
            Err(TransportError::Command {
                command: "EVALSHA",
                error,
            })
        }
    }
}

/// Where a trim cuts, around the entry it found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// The entry goes, with everything older.
    From,
    /// The entry stays; everything older goes.
    Below,
}

/// What a trim below an entry did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trimmed {
    /// The entry and everything older went: this many entries.
    Removed(usize),
    /// The entry is no longer in the list (removed, or dropped at the cap with everything
    /// older): nothing was cut.
    Gone,
}

/// Removes every entry older than `entry` (nearer the tail) from `list`, and `entry` too
/// with [`Cut::From`], keeping everything newer, also what was pushed after the caller
/// read the list. `rank` picks
/// the entry among identical ones: 1 for the first from the head (the newest), 2 for the
/// next, and so on. Needs `LPOS` (Redis 6.0.6 or later). Tried once: a repeat after a
/// lost reply would find the entry gone and say so, having cut nothing more.
pub async fn trim(
    commands: &Commands,
    config: &RedisConfig,
    list: &str,
    (entry, rank): (&str, usize),
    cut: Cut,
) -> Result<Trimmed, TransportError> {
    let mut connection = commands.connection().await;
    let outcome: redis::RedisResult<i64> = redis::Script::new(TRIM)
        .key(list)
        .arg(entry)
        .arg(rank.max(1))
        .arg(u8::from(cut == Cut::From))
        .invoke_async(&mut connection)
        .await;
    match outcome {
        Ok(removed) => Ok(usize::try_from(removed).map_or(Trimmed::Gone, Trimmed::Removed)),
        Err(error) if refused(&error) => {
            tracing::debug!(%error, "scripts refused: trimming under WATCH");
            match watched(commands, config, list, (entry, rank), cut).await? {
                Some(trimmed) => Ok(trimmed),
                None => best_effort(commands, list, (entry, rank), cut).await,
            }
        }
        Err(error) => {
            commands.dropped(&error);
            Err(TransportError::Command {
                command: "EVALSHA",
                error,
            })
        }
    }
}

/// Whether the server refused a command outright (an ACL, or a server that does not
/// know it), as opposed to the command failing or the link failing.
fn refused(error: &redis::RedisError) -> bool {
    if error.is_io_error() || error.is_connection_dropped() || error.is_timeout() {
        return false;
    }
    let text = error.to_string().to_ascii_lowercase();
    error.code() == Some("NOPERM") || text.contains("unknown command")
}

/// The same trim under `WATCH`, on a connection of its own: `WATCH` state belongs to a
/// connection, and a shared, multiplexed one carries other tasks' commands between ours.
/// `None` when the server refuses `WATCH` or `LPOS` too.
async fn watched(
    commands: &Commands,
    config: &RedisConfig,
    list: &str,
    (entry, rank): (&str, usize),
    cut: Cut,
) -> Result<Option<Trimmed>, TransportError> {
    let client = commands.client_for(config, list).await?;
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
        match redis::cmd("WATCH")
            .arg(list)
            .query_async::<()>(&mut connection)
            .await
        {
            Err(error) if refused(&error) => return Ok(None),
            watching => watching.map_err(command("WATCH"))?,
        }
        let found: redis::RedisResult<(Option<usize>, usize)> = redis::pipe()
            .cmd("LPOS")
            .arg(list)
            .arg(entry)
            .arg("RANK")
            .arg(rank.max(1))
            .cmd("LLEN")
            .arg(list)
            .query_async(&mut connection)
            .await;
        let (position, length) = match found {
            Err(error) if refused(&error) => return Ok(None),
            found => found.map_err(command("LPOS"))?,
        };
        let Some(mut position) = position else {
            redis::cmd("UNWATCH")
                .query_async::<()>(&mut connection)
                .await
                .map_err(command("UNWATCH"))?;
            return Ok(Some(Trimmed::Gone));
        };
        if cut == Cut::Below {
            position += 1;
        }
        // `LTRIM 0 -1` would keep everything: cutting from the head is a range that
        // starts past its end.
        let (start, stop) = match isize::try_from(position) {
            Ok(0) => (1, 0),
            Ok(position) => (0, position - 1),
            Err(_) => return Ok(Some(Trimmed::Removed(0))),
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
            return Ok(Some(Trimmed::Removed(length.saturating_sub(position))));
        }
        // The list moved between WATCH and EXEC: nothing was cut; look again.
    }
    Err(TransportError::Busy {
        command: "LTRIM",
        attempts: ATTEMPTS,
    })
}

/// The trim for a server that has neither scripts nor `WATCH` nor `LPOS` (the built-in
/// broker): the list is read whole and cut where the entry is. Not atomic: an entry
/// pushed between the read and the cut moves the cut one entry too far up. A stand-in
/// for development can live with that; Redis never takes this path.
async fn best_effort(
    commands: &Commands,
    list: &str,
    (entry, rank): (&str, usize),
    cut: Cut,
) -> Result<Trimmed, TransportError> {
    let entries = commands.range(list, 0, -1).await?;
    let Some(mut position) = entries
        .iter()
        .enumerate()
        .filter(|(_, value)| *value == entry)
        .map(|(at, _)| at)
        .nth(rank.max(1) - 1)
    else {
        return Ok(Trimmed::Gone);
    };
    if cut == Cut::Below {
        position += 1;
    }
    let removed = entries.len().saturating_sub(position);
    if removed > 0 {
        let (start, stop) = match isize::try_from(position) {
            Ok(0) => (1, 0),
            Ok(position) => (0, position - 1),
            Err(_) => return Ok(Trimmed::Removed(0)),
        };
        commands.trim(list, start, stop).await?;
    }
    Ok(Trimmed::Removed(removed))
}
