//! What the list screens share: moving a cursor, and when fetched rows go stale.

use crate::tui::keymap::Command;
use crate::tui::state::State;

/// How old the services and errors screens may get before they refresh by themselves.
const REFRESH_AFTER: chrono::Duration = chrono::Duration::seconds(10);

/// Whether rows fetched at `refreshed` are due again.
pub fn stale(app: &State, refreshed: Option<chrono::DateTime<chrono::Utc>>) -> bool {
    refreshed.is_none_or(|at| app.now - at > REFRESH_AFTER)
}

/// Moves a cursor over `len` rows.
pub fn moved(selected: usize, len: usize, command: Command, page: usize) -> usize {
    let last = len.saturating_sub(1);
    match command {
        Command::Up => selected.saturating_sub(1),
        Command::Down => (selected + 1).min(last),
        Command::PageUp => selected.saturating_sub(page),
        Command::PageDown => (selected + page).min(last),
        Command::Top => 0,
        Command::Bottom => last,
        _ => selected,
    }
}
