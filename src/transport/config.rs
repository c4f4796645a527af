//! Where Redis is and how patiently we talk to it.
//!
//! Three kinds of deployment, told apart by the URL's scheme:
//!
//! ```text
//!   redis://[user:pass@]host:port[/db]                     one server (rediss:// for TLS)
//!   redis+cluster://[user:pass@]h1:p1[,h2:p2…]             Redis Cluster: any node is a seed
//!   redis+sentinel://[user:pass@]h1:p1[,h2:p2…]/<primary>  the primary Sentinel names
//! ```
//!
//! `rediss+cluster://` and `rediss+sentinel://` speak TLS; `#insecure` skips certificate
//! checks in every form. A Sentinel URL's user and password are the primary's (and its
//! replicas'); sentinels that need their own are given them as
//! `?sentinel_username=…&sentinel_password=…`.

use super::{TransportError, redact_url};
use redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
use std::time::Duration;

/// How to reach Redis and how to watch the link.
///
/// The URL carries everything Redis needs: `redis://[user][:password]@host:port/db`,
/// `rediss://` for TLS (add `#insecure` to skip certificate checks), and the cluster and
/// Sentinel forms of [the module](self).
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// The Redis URL.
    pub url: String,
    /// How long to wait for a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// How long a command may take before it counts as failed.
    pub command_timeout: Duration,
    /// How often the subscriber connection is pinged when it is idle.
    pub heartbeat_interval: Duration,
    /// How long a ping may go unanswered before the link counts as dead.
    pub heartbeat_timeout: Duration,
    /// The first pause before reconnecting; it doubles up to `max_backoff`.
    pub min_backoff: Duration,
    /// The longest pause between reconnection attempts.
    pub max_backoff: Duration,
    /// The name the command connection gives itself (`CLIENT SETNAME`), so that
    /// `CLIENT LIST` and MONITOR tell which process sent what; set again after a
    /// reconnect.
    pub client_name: Option<String>,
    /// On a cluster, where the subscriber sits and where `PUBLISH` goes.
    pub cluster_pubsub: ClusterPubSub,
}

/// Where pub/sub traffic goes on a Redis Cluster.
///
/// A `PUBLISH` reaches the subscribers of the node that takes it at once, and those of
/// every other node over the cluster bus. Redis (7.0 at least) opens its outbound bus
/// links without `TCP_NODELAY`, so a message that follows another on the same link
/// within the peer's delayed-ACK time waits for that ACK: up to 40 ms. A request and its
/// reply are two such messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClusterPubSub {
    /// Every gilmour process subscribes on, and publishes to, the primary serving
    /// [`HOME_SLOT`], so that messages between them never cross the bus. Peers
    /// subscribed elsewhere (Go, Ruby) still get every message, over the bus. When that
    /// primary cannot be reached the subscriber takes another node, until it next
    /// reconnects.
    #[default]
    Home,
    /// The subscriber on the first seed that answers, `PUBLISH` to the primary of the
    /// channel's slot (the redis crate's routing): callers and responders on different
    /// nodes, as Go and Ruby peers spread over a cluster are.
    Seeds,
}

/// The slot whose primary is the home of pub/sub on a cluster: the slot of the key
/// `gilmour` (`CLUSTER KEYSLOT gilmour`).
pub const HOME_SLOT: u16 = 4388;

/// Which kind of Redis deployment a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    /// One server (perhaps behind a proxy).
    Single,
    /// A Redis Cluster.
    Cluster,
    /// A primary found through Redis Sentinel.
    Sentinel,
}

/// A URL read into what the clients of the redis crate take.
pub(crate) enum Endpoint {
    /// One server.
    Single(redis::Client),
    /// A cluster: its seed nodes, each a full connection description.
    Cluster(Vec<redis::ConnectionInfo>),
    /// Sentinels, the name of the primary they watch, and how to reach the primary.
    Sentinel {
        sentinels: Vec<redis::ConnectionInfo>,
        primary: String,
        node: SentinelNodeConnectionInfo,
    },
}

/// A client of the redis crate's Sentinel support, which asks the sentinels for the
/// primary each time it is asked for a client.
pub(crate) fn sentinel_client(
    sentinels: &[redis::ConnectionInfo],
    primary: &str,
    node: &SentinelNodeConnectionInfo,
) -> redis::RedisResult<SentinelClient> {
    SentinelClient::build(
        sentinels.to_vec(),
        primary,
        Some(node.clone()),
        SentinelServerType::Master,
    )
}

impl RedisConfig {
    /// The defaults for a URL: 5 s to connect, 5 s per command, a ping every 2 s that must
    /// be answered within 3 s, reconnect backoff from 50 ms to 2 s.
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            connect_timeout: Duration::from_secs(5),
            command_timeout: Duration::from_secs(5),
            heartbeat_interval: Duration::from_secs(2),
            heartbeat_timeout: Duration::from_secs(3),
            min_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
            client_name: None,
            cluster_pubsub: ClusterPubSub::Home,
        }
    }

    /// The URL without its password, for messages and headers.
    pub fn display_url(&self) -> String {
        redact_url(&self.url)
    }

    /// Which kind of deployment the URL names (by its scheme alone: nothing is checked).
    pub fn topology(&self) -> Topology {
        match scheme_kind(&self.url) {
            Some((_, Kind::Cluster)) => Topology::Cluster,
            Some((_, Kind::Sentinel)) => Topology::Sentinel,
            None => Topology::Single,
        }
    }

    /// A client for one server; an error for a cluster or Sentinel URL.
    pub(crate) fn client(&self) -> Result<redis::Client, TransportError> {
        match self.endpoint()? {
            Endpoint::Single(client) => Ok(client),
            _ => Err(self.invalid("this needs a single Redis server URL (redis://…)")),
        }
    }

    /// The URL, read.
    pub(crate) fn endpoint(&self) -> Result<Endpoint, TransportError> {
        let Some((tls, kind)) = scheme_kind(&self.url) else {
            return redis::Client::open(self.url.as_str())
                .map(Endpoint::Single)
                .map_err(|error| TransportError::InvalidUrl {
                    url: self.display_url(),
                    error,
                });
        };
        let rest = &self.url[self.url.find("://").map_or(0, |at| at + 3)..];
        let (rest, fragment) = match rest.split_once('#') {
            Some((rest, fragment)) => (rest, Some(fragment)),
            None => (rest, None),
        };
        let (authority, path) = match rest.split_once('/') {
            Some((authority, path)) => (authority, path),
            None => (rest, ""),
        };
        let (userinfo, hosts) = match authority.rsplit_once('@') {
            Some((userinfo, hosts)) => (Some(userinfo), hosts),
            None => (None, authority),
        };
        let hosts: Vec<&str> = hosts.split(',').filter(|host| !host.is_empty()).collect();
        if hosts.is_empty() {
            return Err(self.invalid("no host"));
        }
        let scheme = if tls { "rediss" } else { "redis" };
        let fragment = fragment
            .map(|fragment| format!("#{fragment}"))
            .unwrap_or_default();
        let node = |userinfo: Option<&str>, host: &str| -> Result<redis::ConnectionInfo, _> {
            let userinfo = userinfo
                .map(|userinfo| format!("{userinfo}@"))
                .unwrap_or_default();
            redis::IntoConnectionInfo::into_connection_info(
                format!("{scheme}://{userinfo}{host}{fragment}").as_str(),
            )
            .map_err(|error| TransportError::InvalidUrl {
                url: self.display_url(),
                error,
            })
        };
        match kind {
            Kind::Cluster => {
                if !matches!(path, "" | "0") {
                    return Err(self.invalid("a cluster has only database 0"));
                }
                let nodes = hosts
                    .iter()
                    .map(|host| node(userinfo, host))
                    .collect::<Result<_, _>>()?;
                Ok(Endpoint::Cluster(nodes))
            }
            Kind::Sentinel => {
                let (path, query) = path.split_once('?').unwrap_or((path, ""));
                let primary = path.trim_end_matches('/');
                if primary.is_empty() || primary.contains('/') {
                    return Err(self.invalid("name the primary: redis+sentinel://host:port/<name>"));
                }
                // The sentinels' own credentials, if they need any.
                let mut sentinel_username = None;
                let mut sentinel_password = None;
                for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
                    match &*key {
                        "sentinel_username" => sentinel_username = Some(value.into_owned()),
                        "sentinel_password" => sentinel_password = Some(value.into_owned()),
                        _ => {
                            return Err(self.invalid(
                                "a Sentinel URL takes only sentinel_username and sentinel_password",
                            ));
                        }
                    }
                }
                let sentinels = hosts
                    .iter()
                    .map(|host| {
                        let info = node(None, host)?;
                        let mut settings = info.redis_settings().clone();
                        if let Some(username) = &sentinel_username {
                            settings = settings.set_username(username);
                        }
                        if let Some(password) = &sentinel_password {
                            settings = settings.set_password(password);
                        }
                        Ok(info.set_redis_settings(settings))
                    })
                    .collect::<Result<_, TransportError>>()?;
                // The primary's credentials, percent-decoded by the crate's own URL parser.
                let settings = node(userinfo, hosts[0])?.redis_settings().clone();
                let mut info =
                    SentinelNodeConnectionInfo::default().set_redis_connection_info(settings);
                if tls {
                    let insecure = fragment == "#insecure";
                    info = info.set_tls_mode(if insecure {
                        redis::TlsMode::Insecure
                    } else {
                        redis::TlsMode::Secure
                    });
                }
                Ok(Endpoint::Sentinel {
                    sentinels,
                    primary: primary.to_owned(),
                    node: info,
                })
            }
        }
    }

    /// The same settings for one node of a cluster (`host:port`): a single-server URL
    /// with the cluster URL's credentials and TLS. `None` when this is no cluster URL.
    pub fn node(&self, address: &str) -> Option<RedisConfig> {
        let (tls, Kind::Cluster) = scheme_kind(&self.url)? else {
            return None;
        };
        let rest = &self.url[self.url.find("://")? + 3..];
        let (rest, fragment) = match rest.split_once('#') {
            Some((rest, fragment)) => (rest, format!("#{fragment}")),
            None => (rest, String::new()),
        };
        let authority = rest.split('/').next().unwrap_or(rest);
        let userinfo = authority
            .rsplit_once('@')
            .map(|(userinfo, _)| format!("{userinfo}@"))
            .unwrap_or_default();
        let scheme = if tls { "rediss" } else { "redis" };
        Some(RedisConfig {
            url: format!("{scheme}://{userinfo}{address}{fragment}"),
            ..self.clone()
        })
    }

    /// The cluster URL with `address` (`host:port`) as its first seed, so that a
    /// subscriber made from it sits on that node; the other seeds follow. `None` when
    /// this is no cluster URL.
    pub fn seeded_at(&self, address: &str) -> Option<RedisConfig> {
        scheme_kind(&self.url).filter(|(_, kind)| matches!(kind, Kind::Cluster))?;
        let (scheme, rest) = self.url.split_once("://")?;
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let (userinfo, hosts) = match authority.rsplit_once('@') {
            Some((userinfo, hosts)) => (format!("{userinfo}@"), hosts),
            None => (String::new(), authority),
        };
        let others = hosts
            .split(',')
            .filter(|host| !host.is_empty() && *host != address);
        let hosts: Vec<&str> = std::iter::once(address).chain(others).collect();
        Some(RedisConfig {
            url: format!("{scheme}://{userinfo}{}{tail}", hosts.join(",")),
            ..self.clone()
        })
    }

    fn invalid(&self, why: &'static str) -> TransportError {
        TransportError::InvalidUrl {
            url: self.display_url(),
            error: redis::RedisError::from((redis::ErrorKind::InvalidClientConfig, why)),
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Cluster,
    Sentinel,
}

/// Whether the URL's scheme is a cluster or Sentinel one, and whether it speaks TLS.
fn scheme_kind(url: &str) -> Option<(bool, Kind)> {
    let (scheme, _) = url.split_once("://")?;
    match scheme.to_ascii_lowercase().as_str() {
        "redis+cluster" => Some((false, Kind::Cluster)),
        "rediss+cluster" => Some((true, Kind::Cluster)),
        "redis+sentinel" => Some((false, Kind::Sentinel)),
        "rediss+sentinel" => Some((true, Kind::Sentinel)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(url: &str) -> Endpoint {
        RedisConfig::new(url).endpoint().expect(url)
    }

    #[test]
    fn reads_cluster_urls() {
        let Endpoint::Cluster(nodes) = endpoint("redis+cluster://u:p%40ss@10.0.0.1:7000,h2:7001")
        else {
            panic!("not a cluster");
        };
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[0].addr().to_string(), "10.0.0.1:7000");
        assert_eq!(nodes[1].addr().to_string(), "h2:7001");
        assert_eq!(nodes[1].redis_settings().username(), Some("u"));
        assert_eq!(nodes[1].redis_settings().password(), Some("p@ss"));
        let Endpoint::Cluster(nodes) = endpoint("rediss+cluster://h:7000#insecure") else {
            panic!("not a cluster");
        };
        assert!(matches!(
            nodes[0].addr(),
            redis::ConnectionAddr::TcpTls { insecure: true, .. }
        ));
        assert_eq!(
            RedisConfig::new("redis+cluster://h:1").topology(),
            Topology::Cluster
        );
    }

    #[test]
    fn names_one_node_of_a_cluster() {
        let config = RedisConfig::new("rediss+cluster://u:p%40ss@h1:1,h2:2#insecure");
        assert_eq!(
            config.node("10.0.0.9:7003").map(|node| node.url),
            Some("rediss://u:p%40ss@10.0.0.9:7003#insecure".to_owned())
        );
        assert!(RedisConfig::new("redis://h:1").node("h:2").is_none());
        assert_eq!(
            config.seeded_at("h2:2").map(|seeded| seeded.url),
            Some("rediss+cluster://u:p%40ss@h2:2,h1:1#insecure".to_owned())
        );
    }

    #[test]
    fn reads_sentinel_urls() {
        let Endpoint::Sentinel {
            sentinels, primary, ..
        } = endpoint("redis+sentinel://:secret@s1:26379,s2:26380/mymaster")
        else {
            panic!("not sentinel");
        };
        assert_eq!(primary, "mymaster");
        assert_eq!(sentinels.len(), 2);
        assert_eq!(sentinels[1].addr().to_string(), "s2:26380");
        assert_eq!(
            sentinels[0].redis_settings().password(),
            None,
            "the password is the primary's"
        );
        assert_eq!(
            RedisConfig::new("redis+sentinel://s:1/m").topology(),
            Topology::Sentinel
        );
    }

    #[test]
    fn refuses_what_cannot_work() {
        for url in [
            "redis+cluster://",
            "redis+cluster://h:1/3",
            "redis+sentinel://h:1",
            "redis+sentinel://h:1/",
            "redis+cluster://h:notaport",
        ] {
            assert!(RedisConfig::new(url).endpoint().is_err(), "{url}");
        }
        assert_eq!(RedisConfig::new("redis://h:1").topology(), Topology::Single);
    }
}
