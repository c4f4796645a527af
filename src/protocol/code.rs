//! HTTP-like status codes carried in every message.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A Gilmour status code. 200 is success, anything at or above 300 is a failure.
///
/// Go sends 200 on requests and Ruby sends 0; a reply without a code counts as 200.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Code(pub i64);

impl Code {
    /// Success.
    pub const OK: Code = Code(200);
    /// The request was malformed.
    pub const BAD_REQUEST: Code = Code(400);
    /// Nobody listens on the topic.
    pub const NOT_FOUND: Code = Code(404);
    /// A client or handler timeout (Go's code).
    pub const TIMEOUT: Code = Code(499);
    /// The handler failed or panicked.
    pub const INTERNAL: Code = Code(500);
    /// Redis could not be reached, or the link dropped while waiting for the reply.
    pub const UNAVAILABLE: Code = Code(503);
    /// A handler timeout as Ruby and Java report it.
    pub const GATEWAY_TIMEOUT: Code = Code(504);

    /// Whether this code reports success. Ruby's 0 counts as success.
    pub fn is_ok(self) -> bool {
        self.0 < 300
    }

    /// Whether this code reports a failure (300 or above).
    pub fn is_failure(self) -> bool {
        !self.is_ok()
    }

    /// Whether this code means a timeout (499 from Go, 504 from Ruby and Java).
    pub fn is_timeout(self) -> bool {
        self == Code::TIMEOUT || self == Code::GATEWAY_TIMEOUT
    }
}

impl Default for Code {
    fn default() -> Self {
        Code::OK
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<i64> for Code {
    fn from(value: i64) -> Self {
        Code(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_and_failure() {
        assert!(Code::OK.is_ok());
        assert!(Code(0).is_ok(), "Ruby sends 0 on requests");
        assert!(Code(300).is_failure());
        assert!(Code::TIMEOUT.is_timeout() && Code::GATEWAY_TIMEOUT.is_timeout());
        assert!(!Code::INTERNAL.is_timeout());
    }
}
