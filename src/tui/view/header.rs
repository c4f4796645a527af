//! The header: where the traffic comes from, whether the link is up, the capture rate and
//! the counters that say nothing was lost silently; then the tabs and the list's mode.

use super::{iec, thousands};
use crate::tui::model::{Screen, Source};
use crate::tui::state::State;
use crate::tui::state::layout::tab_label;
use crate::tui::theme;
use gilmour::inspect::sanitize::clean;
use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// One item of the first header row, with how much it matters when the row is short.
struct Item {
    spans: Vec<Span<'static>>,
    /// Items of the lowest priority go first when the row does not fit.
    priority: u8,
}

impl Item {
    fn width(&self) -> usize {
        self.spans.iter().map(Span::width).sum()
    }
}

/// Draws the two header rows.
pub fn draw(frame: &mut Frame, area: Rect, app: &State) {
    let bar = theme::bar();
    let dim = bar.patch(theme::tone(theme::Tone::Dim));
    let warn = bar.patch(theme::tone(theme::Tone::Warn));
    let sep = || Span::styled(" │ ", dim);
    let mut items = vec![Item {
        spans: vec![
            Span::styled("gilmour", bar.add_modifier(Modifier::BOLD)),
            sep(),
        ],
        priority: 1,
    }];
    match &app.source {
        Source::Live { url, connected } => {
            items.push(Item {
                spans: vec![Span::styled(clean(url, 60), bar), sep()],
                priority: 4,
            });
            let lost = app.inspector.lost_since().is_some();
            let link = match (connected, app.inspector.lost_since()) {
                (true, None) => Span::styled("● live", bar.patch(theme::tone(theme::Tone::Good))),
                (_, Some(since)) => Span::styled(
                    format!(
                        "○ reconnecting since {}",
                        since.with_timezone(&app.tz).format("%H:%M:%S")
                    ),
                    bar.patch(theme::tone(theme::Tone::Bad)),
                ),
                (false, None) => {
                    Span::styled("○ reconnecting", bar.patch(theme::tone(theme::Tone::Bad)))
                }
            };
            items.push(Item {
                spans: vec![link, sep()],
                priority: 10,
            });
            // Why, while it lasts: cut to half the row, so that it never pushes the link
            // state itself out.
            if let (Some(reason), true) = (&app.link_down, !connected || lost) {
                let room = usize::from(area.width / 2).max(12);
                items.push(Item {
                    spans: vec![
                        Span::styled(
                            super::fit(&link_reason(reason), room),
                            bar.patch(theme::tone(theme::Tone::Bad)),
                        ),
                        sep(),
                    ],
                    priority: 9,
                });
            }
            if app.deep {
                // MONITOR costs Redis throughput: say it is on.
                items.push(Item {
                    spans: vec![
                        Span::styled("◆ deep", bar.patch(theme::tone(theme::Tone::Warn))),
                        sep(),
                    ],
                    priority: 9,
                });
            }
            items.push(Item {
                spans: vec![Span::styled(format!("{:.1} msg/s", app.rate), bar), sep()],
                priority: 3,
            });
        }
        Source::File { path, done } => {
            items.push(Item {
                spans: vec![
                    Span::styled(format!("file {}", clean(path, 60)), bar),
                    sep(),
                ],
                priority: 4,
            });
            let state = if *done {
                "offline, read"
            } else {
                "offline, reading…"
            };
            items.push(Item {
                spans: vec![Span::styled(state, bar), sep()],
                priority: 10,
            });
        }
    }
    let counters = app.inspector.counters();
    let store = app.inspector.store();
    // (count, name for one, for others, whether it is alarming, priority when it is not)
    let figures = [
        (counters.traces, "trace", "traces", false, 5),
        (counters.errors, "error", "errors", counters.errors > 0, 7),
        (
            counters.timeouts,
            "timeout",
            "timeouts",
            counters.timeouts > 0,
            6,
        ),
        (
            counters.unanswered,
            "unanswered",
            "unanswered",
            counters.unanswered > 0,
            3,
        ),
        (app.dropped, "dropped", "dropped", app.dropped > 0, 2),
        (counters.gaps, "gap", "gaps", counters.gaps > 0, 2),
    ];
    for (count, one, many, alarming, priority) in figures {
        let name = if count == 1 { one } else { many };
        items.push(Item {
            spans: vec![
                Span::styled(
                    format!("{} ", thousands(count)),
                    if alarming { warn } else { bar },
                ),
                Span::styled(format!("{name}  "), dim),
            ],
            priority: if alarming { 9 } else { priority },
        });
    }
    // What the store holds against its budget, and what it let go to stay in it.
    items.push(Item {
        spans: vec![
            Span::styled(
                format!(
                    "{}/{} ",
                    iec(store.bytes() as u64),
                    iec(store.max_bytes() as u64)
                ),
                bar,
            ),
            Span::styled("held  ", dim),
        ],
        priority: 6,
    });
    let mut evicted = vec![
        Span::styled(format!("{} ", thousands(store.evicted())), bar),
        Span::styled("evicted", dim),
    ];
    if store.evicted() > 0 {
        evicted.push(Span::styled(
            format!(" ({})", iec(store.evicted_bytes())),
            dim,
        ));
    }
    evicted.push(Span::raw("  "));
    items.push(Item {
        spans: evicted,
        priority: if store.evicted() > 0 { 8 } else { 5 },
    });
    if store.pinned() > 0 {
        items.push(Item {
            spans: vec![
                Span::styled(format!("{} ", thousands(store.pinned() as u64)), bar),
                Span::styled("pinned  ", dim),
            ],
            priority: 7,
        });
    }
    fit(&mut items, usize::from(area.width).saturating_sub(1));
    let first: Vec<Span> = std::iter::once(Span::raw(" "))
        .chain(items.into_iter().flat_map(|item| item.spans))
        .collect();
    let rows = area.height;
    frame.render_widget(
        Paragraph::new(Line::from(first)).style(bar),
        Rect {
            height: 1.min(rows),
            ..area
        },
    );
    if rows < 2 {
        return;
    }
    let second = Rect {
        y: area.y + 1,
        height: 1,
        ..area
    };
    let mut tabs = Vec::new();
    let mut tabs_width = 0;
    for (index, screen) in Screen::ALL.into_iter().enumerate() {
        let style = if screen == app.screen {
            theme::tab_active()
        } else {
            Style::default()
        };
        let label = tab_label(index, screen);
        tabs_width += Span::raw(label.as_str()).width() + 1;
        tabs.push(Span::styled(label, style));
        tabs.push(Span::raw(" "));
    }
    frame.render_widget(Paragraph::new(Line::from(tabs)), second);
    // The modes take what the tabs leave, the least telling going first: they never
    // write over a tab.
    let room = usize::from(second.width).saturating_sub(tabs_width);
    let mut modes = modes(app);
    fit(&mut modes, room);
    let modes: Vec<Span> = modes.into_iter().flat_map(|item| item.spans).collect();
    let x = second.x + tabs_width.min(usize::from(second.width)) as u16;
    frame.render_widget(
        Paragraph::new(Line::from(modes)).alignment(Alignment::Right),
        Rect {
            x,
            width: second.right().saturating_sub(x),
            ..second
        },
    );
}

/// Why the link is down, in the words an operator acts on: Redis's own text, but a
/// refused password said short enough to fit (the rest is how to give one).
fn link_reason(reason: &str) -> String {
    if reason.contains("NOAUTH") {
        "NOAUTH: Redis wants a password (redis://:PASSWORD@host)".to_owned()
    } else if reason.contains("WRONGPASS") {
        "WRONGPASS: Redis refused the password".to_owned()
    } else {
        clean(reason, 300)
    }
}

/// Keeps the items that matter most that fit in `width`, in their order: one that does
/// not fit is left out whole (never cut in the middle), and a smaller one of lower
/// priority may take the room it leaves. Among equals the leftmost comes first.
fn fit(items: &mut Vec<Item>, width: usize) {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|at| std::cmp::Reverse(items[*at].priority));
    let mut room = width;
    let mut kept = vec![false; items.len()];
    for at in order {
        let size = items[at].width();
        if size <= room {
            room -= size;
            kept[at] = true;
        }
    }
    let mut index = 0;
    items.retain(|_| {
        index += 1;
        kept[index - 1]
    });
}

/// FOLLOW / PAUSED, health shown, marks, how many traces are shown.
fn modes(app: &State) -> Vec<Item> {
    let mut items = Vec::new();
    let traces = app.screen == crate::tui::model::Screen::Traces;
    let strong = |text: String| Span::styled(text, theme::key());
    // Follow, pause, marks and the count are the trace list's: said on its screen only.
    let frozen = app.traces.frozen.filter(|_| traces);
    if let Some(frozen) = frozen {
        let newer = app.traces.list.len() - app.traces.list.len_until(Some(frozen));
        items.push(Item {
            spans: vec![strong(format!("PAUSED +{} ", thousands(newer as u64)))],
            priority: 5,
        });
    } else if traces && app.traces.follow {
        items.push(Item {
            spans: vec![strong("FOLLOW ".to_owned())],
            priority: 5,
        });
    }
    let newer = app.traces.newer_above();
    if newer > 0 && traces {
        items.push(Item {
            spans: vec![Span::styled(
                format!("↑ {} newer ", thousands(newer as u64)),
                theme::tone(theme::Tone::Warn),
            )],
            priority: 4,
        });
    }
    if app.traces.show_health {
        items.push(Item {
            spans: vec![Span::raw("health shown ")],
            priority: 2,
        });
    }
    if traces && !app.traces.marks.is_empty() {
        items.push(Item {
            spans: vec![Span::styled(
                format!("{} marked ", thousands(app.traces.marks.len() as u64)),
                theme::mark(),
            )],
            priority: 4,
        });
    }
    if !traces {
        return items;
    }
    items.push(Item {
        spans: vec![Span::styled(
            format!(" {} shown ", thousands(app.shown() as u64)),
            theme::tone(theme::Tone::Dim),
        )],
        priority: 3,
    });
    items
}
