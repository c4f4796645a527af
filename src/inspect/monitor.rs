//! MONITOR lines, read: Redis's own record of every command, with its microsecond
//! timestamp and the client that sent it.
//!
//! ```text
//! 1764615600.123456 [0 127.0.0.1:52310] "PUBLISH" "gilmour.request.echo" "{\"data\":1}"
//! 1764615600.123457 [0 lua] "SET" "k" "v"
//! 1764615600.123458 [3 unix:/run/redis.sock] "PING"
//! ```
//!
//! Arguments are quoted the way Redis's `sdscatrepr` writes them: `\"`, `\\`, `\n`,
//! `\r`, `\t`, `\a`, `\b`, and `\xhh` for any other byte outside printable ASCII. The
//! parser takes any line, however hostile (quotes and escapes anywhere, huge or binary
//! arguments, truncated input) and either reads it or says why not: it never panics.

use chrono::{DateTime, Utc};
use std::fmt;
use std::sync::Arc;
use thiserror::Error;

/// One command as MONITOR reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorLine {
    /// When Redis ran it (Redis's clock, to the microsecond).
    pub at: DateTime<Utc>,
    /// The database the client had selected.
    pub db: u32,
    /// Who sent it: `127.0.0.1:52310`, `unix:/path`, `lua`.
    pub client: Arc<str>,
    /// The command and its arguments, unescaped (the command as sent, any case).
    pub args: Vec<Vec<u8>>,
}

impl MonitorLine {
    /// The command name, upper-cased (empty when there is none).
    pub fn command(&self) -> String {
        self.args
            .first()
            .map(|name| String::from_utf8_lossy(name).to_ascii_uppercase())
            .unwrap_or_default()
    }

    /// Argument `n` (0 is the command) as text, lossy.
    pub fn arg(&self, n: usize) -> Option<std::borrow::Cow<'_, str>> {
        self.args.get(n).map(|arg| String::from_utf8_lossy(arg))
    }
}

/// Why a line is not a MONITOR line.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MonitorError {
    /// No `<seconds>.<micros>` timestamp first.
    #[error("no timestamp")]
    Timestamp,
    /// No `[db client]` after the timestamp.
    #[error("no [db client] part")]
    Client,
    /// An argument is not a properly quoted string.
    #[error("argument {0} is not quoted as Redis quotes it")]
    Argument(usize),
}

/// Reads one MONITOR line (with or without the `+` of the status reply and the line end).
pub fn parse(line: &[u8]) -> Result<MonitorLine, MonitorError> {
    let line = line.strip_prefix(b"+").unwrap_or(line);
    let line = trim_end(line);
    let space = line
        .iter()
        .position(|byte| *byte == b' ')
        .ok_or(MonitorError::Timestamp)?;
    let at = timestamp(&line[..space]).ok_or(MonitorError::Timestamp)?;
    let rest = &line[space + 1..];
    let rest = rest.strip_prefix(b"[").ok_or(MonitorError::Client)?;
    let close = rest
        .iter()
        .position(|byte| *byte == b']')
        .ok_or(MonitorError::Client)?;
    let inside = std::str::from_utf8(&rest[..close]).map_err(|_| MonitorError::Client)?;
    let (db, client) = inside.split_once(' ').ok_or(MonitorError::Client)?;
    let db = db.parse().map_err(|_| MonitorError::Client)?;
    let mut args = Vec::new();
    let mut rest = &rest[close + 1..];
    loop {
        rest = trim_start(rest);
        if rest.is_empty() {
            break;
        }
        let (arg, after) = quoted(rest).ok_or(MonitorError::Argument(args.len()))?;
        args.push(arg);
        rest = after;
    }
    Ok(MonitorLine {
        at,
        db,
        client: Arc::from(client),
        args,
    })
}

fn timestamp(text: &[u8]) -> Option<DateTime<Utc>> {
    let text = std::str::from_utf8(text).ok()?;
    let (seconds, micros) = text.split_once('.')?;
    if micros.len() != 6 || !micros.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let seconds: i64 = seconds.parse().ok()?;
    let micros: u32 = micros.parse().ok()?;
    DateTime::from_timestamp(seconds, micros * 1000)
}

/// One `"…"` argument at the start of `text`: its bytes and what follows it.
fn quoted(text: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    let mut bytes = text.strip_prefix(b"\"")?.iter().enumerate();
    let mut arg = Vec::new();
    while let Some((at, &byte)) = bytes.next() {
        match byte {
            b'"' => return Some((arg, &text[at + 2..])),
            b'\\' => {
                let (_, &escaped) = bytes.next()?;
                match escaped {
                    b'n' => arg.push(b'\n'),
                    b'r' => arg.push(b'\r'),
                    b't' => arg.push(b'\t'),
                    b'a' => arg.push(0x07),
                    b'b' => arg.push(0x08),
                    b'x' => {
                        let (_, &high) = bytes.next()?;
                        let (_, &low) = bytes.next()?;
                        arg.push(hex_digit(high)? << 4 | hex_digit(low)?);
                    }
                    other => arg.push(other),
                }
            }
            other => arg.push(other),
        }
    }
    None
}

fn hex_digit(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

fn trim_start(text: &[u8]) -> &[u8] {
    let start = text
        .iter()
        .position(|byte| *byte != b' ')
        .unwrap_or(text.len());
    &text[start..]
}

fn trim_end(text: &[u8]) -> &[u8] {
    let end = text
        .iter()
        .rposition(|byte| !matches!(byte, b'\r' | b'\n'))
        .map_or(0, |at| at + 1);
    &text[..end]
}

/// Appends `bytes` in double quotes the way Redis's `sdscatrepr` does in MONITOR
/// output: `\\`, `\"`, `\n`, `\r`, `\t`, `\a`, `\b`, other bytes outside printable ASCII
/// as lowercase `\xhh`. The built-in broker writes its MONITOR lines with it too.
pub fn write_quoted(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &byte in bytes {
        match byte {
            b'\\' | b'"' => out.extend_from_slice(&[b'\\', byte]),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            b' '..=b'~' => out.push(byte),
            _ => out.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xf)],
            ]),
        }
    }
    out.push(b'"');
}

/// [`write_quoted`], as text (it is ASCII).
pub fn quote(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len() + 2);
    write_quoted(&mut out, bytes);
    String::from_utf8_lossy(&out).into_owned()
}

impl fmt::Display for MonitorLine {
    /// The line as Redis writes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:06} [{} {}]",
            self.at.timestamp(),
            self.at.timestamp_subsec_micros(),
            self.db,
            self.client
        )?;
        for arg in &self.args {
            write!(f, " {}", quote(arg))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_the_lines_redis_writes() {
        let line = br#"1796161703.628219 [0 127.0.0.1:52310] "PUBLISH" "gilmour.request.echo" "{\"data\":\"hi \\\"there\\\"\",\"code\":200}""#;
        let read = parse(line).expect("a line");
        assert_eq!(read.at.timestamp_subsec_micros(), 628_219);
        assert_eq!((read.db, &*read.client), (0, "127.0.0.1:52310"));
        assert_eq!(read.command(), "PUBLISH");
        assert_eq!(
            read.arg(2).as_deref(),
            Some(r#"{"data":"hi \"there\"","code":200}"#)
        );
        assert_eq!(read.to_string().as_bytes(), &line[..]);
        let lua =
            parse(b"+1796161703.000001 [3 lua] \"set\" \"k\" \"\\x00\\xff\\n\"\r\n").expect("lua");
        assert_eq!((lua.db, &*lua.client), (3, "lua"));
        assert_eq!(lua.args[2], b"\x00\xff\n");
        assert_eq!(lua.command(), "SET");
        let unix = parse(br#"1.000000 [0 unix:/run/redis.sock] "PING""#).expect("unix");
        assert_eq!(&*unix.client, "unix:/run/redis.sock");
        let empty = parse(br#"1.000000 [0 127.0.0.1:1] "" "a b""#).expect("empty arg");
        assert_eq!(empty.args, [b"".to_vec(), b"a b".to_vec()]);
    }

    #[test]
    fn hostile_lines_are_errors_not_panics() {
        for line in [
            &b""[..],
            b"OK",
            b"1.5 [0 x] \"a\"",
            b"1796161703.628219",
            b"1796161703.628219 [0 127.0.0.1:1",
            b"1796161703.628219 [x 127.0.0.1:1] \"a\"",
            b"1796161703.628219 [0 127.0.0.1:1] \"unterminated",
            b"1796161703.628219 [0 127.0.0.1:1] \"bad \\x4\"",
            b"1796161703.628219 [0 127.0.0.1:1] \"ends in \\",
            b"1796161703.628219 [0 127.0.0.1:1] unquoted",
            b"99999999999999999999.000000 [0 a] \"x\"",
        ] {
            assert!(parse(line).is_err(), "{}", String::from_utf8_lossy(line));
        }
        let huge = format!(
            "1796161703.628219 [0 127.0.0.1:1] \"PUBLISH\" \"c\" \"{}\"",
            "\\x00\\\"".repeat(100_000)
        );
        let read = parse(huge.as_bytes()).expect("huge");
        assert_eq!(read.args[2].len(), 200_000);
    }

    proptest! {
        #[test]
        fn any_arguments_round_trip(args in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..6), micros in 0u32..1_000_000) {
            let line = MonitorLine {
                at: DateTime::from_timestamp(1_796_161_703, micros * 1000).expect("time"),
                db: 2,
                client: Arc::from("127.0.0.1:4242"),
                args,
            };
            let text = line.to_string();
            prop_assert_eq!(parse(text.as_bytes()), Ok(line));
        }

        #[test]
        fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse(&bytes);
        }
    }
}
