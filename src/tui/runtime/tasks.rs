//! Background work: each [`Effect`] that needs Redis or the disk runs in its own task and
//! sends a [`Done`] back to the event loop. Nothing here touches the state.

use crate::tui::action::{Done, Effect, Failure};
use crate::tui::model::{ERRORS_PAGE, Fire, Health, Host, pattern_matches};
use gilmour::compose::{ExecuteOptions, parse};
use gilmour::engine::{Engine, EngineError, RequestOptions};
use gilmour::inspect::file::write_event;
use gilmour::inspect::sanitize::clean;
use gilmour::inspect::trace::human_latency as format_latency;
use gilmour::protocol::{Ident, is_pattern};
use serde_json::Value;
use std::io::Write;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// How long a health ping may take before the host counts as dead.
const PING_TIMEOUT: Duration = Duration::from_secs(1);

/// Runs effects in tasks; results come back on a channel.
#[derive(Clone)]
pub struct Worker {
    engine: Option<Engine>,
    results: UnboundedSender<Done>,
}

impl Worker {
    /// A worker; without an engine (offline) network work fails at once.
    pub fn new(engine: Option<Engine>, results: UnboundedSender<Done>) -> Self {
        Worker { engine, results }
    }

    /// Starts the work of an effect (not the terminal's: the loop does those itself).
    pub fn start(&self, effect: Effect) {
        let results = self.results.clone();
        if let Effect::Write { path, events } = effect {
            tokio::task::spawn_blocking(move || {
                let done = match write_file(&path, &events) {
                    Ok(()) => Done::Written {
                        path,
                        events: events.len(),
                    },
                    Err(error) => Done::Failed(
                        Failure::Status,
                        format!("cannot write {}: {error}", clean(&path, 100)),
                    ),
                };
                let _ = results.send(done);
            });
            return;
        }
        let Some(engine) = self.engine.clone() else {
            let _ = results.send(Done::Failed(
                Failure::Status,
                "offline: that needs Redis".to_owned(),
            ));
            return;
        };
        tokio::spawn(async move {
            let done = work(&engine, effect).await;
            // The loop has quit when the channel is closed: nobody wants the result.
            let _ = results.send(done);
        });
    }
}

fn write_file(path: &str, events: &[gilmour::inspect::Event]) -> std::io::Result<()> {
    let file = std::fs::File::create(path)?;
    let mut out = std::io::BufWriter::new(file);
    for event in events {
        write_event(&mut out, event)?;
    }
    out.flush()
}

async fn work(engine: &Engine, effect: Effect) -> Done {
    let failed = |failure, error: &dyn std::fmt::Display| Done::Failed(failure, error.to_string());
    let commands = engine.commands();
    let channels = engine.channels();
    match effect {
        Effect::Fire(fire, original) => send(engine, fire, original).await,
        Effect::CheckListeners(fire, original) => match silent(engine, &fire).await {
            Ok(silent) => {
                let patterns = match &fire {
                    Fire::Signal { topic, .. } if !silent.is_empty() => {
                        pattern_slots(engine, &channels.slot(topic)).await
                    }
                    _ => Vec::new(),
                };
                Done::Listeners {
                    fire,
                    original,
                    silent,
                    patterns,
                }
            }
            Err(error) => failed(Failure::Status, &error),
        },
        Effect::Publish(fire, original) => publish(engine, fire, original).await,
        Effect::ProbeLink => Done::LinkProbed(commands.ping().await.err().map(|e| e.to_string())),
        Effect::LoadErrors { page } => {
            let queue = channels.error_queue();
            let start = (page * ERRORS_PAGE) as isize;
            let stop = start + ERRORS_PAGE as isize - 1;
            let loaded = async {
                let total = commands.length(queue).await?;
                let entries = commands.range(queue, start, stop).await?;
                Ok::<_, gilmour::transport::TransportError>(Done::Errors {
                    page,
                    total,
                    entries,
                })
            };
            loaded
                .await
                .unwrap_or_else(|error| failed(Failure::Errors, &error))
        }
        Effect::DeleteError(raw) => match commands.remove_one(channels.error_queue(), &raw).await {
            Ok(true) => Done::QueueChanged("deleted one entry".to_owned()),
            Ok(false) => Done::QueueChanged("that entry was already gone".to_owned()),
            Err(error) => failed(Failure::Errors, &error),
        },
        Effect::TrimErrors { keep, seen } => {
            // Entries pushed since the queue was shown are newer than all of them: keep
            // those too, so the cut falls where the user saw it.
            let queue = channels.error_queue();
            let result = match commands.length(queue).await {
                Ok(now) => {
                    let kept = keep + now.saturating_sub(seen);
                    commands
                        .trim(queue, 0, kept as isize - 1)
                        .await
                        .map(|()| kept)
                }
                Err(error) => Err(error),
            };
            match result {
                Ok(kept) => Done::QueueChanged(format!("kept the {kept} newest entries")),
                Err(error) => failed(Failure::Errors, &error),
            }
        }
        Effect::RefreshServices => services(engine)
            .await
            .unwrap_or_else(|error| failed(Failure::Services, &error)),
        Effect::RemoveIdent(ident) => {
            match commands.hash_delete(channels.health_hash(), &ident).await {
                Ok(()) => Done::IdentRemoved(ident),
                Err(error) => failed(Failure::Services, &error),
            }
        }
        Effect::Write { .. }
        | Effect::Copy(_)
        | Effect::Edit { .. }
        | Effect::Then(_)
        | Effect::Deep(_)
        | Effect::Repaint => failed(Failure::Status, &"not background work"),
    }
}

async fn send(engine: &Engine, fire: Fire, original: Option<gilmour::inspect::TraceId>) -> Done {
    match fire {
        Fire::Request {
            topic,
            data,
            timeout,
        } => {
            let what = format!("request {}", clean(&topic, 60));
            match engine
                .request(&topic, data, RequestOptions::timeout(timeout))
                .await
            {
                Ok(response) => Done::Sent {
                    original,
                    result: Ok(format!(
                        "{what} answered {} in {}: {}",
                        response.code(),
                        format_latency(response.elapsed),
                        clean(&response.data().to_string(), 120)
                    )),
                    what,
                    sender: Some(response.sender.0),
                },
                Err(error) => Done::Sent {
                    original,
                    what,
                    sender: None,
                    result: Err(error.to_string()),
                },
            }
        }
        Fire::Signal { topic, data } => {
            let what = format!("signal {}", clean(&topic, 60));
            match engine.signal(&topic, data).await {
                Ok(sender) => Done::Sent {
                    original,
                    result: Ok(format!("{what} sent")),
                    what,
                    sender: Some(sender.0),
                },
                Err(error) => Done::Sent {
                    original,
                    what,
                    sender: None,
                    result: Err(error.to_string()),
                },
            }
        }
        Fire::Compose {
            text,
            data,
            timeout,
        } => {
            let composition = match parse(&text) {
                Ok(composition) => composition,
                Err(error) => return Done::Failed(Failure::Status, error.message),
            };
            let outcome = composition
                .execute(engine, data.clone(), ExecuteOptions::step_timeout(timeout))
                .await;
            Done::Composed {
                text,
                id: outcome.id.clone(),
                input: data,
                steps: outcome
                    .steps
                    .iter()
                    .map(|step| {
                        (
                            step.name.clone(),
                            step.sender.as_ref().map(|s| s.0.clone()),
                            step.code.0,
                        )
                    })
                    .collect(),
                code: outcome.code.0,
                data: outcome.data.to_string(),
                elapsed: outcome.elapsed,
            }
        }
    }
}

/// Publishes a request or signal as the engine would, without its check that somebody
/// listens: the user asked to send anyway. The sender id comes back, so its trace opens.
async fn publish(engine: &Engine, fire: Fire, original: Option<gilmour::inspect::TraceId>) -> Done {
    let channels = engine.channels();
    let (what, channel, data) = match fire {
        // A topic already under the prefix (a health channel) is used as it is.
        Fire::Request { topic, data, .. } => (
            format!("request {}", clean(&topic, 60)),
            if topic.starts_with(&format!("{}.", channels.prefix())) {
                topic
            } else {
                channels.request(&topic)
            },
            data,
        ),
        Fire::Signal { topic, data } => (
            format!("signal {}", clean(&topic, 60)),
            channels.slot(&topic),
            data,
        ),
        Fire::Compose { .. } => {
            return Done::Failed(
                Failure::Status,
                "a composition is run, not published".to_owned(),
            );
        }
    };
    let sender = gilmour::protocol::Sender::random();
    let message = gilmour::protocol::Message::new(data, sender.clone());
    match engine
        .commands()
        .publish(&channel, &message.to_json())
        .await
    {
        Ok(reached) => Done::Sent {
            original,
            result: Ok(format!(
                "{what} published: PUBLISH reached {reached} receiver{} (a capture counts \
                 as one); its trace shows whatever answers",
                if reached.count() == 1 { "" } else { "s" }
            )),
            what,
            sender: Some(sender.0),
        },
        Err(error) => Done::Sent {
            original,
            what,
            sender: None,
            result: Err(error.to_string()),
        },
    }
}

/// The pattern slots, as the hosts' health replies list them, that take `channel`.
async fn pattern_slots(engine: &Engine, channel: &str) -> Vec<String> {
    let Ok(hosts) = hosts(engine).await else {
        return Vec::new();
    };
    matching_patterns(&hosts, channel)
}

/// The served patterns of live hosts that take `channel`, each once.
fn matching_patterns(hosts: &[Host], channel: &str) -> Vec<String> {
    let mut patterns: Vec<String> = hosts
        .iter()
        .filter_map(|host| match &host.health {
            Health::Alive { topics, .. } => Some(topics),
            Health::Dead { .. } => None,
        })
        .flatten()
        .filter(|served| is_pattern(served) && pattern_matches(served, channel))
        .cloned()
        .collect();
    patterns.sort();
    patterns.dedup();
    patterns
}

/// The topics of a send that nobody listens on (NUMSUB: exact subscribers only).
async fn silent(engine: &Engine, fire: &Fire) -> Result<Vec<String>, String> {
    let channels = engine.channels();
    let topics: Vec<(String, String)> = match fire {
        Fire::Request { topic, .. } => vec![(topic.clone(), channels.request(topic))],
        // A pattern slot cannot be counted; a pattern signal is sent as it is.
        Fire::Signal { topic, .. } if is_pattern(topic) => Vec::new(),
        Fire::Signal { topic, .. } => vec![(topic.clone(), channels.slot(topic))],
        Fire::Compose { text, .. } => {
            let composition = parse(text).map_err(|error| error.message)?;
            let mut topics: Vec<(String, String)> = composition
                .topics()
                .map(|topic| (topic.to_owned(), channels.request(topic)))
                .collect();
            topics.sort();
            topics.dedup();
            topics
        }
    };
    if topics.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<&str> = topics.iter().map(|(_, channel)| channel.as_str()).collect();
    let counts = engine
        .commands()
        .numsub_many(&names)
        .await
        .map_err(|error| error.to_string())?;
    Ok(topics
        .iter()
        .zip(counts)
        .filter(|(_, (_, count))| *count == 0)
        .map(|((topic, _), _)| topic.clone())
        .collect())
}

/// Reads the health hash, pings every host at once, counts the request listeners.
async fn services(engine: &Engine) -> Result<Done, EngineError> {
    let hosts = hosts(engine).await?;
    let commands = engine.commands();
    let channels = engine.channels();
    let request_channels = commands
        .channels(&format!("{}*", channels.request("")))
        .await?;
    let names: Vec<&str> = request_channels.iter().map(String::as_str).collect();
    let mut listened = if names.is_empty() {
        Vec::new()
    } else {
        commands.numsub_many(&names).await?
    };
    listened.sort();
    Ok(Done::Services { hosts, listened })
}

/// The hosts of the health hash, each pinged (all at once), by ident.
async fn hosts(engine: &Engine) -> Result<Vec<Host>, EngineError> {
    let commands = engine.commands();
    let channels = engine.channels();
    let known = commands.hash_all(channels.health_hash()).await?;
    let pings = known.into_iter().map(|(ident, value)| async move {
        let channel = engine.channels().health(&Ident(ident.clone()));
        let health = match engine
            .request(&channel, Value::Null, RequestOptions::timeout(PING_TIMEOUT))
            .await
        {
            Ok(response) if response.is_ok() => Health::Alive {
                latency: response.elapsed,
                topics: match response.data() {
                    Value::Array(items) => items
                        .iter()
                        .map(|item| {
                            item.as_str()
                                .map_or_else(|| item.to_string(), str::to_owned)
                        })
                        .collect(),
                    other => vec![other.to_string()],
                },
            },
            Ok(response) => Health::Dead {
                reason: format!("answered {} (no answer within 1 s)", response.code()),
            },
            Err(EngineError::NoListeners { .. }) => Health::Dead {
                reason: "nobody listens on its health channel".to_owned(),
            },
            Err(error) => Health::Dead {
                reason: error.to_string(),
            },
        };
        Host {
            ident,
            value,
            health,
        }
    });
    let mut hosts = futures_util::future::join_all(pings).await;
    hosts.sort_by(|a, b| a.ident.cmp(&b.ident));
    Ok(hosts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gilmour::broker::Broker;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_trim_keeps_what_was_pushed_after_the_queue_was_shown() {
        let broker = Broker::start(("127.0.0.1", 0)).expect("broker");
        let engine = Engine::connect(&broker.url()).await.expect("connect");
        let commands = engine.commands();
        let queue = engine.channels().error_queue().to_owned();
        for n in 0..5 {
            commands
                .queue_error(&queue, &format!("old-{n}"))
                .await
                .expect("push");
        }
        // The user saw 5 entries and chose to keep the 2 newest; 3 more came meanwhile.
        for n in 0..3 {
            commands
                .queue_error(&queue, &format!("new-{n}"))
                .await
                .expect("push");
        }
        let done = work(&engine, Effect::TrimErrors { keep: 2, seen: 5 }).await;
        assert!(
            matches!(&done, Done::QueueChanged(text) if text == "kept the 5 newest entries"),
            "{done:?}"
        );
        let left = commands.range(&queue, 0, -1).await.expect("range");
        assert_eq!(left, ["new-2", "new-1", "new-0", "old-4", "old-3"]);
        engine.shutdown().await.expect("shutdown");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn send_anyway_publishes_a_request_nobody_serves() {
        use gilmour::inspect::{Capture, Event, capture};
        let broker = Broker::start(("127.0.0.1", 0)).expect("broker");
        let builder = Engine::builder(&broker.url());
        let engine = builder.clone().connect().await.expect("connect");
        let (capture, mut events) = Capture::start(
            builder.redis_config(),
            engine.channels().clone(),
            capture::DEFAULT_BUFFER,
        )
        .await
        .expect("capture");
        let fire = Fire::Request {
            topic: "nobody.home".to_owned(),
            data: Value::from(7),
            timeout: Duration::from_secs(1),
        };
        let refused = work(&engine, Effect::Fire(fire.clone(), None)).await;
        assert!(
            matches!(
                &refused,
                Done::Sent {
                    result: Err(_),
                    sender: None,
                    ..
                }
            ),
            "the engine will not ask nobody: {refused:?}"
        );
        let done = work(&engine, Effect::Publish(fire, None)).await;
        let Done::Sent {
            result: Ok(line),
            sender: Some(sender),
            ..
        } = &done
        else {
            panic!("published: {done:?}");
        };
        assert!(line.contains("PUBLISH reached 1 receiver "), "{line}");
        let Some(Event::Message(event)) = events.recv().await else {
            panic!("the capture saw it");
        };
        assert_eq!(&*event.channel, "gilmour.request.nobody.home");
        assert_eq!(&*event.sender, sender.as_str());
        capture.close().await;
        engine.shutdown().await.expect("shutdown");
    }

    #[test]
    fn only_live_hosts_patterns_that_take_the_channel_count() {
        let host = |ident: &str, topics: &[&str], alive: bool| Host {
            ident: ident.to_owned(),
            value: "true".to_owned(),
            health: if alive {
                Health::Alive {
                    latency: Duration::from_millis(1),
                    topics: topics.iter().map(|t| (*t).to_owned()).collect(),
                }
            } else {
                Health::Dead {
                    reason: "gone".to_owned(),
                }
            },
        };
        let hosts = [
            host("a", &["gilmour.slot.event.*", "gilmour.slot.other.*"], true),
            host(
                "b",
                &["gilmour.slot.event.*", "gilmour.slot.event.level.completed"],
                true,
            ),
            host("c", &["gilmour.slot.*"], false),
        ];
        assert_eq!(
            matching_patterns(&hosts, "gilmour.slot.event.level.completed"),
            ["gilmour.slot.event.*"]
        );
    }
}
