//! Game events, as on the talk's asynchronous-architecture slide: the game only signals
//! what happened on `event.*`; badges, push messages and ads each react in their own
//! group, so every event is handled once per group however many processes run it.
//!
//! ```text
//!   game ──signal event.level.completed──▶ badges (group, 2 processes) ──▶ example.log
//!                                      ├─▶ push   (group)
//!                                      └─▶ ads    (group, event.level.* only)
//! ```

use crate::engine::{Engine, EngineError, HandlerOptions, Request};
use serde_json::{Value, json};

/// The events the traffic generator signals, in turn.
pub const EVENTS: &[&str] = &[
    "event.player.joined",
    "event.level.completed",
    "event.match.won",
    "event.item.purchased",
];

/// The players events are about.
const PLAYERS: &[&str] = &["ada", "grace", "linus", "margaret", "ken"];

/// The data of the `n`th event.
pub fn event_data(n: u64) -> Value {
    let player = PLAYERS[(n % PLAYERS.len() as u64) as usize];
    json!({"player": player, "n": n})
}

/// The badge an event earns, if any.
fn badge(topic: &str) -> Option<&'static str> {
    match topic {
        "event.level.completed" => Some("explorer"),
        "event.match.won" => Some("champion"),
        _ => None,
    }
}

/// Serves the badges slot (group `badges`) on `engine`: run it on two engines and each
/// event is still handled once. A badge is announced on `example.log`.
pub async fn serve_badges(engine: &Engine) -> Result<(), EngineError> {
    let announcer = engine.clone();
    engine
        .slot(
            "event.*",
            HandlerOptions::default().group("badges"),
            move |request: Request| {
                let announcer = announcer.clone();
                async move {
                    let Some(badge) = badge(request.topic()) else {
                        return;
                    };
                    let player = request.data()["player"].clone();
                    let note = json!({"badge": badge, "player": player});
                    if let Err(error) = announcer.signal("example.log", note).await {
                        tracing::debug!(%error, "could not announce a badge");
                    }
                }
            },
        )
        .await?;
    Ok(())
}

/// Serves the push-message slot (group `push`) on every event.
pub async fn serve_push(engine: &Engine) -> Result<(), EngineError> {
    engine
        .slot(
            "event.*",
            HandlerOptions::default().group("push"),
            |request: Request| async move {
                tracing::info!(topic = request.topic(), player = %request.data()["player"], "push message sent");
            },
        )
        .await?;
    Ok(())
}

/// Serves the ads slot (group `ads`) after levels.
pub async fn serve_ads(engine: &Engine) -> Result<(), EngineError> {
    engine
        .slot(
            "event.level.*",
            HandlerOptions::default().group("ads"),
            |request: Request| async move {
                tracing::info!(player = %request.data()["player"], "ad shown");
            },
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_name_players_and_some_earn_badges() {
        assert_eq!(event_data(1)["player"], "grace");
        assert_eq!(event_data(6)["player"], "grace");
        assert_eq!(badge("event.match.won"), Some("champion"));
        assert_eq!(badge("event.player.joined"), None);
        assert!(EVENTS.iter().all(|topic| topic.starts_with("event.")));
    }
}
