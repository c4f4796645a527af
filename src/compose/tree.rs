//! The composition tree: how requests to several topics are chained, combined and run
//! side by side. It is data (its only code is in [`Lambda`] leaves); the executor walks it
//! and the text syntax ([`crate::compose::syntax`]) reads and prints it.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::compose::lambda::Lambda;

/// A composition of services: a single request or lambda, or an operator over child
/// compositions.
///
/// Every `match` on this enum in the crate is exhaustive (no `_` arm) on purpose: adding a
/// variant makes the compiler list each place to update.
#[derive(Debug, Clone, PartialEq)]
pub enum Composition {
    /// One request to a topic.
    Step(Step),
    /// A local function in place of a service (see [`Lambda`] for how it compares).
    Lambda(Lambda),
    /// `a | b | c`: each child's reply becomes the next child's request data.
    Pipe(Vec<Composition>),
    /// `a && b`: run the next child only if the previous one succeeded.
    AndAnd(Vec<Composition>),
    /// `a || b`: run the next child only if the previous one failed.
    OrOr(Vec<Composition>),
    /// `a ; b ; c`: run the children one after another whatever their outcome.
    Batch(Vec<Composition>),
    /// `record(a ; b ; c)`: a batch that keeps every child's reply, not only the last.
    RecordedBatch(Vec<Composition>),
    /// `[a, b, c]`: run the children at the same time.
    Parallel(Vec<Composition>),
}

/// One request to a topic: the leaf of a [`Composition`].
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The Gilmour topic to send the request to.
    pub topic: String,
    /// Fields merged into the request data (the `{"unit": "C"}` after a topic).
    pub with: Option<Map<String, Value>>,
    /// How long to wait for the reply; `None` uses the engine's default.
    pub timeout: Option<Duration>,
}

impl Step {
    /// A step sending to `topic`, with no extra data and the default timeout.
    pub fn new(topic: impl Into<String>) -> Self {
        Self {
            topic: topic.into(),
            with: None,
            timeout: None,
        }
    }

    /// This step with `data` merged into its request.
    #[must_use]
    pub fn with(mut self, data: Map<String, Value>) -> Self {
        self.with = Some(data);
        self
    }

    /// This step with its own reply timeout.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

impl From<Step> for Composition {
    fn from(step: Step) -> Self {
        Self::Step(step)
    }
}

impl From<Lambda> for Composition {
    fn from(lambda: Lambda) -> Self {
        Self::Lambda(lambda)
    }
}

impl Composition {
    /// A single request to `topic`, with no extra data.
    pub fn step(topic: impl Into<String>) -> Self {
        Self::Step(Step::new(topic))
    }

    /// `a | b | …`.
    pub fn pipe(children: impl IntoIterator<Item = Composition>) -> Self {
        Self::Pipe(children.into_iter().collect())
    }

    /// `a && b && …`.
    pub fn and_and(children: impl IntoIterator<Item = Composition>) -> Self {
        Self::AndAnd(children.into_iter().collect())
    }

    /// `a || b || …`.
    pub fn or_or(children: impl IntoIterator<Item = Composition>) -> Self {
        Self::OrOr(children.into_iter().collect())
    }

    /// `a ; b ; …`.
    pub fn batch(children: impl IntoIterator<Item = Composition>) -> Self {
        Self::Batch(children.into_iter().collect())
    }

    /// `record(a ; b ; …)`.
    pub fn recorded_batch(children: impl IntoIterator<Item = Composition>) -> Self {
        Self::RecordedBatch(children.into_iter().collect())
    }

    /// `[a, b, …]`.
    pub fn parallel(children: impl IntoIterator<Item = Composition>) -> Self {
        Self::Parallel(children.into_iter().collect())
    }

    /// The direct children of an operator node; empty for a leaf.
    pub fn children(&self) -> &[Composition] {
        match self {
            Self::Step(_) | Self::Lambda(_) => &[],
            Self::Pipe(children)
            | Self::AndAnd(children)
            | Self::OrOr(children)
            | Self::Batch(children)
            | Self::RecordedBatch(children)
            | Self::Parallel(children) => children,
        }
    }

    /// Every [`Step`] in the tree, depth first, left to right (the order they appear in
    /// text); lambdas are left out.
    pub fn steps(&self) -> Steps<'_> {
        Steps {
            stack: vec![std::slice::from_ref(self).iter()],
        }
    }

    /// The topic of every step, in the order of [`Composition::steps`].
    pub fn topics(&self) -> impl Iterator<Item = &str> {
        self.steps().map(|step| step.topic.as_str())
    }
}

/// Iterator over the steps of a composition, from [`Composition::steps`].
#[derive(Debug, Clone)]
pub struct Steps<'a> {
    // One slice iterator per open level, so deep trees cost no recursion.
    stack: Vec<std::slice::Iter<'a, Composition>>,
}

impl<'a> Iterator for Steps<'a> {
    type Item = &'a Step;

    fn next(&mut self) -> Option<&'a Step> {
        loop {
            let level = self.stack.last_mut()?;
            match level.next() {
                None => {
                    self.stack.pop();
                }
                Some(Composition::Step(step)) => return Some(step),
                // A lambda has no topic and no children: pushing its empty level skips it.
                Some(node) => self.stack.push(node.children().iter()),
            }
        }
    }
}

/// What a JSON value is, in words, for messages about a `with` that cannot be merged.
pub(crate) fn json_kind(value: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_build_the_expected_nodes() {
        let mut unit = Map::new();
        unit.insert("unit".into(), Value::from("C"));
        let step = Step::new("weather.max")
            .with(unit.clone())
            .timeout(Duration::from_secs(2));
        assert_eq!(step.topic, "weather.max");
        assert_eq!(step.with, Some(unit));
        assert_eq!(step.timeout, Some(Duration::from_secs(2)));
        assert_eq!(
            Composition::pipe([Composition::step("a"), Composition::step("b")]),
            Composition::Pipe(vec![Step::new("a").into(), Step::new("b").into()])
        );
    }

    #[test]
    fn topics_are_listed_depth_first_left_to_right() {
        let tree = Composition::batch([
            Composition::pipe([
                Composition::step("a"),
                Composition::parallel([Composition::step("b"), Composition::step("c")]),
            ]),
            Composition::recorded_batch([]),
            Composition::or_or([Composition::step("d")]),
            Composition::step("e"),
        ]);
        assert_eq!(tree.topics().collect::<Vec<_>>(), ["a", "b", "c", "d", "e"]);
        assert_eq!(Composition::step("x").topics().collect::<Vec<_>>(), ["x"]);
        assert_eq!(tree.children().len(), 4);
        let with_lambda = Composition::pipe([
            Lambda::sync("id", |message| message).into(),
            Composition::step("f"),
        ]);
        assert_eq!(with_lambda.topics().collect::<Vec<_>>(), ["f"]);
    }
}
