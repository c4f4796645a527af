//! How much the inspector keeps: the options `tail` and the terminal app share.

use anyhow::Context;
use bytesize::ByteSize;
use clap::Args;
use gilmour::inspect::InspectorOptions;
use std::time::Duration;

/// The inspector's bounds.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// The most traces kept (the oldest are evicted, and counted).
    #[arg(long, default_value_t = gilmour::inspect::DEFAULT_CAPACITY)]
    pub capacity: usize,
    /// The most memory the stored traces hold, e.g. `256MiB` or `1GB` (oldest evicted first).
    #[arg(long, value_name = "BYTES", default_value = "256MiB", value_parser = parse_bytes)]
    pub max_memory: usize,
    /// Payloads longer than this keep only a prefix and their length (`record` writes
    /// them whole).
    #[arg(long, value_name = "BYTES", default_value = "64KiB", value_parser = parse_bytes)]
    pub max_payload: usize,
    /// Seconds a request may wait for its reply before it is shown as unanswered.
    #[arg(long, default_value_t = 30.0)]
    pub unanswered_after: f64,
}

impl Default for StoreArgs {
    fn default() -> Self {
        let defaults = InspectorOptions::default();
        StoreArgs {
            capacity: defaults.capacity,
            max_memory: defaults.max_memory,
            max_payload: defaults.max_payload,
            unanswered_after: defaults.unanswered_after.as_secs_f64(),
        }
    }
}

impl StoreArgs {
    /// The options they give.
    pub fn options(&self) -> anyhow::Result<InspectorOptions> {
        let unanswered_after = Duration::try_from_secs_f64(self.unanswered_after)
            .context("--unanswered-after must be a positive number of seconds")?;
        Ok(InspectorOptions {
            capacity: self.capacity,
            max_memory: self.max_memory,
            max_payload: self.max_payload.max(1),
            unanswered_after,
        })
    }
}

fn parse_bytes(text: &str) -> Result<usize, String> {
    let size: ByteSize = text
        .trim()
        .parse()
        .map_err(|error| format!("`{text}` is not a size such as 256MiB or 64KiB: {error}"))?;
    usize::try_from(size.as_u64()).map_err(|_| format!("`{text}` is too large"))
}

/// Bytes as people read them: `12.3 MiB`.
pub fn human_bytes(bytes: u64) -> String {
    ByteSize(bytes).display().iec().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(parse_bytes("256MiB"), Ok(256 << 20));
        assert_eq!(parse_bytes("64 KiB"), Ok(64 << 10));
        assert_eq!(parse_bytes("1000"), Ok(1000));
        assert!(parse_bytes("lots").is_err());
        assert_eq!(human_bytes(3 << 20), "3.0 MiB");
    }
}
