//! What the composition tests share: an engine serving the test's services and logging
//! the requests they receive, and short ways to write trees and expected step codes.

use super::{Backend, Server};
use gilmour::compose::{Composition, ExecuteOptions, Outcome, parse};
use gilmour::engine::{Engine, HandlerOptions, Reply, Request};
use gilmour::protocol::Code;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Long enough never to fire on a healthy run; a step that hits it shows up as a 499.
pub fn options() -> ExecuteOptions {
    ExecuteOptions::step_timeout(Duration::from_secs(10))
}

/// A guard around each execution: a composition that hangs fails the test.
pub const NEVER: Duration = Duration::from_secs(60);

/// An engine serving the test's services, and the log of the requests they received.
pub struct Services {
    pub engine: Engine,
    log: mpsc::UnboundedSender<(String, Value)>,
    calls: mpsc::UnboundedReceiver<(String, Value)>,
}

impl Services {
    /// Services on the backend's shared server.
    pub async fn start(backend: Backend) -> Services {
        let engine = Engine::connect(&Server::shared(backend).url())
            .await
            .expect("connect");
        let (log, calls) = mpsc::unbounded_channel();
        Services { engine, log, calls }
    }

    /// Serves `topic` with `answer`, logging each request's data before answering.
    pub async fn serve(
        &self,
        topic: &str,
        answer: impl Fn(Value) -> Reply + Send + Sync + 'static,
    ) {
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
    pub async fn tag(&self, topic: &str) {
        let name = topic.to_owned();
        self.serve(topic, move |data| {
            Reply::ok(json!({"from": name, "input": data}))
        })
        .await;
    }

    /// A service that always fails with `code`.
    pub async fn fail(&self, topic: &str, code: i64) {
        let why = format!("{topic} refused");
        self.serve(topic, move |_| Reply::with_code(code, why.clone()))
            .await;
    }

    /// A service doing arithmetic on a number.
    pub async fn math(&self, topic: &str, op: fn(i64) -> i64) {
        self.serve(topic, move |data| match data.as_i64() {
            Some(n) => Reply::ok(op(n)),
            None => Reply::with_code(Code::BAD_REQUEST, "expected a number"),
        })
        .await;
    }

    /// Runs `composition` on `input`, failing the test if it hangs.
    pub async fn run(&self, composition: &Composition, input: Value) -> Outcome {
        tokio::time::timeout(NEVER, composition.execute(&self.engine, input, options()))
            .await
            .expect("the composition did not finish")
    }

    /// The requests the services received since the last call, in order.
    pub fn calls(&mut self) -> Vec<(String, Value)> {
        let mut calls = Vec::new();
        while let Ok(call) = self.calls.try_recv() {
            calls.push(call);
        }
        calls
    }

    /// The topics the services were called on since the last call, in order.
    pub fn called(&mut self) -> Vec<String> {
        self.calls().into_iter().map(|(topic, _)| topic).collect()
    }
}

/// The composition `text` parses to.
pub fn tree(text: &str) -> Composition {
    parse(text).unwrap_or_else(|error| panic!("{text:?} should parse:\n{error}"))
}

/// What a [`Services::tag`] service answers to `input`.
pub fn tagged(topic: &str, input: Value) -> Value {
    json!({"from": topic, "input": input})
}

/// Each step's name and code, in order.
pub fn codes(outcome: &Outcome) -> Vec<(String, i64)> {
    outcome
        .steps
        .iter()
        .map(|step| (step.name.clone(), step.code.0))
        .collect()
}

/// The expected [`codes`], written as pairs.
pub fn named(list: &[(&str, i64)]) -> Vec<(String, i64)> {
    list.iter()
        .map(|&(name, code)| (name.to_owned(), code))
        .collect()
}
