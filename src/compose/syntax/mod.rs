//! The text syntax of compositions: [`parse`] reads a line such as
//! `weather.fetch | weather.group | [weather.min, weather.max {"unit": "C"}]` into a
//! [`Composition`], and `Display` prints a tree back in a canonical form that parses to the
//! same tree.
//!
//! Grammar, loosest first (whitespace is free between tokens):
//!
//! ```text
//! sequence := logic (';' logic)*                    a ; b ; c        Batch
//! logic    := pipe (('&&' | '||') pipe)*            left to right    AndAnd / OrOr
//! pipe     := primary ('|' primary)*                a | b | c        Pipe
//! primary  := topic [json-object]                   weather.max {"unit": "C"}
//!           | '(' sequence ')'                      grouping
//!           | '[' [sequence (',' sequence)*] ']'    Parallel
//!           | keyword '(' [sequence (',' sequence)*] ')'
//! keyword  := pipe | andand | oror | batch | parallel | record
//! topic    := (letter | digit | '.' | '_' | '-' | ':')+
//! ```
//!
//! A chain of one operator makes one n-ary node (`a | b | c` is `Pipe[a, b, c]`), while a
//! parenthesised group stays a child node (`(a | b) | c` is `Pipe[Pipe[a, b], c]`). `&&` and
//! `||` share a level and group left to right: `a && b || c` is `OrOr[AndAnd[a, b], c]`.
//! In function forms each comma-separated argument is one child. `record(…)` also takes
//! its children as one `;` chain: `record(a ; b ; c)` and `record(a, b, c)` are both
//! `RecordedBatch[a, b, c]`, while `record((a ; b))` is `RecordedBatch[Batch[a, b]]`.
//! A keyword not followed by `(` is an ordinary topic.
//!
//! Step timeouts have no text form: they are dropped when printing. Nor have lambdas (Rust
//! functions): a lambda prints as `<lambda NAME>`, which `parse` rejects with a message
//! saying so, so a printed tree that holds one can be shown but not parsed back.

mod parser;
mod printer;
#[cfg(test)]
mod tests;

pub use parser::parse;

use crate::diagnostic::excerpt;
use std::str::FromStr;

use crate::compose::lambda::Lambda;
use crate::compose::tree::{Composition, Step};

/// Deepest nesting of brackets and function forms accepted, so that hostile input cannot
/// overflow the stack of the recursive-descent parser.
const MAX_DEPTH: usize = 128;

/// Why a composition could not be parsed, and where.
///
/// Its `Display` is the message, then the input with a caret under the column:
///
/// ```text
/// expected a topic after '|' at column 16
///   fetch | words |
///                  ^
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at column {column}\n{}", excerpt(.input, *.column))]
pub struct ParseError {
    /// What is wrong, phrased so a person can fix it (`expected a topic after '|'`).
    pub message: String,
    /// 1-based position of the problem, in characters (one past the end for a premature end).
    pub column: usize,
    /// The whole input that was being parsed.
    pub input: String,
}

impl FromStr for Composition {
    type Err = ParseError;

    fn from_str(input: &str) -> Result<Self, ParseError> {
        parse(input)
    }
}

/// The operator nodes, so parsing and printing can treat them uniformly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Pipe,
    AndAnd,
    OrOr,
    Batch,
    RecordedBatch,
    Parallel,
}

impl Op {
    fn build(self, children: Vec<Composition>) -> Composition {
        match self {
            Op::Pipe => Composition::Pipe(children),
            Op::AndAnd => Composition::AndAnd(children),
            Op::OrOr => Composition::OrOr(children),
            Op::Batch => Composition::Batch(children),
            Op::RecordedBatch => Composition::RecordedBatch(children),
            Op::Parallel => Composition::Parallel(children),
        }
    }

    fn keyword(self) -> &'static str {
        match self {
            Op::Pipe => "pipe",
            Op::AndAnd => "andand",
            Op::OrOr => "oror",
            Op::Batch => "batch",
            Op::RecordedBatch => "record",
            Op::Parallel => "parallel",
        }
    }

    fn from_keyword(word: &str) -> Option<Op> {
        [
            Op::Pipe,
            Op::AndAnd,
            Op::OrOr,
            Op::Batch,
            Op::RecordedBatch,
            Op::Parallel,
        ]
        .into_iter()
        .find(|op| op.keyword() == word)
    }

    /// How tightly the infix form binds (higher is tighter); `None` for operators that are
    /// always written with brackets and so never need parentheses.
    fn infix_level(self) -> Option<u8> {
        match self {
            Op::Pipe => Some(3),
            Op::AndAnd | Op::OrOr => Some(2),
            Op::Batch => Some(1),
            Op::RecordedBatch | Op::Parallel => None,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Op::Pipe => " | ",
            Op::AndAnd => " && ",
            Op::OrOr => " || ",
            Op::Batch | Op::RecordedBatch => " ; ",
            Op::Parallel => ", ",
        }
    }
}

/// What the printer and parser need to know about a composition.
enum Shape<'a> {
    Step(&'a Step),
    Lambda(&'a Lambda),
    Node(Op, &'a [Composition]),
}

fn shape(composition: &Composition) -> Shape<'_> {
    match composition {
        Composition::Step(step) => Shape::Step(step),
        Composition::Lambda(lambda) => Shape::Lambda(lambda),
        Composition::Pipe(children) => Shape::Node(Op::Pipe, children),
        Composition::AndAnd(children) => Shape::Node(Op::AndAnd, children),
        Composition::OrOr(children) => Shape::Node(Op::OrOr, children),
        Composition::Batch(children) => Shape::Node(Op::Batch, children),
        Composition::RecordedBatch(children) => Shape::Node(Op::RecordedBatch, children),
        Composition::Parallel(children) => Shape::Node(Op::Parallel, children),
    }
}
