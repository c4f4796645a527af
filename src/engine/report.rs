//! Reporting failures according to the error policy.

use super::ErrorPolicy;
use crate::protocol::{Channels, Code, ErrorRecord, Sender};
use crate::transport::Commands;
use serde_json::Value;

/// A failure to report: everything the record needs.
pub(crate) struct Failure<'a> {
    pub channel: &'a str,
    pub request_data: &'a Value,
    pub user_data: &'a Value,
    pub sender: &'a Sender,
    pub code: Code,
    pub backtrace: Option<String>,
}

impl Failure<'_> {
    fn record(&self) -> ErrorRecord {
        ErrorRecord {
            topic: self.channel.to_owned(),
            request_data: Value::String(self.request_data.to_string()),
            user_data: self.user_data.clone(),
            sender: self.sender.clone(),
            multi_process: false,
            timestamp: chrono::Utc::now().to_rfc3339(),
            backtrace: self.backtrace.clone().map_or(Value::Null, Value::String),
            code: self.code,
        }
    }
}

/// Sends a failure where the policy says. A report that cannot be sent is logged: the
/// failure itself has already been answered.
pub(crate) async fn report(
    policy: ErrorPolicy,
    channels: &Channels,
    commands: &Commands,
    failure: Failure<'_>,
) {
    let result = match policy {
        ErrorPolicy::Ignore => return,
        ErrorPolicy::Publish => commands
            .publish_retrying(channels.error_channel(), &failure.record().to_json())
            .await
            .map(drop),
        ErrorPolicy::Queue => {
            commands
                .queue_error(channels.error_queue(), &failure.record().to_json())
                .await
        }
    };
    if let Err(error) = result {
        tracing::warn!(%error, channel = failure.channel, "could not report a failure");
    }
}
