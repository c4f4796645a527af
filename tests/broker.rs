//! The built-in broker against a real redis-server, byte for byte: the same requests, sent
//! to both on fresh servers, must get the same bytes back. Then what only the broker can
//! be asked: its own limits, its HELLO, starting and stopping.

mod support;

use gilmour::broker::{Broker, BrokerConfig};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::{Backend, RawConnection, Server, request};

const WAIT: Duration = Duration::from_secs(10);

/// Everything a server writes back for `script` sent in one go (pipelined) and then QUIT,
/// until it closes the connection.
fn transcript(server: &Server, script: &[&[&str]]) -> String {
    transcript_on(server.port(), script)
}

/// [`transcript`] for a server on a loopback port.
fn transcript_on(port: u16, script: &[&[&str]]) -> String {
    let mut connection = RawConnection::connect(port);
    let mut bytes = Vec::new();
    for args in script {
        let args: Vec<&[u8]> = args.iter().map(|arg| arg.as_bytes()).collect();
        bytes.extend(request(&args));
    }
    bytes.extend(request(&[b"QUIT"]));
    connection.send_raw(&bytes);
    readable(&connection.until_closed())
}

fn readable(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).replace("\r\n", "⏎\n")
}

/// Runs the script on a fresh redis-server and a fresh broker and compares the bytes.
fn same_as_redis(script: &[&[&str]]) {
    let redis = transcript(&Server::start(Backend::Redis), script);
    let broker = transcript(&Server::start(Backend::Broker), script);
    assert_eq!(broker, redis, "broker (left) and redis (right) differ");
}

#[test]
fn strings_and_expiry_options_match_redis() {
    same_as_redis(&[
        &["SET", "a", "1"],
        &["GET", "a"],
        &["SET", "a", "2", "NX"],
        &["SET", "a", "3", "xx"],
        &["GET", "a"],
        &["SET", "b", "1", "XX"],
        &["GET", "b"],
        &["SET", "b", "1", "NX", "EX", "100"],
        &["TTL", "b"],
        &["SET", "c", "v", "PX", "100000"],
        &["TTL", "c"],
        &["TTL", "a"],
        &["TTL", "nokey"],
        &["SET", "d", "v", "EX", "0"],
        &["SET", "d", "v", "PX", "-1"],
        &["SET", "d", "v", "EX", "x"],
        &["SET", "d", "v", "EX", "01"],
        &["SET", "d", "v", "EX", "+1"],
        &["SET", "d", "v", "NX", "XX"],
        &["SET", "d", "v", "EX", "10", "PX", "10"],
        &["SET", "d", "v", "FOO"],
        &["SET", "d", "v", "EX"],
        &["SET", "d"],
        &["GET"],
        &["GET", "d"],
        &["DEL", "a", "b", "nokey", "a"],
        &["EXISTS", "a", "c", "c", "nokey"],
        &["DBSIZE"],
        &["SET", "", ""],
        &["GET", ""],
    ]);
}

#[test]
fn lists_match_redis() {
    same_as_redis(&[
        &["LPUSH", "l", "a", "b", "c", "b"],
        &["LRANGE", "l", "0", "-1"],
        &["LRANGE", "l", "-2", "-1"],
        &["LRANGE", "l", "-100", "1"],
        &["LRANGE", "l", "5", "10"],
        &["LRANGE", "l", "2", "1"],
        &["LRANGE", "l", "0", "x"],
        &["LLEN", "l"],
        &["LINDEX", "l", "0"],
        &["LINDEX", "l", "-1"],
        &["LINDEX", "l", "9"],
        &["LINDEX", "l", "-9"],
        &["LINDEX", "l", "x"],
        &["LREM", "l", "0", "b"],
        &["LPUSH", "l", "a", "x", "a"],
        &["LREM", "l", "1", "a"],
        &["LRANGE", "l", "0", "-1"],
        &["LREM", "l", "-1", "a"],
        &["LRANGE", "l", "0", "-1"],
        &["LREM", "l", "1", "zzz"],
        &["LTRIM", "l", "1", "-1"],
        &["LRANGE", "l", "0", "-1"],
        &["LTRIM", "l", "0", "x"],
        &["LTRIM", "l", "5", "10"],
        &["EXISTS", "l"],
        &["LLEN", "l"],
        &["LRANGE", "nokey", "0", "-1"],
        &["LTRIM", "nokey", "0", "1"],
        &["LREM", "nokey", "0", "a"],
        &["LINDEX", "nokey", "0"],
        &["SET", "s", "v"],
        &["LPUSH", "s", "x"],
        &["LLEN", "s"],
        &["LRANGE", "s", "0", "1"],
        &["LPUSH", "q", "r1"],
        &["LPUSH", "q", "r2"],
        &["LTRIM", "q", "0", "0"],
        &["LRANGE", "q", "0", "-1"],
        &["GET", "q"],
        &["LPUSH", "q"],
    ]);
}

#[test]
fn hashes_match_redis() {
    same_as_redis(&[
        &["HSET", "h", "f", "v"],
        &["HSET", "h", "f", "w", "g", "x"],
        &["HSET", "h", "f"],
        &["HSET", "h", "f", "v", "g"],
        &["HGET", "h", "f"],
        &["HGET", "h", "nope"],
        &["HGET", "nokey", "f"],
        &["HLEN", "h"],
        &["HEXISTS", "h", "f"],
        &["HEXISTS", "h", "z"],
        &["HDEL", "h", "f", "nope", "f"],
        &["HKEYS", "h"],
        &["HGETALL", "h"],
        &["HDEL", "h", "g"],
        &["EXISTS", "h"],
        &["HGETALL", "h"],
        &["HKEYS", "h"],
        &["HLEN", "h"],
        &["HDEL", "h", "g"],
        &["SET", "s", "v"],
        &["HSET", "s", "f", "v"],
        &["HGET", "s", "f"],
        &["HGETALL", "s"],
        &["HDEL", "s", "f"],
        &["HEXISTS", "s", "f"],
        &["GET", "s"],
    ]);
}

#[test]
fn connection_commands_and_errors_match_redis() {
    same_as_redis(&[
        &["PING"],
        &["ping", "hello there"],
        &["PING", "a", "b"],
        &["SELECT", "1"],
        &["SET", "x", "1"],
        &["DBSIZE"],
        &["SELECT", "0"],
        &["GET", "x"],
        &["DBSIZE"],
        &["SELECT", "16"],
        &["SELECT", "-1"],
        &["SELECT", "x"],
        &["AUTH", "secret"],
        &["AUTH", "default", "anything"],
        &["AUTH", "bob", "secret"],
        &["AUTH", "a", "b", "c"],
        &["CLIENT", "GETNAME"],
        &["CLIENT", "SETNAME", "has space"],
        &["CLIENT", "SETNAME", "me"],
        &["CLIENT", "GETNAME"],
        &["CLIENT", "SETNAME", ""],
        &["CLIENT", "GETNAME"],
        &["CLIENT", "SETNAME"],
        &["CLIENT", "FOO"],
        &["CLIENT"],
        &["CLIENT", "KILL", "TYPE", "bogus"],
        &["CLIENT", "KILL", "ID", "0"],
        &["CLIENT", "KILL", "ID", "99999"],
        &["CLIENT", "KILL", "TYPE", "pubsub"],
        &["CLIENT", "KILL", "TYPE", "master"],
        &["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "maybe"],
        &["CLIENT", "KILL", "1.2.3.4:5"],
        &["CLIENT", "KILL", "a", "b", "c"],
        &["FOO", "a", "b"],
        &["foo"],
        &["DBSIZE", "x"],
        &["PUBSUB"],
        &["PUBSUB", "FOO"],
        &["PUBSUB", "NUMPAT", "x"],
        &["PUBSUB", "CHANNELS", "a", "b"],
        &["PUBSUB", "NUMSUB"],
        &["PUBSUB", "NUMPAT"],
        &["PUBSUB", "CHANNELS"],
        &["PUBLISH", "nobody", "m"],
        &["HELLO", "x"],
        &["HELLO", "4"],
        &["HELLO", "2", "FOO"],
        &["HELLO", "3", "FOO"],
        &["HELLO", "2", "AUTH", "bob", "x"],
        &["HELLO", "2", "SETNAME", "a b"],
    ]);
}

#[test]
fn subscribed_mode_matches_redis() {
    same_as_redis(&[
        &["UNSUBSCRIBE"],
        &["PUNSUBSCRIBE"],
        &["SUBSCRIBE", "a", "b", "a"],
        &["GET", "x"],
        &["CLIENT", "GETNAME"],
        &["PING"],
        &["PING", "hi"],
        &["PSUBSCRIBE", "p*"],
        &["UNSUBSCRIBE", "b"],
        &["UNSUBSCRIBE", "zz"],
        &["UNSUBSCRIBE"],
        &["UNSUBSCRIBE"],
        &["PUNSUBSCRIBE", "zz"],
        &["PUNSUBSCRIBE"],
        &["PUNSUBSCRIBE"],
        &["GET", "x"],
        &["PING"],
    ]);
}

#[test]
fn reset_matches_redis() {
    same_as_redis(&[
        &["SELECT", "2"],
        &["SET", "x", "1"],
        &["CLIENT", "SETNAME", "n"],
        &["SUBSCRIBE", "a", "b"],
        &["PSUBSCRIBE", "p*"],
        &["RESET", "x"],
        &["reset"],
        &["CLIENT", "GETNAME"],
        &["GET", "x"],
        &["PUBSUB", "NUMSUB", "a"],
        &["PUBSUB", "NUMPAT"],
        &["UNSUBSCRIBE"],
        &["MONITOR"],
        &["RESET"],
        &["GET", "x"],
        &["RESET"],
    ]);
}

#[test]
fn messages_reach_channel_then_pattern_subscribers_and_kill_closes_them() {
    fn run(server: &Server) -> Vec<String> {
        let mut both = RawConnection::open(server);
        both.call(&[b"SUBSCRIBE", b"x"]);
        both.call(&[b"PSUBSCRIBE", b"x*"]);
        both.call(&[b"PSUBSCRIBE", b"y*"]);
        let mut pattern = RawConnection::open(server);
        pattern.call(&[b"PSUBSCRIBE", b"x*"]);
        let mut publisher = RawConnection::open(server);
        let mut seen = Vec::new();
        let mut ask = |args: &[&[u8]]| readable(&publisher.call(args));
        seen.push(ask(&[b"PUBLISH", b"x", b"hi"]));
        seen.push(ask(&[b"PUBLISH", b"y1", b"m"]));
        seen.push(ask(&[b"PUBLISH", b"z", b"m"]));
        seen.push(ask(&[b"PUBSUB", b"NUMSUB", b"x", b"y1"]));
        seen.push(ask(&[b"PUBSUB", b"NUMPAT"]));
        seen.push(ask(&[b"PUBSUB", b"CHANNELS"]));
        seen.push(ask(&[b"PUBSUB", b"CHANNELS", b"y*"]));
        for _ in 0..3 {
            seen.push(readable(&both.reply()));
        }
        seen.push(readable(&pattern.reply()));
        // Killed clients are gone at once: the next command no longer counts them.
        seen.push(ask(&[b"CLIENT", b"KILL", b"TYPE", b"pubsub"]));
        seen.push(ask(&[b"PUBSUB", b"NUMPAT"]));
        seen.push(readable(&both.until_closed()));
        seen.push(readable(&pattern.until_closed()));
        seen
    }
    let redis = run(&Server::start(Backend::Redis));
    let broker = run(&Server::start(Backend::Broker));
    assert_eq!(broker, redis);
    assert_eq!(redis[7], "*3⏎\n$7⏎\nmessage⏎\n$1⏎\nx⏎\n$2⏎\nhi⏎\n");
    assert_eq!(redis[11..], [":2⏎\n", ":0⏎\n", "", ""]);
}

#[test]
fn protocol_errors_are_answered_and_close_the_connection_like_redis() {
    let inputs: &[&[u8]] = &[
        b"*abc\r\n",
        b"*1\r\nfoo\r\n",
        b"*1\r\n$x\r\n",
        b"*1\r\n$-5\r\n",
        b"*2\r\n$4\r\nECHO\r\n$600000000\r\n",
        b"SET \"a b\r\n",
        b"PING\r\nSET 'a\r\nPING\r\n",
        b"set \"a b\" \"c\\x41\\n\"\r\nget \"a b\"\r\n\r\n*0\r\n*-1\r\n*1\r\n$4\r\nPINGxxQUIT\r\n",
        b"ping\nQUIT\n",
    ];
    for input in inputs {
        let mut got = Vec::new();
        for backend in [Backend::Redis, Backend::Broker] {
            let server = Server::start(backend);
            let mut connection = RawConnection::open(&server);
            connection.send_raw(input);
            got.push(readable(&connection.until_closed()));
        }
        assert_eq!(got[1], got[0], "for {:?}", String::from_utf8_lossy(input));
    }
}

#[test]
fn keys_expire_when_read_and_when_nobody_reads_them() {
    for backend in [Backend::Redis, Backend::Broker] {
        let server = Server::start(backend);
        assert_eq!(server.command(&["SET", "read", "v", "PX", "100"]), "OK");
        assert_eq!(server.command(&["SET", "unread", "v", "PX", "100"]), "OK");
        assert_eq!(server.command(&["SET", "stays", "v", "EX", "100"]), "OK");
        assert_eq!(server.command(&["EXISTS", "read"]), "1");
        let deadline = Instant::now() + WAIT;
        while server.command(&["GET", "read"]) != "(nil)" {
            assert!(
                Instant::now() < deadline,
                "{backend:?}: `read` never expired"
            );
        }
        assert_eq!(server.command(&["TTL", "read"]), "-2");
        // Nothing reads `unread`: the server's own sweep must remove it.
        while server.command(&["DBSIZE"]) != "1" {
            assert!(
                Instant::now() < deadline,
                "{backend:?}: `unread` never swept"
            );
        }
        assert_eq!(server.command(&["TTL", "stays"]), "100");
    }
}

#[test]
fn a_slow_subscriber_is_cut_off_without_slowing_publishers_or_fast_subscribers() {
    let broker = Broker::start_with(
        "127.0.0.1:0",
        BrokerConfig {
            output_limit: 2 * 1024 * 1024,
            ..BrokerConfig::default()
        },
    )
    .expect("broker");
    let connect = || {
        let stream = TcpStream::connect(broker.addr()).expect("connect");
        stream.set_read_timeout(Some(WAIT)).expect("timeout");
        stream
    };
    // The slow one subscribes and then never reads again.
    let mut slow = connect();
    slow.write_all(&request(&[b"SUBSCRIBE", b"feed"]))
        .expect("write");
    let mut confirmation = [0; 32];
    let read = slow.read(&mut confirmation).expect("confirmation");
    assert!(confirmation[..read].starts_with(b"*3\r\n$9\r\nsubscribe"));
    // The fast one reports every message it reads.
    let mut fast = BufReader::new(connect());
    fast.get_mut()
        .write_all(&request(&[b"SUBSCRIBE", b"feed"]))
        .expect("write");
    let (seen, seen_rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut line = Vec::new();
        let mut count = 0;
        loop {
            line.clear();
            if fast.read_until(b'\n', &mut line).unwrap_or(0) == 0 {
                return count;
            }
            if line.starts_with(b"$32768") {
                let mut body = vec![0; 32768 + 2];
                fast.read_exact(&mut body).expect("payload");
                count += 1;
                if seen.send(count).is_err() {
                    return count;
                }
            }
        }
    });
    let payload = vec![b'p'; 32768];
    let mut publisher = BufReader::new(connect());
    let mut receivers = Vec::new();
    let messages = 1000;
    for n in 1..=messages {
        let started = Instant::now();
        publisher
            .get_mut()
            .write_all(&request(&[b"PUBLISH", b"feed", &payload]))
            .expect("publish");
        let mut reply = String::new();
        publisher.read_line(&mut reply).expect("a reply to PUBLISH");
        assert!(started.elapsed() < WAIT, "PUBLISH waited on a subscriber");
        receivers.push(reply);
        // Keep the fast subscriber at most 16 messages behind.
        if n % 16 == 0 {
            while seen_rx.recv_timeout(WAIT).expect("fast subscriber reads") < n - 16 {}
        }
    }
    assert_eq!(receivers.first().map(String::as_str), Some(":2\r\n"));
    assert_eq!(
        receivers.last().map(String::as_str),
        Some(":1\r\n"),
        "slow one cut"
    );
    let mut rest = Vec::new();
    slow.read_to_end(&mut rest)
        .expect("the slow subscriber's connection is closed, not just quiet");
    publisher
        .get_mut()
        .write_all(&request(&[b"QUIT"]))
        .expect("quit");
    drop(broker);
    assert_eq!(reader.join().expect("reader"), messages, "fast one got all");
}

#[test]
fn a_client_may_write_a_whole_pipeline_before_reading_any_reply() {
    // 32 MB of PINGs whose replies are as big: a server that stopped reading while
    // replies wait would leave both sides blocked on a full socket.
    let message = vec![b'm'; 32 * 1024];
    let count = 1000;
    let pipeline: Vec<u8> = (0..count)
        .flat_map(|_| request(&[b"PING", &message]))
        .collect();
    for backend in [Backend::Redis, Backend::Broker] {
        let server = Server::start(backend);
        let mut stream = TcpStream::connect(("127.0.0.1", server.port())).expect("connect");
        stream.set_write_timeout(Some(WAIT)).expect("timeout");
        stream.set_read_timeout(Some(WAIT)).expect("timeout");
        stream
            .write_all(&pipeline)
            .unwrap_or_else(|error| panic!("{backend:?} stopped reading: {error}"));
        let mut replies = BufReader::new(stream);
        let mut body = vec![0; message.len() + 2];
        for _ in 0..count {
            let mut header = String::new();
            replies.read_line(&mut header).expect("a reply");
            assert_eq!(header, format!("${}\r\n", message.len()));
            replies.read_exact(&mut body).expect("its body");
        }
    }
}

/// A transcript with what must differ between two servers in HELLO's replies taken out:
/// the Redis version and the client id.
fn hello_normalised(text: &str) -> String {
    let mut lines: Vec<String> = text.split("⏎\n").map(str::to_owned).collect();
    for index in 0..lines.len() {
        if lines[index] == "version" && index + 2 < lines.len() {
            lines[index + 1] = "$V".into();
            lines[index + 2] = "V".into();
        }
        if lines[index] == "id" && index + 1 < lines.len() {
            lines[index + 1] = ":ID".into();
        }
    }
    lines.join("⏎\n")
}

/// Like [`same_as_redis`], HELLO's version and id aside.
fn same_as_redis_but_hello(script: &[&[&str]]) -> String {
    let redis = hello_normalised(&transcript(&Server::start(Backend::Redis), script));
    let broker = hello_normalised(&transcript(&Server::start(Backend::Broker), script));
    assert_eq!(broker, redis, "broker (left) and redis (right) differ");
    redis
}

#[test]
fn hello_switches_between_resp2_and_resp3_like_redis() {
    let redis = same_as_redis_but_hello(&[
        &["HELLO"],
        &["GET", "nokey"],
        &["HELLO", "3"],
        &["GET", "nokey"],
        &["HELLO"],
        &["HELLO", "3", "AUTH", "bob", "x"],
        &["HELLO", "3", "AUTH", "default", "x", "SETNAME", "n1"],
        &["CLIENT", "GETNAME"],
        &["HELLO", "3", "SETNAME", "a b"],
        &["HELLO", "5"],
        &["HELLO", "2"],
        &["GET", "nokey"],
        &["HELLO", "3"],
        &["RESET"],
        &["GET", "nokey"],
        &["CLIENT", "GETNAME"],
    ]);
    assert!(redis.starts_with("*14⏎\n"), "{redis}");
    assert!(
        redis.contains(
            "_⏎\n%7⏎\n$6⏎\nserver⏎\n$5⏎\nredis⏎\n$7⏎\nversion⏎\n$V⏎\nV⏎\n$5⏎\nproto⏎\n:3⏎\n"
        ),
        "{redis}"
    );
}

#[test]
fn hello_says_which_redis_the_broker_answers_as() {
    let server = Server::start(Backend::Broker);
    let mut connection = RawConnection::open(&server);
    let id = connection.call(&[b"CLIENT", b"ID"]);
    let id = String::from_utf8_lossy(&id[1..id.len() - 2]).into_owned();
    let hello = connection.call(&[b"HELLO", b"3"]);
    assert_eq!(
        readable(&hello),
        readable(
            format!(
                "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.0.0\r\n\
                 $5\r\nproto\r\n:3\r\n$2\r\nid\r\n:{id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n\
                 $4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
            )
            .as_bytes()
        )
    );
    assert_eq!(
        connection.call(&[b"CLIENT", b"SETINFO", b"LIB-NAME", b"redis-rs"]),
        b"+OK\r\n"
    );
}

#[test]
fn resp3_replies_match_redis() {
    let redis = same_as_redis_but_hello(&[
        &["HELLO", "3"],
        &["PING"],
        &["PING", "x"],
        &["SET", "a", "1"],
        &["GET", "a"],
        &["GET", "nokey"],
        &["SET", "a", "2", "NX"],
        &["SET", "b", "2", "XX"],
        &["TTL", "a"],
        &["EXISTS", "a", "nokey"],
        &["LPUSH", "l", "a", "b"],
        &["LRANGE", "l", "0", "-1"],
        &["LRANGE", "nokey", "0", "-1"],
        &["LINDEX", "l", "0"],
        &["LINDEX", "l", "9"],
        &["LINDEX", "nokey", "0"],
        &["LLEN", "l"],
        &["HSET", "h", "f", "v"],
        &["HGETALL", "h"],
        &["HGETALL", "nokey"],
        &["HKEYS", "h"],
        &["HGET", "h", "f"],
        &["HGET", "h", "z"],
        &["HGET", "nokey", "z"],
        &["HEXISTS", "h", "f"],
        &["GET", "h"],
        &["CLIENT", "GETNAME"],
        &["CLIENT", "SETNAME", "me"],
        &["CLIENT", "GETNAME"],
        &["PUBSUB", "NUMSUB", "a", "b"],
        &["PUBSUB", "CHANNELS"],
        &["PUBSUB", "NUMPAT"],
        &["PUBLISH", "nobody", "m"],
        &["INFO", "keyspace"],
        &["INFO", "nosuch"],
        &["DBSIZE"],
        &["SELECT", "99"],
        &["AUTH", "secret"],
        &["FOO"],
    ]);
    assert!(redis.contains("%1⏎\n$1⏎\nf⏎\n$1⏎\nv⏎\n%0⏎\n"), "{redis}");
    assert!(redis.contains("=48⏎\ntxt:# Keyspace"), "{redis}");
}

#[test]
fn a_resp3_subscriber_runs_commands_and_gets_pushes_on_one_connection_like_redis() {
    same_as_redis_but_hello(&[
        &["HELLO", "3"],
        &["UNSUBSCRIBE"],
        &["PUNSUBSCRIBE"],
        &["SUBSCRIBE", "a", "b", "a"],
        &["GET", "x"],
        &["SET", "x", "1"],
        &["GET", "x"],
        &["PING"],
        &["PING", "hi"],
        &["PUBLISH", "a", "m1"],
        &["PSUBSCRIBE", "a*"],
        &["PUBLISH", "a", "m2"],
        &["PUBSUB", "NUMSUB", "a"],
        &["UNSUBSCRIBE", "b"],
        &["UNSUBSCRIBE"],
        &["PUNSUBSCRIBE", "zz"],
        &["PUNSUBSCRIBE"],
        &["PING"],
        &["SUBSCRIBE", "c"],
        &["RESET"],
        &["PING"],
        &["GET", "nokey"],
        &["PUBSUB", "NUMSUB", "c"],
    ]);
}

#[test]
fn resp2_and_resp3_subscribers_each_get_messages_in_their_protocol_like_redis() {
    fn run(server: &Server) -> Vec<String> {
        let mut three = RawConnection::open(server);
        three.call(&[b"HELLO", b"3"]);
        three.call(&[b"SUBSCRIBE", b"x"]);
        three.call(&[b"PSUBSCRIBE", b"x*"]);
        let mut two = RawConnection::open(server);
        two.call(&[b"SUBSCRIBE", b"x"]);
        let mut publisher = RawConnection::open(server);
        let mut seen = vec![readable(&publisher.call(&[b"PUBLISH", b"x", b"hi"]))];
        seen.push(readable(&three.reply()));
        seen.push(readable(&three.reply()));
        seen.push(readable(&two.reply()));
        // Between messages, the RESP3 subscriber's own commands get their replies.
        seen.push(readable(&three.call(&[b"GET", b"nokey"])));
        seen.push(readable(&publisher.call(&[b"PUBLISH", b"x", b"again"])));
        seen.push(readable(&three.reply()));
        seen.push(readable(&three.reply()));
        seen.push(readable(&three.call(&[b"PUBSUB", b"NUMPAT"])));
        seen.push(readable(&two.reply()));
        seen
    }
    let redis = run(&Server::start(Backend::Redis));
    let broker = run(&Server::start(Backend::Broker));
    assert_eq!(broker, redis);
    assert_eq!(redis[1], ">3⏎\n$7⏎\nmessage⏎\n$1⏎\nx⏎\n$2⏎\nhi⏎\n");
    assert_eq!(redis[3], "*3⏎\n$7⏎\nmessage⏎\n$1⏎\nx⏎\n$2⏎\nhi⏎\n");
}

#[test]
fn a_resp3_monitor_gets_the_lines_redis_gives_it() {
    fn run(server: &Server) -> Vec<String> {
        let mut monitor = RawConnection::open(server);
        monitor.call(&[b"HELLO", b"3"]);
        assert_eq!(monitor.call(&[b"MONITOR"]), b"+OK\r\n");
        monitor.send(&[b"PING"]);
        monitor.send(&[b"SUBSCRIBE", b"c"]);
        // PONG, its line, the confirmation and its line.
        let mut seen: Vec<String> = (0..4)
            .map(|_| String::from_utf8_lossy(&monitor.reply()).into_owned())
            .collect();
        let mut client = RawConnection::open(server);
        client.call(&[b"SET", b"k", b"v"]);
        assert_eq!(client.call(&[b"PUBLISH", b"c", b"hi"]), b":1\r\n");
        for _ in 0..3 {
            seen.push(String::from_utf8_lossy(&monitor.reply()).into_owned());
        }
        monitor.send(&[b"GET", b"k"]);
        seen.push(String::from_utf8_lossy(&monitor.reply()).into_owned());
        monitor.send(&[b"PING", b"end"]);
        seen.extend(monitor_lines_until(&mut monitor, "end"));
        normalised(&seen)
            .iter()
            .map(|line| readable(line.as_bytes()))
            .collect()
    }
    let redis = run(&Server::start(Backend::Redis));
    let broker = run(&Server::start(Backend::Broker));
    assert_eq!(broker, redis);
    assert_eq!(redis[5], ">3⏎\n$7⏎\nmessage⏎\n$1⏎\nc⏎\n$2⏎\nhi⏎\n");
    assert_eq!(redis[7], "-ERR Replica can't interact with the keyspace⏎\n");
}

#[test]
fn info_counts_commands_for_gilmour_bench() {
    let server = Server::start(Backend::Broker);
    server.command(&["PUBLISH", "a", "1"]);
    server.command(&["PUBLISH", "a", "2"]);
    server.command(&["GET"]);
    let info = server.command(&["INFO", "commandstats"]);
    assert!(
        info.contains("cmdstat_publish:calls=2,usec=0,usec_per_call=0.00,rejected_calls=0"),
        "{info}"
    );
    assert!(info.contains("cmdstat_get:calls=0,"), "{info}");
    assert!(!info.contains("# Server"), "{info}");
    let default = server.command(&["INFO"]);
    assert!(default.contains("redis_version:7.0.0\r\n"), "{default}");
    assert!(
        default.contains(&format!(
            "gilmour_broker_version:{}\r\n",
            env!("CARGO_PKG_VERSION")
        )),
        "{default}"
    );
    assert!(!default.contains("cmdstat_"), "{default}");
}

#[tokio::test]
async fn redis_rs_selects_a_database_from_the_url() {
    let server = Server::start(Backend::Broker);
    let client = redis::Client::open(format!("{}/3", server.url())).expect("url");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let () = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query_async(&mut connection)
        .await
        .expect("set");
    assert_eq!(server.command(&["DBSIZE"]), "0");
    let mut raw = RawConnection::open(&server);
    raw.call(&[b"SELECT", b"3"]);
    assert_eq!(raw.call(&[b"GET", b"k"]), b"$1\r\nv\r\n");
}

#[tokio::test]
async fn redis_rs_monitors_the_broker_as_it_monitors_redis() {
    use futures_util::StreamExt;
    for backend in [Backend::Redis, Backend::Broker] {
        let server = Server::start(backend);
        let client = redis::Client::open(server.url()).expect("url");
        let monitor = client.get_async_monitor().await.expect("monitor");
        let mut lines = Box::pin(monitor.into_on_message::<String>());
        let channel = "gilmour.request.monitored";
        assert_eq!(
            server.publish_bytes(channel.as_bytes(), br#"{"data":1}"#),
            "0"
        );
        let wanted = format!(r#""PUBLISH" "{channel}" "{{\"data\":1}}""#);
        let found = tokio::time::timeout(WAIT, async {
            while let Some(line) = lines.next().await {
                if line.ends_with(&wanted) {
                    return line;
                }
            }
            panic!("{backend:?}: the monitor closed");
        })
        .await
        .unwrap_or_else(|_| panic!("{backend:?}: no line for the PUBLISH"));
        let (time, _) = found.split_once(' ').expect("a time");
        assert!(is_monitor_time(time), "{backend:?}: {found}");
        assert!(found.contains(" [0 127.0.0.1:"), "{backend:?}: {found}");
    }
}

#[test]
fn stopping_closes_every_connection_and_frees_the_port() {
    let broker = Broker::start("127.0.0.1:0").expect("broker");
    assert_eq!(broker.url(), format!("redis://127.0.0.1:{}", broker.port()));
    let mut client = TcpStream::connect(broker.addr()).expect("connect");
    client.set_read_timeout(Some(WAIT)).expect("timeout");
    client
        .write_all(&request(&[b"SUBSCRIBE", b"c"]))
        .expect("write");
    let mut buffer = [0; 64];
    assert!(client.read(&mut buffer).expect("confirmation") > 0);
    let port = broker.port();
    broker.stop();
    assert_eq!(client.read(&mut buffer).expect("closed, not timed out"), 0);
    let again = Broker::start(("127.0.0.1", port)).expect("the port is free again");
    assert_eq!(again.port(), port);
}

/// Reads a monitor's replies (status and error lines: it is not subscribed) up to and
/// including the line for `PING <marker>`.
fn monitor_lines_until(monitor: &mut RawConnection, marker: &str) -> Vec<String> {
    let end = format!("\"PING\" \"{marker}\"\r\n");
    let mut lines = Vec::new();
    loop {
        let line = String::from_utf8_lossy(&monitor.reply()).into_owned();
        let done = line.ends_with(&end);
        lines.push(line);
        if done {
            return lines;
        }
    }
}

/// Monitor lines with only what must differ between two servers taken out: the time
/// becomes `T` and each client port `#n`, n counting clients in order of appearance.
/// Other replies are left as they are.
fn normalised(lines: &[String]) -> Vec<String> {
    let mut ports: Vec<String> = Vec::new();
    let mut normalise = |line: &String| {
        let Some((_, rest)) = line
            .strip_prefix('+')
            .and_then(|line| line.split_once(" ["))
            .filter(|(time, _)| is_monitor_time(time))
        else {
            return line.clone();
        };
        let (client, args) = rest.split_once("] ").expect("a monitor line");
        let (db, addr) = client.split_once(' ').expect("db and address");
        let (host, port) = addr.rsplit_once(':').expect("host and port");
        let index = match ports.iter().position(|known| known == port) {
            Some(index) => index,
            None => {
                ports.push(port.to_owned());
                ports.len() - 1
            }
        };
        format!("+T [{db} {host}:#{index}] {args}")
    };
    lines.iter().map(&mut normalise).collect()
}

/// `<seconds>.<six digits>`.
fn is_monitor_time(text: &str) -> bool {
    text.split_once('.').is_some_and(|(seconds, micros)| {
        !seconds.is_empty()
            && seconds.bytes().all(|byte| byte.is_ascii_digit())
            && micros.len() == 6
            && micros.bytes().all(|byte| byte.is_ascii_digit())
    })
}

#[test]
fn monitor_lines_match_redis_byte_for_byte() {
    fn run(server: &Server) -> Vec<String> {
        let mut monitor = RawConnection::open(server);
        assert_eq!(monitor.call(&[b"MONITOR"]), b"+OK\r\n");
        // What the monitor itself runs: shown to it after the reply, unless refused.
        monitor.send(&[b"PING"]);
        monitor.send(&[b"GET", b"k"]);
        monitor.send(&[b"MONITOR"]);
        monitor.send(&[b"SELECT", b"2"]);
        monitor.send(&[b"SELECT", b"0"]);
        monitor.send(&[b"PING", b"own"]);
        let mut lines = monitor_lines_until(&mut monitor, "own");

        let mut subscriber = RawConnection::open(server);
        subscriber.call(&[b"SUBSCRIBE", b"gilmour.request.echo"]);
        let mut client = RawConnection::open(server);
        let request = br#"{"data":"say \"hi\" from C:\\temp\\new","code":200,"sender":"s1"}"#;
        assert_eq!(
            client.call(&[b"PUBLISH", b"gilmour.request.echo", request]),
            b":1\r\n"
        );
        subscriber.reply();
        let pattern = b"gilmour \"\\\n\x01";
        let huge: Vec<u8> = (0..100 * 1024)
            .map(|n| pattern[n % pattern.len()])
            .collect();
        let script: &[&[&[u8]]] = &[
            &[b"SET", b"bin", b"\x00\xff\n\t\r\x07\x08\x7f\x80 ~\"\\"],
            &[b"SET", b"s1group", b"val", b"NX", b"EX", b"600"],
            &[b"PING"],
            &[b"set", b"huge", &huge],
            &[b"AUTH", b"secret"],
            &[b"AUTH", b"default", b"secret"],
            &[b"AUTH", b"a", b"b", b"c"],
            &[
                b"HELLO", b"2", b"AUTH", b"default", b"secret", b"SETNAME", b"svc",
            ],
            &[b"HELLO", b"2", b"AUTH", b"default"],
            &[b"HELLO", b"x", b"AUTH", b"u", b"p"],
            &[b"HELLO", b"4", b"AUTH", b"u", b"p"],
            &[b"CLIENT", b"SETNAME", b"me"],
            &[b"CLIENT", b"GETNAME"],
            &[b"SELECT", b"3"],
            &[b"SET", b"k", b"1"],
            &[b"SELECT", b"0"],
            &[b"INFO", b"keyspace"],
            &[b"PUBSUB", b"NUMSUB", b"gilmour.request.echo"],
            &[b"SET", b"k", b"v", b"FOO"],
            &[b"LPUSH", b"gilmour.errors", b"e"],
            &[b"HSET", b"gilmour.health", b"id", b"ok"],
            // Refused before they run, or administrative: not shown.
            &[b"GET"],
            &[b"NOSUCH", b"x"],
            &[b"CLIENT", b"NOPE"],
            &[b"CLIENT", b"KILL", b"ID", b"99999"],
            &[b"PUBSUB", b"NOPE"],
        ];
        for args in script {
            client.call(args);
        }
        subscriber.call(&[b"PING"]);
        subscriber.call(&[b"GET", b"k"]);
        subscriber.call(&[b"UNSUBSCRIBE"]);
        subscriber.call(&[b"QUIT"]);
        // Inline requests are shown as the arguments they split into; empty ones not.
        client.send_raw(b"set \"a b\" c\r\n\r\n*0\r\n");
        client.reply();
        client.call(&[b"PING", b"end"]);
        lines.extend(monitor_lines_until(&mut monitor, "end"));
        normalised(&lines)
    }
    let redis = run(&Server::start(Backend::Redis));
    let broker = run(&Server::start(Backend::Broker));
    assert_eq!(broker, redis, "broker (left) and redis (right) differ");
    let shown = |text: &str| {
        redis
            .iter()
            .any(|line| line.ends_with(&format!("{text}\r\n")))
    };
    assert!(shown(
        r#"] "PUBLISH" "gilmour.request.echo" "{\"data\":\"say \\\"hi\\\" from C:\\\\temp\\\\new\",\"code\":200,\"sender\":\"s1\"}""#
    ));
    assert!(shown(r#"] "SET" "bin" "\x00\xff\n\t\r\a\b\x7f\x80 ~\"\\""#));
    assert!(shown(r#"] "AUTH" "(redacted)" "(redacted)""#));
    assert!(redis.iter().any(|line| line.len() > 100 * 1024));
    assert!(!redis.iter().any(|line| line.contains("KILL")));
}

#[test]
fn a_monitor_gets_the_line_for_a_publish_after_its_subscribers_get_the_message() {
    fn run(server: &Server) -> String {
        let mut monitor = RawConnection::open(server);
        assert_eq!(monitor.call(&[b"MONITOR"]), b"+OK\r\n");
        let confirmation = monitor.call(&[b"SUBSCRIBE", b"news"]);
        assert!(confirmation.starts_with(b"*3\r\n$9\r\nsubscribe"));
        // Its own SUBSCRIBE's line, then the message and the PUBLISH's line.
        let mut seen = vec![String::from_utf8_lossy(&monitor.reply()).into_owned()];
        let mut publisher = RawConnection::open(server);
        assert_eq!(publisher.call(&[b"PUBLISH", b"news", b"m"]), b":1\r\n");
        seen.push(String::from_utf8_lossy(&monitor.reply()).into_owned());
        seen.push(String::from_utf8_lossy(&monitor.reply()).into_owned());
        readable(normalised(&seen).concat().as_bytes())
    }
    let redis = run(&Server::start(Backend::Redis));
    let broker = run(&Server::start(Backend::Broker));
    assert_eq!(broker, redis);
    assert!(
        redis.contains(
            "*3⏎\n$7⏎\nmessage⏎\n$4⏎\nnews⏎\n$1⏎\nm⏎\n+T [0 127.0.0.1:#1] \"PUBLISH\" \"news\" \"m\""
        ),
        "{redis}"
    );
}

#[test]
fn monitor_times_are_microseconds_in_the_order_commands_ran_across_clients() {
    fn unix_now() -> Duration {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
    }
    for backend in [Backend::Redis, Backend::Broker] {
        let server = Server::start(backend);
        let mut monitor = RawConnection::open(&server);
        assert_eq!(monitor.call(&[b"MONITOR"]), b"+OK\r\n");
        let before = unix_now();
        let per_client = 300;
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    let mut client = RawConnection::open(&server);
                    for _ in 0..per_client {
                        client.call(&[b"PING", b"tick"]);
                    }
                });
            }
        });
        let after = unix_now();
        let mut last = Duration::ZERO;
        for _ in 0..2 * per_client {
            let line = String::from_utf8_lossy(&monitor.reply()).into_owned();
            let (time, rest) = line
                .strip_prefix('+')
                .and_then(|line| line.split_once(' '))
                .unwrap_or_else(|| panic!("{backend:?}: not a monitor line: {line}"));
            assert!(is_monitor_time(time), "{backend:?}: {line}");
            assert!(rest.ends_with("] \"PING\" \"tick\"\r\n"), "{line}");
            let (seconds, micros) = time.split_once('.').expect("seconds.micros");
            let at = Duration::new(
                seconds.parse().expect("seconds"),
                micros.parse::<u32>().expect("micros") * 1000,
            );
            assert!(at >= last, "{backend:?}: time went back at {line}");
            // Lines are stamped to the microsecond, the bounds to the nanosecond.
            assert!(
                at + Duration::from_micros(1) >= before && at <= after,
                "{backend:?}: {line} outside the test's run"
            );
            last = at;
        }
    }
}

#[test]
fn a_monitor_that_stops_reading_is_cut_off_without_slowing_anyone() {
    let broker = Broker::start_with(
        "127.0.0.1:0",
        BrokerConfig {
            output_limit: 1024 * 1024,
            ..BrokerConfig::default()
        },
    )
    .expect("broker");
    let connect = || {
        let stream = TcpStream::connect(broker.addr()).expect("connect");
        stream.set_read_timeout(Some(WAIT)).expect("timeout");
        stream
    };
    let mut slow = connect();
    slow.write_all(&request(&[b"MONITOR"])).expect("write");
    let mut ok = [0; 5];
    slow.read_exact(&mut ok).expect("+OK");
    assert_eq!(&ok, b"+OK\r\n");
    // Each PING puts a 32 KiB line in the monitor's outbox: 64 MiB in all, far past
    // the limit and whatever the sockets hold.
    let mut client = BufReader::new(connect());
    let payload = vec![b'p'; 32 * 1024];
    for _ in 0..2048 {
        let started = Instant::now();
        client
            .get_mut()
            .write_all(&request(&[b"PING", &payload]))
            .expect("ping");
        let mut header = String::new();
        client.read_line(&mut header).expect("a reply");
        let mut body = vec![0; payload.len() + 2];
        client.read_exact(&mut body).expect("its body");
        assert!(started.elapsed() < WAIT, "PING waited on a monitor");
    }
    let mut rest = Vec::new();
    slow.read_to_end(&mut rest)
        .expect("the slow monitor's connection is closed, not just quiet");
    assert!(rest.len() < 64 * 1024 * 1024, "the monitor got everything");
    let info = String::from_utf8_lossy(&{
        client
            .get_mut()
            .write_all(&request(&[b"INFO", b"clients"]))
            .expect("info");
        let mut header = String::new();
        client.read_line(&mut header).expect("a reply");
        let length: usize = header[1..].trim().parse().expect("bulk length");
        let mut body = vec![0; length + 2];
        client.read_exact(&mut body).expect("its body");
        body
    })
    .into_owned();
    assert!(info.contains("connected_clients:1\r\n"), "{info}");
}

#[test]
fn monitoring_ends_when_the_monitor_quits_resets_or_leaves() {
    fn run(server: &Server) -> Vec<String> {
        let mut watcher = RawConnection::open(server);
        assert_eq!(watcher.call(&[b"MONITOR"]), b"+OK\r\n");
        let mut seen = Vec::new();
        // A monitor that quits gets QUIT's reply and nothing after it; others see QUIT.
        let mut quitting = RawConnection::open(server);
        assert_eq!(quitting.call(&[b"MONITOR"]), b"+OK\r\n");
        quitting.send(&[b"QUIT"]);
        seen.push(readable(&quitting.until_closed()));
        // One that resets is no monitor any more; others see its RESET.
        let mut resetting = RawConnection::open(server);
        assert_eq!(resetting.call(&[b"MONITOR"]), b"+OK\r\n");
        seen.push(readable(&resetting.call(&[b"RESET"])));
        // One that leaves is simply gone.
        let mut leaving = RawConnection::open(server);
        assert_eq!(leaving.call(&[b"MONITOR"]), b"+OK\r\n");
        drop(leaving);
        let mut client = RawConnection::open(server);
        client.call(&[b"PING", b"end"]);
        seen.extend(normalised(&monitor_lines_until(&mut watcher, "end")));
        seen.push(readable(&resetting.call(&[b"PING", b"r"])));
        drop(resetting);
        // The watcher, the client and the connection asking.
        let deadline = Instant::now() + WAIT;
        while !server
            .command(&["INFO", "clients"])
            .contains("connected_clients:3\r\n")
        {
            assert!(Instant::now() < deadline, "the monitors never left");
            std::thread::sleep(Duration::from_millis(10));
        }
        seen
    }
    let redis = run(&Server::start(Backend::Redis));
    let broker = run(&Server::start(Backend::Broker));
    assert_eq!(broker, redis);
    assert_eq!(redis[0], "+OK⏎\n");
    assert_eq!(redis[1], "+RESET⏎\n");
    assert_eq!(redis[2], "+T [0 127.0.0.1:#0] \"QUIT\"\r\n");
    assert_eq!(redis[3], "+T [0 127.0.0.1:#1] \"RESET\"\r\n");
    assert_eq!(redis.last().map(String::as_str), Some("$1⏎\nr⏎\n"));
}

#[tokio::test]
async fn redis_rs_in_resp3_subscribes_and_runs_commands_on_one_connection() {
    use redis::{AsyncCommands, PushKind, Value};
    for backend in [Backend::Redis, Backend::Broker] {
        let server = Server::start(backend);
        let client = redis::Client::open(format!("{}/?protocol=resp3", server.url())).expect("url");
        let (pushes, mut pushed) = tokio::sync::mpsc::unbounded_channel();
        let config = redis::AsyncConnectionConfig::new().set_push_sender(pushes);
        let mut connection = client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .unwrap_or_else(|error| panic!("{backend:?}: connect: {error}"));
        connection
            .subscribe("gilmour.slot.a")
            .await
            .expect("subscribe");
        connection
            .psubscribe("gilmour.*")
            .await
            .expect("psubscribe");
        // Still subscribed, the same connection runs ordinary commands.
        let () = connection.set("k", "v").await.expect("set");
        let value: Option<String> = connection.get("k").await.expect("get");
        assert_eq!(value.as_deref(), Some("v"), "{backend:?}");
        let missing: Option<String> = connection.get("nokey").await.expect("get");
        assert_eq!(missing, None, "{backend:?}");
        let _: i64 = connection.hset("h", "f", "v").await.expect("hset");
        let hash: Value = connection.hgetall("h").await.expect("hgetall");
        assert!(
            matches!(hash, Value::Map(ref pairs) if pairs.len() == 1),
            "{backend:?}: {hash:?}"
        );
        let receivers: i64 = connection
            .publish("gilmour.slot.a", r#"{"data":1}"#)
            .await
            .expect("publish");
        assert_eq!(receivers, 2, "{backend:?}");
        let mut kinds = Vec::new();
        while kinds.len() < 2 {
            let push = tokio::time::timeout(WAIT, pushed.recv())
                .await
                .unwrap_or_else(|_| panic!("{backend:?}: no message"))
                .expect("pushes");
            if matches!(push.kind, PushKind::Message | PushKind::PMessage) {
                let payload = push.data.last().cloned();
                assert_eq!(
                    payload,
                    Some(Value::BulkString(br#"{"data":1}"#.to_vec())),
                    "{backend:?}"
                );
                kinds.push(push.kind);
            }
        }
        assert_eq!(
            kinds,
            [PushKind::Message, PushKind::PMessage],
            "{backend:?}"
        );
    }
}

#[test]
fn a_password_is_asked_for_as_redis_requirepass_asks() {
    let script: &[&[&str]] = &[
        &["PING"],
        &["GET", "k"],
        &["FOO"],
        &["GET"],
        &["SUBSCRIBE", "x"],
        &["CLIENT", "SETNAME", "a"],
        &["HELLO", "3"],
        &["HELLO"],
        &["HELLO", "x"],
        &["HELLO", "4"],
        &["HELLO", "3", "AUTH", "default"],
        &["HELLO", "2", "SETNAME", "x"],
        &["AUTH", "wrong"],
        &["AUTH", "default", "wrong"],
        &["AUTH", "bob", "s3cret"],
        &["AUTH", "a", "b", "c"],
        &["HELLO", "3", "AUTH", "default", "wrong"],
        &["RESET"],
        &["AUTH", "s3cret"],
        &["PING"],
        &["AUTH", "wrong"],
        &["PING"],
        &["RESET"],
        &["PING"],
        &["HELLO", "3", "SETNAME", "n", "AUTH", "default", "s3cret"],
        &["CLIENT", "GETNAME"],
        &["AUTH", "default", "s3cret"],
        &["GET", "k"],
    ];
    let redis = Server::start_with(&["--requirepass", "s3cret"]);
    let redis = hello_normalised(&transcript(&redis, script));
    let config = BrokerConfig {
        password: Some("s3cret".into()),
        ..BrokerConfig::default()
    };
    let broker = Broker::start_with("127.0.0.1:0", config).expect("broker");
    let broker = hello_normalised(&transcript_on(broker.port(), script));
    assert_eq!(broker, redis, "broker (left) and redis (right) differ");
    assert!(
        redis.starts_with("-NOAUTH Authentication required.⏎\n"),
        "{redis}"
    );
    assert!(redis.contains("-NOAUTH HELLO must be called"), "{redis}");
    assert!(
        redis.contains("-WRONGPASS invalid username-password pair"),
        "{redis}"
    );
}

#[test]
fn the_config_never_shows_the_password() {
    let config = BrokerConfig {
        password: Some("hunter2".into()),
        ..BrokerConfig::default()
    };
    let shown = format!("{config:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("(redacted)"), "{shown}");
}

#[test]
fn gilmour_broker_says_it_is_not_redis_and_asks_for_its_password() {
    use support::process::Background;
    let secret = "hunter2-not-shown";
    let broker = Background::start_at(
        "redis://127.0.0.1:1",
        &["broker", "--port", "0", "--password", secret],
    );
    let url = broker.stdout_line();
    assert!(
        url.starts_with("redis://127.0.0.1:"),
        "loopback by default: {url}"
    );
    let banner = broker.stderr_line();
    assert!(banner.contains("not Redis"), "{banner}");
    assert!(banner.contains("password required"), "{banner}");
    assert!(
        !url.contains(secret) && !banner.contains(secret),
        "{url} {banner}"
    );
    let port: u16 = url
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .expect("a port");
    let mut client = RawConnection::connect(port);
    assert_eq!(
        client.call(&[b"PING"]),
        b"-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(client.call(&[b"AUTH", secret.as_bytes()]), b"+OK\r\n");
    assert_eq!(client.call(&[b"PING"]), b"+PONG\r\n");
}

#[test]
fn gilmour_broker_refuses_a_port_in_use_in_one_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("address").port().to_string();
    let output = support::process::gilmour_at("redis://127.0.0.1:1")
        .args(["broker", "--port", &port])
        .output()
        .expect("run gilmour");
    assert_eq!(output.status.code(), Some(2));
    let stderr = support::process::text(&output.stderr);
    assert_eq!(
        stderr,
        format!(
            "gilmour: cannot listen on 127.0.0.1:{port}: the port is in use (by a Redis?); \
             choose another with --port, or --port 0 for a free one\n"
        )
    );
}

#[test]
fn a_10_mb_request_sent_in_small_pieces_is_read_whole() {
    // 640,000 arguments of 16 bytes: a parser that went back to the start of the request
    // on each read would take minutes.
    let value = [b'v'; 16];
    let mut args: Vec<&[u8]> = vec![b"LPUSH", b"big"];
    args.extend(std::iter::repeat_n(&value[..], 640_000));
    let bytes = request(&args);
    assert!(bytes.len() > 10_000_000);
    for backend in [Backend::Redis, Backend::Broker] {
        let server = Server::start(backend);
        let mut stream = TcpStream::connect(("127.0.0.1", server.port())).expect("connect");
        stream.set_read_timeout(Some(WAIT * 6)).expect("timeout");
        stream.set_nodelay(true).expect("nodelay");
        for piece in bytes.chunks(1000) {
            stream.write_all(piece).expect("write");
        }
        let mut reply = [0; 9];
        stream.read_exact(&mut reply).expect("a reply");
        assert_eq!(&reply, b":640000\r\n", "{backend:?}");
        assert_eq!(server.command(&["LLEN", "big"]), "640000", "{backend:?}");
    }
}

#[test]
fn the_broker_listens_with_redis_s_backlog_of_511() {
    let broker = Broker::start("127.0.0.1:0").expect("broker");
    // For a listening socket, ss shows the backlog it asked for as Send-Q.
    let output = std::process::Command::new("ss")
        .args(["-ltnH", &format!("sport = :{}", broker.port())])
        .output()
        .expect("run ss");
    let listing = String::from_utf8_lossy(&output.stdout);
    let backlog = listing.split_whitespace().nth(2);
    assert_eq!(backlog, Some("511"), "{listing}");
}
