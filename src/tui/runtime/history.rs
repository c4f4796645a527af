//! The filter history, kept across sessions in `$XDG_STATE_HOME/gilmour/filters` (by
//! default `~/.local/state/gilmour/filters`): one filter a line, oldest first, readable
//! by its owner only. A file that is missing is an empty history; one that cannot be
//! read is said on the status line, never a reason not to start.
//!
//! It is written each time a filter is applied, so that a session that ends in a crash
//! keeps its filters: by a [`Writer`] on its own thread, since a disk can block and the
//! event loop must not.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;

/// How many filters are kept.
pub const KEPT: usize = 100;

/// Where the history lives, when a home can be found.
pub fn place() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".local/state")))?;
    Some(state.join("gilmour").join("filters"))
}

/// The filters in the file, oldest first; none when there is no file.
pub fn load(path: &Path) -> std::io::Result<Vec<String>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let mut filters: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    let extra = filters.len().saturating_sub(KEPT);
    filters.drain(..extra);
    Ok(filters)
}

/// Writes the filters (the newest [`KEPT`]), the file made readable by its owner only
/// and replaced whole, so that a reader never sees half of it.
pub fn save(path: &Path, filters: &[String]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    {
        use std::os::unix::fs::PermissionsExt;
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    let first = filters.len().saturating_sub(KEPT);
    for filter in &filters[first..] {
        // A filter is one line; a pasted newline became a space in the bar.
        writeln!(file, "{}", filter.replace(['\n', '\r'], " "))?;
    }
    file.persist(path).map_err(|error| error.error)?;
    Ok(())
}

/// Writes the history on a thread of its own, one write at a time and in the order
/// asked (of several waiting, only the newest is written: each holds the whole history).
pub struct Writer {
    queue: mpsc::Sender<(PathBuf, Vec<String>)>,
    thread: JoinHandle<()>,
}

impl Writer {
    /// Starts the thread; a write that fails is handed to `failed`.
    pub fn start(failed: impl Fn(std::io::Error) + Send + 'static) -> std::io::Result<Self> {
        let (queue, asked) = mpsc::channel::<(PathBuf, Vec<String>)>();
        let thread = std::thread::Builder::new()
            .name("filter-history".to_owned())
            .spawn(move || {
                while let Ok(mut next) = asked.recv() {
                    while let Ok(newer) = asked.try_recv() {
                        next = newer;
                    }
                    if let Err(error) = save(&next.0, &next.1) {
                        failed(error);
                    }
                }
            })?;
        Ok(Writer { queue, thread })
    }

    /// Asks for the history to be written; returns at once.
    pub fn save(&self, path: PathBuf, filters: Vec<String>) {
        // The thread only ends once this writer is finished: the send cannot fail.
        let _ = self.queue.send((path, filters));
    }

    /// Waits for the writes asked so far to be done.
    pub fn finish(self) {
        drop(self.queue);
        let _ = self.thread.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn filters_are_kept_for_the_owner_only_and_read_back_in_order() {
        let dir = tempfile::tempdir().expect("a directory");
        let path = dir.path().join("gilmour").join("filters");
        assert_eq!(load(&path).expect("missing is empty"), Vec::<String>::new());
        let filters: Vec<String> = (0..KEPT + 5).map(|n| format!("topic:t{n}")).collect();
        save(&path, &filters).expect("saved");
        let mode = std::fs::metadata(&path)
            .expect("written")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let read = load(&path).expect("read");
        assert_eq!(read.len(), KEPT);
        assert_eq!(read.first().map(String::as_str), Some("topic:t5"));
        assert_eq!(read.last().map(String::as_str), Some("topic:t104"));
    }

    #[test]
    fn the_writer_writes_in_order_and_the_newest_stays() {
        let dir = tempfile::tempdir().expect("a directory");
        let path = dir.path().join("gilmour").join("filters");
        let writer = Writer::start(|error| panic!("not written: {error}")).expect("started");
        let mut filters = Vec::new();
        for n in 0..50 {
            filters.push(format!("topic:t{n}"));
            writer.save(path.clone(), filters.clone());
        }
        writer.finish();
        assert_eq!(load(&path).expect("read"), filters);
        let mode = std::fs::metadata(&path)
            .expect("written")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let leftovers = std::fs::read_dir(path.parent().expect("a dir"))
            .expect("listed")
            .count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }

    #[test]
    fn a_write_that_fails_is_said() {
        let dir = tempfile::tempdir().expect("a directory");
        // A file where its directory should be.
        let blocker = dir.path().join("gilmour");
        std::fs::write(&blocker, "").expect("made");
        let (said, heard) = mpsc::channel();
        let writer = Writer::start(move |error| {
            let _ = said.send(error.kind());
        })
        .expect("started");
        writer.save(blocker.join("filters"), vec!["kind:req".to_owned()]);
        writer.finish();
        assert!(
            heard.try_recv().is_ok(),
            "the failure reached whoever listens"
        );
    }

    #[test]
    fn a_history_that_cannot_be_read_is_an_error_to_say() {
        let dir = tempfile::tempdir().expect("a directory");
        // A directory where the file should be.
        let path = dir.path().join("filters");
        std::fs::create_dir(&path).expect("made");
        assert!(load(&path).is_err());
    }
}
