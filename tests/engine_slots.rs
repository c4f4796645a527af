//! Signals and slots against both backends, a real redis-server and the built-in broker:
//! wildcard slots, signals nobody receives, groups of slots across processes, and
//! broadcasts reaching responders and slots alike (PROTOCOL.md).

mod support;

on_both_backends! {
    wildcard_reply_refused_wildcard_slot_accepted,
    wildcard_slot_receives_matching_signals_with_the_real_topic,
    signal_with_no_receiver_is_an_error,
    slots_without_group_all_receive_and_groups_receive_once,
    broadcast_reaches_responders_and_slots,
}

use gilmour::engine::{EngineError, HandlerOptions, Reply, Request};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use support::engine::{connect, recv};
use support::{Backend, on_both_backends};
use tokio::sync::mpsc;

async fn wildcard_reply_refused_wildcard_slot_accepted(backend: Backend) {
    let engine = connect(backend).await;
    let error = engine
        .reply_to(
            "t.wild.*",
            HandlerOptions::default(),
            |_request: Request| async move { Reply::ok(1) },
        )
        .await
        .err()
        .expect("wildcard reply refused");
    assert!(matches!(error, EngineError::Topic(_)), "{error}");
    let subscription = engine
        .slot(
            "t.wild.*",
            HandlerOptions::default(),
            |_request: Request| async move {},
        )
        .await
        .expect("wildcard slot accepted");
    assert_eq!(subscription.channel(), "gilmour.slot.t.wild.*");
}

async fn wildcard_slot_receives_matching_signals_with_the_real_topic(backend: Backend) {
    let engine = connect(backend).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    engine
        .slot(
            "t.users.*",
            HandlerOptions::default(),
            move |request: Request| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send((request.topic().to_owned(), request.data().clone()));
                }
            },
        )
        .await
        .expect("slot");
    engine
        .signal("t.users.created", json!({"id": 7}))
        .await
        .expect("signal");
    assert_eq!(
        recv(&mut rx).await,
        ("t.users.created".to_owned(), json!({"id": 7}))
    );
    let error = engine
        .signal("t.other", json!(1))
        .await
        .expect_err("no receiver");
    assert!(matches!(error, EngineError::NoReceivers { .. }));
}

async fn signal_with_no_receiver_is_an_error(backend: Backend) {
    let engine = connect(backend).await;
    let error = engine
        .signal("t.nobody-hears", json!("hi"))
        .await
        .expect_err("nobody");
    assert_eq!(
        error.to_string(),
        "signal on `t.nobody-hears` was not received by anyone"
    );
}

fn counting_slot(
    counts: &Arc<HashMap<&'static str, AtomicUsize>>,
    name: &'static str,
    done: mpsc::UnboundedSender<&'static str>,
) -> impl Fn(Request) -> std::future::Ready<()> + Send + Sync + 'static {
    let counts = counts.clone();
    move |_request| {
        counts[name].fetch_add(1, Ordering::SeqCst);
        let _ = done.send(name);
        std::future::ready(())
    }
}

async fn slots_without_group_all_receive_and_groups_receive_once(backend: Backend) {
    let names = ["free-a", "free-b", "g1-a", "g1-b", "g2-a"];
    let counts: Arc<HashMap<&'static str, AtomicUsize>> = Arc::new(
        names
            .iter()
            .map(|name| (*name, AtomicUsize::new(0)))
            .collect(),
    );
    let (tx, mut rx) = mpsc::unbounded_channel();
    let engines = [connect(backend).await, connect(backend).await];
    let topic = "t.slots";
    // Two ungrouped slots in one process; group g1 in two processes; group g2 in one.
    engines[0]
        .slot(
            topic,
            HandlerOptions::default(),
            counting_slot(&counts, "free-a", tx.clone()),
        )
        .await
        .expect("slot");
    engines[0]
        .slot(
            topic,
            HandlerOptions::default(),
            counting_slot(&counts, "free-b", tx.clone()),
        )
        .await
        .expect("slot");
    engines[0]
        .slot(
            topic,
            HandlerOptions::default().group("g1"),
            counting_slot(&counts, "g1-a", tx.clone()),
        )
        .await
        .expect("slot");
    engines[1]
        .slot(
            topic,
            HandlerOptions::default().group("g1"),
            counting_slot(&counts, "g1-b", tx.clone()),
        )
        .await
        .expect("slot");
    engines[1]
        .slot(
            topic,
            HandlerOptions::default().group("g2"),
            counting_slot(&counts, "g2-a", tx.clone()),
        )
        .await
        .expect("slot");
    let signals = 20;
    let caller = connect(backend).await;
    for n in 0..signals {
        caller.signal(topic, json!(n)).await.expect("signal");
    }
    // free-a, free-b, g1 (one of two) and g2: four handlings per signal.
    for _ in 0..signals * 4 {
        recv(&mut rx).await;
    }
    // Shutting down waits for every handler that had received a message.
    for engine in &engines {
        engine.shutdown().await.expect("shutdown");
    }
    let count = |name: &str| counts[name].load(Ordering::SeqCst);
    assert_eq!(count("free-a"), signals);
    assert_eq!(count("free-b"), signals);
    assert_eq!(
        count("g1-a") + count("g1-b"),
        signals,
        "g1 handles each once"
    );
    assert_eq!(count("g2-a"), signals);
}

async fn broadcast_reaches_responders_and_slots(backend: Backend) {
    let engine = connect(backend).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let tx_reply = tx.clone();
    engine
        .reply_to(
            "t.bcast",
            HandlerOptions::default(),
            move |request: Request| {
                let _ = tx_reply.send(("reply", request.sender().clone()));
                async move { Reply::ok(1) }
            },
        )
        .await
        .expect("reply_to");
    engine
        .slot(
            "t.bcast",
            HandlerOptions::default(),
            move |request: Request| {
                let _ = tx.send(("slot", request.sender().clone()));
                async move {}
            },
        )
        .await
        .expect("slot");
    let sender = engine
        .broadcast("t.bcast", json!("all"))
        .await
        .expect("broadcast");
    let mut got = vec![recv(&mut rx).await, recv(&mut rx).await];
    got.sort_by_key(|(kind, _)| *kind);
    assert_eq!(got, vec![("reply", sender.clone()), ("slot", sender)]);
}
