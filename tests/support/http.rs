//! Plain HTTP/1.0 against a `/metrics` endpoint: a request, and a scrape that waits for a
//! line to show.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// `METHOD path` over plain HTTP/1.0: (status line and headers, body).
pub fn http(address: &str, method: &str, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(address).expect("connect to the exporter");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    write!(stream, "{method} {path} HTTP/1.0\r\nHost: test\r\n\r\n").expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("head and body");
    (head.to_owned(), body.to_owned())
}

/// Scrapes `/metrics` until `line` is in the exposition, or fails after `wait`.
pub fn scrape_until(address: &str, line: &str, wait: Duration) -> String {
    let deadline = Instant::now() + wait;
    loop {
        let (head, body) = http(address, "GET", "/metrics");
        assert!(
            head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
            "{head}"
        );
        if body.lines().any(|l| l == line) {
            return body;
        }
        assert!(Instant::now() < deadline, "{line} never showed in\n{body}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
