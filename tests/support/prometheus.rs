//! A real Prometheus server for a test: Debian's `prometheus` started on a free loopback
//! port with a generated configuration that scrapes the given targets every 250 ms, and
//! its HTTP API. It stops when dropped, and when the test process dies (a watchdog shell
//! reads our pipe, as for redis-server); the shell ends with it, so a Prometheus that
//! could not start is seen at once.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long Prometheus gets to start, and a query to come true.
pub const PROMETHEUS_WAIT: Duration = Duration::from_secs(30);

/// A running Prometheus.
pub struct Prometheus {
    watchdog: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus scraping `targets` (`host:port`) at `/metrics`, and waits until
    /// it is ready.
    pub fn start(targets: &[String]) -> Prometheus {
        let binary = ["/usr/bin/prometheus", "prometheus"]
            .into_iter()
            .find(|binary| {
                Command::new(binary)
                    .arg("--version")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok()
            })
            .unwrap_or_else(|| {
                panic!(
                    "prometheus is not installed: the end-to-end metrics test needs a real \
                     one. Install the `prometheus` package (Debian/Ubuntu: apt-get install \
                     prometheus; .ci/run does it)"
                )
            });
        let dir = tempfile::tempdir().expect("a temporary folder");
        let targets: Vec<String> = targets.iter().map(|target| format!("'{target}'")).collect();
        let config = format!(
            "global:\n  scrape_interval: 250ms\n  scrape_timeout: 200ms\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: gilmour\n    static_configs:\n      - targets: [{}]\n",
            targets.join(", ")
        );
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).expect("write the configuration");
        for _ in 0..5 {
            let port = free_port();
            // A background job's stdin is /dev/null unless redirected: the watcher reads
            // ours through fd 3, taken before any job starts.
            let script = format!(
                "exec 3<&0; \"$0\" --config.file='{}' --storage.tsdb.path='{}' \
                 --web.listen-address=127.0.0.1:{port} --log.level=warn >/dev/null 2>&1 & \
                 server=$!; (cat <&3 >/dev/null; kill $server 2>/dev/null) & \
                 wait $server",
                config_path.display(),
                dir.path().join("data").display(),
            );
            let mut watchdog = Command::new("sh")
                .arg("-c")
                .arg(script)
                .arg(binary)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("start prometheus");
            if wait_ready(&mut watchdog, port) {
                return Prometheus {
                    watchdog,
                    port,
                    _dir: dir,
                };
            }
            // Its port was taken meanwhile, or it died: stop it and try another port.
            drop(watchdog.stdin.take());
            let _ = watchdog.wait();
        }
        panic!("prometheus did not become ready on any of 5 free ports");
    }

    /// Runs an instant query; the `data.result` array of the answer.
    pub fn query(&self, promql: &str) -> Vec<serde_json::Value> {
        let path = format!("/api/v1/query?query={}", encode(promql));
        let (status, body) = get(self.port, &path).expect("Prometheus answers");
        assert!(status.contains(" 200 "), "{status}: {body}");
        let answer: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(answer["status"], "success", "{answer}");
        answer["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Queries until `done` holds for the result; the result, or a failure after
    /// [`PROMETHEUS_WAIT`] that shows the last one.
    pub fn query_until(
        &self,
        promql: &str,
        done: impl Fn(&[serde_json::Value]) -> bool,
    ) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + PROMETHEUS_WAIT;
        loop {
            let result = self.query(promql);
            if done(&result) {
                return result;
            }
            assert!(
                Instant::now() < deadline,
                "`{promql}` never came true; last: {result:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        drop(self.watchdog.stdin.take());
        let _ = self.watchdog.wait();
    }
}

/// Waits until Prometheus says it is ready; false when it died or never did.
fn wait_ready(watchdog: &mut Child, port: u16) -> bool {
    let deadline = Instant::now() + PROMETHEUS_WAIT;
    while Instant::now() < deadline {
        if !matches!(watchdog.try_wait(), Ok(None)) {
            return false;
        }
        if let Some((status, _)) = get(port, "/-/ready")
            && status.contains(" 200 ")
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// The value of a vector sample (`[time, "value"]`) as a number.
pub fn value(sample: &serde_json::Value) -> f64 {
    sample["value"][1]
        .as_str()
        .and_then(|text| text.parse().ok())
        .unwrap_or(f64::NAN)
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// Percent-encodes a query parameter.
fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `GET path` over HTTP/1.0: the status line and the body, or `None` when nothing
/// answers.
fn get(port: u16, path: &str) -> Option<(String, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status).ok()?;
    let mut response = String::new();
    reader.read_to_string(&mut response).ok()?;
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    Some((status.trim_end().to_owned(), body.to_owned()))
}
