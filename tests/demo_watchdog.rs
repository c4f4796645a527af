//! The demo's private redis-server must not outlive the process that started it, however
//! that process ends: here it is killed with SIGKILL, which runs no destructor.

use gilmour::demo::{RedisSource, Search, find_redis_in};
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD: &str = "GILMOUR_WATCHDOG_CHILD";

/// In the child: start a private redis-server the way the demo does, say where, and wait
/// to be killed.
fn child() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    // Nothing answers on this port, so the search moves on to a private redis-server.
    let unused = TcpListener::bind("127.0.0.1:0").expect("a port");
    let local: SocketAddr = unused.local_addr().expect("address");
    drop(unused);
    let search = Search {
        local,
        redis_server: "redis-server".to_owned(),
    };
    let source = runtime
        .block_on(find_redis_in(None, search))
        .expect("a Redis");
    assert!(matches!(source, RedisSource::Private(_)), "{source}");
    println!("{}", source.url());
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

#[test]
fn a_killed_demo_leaves_no_redis_server_behind() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    let mut process = Command::new(std::env::current_exe().expect("this test binary"))
        .args([
            "--exact",
            "a_killed_demo_leaves_no_redis_server_behind",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the child");
    let stdout = process.stdout.take().expect("stdout");
    let url = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find(|line| line.starts_with("redis://"))
        .expect("the child's Redis URL");
    let port: u16 = url
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .expect("a port");
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_ok(),
        "the server runs"
    );
    process.kill().expect("SIGKILL");
    process.wait().expect("reaped");
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "redis-server on {port} outlived the process that started it"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
