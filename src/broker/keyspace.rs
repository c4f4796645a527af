//! The key space: sixteen databases of strings, lists and hashes, with expiry.
//!
//! A key past its deadline is gone the moment anything looks at it, and a sweep removes
//! the ones nobody looks at (group locks live 600 s and are never read again). Deadlines
//! wait in a heap; an entry whose key was since rewritten is recognised and skipped.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::time::{Duration, Instant};

/// How many databases SELECT can choose from, as Redis's default.
pub(crate) const DATABASES: usize = 16;

/// A list value.
pub(crate) type List = VecDeque<Vec<u8>>;
/// A hash value.
pub(crate) type Hash = HashMap<Vec<u8>, Vec<u8>>;

/// A value of one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    /// A string (any bytes).
    String(Vec<u8>),
    /// A list.
    List(List),
    /// A hash.
    Hash(Hash),
}

/// The operation met a key holding another type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WrongType;

impl WrongType {
    /// Redis's error for it.
    pub(crate) const MESSAGE: &'static str =
        "WRONGTYPE Operation against a key holding the wrong kind of value";
}

/// What TTL says about a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ttl {
    /// No such key.
    Missing,
    /// The key never expires.
    Persistent,
    /// The key expires after this long.
    Remaining(Duration),
}

#[derive(Debug)]
struct Entry {
    value: Value,
    expires: Option<Instant>,
}

type Db = HashMap<Vec<u8>, Entry>;

/// All databases.
#[derive(Debug)]
pub(crate) struct Keyspace {
    dbs: Vec<Db>,
    deadlines: BinaryHeap<Reverse<(Instant, usize, Vec<u8>)>>,
}

impl Default for Keyspace {
    fn default() -> Self {
        Keyspace {
            dbs: (0..DATABASES).map(|_| Db::new()).collect(),
            deadlines: BinaryHeap::new(),
        }
    }
}

impl Keyspace {
    /// The live entry of a key, removing it first when it has expired.
    fn entry(&mut self, db: usize, key: &[u8], now: Instant) -> Option<&mut Entry> {
        let map = &mut self.dbs[db];
        if map
            .get(key)
            .is_some_and(|entry| entry.expires.is_some_and(|at| at <= now))
        {
            map.remove(key);
            return None;
        }
        map.get_mut(key)
    }

    /// The value of a key.
    pub(crate) fn get(&mut self, db: usize, key: &[u8], now: Instant) -> Option<&Value> {
        self.entry(db, key, now).map(|entry| &entry.value)
    }

    /// Whether a key exists.
    pub(crate) fn exists(&mut self, db: usize, key: &[u8], now: Instant) -> bool {
        self.entry(db, key, now).is_some()
    }

    /// Sets a key, replacing any value and deadline it had.
    pub(crate) fn set(&mut self, db: usize, key: &[u8], value: Value, expires: Option<Instant>) {
        if let Some(at) = expires {
            self.deadlines.push(Reverse((at, db, key.to_vec())));
        }
        self.dbs[db].insert(key.to_vec(), Entry { value, expires });
    }

    /// Removes a key; true when it existed.
    pub(crate) fn remove(&mut self, db: usize, key: &[u8], now: Instant) -> bool {
        let existed = self.exists(db, key, now);
        self.dbs[db].remove(key);
        existed
    }

    /// A key's time to live.
    pub(crate) fn ttl(&mut self, db: usize, key: &[u8], now: Instant) -> Ttl {
        match self.entry(db, key, now) {
            None => Ttl::Missing,
            Some(Entry { expires: None, .. }) => Ttl::Persistent,
            Some(Entry {
                expires: Some(at), ..
            }) => Ttl::Remaining(at.saturating_duration_since(now)),
        }
    }

    /// The list at a key; `Ok(None)` when missing.
    pub(crate) fn list(
        &mut self,
        db: usize,
        key: &[u8],
        now: Instant,
    ) -> Result<Option<&mut List>, WrongType> {
        match self.entry(db, key, now) {
            None => Ok(None),
            Some(Entry {
                value: Value::List(list),
                ..
            }) => Ok(Some(list)),
            Some(_) => Err(WrongType),
        }
    }

    /// The list at a key, created empty when missing.
    pub(crate) fn list_or_new(
        &mut self,
        db: usize,
        key: &[u8],
        now: Instant,
    ) -> Result<&mut List, WrongType> {
        match &mut self
            .entry_or(db, key, now, || Value::List(List::new()))
            .value
        {
            Value::List(list) => Ok(list),
            _ => Err(WrongType),
        }
    }

    /// The hash at a key; `Ok(None)` when missing.
    pub(crate) fn hash(
        &mut self,
        db: usize,
        key: &[u8],
        now: Instant,
    ) -> Result<Option<&mut Hash>, WrongType> {
        match self.entry(db, key, now) {
            None => Ok(None),
            Some(Entry {
                value: Value::Hash(hash),
                ..
            }) => Ok(Some(hash)),
            Some(_) => Err(WrongType),
        }
    }

    /// The hash at a key, created empty when missing.
    pub(crate) fn hash_or_new(
        &mut self,
        db: usize,
        key: &[u8],
        now: Instant,
    ) -> Result<&mut Hash, WrongType> {
        match &mut self
            .entry_or(db, key, now, || Value::Hash(Hash::new()))
            .value
        {
            Value::Hash(hash) => Ok(hash),
            _ => Err(WrongType),
        }
    }

    /// The live entry of a key, created without expiry from `value` when missing.
    fn entry_or(
        &mut self,
        db: usize,
        key: &[u8],
        now: Instant,
        value: impl FnOnce() -> Value,
    ) -> &mut Entry {
        // Looking first removes an expired key, so that it starts afresh.
        self.entry(db, key, now);
        self.dbs[db].entry(key.to_vec()).or_insert_with(|| Entry {
            value: value(),
            expires: None,
        })
    }

    /// Removes a list or hash that an operation left empty (Redis keeps no empty ones).
    pub(crate) fn drop_if_empty(&mut self, db: usize, key: &[u8]) {
        let empty = match self.dbs[db].get(key).map(|entry| &entry.value) {
            Some(Value::List(list)) => list.is_empty(),
            Some(Value::Hash(hash)) => hash.is_empty(),
            _ => false,
        };
        if empty {
            self.dbs[db].remove(key);
        }
    }

    /// How many live keys a database holds.
    pub(crate) fn len(&mut self, db: usize, now: Instant) -> usize {
        self.expire(now);
        self.dbs[db].len()
    }

    /// Live keys per database, for INFO's keyspace section: (db, keys, keys with expiry).
    pub(crate) fn summary(&mut self, now: Instant) -> Vec<(usize, usize, usize)> {
        self.expire(now);
        self.dbs
            .iter()
            .enumerate()
            .filter(|(_, db)| !db.is_empty())
            .map(|(index, db)| {
                let expiring = db.values().filter(|entry| entry.expires.is_some()).count();
                (index, db.len(), expiring)
            })
            .collect()
    }

    /// Removes every key whose deadline has passed.
    pub(crate) fn expire(&mut self, now: Instant) {
        while let Some(Reverse((at, _, _))) = self.deadlines.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((at, db, key))) = self.deadlines.pop() else {
                break;
            };
            // Only when the key still has this deadline: it may have been set again.
            if self.dbs[db]
                .get(&key)
                .is_some_and(|entry| entry.expires == Some(at))
            {
                self.dbs[db].remove(&key);
            }
        }
        self.compact();
    }

    /// Gives back the room of keys that are gone, once a database or the deadlines use
    /// less than a quarter of it (Redis shrinks its dictionaries too): a burst of a
    /// million group locks does not keep a million keys' room after they expire.
    fn compact(&mut self) {
        for db in &mut self.dbs {
            if oversized(db.len(), db.capacity()) {
                db.shrink_to(db.len() * 2);
            }
        }
        if oversized(self.deadlines.len(), self.deadlines.capacity()) {
            self.deadlines.shrink_to(self.deadlines.len() * 2);
        }
    }
}

/// Whether a collection holds under a quarter of the room it has, past a small size.
fn oversized(len: usize, capacity: usize) -> bool {
    capacity > KEPT_ROOM && len < capacity / 4
}

/// How many entries' room a database or the deadlines keep however empty.
const KEPT_ROOM: usize = 1024;

#[cfg(test)]
mod tests {
    use super::*;

    fn string(text: &str) -> Value {
        Value::String(text.as_bytes().to_vec())
    }

    #[test]
    fn expired_keys_are_gone_when_read_and_when_swept() {
        let mut keys = Keyspace::default();
        let now = Instant::now();
        let later = now + Duration::from_secs(10);
        keys.set(0, b"a", string("1"), Some(now + Duration::from_secs(5)));
        keys.set(0, b"b", string("2"), Some(now + Duration::from_secs(5)));
        keys.set(0, b"c", string("3"), None);
        assert_eq!(
            keys.ttl(0, b"a", now),
            Ttl::Remaining(Duration::from_secs(5))
        );
        assert_eq!(keys.ttl(0, b"c", now), Ttl::Persistent);
        assert_eq!(keys.len(0, now), 3);
        assert_eq!(keys.get(0, b"a", later), None);
        assert_eq!(keys.ttl(0, b"a", later), Ttl::Missing);
        assert_eq!(keys.len(0, later), 1, "b was swept without being read");
    }

    #[test]
    fn the_room_of_expired_keys_is_given_back() {
        let mut keys = Keyspace::default();
        let now = Instant::now();
        let soon = Some(now + Duration::from_secs(1));
        for n in 0..100_000 {
            keys.set(0, format!("lock.{n}").as_bytes(), string("1"), soon);
        }
        keys.set(0, b"kept", string("1"), None);
        keys.expire(now + Duration::from_secs(2));
        assert_eq!(keys.len(0, now + Duration::from_secs(2)), 1);
        assert!(
            keys.dbs[0].capacity() <= KEPT_ROOM,
            "{}",
            keys.dbs[0].capacity()
        );
        assert!(
            keys.deadlines.capacity() <= KEPT_ROOM,
            "{}",
            keys.deadlines.capacity()
        );
    }

    #[test]
    fn a_key_set_again_keeps_its_new_deadline() {
        let mut keys = Keyspace::default();
        let now = Instant::now();
        keys.set(0, b"k", string("old"), Some(now + Duration::from_secs(1)));
        keys.set(0, b"k", string("new"), None);
        keys.expire(now + Duration::from_secs(2));
        assert_eq!(keys.get(0, b"k", now), Some(&string("new")));
    }

    #[test]
    fn databases_are_separate_and_types_are_checked() {
        let mut keys = Keyspace::default();
        let now = Instant::now();
        keys.set(1, b"k", string("v"), None);
        assert!(!keys.exists(0, b"k", now));
        assert_eq!(keys.list_or_new(1, b"k", now), Err(WrongType));
        assert_eq!(keys.hash(1, b"k", now), Err(WrongType));
        keys.list_or_new(0, b"l", now)
            .expect("list")
            .push_front(b"x".to_vec());
        assert_eq!(keys.len(0, now), 1);
        keys.list(0, b"l", now)
            .expect("list")
            .expect("exists")
            .clear();
        keys.drop_if_empty(0, b"l");
        assert!(!keys.exists(0, b"l", now));
    }
}
