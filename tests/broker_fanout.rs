//! The broker on several threads, with publishers fanning out at the same time: each
//! subscriber still reads its confirmation before any message, every publisher's
//! messages in the order they were published, nothing of a channel after leaving it, and
//! PUBLISH counts what Redis counts.

mod support;

use gilmour::broker::{Broker, BrokerConfig};
use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::time::Duration;
use support::{RawConnection, request};

const PUBLISHERS: usize = 4;
const MESSAGES: usize = 2000;

fn broker() -> Broker {
    Broker::start_with(
        "127.0.0.1:0",
        BrokerConfig {
            threads: 4,
            ..BrokerConfig::default()
        },
    )
    .expect("broker")
}

/// A subscriber that reads RESP2 frames one element at a time.
struct Reader {
    stream: BufReader<TcpStream>,
}

impl Reader {
    fn connect(broker: &Broker) -> Reader {
        let stream = TcpStream::connect(broker.addr()).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        Reader {
            stream: BufReader::new(stream),
        }
    }

    fn send(&mut self, args: &[&[u8]]) {
        use std::io::Write;
        self.stream
            .get_mut()
            .write_all(&request(args))
            .expect("write");
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.stream.read_line(&mut line).expect("a line");
        line.trim_end().to_owned()
    }

    /// One frame (an array of bulk strings and integers), its elements as text.
    fn frame(&mut self) -> Vec<String> {
        let header = self.line();
        let count: usize = header
            .strip_prefix('*')
            .and_then(|count| count.parse().ok())
            .unwrap_or_else(|| panic!("not an array: {header:?}"));
        (0..count)
            .map(|_| {
                let line = self.line();
                match line.strip_prefix('$') {
                    Some(length) => {
                        let length: usize = length.parse().expect("a length");
                        let mut body = vec![0; length + 2];
                        self.stream.read_exact(&mut body).expect("a body");
                        body.truncate(length);
                        String::from_utf8(body).expect("text")
                    }
                    None => line,
                }
            })
            .collect()
    }
}

/// Publishers `0..PUBLISHERS` each send `MESSAGES` numbered messages on `channel`,
/// pipelined, and return the counts PUBLISH answered.
fn publish_all(broker: &Broker, channel: &'static str) -> Vec<std::thread::JoinHandle<Vec<u8>>> {
    (0..PUBLISHERS)
        .map(|publisher| {
            let port = broker.port();
            std::thread::spawn(move || {
                let mut connection = RawConnection::connect(port);
                let mut bytes = Vec::new();
                for n in 0..MESSAGES {
                    let payload = format!("{publisher}:{n}");
                    bytes.extend(request(&[
                        b"PUBLISH",
                        channel.as_bytes(),
                        payload.as_bytes(),
                    ]));
                }
                connection.send_raw(&bytes);
                (0..MESSAGES)
                    .flat_map(|_| connection.reply())
                    .collect::<Vec<u8>>()
            })
        })
        .collect()
}

/// Checks that every publisher's messages come in order; returns how many came.
fn in_order(messages: &[(usize, usize)]) -> usize {
    let mut next = [0; PUBLISHERS];
    for &(publisher, n) in messages {
        assert!(
            n >= next[publisher],
            "publisher {publisher}: {n} after {}",
            next[publisher] - 1
        );
        next[publisher] = n + 1;
    }
    messages.len()
}

fn numbered(payload: &str) -> (usize, usize) {
    let (publisher, n) = payload.split_once(':').expect("publisher:n");
    (
        publisher.parse().expect("publisher"),
        n.parse().expect("number"),
    )
}

#[test]
fn concurrent_publishers_reach_every_subscriber_in_order_and_are_counted() {
    let broker = broker();
    let mut channel = Reader::connect(&broker);
    channel.send(&[b"SUBSCRIBE", b"fanout.all"]);
    assert_eq!(channel.frame(), ["subscribe", "fanout.all", ":1"]);
    let mut pattern = Reader::connect(&broker);
    pattern.send(&[b"PSUBSCRIBE", b"fanout.*"]);
    assert_eq!(pattern.frame(), ["psubscribe", "fanout.*", ":1"]);

    let replies: Vec<u8> = publish_all(&broker, "fanout.all")
        .into_iter()
        .flat_map(|publisher| publisher.join().expect("publisher"))
        .collect();
    // One channel subscriber and one pattern subscriber: two receivers, every time.
    assert_eq!(replies, b":2\r\n".repeat(PUBLISHERS * MESSAGES));

    let total = PUBLISHERS * MESSAGES;
    let by_channel: Vec<(usize, usize)> = (0..total)
        .map(|_| {
            let frame = channel.frame();
            assert_eq!(frame[..2], ["message", "fanout.all"]);
            numbered(&frame[2])
        })
        .collect();
    assert_eq!(in_order(&by_channel), total);
    let by_pattern: Vec<(usize, usize)> = (0..total)
        .map(|_| {
            let frame = pattern.frame();
            assert_eq!(frame[..3], ["pmessage", "fanout.*", "fanout.all"]);
            numbered(&frame[3])
        })
        .collect();
    assert_eq!(in_order(&by_pattern), total);
}

#[test]
fn subscribing_and_leaving_while_others_publish_keeps_confirmations_in_place() {
    let broker = broker();
    let publishers = publish_all(&broker, "fanout.busy");
    let mut subscriber = Reader::connect(&broker);
    // Subscribed while messages flow: the confirmation comes first, then messages; after
    // the unsubscription's confirmation, nothing more.
    subscriber.send(&[b"SUBSCRIBE", b"fanout.busy"]);
    assert_eq!(subscriber.frame(), ["subscribe", "fanout.busy", ":1"]);
    subscriber.send(&[b"UNSUBSCRIBE", b"fanout.busy"]);
    let mut messages = Vec::new();
    loop {
        let frame = subscriber.frame();
        match frame[0].as_str() {
            "message" => messages.push(numbered(&frame[2])),
            "unsubscribe" => {
                assert_eq!(frame, ["unsubscribe", "fanout.busy", ":0"]);
                break;
            }
            other => panic!("unexpected {other}: {frame:?}"),
        }
    }
    in_order(&messages);
    for publisher in publishers {
        publisher.join().expect("publisher");
    }
    // Nothing arrived after the confirmation: the next thing read is PING's answer.
    subscriber.send(&[b"PING"]);
    assert_eq!(subscriber.line(), "+PONG");
    let mut check = RawConnection::connect(broker.port());
    assert_eq!(
        check.call(&[b"PUBSUB", b"NUMSUB", b"fanout.busy"]),
        b"*2\r\n$11\r\nfanout.busy\r\n:0\r\n"
    );
}
