//! The state of the app: everything the screens draw from, owned by one task and changed
//! only by `update`. Nothing here does I/O; work that needs the network is asked for as an
//! [`Effect`] and its result comes back as an action.

use super::action::Effect;
use super::detail::DetailLine;
use super::forms::{EditForm, FireForm};
use super::input::LineInput;
use super::keymap::{Context, KeyMap};
use super::list::TraceList;
use super::model::{
    Fire, FiredComposition, Host, LiveError, QueuedError, Screen, Source, Status, TopicRow,
};
use chrono::{DateTime, FixedOffset, Utc};
use gilmour::inspect::{Filter, FilterError, Inspector, InspectorOptions, TraceId};
use gilmour::protocol::Channels;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

/// The trace list's cursor and display.
#[derive(Debug, Clone, Default)]
pub struct TracesView {
    /// The traces that pass the filter.
    pub list: TraceList,
    /// The selected trace; `None` while following (the newest is selected).
    pub selected: Option<TraceId>,
    /// The trace on the first visible row; `None` while following.
    pub top: Option<TraceId>,
    /// Whether the newest trace stays selected as traces arrive.
    pub follow: bool,
    /// While paused, the newest trace shown: newer ones are captured but not shown.
    pub frozen: Option<TraceId>,
    /// Marked traces.
    pub marks: HashSet<TraceId>,
    /// Whether health pings are shown.
    pub show_health: bool,
}

/// The filter bar.
#[derive(Debug, Clone, Default)]
pub struct FilterBar {
    /// What is being typed.
    pub input: LineInput,
    /// Whether the bar has the keyboard.
    pub editing: bool,
    /// The filter in force.
    pub applied: Filter,
    /// Its text.
    pub applied_text: String,
    /// Why the text being typed does not parse.
    pub error: Option<FilterError>,
    /// Filters applied before, newest last.
    pub history: Vec<String>,
    /// Where `↑` is in the history.
    pub history_at: Option<usize>,
}

/// One trace opened in detail.
#[derive(Debug, Clone)]
pub struct Detail {
    /// The trace.
    pub id: TraceId,
    /// Its text, built once when opened (and when the trace changes), never per frame.
    pub lines: Vec<DetailLine>,
    /// The first line shown.
    pub scroll: usize,
    /// The search being typed.
    pub search: Option<LineInput>,
    /// The search in force (lower case).
    pub query: String,
    /// Lines that match it.
    pub matches: Vec<usize>,
}

/// The topics screen.
#[derive(Debug, Clone, Default)]
pub struct TopicsView {
    /// Rows, busiest first, refreshed once a second.
    pub rows: Vec<TopicRow>,
    /// The selected row.
    pub selected: usize,
}

/// The errors screen.
#[derive(Debug, Clone, Default)]
pub struct ErrorsView {
    /// The page of queued records, newest first.
    pub queue: Vec<QueuedError>,
    /// The length of the queue.
    pub total: usize,
    /// The page shown (0 is the newest).
    pub page: usize,
    /// The selected row: queue rows first, then live ones.
    pub selected: usize,
    /// Whether a load is on its way.
    pub loading: bool,
    /// Why the last load failed.
    pub failure: Option<String>,
    /// Traces with a record from a live error channel, oldest first, at most
    /// [`LIVE_ERRORS`].
    pub live: VecDeque<LiveError>,
}

impl ErrorsView {
    /// The channels the live rows came on, each once, in the order first seen.
    pub fn live_channels(&self) -> Vec<&str> {
        let mut channels: Vec<&str> = Vec::new();
        for live in &self.live {
            if !channels.contains(&&*live.channel) {
                channels.push(&live.channel);
            }
        }
        channels
    }
}

/// The services screen.
#[derive(Debug, Clone, Default)]
pub struct ServicesView {
    /// Known hosts.
    pub hosts: Vec<Host>,
    /// Request channels with listeners, and how many.
    pub listened: Vec<(String, usize)>,
    /// The selected host.
    pub selected: usize,
    /// Whether a refresh is on its way.
    pub loading: bool,
    /// When the last refresh came back.
    pub refreshed: Option<DateTime<Utc>>,
    /// Why the last refresh failed.
    pub failure: Option<String>,
}

/// What a yes in a confirmation does.
#[derive(Debug, Clone, PartialEq)]
pub enum Confirmed {
    /// Delete one queue entry.
    DeleteError(String),
    /// Keep the newest `keep` queue entries of the `seen` shown (and any newer).
    TrimErrors {
        /// Entries to keep, counted in the queue as it was shown.
        keep: usize,
        /// The queue's length when it was shown.
        seen: usize,
    },
    /// Remove an ident from the health hash.
    RemoveIdent(String),
    /// Send although nobody listens.
    Fire(Fire, Option<TraceId>),
    /// Write over a file that exists.
    Overwrite(String),
}

/// A modal dialog, on top of everything.
#[derive(Debug, Clone)]
pub enum Modal {
    /// The help, generated from the key map.
    Help {
        /// The first line shown.
        scroll: usize,
    },
    /// A yes/no question.
    Confirm {
        /// The question.
        question: String,
        /// What yes does.
        then: Confirmed,
    },
    /// The fire form.
    Fire(Box<FireForm>),
    /// Editing the data of a trace before replaying it.
    Edit(Box<EditForm>),
    /// A queued error record.
    Record {
        /// Its index on the page.
        index: usize,
        /// The first row shown (the record can be longer than the screen).
        scroll: usize,
    },
    /// The file to write traces to.
    Write(LineInput),
}

/// Replays and fired requests, tied to their traces.
#[derive(Debug, Clone, Default)]
pub struct Links {
    /// Senders whose trace has not been seen yet: the trace they replay, and whether to
    /// open the trace once it is seen.
    pub pending: HashMap<Arc<str>, (Option<TraceId>, bool)>,
    /// A replay's original.
    pub replay_of: HashMap<TraceId, TraceId>,
    /// An original's replays.
    pub replays: HashMap<TraceId, Vec<TraceId>>,
    /// Compositions fired from here.
    pub compositions: Vec<FiredComposition>,
    /// Which composition a sender's step belongs to.
    pub step_of: HashMap<Arc<str>, usize>,
}

/// Everything on screen, and what it is drawn from.
pub struct App {
    /// Correlation, store, statistics.
    pub inspector: Inspector,
    /// Channel names (for error records and copied command lines).
    pub channels: Channels,
    /// Where the traffic comes from.
    pub source: Source,
    /// Whether Redis commands can be sent (live) or not (a file).
    pub online: bool,
    /// Whether deep capture (MONITOR) feeds the traces.
    pub deep: bool,
    /// Messages per second, over the last tick.
    pub rate: f64,
    /// Events the capture dropped because we fell behind.
    pub dropped: u64,
    /// Messages counted at the last tick, for the rate.
    pub(super) messages_at_tick: (u64, Option<DateTime<Utc>>),
    /// The traffic's clock: the wall clock live, the newest event's time offline.
    pub now: DateTime<Utc>,
    /// The wall clock, as of the last tick (status messages fade by it).
    pub wall: DateTime<Utc>,
    /// The time zone times are shown in.
    pub tz: FixedOffset,
    /// The current screen.
    pub screen: Screen,
    /// The trace list.
    pub traces: TracesView,
    /// The filter.
    pub filter: FilterBar,
    /// The trace opened in detail, if any.
    pub detail: Option<Detail>,
    /// The topics screen.
    pub topics: TopicsView,
    /// The errors screen.
    pub errors: ErrorsView,
    /// The services screen.
    pub services: ServicesView,
    /// A dialog, if any.
    pub modal: Option<Modal>,
    /// The last thing that happened.
    pub status: Option<Status>,
    /// Replays and fired requests.
    pub links: Links,
    /// The key bindings.
    pub keymap: KeyMap,
    /// Whether `e` edits in `$EDITOR` (else inline).
    pub external_editor: bool,
    /// The terminal size.
    pub size: (u16, u16),
    /// Whether the screen needs drawing.
    pub dirty: bool,
    /// Whether to quit.
    pub quit: bool,
    /// Work for the event loop.
    pub effects: Vec<Effect>,
}

/// How the app starts.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where the traffic comes from.
    pub source: Source,
    /// The inspector's capacity and unanswered window.
    pub inspector: InspectorOptions,
    /// Channel names.
    pub channels: Channels,
    /// The key bindings.
    pub keymap: KeyMap,
    /// The time zone times are shown in.
    pub tz: FixedOffset,
    /// Whether `e` edits in `$EDITOR` (else inline).
    pub external_editor: bool,
    /// The clock at start.
    pub now: DateTime<Utc>,
    /// The terminal size.
    pub size: (u16, u16),
}

impl App {
    /// A new app, on the traces screen, following.
    pub fn new(settings: Settings) -> App {
        let online = matches!(settings.source, Source::Live { .. });
        // Offline, the clock starts with the file's first event.
        let now = if online {
            settings.now
        } else {
            DateTime::<Utc>::MIN_UTC
        };
        App {
            inspector: Inspector::new(settings.inspector),
            channels: settings.channels,
            source: settings.source,
            online,
            deep: false,
            rate: 0.0,
            dropped: 0,
            messages_at_tick: (0, None),
            now,
            wall: settings.now,
            tz: settings.tz,
            screen: Screen::Traces,
            traces: TracesView {
                follow: true,
                ..TracesView::default()
            },
            filter: FilterBar::default(),
            detail: None,
            topics: TopicsView::default(),
            errors: ErrorsView::default(),
            services: ServicesView::default(),
            modal: None,
            status: None,
            links: Links::default(),
            keymap: settings.keymap,
            external_editor: settings.external_editor,
            size: settings.size,
            dirty: true,
            quit: false,
            effects: Vec::new(),
        }
    }

    /// The key context in force.
    pub fn context(&self) -> Context {
        match &self.modal {
            Some(Modal::Confirm { .. }) => Context::Confirm,
            // The record dialog takes the Errors screen's keys (`r` re-sends).
            Some(Modal::Record { .. }) => Context::Errors,
            Some(_) => Context::Global,
            None if self.detail.is_some() && self.screen == Screen::Traces => Context::Detail,
            None => Context::of(self.screen),
        }
    }

    /// How many traces the list shows (fewer while paused).
    pub fn shown(&self) -> usize {
        self.traces.list.len_until(self.traces.frozen)
    }

    /// The selected trace's row, if any trace is shown.
    pub fn selected_row(&self) -> Option<usize> {
        let shown = self.shown();
        if shown == 0 {
            return None;
        }
        Some(match self.traces.selected {
            Some(id) => self.traces.list.nearest_row(id, shown),
            None => 0,
        })
    }

    /// The selected trace.
    pub fn selected_trace(&self) -> Option<TraceId> {
        let row = self.selected_row()?;
        self.traces.list.at_row(row, self.shown())
    }

    /// The first visible row of the trace list.
    pub fn top_row(&self) -> usize {
        match self.traces.top {
            Some(id) => self.traces.list.nearest_row(id, self.shown()),
            None => 0,
        }
    }

    /// Says what happened, on the status line.
    pub fn say(&mut self, text: impl Into<String>) {
        self.status = Some(Status {
            text: text.into(),
            failure: false,
            at: self.wall,
        });
    }

    /// Says what went wrong, on the status line.
    pub fn complain(&mut self, text: impl Into<String>) {
        self.status = Some(Status {
            text: text.into(),
            failure: true,
            at: self.wall,
        });
    }
}
