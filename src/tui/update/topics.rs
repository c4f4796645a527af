//! The topics screen: its figures, its cursor, Enter to list a topic's traces.

use super::cursor::moved;
use crate::tui::action::Effect;
use crate::tui::keymap::Command;
use crate::tui::model::{Screen, TopicRow};
use crate::tui::state::State;
use crate::tui::state::layout::{histogram_bars, list_rows};
use crate::tui::state::screens::TopicLatency;
use gilmour::inspect::stats::{NO_TOPIC_LABEL, ORPHAN_LABEL};

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
    refresh_latency(app);
}

/// Reads the selected topic's histogram and p50/p99 history.
fn refresh_latency(app: &mut State) {
    let bars = histogram_bars(app);
    let stats = app.inspector.stats();
    app.topics.latency = app
        .topics
        .rows
        .get(app.topics.selected)
        .map(|row| TopicLatency {
            topic: row.summary.topic.clone(),
            histogram: stats.histogram(&row.summary.topic, bars),
            history: stats.latency_history(&row.summary.topic, app.now),
        });
}

/// A topics screen command.
pub fn command(app: &mut State, command: Command) -> Vec<Effect> {
    let page = list_rows(app);
    let topics = &mut app.topics;
    let before = topics.selected;
    topics.selected = moved(topics.selected, topics.rows.len(), command, page);
    if command == Command::Latency {
        topics.latency_only = !topics.latency_only;
    }
    if topics.selected != before || command == Command::Latency {
        refresh_latency(app);
    }
    if command == Command::Open
        && let Some(row) = app.topics.rows.get(app.topics.selected)
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
