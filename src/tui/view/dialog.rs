//! Small dialogs: a yes/no question, the inline data editor, a queued error record, the
//! file name prompt.

use super::centered;
use super::document::{DetailLine, host_lines, record_lines};
use crate::tui::keymap::{Command, Context};
use crate::tui::state::State;
use crate::tui::state::forms::{EditForm, parse_data};
use crate::tui::state::input::{LineInput, TextEditor, display_width};
use crate::tui::state::replay::{ReplayField, ReplayForm};
use crate::tui::theme::{self, Tone};
use gilmour::inspect::sanitize::clean;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

fn open(frame: &mut Frame, width: u16, height: u16, title: String) -> Rect {
    let area = centered(frame.area(), width, height);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .border_style(theme::key());
    let inner = block.inner(area);
    frame.render_widget(Clear, area);
    frame.render_widget(block, area);
    inner
}

/// A yes/no question.
pub fn confirm(frame: &mut Frame, app: &State, question: &str) {
    let inner = open(frame, 72, 6, " confirm ".to_owned());
    let yes = app
        .keymap
        .key(Context::Confirm, Command::Yes)
        .map_or_else(|| "?".to_owned(), |key| key.to_string());
    let no = app
        .keymap
        .key(Context::Confirm, Command::No)
        .map_or_else(|| "?".to_owned(), |key| key.to_string());
    let text = vec![
        Line::raw(clean(question, 300)),
        Line::raw(""),
        Line::from(vec![
            Span::styled(yes, theme::key()),
            Span::raw(" yes   "),
            Span::styled(no, theme::key()),
            Span::raw(" no"),
        ]),
    ];
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), inner);
}

/// One text field with a label, its cursor placed.
pub fn field(frame: &mut Frame, area: Rect, label: &str, input: &LineInput, focused: bool) {
    let label_style = if focused {
        theme::key()
    } else {
        theme::tone(Tone::Dim)
    };
    let label_width = display_width(label) + 1;
    let width = usize::from(area.width).saturating_sub(label_width);
    // Keep the cursor in view on long text: drop whole characters from the start until
    // what is before the cursor fits (by display width: a CJK character takes two columns).
    let chars: Vec<char> = input.text().chars().collect();
    let cursor = input.cursor().min(chars.len());
    let mut skip = 0;
    let column = |skip: usize| {
        let before: String = chars[skip..cursor].iter().collect();
        display_width(&clean(&before, usize::MAX))
    };
    while skip < cursor && column(skip) >= width {
        skip += 1;
    }
    let shown: String = chars[skip..].iter().collect();
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(format!("{label} "), label_style),
            Span::raw(super::fit(&shown, width)),
        ])),
        area,
    );
    if focused {
        let x = area.x + (label_width + column(skip)) as u16;
        frame.set_cursor_position((x.min(area.right().saturating_sub(1)), area.y));
    }
}

/// The multi-line editor with a label, `area` as high as the rows it may take; its
/// cursor placed. When the text takes more rows than shown, the label column says which
/// line the cursor is on of how many.
pub fn editor(frame: &mut Frame, area: Rect, label: &str, editor: &TextEditor, focused: bool) {
    let label_style = if focused {
        theme::key()
    } else {
        theme::tone(Tone::Dim)
    };
    let label_width = u16::try_from(display_width(label) + 1).unwrap_or(u16::MAX);
    frame.render_widget(
        Paragraph::new(Span::styled(format!("{label} "), label_style)),
        row(area, 0),
    );
    let text_area = Rect {
        x: area.x.saturating_add(label_width).min(area.right()),
        width: area.width.saturating_sub(label_width),
        ..area
    };
    let lines = editor.lines().len();
    if area.height > 1 && editor.rows(usize::from(text_area.width)) > usize::from(area.height) {
        let place = format!("{}/{lines}", editor.cursor().0 + 1);
        frame.render_widget(
            Paragraph::new(Span::styled(place, theme::tone(Tone::Dim))),
            Rect {
                width: label_width.saturating_sub(1),
                ..row(area, area.height - 1)
            },
        );
    }
    frame.render_widget(editor.widget(), text_area);
    if focused && !text_area.is_empty() {
        let (column, line) = editor.drawn_cursor();
        let x = text_area.x.saturating_add(column);
        let y = text_area.y.saturating_add(line);
        frame.set_cursor_position((
            x.min(text_area.right().saturating_sub(1)),
            y.min(text_area.bottom().saturating_sub(1)),
        ));
    }
}

/// The rows a data editor may take: what its text needs, at least one, at most `most`.
pub fn editor_rows(editor: &TextEditor, width: u16, label: &str, most: u16) -> u16 {
    let width = usize::from(width).saturating_sub(display_width(label) + 1);
    u16::try_from(editor.rows(width))
        .unwrap_or(u16::MAX)
        .clamp(1, most.max(1))
}

/// The row `n` of an area.
pub fn row(area: Rect, n: u16) -> Rect {
    Rect {
        y: area.y + n.min(area.height.saturating_sub(1)),
        height: 1.min(area.height),
        ..area
    }
}

/// The inline data editor: as many rows as the data takes, within the screen (it scrolls
/// past that), and under them whether it is JSON, or where it stops being.
pub fn edit(frame: &mut Frame, form: &EditForm) {
    let screen = frame.area();
    let width = screen.width.min(100);
    // The box's border and the verdict's two rows; the screen's header and footer.
    let most = screen.height.saturating_sub(4 + 4).min(30);
    let rows = editor_rows(&form.data, width.saturating_sub(2), "data", most);
    let inner = open(
        frame,
        width,
        rows + 4,
        format!(
            " edit the data, then replay {} · {} ",
            form.original, form.what
        ),
    );
    let verdict = match parse_data(&form.data.text()) {
        Ok(_) => Span::styled("valid JSON", theme::tone(Tone::Good)),
        Err(why) => Span::styled(clean(&why, 200), theme::tone(Tone::Bad)),
    };
    frame.render_widget(Paragraph::new(verdict), row(inner, rows + 1));
    editor(
        frame,
        Rect {
            height: rows.min(inner.height),
            ..inner
        },
        "data",
        &form.data,
        true,
    );
}

/// A queued error record.
pub fn record(frame: &mut Frame, app: &State, index: usize, scroll: usize) {
    let Some(entry) = app.errors.queue.get(index) else {
        return;
    };
    let width = frame.area().width.min(RECORD_WIDTH);
    let inner_width = usize::from(width.saturating_sub(2)).max(1);
    let lines: Vec<Line> = match &entry.record {
        Some(record) => record_lines(record, app.tz, inner_width)
            .iter()
            .map(to_line)
            .collect(),
        None => vec![
            Line::styled("not an error record; as stored:", theme::tone(Tone::Warn)),
            Line::raw(clean(&entry.raw, 4000)),
        ],
    };
    scrolled(frame, width, lines, scroll, &|place| {
        format!(" error record {} of the queue{place} ", index + 1)
    });
}

/// A known host, whole: its ident and what it serves, however long.
pub fn host(frame: &mut Frame, app: &State, index: usize, scroll: usize) {
    let Some(host) = app.services.hosts.get(index) else {
        return;
    };
    let width = frame.area().width.min(RECORD_WIDTH);
    let inner_width = usize::from(width.saturating_sub(2)).max(1);
    let lines = host_lines(host, inner_width).iter().map(to_line).collect();
    scrolled(frame, width, lines, scroll, &|place| {
        format!(
            " host {} of {}{place} ",
            index + 1,
            app.services.hosts.len()
        )
    });
}

/// A dialog of `lines`, `width` wide and as high as they need (within the screen),
/// scrolled to `scroll`; its title says which rows show when not all do.
fn scrolled(
    frame: &mut Frame,
    width: u16,
    lines: Vec<Line<'static>>,
    scroll: usize,
    title: &dyn Fn(&str) -> String,
) {
    let inner_width = usize::from(width.saturating_sub(2)).max(1);
    // Long lines wrap: count the rows they take, so the last field is not cut off.
    let rows: usize = lines
        .iter()
        .map(|line| line.width().div_ceil(inner_width).max(1))
        .sum();
    let height = u16::try_from(rows + 2).unwrap_or(u16::MAX);
    let height = height.min(frame.area().height.saturating_sub(2));
    let shown = usize::from(height.saturating_sub(2));
    let scroll = scroll.min(rows.saturating_sub(shown));
    // A text longer than the dialog says so, and which rows are shown.
    let place = if rows > shown {
        format!(
            " · rows {}–{} of {rows}, ↑↓ scroll",
            scroll + 1,
            (scroll + shown).min(rows)
        )
    } else {
        String::new()
    };
    let inner = open(frame, width, height, title(&place));
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((u16::try_from(scroll).unwrap_or(u16::MAX), 0)),
        inner,
    );
}

/// The record dialog's widest.
const RECORD_WIDTH: u16 = 110;

fn to_line(line: &DetailLine) -> Line<'static> {
    Line::from(
        line.spans
            .iter()
            .map(|(tone, text)| Span::styled(text.clone(), theme::tone(*tone)))
            .collect::<Vec<_>>(),
    )
}

/// The file name prompt of `w`.
pub fn write(frame: &mut Frame, app: &State, input: &LineInput) {
    let what = if app.traces.marks.is_empty() {
        format!("the {} shown traces", app.shown())
    } else {
        format!("the {} marked traces", app.traces.marks.len())
    };
    let inner = open(frame, 80, 5, format!(" write {what} to a capture file "));
    field(frame, row(inner, 0), "file", input, true);
    frame.render_widget(
        Paragraph::new(Span::styled(
            "read it back with: gilmour --read FILE, or gilmour tail --read FILE",
            theme::tone(Tone::Dim),
        )),
        row(inner, 2),
    );
}

/// The "go to #N" prompt.
pub fn go_to(frame: &mut Frame, app: &State, input: &LineInput) {
    let store = app.inspector.store();
    let held = match (
        store.newest_first().next_back(),
        store.newest_first().next(),
    ) {
        (Some(oldest), Some(newest)) => format!("the store holds {} to {}", oldest.id, newest.id),
        _ => "the store is empty".to_owned(),
    };
    let inner = open(frame, 50, 5, " go to a trace ".to_owned());
    field(frame, row(inner, 0), "#", input, true);
    frame.render_widget(
        Paragraph::new(Span::styled(held, theme::tone(Tone::Dim))),
        row(inner, 2),
    );
}

/// The replay form.
pub fn replay(frame: &mut Frame, form: &ReplayForm) {
    let what = if form.target.signal {
        "signal"
    } else {
        "request"
    };
    let inner = open(frame, 70, 9, format!(" replay {} ({what}) ", form.original));
    let fields = [
        ("topic  ", &form.topic, ReplayField::Topic),
        ("timeout", &form.timeout, ReplayField::Timeout),
        ("count  ", &form.count, ReplayField::Count),
        ("rate/s ", &form.rate, ReplayField::Rate),
    ];
    for (at, (label, input, field_of)) in fields.into_iter().enumerate() {
        field(
            frame,
            row(inner, at as u16),
            label,
            input,
            form.focus == field_of,
        );
    }
    frame.render_widget(
        Paragraph::new(Span::styled(
            "timeout in seconds (requests); rate empty: all at once",
            theme::tone(Tone::Dim),
        )),
        row(inner, 5),
    );
}
