//! Keys are bound to named commands, per context (mitmproxy's key bindings, trippy's
//! `[bindings]`). The defaults, the TOML overrides, the footer and the help screen all
//! come from one table, so the help can never disagree with what a key does.
//!
//! ```toml
//! # ~/.config/gilmour/keys.toml (or --keys FILE): a command's keys replace its defaults
//! [global]
//! quit = ["q", "ctrl-c"]
//! [traces]
//! replay = "R"
//! # named filters: `@slow` in the filter bar
//! [filters]
//! slow = "latency:>100ms and not kind:health"
//! ```

use super::model::Screen;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Where a key is pressed: each context has its own bindings, and `Global` applies
/// wherever a context does not bind the key itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Context {
    /// Everywhere.
    Global,
    /// The trace list.
    Traces,
    /// One trace in detail.
    Detail,
    /// The topics table.
    Topics,
    /// The error queue.
    Errors,
    /// The services list.
    Services,
    /// A yes/no question.
    Confirm,
    /// The fire form and the data editor, whose text fields take every other key.
    Form,
}

impl Context {
    /// The key context of a screen.
    pub fn of(screen: Screen) -> Context {
        match screen {
            Screen::Traces => Context::Traces,
            Screen::Topics => Context::Topics,
            Screen::Errors => Context::Errors,
            Screen::Services => Context::Services,
        }
    }

    /// Every context, in the order the help shows them.
    pub const ALL: [Context; 8] = [
        Context::Global,
        Context::Traces,
        Context::Detail,
        Context::Topics,
        Context::Errors,
        Context::Services,
        Context::Confirm,
        Context::Form,
    ];

    /// The section name in the config file.
    pub fn name(self) -> &'static str {
        match self {
            Context::Global => "global",
            Context::Traces => "traces",
            Context::Detail => "detail",
            Context::Topics => "topics",
            Context::Errors => "errors",
            Context::Services => "services",
            Context::Confirm => "confirm",
            Context::Form => "form",
        }
    }
}

macro_rules! commands {
    ($($variant:ident => $name:literal, $help:literal;)*) => {
        /// Everything a key can ask for.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Command { $(#[doc = $help] $variant,)* }

        impl Command {
            /// Every command.
            pub const ALL: &'static [Command] = &[$(Command::$variant,)*];

            /// The name used in the config file.
            pub fn name(self) -> &'static str {
                match self { $(Command::$variant => $name,)* }
            }

            /// What it does, for the help screen.
            pub fn help(self) -> &'static str {
                match self { $(Command::$variant => $help,)* }
            }
        }
    };
}

commands! {
    Quit => "quit", "Quit and restore the terminal";
    Help => "help", "Show this help";
    Redraw => "redraw", "Repaint the whole screen (anywhere, text fields too)";
    NextScreen => "next-screen", "Next screen";
    PrevScreen => "prev-screen", "Previous screen";
    ShowTraces => "show-traces", "Traces screen";
    ShowTopics => "show-topics", "Topics screen";
    ShowErrors => "show-errors", "Errors screen";
    ShowServices => "show-services", "Services screen";
    Filter => "filter", "Edit the filter (Enter applies, Esc clears, ↑ recent, Tab fills @name)";
    Fire => "fire", "Fire a request, signal or composition";
    GoTo => "go-to", "Open trace #N (asks for N)";
    ToggleDeep => "toggle-deep", "Deep capture on/off (MONITOR: who answered, the lock race, Redis's timing; costs Redis throughput)";
    Up => "up", "Move up";
    Down => "down", "Move down";
    PageUp => "page-up", "Page up";
    PageDown => "page-down", "Page down";
    Top => "top", "Go to the top (newest)";
    Bottom => "bottom", "Go to the bottom (oldest)";
    Open => "open", "Open the selected item";
    Back => "back", "Close, go back";
    Follow => "follow", "Follow new traces on/off";
    Pause => "pause", "Pause/resume the display (capture goes on)";
    ToggleHealth => "toggle-health", "Show/hide health pings";
    Replay => "replay", "Replay with a fresh sender";
    EditReplay => "edit-replay", "Edit the data, then replay";
    ReplayOptions => "replay-options", "Replay with options: topic, timeout, how many times, at what rate";
    Mark => "mark", "Mark/unmark the trace (a mark pins it: eviction passes it by)";
    Write => "write", "Write marked (or shown) traces to a capture file";
    Copy => "copy", "Copy as a `gilmour request …` command line";
    ClearStore => "clear-store", "Clear the store: every trace, mark and figure (asks first)";
    Sort => "sort", "Sort by the next column: time, latency, size, code, topic";
    SortReverse => "sort-reverse", "Reverse the sort";
    TopicWider => "topic-wider", "Widen the topic column";
    TopicNarrower => "topic-narrower", "Narrow the topic column";
    Search => "search", "Search in the trace";
    SearchNext => "search-next", "Next match";
    SearchPrev => "search-prev", "Previous match";
    NextLink => "next-link", "Choose the next reference (replay of, replays, parent, calls); Enter follows it";
    PrevLink => "prev-link", "Choose the previous reference";
    FilterTopic => "filter-topic", "Filter on this trace's topic";
    FilterSender => "filter-sender", "Filter on this trace's sender";
    Latency => "latency", "Show only the selected topic's latency (histogram, p50/p99 over time), or the table again";
    OpenTrace => "open-trace", "Open the trace of the record's request";
    NextSpan => "next-span", "Select the next span of the call tree (Enter opens it)";
    PrevSpan => "prev-span", "Select the previous span of the call tree";
    Resend => "resend", "Re-send the failed request";
    Delete => "delete", "Delete the entry (asks first)";
    Trim => "trim", "Trim the queue below the cursor (asks first)";
    Refresh => "refresh", "Refresh now";
    NextPage => "next-page", "Next page";
    PrevPage => "prev-page", "Previous page";
    Yes => "yes", "Yes, do it";
    No => "no", "No, cancel";
    Send => "send", "Send the form, or replay with the edited data (in the data field Enter starts a new line)";
}

/// A key with its modifiers, as bindings name it: `q`, `G`, `ctrl-c`, `enter`, `f5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    code: KeyCodeOrd,
    ctrl: bool,
    alt: bool,
}

/// `KeyCode` without the variants bindings cannot name, ordered for stable help output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum KeyCodeOrd {
    Char(char),
    F(u8),
    Named(Named),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Named {
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Delete,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
}

const NAMES: [(&str, Named); 14] = [
    ("enter", Named::Enter),
    ("esc", Named::Esc),
    ("tab", Named::Tab),
    ("backtab", Named::BackTab),
    ("backspace", Named::Backspace),
    ("delete", Named::Delete),
    ("up", Named::Up),
    ("down", Named::Down),
    ("left", Named::Left),
    ("right", Named::Right),
    ("pageup", Named::PageUp),
    ("pagedown", Named::PageDown),
    ("home", Named::Home),
    ("end", Named::End),
];

impl Key {
    /// The key a terminal event stands for; `None` for keys no binding can name.
    pub fn from_event(event: &KeyEvent) -> Option<Key> {
        let named = |named| Some(KeyCodeOrd::Named(named));
        let code = match event.code {
            // Shift is part of the character ('G'); a space is named `space`.
            KeyCode::Char(c) => Some(KeyCodeOrd::Char(c)),
            KeyCode::F(n) => Some(KeyCodeOrd::F(n)),
            KeyCode::Enter => named(Named::Enter),
            KeyCode::Esc => named(Named::Esc),
            KeyCode::Tab => named(Named::Tab),
            KeyCode::BackTab => named(Named::BackTab),
            KeyCode::Backspace => named(Named::Backspace),
            KeyCode::Delete => named(Named::Delete),
            KeyCode::Up => named(Named::Up),
            KeyCode::Down => named(Named::Down),
            KeyCode::Left => named(Named::Left),
            KeyCode::Right => named(Named::Right),
            KeyCode::PageUp => named(Named::PageUp),
            KeyCode::PageDown => named(Named::PageDown),
            KeyCode::Home => named(Named::Home),
            KeyCode::End => named(Named::End),
            _ => None,
        }?;
        Some(Key {
            code,
            ctrl: event.modifiers.contains(KeyModifiers::CONTROL),
            alt: event.modifiers.contains(KeyModifiers::ALT),
        })
    }
}

/// A key name that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown key `{0}` (use a character, ctrl-x, alt-x, f1…f12, space, or one of enter, esc, tab, backtab, backspace, delete, up, down, left, right, pageup, pagedown, home, end)"
)]
pub struct BadKey(String);

impl FromStr for Key {
    type Err = BadKey;

    fn from_str(text: &str) -> Result<Key, BadKey> {
        let bad = || BadKey(text.to_owned());
        let (mut ctrl, mut alt, mut rest) = (false, false, text);
        loop {
            if let Some(after) = rest.strip_prefix("ctrl-").filter(|after| !after.is_empty()) {
                (ctrl, rest) = (true, after);
            } else if let Some(after) = rest.strip_prefix("alt-").filter(|after| !after.is_empty())
            {
                (alt, rest) = (true, after);
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCodeOrd::Char(c),
            _ if rest == "space" => KeyCodeOrd::Char(' '),
            _ => {
                let lower = rest.to_ascii_lowercase();
                if let Some((_, named)) = NAMES.iter().find(|(name, _)| *name == lower) {
                    KeyCodeOrd::Named(*named)
                } else {
                    let number = lower.strip_prefix('f').and_then(|n| n.parse::<u8>().ok());
                    match number {
                        Some(n @ 1..=24) => KeyCodeOrd::F(n),
                        _ => return Err(bad()),
                    }
                }
            }
        };
        Ok(Key { code, ctrl, alt })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCodeOrd::Char(' ') => f.write_str("space"),
            KeyCodeOrd::Char(c) => write!(f, "{c}"),
            KeyCodeOrd::F(n) => write!(f, "f{n}"),
            KeyCodeOrd::Named(named) => {
                let name = NAMES
                    .iter()
                    .find(|(_, other)| *other == named)
                    .map_or("?", |(name, _)| name);
                f.write_str(name)
            }
        }
    }
}

/// Which command each key runs, per context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMap {
    bindings: BTreeMap<(Context, Command), Vec<Key>>,
    /// Named filters of the `[filters]` section: `@name` in the filter bar.
    filters: BTreeMap<String, String>,
}

/// The defaults: (context, command, keys).
const DEFAULTS: &[(Context, Command, &[&str])] = &[
    (Context::Global, Command::Quit, &["q", "ctrl-c"]),
    (Context::Global, Command::Help, &["?", "f1"]),
    (Context::Global, Command::Redraw, &["ctrl-l"]),
    (Context::Global, Command::NextScreen, &["tab"]),
    (Context::Global, Command::PrevScreen, &["backtab"]),
    (Context::Global, Command::ShowTraces, &["1"]),
    (Context::Global, Command::ShowTopics, &["2"]),
    (Context::Global, Command::ShowErrors, &["3"]),
    (Context::Global, Command::ShowServices, &["4"]),
    (Context::Global, Command::Filter, &["/"]),
    (Context::Global, Command::Fire, &["f"]),
    (Context::Global, Command::GoTo, &["#"]),
    (Context::Global, Command::ToggleDeep, &["M"]),
    (Context::Global, Command::Up, &["up", "k"]),
    (Context::Global, Command::Down, &["down", "j"]),
    (Context::Global, Command::PageUp, &["pageup", "ctrl-b"]),
    (Context::Global, Command::PageDown, &["pagedown", "ctrl-f"]),
    (Context::Global, Command::Top, &["home", "g"]),
    (Context::Global, Command::Bottom, &["end", "G"]),
    (Context::Global, Command::Open, &["enter"]),
    (Context::Global, Command::Back, &["esc"]),
    (Context::Traces, Command::Follow, &["F"]),
    (Context::Traces, Command::Pause, &["space"]),
    (Context::Traces, Command::ToggleHealth, &["H"]),
    (Context::Traces, Command::Replay, &["r"]),
    (Context::Traces, Command::EditReplay, &["e"]),
    (Context::Traces, Command::ReplayOptions, &["o"]),
    (Context::Traces, Command::Mark, &["m"]),
    (Context::Traces, Command::Write, &["w"]),
    (Context::Traces, Command::Copy, &["y"]),
    (Context::Traces, Command::FilterTopic, &["t"]),
    (Context::Traces, Command::FilterSender, &["c"]),
    (Context::Traces, Command::ClearStore, &["X"]),
    (Context::Traces, Command::Sort, &["s"]),
    (Context::Traces, Command::SortReverse, &["S"]),
    (Context::Traces, Command::TopicWider, &[">"]),
    (Context::Traces, Command::TopicNarrower, &["<"]),
    (Context::Detail, Command::Search, &["/"]),
    (Context::Detail, Command::SearchNext, &["n"]),
    (Context::Detail, Command::SearchPrev, &["N"]),
    (Context::Detail, Command::Replay, &["r"]),
    (Context::Detail, Command::EditReplay, &["e"]),
    (Context::Detail, Command::ReplayOptions, &["o"]),
    (Context::Detail, Command::Copy, &["y"]),
    (Context::Detail, Command::Mark, &["m"]),
    (Context::Detail, Command::NextLink, &["tab"]),
    (Context::Detail, Command::PrevLink, &["backtab"]),
    (Context::Detail, Command::FilterTopic, &["t"]),
    (Context::Detail, Command::FilterSender, &["c"]),
    (Context::Detail, Command::NextSpan, &["]"]),
    (Context::Detail, Command::PrevSpan, &["["]),
    (Context::Topics, Command::Latency, &["l"]),
    (Context::Errors, Command::Resend, &["r"]),
    (Context::Errors, Command::Delete, &["d"]),
    (Context::Errors, Command::Trim, &["D"]),
    (Context::Errors, Command::Refresh, &["R"]),
    (Context::Errors, Command::OpenTrace, &["o"]),
    (Context::Errors, Command::NextPage, &["]"]),
    (Context::Errors, Command::PrevPage, &["["]),
    (Context::Services, Command::Refresh, &["R"]),
    (Context::Services, Command::Delete, &["d"]),
    (Context::Confirm, Command::Yes, &["y", "enter"]),
    (Context::Confirm, Command::No, &["n", "esc"]),
    (Context::Form, Command::Send, &["ctrl-s", "alt-enter"]),
];

/// A config file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyMapError {
    /// Not TOML of the expected shape.
    #[error("{0}")]
    Syntax(String),
    /// A section that is not a context.
    #[error(
        "unknown section [{0}] (use global, traces, detail, topics, errors, services, confirm, form, filters)"
    )]
    Context(String),
    /// A command that does not exist or does not belong in its section.
    #[error("[{context}] has no command `{command}`")]
    Command {
        /// The section.
        context: &'static str,
        /// The name given.
        command: String,
    },
    /// A key name that cannot be read.
    #[error("[{context}] {command}: {source}")]
    Key {
        /// The section.
        context: &'static str,
        /// The command.
        command: &'static str,
        /// Why.
        source: BadKey,
    },
    /// Two commands on one key in one context.
    #[error("key conflicts: {}", .0.join("; "))]
    Conflicts(Vec<String>),
    /// A named filter that is not one.
    #[error("[filters] {name}: {why}")]
    Filter {
        /// Its name.
        name: String,
        /// Why it is not a filter.
        why: String,
    },
    /// More than one of the above, all of them.
    #[error("{} problems: {}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Several(Vec<KeyMapError>),
}

impl Default for KeyMap {
    fn default() -> Self {
        let mut bindings = BTreeMap::new();
        for (context, command, keys) in DEFAULTS {
            // The defaults are constants, checked by a test.
            let keys = keys.iter().filter_map(|key| key.parse().ok()).collect();
            bindings.insert((*context, *command), keys);
        }
        KeyMap {
            bindings,
            filters: BTreeMap::new(),
        }
    }
}

impl KeyMap {
    /// The defaults with a config file's overrides; conflicts are an error that names them.
    pub fn from_toml(text: &str) -> Result<KeyMap, KeyMapError> {
        let table: BTreeMap<String, BTreeMap<String, KeysValue>> =
            toml::from_str(text).map_err(|error| KeyMapError::Syntax(error.to_string()))?;
        let mut map = KeyMap::default();
        // Every problem of the file at once, not one per start.
        let mut problems = Vec::new();
        for (section, commands) in table {
            if section == "filters" {
                for (name, text) in commands {
                    match text {
                        KeysValue::One(text) => match text.parse::<gilmour::inspect::Filter>() {
                            Ok(_) => {
                                map.filters.insert(name, text);
                            }
                            Err(error) => problems.push(KeyMapError::Filter {
                                name,
                                why: format!("column {}: {}", error.column, error.message),
                            }),
                        },
                        KeysValue::Many(_) => problems.push(KeyMapError::Filter {
                            name,
                            why: "a filter is one string".to_owned(),
                        }),
                    }
                }
                continue;
            }
            let Some(context) = Context::ALL
                .into_iter()
                .find(|context| context.name() == section)
            else {
                problems.push(KeyMapError::Context(section));
                continue;
            };
            for (name, keys) in commands {
                let Some(command) = Command::ALL.iter().copied().find(|command| {
                    command.name() == name && map.bindings.contains_key(&(context, *command))
                }) else {
                    problems.push(KeyMapError::Command {
                        context: context.name(),
                        command: name,
                    });
                    continue;
                };
                let mut parsed = Vec::new();
                for key in keys.into_vec() {
                    match key.parse() {
                        Ok(key) => parsed.push(key),
                        Err(source) => problems.push(KeyMapError::Key {
                            context: context.name(),
                            command: command.name(),
                            source,
                        }),
                    }
                }
                map.bindings.insert((context, command), parsed);
            }
        }
        let conflicts = map.conflicts();
        if !conflicts.is_empty() {
            problems.push(KeyMapError::Conflicts(conflicts));
        }
        match problems.len() {
            0 => Ok(map),
            1 => Err(problems.remove(0)),
            _ => Err(KeyMapError::Several(problems)),
        }
    }

    /// Keys a screen binds to a command of its own that the global section binds to
    /// another: on that screen the global command is out of reach (`[traces] replay = "q"`
    /// and `q` no longer quits there). Not an error (it may be meant), but said at start.
    /// Only what differs from the defaults counts.
    pub fn shadowed(&self) -> Vec<String> {
        let defaults = KeyMap::default();
        let mut found = Vec::new();
        for ((context, command), keys) in &self.bindings {
            // Confirm takes no global key at all; global does not shadow itself.
            if matches!(context, Context::Global | Context::Confirm) {
                continue;
            }
            for key in keys {
                let Some(global) = self.global_command(key) else {
                    continue;
                };
                if global == *command
                    || defaults.bindings.get(&(*context, *command)) == Some(keys)
                        && defaults.global_command(key) == Some(global)
                {
                    continue;
                }
                found.push(format!(
                    "[{}] `{key}` runs {} there, so {} (global) is out of reach on that screen",
                    context.name(),
                    command.name(),
                    global.name()
                ));
            }
        }
        found
    }

    /// The global command on a key.
    fn global_command(&self, key: &Key) -> Option<Command> {
        self.bindings
            .iter()
            .find(|((context, _), keys)| *context == Context::Global && keys.contains(key))
            .map(|((_, command), _)| *command)
    }

    /// Keys bound to more than one command in one context.
    fn conflicts(&self) -> Vec<String> {
        let mut seen: BTreeMap<(Context, Key), Command> = BTreeMap::new();
        let mut conflicts = Vec::new();
        for ((context, command), keys) in &self.bindings {
            for key in keys {
                if let Some(other) = seen.insert((*context, *key), *command) {
                    conflicts.push(format!(
                        "[{}] `{key}` is bound to both {} and {}",
                        context.name(),
                        other.name(),
                        command.name()
                    ));
                }
            }
        }
        conflicts
    }

    /// The command a key runs in a context (its own binding first, then the global one).
    pub fn command(&self, context: Context, key: &KeyEvent) -> Option<Command> {
        let key = Key::from_event(key)?;
        let find = |wanted: Context| {
            self.bindings
                .iter()
                .find(|((context, _), keys)| *context == wanted && keys.contains(&key))
                .map(|((_, command), _)| *command)
        };
        find(context).or_else(|| {
            if context == Context::Confirm {
                None
            } else {
                find(Context::Global)
            }
        })
    }

    /// The text of the filter named `name` in the `[filters]` section.
    pub fn filter(&self, name: &str) -> Option<&str> {
        self.filters.get(name).map(String::as_str)
    }

    /// The named filters' names, in order.
    pub fn filter_names(&self) -> impl Iterator<Item = &str> {
        self.filters.keys().map(String::as_str)
    }

    /// The first key of a command in a context, for the footer (`None` when unbound).
    pub fn key(&self, context: Context, command: Command) -> Option<Key> {
        self.bindings
            .get(&(context, command))
            .and_then(|keys| keys.first().copied())
    }

    /// Every binding of a context, in table order: (command, keys).
    pub fn bindings(&self, context: Context) -> impl Iterator<Item = (Command, &[Key])> + '_ {
        self.bindings
            .iter()
            .filter(move |((owner, _), _)| *owner == context)
            .map(|((_, command), keys)| (*command, keys.as_slice()))
    }
}

/// One key or a list of keys.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum KeysValue {
    One(String),
    Many(Vec<String>),
}

impl KeysValue {
    fn into_vec(self) -> Vec<String> {
        match self {
            KeysValue::One(key) => vec![key],
            KeysValue::Many(keys) => keys,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn defaults_parse_and_do_not_conflict() {
        for (_, _, keys) in DEFAULTS {
            for key in *keys {
                let parsed: Key = key.parse().expect("default key");
                assert_eq!(&parsed.to_string(), key);
            }
        }
        assert_eq!(KeyMap::default().conflicts(), Vec::<String>::new());
    }

    #[test]
    fn context_first_then_global() {
        let map = KeyMap::default();
        let slash = press(KeyCode::Char('/'), KeyModifiers::NONE);
        assert_eq!(map.command(Context::Traces, &slash), Some(Command::Filter));
        assert_eq!(map.command(Context::Detail, &slash), Some(Command::Search));
        let big_g = press(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(map.command(Context::Topics, &big_g), Some(Command::Bottom));
        let ctrl_c = press(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(map.command(Context::Errors, &ctrl_c), Some(Command::Quit));
        let q = press(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(
            map.command(Context::Confirm, &q),
            None,
            "a question takes y or n"
        );
    }

    #[test]
    fn overrides_replace_defaults_and_conflicts_are_named() {
        let map = KeyMap::from_toml("[traces]\nreplay = \"R\"\n[global]\nquit = [\"x\"]\n")
            .expect("valid");
        let r = press(KeyCode::Char('R'), KeyModifiers::SHIFT);
        assert_eq!(map.command(Context::Traces, &r), Some(Command::Replay));
        let q = press(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(map.command(Context::Traces, &q), None);
        let error = KeyMap::from_toml("[traces]\nreplay = \"m\"\n").expect_err("conflict");
        assert_eq!(
            error.to_string(),
            "key conflicts: [traces] `m` is bound to both replay and mark"
        );
        let error = KeyMap::from_toml("[traces]\nresend = \"x\"\n").expect_err("wrong section");
        assert_eq!(error.to_string(), "[traces] has no command `resend`");
        let error = KeyMap::from_toml("[traces]\nreplay = \"hyper-x\"\n").expect_err("bad key");
        assert!(
            error
                .to_string()
                .starts_with("[traces] replay: unknown key `hyper-x`")
        );
    }

    #[test]
    fn every_problem_of_the_file_is_reported_at_once() {
        let text = "[traces]\nreplay = \"hyper-x\"\nresend = \"x\"\n[screens]\nquit = \"q\"\n";
        let error = KeyMap::from_toml(text).expect_err("three problems");
        let said = error.to_string();
        assert!(said.starts_with("3 problems: "), "{said}");
        for problem in [
            "unknown section [screens]",
            "[traces] has no command `resend`",
            "[traces] replay: unknown key `hyper-x`",
        ] {
            assert!(said.contains(problem), "{problem} in: {said}");
        }
    }

    #[test]
    fn named_filters_are_read_and_every_bad_one_is_said() {
        let map = KeyMap::from_toml("[filters]\nslow = \"latency:>100ms\"\n").expect("valid");
        assert_eq!(map.filter("slow"), Some("latency:>100ms"));
        assert_eq!(map.filter_names().collect::<Vec<_>>(), ["slow"]);
        let text = "[filters]\nbad = \"code:>>\"\nworse = [\"a\"]\nok = \"echo\"\n";
        let said = KeyMap::from_toml(text).expect_err("two bad").to_string();
        assert!(said.starts_with("2 problems: "), "{said}");
        assert!(said.contains("[filters] bad: column"), "{said}");
        assert!(
            said.contains("[filters] worse: a filter is one string"),
            "{said}"
        );
    }

    #[test]
    fn a_screen_key_that_hides_a_global_command_is_said() {
        assert_eq!(KeyMap::default().shadowed(), Vec::<String>::new());
        let map = KeyMap::from_toml("[traces]\nreplay = \"q\"\n").expect("valid");
        assert_eq!(
            map.shadowed(),
            ["[traces] `q` runs replay there, so quit (global) is out of reach on that screen"]
        );
    }
}
