//! Moving between screens: switching (loading what the new one shows), the once-a-second
//! refresh of the screens that go stale, clicks, and routing the results of their work.

use super::cursor::stale;
use super::{errors, services, topics};
use crate::tui::action::{Done, Effect, Failure};
use crate::tui::model::Screen;
use crate::tui::state::State;
use crate::tui::state::layout::{areas, list_rows, tab_at, window_start};
use ratatui::layout::Rect;

/// Switches screens, loading what the new one shows.
pub fn show(app: &mut State, screen: Screen) -> Vec<Effect> {
    app.screen = screen;
    match screen {
        Screen::Traces => Vec::new(),
        Screen::Topics => {
            topics::refresh_topics(app);
            Vec::new()
        }
        Screen::Errors => errors::load_errors(app, app.errors.page),
        Screen::Services => services::refresh_services(app),
    }
}

/// Once a second: the topics' figures, and the screens that go stale.
pub fn tick(app: &mut State) -> Vec<Effect> {
    match app.screen {
        Screen::Topics => {
            topics::refresh_topics(app);
            Vec::new()
        }
        Screen::Services if stale(app, app.services.refreshed) => services::refresh_services(app),
        // The queue changes under the screen: it refreshes by itself, like Services.
        Screen::Errors if !app.errors.loading && stale(app, app.errors.refreshed) => {
            errors::load_errors(app, app.errors.page)
        }
        _ => Vec::new(),
    }
}

/// A left click: a tab, or a row of the screen's list.
pub fn click(app: &mut State, column: u16, row: u16) -> Vec<Effect> {
    let area = Rect::new(0, 0, app.size.0, app.size.1);
    let regions = areas(area, app);
    if row == regions.header.y + 1 {
        return tab_at(column).map_or_else(Vec::new, |screen| show(app, screen));
    }
    let body = regions.body;
    if row <= body.y || row >= body.bottom() || app.detail.is_some() {
        return Vec::new();
    }
    let index = usize::from(row - body.y - 1);
    let rows = list_rows(app);
    match app.screen {
        Screen::Traces => {
            let row = app.top_row() + index;
            app.traces.select_row(row);
        }
        Screen::Topics => {
            let at = window_start(app.topics.selected, rows) + index;
            if at < app.topics.rows.len() {
                app.topics.selected = at;
            }
        }
        Screen::Services => {
            let at = window_start(app.services.selected, rows) + index;
            if at < app.services.hosts.len() {
                app.services.selected = at;
            }
        }
        Screen::Errors => {}
    }
    Vec::new()
}

/// Results of the errors and services screens' work.
pub fn finished(app: &mut State, done: Done) -> Vec<Effect> {
    match done {
        Done::Errors { .. } | Done::QueueChanged(_) | Done::Failed(Failure::Errors, _) => {
            errors::finished(app, done)
        }
        Done::Services { .. } | Done::IdentRemoved(_) | Done::Failed(Failure::Services, _) => {
            services::finished(app, done)
        }
        _ => Vec::new(),
    }
}
