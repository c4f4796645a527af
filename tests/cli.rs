//! The `gilmour` binary against a real redis-server: serve from the shell in one process,
//! call from another.

mod support;

use std::process::Stdio;
use support::process::{Background, gilmour, gilmour_at, run, text};
use support::{Backend, RawSubscriber, Server};

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
fn unreachable_redis_exits_3_with_one_line() {
    let server = Server::shared(Backend::Redis);
    let output = gilmour(server)
        .args(["--redis", "redis://127.0.0.1:1", "request", "x"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(3));
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
    assert_eq!(output.status.code(), Some(3));
    assert!(
        text(&output.stderr).starts_with("gilmour: cannot connect to Redis at redis://127.0.0.1:1"),
        "{}",
        text(&output.stderr)
    );
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
fn a_url_that_does_not_parse_is_reported_once_and_masked() {
    let server = Server::shared(Backend::Redis);
    for url in ["redis://:pa/ss@127.0.0.1:1", "redis://127.0.0.1:1/notadb"] {
        let output = gilmour(server)
            .args(["--redis", url, "request", "x"])
            .output()
            .expect("run");
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(3), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(!stderr.contains("pa/ss"), "{stderr}");
        assert_eq!(
            stderr.matches("InvalidClientConfig").count(),
            1,
            "each cause once: {stderr}"
        );
    }
}

#[test]
fn losing_redis_while_waiting_exits_3() {
    let server = Server::start(Backend::Redis);
    let mut hole = Background::serving(
        &server,
        &[
            "reply",
            "cli.lost",
            "--exec",
            "sleep 30",
            "--shutdown-timeout",
            "0.1",
        ],
    );
    let mut requests = RawSubscriber::psubscribe(&server, "gilmour.request.cli.lost");
    let caller = gilmour(&server)
        .args(["request", "cli.lost", "x", "--timeout", "20"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start");
    requests.next();
    server.command(&["CLIENT", "KILL", "TYPE", "pubsub"]);
    let output = caller.wait_with_output().expect("wait");
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("lost the connection to Redis"), "{stderr}");
    hole.terminate();
}

#[test]
fn help_documents_the_exit_codes() {
    let server = Server::shared(Backend::Redis);
    for command in [
        &["--help"][..],
        &["request", "--help"],
        &["signal", "--help"],
    ] {
        let output = run(server, command);
        let help = text(&output.stdout);
        assert!(help.contains("Exit codes:"), "{help}");
        assert!(
            help.contains("3  cannot reach or authenticate to Redis"),
            "{help}"
        );
    }
}

#[test]
fn logs_written_to_a_file_carry_no_colours() {
    let server = Server::shared(Backend::Redis);
    let log = std::env::temp_dir().join(format!("gilmour-log-{}.txt", std::process::id()));
    let file = std::fs::File::create(&log).expect("log file");
    let mut reply = gilmour(server)
        .args(["-v", "reply", "cli.colourless"])
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()
        .expect("start");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !std::fs::read_to_string(&log).is_ok_and(|text| text.contains("serving")) {
        assert!(std::time::Instant::now() < deadline, "never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let status = std::process::Command::new("kill")
        .args(["-TERM", &reply.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    assert!(reply.wait().expect("wait").success());
    let logged = std::fs::read_to_string(&log).expect("read the log");
    let _ = std::fs::remove_file(&log);
    assert!(logged.contains("INFO"), "an info line at -v: {logged}");
    assert!(
        !logged.contains('\u{1b}'),
        "no escape sequences: {logged:?}"
    );
}

#[test]
fn a_shutdown_that_gives_up_answers_503_and_ends_the_command_group() {
    let server = Server::shared(Backend::Redis);
    let pid_file = std::env::temp_dir().join(format!("gilmour-group-{}", std::process::id()));
    let pid_path = pid_file.display().to_string();
    // `sleep` runs as a child of the shell: killing the shell alone would orphan it.
    let script = format!("echo $$ > '{pid_path}'; sleep 30; true");
    let mut serving = Background::serving(
        server,
        &[
            "reply",
            "cli.stuck",
            "--exec",
            &script,
            "--shutdown-timeout",
            "0.2",
        ],
    );
    let caller = gilmour(server)
        .args(["request", "cli.stuck", "x", "--timeout", "20"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let group = loop {
        if let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|text| text.trim().parse::<u32>().ok())
        {
            break pid;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the command never ran"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let _ = std::fs::remove_file(&pid_file);
    assert!(serving.terminate().success());
    let output = caller.wait_with_output().expect("wait");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        text(&output.stderr),
        "gilmour: cli.stuck answered 503: \"service shutting down\"\n"
    );
    // Killed processes linger until reaped: wait for the group to be gone.
    let group_alive = || {
        std::process::Command::new("kill")
            .args(["-0", "--", &format!("-{group}")])
            .stderr(Stdio::null())
            .status()
            .expect("kill -0")
            .success()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while group_alive() {
        assert!(
            std::time::Instant::now() < deadline,
            "the command's process group {group} is still there"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn logs_on_a_terminal_are_coloured_unless_no_color_is_set() {
    let server = Server::shared(Backend::Redis);
    let binary = env!("CARGO_BIN_EXE_gilmour");
    // `script` gives the command a terminal for stderr; the reply stops after a second
    // and logs (at -v) what it counted as it stops.
    let on_a_terminal = |no_color: Option<&str>| {
        let mut command = std::process::Command::new("script");
        command
            .args([
                "-qec",
                &format!("timeout -s TERM 1 {binary} -v reply cli.tty"),
                "/dev/null",
            ])
            .env("REDIS_URL", server.url())
            .env_remove("NO_COLOR")
            .env_remove("RUST_LOG");
        if let Some(value) = no_color {
            command.env("NO_COLOR", value);
        }
        let output = command.output().unwrap_or_else(|error| {
            panic!("`script` (util-linux) is needed for this test: {error}")
        });
        let shown = text(&output.stdout);
        assert!(shown.contains("stopped"), "the stop is logged: {shown:?}");
        shown
    };
    assert!(
        on_a_terminal(None).contains("\u{1b}["),
        "colours on a terminal"
    );
    assert!(
        !on_a_terminal(Some("1")).contains('\u{1b}'),
        "NO_COLOR=1: none"
    );
    assert!(
        on_a_terminal(Some("")).contains("\u{1b}["),
        "an empty NO_COLOR is unset"
    );
}
