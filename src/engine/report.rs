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
        ErrorPolicy::Publish => {
            let channel = channels.error_channel();
            // Ruby's channel carries Ruby's layout; any other carries Go's raw record.
            let payload = if channel == channels.ruby_error_channel() {
                let sender = Sender(uuid::Uuid::new_v4().simple().to_string());
                failure.record().to_ruby_envelope(&sender)
            } else {
                failure.record().to_json()
            };
            commands.publish_retrying(channel, &payload).await.map(drop)
        }
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
