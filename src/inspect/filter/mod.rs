//! The inspector's filter language, which selects traces by their Gilmour fields, in the
//! spirit of mitmproxy's filter expressions: `topic:echo* and code:>=500`,
//! `kind:req|slot not status:ok`, `latency:>100ms or data:"timeout"`.
//!
//! [`parse`] compiles a filter once (globs and regexes included) so that
//! [`Filter::matches`] allocates nothing and can run over millions of traces. Traces are
//! seen through the [`FilterSubject`] trait. `Display` prints a filter canonically, and
//! printing then parsing gives the same filter.
//!
//! Tests (a value is a bare run of characters up to whitespace, a parenthesis or a quote,
//! or a `"quoted string"` in which `\"` and `\\` are escapes; quoting never changes what a
//! value means, except that a quoted topic value is not a regex):
//!
//! | Form                         | Matches when                                             |
//! |------------------------------|----------------------------------------------------------|
//! | `topic:echo*`, `topic:echo`  | the whole topic matches the glob (`*` any run, `?` one character), or equals the text |
//! | `topic:/^echo\.(a\|b)$/`     | the regex finds a match in the topic (unanchored; write `/` as `\/`) |
//! | `echo`, `echo*`              | a bare word: the topic contains it, or matches it as a glob if it has `*` or `?` |
//! | `code:500`, `code:>=400`     | the code compares so (`=`, `!=`, `<`, `<=`, `>`, `>=`); never when there is no code |
//! | `kind:req\|slot`             | the kind is one of the alternatives (`req`, `slot`, `err`, `health`, `gap`, `other`) |
//! | `status:ok\|timeout`         | the status is one of `ok`, `error`, `timeout`, `pending`, `unanswered`, `orphan` |
//! | `sender:abc`                 | the sender contains the text (lists show its last 8 characters) |
//! | `latency:>100ms`             | the latency compares so (units `us`, `ms`, `s`, decimals allowed); never while unknown |
//! | `data:"text"`, `data:word`   | the request or reply payload contains the text, ignoring ASCII case |
//! | `responder:web-1`            | deep capture: the client that answered has this in its name or address |
//! | `caller:10.0.0.7`            | deep capture: the client that sent the request has this in its name or address |
//! | `contenders:>1`              | deep capture: as many clients bid for the group lock (compared as `code:` is) |
//!
//! Tests combine with `not` (or `!`), `and` (or just a space) and `or`, binding in that
//! order, and parentheses. Keywords and field names are lower case; quote a bare word
//! that is a keyword, starts with `!`, or looks like `field:` (`"auth:login"`). Empty
//! input matches everything. Topic matching is case-sensitive, like Redis channels.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use regex::Regex;

use crate::diagnostic::excerpt;

mod lex;
mod parse;
mod print;
#[cfg(test)]
mod tests;

pub use parse::parse;

/// Deepest nesting of parentheses and `not`s accepted, so that hostile input cannot
/// overflow the stack of the recursive-descent parser.
const MAX_DEPTH: usize = 128;

/// What a trace is, as far as filters are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TraceKind {
    /// A request and its reply (`req`).
    Request,
    /// A signal to slots, with no reply (`slot`).
    Signal,
    /// A message on the error topic (`err`).
    Error,
    /// A health ident exchange (`health`).
    Health,
    /// A stretch in which the capture was disconnected (`gap`).
    Gap,
    /// A message on another channel under the prefix (`other`).
    Other,
    /// One execution of a composition: its steps are its children (`comp`).
    Composition,
}

impl TraceKind {
    /// Every kind, in the order of the documentation.
    pub const ALL: [TraceKind; 7] = [
        TraceKind::Request,
        TraceKind::Signal,
        TraceKind::Error,
        TraceKind::Health,
        TraceKind::Gap,
        TraceKind::Other,
        TraceKind::Composition,
    ];

    /// The name used in filters: `req`, `slot`, `err`, `health`, `gap` or `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            TraceKind::Request => "req",
            TraceKind::Signal => "slot",
            TraceKind::Error => "err",
            TraceKind::Health => "health",
            TraceKind::Gap => "gap",
            TraceKind::Other => "other",
            TraceKind::Composition => "comp",
        }
    }
}

impl fmt::Display for TraceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TraceKind {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Self, UnknownName> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| UnknownName {
                what: "kind",
                name: name.to_owned(),
                choices: "req, slot, err, health, gap, other",
            })
    }
}

/// Where a trace stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TraceStatus {
    /// Answered successfully (`ok`).
    Ok,
    /// Answered with a failure code; for a gap, messages may be missing (`error`).
    Error,
    /// Answered with 499 or 504 (`timeout`).
    Timeout,
    /// Still waiting for an answer (`pending`).
    Pending,
    /// No answer within the inspector's window, or none possible (`unanswered`).
    Unanswered,
    /// A reply whose request was never seen (`orphan`).
    Orphan,
}

impl TraceStatus {
    /// Every status, in the order of the documentation.
    pub const ALL: [TraceStatus; 6] = [
        TraceStatus::Ok,
        TraceStatus::Error,
        TraceStatus::Timeout,
        TraceStatus::Pending,
        TraceStatus::Unanswered,
        TraceStatus::Orphan,
    ];

    /// The name used in filters: `ok`, `error`, `timeout`, `pending`, `unanswered` or `orphan`.
    pub fn as_str(self) -> &'static str {
        match self {
            TraceStatus::Ok => "ok",
            TraceStatus::Error => "error",
            TraceStatus::Timeout => "timeout",
            TraceStatus::Pending => "pending",
            TraceStatus::Unanswered => "unanswered",
            TraceStatus::Orphan => "orphan",
        }
    }
}

impl fmt::Display for TraceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TraceStatus {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Self, UnknownName> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == name)
            .ok_or_else(|| UnknownName {
                what: "status",
                name: name.to_owned(),
                choices: "ok, error, timeout, pending, unanswered, orphan",
            })
    }
}

/// A name that is not one of a [`TraceKind`]'s or [`TraceStatus`]'s filter names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} '{name}' (use {choices})")]
pub struct UnknownName {
    /// `"kind"` or `"status"`.
    pub what: &'static str,
    /// The name that was given.
    pub name: String,
    /// The accepted names, comma-separated.
    pub choices: &'static str,
}

/// What a filter can ask of a trace; the inspector's trace type implements it.
pub trait FilterSubject {
    /// The topic the trace was sent on.
    fn topic(&self) -> &str;
    /// The reply code, if there is one yet.
    fn code(&self) -> Option<i64>;
    /// What kind of exchange this is.
    fn kind(&self) -> TraceKind;
    /// Where the exchange stands.
    fn status(&self) -> TraceStatus;
    /// The sender id of the request or signal.
    fn sender(&self) -> &str;
    /// Time from request to reply, once known.
    fn latency(&self) -> Option<Duration>;
    /// Whether the payload (request or reply, as it came over the wire) contains
    /// `needle` (see [`Needle::is_in`]).
    fn payload_contains(&self, needle: &Needle) -> bool;
    /// The name and address of the client that answered, when deep capture saw it.
    fn responder(&self) -> Option<(Option<&str>, &str)> {
        None
    }
    /// The name and address of the client that sent the request, when deep capture saw it.
    fn caller(&self) -> Option<(Option<&str>, &str)> {
        None
    }
    /// How many clients bid for the group lock, when deep capture saw it.
    fn contenders(&self) -> Option<i64> {
        None
    }
    /// Whether nothing names a parent or a composition for it (`root`).
    fn is_root(&self) -> bool {
        true
    }
    /// Whether it is a composition or one of its steps (`composition`).
    fn in_composition(&self) -> bool {
        false
    }
    /// Whether it is the slowest of two or more siblings in its tree (`slow-step`).
    fn is_slow_step(&self) -> bool {
        false
    }
}

fn client_has((name, addr): (Option<&str>, &str), part: &str) -> bool {
    addr.contains(part) || name.is_some_and(|name| name.contains(part))
}

/// Why a filter could not be parsed, and where; displayed like the composition parser's
/// errors, with the input and a caret under the column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at column {column}\n{}", excerpt(.input, *.column))]
pub struct FilterError {
    /// What is wrong, phrased so a person can fix it.
    pub message: String,
    /// 1-based position of the problem, in characters (one past the end for a premature end).
    pub column: usize,
    /// The whole filter text.
    pub input: String,
}

/// A parsed filter; the empty filter matches every trace.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    expr: Option<Expr>,
}

impl Filter {
    /// The filter that matches every trace (what empty input parses to).
    pub fn all() -> Self {
        Self::default()
    }

    /// The expression, or `None` for the filter that matches everything.
    pub fn expr(&self) -> Option<&Expr> {
        self.expr.as_ref()
    }

    /// Whether `subject` passes the filter. Allocates nothing.
    pub fn matches<S: FilterSubject + ?Sized>(&self, subject: &S) -> bool {
        self.expr.as_ref().is_none_or(|expr| expr.matches(subject))
    }
}

impl From<Expr> for Filter {
    fn from(expr: Expr) -> Self {
        Self { expr: Some(expr) }
    }
}

impl FromStr for Filter {
    type Err = FilterError;

    fn from_str(input: &str) -> Result<Self, FilterError> {
        parse(input)
    }
}

/// A filter expression. `and` and `or` are binary and group to the left, so
/// `a and b and c` is `And(And(a, b), c)`; parentheses keep their grouping.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `not x`, `!x`.
    Not(Box<Expr>),
    /// `x and y`, `x y`.
    And(Box<Expr>, Box<Expr>),
    /// `x or y`.
    Or(Box<Expr>, Box<Expr>),
    /// A single test on one field.
    Test(Test),
}

impl Expr {
    /// Whether `subject` passes this expression. Allocates nothing.
    pub fn matches<S: FilterSubject + ?Sized>(&self, subject: &S) -> bool {
        match self {
            Expr::Not(inner) => !inner.matches(subject),
            Expr::And(left, right) => left.matches(subject) && right.matches(subject),
            Expr::Or(left, right) => left.matches(subject) || right.matches(subject),
            Expr::Test(test) => test.matches(subject),
        }
    }
}

/// A test on one field of a trace.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// `topic:…` or a bare word.
    Topic(TopicPattern),
    /// `code:>=400`; a trace without a code never matches.
    Code(Comparison, i64),
    /// `kind:req|slot`: the kind is one of these (non-empty).
    Kind(Vec<TraceKind>),
    /// `status:ok|error`: the status is one of these (non-empty).
    Status(Vec<TraceStatus>),
    /// `sender:abc`: the sender contains this.
    Sender(String),
    /// `latency:>100ms`; a trace without a latency never matches.
    Latency(Comparison, Duration),
    /// `data:"text"`: the payload contains this, ignoring ASCII case.
    Data(Needle),
    /// `responder:web-1`: the answering client's name or address contains this.
    Responder(String),
    /// `caller:web-1`: the requesting client's name or address contains this.
    Caller(String),
    /// `contenders:>1`; a trace whose lock race was not seen never matches.
    Contenders(Comparison, i64),
    /// `root`: a top-level trace, which names no parent and no composition.
    Root,
    /// `composition`: a composition, or a step of one.
    Composition,
    /// `slow-step`: the slowest of two or more siblings in a call tree.
    SlowStep,
}

impl Test {
    fn matches<S: FilterSubject + ?Sized>(&self, subject: &S) -> bool {
        match self {
            Test::Topic(pattern) => pattern.matches(subject.topic()),
            Test::Code(comparison, code) => subject
                .code()
                .is_some_and(|actual| comparison.holds(actual, *code)),
            Test::Kind(kinds) => kinds.contains(&subject.kind()),
            Test::Status(statuses) => statuses.contains(&subject.status()),
            Test::Sender(part) => subject.sender().contains(part.as_str()),
            Test::Latency(comparison, latency) => subject
                .latency()
                .is_some_and(|actual| comparison.holds(actual, *latency)),
            Test::Data(needle) => subject.payload_contains(needle),
            Test::Responder(part) => subject
                .responder()
                .is_some_and(|client| client_has(client, part)),
            Test::Caller(part) => subject
                .caller()
                .is_some_and(|client| client_has(client, part)),
            Test::Contenders(comparison, count) => subject
                .contenders()
                .is_some_and(|actual| comparison.holds(actual, *count)),
            Test::Root => subject.is_root(),
            Test::Composition => subject.in_composition(),
            Test::SlowStep => subject.is_slow_step(),
        }
    }
}

/// How a topic is matched.
#[derive(Debug, Clone, PartialEq)]
pub enum TopicPattern {
    /// `topic:echo`: the topic is exactly this (no `*` or `?`).
    Exact(String),
    /// A bare word `echo`: the topic contains this (no `*` or `?`).
    Contains(String),
    /// `topic:echo*` or a bare `echo*`: the whole topic matches this glob.
    Glob(Pattern),
    /// `topic:/echo/`: the regex finds a match somewhere in the topic.
    Regex(Pattern),
}

impl TopicPattern {
    fn matches(&self, topic: &str) -> bool {
        match self {
            TopicPattern::Exact(text) => topic == text,
            TopicPattern::Contains(text) => topic.contains(text.as_str()),
            TopicPattern::Glob(pattern) | TopicPattern::Regex(pattern) => {
                pattern.regex.is_match(topic)
            }
        }
    }
}

/// Text to find in payloads, ignoring ASCII case, compiled once into a byte searcher
/// (SIMD-accelerated literal search, so a full store can be searched quickly). Two
/// needles are equal when their text is.
#[derive(Debug, Clone)]
pub struct Needle {
    text: String,
    searcher: regex::bytes::Regex,
}

impl Needle {
    /// A needle for `text`.
    pub fn new(text: &str) -> Result<Self, regex::Error> {
        let searcher = regex::bytes::RegexBuilder::new(&regex::escape(text))
            .case_insensitive(true)
            .unicode(false)
            .build()?;
        Ok(Needle {
            text: text.to_owned(),
            searcher,
        })
    }

    /// The text as typed.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether `haystack` contains the text, ignoring ASCII case.
    pub fn is_in(&self, haystack: &[u8]) -> bool {
        self.searcher.is_match(haystack)
    }
}

impl PartialEq for Needle {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

/// A glob or regex compiled once; two patterns are equal when their source text is.
#[derive(Debug, Clone)]
pub struct Pattern {
    source: String,
    regex: Regex,
}

impl Pattern {
    /// A glob anchored at both ends: `*` matches any run of characters, `?` exactly one,
    /// everything else itself.
    pub fn glob(source: &str) -> Result<Self, regex::Error> {
        let mut translated = String::from("^(?s:");
        for c in source.chars() {
            match c {
                '*' => translated.push_str(".*"),
                '?' => translated.push('.'),
                _ => translated.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
            }
        }
        translated.push_str(")$");
        Ok(Self {
            source: source.to_owned(),
            regex: Regex::new(&translated)?,
        })
    }

    /// A regex in the `regex` crate's syntax, unanchored.
    pub fn regex(source: &str) -> Result<Self, regex::Error> {
        Ok(Self {
            source: source.to_owned(),
            regex: Regex::new(source)?,
        })
    }

    /// The glob or regex as written.
    pub fn source(&self) -> &str {
        &self.source
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

/// The comparison in `code:` and `latency:` tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparison {
    /// `=` (also written with no operator at all).
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
}

impl Comparison {
    /// Two-character operators first, so `>=` is not read as `>` then `=…`.
    const BY_LENGTH: [Comparison; 6] = [
        Comparison::Ge,
        Comparison::Le,
        Comparison::Ne,
        Comparison::Gt,
        Comparison::Lt,
        Comparison::Eq,
    ];

    /// The operator as written in filters.
    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::Eq => "=",
            Comparison::Ne => "!=",
            Comparison::Lt => "<",
            Comparison::Le => "<=",
            Comparison::Gt => ">",
            Comparison::Ge => ">=",
        }
    }

    /// Whether `actual <op> target`, e.g. `Gt.holds(500, 400)`.
    pub fn holds<T: Ord>(self, actual: T, target: T) -> bool {
        match self {
            Comparison::Eq => actual == target,
            Comparison::Ne => actual != target,
            Comparison::Lt => actual < target,
            Comparison::Le => actual <= target,
            Comparison::Gt => actual > target,
            Comparison::Ge => actual >= target,
        }
    }

    /// Split a leading operator off `value` (none means `=`); also returns its length.
    fn split(value: &str) -> (Comparison, usize) {
        Self::BY_LENGTH
            .into_iter()
            .find(|comparison| value.starts_with(comparison.as_str()))
            .map_or((Comparison::Eq, 0), |comparison| {
                (comparison, comparison.as_str().len())
            })
    }
}
