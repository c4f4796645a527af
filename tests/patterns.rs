//! The broker's glob patterns agree with Redis's: a table of patterns and channels, asked
//! of a real redis-server and of the broker in two ways (`PUBSUB CHANNELS pattern` over
//! subscribed channels, and how many pattern subscribers a PUBLISH reaches).

mod support;

use std::collections::BTreeSet;
use support::{Backend, RawConnection, Server};

/// Channels to match against: plain, empty, with glob characters in them, non-ASCII
/// bytes (é is C3 A9), and one long enough to reach Redis's nesting limit.
fn channels() -> Vec<Vec<u8>> {
    let mut channels: Vec<Vec<u8>> = [
        "",
        "a",
        "b",
        "ab",
        "abc",
        "aXb",
        "a*b",
        "a?b",
        "a\\",
        "\\",
        "]",
        "-",
        "^",
        "[",
        "!",
        "x",
        "ax",
        "bx",
        "dx",
        "]x",
        "-x",
        "!x",
        "^x",
        "xay",
        "xdy",
        "hello",
        "hallo",
        "hllo",
        "heello",
        "h?llo",
        "a.b",
        "*",
        "?",
        "gilmour.request.echo",
        "gilmour.response.ab12-7",
        "gilmour.slot.event.level.done",
        "gilmour.health.h-pid-1",
        "gilmour.",
        "gilmour",
        "é",
        "aé",
    ]
    .iter()
    .map(|channel| channel.as_bytes().to_vec())
    .collect();
    channels.push(vec![0xd0]);
    channels.push(vec![0xa9]);
    channels.push(vec![b'a'; 1100]);
    channels
}

/// Patterns, edge cases first: stars, question marks, classes, ranges (reversed, open,
/// with `-` or `]` at the edges), negation, escapes inside and outside classes, unclosed
/// classes, a trailing backslash, signed-byte ranges, and nesting near Redis's limit.
fn patterns() -> Vec<Vec<u8>> {
    let mut patterns: Vec<Vec<u8>> = [
        "*",
        "**",
        "",
        "?",
        "??",
        "???",
        "*?*",
        "a*",
        "*a",
        "*b",
        "a*b",
        "a**b",
        "*.*",
        "a?b",
        "h?llo",
        "h*llo",
        "h\\?llo",
        "h[ae]llo",
        "h[^e]llo",
        "h[a-b]llo",
        "h[b-a]llo",
        "[abc]x",
        "[^a]x",
        "[a-c]x",
        "[c-a]x",
        "[!a]x",
        "[]x",
        "[]]x",
        "[]a]",
        "[^]x",
        "[^]]x",
        "[a-]",
        "[-a]x",
        "[a-]x",
        "[-]x",
        "[^-]x",
        "[",
        "a[",
        "[abc",
        "[a-",
        "[^",
        "x[^a-c]y",
        "x[a-c]y",
        "*[",
        "[*]",
        "[?]",
        "\\*",
        "\\?",
        "a\\*b",
        "a\\",
        "\\",
        "\\\\",
        "[\\]]",
        "[\\]]x",
        "[\\-]x",
        "[a\\-z]",
        "[\\",
        "gilmour.*",
        "gilmour.*.*",
        "gilmour.request.*",
        "gilmour.?esponse.*",
        "gilmour.response.ab12-*",
        "gilmour.slot.event.*",
        "gilmour.[rs]*",
        "gilmour.[^r]*",
        "gilmour.health.*",
        "*.done",
        "é",
        "?é",
        "a?",
        "a??",
        "[é]",
        "[a-é]",
    ]
    .iter()
    .map(|pattern| pattern.as_bytes().to_vec())
    .collect();
    patterns.push(b"[a-\xc3]".to_vec());
    patterns.push(b"[\xc3-a]".to_vec());
    patterns.push(b"[\xa9]".to_vec());
    patterns.push(b"[^\xa9]".to_vec());
    for stars in [999, 1000, 1001, 1002] {
        patterns.push(b"a*".repeat(stars));
    }
    patterns
}

fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).chars().take(40).collect()
}

/// Which of our channels `PUBSUB CHANNELS pattern` lists, per pattern.
fn channels_matched(server: &Server) -> Vec<BTreeSet<Vec<u8>>> {
    let ours: BTreeSet<Vec<u8>> = channels().into_iter().collect();
    let mut subscriber = RawConnection::open(server);
    for channel in &ours {
        subscriber.call(&[b"SUBSCRIBE", channel]);
    }
    let mut asker = RawConnection::open(server);
    patterns()
        .iter()
        .map(|pattern| {
            let reply = asker.call(&[b"PUBSUB", b"CHANNELS", pattern]);
            ours.iter()
                .filter(|channel| lists(&reply, channel))
                .cloned()
                .collect()
        })
        .collect()
}

/// Whether a RESP array of bulk strings holds `item`.
fn lists(reply: &[u8], item: &[u8]) -> bool {
    let needle = [format!("${}\r\n", item.len()).as_bytes(), item, b"\r\n"].concat();
    let mut at = reply
        .iter()
        .position(|&byte| byte == b'\n')
        .map_or(0, |end| end + 1);
    while at < reply.len() {
        let rest = &reply[at..];
        let header_end = rest
            .iter()
            .position(|&byte| byte == b'\n')
            .unwrap_or(rest.len());
        let length: usize = String::from_utf8_lossy(&rest[1..header_end - 1])
            .parse()
            .expect("bulk length");
        let element = &rest[..header_end + 1 + length + 2];
        if element == needle.as_slice() {
            return true;
        }
        at += element.len();
    }
    false
}

#[test]
fn pubsub_channels_agrees_with_redis_on_every_pattern() {
    let redis = Server::start(Backend::Redis);
    let broker = Server::start(Backend::Broker);
    let expected = channels_matched(&redis);
    let got = channels_matched(&broker);
    let mut disagreements = Vec::new();
    for ((pattern, expected), got) in patterns().iter().zip(&expected).zip(&got) {
        if expected != got {
            disagreements.push(format!(
                "{:?}: redis {:?}, broker {:?}",
                show(pattern),
                expected.iter().map(|c| show(c)).collect::<Vec<_>>(),
                got.iter().map(|c| show(c)).collect::<Vec<_>>()
            ));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    // The table is not vacuous: some patterns match many channels, some none.
    assert!(expected.iter().any(|matched| matched.len() > 20));
    assert!(expected.iter().any(BTreeSet::is_empty));
}

/// How many pattern subscribers each PUBLISH reaches, with every pattern subscribed.
fn publish_receivers(server: &Server) -> Vec<Vec<u8>> {
    let mut subscriber = RawConnection::open(server);
    for pattern in patterns() {
        subscriber.call(&[b"PSUBSCRIBE", &pattern]);
    }
    let mut publisher = RawConnection::open(server);
    channels()
        .iter()
        .map(|channel| publisher.call(&[b"PUBLISH", channel, b"m"]))
        .collect()
}

#[test]
fn publish_reaches_the_same_pattern_subscribers_as_on_redis() {
    let redis = Server::start(Backend::Redis);
    let broker = Server::start(Backend::Broker);
    let expected = publish_receivers(&redis);
    assert_eq!(publish_receivers(&broker), expected);
    assert!(expected.iter().any(|reply| reply.as_slice() != b":0\r\n"));
}
