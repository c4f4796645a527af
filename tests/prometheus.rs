//! End to end: `gilmour exporter` watches traffic on a real redis-server and a real
//! Prometheus scrapes it while the traffic flows; Prometheus's own query API must then
//! count exactly the requests sent, and give a p99 from the latency histogram.

mod support;

use gilmour::engine::{Engine, RequestOptions};
use std::time::Duration;
use support::process::Background;
use support::prometheus::{Prometheus, value};
use support::{Backend, Server};

/// The address in the exporter's `serving metrics on http://ADDR/metrics` line.
fn metrics_address(exporter: &Background) -> String {
    let line = exporter.stderr_line();
    let rest = line
        .split_once("serving metrics on http://")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .1;
    rest.split_once("/metrics").expect("path").0.to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_counts_the_requests_sent_and_their_p99() {
    const SENT: usize = 40;
    let server = Server::shared(Backend::Redis);
    let exporter = Background::start(
        server,
        &["exporter", "--listen", "127.0.0.1:0", "--poll", "0.5"],
    );
    let address = metrics_address(&exporter);
    let prometheus = Prometheus::start(std::slice::from_ref(&address));
    prometheus.query_until(r#"up{job="gilmour"}"#, |result| {
        result.first().is_some_and(|sample| value(sample) == 1.0)
    });

    let service = Engine::builder(&server.url())
        .health(true)
        .connect()
        .await
        .expect("connect");
    support::engine::echo(&service, "echo").await;
    let caller = Engine::connect(&server.url()).await.expect("connect");
    // Spread over a few scrapes, so that Prometheus sees the counter climb.
    for n in 0..SENT {
        caller
            .request("echo", n, RequestOptions::timeout(Duration::from_secs(5)))
            .await
            .expect("request");
        if n % 10 == 9 {
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    let counted = tokio::task::spawn_blocking(move || {
        let counted = prometheus.query_until(r#"gilmour_requests_total{topic="echo"}"#, |result| {
            result.len() == 1 && value(&result[0]) == SENT as f64
        });
        let p99 = prometheus.query_until(
            r#"histogram_quantile(0.99, sum by (le) (gilmour_request_latency_seconds_bucket{topic="echo"}))"#,
            |result| result.first().is_some_and(|sample| value(sample).is_finite()),
        );
        let hosts = prometheus.query_until(r#"gilmour_hosts{state="alive"}"#, |result| {
            result.first().is_some_and(|sample| value(sample) >= 1.0)
        });
        (counted, p99, hosts)
    })
    .await
    .expect("queries");
    let (counted, p99, _hosts) = counted;
    assert_eq!(counted[0]["metric"]["class"], "2xx");
    let p99 = value(&p99[0]);
    assert!(p99 > 0.0 && p99 <= 5.0, "p99 of {p99} s");
    service.shutdown().await.expect("shutdown");
    caller.shutdown().await.expect("shutdown");
    drop(exporter);
}
