//! The waterfall of a call tree in the detail view: one row per span (indented by depth,
//! its place in its composition), its code and latency, and a bar placed by its start and
//! duration on the root's time axis, so that parallel branches run side by side.
//!
//! ```text
//! Call tree · 4 spans · 32ms · [ ] select, enter opens
//!   #12 comp (composition)        200   32ms │██████████████████████████████│
//!   ├ 1   #9 req a                200  5.6ms │█████                         │
//!   ├ 2.1 #10 req b               200   26ms │     ████████████████████████ │
//!   └ 2.2 #11 req c               200  1.5ms │     █                        │
//! ```

use crate::tui::theme::Tone;
use gilmour::inspect::sanitize::clean;
use gilmour::inspect::tree::{self, Span};
use gilmour::inspect::{Trace, TraceId, TraceStatus, TraceStore};
use std::time::Duration;
use unicode_width::UnicodeWidthStr;

/// The rows of the tree `id` belongs to, when it has more than one: the spans, in the
/// order the waterfall shows them.
pub fn spans_of(store: &TraceStore, id: TraceId) -> Vec<Span> {
    let spans = tree::spans(store, tree::root_of(store, id));
    if spans.len() > 1 { spans } else { Vec::new() }
}

/// One line: pieces of text and how they look (the detail view's lines are made of them).
pub type Pieces = Vec<(Tone, String)>;

/// Builds a line piece by piece.
#[derive(Default)]
struct Row(Pieces);

impl Row {
    fn push(mut self, tone: Tone, text: impl Into<String>) -> Row {
        self.0.push((tone, text.into()));
        self
    }
}

/// The waterfall's lines for the trace `open`, `selected` being the row chosen with
/// `[`/`]` (Enter opens it), in `width` columns.
pub fn lines(
    store: &TraceStore,
    open: TraceId,
    selected: usize,
    width: usize,
    out: &mut Vec<Pieces>,
) {
    let spans = spans_of(store, open);
    let Some(root) = spans.first().and_then(|span| store.get(span.id)) else {
        return;
    };
    let total = spans
        .iter()
        .map(|span| span.start + span.duration.unwrap_or_default())
        .max()
        .unwrap_or_default();
    let inferred = root.links.as_ref().is_some_and(|links| links.inferred);
    out.push(Pieces::new());
    out.push(
        Row::default()
            .push(Tone::Heading, "Call tree")
            .push(
                Tone::Dim,
                format!(
                    " · {} spans · {}{} · [ ] select, enter opens",
                    spans.len(),
                    super::format_latency(total),
                    if inferred { " · inferred" } else { "" }
                ),
            )
            .0,
    );
    // label │ code latency │ bar
    let label_width = (width * 2 / 5).clamp(24, 48);
    let figures = 15;
    let bar_width = width.saturating_sub(label_width + figures + 4).max(8);
    for (row, span) in spans.iter().enumerate() {
        let Some(trace) = store.get(span.id) else {
            continue;
        };
        let marker = if span.id == open {
            "▶"
        } else if row == selected {
            "›"
        } else {
            " "
        };
        let label = label(span, trace, spans.get(row + 1), label_width - 2);
        let code = trace
            .code()
            .map_or_else(|| "-".to_owned(), |code| code.to_string());
        let took = span
            .duration
            .map_or_else(|| "…".to_owned(), super::format_latency);
        let tone = tone_of(trace.status);
        let label_tone = if row == selected {
            Tone::Match
        } else if span.id == open {
            Tone::Heading
        } else {
            Tone::Plain
        };
        out.push(
            Row::default()
                .push(Tone::Dim, format!("  {marker}"))
                .push(label_tone, pad(&label, label_width - 2))
                .push(tone, format!(" {code:>4} {took:>8} "))
                .push(Tone::Dim, "│")
                .push(tone, bar(span, total, bar_width))
                .push(Tone::Dim, "│")
                .0,
        );
    }
}

/// `├ 2.1 #10 req topic`, indented by depth, cut to `room` columns.
fn label(span: &Span, trace: &Trace, next: Option<&Span>, room: usize) -> String {
    let branch = match span.depth {
        0 => String::new(),
        depth => {
            let last = next.is_none_or(|next| next.depth < depth);
            format!(
                "{}{} ",
                "  ".repeat(depth - 1),
                if last { "└" } else { "├" }
            )
        }
    };
    let place = span
        .step
        .as_deref()
        .map_or_else(String::new, |step| format!("{} ", clean(step, 12)));
    let text = format!(
        "{branch}{place}{} {} {}",
        trace.id,
        trace.kind.as_str(),
        clean(&trace.topic, 200)
    );
    cut(&text, room)
}

/// Text cut to `room` columns, ending in `…` when cut.
fn cut(text: &str, room: usize) -> String {
    if text.width() <= room {
        return text.to_owned();
    }
    let mut out = String::new();
    for character in text.chars() {
        let next = out.width() + character.to_string().width();
        if next + 1 > room {
            break;
        }
        out.push(character);
    }
    out.push('…');
    out
}

fn pad(text: &str, room: usize) -> String {
    let width = text.width();
    format!("{text}{}", " ".repeat(room.saturating_sub(width)))
}

/// The span's bar on an axis of `total` over `width` columns: at least one column, `░`
/// to the end of the axis while it runs.
fn bar(span: &Span, total: Duration, width: usize) -> String {
    let scale = |at: Duration| -> usize {
        if total.is_zero() {
            return 0;
        }
        let share = at.as_secs_f64() / total.as_secs_f64();
        ((share * width as f64).round() as usize).min(width)
    };
    let start = scale(span.start).min(width.saturating_sub(1));
    let (end, fill) = match span.duration {
        Some(took) => (scale(span.start + took).max(start + 1), '█'),
        None => (width, '░'),
    };
    let mut bar = " ".repeat(start);
    bar.extend(std::iter::repeat_n(fill, end - start));
    bar.push_str(&" ".repeat(width - end));
    bar
}

fn tone_of(status: TraceStatus) -> Tone {
    match status {
        TraceStatus::Ok => Tone::Good,
        TraceStatus::Error => Tone::Bad,
        TraceStatus::Timeout | TraceStatus::Unanswered => Tone::Warn,
        TraceStatus::Pending | TraceStatus::Orphan => Tone::Dim,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(start: u64, took: Option<u64>) -> Span {
        Span {
            id: TraceId(1),
            depth: 1,
            step: None,
            start: Duration::from_millis(start),
            duration: took.map(Duration::from_millis),
            status: TraceStatus::Ok,
        }
    }

    #[test]
    fn bars_sit_on_one_axis() {
        let total = Duration::from_millis(100);
        assert_eq!(bar(&span(0, Some(100)), total, 10), "██████████");
        assert_eq!(bar(&span(50, Some(10)), total, 10), "     █    ");
        // Too short to show still shows one column; a running span runs to the end.
        assert_eq!(bar(&span(0, Some(0)), total, 10), "█         ");
        assert_eq!(bar(&span(30, None), total, 10), "   ░░░░░░░");
        assert_eq!(bar(&span(0, Some(0)), Duration::ZERO, 4), "█   ");
    }

    #[test]
    fn labels_are_cut_by_display_width() {
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("天気予報", 5), "天気…");
        assert_eq!(pad("天気", 6), "天気  ");
    }
}
