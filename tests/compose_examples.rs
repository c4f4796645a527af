//! The examples of the Gilmour talk as compositions, against both backends, a real
//! redis-server and the built-in broker: the word count (a pipe into a parallel step) and
//! the weather report (parallel steps, batches and recorded batches with merged units).

mod support;

on_both_backends! {
    word_count_from_the_talk,
    weather_parallel_and_batches_with_merged_units,
}

use gilmour::engine::Reply;
use gilmour::protocol::Code;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use support::compose::{Services, tree};
use support::{Backend, on_both_backends};

/// The services of the word count in the Gilmour talk.
async fn word_count_services(services: &Services) {
    services
        .serve("example.fetch", |data| match data["document"].as_str() {
            Some("nature") => Reply::ok(
                "The cat sat on the mat and the cat ran; a bird and a bird sang to the cat. \
                 Small birds nest in green trees, green trees sway, green birds sing.",
            ),
            _ => Reply::with_code(Code::NOT_FOUND, "no such document"),
        })
        .await;
    services
        .serve("example.words", |data| {
            let text = data.as_str().unwrap_or_default().to_lowercase();
            let words: Vec<&str> = text
                .split(|c: char| !c.is_alphabetic())
                .filter(|word| !word.is_empty())
                .collect();
            Reply::ok(words)
        })
        .await;
    services
        .serve("example.stopfilter", |data| {
            const STOP: [&str; 7] = ["the", "a", "and", "on", "to", "in", "of"];
            let words: Vec<Value> = data
                .as_array()
                .into_iter()
                .flatten()
                .filter(|word| !STOP.contains(&word.as_str().unwrap_or_default()))
                .cloned()
                .collect();
            Reply::ok(words)
        })
        .await;
    services
        .serve("example.count", |data| {
            let mut counts = BTreeMap::<String, u64>::new();
            for word in data.as_array().into_iter().flatten() {
                *counts
                    .entry(word.as_str().unwrap_or_default().to_owned())
                    .or_default() += 1;
            }
            Reply::json(&counts)
        })
        .await;
    for length in [3, 4, 5] {
        services
            .serve(&format!("example.popular{length}"), move |data| {
                let counts: BTreeMap<String, u64> =
                    serde_json::from_value(data).unwrap_or_default();
                // Most frequent first; among equals, the first in alphabetical order.
                let best = counts
                    .into_iter()
                    .filter(|(word, _)| word.chars().count() == length)
                    .max_by(|(a, m), (b, n)| m.cmp(n).then(b.cmp(a)));
                match best {
                    Some((word, count)) => Reply::ok(json!({"word": word, "count": count})),
                    None => Reply::with_code(Code::NOT_FOUND, "no word of that length"),
                }
            })
            .await;
    }
}

async fn word_count_from_the_talk(backend: Backend) {
    let mut services = Services::start(backend).await;
    word_count_services(&services).await;
    let composition = tree(
        "example.fetch | example.words | example.stopfilter | example.count | \
         [example.popular3, example.popular4, example.popular5]",
    );

    let outcome = services
        .run(&composition, json!({"document": "nature"}))
        .await;
    assert_eq!(outcome.code, Code::OK, "{:?}", outcome.data);
    assert_eq!(
        outcome.data,
        json!([
            {"word": "cat", "count": 3},
            {"word": "bird", "count": 2},
            {"word": "green", "count": 3},
        ])
    );
    let mut called = services.called();
    called[4..].sort();
    assert_eq!(
        called,
        [
            "example.fetch",
            "example.words",
            "example.stopfilter",
            "example.count",
            "example.popular3",
            "example.popular4",
            "example.popular5"
        ]
    );

    // A failure early in the pipe never reaches the parallel part.
    let outcome = services
        .run(&composition, json!({"document": "missing"}))
        .await;
    assert_eq!(
        (outcome.code, outcome.data),
        (Code::NOT_FOUND, json!("no such document"))
    );
    assert_eq!(services.called(), ["example.fetch"]);
}

/// Temperatures in °F per city, converted to °C when the merged input says `"unit": "C"`.
fn extreme(data: &Value, pick: fn(&[i64]) -> Option<i64>) -> Reply {
    let celsius = data["unit"] == "C";
    let mut result = Map::new();
    for (city, temps) in data["by_city"].as_object().into_iter().flatten() {
        let temps: Vec<i64> = temps
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_i64)
            .collect();
        if let Some(f) = pick(&temps) {
            let value = if celsius { (f - 32) * 5 / 9 } else { f };
            result.insert(city.clone(), json!(value));
        }
    }
    Reply::ok(result)
}

async fn weather_parallel_and_batches_with_merged_units(backend: Backend) {
    let mut services = Services::start(backend).await;
    services
        .serve("weather.fetch", |_| {
            Reply::ok(json!([
                {"city": "Pune", "temp_f": 95},
                {"city": "Oslo", "temp_f": 41},
                {"city": "Pune", "temp_f": 77},
                {"city": "Oslo", "temp_f": 50},
            ]))
        })
        .await;
    services
        .serve("weather.group", |data| {
            let mut by_city = BTreeMap::<String, Vec<i64>>::new();
            for reading in data.as_array().into_iter().flatten() {
                let city = reading["city"].as_str().unwrap_or_default().to_owned();
                let temp = reading["temp_f"].as_i64().unwrap_or_default();
                by_city.entry(city).or_default().push(temp);
            }
            Reply::ok(json!({ "by_city": by_city }))
        })
        .await;
    services
        .serve("weather.min", |data| {
            extreme(&data, |t| t.iter().copied().min())
        })
        .await;
    services
        .serve("weather.max", |data| {
            extreme(&data, |t| t.iter().copied().max())
        })
        .await;

    let outcome = services
        .run(
            &tree(r#"weather.fetch | weather.group | [weather.min, weather.max {"unit": "C"}]"#),
            json!({"region": "any"}),
        )
        .await;
    assert_eq!(outcome.code, Code::OK, "{:?}", outcome.data);
    assert_eq!(
        outcome.data,
        json!([{"Oslo": 41, "Pune": 77}, {"Oslo": 10, "Pune": 35}])
    );

    let outcome = services
        .run(
            &tree(
                r#"weather.fetch | weather.group | record(weather.min {"unit": "C"} ; weather.max)"#,
            ),
            json!(null),
        )
        .await;
    assert_eq!(outcome.code, Code::OK);
    assert_eq!(
        outcome.data,
        json!([{"Oslo": 5, "Pune": 25}, {"Oslo": 50, "Pune": 95}])
    );
    services.calls();

    let outcome = services
        .run(
            &tree(r#"weather.fetch | weather.group | (weather.min ; weather.max {"unit": "C"})"#),
            json!(null),
        )
        .await;
    assert_eq!(outcome.data, json!({"Oslo": 10, "Pune": 35}));
    let calls = services.calls();
    let grouped = json!({"by_city": {"Oslo": [41, 50], "Pune": [95, 77]}});
    assert_eq!(calls[2], ("weather.min".to_owned(), grouped.clone()));
    let mut merged = grouped;
    merged["unit"] = json!("C");
    assert_eq!(calls[3], ("weather.max".to_owned(), merged));
}
