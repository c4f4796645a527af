//! Statistics per topic and over all traffic: counts, rates over the last 1, 10 and 60
//! seconds, error rate, and latency quantiles of paired traces (hdrhistogram).
//!
//! Time is the traces' own (their start), so a capture file replayed offline gives the
//! rates it had live.

use super::filter::{TraceKind, TraceStatus};
use super::trace::{Counted, Trace};
use chrono::{DateTime, Utc};
use hdrhistogram::Histogram;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The most topics that get figures of their own (about 14 KB each).
pub const MAX_TOPICS: usize = 5_000;

/// Seconds of per-second counts kept for rates and sparklines.
pub const WINDOW_SECONDS: usize = 60;

/// The label orphan replies (whose request was not seen) are counted under.
pub const ORPHAN_LABEL: &str = "(orphan replies)";

/// The label traces without a topic (an error record that names none) are counted under.
pub const NO_TOPIC_LABEL: &str = "(no topic)";

/// The label a trace's figures go under: its topic, or a label of its own, never "".
pub fn label_of(trace: &Trace) -> &str {
    if !trace.topic.is_empty() {
        &trace.topic
    } else if trace.status == TraceStatus::Orphan {
        ORPHAN_LABEL
    } else {
        NO_TOPIC_LABEL
    }
}

/// The figures of one topic (or of all traffic) at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// The topic; empty for all traffic.
    pub topic: Arc<str>,
    /// Traces counted.
    pub count: u64,
    /// Traces that ended in an error or timeout.
    pub errors: u64,
    /// Traces per second over the last complete second.
    pub rate_1s: f64,
    /// Traces per second over the last 10 complete seconds.
    pub rate_10s: f64,
    /// Traces per second over the last 60 complete seconds.
    pub rate_60s: f64,
    /// Latency quantiles of paired traces: p50, p90, p99 and max; `None` before any.
    pub latency: Option<Latency>,
    /// With deep capture: who answered, and how many each, most first (the group-lock
    /// race's winners: the talk's load balancing, made visible).
    pub responders: Vec<(Arc<str>, u64)>,
}

impl Summary {
    /// The share of traces that failed, 0 to 1.
    pub fn error_rate(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.errors as f64 / self.count as f64
        }
    }
}

/// Latency quantiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latency {
    /// Median.
    pub p50: Duration,
    /// 90th percentile.
    pub p90: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Slowest.
    pub max: Duration,
}

/// One bar of a latency histogram: the traces that took from `from` up to `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    /// Its lower bound.
    pub from: Duration,
    /// Its upper bound (the last bucket's holds the slowest).
    pub to: Duration,
    /// Traces in it.
    pub count: u64,
}

/// The median and the 99th percentile of the latencies of traces that ended in one
/// second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecondQuantiles {
    /// Median.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
}

/// The latencies of the traces that ended in the second being counted: at the next
/// second their quantiles go into the window and the counts start again. One
/// significant digit is enough to draw a sparkline, and keeps it at about 2 KB.
#[derive(Debug, Clone)]
struct SecondLatencies {
    second: i64,
    latencies: Histogram<u32>,
}

impl SecondLatencies {
    fn new(second: i64) -> Self {
        SecondLatencies {
            second,
            // 1 µs to one hour at 1 significant digit: constant, valid bounds.
            latencies: Histogram::new_with_bounds(1, 3_600_000_000, 1)
                .expect("valid histogram bounds"),
        }
    }

    fn quantiles(&self) -> Option<SecondQuantiles> {
        let at = |q: f64| Duration::from_micros(self.latencies.value_at_quantile(q));
        (!self.latencies.is_empty()).then(|| SecondQuantiles {
            p50: at(0.5),
            p99: at(0.99),
        })
    }
}

/// Running figures of one topic.
#[derive(Debug, Clone)]
struct Meter {
    count: u64,
    errors: u64,
    latencies: Histogram<u32>,
    /// The second being counted, made on the first latency (most topics of a busy
    /// system are signals, which have none).
    second: Option<Box<SecondLatencies>>,
    /// (second, quantiles) per slot `second % WINDOW_SECONDS`, by when the traces ended.
    quantiles: [(i64, Option<SecondQuantiles>); WINDOW_SECONDS],
    /// (second, count) per slot `second % WINDOW_SECONDS`.
    seconds: [(i64, u32); WINDOW_SECONDS],
    /// Answers per responder, as deep capture named them (at most [`MAX_RESPONDERS`];
    /// the rest count under [`OTHER_RESPONDERS`]).
    responders: HashMap<Arc<str>, u64>,
}

/// The most responders one topic counts by name.
pub const MAX_RESPONDERS: usize = 32;

/// The label of responders past [`MAX_RESPONDERS`].
pub const OTHER_RESPONDERS: &str = "(others)";

impl Meter {
    fn new() -> Self {
        Meter {
            count: 0,
            errors: 0,
            // 1 µs to one hour at 2 significant digits: constant, valid bounds.
            latencies: Histogram::new_with_bounds(1, 3_600_000_000, 2)
                .expect("valid histogram bounds"),
            seconds: [(i64::MIN, 0); WINDOW_SECONDS],
            second: None,
            quantiles: [(i64::MIN, None); WINDOW_SECONDS],
            responders: HashMap::new(),
        }
    }

    fn answered_by(&mut self, responder: &str) {
        let label =
            if self.responders.contains_key(responder) || self.responders.len() < MAX_RESPONDERS {
                responder
            } else {
                OTHER_RESPONDERS
            };
        match self.responders.get_mut(label) {
            Some(count) => *count += 1,
            None => {
                self.responders.insert(Arc::from(label), 1);
            }
        }
    }

    fn count(&mut self, at: DateTime<Utc>, failed: bool) {
        self.count += 1;
        if failed {
            self.errors += 1;
        }
        let second = at.timestamp();
        let slot = &mut self.seconds[second.rem_euclid(WINDOW_SECONDS as i64) as usize];
        if slot.0 == second {
            slot.1 = slot.1.saturating_add(1);
        } else {
            *slot = (second, 1);
        }
    }

    /// Takes back one count (a trace whose figures move elsewhere).
    fn uncount(&mut self, at: DateTime<Utc>, failed: bool) {
        self.count = self.count.saturating_sub(1);
        if failed {
            self.errors = self.errors.saturating_sub(1);
        }
        let second = at.timestamp();
        let slot = &mut self.seconds[second.rem_euclid(WINDOW_SECONDS as i64) as usize];
        if slot.0 == second {
            slot.1 = slot.1.saturating_sub(1);
        }
    }

    /// Counts a latency of a trace that ended at `ended`.
    fn latency(&mut self, latency: Duration, ended: DateTime<Utc>) {
        let micros = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        self.latencies.saturating_record(micros);
        let second = ended.timestamp();
        let current = self
            .second
            .get_or_insert_with(|| Box::new(SecondLatencies::new(second)));
        // Traces end nearly in order: one that ends in an earlier second than the one
        // counted (its reply came late) counts in the current one.
        if second > current.second {
            let slot = current.second.rem_euclid(WINDOW_SECONDS as i64) as usize;
            self.quantiles[slot] = (current.second, current.quantiles());
            current.second = second;
            current.latencies.reset();
        }
        current.latencies.saturating_record(micros);
    }

    /// Latency quantiles per second for the last `WINDOW_SECONDS` complete seconds
    /// before `now`, oldest first; `None` for a second no trace ended in.
    fn quantiles(&self, now: DateTime<Utc>) -> Vec<Option<SecondQuantiles>> {
        let current = now.timestamp();
        (current - WINDOW_SECONDS as i64..current)
            .map(|second| match &self.second {
                Some(counting) if counting.second == second => counting.quantiles(),
                _ => {
                    let (stored, quantiles) =
                        self.quantiles[second.rem_euclid(WINDOW_SECONDS as i64) as usize];
                    if stored == second { quantiles } else { None }
                }
            })
            .collect()
    }

    /// The latencies in `buckets` bars from the fastest to the slowest: of equal width
    /// (as oha draws them) when the slowest is within 20 times the fastest, else of
    /// equal ratio, so that one timeout does not put every other trace in the first bar.
    fn histogram(&self, buckets: usize) -> Vec<Bucket> {
        if self.latencies.is_empty() || buckets == 0 {
            return Vec::new();
        }
        let (low, high) = (self.latencies.min().max(1), self.latencies.max().max(1));
        // No bars narrower than the histogram can tell apart.
        let distinct = (high - low) / self.latencies.equivalent_range(low).max(1);
        let buckets = buckets
            .min(usize::try_from(distinct).unwrap_or(usize::MAX))
            .max(1);
        let mut bounds: Vec<u64> = if high <= low.saturating_mul(20) {
            (0..=buckets as u64)
                .map(|n| low + (high - low) * n / buckets as u64)
                .collect()
        } else {
            let ratio = (high as f64 / low as f64).powf(1.0 / buckets as f64);
            (0..=buckets)
                .map(|n| (low as f64 * ratio.powi(n as i32)).round() as u64)
                .collect()
        };
        bounds[buckets] = high;
        let mut counts = vec![0u64; buckets];
        for value in self.latencies.iter_recorded() {
            let micros = self.latencies.highest_equivalent(value.value_iterated_to());
            let micros = micros.clamp(low, high);
            let at = bounds[1..]
                .iter()
                .position(|bound| micros < *bound)
                .unwrap_or(buckets - 1);
            counts[at] += u64::from(value.count_at_value());
        }
        counts
            .into_iter()
            .enumerate()
            .map(|(at, count)| Bucket {
                from: Duration::from_micros(bounds[at]),
                to: Duration::from_micros(bounds[at + 1]),
                count,
            })
            .collect()
    }

    /// Per-second counts for the last `seconds` complete seconds before `now`, oldest
    /// first.
    fn per_second(&self, now: DateTime<Utc>, seconds: usize) -> impl Iterator<Item = u32> + '_ {
        let current = now.timestamp();
        let seconds = seconds.min(WINDOW_SECONDS) as i64;
        (current - seconds..current).map(move |second| {
            let (stored, count) = self.seconds[second.rem_euclid(WINDOW_SECONDS as i64) as usize];
            if stored == second { count } else { 0 }
        })
    }

    fn rate(&self, now: DateTime<Utc>, seconds: usize) -> f64 {
        let total: u64 = self.per_second(now, seconds).map(u64::from).sum();
        total as f64 / seconds as f64
    }

    fn summary(&self, topic: Arc<str>, now: DateTime<Utc>) -> Summary {
        let quantile = |q: f64| Duration::from_micros(self.latencies.value_at_quantile(q));
        Summary {
            topic,
            count: self.count,
            errors: self.errors,
            rate_1s: self.rate(now, 1),
            rate_10s: self.rate(now, 10),
            rate_60s: self.rate(now, 60),
            latency: (!self.latencies.is_empty()).then(|| Latency {
                p50: quantile(0.5),
                p90: quantile(0.9),
                p99: quantile(0.99),
                max: Duration::from_micros(self.latencies.max()),
            }),
            responders: {
                let mut responders: Vec<(Arc<str>, u64)> = self
                    .responders
                    .iter()
                    .map(|(name, count)| (name.clone(), *count))
                    .collect();
                responders.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                responders
            },
        }
    }
}

/// Statistics over completed traces.
#[derive(Debug, Clone)]
pub struct Stats {
    topics: HashMap<Arc<str>, Meter>,
    all: Meter,
    untracked: u64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            topics: HashMap::new(),
            all: Meter::new(),
            untracked: 0,
        }
    }
}

impl Stats {
    /// Counts a completed trace once, however often it changes: the first call counts
    /// it, later calls move its figures (to another label when its request named the
    /// topic, to failed or not when its reply came) and add its latency when it first
    /// has one. Gaps are not traffic and are left out. At most [`MAX_TOPICS`] labels get
    /// figures of their own (health idents, one per process ever seen, or per-entity
    /// topics could otherwise grow without bound); traces of labels past that count in
    /// the overall figures and in [`Stats::untracked`].
    pub fn record(&mut self, trace: &mut Trace) {
        // A composition's steps are counted as themselves; counting it too would count
        // them twice.
        if matches!(trace.kind, TraceKind::Gap | TraceKind::Composition) || !trace.is_complete() {
            return;
        }
        let failed = matches!(trace.status, TraceStatus::Error | TraceStatus::Timeout);
        let previous = trace.counted.take();
        let label = label_of(trace);
        let mut latency_recorded = previous.as_ref().is_some_and(|counted| counted.latency);
        // A responder stays counted where it was counted, like a latency.
        let previous_responder = previous.as_ref().is_some_and(|counted| counted.responder);
        let tracked = match previous {
            Some(counted) if &*counted.label == label && counted.failed == failed => {
                counted.tracked
            }
            previous => {
                if let Some(counted) = previous {
                    self.uncount(&counted);
                }
                self.count(label, trace.started, failed)
            }
        };
        let label: Arc<str> = match self.topics.get_key_value(label) {
            Some((name, _)) => name.clone(),
            None => Arc::from(label),
        };
        let started = trace.started;
        let mut responder_counted = previous_responder;
        if !responder_counted
            && tracked
            && let Some(responder) = trace.deep.as_ref().and_then(|deep| deep.responder.as_ref())
            && let Some(meter) = self.topics.get_mut(&label)
        {
            meter.answered_by(responder.label());
            responder_counted = true;
        }
        if !latency_recorded && let Some(latency) = trace.latency() {
            let ended = started + chrono::Duration::from_std(latency).unwrap_or_default();
            if tracked && let Some(meter) = self.topics.get_mut(&label) {
                meter.latency(latency, ended);
            }
            self.all.latency(latency, ended);
            latency_recorded = true;
        }
        trace.counted = Some(Counted {
            label,
            at: started,
            failed,
            latency: latency_recorded,
            tracked,
            responder: responder_counted,
        });
    }

    /// Counts one trace under a label; whether the label has figures of its own.
    fn count(&mut self, label: &str, at: DateTime<Utc>, failed: bool) -> bool {
        let tracked = if self.topics.contains_key(label) || self.topics.len() < MAX_TOPICS {
            self.topics
                .entry(Arc::from(label))
                .or_insert_with(Meter::new)
                .count(at, failed);
            true
        } else {
            self.untracked += 1;
            false
        };
        self.all.count(at, failed);
        tracked
    }

    fn uncount(&mut self, counted: &Counted) {
        match self.topics.get_mut(&counted.label) {
            Some(meter) if counted.tracked => meter.uncount(counted.at, counted.failed),
            _ => self.untracked = self.untracked.saturating_sub(1),
        }
        self.all.uncount(counted.at, counted.failed);
    }

    /// Traces whose topic got no figures of its own because [`MAX_TOPICS`] were tracked.
    pub fn untracked(&self) -> u64 {
        self.untracked
    }

    /// One topic's figures.
    pub fn topic(&self, topic: &str, now: DateTime<Utc>) -> Option<Summary> {
        let (name, meter) = self.topics.get_key_value(topic)?;
        Some(meter.summary(name.clone(), now))
    }

    /// Every topic's figures, busiest first.
    pub fn topics(&self, now: DateTime<Utc>) -> Vec<Summary> {
        let mut summaries: Vec<Summary> = self
            .topics
            .iter()
            .map(|(topic, meter)| meter.summary(topic.clone(), now))
            .collect();
        summaries.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.topic.cmp(&b.topic)));
        summaries
    }

    /// The figures over all traffic.
    pub fn overall(&self, now: DateTime<Utc>) -> Summary {
        self.all.summary(Arc::from(""), now)
    }

    /// A topic's latencies as a histogram of `buckets` bars, fastest first (see
    /// [`Bucket`]); empty before any.
    pub fn histogram(&self, topic: &str, buckets: usize) -> Vec<Bucket> {
        self.topics
            .get(topic)
            .map_or_else(Vec::new, |meter| meter.histogram(buckets))
    }

    /// A topic's p50 and p99 latency per second over the last minute, by when its
    /// traces ended, oldest first (for sparklines); `None` for a second none ended in.
    pub fn latency_history(&self, topic: &str, now: DateTime<Utc>) -> Vec<Option<SecondQuantiles>> {
        match self.topics.get(topic) {
            Some(meter) => meter.quantiles(now),
            None => vec![None; WINDOW_SECONDS],
        }
    }

    /// A topic's per-second counts over the last minute, oldest first (for sparklines).
    pub fn recent(&self, topic: &str, now: DateTime<Utc>) -> Vec<u32> {
        match self.topics.get(topic) {
            Some(meter) => meter.per_second(now, WINDOW_SECONDS).collect(),
            None => vec![0; WINDOW_SECONDS],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn trace(topic: &str, second: i64, status: TraceStatus) -> Trace {
        let at = Utc.timestamp_opt(second, 0).single().expect("time");
        let mut trace = Trace::new(TraceKind::Request, status, at);
        trace.topic = Arc::from(topic);
        trace
    }

    #[test]
    fn a_trace_counts_once_and_moves_when_it_changes() {
        let mut stats = Stats::default();
        let mut orphan = trace("", 100, TraceStatus::Orphan);
        stats.record(&mut orphan);
        let now = Utc.timestamp_opt(101, 0).single().expect("time");
        assert_eq!(stats.topic(ORPHAN_LABEL, now).map(|s| s.count), Some(1));
        assert!(stats.topic("", now).is_none(), "never an empty topic");
        // Its request comes: the figures move to the topic, failed now.
        orphan.topic = Arc::from("t");
        orphan.status = TraceStatus::Error;
        stats.record(&mut orphan);
        stats.record(&mut orphan);
        assert_eq!(stats.topic(ORPHAN_LABEL, now).map(|s| s.count), Some(0));
        let t = stats.topic("t", now).expect("t");
        assert_eq!((t.count, t.errors, t.rate_1s), (1, 1, 1.0));
        let all = stats.overall(now);
        assert_eq!((all.count, all.errors), (1, 1));
    }

    #[test]
    fn counts_rates_and_errors() {
        let mut stats = Stats::default();
        for second in 100..110 {
            for _ in 0..3 {
                stats.record(&mut trace("a", second, TraceStatus::Ok));
            }
        }
        stats.record(&mut trace("a", 109, TraceStatus::Error));
        stats.record(&mut trace("b", 109, TraceStatus::Timeout));
        let now = Utc.timestamp_opt(110, 500_000_000).single().expect("time");
        let a = stats.topic("a", now).expect("a");
        assert_eq!((a.count, a.errors), (31, 1));
        assert_eq!(a.rate_1s, 4.0);
        assert_eq!(a.rate_10s, 3.1);
        assert!((a.rate_60s - 31.0 / 60.0).abs() < 1e-9);
        assert!((a.error_rate() - 1.0 / 31.0).abs() < 1e-9);
        assert_eq!(stats.overall(now).count, 32);
        let recent = stats.recent("a", now);
        assert_eq!(recent.len(), 60);
        assert_eq!(&recent[50..], &[3, 3, 3, 3, 3, 3, 3, 3, 3, 4]);
        let names: Vec<String> = stats
            .topics(now)
            .iter()
            .map(|s| s.topic.to_string())
            .collect();
        assert_eq!(names, ["a", "b"]);
    }

    fn answered(topic: &str, second: i64, millis: i64) -> Trace {
        use crate::inspect::event::MessageEvent;
        let at = Utc.timestamp_opt(second, 0).single().expect("time");
        let mut trace = trace(topic, second, TraceStatus::Ok);
        let channels = crate::protocol::Channels::default();
        let read = |at, channel: &str, payload: &str| {
            MessageEvent::read(&channels, at, channel, Arc::from(payload.as_bytes()))
        };
        trace.request = Some(read(
            at,
            "gilmour.request.t",
            r#"{"data":1,"code":200,"sender":"s"}"#,
        ));
        trace.reply = Some(read(
            at + chrono::Duration::milliseconds(millis),
            "gilmour.response.s",
            r#"{"data":1,"code":200,"sender":"s"}"#,
        ));
        trace
    }

    #[test]
    fn latency_histogram_has_equal_bars_or_equal_ratios() {
        let mut stats = Stats::default();
        for millis in [10, 11, 12, 19, 20] {
            stats.record(&mut answered("a", 100, millis));
        }
        let bars = stats.histogram("a", 5);
        assert_eq!(bars.len(), 5);
        assert_eq!(bars.iter().map(|bar| bar.count).sum::<u64>(), 5);
        // To the histogram's precision (two significant digits).
        let from = bars[0].from.as_micros();
        assert!((9_900..=10_000).contains(&from), "{bars:?}");
        assert_eq!(bars[0].count, 2, "10 and 11 ms: {bars:?}");
        assert_eq!(bars[4].count, 2, "19 and 20 ms: {bars:?}");
        // A timeout among fast replies: bars of equal ratio, the fast ones apart.
        for millis in [1, 1, 2, 4, 1000] {
            stats.record(&mut answered("b", 100, millis));
        }
        let bars = stats.histogram("b", 10);
        assert_eq!(bars.iter().map(|bar| bar.count).sum::<u64>(), 5);
        assert_eq!(bars[0].count, 2, "{bars:?}");
        assert_eq!(bars[9].count, 1, "the timeout alone at the end: {bars:?}");
        assert!(bars[9].to >= Duration::from_millis(990), "{bars:?}");
        assert!(stats.histogram("none", 10).is_empty());
        // One latency: one bar.
        stats.record(&mut answered("c", 100, 7));
        let bars = stats.histogram("c", 10);
        assert_eq!(bars.len(), 1, "{bars:?}");
        assert_eq!(bars[0].count, 1);
    }

    #[test]
    fn latency_quantiles_per_second_by_when_traces_ended() {
        let mut stats = Stats::default();
        for millis in [1, 2, 3, 4, 100] {
            stats.record(&mut answered("a", 100, millis));
        }
        stats.record(&mut answered("a", 102, 50));
        let now = Utc.timestamp_opt(103, 0).single().expect("time");
        let history = stats.latency_history("a", now);
        assert_eq!(history.len(), WINDOW_SECONDS);
        let [.., at_100, at_101, at_102] = history[..] else {
            panic!("a minute");
        };
        let at_100 = at_100.expect("five ended at 100");
        assert!(
            at_100.p50 >= Duration::from_millis(3) && at_100.p50 < Duration::from_micros(3_500)
        );
        assert!(at_100.p99 >= Duration::from_millis(95), "{at_100:?}");
        assert_eq!(at_101, None);
        let at_102 = at_102.expect("the one still counted");
        assert!(at_102.p50 >= Duration::from_millis(45), "{at_102:?}");
        assert!(
            stats
                .latency_history("none", now)
                .iter()
                .all(Option::is_none)
        );
    }

    #[test]
    fn topics_past_the_cap_count_only_overall() {
        let mut stats = Stats::default();
        for n in 0..MAX_TOPICS + 3 {
            stats.record(&mut trace(&format!("t{n}"), 100, TraceStatus::Ok));
        }
        stats.record(&mut trace("t0", 100, TraceStatus::Ok));
        let now = Utc.timestamp_opt(101, 0).single().expect("time");
        assert_eq!(stats.topics(now).len(), MAX_TOPICS);
        assert_eq!(stats.untracked(), 3);
        assert_eq!(stats.overall(now).count, MAX_TOPICS as u64 + 4);
        assert_eq!(stats.topic("t0", now).map(|summary| summary.count), Some(2));
    }
}
