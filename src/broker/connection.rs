//! One client connection: a reader that runs requests and a writer that drains the
//! connection's outbox.
//!
//! ```text
//!   socket ──read──▶ parse ──▶ execute ──replies──▶ outbox ──▶ writer ──▶ socket
//!                                │ PUBLISH, monitor lines    ▲
//!                                └─ other clients' outboxes ─┘
//! ```
//!
//! The replies to the requests of one read are gathered and enter the outbox together,
//! but for a subscription change, which queues what is gathered while it holds the
//! registry (see `registry`), so a confirmation always precedes the messages it brings.
//! Each command takes only the locks of what it touches. Like Redis, the broker never
//! stops reading a client: replies wait in its outbox however many there are (only what
//! a client did not ask for, messages and monitor lines, has an output limit), so a
//! client that writes a whole pipeline before reading a reply cannot deadlock with us.

use super::Shared;
use super::clients::{ClientId, Drain, Outbox};
use super::commands::{self, Flow, Session};
use super::resp::{Parsed, Parser, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio_util::sync::CancellationToken;

/// How much the writer gathers into one write.
const WRITE_BATCH: usize = 64 * 1024;
/// How much is read at a time.
const READ_CHUNK: usize = 16 * 1024;

/// Serves one connection until the client leaves, breaks the protocol, quits or is
/// killed.
pub(crate) async fn serve(shared: Arc<Shared>, stream: TcpStream, addr: SocketAddr, id: ClientId) {
    let _ = stream.set_nodelay(true);
    let (mut reader, writer) = stream.into_split();
    let kill = CancellationToken::new();
    let (outbox, drain) = Outbox::new(kill.clone());
    shared.clients().add(id, outbox.clone(), addr);
    let mut session = Session::new(id, addr, &shared);
    let mut writing = tokio::spawn(write(writer, drain, kill.clone()));
    let mut input = Vec::with_capacity(READ_CHUNK);
    let mut parser = Parser::default();
    loop {
        input.reserve(READ_CHUNK);
        let read = tokio::select! {
            () = kill.cancelled() => break,
            read = reader.read_buf(&mut input) => read,
        };
        match read {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let flow = run_requests(&shared, &mut session, &mut parser, &mut input, &outbox);
        if flow == Flow::Close {
            break;
        }
        settle(&mut input);
    }
    shared.forget(id);
    // With the registry's copy gone, dropping ours ends the writer once it has written
    // what is queued (a QUIT's OK, a protocol error). A killed client closes at once.
    drop(outbox);
    if kill.is_cancelled() {
        writing.abort();
    }
    // A peer that stopped reading must not keep the task and socket forever.
    if tokio::time::timeout(FLUSH_TIMEOUT, &mut writing)
        .await
        .is_err()
    {
        writing.abort();
    }
}

/// How long what is queued for a leaving client may take to be written.
const FLUSH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Gives back what a big request made the input buffer grow to, once it is gone: a
/// connection that once sent 10 MB keeps no 10 MB buffer for the small requests after.
fn settle(input: &mut Vec<u8>) {
    if input.capacity() > KEPT_CAPACITY && input.len() <= KEPT_CAPACITY / 2 {
        input.shrink_to(KEPT_CAPACITY / 2);
    }
}

/// The most an idle connection's input buffer keeps.
const KEPT_CAPACITY: usize = 4 * READ_CHUNK;

/// Runs every whole request in `input`, removing them from it.
fn run_requests(
    shared: &Shared,
    session: &mut Session,
    parser: &mut Parser,
    input: &mut Vec<u8>,
    outbox: &Outbox,
) -> Flow {
    let mut out = Vec::new();
    let mut used = 0;
    let mut flow = Flow::Continue;
    let now = Instant::now();
    while flow == Flow::Continue {
        match parser.parse(&input[used..]) {
            Parsed::Incomplete => break,
            Parsed::Request(args, length) => {
                used += length;
                flow = commands::execute(shared, session, &args, &mut out, outbox, now);
            }
            Parsed::Error(message) => {
                tracing::debug!(%message, "closing a connection that broke the protocol");
                out.error(&message);
                flow = Flow::Close;
            }
        }
    }
    outbox.push(out);
    input.drain(..used);
    flow
}

/// Writes what the outbox holds, in order, gathering small frames into one write.
async fn write(mut writer: OwnedWriteHalf, mut drain: Drain, kill: CancellationToken) {
    loop {
        let first = tokio::select! {
            () = kill.cancelled() => return,
            frame = drain.frames.recv() => frame,
        };
        let Some(mut batch) = first else { break };
        while batch.len() < WRITE_BATCH {
            match drain.frames.try_recv() {
                Ok(frame) => batch.extend_from_slice(&frame),
                Err(_) => break,
            }
        }
        let written = tokio::select! {
            () = kill.cancelled() => return,
            written = writer.write_all(&batch) => written,
        };
        drain.written(batch.len());
        if written.is_err() {
            kill.cancel();
            return;
        }
    }
    let _ = writer.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_input_buffer_shrinks_back_after_a_big_request() {
        let mut input: Vec<u8> = Vec::with_capacity(10 * 1024 * 1024);
        input.extend_from_slice(b"PING\r\n");
        settle(&mut input);
        assert!(input.capacity() <= KEPT_CAPACITY, "{}", input.capacity());
        assert_eq!(input, b"PING\r\n", "what is pending stays");
        let mut big_and_pending = vec![0; KEPT_CAPACITY];
        let capacity = big_and_pending.capacity();
        settle(&mut big_and_pending);
        assert_eq!(
            big_and_pending.capacity(),
            capacity,
            "a request being read keeps its room"
        );
    }
}
