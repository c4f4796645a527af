//! `gilmour broker` gives back what big payloads took once they are gone: its resident
//! memory after 10 MB messages and values ends near where it started.

#![cfg(target_os = "linux")]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use support::RawConnection;

/// The broker's process, killed when dropped.
struct BrokerProcess {
    child: Child,
    port: u16,
}

impl BrokerProcess {
    fn start() -> BrokerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gilmour"))
            .args(["broker", "--port", "0"])
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start gilmour broker");
        let mut url = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut url)
            .expect("the broker's URL");
        let port = url
            .trim()
            .rsplit(':')
            .next()
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("no port in {url:?}"));
        BrokerProcess { child, port }
    }

    /// A line of /proc/PID/status, in kB.
    fn status_kb(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the broker's status");
        status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|value| value.trim().trim_end_matches(" kB").parse().ok())
            .unwrap_or_else(|| panic!("no {field} in {status}"))
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const MB: u64 = 1024;

#[test]
fn resident_memory_goes_back_after_10_mb_payloads() {
    let broker = BrokerProcess::start();
    let mut subscriber = RawConnection::connect(broker.port);
    subscriber.call(&[b"SUBSCRIBE", b"memory.big"]);
    let mut client = RawConnection::connect(broker.port);
    // Wait until the broker has served a connection or two: its baseline.
    client.call(&[b"PING"]);
    let baseline = broker.status_kb("VmRSS");

    let value = vec![b'v'; 10_000_000];
    for round in 0..5 {
        assert_eq!(client.call(&[b"PUBLISH", b"memory.big", &value]), b":1\r\n");
        let message = subscriber.reply();
        assert!(message.len() > value.len(), "round {round}");
        let key = format!("memory.big.{round}");
        assert_eq!(client.call(&[b"SET", key.as_bytes(), &value]), b"+OK\r\n");
        assert!(client.call(&[b"GET", key.as_bytes()]).len() > value.len());
        assert_eq!(client.call(&[b"DEL", key.as_bytes()]), b":1\r\n");
    }
    // A reply is written after everything queued before it, and the writer lets go of
    // what it wrote before taking more: once the PONGs are back, every big buffer has
    // been freed.
    assert_eq!(client.call(&[b"PING"]), b"+PONG\r\n");
    assert_eq!(
        subscriber.call(&[b"PING"]),
        b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
    );
    let after = broker.status_kb("VmRSS");
    let peak = broker.status_kb("VmHWM");
    // The README's figures (`-- --nocapture`).
    println!("gilmour broker RSS: {baseline} kB before, {peak} kB at most, {after} kB after");
    assert!(
        peak > baseline + 20 * MB,
        "the payloads went through the broker: peak {peak} kB, baseline {baseline} kB"
    );
    // Without giving memory back it stays ~45 MB above (66 MB after 19 MB).
    assert!(
        after < baseline + 10 * MB,
        "resident {after} kB after the payloads, {baseline} kB before (peak {peak} kB)"
    );
}
