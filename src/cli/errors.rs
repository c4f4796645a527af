//! `gilmour errors`: the error queue from the shell — list (with a filter), show one,
//! re-send its request, delete one, trim.
//!
//! Entries are numbered as `LRANGE` numbers them, 0 the newest, at the moment of reading:
//! a record queued since moves every number up by one. `delete` and `resend` print what
//! they acted on, and `delete --sender` refuses to act on any other entry.

use super::{Connection, EXIT_FAILED, EXIT_UNAVAILABLE, parse_seconds};
use clap::{Args, Subcommand};
use gilmour::engine::EngineError;
use gilmour::inspect::errors::{ErrorQueue, QueueError, QueuedError};
use gilmour::inspect::filter::FilterSubject;
use gilmour::inspect::sanitize::{clean, column};
use gilmour::inspect::{Filter, trace::human_latency};
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `gilmour errors`.
#[derive(Debug, Args)]
pub struct ErrorsArgs {
    /// JSON: one object per entry (`list`), or one object.
    #[arg(long, global = true)]
    json: bool,
    /// The error queue [default: <prefix>.errorqueue].
    #[arg(long, global = true, value_name = "LIST")]
    error_queue: Option<String>,
    /// Only entries matching this filter (`topic:echo* code:>=500 sender:ab data:"x"`).
    #[arg(long, short, global = true)]
    filter: Option<String>,
    #[command(subcommand)]
    action: Option<Action>,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// List the entries, newest first (the default).
    List {
        /// Skip this many (matching) entries.
        #[arg(long, default_value_t = 0)]
        offset: usize,
        /// Show at most this many.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Show entry N (0 is the newest) whole.
    Show {
        /// The entry.
        index: usize,
    },
    /// Send the request entry N reports again, and print its reply's data.
    Resend {
        /// The entry.
        index: usize,
        /// Seconds to wait for the reply.
        #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_seconds)]
        timeout: Duration,
    },
    /// Delete entry N (by value: the entry read, not whatever sits at N by then).
    Delete {
        /// The entry.
        index: usize,
        /// Delete only if the entry's request sender is this (as `list` showed it).
        #[arg(long)]
        sender: Option<String>,
    },
    /// Keep only the newest entries, atomically.
    Trim {
        /// How many of the newest to keep.
        #[arg(long)]
        keep: usize,
    },
}

/// Runs `gilmour errors`.
pub async fn run(connection: &Connection, args: ErrorsArgs) -> anyhow::Result<ExitCode> {
    let filter: Filter = match args.filter.as_deref().unwrap_or("").parse() {
        Ok(filter) => filter,
        Err(error) => {
            eprintln!("gilmour: invalid filter: {error}");
            return Ok(ExitCode::from(EXIT_UNAVAILABLE));
        }
    };
    let mut builder = connection.builder();
    if let Some(queue) = &args.error_queue {
        builder = builder.error_queue(queue);
    }
    let engine = builder.connect().await?;
    let queue = ErrorQueue::new(&engine);
    let action = args.action.unwrap_or(Action::List {
        offset: 0,
        limit: None,
    });
    let mut out = std::io::stdout().lock();
    let outcome = match action {
        Action::List { offset, limit } => {
            let page = queue.all().await?;
            let shown: Vec<&QueuedError> = page
                .entries
                .iter()
                .filter(|entry| filter.matches(*entry))
                .skip(offset)
                .take(limit.unwrap_or(usize::MAX))
                .collect();
            for entry in &shown {
                if args.json {
                    writeln!(out, "{}", entry.to_json())?;
                } else {
                    writeln!(out, "{}", line(entry))?;
                }
            }
            out.flush()?;
            eprintln!(
                "gilmour: {} of {} entries in {}",
                shown.len(),
                page.total,
                clean(queue.name(), 60)
            );
            Ok(ExitCode::SUCCESS)
        }
        Action::Show { index } => match read(&queue, index, &filter).await? {
            Some(entry) => {
                if args.json {
                    writeln!(out, "{}", entry.to_json())?;
                } else {
                    writeln!(out, "{}", detail(&entry))?;
                }
                Ok(ExitCode::SUCCESS)
            }
            None => Ok(ExitCode::from(EXIT_UNAVAILABLE)),
        },
        Action::Resend { index, timeout } => {
            let Some(entry) = read(&queue, index, &filter).await? else {
                return Ok(ExitCode::from(EXIT_UNAVAILABLE));
            };
            eprintln!("gilmour: re-sending entry {index} ({})", brief(&entry));
            match queue.resend(&engine, &entry, timeout).await {
                Ok(response) => {
                    if args.json {
                        writeln!(out, "{}", response.reply.to_json())?;
                    } else {
                        writeln!(out, "{}", response.data())?;
                    }
                    out.flush()?;
                    eprintln!(
                        "gilmour: answered {} in {}",
                        response.code(),
                        human_latency(response.elapsed)
                    );
                    Ok(if response.is_ok() {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(EXIT_FAILED)
                    })
                }
                Err(QueueError::NotResendable { why, .. }) => {
                    eprintln!("gilmour: cannot re-send entry {index}: {why}");
                    Ok(ExitCode::from(EXIT_UNAVAILABLE))
                }
                Err(QueueError::Engine(EngineError::NoListeners { topic })) => {
                    eprintln!("gilmour: no active listeners for `{}`", clean(&topic, 100));
                    Ok(ExitCode::from(EXIT_UNAVAILABLE))
                }
                Err(error) => Err(error.into()),
            }
        }
        Action::Delete { index, sender } => {
            let Some(entry) = read(&queue, index, &filter).await? else {
                return Ok(ExitCode::from(EXIT_UNAVAILABLE));
            };
            if let Some(expected) = &sender
                && entry.sender() != expected
            {
                eprintln!(
                    "gilmour: entry {index} is not the one for sender {} (it is {}): nothing deleted",
                    clean(expected, 60),
                    brief(&entry)
                );
                return Ok(ExitCode::from(EXIT_UNAVAILABLE));
            }
            if queue.delete(&entry).await? {
                eprintln!("gilmour: deleted entry {index} ({})", brief(&entry));
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("gilmour: entry {index} was already gone");
                Ok(ExitCode::from(EXIT_FAILED))
            }
        }
        Action::Trim { keep } => {
            let report = queue.keep_newest(keep).await?;
            eprintln!(
                "gilmour: removed {} entries from {}, kept at most the {keep} newest",
                report.removed,
                clean(queue.name(), 60)
            );
            Ok(ExitCode::SUCCESS)
        }
    };
    drop(out);
    let _ = tokio::time::timeout(Duration::from_secs(1), engine.shutdown()).await;
    outcome
}

/// Entry `index`, or `None` (said on stderr) when there is none or the filter refuses it.
async fn read(
    queue: &ErrorQueue,
    index: usize,
    filter: &Filter,
) -> anyhow::Result<Option<QueuedError>> {
    match queue.get(index).await {
        Ok(entry) if filter.matches(&entry) => Ok(Some(entry)),
        Ok(_) => {
            eprintln!("gilmour: entry {index} does not match the filter");
            Ok(None)
        }
        Err(error @ QueueError::NoEntry { .. }) => {
            eprintln!("gilmour: {error}");
            Ok(None)
        }
        Err(error) => Err(error.into()),
    }
}

/// What an entry is, in a few words: topic, sender, code.
fn brief(entry: &QueuedError) -> String {
    match &entry.record {
        Some(record) => format!(
            "topic {}, sender {}, code {}",
            clean(&record.topic, 60),
            clean(&record.sender, 60),
            record.code
        ),
        None => "not an error record".to_owned(),
    }
}

/// One entry as a line: index, time, code, topic, short sender, the reply.
fn line(entry: &QueuedError) -> String {
    let Some(record) = &entry.record else {
        return format!(
            "{:>5}  (not an error record) {}",
            entry.index,
            clean(&entry.raw, 100)
        );
    };
    let at = record.timestamp.map_or_else(
        || record.timestamp_text.clone(),
        |at| {
            at.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        },
    );
    let topic = if record.topic.is_empty() {
        "(no topic)"
    } else {
        &record.topic
    };
    format!(
        "{:>5}  {}  {:>3}  {}  {}  {}{}",
        entry.index,
        column(&at, 19),
        record.code,
        column(topic, 32),
        column(gilmour::protocol::short_sender(&record.sender), 8),
        clean(&record.reply_text(), 80),
        match record.layout.as_str() {
            "named" => String::new(),
            layout => format!("  [{layout}]"),
        }
    )
}

/// One entry, whole.
fn detail(entry: &QueuedError) -> String {
    let Some(record) = &entry.record else {
        return format!(
            "entry {}: not an error record\nraw: {}",
            entry.index,
            clean(&entry.raw, 4000)
        );
    };
    let mut text = format!(
        "entry {}\ntopic:        {}\nsender:       {}\ncode:         {}\ntimestamp:    {}\nrequest data: {}\nreply:        {}\n",
        entry.index,
        clean(&record.topic, 200),
        clean(&record.sender, 200),
        record.code,
        clean(&record.timestamp_text, 60),
        clean(&record.request_text(), 2000),
        clean(&record.reply_text(), 2000),
    );
    if !record.backtrace.is_null() {
        let backtrace = match &record.backtrace {
            serde_json::Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        text.push_str(&format!("backtrace:    {}\n", clean(&backtrace, 4000)));
    }
    if let Some(note) = record.layout.note() {
        text.push_str(&format!("note:         {note}\n"));
    }
    text.push_str(&format!("raw:          {}", clean(&entry.raw, 4000)));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use gilmour::inspect::sanitize::display_width;
    use gilmour::protocol::Channels;

    #[test]
    fn the_sender_column_lines_up_after_cjk_and_emoji_topics() {
        let lines: Vec<String> = ["echo", "注文.作成", "🙂.ping", "注文.作成.確認.送信.完了.通知.すべて"]
            .iter()
            .enumerate()
            .map(|(index, topic)| {
                let raw = format!(
                    r#"{{"topic":"gilmour.request.{topic}","request_data":"1","user_data":"","sender":"送信者-{index}","multi_process":false,"timestamp":"2026-12-01T19:05:47Z","backtrace":"","code":500}}"#
                );
                line(&QueuedError::read(&Channels::default(), index, raw))
            })
            .collect();
        let first = lines[0].find("送信者").expect("the sender");
        for line in &lines {
            let at = line.find("送信者").expect("the sender");
            assert_eq!(
                display_width(&line[..at]),
                display_width(&lines[0][..first]),
                "{lines:#?}"
            );
        }
    }
}
