//! The status line (what just happened) and the footer (the keys of the current screen,
//! read from the key map; text fields list their own fixed keys).

use crate::tui::keymap::{Command, Context};
use crate::tui::state::State;
use crate::tui::state::forms::FireField;
use crate::tui::state::modal::Modal;
use crate::tui::target::replayable;
use crate::tui::theme;
use gilmour::inspect::sanitize::{clean, display_width};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// Global commands the footer lists after the context's own.
const GLOBAL_HINTS: [Command; 5] = [
    Command::Open,
    Command::Filter,
    Command::Fire,
    Command::Help,
    Command::Quit,
];

/// Commands the footer leaves to the help (`?`): the footer has room for the keys an
/// operator needs first, and these refine what those do.
const HELP_ONLY: [Command; 12] = [
    Command::ClearStore,
    Command::ReplayOptions,
    Command::GoTo,
    Command::OpenTrace,
    Command::NextLink,
    Command::PrevLink,
    Command::FilterTopic,
    Command::FilterSender,
    Command::Sort,
    Command::SortReverse,
    Command::TopicWider,
    Command::TopicNarrower,
];

/// Draws the footer.
pub fn draw(frame: &mut Frame, area: Rect, app: &State) {
    // The form's send key comes from the key map: Enter is a new line in a data field.
    let send = app
        .keymap
        .key(Context::Form, Command::Send)
        .map_or_else(|| "?".to_owned(), |key| key.to_string());
    let form: Option<Vec<(String, &str)>> = match &app.modal {
        Some(Modal::Fire(form)) if form.focus == FireField::Data => Some(vec![
            (send, "send"),
            ("enter".to_owned(), "new line"),
            ("tab".to_owned(), "next"),
            ("↑↓".to_owned(), "line/field"),
            ("esc".to_owned(), "cancel"),
        ]),
        Some(Modal::Fire(_)) => Some(vec![
            (send, "send"),
            ("tab".to_owned(), "complete/next"),
            ("↑↓".to_owned(), "field"),
            ("←→".to_owned(), "kind"),
            ("esc".to_owned(), "cancel"),
        ]),
        Some(Modal::Edit(_)) => Some(vec![
            (send, "replay"),
            ("enter".to_owned(), "new line"),
            ("esc".to_owned(), "cancel"),
        ]),
        _ => None,
    };
    let fixed: Option<&[(&str, &str)]> = match &app.modal {
        Some(Modal::Fire(_) | Modal::Edit(_)) => None,
        Some(Modal::Write(_)) => Some(&[("enter", "write"), ("esc", "cancel")]),
        Some(Modal::GoTo(_)) => Some(&[("enter", "open"), ("esc", "cancel")]),
        Some(Modal::Replay(_)) => Some(&[
            ("tab", "next field"),
            ("enter", "replay"),
            ("esc", "cancel"),
        ]),
        Some(Modal::Help { .. }) => Some(&[("↑↓", "scroll"), ("esc", "close")]),
        Some(Modal::Record { .. }) => Some(&[("r", "re-send"), ("↑↓", "scroll"), ("esc", "close")]),
        Some(Modal::Host { .. }) => Some(&[("↑↓", "scroll"), ("esc", "close")]),
        None if app.filter.editing => Some(&[
            ("enter", "apply"),
            ("esc", "clear"),
            ("↑↓", "recent filters"),
        ]),
        None if app.detail.as_ref().is_some_and(|d| d.search.is_some()) => {
            Some(&[("enter", "search"), ("esc", "cancel")])
        }
        _ => None,
    };
    let pairs: Vec<(String, &str)> = match (form, fixed) {
        (Some(pairs), _) => pairs,
        (None, Some(pairs)) => pairs
            .iter()
            .map(|(key, what)| ((*key).to_owned(), *what))
            .collect(),
        (None, None) => hints(app),
    };
    let mut spans = Vec::new();
    for (key, what) in fit(pairs, usize::from(area.width)) {
        if key.is_empty() {
            spans.push(Span::raw(format!(" {what} ")));
            continue;
        }
        spans.push(Span::styled(format!(" {key}"), theme::key()));
        spans.push(Span::raw(format!(" {what} ")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(theme::bar()), area);
}

/// The hints that fit in `width` columns, whole: when some must go, those before the last
/// two (help and quit, or a dialog's way out) go first, from the end, and `…` says so.
fn fit(pairs: Vec<(String, &str)>, width: usize) -> Vec<(String, &str)> {
    // ` key what ` for a hint, ` … ` for the cut.
    let cost = |(key, what): &(String, &str)| {
        display_width(what)
            + if key.is_empty() {
                2
            } else {
                display_width(key) + 3
            }
    };
    if pairs.iter().map(cost).sum::<usize>() <= width {
        return pairs;
    }
    let kept_at_end = pairs.len().min(2);
    let (head, tail) = pairs.split_at(pairs.len() - kept_at_end);
    let more = (String::new(), "…");
    let mut room = width.saturating_sub(tail.iter().map(cost).sum::<usize>() + cost(&more));
    let mut shown: Vec<(String, &str)> = Vec::new();
    for pair in head {
        let needed = cost(pair);
        if needed > room {
            break;
        }
        room -= needed;
        shown.push(pair.clone());
    }
    shown.push(more);
    shown.extend(tail.iter().cloned());
    shown
}

/// The context's commands, then the common global ones.
fn hints(app: &State) -> Vec<(String, &'static str)> {
    let context = app.context();
    let keymap = &app.keymap;
    // The waterfall's keys only where there is a waterfall.
    let in_tree = app.detail.as_ref().is_some_and(|detail| {
        !crate::tui::view::waterfall::spans_of(app.inspector.store(), detail.id).is_empty()
    });
    let mut pairs: Vec<(String, &'static str)> = keymap
        .bindings(context)
        .filter(|(_, keys)| !keys.is_empty())
        .filter(|(command, _)| {
            !matches!(
                command,
                Command::SearchPrev | Command::PrevPage | Command::PrevSpan
            )
        })
        .filter(|(command, _)| in_tree || *command != Command::NextSpan)
        .filter(|(command, _)| !HELP_ONLY.contains(command))
        .filter(|(command, _)| available(app, *command))
        .map(|(command, keys)| (keys[0].to_string(), command.name()))
        .collect();
    if context != Context::Confirm {
        let back = app.detail.is_some() && context == Context::Detail;
        let globals = GLOBAL_HINTS
            .iter()
            .copied()
            .filter(|command| *command != Command::Open || context != Context::Detail)
            .chain(back.then_some(Command::Back));
        for command in globals.filter(|command| available(app, *command)) {
            let Some(key) = keymap.key(Context::Global, command) else {
                continue;
            };
            // A global key the context binds to something else does not reach it.
            let shadowed = keymap
                .bindings(context)
                .any(|(_, keys)| keys.contains(&key));
            if !shadowed {
                pairs.push((key.to_string(), command.name()));
            }
        }
    }
    pairs
}

/// Whether a command can do anything now: what needs Redis is not offered offline, and
/// what acts on a trace is not offered for a trace it cannot act on (an orphan reply has
/// no request to replay).
fn available(app: &State, command: Command) -> bool {
    use Command::*;
    let needs_redis = matches!(
        command,
        Replay | EditReplay | ReplayOptions | Fire | Delete | Trim | Refresh | Resend | NextPage
    );
    if needs_redis && !app.online {
        return false;
    }
    let on_trace = match app.context() {
        Context::Detail => app.detail.as_ref().map(|detail| detail.id),
        Context::Traces => app.selected_trace(),
        _ => return true,
    };
    if matches!(command, Replay | EditReplay | ReplayOptions | Copy) {
        return on_trace
            .and_then(|id| app.inspector.store().get(id))
            .is_some_and(|trace| replayable(trace, &app.channels));
    }
    true
}

/// Draws the status line.
pub fn draw_status(frame: &mut Frame, area: Rect, app: &State) {
    let Some(status) = &app.status else {
        return;
    };
    let tone = if status.failure {
        theme::Tone::Bad
    } else {
        theme::Tone::Plain
    };
    let text = clean(&status.text, usize::from(area.width));
    frame.render_widget(
        Paragraph::new(Span::styled(format!(" {text}"), theme::tone(tone))),
        area,
    );
}
