//! A list of one-line rows in fixed-width columns, drawn straight into the buffer: what
//! ratatui's `Table` draws for a header and rows one line high, `Length` columns one
//! space apart and nothing selected, cell for cell and style for style, without the
//! table's layers of restyling every cell (the table's area, each row, each cell and its
//! text), which were most of a frame of the trace list.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::Widget;

/// One row: the shown columns' text, each with its cell's style, and the row's style.
#[derive(Debug, Default)]
pub struct Row<'a> {
    /// The cells, in the order of the shown columns (fewer than the columns: the last
    /// columns stay blank).
    pub cells: Vec<(Line<'a>, Style)>,
    /// Laid under the whole row, the spaces between cells included.
    pub style: Style,
}

impl<'a> Row<'a> {
    /// A row of unstyled cells.
    pub fn new(cells: impl IntoIterator<Item = Line<'a>>) -> Self {
        Row {
            cells: cells
                .into_iter()
                .map(|line| (line, Style::default()))
                .collect(),
            style: Style::default(),
        }
    }

    /// The row with a style laid under it.
    pub fn style(mut self, style: Style) -> Self {
        self.style = style;
        self
    }
}

/// A header row over rows, in columns `widths` wide (0: not shown).
#[derive(Debug)]
pub struct Grid<'a> {
    /// Each column's width, hidden ones at 0.
    pub widths: &'a [u16],
    /// The titles.
    pub header: Row<'a>,
    /// The rows, top first; those below the area are not drawn.
    pub rows: Vec<Row<'a>>,
}

impl Grid<'_> {
    /// Where each shown column starts, from the area's left, and how wide it is.
    fn columns(&self) -> Vec<(u16, u16)> {
        let mut x = 0u16;
        self.widths
            .iter()
            .filter(|width| **width > 0)
            .map(|&width| {
                let column = (x, width);
                x = x.saturating_add(width).saturating_add(1);
                column
            })
            .collect()
    }
}

/// Draws one row at `y`: the row's style, then each cell's (only when it has one: a
/// default style changes nothing), then its text.
fn row(buf: &mut Buffer, area: Rect, y: u16, columns: &[(u16, u16)], row: &Row) {
    let line = Rect {
        y,
        height: 1,
        ..area
    };
    if row.style != Style::default() {
        buf.set_style(line, row.style);
    }
    for (&(x, width), (text, style)) in columns.iter().zip(&row.cells) {
        let x = area.x.saturating_add(x);
        if x >= area.right() {
            break;
        }
        let cell = Rect {
            x,
            width: width.min(area.right() - x),
            ..line
        };
        if *style != Style::default() {
            buf.set_style(cell, *style);
        }
        text_at(buf, cell, text);
    }
}

/// The characters besides printable ASCII that the lists draw around their values (a
/// cut's `…`, a waiting request's `→`, a replay's `↻`, a responder's `·`): each one cell
/// wide and a grapheme of its own, whatever comes before or after it.
const ONE_CELL: [char; 4] = ['…', '→', '↻', '·'];

/// Whether every character of `text` is one cell wide and a grapheme of its own:
/// printable ASCII or one of [`ONE_CELL`].
fn one_cell_each(text: &str) -> bool {
    text.chars()
        .all(|c| matches!(c, ' '..='~') || ONE_CELL.contains(&c))
}

/// Draws `line` in `area` (one line high) as `Line`'s own rendering does; a span of
/// characters one cell each (nearly every one of a list) without looking for graphemes
/// and their widths.
fn text_at(buf: &mut Buffer, area: Rect, line: &Line) {
    let area = area.intersection(buf.area);
    if line.alignment.is_some() {
        line.render(area, buf);
        return;
    }
    let ascii = line.spans.iter().all(|span| one_cell_each(&span.content));
    let blank = if ascii {
        line.spans.iter().all(|span| span.content.is_empty())
    } else {
        line.width() == 0
    };
    if area.is_empty() || blank {
        return;
    }
    let area = Rect { height: 1, ..area };
    if line.style != Style::default() {
        buf.set_style(area, line.style);
    }
    let mut x = area.x;
    for span in &line.spans {
        if x >= area.right() {
            break;
        }
        if !one_cell_each(&span.content) {
            // Spans of no width are skipped, as `Line` skips them.
            let width = span.width();
            if width > 0 {
                span.render(Rect { x, ..area }.intersection(area), buf);
                x = x.saturating_add(u16::try_from(width).unwrap_or(u16::MAX));
            }
            continue;
        }
        let style = Style::default().patch(span.style);
        let start = buf.index_of(x, area.y);
        let room = usize::from(area.right() - x);
        let mut cells = buf.content[start..start + room].iter_mut();
        for (at, c) in span.content.char_indices() {
            // No cell left: the rest of the line is past the area's edge.
            let Some(cell) = cells.next() else {
                x = area.right();
                break;
            };
            cell.set_symbol(&span.content[at..at + c.len_utf8()])
                .set_style(style);
            x += 1;
        }
    }
}

impl Widget for Grid<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let area = area.intersection(buf.area);
        if area.is_empty() {
            return;
        }
        let columns = self.columns();
        row(buf, area, area.y, &columns, &self.header);
        for (y, each) in (area.y + 1..area.bottom()).zip(&self.rows) {
            row(buf, area, y, &columns, each);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::view::columns::constraints;
    use ratatui::style::{Color, Modifier, Stylize};
    use ratatui::text::Span;
    use ratatui::widgets::{Cell, Table};

    /// The same rows as ratatui's `Table`: the grid must draw what it drew.
    fn table<'a>(grid: &Grid<'a>) -> Table<'a> {
        let row = |row: &Row<'a>| {
            ratatui::widgets::Row::new(
                row.cells
                    .iter()
                    .map(|(line, style)| Cell::from(line.clone()).style(*style)),
            )
            .style(row.style)
        };
        Table::new(grid.rows.iter().map(row), constraints(grid.widths)).header(row(&grid.header))
    }

    fn grid<'a>(widths: &'a [u16]) -> Grid<'a> {
        let dim = Style::new().fg(Color::DarkGray);
        Grid {
            widths,
            header: Row::new(["", "time", "topic", "", "data"].map(Line::from))
                .style(dim.add_modifier(Modifier::BOLD)),
            rows: vec![
                Row {
                    cells: vec![
                        (Line::from(vec![Span::raw(" "), "!".yellow()]), Style::new()),
                        (Line::from("21:00:00.104"), Style::new()),
                        (Line::from("weather.fetch.eu…"), Style::new()),
                        (Line::from(""), dim),
                        (Line::from(vec!["→ ".dark_gray(), "{\"n\":1}".into()]), dim),
                    ],
                    style: Style::new(),
                },
                Row::new(["*", "21:00:00.105", "日本語のトピック", "x", "{}"].map(Line::from))
                    .style(Style::new().reversed()),
                Row::new(["", "21:00:01.000"].map(Line::from)),
                Row::new(
                    ["", "a\u{301}", "\u{301}", "", "too wide for its column"].map(Line::from),
                ),
                Row {
                    cells: vec![
                        (Line::from("ab").yellow(), Style::new()),
                        (
                            Line::from(vec!["x".bold(), "".into(), "yz".red()]),
                            Style::new(),
                        ),
                        (Line::from("right").right_aligned(), Style::new()),
                        (
                            Line::from(vec!["".red(), "→ ".dim(), "{}…".into(), "\u{301}".into()]),
                            Style::new(),
                        ),
                        (Line::from("\t~ tab"), Style::new().on_blue()),
                    ],
                    style: Style::new().italic(),
                },
                Row::new(
                    ["·", "a↻", "x…y→z·", "…", "→ {\"n\":1}…"].map(|text| Line::from(text).bold()),
                ),
                Row::new(["", "below the area"].map(Line::from)),
            ],
        }
    }

    #[test]
    fn the_one_cell_characters_are_one_cell_wide() {
        for c in ONE_CELL {
            assert_eq!(unicode_width::UnicodeWidthChar::width(c), Some(1), "{c}");
        }
    }

    #[test]
    fn draws_what_a_table_draws() {
        for (width, widths) in [
            (60, &[2, 12, 8, 0, 35][..]),
            (40, &[2, 12, 8, 3, 11][..]),
            (30, &[2, 12, 8, 0, 5][..]),
            (10, &[2, 7, 0, 0, 0][..]),
        ] {
            for height in [0, 1, 3, 6, 7] {
                let area = Rect::new(1, 1, width, height);
                let mut theirs = Buffer::empty(Rect::new(0, 0, width + 2, height + 2));
                let mut ours = theirs.clone();
                let grid = grid(widths);
                ratatui::widgets::Widget::render(table(&grid), area, &mut theirs);
                grid.render(area, &mut ours);
                assert_eq!(ours, theirs, "{width}×{height}");
            }
        }
    }
}
