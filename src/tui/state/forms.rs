//! The fire form and the data editor: their fields and their validation, checked as the
//! user types (composition syntax, JSON data, timeout) so that Enter only ever sends
//! something well-formed.

use super::input::{LineInput, TextEditor};
use crate::tui::model::Fire;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use gilmour::inspect::TraceId;
use serde_json::Value;
use std::time::Duration;

/// What the fire form sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FireKind {
    /// A request, waiting for its reply.
    Request,
    /// A signal.
    Signal,
    /// A composition of requests.
    Compose,
}

impl FireKind {
    /// Every kind, in the order ←/→ cycles them.
    pub const ALL: [FireKind; 3] = [FireKind::Request, FireKind::Signal, FireKind::Compose];

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            FireKind::Request => "request",
            FireKind::Signal => "signal",
            FireKind::Compose => "composition",
        }
    }
}

/// The fields of the fire form, top to bottom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FireField {
    /// Request, signal or composition.
    Kind,
    /// The topic, or the composition text.
    Target,
    /// The data, JSON.
    Data,
    /// Seconds to wait.
    Timeout,
}

impl FireField {
    const ORDER: [FireField; 4] = [
        FireField::Kind,
        FireField::Target,
        FireField::Data,
        FireField::Timeout,
    ];

    /// The next field down (or up), wrapping.
    pub fn step(self, down: bool) -> FireField {
        let at = Self::ORDER.iter().position(|f| *f == self).unwrap_or(0);
        let len = Self::ORDER.len();
        Self::ORDER[if down {
            (at + 1) % len
        } else {
            (at + len - 1) % len
        }]
    }
}

/// The fire form.
#[derive(Debug, Clone, PartialEq)]
pub struct FireForm {
    /// What to send.
    pub kind: FireKind,
    /// The topic or composition text.
    pub target: LineInput,
    /// The data, on as many lines as it takes.
    pub data: TextEditor,
    /// The timeout, in seconds.
    pub timeout: LineInput,
    /// The field being edited.
    pub focus: FireField,
    /// Seen topics that complete what is typed.
    pub suggestions: Vec<String>,
    /// What the form did with the last character typed in the target, if it did not
    /// just take it.
    pub notice: Option<Notice>,
}

/// What the form did with a character a topic cannot have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// It belongs to the composition syntax: the form became a composition.
    Composed(char),
    /// It can be in no topic: it was not taken.
    Refused(char),
}

impl Notice {
    /// The line the form shows.
    pub fn text(self) -> String {
        match self {
            Notice::Composed(' ') => {
                "a topic has no spaces: switched to compose (←/→ on kind to go back)".to_owned()
            }
            Notice::Composed(c) => {
                format!("`{c}` makes a composition: switched to compose (←/→ on kind to go back)")
            }
            Notice::Refused(c) => format!("a topic cannot contain `{}`", c.escape_debug()),
        }
    }
}

/// Characters of the composition syntax that no topic has: typed in a topic, they mean a
/// composition.
fn is_composition_char(c: char) -> bool {
    " |&;[](),{}\"".contains(c)
}

impl Default for FireForm {
    fn default() -> Self {
        FireForm {
            kind: FireKind::Request,
            target: LineInput::default(),
            data: TextEditor::default(),
            timeout: LineInput::new("30"),
            focus: FireField::Target,
            suggestions: Vec::new(),
            notice: None,
        }
    }
}

/// JSON text as a value: empty is `null`. Why not, says where: `not JSON at 2:5: …`,
/// line and column (in characters, from 1) of the text as typed.
pub fn parse_data(text: &str) -> Result<Value, String> {
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(text).map_err(|error| {
        let (line, column) = error_position(text, error.line(), error.column());
        // The message without serde's own " at line L column C" (its column counts bytes).
        let message = error.to_string();
        let suffix = format!(" at line {} column {}", error.line(), error.column());
        let message = message.strip_suffix(&suffix).unwrap_or(&message);
        format!("not JSON at {line}:{column}: {message}")
    })
}

/// serde_json's position (line from 1, column in bytes from 1; 0 before the line's first
/// byte) as line and character column, from 1.
fn error_position(text: &str, line: usize, byte_column: usize) -> (usize, usize) {
    let Some(row) = text.split('\n').nth(line.saturating_sub(1)) else {
        return (line, byte_column.max(1));
    };
    let mut end = byte_column.min(row.len());
    while !row.is_char_boundary(end) {
        end -= 1;
    }
    (line, row[..end].chars().count().max(1))
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
        .filter(|timeout| !timeout.is_zero())
        .ok_or_else(|| "the timeout must be a positive number of seconds".to_owned())
}

/// Characters a topic is made of (as the composition syntax reads them), plus `*`.
fn is_topic_char(c: char) -> bool {
    c.is_alphanumeric() || "._-:*".contains(c)
}

impl FireForm {
    /// Why the target cannot be sent, if it cannot.
    pub fn target_error(&self) -> Option<String> {
        let text = self.target.text().trim();
        match self.kind {
            _ if text.is_empty() => Some("type a topic".to_owned()),
            FireKind::Request if text.contains('*') => {
                Some("a request topic may not contain `*`".to_owned())
            }
            // The message may name a column of its own (`unclosed '[' opened at column 8`):
            // where the parser stopped goes first.
            FireKind::Compose => gilmour::compose::parse(text)
                .err()
                .map(|error| format!("column {}: {}", error.column, error.message)),
            _ => None,
        }
    }

    /// Why the data cannot be sent, if it cannot.
    pub fn data_error(&self) -> Option<String> {
        parse_data(&self.data.text()).err()
    }

    /// Why the timeout cannot be used, if it cannot.
    pub fn timeout_error(&self) -> Option<String> {
        match self.kind {
            FireKind::Signal => None,
            _ => parse_timeout(self.timeout.text()).err(),
        }
    }

    /// What to send, or the first reason it cannot be.
    pub fn to_fire(&self) -> Result<Fire, String> {
        if let Some(error) = self
            .target_error()
            .or_else(|| self.data_error())
            .or_else(|| self.timeout_error())
        {
            return Err(error);
        }
        let target = self.target.text().trim().to_owned();
        let data = parse_data(&self.data.text())?;
        Ok(match self.kind {
            FireKind::Request => Fire::Request {
                topic: target,
                data,
                timeout: parse_timeout(self.timeout.text())?,
            },
            FireKind::Signal => Fire::Signal {
                topic: target,
                data,
            },
            FireKind::Compose => Fire::Compose {
                text: target,
                data,
                timeout: parse_timeout(self.timeout.text())?,
            },
        })
    }

    /// A key in the target field: a request or signal topic takes only the characters a
    /// topic has; one of the composition syntax switches the form to a composition (the
    /// README's `echo | [echo, echo]` typed into a fresh form), anything else is refused.
    /// True when the text changed.
    pub fn edit_target(&mut self, key: &KeyEvent) -> bool {
        let typed = match key.code {
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => Some(c),
            _ => None,
        };
        if let Some(c) = typed
            && self.kind != FireKind::Compose
            && !is_topic_char(c)
        {
            if is_composition_char(c) && !self.target.text().trim().is_empty() {
                self.kind = FireKind::Compose;
                self.notice = Some(Notice::Composed(c));
            } else {
                self.notice = Some(Notice::Refused(c));
                return false;
            }
        } else if matches!(self.notice, Some(Notice::Refused(_))) {
            self.notice = None;
        }
        self.target.edit(key)
    }

    /// The topic being typed: the whole target, or a composition's last word.
    fn word(&self) -> &str {
        let text = self.target.text();
        let start = text
            .char_indices()
            .rev()
            .find(|(_, c)| !is_topic_char(*c))
            .map_or(0, |(at, c)| at + c.len_utf8());
        &text[start..]
    }

    /// Finds the seen topics that start with the word being typed (at most 5).
    pub fn suggest<'a>(&mut self, topics: impl Iterator<Item = &'a str>) {
        let word = self.word();
        let mut found: Vec<String> = topics
            .filter(|topic| topic.starts_with(word) && *topic != word && !topic.is_empty())
            .map(str::to_owned)
            .collect();
        found.sort();
        found.truncate(5);
        self.suggestions = found;
    }

    /// Completes the word being typed with the first suggestion; false when there is none.
    pub fn complete(&mut self) -> bool {
        let Some(topic) = self.suggestions.first().cloned() else {
            return false;
        };
        let text = self.target.text();
        let kept = &text[..text.len() - self.word().len()];
        self.target.set(format!("{kept}{topic}"));
        self.suggestions.clear();
        true
    }
}

/// Editing a trace's data before replaying it.
#[derive(Debug, Clone, PartialEq)]
pub struct EditForm {
    /// The trace to replay.
    pub original: TraceId,
    /// What it is (`request echo`), for the title.
    pub what: String,
    /// The data, pretty JSON.
    pub data: TextEditor,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_as_typed() {
        let mut form = FireForm::default();
        assert_eq!(form.target_error().as_deref(), Some("type a topic"));
        form.target.set("echo");
        form.data = TextEditor::new("{\"a\":");
        assert!(
            form.data_error()
                .is_some_and(|error| error.starts_with("not JSON at 1:"))
        );
        form.data = TextEditor::new("{\"a\": 1}");
        assert_eq!(
            form.to_fire(),
            Ok(Fire::Request {
                topic: "echo".into(),
                data: serde_json::json!({"a": 1}),
                timeout: Duration::from_secs(30),
            })
        );
        form.kind = FireKind::Compose;
        form.target.set("fetch | ");
        assert!(
            form.target_error()
                .is_some_and(|error| error.starts_with("column ")),
            "{:?}",
            form.target_error()
        );
        form.target.set("echo | [echo, echo");
        let error = form.target_error().unwrap_or_default();
        assert!(
            error.starts_with("column ") && error.matches("column").count() <= 2,
            "one 'at column' after another: {error}"
        );
        form.timeout.set("0");
        form.kind = FireKind::Signal;
        form.target.set("user.*");
        assert!(form.to_fire().is_ok(), "signals need no timeout");
    }

    fn typed(form: &mut FireForm, text: &str) {
        for c in text.chars() {
            form.edit_target(&KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
    }

    #[test]
    fn a_composition_typed_as_a_topic_switches_the_form_to_compose() {
        let mut form = FireForm::default();
        typed(&mut form, "echo | [echo, echo]");
        assert_eq!(form.kind, FireKind::Compose);
        assert_eq!(form.notice, Some(Notice::Composed(' ')));
        assert_eq!(form.target.text(), "echo | [echo, echo]");
        assert_eq!(form.target_error(), None);
        assert!(matches!(form.to_fire(), Ok(Fire::Compose { .. })));
    }

    #[test]
    fn a_topic_refuses_what_no_topic_has() {
        let mut form = FireForm {
            kind: FireKind::Signal,
            ..FireForm::default()
        };
        typed(&mut form, "user/created");
        assert_eq!(form.target.text(), "usercreated", "`/` was not taken");
        assert_eq!(form.kind, FireKind::Signal);
        assert_eq!(
            form.notice, None,
            "the next character taken clears the refusal"
        );
        typed(&mut form, " ");
        assert_eq!(
            form.kind,
            FireKind::Compose,
            "a space after a topic: a composition"
        );
        let mut fresh = FireForm::default();
        typed(&mut fresh, "|");
        assert_eq!(fresh.target.text(), "", "nothing to compose yet");
        assert_eq!(fresh.notice, Some(Notice::Refused('|')));
    }

    #[test]
    fn completes_the_last_word_from_seen_topics() {
        let mut form = FireForm {
            kind: FireKind::Compose,
            ..FireForm::default()
        };
        form.target.set("weather.fetch | wea");
        let seen = ["weather.fetch", "weather.group", "echo"];
        form.suggest(seen.into_iter());
        assert_eq!(form.suggestions, ["weather.fetch", "weather.group"]);
        assert!(form.complete());
        assert_eq!(form.target.text(), "weather.fetch | weather.fetch");
        assert!(!form.complete());
    }
}
