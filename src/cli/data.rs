//! Reading request data from the command line.

use serde_json::Value;
use std::io::Read;

/// Reads a DATA argument: JSON when it parses, otherwise the text as a JSON string (so a
/// bare word needs no quotes); `-` reads standard input the same way; none is `null`.
pub fn parse(argument: Option<&str>) -> anyhow::Result<Value> {
    let text = match argument {
        None => return Ok(Value::Null),
        Some("-") => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text)?;
            text
        }
        Some(text) => text.to_owned(),
    };
    Ok(from_text(&text))
}

/// JSON when the text parses, otherwise the text (without its trailing newline) as a
/// JSON string.
pub fn from_text(text: &str) -> Value {
    serde_json::from_str(text)
        .unwrap_or_else(|_| Value::String(text.strip_suffix('\n').unwrap_or(text).to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_or_bare_words() {
        assert_eq!(parse(Some("hello")).expect("word"), json!("hello"));
        assert_eq!(parse(Some(r#"{"a":1}"#)).expect("json"), json!({"a": 1}));
        assert_eq!(parse(Some("42")).expect("number"), json!(42));
        assert_eq!(
            parse(Some("hello world")).expect("words"),
            json!("hello world")
        );
        assert_eq!(parse(None).expect("none"), Value::Null);
        assert_eq!(from_text("out\n"), json!("out"));
    }
}
