//! `gilmour` (no subcommand) and `gilmour tui`: the terminal app, live on Redis or
//! offline on a capture file.

use super::{Connection, EXIT_UNAVAILABLE};
use crate::tui::{self, KeyMap, Settings, Source, Sources};
use anyhow::Context;
use clap::Args;
use gilmour::inspect::deep::{self, DeepCapture};
use gilmour::inspect::{Capture, capture, file};
use std::io::{BufRead, BufReader, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use tokio::sync::mpsc;

/// Arguments of the terminal app.
#[derive(Debug, Clone, Default, Args)]
pub struct TuiArgs {
    /// Open a capture file (from `gilmour record`, or `w` in the app) instead of Redis.
    #[arg(long, value_name = "FILE")]
    read: Option<String>,
    /// Key bindings [default: ~/.config/gilmour/keys.toml, when it exists].
    #[arg(long, value_name = "FILE")]
    keys: Option<PathBuf>,
    #[command(flatten)]
    store: super::store::StoreArgs,
    /// Deep capture: also MONITOR Redis, to name each request's caller and responder,
    /// the group-lock race and Redis's own timing. MONITOR costs Redis throughput.
    #[arg(long)]
    deep: bool,
    /// Also serve Prometheus metrics of what the app captures on ADDR (`/metrics`), as
    /// `gilmour exporter` does; the status line says where at start.
    #[arg(long, value_name = "ADDR")]
    metrics: Option<std::net::SocketAddr>,
    #[command(flatten)]
    metrics_options: super::exporter::MetricsArgs,
}

impl TuiArgs {
    /// The same, with deep capture on or off.
    pub fn with_deep(mut self, deep: bool) -> Self {
        self.deep = deep;
        self
    }
}

/// Runs the app.
pub async fn run(connection: &Connection, args: TuiArgs) -> anyhow::Result<ExitCode> {
    let label = gilmour::transport::redact_url(connection.url());
    run_on(connection, connection.url(), label, args).await
}

/// Runs the app on the Redis at `url`, described in the header as `label` (the demo says
/// which Redis it found or started).
pub async fn run_on(
    connection: &Connection,
    url: &str,
    label: String,
    args: TuiArgs,
) -> anyhow::Result<ExitCode> {
    // Bad bindings are reported before anything else, terminal or not.
    let keymap = match load_keys(args.keys.as_deref()) {
        Ok(keymap) => keymap,
        Err(error) => {
            eprintln!("gilmour: {error:#}");
            return Ok(ExitCode::from(EXIT_UNAVAILABLE));
        }
    };
    if args.metrics.is_some() && args.read.is_some() {
        eprintln!("gilmour: --metrics needs live capture, not --read");
        return Ok(ExitCode::from(EXIT_UNAVAILABLE));
    }
    if !std::io::stdout().is_terminal() {
        eprintln!("gilmour: the terminal app needs a terminal; try `gilmour tail` in a pipe");
        return Ok(ExitCode::from(EXIT_UNAVAILABLE));
    }
    let inspector = args.store.options()?;
    let builder = gilmour::engine::Engine::builder(url).prefix(&connection.prefix);
    let channels = builder.channels();
    let (source, sources, refused) = match &args.read {
        Some(path) => {
            let (events, reader) = read_file(path, channels.clone())?;
            let source = Source::File {
                path: path.clone(),
                done: false,
            };
            let sources = Sources {
                events: events.into(),
                capture: None,
                engine: None,
                file: Some(reader),
                deep: None,
                redis: None,
            };
            (source, sources, None)
        }
        None => {
            let engine = builder.clone().connect().await?;
            let (capture, events) = Capture::start(
                builder.redis_config(),
                channels.clone(),
                capture::DEFAULT_BUFFER,
            )
            .await?;
            let source = Source::Live {
                url: label,
                connected: true,
            };
            let (deep, refused) = if args.deep {
                match DeepCapture::start(
                    builder.redis_config(),
                    channels.clone(),
                    deep::DEFAULT_DEEP_BUFFER,
                )
                .await
                {
                    Ok(deep) => (Some(deep), None),
                    Err(error) => (None, Some(error.to_string())),
                }
            } else {
                (None, None)
            };
            let sources = Sources {
                events,
                capture: Some(capture),
                engine: Some(engine),
                file: None,
                deep,
                redis: Some(builder.redis_config()),
            };
            (source, sources, refused)
        }
    };
    // The server lives as long as the app; it counts what the app's inspector sees.
    let (metrics, metrics_server) = match args.metrics {
        Some(listen) => {
            let (metrics, guard) = args.metrics_options.start(connection, listen).await?;
            (Some(metrics), Some(guard))
        }
        None => (None, None),
    };
    // A binding that hides a global command may be meant, but must not go unsaid.
    let shadowed = keymap.shadowed();
    let serving = metrics_server
        .as_ref()
        .map(|server| format!("serving metrics on http://{}/metrics", server.address()));
    let notice = match (refused, shadowed.is_empty()) {
        (Some(refused), _) => Some(refused),
        (None, false) => Some(format!("key bindings: {}", shadowed.join("; "))),
        (None, true) => serving,
    };
    // Copied command lines name the Redis they came from, password hidden.
    let redis = args
        .read
        .is_none()
        .then(|| gilmour::transport::redact_url(url));
    let settings = Settings {
        source,
        inspector,
        channels,
        redis,
        keymap,
        tz: *chrono::Local::now().offset(),
        external_editor: std::env::var_os("EDITOR").is_some_and(|editor| !editor.is_empty()),
        now: chrono::Utc::now(),
        size: (80, 24),
        notice,
        metrics,
    };
    tui::run(settings, sources).await?;
    Ok(ExitCode::SUCCESS)
}

/// The key map: defaults, with the overrides of `--keys FILE` or of the default file.
fn load_keys(explicit: Option<&std::path::Path>) -> anyhow::Result<KeyMap> {
    let path = match explicit {
        Some(path) => path.to_owned(),
        None => {
            let config = std::env::var_os("XDG_CONFIG_HOME")
                .map(PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config"))
                });
            match config.map(|dir| dir.join("gilmour").join("keys.toml")) {
                Some(path) if path.exists() => path,
                _ => return Ok(KeyMap::default()),
            }
        }
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the key bindings in {}", path.display()))?;
    KeyMap::from_toml(&text).with_context(|| format!("in {}", path.display()))
}

type FileReader = tokio::task::JoinHandle<Option<String>>;

/// Reads a capture file in a blocking task; its events arrive on the receiver, and the
/// task's result says whether the file could be read to the end.
fn read_file(
    path: &str,
    channels: gilmour::protocol::Channels,
) -> anyhow::Result<(mpsc::Receiver<gilmour::inspect::Event>, FileReader)> {
    let input: Box<dyn BufRead + Send> = if path == "-" {
        anyhow::bail!("the terminal app reads its keys from stdin: give it a file, not `-`");
    } else {
        let file = std::fs::File::open(path).with_context(|| format!("cannot open {path}"))?;
        Box::new(BufReader::new(file))
    };
    let (events, receiver) = mpsc::channel(capture::DEFAULT_BUFFER);
    let reader = tokio::task::spawn_blocking(move || read_into(input, channels, &events));
    Ok((receiver, reader))
}

/// Sends a capture file's events on; a line that is not a capture record is skipped and
/// counted (one bad line must not hide the rest of the file). Says at the end what was
/// skipped, or why reading stopped.
fn read_into(
    input: impl BufRead,
    channels: gilmour::protocol::Channels,
    events: &mpsc::Sender<gilmour::inspect::Event>,
) -> Option<String> {
    let mut skipped = 0usize;
    let mut first = None;
    for event in file::read_events(input, channels) {
        match event {
            Ok(event) => {
                if events.blocking_send(event).is_err() {
                    return None;
                }
            }
            Err(error @ file::FileError::Line { .. }) => {
                skipped += 1;
                first.get_or_insert(error.to_string());
            }
            Err(error) => return Some(error.to_string()),
        }
    }
    first.map(|first| {
        let lines = if skipped == 1 { "line" } else { "lines" };
        format!("skipped {skipped} {lines} that are not capture records (first: {first})")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_line_is_skipped_counted_and_said_where() {
        let good = r#"{"at":"2026-11-29T21:00:00Z","channel":"gilmour.request.echo","payload":"{\"data\":1,\"sender\":\"s-1\"}"}"#;
        let text = format!("{good}\nnot json\n{good}\n{{}}\n");
        let (sender, mut receiver) = mpsc::channel(16);
        let said = read_into(
            text.as_bytes(),
            gilmour::protocol::Channels::default(),
            &sender,
        );
        drop(sender);
        let mut read = 0;
        while receiver.try_recv().is_ok() {
            read += 1;
        }
        assert_eq!(read, 2, "the lines after a bad one are read");
        let said = said.unwrap_or_default();
        assert!(
            said.starts_with("skipped 2 lines that are not capture records (first: line 2:"),
            "{said}"
        );
    }
}
