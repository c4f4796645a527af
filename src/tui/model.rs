//! Plain data the app is made of: screens, where traffic comes from, what is fired, hosts
//! and queued errors. No behaviour beyond reading what it holds, and nothing from the rest
//! of the app: every other module may use it.

use chrono::{DateTime, Utc};
use gilmour::inspect::stats::Summary;
use gilmour::inspect::{EventKind, MessageEvent, Trace, TraceId};
use gilmour::protocol::{Channels, ErrorView};
use std::sync::Arc;
use std::time::Duration;

/// The screens, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// The live trace list.
    Traces,
    /// Per-topic figures.
    Topics,
    /// The error queue and the error channel.
    Errors,
    /// Known hosts and listened topics.
    Services,
}

impl Screen {
    /// Every screen, in tab order.
    pub const ALL: [Screen; 4] = [
        Screen::Traces,
        Screen::Topics,
        Screen::Errors,
        Screen::Services,
    ];

    /// The tab title.
    pub fn title(self) -> &'static str {
        match self {
            Screen::Traces => "Traces",
            Screen::Topics => "Topics",
            Screen::Errors => "Errors",
            Screen::Services => "Services",
        }
    }
}

/// Where the traffic comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A live capture on Redis.
    Live {
        /// The URL, password hidden.
        url: String,
        /// Whether the capture connection is up.
        connected: bool,
    },
    /// A capture file, read offline.
    File {
        /// Its path.
        path: String,
        /// Whether it has been read to the end.
        done: bool,
    },
}

/// A topic's row on the topics screen.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicRow {
    /// Its figures.
    pub summary: Summary,
    /// Traces per second over the last minute, oldest first.
    pub recent: Vec<u32>,
}

/// A trace's first error record that reads as one, and the message it came in: what the
/// Errors screen lists for the trace, and what re-sending it sends. A record kept only as
/// a prefix does not read, and so is not listed.
pub fn live_record<'a>(
    channels: &Channels,
    trace: &'a Trace,
) -> Option<(ErrorView, &'a MessageEvent)> {
    trace
        .errors
        .iter()
        .filter(|event| event.kind == EventKind::Error && event.full_len.is_none())
        .find_map(|event| Some((ErrorView::parse(channels, &event.payload)?, event)))
}

/// How many queue entries a page holds.
pub const ERRORS_PAGE: usize = 50;

/// A trace listed on the errors screen for a record seen live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveError {
    /// The trace.
    pub id: TraceId,
    /// The channel its record came on (Go's `<prefix>.errors`, Ruby's `<prefix>.error`, or
    /// the configured one), so the screen names the channels it counts.
    pub channel: Arc<str>,
}

/// How many live error traces the errors screen keeps.
pub const LIVE_ERRORS: usize = 500;

/// A request, signal or composition to send.
#[derive(Debug, Clone, PartialEq)]
pub enum Fire {
    /// A request to a topic.
    Request {
        /// The topic.
        topic: String,
        /// The data.
        data: serde_json::Value,
        /// How long to wait.
        timeout: Duration,
    },
    /// A signal.
    Signal {
        /// The topic.
        topic: String,
        /// The data.
        data: serde_json::Value,
    },
    /// A composition.
    Compose {
        /// Its text.
        text: String,
        /// The input data.
        data: serde_json::Value,
        /// The step timeout.
        timeout: Duration,
    },
}

/// A line at the bottom saying what just happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The text (cleaned when drawn).
    pub text: String,
    /// Whether it reports a failure.
    pub failure: bool,
    /// When it was said (it fades after a while).
    pub at: DateTime<Utc>,
}

/// A composition the app fired, to show a step's neighbours.
#[derive(Debug, Clone, PartialEq)]
pub struct FiredComposition {
    /// Its text.
    pub text: String,
    /// The execution's id: its composition trace's sender.
    pub id: String,
    /// Each step that ran: topic, sender, code.
    pub steps: Vec<(String, Option<String>, i64)>,
    /// Its input data.
    pub input: serde_json::Value,
}

/// A record's request data: JSON text in a string (Go), or JSON (others).
pub fn request_data(record: &ErrorView) -> serde_json::Value {
    match &record.request_data {
        serde_json::Value::String(text) => {
            serde_json::from_str(text).unwrap_or_else(|_| record.request_data.clone())
        }
        other => other.clone(),
    }
}

/// What a trace is, as the list and the detail name it: the filter's name for its kind,
/// but `reply` for an orphan reply (its request was never seen: it is no `req`).
pub fn kind_label(trace: &Trace) -> &'static str {
    if trace.status == gilmour::inspect::TraceStatus::Orphan {
        "reply"
    } else {
        trace.kind.as_str()
    }
}

/// Whether `channel` matches the subscription pattern `pattern` (`*` any run of
/// characters, `?` one, as Redis's PSUBSCRIBE reads them; Gilmour's slots use `*`).
pub fn pattern_matches(pattern: &str, channel: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let channel: Vec<char> = channel.chars().collect();
    // The classic two-pointer glob match: on a mismatch, retry from the last `*`.
    let (mut p, mut c) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while c < channel.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, c));
                p += 1;
            }
            Some('?') => {
                p += 1;
                c += 1;
            }
            Some(&want) if want == channel[c] => {
                p += 1;
                c += 1;
            }
            _ => match star {
                Some((at, from)) => {
                    p = at + 1;
                    c = from + 1;
                    star = Some((at, from + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::pattern_matches;

    #[test]
    fn patterns_match_as_psubscribe_reads_them() {
        assert!(pattern_matches(
            "gilmour.slot.event.*",
            "gilmour.slot.event.level.completed"
        ));
        assert!(pattern_matches("*", ""));
        assert!(pattern_matches("a?c*", "abcdef"));
        assert!(pattern_matches("a*b*c", "axxbyyc"));
        assert!(!pattern_matches(
            "gilmour.slot.event.*",
            "gilmour.slot.events"
        ));
        assert!(!pattern_matches("a*b", "ac"));
    }
}
