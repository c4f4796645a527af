//! Deep facts on their way to their traces. MONITOR and the subscription are two
//! connections, so either may be read first: a fact whose trace is not stored yet waits
//! (bounded, by sender), and a client's calls before a request (NUMSUB, PINGs) wait for
//! that request.

use super::{Call, Deep, DeepEvent, Fact, MAX_DEEP_ITEMS};
use crate::inspect::store::TraceStore;
use crate::inspect::trace::TraceId;
use chrono::{DateTime, Utc};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// How long deep facts wait for their trace (by Redis's clock), and how many may wait.
const DEEP_WAIT: chrono::TimeDelta = chrono::TimeDelta::seconds(30);
const DEEP_WAITING: usize = 10_000;

/// How long before a request a client's call still counts as part of it.
const CALL_BEFORE: chrono::TimeDelta = chrono::TimeDelta::seconds(1);

/// Deep facts that came before their trace, and calls not yet tied to a request.
#[derive(Debug, Default)]
pub(crate) struct DeepPending {
    /// By sender id.
    by_sender: HashMap<Arc<str>, Box<Deep>>,
    /// Senders in the order their first fact came, to let old ones go.
    order: VecDeque<(DateTime<Utc>, Arc<str>)>,
    /// The lengths of recent request senders: a lock key is `<sender><group>`.
    sender_lengths: Vec<usize>,
    /// Per client, its calls since its last request.
    calls: HashMap<Arc<str>, VecDeque<Call>>,
}

impl DeepPending {
    /// Takes in one fact: adds it to its stored trace (whose id it returns), or keeps it
    /// until that trace opens.
    pub(crate) fn ingest(&mut self, store: &mut TraceStore, event: DeepEvent) -> Option<TraceId> {
        self.expire(event.at);
        let sender = match &event.fact {
            Fact::Request { sender } => {
                let length = sender.len();
                if !self.sender_lengths.contains(&length) {
                    if self.sender_lengths.len() >= 8 {
                        self.sender_lengths.remove(0);
                    }
                    self.sender_lengths.push(length);
                }
                sender.clone()
            }
            Fact::Reply { sender } => sender.clone(),
            Fact::Lock { key, .. } => self.lock_owner(store, key)?,
            Fact::Call {
                sender: Some(sender),
                ..
            } => sender.clone(),
            Fact::Call { command, .. } => {
                // Tied to the client's next request.
                let calls = self.calls.entry(event.client.addr.clone()).or_default();
                if calls.len() >= MAX_DEEP_ITEMS {
                    calls.pop_front();
                }
                calls.push_back(Call {
                    at: event.at,
                    client: event.client.clone(),
                    command: command.clone(),
                });
                if self.calls.len() > DEEP_WAITING {
                    self.calls.clear();
                }
                return None;
            }
        };
        let earlier = match &event.fact {
            Fact::Request { .. } => self.calls.remove(&event.client.addr),
            _ => None,
        };
        let apply = |deep: &mut Deep| {
            for call in earlier.into_iter().flatten() {
                if event.at - call.at <= CALL_BEFORE {
                    deep.add_call(call);
                }
            }
            deep.add(&event);
        };
        if let Some(id) = store.by_sender(&sender) {
            store.update(id, |trace| apply(trace.deep.get_or_insert_default()))?;
            return Some(id);
        }
        if !self.by_sender.contains_key(&sender) {
            self.order.push_back((event.at, sender.clone()));
        }
        apply(self.by_sender.entry(sender).or_default());
        None
    }

    /// Deep facts that came before the trace of `sender`.
    pub(crate) fn take(&mut self, sender: &str) -> Option<Box<Deep>> {
        self.by_sender.remove(sender)
    }

    /// The sender a lock key belongs to: a known sender that the key starts with.
    fn lock_owner(&self, store: &TraceStore, key: &Arc<str>) -> Option<Arc<str>> {
        self.sender_lengths.iter().rev().find_map(|&length| {
            let sender = key.get(..length)?;
            if key.len() <= length {
                return None;
            }
            if let Some(id) = store.by_sender(sender) {
                return store.get(id).map(|trace| trace.sender.clone());
            }
            self.by_sender
                .get_key_value(sender)
                .map(|(sender, _)| sender.clone())
        })
    }

    fn expire(&mut self, now: DateTime<Utc>) {
        while let Some((at, sender)) = self.order.front() {
            let stale = now - *at > DEEP_WAIT || self.order.len() > DEEP_WAITING;
            if !stale && self.by_sender.contains_key(sender) {
                break;
            }
            self.by_sender.remove(sender);
            self.order.pop_front();
        }
    }
}
