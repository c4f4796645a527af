use super::link::{COMPOSITION_TOPIC, SETTLE};
use super::*;
use crate::inspect::{Event, Filter, Inspector, MessageEvent, TraceKind, Update};
use crate::protocol::{Channels, Code};
use chrono::TimeDelta;

/// Feeds messages to an inspector at times counted in milliseconds from `origin`.
struct Feed {
    inspector: Inspector,
    origin: DateTime<Utc>,
}

impl Feed {
    fn new() -> Feed {
        Feed {
            inspector: Inspector::default(),
            origin: Utc::now(),
        }
    }

    fn at(&self, millis: i64) -> DateTime<Utc> {
        self.origin + TimeDelta::milliseconds(millis)
    }

    fn send(&mut self, millis: i64, channel: &str, payload: &str) -> Update {
        let event = MessageEvent::read(
            &Channels::default(),
            self.at(millis),
            channel,
            Arc::from(payload.as_bytes()),
        );
        self.inspector.ingest(Event::Message(event))
    }

    /// A request with a context, and its reply `took` milliseconds later.
    fn call(
        &mut self,
        millis: i64,
        took: i64,
        topic: &str,
        sender: &str,
        context: &str,
        code: i64,
    ) {
        self.send(
            millis,
            &format!("gilmour.request.{topic}"),
            &format!(r#"{{"data":1,"code":200,"sender":"{sender}"{context}}}"#),
        );
        self.send(
            millis + took,
            &format!("gilmour.response.{sender}"),
            &format!(r#"{{"data":1,"code":{code},"sender":"gilmour.response.{sender}"}}"#),
        );
    }

    fn sweep(&mut self, millis: i64) -> Vec<Update> {
        let mut updates = Vec::new();
        let at = self.at(millis);
        self.inspector.sweep(at, |update| updates.push(update));
        updates
    }

    fn by_sender(&self, sender: &str) -> &Trace {
        let store = self.inspector.store();
        store
            .by_sender(sender)
            .and_then(|id| store.get(id))
            .expect("stored")
    }

    fn matching(&self, filter: &str) -> Vec<String> {
        let filter: Filter = filter.parse().expect("filter");
        self.inspector
            .store()
            .newest_first()
            .rev()
            .filter(|trace| filter.matches(*trace))
            .map(|trace| trace.sender.to_string())
            .collect()
    }
}

fn step(id: &str, place: &str) -> String {
    format!(r#","composition":{{"id":"{id}","step":"{place}"}}"#)
}

#[test]
fn a_composition_is_one_tree_of_its_steps() {
    let mut feed = Feed::new();
    // a | [b, c]: a first; b and c at once on a's output.
    feed.call(0, 4, "a", "s1", &step("c1", "1"), 200);
    feed.call(5, 10, "b", "s2", &step("c1", "2.1"), 200);
    feed.call(5, 3, "c", "s3", &step("c1", "2.2"), 200);
    let comp = feed.by_sender("c1");
    assert_eq!(
        (comp.kind, &*comp.topic, comp.status),
        (
            TraceKind::Composition,
            COMPOSITION_TOPIC,
            TraceStatus::Pending
        )
    );
    let id = comp.id;
    // Not done until it has been quiet for a moment: a pipe's next step may follow.
    let early = feed.sweep(16);
    assert!(early.contains(&Update::Opened(id)), "{early:?}");
    assert!(!early.contains(&Update::Completed(id)));
    let settle = i64::try_from(SETTLE.as_millis()).expect("small");
    assert_eq!(feed.sweep(15 + settle), [Update::Completed(id)]);
    let comp = feed.by_sender("c1");
    assert_eq!(comp.status, TraceStatus::Ok);
    assert_eq!(comp.code(), Some(Code::OK));
    assert_eq!(comp.latency(), Some(Duration::from_millis(15)));

    let store = feed.inspector.store();
    let laid_out = spans(store, id);
    let rows: Vec<(usize, Option<&str>, u64, Option<u64>)> = laid_out
        .iter()
        .map(|span| {
            (
                span.depth,
                span.step.as_deref(),
                span.start.as_millis() as u64,
                span.duration.map(|took| took.as_millis() as u64),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (0, None, 0, Some(15)),
            (1, Some("1"), 0, Some(4)),
            (1, Some("2.1"), 5, Some(10)),
            (1, Some("2.2"), 5, Some(3)),
        ]
    );
    for sender in ["s1", "s2", "s3"] {
        assert_eq!(root_of(store, feed.by_sender(sender).id), id);
    }
    // The composition's steps count in the figures, the composition itself does not.
    assert_eq!(feed.inspector.stats().overall(feed.at(0)).count, 3);
    assert_eq!(feed.matching("root"), ["c1"]);
    // The composition trace is made on its first step, so it is listed after it.
    assert_eq!(feed.matching("composition"), ["s1", "c1", "s2", "s3"]);
    assert_eq!(feed.matching("slow-step"), ["s2"]);
    assert_eq!(feed.matching("kind:comp"), ["c1"]);
}

#[test]
fn a_failed_step_fails_the_composition_and_a_late_step_changes_it() {
    let mut feed = Feed::new();
    feed.call(0, 2, "a", "s1", &step("c2", "1"), 200);
    feed.call(3, 2, "b", "s2", &step("c2", "2"), 500);
    let id = feed.by_sender("c2").id;
    feed.sweep(400);
    let comp = feed.by_sender("c2");
    assert_eq!(
        (comp.status, comp.code()),
        (TraceStatus::Error, Some(Code::INTERNAL))
    );
    // A step that comes after the composition was reported is a change to it.
    feed.call(500, 2, "c", "s3", &step("c2", "3"), 200);
    let updates = feed.sweep(900);
    assert_eq!(updates, [Update::Changed(id)]);
    assert_eq!(
        feed.by_sender("c2").latency(),
        Some(Duration::from_millis(502))
    );
}

#[test]
fn nested_calls_hang_under_the_request_that_made_them() {
    let mut feed = Feed::new();
    feed.send(0, "gilmour.request.outer", r#"{"data":1,"sender":"o"}"#);
    feed.call(1, 2, "inner", "i1", r#","parent":"o""#, 200);
    feed.send(
        4,
        "gilmour.slot.note",
        r#"{"data":1,"sender":"n","parent":"o"}"#,
    );
    // The handler also runs a composition: it hangs under the request, its steps under it.
    feed.call(
        5,
        1,
        "x",
        "s1",
        &format!(r#","parent":"o"{}"#, step("c3", "1")),
        200,
    );
    feed.send(9, "gilmour.response.o", r#"{"data":1,"code":200}"#);
    let outer = feed.by_sender("o");
    let children: Vec<&str> = outer
        .links
        .as_ref()
        .expect("links")
        .children
        .iter()
        .map(|child| &*child.sender)
        .collect();
    assert_eq!(children, ["i1", "n", "c3"]);
    let store = feed.inspector.store();
    let shape: Vec<(usize, String)> = spans(store, outer.id)
        .iter()
        .map(|span| {
            (
                span.depth,
                store.get(span.id).expect("stored").sender.to_string(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            (0, "o".to_owned()),
            (1, "i1".to_owned()),
            (1, "n".to_owned()),
            (1, "c3".to_owned()),
            (2, "s1".to_owned()),
        ]
    );
    assert_eq!(root_of(store, feed.by_sender("s1").id), outer.id);
    assert_eq!(feed.matching("root"), ["o"]);
    assert_eq!(feed.matching("not root and kind:req"), ["i1", "s1"]);
}

#[test]
fn links_that_loop_or_point_nowhere_stay_harmless() {
    let mut feed = Feed::new();
    // Names itself as its parent.
    feed.call(0, 1, "a", "self", r#","parent":"self""#, 200);
    // Names a parent the capture never saw: not a root, but the top of what is known.
    feed.call(2, 1, "b", "lost", r#","parent":"never-seen""#, 200);
    let store = feed.inspector.store();
    let looped = feed.by_sender("self");
    assert_eq!(root_of(store, looped.id), looped.id);
    assert_eq!(spans(store, looped.id).len(), 1);
    let lost = feed.by_sender("lost");
    assert_eq!(root_of(store, lost.id), lost.id);
    let parent = lost.links.as_ref().and_then(|links| links.parent.as_ref());
    assert_eq!(
        parent.map(|parent| (parent.id, &*parent.sender)),
        Some((None, "never-seen"))
    );
    assert_eq!(feed.matching("root"), Vec::<String>::new());
}

/// Deep capture's account of who published a request.
fn caller(feed: &mut Feed, millis: i64, sender: &str, addr: &str) {
    use crate::inspect::deep::{Client, DeepEvent, Fact};
    feed.inspector.ingest_deep(DeepEvent {
        at: feed.at(millis),
        client: Client {
            addr: Arc::from(addr),
            name: None,
        },
        fact: Fact::Request {
            sender: Arc::from(sender),
        },
    });
}

/// A request with `data` from `addr`, answered `answer` after `took` milliseconds.
fn exchange(feed: &mut Feed, millis: i64, sender: &str, addr: &str, data: &str, answer: &str) {
    feed.send(
        millis,
        "gilmour.request.step",
        &format!(r#"{{"data":{data},"code":200,"sender":"{sender}"}}"#),
    );
    caller(feed, millis, sender, addr);
    feed.send(
        millis + 2,
        &format!("gilmour.response.{sender}"),
        &format!(r#"{{"data":{answer},"code":200,"sender":"gilmour.response.{sender}"}}"#),
    );
}

#[test]
fn a_peers_pipe_is_inferred_from_one_client_feeding_replies_on() {
    let mut feed = Feed::new();
    // One client: 1 → 2, then 2 → 3 at once, then 3 → 4: a pipe of three.
    exchange(&mut feed, 0, "p1", "10.0.0.1:5000", "1", "2");
    exchange(&mut feed, 3, "p2", "10.0.0.1:5000", "2", "3");
    exchange(&mut feed, 6, "p3", "10.0.0.1:5000", "3", "4");
    // The same client much later with the last reply: another exchange, not a step.
    exchange(&mut feed, 500, "p4", "10.0.0.1:5000", "4", "5");
    // Another client with the same data: not its pipe.
    exchange(&mut feed, 7, "q1", "10.0.0.2:6000", "4", "9");
    // A client calling an echo in a loop: the data never changes, nothing is inferred.
    exchange(&mut feed, 10, "e1", "10.0.0.3:7000", "7", "7");
    exchange(&mut feed, 13, "e2", "10.0.0.3:7000", "7", "7");
    feed.sweep(1000);

    let pipe = feed.by_sender("inferred:p1");
    assert_eq!(
        (pipe.kind, pipe.status),
        (TraceKind::Composition, TraceStatus::Ok)
    );
    assert!(pipe.links.as_ref().is_some_and(|links| links.inferred));
    let store = feed.inspector.store();
    let steps: Vec<(String, Option<String>)> = spans(store, pipe.id)[1..]
        .iter()
        .map(|span| {
            let trace = store.get(span.id).expect("stored");
            (
                trace.sender.to_string(),
                span.step.as_deref().map(str::to_owned),
            )
        })
        .collect();
    let step = |sender: &str, place: &str| (sender.to_owned(), Some(place.to_owned()));
    assert_eq!(steps, [step("p1", "1"), step("p2", "2"), step("p3", "3")]);
    for alone in ["p4", "q1", "e1", "e2"] {
        assert!(feed.by_sender(alone).is_root(), "{alone} stands alone");
    }
    let json = crate::inspect::export::trace_json(feed.by_sender("p2"));
    assert_eq!(
        json["composition"],
        serde_json::json!({"id": "inferred:p1", "step": "2", "inferred": true})
    );
}
