//! Executing a composition with an [`Engine`]: each step is an ordinary request, each
//! operator decides from the codes what runs next, as PROTOCOL.md "Compositions" says.
//!
//! Success and failure are the protocol's: a pipe goes on only while the code is exactly
//! 200; the other operators count a code as a failure from 300 up ([`Code::is_failure`]).
//! Nothing here fails with an error: a step that cannot be made (nobody listens, Redis is
//! down, a `with` that cannot be merged) answers with a failure code, like a service that
//! said no, so `||` can fall back and the caller always gets an [`Outcome`].

use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, join_all};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::compose::lambda::Lambda;
use crate::compose::tree::{Composition, Step};
use crate::engine::{
    DEFAULT_REQUEST_TIMEOUT, Engine, EngineError, RequestOptions, TIMED_OUT, current_context,
    in_context,
};
use crate::protocol::{CallContext, Code, CompositionStep, Message, Sender};

/// How a composition is executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecuteOptions {
    /// How long a step (request or lambda) may take when it has no timeout of its own;
    /// it then answers 499.
    pub step_timeout: Duration,
}

impl Default for ExecuteOptions {
    fn default() -> Self {
        ExecuteOptions {
            step_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

impl ExecuteOptions {
    /// Options with this default step timeout.
    pub fn step_timeout(step_timeout: Duration) -> Self {
        ExecuteOptions { step_timeout }
    }
}

/// What executing a composition gave: the final data and code, and a record of every
/// step that ran.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The final data (for parallel and recorded batch, the array of their outputs).
    pub data: Value,
    /// The final code.
    pub code: Code,
    /// Every step that ran, in tree order (depth first, left to right; the branches of a
    /// parallel node in declaration order, not in the order they ran). Sort by
    /// [`StepRecord::start`] for a timeline.
    pub steps: Vec<StepRecord>,
    /// From the start of the execution to its end.
    pub elapsed: Duration,
    /// The execution's id: every step's request carries it (`"composition": {"id": …}`),
    /// so that an inspector shows the execution as one tree.
    pub id: String,
}

impl Outcome {
    /// Whether the final code is a success.
    pub fn is_ok(&self) -> bool {
        self.code.is_ok()
    }

    /// The final data decoded into a Rust type.
    pub fn data_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.data)
    }
}

/// What kind of leaf a step was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// A request to a topic.
    Request,
    /// A local function.
    Lambda,
}

/// One step that ran: what it was, what it answered and when, relative to the start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRecord {
    /// A request or a lambda.
    pub kind: StepKind,
    /// The topic, or the lambda's name.
    pub name: String,
    /// The request's sender id: the key of its trace in the inspector. `None` for a lambda
    /// and for a request that was never published (nobody listened, Redis was down, its
    /// `with` could not be merged).
    pub sender: Option<Sender>,
    /// The code it answered (or failed) with.
    pub code: Code,
    /// When it started, from the start of the execution.
    pub start: Duration,
    /// How long it took.
    pub duration: Duration,
}

impl Composition {
    /// Runs the composition with `input` as its data and waits for the outcome.
    ///
    /// Steps that fail to be made become failure codes: 404 when nobody listens on the
    /// topic (the data names it: "no active listeners for …"), 400 for a topic that
    /// cannot be requested or a `with` whose input is not a JSON object, 503 when Redis
    /// cannot be reached or the link drops while waiting, 499 when a step times out, 500
    /// when a lambda panics. Every step is bounded by its timeout, so this always returns.
    pub async fn execute(
        &self,
        engine: &Engine,
        input: impl Into<Value>,
        options: ExecuteOptions,
    ) -> Outcome {
        let run = Run {
            engine,
            options,
            started: Instant::now(),
            id: engine.next_composition_id(),
            parent: current_context().and_then(|context| context.parent),
        };
        let mut steps = Vec::new();
        let answer = run.node(self, input.into(), &mut steps, Path::root()).await;
        Outcome {
            data: answer.data,
            code: answer.code,
            steps,
            elapsed: run.started.elapsed(),
            id: run.id,
        }
    }
}

/// The data and code a node answered with.
struct Answer {
    data: Value,
    code: Code,
}

impl Answer {
    fn ok(data: Value) -> Self {
        Answer {
            data,
            code: Code::OK,
        }
    }

    fn failure(code: Code, why: impl Into<String>) -> Self {
        Answer {
            data: Value::String(why.into()),
            code,
        }
    }
}

/// One execution: what every node of it shares.
struct Run<'e> {
    engine: &'e Engine,
    options: ExecuteOptions,
    started: Instant,
    /// The execution's id, carried by every step's request.
    id: String,
    /// The request being handled when the execution started, if any: the parent of
    /// every step.
    parent: Option<Sender>,
}

/// A node's place in the tree: `1`, `2.1`, …; empty for the root.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Path(String);

impl Path {
    fn root() -> Path {
        Path(String::new())
    }

    /// The path of the `index`th (0-based) child.
    fn child(&self, index: usize) -> Path {
        if self.0.is_empty() {
            Path((index + 1).to_string())
        } else {
            Path(format!("{}.{}", self.0, index + 1))
        }
    }

    /// How a step at this path is named on the wire: a root that is a step alone is `1`.
    fn step(&self) -> String {
        if self.0.is_empty() {
            "1".to_owned()
        } else {
            self.0.clone()
        }
    }
}

type Records = Vec<StepRecord>;

impl Run<'_> {
    /// Runs `node` on `input`, appending a record per step that ran. Boxed because the
    /// tree is recursive.
    fn node<'a>(
        &'a self,
        node: &'a Composition,
        input: Value,
        records: &'a mut Records,
        path: Path,
    ) -> BoxFuture<'a, Answer> {
        Box::pin(async move {
            match node {
                Composition::Step(step) => self.step(step, input, records, path).await,
                Composition::Lambda(lambda) => self.lambda(lambda, input, records).await,
                Composition::Pipe(children) => self.pipe(children, input, records, path).await,
                Composition::AndAnd(children) => {
                    self.sequence(children, input, records, path, Until::Failure)
                        .await
                }
                Composition::OrOr(children) => {
                    self.sequence(children, input, records, path, Until::Success)
                        .await
                }
                Composition::Batch(children) => {
                    self.sequence(children, input, records, path, Until::End)
                        .await
                }
                Composition::RecordedBatch(children) => {
                    let mut answers = Vec::with_capacity(children.len());
                    for (index, child) in children.iter().enumerate() {
                        let path = path.child(index);
                        answers.push(self.node(child, input.clone(), records, path).await);
                    }
                    collect(answers)
                }
                Composition::Parallel(children) => {
                    self.parallel(children, input, records, path).await
                }
            }
        })
    }

    /// Each output is the next input; stops at the first code other than 200.
    async fn pipe(
        &self,
        children: &[Composition],
        input: Value,
        records: &mut Records,
        path: Path,
    ) -> Answer {
        let mut answer = Answer::ok(input);
        for (index, child) in children.iter().enumerate() {
            answer = self
                .node(child, answer.data, records, path.child(index))
                .await;
            if answer.code != Code::OK {
                break;
            }
        }
        answer
    }

    /// Every child on the original input, one after another, until `until` says stop;
    /// the answer is the last one run. No children pass the input through.
    async fn sequence(
        &self,
        children: &[Composition],
        input: Value,
        records: &mut Records,
        path: Path,
        until: Until,
    ) -> Answer {
        let mut answer = Answer::ok(input.clone());
        for (index, child) in children.iter().enumerate() {
            answer = self
                .node(child, input.clone(), records, path.child(index))
                .await;
            let stop = match until {
                Until::Failure => answer.code.is_failure(),
                Until::Success => answer.code.is_ok(),
                Until::End => false,
            };
            if stop {
                break;
            }
        }
        answer
    }

    /// Every child at once on the input; their outputs in declaration order.
    async fn parallel(
        &self,
        children: &[Composition],
        input: Value,
        records: &mut Records,
        path: Path,
    ) -> Answer {
        let mut branches: Vec<Records> = children.iter().map(|_| Vec::new()).collect();
        let answers = join_all(children.iter().zip(branches.iter_mut()).enumerate().map(
            |(index, (child, branch))| self.node(child, input.clone(), branch, path.child(index)),
        ))
        .await;
        records.extend(branches.into_iter().flatten());
        collect(answers)
    }

    async fn step(&self, step: &Step, input: Value, records: &mut Records, path: Path) -> Answer {
        let start = self.started.elapsed();
        let clock = Instant::now();
        let (answer, sender) = match merge(&step.topic, input, step.with.as_ref()) {
            Err(answer) => (answer, None),
            Ok(data) => {
                let timeout = step.timeout.unwrap_or(self.options.step_timeout);
                let context = CallContext {
                    parent: self.parent.clone(),
                    composition: Some(CompositionStep {
                        id: self.id.clone(),
                        step: path.step(),
                    }),
                };
                let request =
                    self.engine
                        .request(&step.topic, data, RequestOptions::timeout(timeout));
                let result = in_context(context, request).await;
                match result {
                    Ok(response) => {
                        let answer = Answer {
                            data: response.reply.data,
                            code: response.reply.code,
                        };
                        (answer, Some(response.sender))
                    }
                    Err(error) => (Answer::failure(code_of(&error), error.to_string()), None),
                }
            }
        };
        records.push(StepRecord {
            kind: StepKind::Request,
            name: step.topic.clone(),
            sender,
            code: answer.code,
            start,
            duration: clock.elapsed(),
        });
        answer
    }

    async fn lambda(&self, lambda: &Lambda, input: Value, records: &mut Records) -> Answer {
        let start = self.started.elapsed();
        let clock = Instant::now();
        let message = Message::new(input, Sender::default());
        // A sync lambda runs, and may panic, while it is called; an async one while polled.
        let answer = match std::panic::catch_unwind(AssertUnwindSafe(|| lambda.call(message))) {
            Err(panic) => panicked(lambda, panic.as_ref()),
            Ok(running) => {
                let running = AssertUnwindSafe(running).catch_unwind();
                match tokio::time::timeout(self.options.step_timeout, running).await {
                    Ok(Ok(reply)) => Answer {
                        data: reply.data,
                        code: reply.code,
                    },
                    Ok(Err(panic)) => panicked(lambda, panic.as_ref()),
                    Err(_) => Answer::failure(Code::TIMEOUT, TIMED_OUT),
                }
            }
        };
        records.push(StepRecord {
            kind: StepKind::Lambda,
            name: lambda.name().to_owned(),
            sender: None,
            code: answer.code,
            start,
            duration: clock.elapsed(),
        });
        answer
    }
}

/// When a sequence of children stops early.
#[derive(Debug, Clone, Copy)]
enum Until {
    /// And-and: at the first failure.
    Failure,
    /// Or-or: at the first success.
    Success,
    /// Batch: never.
    End,
}

/// The outputs of several children as one answer: their data as an array, in order, with
/// the highest code (200 for none).
fn collect(answers: Vec<Answer>) -> Answer {
    let code = answers
        .iter()
        .map(|answer| answer.code)
        .max()
        .unwrap_or(Code::OK);
    let data = answers.into_iter().map(|answer| answer.data).collect();
    Answer {
        data: Value::Array(data),
        code,
    }
}

/// `input` with the `with` object of the step on `topic` merged into it, its keys winning;
/// a 400 answer when the input is not an object.
fn merge(topic: &str, input: Value, with: Option<&Map<String, Value>>) -> Result<Value, Answer> {
    let Some(with) = with else {
        return Ok(input);
    };
    match input {
        Value::Object(mut object) => {
            object.extend(with.iter().map(|(key, value)| (key.clone(), value.clone())));
            Ok(Value::Object(object))
        }
        other => Err(Answer::failure(
            Code::BAD_REQUEST,
            format!(
                "cannot merge the `with` of `{topic}` into {}: its input must be a JSON object",
                crate::compose::tree::json_kind(&other)
            ),
        )),
    }
}

/// The code a request that could not be made answers with.
fn code_of(error: &EngineError) -> Code {
    match error {
        EngineError::NoListeners { .. } => Code::NOT_FOUND,
        EngineError::Topic(_) => Code::BAD_REQUEST,
        EngineError::Transport(_)
        | EngineError::Disconnected { .. }
        | EngineError::NotConnected
        | EngineError::ShuttingDown => Code::UNAVAILABLE,
        // A request never reports these; should one appear, it is still a failure.
        EngineError::NoReceivers { .. } | EngineError::DuplicateGroup { .. } => Code::INTERNAL,
    }
}

fn panicked(lambda: &Lambda, panic: &(dyn std::any::Any + Send)) -> Answer {
    let text = panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-text panic payload".to_owned());
    Answer::failure(
        Code::INTERNAL,
        format!("lambda `{}` panicked: {text}", lambda.name()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("test helper needs an object, got {other}"),
        }
    }

    #[test]
    fn merge_lets_the_with_keys_win() {
        let with = object(json!({"unit": "C", "n": 2}));
        let merged = merge("t", json!({"n": 1, "city": "Pune"}), Some(&with));
        assert_eq!(
            merged.ok(),
            Some(json!({"n": 2, "city": "Pune", "unit": "C"}))
        );
        assert_eq!(merge("t", json!([1]), None).ok(), Some(json!([1])));
    }

    #[test]
    fn merge_into_a_non_object_is_a_400() {
        let with = object(json!({"unit": "C"}));
        for (input, kind) in [
            (json!(null), "null"),
            (json!([1]), "an array"),
            (json!("x"), "a string"),
        ] {
            let Err(answer) = merge("weather.max", input, Some(&with)) else {
                panic!("merging into {kind} should fail");
            };
            assert_eq!(answer.code, Code::BAD_REQUEST);
            assert_eq!(
                answer.data,
                json!(format!(
                    "cannot merge the `with` of `weather.max` into {kind}: \
                     its input must be a JSON object"
                ))
            );
        }
    }

    #[test]
    fn collect_keeps_order_and_the_highest_code() {
        let answer = collect(vec![
            Answer::ok(json!(1)),
            Answer::failure(Code::NOT_FOUND, "x"),
            Answer::failure(Code(0), "ruby"),
        ]);
        assert_eq!(answer.data, json!([1, "x", "ruby"]));
        assert_eq!(answer.code, Code::NOT_FOUND);
        let empty = collect(Vec::new());
        assert_eq!((empty.data, empty.code), (json!([]), Code::OK));
    }

    #[test]
    fn request_errors_become_codes() {
        let missing = EngineError::NoListeners { topic: "x".into() };
        assert_eq!(code_of(&missing), Code::NOT_FOUND);
        assert_eq!(missing.to_string(), "no active listeners for `x`");
        assert_eq!(code_of(&EngineError::NotConnected), Code::UNAVAILABLE);
    }
}
