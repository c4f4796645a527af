//! The filter lexer: tokens, values and the small parsers of field values.

use super::*;

// ---------------------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------------------

/// Characters that end an unquoted value (and so force quotes when printing one).
pub(super) fn ends_bare_value(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '"')
}

/// Length of a leading `letters:` (a field name and its colon), if there is one.
pub(super) fn field_name_length(text: &str) -> Option<usize> {
    let letters = text
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    (letters > 0 && text[letters..].starts_with(':')).then_some(letters)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    Topic,
    Code,
    Kind,
    Status,
    Sender,
    Latency,
    Data,
    Responder,
    Caller,
    Contenders,
}

impl Field {
    pub(super) fn from_name(name: &str) -> Option<Field> {
        Some(match name {
            "topic" => Field::Topic,
            "code" => Field::Code,
            "kind" => Field::Kind,
            "status" => Field::Status,
            "sender" => Field::Sender,
            "latency" => Field::Latency,
            "data" => Field::Data,
            "responder" => Field::Responder,
            "caller" => Field::Caller,
            "contenders" => Field::Contenders,
            _ => return None,
        })
    }
}

#[derive(Debug)]
pub(super) enum TokenKind {
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
pub(super) struct Token {
    pub(super) kind: TokenKind,
    /// Byte offsets of the token's text.
    pub(super) start: usize,
    pub(super) end: usize,
}

/// A value after `field:` or a bare word, unquoted.
pub(super) struct Value {
    pub(super) text: String,
    /// Byte offset of its first character (the quote, if quoted).
    pub(super) start: usize,
    pub(super) quoted: bool,
}

impl Value {
    /// Byte offset in the input of byte `offset` of the text. Inside quotes escapes shift
    /// positions, so point at the opening quote instead.
    pub(super) fn at(&self, offset: usize) -> usize {
        if self.quoted {
            self.start
        } else {
            self.start + offset
        }
    }
}

pub(super) type Parsed<T> = Result<T, FilterError>;

pub(super) struct Lexer<'a> {
    pub(super) input: &'a str,
    /// Byte offset of the next unread character.
    pub(super) pos: usize,
}

impl<'a> Lexer<'a> {
    pub(super) fn error(&self, at: usize, message: impl Into<String>) -> FilterError {
        error(self.input, at, message)
    }

    pub(super) fn rest(&self) -> &'a str {
        self.input.get(self.pos..).unwrap_or("")
    }

    pub(super) fn tokens(mut self) -> Parsed<Vec<Token>> {
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
    pub(super) fn word(&mut self) -> Parsed<TokenKind> {
        let start = self.pos;
        if let Some(length) = field_name_length(self.rest()) {
            let name = &self.rest()[..length];
            let Some(field) = Field::from_name(name) else {
                return Err(self.error(
                    start,
                    format!(
                        "unknown field '{name}' (use topic, code, kind, status, sender, \
                         latency, data, responder, caller or contenders; quote a topic \
                         that contains ':')"
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
            // Tree tests; a topic of that name is found with `topic:` or in quotes.
            "root" => TokenKind::Test(Test::Root),
            "composition" => TokenKind::Test(Test::Composition),
            "slow-step" => TokenKind::Test(Test::SlowStep),
            _ => TokenKind::Test(bare_word(self.input, &value)?),
        })
    }

    pub(super) fn field_value(&mut self, field: Field, name: &str) -> Parsed<Test> {
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
            Field::Code | Field::Contenders => {
                let (comparison, length) = Comparison::split(&value.text);
                let number = &value.text[length..];
                let what = if field == Field::Code {
                    "code"
                } else {
                    "count"
                };
                let example = if field == Field::Code { "500" } else { "2" };
                let count = number.parse::<i64>().map_err(|_| {
                    error(
                        input,
                        value.at(length),
                        format!(
                            "invalid {what} '{number}': expected a whole number such as {example}, \
                             after =, !=, <, <=, > or >= if comparing"
                        ),
                    )
                })?;
                Ok(if field == Field::Code {
                    Test::Code(comparison, count)
                } else {
                    Test::Contenders(comparison, count)
                })
            }
            Field::Kind => alternatives(input, &value).map(Test::Kind),
            Field::Status => alternatives(input, &value).map(Test::Status),
            Field::Sender => Ok(Test::Sender(value.text)),
            Field::Responder => Ok(Test::Responder(value.text)),
            Field::Caller => Ok(Test::Caller(value.text)),
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
    pub(super) fn bare(&mut self) -> Value {
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
    pub(super) fn quoted(&mut self) -> Parsed<Value> {
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
    pub(super) fn regex(&mut self) -> Parsed<Test> {
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

    pub(super) fn unclosed(&self, open: char, at: usize) -> FilterError {
        let column = column(self.input, at);
        self.error(
            self.input.len(),
            format!("unclosed '{open}' opened at column {column}"),
        )
    }
}

pub(super) fn error(input: &str, at: usize, message: impl Into<String>) -> FilterError {
    FilterError {
        message: message.into(),
        column: column(input, at),
        input: input.to_owned(),
    }
}

/// 1-based character column of byte offset `at`.
pub(super) fn column(input: &str, at: usize) -> usize {
    input.get(..at).map_or(0, |before| before.chars().count()) + 1
}

/// The regex crate's own one-line reason, without its multi-line drawing of the pattern.
pub(super) fn regex_reason(error: &regex::Error) -> String {
    let text = error.to_string();
    text.lines()
        .rev()
        .find_map(|line| line.strip_prefix("error: "))
        .map_or_else(|| text.clone(), str::to_owned)
}

/// A bare word tests the topic: contained, or matching as a glob if it has wildcards.
pub(super) fn bare_word(input: &str, value: &Value) -> Parsed<Test> {
    topic_pattern(input, value, TopicPattern::Contains).map(Test::Topic)
}

pub(super) fn topic_pattern(
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
pub(super) fn alternatives<T: FromStr<Err = UnknownName>>(
    input: &str,
    value: &Value,
) -> Parsed<Vec<T>> {
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
pub(super) fn latency(input: &str, value: &Value, skip: usize) -> Parsed<Duration> {
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
