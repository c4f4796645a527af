//! Channel names: where each kind of Gilmour message travels, and the reverse mapping from
//! a channel back to its kind and topic (which the inspector needs).

use super::{Ident, Sender};
use thiserror::Error;

/// Why a topic cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TopicError {
    /// The topic is empty.
    #[error("a topic may not be empty")]
    Empty,
    /// Reply topics are exact channels; only slots may use patterns.
    #[error("reply topic `{0}` contains `*`: only slots may subscribe to patterns")]
    WildcardReply(String),
}

/// What travels on a channel, read from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelKind {
    /// `<prefix>.request.<topic>`
    Request,
    /// `<prefix>.response.<sender>`
    Response,
    /// `<prefix>.slot.<topic>`
    Slot,
    /// `<prefix>.health.<ident>`: pings to one process.
    Health,
    /// Raw error records (Go's `gilmour.errors`).
    ErrorRecords,
    /// Error records wrapped in a message envelope (Ruby's `gilmour.error`).
    ErrorEnvelopes,
    /// Anything else under the prefix.
    Other,
}

/// The channel and key names of one Gilmour deployment.
///
/// The defaults are Go's: prefix `gilmour`, error channel `gilmour.errors`, error queue
/// `gilmour.errorqueue`, health hash `gilmour.known_host.health`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channels {
    prefix: String,
    dotted: String,
    error_channel: String,
    error_queue: String,
    health_hash: String,
}

impl Default for Channels {
    fn default() -> Self {
        Channels::new("gilmour")
    }
}

impl Channels {
    /// The names for a channel prefix, with the error channel, queue and health hash
    /// named after it as Go names them.
    pub fn new(prefix: &str) -> Self {
        Channels {
            prefix: prefix.to_owned(),
            dotted: format!("{prefix}."),
            error_channel: format!("{prefix}.errors"),
            error_queue: format!("{prefix}.errorqueue"),
            health_hash: format!("{prefix}.known_host.health"),
        }
    }

    /// Uses another channel for published error records.
    pub fn with_error_channel(mut self, channel: &str) -> Self {
        channel.clone_into(&mut self.error_channel);
        self
    }

    /// Uses another list for queued error records.
    pub fn with_error_queue(mut self, queue: &str) -> Self {
        queue.clone_into(&mut self.error_queue);
        self
    }

    /// The channel prefix, without the dot.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Where the publish error policy sends records.
    pub fn error_channel(&self) -> &str {
        &self.error_channel
    }

    /// The list the queue error policy pushes records onto.
    pub fn error_queue(&self) -> &str {
        &self.error_queue
    }

    /// The hash of known health idents.
    pub fn health_hash(&self) -> &str {
        &self.health_hash
    }

    /// Ruby's error channel: records wrapped in a message envelope.
    pub fn ruby_error_channel(&self) -> String {
        format!("{}error", self.dotted)
    }

    /// The request channel of a topic. A topic already under the prefix is used as it is.
    pub fn request(&self, topic: &str) -> String {
        self.under("request.", topic)
    }

    /// The slot channel of a topic. A topic already under the prefix is used as it is.
    pub fn slot(&self, topic: &str) -> String {
        self.under("slot.", topic)
    }

    /// The channel that carries the reply to `sender`.
    pub fn response(&self, sender: &Sender) -> String {
        format!("{}response.{}", self.dotted, sender)
    }

    /// The health channel of a process.
    pub fn health(&self, ident: &Ident) -> String {
        format!("{}health.{}", self.dotted, ident)
    }

    /// A pattern that matches the reply channels of every sender id starting with
    /// `sender_prefix` (glob characters in the names are escaped).
    pub fn response_pattern(&self, sender_prefix: &str) -> String {
        let mut pattern = escape_glob(&self.dotted);
        pattern.push_str("response.");
        pattern.push_str(&escape_glob(sender_prefix));
        pattern.push('*');
        pattern
    }

    /// A pattern that matches every channel under the prefix.
    pub fn everything_pattern(&self) -> String {
        let mut pattern = escape_glob(&self.dotted);
        pattern.push('*');
        pattern
    }

    /// The kind of a channel and the rest of its name (the topic, sender or ident).
    pub fn classify<'a>(&self, channel: &'a str) -> (ChannelKind, &'a str) {
        if channel == self.error_channel {
            return (ChannelKind::ErrorRecords, "");
        }
        let Some(rest) = channel.strip_prefix(self.dotted.as_str()) else {
            return (ChannelKind::Other, channel);
        };
        let kinds = [
            ("request.", ChannelKind::Request),
            ("response.", ChannelKind::Response),
            ("slot.", ChannelKind::Slot),
            ("health.", ChannelKind::Health),
        ];
        for (head, kind) in kinds {
            if let Some(name) = rest.strip_prefix(head) {
                return (kind, name);
            }
        }
        match rest {
            "errors" => (ChannelKind::ErrorRecords, ""),
            "error" => (ChannelKind::ErrorEnvelopes, ""),
            _ => (ChannelKind::Other, rest),
        }
    }

    fn under(&self, kind: &str, topic: &str) -> String {
        if topic.starts_with(self.dotted.as_str()) {
            topic.to_owned()
        } else {
            let mut channel = String::with_capacity(self.dotted.len() + kind.len() + topic.len());
            channel.push_str(&self.dotted);
            channel.push_str(kind);
            channel.push_str(topic);
            channel
        }
    }
}

/// Checks a topic that a responder wants to serve.
pub(crate) fn check_reply_topic(topic: &str) -> Result<(), TopicError> {
    check_topic(topic)?;
    if topic.contains('*') {
        return Err(TopicError::WildcardReply(topic.to_owned()));
    }
    Ok(())
}

/// Checks any topic.
pub(crate) fn check_topic(topic: &str) -> Result<(), TopicError> {
    if topic.is_empty() {
        return Err(TopicError::Empty);
    }
    Ok(())
}

/// Whether a topic subscribes to a pattern rather than one channel.
pub fn is_pattern(topic: &str) -> bool {
    topic.contains('*')
}

fn escape_glob(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        if matches!(character, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_channel_names() {
        let channels = Channels::default();
        assert_eq!(channels.request("echo"), "gilmour.request.echo");
        assert_eq!(channels.slot("user.*"), "gilmour.slot.user.*");
        assert_eq!(
            channels.response(&Sender::from("abc")),
            "gilmour.response.abc"
        );
        assert_eq!(
            channels.health(&Ident("h-pid-1-uuid-u".into())),
            "gilmour.health.h-pid-1-uuid-u"
        );
        assert_eq!(channels.error_channel(), "gilmour.errors");
        assert_eq!(channels.error_queue(), "gilmour.errorqueue");
        assert_eq!(channels.health_hash(), "gilmour.known_host.health");
    }

    #[test]
    fn topics_under_the_prefix_are_used_as_they_are() {
        let channels = Channels::default();
        assert_eq!(channels.request("gilmour.health.x"), "gilmour.health.x");
    }

    #[test]
    fn classify_round_trips() {
        let channels = Channels::default();
        assert_eq!(
            channels.classify("gilmour.request.a.b"),
            (ChannelKind::Request, "a.b")
        );
        assert_eq!(
            channels.classify("gilmour.response.s"),
            (ChannelKind::Response, "s")
        );
        assert_eq!(
            channels.classify("gilmour.errors"),
            (ChannelKind::ErrorRecords, "")
        );
        assert_eq!(
            channels.classify("gilmour.error"),
            (ChannelKind::ErrorEnvelopes, "")
        );
        assert_eq!(channels.classify("other"), (ChannelKind::Other, "other"));
    }

    #[test]
    fn patterns_escape_glob_characters() {
        let channels = Channels::new("we*ird");
        assert_eq!(channels.response_pattern("ab"), r"we\*ird.response.ab*");
        assert_eq!(Channels::default().everything_pattern(), "gilmour.*");
    }

    #[test]
    fn reply_topics_refuse_wildcards() {
        assert_eq!(
            check_reply_topic("a.*"),
            Err(TopicError::WildcardReply("a.*".into()))
        );
        assert_eq!(check_reply_topic(""), Err(TopicError::Empty));
        assert!(check_reply_topic("a.b").is_ok());
    }
}
