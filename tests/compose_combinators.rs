//! The combinators of compositions against both backends, a real redis-server and the
//! built-in broker, with real (in-process) services: pipe, `&&`, `||`, batch, recorded
//! batch, parallel and `with`, each on success and on failure, and which services each one
//! calls with what.

mod support;

on_both_backends! {
    pipe_feeds_each_output_to_the_next_and_stops_at_the_first_non_200,
    and_and_gives_every_step_the_input_and_stops_at_the_first_failure,
    or_or_runs_until_one_succeeds_or_returns_the_last_failure,
    batch_runs_every_step_on_the_input_and_returns_the_last,
    recorded_batch_returns_every_output_with_the_highest_code,
    parallel_runs_at_once_and_keeps_declaration_order,
    parallel_failure_gives_the_array_with_the_highest_code,
    with_merges_into_the_input_object_and_refuses_other_inputs,
}

use gilmour::engine::{HandlerOptions, Reply, Request};
use gilmour::protocol::Code;
use serde_json::json;
use std::sync::Arc;
use support::compose::{Services, codes, named, tagged, tree};
use support::{Backend, on_both_backends};
use tokio::sync::Notify;

async fn pipe_feeds_each_output_to_the_next_and_stops_at_the_first_non_200(backend: Backend) {
    let mut services = Services::start(backend).await;
    services.math("pipe.add1", |n| n + 1).await;
    services.math("pipe.double", |n| n * 2).await;
    services.fail("pipe.fail", 500).await;
    services
        .serve("pipe.created", |data| Reply::with_code(201, data))
        .await;

    let outcome = services
        .run(&tree("pipe.add1 | pipe.double | pipe.add1"), json!(3))
        .await;
    assert_eq!((outcome.code, outcome.data), (Code::OK, json!(9)));
    assert_eq!(
        services.calls(),
        [
            ("pipe.add1".to_owned(), json!(3)),
            ("pipe.double".to_owned(), json!(4)),
            ("pipe.add1".to_owned(), json!(8)),
        ]
    );

    let outcome = services
        .run(&tree("pipe.add1 | pipe.fail | pipe.double"), json!(3))
        .await;
    assert_eq!(outcome.code, Code::INTERNAL);
    assert_eq!(outcome.data, json!("pipe.fail refused"));
    assert_eq!(services.called(), ["pipe.add1", "pipe.fail"]);

    // Not 200 is enough to stop a pipe, even a success code.
    let outcome = services
        .run(&tree("pipe.created | pipe.double"), json!(5))
        .await;
    assert_eq!((outcome.code, outcome.data), (Code(201), json!(5)));
    assert_eq!(services.called(), ["pipe.created"]);
}

async fn and_and_gives_every_step_the_input_and_stops_at_the_first_failure(backend: Backend) {
    let mut services = Services::start(backend).await;
    services.tag("and.one").await;
    services.tag("and.two").await;
    services.fail("and.fail", 503).await;
    let input = json!({"x": 1});

    let outcome = services
        .run(&tree("and.one && and.two"), input.clone())
        .await;
    assert_eq!(outcome.code, Code::OK);
    assert_eq!(outcome.data, tagged("and.two", input.clone()));
    assert_eq!(
        services.calls(),
        [
            ("and.one".to_owned(), input.clone()),
            ("and.two".to_owned(), input.clone()),
        ]
    );

    let outcome = services
        .run(&tree("and.one && and.fail && and.two"), input.clone())
        .await;
    assert_eq!(outcome.code, Code(503));
    assert_eq!(outcome.data, json!("and.fail refused"));
    assert_eq!(services.called(), ["and.one", "and.fail"]);
}

async fn or_or_runs_until_one_succeeds_or_returns_the_last_failure(backend: Backend) {
    let mut services = Services::start(backend).await;
    services.tag("or.one").await;
    services.tag("or.two").await;
    services.fail("or.fail", 500).await;
    services.fail("or.fail2", 502).await;
    let input = json!("in");

    let outcome = services
        .run(&tree("or.fail || or.one || or.two"), input.clone())
        .await;
    assert_eq!(outcome.code, Code::OK);
    assert_eq!(outcome.data, tagged("or.one", input.clone()));
    assert_eq!(
        services.calls(),
        [
            ("or.fail".to_owned(), input.clone()),
            ("or.one".to_owned(), input.clone()),
        ]
    );

    let outcome = services
        .run(&tree("or.fail || or.fail2"), input.clone())
        .await;
    assert_eq!(outcome.code, Code(502));
    assert_eq!(outcome.data, json!("or.fail2 refused"));
    assert_eq!(services.called(), ["or.fail", "or.fail2"]);

    // Precedence: `a && b || c` is `(a && b) || c`.
    let outcome = services
        .run(&tree("or.one && or.fail || or.two"), input.clone())
        .await;
    assert_eq!(outcome.data, tagged("or.two", input));
    assert_eq!(services.called(), ["or.one", "or.fail", "or.two"]);
}

async fn batch_runs_every_step_on_the_input_and_returns_the_last(backend: Backend) {
    let mut services = Services::start(backend).await;
    services.tag("batch.one").await;
    services.fail("batch.fail", 500).await;
    let input = json!([1, 2]);

    let outcome = services
        .run(&tree("batch.fail ; batch.one"), input.clone())
        .await;
    assert_eq!(outcome.code, Code::OK);
    assert_eq!(outcome.data, tagged("batch.one", input.clone()));

    let outcome = services
        .run(&tree("batch.one ; batch.fail"), input.clone())
        .await;
    assert_eq!(outcome.code, Code::INTERNAL);
    assert_eq!(outcome.data, json!("batch.fail refused"));

    let calls = services.calls();
    let topics: Vec<&str> = calls.iter().map(|(topic, _)| topic.as_str()).collect();
    assert_eq!(
        topics,
        ["batch.fail", "batch.one", "batch.one", "batch.fail"]
    );
    assert!(calls.iter().all(|(_, data)| data == &input), "{calls:?}");
}

async fn recorded_batch_returns_every_output_with_the_highest_code(backend: Backend) {
    let mut services = Services::start(backend).await;
    services.tag("record.one").await;
    services.tag("record.two").await;
    services.fail("record.fail", 502).await;
    services.fail("record.fail2", 500).await;

    let outcome = services
        .run(&tree("record(record.one ; record.two)"), json!(7))
        .await;
    assert_eq!(outcome.code, Code::OK);
    assert_eq!(
        outcome.data,
        json!([
            tagged("record.one", json!(7)),
            tagged("record.two", json!(7))
        ])
    );

    let outcome = services
        .run(
            &tree("record(record.fail ; record.one ; record.fail2)"),
            json!(7),
        )
        .await;
    assert_eq!(outcome.code, Code(502));
    assert_eq!(
        outcome.data,
        json!([
            "record.fail refused",
            tagged("record.one", json!(7)),
            "record.fail2 refused"
        ])
    );
    assert_eq!(
        services.called(),
        [
            "record.one",
            "record.two",
            "record.fail",
            "record.one",
            "record.fail2"
        ]
    );
}

async fn parallel_runs_at_once_and_keeps_declaration_order(backend: Backend) {
    let services = Services::start(backend).await;
    // `par.first` answers only once `par.second` has run: run one after the other, the
    // first step would wait for ever (and time out with 499). So `second` finishes first,
    // and the result must still list `first` first.
    let second_ran = Arc::new(Notify::new());
    let notify = second_ran.clone();
    services
        .engine
        .reply_to(
            "par.second",
            HandlerOptions::default(),
            move |_request: Request| {
                notify.notify_one();
                async { Reply::ok("second") }
            },
        )
        .await
        .expect("reply_to");
    let wait = second_ran.clone();
    services
        .engine
        .reply_to(
            "par.first",
            HandlerOptions::default(),
            move |_request: Request| {
                let wait = wait.clone();
                async move {
                    wait.notified().await;
                    Reply::ok("first")
                }
            },
        )
        .await
        .expect("reply_to");

    let outcome = services
        .run(&tree("[par.first, par.second]"), json!(null))
        .await;
    assert_eq!(outcome.code, Code::OK);
    assert_eq!(outcome.data, json!(["first", "second"]));
    assert_eq!(
        codes(&outcome),
        named(&[("par.first", 200), ("par.second", 200)])
    );
}

async fn parallel_failure_gives_the_array_with_the_highest_code(backend: Backend) {
    let mut services = Services::start(backend).await;
    services.tag("parf.one").await;
    services.fail("parf.fail", 500).await;

    let outcome = services
        .run(&tree("[parf.one, parf.missing, parf.fail]"), json!(1))
        .await;
    assert_eq!(outcome.code, Code::INTERNAL);
    assert_eq!(
        outcome.data,
        json!([
            tagged("parf.one", json!(1)),
            "no active listeners for `parf.missing`",
            "parf.fail refused"
        ])
    );
    let mut called = services.called();
    called.sort();
    assert_eq!(called, ["parf.fail", "parf.one"]);

    let outcome = services
        .run(&tree("[parf.one, parf.missing]"), json!(1))
        .await;
    assert_eq!(outcome.code, Code::NOT_FOUND);
}

async fn with_merges_into_the_input_object_and_refuses_other_inputs(backend: Backend) {
    let mut services = Services::start(backend).await;
    services.tag("with.echo").await;

    let composition = tree(r#"with.echo {"a": 9, "b": {"deep": true}}"#);
    let outcome = services.run(&composition, json!({"a": 1, "c": 3})).await;
    assert_eq!(outcome.code, Code::OK);
    assert_eq!(
        outcome.data,
        tagged("with.echo", json!({"a": 9, "b": {"deep": true}, "c": 3}))
    );
    services.calls();

    for (input, kind) in [
        (json!([1, 2]), "an array"),
        (json!("text"), "a string"),
        (json!(null), "null"),
    ] {
        let outcome = services.run(&composition, input).await;
        assert_eq!(outcome.code, Code::BAD_REQUEST);
        assert_eq!(
            outcome.data,
            json!(format!(
                "cannot merge the `with` of `with.echo` into {kind}: its input must be a JSON object"
            ))
        );
        assert_eq!(outcome.steps.len(), 1);
        assert_eq!(outcome.steps[0].sender, None, "nothing was published");
    }
    assert_eq!(services.called(), Vec::<String>::new());

    // A refused merge is a failure like any other: `||` falls back.
    let outcome = services
        .run(&tree(r#"with.echo {"k": 1} || with.echo"#), json!(5))
        .await;
    assert_eq!(outcome.data, tagged("with.echo", json!(5)));
}
