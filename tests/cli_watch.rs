//! The binary's faces on traffic: `tail` (lines, JSON, filters, replay of a capture
//! file), `record`, and the `bench` measurements.

mod support;

use support::process::{Background, LINE_WAIT, run, text};
use support::{Backend, Server};

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
    let summary = tail.stderr_line();
    assert!(
        summary.starts_with(
            "gilmour: 1 trace, 0 updates, 0 errors, 0 timeouts, 0 unanswered, 0 orphans, 0 gaps, 0 dropped; "
        ),
        "{summary}"
    );
    assert!(
        summary.contains(" held (1 trace), 0 B evicted (0 traces)"),
        "bytes held and evicted: {summary}"
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
            "--large-traces",
            "40",
            "--large-size",
            "300000",
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
    let large = &report["large"];
    assert_eq!(large["traces"], 40);
    assert_eq!(
        large["evicted"], 0,
        "40 cut payloads fit the default budget"
    );
    assert!(large["store_bytes"].as_u64().expect("bytes") <= 40 * 2 * (64 << 10) + 40 * 2048);
    assert!(large["resident_bytes"].as_u64().is_some());
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

const RUBY_SID: &str = "9a8b7c6d5e4f30211203948576abcdef";

/// Ruby's error record, enveloped, as captured; Ruby publishes it and the reply from two
/// jobs, so it may come after the reply.
fn ruby_record(topic: &str) -> String {
    format!(
        r#"{{"data":{{"backtrace":"no such user","code":500,"topic":"gilmour.request.{topic}","request_data":"x","userdata":"{{}}","sender":"{RUBY_SID}","multi_process":false,"timestamp":"2026-12-01 19:05:47 UTC"}},"code":0,"sender":"0123456789abcdef0123456789abcdef"}}"#
    )
}

/// A request answered with a failure whose record comes after the reply, and a request
/// whose caller timed out before its responder answered.
const LATE_EVENTS: [(&str, &str); 5] = [
    (
        "gilmour.request.users.find",
        r#"{"data":"x","code":0,"sender":"9a8b7c6d5e4f30211203948576abcdef"}"#,
    ),
    (
        "gilmour.response.9a8b7c6d5e4f30211203948576abcdef",
        r#"{"data":"no such user","code":500,"sender":"3c5e0f7a9b1d2e4f6a8c0e2f4a6c8e0f"}"#,
    ),
    (
        "gilmour.request.slow",
        r#"{"data":1,"code":200,"sender":"late-2"}"#,
    ),
    (
        "gilmour.response.late-2",
        r#"{"data":"Execution timed out","code":499,"sender":"late-2"}"#,
    ),
    (
        "gilmour.response.late-2",
        r#"{"data":"done","code":200,"sender":"x"}"#,
    ),
];

fn check_late_json(lines: &[serde_json::Value]) {
    assert_eq!(lines.len(), 4, "{lines:#?}");
    let (failed, failed_again) = (&lines[0], &lines[1]);
    assert_eq!(failed["topic"], "users.find");
    assert!(failed.get("update").is_none() && failed.get("errors").is_none());
    assert_eq!(failed_again["update"], true);
    assert_eq!(failed_again["id"], failed["id"], "the same trace, again");
    assert_eq!(failed_again["errors"][0]["record"]["layout"], "ruby");
    assert_eq!(failed_again["errors"][0]["record"]["reply"], "no such user");
    let (timeout, answered) = (&lines[2], &lines[3]);
    assert_eq!(
        (&timeout["status"], &timeout["code"]),
        (&"timeout".into(), &499.into())
    );
    assert_eq!(answered["update"], true);
    assert_eq!(answered["id"], timeout["id"]);
    assert_eq!(answered["status"], "timeout", "the caller did time out");
    assert_eq!(answered["answered_after_timeout"]["code"], 200);
}

#[test]
fn tail_prints_a_trace_again_when_it_changes_after_it_was_printed() {
    let server = Server::start(Backend::Redis);
    let mut json = Background::start(&server, &["tail", "--json"]);
    let mut lines = Background::start(&server, &["tail"]);
    assert!(json.stderr_line().contains("tailing"));
    assert!(lines.stderr_line().contains("tailing"));
    let (request, reply) = (LATE_EVENTS[0], LATE_EVENTS[1]);
    server.command(&["PUBLISH", request.0, request.1]);
    server.command(&["PUBLISH", reply.0, reply.1]);
    server.command(&["PUBLISH", "gilmour.error", &ruby_record("users.find")]);
    for (channel, payload) in &LATE_EVENTS[2..] {
        server.command(&["PUBLISH", channel, payload]);
    }
    let objects: Vec<serde_json::Value> = (0..4)
        .map(|_| serde_json::from_str(&json.stdout_line()).expect("json"))
        .collect();
    check_late_json(&objects);
    let printed: Vec<String> = (0..4).map(|_| lines.stdout_line()).collect();
    assert!(
        !printed[0].contains('↻') && printed[1].contains('↻'),
        "{printed:#?}"
    );
    assert!(printed[3].contains('↻'), "{printed:#?}");
    assert!(
        printed[3].contains("timed out at the caller; the responder answered 200"),
        "{}",
        printed[3]
    );
    assert!(json.terminate().success());
    let summary = json.stderr_line();
    assert!(summary.contains(" 2 updates, "), "{summary}");
    assert!(lines.terminate().success());
}

#[test]
fn tail_read_prints_the_same_updates_from_a_capture_file() {
    let dir = std::env::temp_dir().join(format!("gilmour-late-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("late.jsonl");
    let record = ruby_record("users.find");
    let mut events: Vec<(&str, &str)> = LATE_EVENTS[..2].to_vec();
    events.push(("gilmour.error", &record));
    events.extend_from_slice(&LATE_EVENTS[2..]);
    let file: String = events
        .iter()
        .enumerate()
        .map(|(n, (channel, payload))| {
            let line = serde_json::json!({
                "at": format!("2026-12-01T19:05:47.{:06}Z", n * 1000),
                "channel": channel,
                "payload": payload,
            });
            format!("{line}\n")
        })
        .collect();
    std::fs::write(&path, file).expect("write capture");
    let output = support::process::gilmour_at("redis://127.0.0.1:1")
        .args(["tail", "--json", "--read", path.to_str().expect("path")])
        .output()
        .expect("run");
    assert!(output.status.success(), "{}", text(&output.stderr));
    let objects: Vec<serde_json::Value> = text(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("json"))
        .collect();
    check_late_json(&objects);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn tail_flags_what_did_not_parse_and_never_shows_an_envelope_as_data() {
    let server = Server::start(Backend::Redis);
    let json = Background::start(&server, &["tail", "--json"]);
    let lines = Background::start(&server, &["tail"]);
    assert!(json.stderr_line().contains("tailing"));
    assert!(lines.stderr_line().contains("tailing"));
    let deep = format!(
        r#"{{"data":{}1{},"sender":"d"}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    server.command(&["PUBLISH", "gilmour.slot.deep", &deep]);
    let object: serde_json::Value = serde_json::from_str(&json.stdout_line()).expect("json");
    let why = object["payload_error"].as_str().expect("payload_error");
    assert!(why.starts_with("the envelope did not parse"), "{why}");
    let line = lines.stdout_line();
    assert!(line.contains("! the envelope did not parse"), "{line}");
    assert!(
        !line.contains("[[["),
        "the envelope is not shown as data: {line}"
    );
}

#[test]
fn bench_deep_reports_what_a_monitor_costs() {
    let server = Server::start(Backend::Redis);
    let output = run(
        &server,
        &[
            "bench",
            "--seconds",
            "0.3",
            "--concurrency",
            "4",
            "--deep",
            "--json",
        ],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json report");
    let deep = &report["with_deep_capture"][0];
    assert_eq!(deep["concurrency"], 4);
    assert!(deep["requests_per_second"].as_f64().expect("rate") > 0.0);
    assert!(deep["ratio"].as_f64().expect("ratio") > 0.0);
    assert!(deep["monitor_lines"].as_u64().expect("lines") > 0, "{deep}");
}
