//! Running compositions against both backends, a real redis-server and the built-in
//! broker: missing services, step timeouts, lambdas, many runs at once, the step records,
//! and a server that goes away mid-run.

mod support;

on_both_backends! {
    a_missing_service_inside_or_or_falls_back,
    step_timeouts_answer_499_and_or_or_falls_back,
    lambdas_are_steps_without_a_request,
    one_composition_runs_fifty_times_at_once,
    step_records_tie_each_step_to_its_request_and_time,
    server_down_gives_failure_codes_not_a_hang,
    every_step_names_its_execution_and_place,
}

use gilmour::compose::{Composition, ExecuteOptions, Lambda, Step, StepKind};
use gilmour::engine::{Engine, HandlerOptions, Reply, Request, current_context, in_context};
use gilmour::protocol::{CallContext, Code, Message, Sender};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use support::compose::{NEVER, Services, codes, named, options, tagged, tree};
use support::{Backend, Server, on_both_backends};
use tokio::sync::Barrier;

async fn a_missing_service_inside_or_or_falls_back(backend: Backend) {
    let mut services = Services::start(backend).await;
    services.tag("missing.backup").await;

    let outcome = services
        .run(&tree("missing.primary || missing.backup"), json!("q"))
        .await;
    assert_eq!(outcome.code, Code::OK);
    assert_eq!(outcome.data, tagged("missing.backup", json!("q")));
    assert_eq!(
        codes(&outcome),
        named(&[("missing.primary", 404), ("missing.backup", 200)])
    );
    assert_eq!(outcome.steps[0].sender, None);
    assert_eq!(services.called(), ["missing.backup"]);

    let outcome = services.run(&tree("missing.primary"), json!("q")).await;
    assert_eq!(
        (outcome.code, outcome.data),
        (
            Code::NOT_FOUND,
            json!("no active listeners for `missing.primary`")
        )
    );
}

async fn step_timeouts_answer_499_and_or_or_falls_back(backend: Backend) {
    let mut services = Services::start(backend).await;
    services.tag("slow.backup").await;
    services
        .engine
        .reply_to(
            "slow.never",
            HandlerOptions::default(),
            |_request: Request| std::future::pending::<Reply>(),
        )
        .await
        .expect("reply_to");

    let composition = Composition::or_or([
        Step::new("slow.never")
            .timeout(Duration::from_millis(200))
            .into(),
        Composition::step("slow.backup"),
    ]);
    let outcome = services.run(&composition, json!(1)).await;
    assert_eq!(outcome.data, tagged("slow.backup", json!(1)));
    assert_eq!(
        codes(&outcome),
        named(&[("slow.never", 499), ("slow.backup", 200)])
    );
    assert!(
        outcome.steps[0].sender.is_some(),
        "the request was published"
    );
    assert_eq!(services.called(), ["slow.backup"]);

    // Without a timeout of its own, a step gets the default from the options.
    let outcome = tokio::time::timeout(
        NEVER,
        tree("slow.never").execute(
            &services.engine,
            json!(1),
            ExecuteOptions::step_timeout(Duration::from_millis(200)),
        ),
    )
    .await
    .expect("finished");
    assert_eq!(
        (outcome.code, outcome.data),
        (Code::TIMEOUT, json!("Execution timed out"))
    );
}

async fn lambdas_are_steps_without_a_request(backend: Backend) {
    let mut services = Services::start(backend).await;
    services.math("lambda.add1", |n| n + 1).await;
    let square = Lambda::sync("square", |message: Message| {
        let n = message.data.as_i64().unwrap_or_default();
        Message::new(json!(n * n), message.sender)
    });
    let negate = Lambda::new("negate", |message: Message| async move {
        let n = message.data.as_i64().unwrap_or_default();
        Message::new(json!(-n), message.sender)
    });
    let refuse = Lambda::sync("refuse", |message: Message| {
        Message::with_code(json!("no"), Code(418), message.sender)
    });
    let explode = Lambda::sync("explode", |_message: Message| panic!("boom"));
    let hang = Lambda::new("hang", |_message: Message| {
        std::future::pending::<Message>()
    });

    let composition = Composition::pipe([
        Composition::step("lambda.add1"),
        square.clone().into(),
        negate.into(),
        Composition::step("lambda.add1"),
    ]);
    let outcome = services.run(&composition, json!(2)).await;
    assert_eq!((outcome.code, outcome.data.clone()), (Code::OK, json!(-8)));
    assert_eq!(
        services.calls(),
        [
            ("lambda.add1".to_owned(), json!(2)),
            ("lambda.add1".to_owned(), json!(-9)),
        ]
    );
    let kinds: Vec<(StepKind, &str, bool)> = outcome
        .steps
        .iter()
        .map(|step| (step.kind, step.name.as_str(), step.sender.is_some()))
        .collect();
    assert_eq!(
        kinds,
        [
            (StepKind::Request, "lambda.add1", true),
            (StepKind::Lambda, "square", false),
            (StepKind::Lambda, "negate", false),
            (StepKind::Request, "lambda.add1", true),
        ]
    );

    // A lambda's code counts like a service's: it stops a pipe, `||` falls back.
    let outcome = services
        .run(
            &Composition::pipe([refuse.clone().into(), Composition::step("lambda.add1")]),
            json!(1),
        )
        .await;
    assert_eq!((outcome.code, outcome.data), (Code(418), json!("no")));
    assert_eq!(services.called(), Vec::<String>::new());

    // A panic is a 500, a hang a 499; neither takes the executor down.
    let outcome = services
        .run(
            &Composition::or_or([explode.into(), square.clone().into()]),
            json!(3),
        )
        .await;
    assert_eq!(outcome.data, json!(9));
    assert_eq!(codes(&outcome), named(&[("explode", 500), ("square", 200)]));
    let outcome = services
        .run(&Composition::batch([explode_async().into()]), json!(3))
        .await;
    assert_eq!(
        (outcome.code, outcome.data),
        (
            Code::INTERNAL,
            json!("lambda `explode` panicked: async boom")
        )
    );
    let outcome = Composition::from(hang)
        .execute(
            &services.engine,
            json!(1),
            ExecuteOptions::step_timeout(Duration::from_millis(100)),
        )
        .await;
    assert_eq!(outcome.code, Code::TIMEOUT);

    // Clone, Debug and equality of trees holding lambdas.
    let tree = Composition::parallel([square.clone().into(), refuse.into()]);
    assert_eq!(tree.clone(), tree);
    assert_ne!(
        tree,
        Composition::parallel([square.clone().into(), square.into()])
    );
    assert_eq!(
        format!("{tree:?}"),
        r#"Parallel([Lambda(Lambda("square")), Lambda(Lambda("refuse"))])"#
    );
}

fn explode_async() -> Lambda {
    Lambda::new("explode", |_message: Message| async {
        panic!("async boom");
    })
}

async fn one_composition_runs_fifty_times_at_once(backend: Backend) {
    let mut services = Services::start(backend).await;
    services.math("many.add1", |n| n + 1).await;
    services.math("many.double", |n| n * 2).await;
    let composition = tree("many.add1 | [many.double, many.add1] | many.double || many.add1");

    let runs = (0..50).map(|n| services.run(&composition, json!(n)));
    let outcomes = futures_util::future::join_all(runs).await;
    for (n, outcome) in (0..50).zip(&outcomes) {
        // [2(n+1), n+2] is not a number: `many.double` answers 400 and `||` falls back,
        // getting the original input.
        assert_eq!(outcome.code, Code::OK, "run {n}: {:?}", outcome.data);
        assert_eq!(outcome.data, json!(n + 1), "run {n}");
        assert_eq!(
            codes(outcome),
            named(&[
                ("many.add1", 200),
                ("many.double", 200),
                ("many.add1", 200),
                ("many.double", 400),
                ("many.add1", 200),
            ])
        );
    }
    assert_eq!(services.calls().len(), 50 * 5);
    let mut senders: Vec<_> = outcomes
        .iter()
        .flat_map(|outcome| outcome.steps.iter().filter_map(|step| step.sender.clone()))
        .collect();
    senders.sort();
    senders.dedup();
    assert_eq!(senders.len(), 50 * 5, "every request has its own sender id");
}

async fn step_records_tie_each_step_to_its_request_and_time(backend: Backend) {
    let services = Services::start(backend).await;
    services
        .engine
        .reply_to(
            "records.whoami",
            HandlerOptions::default(),
            |request: Request| async move { Reply::ok(request.sender().as_str()) },
        )
        .await
        .expect("reply_to");
    // Each of the two answers only when both have been called: they overlap in time.
    let barrier = Arc::new(Barrier::new(2));
    for topic in ["records.left", "records.right"] {
        let barrier = barrier.clone();
        services
            .engine
            .reply_to(
                topic,
                HandlerOptions::default(),
                move |_request: Request| {
                    let barrier = barrier.clone();
                    async move {
                        barrier.wait().await;
                        Reply::ok("met")
                    }
                },
            )
            .await
            .expect("reply_to");
    }

    let run = services
        .run(
            &tree("record(records.whoami ; records.whoami) ; [records.left, records.right]"),
            json!(null),
        )
        .await;
    assert_eq!(run.data, json!(["met", "met"]));
    assert_eq!(
        codes(&run),
        named(&[
            ("records.whoami", 200),
            ("records.whoami", 200),
            ("records.left", 200),
            ("records.right", 200),
        ])
    );
    let steps = &run.steps;
    assert!(steps.iter().all(|step| step.kind == StepKind::Request));
    // Sequential steps follow each other; parallel ones overlap; all within the run.
    let end = |i: usize| steps[i].start + steps[i].duration;
    assert!(steps[1].start >= end(0));
    assert!(steps[2].start >= end(1) && steps[3].start >= end(1));
    assert!(steps[2].start < end(3) && steps[3].start < end(2));
    assert!((0..4).all(|i| end(i) <= run.elapsed));

    // The sender of each record is the sender the service saw.
    let run = services
        .run(
            &tree("record(records.whoami ; records.whoami)"),
            json!(null),
        )
        .await;
    let seen: Vec<String> = run.data_as().expect("two sender ids");
    let recorded: Vec<String> = run
        .steps
        .iter()
        .map(|step| step.sender.as_ref().expect("published").0.clone())
        .collect();
    assert_eq!(recorded, seen);
    assert_ne!(seen[0], seen[1]);
}

async fn server_down_gives_failure_codes_not_a_hang(backend: Backend) {
    // A server of its own: stopping the shared one would take the other tests down.
    let server = Server::start(backend);
    let engine = Engine::builder(&server.url())
        .redis(|redis| {
            redis.command_timeout = Duration::from_millis(500);
            redis.heartbeat_interval = Duration::from_millis(100);
            redis.heartbeat_timeout = Duration::from_millis(300);
        })
        .connect()
        .await
        .expect("connect");
    server.stop();

    let outcome = tokio::time::timeout(
        NEVER,
        tree("down.a || down.b").execute(&engine, json!(1), options()),
    )
    .await
    .expect("the executor returned");
    assert_eq!(outcome.code, Code::UNAVAILABLE, "{:?}", outcome.data);
    assert_eq!(codes(&outcome), named(&[("down.a", 503), ("down.b", 503)]));
}

async fn every_step_names_its_execution_and_place(backend: Backend) {
    let services = Services::start(backend).await;
    for topic in ["place.a", "place.b", "place.c"] {
        support::engine::echo(&services.engine, topic).await;
    }
    let mut raw =
        support::RawSubscriber::psubscribe(Server::shared(backend), "gilmour.request.place.*");
    let composition = tree("place.a | [place.b, place.c]");
    let outcome = services.run(&composition, json!("x")).await;
    assert!(outcome.is_ok(), "{outcome:?}");
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (channel, payload) = raw.next();
        let context = CallContext::read(payload.as_bytes()).expect("a context");
        assert_eq!(
            context.parent, None,
            "a top-level composition has no parent"
        );
        let step = context.composition.expect("a composition step");
        assert_eq!(step.id, outcome.id, "one id for the whole execution");
        seen.push((
            channel.trim_start_matches("gilmour.request.").to_owned(),
            step.step,
        ));
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            ("place.a".to_owned(), "1".to_owned()),
            ("place.b".to_owned(), "2.1".to_owned()),
            ("place.c".to_owned(), "2.2".to_owned()),
        ]
    );
    // Another execution has another id; one run inside a context keeps its parent.
    let parent = CallContext::child_of(Sender::from("the-handler"));
    let inner = in_context(parent, services.run(&tree("place.a"), json!(1))).await;
    let (_, payload) = raw.next();
    let context = CallContext::read(payload.as_bytes()).expect("a context");
    assert_eq!(context.parent, Some(Sender::from("the-handler")));
    let step = context.composition.expect("a step");
    assert_eq!(
        (step.id.as_str(), step.step.as_str()),
        (inner.id.as_str(), "1")
    );
    assert_ne!(inner.id, outcome.id);
    assert_eq!(current_context(), None);
}
