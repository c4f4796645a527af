//! The filter parser: recursive descent over the lexer's tokens.

use super::lex::*;
use super::*;

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
