//! The commands the broker understands, looked up and checked the way Redis does it:
//! unknown command, then arity, then whether a subscribed client may run it, then
//! whether a monitor may. Every command that ran, failed or not, is then shown to the
//! monitors, but for the administrative ones (Redis's `admin` flag).
//!
//! Each command writes its reply straight into the connection's output buffer. Replies
//! and errors use Redis's words, because clients and people match on them.

mod keys;
mod pubsub;
mod server;

use super::clients::{ClientId, Clients, Outbox};
use super::keyspace::Keyspace;
use super::registry::Registry;
use super::resp::{Protocol, Write};
use super::{Shared, monitor};
use std::net::SocketAddr;
use std::sync::{MutexGuard, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

/// What the connection does after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Read the next request.
    Continue,
    /// Send what is queued, then close (QUIT, or the client killed itself).
    Close,
}

/// What one connection remembers between its commands. Only the connection changes
/// it, so its commands read it without a lock; the registry keeps its own copy of what
/// publishers need (the protocol).
#[derive(Debug)]
pub(crate) struct Session {
    /// The connection's id.
    pub id: ClientId,
    /// Where the client connected from (monitor lines).
    pub addr: SocketAddr,
    /// The selected database.
    pub db: usize,
    /// Whether the client may run commands: it authenticated, or there is no password.
    pub authenticated: bool,
    /// The protocol it speaks.
    pub protocol: Protocol,
    /// How many channels and patterns it is subscribed to.
    pub subscriptions: usize,
    /// Whether it is a monitor.
    pub monitor: bool,
}

impl Session {
    /// A new connection's session: database 0, RESP2, authenticated only when there is
    /// no password.
    pub(crate) fn new(id: ClientId, addr: SocketAddr, shared: &Shared) -> Session {
        Session {
            id,
            addr,
            db: 0,
            authenticated: shared.password.is_none(),
            protocol: Protocol::Resp2,
            subscriptions: 0,
            monitor: false,
        }
    }
}

/// Everything a command may touch.
pub(crate) struct Ctx<'a> {
    shared: &'a Shared,
    session: &'a mut Session,
    out: &'a mut Vec<u8>,
    outbox: &'a Outbox,
    now: Instant,
    /// The arguments monitors must not see (passwords), as Redis's
    /// `redactClientCommandArgument`.
    redacted: Vec<usize>,
}

impl<'a> Ctx<'a> {
    /// The key space, locked for as long as the guard lives (one command's work, so
    /// that SET NX tests and sets at once).
    fn keys(&self) -> MutexGuard<'a, Keyspace> {
        self.shared.keys()
    }

    /// The connected clients, locked.
    fn clients(&self) -> MutexGuard<'a, Clients> {
        self.shared.clients()
    }

    /// The registry, for reading (PUBLISH, PUBSUB).
    fn registry(&self) -> RwLockReadGuard<'a, Registry> {
        self.shared.registry()
    }

    /// The registry, for a subscription change; see [`Ctx::flush`].
    fn registry_mut(&self) -> RwLockWriteGuard<'a, Registry> {
        self.shared.registry_mut()
    }

    /// Queues the replies gathered so far. A subscription change calls it while it
    /// holds the registry, so that its confirmation is queued before any message a
    /// publisher delivers under the new subscriptions.
    fn flush(&mut self) {
        self.outbox.push(std::mem::take(self.out));
    }

    /// Shows argument `index` to monitors as `(redacted)`.
    fn redact(&mut self, index: usize) {
        self.redacted.push(index);
    }

    /// The protocol the client speaks.
    fn protocol(&self) -> Protocol {
        self.session.protocol
    }

    /// A null in the client's protocol.
    fn nil(&mut self) {
        let protocol = self.protocol();
        self.out.nil(protocol);
    }

    /// A map header in the client's protocol.
    fn map(&mut self, len: usize) {
        let protocol = self.protocol();
        self.out.map(len, protocol);
    }

    /// A push header (subscription confirmations) in the client's protocol.
    fn push_header(&mut self, len: usize) {
        let protocol = self.protocol();
        self.out.push_header(len, protocol);
    }

    /// Text for people in the client's protocol.
    fn verbatim(&mut self, text: &[u8]) {
        let protocol = self.protocol();
        self.out.verbatim(text, protocol);
    }
}

type Run = fn(&mut Ctx<'_>, &[Vec<u8>]) -> Flow;

/// One command (or subcommand): its name, Redis's arity (n: exactly n arguments counting
/// the name; -n: at least n), what runs it, and two of Redis's flags.
struct Spec {
    name: &'static str,
    arity: i32,
    run: Run,
    subcommands: &'static [Spec],
    /// Redis's `admin`: never shown to monitors.
    admin: bool,
    /// Reads or writes keys, or may be replicated (Redis's `read`, `write`,
    /// `may_replicate`): a monitor, being a replica to Redis, may not run it.
    keyspace: bool,
    /// Runs before the client authenticated (Redis's `no-auth`).
    no_auth: bool,
}

const fn command(name: &'static str, arity: i32, run: Run) -> Spec {
    Spec {
        name,
        arity,
        run,
        subcommands: &[],
        admin: false,
        keyspace: false,
        no_auth: false,
    }
}

const fn container(name: &'static str, subcommands: &'static [Spec]) -> Spec {
    Spec {
        name,
        arity: -2,
        run: |_, _| Flow::Continue,
        subcommands,
        admin: false,
        keyspace: false,
        no_auth: false,
    }
}

impl Spec {
    const fn admin(mut self) -> Spec {
        self.admin = true;
        self
    }

    const fn keyspace(mut self) -> Spec {
        self.keyspace = true;
        self
    }

    const fn no_auth(mut self) -> Spec {
        self.no_auth = true;
        self
    }
}

const COMMANDS: &[Spec] = &[
    command("ping", -1, server::ping),
    command("auth", -2, server::auth).no_auth(),
    command("select", 2, server::select),
    command("hello", -1, server::hello).no_auth(),
    container("client", server::CLIENT),
    command("info", -1, server::info),
    command("dbsize", 1, server::dbsize).keyspace(),
    command("quit", -1, server::quit).no_auth(),
    command("reset", 1, server::reset).no_auth(),
    command("monitor", 1, server::monitor).admin(),
    command("publish", 3, pubsub::publish).keyspace(),
    command("subscribe", -2, pubsub::subscribe),
    command("psubscribe", -2, pubsub::psubscribe),
    command("unsubscribe", -1, pubsub::unsubscribe),
    command("punsubscribe", -1, pubsub::punsubscribe),
    container("pubsub", pubsub::PUBSUB),
    command("set", -3, keys::set).keyspace(),
    command("get", 2, keys::get).keyspace(),
    command("del", -2, keys::del).keyspace(),
    command("exists", -2, keys::exists).keyspace(),
    command("ttl", 2, keys::ttl).keyspace(),
    command("lpush", -3, keys::lpush).keyspace(),
    command("ltrim", 4, keys::ltrim).keyspace(),
    command("lrange", 4, keys::lrange).keyspace(),
    command("llen", 2, keys::llen).keyspace(),
    command("lrem", 4, keys::lrem).keyspace(),
    command("lindex", 3, keys::lindex).keyspace(),
    command("hset", -4, keys::hset).keyspace(),
    command("hdel", -3, keys::hdel).keyspace(),
    command("hgetall", 2, keys::hgetall).keyspace(),
    command("hget", 3, keys::hget).keyspace(),
    command("hkeys", 2, keys::hkeys).keyspace(),
    command("hlen", 2, keys::hlen).keyspace(),
    command("hexists", 3, keys::hexists).keyspace(),
];

/// What a subscribed RESP2 client may still run; a RESP3 client, whose messages come as
/// pushes, may run anything.
const SUBSCRIBED_MODE: &[&str] = &[
    "subscribe",
    "psubscribe",
    "unsubscribe",
    "punsubscribe",
    "ping",
    "quit",
    "reset",
];

fn find<'a>(specs: &'a [Spec], name: &[u8]) -> Option<&'a Spec> {
    specs
        .iter()
        .find(|spec| spec.name.as_bytes().eq_ignore_ascii_case(name))
}

fn arity_ok(arity: i32, given: usize) -> bool {
    let needed = arity.unsigned_abs() as usize;
    if arity >= 0 {
        given == needed
    } else {
        given >= needed
    }
}

/// Runs one request, writing its reply to `out` (or, for a subscription change, queueing
/// what `out` holds on `outbox`).
pub(crate) fn execute(
    shared: &Shared,
    session: &mut Session,
    args: &[Vec<u8>],
    out: &mut Vec<u8>,
    outbox: &Outbox,
    now: Instant,
) -> Flow {
    let Some(name) = args.first() else {
        return Flow::Continue;
    };
    let Some(spec) = find(COMMANDS, name) else {
        out.error(&unknown_command(args));
        return Flow::Continue;
    };
    if !arity_ok(spec.arity, args.len()) {
        shared.stats().rejected((spec.name, ""));
        out.error(&wrong_arity(spec.name));
        return Flow::Continue;
    }
    let (spec, stat) = if spec.subcommands.is_empty() {
        (spec, (spec.name, ""))
    } else {
        let Some(sub) = find(spec.subcommands, &args[1]) else {
            out.error(&format!(
                "ERR unknown subcommand '{}'. Try {} HELP.",
                String::from_utf8_lossy(&args[1]),
                spec.name.to_uppercase()
            ));
            return Flow::Continue;
        };
        let full_name = format!("{}|{}", spec.name, sub.name);
        if !arity_ok(sub.arity, args.len()) {
            out.error(&wrong_arity(&full_name));
            shared.stats().rejected((spec.name, sub.name));
            return Flow::Continue;
        }
        (sub, (spec.name, sub.name))
    };
    let full_name = || match stat {
        (name, "") => name.to_owned(),
        (name, sub) => format!("{name}|{sub}"),
    };
    if !session.authenticated && !spec.no_auth {
        out.error("NOAUTH Authentication required.");
        shared.stats().rejected(stat);
        return Flow::Continue;
    }
    if session.subscriptions > 0
        && session.protocol == Protocol::Resp2
        && !SUBSCRIBED_MODE.contains(&spec.name)
    {
        out.error(&format!(
            "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / \
             PING / QUIT / RESET are allowed in this context",
            full_name()
        ));
        shared.stats().rejected(stat);
        return Flow::Continue;
    }
    if spec.keyspace && session.monitor {
        out.error("ERR Replica can't interact with the keyspace");
        shared.stats().rejected(stat);
        return Flow::Continue;
    }
    let start = out.len();
    let mut ctx = Ctx {
        shared,
        session,
        out,
        outbox,
        now,
        redacted: Vec::new(),
    };
    let flow = (spec.run)(&mut ctx, args);
    // A subscription change may have queued what was gathered (it never fails).
    let failed = ctx.out.get(start) == Some(&b'-');
    shared.stats().called(stat, failed);
    if !spec.admin && shared.registry().monitored() {
        feed_monitors(&mut ctx, args, flow);
    }
    flow
}

/// Shows a command that ran to the monitors, with the database it left the client in.
/// The clock stays locked until the line is queued, so that monitors read lines in the
/// order of their times.
fn feed_monitors(ctx: &mut Ctx<'_>, args: &[Vec<u8>], flow: Flow) {
    let mut clock = super::lock(&ctx.shared.clock);
    let line = monitor::line(
        clock.now(),
        ctx.session.db,
        ctx.session.addr,
        args,
        &ctx.redacted,
    );
    let registry = ctx.registry();
    // A client that is closing takes nothing more, as Redis drops what is added after
    // the reply to QUIT.
    let own = (flow == Flow::Continue).then_some(&mut *ctx.out);
    registry.feed_monitors(&line, ctx.session.id, own, ctx.shared.output_limit);
    drop(registry);
    drop(clock);
}

/// Redis's error for an unknown command: the name and the start of the arguments.
fn unknown_command(args: &[Vec<u8>]) -> String {
    let mut shown = String::new();
    for arg in &args[1..] {
        if shown.len() >= 128 {
            break;
        }
        let room = 128 - shown.len();
        let text = String::from_utf8_lossy(arg);
        let cut: String = text.chars().take(room).collect();
        shown.push_str(&format!("'{cut}' "));
    }
    let name: String = String::from_utf8_lossy(&args[0])
        .chars()
        .take(128)
        .collect();
    format!("ERR unknown command '{name}', with args beginning with: {shown}")
}

fn wrong_arity(name: &str) -> String {
    format!("ERR wrong number of arguments for '{name}' command")
}

const NOT_AN_INTEGER: &str = "ERR value is not an integer or out of range";
const SYNTAX_ERROR: &str = "ERR syntax error";

/// Reads an integer as strictly as Redis's `string2ll`: no sign but `-`, no leading
/// zeros, no spaces.
fn integer(bytes: &[u8]) -> Option<i64> {
    let digits = bytes.strip_prefix(b"-").unwrap_or(bytes);
    let canonical = match digits {
        [] => false,
        [b'0'] => digits.len() == bytes.len(),
        [first, rest @ ..] => (b'1'..=b'9').contains(first) && rest.iter().all(u8::is_ascii_digit),
    };
    if !canonical {
        return None;
    }
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tokio_util::sync::CancellationToken;

    #[test]
    fn integers_are_read_like_redis() {
        assert_eq!(integer(b"0"), Some(0));
        assert_eq!(integer(b"-12"), Some(-12));
        assert_eq!(integer(b"9223372036854775807"), Some(i64::MAX));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"1x",
            b"99999999999999999999",
        ] {
            assert_eq!(integer(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn unknown_commands_show_the_start_of_their_arguments() {
        let args: Vec<Vec<u8>> = vec![b"foo".to_vec(), b"a".to_vec(), b"b".to_vec()];
        assert_eq!(
            unknown_command(&args),
            "ERR unknown command 'foo', with args beginning with: 'a' 'b' "
        );
        let long: Vec<Vec<u8>> = vec![b"x".to_vec(), vec![b'y'; 200], b"z".to_vec()];
        let text = unknown_command(&long);
        assert!(text.ends_with(&format!("'{}' ", "y".repeat(128))), "{text}");
    }

    /// A request: a known command name (any case) or garbage, then arguments that are
    /// numbers, names, option words or random bytes.
    fn request() -> impl Strategy<Value = Vec<Vec<u8>>> {
        let names: Vec<Vec<u8>> = COMMANDS
            .iter()
            .map(|spec| spec.name.as_bytes().to_vec())
            .chain([b"SeT".to_vec(), b"nope".to_vec(), vec![]])
            .collect();
        let name = prop::sample::select(names);
        let arg = prop_oneof![
            prop::sample::select(vec![
                b"0".to_vec(),
                b"-1".to_vec(),
                b"1".to_vec(),
                b"2".to_vec(),
                b"-9223372036854775808".to_vec(),
                b"9223372036854775807".to_vec(),
                b"k".to_vec(),
                b"h".to_vec(),
                b"l".to_vec(),
                b"*".to_vec(),
                b"k*".to_vec(),
                b"NX".to_vec(),
                b"XX".to_vec(),
                b"EX".to_vec(),
                b"PX".to_vec(),
                b"KILL".to_vec(),
                b"TYPE".to_vec(),
                b"pubsub".to_vec(),
                b"ID".to_vec(),
                b"SETNAME".to_vec(),
                b"AUTH".to_vec(),
                b"default".to_vec(),
                b"pw".to_vec(),
                b"3".to_vec(),
                b"HELLO".to_vec(),
                b"CHANNELS".to_vec(),
                b"NUMSUB".to_vec(),
                b"NUMPAT".to_vec(),
                b"SKIPME".to_vec(),
                b"no".to_vec(),
                b"[".to_vec(),
                b"\\".to_vec(),
            ]),
            prop::collection::vec(any::<u8>(), 0..8),
        ];
        (name, prop::collection::vec(arg, 0..7)).prop_map(|(name, mut args)| {
            args.insert(0, name);
            args
        })
    }

    proptest! {
        /// Whatever arrives, every request gets a well-formed reply and nothing panics.
        #[test]
        fn any_requests_get_replies_and_never_panic(
            requests in prop::collection::vec(request(), 1..40),
            password in any::<bool>(),
        ) {
            let config = crate::broker::BrokerConfig {
                output_limit: 1024,
                password: password.then(|| "pw".to_owned()),
                ..crate::broker::BrokerConfig::default()
            };
            let shared = Shared::new(6379, &config);
            let (outbox, mut drain) = Outbox::new(CancellationToken::new());
            let addr = "127.0.0.1:1".parse().expect("address");
            shared.clients().add(1, outbox.clone(), addr);
            let mut session = Session::new(1, addr, &shared);
            let now = Instant::now();
            for args in &requests {
                let mut out = Vec::new();
                let flow = execute(&shared, &mut session, args, &mut out, &outbox, now);
                // What a subscription change queued comes first.
                let mut queued = Vec::new();
                while let Ok(frame) = drain.frames.try_recv() {
                    queued.extend_from_slice(&frame);
                }
                queued.extend_from_slice(&out);
                let out = queued;
                // A second MONITOR is the one request Redis leaves unanswered.
                let monitor_again = args.first().is_some_and(|name| name.eq_ignore_ascii_case(b"monitor"));
                prop_assert!(!out.is_empty() || monitor_again, "no reply to {:?}", args);
                let mut rest = out.as_slice();
                while !rest.is_empty() {
                    match crate::broker::resp::reply_length(rest) {
                        Some(length) => rest = &rest[length..],
                        None => prop_assert!(false, "malformed reply {:?}", String::from_utf8_lossy(&out)),
                    }
                }
                if flow == Flow::Close {
                    break;
                }
            }
        }
    }
}
