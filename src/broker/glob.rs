//! Redis's glob matcher (`stringmatchlen` in Redis's `util.c`), byte for byte, for
//! PSUBSCRIBE and `PUBSUB CHANNELS`.
//!
//! Ported rather than rewritten because its corner cases are the contract: an unclosed
//! `[` matches what was read so far, `[a-]` is a range up to `]`, a trailing `\` matches a
//! backslash, and ranges compare bytes as C's signed `char` (so bytes from 0x80 sort below
//! ASCII). `tests/broker.rs` checks it against a real redis-server.

/// How deep `*`s may nest before a pattern counts as not matching (Redis's guard against
/// abusive patterns; it also bounds our stack).
const MAX_NESTING: usize = 1000;

/// Whether `string` matches the Redis glob `pattern` (case-sensitive).
pub fn matches(pattern: &[u8], string: &[u8]) -> bool {
    let mut skip_longer = false;
    match_from(pattern, string, &mut skip_longer, 0)
}

/// The byte at `index`, or 0 past the end: the C code reads the terminating NUL there.
fn at(bytes: &[u8], index: usize) -> u8 {
    bytes.get(index).copied().unwrap_or(0)
}

/// A byte as C's signed `char` compares in a range.
fn signed(byte: u8) -> i16 {
    i16::from(byte as i8)
}

fn match_from(pattern: &[u8], string: &[u8], skip_longer: &mut bool, nesting: usize) -> bool {
    if nesting > MAX_NESTING {
        return false;
    }
    let (mut p, mut s) = (0, 0);
    while p < pattern.len() && s < string.len() {
        match pattern[p] {
            b'*' => {
                while p + 1 < pattern.len() && pattern[p + 1] == b'*' {
                    p += 1;
                }
                if p + 1 == pattern.len() {
                    return true;
                }
                while s < string.len() {
                    if match_from(&pattern[p + 1..], &string[s..], skip_longer, nesting + 1) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    s += 1;
                }
                // The rest of the pattern matches nowhere in the rest of the string, so no
                // earlier `*` can help by taking more: give up early, as Redis does.
                *skip_longer = true;
                return false;
            }
            b'?' => s += 1,
            b'[' => {
                p += 1;
                let negate = at(pattern, p) == b'^';
                if negate {
                    p += 1;
                }
                let c = string[s];
                let mut matched = false;
                loop {
                    let remaining = pattern.len().saturating_sub(p);
                    if at(pattern, p) == b'\\' && remaining >= 2 {
                        p += 1;
                        if pattern[p] == c {
                            matched = true;
                        }
                    } else if at(pattern, p) == b']' {
                        break;
                    } else if remaining == 0 {
                        // Unclosed: step back so that the advance below ends the pattern.
                        p -= 1;
                        break;
                    } else if remaining >= 3 && pattern[p + 1] == b'-' {
                        let (mut start, mut end) = (signed(pattern[p]), signed(pattern[p + 2]));
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        p += 2;
                        if (start..=end).contains(&signed(c)) {
                            matched = true;
                        }
                    } else if pattern[p] == c {
                        matched = true;
                    }
                    p += 1;
                }
                if matched == negate {
                    return false;
                }
                s += 1;
            }
            byte => {
                let literal = if byte == b'\\' && pattern.len() - p >= 2 {
                    p += 1;
                    pattern[p]
                } else {
                    byte
                };
                if literal != string[s] {
                    return false;
                }
                s += 1;
            }
        }
        p += 1;
        if s == string.len() {
            while at(pattern, p) == b'*' && p < pattern.len() {
                p += 1;
            }
            break;
        }
    }
    p >= pattern.len() && s == string.len()
}

#[cfg(test)]
mod tests {
    use super::matches;

    fn check(pattern: &str, yes: &[&str], no: &[&str]) {
        for string in yes {
            assert!(
                matches(pattern.as_bytes(), string.as_bytes()),
                "{pattern:?} should match {string:?}"
            );
        }
        for string in no {
            assert!(
                !matches(pattern.as_bytes(), string.as_bytes()),
                "{pattern:?} should not match {string:?}"
            );
        }
    }

    #[test]
    fn stars_and_question_marks() {
        // As in Redis, `*` does not match the empty string; only the empty pattern does.
        check("*", &["a", "gilmour.request.x"], &[""]);
        check(
            "gilmour.*",
            &["gilmour.", "gilmour.a.b"],
            &["gilmour", "xgilmour.a"],
        );
        check("a*b*c", &["abc", "aXbYc", "abbc"], &["ab", "acb"]);
        check("h?llo", &["hello", "hallo"], &["hllo", "heello"]);
        check("a**", &["a", "abc"], &["b"]);
        check("", &[""], &["a"]);
    }

    #[test]
    fn classes_ranges_and_negation() {
        check("h[ae]llo", &["hello", "hallo"], &["hillo", "hllo"]);
        check("h[^e]llo", &["hallo", "hbllo"], &["hello"]);
        check("h[a-b]llo", &["hallo", "hbllo"], &["hcllo"]);
        check("h[b-a]llo", &["hallo", "hbllo"], &["hcllo"]);
        // The `]` is taken as the end of the range `a-]`, and the class is left unclosed.
        check("[a-]", &["a", "]", "_"], &["-", "b", "\\"]);
    }

    #[test]
    fn escapes_and_unclosed_brackets() {
        check("a\\*b", &["a*b"], &["axb"]);
        check("a\\", &["a\\"], &["a"]);
        check("[\\]]", &["]"], &["\\"]);
        check("[abc", &["a", "c"], &["d", "ab"]);
        check("a[", &[], &["a", "a["]);
    }

    #[test]
    fn ranges_compare_bytes_as_signed_chars() {
        // 'a'..=0xC3 is, as signed chars, the range -61..=97: bytes from 0xC3 up and ASCII
        // up to 'a', but neither 'b' nor 0xA9 (-87).
        let pattern = b"[a-\xc3]";
        assert!(matches(pattern, b"a"));
        assert!(matches(pattern, b"\xd0"));
        assert!(matches(pattern, b"0"));
        assert!(!matches(pattern, b"b"));
        assert!(!matches(pattern, b"\xa9"));
    }

    #[test]
    fn abusive_patterns_are_bounded() {
        let pattern = "*a".repeat(2_000) + "b";
        let string = "a".repeat(3_000);
        assert!(!matches(pattern.as_bytes(), string.as_bytes()));
        let many_stars = "a*".repeat(1_100);
        assert!(!matches(
            many_stars.as_bytes(),
            "a".repeat(1_100).as_bytes()
        ));
    }

    proptest::proptest! {
        /// Any pattern against any string answers without panicking, and a pattern
        /// without special characters matches exactly itself.
        #[test]
        fn any_pattern_answers(
            pattern in proptest::collection::vec(proptest::sample::select(b"ab*?[]^-\\\xc3".to_vec()), 0..24),
            string in proptest::collection::vec(proptest::sample::select(b"ab*?[]^-\\\xc3".to_vec()), 0..24),
            literal in "[a-z.]{0,12}",
        ) {
            let _ = matches(&pattern, &string);
            proptest::prop_assert!(matches(literal.as_bytes(), literal.as_bytes()));
        }
    }
}
