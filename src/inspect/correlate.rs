//! The correlator: turns events into traces, keyed by sender id.
//!
//! - a request (or health ping) opens a pending trace; its reply closes it with a code
//!   and latency; replies after the first are kept as later replies;
//! - a reply whose request was not seen becomes an orphan trace;
//! - a signal, an unmatched error record or another message is a one-event trace;
//! - an error record with a known sender attaches to that trace;
//! - a request still pending after the unanswered window is marked unanswered (a reply
//!   arriving later still closes it);
//! - a gap in the capture becomes a gap trace.

use super::InspectorOptions;
use super::deep::DeepEvent;
use super::deep::pending::DeepPending;
use super::event::{Event, EventKind, GapEvent, MessageEvent};
use super::filter::{TraceKind, TraceStatus};
use super::store::TraceStore;
use super::trace::{Trace, TraceId, status_of};
use super::tree::link::{Linker, Settled};
use crate::protocol::Code;
use chrono::{DateTime, Utc};
use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

/// How long a request may wait for its reply before it is marked unanswered.
pub const DEFAULT_UNANSWERED_AFTER: Duration = Duration::from_secs(30);

/// The most later replies, and the most error records, one trace keeps; what comes
/// past that is counted in [`Trace::cut`].
pub const MAX_EXTRA_EVENTS: usize = 100;

/// The most bytes of one payload the store keeps unless told otherwise (64 KiB); a
/// longer one keeps a prefix and its full length.
pub const DEFAULT_MAX_PAYLOAD: usize = 64 << 10;

/// What an event did to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Update {
    /// A new trace that still expects messages.
    Opened(TraceId),
    /// A trace not yet reported complete got something more (an error record before
    /// its reply).
    Grew(TraceId),
    /// A trace that now has everything it expected, reported for the first time.
    Completed(TraceId),
    /// A trace already reported complete changed: a reply after all, a later reply, an
    /// error record after the reply, its request after its reply. Whoever showed it
    /// shows it again.
    Changed(TraceId),
    /// The capture lost its link.
    Lost,
}

/// Running totals, so that nothing is lost silently.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Messages correlated.
    pub messages: u64,
    /// Traces made.
    pub traces: u64,
    /// Traces that ended in an error code.
    pub errors: u64,
    /// Traces that ended in a timeout code.
    pub timeouts: u64,
    /// Requests marked unanswered.
    pub unanswered: u64,
    /// Replies whose request was not seen.
    pub orphans: u64,
    /// Payloads that were not a message envelope (bare values, raw text).
    pub malformed: u64,
    /// Gaps in the capture.
    pub gaps: u64,
    /// Reported traces that changed afterwards (shown again).
    pub updates: u64,
    /// Payloads kept as a prefix because they were longer than the per-message limit.
    pub truncated: u64,
    /// Later replies and error records not kept past the per-trace cap.
    pub cut: u64,
}

/// Turns events into traces in a bounded store.
#[derive(Debug)]
pub struct Correlator {
    store: TraceStore,
    unanswered_after: Duration,
    max_payload: usize,
    /// Pending requests in the order they were opened, to mark the unanswered.
    pending: VecDeque<TraceId>,
    counters: Counters,
    /// Topics and channels seen, shared so each trace points at one string; pruned of
    /// the names no stored trace uses.
    topics: HashSet<Arc<str>>,
    /// How many names were interned after the last pruning.
    topics_pruned_at: usize,
    /// When the capture lost its link, while it is down.
    lost_since: Option<DateTime<Utc>>,
    /// Deep facts waiting for their trace.
    deep: DeepPending,
    /// Call trees: parents, children, compositions.
    links: Linker,
}

/// What a trace's status adds to the counters.
fn count_status(counters: &mut Counters, status: TraceStatus, sign: i64) {
    let field = match status {
        TraceStatus::Error => &mut counters.errors,
        TraceStatus::Timeout => &mut counters.timeouts,
        TraceStatus::Unanswered => &mut counters.unanswered,
        TraceStatus::Orphan => &mut counters.orphans,
        _ => return,
    };
    *field = field.saturating_add_signed(sign);
}

impl Correlator {
    /// A correlator over a store bounded as the options say.
    pub fn new(options: InspectorOptions) -> Self {
        Correlator {
            store: TraceStore::with_limits(options.capacity, options.max_memory),
            unanswered_after: options.unanswered_after,
            max_payload: options.max_payload,
            pending: VecDeque::new(),
            counters: Counters::default(),
            topics: HashSet::new(),
            topics_pruned_at: 64,
            lost_since: None,
            deep: DeepPending::default(),
            links: Linker::default(),
        }
    }

    /// Takes in one deep fact (from MONITOR); the trace it now belongs to, if it is
    /// stored already (otherwise it waits for its trace).
    pub fn ingest_deep(&mut self, event: DeepEvent) -> Option<TraceId> {
        let is_request = matches!(event.fact, super::deep::Fact::Request { .. });
        let id = self.deep.ingest(&mut self.store, event)?;
        if is_request {
            // Who sent it is known now: it may be the next step of a peer's pipe.
            self.links.infer(&mut self.store, id);
        }
        Some(id)
    }

    /// The traces.
    pub fn store(&self) -> &TraceStore {
        &self.store
    }

    pub(crate) fn store_mut(&mut self) -> &mut TraceStore {
        &mut self.store
    }

    /// The running totals.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// How many topic and channel names are interned.
    pub fn interned(&self) -> usize {
        self.topics.len()
    }

    /// Since when the capture is disconnected, if it is.
    pub fn lost_since(&self) -> Option<DateTime<Utc>> {
        self.lost_since
    }

    /// Takes in one event.
    pub fn ingest(&mut self, event: Event) -> Update {
        match event {
            Event::Message(message) => self.message(message),
            Event::Lost { at, .. } => {
                self.lost_since.get_or_insert(at);
                Update::Lost
            }
            Event::Gap(gap) => self.gap(gap),
        }
    }

    /// Marks requests pending since before `now - unanswered_after` as unanswered.
    pub fn sweep(&mut self, now: DateTime<Utc>, mut updated: impl FnMut(Update)) {
        while let Some(&id) = self.pending.front() {
            let Some(trace) = self.store.get_mut_uncounted(id) else {
                self.pending.pop_front();
                continue;
            };
            let waited = (now - trace.started).to_std().unwrap_or_default();
            if waited < self.unanswered_after {
                break;
            }
            self.pending.pop_front();
            if trace.status == TraceStatus::Pending {
                trace.status = TraceStatus::Unanswered;
                trace.unanswered_at = Some(now);
                self.counters.unanswered += 1;
                updated(self.settled(id));
            }
        }
        for composition in self.links.sweep(&mut self.store, now) {
            match composition {
                Settled::Made(id) => {
                    // A trace of the store like any other (the statistics leave it out:
                    // its steps are counted as themselves).
                    self.counters.traces += 1;
                    updated(Update::Opened(id));
                }
                Settled::Done(id) => updated(self.settled(id)),
            }
        }
    }

    /// A trace now complete: its first report, or a change to a reported one.
    fn settled(&mut self, id: TraceId) -> Update {
        self.links.settled(&mut self.store, id);
        let Some(trace) = self.store.get_mut_uncounted(id) else {
            return Update::Changed(id);
        };
        if !trace.is_complete() {
            return if trace.reported {
                Update::Changed(id)
            } else {
                Update::Grew(id)
            };
        }
        if trace.reported {
            trace.revision += 1;
            self.counters.updates += 1;
            Update::Changed(id)
        } else {
            trace.reported = true;
            Update::Completed(id)
        }
    }

    fn message(&mut self, mut message: MessageEvent) -> Update {
        self.counters.messages += 1;
        if message.shape != crate::protocol::Payload::Envelope {
            self.counters.malformed += 1;
        }
        if message.payload.len() > self.max_payload {
            self.counters.truncated += 1;
            message.truncate(self.max_payload);
        }
        message.topic = self.intern(&message.topic);
        // Reply channels are unique per sender; every other channel is shared by many
        // messages and kept once.
        if message.kind != EventKind::Response {
            message.channel = self.intern(&message.channel);
        }
        let update = match message.kind {
            EventKind::Request | EventKind::HealthPing => self.request(message),
            EventKind::Response | EventKind::HealthReply => self.reply(message),
            EventKind::Error => self.error(message),
            EventKind::Slot => self.single(message, TraceKind::Signal),
            EventKind::Other => self.single(message, TraceKind::Other),
        };
        self.forget_answered();
        update
    }

    /// Drops the requests at the front of the pending queue that are no longer pending
    /// (answered, or evicted). The sweep would pass them by anyway; dropping them as they
    /// are answered keeps the queue as long as the oldest wait, not as long as the
    /// traffic since the last sweep (at 10,000 requests a second, a queue that only the
    /// sweep shortened grew by millions, and each time it doubled it copied them all).
    fn forget_answered(&mut self) {
        while let Some(&id) = self.pending.front() {
            if self
                .store
                .get(id)
                .is_some_and(|trace| trace.status == TraceStatus::Pending)
            {
                break;
            }
            self.pending.pop_front();
        }
    }

    fn intern(&mut self, text: &Arc<str>) -> Arc<str> {
        if let Some(known) = self.topics.get(text) {
            return known.clone();
        }
        if self.topics.len() >= self.topics_pruned_at.saturating_mul(2) {
            // A name held only here belongs to no stored trace (nor to anything else).
            self.topics.retain(|name| Arc::strong_count(name) > 1);
            self.topics_pruned_at = self.topics.len().max(64);
        }
        self.topics.insert(text.clone());
        text.clone()
    }

    fn open(&mut self, kind: TraceKind, status: TraceStatus, message: &MessageEvent) -> Trace {
        self.counters.traces += 1;
        let mut trace = Trace::new(kind, status, message.at);
        trace.topic = message.topic.clone();
        trace.sender = message.sender.clone();
        if matches!(kind, TraceKind::Request | TraceKind::Health) && !trace.sender.is_empty() {
            trace.deep = self.deep.take(&message.sender);
        }
        trace
    }

    /// The trace a request with this sender completes: one that has its reply or error
    /// record but no request yet (the capture started between them), seen within the
    /// unanswered window. Anything older is another exchange that reused the sender.
    fn adoptable(&self, message: &MessageEvent) -> Option<TraceId> {
        if message.sender.is_empty() {
            return None;
        }
        let id = self.store.by_sender(&message.sender)?;
        let trace = self.store.get(id)?;
        let age = (message.at - trace.started).to_std().unwrap_or_default();
        let early = (trace.started - message.at).to_std().unwrap_or_default();
        (trace.request.is_none() && age.max(early) <= self.unanswered_after).then_some(id)
    }

    fn request(&mut self, message: MessageEvent) -> Update {
        let kind = if message.kind == EventKind::HealthPing {
            TraceKind::Health
        } else {
            TraceKind::Request
        };
        if let Some(id) = self.adoptable(&message) {
            let topic = message.topic.clone();
            let counters = &mut self.counters;
            let pending = self.store.update(id, |trace| {
                count_status(counters, trace.status, -1);
                let reply_code = trace
                    .reply
                    .as_ref()
                    .map(|reply| reply.code.unwrap_or(Code::OK));
                trace.kind = kind;
                trace.started = message.at;
                trace.status = reply_code.map_or(TraceStatus::Pending, status_of);
                count_status(counters, trace.status, 1);
                trace.request = Some(message);
                trace.status == TraceStatus::Pending
            });
            if pending == Some(true) {
                self.pending.push_back(id);
            }
            self.store.set_topic(id, topic);
            self.links.link(&mut self.store, id);
            return self.settled(id);
        }
        if message.sender.is_empty() {
            // Without a sender there is no reply channel: it can never be answered.
            let mut trace = self.open(kind, TraceStatus::Unanswered, &message);
            self.counters.unanswered += 1;
            trace.request = Some(message);
            let id = self.store.push(trace);
            return self.settled(id);
        }
        // The same request again (a retry of a PUBLISH that had gone out): one request,
        // not a second trace whose first would go unanswered.
        if let Some(id) = self.store.by_sender(&message.sender)
            && self.store.get(id).is_some_and(|trace| {
                trace.kind == kind
                    && trace.request.as_ref().is_some_and(|seen| {
                        seen.channel == message.channel
                            && seen.raw_channel == message.raw_channel
                            && seen.payload == message.payload
                            && seen.full_len == message.full_len
                    })
            })
        {
            self.store.update(id, |trace| trace.repeats += 1);
            return self.settled(id);
        }
        let mut trace = self.open(kind, TraceStatus::Pending, &message);
        trace.request = Some(message);
        let id = self.store.push(trace);
        self.pending.push_back(id);
        self.links.link(&mut self.store, id);
        self.links.infer(&mut self.store, id);
        Update::Opened(id)
    }

    fn reply(&mut self, mut message: MessageEvent) -> Update {
        let found = self.store.by_sender(&message.sender).filter(|id| {
            self.store
                .get(*id)
                .is_some_and(|trace| matches!(trace.kind, TraceKind::Request | TraceKind::Health))
        });
        let Some(id) = found else {
            self.counters.orphans += 1;
            let mut trace = self.open(TraceKind::Request, TraceStatus::Orphan, &message);
            trace.reply = Some(message);
            let id = self.store.push(trace);
            return self.settled(id);
        };
        let counters = &mut self.counters;
        let changed = self.store.update(id, |trace| {
            message.kind = trace.reply_kind();
            message.sender = trace.sender.clone();
            if trace.reply.is_some() {
                if trace.later_replies.len() < MAX_EXTRA_EVENTS {
                    trace.later_replies.push(message);
                } else {
                    trace.cut += 1;
                    counters.cut += 1;
                }
                return;
            }
            let code = message.code.unwrap_or(Code::OK);
            // A reply after the unanswered window corrects the status; the trace keeps
            // when it was marked.
            count_status(counters, trace.status, -1);
            trace.status = status_of(code);
            count_status(counters, trace.status, 1);
            trace.reply = Some(message);
        });
        if changed.is_none() {
            return Update::Changed(id);
        }
        self.settled(id)
    }

    fn error(&mut self, message: MessageEvent) -> Update {
        if !message.sender.is_empty()
            && let Some(id) = self.store.by_sender(&message.sender)
            && self.store.get(id).is_some()
        {
            let topic = message.topic.clone();
            let counters = &mut self.counters;
            self.store.update(id, |trace| {
                if trace.errors.len() < MAX_EXTRA_EVENTS {
                    trace.errors.push(message);
                } else {
                    trace.cut += 1;
                    counters.cut += 1;
                }
            });
            if !topic.is_empty() {
                self.store.set_topic(id, topic);
            }
            return self.settled(id);
        }
        self.counters.errors += 1;
        let mut trace = self.open(TraceKind::Error, TraceStatus::Error, &message);
        trace.errors.push(message);
        let id = self.store.push(trace);
        self.settled(id)
    }

    fn single(&mut self, message: MessageEvent, kind: TraceKind) -> Update {
        let status = status_of(message.code.unwrap_or(Code::OK));
        let mut trace = self.open(kind, status, &message);
        trace.request = Some(message);
        let id = self.store.push(trace);
        if kind == TraceKind::Signal {
            self.links.link(&mut self.store, id);
        }
        self.settled(id)
    }

    fn gap(&mut self, gap: GapEvent) -> Update {
        self.lost_since = None;
        self.counters.gaps += 1;
        self.counters.traces += 1;
        let mut trace = Trace::new(TraceKind::Gap, TraceStatus::Error, gap.since);
        trace.gap = Some(Box::new(gap));
        let id = self.store.push(trace);
        self.settled(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Channels;
    use std::sync::Arc;

    fn event(channel: &str, payload: &str) -> Event {
        Event::Message(MessageEvent::read(
            &Channels::default(),
            chrono::Utc::now(),
            channel,
            Arc::from(payload.as_bytes()),
        ))
    }

    fn correlator() -> Correlator {
        Correlator::new(InspectorOptions {
            capacity: 100,
            ..InspectorOptions::default()
        })
    }

    fn only(correlator: &Correlator) -> &Trace {
        assert_eq!(correlator.store().len(), 1);
        correlator.store().newest_first().next().expect("a trace")
    }

    const RECORD: &str = r#"{"topic":"gilmour.request.t","request_data":"1","user_data":"x","sender":"s","multi_process":false,"timestamp":"t","backtrace":null,"code":500}"#;

    #[test]
    fn an_error_record_before_its_request_is_adopted() {
        let mut correlator = correlator();
        correlator.ingest(event("gilmour.errors", RECORD));
        assert_eq!(only(&correlator).kind, TraceKind::Error);
        correlator.ingest(event("gilmour.request.t", r#"{"data":1,"sender":"s"}"#));
        assert_eq!(only(&correlator).status, TraceStatus::Pending);
        let update = correlator.ingest(event("gilmour.response.s", r#"{"data":"x","code":500}"#));
        assert!(
            matches!(update, Update::Changed(_)),
            "the error trace was reported already: this is a change to it"
        );
        let trace = only(&correlator);
        assert_eq!(
            (trace.kind, trace.status, trace.errors.len()),
            (TraceKind::Request, TraceStatus::Error, 1)
        );
        assert_eq!(correlator.counters().errors, 1, "counted once");
    }

    #[test]
    fn the_same_request_twice_is_one_request_delivered_again() {
        let mut correlator = correlator();
        let request = r#"{"data":1,"sender":"d"}"#;
        correlator.ingest(event("gilmour.request.t", request));
        correlator.ingest(event("gilmour.request.t", request));
        correlator.ingest(event("gilmour.response.d", r#"{"data":1,"code":200}"#));
        // One trace, answered: no second one, no first one left to go unanswered.
        let trace = only(&correlator);
        assert_eq!((trace.status, trace.repeats), (TraceStatus::Ok, 1));
        assert!(
            trace
                .notes()
                .iter()
                .any(|note| note.contains("1 more time,")),
            "{:?}",
            trace.notes()
        );
        assert_eq!(correlator.counters().traces, 1, "counted once");
        // Another request with that sender but other data is not a repeat.
        correlator.ingest(event("gilmour.request.t", r#"{"data":2,"sender":"d"}"#));
        assert_eq!(correlator.store().len(), 2);
    }

    #[test]
    fn a_broadcast_reply_finds_the_request_not_the_signal() {
        let mut correlator = correlator();
        correlator.ingest(event("gilmour.request.t", r#"{"data":1,"sender":"b"}"#));
        correlator.ingest(event("gilmour.slot.t", r#"{"data":1,"sender":"b"}"#));
        correlator.ingest(event("gilmour.response.b", r#"{"data":1,"code":200}"#));
        let kinds: Vec<(TraceKind, TraceStatus)> = correlator
            .store()
            .newest_first()
            .map(|trace| (trace.kind, trace.status))
            .collect();
        assert_eq!(
            kinds,
            [
                (TraceKind::Signal, TraceStatus::Ok),
                (TraceKind::Request, TraceStatus::Ok)
            ]
        );
        assert_eq!(correlator.counters().orphans, 0);
    }

    #[test]
    fn a_request_after_a_signal_with_its_sender_still_gets_its_reply() {
        let mut correlator = correlator();
        correlator.ingest(event("gilmour.slot.t", r#"{"data":1,"sender":"x"}"#));
        correlator.ingest(event("gilmour.request.t", r#"{"data":1,"sender":"x"}"#));
        correlator.ingest(event("gilmour.response.x", r#"{"data":1}"#));
        let newest = correlator.store().newest_first().next().expect("request");
        assert_eq!(
            (newest.kind, newest.status),
            (TraceKind::Request, TraceStatus::Ok)
        );
    }

    #[test]
    fn a_failed_orphan_completed_by_its_request_counts_as_an_error() {
        let mut correlator = correlator();
        correlator.ingest(event("gilmour.response.o", r#"{"data":"x","code":503}"#));
        assert_eq!(correlator.counters().orphans, 1);
        correlator.ingest(event("gilmour.request.t", r#"{"data":1,"sender":"o"}"#));
        let trace = only(&correlator);
        assert_eq!((trace.status, &*trace.topic), (TraceStatus::Error, "t"));
        let counters = correlator.counters();
        assert_eq!((counters.orphans, counters.errors), (0, 1));
    }

    fn small() -> Correlator {
        Correlator::new(InspectorOptions {
            capacity: 3,
            ..InspectorOptions::default()
        })
    }

    fn crowd_out(correlator: &mut Correlator, from: usize) {
        for n in from..from + 4 {
            correlator.ingest(event(
                "gilmour.request.other",
                &format!(r#"{{"data":1,"sender":"o{n}"}}"#),
            ));
        }
    }

    #[test]
    fn a_pinned_trace_past_eviction_takes_its_late_reply_and_error_record() {
        let mut correlator = small();
        correlator.ingest(event("gilmour.request.t", r#"{"data":1,"sender":"s"}"#));
        let id = correlator.store().by_sender("s").expect("traced");
        correlator.store_mut().pin(id).expect("room");
        crowd_out(&mut correlator, 0);
        assert!(correlator.store().first_id() > id, "eviction passed it by");
        let update = correlator.ingest(event("gilmour.response.s", r#"{"data":"x","code":500}"#));
        assert_eq!(update, Update::Completed(id));
        correlator.ingest(event("gilmour.errors", RECORD));
        let trace = correlator.store().get(id).expect("kept");
        assert_eq!(
            (trace.status, trace.reply.is_some(), trace.errors.len()),
            (TraceStatus::Error, true, 1)
        );
        assert_eq!(correlator.counters().orphans, 0, "no orphan for its reply");
        assert_eq!(
            correlator.counters().errors,
            1,
            "its record is no trace of its own"
        );
        assert_eq!(
            correlator.store().bytes(),
            correlator
                .store()
                .kept()
                .chain(correlator.store().newest_first())
                .map(Trace::footprint)
                .sum::<usize>(),
            "what it grew by is counted"
        );
        // Past the unanswered window it is not marked: it was answered.
        let later = chrono::Utc::now() + chrono::Duration::seconds(60);
        correlator.sweep(later, |_| {});
        let trace = correlator.store().get(id).expect("kept");
        assert_eq!(trace.status, TraceStatus::Error);
    }

    #[test]
    fn answered_requests_leave_the_pending_queue_without_a_sweep() {
        let mut correlator = correlator();
        for n in 0..1_000 {
            let sender = format!("s{n}");
            correlator.ingest(event(
                "gilmour.request.t",
                &format!(r#"{{"data":1,"sender":"{sender}"}}"#),
            ));
            correlator.ingest(event(
                &format!("gilmour.response.{sender}"),
                r#"{"data":2,"code":200}"#,
            ));
        }
        assert!(
            correlator.pending.is_empty(),
            "{}",
            correlator.pending.len()
        );
        // One still waiting holds the queue from there on, as the sweep needs it.
        correlator.ingest(event("gilmour.request.t", r#"{"data":1,"sender":"wait"}"#));
        correlator.ingest(event("gilmour.request.t", r#"{"data":1,"sender":"w2"}"#));
        correlator.ingest(event("gilmour.response.w2", r#"{"data":2,"code":200}"#));
        assert_eq!(correlator.pending.len(), 2);
        let later = chrono::Utc::now() + chrono::Duration::seconds(60);
        let mut unanswered = 0;
        correlator.sweep(later, |_| unanswered += 1);
        assert_eq!(unanswered, 1);
        assert!(correlator.pending.is_empty());
    }

    #[test]
    fn a_pinned_trace_still_waiting_is_marked_unanswered() {
        let mut correlator = small();
        correlator.ingest(event("gilmour.request.t", r#"{"data":1,"sender":"s"}"#));
        let id = correlator.store().by_sender("s").expect("traced");
        correlator.store_mut().pin(id).expect("room");
        crowd_out(&mut correlator, 0);
        let later = chrono::Utc::now() + chrono::Duration::seconds(60);
        correlator.sweep(later, |_| {});
        let trace = correlator.store().get(id).expect("kept");
        assert_eq!(trace.status, TraceStatus::Unanswered);
    }

    #[test]
    fn a_call_made_by_a_pinned_trace_past_eviction_hangs_under_it() {
        let mut correlator = small();
        correlator.ingest(event("gilmour.request.outer", r#"{"data":1,"sender":"o"}"#));
        let outer = correlator.store().by_sender("o").expect("traced");
        correlator.store_mut().pin(outer).expect("room");
        crowd_out(&mut correlator, 0);
        correlator.ingest(event(
            "gilmour.request.inner",
            r#"{"data":1,"sender":"i","parent":"o"}"#,
        ));
        let inner = correlator.store().by_sender("i").expect("traced");
        let store = correlator.store();
        let children: Vec<Option<TraceId>> = store
            .get(outer)
            .and_then(|trace| trace.links.as_ref())
            .map(|links| links.children.iter().map(|child| child.id).collect())
            .unwrap_or_default();
        assert_eq!(children, [Some(inner)]);
        let up = store
            .get(inner)
            .and_then(|trace| trace.links.as_ref()?.up());
        assert_eq!(up, Some(outer));
    }

    #[test]
    fn an_unpinned_trace_goes_with_its_index_entries() {
        let mut correlator = small();
        correlator.ingest(event("gilmour.request.t", r#"{"data":1,"sender":"s"}"#));
        let id = correlator.store().by_sender("s").expect("traced");
        correlator.store_mut().pin(id).expect("room");
        crowd_out(&mut correlator, 0);
        correlator.store_mut().unpin(id);
        let store = correlator.store();
        assert!(store.get(id).is_none() && store.by_sender("s").is_none());
        assert_eq!(store.by_topic("t").count(), 0);
        assert!(store.topics().all(|topic| &**topic != "t"), "no topic left");
        // Its late reply is an orphan now, not an update to a trace no one sees.
        correlator.ingest(event("gilmour.response.s", r#"{"data":"x"}"#));
        assert_eq!(correlator.counters().orphans, 1);
        // Never pinned: evicted with its entries as before.
        let mut correlator = small();
        correlator.ingest(event("gilmour.request.u", r#"{"data":1,"sender":"u"}"#));
        crowd_out(&mut correlator, 0);
        let store = correlator.store();
        assert!(store.by_sender("u").is_none() && store.by_topic("u").count() == 0);
        assert_eq!(store.kept().count(), 0);
    }

    #[test]
    fn filters_select_real_traces() {
        let mut correlator = correlator();
        correlator.ingest(event(
            "gilmour.request.echo",
            r#"{"data":"Hello","sender":"a"}"#,
        ));
        correlator.ingest(event(
            "gilmour.response.a",
            r#"{"data":"Hello","code":200}"#,
        ));
        correlator.ingest(event("gilmour.request.fail", r#"{"data":1,"sender":"b"}"#));
        correlator.ingest(event("gilmour.response.b", r#"{"data":"boom","code":500}"#));
        correlator.ingest(event(
            "gilmour.slot.user.new",
            r#"{"data":{"id":7},"sender":"c"}"#,
        ));
        let select = |text: &str| -> Vec<String> {
            let filter: crate::inspect::Filter = text.parse().expect("filter");
            correlator
                .store()
                .newest_first()
                .rev()
                .filter(|trace| filter.matches(*trace))
                .map(|trace| trace.topic.to_string())
                .collect()
        };
        assert_eq!(select("code:>=500"), ["fail"]);
        assert_eq!(select("kind:slot"), ["user.new"]);
        assert_eq!(select("status:ok kind:req"), ["echo"]);
        assert_eq!(select("data:hello"), ["echo"]);
        assert_eq!(select("not topic:user.*"), ["echo", "fail"]);
        assert_eq!(select("sender:b or sender:c"), ["fail", "user.new"]);
    }
}
