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
mod grid;
mod header;
mod help;
mod latency;
mod services;
mod topics;
pub mod traces;
pub mod waterfall;

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
        (Screen::Topics, _) => {
            let (table, panel) = crate::tui::state::layout::topics_split(regions.body, app);
            if table.height > 0 {
                topics::draw(frame, table, app);
            }
            latency::draw(frame, panel, app);
        }
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
        Some(Modal::GoTo(input)) => dialog::go_to(frame, app, input),
        Some(Modal::Replay(form)) => dialog::replay(frame, form),
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
    gilmour::inspect::sanitize::fit(text, width)
}

/// A sender id in `width` columns, cut where it shows: one of our engines'
/// (`<32 hex engine id>-<n>`) as the engine's first characters and its counter
/// (`db47…-20`), so that one engine's senders read as one engine; any other id as its
/// end, after a `…` when it is cut (where random ids differ).
pub fn sender_label(sender: &str, width: usize) -> String {
    let sender = gilmour::inspect::sanitize::clean(sender, 200);
    let count = sender.chars().count();
    if count <= width {
        return sender;
    }
    if let Some((engine, n)) = sender.rsplit_once('-')
        && engine.len() == 32
        && engine.chars().all(|c| c.is_ascii_hexdigit())
        && !n.is_empty()
        && n.chars().all(|c| c.is_ascii_digit())
        && n.len() + 3 <= width
    {
        let keep = width - n.len() - 2;
        return format!("{}…-{n}", &engine[..keep]);
    }
    let tail: String = sender.chars().skip(count + 1 - width).collect();
    format!("…{tail}")
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
        let ours = "db476ecb29fe493b990126ab6a28c4c7";
        assert_eq!(sender_label(&format!("{ours}-20"), 8), "db47…-20");
        assert_eq!(sender_label(&format!("{ours}-123"), 8), "db4…-123");
        assert_eq!(
            sender_label("4f1c9e2a-7b3d-4e8f-a1b2-c3d4e5f6a7b8", 8),
            "…5f6a7b8",
            "a UUID by its end, marked as cut"
        );
        assert_eq!(sender_label("s-sig-1", 8), "s-sig-1");
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
