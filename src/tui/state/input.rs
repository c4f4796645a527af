//! A one-line text field: the filter bar, the search prompt, the fire form's fields and
//! the file name prompt all edit text the same way.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

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

/// The columns `text` takes on a terminal.
pub fn display_width(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
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
