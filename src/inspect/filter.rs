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
//! | `sender:abc`                 | the sender starts with the text                          |
//! | `latency:>100ms`             | the latency compares so (units `us`, `ms`, `s`, decimals allowed); never while unknown |
//! | `data:"text"`, `data:word`   | the request or reply payload contains the text, ignoring ASCII case |
//!
//! Tests combine with `not` (or `!`), `and` (or just a space) and `or`, binding in that
//! order, and parentheses. Keywords and field names are lower case; quote a bare word
//! that is a keyword, starts with `!`, or looks like `field:` (`"auth:login"`). Empty
//! input matches everything. Topic matching is case-sensitive, like Redis channels.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use regex::Regex;

use crate::compose::syntax::excerpt;

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
}

impl TraceKind {
    /// Every kind, in the order of the documentation.
    pub const ALL: [TraceKind; 6] = [
        TraceKind::Request,
        TraceKind::Signal,
        TraceKind::Error,
        TraceKind::Health,
        TraceKind::Gap,
        TraceKind::Other,
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
    /// `sender:abc`: the sender starts with this.
    Sender(String),
    /// `latency:>100ms`; a trace without a latency never matches.
    Latency(Comparison, Duration),
    /// `data:"text"`: the payload contains this, ignoring ASCII case.
    Data(Needle),
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
            Test::Sender(prefix) => subject.sender().starts_with(prefix.as_str()),
            Test::Latency(comparison, latency) => subject
                .latency()
                .is_some_and(|actual| comparison.holds(actual, *latency)),
            Test::Data(needle) => subject.payload_contains(needle),
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

// ---------------------------------------------------------------------------------------
// Printer
// ---------------------------------------------------------------------------------------

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.expr {
            Some(expr) => write!(f, "{expr}"),
            None => Ok(()),
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Parenthesise exactly the operands that would otherwise regroup: looser operators
        // anywhere, and the same operator on the right (both group to the left).
        let is_or = |expr: &Expr| matches!(expr, Expr::Or(..));
        let is_binary = |expr: &Expr| matches!(expr, Expr::Or(..) | Expr::And(..));
        match self {
            Expr::Not(inner) => {
                f.write_str("!")?;
                write_operand(f, inner, is_binary(inner))
            }
            Expr::And(left, right) => {
                write_operand(f, left, is_or(left))?;
                f.write_str(" and ")?;
                write_operand(f, right, is_binary(right))
            }
            Expr::Or(left, right) => {
                write_operand(f, left, false)?;
                f.write_str(" or ")?;
                write_operand(f, right, is_or(right))
            }
            Expr::Test(test) => write!(f, "{test}"),
        }
    }
}

fn write_operand(f: &mut fmt::Formatter<'_>, expr: &Expr, parenthesise: bool) -> fmt::Result {
    if parenthesise {
        write!(f, "({expr})")
    } else {
        write!(f, "{expr}")
    }
}

impl fmt::Display for Test {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Test::Topic(TopicPattern::Exact(text)) => {
                f.write_str("topic:")?;
                write_value(f, text, Position::TopicValue)
            }
            Test::Topic(TopicPattern::Glob(pattern)) => {
                f.write_str("topic:")?;
                write_value(f, &pattern.source, Position::TopicValue)
            }
            Test::Topic(TopicPattern::Regex(pattern)) => {
                f.write_str("topic:/")?;
                write_regex_body(f, &pattern.source)?;
                f.write_str("/")
            }
            Test::Topic(TopicPattern::Contains(text)) => write_value(f, text, Position::Bare),
            Test::Code(comparison, code) => {
                write!(f, "code:{}{code}", operator_prefix(*comparison))
            }
            Test::Kind(kinds) => {
                f.write_str("kind:")?;
                write_alternatives(f, kinds)
            }
            Test::Status(statuses) => {
                f.write_str("status:")?;
                write_alternatives(f, statuses)
            }
            Test::Sender(prefix) => {
                f.write_str("sender:")?;
                write_value(f, prefix, Position::FieldValue)
            }
            Test::Latency(comparison, latency) => {
                write!(f, "latency:{}", operator_prefix(*comparison))?;
                write_latency(f, *latency)
            }
            Test::Data(needle) => {
                f.write_str("data:")?;
                write_value(f, needle.text(), Position::FieldValue)
            }
        }
    }
}

/// `=` is the default, so the canonical form leaves it out.
fn operator_prefix(comparison: Comparison) -> &'static str {
    match comparison {
        Comparison::Eq => "",
        other => other.as_str(),
    }
}

fn write_alternatives<T: fmt::Display>(f: &mut fmt::Formatter<'_>, names: &[T]) -> fmt::Result {
    for (index, name) in names.iter().enumerate() {
        if index > 0 {
            f.write_str("|")?;
        }
        write!(f, "{name}")?;
    }
    Ok(())
}

/// Where a value is printed, which decides what would be misread unless quoted.
#[derive(Debug, Clone, Copy)]
enum Position {
    /// A bare word, which must not read as a keyword, `!`, or a `field:`.
    Bare,
    /// After `topic:`, where a leading `/` would start a regex.
    TopicValue,
    /// After any other `field:`.
    FieldValue,
}

fn write_value(f: &mut fmt::Formatter<'_>, text: &str, position: Position) -> fmt::Result {
    let plain = !text.is_empty()
        && !text.chars().any(ends_bare_value)
        && match position {
            Position::Bare => {
                !text.starts_with('!')
                    && !matches!(text, "and" | "or" | "not")
                    && field_name_length(text).is_none()
            }
            Position::TopicValue => !text.starts_with('/'),
            Position::FieldValue => true,
        };
    if plain {
        return f.write_str(text);
    }
    f.write_str("\"")?;
    for c in text.chars() {
        if matches!(c, '"' | '\\') {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("\"")
}

/// The regex source, escaping any `/` not already escaped (a parsed source has none).
fn write_regex_body(f: &mut fmt::Formatter<'_>, source: &str) -> fmt::Result {
    let mut escaped = false;
    for c in source.chars() {
        if c == '/' && !escaped {
            f.write_str("\\")?;
        }
        escaped = c == '\\' && !escaped;
        write!(f, "{c}")?;
    }
    Ok(())
}

/// In the largest unit that shows it exactly, falling back to decimal microseconds.
fn write_latency(f: &mut fmt::Formatter<'_>, latency: Duration) -> fmt::Result {
    let nanos = latency.as_nanos();
    let (unit, per_unit) = if nanos.is_multiple_of(1_000_000_000) {
        ("s", 1_000_000_000)
    } else if nanos.is_multiple_of(1_000_000) {
        ("ms", 1_000_000)
    } else {
        ("us", 1_000)
    };
    let (whole, fraction) = (nanos / per_unit, nanos % per_unit);
    if fraction == 0 {
        write!(f, "{whole}{unit}")
    } else {
        // Only microseconds get here, so the fraction is three digits of nanoseconds.
        let digits = format!("{fraction:03}");
        write!(f, "{whole}.{}{unit}", digits.trim_end_matches('0'))
    }
}

// ---------------------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------------------

/// Characters that end an unquoted value (and so force quotes when printing one).
fn ends_bare_value(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '"')
}

/// Length of a leading `letters:` (a field name and its colon), if there is one.
fn field_name_length(text: &str) -> Option<usize> {
    let letters = text
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    (letters > 0 && text[letters..].starts_with(':')).then_some(letters)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Topic,
    Code,
    Kind,
    Status,
    Sender,
    Latency,
    Data,
}

impl Field {
    fn from_name(name: &str) -> Option<Field> {
        Some(match name {
            "topic" => Field::Topic,
            "code" => Field::Code,
            "kind" => Field::Kind,
            "status" => Field::Status,
            "sender" => Field::Sender,
            "latency" => Field::Latency,
            "data" => Field::Data,
            _ => return None,
        })
    }
}

#[derive(Debug)]
enum TokenKind {
    LParen,
    RParen,
    /// `not` or `!`.
    Not,
    And,
    Or,
    Test(Test),
    Eof,
}

#[derive(Debug)]
struct Token {
    kind: TokenKind,
    /// Byte offsets of the token's text.
    start: usize,
    end: usize,
}

/// A value after `field:` or a bare word, unquoted.
struct Value {
    text: String,
    /// Byte offset of its first character (the quote, if quoted).
    start: usize,
    quoted: bool,
}

impl Value {
    /// Byte offset in the input of byte `offset` of the text. Inside quotes escapes shift
    /// positions, so point at the opening quote instead.
    fn at(&self, offset: usize) -> usize {
        if self.quoted {
            self.start
        } else {
            self.start + offset
        }
    }
}

type Parsed<T> = Result<T, FilterError>;

struct Lexer<'a> {
    input: &'a str,
    /// Byte offset of the next unread character.
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn error(&self, at: usize, message: impl Into<String>) -> FilterError {
        error(self.input, at, message)
    }

    fn rest(&self) -> &'a str {
        self.input.get(self.pos..).unwrap_or("")
    }

    fn tokens(mut self) -> Parsed<Vec<Token>> {
        let mut tokens = Vec::new();
        loop {
            let rest = self.rest();
            self.pos += rest.len() - rest.trim_start().len();
            let start = self.pos;
            let Some(first) = self.rest().chars().next() else {
                tokens.push(Token {
                    kind: TokenKind::Eof,
                    start,
                    end: start,
                });
                return Ok(tokens);
            };
            let kind = match first {
                '(' => {
                    self.pos += 1;
                    TokenKind::LParen
                }
                ')' => {
                    self.pos += 1;
                    TokenKind::RParen
                }
                '!' => {
                    self.pos += 1;
                    TokenKind::Not
                }
                '"' => {
                    let value = self.quoted()?;
                    TokenKind::Test(bare_word(self.input, &value)?)
                }
                _ => self.word()?,
            };
            tokens.push(Token {
                kind,
                start,
                end: self.pos,
            });
        }
    }

    /// A keyword, a `field:value` test or a bare word, starting at a character that
    /// cannot end a bare value.
    fn word(&mut self) -> Parsed<TokenKind> {
        let start = self.pos;
        if let Some(length) = field_name_length(self.rest()) {
            let name = &self.rest()[..length];
            let Some(field) = Field::from_name(name) else {
                return Err(self.error(
                    start,
                    format!(
                        "unknown field '{name}' (use topic, code, kind, status, sender, \
                         latency or data; quote a topic that contains ':')"
                    ),
                ));
            };
            self.pos += length + 1;
            return Ok(TokenKind::Test(self.field_value(field, name)?));
        }
        let value = self.bare();
        Ok(match value.text.as_str() {
            "and" => TokenKind::And,
            "or" => TokenKind::Or,
            "not" => TokenKind::Not,
            _ => TokenKind::Test(bare_word(self.input, &value)?),
        })
    }

    fn field_value(&mut self, field: Field, name: &str) -> Parsed<Test> {
        let start = self.pos;
        let value = match self.rest().chars().next() {
            Some('"') => self.quoted()?,
            Some('/') if field == Field::Topic => return self.regex(),
            Some(c) if !ends_bare_value(c) => self.bare(),
            _ => return Err(self.error(start, format!("expected a value after '{name}:'"))),
        };
        let input = self.input;
        match field {
            Field::Topic => topic_pattern(input, &value, TopicPattern::Exact).map(Test::Topic),
            Field::Code => {
                let (comparison, length) = Comparison::split(&value.text);
                let number = &value.text[length..];
                let code = number.parse::<i64>().map_err(|_| {
                    error(
                        input,
                        value.at(length),
                        format!(
                            "invalid code '{number}': expected a whole number such as 500, \
                             after =, !=, <, <=, > or >= if comparing"
                        ),
                    )
                })?;
                Ok(Test::Code(comparison, code))
            }
            Field::Kind => alternatives(input, &value).map(Test::Kind),
            Field::Status => alternatives(input, &value).map(Test::Status),
            Field::Sender => Ok(Test::Sender(value.text)),
            Field::Latency => {
                let (comparison, length) = Comparison::split(&value.text);
                Ok(Test::Latency(comparison, latency(input, &value, length)?))
            }
            Field::Data => Needle::new(&value.text).map(Test::Data).map_err(|why| {
                error(
                    input,
                    value.at(0),
                    format!("cannot search for this text: {why}"),
                )
            }),
        }
    }

    /// An unquoted run up to whitespace, a parenthesis or a quote.
    fn bare(&mut self) -> Value {
        let start = self.pos;
        let rest = self.rest();
        let length = rest.find(ends_bare_value).unwrap_or(rest.len());
        self.pos += length;
        Value {
            text: rest[..length].to_owned(),
            start,
            quoted: false,
        }
    }

    /// A `"…"` string, where `\"` and `\\` are escapes and any other `\` is itself.
    fn quoted(&mut self) -> Parsed<Value> {
        let start = self.pos;
        let mut text = String::new();
        let mut chars = self.rest().char_indices().skip(1);
        while let Some((offset, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos = start + offset + 1;
                    return Ok(Value {
                        text,
                        start,
                        quoted: true,
                    });
                }
                '\\' => match chars.next() {
                    Some((_, escaped @ ('"' | '\\'))) => text.push(escaped),
                    Some((_, other)) => {
                        text.push('\\');
                        text.push(other);
                    }
                    None => break,
                },
                _ => text.push(c),
            }
        }
        Err(self.unclosed('"', start))
    }

    /// A `/regex/` after `topic:`, kept verbatim: `\/` stays as is, which the regex crate
    /// reads as a plain `/`.
    fn regex(&mut self) -> Parsed<Test> {
        let start = self.pos;
        let rest = self.rest();
        // Whether the previous character was an unpaired `\`, which makes this one literal.
        let mut escaped = false;
        for (offset, c) in rest.char_indices().skip(1) {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '/' => {
                    self.pos = start + offset + 1;
                    let pattern = Pattern::regex(&rest[1..offset]).map_err(|e| {
                        self.error(start, format!("invalid regex: {}", regex_reason(&e)))
                    })?;
                    return Ok(Test::Topic(TopicPattern::Regex(pattern)));
                }
                _ => {}
            }
        }
        Err(self.unclosed('/', start))
    }

    fn unclosed(&self, open: char, at: usize) -> FilterError {
        let column = column(self.input, at);
        self.error(
            self.input.len(),
            format!("unclosed '{open}' opened at column {column}"),
        )
    }
}

fn error(input: &str, at: usize, message: impl Into<String>) -> FilterError {
    FilterError {
        message: message.into(),
        column: column(input, at),
        input: input.to_owned(),
    }
}

/// 1-based character column of byte offset `at`.
fn column(input: &str, at: usize) -> usize {
    input.get(..at).map_or(0, |before| before.chars().count()) + 1
}

/// The regex crate's own one-line reason, without its multi-line drawing of the pattern.
fn regex_reason(error: &regex::Error) -> String {
    let text = error.to_string();
    text.lines()
        .rev()
        .find_map(|line| line.strip_prefix("error: "))
        .map_or_else(|| text.clone(), str::to_owned)
}

/// A bare word tests the topic: contained, or matching as a glob if it has wildcards.
fn bare_word(input: &str, value: &Value) -> Parsed<Test> {
    topic_pattern(input, value, TopicPattern::Contains).map(Test::Topic)
}

fn topic_pattern(
    input: &str,
    value: &Value,
    plain: fn(String) -> TopicPattern,
) -> Parsed<TopicPattern> {
    if !value.text.contains(['*', '?']) {
        return Ok(plain(value.text.clone()));
    }
    Pattern::glob(&value.text)
        .map(TopicPattern::Glob)
        // Only a pattern too large to compile fails here.
        .map_err(|e| {
            error(
                input,
                value.start,
                format!("invalid glob: {}", regex_reason(&e)),
            )
        })
}

/// `name|name|…`, each a [`TraceKind`] or [`TraceStatus`] filter name.
fn alternatives<T: FromStr<Err = UnknownName>>(input: &str, value: &Value) -> Parsed<Vec<T>> {
    let mut offset = 0;
    let mut found = Vec::new();
    for name in value.text.split('|') {
        let parsed = name
            .parse::<T>()
            .map_err(|e| error(input, value.at(offset), e.to_string()))?;
        found.push(parsed);
        offset += name.len() + 1;
    }
    Ok(found)
}

/// `100ms`, `1.5s`, `250us` (after the comparison, which is `skip` bytes long) as a
/// duration, exact to the nanosecond.
fn latency(input: &str, value: &Value, skip: usize) -> Parsed<Duration> {
    let text = &value.text[skip..];
    let number_length = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(number_length);
    let unit_at = value.at(skip + number_length);
    let (per_unit, decimals): (u64, usize) = match unit {
        "s" => (1_000_000_000, 9),
        "ms" => (1_000_000, 6),
        "us" => (1_000, 3),
        "" => {
            return Err(error(
                input,
                unit_at,
                format!("latency '{text}' needs a unit: us, ms or s"),
            ));
        }
        _ => {
            return Err(error(
                input,
                unit_at,
                format!("unknown latency unit '{unit}' (use us, ms or s)"),
            ));
        }
    };
    let invalid = || {
        error(
            input,
            value.at(skip),
            format!(
                "invalid latency '{text}': expected a number and a unit, such as 100ms or 1.5s"
            ),
        )
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() || fraction.contains('.') || fraction.len() > decimals {
        return Err(invalid());
    }
    // `fraction` holds at most `decimals` digits; pad it to exactly that many to read it
    // as a count of nanoseconds.
    let fraction_nanos = if fraction.is_empty() {
        Some(0)
    } else {
        format!("{fraction:0<decimals$}").parse::<u64>().ok()
    };
    let nanos = whole
        .parse::<u64>()
        .ok()
        .and_then(|whole| whole.checked_mul(per_unit))
        .zip(fraction_nanos)
        .and_then(|(whole, fraction)| whole.checked_add(fraction))
        .ok_or_else(invalid)?;
    Ok(Duration::from_nanos(nanos))
}

// ---------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------

/// Parse a filter (see the module documentation for the language). Blank input gives the
/// filter that matches everything.
pub fn parse(input: &str) -> Result<Filter, FilterError> {
    let tokens = Lexer { input, pos: 0 }.tokens()?;
    let mut parser = Parser {
        input,
        tokens: tokens.into_iter().peekable(),
        depth: 0,
    };
    if matches!(parser.peek_kind(), TokenKind::Eof) {
        return Ok(Filter::all());
    }
    let expr = parser.or(None)?;
    match parser.tokens.next() {
        Some(Token {
            kind: TokenKind::Eof,
            ..
        })
        | None => Ok(expr.into()),
        // `or` stops only at the end or at a `)` it did not open.
        Some(token) => Err(error(input, token.start, "unexpected ')'")),
    }
}

struct Parser<'a> {
    input: &'a str,
    tokens: std::iter::Peekable<std::vec::IntoIter<Token>>,
    depth: usize,
}

impl Parser<'_> {
    fn peek_kind(&mut self) -> &TokenKind {
        match self.tokens.peek() {
            Some(token) => &token.kind,
            None => &TokenKind::Eof,
        }
    }

    fn text(&self, token: &Token) -> String {
        self.input
            .get(token.start..token.end)
            .unwrap_or_default()
            .to_owned()
    }

    /// `after` is the text of the operator just before, for the error message.
    fn or(&mut self, after: Option<String>) -> Parsed<Expr> {
        let mut left = self.and(after)?;
        while matches!(self.peek_kind(), TokenKind::Or) {
            let operator = self.tokens.next().map(|token| self.text(&token));
            let right = self.and(operator)?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self, after: Option<String>) -> Parsed<Expr> {
        let mut left = self.unary(after)?;
        loop {
            let right = match self.peek_kind() {
                TokenKind::And => {
                    let operator = self.tokens.next().map(|token| self.text(&token));
                    self.unary(operator)?
                }
                // Juxtaposition: anything that starts an operand means `and`.
                TokenKind::LParen | TokenKind::Not | TokenKind::Test(_) => self.unary(None)?,
                TokenKind::RParen | TokenKind::Or | TokenKind::Eof => return Ok(left),
            };
            left = Expr::And(Box::new(left), Box::new(right));
        }
    }

    fn unary(&mut self, after: Option<String>) -> Parsed<Expr> {
        let Some(token) = self.tokens.next() else {
            return Err(error(self.input, self.input.len(), "expected a filter"));
        };
        match token.kind {
            TokenKind::Test(test) => Ok(Expr::Test(test)),
            TokenKind::Not => {
                self.enter(&token)?;
                let inner = self.unary(Some(self.text(&token)))?;
                self.depth -= 1;
                Ok(Expr::Not(Box::new(inner)))
            }
            TokenKind::LParen => {
                self.enter(&token)?;
                let inner = self.or(Some("(".to_owned()))?;
                match self.tokens.next() {
                    Some(Token {
                        kind: TokenKind::RParen,
                        ..
                    }) => {
                        self.depth -= 1;
                        Ok(inner)
                    }
                    // `or` stops only at `)` or the end.
                    _ => Err(error(
                        self.input,
                        self.input.len(),
                        format!(
                            "unclosed '(' opened at column {}",
                            column(self.input, token.start)
                        ),
                    )),
                }
            }
            TokenKind::RParen | TokenKind::And | TokenKind::Or | TokenKind::Eof => {
                let message = match (after, &token.kind) {
                    (Some(after), _) => format!("expected a filter after '{after}'"),
                    (None, TokenKind::RParen) => "unexpected ')'".to_owned(),
                    (None, _) => format!("expected a filter before '{}'", self.text(&token)),
                };
                Err(error(self.input, token.start, message))
            }
        }
    }

    fn enter(&mut self, token: &Token) -> Parsed<()> {
        if self.depth >= MAX_DEPTH {
            return Err(error(
                self.input,
                token.start,
                format!("nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        self.depth += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    struct Subject {
        topic: &'static str,
        code: Option<i64>,
        kind: TraceKind,
        status: TraceStatus,
        sender: &'static str,
        latency: Option<Duration>,
        data: &'static str,
    }

    impl FilterSubject for Subject {
        fn topic(&self) -> &str {
            self.topic
        }
        fn code(&self) -> Option<i64> {
            self.code
        }
        fn kind(&self) -> TraceKind {
            self.kind
        }
        fn status(&self) -> TraceStatus {
            self.status
        }
        fn sender(&self) -> &str {
            self.sender
        }
        fn latency(&self) -> Option<Duration> {
            self.latency
        }
        fn payload_contains(&self, needle: &Needle) -> bool {
            needle.is_in(self.data.as_bytes())
        }
    }

    const SUBJECTS: [Subject; 6] = [
        Subject {
            topic: "echo.hello",
            code: Some(200),
            kind: TraceKind::Request,
            status: TraceStatus::Ok,
            sender: "abc123",
            latency: Some(Duration::from_millis(5)),
            data: r#"{"msg":"Hello World"}"#,
        },
        Subject {
            topic: "echo.slow",
            code: Some(500),
            kind: TraceKind::Request,
            status: TraceStatus::Error,
            sender: "abd999",
            latency: Some(Duration::from_millis(1500)),
            data: r#"{"error":"boom (x)"}"#,
        },
        Subject {
            topic: "weather.fetch",
            code: None,
            kind: TraceKind::Request,
            status: TraceStatus::Timeout,
            sender: "xyz",
            latency: None,
            data: r#"{"city":"Paris"}"#,
        },
        Subject {
            topic: "user:created",
            code: None,
            kind: TraceKind::Signal,
            status: TraceStatus::Unanswered,
            sender: "abc777",
            latency: None,
            data: r#"{"name":"a \"b\""}"#,
        },
        Subject {
            topic: "gilmour.health.host1",
            code: Some(200),
            kind: TraceKind::Health,
            status: TraceStatus::Pending,
            sender: "hc",
            latency: Some(Duration::from_micros(100)),
            data: "{}",
        },
        Subject {
            topic: "gilmour.error",
            code: Some(404),
            kind: TraceKind::Error,
            status: TraceStatus::Orphan,
            sender: "abc",
            latency: Some(Duration::from_secs(2)),
            data: r#"{"topic":"echo.slow"}"#,
        },
    ];

    /// The topics of the subjects the filter selects.
    fn hits(input: &str) -> Vec<&'static str> {
        let filter = match parse(input) {
            Ok(filter) => filter,
            Err(error) => panic!("{input:?} should parse:\n{error}"),
        };
        let reparsed = parse(&filter.to_string());
        assert_eq!(reparsed.as_ref(), Ok(&filter), "re-parsing {filter}");
        SUBJECTS
            .iter()
            .filter(|subject| filter.matches(*subject))
            .map(|subject| subject.topic)
            .collect()
    }

    fn err(input: &str) -> (String, usize) {
        match parse(input) {
            Ok(filter) => panic!("{input:?} should fail, parsed as {filter:?}"),
            Err(error) => (error.message, error.column),
        }
    }

    const ALL: [&str; 6] = [
        "echo.hello",
        "echo.slow",
        "weather.fetch",
        "user:created",
        "gilmour.health.host1",
        "gilmour.error",
    ];

    #[test]
    fn empty_matches_everything() {
        assert_eq!(hits(""), ALL);
        assert_eq!(hits("  \t "), ALL);
        assert_eq!(parse(" "), Ok(Filter::all()));
        assert_eq!(Filter::all().to_string(), "");
    }

    #[test]
    fn topic() {
        assert_eq!(hits("topic:echo*"), ["echo.hello", "echo.slow"]);
        assert_eq!(hits("topic:echo"), Vec::<&str>::new());
        assert_eq!(hits("topic:echo.slow"), ["echo.slow"]);
        assert_eq!(hits("topic:echo.???w"), ["echo.slow"]);
        assert_eq!(hits("topic:*.h*"), ["echo.hello", "gilmour.health.host1"]);
        assert_eq!(hits(r"topic:/^gilmour\.(error|x)$/"), ["gilmour.error"]);
        assert_eq!(
            hits("topic:/ea/"),
            ["weather.fetch", "user:created", "gilmour.health.host1"]
        );
        assert_eq!(hits(r#"topic:"user:created""#), ["user:created"]);
        // A glob is anchored and `.` in it is literal.
        assert_eq!(hits("topic:echo.hell"), Vec::<&str>::new());
        assert_eq!(hits("topic:echo?hello"), ["echo.hello"]);
        assert_eq!(hits("topic:ECHO*"), Vec::<&str>::new());
    }

    #[test]
    fn bare_words() {
        assert_eq!(hits("echo"), ["echo.hello", "echo.slow"]);
        assert_eq!(
            hits("ea"),
            ["weather.fetch", "user:created", "gilmour.health.host1"]
        );
        assert_eq!(hits("*.slow"), ["echo.slow"]);
        assert_eq!(hits(r#""user:created""#), ["user:created"]);
        assert_eq!(hits(r#""and""#), Vec::<&str>::new());
    }

    #[test]
    fn code() {
        assert_eq!(hits("code:500"), ["echo.slow"]);
        assert_eq!(hits("code:=200"), ["echo.hello", "gilmour.health.host1"]);
        assert_eq!(hits("code:>=400"), ["echo.slow", "gilmour.error"]);
        assert_eq!(hits("code:>404"), ["echo.slow"]);
        assert_eq!(hits("code:<404"), ["echo.hello", "gilmour.health.host1"]);
        assert_eq!(
            hits("code:<=404"),
            ["echo.hello", "gilmour.health.host1", "gilmour.error"]
        );
        // No code never matches, even `!=`.
        assert_eq!(hits("code:!=200"), ["echo.slow", "gilmour.error"]);
    }

    #[test]
    fn kind_and_status() {
        assert_eq!(
            hits("kind:req"),
            ["echo.hello", "echo.slow", "weather.fetch"]
        );
        assert_eq!(
            hits("kind:slot|health"),
            ["user:created", "gilmour.health.host1"]
        );
        assert_eq!(hits("kind:err"), ["gilmour.error"]);
        assert_eq!(hits("status:ok"), ["echo.hello"]);
        assert_eq!(hits("status:error|timeout"), ["echo.slow", "weather.fetch"]);
        assert_eq!(hits("status:pending"), ["gilmour.health.host1"]);
        assert_eq!(
            hits("status:unanswered|orphan"),
            ["user:created", "gilmour.error"]
        );
        assert_eq!(
            hits(r#"kind:"req|err""#),
            ["echo.hello", "echo.slow", "weather.fetch", "gilmour.error"]
        );
        for kind in TraceKind::ALL {
            assert_eq!(kind.as_str().parse(), Ok(kind));
        }
        for status in TraceStatus::ALL {
            assert_eq!(status.as_str().parse(), Ok(status));
        }
    }

    #[test]
    fn sender_is_a_prefix() {
        assert_eq!(
            hits("sender:abc"),
            ["echo.hello", "user:created", "gilmour.error"]
        );
        assert_eq!(
            hits("sender:ab"),
            ["echo.hello", "echo.slow", "user:created", "gilmour.error"]
        );
        assert_eq!(hits("sender:bc"), Vec::<&str>::new());
    }

    #[test]
    fn latency() {
        assert_eq!(hits("latency:>100ms"), ["echo.slow", "gilmour.error"]);
        assert_eq!(hits("latency:<=100us"), ["gilmour.health.host1"]);
        assert_eq!(hits("latency:1.5s"), ["echo.slow"]);
        assert_eq!(hits("latency:>=2s"), ["gilmour.error"]);
        assert_eq!(
            hits("latency:!=5ms"),
            ["echo.slow", "gilmour.health.host1", "gilmour.error"]
        );
        assert_eq!(hits("latency:<0.1ms"), Vec::<&str>::new());
        assert_eq!(
            parse("latency:>1.5s").map(|filter| filter.to_string()),
            Ok("latency:>1500ms".to_owned())
        );
        assert_eq!(
            parse("latency:0.0015ms").map(|filter| filter.to_string()),
            Ok("latency:1.5us".to_owned())
        );
    }

    #[test]
    fn data_ignores_ascii_case() {
        assert_eq!(hits("data:hello"), ["echo.hello"]);
        assert_eq!(hits(r#"data:"hello world""#), ["echo.hello"]);
        assert_eq!(hits(r#"data:"boom (x)""#), ["echo.slow"]);
        assert_eq!(hits(r#"data:"a \\\"b""#), ["user:created"]);
        assert_eq!(hits("data:echo.slow"), ["gilmour.error"]);
    }

    #[test]
    fn combinations_and_precedence() {
        assert_eq!(hits("echo and code:500"), ["echo.slow"]);
        let dynamic: &dyn FilterSubject = &SUBJECTS[1];
        assert!(parse("echo.slow").is_ok_and(|filter| filter.matches(dynamic)));
        assert_eq!(hits("echo code:500"), ["echo.slow"]);
        assert_eq!(hits("code:500 or kind:slot"), ["echo.slow", "user:created"]);
        assert_eq!(
            hits("not echo"),
            [
                "weather.fetch",
                "user:created",
                "gilmour.health.host1",
                "gilmour.error"
            ]
        );
        assert_eq!(
            hits("!kind:req !kind:err"),
            ["user:created", "gilmour.health.host1"]
        );
        // not > and > or.
        assert_eq!(
            hits("kind:slot or echo and code:200"),
            ["echo.hello", "user:created"]
        );
        assert_eq!(hits("(kind:slot or echo) and code:200"), ["echo.hello"]);
        assert_eq!(hits("not echo and code:200"), ["gilmour.health.host1"]);
        assert_eq!(hits("not (echo and code:200)").len(), 5);
        assert_eq!(hits("!!echo"), ["echo.hello", "echo.slow"]);
        let tree = |input: &str| parse(input).map(|filter| filter.expr().cloned());
        let test = |word: &str| Expr::Test(Test::Topic(TopicPattern::Contains(word.to_owned())));
        let and = |l, r| Expr::And(Box::new(l), Box::new(r));
        let or = |l, r| Expr::Or(Box::new(l), Box::new(r));
        let (a, b, c) = (test("a"), test("b"), test("c"));
        assert_eq!(
            tree("a or b c"),
            Ok(Some(or(a.clone(), and(b.clone(), c.clone()))))
        );
        assert_eq!(
            tree("a b or c"),
            Ok(Some(or(and(a.clone(), b.clone()), c.clone())))
        );
        assert_eq!(
            tree("a b c"),
            Ok(Some(and(and(a.clone(), b.clone()), c.clone())))
        );
        assert_eq!(
            tree("a (b c)"),
            Ok(Some(and(a.clone(), and(b.clone(), c.clone()))))
        );
        assert_eq!(
            tree("not a b"),
            Ok(Some(and(Expr::Not(Box::new(a.clone())), b.clone())))
        );
        assert_eq!(
            Filter::from(and(a.clone(), or(b.clone(), c.clone()))).to_string(),
            "a and (b or c)"
        );
        assert_eq!(
            Filter::from(Expr::Not(Box::new(or(a, and(b, c))))).to_string(),
            "!(a or b and c)"
        );
    }

    #[test]
    fn canonical_printing() {
        let printed = |input: &str| parse(input).map(|filter| filter.to_string());
        let cases = [
            ("topic:echo*   code:>=400", "topic:echo* and code:>=400"),
            ("not  kind:req|slot", "!kind:req|slot"),
            ("code:=200", "code:200"),
            ("echo*", "topic:echo*"),
            (r#""a b" or "!x""#, r#""a b" or "!x""#),
            (r#"data:"say \"hi\" \\ \n""#, r#"data:"say \"hi\" \\ \\n""#),
            (r#"topic:"/x""#, r#"topic:"/x""#),
            (r"topic:/a\/b (c)/", r"topic:/a\/b (c)/"),
            ("latency:60000ms", "latency:60s"),
        ];
        for (input, expected) in cases {
            assert_eq!(printed(input), Ok(expected.to_owned()), "input {input:?}");
        }
    }

    #[test]
    fn errors_and_columns() {
        let cases: &[(&str, &str, usize)] = &[
            (
                "echo topc:x",
                "unknown field 'topc' (use topic, code, kind, status, sender, latency or data; \
                 quote a topic that contains ':')",
                6,
            ),
            (
                "code:abc",
                "invalid code 'abc': expected a whole number such as 500, after =, !=, <, <=, > or >= if comparing",
                6,
            ),
            (
                "code:>=4x",
                "invalid code '4x': expected a whole number such as 500, after =, !=, <, <=, > or >= if comparing",
                8,
            ),
            (
                "latency:>100h",
                "unknown latency unit 'h' (use us, ms or s)",
                13,
            ),
            ("latency:100", "latency '100' needs a unit: us, ms or s", 12),
            (
                "latency:>ms",
                "invalid latency 'ms': expected a number and a unit, such as 100ms or 1.5s",
                10,
            ),
            (
                "latency:1.0000001ms",
                "invalid latency '1.0000001ms': expected a number and a unit, such as 100ms or 1.5s",
                9,
            ),
            (
                "latency:99999999999999s",
                "invalid latency '99999999999999s': expected a number and a unit, such as 100ms or 1.5s",
                9,
            ),
            (
                "kind:req|foo",
                "unknown kind 'foo' (use req, slot, err, health, gap, other)",
                10,
            ),
            (
                "kind:req|",
                "unknown kind '' (use req, slot, err, health, gap, other)",
                10,
            ),
            (
                r#"status:"ok|bad""#,
                "unknown status 'bad' (use ok, error, timeout, pending, unanswered, orphan)",
                8,
            ),
            ("topic:/a(b/", "invalid regex: unclosed group", 7),
            ("topic:/abc", "unclosed '/' opened at column 7", 11),
            (r#"data:"abc"#, "unclosed '\"' opened at column 6", 10),
            ("topic: echo", "expected a value after 'topic:'", 7),
            ("data:", "expected a value after 'data:'", 6),
            ("(echo", "unclosed '(' opened at column 1", 6),
            ("echo)", "unexpected ')'", 5),
            ("()", "expected a filter after '('", 2),
            ("echo and", "expected a filter after 'and'", 9),
            ("echo or )", "expected a filter after 'or'", 9),
            ("not", "expected a filter after 'not'", 4),
            ("echo !", "expected a filter after '!'", 7),
            ("and echo", "expected a filter before 'and'", 1),
            (")", "unexpected ')'", 1),
        ];
        for &(input, message, column) in cases {
            assert_eq!(err(input), (message.to_owned(), column), "input {input:?}");
        }
        let display = parse("code:>=4x").map_err(|error| error.to_string());
        assert_eq!(
            display,
            Err(
                "invalid code '4x': expected a whole number such as 500, after =, !=, <, <=, > \
                 or >= if comparing at column 8\n  code:>=4x\n         ^"
                    .to_owned()
            )
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}a{}", "(".repeat(10_000), ")".repeat(10_000));
        assert_eq!(
            err(&deep),
            (format!("nested deeper than {MAX_DEPTH} levels"), 129)
        );
        assert_eq!(err(&"!".repeat(10_000)).1, 129);
    }

    fn arb_text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z.:_ ()\"\\\\!/|é-]{0,6}",
            prop::sample::select(vec!["and", "or", "not", "topic:x", "!", "/a/", ""])
                .prop_map(str::to_owned),
        ]
    }

    /// Text for exact and substring topic tests, which never hold wildcards (the parser
    /// reads those as globs).
    fn arb_plain_text() -> impl Strategy<Value = String> {
        arb_text().prop_map(|text| text.replace(['*', '?'], ""))
    }

    fn arb_test() -> impl Strategy<Value = Test> {
        let glob = ("[a-z. ]{0,3}", "[*?]", "[a-z.*?/ \"]{0,3}").prop_map(|(a, b, c)| {
            Pattern::glob(&format!("{a}{b}{c}")).expect("globs always compile")
        });
        let regex = prop::collection::vec(
            prop::sample::select(vec![
                "a", "b.", "^", "$", "|", r"\/", "(x)", "[)(]", " ", r"\d+", r"\\",
            ]),
            0..5,
        )
        .prop_map(|parts| {
            Pattern::regex(&parts.concat()).expect("the fragments form a valid regex")
        });
        let comparison = prop::sample::select(vec![
            Comparison::Eq,
            Comparison::Ne,
            Comparison::Lt,
            Comparison::Le,
            Comparison::Gt,
            Comparison::Ge,
        ]);
        prop_oneof![
            arb_plain_text().prop_map(|text| Test::Topic(TopicPattern::Exact(text))),
            arb_plain_text().prop_map(|text| Test::Topic(TopicPattern::Contains(text))),
            glob.prop_map(|pattern| Test::Topic(TopicPattern::Glob(pattern))),
            regex.prop_map(|pattern| Test::Topic(TopicPattern::Regex(pattern))),
            (comparison.clone(), any::<i64>()).prop_map(|(c, code)| Test::Code(c, code)),
            prop::collection::vec(prop::sample::select(TraceKind::ALL.to_vec()), 1..4)
                .prop_map(Test::Kind),
            prop::collection::vec(prop::sample::select(TraceStatus::ALL.to_vec()), 1..4)
                .prop_map(Test::Status),
            arb_text().prop_map(Test::Sender),
            (comparison, any::<u64>(), 0..4u32).prop_map(|(c, nanos, scale)| {
                // Mostly round values, so every unit gets printed.
                let nanos = nanos / 10u64.pow(3 * scale) * 10u64.pow(3 * scale);
                Test::Latency(c, Duration::from_nanos(nanos))
            }),
            arb_text()
                .prop_map(|text| Test::Data(Needle::new(&text).expect("any text is searchable"))),
        ]
    }

    fn arb_expr() -> impl Strategy<Value = Expr> {
        arb_test()
            .prop_map(Expr::Test)
            .prop_recursive(4, 32, 2, |inner| {
                prop_oneof![
                    inner.clone().prop_map(|e| Expr::Not(Box::new(e))),
                    (inner.clone(), inner.clone())
                        .prop_map(|(l, r)| Expr::And(Box::new(l), Box::new(r))),
                    (inner.clone(), inner).prop_map(|(l, r)| Expr::Or(Box::new(l), Box::new(r))),
                ]
            })
    }

    proptest! {
        #[test]
        fn printing_then_parsing_gives_the_same_filter(expr in arb_expr()) {
            let filter = Filter::from(expr);
            let printed = filter.to_string();
            prop_assert_eq!(parse(&printed), Ok(filter), "printed as {}", printed);
        }

        #[test]
        fn parse_never_panics_on_arbitrary_text(input in any::<String>()) {
            let _ = parse(&input);
        }

        #[test]
        fn parse_never_panics_on_near_miss_syntax(
            input in "(topic|code|kind|status|sender|latency|data|and|or|not|[a-z!()\" :/\\\\|<>=.0-9*?é]){0,12}"
        ) {
            if let Err(error) = parse(&input) {
                prop_assert!(error.column >= 1 && error.column <= input.chars().count() + 1);
                let _ = error.to_string();
            }
        }
    }
}
