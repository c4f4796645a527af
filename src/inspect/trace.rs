//! Traces: everything seen for one sender id — a request and its reply, a signal, an
//! orphan reply, a standalone error record, a health ping, or a gap in the capture.

use super::event::{EventKind, GapEvent, MessageEvent};
use super::filter::{FilterSubject, Needle, TraceKind, TraceStatus};
use crate::protocol::{Code, RecordLayout};
use chrono::{DateTime, Utc};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A trace's number in the store: increasing, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TraceId(pub u64);

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// One trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// Its number.
    pub id: TraceId,
    /// What it is.
    pub kind: TraceKind,
    /// Where it stands.
    pub status: TraceStatus,
    /// The topic (for health traces, the ident; empty for an orphan reply).
    pub topic: Arc<str>,
    /// The sender id that ties its messages together.
    pub sender: Arc<str>,
    /// When its first message was seen.
    pub started: DateTime<Utc>,
    /// The request, signal or health ping.
    pub request: Option<MessageEvent>,
    /// The first reply.
    pub reply: Option<MessageEvent>,
    /// Replies after the first (a late reply after a client timeout, duplicates).
    pub later_replies: Vec<MessageEvent>,
    /// How many more times the request itself came, the same message on the same
    /// channel (a publisher's retry that had gone out already): one request, not several.
    pub repeats: u32,
    /// Error records with this sender.
    pub errors: Vec<MessageEvent>,
    /// For a gap trace, the gap.
    pub gap: Option<Box<GapEvent>>,
    /// What deep capture (MONITOR) told about it: caller, lock races, responder, Redis's
    /// own timing.
    pub deep: Option<Box<super::deep::Deep>>,
    /// Where it sits in its call tree, when anything links it (see [`super::tree`]).
    pub links: Option<Box<super::tree::Links>>,
    /// Later replies and error records not kept because the trace had its fill of them.
    pub cut: u32,
    /// When the observer marked it unanswered, if it did: kept when a reply comes after
    /// all, so the trace tells both facts.
    pub unanswered_at: Option<DateTime<Utc>>,
    /// How many times it changed after it was first reported complete.
    pub revision: u32,
    /// Whether it was reported complete (an [`Update::Completed`] was handed out).
    ///
    /// [`Update::Completed`]: super::Update::Completed
    pub(crate) reported: bool,
    /// What the statistics hold of it, so that a change moves its figures.
    pub(crate) counted: Option<Counted>,
}

/// What a trace contributed to the statistics.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Counted {
    /// The label it is counted under.
    pub label: Arc<str>,
    /// Its second, for the rate windows.
    pub at: DateTime<Utc>,
    /// Whether it counted as failed.
    pub failed: bool,
    /// Whether its latency was recorded (it is recorded once: the first reply stays).
    pub latency: bool,
    /// Whether the label has figures of its own (see `stats::MAX_TOPICS`).
    pub tracked: bool,
    /// Whether its responder (from deep capture) was counted.
    pub responder: bool,
}

impl Trace {
    pub(crate) fn new(kind: TraceKind, status: TraceStatus, started: DateTime<Utc>) -> Trace {
        Trace {
            id: TraceId(0),
            kind,
            status,
            topic: Arc::from(""),
            sender: Arc::from(""),
            started,
            request: None,
            reply: None,
            later_replies: Vec::new(),
            repeats: 0,
            errors: Vec::new(),
            gap: None,
            deep: None,
            links: None,
            cut: 0,
            unanswered_at: None,
            revision: 0,
            reported: false,
            counted: None,
        }
    }

    /// The code that decides the trace's status: the reply's, else the request's or the
    /// first error record's.
    pub fn code(&self) -> Option<Code> {
        if self.kind == TraceKind::Composition {
            return self.links.as_ref().and_then(|links| links.code);
        }
        self.reply
            .as_ref()
            .and_then(|reply| reply.code)
            .or_else(|| match self.kind {
                TraceKind::Signal | TraceKind::Other => {
                    self.request.as_ref().and_then(|request| request.code)
                }
                _ => None,
            })
            .or_else(|| self.errors.first().and_then(|error| error.code))
    }

    /// From the request to its first reply, as the capture saw them.
    pub fn latency(&self) -> Option<Duration> {
        if self.kind == TraceKind::Composition {
            let ended = self.links.as_ref()?.ended?;
            return (ended - self.started).to_std().ok();
        }
        let request = self.request.as_ref()?;
        let reply = self.reply.as_ref()?;
        (reply.at - request.at).to_std().ok()
    }

    /// The bytes of every payload in the trace, as they were on the wire.
    pub fn size(&self) -> usize {
        self.events().map(MessageEvent::payload_len).sum()
    }

    /// Roughly how many bytes the trace holds in memory.
    pub fn footprint(&self) -> usize {
        std::mem::size_of::<Trace>()
            + self.sender.len()
            + self.events().map(MessageEvent::footprint).sum::<usize>()
            + self
                .gap
                .as_ref()
                .map_or(0, |gap| std::mem::size_of::<GapEvent>() + gap.reason.len())
            + self.links.as_ref().map_or(0, |links| links.footprint())
    }

    /// A later reply that answered after the caller's timeout notice: how long after
    /// the request, and with what code.
    pub fn answered_after_timeout(&self) -> Option<(Duration, Code)> {
        let first = self.reply.as_ref()?;
        if !first.code.is_some_and(Code::is_timeout) {
            return None;
        }
        let answer = self
            .later_replies
            .iter()
            .find(|reply| !reply.code.is_some_and(Code::is_timeout))?;
        let since = self.request.as_ref().map_or(first.at, |request| request.at);
        Some((
            (answer.at - since).to_std().unwrap_or_default(),
            answer.code.unwrap_or(Code::OK),
        ))
    }

    /// Timeout notices that came after a successful reply (Go's client timer is never
    /// cancelled, so every timed request is followed by a 499): not a failure.
    pub fn spurious_timeouts(&self) -> usize {
        let answered_ok = self
            .reply
            .as_ref()
            .is_some_and(|reply| reply.code.is_none_or(|code| !code.is_timeout()));
        if !answered_ok {
            return 0;
        }
        self.later_replies
            .iter()
            .filter(|reply| reply.code.is_some_and(Code::is_timeout))
            .count()
    }

    /// What an operator should know beyond the status, one sentence each: late answers,
    /// spurious timeout notices, records from Go-style publishers, payloads kept short,
    /// payloads that did not parse, messages cut.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if let Some((after, code)) = self.answered_after_timeout() {
            notes.push(format!(
                "timed out at the caller; the responder answered {code} {} after the request",
                human_latency(after)
            ));
        }
        if let (Some(marked), Some(latency)) = (self.unanswered_at, self.latency()) {
            let waited = self
                .request
                .as_ref()
                .and_then(|request| (marked - request.at).to_std().ok())
                .unwrap_or_default();
            notes.push(format!(
                "shown as unanswered after {}; the reply came {} after the request",
                human_latency(waited),
                human_latency(latency)
            ));
        }
        if self.repeats > 0 {
            notes.push(format!(
                "the request came {} more time{}, the same message on the same channel: one request, published again",
                self.repeats,
                if self.repeats == 1 { "" } else { "s" }
            ));
        }
        let spurious = self.spurious_timeouts();
        if spurious > 0 {
            notes.push(format!(
                "spurious timeout notice after success ({spurious}): the caller's timer fired after its reply, not a failure"
            ));
        }
        for event in self.events() {
            if event.kind == EventKind::Error
                && let Some(note) = event.layout.and_then(RecordLayout::note)
            {
                notes.push(format!("error record {note}"));
            }
            if let Some(why) = &event.payload_error {
                notes.push(format!("{} payload kept as is: {why}", event.kind.as_str()));
            }
            if let Some(full) = event.full_len {
                notes.push(format!(
                    "{} payload of {full} bytes: only its first {} bytes are kept",
                    event.kind.as_str(),
                    event.payload.len()
                ));
            }
        }
        if self.cut > 0 {
            notes.push(format!(
                "{} later replies or error records not kept (at most {} of each per trace)",
                self.cut,
                super::correlate::MAX_EXTRA_EVENTS
            ));
        }
        notes
    }

    /// Whether [`Trace::notes`] has anything to say, without writing it (a list asks
    /// this of every row it draws).
    pub fn has_notes(&self) -> bool {
        self.answered_after_timeout().is_some()
            || (self.unanswered_at.is_some() && self.latency().is_some())
            || self.spurious_timeouts() > 0
            || self.cut > 0
            || self.is_flagged()
            || self.errors.iter().any(|event| {
                event.kind == EventKind::Error
                    && event.layout.and_then(RecordLayout::note).is_some()
            })
    }

    /// Whether any of its payloads is flagged (not an envelope, did not parse, cut short).
    pub fn is_flagged(&self) -> bool {
        self.events()
            .any(|event| event.payload_error.is_some() || event.full_len.is_some())
    }

    /// Every message of the trace, in the order they were seen.
    pub fn events(&self) -> impl Iterator<Item = &MessageEvent> {
        self.request
            .iter()
            .chain(self.reply.iter())
            .chain(self.later_replies.iter())
            .chain(self.errors.iter())
    }

    /// Whether nothing more is expected for it.
    pub fn is_complete(&self) -> bool {
        self.status != TraceStatus::Pending
    }

    /// The message whose data best shows what the trace is about: the reply when there
    /// is one, else the request, else the first error.
    pub fn headline(&self) -> Option<&MessageEvent> {
        self.reply
            .as_ref()
            .or(self.request.as_ref())
            .or(self.errors.first())
    }

    /// Whether this is a health exchange (hidden by default).
    pub fn is_health(&self) -> bool {
        self.kind == TraceKind::Health
    }

    /// The kind of event the reply is (health replies are told apart by their ping).
    pub(crate) fn reply_kind(&self) -> EventKind {
        if self.kind == TraceKind::Health {
            EventKind::HealthReply
        } else {
            EventKind::Response
        }
    }
}

/// The finest latency the capture can tell apart: two messages stamped closer than this
/// were, for all the observer knows, read together.
pub const LATENCY_RESOLUTION: Duration = Duration::from_micros(50);

/// A latency as people read it: `0.42ms`, `13ms`, `2.1s`, and `<0.05ms` below the
/// capture's resolution.
pub fn human_latency(latency: Duration) -> String {
    let millis = latency.as_secs_f64() * 1000.0;
    if latency < LATENCY_RESOLUTION {
        format!("<{:.2}ms", LATENCY_RESOLUTION.as_secs_f64() * 1000.0)
    } else if millis < 10.0 {
        format!("{millis:.2}ms")
    } else if millis < 1_000.0 {
        format!("{millis:.0}ms")
    } else if millis < 10_000.0 {
        format!("{:.2}s", latency.as_secs_f64())
    } else {
        format!("{:.1}s", latency.as_secs_f64())
    }
}

/// The status a reply code gives.
pub fn status_of(code: Code) -> TraceStatus {
    if code.is_timeout() {
        TraceStatus::Timeout
    } else if code.is_ok() {
        TraceStatus::Ok
    } else {
        TraceStatus::Error
    }
}

impl FilterSubject for Trace {
    fn topic(&self) -> &str {
        &self.topic
    }

    fn code(&self) -> Option<i64> {
        Trace::code(self).map(|code| code.0)
    }

    fn kind(&self) -> TraceKind {
        self.kind
    }

    fn status(&self) -> TraceStatus {
        self.status
    }

    fn sender(&self) -> &str {
        &self.sender
    }

    fn latency(&self) -> Option<Duration> {
        Trace::latency(self)
    }

    fn responder(&self) -> Option<(Option<&str>, &str)> {
        let client = self.deep.as_ref()?.responder.as_ref()?;
        Some((client.name.as_deref(), &client.addr))
    }

    fn caller(&self) -> Option<(Option<&str>, &str)> {
        let client = self.deep.as_ref()?.caller.as_ref()?;
        Some((client.name.as_deref(), &client.addr))
    }

    fn contenders(&self) -> Option<i64> {
        let deep = self.deep.as_ref()?;
        (!deep.locks.is_empty()).then(|| deep.contenders() as i64)
    }

    fn is_root(&self) -> bool {
        Trace::is_root(self)
    }

    fn in_composition(&self) -> bool {
        Trace::in_composition(self)
    }

    fn is_slow_step(&self) -> bool {
        self.is_slowest_step()
    }

    fn payload_contains(&self, needle: &Needle) -> bool {
        self.request
            .iter()
            .chain(self.reply.iter())
            .any(|event| needle.is_in(&event.payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_read_well() {
        assert_eq!(human_latency(Duration::from_micros(1310)), "1.31ms");
        assert_eq!(human_latency(Duration::from_millis(130)), "130ms");
        assert_eq!(human_latency(Duration::from_secs(12)), "12.0s");
        assert_eq!(human_latency(Duration::from_micros(3)), "<0.05ms");
        assert_eq!(human_latency(Duration::ZERO), "<0.05ms");
    }

    #[test]
    fn has_notes_says_whether_notes_has_any() {
        let mut trace = Trace::new(TraceKind::Request, TraceStatus::Ok, chrono::Utc::now());
        assert!(!trace.has_notes() && trace.notes().is_empty());
        trace.cut = 1;
        assert!(trace.has_notes() && !trace.notes().is_empty());
    }

    #[test]
    fn status_from_codes() {
        assert_eq!(status_of(Code::OK), TraceStatus::Ok);
        assert_eq!(status_of(Code(0)), TraceStatus::Ok);
        assert_eq!(status_of(Code::TIMEOUT), TraceStatus::Timeout);
        assert_eq!(status_of(Code::GATEWAY_TIMEOUT), TraceStatus::Timeout);
        assert_eq!(status_of(Code(404)), TraceStatus::Error);
    }

    #[test]
    fn needles_ignore_ascii_case() {
        let needle = Needle::new("World").expect("needle");
        assert!(needle.is_in(b"hello wORLD"));
        assert!(!needle.is_in(b"hello"));
        assert!(Needle::new("").expect("empty").is_in(b"x"));
        assert!(
            Needle::new("a.b").expect("dot").is_in(b"xa.by")
                && !Needle::new("a.b").expect("dot").is_in(b"axb")
        );
        assert!(
            Needle::new("café ☃")
                .expect("unicode")
                .is_in("CAFé ☃".as_bytes())
        );
    }
}
