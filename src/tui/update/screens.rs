//! The topics, errors and services screens: switching to them, their cursors, their
//! commands, and the results of the Redis work they ask for.

use crate::tui::action::{Action, Done, Effect, Failure};
use crate::tui::keymap::Command;
use crate::tui::model::{ERRORS_PAGE, Fire, Health, QueuedError, Screen, TopicRow};
use crate::tui::state::State;
use crate::tui::state::layout::{areas, list_rows, tab_at, window_start};
use crate::tui::state::modal::{Confirmed, Modal};
use crate::tui::state::screens::ErrorRow;
use crate::tui::target::{REPLAY_TIMEOUT, record_target};
use gilmour::inspect::sanitize::clean;
use gilmour::inspect::stats::{NO_TOPIC_LABEL, ORPHAN_LABEL};
use ratatui::layout::Rect;

/// How old the services and errors screens may get before they refresh by themselves.
const REFRESH_AFTER: chrono::Duration = chrono::Duration::seconds(10);

/// Switches screens, loading what the new one shows.
pub fn show(app: &mut State, screen: Screen) -> Vec<Effect> {
    app.screen = screen;
    match screen {
        Screen::Traces => Vec::new(),
        Screen::Topics => {
            refresh_topics(app);
            Vec::new()
        }
        Screen::Errors => load_errors(app, app.errors.page),
        Screen::Services => refresh_services(app),
    }
}

/// Once a second: the topics' figures, and the screens that go stale.
pub fn tick(app: &mut State) -> Vec<Effect> {
    match app.screen {
        Screen::Topics => {
            refresh_topics(app);
            Vec::new()
        }
        Screen::Services if stale(app, app.services.refreshed) => refresh_services(app),
        // The queue changes under the screen: it refreshes by itself, like Services.
        Screen::Errors if !app.errors.loading && stale(app, app.errors.refreshed) => {
            load_errors(app, app.errors.page)
        }
        _ => Vec::new(),
    }
}

fn stale(app: &State, refreshed: Option<chrono::DateTime<chrono::Utc>>) -> bool {
    refreshed.is_none_or(|at| app.now - at > REFRESH_AFTER)
}

/// Reads the topics' figures from the statistics (cached: the view does not compute).
pub fn refresh_topics(app: &mut State) {
    let stats = app.inspector.stats();
    let store = app.inspector.store();
    // Health pings are named after idents; they show only when health is shown.
    let is_health = |topic: &str| store.by_topic(topic).next().is_some_and(|t| t.is_health());
    app.topics.rows = stats
        .topics(app.now)
        .into_iter()
        .filter(|summary| app.traces.show_health || !is_health(&summary.topic))
        .map(|summary| TopicRow {
            recent: stats.recent(&summary.topic, app.now),
            summary,
        })
        .collect();
    app.topics.selected = app
        .topics
        .selected
        .min(app.topics.rows.len().saturating_sub(1));
}

fn load_errors(app: &mut State, page: usize) -> Vec<Effect> {
    if !app.online {
        app.errors.failure = Some("offline: the error queue lives in Redis".to_owned());
        return Vec::new();
    }
    app.errors.loading = true;
    vec![Effect::LoadErrors { page }]
}

fn refresh_services(app: &mut State) -> Vec<Effect> {
    if !app.online {
        app.services.failure = Some("offline: services are found in Redis".to_owned());
        return Vec::new();
    }
    if app.services.loading {
        return Vec::new();
    }
    app.services.loading = true;
    vec![Effect::RefreshServices]
}

/// Moves a cursor over `len` rows.
fn moved(selected: usize, len: usize, command: Command, page: usize) -> usize {
    let last = len.saturating_sub(1);
    match command {
        Command::Up => selected.saturating_sub(1),
        Command::Down => (selected + 1).min(last),
        Command::PageUp => selected.saturating_sub(page),
        Command::PageDown => (selected + page).min(last),
        Command::Top => 0,
        Command::Bottom => last,
        _ => selected,
    }
}

/// A topics screen command.
pub fn topics_command(app: &mut State, command: Command) -> Vec<Effect> {
    let page = list_rows(app);
    let topics = &mut app.topics;
    topics.selected = moved(topics.selected, topics.rows.len(), command, page);
    if command == Command::Open
        && let Some(row) = topics.rows.get(topics.selected)
    {
        let text = filter_for(&row.summary.topic);
        match text.parse() {
            Ok(filter) => {
                app.apply_filter(text, filter);
                app.screen = Screen::Traces;
                app.detail = None;
            }
            Err(error) => app.complain(format!("cannot filter on that topic: {error}")),
        }
    }
    Vec::new()
}

/// The filter that lists a topics row's traces: its topic, or for the rows of traces
/// without one, the traces its label counts.
fn filter_for(label: &str) -> String {
    match label {
        ORPHAN_LABEL => "status:orphan".to_owned(),
        NO_TOPIC_LABEL => "topic:\"\" not status:orphan".to_owned(),
        topic => format!("topic:{}", quote(topic)),
    }
}

/// A filter value for any text: bare when it is a plain word, quoted otherwise.
fn quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_alphanumeric() || "._-".contains(c))
    {
        text.to_owned()
    } else {
        format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// An errors screen command.
pub fn errors_command(app: &mut State, command: Command) -> Vec<Effect> {
    let page = list_rows(app);
    let errors = &mut app.errors;
    errors.selected = moved(errors.selected, errors.rows(), command, page);
    let row = errors.row(errors.selected);
    match (command, row) {
        (Command::Open, Some(ErrorRow::Queued(index))) => {
            app.modal = Some(Modal::Record { index, scroll: 0 });
        }
        (Command::Open, Some(ErrorRow::Live(id))) => app.open(id),
        (Command::Resend, Some(ErrorRow::Queued(index))) => return resend(app, index),
        (Command::Resend, Some(ErrorRow::Live(id))) => {
            return vec![Effect::Then(Box::new(Action::OnTrace(id, Command::Replay)))];
        }
        (Command::Delete, Some(ErrorRow::Queued(index))) => {
            let raw = errors.queue[index].raw.clone();
            app.modal = Some(Modal::Confirm {
                question: format!(
                    "Delete this entry from {}?",
                    clean(app.channels.error_queue(), 60)
                ),
                then: Confirmed::DeleteError(raw),
            });
        }
        (Command::Trim, Some(ErrorRow::Queued(index))) => {
            let keep = errors.page * ERRORS_PAGE + index + 1;
            let dropped = errors.total.saturating_sub(keep);
            app.modal = Some(Modal::Confirm {
                question: format!(
                    "Trim {} to its {keep} newest entries (drop {dropped})?",
                    clean(app.channels.error_queue(), 60)
                ),
                then: Confirmed::TrimErrors {
                    keep,
                    seen: errors.total,
                },
            });
        }
        (Command::Delete | Command::Trim, _) => {
            app.complain("only queued entries can be removed");
        }
        (Command::Refresh, _) => return load_errors(app, app.errors.page),
        (Command::NextPage, _) if (errors.page + 1) * ERRORS_PAGE < errors.total => {
            return load_errors(app, app.errors.page + 1);
        }
        (Command::PrevPage, _) if errors.page > 0 => {
            return load_errors(app, app.errors.page - 1);
        }
        _ => {}
    }
    Vec::new()
}

/// Re-sends the request a queued error reports.
pub fn resend(app: &mut State, index: usize) -> Vec<Effect> {
    let Some(record) = app.errors.queue.get(index).and_then(|q| q.record.clone()) else {
        app.complain("this entry is not an error record");
        return Vec::new();
    };
    if !app.online {
        app.complain("offline: re-sending needs Redis");
        return Vec::new();
    }
    let target = match record_target(&record) {
        Ok(target) => target,
        Err(why) => {
            app.complain(format!("cannot re-send: {why}"));
            return Vec::new();
        }
    };
    app.say(format!("re-sending to {}…", clean(&target.topic, 60)));
    let fire = Fire::Request {
        topic: target.topic,
        data: target.data,
        timeout: REPLAY_TIMEOUT,
    };
    vec![Effect::Fire(fire, None)]
}

/// A services screen command.
pub fn services_command(app: &mut State, command: Command) -> Vec<Effect> {
    let page = list_rows(app);
    let services = &mut app.services;
    services.selected = moved(services.selected, services.hosts.len(), command, page);
    match command {
        Command::Open if services.selected < services.hosts.len() => {
            app.modal = Some(Modal::Host {
                index: services.selected,
                scroll: 0,
            });
        }
        Command::Refresh => {
            app.services.loading = false;
            return refresh_services(app);
        }
        Command::Delete => {
            let Some(host) = services.hosts.get(services.selected) else {
                return Vec::new();
            };
            if let Health::Alive { .. } = host.health {
                app.complain("that process answers its pings: only dead idents are removed");
                return Vec::new();
            }
            app.modal = Some(Modal::Confirm {
                question: format!(
                    "Remove {} from {}?",
                    clean(&host.ident, 80),
                    clean(app.channels.health_hash(), 60)
                ),
                then: Confirmed::RemoveIdent(host.ident.clone()),
            });
        }
        _ => {}
    }
    Vec::new()
}

/// A left click: a tab, or a row of the screen's list.
pub fn click(app: &mut State, column: u16, row: u16) -> Vec<Effect> {
    let area = Rect::new(0, 0, app.size.0, app.size.1);
    let regions = areas(area, app);
    if row == regions.header.y + 1 {
        return tab_at(column).map_or_else(Vec::new, |screen| show(app, screen));
    }
    let body = regions.body;
    if row <= body.y || row >= body.bottom() || app.detail.is_some() {
        return Vec::new();
    }
    let index = usize::from(row - body.y - 1);
    let rows = list_rows(app);
    match app.screen {
        Screen::Traces => {
            let row = app.top_row() + index;
            app.traces.select_row(row);
        }
        Screen::Topics => {
            let at = window_start(app.topics.selected, rows) + index;
            if at < app.topics.rows.len() {
                app.topics.selected = at;
            }
        }
        Screen::Services => {
            let at = window_start(app.services.selected, rows) + index;
            if at < app.services.hosts.len() {
                app.services.selected = at;
            }
        }
        Screen::Errors => {}
    }
    Vec::new()
}

/// Results of the errors and services screens' work.
pub fn finished(app: &mut State, done: Done) -> Vec<Effect> {
    match done {
        Done::Errors {
            page,
            total,
            entries,
        } => {
            let errors = &mut app.errors;
            errors.queue = entries
                .into_iter()
                .map(|raw| QueuedError::read(&app.channels, raw))
                .collect();
            errors.total = total;
            errors.page = page;
            errors.loading = false;
            errors.failure = None;
            errors.refreshed = Some(app.now);
            errors.selected = errors.selected.min(errors.rows().saturating_sub(1));
        }
        Done::QueueChanged(what) => {
            app.say(what);
            return load_errors(app, app.errors.page);
        }
        Done::Services { hosts, listened } => {
            let services = &mut app.services;
            services.hosts = hosts;
            services.listened = listened;
            services.loading = false;
            services.failure = None;
            services.refreshed = Some(app.now);
            services.selected = services
                .selected
                .min(services.hosts.len().saturating_sub(1));
        }
        Done::IdentRemoved(ident) => {
            app.say(format!("removed {}", clean(&ident, 80)));
            app.services.loading = false;
            return refresh_services(app);
        }
        Done::Failed(Failure::Errors, why) => {
            app.errors.loading = false;
            app.errors.failure = Some(why);
            app.errors.refreshed = Some(app.now);
        }
        Done::Failed(Failure::Services, why) => {
            app.services.loading = false;
            app.services.failure = Some(why);
            app.services.refreshed = Some(app.now);
        }
        _ => {}
    }
    Vec::new()
}
