//! The terminal app end to end: the real binary in a tmux pane against a real
//! redis-server with traffic; type a filter, open a trace, quit. Every wait polls the pane
//! until the expected text is there, with a deadline, never a fixed sleep.

mod support;

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::{Backend, Server};

const DEADLINE: Duration = Duration::from_secs(20);

/// A tmux server of our own (its own socket), so a developer's tmux is never touched.
struct Tmux {
    socket: String,
    session: &'static str,
}

impl Tmux {
    fn start(command: &str) -> Tmux {
        Tmux::start_sized(command, 160, 45)
    }

    /// The app in a pane of `width` × `height`.
    fn start_sized(command: &str, width: u16, height: u16) -> Tmux {
        // One tmux server per test: tests of this file run at the same time.
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let number = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmux = Tmux {
            socket: format!("gilmour-test-{}-{number}", std::process::id()),
            session: "tui",
        };
        let output = tmux.run(&[
            "new-session",
            "-d",
            "-s",
            tmux.session,
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            command,
        ]);
        assert!(
            output.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        tmux
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap_or_else(|error| {
                panic!(
                    "tmux is not installed ({error}): .ci/run installs it (apt-get install tmux)"
                )
            })
    }

    fn screen(&self) -> String {
        let output = self.run(&["capture-pane", "-p", "-t", self.session]);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", self.session];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", self.session, "-l", text]);
    }

    /// Waits until the pane shows a screen for which `ready` holds; the screen.
    fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "waited {DEADLINE:?} for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Presses `q` and waits for the app to end (its session with it).
    fn quit(&self) {
        self.keys(&["q"]);
        let start = Instant::now();
        while self.alive() {
            assert!(
                start.elapsed() < DEADLINE,
                "the app did not quit:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn alive(&self) -> bool {
        self.run(&["has-session", "-t", self.session])
            .status
            .success()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

/// A `gilmour reply` killed when dropped.
struct Responder(Child);

impl Responder {
    fn echo(server: &Server, topic: &str) -> Responder {
        Responder::start(server, topic, &[])
    }

    /// `gilmour reply TOPIC ARGS…`, once it listens.
    fn start(server: &Server, topic: &str, args: &[&str]) -> Responder {
        let child = Command::new(env!("CARGO_BIN_EXE_gilmour"))
            .args(["reply", topic])
            .args(args)
            .env("REDIS_URL", server.url())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start gilmour reply");
        let channel = format!("gilmour.request.{topic}");
        let start = Instant::now();
        while server.command(&["PUBSUB", "NUMSUB", &channel]) != format!("{channel}\n1") {
            assert!(
                start.elapsed() < DEADLINE,
                "{topic} never got its responder"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Responder(child)
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn request(server: &Server, topic: &str, data: &str) {
    let output = Command::new(env!("CARGO_BIN_EXE_gilmour"))
        .args(["request", topic, data])
        .env("REDIS_URL", server.url())
        .output()
        .expect("run gilmour request");
    assert!(output.status.success(), "{output:?}");
}

#[test]
fn watch_filter_open_a_trace_and_quit() {
    let server = Server::start(Backend::Redis);
    let _echo = Responder::echo(&server, "tui.echo");
    let _other = Responder::echo(&server, "tui.other");
    let command = format!(
        "env REDIS_URL={} {}",
        server.url(),
        env!("CARGO_BIN_EXE_gilmour")
    );
    let tmux = Tmux::start(&command);
    tmux.wait_for("the app to be live", |screen| screen.contains("● live"));

    for n in 1..=3 {
        request(&server, "tui.echo", &format!(r#"{{"n":{n}}}"#));
    }
    request(&server, "tui.other", r#""elsewhere""#);
    let screen = tmux.wait_for("four traces", |screen| screen.contains("4 shown"));
    assert!(
        screen.contains("tui.other") && screen.contains(r#"{"n":3}"#),
        "{screen}"
    );

    tmux.keys(&["/"]);
    tmux.type_text("topic:tui.echo and (");
    tmux.wait_for("the parse error", |screen| {
        screen.contains("expected a filter after '('")
    });
    for _ in 0..6 {
        tmux.keys(&["BSpace"]);
    }
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("the filter to apply", |screen| {
        screen.contains("filter topic:tui.echo") && screen.contains("3 shown")
    });
    assert!(!screen.contains("elsewhere"), "{screen}");

    tmux.keys(&["Down", "Enter"]);
    let screen = tmux.wait_for("the detail", |screen| {
        screen.contains("Request  on gilmour.request.tui.echo")
    });
    assert!(
        screen.contains(r#""n": 2"#),
        "the second newest trace: {screen}"
    );
    assert!(screen.contains("Reply  on gilmour.response."), "{screen}");

    tmux.quit();
}

#[test]
fn conflicting_key_bindings_are_reported_at_start() {
    let dir = std::env::temp_dir().join(format!("gilmour-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let keys = dir.join("keys.toml");
    std::fs::write(&keys, "[traces]\nreplay = \"m\"\n").expect("write keys.toml");
    let output = Command::new(env!("CARGO_BIN_EXE_gilmour"))
        .arg("--keys")
        .arg(&keys)
        .output()
        .expect("run gilmour");
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("[traces] `m` is bound to both replay and mark"),
        "{stderr}"
    );
}

#[test]
fn without_a_terminal_it_says_so() {
    let output = Command::new(env!("CARGO_BIN_EXE_gilmour"))
        .arg("tui")
        .stdin(Stdio::null())
        .output()
        .expect("run gilmour");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("needs a terminal"));
}

#[test]
fn bench_render_reports_every_scenario_as_json() {
    // Global options before the command are fine; no Redis is needed.
    let output = Command::new(env!("CARGO_BIN_EXE_gilmour"))
        .args(["--redis", "redis://127.0.0.1:1", "bench", "render"])
        .args(["--traces", "500", "--frames", "2", "--json"])
        .output()
        .expect("run gilmour bench render");
    assert!(output.status.success(), "{output:?}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(report["traces"], 500);
    assert_eq!(report["scenarios"].as_array().map(Vec::len), Some(6));
}

#[test]
fn the_demo_opens_the_app_on_the_redis_it_found() {
    let server = Server::start(Backend::Broker);
    let command = format!(
        "{} --redis {} demo --rate 20",
        env!("CARGO_BIN_EXE_gilmour"),
        server.url()
    );
    let tmux = Tmux::start(&command);
    let screen = tmux.wait_for("the demo's traffic", |screen| {
        screen.contains("● live") && screen.contains("example.popular3") && screen.contains("echo")
    });
    assert!(
        screen.contains(&format!("{} (the Redis given)", server.url())),
        "the header says which Redis: {screen}"
    );
    tmux.quit();
    assert_eq!(
        server.command(&["PUBSUB", "NUMSUB", "gilmour.request.echo"]),
        "gilmour.request.echo\n0",
        "the demo's services are gone with it"
    );
}

#[test]
fn the_demo_needs_no_redis_at_all() {
    // No redis-server on the PATH: unless a Redis already answers on 6379, the demo
    // runs on its built-in broker.
    let running = std::net::TcpStream::connect(("127.0.0.1", 6379)).is_ok();
    let expected = if running {
        "(the Redis already running)"
    } else {
        "(the built-in broker)"
    };
    let command = format!(
        "env -u REDIS_URL PATH=/nonexistent {} demo --rate 20",
        env!("CARGO_BIN_EXE_gilmour")
    );
    let tmux = Tmux::start(&command);
    let screen = tmux.wait_for("the demo's traffic on its own Redis", |screen| {
        screen.contains("● live") && screen.contains("echo")
    });
    assert!(
        screen.contains(expected),
        "{expected} in the header: {screen}"
    );
    tmux.quit();
}

#[test]
fn logs_go_to_a_file_not_over_the_app() {
    let server = Server::start(Backend::Broker);
    let state = std::env::temp_dir().join(format!("gilmour-state-{}", std::process::id()));
    let command = format!(
        "env XDG_STATE_HOME={} {} --redis {} demo --rate 5",
        state.display(),
        env!("CARGO_BIN_EXE_gilmour"),
        server.url()
    );
    let tmux = Tmux::start(&command);
    tmux.wait_for("the demo's traffic", |screen| {
        screen.contains("● live") && screen.contains("echo")
    });
    // The demo's echo service cannot answer this, and warns.
    server.command(&["PUBLISH", "gilmour.request.echo", "not json"]);
    let log = state.join("gilmour").join("gilmour.log");
    let start = Instant::now();
    while !std::fs::read_to_string(&log).is_ok_and(|text| text.contains("cannot answer")) {
        assert!(
            start.elapsed() < DEADLINE,
            "the warning never reached {}",
            log.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let screen = tmux.screen();
    assert!(
        !screen.contains("WARN") && !screen.contains("cannot answer"),
        "{screen}"
    );
    tmux.keys(&["q"]);
    let _ = std::fs::remove_dir_all(&state);
}

/// The app on `server` in an 80×24 pane, with `env` set.
fn app_at_80_columns(server: &Server, env: &str) -> Tmux {
    let command = format!(
        "env REDIS_URL={} {env} {}",
        server.url(),
        env!("CARGO_BIN_EXE_gilmour")
    );
    let tmux = Tmux::start_sized(&command, 80, 24);
    tmux.wait_for("the app to be live", |screen| screen.contains("● live"));
    tmux
}

#[test]
fn at_80_columns_the_list_keeps_the_topic_and_the_data() {
    let server = Server::start(Backend::Redis);
    let _echo = Responder::echo(&server, "tui.narrow.topic");
    let tmux = app_at_80_columns(&server, "");
    request(&server, "tui.narrow.topic", r#"{"city":"Pune"}"#);
    let screen = tmux.wait_for("the trace", |screen| screen.contains("1 shown"));
    let titles = screen
        .lines()
        .find(|line| line.contains("topic"))
        .unwrap_or_default();
    assert!(titles.contains("data"), "a data column at 80: {screen}");
    assert!(
        screen.contains("tui.narrow.topic") && screen.contains(r#"{"city":"Pune"}"#),
        "{screen}"
    );
    tmux.quit();
}

#[test]
fn editor_replay_sends_the_edited_data_the_first_time() {
    let server = Server::start(Backend::Redis);
    let _echo = Responder::echo(&server, "tui.edit");
    // The editor: a command that changes the data in place, as a person would.
    let tmux = app_at_80_columns(&server, "EDITOR='sed -i s/41/42/'");
    request(&server, "tui.edit", r#"{"n":41}"#);
    tmux.wait_for("the trace", |screen| screen.contains("1 shown"));
    tmux.keys(&["e"]);
    let screen = tmux.wait_for("the replay of the edited data", |screen| {
        screen.contains(r#""n": 42"#) || screen.contains("cannot")
    });
    assert!(
        !screen.contains("cannot take the terminal back"),
        "{screen}"
    );
    assert!(
        screen.contains("replay of"),
        "the replay's detail opens: {screen}"
    );
    // Ctrl-L repaints from scratch, and the screen is the same after.
    tmux.keys(&["C-l"]);
    tmux.wait_for("the repaint", |screen| screen.contains(r#""n": 42"#));
    tmux.quit();
    assert_no_edit_files_left();
}

/// The editor's file is gone after the edit (it held a payload).
fn assert_no_edit_files_left() {
    let left: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .starts_with("gilmour-edit-")
        })
        .filter(|entry| {
            // Another test's app may be editing right now: only old files count.
            entry
                .metadata()
                .and_then(|meta| meta.modified())
                .is_ok_and(|at| at.elapsed().unwrap_or_default() > Duration::from_secs(60))
        })
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn fire_then_send_anyway_publishes_to_nobody() {
    let server = Server::start(Backend::Redis);
    let tmux = app_at_80_columns(&server, "");
    tmux.keys(&["f"]);
    tmux.type_text("tui.nobody");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the question", |screen| {
        screen.contains("Nobody listens on tui.nobody. Publish anyway?")
    });
    tmux.keys(&["y"]);
    let screen = tmux.wait_for("the request on the wire", |screen| {
        screen.contains("PUBLISH reached") && screen.contains("tui.nobody")
    });
    assert!(
        screen.contains("Request  on gilmour.request.tui.nobody"),
        "its trace opens: {screen}"
    );
    tmux.quit();
}

#[test]
fn a_pasted_multi_line_json_is_sent_once_as_the_data() {
    let server = Server::start(Backend::Redis);
    // The responder keeps what it was sent: one file per request it ran.
    let received = tempfile::tempdir().expect("a directory");
    let dir = received.path().display().to_string();
    let keep = format!("tee \"$(mktemp -p '{dir}' got.XXXXXX)\"");
    let _responder = Responder::start(&server, "tui.paste", &["--exec", &keep]);
    let tmux = app_at_80_columns(&server, "");
    tmux.keys(&["f"]);
    tmux.type_text("tui.paste");
    tmux.keys(&["Down"]);
    let pasted = "{\n  \"pasted\": [1,\n 2],\n  \"text\": \"日本 🙂 \\\"quoted\\\"\"\n}";
    tmux.run(&["set-buffer", pasted]);
    // -p: as a bracketed paste, the way a terminal pastes into an app that asks for it.
    tmux.run(&["paste-buffer", "-p", "-t", tmux.session]);
    let screen = tmux.wait_for(
        "the data, whole, on its lines, still in the form",
        |screen| screen.contains("valid JSON") && screen.contains(r#""text": "日本 🙂"#),
    );
    let rows: Vec<&str> = screen.lines().collect();
    let at = rows
        .iter()
        .position(|row| row.contains(r#""pasted": [1,"#))
        .unwrap_or_else(|| panic!("the first line of the data: {screen}"));
    assert!(
        rows[at + 1].contains(" 2],"),
        "its next line below: {screen}"
    );
    // Enter in the data is a new line; ctrl-s sends.
    tmux.keys(&["Enter"]);
    tmux.type_text("x");
    tmux.wait_for("a new line, not a send", |screen| {
        screen.contains("not JSON at 6:1")
    });
    tmux.keys(&["BSpace", "BSpace"]);
    tmux.keys(&["C-s"]);
    let screen = tmux.wait_for("the answer", |screen| screen.contains("answered 200"));
    assert!(!screen.contains("not JSON"), "{screen}");
    let files: Vec<_> = std::fs::read_dir(received.path())
        .expect("the directory")
        .flatten()
        .map(|entry| entry.path())
        .collect();
    assert_eq!(
        files.len(),
        1,
        "one request reached the responder: {files:?}"
    );
    let got = std::fs::read_to_string(&files[0]).expect("what it got");
    let got: serde_json::Value = serde_json::from_str(&got).expect("JSON");
    assert_eq!(
        got,
        serde_json::json!({"pasted": [1, 2], "text": "日本 🙂 \"quoted\""}),
        "as pasted"
    );
    tmux.quit();
}

#[test]
fn the_app_serves_metrics_of_what_it_captures() {
    let server = Server::start(Backend::Redis);
    let _echo = Responder::echo(&server, "tui.metrics");
    let command = format!(
        "env REDIS_URL={} {} --metrics 127.0.0.1:0 --poll 0",
        server.url(),
        env!("CARGO_BIN_EXE_gilmour")
    );
    let tmux = Tmux::start_sized(&command, 100, 30);
    let screen = tmux.wait_for("the metrics address", |screen| {
        screen.contains("serving metrics on http://") && screen.contains("● live")
    });
    let address = screen
        .split_once("serving metrics on http://")
        .and_then(|(_, rest)| rest.split_once("/metrics"))
        .map(|(address, _)| address.to_owned())
        .unwrap_or_else(|| panic!("an address: {screen}"));
    request(&server, "tui.metrics", "1");
    request(&server, "tui.metrics", "2");
    tmux.wait_for("the traces", |screen| screen.contains("2 shown"));
    support::http::scrape_until(
        &address,
        r#"gilmour_requests_total{topic="tui.metrics",class="2xx"} 2"#,
        DEADLINE,
    );
    tmux.quit();
    // The server ends with the app.
    assert!(
        std::net::TcpStream::connect(&address).is_err(),
        "still serving after the app quit"
    );
}

#[test]
fn the_app_refuses_metrics_on_a_capture_file() {
    let output = Command::new(env!("CARGO_BIN_EXE_gilmour"))
        .args(["--read", "/dev/null", "--metrics", "127.0.0.1:0"])
        .output()
        .expect("run gilmour");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "gilmour: --metrics needs live capture, not --read\n"
    );
}

#[test]
fn an_applied_filter_is_on_disk_before_the_app_ends() {
    use std::os::unix::fs::PermissionsExt;
    let server = Server::start(Backend::Redis);
    let state = tempfile::tempdir().expect("a directory");
    let command = format!(
        "env REDIS_URL={} XDG_STATE_HOME={} {}",
        server.url(),
        state.path().display(),
        env!("CARGO_BIN_EXE_gilmour")
    );
    let tmux = Tmux::start(&command);
    tmux.wait_for("the app to be live", |screen| screen.contains("● live"));
    tmux.keys(&["/"]);
    tmux.type_text("topic:tui.kept");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the filter to apply", |screen| {
        screen.contains("filter topic:tui.kept")
    });
    let history = state.path().join("gilmour").join("filters");
    let start = Instant::now();
    while !std::fs::read_to_string(&history).is_ok_and(|text| text == "topic:tui.kept\n") {
        assert!(
            start.elapsed() < DEADLINE,
            "the filter never reached {}",
            history.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Written while the app runs: the session can end any way now and keep it.
    assert!(tmux.alive(), "the app still runs");
    let mode = std::fs::metadata(&history)
        .expect("written")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    tmux.quit();
}
