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
//! Step timeouts have no text form: they are dropped when printing.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

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

/// Two lines showing `input` with a caret under the 1-based character `column`, both
/// indented by two spaces. Whitespace (tabs, newlines) is shown as a single space so the
/// caret lines up. The inspector's filter errors use it too.
pub fn excerpt(input: &str, column: usize) -> String {
    let line: String = input
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    let caret_indent = column.saturating_sub(1).min(line.chars().count());
    format!("  {line}\n  {}^", " ".repeat(caret_indent))
}

/// Parse the text form of a composition (see the module documentation for the grammar).
pub fn parse(input: &str) -> Result<Composition, ParseError> {
    let mut parser = Parser {
        input,
        pos: 0,
        depth: 0,
    };
    let (first, start, _) = parser.peek();
    if first == Token::Eof {
        return Err(parser.error(start, "empty composition: expected a topic"));
    }
    let tree = parser.sequence(After::Start)?;
    let (token, start, _) = parser.peek();
    match token {
        Token::Eof => Ok(tree),
        // Only structural tokens can be left over: `pipe` stops at anything else.
        _ => Err(parser.error(start, format!("unexpected {}", token.describe()))),
    }
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
    Node(Op, &'a [Composition]),
}

fn shape(composition: &Composition) -> Shape<'_> {
    match composition {
        // The planned `Lambda` leaf gets its own `Shape` variant here: it has no text form,
        // so the printer will render it as something `parse` rejects (e.g. `<lambda>`).
        Composition::Step(step) => Shape::Step(step),
        Composition::Pipe(children) => Shape::Node(Op::Pipe, children),
        Composition::AndAnd(children) => Shape::Node(Op::AndAnd, children),
        Composition::OrOr(children) => Shape::Node(Op::OrOr, children),
        Composition::Batch(children) => Shape::Node(Op::Batch, children),
        Composition::RecordedBatch(children) => Shape::Node(Op::RecordedBatch, children),
        Composition::Parallel(children) => Shape::Node(Op::Parallel, children),
    }
}

// ---------------------------------------------------------------------------------------
// Printer
// ---------------------------------------------------------------------------------------

impl fmt::Display for Composition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (op, children) = match shape(self) {
            Shape::Step(step) => return write_step(f, step),
            Shape::Node(op, children) => (op, children),
        };
        match op {
            // Always in function form: it has no infix operator of its own.
            Op::RecordedBatch => {
                f.write_str("record(")?;
                write_infix(f, Op::Batch, children)?;
                f.write_str(")")
            }
            // An infix chain needs two operands; the function form can hold any number.
            _ if children.len() < 2 => {
                write!(f, "{}(", op.keyword())?;
                write_joined(f, ", ", children)?;
                f.write_str(")")
            }
            Op::Parallel => {
                f.write_str("[")?;
                write_joined(f, ", ", children)?;
                f.write_str("]")
            }
            Op::Pipe | Op::AndAnd | Op::OrOr | Op::Batch => write_infix(f, op, children),
        }
    }
}

fn write_step(f: &mut fmt::Formatter<'_>, step: &Step) -> fmt::Result {
    f.write_str(&step.topic)?;
    if let Some(with) = &step.with {
        let json = serde_json::to_string(with).map_err(|_| fmt::Error)?;
        write!(f, " {json}")?;
    }
    Ok(())
}

/// Children separated by `separator`, each printed as is: used where every child is a
/// whole `sequence` in the grammar, so none needs parentheses.
fn write_joined(
    f: &mut fmt::Formatter<'_>,
    separator: &str,
    children: &[Composition],
) -> fmt::Result {
    for (index, child) in children.iter().enumerate() {
        if index > 0 {
            f.write_str(separator)?;
        }
        write!(f, "{child}")?;
    }
    Ok(())
}

fn write_infix(f: &mut fmt::Formatter<'_>, op: Op, children: &[Composition]) -> fmt::Result {
    for (index, child) in children.iter().enumerate() {
        if index > 0 {
            f.write_str(op.symbol())?;
        }
        if needs_parentheses(op, index, child) {
            write!(f, "({child})")?;
        } else {
            write!(f, "{child}")?;
        }
    }
    Ok(())
}

/// Whether `child`, at `index` in an infix chain of `parent`, must be parenthesised to
/// parse back as the same tree.
fn needs_parentheses(parent: Op, index: usize, child: &Composition) -> bool {
    let Shape::Node(child_op, grandchildren) = shape(child) else {
        return false;
    };
    // Fewer than two children prints in function form, which is atomic.
    let child_level = match child_op.infix_level() {
        Some(level) if grandchildren.len() >= 2 => level,
        _ => return false,
    };
    let parent_level = parent.infix_level().unwrap_or(0);
    // Same operator: without parentheses it would merge into the parent's chain.
    child_op == parent
        || child_level < parent_level
        // `&&` and `||` share a level and group to the left, so only a right operand needs them.
        || (child_level == parent_level && index > 0)
}

// ---------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    Eof,
    Pipe,
    AndAnd,
    OrOr,
    /// A single `&`, a likely typo for `&&`.
    Amp,
    Semi,
    Comma,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    Word(&'a str),
    Other(char),
}

impl Token<'_> {
    fn describe(self) -> String {
        let text = match self {
            Token::Eof => return "end of input".to_owned(),
            Token::Pipe => "|",
            Token::AndAnd => "&&",
            Token::OrOr => "||",
            Token::Amp => "&",
            Token::Semi => ";",
            Token::Comma => ",",
            Token::LParen => "(",
            Token::RParen => ")",
            Token::LBracket => "[",
            Token::RBracket => "]",
            Token::LBrace => "{",
            Token::Word(word) => word,
            Token::Other(c) => return format!("'{c}'"),
        };
        format!("'{text}'")
    }
}

fn is_topic_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | ':')
}

/// What came just before an operand, for the "expected a topic after …" message.
#[derive(Debug, Clone, Copy)]
enum After {
    Start,
    Symbol(&'static str),
}

/// An open bracket waiting for its closer, for the "unclosed …" messages.
#[derive(Debug, Clone, Copy)]
struct Open {
    /// Byte offset of the opening character.
    at: usize,
    open: char,
    close: char,
}

struct Parser<'a> {
    input: &'a str,
    /// Byte offset of the next unread character.
    pos: usize,
    /// Current nesting of brackets and function forms.
    depth: usize,
}

type Parsed<T> = Result<T, ParseError>;

impl<'a> Parser<'a> {
    fn error(&self, at: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            message: message.into(),
            column: self.column(at),
            input: self.input.to_owned(),
        }
    }

    fn column(&self, at: usize) -> usize {
        self.input
            .get(..at)
            .map_or(0, |before| before.chars().count())
            + 1
    }

    fn rest(&self) -> &'a str {
        self.input.get(self.pos..).unwrap_or("")
    }

    fn skip_whitespace(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    /// The next token with its start and end byte offsets, after skipping whitespace.
    fn peek(&mut self) -> (Token<'a>, usize, usize) {
        self.skip_whitespace();
        let start = self.pos;
        let rest = self.rest();
        let mut chars = rest.chars();
        let Some(first) = chars.next() else {
            return (Token::Eof, start, start);
        };
        let second = chars.next();
        let (token, len) = match (first, second) {
            ('|', Some('|')) => (Token::OrOr, 2),
            ('|', _) => (Token::Pipe, 1),
            ('&', Some('&')) => (Token::AndAnd, 2),
            ('&', _) => (Token::Amp, 1),
            (';', _) => (Token::Semi, 1),
            (',', _) => (Token::Comma, 1),
            ('(', _) => (Token::LParen, 1),
            (')', _) => (Token::RParen, 1),
            ('[', _) => (Token::LBracket, 1),
            (']', _) => (Token::RBracket, 1),
            ('{', _) => (Token::LBrace, 1),
            (c, _) if is_topic_char(c) => {
                let len = rest.find(|c| !is_topic_char(c)).unwrap_or(rest.len());
                (Token::Word(&rest[..len]), len)
            }
            (c, _) => (Token::Other(c), c.len_utf8()),
        };
        (token, start, start + len)
    }

    fn sequence(&mut self, after: After) -> Parsed<Composition> {
        Ok(chain(Op::Batch, self.sequence_items(after)?))
    }

    /// The operands of a `;` chain, not yet wrapped (so `record(…)` can adopt them).
    fn sequence_items(&mut self, after: After) -> Parsed<Vec<Composition>> {
        let mut items = vec![self.logic(after)?];
        while let (Token::Semi, _, end) = self.peek() {
            self.pos = end;
            items.push(self.logic(After::Symbol(";"))?);
        }
        Ok(items)
    }

    fn logic(&mut self, after: After) -> Parsed<Composition> {
        let mut left = self.pipe(after)?;
        while let Some((op, symbol, end)) = self.peek_logic_operator() {
            self.pos = end;
            let mut children = vec![left, self.pipe(After::Symbol(symbol))?];
            // More of the same operator join this node; a different one closes it and
            // takes it as its left operand on the next turn of the outer loop.
            while let Some((next, _, end)) = self.peek_logic_operator()
                && next == op
            {
                self.pos = end;
                children.push(self.pipe(After::Symbol(symbol))?);
            }
            left = op.build(children);
        }
        Ok(left)
    }

    /// `&&` or `||` if it is next, with its symbol and end offset.
    fn peek_logic_operator(&mut self) -> Option<(Op, &'static str, usize)> {
        match self.peek() {
            (Token::AndAnd, _, end) => Some((Op::AndAnd, "&&", end)),
            (Token::OrOr, _, end) => Some((Op::OrOr, "||", end)),
            _ => None,
        }
    }

    fn pipe(&mut self, after: After) -> Parsed<Composition> {
        let first = self.operand(after)?;
        let mut children = vec![first];
        while let (Token::Pipe, _, end) = self.peek() {
            self.pos = end;
            children.push(self.operand(After::Symbol("|"))?);
        }
        Ok(chain(Op::Pipe, children))
    }

    /// A primary, then a check that what follows it can continue the expression: this is
    /// where two topics side by side or a stray character get reported.
    fn operand(&mut self, after: After) -> Parsed<Composition> {
        let primary = self.primary(after)?;
        let (token, start, _) = self.peek();
        match token {
            Token::Eof
            | Token::Pipe
            | Token::AndAnd
            | Token::OrOr
            | Token::Semi
            | Token::Comma
            | Token::RParen
            | Token::RBracket => Ok(primary),
            Token::Amp => Err(self.error(start, "expected '&&' but found a single '&'")),
            Token::Word(_) | Token::LParen | Token::LBracket | Token::LBrace => Err(self.error(
                start,
                format!(
                    "expected an operator ('|', '&&', '||' or ';') before {}",
                    token.describe()
                ),
            )),
            Token::Other(c) => Err(self.error(start, unexpected_character(c))),
        }
    }

    fn primary(&mut self, after: After) -> Parsed<Composition> {
        let (token, start, end) = self.peek();
        match token {
            Token::LParen => {
                let open = self.enter(start, '(', ')')?;
                self.pos = end;
                let inner = self.sequence(After::Symbol("("))?;
                self.close(open)?;
                Ok(inner)
            }
            Token::LBracket => {
                let open = self.enter(start, '[', ']')?;
                self.pos = end;
                let arguments = self.arguments(open, "[")?;
                Ok(Composition::Parallel(batch_each(arguments)))
            }
            Token::Word(word) => {
                self.pos = end;
                match Op::from_keyword(word) {
                    Some(op) if self.peek().0 == Token::LParen => self.function(op),
                    _ => self.step(word),
                }
            }
            _ => Err(self.expected_operand(after, token, start)),
        }
    }

    fn expected_operand(&self, after: After, token: Token<'_>, at: usize) -> ParseError {
        match (after, token) {
            (_, Token::Other(c)) => self.error(at, unexpected_character(c)),
            (After::Symbol(symbol), _) => {
                self.error(at, format!("expected a topic after '{symbol}'"))
            }
            (After::Start, Token::RParen | Token::RBracket | Token::Comma) => {
                self.error(at, format!("unexpected {}", token.describe()))
            }
            (After::Start, _) => {
                self.error(at, format!("expected a topic before {}", token.describe()))
            }
        }
    }

    /// A function form; the keyword is consumed and `(` is next.
    fn function(&mut self, op: Op) -> Parsed<Composition> {
        let (_, start, end) = self.peek();
        let open = self.enter(start, '(', ')')?;
        self.pos = end;
        let arguments = self.arguments(open, "(")?;
        let children = match <[Vec<Composition>; 1]>::try_from(arguments) {
            // `record(a ; b ; c)`: a single `;` chain gives the children directly.
            Ok([items]) if op == Op::RecordedBatch => items,
            Ok([items]) => vec![chain(Op::Batch, items)],
            Err(arguments) => batch_each(arguments),
        };
        Ok(op.build(children))
    }

    /// Comma-separated `sequence`s up to the closer of `open` (whose opener is consumed),
    /// each as its unwrapped `;` operands. An immediate closer gives no arguments.
    fn arguments(&mut self, open: Open, opener: &'static str) -> Parsed<Vec<Vec<Composition>>> {
        let (token, _, end) = self.peek();
        if token == close_token(open.close) {
            self.pos = end;
            self.depth -= 1;
            return Ok(Vec::new());
        }
        let mut arguments = vec![self.sequence_items(After::Symbol(opener))?];
        loop {
            let (token, start, end) = self.peek();
            match token {
                Token::Comma => {
                    self.pos = end;
                    arguments.push(self.sequence_items(After::Symbol(","))?);
                }
                Token::Eof => return Err(self.unclosed(open)),
                _ if token == close_token(open.close) => {
                    self.pos = end;
                    self.depth -= 1;
                    return Ok(arguments);
                }
                _ => {
                    return Err(self.error(
                        start,
                        format!(
                            "expected ',' or '{}' to close the '{}' opened at column {}",
                            open.close,
                            open.open,
                            self.column(open.at)
                        ),
                    ));
                }
            }
        }
    }

    fn enter(&mut self, at: usize, open: char, close: char) -> Parsed<Open> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error(at, format!("nested deeper than {MAX_DEPTH} levels")));
        }
        self.depth += 1;
        Ok(Open { at, open, close })
    }

    fn close(&mut self, open: Open) -> Parsed<()> {
        let (token, start, end) = self.peek();
        match token {
            Token::Eof => Err(self.unclosed(open)),
            _ if token == close_token(open.close) => {
                self.pos = end;
                self.depth -= 1;
                Ok(())
            }
            _ => Err(self.error(
                start,
                format!(
                    "expected '{}' to close the '{}' opened at column {}",
                    open.close,
                    open.open,
                    self.column(open.at)
                ),
            )),
        }
    }

    fn unclosed(&self, open: Open) -> ParseError {
        let message = format!(
            "unclosed '{}' opened at column {}",
            open.open,
            self.column(open.at)
        );
        self.error(self.input.len(), message)
    }

    /// A topic (already consumed) and the JSON object that may follow it.
    fn step(&mut self, topic: &str) -> Parsed<Composition> {
        let mut step = Step::new(topic);
        let (token, start, _) = self.peek();
        // Besides `{`, any JSON value here is almost certainly a mistaken `with`.
        let looks_like_json = match token {
            Token::LBrace | Token::LBracket | Token::Other('"') => true,
            Token::Word(word) => serde_json::from_str::<Value>(word).is_ok(),
            _ => false,
        };
        if !looks_like_json {
            return Ok(step.into());
        }
        match self.json(start) {
            Ok(Value::Object(map)) => {
                step.with = Some(map);
                Ok(step.into())
            }
            Ok(other) => Err(self.not_an_object(start, &other)),
            Err(error) if token == Token::LBrace => Err(error),
            // Not JSON after all (`a [b]`): `operand` describes that mistake better.
            Err(_) => {
                self.pos = start;
                Ok(step.into())
            }
        }
    }

    fn not_an_object(&self, at: usize, value: &Value) -> ParseError {
        let kind = match value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        };
        self.error(at, format!("'with' must be a JSON object, not {kind}"))
    }

    /// The JSON value starting at byte `start`, consuming it; serde_json's streaming
    /// deserializer tells where it ends, so brackets and strings inside it are no concern.
    fn json(&mut self, start: usize) -> Parsed<Value> {
        let rest = self.input.get(start..).unwrap_or("");
        let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
        match stream.next() {
            Some(Ok(value)) => {
                self.pos = start + stream.byte_offset();
                Ok(value)
            }
            Some(Err(error)) => {
                let at = start + json_error_offset(rest, &error);
                let text = error.to_string();
                // serde_json appends its own position, which would be relative to `rest`.
                let reason = text
                    .rsplit_once(" at line ")
                    .map_or(text.as_str(), |(m, _)| m);
                Err(self.error(at, format!("invalid JSON after the topic: {reason}")))
            }
            // Only reached for blank text, which callers never pass (they start at a token).
            None => Err(self.error(start, "expected a JSON object")),
        }
    }
}

/// The token that closes a bracket.
fn close_token(close: char) -> Token<'static> {
    match close {
        ']' => Token::RBracket,
        _ => Token::RParen,
    }
}

/// Each argument's `;` operands as one child.
fn batch_each(arguments: Vec<Vec<Composition>>) -> Vec<Composition> {
    arguments
        .into_iter()
        .map(|items| chain(Op::Batch, items))
        .collect()
}

/// The operands of an infix chain as one node, except that a lone operand is returned as
/// is: only an actual chain makes a node, so `(a)` is just `a`.
fn chain(op: Op, mut operands: Vec<Composition>) -> Composition {
    if operands.len() == 1
        && let Some(only) = operands.pop()
    {
        return only;
    }
    op.build(operands)
}

fn unexpected_character(c: char) -> String {
    format!("unexpected character '{c}' (a topic is letters, digits, '.', '_', '-' and ':')")
}

/// Byte offset in `rest` of the problem serde_json reports by line and column.
fn json_error_offset(rest: &str, error: &serde_json::Error) -> usize {
    if error.classify() == serde_json::error::Category::Eof {
        return rest.len();
    }
    // serde_json counts lines from 1 and columns in bytes, 1 being the first of the line.
    let line_start: usize = rest
        .split_inclusive('\n')
        .take(error.line().saturating_sub(1))
        .map(str::len)
        .sum();
    let mut offset = (line_start + error.column().saturating_sub(1)).min(rest.len());
    while !rest.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn s(topic: &str) -> Composition {
        Composition::step(topic)
    }

    fn with(topic: &str, value: Value) -> Composition {
        match value {
            Value::Object(map) => Step::new(topic).with(map).into(),
            other => panic!("test helper needs an object, got {other}"),
        }
    }

    fn ok(input: &str) -> Composition {
        match parse(input) {
            Ok(tree) => tree,
            Err(error) => panic!("{input:?} should parse:\n{error}"),
        }
    }

    fn err(input: &str) -> (String, usize) {
        match parse(input) {
            Ok(tree) => panic!("{input:?} should fail, parsed as {tree:?}"),
            Err(error) => (error.message, error.column),
        }
    }

    /// Parsing, and printing then parsing again, both give `expected`.
    fn check(input: &str, expected: &Composition) {
        assert_eq!(&ok(input), expected, "parsing {input:?}");
        let printed = expected.to_string();
        assert_eq!(&ok(&printed), expected, "re-parsing {printed:?}");
    }

    #[test]
    fn single_topic() {
        check("echo", &s("echo"));
        check("  a.b-c_d:e9  ", &s("a.b-c_d:e9"));
    }

    #[test]
    fn each_operator() {
        check("a | b | c", &Composition::pipe([s("a"), s("b"), s("c")]));
        check("a|b", &Composition::pipe([s("a"), s("b")]));
        check("a && b", &Composition::and_and([s("a"), s("b")]));
        check("a||b||c", &Composition::or_or([s("a"), s("b"), s("c")]));
        check("a ; b ; c", &Composition::batch([s("a"), s("b"), s("c")]));
        check(
            "record(a ; b ; c)",
            &Composition::recorded_batch([s("a"), s("b"), s("c")]),
        );
        check(
            "[a, b, c]",
            &Composition::parallel([s("a"), s("b"), s("c")]),
        );
        check("[a]", &Composition::parallel([s("a")]));
        check("[ ]", &Composition::parallel([]));
    }

    #[test]
    fn precedence() {
        let (a, b, c, d) = (s("a"), s("b"), s("c"), s("d"));
        check(
            "a && b || c",
            &Composition::or_or([Composition::and_and([a.clone(), b.clone()]), c.clone()]),
        );
        check(
            "a || b && c",
            &Composition::and_and([Composition::or_or([a.clone(), b.clone()]), c.clone()]),
        );
        check(
            "a && b && c || d",
            &Composition::or_or([
                Composition::and_and([a.clone(), b.clone(), c.clone()]),
                d.clone(),
            ]),
        );
        check(
            "a | b && c | d",
            &Composition::and_and([
                Composition::pipe([a.clone(), b.clone()]),
                Composition::pipe([c.clone(), d.clone()]),
            ]),
        );
        check(
            "a ; b && c ; d | a",
            &Composition::batch([
                a.clone(),
                Composition::and_and([b.clone(), c.clone()]),
                Composition::pipe([d.clone(), a.clone()]),
            ]),
        );
        check(
            "a && (b || c)",
            &Composition::and_and([a.clone(), Composition::or_or([b.clone(), c.clone()])]),
        );
        check(
            "(a ; b) | c",
            &Composition::pipe([Composition::batch([a.clone(), b.clone()]), c.clone()]),
        );
        check(
            "[a ; b, c | d]",
            &Composition::parallel([Composition::batch([a, b]), Composition::pipe([c, d])]),
        );
    }

    #[test]
    fn chains_flatten_but_groups_nest() {
        let (a, b, c) = (s("a"), s("b"), s("c"));
        check(
            "(a | b) | c",
            &Composition::pipe([Composition::pipe([a.clone(), b.clone()]), c.clone()]),
        );
        check(
            "a | (b | c)",
            &Composition::pipe([a.clone(), Composition::pipe([b.clone(), c.clone()])]),
        );
        check(
            "(a && b) && c",
            &Composition::and_and([Composition::and_and([a.clone(), b.clone()]), c.clone()]),
        );
        check(
            "a ; (b ; c)",
            &Composition::batch([a.clone(), Composition::batch([b.clone(), c.clone()])]),
        );
        check("((a))", &a);
        assert_eq!(
            Composition::pipe([Composition::pipe([a.clone(), b.clone()]), c.clone()]).to_string(),
            "(a | b) | c"
        );
        assert_eq!(
            Composition::or_or([Composition::and_and([a.clone(), b.clone()]), c.clone()])
                .to_string(),
            "a && b || c"
        );
        assert_eq!(
            Composition::and_and([a, Composition::or_or([b, c])]).to_string(),
            "a && (b || c)"
        );
    }

    #[test]
    fn function_forms() {
        let (a, b, c) = (s("a"), s("b"), s("c"));
        check("pipe(a, b)", &Composition::pipe([a.clone(), b.clone()]));
        check("pipe(a)", &Composition::pipe([a.clone()]));
        check("pipe()", &Composition::pipe([]));
        check(
            "andand (a, b)",
            &Composition::and_and([a.clone(), b.clone()]),
        );
        check("oror(a)", &Composition::or_or([a.clone()]));
        check(
            "batch(a, b | c)",
            &Composition::batch([a.clone(), Composition::pipe([b.clone(), c.clone()])]),
        );
        check(
            "parallel(a ; b)",
            &Composition::parallel([Composition::batch([a.clone(), b.clone()])]),
        );
        check(
            "record(a, b)",
            &Composition::recorded_batch([a.clone(), b.clone()]),
        );
        check("record(a)", &Composition::recorded_batch([a.clone()]));
        check("record()", &Composition::recorded_batch([]));
        check(
            "record((a ; b))",
            &Composition::recorded_batch([Composition::batch([a.clone(), b.clone()])]),
        );
        check(
            "record(a ; b, c)",
            &Composition::recorded_batch([Composition::batch([a.clone(), b.clone()]), c.clone()]),
        );
        // A keyword not followed by `(` is a topic.
        check(
            "pipe | record",
            &Composition::pipe([s("pipe"), s("record")]),
        );
        check("batch {\"n\": 1}", &with("batch", json!({"n": 1})));
        assert_eq!(Composition::pipe([a.clone()]).to_string(), "pipe(a)");
        assert_eq!(Composition::parallel([]).to_string(), "parallel()");
        assert_eq!(
            Composition::recorded_batch([a, b, c]).to_string(),
            "record(a ; b ; c)"
        );
    }

    #[test]
    fn with_objects() {
        check("a {}", &with("a", json!({})));
        check(
            r#"a {"x": [1, {"y": "|]) ;"}], "s": "a, b"} | b"#,
            &Composition::pipe([
                with("a", json!({"x": [1, {"y": "|]) ;"}], "s": "a, b"})),
                s("b"),
            ]),
        );
        check(
            "[a {\"k\": \")\"}, b{\"k\":\"]\"}]",
            &Composition::parallel([with("a", json!({"k": ")"})), with("b", json!({"k": "]"}))]),
        );
        check(
            "a\n{\n\"multi\": \"line\"\n}",
            &with("a", json!({"multi": "line"})),
        );
        assert_eq!(
            with("a", json!({"unit": "C", "n": 2})).to_string(),
            r#"a {"n":2,"unit":"C"}"#
        );
    }

    #[test]
    fn examples_from_the_talk() {
        check(
            "example.fetch | example.words | example.stopfilter | example.count | \
             [example.popular3, example.popular4, example.popular5]",
            &Composition::pipe([
                s("example.fetch"),
                s("example.words"),
                s("example.stopfilter"),
                s("example.count"),
                Composition::parallel([
                    s("example.popular3"),
                    s("example.popular4"),
                    s("example.popular5"),
                ]),
            ]),
        );
        let weather = r#"weather.fetch | weather.group | [weather.min, weather.max {"unit": "C"}]"#;
        let tree = Composition::pipe([
            s("weather.fetch"),
            s("weather.group"),
            Composition::parallel([s("weather.min"), with("weather.max", json!({"unit": "C"}))]),
        ]);
        check(weather, &tree);
        assert_eq!(
            tree.to_string(),
            r#"weather.fetch | weather.group | [weather.min, weather.max {"unit":"C"}]"#
        );
        assert_eq!(
            tree.topics().collect::<Vec<_>>(),
            [
                "weather.fetch",
                "weather.group",
                "weather.min",
                "weather.max"
            ]
        );
    }

    #[test]
    fn error_messages_and_columns() {
        let cases: &[(&str, &str, usize)] = &[
            ("", "empty composition: expected a topic", 1),
            ("   ", "empty composition: expected a topic", 4),
            ("fetch | words |", "expected a topic after '|'", 16),
            ("a && ", "expected a topic after '&&'", 6),
            ("a || ;", "expected a topic after '||'", 6),
            ("a ; ", "expected a topic after ';'", 5),
            ("[a, ]", "expected a topic after ','", 5),
            ("()", "expected a topic after '('", 2),
            ("| a", "expected a topic before '|'", 1),
            ("a | (b", "unclosed '(' opened at column 5", 7),
            (
                "x [a, b",
                "expected an operator ('|', '&&', '||' or ';') before '['",
                3,
            ),
            ("  [a, b", "unclosed '[' opened at column 3", 8),
            ("pipe(a", "unclosed '(' opened at column 5", 7),
            ("a)", "unexpected ')'", 2),
            ("[a]]", "unexpected ']'", 4),
            ("a, b", "unexpected ','", 2),
            ("(a]", "expected ')' to close the '(' opened at column 1", 3),
            (
                "[a)",
                "expected ',' or ']' to close the '[' opened at column 1",
                3,
            ),
            (
                "a b",
                "expected an operator ('|', '&&', '||' or ';') before 'b'",
                3,
            ),
            ("a & b", "expected '&&' but found a single '&'", 3),
            (
                "echo* | b",
                "unexpected character '*' (a topic is letters, digits, '.', '_', '-' and ':')",
                5,
            ),
            (
                "a | é1*",
                "unexpected character '*' (a topic is letters, digits, '.', '_', '-' and ':')",
                7,
            ),
            ("a [1, 2]", "'with' must be a JSON object, not an array", 3),
            ("a \"x\"", "'with' must be a JSON object, not a string", 3),
            ("a 42", "'with' must be a JSON object, not a number", 3),
            ("a true", "'with' must be a JSON object, not a boolean", 3),
            (
                "a {\"k\" 1}",
                "invalid JSON after the topic: expected `:`",
                8,
            ),
            (
                "a {\"k\": 1",
                "invalid JSON after the topic: EOF while parsing an object",
                10,
            ),
            (
                "a {\n\"k\": x}",
                "invalid JSON after the topic: expected value",
                10,
            ),
            (
                "a {} {}",
                "expected an operator ('|', '&&', '||' or ';') before '{'",
                6,
            ),
            (
                "(a) {}",
                "expected an operator ('|', '&&', '||' or ';') before '{'",
                5,
            ),
        ];
        for &(input, message, column) in cases {
            assert_eq!(err(input), (message.to_owned(), column), "input {input:?}");
        }
    }

    #[test]
    fn error_display_shows_a_caret() {
        let error = parse("fetch | words |").unwrap_err();
        assert_eq!(
            error.to_string(),
            "expected a topic after '|' at column 16\n  fetch | words |\n                 ^"
        );
        let error = parse("a\t| (").unwrap_err();
        assert_eq!(
            error.to_string(),
            "expected a topic after '(' at column 6\n  a | (\n       ^"
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}a{}", "(".repeat(10_000), ")".repeat(10_000));
        assert_eq!(
            err(&deep),
            (format!("nested deeper than {MAX_DEPTH} levels"), 129)
        );
        let fine = format!("{}a{}", "[".repeat(100), "]".repeat(100));
        assert!(parse(&fine).is_ok());
    }

    #[test]
    fn from_str_is_parse() {
        assert_eq!("a | b".parse::<Composition>(), parse("a | b"));
    }

    fn arb_json(depth: u32) -> impl Strategy<Value = Value> {
        // No floats: serde_json's default float parsing may be off by one ulp, which
        // would make the round trip fail for reasons unrelated to this parser.
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[a-z |\\])(\"\\\\,;{}]{0,6}".prop_map(Value::from),
        ];
        leaf.prop_recursive(depth, 8, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
                prop::collection::btree_map("[a-z|\\]]{0,3}", inner, 0..3)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    fn arb_topic() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => "[a-zA-Z0-9._:-]{1,10}",
            1 => prop::sample::select(vec!["pipe", "andand", "oror", "batch", "parallel", "record"])
                .prop_map(str::to_owned),
            1 => "[éß0-9]{1,3}",
        ]
    }

    fn arb_step() -> impl Strategy<Value = Composition> {
        (
            arb_topic(),
            prop::option::of(prop::collection::btree_map(
                "[a-z\"|]{0,4}",
                arb_json(2),
                0..3,
            )),
        )
            .prop_map(|(topic, with)| {
                let step = Step::new(topic);
                match with {
                    Some(map) => step.with(map.into_iter().collect()).into(),
                    None => step.into(),
                }
            })
    }

    fn arb_tree() -> impl Strategy<Value = Composition> {
        arb_step().prop_recursive(4, 48, 4, |inner| {
            let children = prop::collection::vec(inner, 0..4);
            prop_oneof![
                children.clone().prop_map(Composition::Pipe),
                children.clone().prop_map(Composition::AndAnd),
                children.clone().prop_map(Composition::OrOr),
                children.clone().prop_map(Composition::Batch),
                children.clone().prop_map(Composition::RecordedBatch),
                children.prop_map(Composition::Parallel),
            ]
        })
    }

    proptest! {
        #[test]
        fn printing_then_parsing_gives_the_same_tree(tree in arb_tree()) {
            let printed = tree.to_string();
            prop_assert_eq!(parse(&printed), Ok(tree), "printed as {}", printed);
        }

        #[test]
        fn parse_never_panics_on_arbitrary_text(input in any::<String>()) {
            let _ = parse(&input);
        }

        #[test]
        fn parse_never_panics_on_near_miss_syntax(
            input in "[ab é|&;,()\\[\\]{}\":1*]{0,40}"
        ) {
            if let Err(error) = parse(&input) {
                // The column always points inside the input or just past its end.
                prop_assert!(error.column >= 1 && error.column <= input.chars().count() + 1);
                let _ = error.to_string();
            }
        }
    }
}
