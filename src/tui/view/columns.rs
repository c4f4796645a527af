//! Table columns that give way by priority on a narrow terminal. A table lists its
//! columns' steps in order of importance (a column first appears at its least width,
//! later steps widen it); each step is taken only if it fits. What is left goes to the
//! table's `rest` column. So at 60 columns a table keeps its most telling columns whole
//! instead of squeezing all of them into unreadable stubs.

use ratatui::layout::Constraint;

/// One step of a table's plan: show column `column` at least `width` wide (or widen it to
/// `width`, when it is already shown: by as much as fits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The column.
    pub column: usize,
    /// Its width after this step.
    pub width: u16,
}

/// A step: column `column` at `width`.
pub const fn step(column: usize, width: u16) -> Step {
    Step { column, width }
}

/// The width of each of `count` columns (0: not shown) for a table `width` wide, with one
/// space between shown columns; the `rest` column, if shown, takes what is left.
pub fn plan(width: u16, count: usize, steps: &[Step], rest: Option<usize>) -> Vec<u16> {
    let mut widths = vec![0u16; count];
    let mut used = 0u16;
    for &Step {
        column,
        width: want,
    } in steps
    {
        let shown = widths[column];
        if shown == 0 {
            let spacing = u16::from(widths.iter().any(|w| *w > 0));
            if used + spacing + want <= width {
                widths[column] = want;
                used += spacing + want;
            }
        } else if want > shown {
            let grow = (want - shown).min(width.saturating_sub(used));
            widths[column] += grow;
            used += grow;
        }
    }
    if let Some(rest) = rest
        && widths[rest] > 0
    {
        widths[rest] += width.saturating_sub(used);
    }
    widths
}

/// The constraints of the shown columns.
pub fn constraints(widths: &[u16]) -> Vec<Constraint> {
    widths
        .iter()
        .filter(|w| **w > 0)
        .map(|w| Constraint::Length(*w))
        .collect()
}

/// The items of the shown columns (titles, cells), in order.
pub fn shown<T>(widths: &[u16], items: impl IntoIterator<Item = T>) -> Vec<T> {
    items
        .into_iter()
        .zip(widths)
        .filter(|(_, w)| **w > 0)
        .map(|(item, _)| item)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_appear_in_order_of_importance_and_the_rest_takes_what_is_left() {
        let steps = [step(0, 10), step(2, 5), step(1, 8), step(0, 20)];
        assert_eq!(plan(16, 3, &steps, Some(2)), [10, 0, 5], "no room for 1");
        assert_eq!(
            plan(25, 3, &steps, Some(2)),
            [10, 8, 5],
            "no room to widen 0"
        );
        assert_eq!(plan(40, 3, &steps, Some(2)), [20, 8, 10]);
        assert_eq!(plan(8, 3, &steps, Some(2)), [0, 0, 8]);
    }
}
