//! Traces: everything seen for one sender id — a request and its reply, a signal, an
//! orphan reply, a standalone error record, a health ping, or a gap in the capture.

use super::event::{EventKind, GapEvent, MessageEvent};
use super::filter::{FilterSubject, Needle, TraceKind, TraceStatus};
use crate::protocol::Code;
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
    /// Error records with this sender.
    pub errors: Vec<MessageEvent>,
    /// For a gap trace, the gap.
    pub gap: Option<Box<GapEvent>>,
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
            errors: Vec::new(),
            gap: None,
        }
    }

    /// The code that decides the trace's status: the reply's, else the request's or the
    /// first error record's.
    pub fn code(&self) -> Option<Code> {
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
        let request = self.request.as_ref()?;
        let reply = self.reply.as_ref()?;
        (reply.at - request.at).to_std().ok()
    }

    /// The bytes of every payload in the trace.
    pub fn size(&self) -> usize {
        self.events().map(|event| event.payload.len()).sum()
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

/// A latency as people read it: `0.42ms`, `13ms`, `2.1s`.
pub fn human_latency(latency: Duration) -> String {
    let millis = latency.as_secs_f64() * 1000.0;
    if millis < 10.0 {
        format!("{millis:.2}ms")
    } else if millis < 10_000.0 {
        format!("{millis:.0}ms")
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
