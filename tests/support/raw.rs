//! A plain RESP connection that shows replies as the exact bytes the server wrote, to
//! compare the broker with Redis byte for byte. It reads RESP2 and RESP3 alike.

use super::Server;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A raw client connection.
pub struct RawConnection {
    reader: BufReader<TcpStream>,
}

/// A request as RESP: an array of bulk strings.
pub fn request(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

impl RawConnection {
    /// Connects to the server.
    pub fn open(server: &Server) -> RawConnection {
        RawConnection::connect(server.port())
    }

    /// Connects to a server on a loopback port.
    pub fn connect(port: u16) -> RawConnection {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        RawConnection {
            reader: BufReader::new(stream),
        }
    }

    /// Sends bytes as they are.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.reader.get_mut().write_all(bytes).expect("write");
    }

    /// Sends one request.
    pub fn send(&mut self, args: &[&[u8]]) {
        self.send_raw(&request(args));
    }

    /// Sends one request and reads one reply.
    pub fn call(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.send(args);
        self.reply()
    }

    /// Reads one whole reply, returning its bytes as they came.
    pub fn reply(&mut self) -> Vec<u8> {
        let mut raw = Vec::new();
        self.read_into(&mut raw);
        raw
    }

    fn read_into(&mut self, raw: &mut Vec<u8>) {
        let start = raw.len();
        let read = self.reader.read_until(b'\n', raw).expect("read a reply");
        assert!(read > 0, "the connection closed while a reply was expected");
        let line = String::from_utf8_lossy(&raw[start + 1..raw.len() - 2]).into_owned();
        match raw[start] {
            b'$' | b'=' => {
                let length: i64 = line.parse().expect("bulk length");
                if length >= 0 {
                    let mut body = vec![0; length as usize + 2];
                    self.reader.read_exact(&mut body).expect("bulk body");
                    raw.extend_from_slice(&body);
                }
            }
            b'*' | b'>' | b'~' | b'%' => {
                let count: i64 = line.parse().expect("aggregate length");
                let elements = if raw[start] == b'%' { 2 * count } else { count };
                for _ in 0..elements.max(0) {
                    self.read_into(raw);
                }
            }
            _ => {}
        }
    }

    /// Reads everything until the server closes the connection (failing after the read
    /// timeout if it does not).
    pub fn until_closed(&mut self) -> Vec<u8> {
        let mut rest = Vec::new();
        self.reader
            .read_to_end(&mut rest)
            .expect("the server should close the connection");
        rest
    }
}
