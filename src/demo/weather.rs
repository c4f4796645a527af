//! The weather batch from the Gilmour talk: fetch readings, group them by city, then the
//! lowest and highest temperature per city, in °C (each step gets `{"unit": "C"}`
//! merged into its input).

use crate::engine::{Engine, EngineError, HandlerOptions, Reply, Request};
use crate::protocol::Code;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The weather batch, in the composition syntax: a pipe into a recorded batch, which
/// answers with the outputs of both steps.
pub const WEATHER: &str = r#"weather.fetch | weather.group | record(weather.min {"unit": "C"} ; weather.max {"unit": "C"})"#;

/// What `weather.fetch` returns: readings of `{"city", "day", "temp_f"}`.
const READINGS: &str = include_str!("../../assets/demo/weather.json");

/// Serves every step of the weather batch on `engine`.
pub async fn serve(engine: &Engine) -> Result<(), EngineError> {
    let readings: Value = serde_json::from_str(READINGS).unwrap_or_else(|error| {
        // The file is part of the binary: a broken one is a build mistake the demo test
        // catches, not something to crash on.
        json!(format!("assets/demo/weather.json is not JSON: {error}"))
    });
    let options = HandlerOptions::default;
    engine
        .reply_to("weather.fetch", options(), move |_request: Request| {
            let readings = readings.clone();
            async move {
                if readings.is_array() {
                    Reply::ok(readings)
                } else {
                    Reply::with_code(Code::INTERNAL, readings)
                }
            }
        })
        .await?;
    engine
        .reply_to("weather.group", options(), |request: Request| async move {
            Reply::ok(json!({ "by_city": group(request.data()) }))
        })
        .await?;
    engine
        .reply_to("weather.min", options(), |request: Request| async move {
            extreme(request.data(), |temps| temps.iter().copied().min())
        })
        .await?;
    engine
        .reply_to("weather.max", options(), |request: Request| async move {
            extreme(request.data(), |temps| temps.iter().copied().max())
        })
        .await?;
    Ok(())
}

fn group(readings: &Value) -> BTreeMap<String, Vec<i64>> {
    let mut by_city = BTreeMap::<String, Vec<i64>>::new();
    for reading in readings.as_array().into_iter().flatten() {
        if let (Some(city), Some(temp)) = (reading["city"].as_str(), reading["temp_f"].as_i64()) {
            by_city.entry(city.to_owned()).or_default().push(temp);
        }
    }
    by_city
}

/// One temperature per city out of `{"by_city": {city: [°F…]}, "unit": "C"|"F"}`.
fn extreme(input: &Value, pick: fn(&[i64]) -> Option<i64>) -> Reply {
    let Some(by_city) = input["by_city"].as_object() else {
        return Reply::with_code(Code::BAD_REQUEST, "expected {\"by_city\": {…}}");
    };
    let celsius = input["unit"] == "C";
    let mut result = Map::new();
    for (city, temps) in by_city {
        let temps: Vec<i64> = temps
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_i64)
            .collect();
        if let Some(fahrenheit) = pick(&temps) {
            // Any integer can come over the wire: convert without overflowing.
            let value = if celsius {
                ((fahrenheit as f64 - 32.0) * 5.0 / 9.0).floor() as i64
            } else {
                fahrenheit
            };
            result.insert(city.clone(), json!(value));
        }
    }
    Reply::ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_readings_group_by_city() {
        let readings: Value = serde_json::from_str(READINGS).expect("weather.json");
        let by_city = group(&readings);
        assert_eq!(by_city["Oslo"], [41, 50, 32]);
        let input = json!({"by_city": by_city, "unit": "C"});
        let lowest = extreme(&input, |temps| temps.iter().copied().min());
        assert_eq!(lowest.data["Oslo"], 0);
        let highest = extreme(&json!({"by_city": {"X": [1, 9]}}), |t| {
            t.iter().copied().max()
        });
        assert_eq!(highest.data, json!({"X": 9}));
        assert_eq!(extreme(&json!(3), |_| None).code, Code::BAD_REQUEST);
    }

    #[test]
    fn any_integer_from_the_wire_converts_without_overflow() {
        let input = json!({"by_city": {"X": [i64::MAX], "Y": [i64::MIN], "Z": [-40]}, "unit": "C"});
        let converted = extreme(&input, |temps| temps.first().copied());
        assert_eq!(converted.code, Code::OK);
        assert_eq!(converted.data["Z"], -40);
        assert!(converted.data["X"].as_i64().is_some_and(|c| c > 0));
    }
}
