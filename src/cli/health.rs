//! `gilmour health`: ping every ident of the health hash; exit 0 when all answered 200,
//! 1 when some did not, for cron (`gilmour health || alert`).

use super::{Connection, EXIT_FAILED, interrupted, parse_seconds};
use clap::Args;
use gilmour::engine::Engine;
use gilmour::inspect::sanitize::clean;
use gilmour::inspect::services::{self, Health, PingOptions, Survey};
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

/// The exit codes, as `gilmour health --help` shows them.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  every known host answered its ping with 200 (or none is known)
  1  some host is dead, or answered with another code
  3  cannot reach or authenticate to Redis";

/// Arguments of `gilmour health`.
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// One JSON object per round: hosts, listeners, pattern slots, whether all are
    /// healthy, when the round ended.
    #[arg(long)]
    json: bool,
    /// Run again every SECS seconds until Ctrl-C, through Redis outages (the exit code is
    /// the last round's).
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    watch: Option<Duration>,
    /// Remove the idents nobody listens for (pinged twice, a second apart). Idents that
    /// are subscribed but silent are reported, never removed: they may come back.
    #[arg(long)]
    prune_dead: bool,
    /// Seconds a host has to answer its ping before it counts as dead.
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = parse_seconds)]
    timeout: Duration,
    /// Seconds past which a healthy answer counts as slow.
    #[arg(long, value_name = "SECS", default_value = "0.25", value_parser = parse_seconds)]
    slow_after: Duration,
}

/// Runs `gilmour health`.
pub async fn run(connection: &Connection, args: HealthArgs) -> anyhow::Result<ExitCode> {
    let engine = connection.builder().connect().await?;
    let options = PingOptions {
        timeout: args.timeout,
        slow_after: args.slow_after,
    };
    let outcome = match args.watch {
        None => round(&engine, &args, options).await,
        Some(every) => {
            let stop = interrupted();
            tokio::pin!(stop);
            let mut ticker = tokio::time::interval(every.max(Duration::from_millis(100)));
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last = Ok(true);
            loop {
                tokio::select! {
                    () = &mut stop => break,
                    _ = ticker.tick() => {
                        // A round that cannot reach Redis says so and the watch goes on:
                        // an outage is what it is watching for.
                        last = round(&engine, &args, options).await;
                        if let Err(error) = &last {
                            eprintln!("gilmour: {}", super::describe(error));
                        }
                    }
                }
            }
            last
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), engine.shutdown()).await;
    Ok(if outcome? {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    })
}

/// One survey, printed; whether every host answered 200.
async fn round(engine: &Engine, args: &HealthArgs, options: PingOptions) -> anyhow::Result<bool> {
    let survey = services::survey(engine, options).await?;
    let pruned = if args.prune_dead {
        services::prune_dead(engine, &survey.hosts, options, services::CONFIRM_AFTER).await?
    } else {
        Vec::new()
    };
    let mut out = std::io::stdout().lock();
    let printed = if args.json {
        let mut object = serde_json::to_value(&survey)?;
        if let Some(fields) = object.as_object_mut() {
            fields.insert("at".into(), chrono::Utc::now().to_rfc3339().into());
            fields.insert("healthy".into(), survey.all_healthy().into());
            if args.prune_dead {
                fields.insert("pruned".into(), pruned.clone().into());
            }
        }
        writeln!(out, "{object}")
    } else {
        table(&mut out, engine, &survey, args.watch.is_some())
    };
    // A closed stdout (`| head`) is the reader's choice; the exit code still says it.
    let _ = printed.and_then(|()| out.flush());
    drop(out);
    for ident in &pruned {
        eprintln!(
            "gilmour: removed {} from {}",
            clean(ident, 120),
            clean(engine.channels().health_hash(), 60)
        );
    }
    if !args.json {
        eprintln!("gilmour: {}", summary(&survey));
    }
    Ok(survey.all_healthy())
}

fn summary(survey: &Survey) -> String {
    if survey.hosts.is_empty() {
        return "no known hosts".to_owned();
    }
    let counts: Vec<String> = services::HostState::ALL
        .iter()
        .map(|state| (state, survey.count(*state)))
        .filter(|(_, count)| *count > 0)
        .map(|(state, count)| format!("{count} {}", state.as_str()))
        .collect();
    format!(
        "{} host{}: {}",
        survey.hosts.len(),
        if survey.hosts.len() == 1 { "" } else { "s" },
        counts.join(", ")
    )
}

fn table(
    out: &mut impl Write,
    engine: &Engine,
    survey: &Survey,
    stamped: bool,
) -> std::io::Result<()> {
    if stamped {
        writeln!(out, "── {}", chrono::Local::now().format("%H:%M:%S"))?;
    }
    if survey.hosts.is_empty() {
        writeln!(
            out,
            "no known hosts in {}",
            clean(engine.channels().health_hash(), 60)
        )?;
    }
    for host in &survey.hosts {
        let latency = host.health.latency().map_or_else(
            || "-".to_owned(),
            |latency| format!("{:.2}ms", latency.as_secs_f64() * 1000.0),
        );
        let detail = match &host.health {
            Health::Alive { topics, .. } | Health::Slow { topics, .. } => topics
                .iter()
                .map(|topic| clean(topic, 80))
                .collect::<Vec<_>>()
                .join(", "),
            other => clean(&other.describe(), 160),
        };
        writeln!(
            out,
            "{:<8} {:>9}  {}  {}",
            host.health.state().as_str(),
            latency,
            clean(&host.ident, 100),
            detail
        )?;
    }
    let listened: Vec<String> = survey
        .listeners
        .requests
        .iter()
        .map(|listened| format!("{} ({})", clean(&listened.topic, 60), listened.listeners))
        .collect();
    if !listened.is_empty() {
        writeln!(out, "request topics: {}", listened.join(", "))?;
    }
    let patterns: Vec<String> = survey
        .patterns
        .iter()
        .map(|slot| format!("{} ({})", clean(&slot.pattern, 60), slot.hosts.len()))
        .collect();
    if !patterns.is_empty() {
        writeln!(out, "pattern slots: {}", patterns.join(", "))?;
    }
    for node in &survey.nodes {
        let state = if node.failed { "failed" } else { "up" };
        let slots = match node.role {
            gilmour::transport::cluster::Role::Primary => format!("{} slots", node.slots),
            gilmour::transport::cluster::Role::Replica => String::new(),
        };
        writeln!(
            out,
            "node {:<21} {:<7} {:<6} {}",
            clean(&node.address, 60),
            node.role.as_str(),
            state,
            slots
        )?;
    }
    Ok(())
}
