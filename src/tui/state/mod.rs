//! The state of the app: everything the screens draw from, owned by one task and changed
//! only by `update`. Nothing here does I/O, and nothing here is drawn: the view builds what
//! it shows from this. Each part keeps its own invariants (the trace list through its
//! filter, the links through the store), so no caller has to remember to refresh one.

pub mod detail;
pub mod forms;
pub mod input;
pub mod layout;
pub mod links;
pub mod list;
pub mod modal;
pub mod replay;
pub mod screens;
pub mod sort;
pub mod traces;

use crate::tui::keymap::{Context, KeyMap};
use crate::tui::model::{LIVE_ERRORS, LiveError, Screen, Source, Status, live_record};
use chrono::{DateTime, FixedOffset, Utc};
use detail::Detail;
use gilmour::inspect::deep::DeepEvent;
use gilmour::inspect::metrics::Metrics;
use gilmour::inspect::{Event, Filter, Inspector, InspectorOptions, TraceId, Update, tree};
use gilmour::protocol::Channels;
use layout::list_rows;
use links::Links;
use modal::Modal;
use screens::{ErrorsView, ServicesView, TopicsView};
use traces::{FilterBar, TracesState};

/// Everything on screen, and what it is drawn from.
pub struct State {
    /// Correlation, store, statistics.
    pub inspector: Inspector,
    /// What the inspector was made with (clearing the store makes it again).
    pub inspector_options: InspectorOptions,
    /// With `--metrics`: the Prometheus counters every trace goes into (shared with the
    /// server that exposes them).
    pub metrics: Option<Metrics>,
    /// Channel names (for error records and copied command lines).
    pub channels: Channels,
    /// The Redis URL as copied command lines name it (its password hidden), when live.
    pub redis: Option<String>,
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
    /// Why the capture lost its link to Redis, while it is lost (a Redis that wants a
    /// password says `NOAUTH …` on every try: the header must say so, not only that it
    /// is reconnecting).
    pub link_down: Option<String>,
    /// Whether a PING asking why is on its way.
    pub probing: bool,
    /// Messages counted at the last tick, for the rate.
    pub messages_at_tick: (u64, Option<DateTime<Utc>>),
    /// The traffic's clock: the wall clock live, the newest event's time offline.
    pub now: DateTime<Utc>,
    /// The wall clock, as of the last tick (status messages fade by it).
    pub wall: DateTime<Utc>,
    /// The time zone times are shown in.
    pub tz: FixedOffset,
    /// The current screen.
    pub screen: Screen,
    /// The trace list.
    pub traces: TracesState,
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
    /// Copies of a replay still to send, at a rate.
    pub replaying: Option<replay::ReplayPlan>,
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
    /// The Redis URL as copied command lines name it (its password hidden), when live.
    pub redis: Option<String>,
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
    /// Something to say on the status line at start.
    pub notice: Option<String>,
    /// The Prometheus counters to feed, when `--metrics` serves them.
    pub metrics: Option<Metrics>,
}

impl State {
    /// A new app, on the traces screen, following.
    pub fn new(settings: Settings) -> State {
        let online = matches!(settings.source, Source::Live { .. });
        // Offline, the clock starts with the file's first event.
        let now = if online {
            settings.now
        } else {
            DateTime::<Utc>::MIN_UTC
        };
        let status = settings.notice.map(|text| Status {
            text,
            failure: false,
            at: settings.now,
        });
        State {
            inspector: Inspector::new(settings.inspector),
            inspector_options: settings.inspector,
            metrics: settings.metrics,
            channels: settings.channels,
            redis: settings.redis,
            source: settings.source,
            online,
            deep: false,
            rate: 0.0,
            dropped: 0,
            link_down: None,
            probing: false,
            messages_at_tick: (0, None),
            now,
            wall: settings.now,
            tz: settings.tz,
            screen: Screen::Traces,
            traces: TracesState {
                follow: true,
                ..TracesState::default()
            },
            filter: FilterBar::default(),
            detail: None,
            topics: TopicsView::default(),
            errors: ErrorsView::default(),
            services: ServicesView::default(),
            modal: None,
            status,
            links: Links::default(),
            replaying: None,
            keymap: settings.keymap,
            external_editor: settings.external_editor,
            size: settings.size,
            dirty: true,
            quit: false,
        }
    }

    /// The key context in force.
    pub fn context(&self) -> Context {
        match &self.modal {
            Some(Modal::Confirm { .. }) => Context::Confirm,
            // The record dialog takes the Errors screen's keys (`r` re-sends).
            Some(Modal::Record { .. }) => Context::Errors,
            Some(Modal::Host { .. }) => Context::Services,
            Some(_) => Context::Global,
            None if self.detail.is_some() && self.screen == Screen::Traces => Context::Detail,
            None => Context::of(self.screen),
        }
    }

    /// How many traces the list shows (fewer while paused).
    pub fn shown(&self) -> usize {
        self.traces.shown()
    }

    /// The selected trace's row, if any trace is shown.
    pub fn selected_row(&self) -> Option<usize> {
        self.traces.selected_row()
    }

    /// The selected trace.
    pub fn selected_trace(&self) -> Option<TraceId> {
        self.traces.selected_trace()
    }

    /// The first visible row of the trace list.
    pub fn top_row(&self) -> usize {
        self.traces.top_row()
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

    /// Opens a trace in detail, on the traces screen.
    pub fn open(&mut self, id: TraceId) {
        if self.inspector.store().get(id).is_none() {
            return self.complain(format!("{id} is no longer in the store"));
        }
        // A detail opened from a detail goes back where the first one would have.
        let from = match &self.detail {
            Some(open) if self.screen == Screen::Traces => open.from,
            _ => self.screen,
        };
        self.screen = Screen::Traces;
        let mut detail = Detail::new(id, from);
        // In a call tree, the waterfall's cursor starts on the trace itself.
        let store = self.inspector.store();
        detail.span = tree::spans(store, tree::root_of(store, id))
            .iter()
            .position(|span| span.id == id)
            .unwrap_or(0);
        self.detail = Some(detail);
    }

    /// Closes the detail, back onto the screen it was opened from.
    pub fn close_detail(&mut self) {
        if let Some(open) = self.detail.take() {
            self.screen = open.from;
        }
    }

    /// Puts a filter in force and filters the list again. A cursor that is not following
    /// goes to the newest match: staying on an old trace as the top row would hide every
    /// newer match above it.
    pub fn apply_filter(&mut self, text: String, filter: Filter) {
        self.filter.apply(text, filter);
        self.refilter();
        if !self.traces.follow {
            self.traces.select_newest();
        }
    }

    /// Shows or hides health pings.
    pub fn toggle_health(&mut self) {
        self.traces.show_health = !self.traces.show_health;
        self.refilter();
    }

    fn refilter(&mut self) {
        let rows = list_rows(self);
        self.traces
            .refilter(self.inspector.store(), &self.filter.applied, rows);
    }

    /// Takes in a batch of captured events.
    pub fn ingest(&mut self, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let mut detail_changed = false;
        for event in events {
            if !self.online && event.at() > self.now {
                // Offline, the file's clock is the app's clock.
                self.now = event.at();
            }
            match &event {
                Event::Lost { reason, .. } => self.link_down = Some(reason.clone()),
                Event::Gap(_) => self.link_down = None,
                Event::Message(_) => {}
            }
            let update = self.inspector.ingest(event);
            if let Some(metrics) = &self.metrics {
                metrics.apply(&self.inspector, update);
            }
            if let Some(id) = touched_by(update) {
                detail_changed |= self.is_open(id);
                self.touch(id);
            }
        }
        self.settle(detail_changed);
    }

    /// Takes in a batch of deep capture's facts: who called, who answered, the lock race.
    pub fn deepen(&mut self, events: Vec<DeepEvent>) {
        let mut detail_changed = false;
        let mut touched = false;
        for event in events {
            if let Some(id) = self.inspector.ingest_deep(event) {
                detail_changed |= self.is_open(id);
                self.touch(id);
                touched = true;
            }
        }
        if touched {
            self.settle(detail_changed);
        }
    }

    /// Marks requests that waited too long as unanswered, by the app's clock.
    pub fn sweep(&mut self) {
        let mut touched = Vec::new();
        let now = self.now;
        let mut updates = Vec::new();
        self.inspector.sweep(now, |update| updates.push(update));
        for update in updates {
            if let Some(metrics) = &self.metrics {
                metrics.apply(&self.inspector, update);
            }
            touched.extend(touched_by(update));
        }
        if touched.is_empty() {
            return;
        }
        let detail_changed = touched.iter().any(|id| self.is_open(*id));
        for id in touched {
            self.touch(id);
        }
        self.settle(detail_changed);
    }

    /// Whether a change to trace `id` changes the open detail: it is the trace shown, or
    /// in its call tree (whose waterfall the detail draws).
    fn is_open(&self, id: TraceId) -> bool {
        self.detail.as_ref().is_some_and(|detail| {
            let store = self.inspector.store();
            detail.id == id || tree::root_of(store, id) == tree::root_of(store, detail.id)
        })
    }

    /// After traces changed: forget evicted traces, tie up replays, and tell an open
    /// detail its trace changed.
    fn settle(&mut self, detail_changed: bool) {
        let store = self.inspector.store();
        let first = if store.newest_first().len() == 0 {
            TraceId(u64::MAX)
        } else {
            store.first_id()
        };
        self.traces.evict_before(first, store, &self.filter.applied);
        self.traces.merge(store);
        self.links.evict_before(first, store);
        while self.errors.live.front().is_some_and(|live| live.id < first) {
            self.errors.live.pop_front();
        }
        self.resolve_links();
        if detail_changed && let Some(detail) = &mut self.detail {
            detail.revision += 1;
        }
        self.dirty = true;
    }

    fn touch(&mut self, id: TraceId) {
        let Some(trace) = self.inspector.store().get(id) else {
            return;
        };
        self.traces.touch(&self.filter.applied, trace);
        // Only records that read as such are listed live: the Errors screen's rows and the
        // commands on them must index the same list.
        let channel = live_record(&self.channels, trace).map(|(_, event)| event.channel.clone());
        if let Some(channel) = channel
            && !self.errors.live.iter().any(|live| live.id == id)
        {
            self.errors.live.push_back(LiveError { id, channel });
            if self.errors.live.len() > LIVE_ERRORS {
                self.errors.live.pop_front();
            }
        }
    }

    /// Marks or unmarks a trace; a mark pins it, so that eviction passes it by.
    pub fn toggle_mark(&mut self, id: TraceId) {
        self.traces.toggle_mark(id);
        if !self.traces.marks.contains(&id) {
            self.inspector.unpin(id);
        } else if let Err(why) = self.inspector.pin(id) {
            self.complain(format!("marked, not pinned: {why}"));
        }
    }

    /// Forgets every trace, and what the screens hold of them: marks, replays, figures,
    /// the live error records. Capture goes on into the empty store; filter, sort and
    /// health display stay as they were.
    pub fn clear(&mut self) {
        let held = self.inspector.store().len();
        self.inspector = Inspector::new(self.inspector_options);
        let sort = self.traces.sort();
        let traces = std::mem::take(&mut self.traces);
        self.traces = TracesState {
            follow: traces.follow,
            show_health: traces.show_health,
            topic_width: traces.topic_width,
            ..TracesState::default()
        };
        self.traces.set_sort(sort, self.inspector.store());
        self.traces.follow = traces.follow;
        self.links = Links::default();
        self.replaying = None;
        self.detail = None;
        self.errors.live.clear();
        self.topics.rows.clear();
        self.topics.latency = None;
        self.messages_at_tick = (0, None);
        self.say(format!("cleared the store ({held} traces)"));
        self.dirty = true;
    }

    /// Ties sends whose trace has been captured since to it (and opens those asked for).
    pub fn resolve_links(&mut self) {
        for id in self.links.resolve(self.inspector.store()) {
            // Copies of one replay: the first opens, the others do not take it away.
            let original = self.links.replay_of.get(&id);
            let showing = self
                .detail
                .as_ref()
                .and_then(|open| self.links.replay_of.get(&open.id));
            if original.is_some() && original == showing {
                continue;
            }
            self.open(id);
        }
    }
}

fn touched_by(update: Update) -> Option<TraceId> {
    match update {
        Update::Opened(id) | Update::Grew(id) | Update::Completed(id) | Update::Changed(id) => {
            Some(id)
        }
        Update::Lost => None,
    }
}
