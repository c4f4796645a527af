//! The printer: `Display` for [`Composition`], in the canonical form that parses back to
//! the same tree, with only the parentheses that precedence requires.

use std::fmt;

use super::{Op, Shape, shape};
use crate::compose::tree::{Composition, Step};

impl fmt::Display for Composition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (op, children) = match shape(self) {
            Shape::Step(step) => return write_step(f, step),
            // Starts with a character no topic has, so `parse` stops there and says why.
            Shape::Lambda(lambda) => return write!(f, "<lambda {}>", lambda.name()),
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
