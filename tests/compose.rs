//! Compositions against a real redis-server and real (in-process) services: every
//! combinator on success and on failure, nesting, `with`, lambdas, missing services,
//! timeouts, Redis down, concurrent runs, and the step records.

mod support;

use gilmour::compose::{Composition, ExecuteOptions, Lambda, Outcome, Step, StepKind, parse};
use gilmour::engine::{Engine, HandlerOptions, Reply, Request};
use gilmour::protocol::{Code, Message};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use support::{Backend, Server};
use tokio::sync::{Barrier, Notify, mpsc};

/// Long enough never to fire on a healthy run; a step that hits it shows up as a 499.
fn options() -> ExecuteOptions {
    ExecuteOptions::step_timeout(Duration::from_secs(10))
}

/// A guard around each execution: a composition that hangs fails the test.
const NEVER: Duration = Duration::from_secs(60);

/// An engine serving the test's services, and the log of the requests they received.
struct Services {
    engine: Engine,
    log: mpsc::UnboundedSender<(String, Value)>,
    calls: mpsc::UnboundedReceiver<(String, Value)>,
}

impl Services {
    async fn start() -> Services {
        let engine = Engine::connect(&Server::shared(Backend::Redis).url())
            .await
            .expect("connect");
        let (log, calls) = mpsc::unbounded_channel();
        Services { engine, log, calls }
    }

    /// Serves `topic` with `answer`, logging each request's data before answering.
    async fn serve(&self, topic: &str, answer: impl Fn(Value) -> Reply + Send + Sync + 'static) {
        let log = self.log.clone();
        let answer = Arc::new(answer);
        let name = topic.to_owned();
        self.engine
            .reply_to(topic, HandlerOptions::default(), move |request: Request| {
                let _ = log.send((name.clone(), request.data().clone()));
                let reply = answer(request.into_data());
                async move { reply }
            })
            .await
            .expect("reply_to");
    }

    /// A service that answers `{"from": topic, "input": data}`.
    async fn tag(&self, topic: &str) {
        let name = topic.to_owned();
        self.serve(topic, move |data| {
            Reply::ok(json!({"from": name, "input": data}))
        })
        .await;
    }

    /// A service that always fails with `code`.
    async fn fail(&self, topic: &str, code: i64) {
        let why = format!("{topic} refused");
        self.serve(topic, move |_| Reply::with_code(code, why.clone()))
            .await;
    }

    /// A service doing arithmetic on a number.
    async fn math(&self, topic: &str, op: fn(i64) -> i64) {
        self.serve(topic, move |data| match data.as_i64() {
            Some(n) => Reply::ok(op(n)),
            None => Reply::with_code(Code::BAD_REQUEST, "expected a number"),
        })
        .await;
    }

    async fn run(&self, composition: &Composition, input: Value) -> Outcome {
        tokio::time::timeout(NEVER, composition.execute(&self.engine, input, options()))
            .await
            .expect("the composition did not finish")
    }

    /// The requests the services received since the last call, in order.
    fn calls(&mut self) -> Vec<(String, Value)> {
        let mut calls = Vec::new();
        while let Ok(call) = self.calls.try_recv() {
            calls.push(call);
        }
        calls
    }

    /// The topics the services were called on since the last call, in order.
    fn called(&mut self) -> Vec<String> {
        self.calls().into_iter().map(|(topic, _)| topic).collect()
    }
}

fn tree(text: &str) -> Composition {
    parse(text).unwrap_or_else(|error| panic!("{text:?} should parse:\n{error}"))
}

fn tagged(topic: &str, input: Value) -> Value {
    json!({"from": topic, "input": input})
}

fn codes(outcome: &Outcome) -> Vec<(String, i64)> {
    outcome
        .steps
        .iter()
        .map(|step| (step.name.clone(), step.code.0))
        .collect()
}

fn named(list: &[(&str, i64)]) -> Vec<(String, i64)> {
    list.iter()
        .map(|&(name, code)| (name.to_owned(), code))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipe_feeds_each_output_to_the_next_and_stops_at_the_first_non_200() {
    let mut services = Services::start().await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn and_and_gives_every_step_the_input_and_stops_at_the_first_failure() {
    let mut services = Services::start().await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn or_or_runs_until_one_succeeds_or_returns_the_last_failure() {
    let mut services = Services::start().await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_runs_every_step_on_the_input_and_returns_the_last() {
    let mut services = Services::start().await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_batch_returns_every_output_with_the_highest_code() {
    let mut services = Services::start().await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_runs_at_once_and_keeps_declaration_order() {
    let services = Services::start().await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_failure_gives_the_array_with_the_highest_code() {
    let mut services = Services::start().await;
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

/// The services of the word count in the Gilmour talk.
async fn word_count_services(services: &Services) {
    services
        .serve("example.fetch", |data| match data["document"].as_str() {
            Some("nature") => Reply::ok(
                "The cat sat on the mat and the cat ran; a bird and a bird sang to the cat. \
                 Small birds nest in green trees, green trees sway, green birds sing.",
            ),
            _ => Reply::with_code(Code::NOT_FOUND, "no such document"),
        })
        .await;
    services
        .serve("example.words", |data| {
            let text = data.as_str().unwrap_or_default().to_lowercase();
            let words: Vec<&str> = text
                .split(|c: char| !c.is_alphabetic())
                .filter(|word| !word.is_empty())
                .collect();
            Reply::ok(words)
        })
        .await;
    services
        .serve("example.stopfilter", |data| {
            const STOP: [&str; 7] = ["the", "a", "and", "on", "to", "in", "of"];
            let words: Vec<Value> = data
                .as_array()
                .into_iter()
                .flatten()
                .filter(|word| !STOP.contains(&word.as_str().unwrap_or_default()))
                .cloned()
                .collect();
            Reply::ok(words)
        })
        .await;
    services
        .serve("example.count", |data| {
            let mut counts = BTreeMap::<String, u64>::new();
            for word in data.as_array().into_iter().flatten() {
                *counts
                    .entry(word.as_str().unwrap_or_default().to_owned())
                    .or_default() += 1;
            }
            Reply::json(&counts)
        })
        .await;
    for length in [3, 4, 5] {
        services
            .serve(&format!("example.popular{length}"), move |data| {
                let counts: BTreeMap<String, u64> =
                    serde_json::from_value(data).unwrap_or_default();
                // Most frequent first; among equals, the first in alphabetical order.
                let best = counts
                    .into_iter()
                    .filter(|(word, _)| word.chars().count() == length)
                    .max_by(|(a, m), (b, n)| m.cmp(n).then(b.cmp(a)));
                match best {
                    Some((word, count)) => Reply::ok(json!({"word": word, "count": count})),
                    None => Reply::with_code(Code::NOT_FOUND, "no word of that length"),
                }
            })
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn word_count_from_the_talk() {
    let mut services = Services::start().await;
    word_count_services(&services).await;
    let composition = tree(
        "example.fetch | example.words | example.stopfilter | example.count | \
         [example.popular3, example.popular4, example.popular5]",
    );

    let outcome = services
        .run(&composition, json!({"document": "nature"}))
        .await;
    assert_eq!(outcome.code, Code::OK, "{:?}", outcome.data);
    assert_eq!(
        outcome.data,
        json!([
            {"word": "cat", "count": 3},
            {"word": "bird", "count": 2},
            {"word": "green", "count": 3},
        ])
    );
    let mut called = services.called();
    called[4..].sort();
    assert_eq!(
        called,
        [
            "example.fetch",
            "example.words",
            "example.stopfilter",
            "example.count",
            "example.popular3",
            "example.popular4",
            "example.popular5"
        ]
    );

    // A failure early in the pipe never reaches the parallel part.
    let outcome = services
        .run(&composition, json!({"document": "missing"}))
        .await;
    assert_eq!(
        (outcome.code, outcome.data),
        (Code::NOT_FOUND, json!("no such document"))
    );
    assert_eq!(services.called(), ["example.fetch"]);
}

/// Temperatures in °F per city, converted to °C when the merged input says `"unit": "C"`.
fn extreme(data: &Value, pick: fn(&[i64]) -> Option<i64>) -> Reply {
    let celsius = data["unit"] == "C";
    let mut result = Map::new();
    for (city, temps) in data["by_city"].as_object().into_iter().flatten() {
        let temps: Vec<i64> = temps
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_i64)
            .collect();
        if let Some(f) = pick(&temps) {
            let value = if celsius { (f - 32) * 5 / 9 } else { f };
            result.insert(city.clone(), json!(value));
        }
    }
    Reply::ok(result)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weather_parallel_and_batches_with_merged_units() {
    let mut services = Services::start().await;
    services
        .serve("weather.fetch", |_| {
            Reply::ok(json!([
                {"city": "Pune", "temp_f": 95},
                {"city": "Oslo", "temp_f": 41},
                {"city": "Pune", "temp_f": 77},
                {"city": "Oslo", "temp_f": 50},
            ]))
        })
        .await;
    services
        .serve("weather.group", |data| {
            let mut by_city = BTreeMap::<String, Vec<i64>>::new();
            for reading in data.as_array().into_iter().flatten() {
                let city = reading["city"].as_str().unwrap_or_default().to_owned();
                let temp = reading["temp_f"].as_i64().unwrap_or_default();
                by_city.entry(city).or_default().push(temp);
            }
            Reply::ok(json!({ "by_city": by_city }))
        })
        .await;
    services
        .serve("weather.min", |data| {
            extreme(&data, |t| t.iter().copied().min())
        })
        .await;
    services
        .serve("weather.max", |data| {
            extreme(&data, |t| t.iter().copied().max())
        })
        .await;

    let outcome = services
        .run(
            &tree(r#"weather.fetch | weather.group | [weather.min, weather.max {"unit": "C"}]"#),
            json!({"region": "any"}),
        )
        .await;
    assert_eq!(outcome.code, Code::OK, "{:?}", outcome.data);
    assert_eq!(
        outcome.data,
        json!([{"Oslo": 41, "Pune": 77}, {"Oslo": 10, "Pune": 35}])
    );

    let outcome = services
        .run(
            &tree(
                r#"weather.fetch | weather.group | record(weather.min {"unit": "C"} ; weather.max)"#,
            ),
            json!(null),
        )
        .await;
    assert_eq!(outcome.code, Code::OK);
    assert_eq!(
        outcome.data,
        json!([{"Oslo": 5, "Pune": 25}, {"Oslo": 50, "Pune": 95}])
    );
    services.calls();

    let outcome = services
        .run(
            &tree(r#"weather.fetch | weather.group | (weather.min ; weather.max {"unit": "C"})"#),
            json!(null),
        )
        .await;
    assert_eq!(outcome.data, json!({"Oslo": 10, "Pune": 35}));
    let calls = services.calls();
    let grouped = json!({"by_city": {"Oslo": [41, 50], "Pune": [95, 77]}});
    assert_eq!(calls[2], ("weather.min".to_owned(), grouped.clone()));
    let mut merged = grouped;
    merged["unit"] = json!("C");
    assert_eq!(calls[3], ("weather.max".to_owned(), merged));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_merges_into_the_input_object_and_refuses_other_inputs() {
    let mut services = Services::start().await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_service_inside_or_or_falls_back() {
    let mut services = Services::start().await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_timeouts_answer_499_and_or_or_falls_back() {
    let mut services = Services::start().await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambdas_are_steps_without_a_request() {
    let mut services = Services::start().await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_composition_runs_fifty_times_at_once() {
    let mut services = Services::start().await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_records_tie_each_step_to_its_request_and_time() {
    let services = Services::start().await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_gives_failure_codes_not_a_hang() {
    let server = Server::start(Backend::Redis);
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
