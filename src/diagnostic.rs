//! Pointing at a place in text a person typed: the line, and a caret under the column.
//! Shared by the composition and filter parsers.

/// Two lines showing `input` with a caret under the 1-based character `column`, both
/// indented by two spaces. Whitespace (tabs, newlines) is shown as a single space and
/// other control or invisible formatting characters as `�`, so that the caret lines up
/// and nothing typed can drive the terminal.
pub fn excerpt(input: &str, column: usize) -> String {
    let line: String = input
        .chars()
        .map(|c| {
            if c.is_whitespace() {
                ' '
            } else if c.is_control() || is_invisible(c) {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect();
    let caret_indent = column.saturating_sub(1).min(line.chars().count());
    format!("  {line}\n  {}^", " ".repeat(caret_indent))
}

fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_under_the_column() {
        assert_eq!(excerpt("a |", 4), "  a |\n     ^");
        assert_eq!(excerpt("a\tb", 3), "  a b\n    ^");
    }

    #[test]
    fn escapes_cannot_reach_the_terminal() {
        assert_eq!(excerpt("\u{1b}[2J x", 1), "  \u{fffd}[2J x\n  ^");
        assert_eq!(excerpt("a\u{202e}b", 3), "  a\u{fffd}b\n    ^");
    }
}
