//! Requests flowing while something breaks: workers that each send one request after
//! another and record how every one ended, and the checks a failover test makes on them.

use gilmour::engine::{Engine, EngineError, RequestOptions};
use gilmour::transport::ConnectionEvent;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// Each request's own timeout.
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// What one request did: when it started, how long it took, and how it ended (the code
/// of its answer, or the error).
pub struct Outcome {
    pub started: Instant,
    pub took: Duration,
    pub result: Result<i64, String>,
}

/// Workers sending requests on one topic until stopped.
pub struct Traffic {
    outcomes: Arc<Mutex<Vec<Outcome>>>,
    stop: Arc<AtomicBool>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl Traffic {
    /// Starts `workers` loops of requests to `topic` (an echo service) from `caller`.
    pub fn start(caller: &Engine, topic: &str, workers: usize) -> Traffic {
        let outcomes = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let workers = (0..workers)
            .map(|worker| {
                let (caller, outcomes, stop) = (caller.clone(), outcomes.clone(), stop.clone());
                let topic = topic.to_owned();
                tokio::spawn(async move {
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        let data = json!([worker, n]);
                        let started = Instant::now();
                        let result = caller
                            .request(&topic, data.clone(), RequestOptions::timeout(TIMEOUT))
                            .await;
                        let took = started.elapsed();
                        let result = match result {
                            Ok(response)
                                if response.code().0 == 200 && response.data() != &data =>
                            {
                                Err(format!("wrong data: {}", response.data()))
                            }
                            Ok(response) => Ok(response.code().0),
                            Err(error) => Err(describe(&error)),
                        };
                        let failed = result != Ok(200);
                        outcomes.lock().unwrap().push(Outcome {
                            started,
                            took,
                            result,
                        });
                        if failed {
                            // A caller tries again after a moment, as a service would.
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                })
            })
            .collect();
        Traffic {
            outcomes,
            stop,
            workers,
        }
    }

    /// Whether every request so far succeeded.
    pub fn all_well(&self) -> bool {
        self.outcomes
            .lock()
            .unwrap()
            .iter()
            .all(|outcome| outcome.result == Ok(200))
    }

    /// How many requests have ended.
    pub fn count(&self) -> usize {
        self.outcomes.lock().unwrap().len()
    }

    /// Waits until `successes` requests in a row have succeeded since the last failure
    /// (or since `since`), for at most `patience`.
    pub async fn wait_recovered(&self, since: Instant, successes: usize, patience: Duration) {
        let deadline = Instant::now() + patience;
        while Instant::now() < deadline {
            let recovered = {
                let outcomes = self.outcomes.lock().unwrap();
                let last_failure = outcomes
                    .iter()
                    .filter(|outcome| outcome.result != Ok(200))
                    .map(|outcome| outcome.started)
                    .max()
                    .unwrap_or(since)
                    .max(since);
                outcomes
                    .iter()
                    .filter(|outcome| outcome.started > last_failure && outcome.result == Ok(200))
                    .count()
                    >= successes
            };
            if recovered {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops the workers and checks what a failover at `broke` may cost: the requests
    /// in flight then, and those sent while it lasted, fail clearly (an error or a 499,
    /// each within its timeout: none hangs); from at most `recovery` after `settled`
    /// (when the deployment had finished moving: `broke`, or later), every request
    /// succeeds again, and at least `successes` did. Returns a one-line summary.
    pub async fn check(
        self,
        (broke, settled): (Instant, Instant),
        recovery: Duration,
        successes: usize,
    ) -> String {
        self.stop.store(true, Ordering::Relaxed);
        for worker in self.workers {
            worker.await.expect("worker");
        }
        let outcomes = self.outcomes.lock().unwrap();
        let failures: Vec<&Outcome> = outcomes
            .iter()
            .filter(|outcome| outcome.result != Ok(200))
            .collect();
        // Recovered from the start of the last request that failed: every request sent
        // later succeeded.
        let last_failure = failures
            .iter()
            .map(|outcome| outcome.started)
            .max()
            .unwrap_or(broke);
        let details: Vec<String> = failures
            .iter()
            .map(|outcome| {
                format!(
                    "+{:?} (took {:?}): {:?}",
                    outcome.started.saturating_duration_since(broke),
                    outcome.took,
                    outcome.result
                )
            })
            .collect();
        let summary = format!(
            "{} requests, {} failed; every request sent from {:?} after the failure on succeeded",
            outcomes.len(),
            failures.len(),
            last_failure.saturating_duration_since(broke)
        );
        eprintln!("{summary}");
        for line in &details {
            eprintln!("  {line}");
        }
        for failure in &failures {
            assert!(
                failure.took < TIMEOUT + Duration::from_secs(1),
                "a request outlived its timeout: {details:#?}"
            );
            assert!(
                failure.started + failure.took >= broke,
                "failed before anything broke: {details:#?}"
            );
            if let Err(error) = &failure.result {
                assert!(!error.starts_with("wrong data"), "{details:#?}");
            }
        }
        assert!(
            last_failure.saturating_duration_since(settled) < recovery,
            "still failing {recovery:?} after the failover: {details:#?}"
        );
        let after = outcomes
            .iter()
            .filter(|outcome| outcome.started > last_failure)
            .count();
        assert!(
            after >= successes,
            "only {after} requests after recovery: {details:#?}"
        );
        summary
    }
}

/// Whether the events report a lost link and, after it, the subscriptions back.
pub fn saw_gap(events: &mut broadcast::Receiver<ConnectionEvent>) -> bool {
    let mut lost = false;
    let mut back = false;
    while let Ok(event) = events.try_recv() {
        match event {
            ConnectionEvent::Disconnected { .. } => lost = true,
            ConnectionEvent::Resubscribed { .. } => back = back || lost,
            ConnectionEvent::Connected { .. } => {}
        }
    }
    back
}

fn describe(error: &EngineError) -> String {
    match error {
        EngineError::Disconnected { .. } => "disconnected".to_owned(),
        EngineError::NotConnected => "not connected".to_owned(),
        other => other.to_string(),
    }
}
