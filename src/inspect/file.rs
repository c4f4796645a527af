//! Capture files: every event as one JSON line, so that a capture can be replayed offline
//! through the same correlator, grepped, or fed to `jq`.
//!
//! ```text
//! {"at":"2026-11-29T21:00:00.000001Z","channel":"gilmour.request.echo","payload":"{\"data\":1,…}"}
//! {"at":"…","channel":"…","payload_hex":"fffe"}          (a payload that is not UTF-8)
//! {"at":"…","channel":"gilmour.request.\\xff","channel_hex":"…","payload":"…"}  (a channel that is not)
//! {"at":"…","lost":"the connection was closed"}
//! {"at":"…","gap":{"since":"…","reason":"…"}}
//! ```

use super::event::{Event, GapEvent, MessageEvent};
use crate::protocol::Channels;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::sync::Arc;
use thiserror::Error;

/// A capture file line that could not be read.
#[derive(Debug, Error)]
pub enum FileError {
    /// Reading failed.
    #[error("cannot read the capture file: {0}")]
    Io(#[from] std::io::Error),
    /// A line is not a capture record.
    #[error("line {line}: not a capture record: {reason}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Serialize, Deserialize)]
struct Line {
    at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    channel_hex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    payload: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    payload_hex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lost: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gap: Option<GapLine>,
}

#[derive(Serialize, Deserialize)]
struct GapLine {
    since: DateTime<Utc>,
    reason: String,
}

/// Writes one event as a line.
pub fn write_event(out: &mut impl Write, event: &Event) -> std::io::Result<()> {
    let line = match event {
        Event::Message(message) => {
            let (payload, payload_hex) = match std::str::from_utf8(&message.payload) {
                Ok(text) => (Some(text.to_owned()), None),
                Err(_) => (None, Some(hex(&message.payload))),
            };
            Line {
                at: message.at,
                channel: Some(message.channel.to_string()),
                channel_hex: message.raw_channel.as_deref().map(hex),
                payload,
                payload_hex,
                lost: None,
                gap: None,
            }
        }
        Event::Lost { at, reason } => Line {
            at: *at,
            channel: None,
            channel_hex: None,
            payload: None,
            payload_hex: None,
            lost: Some(reason.clone()),
            gap: None,
        },
        Event::Gap(gap) => Line {
            at: gap.until,
            channel: None,
            channel_hex: None,
            payload: None,
            payload_hex: None,
            lost: None,
            gap: Some(GapLine {
                since: gap.since,
                reason: gap.reason.clone(),
            }),
        },
    };
    serde_json::to_writer(&mut *out, &line)?;
    out.write_all(b"\n")
}

/// Reads events back, line by line; blank lines are skipped.
pub fn read_events<R: BufRead>(
    input: R,
    channels: Channels,
) -> impl Iterator<Item = Result<Event, FileError>> {
    input
        .lines()
        .enumerate()
        .filter(|(_, line)| line.as_ref().map_or(true, |text| !text.trim().is_empty()))
        .map(move |(index, line)| parse_line(&channels, index + 1, &line?))
}

fn parse_line(channels: &Channels, number: usize, text: &str) -> Result<Event, FileError> {
    let bad = |reason: String| FileError::Line {
        line: number,
        reason,
    };
    let line: Line = serde_json::from_str(text).map_err(|error| bad(error.to_string()))?;
    if let Some(gap) = line.gap {
        return Ok(Event::Gap(GapEvent {
            since: gap.since,
            until: line.at,
            reason: gap.reason,
        }));
    }
    if let Some(reason) = line.lost {
        return Ok(Event::Lost {
            at: line.at,
            reason,
        });
    }
    let channel = match (line.channel_hex, line.channel) {
        (Some(hex), _) => unhex(&hex).ok_or_else(|| bad("channel_hex is not hex".to_owned()))?,
        (None, Some(channel)) => channel.into_bytes(),
        (None, None) => return Err(bad("no channel, lost or gap field".to_owned())),
    };
    let payload: Vec<u8> = match (line.payload, line.payload_hex) {
        (Some(text), _) => text.into_bytes(),
        (None, Some(hex)) => unhex(&hex).ok_or_else(|| bad("payload_hex is not hex".to_owned()))?,
        (None, None) => Vec::new(),
    };
    Ok(Event::Message(MessageEvent::read_bytes(
        channels,
        line.at,
        &channel,
        Arc::from(payload),
    )))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_a_file() {
        let channels = Channels::default();
        let at = Utc::now();
        let events = vec![
            Event::Message(MessageEvent::read(
                &channels,
                at,
                "gilmour.request.echo",
                Arc::from(&br#"{"data":"a\nb","code":200,"sender":"s"}"#[..]),
            )),
            Event::Message(MessageEvent::read(
                &channels,
                at,
                "gilmour.request.echo",
                Arc::from(&[0xff_u8, 0x00, 0x41][..]),
            )),
            Event::Message(MessageEvent::read_bytes(
                &channels,
                at,
                b"gilmour.request.caf\xe9",
                Arc::from(&b"{\"data\":1,\"sender\":\"x\"}"[..]),
            )),
            Event::Lost {
                at,
                reason: "closed".into(),
            },
            Event::Gap(GapEvent {
                since: at,
                until: at + chrono::Duration::milliseconds(3200),
                reason: "closed".into(),
            }),
        ];
        let mut file = Vec::new();
        for event in &events {
            write_event(&mut file, event).expect("write");
        }
        assert_eq!(file.iter().filter(|byte| **byte == b'\n').count(), 5);
        let read: Vec<Event> = read_events(&file[..], channels)
            .collect::<Result<_, _>>()
            .expect("read back");
        assert_eq!(read, events);
    }

    #[test]
    fn bad_lines_name_their_number() {
        let input = "{\"at\":\"2026-01-01T00:00:00Z\",\"lost\":\"x\"}\n\nnot json\n";
        let results: Vec<_> = read_events(input.as_bytes(), Channels::default()).collect();
        assert!(results[0].is_ok());
        let error = results[1].as_ref().expect_err("bad line");
        assert!(
            error
                .to_string()
                .starts_with("line 3: not a capture record"),
            "{error}"
        );
    }
}
