//! A primary, its replica and three sentinels watching them, on free loopback ports, for
//! the Sentinel tests. The sentinels are `redis-sentinel` where it is installed (`.ci/run`
//! installs it), else `redis-server <conf> --sentinel`, the same program. Everything goes
//! with the test process, like every server of the harness.

use super::{Server, command_at, try_command_at};
use std::path::PathBuf;
use std::process::Child;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The name the sentinels know the primary by.
pub const PRIMARY: &str = "gilmour-test";

/// The sentinels' quorum: two of three must agree that the primary is down.
const QUORUM: usize = 2;

/// A watched primary with one replica.
pub struct Sentinels {
    servers: Vec<Server>,
    sentinels: Mutex<Vec<(Child, u16)>>,
    dir: PathBuf,
}

impl Sentinels {
    /// The set shared by the tests of this binary that fail nothing over.
    pub fn shared() -> &'static Sentinels {
        static SET: OnceLock<Sentinels> = OnceLock::new();
        SET.get_or_init(Sentinels::start)
    }

    /// Starts a set of its own (for a test that fails it over); the sentinels count the
    /// primary as down after 1 s without an answer.
    pub fn start() -> Sentinels {
        super::cluster::remove_stale_directories();
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "sentinel-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).expect("sentinel directory");
        // A replica's full sync writes an RDB file into its directory: this one's.
        let dir_arg = dir.to_string_lossy().into_owned();
        let primary = Server::start_with(&["--dir", &dir_arg]);
        let replica = Server::start_with(&[
            "--dir",
            &dir_arg,
            "--replicaof",
            "127.0.0.1",
            &primary.port().to_string(),
        ]);
        let mut sentinels = Vec::new();
        for n in 0..3 {
            let port = super::free_port();
            let conf = dir.join(format!("sentinel-{n}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "port {port}\nbind 127.0.0.1\ndaemonize no\ndir {dir}\n\
                     sentinel monitor {PRIMARY} 127.0.0.1 {primary} {QUORUM}\n\
                     sentinel down-after-milliseconds {PRIMARY} 1000\n\
                     sentinel failover-timeout {PRIMARY} 10000\n\
                     sentinel parallel-syncs {PRIMARY} 1\n",
                    dir = dir.display(),
                    primary = primary.port(),
                ),
            )
            .expect("sentinel config");
            let script = "if command -v redis-sentinel >/dev/null 2>&1; then \
                 redis-sentinel \"$1\" --loglevel warning >/dev/null & server=$!; \
                 else redis-server \"$1\" --sentinel --loglevel warning >/dev/null & server=$!; fi; \
                 echo $server; cat >/dev/null; kill $server 2>/dev/null; wait $server";
            let (child, _pid) = super::watched(script, &[conf.to_string_lossy().into_owned()]);
            sentinels.push((child, port));
        }
        let set = Sentinels {
            servers: vec![primary, replica],
            sentinels: Mutex::new(sentinels),
            dir,
        };
        set.wait_until("the sentinels know each other and the replica", || {
            set.sentinel_ports().iter().all(|port| {
                let Some(master) = try_command_at(*port, &["SENTINEL", "MASTER", PRIMARY]) else {
                    return false;
                };
                let field = |name: &str| -> Option<String> {
                    let lines: Vec<&str> = master.lines().collect();
                    let at = lines.iter().position(|line| *line == name)?;
                    lines.get(at + 1).map(|value| (*value).to_owned())
                };
                field("num-other-sentinels").as_deref() == Some("2")
                    && field("num-slaves").as_deref() == Some("1")
                    && field("flags").as_deref() == Some("master")
            }) && set.servers[1]
                .command(&["INFO", "replication"])
                .contains("master_link_status:up")
        });
        set
    }

    /// `redis+sentinel://` with every sentinel, naming the primary.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .sentinel_ports()
            .iter()
            .map(|port| format!("127.0.0.1:{port}"))
            .collect();
        format!("redis+sentinel://{}/{PRIMARY}", hosts.join(","))
    }

    /// The sentinels' ports.
    pub fn sentinel_ports(&self) -> Vec<u16> {
        self.sentinels
            .lock()
            .expect("sentinels")
            .iter()
            .map(|(_, port)| *port)
            .collect()
    }

    /// The port of the primary, as the first sentinel that answers says.
    pub fn primary_port(&self) -> u16 {
        for port in self.sentinel_ports() {
            if let Some(reply) =
                try_command_at(port, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", PRIMARY])
                && let Some(primary) = reply.lines().nth(1).and_then(|port| port.parse().ok())
            {
                return primary;
            }
        }
        panic!("no sentinel names the primary");
    }

    /// The data server on a port (the primary or the replica, whichever it is now).
    pub fn server(&self, port: u16) -> &Server {
        self.servers
            .iter()
            .find(|server| server.port() == port)
            .expect("a server of this set")
    }

    /// `SENTINEL FAILOVER`: the replica becomes the primary and the primary its replica.
    pub fn failover(&self) {
        let port = self.sentinel_ports()[0];
        let answer = command_at(port, &["SENTINEL", "FAILOVER", PRIMARY]);
        assert_eq!(answer, "OK", "SENTINEL FAILOVER");
    }

    /// Waits until the sentinels name another primary than `old`, and it says it is one.
    pub fn wait_new_primary(&self, old: u16) -> u16 {
        self.wait_until("a new primary", || {
            let now = self.primary_port();
            now != old
                && try_command_at(now, &["ROLE"]).is_some_and(|role| role.starts_with("master"))
        });
        self.primary_port()
    }

    /// Waits for `condition`, failing the test with `what` after 30 s.
    pub fn wait_until(&self, what: &str, condition: impl Fn() -> bool) {
        let patience = Duration::from_secs(30);
        let deadline = Instant::now() + patience;
        while Instant::now() < deadline {
            if condition() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the sentinels did not get there in {patience:?}: {what}");
    }
}

impl Drop for Sentinels {
    fn drop(&mut self) {
        if let Ok(sentinels) = self.sentinels.get_mut() {
            for (child, _) in sentinels.iter_mut() {
                super::stop(child);
            }
        }
        self.servers.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
