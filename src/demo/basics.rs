//! The small services: `echo`, the `example.log` slot, and `example.flaky`, which fails
//! now and then so that the error queue and the inspector's error view have content.

use crate::engine::{Engine, EngineError, HandlerOptions, Reply, Request};
use crate::protocol::Code;
use serde_json::Value;
use std::time::Duration;

/// How long `example.flaky` may take before its engine answers 499.
const FLAKY_TIMEOUT: Duration = Duration::from_secs(1);

/// Serves `echo` ("Pong <data>") and the `example.log` slot.
pub async fn serve(engine: &Engine) -> Result<(), EngineError> {
    engine
        .reply_to(
            "echo",
            HandlerOptions::default(),
            |request: Request| async move { Reply::ok(format!("Pong {}", text(request.data()))) },
        )
        .await?;
    engine
        .slot(
            "example.log",
            HandlerOptions::default(),
            |request: Request| async move {
                tracing::info!(sender = %request.sender(), data = %request.data(), "example.log");
            },
        )
        .await?;
    Ok(())
}

/// A string as it is, anything else as JSON.
fn text(data: &Value) -> String {
    match data {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// How `example.flaky` treats a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mood {
    Fine,
    Broken,
    Stuck,
}

/// `{"mode": "ok" | "fail" | "slow"}` chooses; anything else is left to chance: seven in
/// ten fine, two broken (500), one stuck past the handler timeout (499).
fn mood(data: &Value) -> Mood {
    match data["mode"].as_str() {
        Some("ok") => Mood::Fine,
        Some("fail") => Mood::Broken,
        Some("slow") => Mood::Stuck,
        _ => match uuid::Uuid::new_v4().as_u128() % 10 {
            0..=6 => Mood::Fine,
            7 | 8 => Mood::Broken,
            _ => Mood::Stuck,
        },
    }
}

/// Serves `example.flaky`. Its engine should use the queue error policy: each failure
/// then lands in the error queue.
pub async fn serve_flaky(engine: &Engine) -> Result<(), EngineError> {
    let options = HandlerOptions::default().timeout(FLAKY_TIMEOUT);
    engine
        .reply_to("example.flaky", options, |request: Request| async move {
            match mood(request.data()) {
                Mood::Fine => Reply::ok("all good"),
                Mood::Broken => {
                    Reply::with_code(Code::INTERNAL, "flaky: lost the connection to its database")
                }
                Mood::Stuck => {
                    tokio::time::sleep(FLAKY_TIMEOUT * 5).await;
                    Reply::ok("too late")
                }
            }
        })
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flaky_moods_can_be_chosen_and_otherwise_vary() {
        assert_eq!(mood(&json!({"mode": "ok"})), Mood::Fine);
        assert_eq!(mood(&json!({"mode": "fail"})), Mood::Broken);
        assert_eq!(mood(&json!({"mode": "slow"})), Mood::Stuck);
        let moods: Vec<Mood> = (0..500).map(|_| mood(&json!(null))).collect();
        for wanted in [Mood::Fine, Mood::Broken, Mood::Stuck] {
            assert!(
                moods.contains(&wanted),
                "{wanted:?} never came up in 500 tries"
            );
        }
    }

    #[test]
    fn echo_text() {
        assert_eq!(text(&json!("hi")), "hi");
        assert_eq!(text(&json!({"a": 1})), r#"{"a":1}"#);
    }
}
