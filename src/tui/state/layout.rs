//! Where each region of the screen goes. Both the view (to draw) and `update` (to page
//! and to map a click to a row) need it, so it is one pure function of the state.
//!
//! ```text
//! ┌────────────────────────────────────────────────────────────┐
//! │ header: source, link, rate, counters                       │ 2 rows
//! │ tabs                                   follow/pause/filter │
//! ├────────────────────────────────────────────────────────────┤
//! │ body: the screen's table (first row: column titles),       │
//! │ or the detail of one trace                                 │
//! ├────────────────────────────────────────────────────────────┤
//! │ / filter bar            (while editing or while a filter applies) │
//! │   filter error          (while the text does not parse)    │
//! │ status line                                                │
//! │ footer: keys of the current screen                         │
//! └────────────────────────────────────────────────────────────┘
//! ```

use super::State;
use crate::tui::model::Screen;
use ratatui::layout::Rect;

/// The regions of the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    /// Source, link, rate, counters, tabs.
    pub header: Rect,
    /// The screen's content.
    pub body: Rect,
    /// The filter bar (zero height when hidden).
    pub filter: Rect,
    /// The filter's parse error (zero height when none).
    pub filter_error: Rect,
    /// The status line.
    pub status: Rect,
    /// The keys.
    pub footer: Rect,
}

const HEADER: u16 = 2;

/// Splits the terminal for the app's state.
pub fn areas(area: Rect, app: &State) -> Areas {
    // The filter is the trace list's: its bar shows there only (and while typing one).
    let applied = !app.filter.applied_text.is_empty() && app.screen == Screen::Traces;
    let filter_rows = u16::from(app.filter.editing || applied);
    let error_rows = u16::from(app.filter.editing && app.filter.error.is_some());
    let mut y = area.y;
    let mut take = |rows: u16| {
        let rows = rows.min(area.bottom().saturating_sub(y));
        let rect = Rect::new(area.x, y, area.width, rows);
        y += rows;
        rect
    };
    let fixed_below = filter_rows + error_rows + 2;
    let header = take(HEADER);
    let body = take(area.height.saturating_sub(HEADER + fixed_below));
    Areas {
        header,
        body,
        filter: take(filter_rows),
        filter_error: take(error_rows),
        status: take(1),
        footer: take(1),
    }
}

/// How many table rows the body shows (its first row holds the column titles).
pub fn list_rows(app: &State) -> usize {
    let (width, height) = app.size;
    let body = areas(Rect::new(0, 0, width, height), app).body;
    let table = match app.screen {
        Screen::Topics => topics_split(body, app).0,
        _ => body,
    };
    usize::from(table.height.saturating_sub(1)).max(1)
}

/// The least height of the body for the latency panel to go under the topics table.
const SPLIT_FROM: u16 = 16;
/// The most rows the latency panel takes under the table.
const PANEL_MOST: u16 = 16;

/// The topics screen's body: the table, and the selected topic's latency panel under
/// it when there is room (or alone, when asked for).
pub fn topics_split(body: Rect, app: &State) -> (Rect, Rect) {
    if app.topics.latency_only {
        return (Rect { height: 0, ..body }, body);
    }
    if body.height < SPLIT_FROM {
        return (body, Rect { height: 0, ..body });
    }
    let panel = (body.height / 2).min(PANEL_MOST);
    let table = Rect {
        height: body.height - panel,
        ..body
    };
    (
        table,
        Rect {
            y: table.bottom(),
            height: panel,
            ..body
        },
    )
}

/// How many bars the latency panel's histogram has room for: its height less its
/// title, the two sparklines and the histogram's heading.
pub fn histogram_bars(app: &State) -> usize {
    let (width, height) = app.size;
    let body = areas(Rect::new(0, 0, width, height), app).body;
    let panel = topics_split(body, app).1;
    usize::from(panel.height.saturating_sub(4)).clamp(3, 20)
}

/// A tab's label on the header's second row.
pub fn tab_label(index: usize, screen: Screen) -> String {
    format!(" {} {} ", index + 1, screen.title())
}

/// The tab under a column of the header's second row.
pub fn tab_at(column: u16) -> Option<Screen> {
    let mut x = 0u16;
    for (index, screen) in Screen::ALL.into_iter().enumerate() {
        let width = tab_label(index, screen).chars().count() as u16;
        if (x..x + width).contains(&column) {
            return Some(screen);
        }
        x += width + 1;
    }
    None
}

/// The first row shown of a list whose cursor is at `selected`, `rows` rows high.
pub fn window_start(selected: usize, rows: usize) -> usize {
    selected.saturating_sub(rows.saturating_sub(1))
}
