//! RESP on the wire: reading requests (arrays of bulk strings, and the inline form a
//! person types into a raw socket) and writing replies in RESP2 or RESP3, whichever the
//! connection chose with HELLO.
//!
//! Errors are Redis's own words, because clients and people match on them. The parser
//! never trusts a length it reads: nothing is allocated ahead of the bytes arriving.

/// A request: the command name and its arguments, as bytes.
pub(crate) type Args = Vec<Vec<u8>>;

/// Longest inline request or length header, as in Redis.
const MAX_INLINE: usize = 64 * 1024;
/// Longest bulk string, as Redis's default `proto-max-bulk-len`.
const MAX_BULK: usize = 512 * 1024 * 1024;
/// Most arguments in one request.
const MAX_ARGS: usize = 1024 * 1024;

/// What the start of the input buffer holds.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// A whole request and how many bytes it took (an empty request, such as a blank
    /// line or `*0`, has no arguments).
    Request(Args, usize),
    /// Not a whole request yet: read more.
    Incomplete,
    /// The input breaks the protocol: reply this error and close the connection.
    Error(String),
}

/// Reads requests incrementally: a request whose bytes arrive over many reads is not
/// parsed again from its start on each of them. The parser remembers where the
/// arguments it has seen lie in the input and resumes after the last whole one, so a
/// 10 MB request costs time linear in its size however it is cut.
#[derive(Debug, Default)]
pub(crate) struct Parser {
    partial: Option<Partial>,
}

/// A multibulk request read in part.
#[derive(Debug)]
struct Partial {
    /// How many arguments the header announced.
    count: usize,
    /// Where the whole arguments read so far lie in the input.
    args: Vec<std::ops::Range<usize>>,
    /// Where the next argument starts.
    at: usize,
}

impl Parser {
    /// Reads one request from the start of `input`. Between calls that return
    /// [`Parsed::Incomplete`], the caller may only append to `input`.
    pub(crate) fn parse(&mut self, input: &[u8]) -> Parsed {
        match input.first() {
            None => Parsed::Incomplete,
            Some(b'*') => self.parse_multibulk(input),
            Some(_) => parse_inline(input),
        }
    }

    fn parse_multibulk(&mut self, input: &[u8]) -> Parsed {
        let mut partial = match self.partial.take() {
            Some(partial) => partial,
            None => match multibulk_header(input) {
                Ok(partial) => partial,
                Err(parsed) => return parsed,
            },
        };
        while partial.args.len() < partial.count {
            let at = partial.at;
            let Some(&first) = input.get(at) else {
                self.partial = Some(partial);
                return Parsed::Incomplete;
            };
            if first != b'$' {
                return protocol_error(format_args!("expected '$', got '{}'", first as char));
            }
            let Some((header, body)) = line(input, at) else {
                if input.len() - at > MAX_INLINE {
                    return protocol_error("too big bulk count string");
                }
                self.partial = Some(partial);
                return Parsed::Incomplete;
            };
            let length = match number(&header[1..]) {
                Some(length) if (0..=MAX_BULK as i64).contains(&length) => length as usize,
                _ => return protocol_error("invalid bulk length"),
            };
            // Redis skips the two bytes after the body without looking at them.
            if input.len() < body + length + 2 {
                self.partial = Some(partial);
                return Parsed::Incomplete;
            }
            partial.args.push(body..body + length);
            partial.at = body + length + 2;
        }
        let args = partial
            .args
            .into_iter()
            .map(|range| input[range].to_vec())
            .collect();
        Parsed::Request(args, partial.at)
    }
}

/// Reads `*<count>`; a request of no arguments (`*0`, `*-1`) is whole at once.
fn multibulk_header(input: &[u8]) -> Result<Partial, Parsed> {
    let Some((header, at)) = line(input, 0) else {
        return Err(if input.len() > MAX_INLINE {
            protocol_error("too big mbulk count string")
        } else {
            Parsed::Incomplete
        });
    };
    match number(&header[1..]) {
        // Never trusted for an allocation: the list of arguments grows as they arrive.
        Some(count) if count <= MAX_ARGS as i64 => Ok(Partial {
            count: count.max(0) as usize,
            args: Vec::new(),
            at,
        }),
        _ => Err(protocol_error("invalid multibulk length")),
    }
}

/// Reads one request from the start of `input` with a fresh parser.
#[cfg(test)]
pub(crate) fn parse(input: &[u8]) -> Parsed {
    Parser::default().parse(input)
}

fn protocol_error(what: impl std::fmt::Display) -> Parsed {
    Parsed::Error(format!("ERR Protocol error: {what}"))
}

/// The line starting at `from`, without its `\r\n`, and where the next one starts.
fn line(input: &[u8], from: usize) -> Option<(&[u8], usize)> {
    let end = input[from..].windows(2).position(|pair| pair == b"\r\n")?;
    Some((&input[from..from + end], from + end + 2))
}

fn number(text: &[u8]) -> Option<i64> {
    std::str::from_utf8(text).ok()?.parse().ok()
}

fn parse_inline(input: &[u8]) -> Parsed {
    let Some(newline) = input.iter().position(|&byte| byte == b'\n') else {
        return if input.len() > MAX_INLINE {
            protocol_error("too big inline request")
        } else {
            Parsed::Incomplete
        };
    };
    let mut text = &input[..newline];
    if let Some(stripped) = text.strip_suffix(b"\r") {
        text = stripped;
    }
    match split_args(text) {
        Some(args) => Parsed::Request(args, newline + 1),
        None => protocol_error("unbalanced quotes in request"),
    }
}

/// Splits an inline request into arguments the way Redis's `sdssplitargs` does: quotes,
/// `\n`-style and `\xHH` escapes inside double quotes, `\'` inside single quotes. A NUL
/// byte ends the line, as it ends a C string. `None` when the quotes do not balance.
fn split_args(line: &[u8]) -> Option<Args> {
    let at = |index: usize| line.get(index).copied().unwrap_or(0);
    let is_space = |byte: u8| matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let mut args = Vec::new();
    let mut p = 0;
    loop {
        while is_space(at(p)) {
            p += 1;
        }
        if at(p) == 0 {
            return Some(args);
        }
        let mut current = Vec::new();
        let (mut double, mut single) = (false, false);
        loop {
            let byte = at(p);
            if double {
                let escaped_hex = (byte == b'\\' && at(p + 1) == b'x')
                    .then(|| hex(at(p + 2)).zip(hex(at(p + 3))))
                    .flatten();
                if let Some((high, low)) = escaped_hex {
                    current.push(high * 16 + low);
                    p += 3;
                } else if byte == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    current.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if byte == b'"' {
                    // A closing quote must be followed by a space or the end.
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return None;
                    }
                    p += 1;
                    break;
                } else if byte == 0 {
                    return None;
                } else {
                    current.push(byte);
                }
            } else if single {
                if byte == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    current.push(b'\'');
                } else if byte == b'\'' {
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return None;
                    }
                    p += 1;
                    break;
                } else if byte == 0 {
                    return None;
                } else {
                    current.push(byte);
                }
            } else {
                match byte {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => break,
                    b'"' => double = true,
                    b'\'' => single = true,
                    other => current.push(other),
                }
            }
            p += 1;
        }
        args.push(current);
    }
}

fn hex(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|digit| digit as u8)
}

/// The protocol a connection speaks: RESP2 until HELLO 3, again after HELLO 2 or RESET.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// RESP2: nulls are `$-1`, maps are flat arrays, pushes are arrays.
    #[default]
    Resp2,
    /// RESP3: `_` nulls, `%` maps, `>` pushes, `=` verbatim text.
    Resp3,
}

impl Protocol {
    /// The number HELLO reports as `proto`.
    pub(crate) fn version(self) -> i64 {
        match self {
            Protocol::Resp2 => 2,
            Protocol::Resp3 => 3,
        }
    }
}

/// Writing replies into an output buffer. The forms whose bytes differ between RESP2 and
/// RESP3 take the connection's protocol.
pub(crate) trait Write {
    /// `+text`.
    fn simple(&mut self, text: &str);
    /// `-text` (the text starts with the error code, such as `ERR`).
    fn error(&mut self, text: &str);
    /// `:n`.
    fn integer(&mut self, n: i64);
    /// `$len` and the bytes.
    fn bulk(&mut self, bytes: &[u8]);
    /// A null: `$-1` (RESP2) or `_` (RESP3).
    fn nil(&mut self, protocol: Protocol);
    /// `*len`; the elements follow.
    fn array(&mut self, len: usize);
    /// A map of `len` pairs: `*2len` (RESP2) or `%len` (RESP3); keys and values follow.
    fn map(&mut self, len: usize, protocol: Protocol);
    /// Something the client did not ask for (a message, a subscription's confirmation):
    /// `*len` (RESP2) or `>len` (RESP3); the elements follow.
    fn push_header(&mut self, len: usize, protocol: Protocol);
    /// Text meant for people (INFO, CLIENT LIST): a bulk string (RESP2) or a verbatim
    /// string of format `txt` (RESP3).
    fn verbatim(&mut self, text: &[u8], protocol: Protocol);
}

impl Write for Vec<u8> {
    fn simple(&mut self, text: &str) {
        self.push(b'+');
        self.extend_from_slice(text.as_bytes());
        self.extend_from_slice(b"\r\n");
    }

    fn error(&mut self, text: &str) {
        self.push(b'-');
        // An error is one line: a newline from user input would split it.
        self.extend(text.bytes().map(|byte| {
            if byte == b'\r' || byte == b'\n' {
                b' '
            } else {
                byte
            }
        }));
        self.extend_from_slice(b"\r\n");
    }

    fn integer(&mut self, n: i64) {
        self.extend_from_slice(format!(":{n}\r\n").as_bytes());
    }

    fn bulk(&mut self, bytes: &[u8]) {
        self.extend_from_slice(format!("${}\r\n", bytes.len()).as_bytes());
        self.extend_from_slice(bytes);
        self.extend_from_slice(b"\r\n");
    }

    fn nil(&mut self, protocol: Protocol) {
        self.extend_from_slice(match protocol {
            Protocol::Resp2 => b"$-1\r\n",
            Protocol::Resp3 => b"_\r\n",
        });
    }

    fn array(&mut self, len: usize) {
        self.extend_from_slice(format!("*{len}\r\n").as_bytes());
    }

    fn map(&mut self, len: usize, protocol: Protocol) {
        match protocol {
            Protocol::Resp2 => self.array(len * 2),
            Protocol::Resp3 => self.extend_from_slice(format!("%{len}\r\n").as_bytes()),
        }
    }

    fn push_header(&mut self, len: usize, protocol: Protocol) {
        match protocol {
            Protocol::Resp2 => self.array(len),
            Protocol::Resp3 => self.extend_from_slice(format!(">{len}\r\n").as_bytes()),
        }
    }

    fn verbatim(&mut self, text: &[u8], protocol: Protocol) {
        match protocol {
            Protocol::Resp2 => self.bulk(text),
            Protocol::Resp3 => {
                self.extend_from_slice(format!("={}\r\ntxt:", text.len() + 4).as_bytes());
                self.extend_from_slice(text);
                self.extend_from_slice(b"\r\n");
            }
        }
    }
}

/// How many bytes the reply at the start of `bytes` takes; `None` when it is not one
/// whole, well-formed RESP2 or RESP3 reply (of the types the broker writes).
#[cfg(test)]
pub(crate) fn reply_length(bytes: &[u8]) -> Option<usize> {
    let (header, body) = line(bytes, 0)?;
    let (&kind, rest) = header.split_first()?;
    match kind {
        b'+' | b'-' => Some(body),
        b':' => number(rest).map(|_| body),
        b'_' => rest.is_empty().then_some(body),
        b'$' | b'=' => match number(rest)? {
            -1 => Some(body),
            length if length >= 0 => {
                let end = body + length as usize;
                (bytes.get(end..end + 2)? == b"\r\n").then_some(end + 2)
            }
            _ => None,
        },
        b'*' | b'>' | b'%' => {
            let mut at = body;
            let pairs = if kind == b'%' { 2 } else { 1 };
            for _ in 0..number(rest)?.max(0) * pairs {
                at += reply_length(bytes.get(at..)?)?;
            }
            Some(at)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Args {
        list.iter().map(|arg| arg.as_bytes().to_vec()).collect()
    }

    #[test]
    fn multibulk_whole_and_in_pieces() {
        let input = b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n*1\r\n";
        assert_eq!(parse(input), Parsed::Request(args(&["GET", "key"]), 22));
        for cut in 0..22 {
            assert_eq!(parse(&input[..cut]), Parsed::Incomplete, "cut at {cut}");
        }
        assert_eq!(parse(b"*0\r\n"), Parsed::Request(vec![], 4));
        assert_eq!(parse(b"*-1\r\n"), Parsed::Request(vec![], 5));
        assert_eq!(
            parse(b"*1\r\n$0\r\n\r\n"),
            Parsed::Request(vec![vec![]], 10)
        );
        // Binary-safe bodies, and the two bytes after a body are not checked (as Redis).
        assert_eq!(
            parse(b"*1\r\n$4\r\na\r\nbxx"),
            Parsed::Request(vec![b"a\r\nb".to_vec()], 14)
        );
    }

    #[test]
    fn multibulk_errors_use_redis_words() {
        let error = |text: &str| Parsed::Error(format!("ERR Protocol error: {text}"));
        assert_eq!(parse(b"*abc\r\n"), error("invalid multibulk length"));
        assert_eq!(parse(b"*1\r\nfoo\r\n"), error("expected '$', got 'f'"));
        assert_eq!(parse(b"*1\r\n$x\r\n"), error("invalid bulk length"));
        assert_eq!(parse(b"*1\r\n$-5\r\n"), error("invalid bulk length"));
        assert_eq!(parse(b"*1\r\n$600000000\r\n"), error("invalid bulk length"));
        assert_eq!(
            parse(b"*99999999999\r\n"),
            error("invalid multibulk length")
        );
        let long = [b"*".as_slice(), &[b'1'; MAX_INLINE + 1]].concat();
        assert_eq!(parse(&long), error("too big mbulk count string"));
    }

    #[test]
    fn inline_requests_split_like_redis() {
        assert_eq!(parse(b"PING\r\n"), Parsed::Request(args(&["PING"]), 6));
        assert_eq!(parse(b"PING\n"), Parsed::Request(args(&["PING"]), 5));
        assert_eq!(parse(b"\r\n"), Parsed::Request(vec![], 2));
        assert_eq!(parse(b"PING"), Parsed::Incomplete);
        assert_eq!(
            parse(b"set \"a b\" \"c\\x41\\n\" 'it\\'s'  x\r\n"),
            Parsed::Request(args(&["set", "a b", "cA\n", "it's", "x"]), 32)
        );
        assert_eq!(
            parse(b"a\"b c\"d\r\n"),
            Parsed::Error("ERR Protocol error: unbalanced quotes in request".into())
        );
        assert_eq!(parse(b"a\"b c\"\r\n"), Parsed::Request(args(&["ab c"]), 8));
        assert_eq!(
            parse(b"SET \"a b\r\n"),
            Parsed::Error("ERR Protocol error: unbalanced quotes in request".into())
        );
        assert_eq!(
            parse(b"a\0b c\r\n"),
            Parsed::Request(args(&["a"]), 7),
            "a NUL ends the line"
        );
        assert_eq!(
            parse(&[b'x'; MAX_INLINE + 1]),
            Parsed::Error("ERR Protocol error: too big inline request".into())
        );
    }

    #[test]
    fn a_request_in_pieces_resumes_after_its_last_whole_argument() {
        let input = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n";
        let mut parser = Parser::default();
        let mut buffer = input[..20].to_vec();
        assert_eq!(parser.parse(&buffer), Parsed::Incomplete);
        // What was read is not read again: spoiling the first header shows it.
        buffer[4] = b'#';
        buffer.extend_from_slice(&input[20..]);
        assert_eq!(
            parser.parse(&buffer),
            Parsed::Request(args(&["SET", "k", "value"]), input.len())
        );
        // Done with it, the parser starts afresh.
        assert_eq!(
            parser.parse(b"PING\r\n"),
            Parsed::Request(args(&["PING"]), 6)
        );
    }

    proptest::proptest! {
        /// A request cut anywhere, fed to one parser piece after piece, parses as it
        /// does whole.
        #[test]
        fn a_request_fed_in_pieces_parses_as_it_does_whole(
            values in proptest::collection::vec(proptest::collection::vec(proptest::arbitrary::any::<u8>(), 0..20), 1..8),
            cuts in proptest::collection::vec(1usize..16, 1..40),
        ) {
            let mut input = format!("*{}\r\n", values.len()).into_bytes();
            for value in &values {
                input.extend_from_slice(format!("${}\r\n", value.len()).as_bytes());
                input.extend_from_slice(value);
                input.extend_from_slice(b"\r\n");
            }
            let mut parser = Parser::default();
            let mut fed = 0;
            let mut cuts = cuts.into_iter().cycle();
            loop {
                fed = (fed + cuts.next().unwrap_or(1)).min(input.len());
                match parser.parse(&input[..fed]) {
                    Parsed::Incomplete => proptest::prop_assert!(fed < input.len()),
                    Parsed::Request(args, used) => {
                        proptest::prop_assert_eq!(args, values.clone());
                        proptest::prop_assert_eq!(used, input.len());
                        break;
                    }
                    Parsed::Error(error) => proptest::prop_assert!(false, "{}", error),
                }
            }
        }
    }

    proptest::proptest! {
        /// Any bytes at all: a request, a wait for more, or a protocol error; never a
        /// panic, and a request never claims more bytes than there are.
        #[test]
        fn any_input_parses_or_fails_cleanly(input in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::sample::select(b"*$\r\n0123456789- \"'\\x".to_vec()),
                proptest::arbitrary::any::<u8>(),
            ],
            0..64,
        )) {
            if let Parsed::Request(_, used) = parse(&input) {
                proptest::prop_assert!(used > 0 && used <= input.len());
            }
        }
    }

    #[test]
    fn replies_encode_as_resp2() {
        let mut out = Vec::new();
        out.array(5);
        out.simple("OK");
        out.error("ERR bad\r\nthing");
        out.integer(-3);
        out.bulk(b"hi");
        out.nil(Protocol::Resp2);
        assert_eq!(
            out,
            b"*5\r\n+OK\r\n-ERR bad  thing\r\n:-3\r\n$2\r\nhi\r\n$-1\r\n"
        );
    }

    #[test]
    fn replies_encode_as_resp3_or_fall_back_to_resp2() {
        let mut three = Vec::new();
        three.map(1, Protocol::Resp3);
        three.bulk(b"k");
        three.nil(Protocol::Resp3);
        three.push_header(1, Protocol::Resp3);
        three.verbatim(b"a\r\nb", Protocol::Resp3);
        assert_eq!(three, b"%1\r\n$1\r\nk\r\n_\r\n>1\r\n=8\r\ntxt:a\r\nb\r\n");
        assert_eq!(reply_length(&three), Some(14));
        assert_eq!(reply_length(&three[14..]), Some(three.len() - 14));
        let mut two = Vec::new();
        two.map(1, Protocol::Resp2);
        two.bulk(b"k");
        two.nil(Protocol::Resp2);
        two.push_header(1, Protocol::Resp2);
        two.verbatim(b"t", Protocol::Resp2);
        assert_eq!(two, b"*2\r\n$1\r\nk\r\n$-1\r\n*1\r\n$1\r\nt\r\n");
    }
}
