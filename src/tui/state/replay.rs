//! The replay form: a trace sent again with another topic or timeout, a number of times,
//! all at once or at a rate. What it sends links back to the original like any replay,
//! so each copy's detail shows its reply against the original's.

use super::input::LineInput;
use crate::tui::model::Fire;
use crate::tui::target::{REPLAY_TIMEOUT, Target};
use gilmour::inspect::TraceId;
use std::time::Duration;

/// The most copies one replay sends.
pub const MOST_COPIES: u32 = 1_000;

/// The form's fields, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayField {
    /// The topic to send to.
    Topic,
    /// How long a request waits for its reply.
    Timeout,
    /// How many copies.
    Count,
    /// Copies per second (empty: all at once).
    Rate,
}

impl ReplayField {
    const ALL: [ReplayField; 4] = [
        ReplayField::Topic,
        ReplayField::Timeout,
        ReplayField::Count,
        ReplayField::Rate,
    ];

    /// The field after (or before) this one, round.
    pub fn step(self, forward: bool) -> ReplayField {
        let at = ReplayField::ALL
            .iter()
            .position(|field| *field == self)
            .unwrap_or(0);
        let len = ReplayField::ALL.len();
        ReplayField::ALL[if forward {
            (at + 1) % len
        } else {
            (at + len - 1) % len
        }]
    }
}

/// The replay form.
#[derive(Debug, Clone)]
pub struct ReplayForm {
    /// The trace replayed.
    pub original: TraceId,
    /// What it sent.
    pub target: Target,
    /// The topic.
    pub topic: LineInput,
    /// The timeout, in seconds (requests only).
    pub timeout: LineInput,
    /// How many copies.
    pub count: LineInput,
    /// Copies per second; empty for all at once.
    pub rate: LineInput,
    /// The field with the keyboard.
    pub focus: ReplayField,
}

/// What a filled-in form sends.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayPlan {
    /// The trace replayed.
    pub original: TraceId,
    /// One copy.
    pub fire: Fire,
    /// Copies still to send.
    pub left: u32,
    /// Copies a second; `None`: all at once.
    pub rate: Option<u32>,
}

impl ReplayForm {
    /// A form to replay `original`, which sent `target`, as it was.
    pub fn new(original: TraceId, target: Target) -> ReplayForm {
        ReplayForm {
            original,
            topic: LineInput::new(target.topic.clone()),
            timeout: LineInput::new(REPLAY_TIMEOUT.as_secs().to_string()),
            count: LineInput::new("1"),
            rate: LineInput::new(String::new()),
            target,
            focus: ReplayField::Topic,
        }
    }

    /// The field with the keyboard.
    pub fn focused(&mut self) -> &mut LineInput {
        match self.focus {
            ReplayField::Topic => &mut self.topic,
            ReplayField::Timeout => &mut self.timeout,
            ReplayField::Count => &mut self.count,
            ReplayField::Rate => &mut self.rate,
        }
    }

    /// What to send, or what is wrong with the form.
    pub fn plan(&self) -> Result<ReplayPlan, String> {
        let topic = self.topic.text().trim();
        if topic.is_empty() {
            return Err("the topic is empty".to_owned());
        }
        if topic.contains('*') {
            return Err("a replay goes to one topic, not a pattern".to_owned());
        }
        let timeout = self
            .timeout
            .text()
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|seconds| *seconds > 0.0 && *seconds <= 3600.0)
            .ok_or("the timeout is seconds, more than 0 and at most 3600")?;
        let count = self
            .count
            .text()
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|count| (1..=MOST_COPIES).contains(count))
            .ok_or(format!("the count is 1 to {MOST_COPIES}"))?;
        let rate = match self.rate.text().trim() {
            "" => None,
            text => Some(
                text.parse::<u32>()
                    .ok()
                    .filter(|rate| (1..=MOST_COPIES).contains(rate))
                    .ok_or(format!(
                        "the rate is copies a second, 1 to {MOST_COPIES} (empty: all at once)"
                    ))?,
            ),
        };
        let target = Target {
            topic: topic.to_owned(),
            ..self.target.clone()
        };
        let data = target.data.clone();
        let fire = match target.fire(data) {
            Fire::Request { topic, data, .. } => Fire::Request {
                topic,
                data,
                timeout: Duration::from_secs_f64(timeout),
            },
            other => other,
        };
        Ok(ReplayPlan {
            original: self.original,
            fire,
            left: count,
            rate,
        })
    }
}

impl ReplayPlan {
    /// The copies to send now: all of them, or a second's worth at a rate.
    pub fn take(&mut self) -> Vec<Fire> {
        let now = self.rate.map_or(self.left, |rate| rate.min(self.left));
        self.left -= now;
        (0..now).map(|_| self.fire.clone()).collect()
    }
}
