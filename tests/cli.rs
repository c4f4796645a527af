//! The `gilmour` binary against a real redis-server (and the built-in broker where it
//! matters): serve from the shell in one process, call from another; run the broker and
//! the demo.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;
use support::{Backend, Server};

fn gilmour(server: &Server) -> Command {
    gilmour_at(&server.url())
}

fn gilmour_at(url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gilmour"));
    command.env("REDIS_URL", url).env_remove("RUST_LOG");
    command
}

fn run(server: &Server, args: &[&str]) -> Output {
    gilmour(server).args(args).output().expect("run gilmour")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A long-running `gilmour` (reply, slot), killed when dropped. Its output is read by
/// threads, so that a test waiting for a line fails after a while instead of hanging.
struct Background {
    child: Child,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
}

const LINE_WAIT: Duration = Duration::from_secs(10);

fn lines(stream: impl Read + Send + 'static) -> Receiver<String> {
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
    fn serving(server: &Server, args: &[&str]) -> Background {
        Background::serving_at(&server.url(), args)
    }

    fn serving_at(url: &str, args: &[&str]) -> Background {
        let background = Background::start_at(url, args);
        let line = background.stderr_line();
        assert!(
            line.contains("serving") || line.contains("listening"),
            "unexpected first line: {line}"
        );
        background
    }

    fn start(server: &Server, args: &[&str]) -> Background {
        Background::start_at(&server.url(), args)
    }

    fn start_at(url: &str, args: &[&str]) -> Background {
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

    fn stderr_line(&self) -> String {
        self.stderr
            .recv_timeout(LINE_WAIT)
            .expect("a line on stderr")
    }

    fn stdout_line(&self) -> String {
        self.stdout
            .recv_timeout(LINE_WAIT)
            .expect("a line on stdout")
    }

    /// Sends SIGTERM and returns the exit status.
    fn terminate(&mut self) -> std::process::ExitStatus {
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

#[test]
fn reply_echo_and_request_hello() {
    let server = Server::shared(Backend::Redis);
    let _echo = Background::serving(server, &["reply", "cli.echo"]);
    let output = run(server, &["request", "cli.echo", "hello"]);
    assert_eq!(text(&output.stdout), "\"hello\"\n");
    assert!(output.status.success(), "{}", text(&output.stderr));
    let output = run(server, &["request", "cli.echo", r#"{"a":[1,2]}"#]);
    assert_eq!(text(&output.stdout), "{\"a\":[1,2]}\n");
    let output = run(server, &["request", "cli.echo", "7", "--full"]);
    let message: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(message["data"], 7);
    assert_eq!(message["code"], 200);
    assert!(
        message["sender"]
            .as_str()
            .expect("sender")
            .starts_with("gilmour.response.")
    );
}

#[test]
fn request_nobody_listens_exits_2() {
    let server = Server::shared(Backend::Redis);
    let output = run(server, &["request", "cli.nobody", "x"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        "gilmour: no active listeners for `cli.nobody`\n"
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn unreachable_redis_exits_2_with_one_line() {
    let server = Server::shared(Backend::Redis);
    let output = gilmour(server)
        .args(["--redis", "redis://127.0.0.1:1", "request", "x"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("gilmour: cannot connect to Redis at redis://127.0.0.1:1"),
        "{stderr}"
    );
}

#[test]
fn reply_exec_runs_the_command_per_request() {
    let server = Server::shared(Backend::Redis);
    let _upper = Background::serving(server, &["reply", "cli.upper", "--exec", "tr a-z A-Z"]);
    let output = run(server, &["request", "cli.upper", "hello"]);
    assert_eq!(text(&output.stdout), "\"HELLO\"\n");
    let _words = Background::serving(server, &["reply", "cli.words", "--exec", "echo not json"]);
    let output = run(server, &["request", "cli.words"]);
    assert_eq!(text(&output.stdout), "\"not json\"\n");
}

#[test]
fn reply_exec_failure_is_500_with_stderr() {
    let server = Server::shared(Backend::Redis);
    let _failing = Background::serving(
        server,
        &["reply", "cli.fail", "--exec", "echo broken >&2; exit 3"],
    );
    let output = run(server, &["request", "cli.fail", "x"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        text(&output.stderr),
        "gilmour: cli.fail answered 500: \"broken\"\n"
    );
}

#[test]
fn request_timeout_exits_1_with_499() {
    let server = Server::shared(Backend::Redis);
    let _slow = Background::serving(server, &["reply", "cli.slow", "--exec", "sleep 5"]);
    let output = run(server, &["request", "cli.slow", "--timeout", "0.2"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        text(&output.stderr),
        "gilmour: cli.slow answered 499: \"Execution timed out\"\n"
    );
}

#[test]
fn signal_and_slot() {
    let server = Server::shared(Backend::Redis);
    let output = run(server, &["signal", "cli.event", "x"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        "gilmour: signal on `cli.event` was not received by anyone\n"
    );

    let slot = Background::serving(server, &["slot", "cli.event*"]);
    let output = run(server, &["signal", "cli.event.created", r#"{"id":1}"#]);
    assert!(output.status.success());
    let sender = text(&output.stdout).trim().to_owned();
    let line: serde_json::Value = serde_json::from_str(&slot.stdout_line()).expect("json line");
    assert_eq!(
        line,
        serde_json::json!({"topic": "cli.event.created", "sender": sender, "data": {"id": 1}})
    );
}

#[test]
fn reply_stops_cleanly_on_sigterm_and_removes_its_health_ident() {
    let server = Server::start(Backend::Redis);
    let mut echo = Background::serving(&server, &["reply", "cli.health", "--health"]);
    let idents = server.command(&["HKEYS", "gilmour.known_host.health"]);
    assert_eq!(idents.lines().count(), 1, "{idents}");
    assert!(echo.terminate().success());
    assert_eq!(server.command(&["HLEN", "gilmour.known_host.health"]), "0");
    assert_eq!(
        server.command(&["PUBSUB", "NUMSUB", "gilmour.request.cli.health"]),
        "gilmour.request.cli.health\n0"
    );
}

#[test]
fn bench_reports_json_figures_and_spends_at_most_5_commands_per_request() {
    bench_on(Backend::Redis);
}

#[test]
fn bench_counts_commands_on_the_broker_too() {
    bench_on(Backend::Broker);
}

fn bench_on(backend: Backend) {
    let server = Server::start(backend);
    let output = run(
        &server,
        &[
            "bench",
            "--seconds",
            "0.3",
            "--concurrency",
            "1,4",
            "--json",
        ],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json report");
    let round_trips = report["round_trips"].as_array().expect("round trips");
    assert_eq!(round_trips.len(), 2);
    for measured in round_trips {
        assert!(measured["requests"].as_u64().expect("requests") > 0);
        assert_eq!(measured["failures"], 0);
        let commands = measured["redis_commands_per_request"]
            .as_f64()
            .expect("commands");
        assert!(
            (3.9..=5.0).contains(&commands),
            "{commands} commands per request"
        );
    }
    assert!(report["signals_per_second"].as_f64().expect("signals") > 0.0);
    assert!(
        report["publish_baseline_per_second"]
            .as_f64()
            .expect("baseline")
            > 0.0
    );
}

#[test]
fn compose_runs_a_pipe_into_a_parallel_of_shell_services() {
    let server = Server::shared(Backend::Redis);
    let _upper = Background::serving(server, &["reply", "upper", "--exec", "tr a-z A-Z"]);
    let _lower = Background::serving(server, &["reply", "lower", "--exec", "tr A-Z a-z"]);
    let output = run(
        server,
        &["compose", "upper | [upper, lower] ", "\"Hello\"", "--steps"],
    );
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(text(&output.stdout), "[\"HELLO\",\"hello\"]\n");
    // `--steps`: code, milliseconds, topic, in the order the steps started.
    let mut steps: Vec<(String, String)> = stderr
        .lines()
        .map(
            |line| match line.split_whitespace().collect::<Vec<_>>()[..] {
                [code, ms, "ms", topic] if ms.parse::<f64>().is_ok() => {
                    (code.to_owned(), topic.to_owned())
                }
                _ => panic!("not a step line: {line:?}"),
            },
        )
        .collect();
    assert_eq!(steps.first(), Some(&("200".to_owned(), "upper".to_owned())));
    steps[1..].sort();
    assert_eq!(
        steps,
        [("200", "upper"), ("200", "lower"), ("200", "upper")]
            .map(|(code, topic)| (code.to_owned(), topic.to_owned()))
    );

    let output = run(server, &["compose", "upper | cli.nobody", "x"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        text(&output.stderr),
        "gilmour: the composition answered 404: \"no active listeners for `cli.nobody`\"\n"
    );
    assert!(output.stdout.is_empty());
    let output = run(server, &["compose", "cli.nobody || lower", "ABC"]);
    assert_eq!(text(&output.stdout), "\"abc\"\n");
}

#[test]
fn compose_syntax_error_exits_2_with_a_caret_before_connecting() {
    let server = Server::shared(Backend::Redis);
    let output = gilmour(server)
        .args(["--redis", "redis://127.0.0.1:1", "compose", "upper |", "x"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        "gilmour: expected a topic after '|' at column 8\n  upper |\n         ^\n"
    );
    assert!(output.stdout.is_empty());

    let output = gilmour(server)
        .args(["--redis", "redis://127.0.0.1:1", "compose", "upper | lower"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).starts_with("gilmour: cannot connect to Redis at redis://127.0.0.1:1"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn tail_prints_one_line_per_request_and_json_for_jq() {
    let server = Server::start(Backend::Redis);
    let _echo = Background::serving(&server, &["reply", "echo"]);
    let tail = Background::start(&server, &["tail"]);
    assert!(tail.stderr_line().contains("tailing gilmour.*"));
    let json = Background::start(&server, &["tail", "--json", "--filter", "topic:echo"]);
    assert!(json.stderr_line().contains("tailing"));
    for word in ["hello", "world"] {
        assert!(run(&server, &["request", "echo", word]).status.success());
    }
    for word in ["hello", "world"] {
        let line = tail.stdout_line();
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[1..4], ["req", "echo", "200"], "{line}");
        assert!(fields[4].ends_with("ms"), "latency in {line}");
        assert_eq!(fields[5], "ok");
        assert!(line.ends_with(&format!("\"{word}\"")), "{line}");
        let object: serde_json::Value =
            serde_json::from_str(&json.stdout_line()).expect("one JSON object per line");
        assert_eq!(object["kind"], "req");
        assert_eq!(object["status"], "ok");
        assert_eq!(object["code"], 200);
        assert_eq!(object["request"]["payload"]["data"], word);
        assert_eq!(object["reply"]["payload"]["data"], word);
        assert!(object["latency_ms"].as_f64().expect("latency") >= 0.0);
    }
}

#[test]
fn tail_ends_with_a_summary_on_interrupt() {
    let server = Server::start(Backend::Redis);
    let _echo = Background::serving(&server, &["reply", "echo"]);
    let mut tail = Background::start(&server, &["tail"]);
    assert!(tail.stderr_line().contains("tailing"));
    assert!(run(&server, &["request", "echo", "x"]).status.success());
    tail.stdout_line();
    assert!(tail.terminate().success());
    assert_eq!(
        tail.stderr_line(),
        "gilmour: 1 traces, 0 errors, 0 timeouts, 0 unanswered, 0 orphans, 0 evicted, 0 dropped, 0 gaps"
    );
}

#[test]
fn record_then_tail_read_replays_offline() {
    let server = Server::start(Backend::Redis);
    let dir = std::env::temp_dir().join(format!("gilmour-record-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("capture.jsonl");
    let path_text = path.to_str().expect("utf-8 path");
    let _echo = Background::serving(&server, &["reply", "echo"]);
    let mut record = Background::start(&server, &["record", path_text]);
    assert!(record.stderr_line().contains("recording"));
    assert!(run(&server, &["request", "echo", "one"]).status.success());
    let output = run(&server, &["request", "nobody-home", "x"]);
    assert_eq!(output.status.code(), Some(2));
    server.command(&["PUBLISH", "gilmour.slot.news", "\u{1b}]0;pwned\u{7}"]);
    // Both the request and reply were captured once the slot message is in the file.
    let deadline = std::time::Instant::now() + LINE_WAIT;
    while std::fs::read_to_string(&path).map_or(0, |text| text.lines().count()) < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "record wrote too little"
        );
        std::thread::yield_now();
    }
    assert!(record.terminate().success());
    let output = run(
        &server,
        &[
            "tail",
            "--read",
            path_text,
            "--redis",
            "redis://127.0.0.1:1",
        ],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].contains(" req ") && lines[0].contains("\"one\""),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains(" slot ") && lines[1].contains("news"),
        "{}",
        lines[1]
    );
    assert!(
        !stdout.contains('\u{1b}'),
        "escape sequences never reach the terminal"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn tail_rejects_a_bad_filter_with_the_column() {
    let server = Server::shared(Backend::Redis);
    let output = run(server, &["tail", "--filter", "code:>>400"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.starts_with("gilmour: invalid filter: "), "{stderr}");
    assert!(stderr.contains('^'), "{stderr}");
}

#[test]
fn bench_ingest_reports_json_figures_with_nothing_lost() {
    let server = Server::start(Backend::Redis);
    let output = run(
        &server,
        &[
            "bench",
            "ingest",
            "--messages",
            "2000",
            "--traces",
            "500",
            "--rate",
            "20000",
            "--json",
        ],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json report");
    assert_eq!(report["live"]["published"], 2000);
    assert_eq!(report["live"]["received"], 2000);
    assert_eq!(report["live"]["dropped"], 0);
    assert_eq!(report["traces_stored"], 500);
    let filters = report["filters"].as_array().expect("filters");
    assert_eq!(filters[0]["filter"], "topic:bench.t1*");
    assert_eq!(filters[0]["matched"], 50, "one topic in ten");
    assert_eq!(filters[1]["matched"], 5, "one 500 in a hundred");
}

#[test]
fn reply_exec_streams_big_payloads_both_ways() {
    let server = Server::shared(Backend::Redis);
    let _cat = Background::serving(server, &["reply", "cli.cat", "--exec", "cat"]);
    let big = format!("\"{}\"", "x".repeat(300_000));
    let output = gilmour(server)
        .args(["request", "cli.cat", "-", "--timeout", "20"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(big.as_bytes())?;
            child.wait_with_output()
        })
        .expect("run");
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout).trim_end(), big);
}

#[test]
fn broker_carries_reply_and_request_between_processes() {
    // The URL is only known once the broker runs: nothing is listening there yet.
    let broker = Background::start_at("redis://127.0.0.1:1", &["broker", "--port", "0"]);
    let url = broker.stdout_line();
    assert!(url.starts_with("redis://127.0.0.1:"), "{url}");
    assert!(broker.stderr_line().contains("broker listening on"));
    let _echo = Background::serving_at(&url, &["reply", "cli.broker-echo"]);
    let output = gilmour_at(&url)
        .args(["request", "cli.broker-echo", r#"{"via":"broker"}"#])
        .output()
        .expect("run gilmour");
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "{\"via\":\"broker\"}\n");
}

#[test]
fn broker_refuses_a_port_in_use() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("address").port().to_string();
    let output = gilmour_at("redis://127.0.0.1:1")
        .args(["broker", "--port", &port])
        .output()
        .expect("run gilmour");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).starts_with(&format!("gilmour: cannot listen on 127.0.0.1:{port}")),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn demo_no_tui_prints_the_url_and_serves_the_talk() {
    let server = Server::start(Backend::Redis);
    let mut demo = Background::start(
        &server,
        &["demo", "--no-tui", "--rate", "0", "--prefix", "clidemo"],
    );
    assert_eq!(demo.stdout_line(), server.url());
    let note = demo.stderr_line();
    assert!(
        note.starts_with("gilmour: demo services and traffic (0 actions/s) on "),
        "{note}"
    );
    assert!(note.contains("(the Redis given)"), "{note}");
    let output = run(&server, &["request", "echo", "hi", "--prefix", "clidemo"]);
    assert_eq!(
        text(&output.stdout),
        "\"Pong hi\"\n",
        "{}",
        text(&output.stderr)
    );
    let output = run(
        &server,
        &[
            "compose",
            gilmour::demo::WORD_COUNT,
            "\"any url\"",
            "--prefix",
            "clidemo",
        ],
    );
    assert_eq!(
        text(&output.stdout),
        "[{\"count\":2,\"word\":\"far\"},{\"count\":8,\"word\":\"here\"},{\"count\":3,\"word\":\"great\"}]\n",
        "{}",
        text(&output.stderr)
    );
    assert_eq!(server.command(&["HLEN", "clidemo.known_host.health"]), "6");
    assert!(demo.terminate().success());
    assert_eq!(server.command(&["HLEN", "clidemo.known_host.health"]), "0");
}

#[test]
fn demo_off_a_terminal_runs_headless_and_says_so() {
    let server = Server::start(Backend::Broker);
    let demo = Background::start(&server, &["demo", "--rate", "0", "--prefix", "clinote"]);
    assert_eq!(
        demo.stderr_line(),
        "gilmour: not on a terminal, so running as --no-tui"
    );
    assert_eq!(demo.stdout_line(), server.url());
}

#[test]
fn tail_prints_an_unanswered_request_again_when_its_reply_comes() {
    let server = Server::start(Backend::Redis);
    let tail = Background::start(&server, &["tail", "--unanswered-after", "0.2"]);
    assert!(tail.stderr_line().contains("tailing"));
    server.command(&[
        "PUBLISH",
        "gilmour.request.late",
        r#"{"data":1,"code":200,"sender":"late-1"}"#,
    ]);
    let first = tail.stdout_line();
    assert!(first.contains(" unanswered "), "{first}");
    server.command(&[
        "PUBLISH",
        "gilmour.response.late-1",
        r#"{"data":2,"code":200}"#,
    ]);
    let second = tail.stdout_line();
    assert!(
        second.contains(" late ") && second.contains(" ok "),
        "{second}"
    );
}
