//! A live capture feeding an inspector: what the inspector tests watch traffic with.

use super::Server;
use gilmour::inspect::{Capture, CaptureEvents, Inspector, InspectorOptions, Trace, capture};
use gilmour::protocol::Channels;
use gilmour::transport::RedisConfig;
use std::time::Duration;

/// How long a test waits for what it expects.
pub const WAIT: Duration = Duration::from_secs(10);

/// A live capture feeding an inspector, for one prefix.
pub struct Watch {
    pub inspector: Inspector,
    pub events: CaptureEvents,
    pub capture: Capture,
}

impl Watch {
    pub async fn start(server: &Server, prefix: &str) -> Watch {
        Watch::with(server, prefix, InspectorOptions::default()).await
    }

    pub async fn with(server: &Server, prefix: &str, options: InspectorOptions) -> Watch {
        Watch::at(&server.url(), prefix, options).await
    }

    /// A capture of any URL (a cluster's, Sentinel's).
    pub async fn at(url: &str, prefix: &str, options: InspectorOptions) -> Watch {
        let mut redis = RedisConfig::new(url);
        redis.heartbeat_interval = Duration::from_millis(100);
        redis.min_backoff = Duration::from_millis(20);
        let (capture, events) =
            Capture::start(redis, Channels::new(prefix), capture::DEFAULT_BUFFER)
                .await
                .expect("capture");
        Watch {
            inspector: Inspector::new(options),
            events,
            capture,
        }
    }

    /// Ingests events until `done` holds.
    pub async fn until(&mut self, what: &str, done: impl Fn(&Inspector) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !done(&self.inspector) {
            let event = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
                .expect("capture ended");
            self.inspector.ingest(event);
        }
    }

    /// Whether the capture takes in a request sent now: sends one to `topic` (an echo
    /// service) every half second until its trace is stored, for at most `patience`.
    pub async fn sees_new_requests(
        &mut self,
        caller: &gilmour::engine::Engine,
        topic: &str,
        patience: Duration,
    ) -> bool {
        let deadline = tokio::time::Instant::now() + patience;
        while tokio::time::Instant::now() < deadline {
            let options = gilmour::engine::RequestOptions::timeout(Duration::from_secs(1));
            let Ok(response) = caller.request(topic, "seen?", options).await else {
                continue;
            };
            let sender = response.sender.to_string();
            let look = tokio::time::Instant::now() + Duration::from_millis(500);
            while let Ok(Some(event)) = tokio::time::timeout_at(look, self.events.recv()).await {
                self.inspector.ingest(event);
                if self.inspector.store().by_sender(&sender).is_some() {
                    return true;
                }
            }
        }
        false
    }

    /// After a failover: the capture has counted a gap, and takes in requests to `topic`
    /// (an echo service) sent after it, within 15 s.
    pub async fn shows_the_gap_and_goes_on(
        &mut self,
        caller: &gilmour::engine::Engine,
        topic: &str,
    ) {
        self.until("the gap", |inspector| inspector.counters().gaps >= 1)
            .await;
        assert!(
            self.sees_new_requests(caller, topic, Duration::from_secs(15))
                .await,
            "the capture goes on after the gap"
        );
    }

    /// Ingests events until `count` messages have been correlated.
    pub async fn messages(&mut self, count: u64) {
        self.until(&format!("{count} messages"), |inspector| {
            inspector.counters().messages >= count
        })
        .await;
    }

    pub fn traces(&self) -> Vec<&Trace> {
        self.inspector.store().newest_first().rev().collect()
    }

    pub fn complete(&self) -> usize {
        self.inspector
            .store()
            .newest_first()
            .filter(|trace| trace.is_complete())
            .count()
    }
}
