//! Prometheus metrics from passive capture: what the inspector sees, as OpenMetrics text
//! for a scraper, without instrumenting any service.
//!
//! ```text
//!   Capture ─Event─▶ Inspector ─Update::Completed─▶ Metrics::apply ─┐
//!   Inspector counters, store ──────── Metrics::sync (each second) ─┼─▶ Registry ─▶ GET /metrics
//!   error queue, health hash ───────── poll (every few seconds) ────┘
//! ```
//!
//! A trace counts once, as it was when it completed (the moment `gilmour tail` prints it):
//! a change after that (a reply after an unanswered request, an error record after its
//! reply) shows in `tail` and the app, not in counters that cannot go back. Topic labels
//! are bounded: past [`MetricsOptions::max_topics`] distinct topics, traces count under
//! [`OTHER_TOPIC`], and [`Metrics`] counts how many did.

mod serve;

pub use serve::{Exporter, serve};

use super::errors::ErrorQueue;
use super::filter::{TraceKind, TraceStatus};
use super::services::{self, HostState, PingOptions, Survey};
use super::{Inspector, Trace, Update};
use crate::engine::Engine;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The most topics with labels of their own, unless told otherwise.
pub const DEFAULT_MAX_TOPICS: usize = 200;

/// The topic label of traces past the limit.
pub const OTHER_TOPIC: &str = "_other";

/// The topic label of orphan replies and records that name no topic.
pub const NO_TOPIC: &str = "_none";

/// The longest topic label kept, in bytes (a longer topic is cut at a character).
pub const MAX_LABEL: usize = 200;

/// Latency buckets, in seconds: 100 µs to 60 s.
const BUCKETS: [f64; 18] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0, 60.0,
];

/// How metrics are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsOptions {
    /// The most distinct topic labels; the rest fold into [`OTHER_TOPIC`].
    pub max_topics: usize,
}

impl Default for MetricsOptions {
    fn default() -> Self {
        MetricsOptions {
            max_topics: DEFAULT_MAX_TOPICS,
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TopicLabels {
    topic: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    topic: String,
    class: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

type Latencies = Family<TopicLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// The running totals of the capture and the store, as last synced.
#[derive(Debug, Clone, Copy, Default)]
struct Synced {
    gaps: u64,
    dropped: u64,
    evicted: u64,
    evicted_bytes: u64,
}

#[derive(Debug, Default)]
struct State {
    topics: HashSet<String>,
    synced: Synced,
}

struct Inner {
    registry: Registry,
    options: MetricsOptions,
    state: Mutex<State>,
    requests: Family<RequestLabels, Counter>,
    latency: Latencies,
    signals: Family<TopicLabels, Counter>,
    errors: Family<TopicLabels, Counter>,
    timeouts: Family<TopicLabels, Counter>,
    unanswered: Family<TopicLabels, Counter>,
    orphans: Counter,
    compositions: Counter,
    failed_compositions: Counter,
    folded: Counter,
    topics: Gauge,
    gaps: Counter,
    dropped: Counter,
    evicted: Counter,
    evicted_bytes: Counter,
    held_bytes: Gauge,
    held_traces: Gauge,
    connected: Gauge,
    error_queue: Gauge,
    hosts: Family<StateLabels, Gauge>,
}

/// The metrics of one capture: a cheap, cloneable handle shared by whoever feeds it and
/// the HTTP server that exposes it.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new(MetricsOptions::default())
    }
}

impl Metrics {
    /// Empty metrics, every family registered under the `gilmour_` prefix.
    pub fn new(options: MetricsOptions) -> Metrics {
        let mut registry = Registry::with_prefix("gilmour");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "Requests seen, by topic and class of reply code (2xx, 3xx, 4xx, 5xx; none when unanswered)",
            requests.clone(),
        );
        let latency: Latencies = Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "request_latency",
            "Time from a request to its reply, as the observer saw them arrive",
            Unit::Seconds,
            latency.clone(),
        );
        let per_topic = |registry: &mut Registry, name: &str, help: &str| {
            let family = Family::<TopicLabels, Counter>::default();
            registry.register(name, help, family.clone());
            family
        };
        let signals = per_topic(&mut registry, "signals", "Signals seen, by topic");
        let errors = per_topic(
            &mut registry,
            "errors",
            "Traces that ended in an error (code 300 or more, timeouts included, or an error record), by topic",
        );
        let timeouts = per_topic(&mut registry, "timeouts", "Requests answered 499, by topic");
        let unanswered = per_topic(
            &mut registry,
            "unanswered",
            "Requests that got no reply in the unanswered window, by topic",
        );
        let counter = |registry: &mut Registry, name: &str, help: &str| {
            let counter = Counter::default();
            registry.register(name, help, counter.clone());
            counter
        };
        let gauge = |registry: &mut Registry, name: &str, help: &str| {
            let gauge = Gauge::default();
            registry.register(name, help, gauge.clone());
            gauge
        };
        let orphans = counter(
            &mut registry,
            "orphans",
            "Replies whose request was not seen",
        );
        let compositions = counter(
            &mut registry,
            "compositions",
            "Compositions seen (their steps count as requests of their own topics)",
        );
        let failed_compositions = counter(
            &mut registry,
            "compositions_failed",
            "Compositions that failed (a step failed)",
        );
        let folded = counter(
            &mut registry,
            "topics_folded",
            "Traces counted under topic _other because the topic label limit was reached",
        );
        let topics = gauge(&mut registry, "topics", "Topics with labels of their own");
        let gaps = counter(
            &mut registry,
            "capture_gaps",
            "Times the capture lost Redis (messages published meanwhile are gone)",
        );
        let dropped = counter(
            &mut registry,
            "capture_dropped",
            "Messages dropped because the reader fell behind",
        );
        let evicted = counter(
            &mut registry,
            "store_evicted_traces",
            "Traces evicted from the bounded store",
        );
        let evicted_bytes = Counter::default();
        registry.register_with_unit(
            "store_evicted",
            "Bytes evicted from the bounded store",
            Unit::Bytes,
            evicted_bytes.clone(),
        );
        let held_bytes = Gauge::default();
        registry.register_with_unit(
            "store_held",
            "Bytes the stored traces hold",
            Unit::Bytes,
            held_bytes.clone(),
        );
        let held_traces = gauge(&mut registry, "store_traces", "Traces held in the store");
        let connected = gauge(
            &mut registry,
            "capture_connected",
            "1 while the capture is connected to Redis, 0 while it is not",
        );
        let error_queue = gauge(
            &mut registry,
            "error_queue_length",
            "Entries in the error queue",
        );
        let hosts = Family::<StateLabels, Gauge>::default();
        registry.register(
            "hosts",
            "Hosts of the health hash by what their ping found (alive, slow, failing, dead)",
            hosts.clone(),
        );
        Metrics {
            inner: Arc::new(Inner {
                registry,
                options,
                state: Mutex::new(State::default()),
                requests,
                latency,
                signals,
                errors,
                timeouts,
                unanswered,
                orphans,
                compositions,
                failed_compositions,
                folded,
                topics,
                gaps,
                dropped,
                evicted,
                evicted_bytes,
                held_bytes,
                held_traces,
                connected,
                error_queue,
                hosts,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves counts that are still counts.
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The label for a topic: itself (escaped for the exposition, cut to [`MAX_LABEL`]),
    /// or [`OTHER_TOPIC`] once the limit is reached.
    fn topic_label(&self, topic: &str) -> String {
        if topic.is_empty() {
            return NO_TOPIC.to_owned();
        }
        let label = label_value(topic);
        let mut state = self.state();
        if state.topics.contains(&label) {
            return label;
        }
        if state.topics.len() < self.inner.options.max_topics {
            state.topics.insert(label.clone());
            self.inner.topics.set(state.topics.len() as i64);
            return label;
        }
        drop(state);
        self.inner.folded.inc();
        OTHER_TOPIC.to_owned()
    }

    /// Counts what an update completed (other updates change nothing here).
    pub fn apply(&self, inspector: &Inspector, update: Update) {
        if let Update::Completed(id) = update
            && let Some(trace) = inspector.store().get(id)
        {
            self.record(trace);
        }
    }

    /// Counts one completed trace.
    pub fn record(&self, trace: &Trace) {
        let inner = &self.inner;
        if trace.status == TraceStatus::Orphan {
            inner.orphans.inc();
            return;
        }
        match trace.kind {
            TraceKind::Request => {
                let topic = TopicLabels {
                    topic: self.topic_label(&trace.topic),
                };
                let class = match trace.code() {
                    _ if trace.status == TraceStatus::Unanswered => "none",
                    Some(code) => match code.0 {
                        200..=299 => "2xx",
                        300..=399 => "3xx",
                        400..=499 => "4xx",
                        500..=599 => "5xx",
                        _ => "other",
                    },
                    None => "none",
                };
                inner
                    .requests
                    .get_or_create(&RequestLabels {
                        topic: topic.topic.clone(),
                        class,
                    })
                    .inc();
                if let Some(latency) = trace.latency() {
                    inner
                        .latency
                        .get_or_create(&topic)
                        .observe(latency.as_secs_f64());
                }
                match trace.status {
                    TraceStatus::Error => {
                        inner.errors.get_or_create(&topic).inc();
                    }
                    TraceStatus::Timeout => {
                        inner.errors.get_or_create(&topic).inc();
                        inner.timeouts.get_or_create(&topic).inc();
                    }
                    TraceStatus::Unanswered => {
                        inner.unanswered.get_or_create(&topic).inc();
                    }
                    _ => {}
                }
            }
            TraceKind::Signal => {
                let topic = TopicLabels {
                    topic: self.topic_label(&trace.topic),
                };
                inner.signals.get_or_create(&topic).inc();
            }
            TraceKind::Error => {
                let topic = TopicLabels {
                    topic: self.topic_label(&trace.topic),
                };
                inner.errors.get_or_create(&topic).inc();
            }
            // Its steps count as the requests they are.
            TraceKind::Composition => {
                inner.compositions.inc();
                if trace.status == TraceStatus::Error {
                    inner.failed_compositions.inc();
                }
            }
            TraceKind::Health | TraceKind::Gap | TraceKind::Other => {}
        }
    }

    /// Brings the capture's and the store's totals up to date: gaps, drops, evictions,
    /// bytes held, whether the capture is connected.
    pub fn sync(&self, inspector: &Inspector, dropped: u64) {
        let inner = &self.inner;
        let counters = inspector.counters();
        let store = inspector.store();
        let now = Synced {
            gaps: counters.gaps,
            dropped,
            evicted: store.evicted(),
            evicted_bytes: store.evicted_bytes(),
        };
        let mut state = self.state();
        let before = state.synced;
        let advance = |counter: &Counter, now: u64, before: u64| {
            if now > before {
                counter.inc_by(now - before);
            }
        };
        advance(&inner.gaps, now.gaps, before.gaps);
        advance(&inner.dropped, now.dropped, before.dropped);
        advance(&inner.evicted, now.evicted, before.evicted);
        advance(
            &inner.evicted_bytes,
            now.evicted_bytes,
            before.evicted_bytes,
        );
        state.synced = Synced {
            gaps: now.gaps.max(before.gaps),
            dropped: now.dropped.max(before.dropped),
            evicted: now.evicted.max(before.evicted),
            evicted_bytes: now.evicted_bytes.max(before.evicted_bytes),
        };
        drop(state);
        inner.held_bytes.set(clamp(store.bytes() as u64));
        inner.held_traces.set(clamp(store.len() as u64));
        inner
            .connected
            .set(i64::from(inspector.lost_since().is_none()));
    }

    /// Sets the error queue's length.
    pub fn set_error_queue(&self, length: usize) {
        self.inner.error_queue.set(clamp(length as u64));
    }

    /// Sets the hosts by state from a survey.
    pub fn set_hosts(&self, survey: &Survey) {
        for state in HostState::ALL {
            self.inner
                .hosts
                .get_or_create(&StateLabels {
                    state: state.as_str(),
                })
                .set(clamp(survey.count(state) as u64));
        }
    }

    /// The exposition, OpenMetrics text ending in `# EOF`.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.inner.registry);
        text
    }
}

/// Keeps the error queue's length and the hosts by state up to date: every `every`, reads
/// the queue's length and surveys the health hash (each host pinged with `ping`), until
/// the task is dropped. A round that fails is logged and tried again next time.
pub async fn poll(engine: Engine, metrics: Metrics, every: Duration, ping: PingOptions) {
    let queue = ErrorQueue::new(&engine);
    let mut ticker = tokio::time::interval(every.max(Duration::from_millis(100)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match queue.len().await {
            Ok(length) => metrics.set_error_queue(length),
            Err(error) => tracing::warn!(%error, "cannot read the error queue's length"),
        }
        match services::survey(&engine, ping).await {
            Ok(survey) => metrics.set_hosts(&survey),
            Err(error) => tracing::warn!(%error, "cannot survey the health hash"),
        }
    }
}

fn clamp(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A topic as a label value: `\`, `"` and line feeds escaped as the exposition format
/// wants (the client library writes label values as they are, and a topic is whatever a
/// publisher chose), cut to [`MAX_LABEL`] bytes.
fn label_value(topic: &str) -> String {
    let mut end = topic.len().min(MAX_LABEL);
    while !topic.is_char_boundary(end) {
        end -= 1;
    }
    let mut label = String::with_capacity(end);
    for c in topic[..end].chars() {
        match c {
            '\\' => label.push_str("\\\\"),
            '"' => label.push_str("\\\""),
            '\n' => label.push_str("\\n"),
            c if c.is_control() => label.push(char::REPLACEMENT_CHARACTER),
            c => label.push(c),
        }
    }
    label
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::{Event, GapEvent, MessageEvent};
    use crate::protocol::Channels;
    use chrono::{DateTime, Utc};

    fn message(at: DateTime<Utc>, channel: &str, payload: &str) -> Event {
        Event::Message(MessageEvent::read(
            &Channels::default(),
            at,
            channel,
            Arc::from(payload.as_bytes()),
        ))
    }

    fn has(text: &str, line: &str) -> bool {
        text.lines().any(|l| l == line)
    }

    #[test]
    fn every_outcome_counts_where_it_belongs() {
        let start = Utc::now();
        let at = |ms: i64| start + chrono::Duration::milliseconds(ms);
        let mut inspector = Inspector::default();
        let metrics = Metrics::default();
        let feed = |inspector: &mut Inspector, event: Event| {
            let update = inspector.ingest(event);
            metrics.apply(inspector, update);
        };
        let events = [
            message(at(0), "gilmour.request.t", r#"{"data":1,"sender":"ok"}"#),
            message(at(2), "gilmour.response.ok", r#"{"data":1,"code":200}"#),
            message(at(3), "gilmour.request.t", r#"{"data":1,"sender":"late"}"#),
            message(
                at(5),
                "gilmour.response.late",
                r#"{"data":"Execution timed out","code":499}"#,
            ),
            message(at(6), "gilmour.request.t", r#"{"data":1,"sender":"bad"}"#),
            message(
                at(9),
                "gilmour.response.bad",
                r#"{"data":"boom","code":500}"#,
            ),
            message(
                at(10),
                "gilmour.request.t",
                r#"{"data":1,"sender":"never"}"#,
            ),
            message(
                at(11),
                "gilmour.response.stranger",
                r#"{"data":1,"code":200}"#,
            ),
            message(at(12), "gilmour.slot.tick", r#"{"data":1,"sender":"sig"}"#),
            message(
                at(13),
                "gilmour.errors",
                r#"{"topic":"gilmour.request.u","request_data":"1","user_data":"x","sender":"lone","timestamp":"","backtrace":null,"code":503}"#,
            ),
            message(
                at(13),
                "gilmour.request.t",
                r#"{"data":1,"code":200,"sender":"step","composition":{"id":"run","step":"1"}}"#,
            ),
            message(at(14), "gilmour.response.step", r#"{"data":1,"code":500}"#),
            Event::Lost {
                at: at(14),
                reason: "test".into(),
            },
            Event::Gap(GapEvent {
                since: at(14),
                until: at(15),
                reason: "test".into(),
            }),
        ];
        for event in events {
            feed(&mut inspector, event);
        }
        let mut swept = Vec::new();
        inspector.sweep(at(60_000), |update| swept.push(update));
        for update in swept {
            metrics.apply(&inspector, update);
        }
        metrics.sync(&inspector, 7);
        let text = metrics.encode();
        for line in [
            r#"gilmour_requests_total{topic="t",class="2xx"} 1"#,
            r#"gilmour_requests_total{topic="t",class="4xx"} 1"#,
            r#"gilmour_requests_total{topic="t",class="5xx"} 2"#,
            r#"gilmour_requests_total{topic="t",class="none"} 1"#,
            r#"gilmour_errors_total{topic="t"} 3"#,
            r#"gilmour_errors_total{topic="u"} 1"#,
            r#"gilmour_timeouts_total{topic="t"} 1"#,
            r#"gilmour_unanswered_total{topic="t"} 1"#,
            r#"gilmour_request_latency_seconds_count{topic="t"} 4"#,
            "gilmour_compositions_total 1",
            "gilmour_compositions_failed_total 1",
            r#"gilmour_signals_total{topic="tick"} 1"#,
            "gilmour_orphans_total 1",
            "gilmour_capture_gaps_total 1",
            "gilmour_capture_dropped_total 7",
            "gilmour_capture_connected 1",
        ] {
            assert!(has(&text, line), "{line} missing from\n{text}");
        }
        // Totals only grow: a second sync with the same figures adds nothing.
        metrics.sync(&inspector, 7);
        assert!(has(&metrics.encode(), "gilmour_capture_dropped_total 7"));
    }

    #[test]
    fn label_values_cannot_break_the_exposition() {
        assert_eq!(label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(label_value(&"é".repeat(150)).len(), 200);
        let metrics = Metrics::new(MetricsOptions { max_topics: 1 });
        assert_eq!(metrics.topic_label("x\"} 1\nfake 2"), "x\\\"} 1\\nfake 2");
        assert_eq!(metrics.topic_label("other"), OTHER_TOPIC);
        assert_eq!(metrics.inner.folded.get(), 1);
        assert_eq!(metrics.topic_label(""), NO_TOPIC);
    }
}
