//! Connection and server commands: PING, AUTH, SELECT, HELLO, CLIENT, INFO, DBSIZE, QUIT,
//! RESET, MONITOR.

use super::{Ctx, Flow, NOT_AN_INTEGER, SYNTAX_ERROR, Spec, command, integer, wrong_arity};
use crate::broker::REDIS_VERSION;
use crate::broker::clients::KillFilter;
use crate::broker::keyspace::DATABASES;
use crate::broker::resp::{Protocol, Write};
use std::fmt::Write as _;

/// The subcommands of CLIENT.
pub(super) const CLIENT: &[Spec] = &[
    command("setname", 3, client_setname),
    command("getname", 2, client_getname),
    command("setinfo", 4, client_setinfo),
    command("id", 2, client_id),
    command("kill", -3, client_kill).admin(),
    command("list", 2, client_list).admin(),
];

pub(super) fn ping(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Flow {
    if args.len() > 2 {
        ctx.out.error(&wrong_arity("ping"));
    } else if ctx.session.subscriptions > 0 && ctx.protocol() == Protocol::Resp2 {
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(args.get(1).map_or(&b""[..], Vec::as_slice));
    } else {
        match args.get(1) {
            Some(message) => ctx.out.bulk(message),
            None => ctx.out.simple("PONG"),
        }
    }
    Flow::Continue
}

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// Checks a user and password against the broker's only user, `default`: any password
/// when there is none (Redis's `nopass`), else the broker's. A failure leaves a client
/// that had authenticated authenticated, as Redis does.
fn authenticate(ctx: &mut Ctx<'_>, user: &[u8], password: &[u8]) -> bool {
    let right = user == b"default"
        && ctx
            .shared
            .password
            .as_deref()
            .is_none_or(|expected| same_secret(expected, password));
    if right {
        ctx.session.authenticated = true;
    } else {
        ctx.out.error(WRONGPASS);
    }
    right
}

/// Compares without stopping at the first difference, so that the time taken does not
/// tell how much of a guess was right.
fn same_secret(expected: &[u8], given: &[u8]) -> bool {
    expected.len() == given.len()
        && expected
            .iter()
            .zip(given)
            .fold(0, |differ, (a, b)| differ | (a ^ b))
            == 0
}

pub(super) fn auth(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Flow {
    // Like Redis, every form it would check hides its arguments, right or wrong.
    if args.len() <= 3 {
        (1..args.len()).for_each(|index| ctx.redact(index));
    }
    match args.len() {
        2 if ctx.shared.password.is_none() => ctx.out.error(
            "ERR AUTH <password> called without any password configured for the default \
             user. Are you sure your configuration is correct?",
        ),
        2 => {
            if authenticate(ctx, b"default", &args[1]) {
                ctx.out.simple("OK");
            }
        }
        3 => {
            if authenticate(ctx, &args[1], &args[2]) {
                ctx.out.simple("OK");
            }
        }
        _ => ctx.out.error(SYNTAX_ERROR),
    }
    Flow::Continue
}

pub(super) fn select(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Flow {
    match integer(&args[1]) {
        None => ctx.out.error(NOT_AN_INTEGER),
        Some(db) if !(0..DATABASES as i64).contains(&db) => {
            ctx.out.error("ERR DB index is out of range");
        }
        Some(db) => {
            ctx.session.db = db as usize;
            ctx.out.simple("OK");
        }
    }
    Flow::Continue
}

/// HELLO [2|3] [AUTH user pass] [SETNAME name]: switches the connection's protocol once
/// the options are read and checked, and answers with the server's description in the
/// new protocol (a map in RESP3), as Redis 7 does.
pub(super) fn hello(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Flow {
    let mut next = 1;
    let mut protocol = ctx.protocol();
    if let Some(version) = args.get(1) {
        next = 2;
        match integer(version) {
            None => {
                ctx.out
                    .error("ERR Protocol version is not an integer or out of range");
                return Flow::Continue;
            }
            Some(2) => protocol = Protocol::Resp2,
            Some(3) => protocol = Protocol::Resp3,
            Some(_) => {
                ctx.out.error(NOPROTO);
                return Flow::Continue;
            }
        }
    }
    let mut credentials = None;
    let mut name = None;
    while next < args.len() {
        let more = args.len() - 1 - next;
        let option = &args[next];
        if option.eq_ignore_ascii_case(b"AUTH") && more >= 2 {
            ctx.redact(next + 1);
            ctx.redact(next + 2);
            credentials = Some((&args[next + 1], &args[next + 2]));
            next += 3;
        } else if option.eq_ignore_ascii_case(b"SETNAME") && more >= 1 {
            name = Some(&args[next + 1]);
            next += 2;
        } else {
            ctx.out.error(&format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(option)
            ));
            return Flow::Continue;
        }
    }
    match credentials {
        Some((user, password)) if !authenticate(ctx, user, password) => {
            return Flow::Continue;
        }
        None if !ctx.session.authenticated => {
            ctx.out.error(
                "NOAUTH HELLO must be called with the client already authenticated, \
                 otherwise the HELLO AUTH <user> <pass> option can be used to authenticate \
                 the client and select the RESP protocol version at the same time",
            );
            return Flow::Continue;
        }
        _ => {}
    }
    if let Some(name) = name
        && !set_name(ctx, name)
    {
        return Flow::Continue;
    }
    ctx.session.protocol = protocol;
    ctx.map(7);
    ctx.out.bulk(b"server");
    ctx.out.bulk(b"redis");
    ctx.out.bulk(b"version");
    ctx.out.bulk(REDIS_VERSION.as_bytes());
    ctx.out.bulk(b"proto");
    ctx.out.integer(protocol.version());
    ctx.out.bulk(b"id");
    ctx.out.integer(ctx.session.id as i64);
    ctx.out.bulk(b"mode");
    ctx.out.bulk(b"standalone");
    ctx.out.bulk(b"role");
    ctx.out.bulk(b"master");
    ctx.out.bulk(b"modules");
    ctx.out.array(0);
    if ctx.session.subscriptions > 0 {
        // Messages from now on come in the new protocol, after this reply.
        let mut registry = ctx.registry_mut();
        registry.set_protocol(ctx.session.id, protocol);
        ctx.flush();
        drop(registry);
    }
    Flow::Continue
}

const NOPROTO: &str = "NOPROTO unsupported protocol version";

fn set_name(ctx: &mut Ctx<'_>, name: &[u8]) -> bool {
    if name.iter().any(|byte| !(b'!'..=b'~').contains(byte)) {
        ctx.out
            .error("ERR Client names cannot contain spaces, newlines or special characters.");
        return false;
    }
    ctx.clients().set_name(ctx.session.id, name);
    true
}

fn client_setname(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Flow {
    if set_name(ctx, &args[2]) {
        ctx.out.simple("OK");
    }
    Flow::Continue
}

fn client_getname(ctx: &mut Ctx<'_>, _args: &[Vec<u8>]) -> Flow {
    let name = ctx.clients().name(ctx.session.id).map(<[u8]>::to_vec);
    match name {
        Some(name) => ctx.out.bulk(&name),
        None => ctx.nil(),
    }
    Flow::Continue
}

/// What clients say about themselves (Redis 7.2): accepted and forgotten.
fn client_setinfo(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Flow {
    let attribute = &args[2];
    if attribute.eq_ignore_ascii_case(b"LIB-NAME") || attribute.eq_ignore_ascii_case(b"LIB-VER") {
        ctx.out.simple("OK");
    } else {
        ctx.out.error(&format!(
            "ERR Unrecognized option '{}'",
            String::from_utf8_lossy(attribute)
        ));
    }
    Flow::Continue
}

/// CLIENT LIST (the plain form: no TYPE or ID filters).
fn client_list(ctx: &mut Ctx<'_>, _args: &[Vec<u8>]) -> Flow {
    let list = {
        let clients = ctx.clients();
        clients.list(&ctx.registry())
    };
    ctx.verbatim(list.as_bytes());
    Flow::Continue
}

fn client_id(ctx: &mut Ctx<'_>, _args: &[Vec<u8>]) -> Flow {
    ctx.out.integer(ctx.session.id as i64);
    Flow::Continue
}

/// CLIENT KILL, old form (`addr`, answers OK) and new form (filters, answers a count).
fn client_kill(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Flow {
    let me = ctx.session.id;
    if args.len() == 3 {
        let filter = KillFilter {
            addr: Some(args[2].clone()),
            ..KillFilter::default()
        };
        let killed = kill(ctx, &filter);
        if killed.is_empty() {
            ctx.out.error("ERR No such client");
            return Flow::Continue;
        }
        ctx.out.simple("OK");
        return if killed.contains(&me) {
            Flow::Close
        } else {
            Flow::Continue
        };
    }
    let mut filter = KillFilter {
        skip: Some(me),
        ..KillFilter::default()
    };
    for pair in args[2..].chunks(2) {
        let [name, value] = pair else {
            ctx.out.error(SYNTAX_ERROR);
            return Flow::Continue;
        };
        let name = name.to_ascii_lowercase();
        match name.as_slice() {
            b"id" => match integer(value) {
                Some(id) if id > 0 => filter.id = Some(id as u64),
                _ => {
                    ctx.out.error("ERR client-id should be greater than 0");
                    return Flow::Continue;
                }
            },
            b"type" => match value.to_ascii_lowercase().as_slice() {
                b"normal" => filter.pubsub = Some(false),
                b"pubsub" => filter.pubsub = Some(true),
                b"master" | b"replica" | b"slave" => filter.nobody = true,
                _ => {
                    ctx.out.error(&format!(
                        "ERR Unknown client type '{}'",
                        String::from_utf8_lossy(value)
                    ));
                    return Flow::Continue;
                }
            },
            b"addr" => filter.addr = Some(value.clone()),
            b"skipme" => match value.to_ascii_lowercase().as_slice() {
                b"yes" => filter.skip = Some(me),
                b"no" => filter.skip = None,
                _ => {
                    ctx.out.error(SYNTAX_ERROR);
                    return Flow::Continue;
                }
            },
            _ => {
                ctx.out.error(SYNTAX_ERROR);
                return Flow::Continue;
            }
        }
    }
    let killed = kill(ctx, &filter);
    ctx.out.integer(killed.len() as i64);
    if killed.contains(&me) {
        Flow::Close
    } else {
        Flow::Continue
    }
}

/// Disconnects the clients the filter selects and forgets them at once (as Redis frees
/// them), so that the next command no longer counts them; returns their ids.
fn kill(ctx: &Ctx<'_>, filter: &KillFilter) -> Vec<crate::broker::clients::ClientId> {
    let mut clients = ctx.clients();
    let killed = clients.kill(filter, &ctx.registry());
    let mut registry = ctx.registry_mut();
    for id in &killed {
        registry.remove(*id);
    }
    killed
}

pub(super) fn info(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Flow {
    let asked: Vec<String> = args[1..]
        .iter()
        .map(|arg| String::from_utf8_lossy(arg).to_lowercase())
        .collect();
    let wants = |section: &str| {
        let everything = asked.iter().any(|a| a == "all" || a == "everything");
        let default = asked.is_empty() || asked.iter().any(|a| a == "default");
        everything || asked.iter().any(|a| a == section) || (default && section != "commandstats")
    };
    let text = render_info(ctx.shared, ctx.now, &wants);
    ctx.verbatim(text.as_bytes());
    Flow::Continue
}

fn render_info(
    shared: &crate::broker::Shared,
    now: std::time::Instant,
    wants: &dyn Fn(&str) -> bool,
) -> String {
    let mut sections = Vec::new();
    if wants("server") {
        sections.push(format!(
            "# Server\r\nredis_version:{REDIS_VERSION}\r\nredis_mode:standalone\r\n\
             gilmour_broker_version:{}\r\ntcp_port:{}\r\nuptime_in_seconds:{}\r\n",
            env!("CARGO_PKG_VERSION"),
            shared.port,
            now.saturating_duration_since(shared.started).as_secs()
        ));
    }
    if wants("clients") {
        sections.push(format!(
            "# Clients\r\nconnected_clients:{}\r\n",
            shared.clients().len()
        ));
    }
    if wants("keyspace") {
        let mut section = String::from("# Keyspace\r\n");
        for (db, keys, expires) in shared.keys().summary(now) {
            let _ = write!(
                section,
                "db{db}:keys={keys},expires={expires},avg_ttl=0\r\n"
            );
        }
        sections.push(section);
    }
    if wants("commandstats") {
        let mut section = String::from("# Commandstats\r\n");
        for (name, counts) in shared.stats().iter() {
            let _ = write!(
                section,
                "cmdstat_{name}:calls={},usec=0,usec_per_call=0.00,rejected_calls={},\
                 failed_calls={}\r\n",
                counts.calls, counts.rejected, counts.failed
            );
        }
        sections.push(section);
    }
    sections.join("\r\n")
}

pub(super) fn dbsize(ctx: &mut Ctx<'_>, _args: &[Vec<u8>]) -> Flow {
    let size = ctx.keys().len(ctx.session.db, ctx.now);
    ctx.out.integer(size as i64);
    Flow::Continue
}

/// RESET: the connection as it was when it opened, of what the broker keeps: no
/// subscriptions (dropped without confirmations, as Redis), no name, database 0, not a
/// monitor, RESP2, and not authenticated when there is a password.
pub(super) fn reset(ctx: &mut Ctx<'_>, _args: &[Vec<u8>]) -> Flow {
    ctx.registry_mut().remove(ctx.session.id);
    ctx.clients().set_name(ctx.session.id, b"");
    ctx.session.subscriptions = 0;
    ctx.session.monitor = false;
    ctx.session.protocol = Protocol::Resp2;
    ctx.session.db = 0;
    ctx.session.authenticated = ctx.shared.password.is_none();
    ctx.out.simple("RESET");
    Flow::Continue
}

/// MONITOR: from now on the client is shown every command run (see `monitor`). Asked
/// again, Redis ignores it without a reply.
pub(super) fn monitor(ctx: &mut Ctx<'_>, _args: &[Vec<u8>]) -> Flow {
    if ctx
        .registry_mut()
        .start_monitoring(ctx.session.id, ctx.outbox)
    {
        ctx.session.monitor = true;
        ctx.out.simple("OK");
    }
    Flow::Continue
}

pub(super) fn quit(ctx: &mut Ctx<'_>, _args: &[Vec<u8>]) -> Flow {
    ctx.out.simple("OK");
    Flow::Close
}
