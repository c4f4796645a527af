//! Making untrusted text safe for a terminal: payloads and topic names come from the wire,
//! and an escape sequence or a bidi override in them must not reach the screen as such.

/// Text safe to print: control characters (C0, DEL, C1, including ESC) become visible
/// escapes (`\n`, `\t`, `\u{1b}`), bidi controls and other invisible format characters
/// become `\u{…}` too, and the result is cut to `max_chars` characters with `…`.
pub fn clean(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars.saturating_mul(4)));
    let mut shown = 0;
    for character in text.chars() {
        let piece: Option<&str> = match character {
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            _ => None,
        };
        let escaped;
        let piece = match piece {
            Some(piece) => piece,
            None if is_unsafe(character) => {
                escaped = format!("\\u{{{:x}}}", u32::from(character));
                escaped.as_str()
            }
            None => {
                if shown + 1 > max_chars {
                    out.push('…');
                    return out;
                }
                out.push(character);
                shown += 1;
                continue;
            }
        };
        let width = piece.chars().count();
        if shown + width > max_chars {
            out.push('…');
            return out;
        }
        out.push_str(piece);
        shown += width;
    }
    out
}

/// Bytes as safe text: lossy UTF-8, then [`clean`].
pub fn clean_bytes(bytes: &[u8], max_chars: usize) -> String {
    // Decode no more than can be shown (escapes take at most 10 characters each).
    let limit = bytes
        .len()
        .min(max_chars.saturating_mul(4).saturating_add(4));
    let text = String::from_utf8_lossy(&bytes[..limit]);
    let mut cleaned = clean(&text, max_chars);
    if limit < bytes.len() && !cleaned.ends_with('…') {
        cleaned.push('…');
    }
    cleaned
}

/// The columns `text` takes on a terminal: a wide character (CJK, most emoji) takes two,
/// a combining mark none.
pub fn display_width(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
}

/// Untrusted text as a table cell `width` columns wide, whatever its characters:
/// [`clean`]ed, cut with `…` when it takes more columns, padded with spaces when fewer.
/// What `format!("{:<24}")` would do if it counted columns rather than characters.
pub fn column(text: &str, width: usize) -> String {
    pad(&fit(text, width), width)
}

/// Untrusted text [`clean`]ed and cut with `…` to at most `width` terminal columns.
pub fn fit(text: &str, width: usize) -> String {
    let cleaned = clean(text, width);
    if display_width(&cleaned) <= width {
        return cleaned;
    }
    let mut out = String::new();
    let mut used = 0;
    for character in cleaned.chars() {
        let taken = unicode_width::UnicodeWidthChar::width(character).unwrap_or(0);
        if used + taken + 1 > width {
            break;
        }
        out.push(character);
        used += taken;
    }
    if width > 0 {
        out.push('…');
    }
    out
}

/// `text` followed by spaces to `width` terminal columns (never cut): a left-aligned
/// cell of text already safe to print.
pub fn pad(text: &str, width: usize) -> String {
    let spaces = width.saturating_sub(display_width(text));
    let mut out = String::with_capacity(text.len() + spaces);
    out.push_str(text);
    out.extend(std::iter::repeat_n(' ', spaces));
    out
}

/// Whether [`clean`] escapes a character: a control character or an invisible format
/// character (bidi controls, zero-width marks).
pub fn is_unsafe(character: char) -> bool {
    character.is_control()
        || matches!(
            character,
            '\u{200b}'..='\u{200f}'   // zero-width and directional marks
                | '\u{202a}'..='\u{202e}' // bidi embeddings and overrides
                | '\u{2060}'..='\u{2069}' // word joiner, bidi isolates
                | '\u{061c}'              // Arabic letter mark
                | '\u{feff}'              // zero-width no-break space
                | '\u{fff9}'..='\u{fffb}' // interlinear annotations
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_column_counts_what_the_terminal_shows() {
        assert_eq!(column("echo", 6), "echo  ");
        // Two columns a character: 注文 takes four, so two spaces make six.
        assert_eq!(column("注文", 6), "注文  ");
        assert_eq!(display_width(&column("🙂x", 6)), 6);
        // Too wide: cut at a character, the `…` inside the width.
        assert_eq!(column("注文.作成.確認", 8), "注文.作…");
        assert_eq!(
            column("注文作成x", 8),
            "注文作… ",
            "a wide character that does not fit leaves a space"
        );
        assert_eq!(display_width(&column("注文.作成.確認", 8)), 8);
        assert_eq!(column("abcdefghij", 8), "abcdefg…");
        // Cleaned first: an escape takes the columns it is drawn in.
        assert_eq!(column("a\u{1b}b", 10), "a\\u{1b}b  ");
        assert_eq!(pad("日本", 1), "日本", "pad never cuts");
    }

    #[test]
    fn escapes_reach_the_screen_as_text() {
        assert_eq!(clean("a\u{1b}[31mred", 80), "a\\u{1b}[31mred");
        assert_eq!(clean("line\nnext\ttab", 80), "line\\nnext\\ttab");
        assert_eq!(clean("\u{9b}2J", 80), "\\u{9b}2J");
        assert_eq!(clean("abc\u{202e}cba", 80), "abc\\u{202e}cba");
        assert_eq!(clean("ünïcødé ✓", 80), "ünïcødé ✓");
    }

    #[test]
    fn truncates_with_an_ellipsis() {
        assert_eq!(clean("abcdef", 3), "abc…");
        assert_eq!(clean("abc", 3), "abc");
        assert_eq!(clean("a\nb", 2), "a…");
        let huge = "x".repeat(10_000_000);
        assert_eq!(clean_bytes(huge.as_bytes(), 5), "xxxxx…");
        assert_eq!(clean_bytes(&[0xff, b'a'], 10), "\u{fffd}a");
    }
}
