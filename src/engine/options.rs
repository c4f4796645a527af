//! Options for handlers and requests, and the error policy.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The group every reply handler is in unless told otherwise.
pub const DEFAULT_GROUP: &str = "_default";
/// The group of health responders.
pub const HEALTH_GROUP: &str = "exclusive";
/// How long a handler may run before it is answered for with 499 (Go's default).
pub const DEFAULT_HANDLER_TIMEOUT: Duration = Duration::from_secs(600);
/// The data of a 499 reply: a handler or a caller ran out of time (Go's wording).
pub const TIMED_OUT: &str = "Execution timed out";
/// How long a request waits for its reply unless told otherwise.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(600);

/// How a handler is subscribed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerOptions {
    /// The exclusive group: exactly one handler of a group, across all processes, handles
    /// each message. Replies without a group are in [`DEFAULT_GROUP`]; slots without a
    /// group all receive every signal.
    pub group: Option<String>,
    /// How long the handler may run.
    pub timeout: Duration,
}

impl Default for HandlerOptions {
    fn default() -> Self {
        HandlerOptions {
            group: None,
            timeout: DEFAULT_HANDLER_TIMEOUT,
        }
    }
}

impl HandlerOptions {
    /// Puts the handler in a group.
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }

    /// Sets the handler timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// How a request is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestOptions {
    /// How long to wait for the reply before resolving with 499.
    pub timeout: Duration,
}

impl Default for RequestOptions {
    fn default() -> Self {
        RequestOptions {
            timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

impl RequestOptions {
    /// Sets the client timeout.
    pub fn timeout(timeout: Duration) -> Self {
        RequestOptions { timeout }
    }
}

/// What happens to messages published with a code of 300 or more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorPolicy {
    /// Nothing (Go's default).
    #[default]
    Ignore,
    /// `PUBLISH <error channel> <record>`.
    Publish,
    /// `LPUSH <error queue> <record>` then `LTRIM <error queue> 0 9999`.
    Queue,
}

impl fmt::Display for ErrorPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorPolicy::Ignore => "ignore",
            ErrorPolicy::Publish => "publish",
            ErrorPolicy::Queue => "queue",
        })
    }
}

impl FromStr for ErrorPolicy {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "ignore" => Ok(ErrorPolicy::Ignore),
            "publish" => Ok(ErrorPolicy::Publish),
            "queue" => Ok(ErrorPolicy::Queue),
            other => Err(format!(
                "unknown error policy `{other}` (expected publish, queue or ignore)"
            )),
        }
    }
}
