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
/// How many messages one route handles at once unless told otherwise.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 1024;
/// How many messages one route keeps waiting for a free slot unless told otherwise.
pub const DEFAULT_QUEUE: usize = 4096;
/// The data of the 503 a caller gets when the handler is still running as the engine's
/// shutdown timeout runs out.
pub const SHUTTING_DOWN: &str = "service shutting down";

/// How a handler is subscribed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerOptions {
    /// The exclusive group: exactly one handler of a group, across all processes, handles
    /// each message. Replies without a group are in [`DEFAULT_GROUP`]; slots without a
    /// group all receive every signal.
    pub group: Option<String>,
    /// How long the handler may run.
    pub timeout: Duration,
    /// How many messages this route handles at once (at least 1). A grouped route at
    /// capacity lets the other members of its group try for each lock first.
    pub max_in_flight: usize,
    /// How many messages wait for a free slot beyond those in flight. When the queue is
    /// full a grouped route does not compete for the lock at all, and an ungrouped slot
    /// drops the signal (counted as shed, and logged).
    pub queue: usize,
}

impl Default for HandlerOptions {
    fn default() -> Self {
        HandlerOptions {
            group: None,
            timeout: DEFAULT_HANDLER_TIMEOUT,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            queue: DEFAULT_QUEUE,
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

    /// Sets how many messages the route handles at once (0 counts as 1).
    pub fn max_in_flight(mut self, max_in_flight: usize) -> Self {
        self.max_in_flight = max_in_flight;
        self
    }

    /// Sets how many messages may wait for a free slot.
    pub fn queue(mut self, queue: usize) -> Self {
        self.queue = queue;
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
