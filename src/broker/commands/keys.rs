//! Commands on keys: strings (SET, GET, DEL, EXISTS, TTL), lists (LPUSH, LTRIM, LRANGE,
//! LLEN, LREM, LINDEX) and hashes (HSET, HDEL, HGETALL, HGET, HKEYS, HLEN, HEXISTS).

use super::{Ctx, Flow, NOT_AN_INTEGER, SYNTAX_ERROR, integer, wrong_arity};
use crate::broker::keyspace::{Ttl, Value, WrongType};
use crate::broker::resp::Write;
use std::time::Duration;

/// Writes WRONGTYPE for a key of another type.
fn wrong_type(ctx: &mut Ctx<'_>) -> Flow {
    ctx.out.error(WrongType::MESSAGE);
    Flow::Continue
}

/// Reads an integer argument, answering the error when it is not one.
fn int_arg(ctx: &mut Ctx<'_>, arg: &[u8]) -> Option<i64> {
    let value = integer(arg);
    if value.is_none() {
        ctx.out.error(NOT_AN_INTEGER);
    }
    value
}

/// `SET key value [NX | XX] [EX seconds | PX milliseconds]`.
pub(super) fn set(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Flow {
    let mut keys = ctx.keys();
    let (mut nx, mut xx) = (false, false);
    let mut expire: Option<(&[u8], u64)> = None;
    let mut index = 3;
    while index < args.len() {
        let option = args[index].to_ascii_uppercase();
        let has_next = index + 1 < args.len();
        match option.as_slice() {
            b"NX" if !xx => nx = true,
            b"XX" if !nx => xx = true,
            b"EX" if expire.is_none() && has_next => {
                index += 1;
                expire = Some((&args[index], 1000));
            }
            b"PX" if expire.is_none() && has_next => {
                index += 1;
                expire = Some((&args[index], 1));
            }
            _ => {
                ctx.out.error(SYNTAX_ERROR);
                return Flow::Continue;
            }
        }
        index += 1;
    }
    let expires = match expire {
        None => None,
        Some((amount, unit)) => {
            let Some(amount) = int_arg(ctx, amount) else {
                return Flow::Continue;
            };
            let millis = u64::try_from(amount)
                .ok()
                .filter(|amount| *amount > 0)
                .and_then(|amount| amount.checked_mul(unit));
            match millis.and_then(|ms| ctx.now.checked_add(Duration::from_millis(ms))) {
                Some(at) => Some(at),
                None => {
                    ctx.out.error("ERR invalid expire time in 'set' command");
                    return Flow::Continue;
                }
            }
        }
    };
    let db = ctx.session.db;
    let exists = keys.exists(db, &args[1], ctx.now);
    if (nx && exists) || (xx && !exists) {
        ctx.nil();
        return Flow::Continue;
    }
    keys.set(db, &args[1], Value::String(args[2].clone()), expires);
    ctx.out.simple("OK");
    Flow::Continue
}

pub(super) fn get(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Flow {
    let mut keys = ctx.keys();
    match keys.get(ctx.session.db, &args[1], ctx.now) {
        None => ctx.nil(),
        Some(Value::String(value)) => ctx.out.bulk(value),
        Some(_) => return wrong_type(ctx),
    }
    Flow::Continue
}

pub(super) fn del(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Flow {
    let mut keys = ctx.keys();
    let db = ctx.session.db;
    let removed = args[1..]
        .iter()
        .filter(|key| keys.remove(db, key, ctx.now))
        .count();
    ctx.out.integer(removed as i64);
    Flow::Continue
}

pub(super) fn exists(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Flow {
    let mut keys = ctx.keys();
    let db = ctx.session.db;
    let found = args[1..]
        .iter()
        .filter(|key| keys.exists(db, key, ctx.now))
        .count();
    ctx.out.integer(found as i64);
    Flow::Continue
}

pub(super) fn ttl(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Flow {
    let mut keys = ctx.keys();
    let seconds = match keys.ttl(ctx.session.db, &args[1], ctx.now) {
        Ttl::Missing => -2,
        Ttl::Persistent => -1,
        // Rounded to the nearest second, as Redis does.
        Ttl::Remaining(left) => ((left.as_millis() + 500) / 1000) as i64,
    };
    ctx.out.integer(seconds);
    Flow::Continue
}

pub(super) fn lpush(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Flow {
    let mut keys = ctx.keys();
    match keys.list_or_new(ctx.session.db, &args[1], ctx.now) {
        Ok(list) => {
            for value in &args[2..] {
                list.push_front(value.clone());
            }
            let len = list.len();
            ctx.out.integer(len as i64);
            Flow::Continue
        }
        Err(WrongType) => wrong_type(ctx),
    }
}

/// Redis's reading of `start stop` over a list of `len`: `None` for an empty range.
fn range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 { len + start } else { start }.max(0);
    let stop = if stop < 0 { len + stop } else { stop };
    if start > stop || start >= len {
        return None;
    }
    Some((start as usize, stop.min(len - 1) as usize))
}

pub(super) fn ltrim(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Flow {
    let mut keys = ctx.keys();
    let Some(start) = int_arg(ctx, &args[2]) else {
        return Flow::Continue;
    };
    let Some(stop) = int_arg(ctx, &args[3]) else {
        return Flow::Continue;
    };
    let db = ctx.session.db;
    match keys.list(db, &args[1], ctx.now) {
        Ok(Some(list)) => {
            match range(start, stop, list.len()) {
                Some((first, last)) => {
                    list.truncate(last + 1);
                    list.drain(..first);
                }
                None => list.clear(),
            }
            keys.drop_if_empty(db, &args[1]);
        }
        Ok(None) => {}
        Err(WrongType) => return wrong_type(ctx),
    }
    ctx.out.simple("OK");
    Flow::Continue
}

pub(super) fn lrange(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Flow {
    let mut keys = ctx.keys();
    let Some(start) = int_arg(ctx, &args[2]) else {
        return Flow::Continue;
    };
    let Some(stop) = int_arg(ctx, &args[3]) else {
        return Flow::Continue;
    };
    match keys.list(ctx.session.db, &args[1], ctx.now) {
        Ok(Some(list)) => match range(start, stop, list.len()) {
            Some((first, last)) => {
                ctx.out.array(last + 1 - first);
                for value in list.range(first..=last) {
                    ctx.out.bulk(value);
                }
            }
            None => ctx.out.array(0),
        },
        Ok(None) => ctx.out.array(0),
        Err(WrongType) => return wrong_type(ctx),
    }
    Flow::Continue
}

pub(super) fn llen(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Flow {
    let mut keys = ctx.keys();
    match keys.list(ctx.session.db, &args[1], ctx.now) {
        Ok(list) => {
            let len = list.map_or(0, |list| list.len());
            ctx.out.integer(len as i64);
            Flow::Continue
        }
        Err(WrongType) => wrong_type(ctx),
    }
}

/// `LREM key count value`: from the head when count > 0, from the tail when < 0, all
/// when 0.
pub(super) fn lrem(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Flow {
    let mut keys = ctx.keys();
    let Some(count) = int_arg(ctx, &args[2]) else {
        return Flow::Continue;
    };
    let db = ctx.session.db;
    let value = &args[3];
    let removed = match keys.list(db, &args[1], ctx.now) {
        Ok(Some(list)) => {
            let limit = if count == 0 {
                usize::MAX
            } else {
                count.unsigned_abs() as usize
            };
            let mut positions: Vec<usize> = list
                .iter()
                .enumerate()
                .filter(|(_, item)| *item == value)
                .map(|(index, _)| index)
                .collect();
            if count < 0 {
                positions.reverse();
            }
            positions.truncate(limit);
            positions.sort_unstable();
            for index in positions.iter().rev() {
                list.remove(*index);
            }
            positions.len()
        }
        Ok(None) => 0,
        Err(WrongType) => return wrong_type(ctx),
    };
    keys.drop_if_empty(db, &args[1]);
    ctx.out.integer(removed as i64);
    Flow::Continue
}

pub(super) fn lindex(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Flow {
    let mut keys = ctx.keys();
    let Some(index) = int_arg(ctx, &args[2]) else {
        return Flow::Continue;
    };
    match keys.list(ctx.session.db, &args[1], ctx.now) {
        Ok(Some(list)) => {
            let len = list.len() as i64;
            let index = if index < 0 { len + index } else { index };
            match usize::try_from(index)
                .ok()
                .and_then(|index| list.get(index))
            {
                Some(value) => ctx.out.bulk(value),
                None => ctx.nil(),
            }
        }
        Ok(None) => ctx.nil(),
        Err(WrongType) => return wrong_type(ctx),
    }
    Flow::Continue
}

pub(super) fn hset(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Flow {
    let mut keys = ctx.keys();
    if !args.len().is_multiple_of(2) {
        ctx.out.error(&wrong_arity("hset"));
        return Flow::Continue;
    }
    match keys.hash_or_new(ctx.session.db, &args[1], ctx.now) {
        Ok(hash) => {
            let added = args[2..]
                .chunks(2)
                .filter(|pair| hash.insert(pair[0].clone(), pair[1].clone()).is_none())
                .count();
            ctx.out.integer(added as i64);
            Flow::Continue
        }
        Err(WrongType) => wrong_type(ctx),
    }
}

pub(super) fn hdel(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Flow {
    let mut keys = ctx.keys();
    let db = ctx.session.db;
    let removed = match keys.hash(db, &args[1], ctx.now) {
        Ok(Some(hash)) => args[2..]
            .iter()
            .filter(|field| hash.remove(field.as_slice()).is_some())
            .count(),
        Ok(None) => 0,
        Err(WrongType) => return wrong_type(ctx),
    };
    keys.drop_if_empty(db, &args[1]);
    ctx.out.integer(removed as i64);
    Flow::Continue
}

pub(super) fn hgetall(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Flow {
    let mut keys = ctx.keys();
    match keys.hash(ctx.session.db, &args[1], ctx.now) {
        Ok(Some(hash)) => {
            ctx.out.map(hash.len(), ctx.session.protocol);
            for (field, value) in hash.iter() {
                ctx.out.bulk(field);
                ctx.out.bulk(value);
            }
        }
        Ok(None) => ctx.map(0),
        Err(WrongType) => return wrong_type(ctx),
    }
    Flow::Continue
}

pub(super) fn hget(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Flow {
    let mut keys = ctx.keys();
    match keys.hash(ctx.session.db, &args[1], ctx.now) {
        Ok(hash) => match hash.and_then(|hash| hash.get(args[2].as_slice())) {
            Some(value) => ctx.out.bulk(value),
            None => ctx.nil(),
        },
        Err(WrongType) => return wrong_type(ctx),
    }
    Flow::Continue
}

pub(super) fn hkeys(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Flow {
    let mut keys = ctx.keys();
    match keys.hash(ctx.session.db, &args[1], ctx.now) {
        Ok(Some(hash)) => {
            ctx.out.array(hash.len());
            for field in hash.keys() {
                ctx.out.bulk(field);
            }
        }
        Ok(None) => ctx.out.array(0),
        Err(WrongType) => return wrong_type(ctx),
    }
    Flow::Continue
}

pub(super) fn hlen(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Flow {
    let mut keys = ctx.keys();
    match keys.hash(ctx.session.db, &args[1], ctx.now) {
        Ok(hash) => {
            let len = hash.map_or(0, |hash| hash.len());
            ctx.out.integer(len as i64);
            Flow::Continue
        }
        Err(WrongType) => wrong_type(ctx),
    }
}

pub(super) fn hexists(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Flow {
    let mut keys = ctx.keys();
    match keys.hash(ctx.session.db, &args[1], ctx.now) {
        Ok(hash) => {
            let found = hash.is_some_and(|hash| hash.contains_key(args[2].as_slice()));
            ctx.out.integer(i64::from(found));
            Flow::Continue
        }
        Err(WrongType) => wrong_type(ctx),
    }
}

#[cfg(test)]
mod tests {
    use super::range;

    #[test]
    fn ranges_follow_redis() {
        assert_eq!(range(0, -1, 5), Some((0, 4)));
        assert_eq!(range(-2, -1, 5), Some((3, 4)));
        assert_eq!(range(-10, 2, 5), Some((0, 2)));
        assert_eq!(range(1, 100, 5), Some((1, 4)));
        assert_eq!(range(3, 1, 5), None);
        assert_eq!(range(5, 9, 5), None);
        assert_eq!(range(0, -6, 5), None);
        assert_eq!(range(0, 0, 0), None);
    }
}
