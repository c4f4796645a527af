//! The recursive-descent parser: a hand-written lexer (`Parser::peek`) and one method per
//! grammar rule, each error carrying the column it points at.

use serde_json::Value;

use super::{MAX_DEPTH, Op, ParseError};
use crate::compose::tree::{Composition, Step};

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
        let kind = crate::compose::tree::json_kind(value);
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
    if c == '<' {
        // What the printer writes for a lambda.
        return "lambdas have no text form: `<lambda …>` stands for a Rust function \
                and cannot be parsed"
            .to_owned();
    }
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
