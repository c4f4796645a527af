//! MONITOR: the line a monitor receives for each command run, in Redis's exact format.
//!
//! ```text
//!   +1796161743.966124 [0 127.0.0.1:40878] "SET" "k" "a\"b\x00"
//!    seconds.micros    db client address    arguments, quoted as sdscatrepr
//! ```
//!
//! Redis 7 feeds monitors after a command has run (the line for a SELECT carries the new
//! database; a PUBLISH's message reaches its subscribers first) and shows passwords as
//! `(redacted)`; the commands decide what is redacted, as they do in Redis.

use crate::inspect::monitor::write_quoted as quote;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

/// What a redacted argument shows.
const REDACTED: &[u8] = b"(redacted)";

/// The time on monitor lines: the wall clock, never earlier than the line before, so
/// lines read in order of execution also read in order of time when the clock steps back.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    last: Duration,
}

impl Clock {
    /// The time since the Unix epoch for the next line.
    pub(crate) fn now(&mut self) -> Duration {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        self.last = self.last.max(now);
        self.last
    }
}

/// The line for one command: `+<seconds>.<micros> [<db> <addr>] "arg" …\r\n`, with the
/// arguments at `redacted` shown as `(redacted)`.
pub(crate) fn line(
    at: Duration,
    db: usize,
    addr: SocketAddr,
    args: &[Vec<u8>],
    redacted: &[usize],
) -> Vec<u8> {
    let size: usize = args.iter().map(|arg| arg.len() + 3).sum();
    let mut out = Vec::with_capacity(size + 48);
    out.extend_from_slice(
        format!("+{}.{:06} [{db} {addr}]", at.as_secs(), at.subsec_micros()).as_bytes(),
    );
    for (index, arg) in args.iter().enumerate() {
        out.push(b' ');
        if redacted.contains(&index) {
            quote(&mut out, REDACTED);
        } else {
            quote(&mut out, arg);
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&[u8]]) -> Vec<Vec<u8>> {
        list.iter().map(|arg| arg.to_vec()).collect()
    }

    #[test]
    fn arguments_are_quoted_like_sdscatrepr() {
        let at = Duration::new(1_796_161_758, 291_916_123);
        let addr = "127.0.0.1:40878".parse().expect("address");
        let echo = args(&[
            b"ECHO",
            b"a\"b\\c\n\r\t\x07\x08\x00\xc3\xbf\x7f \xc3\xa9",
            b"",
        ]);
        assert_eq!(
            String::from_utf8_lossy(&line(at, 0, addr, &echo, &[])),
            "+1796161758.291916 [0 127.0.0.1:40878] \"ECHO\" \
             \"a\\\"b\\\\c\\n\\r\\t\\a\\b\\x00\\xc3\\xbf\\x7f \\xc3\\xa9\" \"\"\r\n"
        );
    }

    #[test]
    fn micros_keep_their_leading_zeros_and_redacted_arguments_are_hidden() {
        let at = Duration::new(5, 7_000);
        let addr = "[::1]:6000".parse().expect("address");
        let auth = args(&[b"AUTH", b"user", b"secret"]);
        assert_eq!(
            String::from_utf8_lossy(&line(at, 3, addr, &auth, &[1, 2])),
            "+5.000007 [3 [::1]:6000] \"AUTH\" \"(redacted)\" \"(redacted)\"\r\n"
        );
    }

    #[test]
    fn the_clock_never_goes_back() {
        let mut clock = Clock {
            last: Duration::MAX,
        };
        assert_eq!(clock.now(), Duration::MAX);
        let mut clock = Clock::default();
        let first = clock.now();
        assert!(clock.now() >= first);
    }
}
