//! How long the built-in broker takes to read one big request sent in 16 KiB pieces:
//! a `SET` of one 10 MB value, and an `LPUSH` of 10 MB in 16-byte values (640,000
//! arguments), and both at 5 MB to show the time grows linearly with the size.
//!
//! `cargo bench --bench broker_big_request`

use gilmour::broker::Broker;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn request(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Sends `bytes` in 16 KiB writes and waits for the reply's first line.
fn time_request(broker: &Broker, bytes: &[u8]) -> Duration {
    let mut stream = TcpStream::connect(broker.addr()).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let mut reader = stream.try_clone().expect("clone");
    let started = Instant::now();
    let writer = {
        let bytes = bytes.to_vec();
        std::thread::spawn(move || {
            for piece in bytes.chunks(16 * 1024) {
                stream.write_all(piece).expect("write");
            }
        })
    };
    let mut reply = Vec::new();
    let mut byte = [0];
    while !reply.ends_with(b"\r\n") {
        reader.read_exact(&mut byte).expect("a reply");
        reply.push(byte[0]);
    }
    let elapsed = started.elapsed();
    writer.join().expect("writer");
    assert!(
        matches!(reply[0], b'+' | b':'),
        "{}",
        String::from_utf8_lossy(&reply)
    );
    elapsed
}

fn main() {
    let broker = Broker::start("127.0.0.1:0").expect("broker");
    for megabytes in [5, 10] {
        let size = megabytes * 1_000_000;
        let value = vec![b'v'; size];
        let set = request(&[b"SET", b"big", &value]);
        let small = [b'v'; 16];
        let mut args: Vec<&[u8]> = vec![b"LPUSH", b"many"];
        args.extend(std::iter::repeat_n(&small[..], size / 16));
        let lpush = request(&args);
        for (name, bytes) in [("SET, one value", &set), ("LPUSH, 16-byte values", &lpush)] {
            // The best of three: the machine is shared.
            let best = (0..3)
                .map(|_| time_request(&broker, bytes))
                .min()
                .expect("three runs");
            println!(
                "{megabytes} MB request ({name}): {:.1} ms, {:.0} MB/s",
                best.as_secs_f64() * 1000.0,
                bytes.len() as f64 / 1e6 / best.as_secs_f64()
            );
        }
    }
}
