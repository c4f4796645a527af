//! Traces as JSON, for `gilmour tail --json` and anything that pipes into `jq`.

use super::deep::{Client, Deep, LockRace};
use super::event::{EventKind, MessageEvent};
use super::trace::{LATENCY_RESOLUTION, Trace};
use super::tree::Links;
use crate::protocol::{Channels, ErrorView};
use serde_json::{Value, json};

/// One trace as a JSON object: what it is, where it stands, its timings and every
/// message (payloads parsed when they are JSON, as text otherwise), with what is known
/// beyond the status (`notes`) and why a payload was not a message (`payload_error`).
/// Error records read with the default channel names; see [`trace_json_with`].
pub fn trace_json(trace: &Trace) -> Value {
    trace_json_with(&Channels::default(), trace)
}

/// [`trace_json`] for a deployment's own channel names.
pub fn trace_json_with(channels: &Channels, trace: &Trace) -> Value {
    let mut object = json!({
        "id": trace.id.0,
        "kind": trace.kind.as_str(),
        "status": trace.status.as_str(),
        "topic": &*trace.topic,
        "sender": &*trace.sender,
        "started": trace.started.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "code": trace.code().map(|code| code.0),
        "latency_ms": trace.latency().map(|latency| latency.as_secs_f64() * 1000.0),
        "latency_resolution_ms": LATENCY_RESOLUTION.as_secs_f64() * 1000.0,
        "size": trace.size(),
    });
    let Value::Object(fields) = &mut object else {
        return object;
    };
    let message = |event: &MessageEvent| message_json(channels, event);
    if let Some(request) = &trace.request {
        fields.insert("request".into(), message(request));
    }
    if let Some(reply) = &trace.reply {
        fields.insert("reply".into(), message(reply));
    }
    if !trace.later_replies.is_empty() {
        let later = trace.later_replies.iter().map(message).collect();
        fields.insert("later_replies".into(), Value::Array(later));
    }
    if !trace.errors.is_empty() {
        let errors = trace.errors.iter().map(message).collect();
        fields.insert("errors".into(), Value::Array(errors));
    }
    if let Some(why) = trace
        .events()
        .find_map(|event| event.payload_error.as_deref())
    {
        fields.insert("payload_error".into(), Value::from(why));
    }
    if let Some(marked) = trace.unanswered_at {
        fields.insert(
            "unanswered_at".into(),
            Value::from(marked.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        );
    }
    if let Some((after, code)) = trace.answered_after_timeout() {
        fields.insert(
            "answered_after_timeout".into(),
            json!({"after_ms": after.as_secs_f64() * 1000.0, "code": code.0}),
        );
    }
    let spurious = trace.spurious_timeouts();
    if spurious > 0 {
        fields.insert("spurious_timeouts".into(), Value::from(spurious));
    }
    if trace.cut > 0 {
        fields.insert("cut".into(), Value::from(trace.cut));
    }
    let notes = trace.notes();
    if !notes.is_empty() {
        fields.insert("notes".into(), Value::from(notes));
    }
    if let Some(deep) = &trace.deep {
        deep_json(deep, fields);
    }
    if let Some(links) = &trace.links {
        links_json(links, fields);
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

/// Where the trace sits in its call tree: `parent` (the sender id of the request whose
/// handler made it), `children` (the sender ids of its calls; a composition's steps),
/// `composition` (`id`, `step`, and `inferred` when the inspector guessed it).
fn links_json(links: &Links, fields: &mut serde_json::Map<String, Value>) {
    if let Some(parent) = &links.parent {
        fields.insert("parent".into(), Value::from(&*parent.sender));
    }
    if !links.children.is_empty() {
        let children = links
            .children
            .iter()
            .map(|child| Value::from(&*child.sender))
            .collect();
        fields.insert("children".into(), Value::Array(children));
    }
    if links.cut > 0 {
        fields.insert("children_cut".into(), Value::from(links.cut));
    }
    if let Some(step) = &links.step_of {
        let mut composition = json!({"id": &*step.composition.sender, "step": &*step.step});
        if links.inferred {
            composition["inferred"] = Value::Bool(true);
        }
        fields.insert("composition".into(), composition);
    }
    if links.inferred && links.step_of.is_none() {
        fields.insert("inferred".into(), Value::Bool(true));
    }
    if links.slowest {
        fields.insert("slowest_step".into(), Value::Bool(true));
    }
}

fn client_json(client: &Client) -> Value {
    json!({"addr": &*client.addr, "name": client.name.as_deref()})
}

fn micros(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Deep capture's facts: `caller`, `responder`, `lock` (the first race; `locks` when
/// there are several groups), Redis's own timing, and the caller's other calls.
fn deep_json(deep: &Deep, fields: &mut serde_json::Map<String, Value>) {
    if let Some(caller) = &deep.caller {
        fields.insert("caller".into(), client_json(caller));
    }
    if let Some(responder) = &deep.responder {
        fields.insert("responder".into(), client_json(responder));
    }
    let race = |race: &LockRace| {
        json!({
            "key": &*race.key,
            "ttl": race.ttl,
            "contenders": race.contenders(),
            "winner": race.winner().map(client_json),
            "margin_ms": race.margin().map(|margin| margin.as_secs_f64() * 1000.0),
            "bids": race.bids.iter().map(|bid| json!({"at": micros(bid.at), "client": client_json(&bid.client)})).collect::<Vec<_>>(),
        })
    };
    if let Some(first) = deep.locks.first() {
        fields.insert("lock".into(), race(first));
    }
    if deep.locks.len() > 1 {
        fields.insert("locks".into(), deep.locks.iter().map(race).collect());
    }
    if let Some(latency) = deep.server_latency() {
        fields.insert(
            "server_latency_ms".into(),
            Value::from(latency.as_secs_f64() * 1000.0),
        );
    }
    if let Some(latency) = deep.lock_latency() {
        fields.insert(
            "server_lock_ms".into(),
            Value::from(latency.as_secs_f64() * 1000.0),
        );
    }
    let server = json!({
        "request_at": deep.request_at.map(micros),
        "reply_at": deep.reply_at.map(micros),
    });
    fields.insert("server".into(), server);
    if !deep.calls.is_empty() {
        let calls = deep
            .calls
            .iter()
            .map(|call| json!({"at": micros(call.at), "client": client_json(&call.client), "command": &*call.command}))
            .collect();
        fields.insert("calls".into(), Value::Array(calls));
    }
}

fn message_json(channels: &Channels, event: &MessageEvent) -> Value {
    let payload = serde_json::from_slice::<Value>(&event.payload)
        .unwrap_or_else(|_| Value::String(event.text().into_owned()));
    let mut object = json!({
        "at": event.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "channel": &*event.channel,
        "kind": event.kind.as_str(),
        "payload": payload,
    });
    let Value::Object(fields) = &mut object else {
        return object;
    };
    if let Some(bytes) = &event.raw_channel {
        fields.insert("channel_hex".into(), Value::from(super::file::hex(bytes)));
    }
    if let Some(why) = &event.payload_error {
        fields.insert("payload_error".into(), Value::from(&**why));
    }
    if let Some(full) = event.full_len {
        fields.insert("payload_len".into(), Value::from(full));
        fields.insert("payload_truncated".into(), Value::Bool(true));
    }
    if event.kind == EventKind::Error
        && event.full_len.is_none()
        && let Some(view) = ErrorView::parse(channels, &event.payload)
    {
        fields.insert(
            "record".into(),
            json!({
                "layout": view.layout.as_str(),
                "topic": view.topic,
                "sender": view.sender,
                "code": view.code.0,
                "request_data": view.request_data,
                "reply": view.reply,
                "backtrace": view.backtrace,
                "timestamp": view.timestamp.map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                "note": view.layout.note(),
            }),
        );
    }
    object
}
