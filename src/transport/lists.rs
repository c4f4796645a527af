//! A list trimmed below an entry someone was shown: the entry is found again by value
//! and cut with everything older, in one step.
//!
//! The entry is found by value, not by the index it had: entries pushed since move it
//! down, and a list at its cap (the error queue's 10,000) drops its oldest entries as
//! others come in, so no count taken earlier says where it is now. Finding and cutting
//! run as one Lua script, atomic and in one round trip however busy the list is. Where
//! scripts are refused (an ACL without `EVAL`), `WATCH`/`MULTI`/`EXEC` on a connection
//! of its own does it instead, tried again while the list moves under it.

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
        Err(error) if scripts_refused(&error) => {
            tracing::debug!(%error, "scripts refused: trimming under WATCH");
            watched(config, list, (entry, rank), cut).await
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

/// Whether Redis refused to run a script at all (the ACL, or no scripting), as opposed
/// to the script failing or the link failing.
fn scripts_refused(error: &redis::RedisError) -> bool {
    if error.is_io_error() || error.is_connection_dropped() || error.is_timeout() {
        return false;
    }
    let text = error.to_string().to_ascii_lowercase();
    error.code() == Some("NOPERM") || text.contains("unknown command")
}

/// The same trim under `WATCH`, on a connection of its own: `WATCH` state belongs to a
/// connection, and a shared, multiplexed one carries other tasks' commands between ours.
async fn watched(
    config: &RedisConfig,
    list: &str,
    (entry, rank): (&str, usize),
    cut: Cut,
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
        let Some(mut position) = position else {
            redis::cmd("UNWATCH")
                .query_async::<()>(&mut connection)
                .await
                .map_err(command("UNWATCH"))?;
            return Ok(Trimmed::Gone);
        };
        if cut == Cut::Below {
            position += 1;
        }
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
            return Ok(Trimmed::Removed(length.saturating_sub(position)));
        }
        // The list moved between WATCH and EXEC: nothing was cut; look again.
    }
    Err(TransportError::Busy {
        command: "LTRIM",
        attempts: ATTEMPTS,
    })
}
