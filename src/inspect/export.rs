//! Traces as JSON, for `gilmour tail --json` and anything that pipes into `jq`.

use super::event::MessageEvent;
use super::trace::Trace;
use serde_json::{Value, json};

/// One trace as a JSON object: what it is, where it stands, its timings and every
/// message (payloads parsed when they are JSON, as text otherwise).
pub fn trace_json(trace: &Trace) -> Value {
    let mut object = json!({
        "id": trace.id.0,
        "kind": trace.kind.as_str(),
        "status": trace.status.as_str(),
        "topic": &*trace.topic,
        "sender": &*trace.sender,
        "started": trace.started.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "code": trace.code().map(|code| code.0),
        "latency_ms": trace.latency().map(|latency| latency.as_secs_f64() * 1000.0),
        "size": trace.size(),
    });
    let Value::Object(fields) = &mut object else {
        return object;
    };
    if let Some(request) = &trace.request {
        fields.insert("request".into(), message_json(request));
    }
    if let Some(reply) = &trace.reply {
        fields.insert("reply".into(), message_json(reply));
    }
    if !trace.later_replies.is_empty() {
        let later = trace.later_replies.iter().map(message_json).collect();
        fields.insert("later_replies".into(), Value::Array(later));
    }
    if !trace.errors.is_empty() {
        let errors = trace.errors.iter().map(message_json).collect();
        fields.insert("errors".into(), Value::Array(errors));
    }
    if let Some(gap) = &trace.gap {
        fields.insert(
            "gap".into(),
            json!({
                "since": gap.since.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                "until": gap.until.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                "lost_ms": gap.lost().as_secs_f64() * 1000.0,
                "reason": gap.reason,
            }),
        );
    }
    object
}

fn message_json(event: &MessageEvent) -> Value {
    let payload = serde_json::from_slice::<Value>(&event.payload)
        .unwrap_or_else(|_| Value::String(event.text().into_owned()));
    json!({
        "at": event.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "channel": &*event.channel,
        "kind": event.kind.as_str(),
        "payload": payload,
    })
}
