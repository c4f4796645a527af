//! Drawing: a pure function of the state, one module per region of the screen. Nothing
//! here does I/O or walks the store: lists draw only their visible rows, the detail only
//! its visible lines, and everything untrusted is sanitised before it is drawn.
//!
//! ```text
//! ┌ header ─ gilmour │ redis://host:6379 │ ● live │ 812.0 msg/s │ 40,211 traces 3 errors … ┐
//! │  1 Traces   2 Topics   3 Errors   4 Services                 FOLLOW  1,024 shown       │
//! ├ body ───────────────────────────────────────────────────────────────────────────────────┤
//! │ time          kind  topic            code  latency  sender    size  data               │
//! │ 21:00:00.104  req   weather.fetch     200   1.31ms  9f2c01aa  120B  {"city":"Pune"}    │  traces
//! │ ── capture lost 3.2 s: messages may be missing ──                                       │  (or detail,
//! │ …                                                                                       │  topics, errors,
//! ├─────────────────────────────────────────────────────────────────────────────────────────┤  services)
//! │ / topic:weather*                                       filter_bar                       │
//! │ replayed #12 as #40                                    status line                      │
//! │ ↑ up  ↓ down  enter open  / filter  r replay …         footer                           │
//! └─────────────────────────────────────────────────────────────────────────────────────────┘
//!          dialogs (help, confirm, fire form, editor, error record, file name) on top
//! ```

mod columns;
mod detail;
mod dialog;
pub mod document;
mod errors;
mod filter_bar;
mod fire;
mod footer;
mod header;
mod help;
mod services;
mod topics;
mod traces;

use crate::tui::model::Screen;
use crate::tui::state::State;
use crate::tui::state::layout::areas;
use crate::tui::state::modal::Modal;
pub use document::Cache;
pub use help::last_scroll as last_help_scroll;
use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};

/// Draws the whole screen; `cache` keeps what is costly to build between frames.
pub fn draw(frame: &mut Frame, app: &State, cache: &mut Cache) {
    let regions = areas(frame.area(), app);
    header::draw(frame, regions.header, app);
    match (app.screen, &app.detail) {
        (Screen::Traces, Some(open)) => {
            let lines = cache.detail(app).unwrap_or_default();
            detail::draw(frame, regions.body, open, &lines);
        }
        (Screen::Traces, None) => traces::draw(frame, regions.body, app),
        (Screen::Topics, _) => topics::draw(frame, regions.body, app),
        (Screen::Errors, _) => errors::draw(frame, regions.body, app),
        (Screen::Services, _) => services::draw(frame, regions.body, app),
    }
    filter_bar::draw(frame, regions.filter, regions.filter_error, app);
    footer::draw_status(frame, regions.status, app);
    footer::draw(frame, regions.footer, app);
    match &app.modal {
        None => {}
        Some(Modal::Help { scroll }) => help::draw(frame, app, *scroll),
        Some(Modal::Confirm { question, .. }) => dialog::confirm(frame, app, question),
        Some(Modal::Fire(form)) => fire::draw(frame, form),
        Some(Modal::Edit(form)) => dialog::edit(frame, form),
        Some(Modal::Record { index, scroll }) => dialog::record(frame, app, *index, *scroll),
        Some(Modal::Write(input)) => dialog::write(frame, app, input),
        Some(Modal::Host { index, scroll }) => dialog::host(frame, app, *index, *scroll),
    }
}

pub use gilmour::inspect::trace::human_latency as format_latency;

/// A count with thousands separators: `1,234,567`.
pub fn thousands(count: u64) -> String {
    let digits = count.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (at, digit) in digits.chars().enumerate() {
        if at > 0 && (digits.len() - at).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A size in bytes, short: `120B`, `4.1K`, `12M`.
pub fn bytes(size: usize) -> String {
    let size = size as f64;
    if size < 1024.0 {
        format!("{size}B")
    } else if size < 1024.0 * 1024.0 {
        format!("{:.1}K", size / 1024.0)
    } else {
        format!("{:.1}M", size / (1024.0 * 1024.0))
    }
}

/// Untrusted text made safe and fitted to a cell of `width` columns: when it does not
/// fit it ends in `…` inside the cell, so a cut value never reads as a whole one (a topic
/// cut at the cell's edge could read as another topic).
pub fn fit(text: &str, width: usize) -> String {
    let cleaned = gilmour::inspect::sanitize::clean(text, width);
    if ratatui::text::Span::raw(cleaned.as_str()).width() <= width {
        return cleaned;
    }
    let mut out = String::new();
    let mut used = 0;
    for character in cleaned.chars() {
        let size = ratatui::text::Span::raw(character.to_string()).width();
        if used + size + 1 > width {
            break;
        }
        out.push(character);
        used += size;
    }
    if width > 0 {
        out.push('…');
    }
    out
}

/// A size in IEC units, as the command line takes them: `12.3 MiB`, `256 MiB`, `64 KiB`.
pub fn iec(size: u64) -> String {
    bytesize::ByteSize(size)
        .display()
        .iec()
        .to_string()
        .replace(".0 ", " ")
}

/// What is left of a payload kept as a prefix: `1,048,576 bytes, first 64 KiB kept`.
pub fn kept_short(full: usize, kept: usize) -> String {
    format!(
        "{} bytes, first {} kept",
        thousands(full as u64),
        iec(kept as u64)
    )
}

/// A box of at most `width` × `height` in the middle of `area`.
fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [cell] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    cell
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_well() {
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert_eq!(bytes(120), "120B");
        assert_eq!(bytes(4200), "4.1K");
        assert_eq!(iec(256 << 20), "256 MiB");
        assert_eq!(iec(12_900_000), "12.3 MiB");
        assert_eq!(iec(64 << 10), "64 KiB");
        assert_eq!(iec(700), "700 B");
        assert_eq!(fit("weather.fetch", 13), "weather.fetch");
        assert_eq!(fit("weather.fetch.eu", 13), "weather.fetc…");
        assert_eq!(fit("日本語のトピック", 7), "日本語…");
        assert_eq!(fit("\u{1b}[2J", 20), "\\u{1b}[2J");
        let ms = std::time::Duration::from_millis;
        assert_eq!(format_latency(ms(15)), "15ms");
        assert_eq!(format_latency(ms(999)), "999ms");
        assert_eq!(
            format_latency(ms(1002)),
            "1.00s",
            "seconds from one second up"
        );
        assert_eq!(format_latency(ms(12_345)), "12.3s");
    }
}
