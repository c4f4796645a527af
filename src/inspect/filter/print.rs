//! Printing filters canonically, so that printing then parsing gives the same filter.

use super::lex::{ends_bare_value, field_name_length};
use super::*;

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
            Test::Responder(part) => {
                f.write_str("responder:")?;
                write_value(f, part, Position::FieldValue)
            }
            Test::Caller(part) => {
                f.write_str("caller:")?;
                write_value(f, part, Position::FieldValue)
            }
            Test::Contenders(comparison, count) => {
                write!(f, "contenders:{}{count}", operator_prefix(*comparison))
            }
            Test::Root => f.write_str("root"),
            Test::Composition => f.write_str("composition"),
            Test::SlowStep => f.write_str("slow-step"),
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
                    && !matches!(
                        text,
                        "and" | "or" | "not" | "root" | "composition" | "slow-step"
                    )
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
