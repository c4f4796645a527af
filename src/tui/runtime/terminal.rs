//! The terminal: raw mode, the alternate screen and the mouse on the way in; all of it
//! undone on the way out, after a panic too (a hook restores the terminal before the panic
//! message is printed). Also the two effects only the terminal can carry out: copying to
//! the clipboard (OSC 52) and handing the screen to `$EDITOR`.

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::io::Stdout;
use std::sync::Once;

/// The terminal the app draws on.
pub type Screen = Terminal<CrosstermBackend<Stdout>>;

/// Takes over the terminal; [`leave`] gives it back.
pub fn enter() -> std::io::Result<Screen> {
    install_panic_hook();
    enable_raw_mode()?;
    let mut stdout = std::io::stdout();
    // Bracketed paste: a pasted multi-line JSON arrives as one text, not one Enter per
    // line.
    if let Err(error) = execute!(
        stdout,
        EnterAlternateScreen,
        EnableMouseCapture,
        EnableBracketedPaste
    ) {
        let _ = leave();
        return Err(error);
    }
    Terminal::new(CrosstermBackend::new(stdout))
}

/// Gives the terminal back: cooked mode, the main screen, no mouse reporting, a cursor.
pub fn leave() -> std::io::Result<()> {
    let raw = disable_raw_mode();
    execute!(
        std::io::stdout(),
        DisableMouseCapture,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    )?;
    raw
}

/// A panic on the app's own thread restores the terminal before the default hook prints
/// it, so the message is readable and the shell usable. A panic on another thread (a
/// service's handler in `gilmour demo`, which the engine answers with a 500) leaves the
/// app running and goes to the log instead of over the screen.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let app_thread = std::thread::current().id();
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().id() == app_thread {
                let _ = leave();
                previous(info);
            } else {
                tracing::error!("{info}");
            }
        }));
    });
}

/// Gives the terminal back when dropped (an error or a panic unwinding through the loop).
pub struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = leave();
    }
}

/// Puts text on the clipboard of the terminal (and of the machine it runs on, through ssh
/// and tmux too) with the OSC 52 sequence.
pub fn copy(text: &str) -> std::io::Result<()> {
    execute!(
        std::io::stdout(),
        crossterm::clipboard::CopyToClipboard::to_clipboard_from(text)
    )
}

/// Repaints the whole terminal: clears it and starts a fresh frame buffer, so the next
/// draw writes every cell (whatever another program or a stray write left there).
/// Ratatui's own `clear` asks the terminal where its cursor is, which fails when nothing
/// reads the answer (as after `$EDITOR`); this never asks.
pub fn repaint(screen: &mut Screen) -> std::io::Result<()> {
    execute!(
        std::io::stdout(),
        crossterm::terminal::Clear(crossterm::terminal::ClearType::All)
    )?;
    *screen = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
    Ok(())
}

/// Lets `$EDITOR` edit `text` in a temporary file (readable by its owner only: it holds a
/// payload); the edited text, or why it failed.
pub fn edit(screen: &mut Screen, editor: &str, text: &str) -> Result<String, String> {
    let file = tempfile::Builder::new()
        .prefix("gilmour-edit-")
        .suffix(".json")
        .tempfile()
        .map_err(|error| format!("cannot make a file to edit: {error}"))?;
    let path = file.path().to_owned();
    std::fs::write(&path, text)
        .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    let _ = leave();
    // The editor is a command line: `code -w`, `vim`.
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(&path)
        .status();
    let back = enable_raw_mode()
        .and_then(|()| {
            execute!(
                std::io::stdout(),
                EnterAlternateScreen,
                EnableMouseCapture,
                EnableBracketedPaste
            )
        })
        .and_then(|()| repaint(screen));
    // An editor may replace the file rather than write it: read it by its path.
    let edited = std::fs::read_to_string(&path);
    drop(file);
    back.map_err(|error| format!("cannot take the terminal back: {error}"))?;
    match status {
        Ok(status) if status.success() => {
            edited.map_err(|error| format!("cannot read the edited file: {error}"))
        }
        Ok(status) => Err(format!("the editor exited with {status}; nothing replayed")),
        Err(error) => Err(format!("cannot run {editor}: {error}")),
    }
}
