//! Background work: each [`Effect`] that needs Redis or the disk runs in its own task and
//! sends a [`Done`] back to the event loop. Nothing here touches the state.

use crate::tui::action::{Done, Effect, Failure};
use crate::tui::model::{ERRORS_PAGE, Fire, pattern_matches};
use gilmour::compose::{ExecuteOptions, parse};
use gilmour::engine::{Engine, RequestOptions};
use gilmour::inspect::errors::ErrorQueue;
use gilmour::inspect::file::write_event;
use gilmour::inspect::sanitize::clean;
use gilmour::inspect::services::{self, PingOptions};
use gilmour::inspect::trace::human_latency as format_latency;
use gilmour::protocol::is_pattern;
use std::io::Write;
use tokio::sync::mpsc::UnboundedSender;

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
            match ErrorQueue::new(engine).page(page, ERRORS_PAGE).await {
                Ok(read) => Done::Errors {
                    page,
                    total: read.total,
                    entries: read.entries,
                },
                Err(error) => failed(Failure::Errors, &error),
            }
        }
        Effect::DeleteError(entry) => match ErrorQueue::new(engine).delete(&entry).await {
            Ok(true) => Done::QueueChanged("deleted one entry".to_owned()),
            Ok(false) => Done::QueueChanged("that entry was already gone".to_owned()),
            Err(error) => failed(Failure::Errors, &error),
        },
        // Entries pushed since the queue was shown are newer than all of them: they stay,
        // so the cut falls where the user saw it.
        Effect::TrimErrors(entry) => match ErrorQueue::new(engine).trim_below(&entry).await {
            Ok(Some(report)) => {
                Done::QueueChanged(format!("removed the {} entries below it", report.removed))
            }
            Ok(None) => Done::QueueChanged("that entry was already gone: not trimmed".to_owned()),
            Err(error) => failed(Failure::Errors, &error),
        },
        Effect::RefreshServices => match services::survey(engine, PingOptions::default()).await {
            Ok(survey) => Done::Services {
                hosts: survey.hosts,
                listened: survey
                    .listeners
                    .requests
                    .into_iter()
                    .map(|listened| (listened.channel, listened.listeners))
                    .collect(),
                nodes: survey.nodes,
            },
            Err(error) => failed(Failure::Services, &error),
        },
        Effect::RemoveIdent(ident) => match services::remove_ident(engine, &ident).await {
            Ok(()) => Done::IdentRemoved(ident),
            Err(error) => failed(Failure::Services, &error),
        },
        Effect::Write { .. }
        | Effect::Copy(_)
        | Effect::Edit { .. }
        | Effect::Then(_)
        | Effect::Deep(_)
        | Effect::SaveHistory { .. }
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
    let Ok(hosts) = services::ping_all(engine, PingOptions::default()).await else {
        return Vec::new();
    };
    matching_patterns(&hosts, channel)
}

/// The served patterns of the hosts that answered that take `channel`, each once.
fn matching_patterns(hosts: &[services::Host], channel: &str) -> Vec<String> {
    services::pattern_slots(hosts)
        .into_iter()
        .map(|slot| slot.pattern)
        .filter(|pattern| pattern_matches(pattern, channel))
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use gilmour::broker::Broker;
    use serde_json::Value;
    use std::time::Duration;

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
        let Done::Errors { total, entries, .. } =
            work(&engine, Effect::LoadErrors { page: 0 }).await
        else {
            panic!("a page");
        };
        assert_eq!(total, 5);
        // The user saw 5 entries and trims below the second newest; 3 more came meanwhile.
        for n in 0..3 {
            commands
                .queue_error(&queue, &format!("new-{n}"))
                .await
                .expect("push");
        }
        let done = work(&engine, Effect::TrimErrors(entries[1].clone())).await;
        assert!(
            matches!(&done, Done::QueueChanged(text) if text == "removed the 3 entries below it"),
            "{done:?}"
        );
        let left = commands.range(&queue, 0, -1).await.expect("range");
        assert_eq!(left, ["new-2", "new-1", "new-0", "old-4", "old-3"]);
        // Deleting by value: the entry wherever it now is; once.
        let done = work(&engine, Effect::DeleteError(entries[0].clone())).await;
        assert!(matches!(&done, Done::QueueChanged(text) if text == "deleted one entry"));
        let done = work(&engine, Effect::DeleteError(entries[0].clone())).await;
        assert!(
            matches!(&done, Done::QueueChanged(text) if text == "that entry was already gone"),
            "{done:?}"
        );
        let done = work(&engine, Effect::TrimErrors(entries[0].clone())).await;
        assert!(
            matches!(&done, Done::QueueChanged(text) if text.contains("already gone")),
            "{done:?}"
        );
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
        use gilmour::inspect::services::{Dead, Health as Found, Host as Known};
        let host = |ident: &str, topics: &[&str], alive: bool| Known {
            ident: ident.to_owned(),
            value: "true".to_owned(),
            health: if alive {
                Found::Alive {
                    latency: Duration::from_millis(1),
                    topics: topics.iter().map(|t| (*t).to_owned()).collect(),
                }
            } else {
                Found::Dead {
                    reason: Dead::NoListener,
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_services_screen_sees_hosts_alive_failing_and_dead_and_who_listens() {
        use gilmour::engine::{HandlerOptions, Reply, Request};
        let broker = Broker::start(("127.0.0.1", 0)).expect("broker");
        let service = Engine::builder(&broker.url())
            .health(true)
            .connect()
            .await
            .expect("connect");
        service
            .reply_to(
                "tasks.echo",
                HandlerOptions::default(),
                |request: Request| async move { Reply::ok(request.into_data()) },
            )
            .await
            .expect("serve");
        let engine = Engine::connect(&broker.url()).await.expect("connect");
        let health = engine.channels().health_hash().to_owned();
        engine
            .commands()
            .hash_set(&health, "gone-host", "true")
            .await
            .expect("a dead ident");
        // A process that runs but whose health check fails: it answers 503.
        engine
            .commands()
            .hash_set(&health, "sick-host", "true")
            .await
            .expect("a failing ident");
        engine
            .reply_to(
                &engine
                    .channels()
                    .health(&gilmour::protocol::Ident("sick-host".to_owned())),
                HandlerOptions::default().group("exclusive"),
                |_| async { Reply::with_code(503, "database down") },
            )
            .await
            .expect("serve health");
        let Done::Services {
            hosts, listened, ..
        } = work(&engine, Effect::RefreshServices).await
        else {
            panic!("a survey");
        };
        assert_eq!(hosts.len(), 3, "{hosts:?}");
        let sick = hosts
            .iter()
            .find(|host| host.ident == "sick-host")
            .expect("listed");
        assert!(
            matches!(&sick.health, services::Health::Failing { code: 503, .. }),
            "failing, not dead nor alive: {sick:?}"
        );
        let gone = hosts
            .iter()
            .find(|host| host.ident == "gone-host")
            .expect("listed");
        assert_eq!(
            gone.health,
            services::Health::Dead {
                reason: services::Dead::NoListener
            }
        );
        let alive = hosts
            .iter()
            .find(|host| host.ident != "gone-host" && host.ident != "sick-host")
            .expect("listed");
        assert!(
            matches!(&alive.health, services::Health::Alive { topics, .. }
                if topics.iter().any(|topic| topic == "gilmour.request.tasks.echo")),
            "{alive:?}"
        );
        assert!(
            listened.contains(&("gilmour.request.tasks.echo".to_owned(), 1)),
            "{listened:?}"
        );
        let done = work(&engine, Effect::RemoveIdent("gone-host".to_owned())).await;
        assert_eq!(done, Done::IdentRemoved("gone-host".to_owned()));
        let left = engine.commands().hash_all(&health).await.expect("hash");
        assert!(!left.contains_key("gone-host"), "{left:?}");
        service.shutdown().await.expect("shutdown");
        engine.shutdown().await.expect("shutdown");
    }
}
