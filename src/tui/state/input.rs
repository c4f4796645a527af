//! Text fields. A one-line field: the filter bar, the search prompt, the topic and
//! timeout of the fire form and the file name prompt all edit text the same way. A
//! multi-line editor ([`TextEditor`]): the data of the fire form and of edit-before-replay,
//! where JSON spans lines.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use gilmour::inspect::sanitize::is_unsafe;
use ratatui::style::Style;
use ratatui_textarea::{CursorMove, Input, Key, TextArea, WrapMode};

/// The columns text takes on a terminal (the library's, so both faces count alike).
pub use gilmour::inspect::sanitize::display_width;

/// Text and a cursor (in characters).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineInput {
    text: String,
    cursor: usize,
}

impl LineInput {
    /// A field holding `text`, the cursor at its end.
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let cursor = text.chars().count();
        LineInput { text, cursor }
    }

    /// The text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The cursor, in characters from the start.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// The terminal columns the text before the cursor takes, as drawn (cleaned): a wide
    /// character (CJK, most emoji) takes two, an escaped control character its escape.
    pub fn cursor_column(&self) -> usize {
        let before: String = self.text.chars().take(self.cursor).collect();
        display_width(&gilmour::inspect::sanitize::clean(&before, usize::MAX))
    }

    /// Inserts text at the cursor (a paste), the cursor after it.
    pub fn insert(&mut self, text: &str) {
        let at = self.byte_at(self.cursor);
        self.text.insert_str(at, text);
        self.cursor += text.chars().count();
    }

    /// Replaces the text, the cursor at its end.
    pub fn set(&mut self, text: impl Into<String>) {
        *self = LineInput::new(text);
    }

    fn byte_at(&self, chars: usize) -> usize {
        self.text
            .char_indices()
            .nth(chars)
            .map_or(self.text.len(), |(at, _)| at)
    }

    /// Applies an editing key; true when it was one (so the text or cursor may have moved).
    pub fn edit(&mut self, key: &KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let length = self.text.chars().count();
        match key.code {
            KeyCode::Char('u') if ctrl => {
                let at = self.byte_at(self.cursor);
                self.text.replace_range(..at, "");
                self.cursor = 0;
            }
            KeyCode::Char('w') if ctrl => {
                let before: Vec<char> = self.text.chars().take(self.cursor).collect();
                let mut start = before.len();
                while start > 0 && before[start - 1] == ' ' {
                    start -= 1;
                }
                while start > 0 && before[start - 1] != ' ' {
                    start -= 1;
                }
                let (from, to) = (self.byte_at(start), self.byte_at(self.cursor));
                self.text.replace_range(from..to, "");
                self.cursor = start;
            }
            KeyCode::Char('a') if ctrl => self.cursor = 0,
            KeyCode::Char('e') if ctrl => self.cursor = length,
            KeyCode::Char(c) if !ctrl => {
                let at = self.byte_at(self.cursor);
                self.text.insert(at, c);
                self.cursor += 1;
            }
            KeyCode::Backspace if self.cursor > 0 => {
                let at = self.byte_at(self.cursor - 1);
                self.text.remove(at);
                self.cursor -= 1;
            }
            KeyCode::Delete if self.cursor < length => {
                let at = self.byte_at(self.cursor);
                self.text.remove(at);
            }
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(length),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = length,
            KeyCode::Backspace | KeyCode::Delete => {}
            _ => return false,
        }
        true
    }
}

/// A multi-line text field: Enter starts a new line, the arrows move across lines, a paste
/// lands whole. What it holds never reaches the terminal raw: a control character or an
/// invisible format character (a bidi override in a replayed payload) is written as its
/// JSON escape (`\u202e`) as it comes in, which inside a JSON string is the same text.
#[derive(Debug, Clone)]
pub struct TextEditor {
    area: TextArea<'static>,
}

impl Default for TextEditor {
    fn default() -> Self {
        TextEditor::new("")
    }
}

impl PartialEq for TextEditor {
    fn eq(&self, other: &Self) -> bool {
        self.area.lines() == other.area.lines() && self.area.cursor() == other.area.cursor()
    }
}

impl TextEditor {
    /// An editor holding `text`, the cursor at its end.
    pub fn new(text: &str) -> Self {
        let mut area = TextArea::new(vec![String::new()]);
        area.set_cursor_line_style(Style::default());
        // The terminal's own cursor shows where typing goes, as in the one-line fields.
        area.set_cursor_style(Style::default());
        area.set_wrap_mode(WrapMode::WordOrGlyph);
        area.set_max_histories(100);
        let mut editor = TextEditor { area };
        editor.insert(text);
        editor
    }

    /// The text, its lines joined by `\n`.
    pub fn text(&self) -> String {
        self.area.lines().join("\n")
    }

    /// The lines.
    pub fn lines(&self) -> &[String] {
        self.area.lines()
    }

    /// The cursor: line and character in it, from 0.
    pub fn cursor(&self) -> (usize, usize) {
        let cursor = self.area.cursor();
        (cursor.0, cursor.1)
    }

    /// Whether the cursor is on the first line (`up`) or the last: where ↑ or ↓ leaves
    /// the field.
    pub fn at_edge(&self, up: bool) -> bool {
        let row = self.area.cursor().0;
        if up {
            row == 0
        } else {
            row + 1 >= self.area.lines().len()
        }
    }

    /// Inserts text at the cursor (a paste, line breaks and all), the cursor after it.
    pub fn insert(&mut self, text: &str) {
        self.area.insert_str(safe(text));
    }

    /// Applies an editing key (Enter starts a line); true when it was one.
    pub fn edit(&mut self, key: &KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let code = match key.code {
            KeyCode::Char(c) if !ctrl && !alt && is_unsafe(c) => {
                self.insert(&c.to_string());
                return true;
            }
            KeyCode::Char(c) => Key::Char(c),
            KeyCode::Enter => Key::Enter,
            KeyCode::Backspace => Key::Backspace,
            KeyCode::Delete => Key::Delete,
            KeyCode::Left => Key::Left,
            KeyCode::Right => Key::Right,
            KeyCode::Up => Key::Up,
            KeyCode::Down => Key::Down,
            KeyCode::Home => Key::Home,
            KeyCode::End => Key::End,
            KeyCode::PageUp => Key::PageUp,
            KeyCode::PageDown => Key::PageDown,
            KeyCode::Tab => Key::Tab,
            _ => return false,
        };
        let before = (self.area.cursor(), self.area.lines().len());
        let modified = self.area.input(Input {
            key: code,
            ctrl,
            alt,
            shift: key.modifiers.contains(KeyModifiers::SHIFT),
        });
        modified || (self.area.cursor(), self.area.lines().len()) != before
    }

    /// Moves the cursor to the start of the text.
    pub fn move_to_start(&mut self) {
        self.area.move_cursor(CursorMove::Top);
        self.area.move_cursor(CursorMove::Head);
    }

    /// The widget, for the view: it scrolls to keep the cursor in its area.
    pub fn widget(&self) -> &TextArea<'static> {
        &self.area
    }

    /// Where the cursor was drawn, from the top left of the area the widget was last
    /// drawn in: (column, row).
    pub fn drawn_cursor(&self) -> (u16, u16) {
        let cursor = self.area.screen_cursor();
        let (top, left) = self.area.scroll_offset();
        let row = cursor.row.saturating_sub(usize::from(top));
        let column = cursor.col.saturating_sub(usize::from(left));
        (
            u16::try_from(column).unwrap_or(u16::MAX),
            u16::try_from(row).unwrap_or(u16::MAX),
        )
    }

    /// The rows the text takes wrapped at `width` columns.
    pub fn rows(&self, width: usize) -> usize {
        let width = width.max(1);
        self.area
            .lines()
            .iter()
            .map(|line| display_width(line).div_ceil(width).max(1))
            .sum()
    }
}

/// Text as the editor keeps it: line breaks as `\n` (a lone `\r` too), tabs kept, every
/// other character [`clean`](gilmour::inspect::sanitize::clean) would escape as its JSON
/// escape.
fn safe(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        if character == '\n' || character == '\t' || !is_unsafe(character) {
            out.push(character);
        } else {
            let mut units = [0u16; 2];
            for unit in character.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursor_column_counts_display_width() {
        let mut input = LineInput::new("日本 ok");
        assert_eq!(
            input.cursor_column(),
            7,
            "two wide characters, a space, two"
        );
        input.set("a\u{1b}b");
        assert_eq!(input.cursor_column(), "a\\u{1b}b".len(), "drawn escaped");
        input.set("🙂x");
        assert_eq!(input.cursor_column(), 3);
    }

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn edits_at_the_cursor() {
        let mut input = LineInput::new("tpic");
        for code in [KeyCode::Home, KeyCode::Right, KeyCode::Char('o')] {
            assert!(input.edit(&key(code)));
        }
        assert_eq!((input.text(), input.cursor()), ("topic", 2));
        input.edit(&key(KeyCode::End));
        input.edit(&key(KeyCode::Char('é')));
        input.edit(&key(KeyCode::Backspace));
        assert_eq!(input.text(), "topic");
        input.set("topic:echo code:500");
        input.edit(&KeyEvent::new(KeyCode::Char('w'), KeyModifiers::CONTROL));
        assert_eq!(input.text(), "topic:echo ");
        input.edit(&KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        assert_eq!((input.text(), input.cursor()), ("", 0));
        assert!(!input.edit(&key(KeyCode::Enter)));
    }
}
