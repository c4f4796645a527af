//! The services from the Gilmour talk, live: what `gilmour demo` runs. They are written
//! with the library exactly as a user would write them.
//!
//! ```text
//!   traffic ──▶ echo, example.log                       (process "basics")
//!           ──▶ example.fetch | words | stopfilter | count | [popular3, 4, 5]
//!           ──▶ weather.fetch | group | record(min ; max)
//!           ──▶ event.* ──▶ badges ×2, push, ads (groups)  (two "game" processes)
//!           ──▶ example.flaky: 500s and timeouts, queued errors
//! ```
//!
//! Each group of services runs on its own engine, as separate processes would, with
//! health checks on. [`find_redis`] chooses the Redis to run on, down to the built-in
//! broker when the machine has none.

mod basics;
mod games;
mod redis;
mod traffic;
mod weather;
mod wordcount;

pub use games::EVENTS;
pub use redis::{PrivateRedis, RedisSource, Search, find_redis, find_redis_in};
pub use traffic::Traffic;
pub use weather::WEATHER;
pub use wordcount::WORD_COUNT;

use crate::compose::ParseError;
use crate::engine::{Engine, EngineBuilder, EngineError, ErrorPolicy};
use thiserror::Error;

/// The traffic generator's default rate, in actions a second.
pub const DEFAULT_RATE: f64 = 2.0;

/// What can stop the demo from starting.
#[derive(Debug, Error)]
pub enum DemoError {
    /// An engine could not connect or subscribe.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A built-in composition does not parse (a bug in the demo).
    #[error("a demo composition does not parse: {0}")]
    Composition(#[from] ParseError),
}

/// How the demo runs.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoOptions {
    /// The channel prefix (default `gilmour`).
    pub prefix: String,
    /// The traffic generator's rate in actions a second; 0 starts it paused.
    pub rate: f64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            prefix: "gilmour".to_owned(),
            rate: DEFAULT_RATE,
        }
    }
}

/// The running demo: its service engines and the traffic generator.
pub struct Demo {
    services: Vec<Engine>,
    traffic: Traffic,
}

impl Demo {
    /// Connects every service and starts the traffic generator.
    pub async fn start(url: &str, options: DemoOptions) -> Result<Demo, DemoError> {
        let builder = || Engine::builder(url).prefix(&options.prefix).health(true);
        let mut services = Vec::new();
        // Every engine joins `services` as soon as it exists, so that a failure part-way
        // still shuts down the ones already serving.
        let result = start_services(builder, &mut services).await;
        if let Err(error) = result {
            shut_down(&services).await;
            return Err(error.into());
        }
        let generator = match Engine::builder(url).prefix(&options.prefix).connect().await {
            Ok(generator) => generator,
            Err(error) => {
                shut_down(&services).await;
                return Err(error.into());
            }
        };
        services.push(generator.clone());
        let traffic = match Traffic::start(generator, options.rate) {
            Ok(traffic) => traffic,
            Err(error) => {
                shut_down(&services).await;
                return Err(error.into());
            }
        };
        Ok(Demo { services, traffic })
    }

    /// The traffic generator (to change its rate).
    pub fn traffic(&self) -> &Traffic {
        &self.traffic
    }

    /// Stops the traffic, then every service (each removes its health ident).
    pub async fn shutdown(self) {
        self.traffic.stop().await;
        shut_down(&self.services).await;
    }
}

async fn start_services(
    builder: impl Fn() -> EngineBuilder,
    services: &mut Vec<Engine>,
) -> Result<(), EngineError> {
    let basics = builder().connect().await?;
    services.push(basics.clone());
    basics::serve(&basics).await?;

    let words = builder().connect().await?;
    services.push(words.clone());
    wordcount::serve(&words).await?;

    let weather = builder().connect().await?;
    services.push(weather.clone());
    weather::serve(&weather).await?;

    for serves_ads in [false, true] {
        let game = builder().connect().await?;
        services.push(game.clone());
        games::serve_badges(&game).await?;
        if serves_ads {
            games::serve_ads(&game).await?;
        } else {
            games::serve_push(&game).await?;
        }
    }

    let flaky = builder().error_policy(ErrorPolicy::Queue).connect().await?;
    services.push(flaky.clone());
    basics::serve_flaky(&flaky).await?;
    Ok(())
}

async fn shut_down(engines: &[Engine]) {
    for engine in engines {
        if let Err(error) = engine.shutdown().await {
            tracing::warn!(%error, "a demo service did not shut down cleanly");
        }
    }
}
