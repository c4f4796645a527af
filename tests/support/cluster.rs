//! A real Redis Cluster for the tests: three primaries and three replicas on free loopback
//! ports (each with its bus port, +10000, free too), made with `redis-cli --cluster
//! create`. One is shared by the tests of a test binary; failover tests start their own.
//! The nodes go with the test process, like every server of the harness.

use super::Server;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How many nodes: three primaries, each with one replica.
pub const NODES: usize = 6;

/// A running cluster.
pub struct Cluster {
    nodes: Vec<Server>,
    dir: PathBuf,
}

/// What `CLUSTER NODES` says about one node, as the tests need it.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    pub id: String,
    pub port: u16,
    pub primary: bool,
    pub failed: bool,
    /// A replica's primary.
    pub primary_id: Option<String>,
    /// The slot ranges a primary serves.
    pub slots: Vec<(u16, u16)>,
}

impl Cluster {
    /// The cluster shared by the tests of this binary (node timeout 3 s: a busy machine
    /// must not trigger failovers).
    pub fn shared() -> &'static Cluster {
        static CLUSTER: OnceLock<Cluster> = OnceLock::new();
        CLUSTER.get_or_init(|| Cluster::start(3_000))
    }

    /// Starts a cluster of its own whose nodes count a peer as failing after
    /// `node_timeout_ms` without an answer.
    pub fn start(node_timeout_ms: u64) -> Cluster {
        let mut nodes = Vec::new();
        remove_stale_directories();
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "cluster-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).expect("cluster directory");
        while nodes.len() < NODES {
            let port = super::free_port_pair();
            let args: Vec<String> = [
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                &dir.join(format!("nodes-{port}.conf")).to_string_lossy(),
                "--cluster-node-timeout",
                &node_timeout_ms.to_string(),
                // A replica always takes over, however long its link was down.
                "--cluster-replica-validity-factor",
                "0",
                "--dir",
                &dir.to_string_lossy(),
            ]
            .iter()
            .map(|arg| (*arg).to_owned())
            .collect();
            if let Some(server) = Server::start_on(port, &args) {
                nodes.push(server);
            }
        }
        let cluster = Cluster { nodes, dir };
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for node in &cluster.nodes {
            create.arg(format!("127.0.0.1:{}", node.port()));
        }
        let output = create
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .output()
            .expect("run redis-cli --cluster create");
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        cluster.wait_until(
            "every node knows the whole cluster",
            Duration::from_secs(30),
            || {
                cluster.nodes.iter().all(|node| {
                    let info = node.command(&["CLUSTER", "INFO"]);
                    info.contains("cluster_state:ok")
                        && info.contains(&format!("cluster_known_nodes:{NODES}"))
                        && info.contains("cluster_slots_ok:16384")
                }) && cluster.nodes.iter().all(|node| {
                    // Every node's own view, not one node's: a node asked early may still
                    // list a replica as a primary with no slots.
                    let nodes = node.command(&["CLUSTER", "NODES"]);
                    nodes.lines().filter(|line| line.contains("slave")).count() == NODES / 2
                })
            },
        );
        cluster
    }

    /// Starts one more node, empty (a primary without slots), and makes the cluster meet
    /// it; returns once every node knows it. The caller keeps the server.
    pub fn join_new_node(&self) -> Server {
        let server = loop {
            let port = super::free_port_pair();
            let args: Vec<String> = [
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                &self
                    .dir
                    .join(format!("nodes-{port}.conf"))
                    .to_string_lossy(),
                "--dir",
                &self.dir.to_string_lossy(),
            ]
            .iter()
            .map(|arg| (*arg).to_owned())
            .collect();
            if let Some(server) = Server::start_on(port, &args) {
                break server;
            }
        };
        let port = server.port().to_string();
        assert_eq!(
            self.nodes[0].command(&["CLUSTER", "MEET", "127.0.0.1", &port]),
            "OK"
        );
        self.wait_until(
            "every node knows the new one",
            Duration::from_secs(30),
            || {
                self.nodes
                    .iter()
                    .chain(std::iter::once(&server))
                    .all(|node| {
                        node.command(&["CLUSTER", "INFO"])
                            .contains(&format!("cluster_known_nodes:{}", NODES + 1))
                    })
            },
        );
        server
    }

    /// `redis+cluster://` with every node as a seed.
    pub fn url(&self) -> String {
        let seeds: Vec<String> = self
            .nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port()))
            .collect();
        format!("redis+cluster://{}", seeds.join(","))
    }

    /// `redis+cluster://` with one node as the only seed: the engine's subscriber sits
    /// on that node.
    pub fn url_at(&self, port: u16) -> String {
        format!("redis+cluster://127.0.0.1:{port}")
    }

    /// The node servers, in the order they were started.
    pub fn servers(&self) -> &[Server] {
        &self.nodes
    }

    /// The server on a port.
    pub fn server(&self, port: u16) -> &Server {
        self.nodes
            .iter()
            .find(|node| node.port() == port)
            .expect("a node of this cluster")
    }

    /// What the cluster says about its nodes now, asked of the first node that answers.
    pub fn nodes(&self) -> Vec<NodeInfo> {
        for server in &self.nodes {
            let Some(text) = super::try_command_at(server.port(), &["CLUSTER", "NODES"]) else {
                continue;
            };
            return text
                .lines()
                .filter_map(|line| {
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    let port = fields
                        .get(1)?
                        .split(['@', ','])
                        .next()?
                        .rsplit(':')
                        .next()?;
                    let flags = fields.get(2)?;
                    Some(NodeInfo {
                        id: fields.first()?.to_string(),
                        port: port.parse().ok()?,
                        primary: flags.contains("master"),
                        failed: flags.contains("fail"),
                        primary_id: fields
                            .get(3)
                            .filter(|id| **id != "-")
                            .map(|id| id.to_string()),
                        slots: fields
                            .iter()
                            .skip(8)
                            .filter_map(|range| {
                                let (start, end) = range.split_once('-').unwrap_or((range, range));
                                Some((start.parse().ok()?, end.parse().ok()?))
                            })
                            .collect(),
                    })
                })
                .collect();
        }
        Vec::new()
    }

    /// The ports of the primaries, by port.
    pub fn primaries(&self) -> Vec<u16> {
        let mut ports: Vec<u16> = self
            .nodes()
            .iter()
            .filter(|node| node.primary && !node.failed)
            .map(|node| node.port)
            .collect();
        ports.sort_unstable();
        ports
    }

    /// The ports of the replicas, by port.
    pub fn replicas(&self) -> Vec<u16> {
        let mut ports: Vec<u16> = self
            .nodes()
            .iter()
            .filter(|node| !node.primary && !node.failed)
            .map(|node| node.port)
            .collect();
        ports.sort_unstable();
        ports
    }

    /// The port of the primary that serves `key`'s slot.
    pub fn primary_for(&self, key: &str) -> u16 {
        let slot = self.nodes[0].command(&["CLUSTER", "KEYSLOT", key]);
        let slot: u16 = slot.trim().parse().expect("a slot");
        self.nodes()
            .iter()
            .find(|node| {
                node.primary
                    && !node.failed
                    && node
                        .slots
                        .iter()
                        .any(|(start, end)| (*start..=*end).contains(&slot))
            })
            .map(|node| node.port)
            .unwrap_or_else(|| panic!("no primary serves slot {slot}"))
    }

    /// Waits for `condition`, failing the test with `what` after `patience`.
    pub fn wait_until(&self, what: &str, patience: Duration, condition: impl Fn() -> bool) {
        let deadline = Instant::now() + patience;
        while Instant::now() < deadline {
            if condition() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the cluster did not get there in {patience:?}: {what}");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.nodes.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Removes the node directories of test processes that are gone: a shared cluster lives
/// in a static, never dropped, and its nodes must be able to write their config file
/// until the process exits.
pub fn remove_stale_directories() {
    let Ok(entries) = std::fs::read_dir(env!("CARGO_TARGET_TMPDIR")) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("cluster-")
            .or_else(|| name.strip_prefix("sentinel-"))
            .and_then(|rest| rest.split('-').next())
        else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
