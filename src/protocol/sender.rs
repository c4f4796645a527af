//! Sender ids: the one value that ties a request to its reply, its lock and its errors.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The opaque id of one request or signal (Go: a UUID v4, Ruby: 32 hex digits).
///
/// It names the reply channel (`gilmour.response.<sender>`) and, with the group name, the
/// lock key. Treat it as text: never parse it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct Sender(pub String);

impl Sender {
    /// A fresh random sender id, as Go makes them (UUID v4 text).
    pub fn random() -> Self {
        Sender(uuid::Uuid::new_v4().to_string())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last eight characters, for lists where the whole id would not fit (see
    /// [`short_sender`]).
    pub fn short(&self) -> &str {
        short_sender(&self.0)
    }

    /// The lock key that makes a group exclusive for this sender: the sender and the
    /// group name concatenated, with nothing between (as Go and Ruby do).
    pub fn lock_key(&self, group: &str) -> String {
        let mut key = String::with_capacity(self.0.len() + group.len());
        key.push_str(&self.0);
        key.push_str(group);
        key
    }
}

/// The last eight characters of a sender id: where ids differ, whatever their shape
/// (random UUIDs and hex ids anywhere, ours — `<engine id>-<n>` — at the end).
pub fn short_sender(sender: &str) -> &str {
    let count = sender.chars().count();
    match sender.char_indices().nth(count.saturating_sub(8)) {
        Some((at, _)) => &sender[at..],
        None => sender,
    }
}

impl fmt::Display for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Sender {
    fn from(value: &str) -> Self {
        Sender(value.to_owned())
    }
}

impl From<String> for Sender {
    fn from(value: String) -> Self {
        Sender(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_key_concatenates_without_separator() {
        assert_eq!(Sender::from("abc").lock_key("_default"), "abc_default");
    }

    #[test]
    fn random_is_uuid_text() {
        let sender = Sender::random();
        assert_eq!(sender.as_str().len(), 36);
        assert_ne!(sender, Sender::random());
        assert_eq!(sender.short().len(), 8);
        assert_eq!(Sender::from("ab").short(), "ab");
        assert_eq!(short_sender("0123456789abcdef-42"), "bcdef-42");
    }
}
