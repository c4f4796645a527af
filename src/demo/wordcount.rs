//! The word count from the Gilmour talk: fetch a document, split it into words, drop the
//! stop words, count them, and find the most frequent word of three, four and five
//! letters in parallel.
//!
//! ```text
//!   example.fetch | example.words | example.stopfilter | example.count
//!       | [example.popular3, example.popular4, example.popular5]
//! ```

use crate::engine::{Engine, EngineError, HandlerOptions, Reply, Request};
use crate::protocol::Code;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The word-count pipeline, in the composition syntax.
pub const WORD_COUNT: &str = "example.fetch | example.words | example.stopfilter | \
                              example.count | [example.popular3, example.popular4, example.popular5]";

/// What `example.fetch` returns for any URL: the demo has no network.
const DOCUMENT: &str = include_str!("../../assets/demo/gettysburg.txt");

/// Words too common to count.
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "for", "from", "have", "in",
    "is", "it", "nor", "not", "of", "on", "or", "our", "so", "that", "the", "these", "they",
    "this", "those", "to", "us", "we", "what", "which", "who", "will", "with",
];

/// Serves every step of the word count on `engine`.
pub async fn serve(engine: &Engine) -> Result<(), EngineError> {
    let options = HandlerOptions::default;
    engine
        .reply_to("example.fetch", options(), |_request: Request| async {
            Reply::ok(DOCUMENT)
        })
        .await?;
    engine
        .reply_to("example.words", options(), |request: Request| async move {
            Reply::ok(words(request.data()))
        })
        .await?;
    engine
        .reply_to(
            "example.stopfilter",
            options(),
            |request: Request| async move { Reply::ok(without_stop_words(request.data())) },
        )
        .await?;
    engine
        .reply_to("example.count", options(), |request: Request| async move {
            Reply::json(&count(request.data()))
        })
        .await?;
    for length in [3, 4, 5] {
        engine
            .reply_to(
                &format!("example.popular{length}"),
                options(),
                move |request: Request| async move { popular(request.data(), length) },
            )
            .await?;
    }
    Ok(())
}

/// The lowercase words of a text (anything that is not a letter separates words).
fn words(text: &Value) -> Vec<String> {
    text.as_str()
        .unwrap_or_default()
        .split(|c: char| !c.is_alphabetic())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn without_stop_words(words: &Value) -> Vec<Value> {
    words
        .as_array()
        .into_iter()
        .flatten()
        .filter(|word| !STOP_WORDS.contains(&word.as_str().unwrap_or_default()))
        .cloned()
        .collect()
}

fn count(words: &Value) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for word in words
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        *counts.entry(word.to_owned()).or_default() += 1;
    }
    counts
}

/// The most frequent word of `length` letters (the first alphabetically among equals).
fn popular(counts: &Value, length: usize) -> Reply {
    let best = counts
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(word, _)| word.chars().count() == length)
        .filter_map(|(word, count)| Some((word, count.as_u64()?)))
        .max_by(|(a, m), (b, n)| m.cmp(n).then(b.cmp(a)));
    match best {
        Some((word, count)) => Reply::ok(json!({"word": word, "count": count})),
        None => Reply::with_code(Code::NOT_FOUND, format!("no word of {length} letters")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_split_filter_count_and_pick() {
        let split = words(&json!("The cat -- the CAT's hat; a dog."));
        assert_eq!(split, ["the", "cat", "the", "cat", "s", "hat", "a", "dog"]);
        let kept = without_stop_words(&json!(split));
        assert_eq!(
            kept,
            [
                json!("cat"),
                json!("cat"),
                json!("s"),
                json!("hat"),
                json!("dog")
            ]
        );
        let counts = count(&json!(kept));
        assert_eq!(counts["cat"], 2);
        let counts = json!(counts);
        assert_eq!(popular(&counts, 3).data, json!({"word": "cat", "count": 2}));
        assert_eq!(popular(&counts, 9).code, Code::NOT_FOUND);
        let tie = json!({"war": 2, "far": 2, "men": 1});
        assert_eq!(popular(&tie, 3).data, json!({"word": "far", "count": 2}));
    }
}
