//! The headless commands as a script runs them, against a real redis-server: `health`,
//! `errors`, `topics`, `exporter` and `tail --metrics`, with their output and exit
//! codes. Each test has a channel prefix of its own.

mod support;

use support::http::http;

use std::time::Instant;
use support::process::{Background, LINE_WAIT, gilmour, run, text};
use support::{Backend, Server};

fn server() -> &'static Server {
    Server::shared(Backend::Redis)
}

/// `gilmour --prefix PREFIX ARGS…`, waited for.
fn at(prefix: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--prefix", prefix];
    all.extend_from_slice(args);
    run(server(), &all)
}

fn serve(prefix: &str, args: &[&str]) -> Background {
    let mut all = vec!["--prefix", prefix];
    all.extend_from_slice(args);
    Background::serving(server(), &all)
}

fn start(prefix: &str, args: &[&str]) -> Background {
    let mut all = vec!["--prefix", prefix];
    all.extend_from_slice(args);
    Background::start(server(), &all)
}

fn request(prefix: &str, topic: &str, data: &str) -> std::process::Output {
    at(prefix, &["request", topic, data])
}

#[test]
fn health_exits_0_when_all_answer_and_1_when_one_is_gone() {
    let prefix = "ch.health";
    let _echo = serve(prefix, &["reply", "echo", "--health"]);
    let output = at(prefix, &["health"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(stdout.starts_with("alive "), "{stdout}");
    assert!(stdout.contains("ch.health.request.echo"), "{stdout}");
    assert_eq!(text(&output.stderr), "gilmour: 1 host: 1 alive\n");

    // A process that crashed left its ident behind.
    server().command(&["HSET", "ch.health.known_host.health", "ghost", "true"]);
    let output = at(prefix, &["health"]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = text(&output.stdout);
    assert!(
        stdout.lines().any(|line| line.starts_with("dead ")
            && line.contains("ghost")
            && line.contains("nobody listens on its health channel")),
        "{stdout}"
    );
    let output = at(prefix, &["health", "--json"]);
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(report["healthy"], false);
    let states: Vec<&str> = report["hosts"]
        .as_array()
        .expect("hosts")
        .iter()
        .map(|host| host["health"]["state"].as_str().expect("state"))
        .collect();
    assert!(
        states.contains(&"dead") && states.contains(&"alive"),
        "{report}"
    );
    assert_eq!(report["listeners"]["requests"][0]["topic"], "echo");

    // Pruned after two pings; the run that found it dead still says so.
    let output = at(prefix, &["health", "--prune-dead"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("gilmour: removed ghost from ch.health.known_host.health"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(at(prefix, &["health"]).status.code(), Some(0));
}

#[test]
fn health_with_no_known_hosts_is_healthy_and_watch_repeats() {
    let prefix = "ch.nohosts";
    let output = at(prefix, &["health"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        text(&output.stdout),
        "no known hosts in ch.nohosts.known_host.health\n"
    );
    let mut watch = start(prefix, &["health", "--json", "--watch", "0.2"]);
    for _ in 0..2 {
        let round: serde_json::Value =
            serde_json::from_str(&watch.stdout_line()).expect("a JSON round");
        assert_eq!(round["healthy"], true);
    }
    assert!(watch.terminate().success());
}

#[test]
fn commands_on_an_unreachable_redis_exit_3_without_the_password() {
    for args in [
        &["health"][..],
        &["errors", "list"],
        &["topics", "--seconds", "1"],
        &["exporter", "--listen", "127.0.0.1:0"],
    ] {
        let output = gilmour(server())
            .args(["--redis", "redis://:hunter2@127.0.0.1:1"])
            .args(args)
            .output()
            .expect("run");
        assert_eq!(output.status.code(), Some(3), "{args:?}");
        let stderr = text(&output.stderr);
        assert!(stderr.contains("redis://:***@127.0.0.1:1"), "{stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
}

/// A record of ours for a request to `topic` with `data` (JSON text), failed with `code`.
fn record(prefix: &str, topic: &str, data: &str, sender: &str, code: i64) -> String {
    serde_json::json!({
        "topic": format!("{prefix}.request.{topic}"),
        "request_data": data,
        "user_data": "it broke",
        "sender": sender,
        "multi_process": false,
        "timestamp": "2026-12-01T19:00:00Z",
        "backtrace": null,
        "code": code,
    })
    .to_string()
}

#[test]
fn errors_lists_shows_resends_deletes_and_trims_the_queue() {
    let prefix = "ch.errors";
    let queue = "ch.errors.errorqueue";
    let _echo = serve(prefix, &["reply", "echo"]);
    for (n, (topic, code)) in [("echo", 500), ("gone", 503), ("echo", 499)]
        .into_iter()
        .enumerate()
    {
        let entry = record(
            prefix,
            topic,
            &format!("{{\"n\":{n}}}"),
            &format!("s{n}"),
            code,
        );
        server().command(&["LPUSH", queue, &entry]);
    }
    server().command(&["LPUSH", queue, "not a record"]);

    let output = at(prefix, &["errors", "list", "--json"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let entries: Vec<serde_json::Value> = text(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(entries.len(), 4);
    assert_eq!(entries[0]["layout"], serde_json::Value::Null);
    assert_eq!(
        (
            &entries[1]["topic"],
            &entries[1]["code"],
            &entries[1]["sender"]
        ),
        (&"echo".into(), &499.into(), &"s2".into())
    );
    assert_eq!(
        text(&output.stderr),
        "gilmour: 4 of 4 entries in ch.errors.errorqueue\n"
    );
    // The default is list; filters pick entries as they pick traces.
    let output = at(prefix, &["errors", "--filter", "code:>=500", "--json"]);
    let senders: Vec<String> = text(&output.stdout)
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).expect("json")["sender"].to_string()
        })
        .collect();
    assert_eq!(senders, ["\"s1\"", "\"s0\""]);
    let output = at(prefix, &["errors", "--filter", "code:>=", "list"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).starts_with("gilmour: invalid filter:"));

    let output = at(prefix, &["errors", "show", "3"]);
    assert!(output.status.success());
    let shown = text(&output.stdout);
    assert!(
        shown.contains("topic:        echo") && shown.contains("request data: {\"n\":0}"),
        "{shown}"
    );
    let output = at(prefix, &["errors", "show", "9"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        "gilmour: the queue has no entry 9 (it holds 4)\n"
    );

    // Re-sent to echo: answered 200 with the request's data.
    let output = at(prefix, &["errors", "resend", "3"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "{\"n\":0}\n");
    let output = at(prefix, &["errors", "resend", "2"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr).lines().last(),
        Some("gilmour: no active listeners for `gone`")
    );
    let output = at(prefix, &["errors", "resend", "0"]);
    assert_eq!(output.status.code(), Some(2));

    // Delete refuses another entry than the one named, then deletes it.
    let output = at(prefix, &["errors", "delete", "1", "--sender", "s0"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("nothing deleted"));
    assert_eq!(server().command(&["LLEN", queue]), "4");
    let output = at(prefix, &["errors", "delete", "1", "--sender", "s2"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(server().command(&["LLEN", queue]), "3");

    let output = at(prefix, &["errors", "trim", "--keep", "1"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        text(&output.stderr),
        "gilmour: removed 2 entries from ch.errors.errorqueue, kept at most the 1 newest\n"
    );
    assert_eq!(
        server().command(&["LRANGE", queue, "0", "-1"]),
        "not a record"
    );
    let output = at(prefix, &["errors", "trim"]);
    assert_eq!(output.status.code(), Some(2), "--keep is required");
}

#[test]
fn errors_reads_the_queue_it_is_told_to() {
    let prefix = "ch.named";
    server().command(&["LPUSH", "ops.failures", &record(prefix, "t", "1", "x", 500)]);
    let output = at(prefix, &["errors", "--error-queue", "ops.failures", "list"]);
    assert!(output.status.success());
    assert_eq!(text(&output.stdout).lines().count(), 1);
    assert!(text(&output.stdout).contains("it broke"));
}

#[test]
fn topics_with_deep_capture_names_who_answered() {
    let prefix = "ch.deeptopics";
    let _echo = serve(prefix, &["reply", "echo"]);
    let watching = start(prefix, &["topics", "--seconds", "2", "--json", "--deep"]);
    assert!(
        watching
            .stderr_line()
            .starts_with("gilmour: watching ch.deeptopics.* on ")
    );
    for n in 0..3 {
        assert!(request(prefix, "echo", &n.to_string()).status.success());
    }
    let figures: serde_json::Value = serde_json::from_str(&watching.stdout_line()).expect("json");
    let responders = figures["responders"].as_array().expect("responders");
    assert_eq!(responders.len(), 1, "{figures}");
    assert!(
        responders[0]["name"]
            .as_str()
            .expect("name")
            .starts_with("gilmour:"),
        "{figures}"
    );
    assert_eq!(responders[0]["count"], 3);
}

#[test]
fn topics_prints_the_figures_of_what_it_watched() {
    let prefix = "ch.topics";
    let _echo = serve(prefix, &["reply", "echo"]);
    let watching = start(prefix, &["topics", "--seconds", "3", "--json"]);
    assert!(
        watching
            .stderr_line()
            .starts_with("gilmour: watching ch.topics.* on ")
    );
    for n in 0..4 {
        assert!(request(prefix, "echo", &n.to_string()).status.success());
    }
    let line = watching.stdout_line();
    let figures: serde_json::Value = serde_json::from_str(&line).expect("json");
    assert_eq!(figures["topic"], "echo");
    assert_eq!(figures["count"], 4);
    assert_eq!(figures["errors"], 0);
    assert_eq!(figures["listeners"], 1);
    assert!(figures["p99_ms"].as_f64().expect("p99") > 0.0, "{figures}");
    assert_eq!(
        figures["responders"],
        serde_json::json!([]),
        "named only by --deep"
    );
    assert!(
        watching
            .stderr_line()
            .starts_with("gilmour: 1 topics, 4 traces in ")
    );
}

/// The address in a `serving metrics on http://ADDR/metrics` line.
fn metrics_address(background: &Background) -> String {
    let deadline = Instant::now() + LINE_WAIT;
    loop {
        assert!(Instant::now() < deadline, "no metrics address announced");
        let line = background.stderr_line();
        if let Some(rest) = line.split_once("serving metrics on http://") {
            return rest.1.split_once("/metrics").expect("path").0.to_owned();
        }
    }
}

/// Scrapes until `line` is in the exposition, or fails after a while.
fn scrape_until(address: &str, line: &str) -> String {
    support::http::scrape_until(address, line, LINE_WAIT)
}

#[test]
fn exporter_serves_what_it_captures_as_openmetrics() {
    let prefix = "ch.exporter";
    let _echo = serve(prefix, &["reply", "echo", "--health"]);
    let _fail = serve(prefix, &["reply", "fail", "--exec", "exit 3"]);
    let exporter = start(
        prefix,
        &["exporter", "--listen", "127.0.0.1:0", "--poll", "0.2"],
    );
    let address = metrics_address(&exporter);
    for n in 0..3 {
        assert!(request(prefix, "echo", &n.to_string()).status.success());
    }
    assert_eq!(request(prefix, "fail", "x").status.code(), Some(1));
    server().command(&["LPUSH", "ch.exporter.errorqueue", "a", "b"]);
    let body = scrape_until(
        address.as_str(),
        r#"gilmour_requests_total{topic="echo",class="2xx"} 3"#,
    );
    for line in [
        r#"gilmour_requests_total{topic="fail",class="5xx"} 1"#,
        r#"gilmour_errors_total{topic="fail"} 1"#,
        r#"gilmour_request_latency_seconds_count{topic="echo"} 3"#,
        "gilmour_capture_connected 1",
    ] {
        assert!(
            body.lines().any(|l| l == line),
            "{line} missing from\n{body}"
        );
    }
    assert!(body.ends_with("# EOF\n"), "{body}");
    scrape_until(address.as_str(), r#"gilmour_hosts{state="alive"} 1"#);
    scrape_until(address.as_str(), "gilmour_error_queue_length 2");
    let (head, _) = http(&address, "GET", "/metrics");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/openmetrics-text; version=1.0.0"),
        "{head}"
    );
    assert!(http(&address, "GET", "/nothing").0.contains(" 404 "));
    assert!(http(&address, "POST", "/metrics").0.contains(" 405 "));
}

#[test]
fn tail_serves_metrics_too_and_refuses_them_offline() {
    let prefix = "ch.tail";
    let _echo = serve(prefix, &["reply", "echo"]);
    let tail = start(prefix, &["tail", "--metrics", "127.0.0.1:0", "--poll", "0"]);
    let address = metrics_address(&tail);
    assert!(tail.stderr_line().starts_with("gilmour: tailing ch.tail.*"));
    assert!(request(prefix, "echo", "1").status.success());
    assert!(tail.stdout_line().contains("echo"));
    scrape_until(
        &address,
        r#"gilmour_requests_total{topic="echo",class="2xx"} 1"#,
    );

    let output = at(prefix, &["tail", "--read", "-", "--metrics", "127.0.0.1:0"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        text(&output.stderr),
        "gilmour: --metrics needs live capture, not --read\n"
    );
}

#[test]
fn health_watch_goes_on_through_a_redis_outage() {
    let server = Server::start(Backend::Redis);
    let mut watch = Background::start(&server, &["health", "--json", "--watch", "0.2"]);
    assert!(watch.stdout_line().contains("\"healthy\":true"));
    server.stop();
    let deadline = Instant::now() + LINE_WAIT;
    loop {
        let line = watch.stderr_line();
        if line.starts_with("gilmour: ") && line.contains("Redis") {
            break;
        }
        assert!(Instant::now() < deadline, "no word of the outage");
    }
    server.restart();
    let back = chrono::Utc::now();
    // Rounds come again once Redis is back (rounds from before the outage come first).
    let deadline = Instant::now() + LINE_WAIT;
    loop {
        let round: serde_json::Value =
            serde_json::from_str(&watch.stdout_line()).expect("a JSON round");
        let at: chrono::DateTime<chrono::Utc> =
            round["at"].as_str().expect("at").parse().expect("a time");
        if at > back {
            assert_eq!(round["healthy"], true);
            break;
        }
        assert!(Instant::now() < deadline, "no round after the outage");
    }
    watch.terminate();
}
