//! The `gilmour` binary as a test runs it: one-shot commands, and long-running ones
//! (reply, slot, tail, record, demo, broker) whose output lines are read by threads, so
//! that a test waiting for a line fails after a while instead of hanging.

use super::Server;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

pub fn gilmour(server: &Server) -> Command {
    gilmour_at(&server.url())
}

pub fn gilmour_at(url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gilmour"));
    command.env("REDIS_URL", url).env_remove("RUST_LOG");
    command
}

pub fn run(server: &Server, args: &[&str]) -> Output {
    gilmour(server).args(args).output().expect("run gilmour")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A long-running `gilmour` (reply, slot), killed when dropped. Its output is read by
/// threads, so that a test waiting for a line fails after a while instead of hanging.
pub struct Background {
    child: Child,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
}

pub const LINE_WAIT: Duration = Duration::from_secs(10);

pub fn lines(stream: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Background {
    /// Starts it and waits for the line on stderr that says it is serving.
    pub fn serving(server: &Server, args: &[&str]) -> Background {
        Background::serving_at(&server.url(), args)
    }

    pub fn serving_at(url: &str, args: &[&str]) -> Background {
        let background = Background::start_at(url, args);
        let line = background.stderr_line();
        assert!(
            line.contains("serving") || line.contains("listening"),
            "unexpected first line: {line}"
        );
        background
    }

    pub fn start(server: &Server, args: &[&str]) -> Background {
        Background::start_at(&server.url(), args)
    }

    pub fn start_at(url: &str, args: &[&str]) -> Background {
        let mut child = gilmour_at(url)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start gilmour");
        let stdout = lines(child.stdout.take().expect("stdout"));
        let stderr = lines(child.stderr.take().expect("stderr"));
        Background {
            child,
            stdout,
            stderr,
        }
    }

    pub fn stderr_line(&self) -> String {
        self.stderr
            .recv_timeout(LINE_WAIT)
            .expect("a line on stderr")
    }

    pub fn stdout_line(&self) -> String {
        self.stdout
            .recv_timeout(LINE_WAIT)
            .expect("a line on stdout")
    }

    /// Sends SIGTERM and returns the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        self.child.wait().expect("wait")
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
