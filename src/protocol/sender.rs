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

    /// The first eight characters, for lists where the whole id would not fit.
    pub fn short(&self) -> &str {
        match self.0.char_indices().nth(8) {
            Some((at, _)) => &self.0[..at],
            None => &self.0,
        }
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
    }
}
