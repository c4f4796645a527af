//! What a cluster says about its nodes (`CLUSTER NODES`): who they are, which are
//! primaries, which are down. The subscriber picks its node from this list, the
//! inspector runs MONITOR on each, and the Services screen shows it.

use serde::Serialize;

/// Whether a node serves slots or copies a primary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Serves slots.
    Primary,
    /// Copies a primary.
    Replica,
}

/// One node of a cluster, as `CLUSTER NODES` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    /// The node's id.
    pub id: String,
    /// `host:port` clients connect to.
    pub address: String,
    /// Primary or replica.
    pub role: Role,
    /// A replica's primary (its id).
    pub primary: Option<String>,
    /// The cluster counts it as failed (`fail` or `fail?`), or it has no address.
    pub failed: bool,
    /// How many slots it serves.
    pub slots: usize,
}

impl Role {
    /// `primary` or `replica`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Replica => "replica",
        }
    }
}

impl Node {
    /// The host and the port of the address.
    pub fn host_port(&self) -> Option<(&str, u16)> {
        let (host, port) = self.address.rsplit_once(':')?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        Some((host, port.parse().ok()?))
    }
}

/// Reads the reply to `CLUSTER NODES`, one node a line; lines that do not parse are
/// left out. Nodes come primaries first, each by address.
pub fn parse_nodes(text: &str) -> Vec<Node> {
    let mut nodes: Vec<Node> = text.lines().filter_map(parse_line).collect();
    nodes.sort_by(|a, b| {
        (a.role == Role::Replica, &a.address).cmp(&(b.role == Role::Replica, &b.address))
    });
    nodes
}

/// The address of the primary that serves `slot`, as the reply to `CLUSTER NODES` has it,
/// unless the cluster counts that primary as failed.
pub fn serving(text: &str, slot: u16) -> Option<String> {
    text.lines().find_map(|line| {
        let node = parse_line(line)?;
        let serves = slot_ranges(line).any(|(from, to)| (from..=to).contains(&slot));
        (serves && node.role == Role::Primary && !node.failed).then_some(node.address)
    })
}

/// The slot ranges a `CLUSTER NODES` line gives its node (`0-5460`, `42`); slots being
/// moved (`[5461->-abc]`) and ranges that do not parse are left out.
fn slot_ranges(line: &str) -> impl Iterator<Item = (u16, u16)> + '_ {
    line.split_whitespace()
        .skip(8)
        .filter(|range| !range.starts_with('['))
        .filter_map(|range| {
            let (from, to) = range.split_once('-').unwrap_or((range, range));
            let (from, to) = (from.parse::<u16>().ok()?, to.parse::<u16>().ok()?);
            (to >= from).then_some((from, to))
        })
}

fn parse_line(line: &str) -> Option<Node> {
    let mut fields = line.split_whitespace();
    let id = fields.next()?.to_owned();
    // `ip:port@cport[,hostname]`
    let address = fields.next()?;
    let address = address.split(['@', ',']).next()?.to_owned();
    let flags: Vec<&str> = fields.next()?.split(',').collect();
    let primary = fields.next()?;
    let slots = slot_ranges(line)
        .map(|(from, to)| usize::from(to - from) + 1)
        .sum();
    let role = if flags.contains(&"master") {
        Role::Primary
    } else if flags.contains(&"slave") {
        Role::Replica
    } else {
        return None;
    };
    let failed = flags
        .iter()
        .any(|flag| matches!(*flag, "fail" | "fail?" | "noaddr" | "handshake"))
        || address.starts_with(':');
    Some(Node {
        id,
        address,
        role,
        primary: (primary != "-").then(|| primary.to_owned()),
        failed,
        slots,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cluster_nodes() {
        let text = "\
e7d1 127.0.0.1:30004@40004 slave 07c3 0 1 3 connected
07c3 127.0.0.1:30001@40001 myself,master - 0 0 1 connected 0-5460
9a11 127.0.0.1:30002@40002,host2 master,fail - 0 0 2 connected 5461-10922 [5461->-abc]
67ed 127.0.0.1:30003@40003 master - 0 0 3 connected 10923-16383 42
";
        let nodes = parse_nodes(text);
        assert_eq!(nodes.len(), 4);
        assert_eq!(nodes[0].address, "127.0.0.1:30001");
        assert_eq!(nodes[0].slots, 5461);
        assert_eq!(nodes[1].address, "127.0.0.1:30002");
        assert!(nodes[1].failed);
        assert_eq!(nodes[2].slots, 5462);
        assert_eq!(nodes[3].role, Role::Replica);
        assert_eq!(nodes[3].primary.as_deref(), Some("07c3"));
        assert_eq!(nodes[3].host_port(), Some(("127.0.0.1", 30004)));
    }

    #[test]
    fn finds_the_primary_serving_a_slot() {
        let text = "\
e7d1 127.0.0.1:30004@40004 slave 07c3 0 1 3 connected
07c3 127.0.0.1:30001@40001 myself,master - 0 0 1 connected 0-99 4388 [4389->-abc]
9a11 127.0.0.1:30002@40002 master,fail - 0 0 2 connected 5461-10922
67ed 127.0.0.1:30003@40003 master - 0 0 3 connected 100-4387 4389-5460
";
        assert_eq!(serving(text, 4388).as_deref(), Some("127.0.0.1:30001"));
        assert_eq!(serving(text, 4389).as_deref(), Some("127.0.0.1:30003"));
        assert_eq!(serving(text, 100).as_deref(), Some("127.0.0.1:30003"));
        // A failed primary is no home.
        assert_eq!(serving(text, 6000), None);
        assert_eq!(serving(text, 16000), None);
    }
}
