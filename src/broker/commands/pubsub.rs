//! Publish/subscribe: PUBLISH, (P)SUBSCRIBE, (P)UNSUBSCRIBE and PUBSUB.

use super::{Ctx, Flow, Spec, command};
use crate::broker::registry::Kind;
use crate::broker::resp::Write;

/// The subcommands of PUBSUB.
pub(super) const PUBSUB: &[Spec] = &[
    command("channels", -2, channels),
    command("numsub", -2, numsub),
    command("numpat", 2, numpat),
];

/// Delivers under the registry's read lock: publishers fan out side by side, and a
/// subscription change waits for the deliveries under way.
pub(super) fn publish(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Flow {
    let limit = ctx.shared.output_limit;
    let id = ctx.session.id;
    let receivers = ctx
        .registry()
        .publish(&args[1], &args[2], id, ctx.out, limit);
    ctx.out.integer(receivers as i64);
    Flow::Continue
}

fn confirm(ctx: &mut Ctx<'_>, what: &str, name: Option<&[u8]>, count: usize) {
    ctx.push_header(3);
    ctx.out.bulk(what.as_bytes());
    match name {
        Some(name) => ctx.out.bulk(name),
        None => ctx.nil(),
    }
    ctx.out.integer(count as i64);
}

/// The confirmations are queued before the registry is let go (see [`Ctx::flush`]).
fn subscribe_to(ctx: &mut Ctx<'_>, args: &[Vec<u8>], kind: Kind, what: &str) -> Flow {
    let mut registry = ctx.registry_mut();
    for name in &args[1..] {
        let count =
            registry.subscribe(ctx.session.id, ctx.outbox, ctx.session.protocol, kind, name);
        ctx.session.subscriptions = count;
        confirm(ctx, what, Some(name), count);
    }
    ctx.flush();
    drop(registry);
    Flow::Continue
}

/// Without arguments, everything the client holds of that kind goes, one confirmation
/// each; a client holding nothing gets one confirmation with a nil name.
fn unsubscribe_from(ctx: &mut Ctx<'_>, args: &[Vec<u8>], kind: Kind, what: &str) -> Flow {
    let id = ctx.session.id;
    let mut registry = ctx.registry_mut();
    let names = if args.len() > 1 {
        args[1..].to_vec()
    } else {
        registry.subscribed(id, kind)
    };
    if names.is_empty() {
        let count = registry.subscriptions(id);
        confirm(ctx, what, None, count);
    }
    for name in &names {
        let count = registry.unsubscribe(id, kind, name);
        ctx.session.subscriptions = count;
        confirm(ctx, what, Some(name), count);
    }
    ctx.flush();
    drop(registry);
    Flow::Continue
}

pub(super) fn subscribe(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Flow {
    subscribe_to(ctx, args, Kind::Channel, "subscribe")
}

pub(super) fn psubscribe(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Flow {
    subscribe_to(ctx, args, Kind::Pattern, "psubscribe")
}

pub(super) fn unsubscribe(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Flow {
    unsubscribe_from(ctx, args, Kind::Channel, "unsubscribe")
}

pub(super) fn punsubscribe(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Flow {
    unsubscribe_from(ctx, args, Kind::Pattern, "punsubscribe")
}

fn channels(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Flow {
    if args.len() > 3 {
        ctx.out.error(&format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
            String::from_utf8_lossy(&args[1])
        ));
        return Flow::Continue;
    }
    let registry = ctx.registry();
    let channels = registry.active_channels(args.get(2).map(Vec::as_slice));
    ctx.out.array(channels.len());
    for channel in channels {
        ctx.out.bulk(channel);
    }
    Flow::Continue
}

fn numsub(ctx: &mut Ctx<'_>, args: &[Vec<u8>]) -> Flow {
    let registry = ctx.registry();
    ctx.out.array((args.len() - 2) * 2);
    for channel in &args[2..] {
        ctx.out.bulk(channel);
        ctx.out.integer(registry.numsub(channel) as i64);
    }
    Flow::Continue
}

fn numpat(ctx: &mut Ctx<'_>, _args: &[Vec<u8>]) -> Flow {
    let patterns = ctx.registry().numpat();
    ctx.out.integer(patterns as i64);
    Flow::Continue
}
