//! Tests of the parser and printer: examples, error messages, and property tests that
//! printing then parsing gives the same tree.

use super::*;
use proptest::prelude::*;
use serde_json::{Value, json};

fn s(topic: &str) -> Composition {
    Composition::step(topic)
}

fn with(topic: &str, value: Value) -> Composition {
    match value {
        Value::Object(map) => Step::new(topic).with(map).into(),
        other => panic!("test helper needs an object, got {other}"),
    }
}

fn ok(input: &str) -> Composition {
    match parse(input) {
        Ok(tree) => tree,
        Err(error) => panic!("{input:?} should parse:\n{error}"),
    }
}

fn err(input: &str) -> (String, usize) {
    match parse(input) {
        Ok(tree) => panic!("{input:?} should fail, parsed as {tree:?}"),
        Err(error) => (error.message, error.column),
    }
}

/// Parsing, and printing then parsing again, both give `expected`.
fn check(input: &str, expected: &Composition) {
    assert_eq!(&ok(input), expected, "parsing {input:?}");
    let printed = expected.to_string();
    assert_eq!(&ok(&printed), expected, "re-parsing {printed:?}");
}

#[test]
fn single_topic() {
    check("echo", &s("echo"));
    check("  a.b-c_d:e9  ", &s("a.b-c_d:e9"));
}

#[test]
fn each_operator() {
    check("a | b | c", &Composition::pipe([s("a"), s("b"), s("c")]));
    check("a|b", &Composition::pipe([s("a"), s("b")]));
    check("a && b", &Composition::and_and([s("a"), s("b")]));
    check("a||b||c", &Composition::or_or([s("a"), s("b"), s("c")]));
    check("a ; b ; c", &Composition::batch([s("a"), s("b"), s("c")]));
    check(
        "record(a ; b ; c)",
        &Composition::recorded_batch([s("a"), s("b"), s("c")]),
    );
    check(
        "[a, b, c]",
        &Composition::parallel([s("a"), s("b"), s("c")]),
    );
    check("[a]", &Composition::parallel([s("a")]));
    check("[ ]", &Composition::parallel([]));
}

#[test]
fn precedence() {
    let (a, b, c, d) = (s("a"), s("b"), s("c"), s("d"));
    check(
        "a && b || c",
        &Composition::or_or([Composition::and_and([a.clone(), b.clone()]), c.clone()]),
    );
    check(
        "a || b && c",
        &Composition::and_and([Composition::or_or([a.clone(), b.clone()]), c.clone()]),
    );
    check(
        "a && b && c || d",
        &Composition::or_or([
            Composition::and_and([a.clone(), b.clone(), c.clone()]),
            d.clone(),
        ]),
    );
    check(
        "a | b && c | d",
        &Composition::and_and([
            Composition::pipe([a.clone(), b.clone()]),
            Composition::pipe([c.clone(), d.clone()]),
        ]),
    );
    check(
        "a ; b && c ; d | a",
        &Composition::batch([
            a.clone(),
            Composition::and_and([b.clone(), c.clone()]),
            Composition::pipe([d.clone(), a.clone()]),
        ]),
    );
    check(
        "a && (b || c)",
        &Composition::and_and([a.clone(), Composition::or_or([b.clone(), c.clone()])]),
    );
    check(
        "(a ; b) | c",
        &Composition::pipe([Composition::batch([a.clone(), b.clone()]), c.clone()]),
    );
    check(
        "[a ; b, c | d]",
        &Composition::parallel([Composition::batch([a, b]), Composition::pipe([c, d])]),
    );
}

#[test]
fn chains_flatten_but_groups_nest() {
    let (a, b, c) = (s("a"), s("b"), s("c"));
    check(
        "(a | b) | c",
        &Composition::pipe([Composition::pipe([a.clone(), b.clone()]), c.clone()]),
    );
    check(
        "a | (b | c)",
        &Composition::pipe([a.clone(), Composition::pipe([b.clone(), c.clone()])]),
    );
    check(
        "(a && b) && c",
        &Composition::and_and([Composition::and_and([a.clone(), b.clone()]), c.clone()]),
    );
    check(
        "a ; (b ; c)",
        &Composition::batch([a.clone(), Composition::batch([b.clone(), c.clone()])]),
    );
    check("((a))", &a);
    assert_eq!(
        Composition::pipe([Composition::pipe([a.clone(), b.clone()]), c.clone()]).to_string(),
        "(a | b) | c"
    );
    assert_eq!(
        Composition::or_or([Composition::and_and([a.clone(), b.clone()]), c.clone()]).to_string(),
        "a && b || c"
    );
    assert_eq!(
        Composition::and_and([a, Composition::or_or([b, c])]).to_string(),
        "a && (b || c)"
    );
}

#[test]
fn function_forms() {
    let (a, b, c) = (s("a"), s("b"), s("c"));
    check("pipe(a, b)", &Composition::pipe([a.clone(), b.clone()]));
    check("pipe(a)", &Composition::pipe([a.clone()]));
    check("pipe()", &Composition::pipe([]));
    check(
        "andand (a, b)",
        &Composition::and_and([a.clone(), b.clone()]),
    );
    check("oror(a)", &Composition::or_or([a.clone()]));
    check(
        "batch(a, b | c)",
        &Composition::batch([a.clone(), Composition::pipe([b.clone(), c.clone()])]),
    );
    check(
        "parallel(a ; b)",
        &Composition::parallel([Composition::batch([a.clone(), b.clone()])]),
    );
    check(
        "record(a, b)",
        &Composition::recorded_batch([a.clone(), b.clone()]),
    );
    check("record(a)", &Composition::recorded_batch([a.clone()]));
    check("record()", &Composition::recorded_batch([]));
    check(
        "record((a ; b))",
        &Composition::recorded_batch([Composition::batch([a.clone(), b.clone()])]),
    );
    check(
        "record(a ; b, c)",
        &Composition::recorded_batch([Composition::batch([a.clone(), b.clone()]), c.clone()]),
    );
    // A keyword not followed by `(` is a topic.
    check(
        "pipe | record",
        &Composition::pipe([s("pipe"), s("record")]),
    );
    check("batch {\"n\": 1}", &with("batch", json!({"n": 1})));
    assert_eq!(Composition::pipe([a.clone()]).to_string(), "pipe(a)");
    assert_eq!(Composition::parallel([]).to_string(), "parallel()");
    assert_eq!(
        Composition::recorded_batch([a, b, c]).to_string(),
        "record(a ; b ; c)"
    );
}

#[test]
fn with_objects() {
    check("a {}", &with("a", json!({})));
    check(
        r#"a {"x": [1, {"y": "|]) ;"}], "s": "a, b"} | b"#,
        &Composition::pipe([
            with("a", json!({"x": [1, {"y": "|]) ;"}], "s": "a, b"})),
            s("b"),
        ]),
    );
    check(
        "[a {\"k\": \")\"}, b{\"k\":\"]\"}]",
        &Composition::parallel([with("a", json!({"k": ")"})), with("b", json!({"k": "]"}))]),
    );
    check(
        "a\n{\n\"multi\": \"line\"\n}",
        &with("a", json!({"multi": "line"})),
    );
    assert_eq!(
        with("a", json!({"unit": "C", "n": 2})).to_string(),
        r#"a {"n":2,"unit":"C"}"#
    );
}

#[test]
fn examples_from_the_talk() {
    check(
        "example.fetch | example.words | example.stopfilter | example.count | \
         [example.popular3, example.popular4, example.popular5]",
        &Composition::pipe([
            s("example.fetch"),
            s("example.words"),
            s("example.stopfilter"),
            s("example.count"),
            Composition::parallel([
                s("example.popular3"),
                s("example.popular4"),
                s("example.popular5"),
            ]),
        ]),
    );
    let weather = r#"weather.fetch | weather.group | [weather.min, weather.max {"unit": "C"}]"#;
    let tree = Composition::pipe([
        s("weather.fetch"),
        s("weather.group"),
        Composition::parallel([s("weather.min"), with("weather.max", json!({"unit": "C"}))]),
    ]);
    check(weather, &tree);
    assert_eq!(
        tree.to_string(),
        r#"weather.fetch | weather.group | [weather.min, weather.max {"unit":"C"}]"#
    );
    assert_eq!(
        tree.topics().collect::<Vec<_>>(),
        [
            "weather.fetch",
            "weather.group",
            "weather.min",
            "weather.max"
        ]
    );
}

#[test]
fn error_messages_and_columns() {
    let cases: &[(&str, &str, usize)] = &[
        ("", "empty composition: expected a topic", 1),
        ("   ", "empty composition: expected a topic", 4),
        ("fetch | words |", "expected a topic after '|'", 16),
        ("a && ", "expected a topic after '&&'", 6),
        ("a || ;", "expected a topic after '||'", 6),
        ("a ; ", "expected a topic after ';'", 5),
        ("[a, ]", "expected a topic after ','", 5),
        ("()", "expected a topic after '('", 2),
        ("| a", "expected a topic before '|'", 1),
        ("a | (b", "unclosed '(' opened at column 5", 7),
        (
            "x [a, b",
            "expected an operator ('|', '&&', '||' or ';') before '['",
            3,
        ),
        ("  [a, b", "unclosed '[' opened at column 3", 8),
        ("pipe(a", "unclosed '(' opened at column 5", 7),
        ("a)", "unexpected ')'", 2),
        ("[a]]", "unexpected ']'", 4),
        ("a, b", "unexpected ','", 2),
        ("(a]", "expected ')' to close the '(' opened at column 1", 3),
        (
            "[a)",
            "expected ',' or ']' to close the '[' opened at column 1",
            3,
        ),
        (
            "a b",
            "expected an operator ('|', '&&', '||' or ';') before 'b'",
            3,
        ),
        ("a & b", "expected '&&' but found a single '&'", 3),
        (
            "echo* | b",
            "unexpected character '*' (a topic is letters, digits, '.', '_', '-' and ':')",
            5,
        ),
        (
            "a | é1*",
            "unexpected character '*' (a topic is letters, digits, '.', '_', '-' and ':')",
            7,
        ),
        ("a [1, 2]", "'with' must be a JSON object, not an array", 3),
        ("a \"x\"", "'with' must be a JSON object, not a string", 3),
        ("a 42", "'with' must be a JSON object, not a number", 3),
        ("a true", "'with' must be a JSON object, not a boolean", 3),
        (
            "a {\"k\" 1}",
            "invalid JSON after the topic: expected `:`",
            8,
        ),
        (
            "a {\"k\": 1",
            "invalid JSON after the topic: EOF while parsing an object",
            10,
        ),
        (
            "a {\n\"k\": x}",
            "invalid JSON after the topic: expected value",
            10,
        ),
        (
            "a {} {}",
            "expected an operator ('|', '&&', '||' or ';') before '{'",
            6,
        ),
        (
            "(a) {}",
            "expected an operator ('|', '&&', '||' or ';') before '{'",
            5,
        ),
    ];
    for &(input, message, column) in cases {
        assert_eq!(err(input), (message.to_owned(), column), "input {input:?}");
    }
}

#[test]
fn error_display_shows_a_caret() {
    let error = parse("fetch | words |").unwrap_err();
    assert_eq!(
        error.to_string(),
        "expected a topic after '|' at column 16\n  fetch | words |\n                 ^"
    );
    let error = parse("a\t| (").unwrap_err();
    assert_eq!(
        error.to_string(),
        "expected a topic after '(' at column 6\n  a | (\n       ^"
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("{}a{}", "(".repeat(10_000), ")".repeat(10_000));
    assert_eq!(
        err(&deep),
        (format!("nested deeper than {MAX_DEPTH} levels"), 129)
    );
    let fine = format!("{}a{}", "[".repeat(100), "]".repeat(100));
    assert!(parse(&fine).is_ok());
}

#[test]
fn lambdas_print_but_do_not_parse_back() {
    let lambda: Composition = Lambda::sync("upper", |message| message).into();
    let tree = Composition::pipe([s("a"), Composition::parallel([lambda.clone(), s("b")])]);
    let printed = tree.to_string();
    assert_eq!(printed, "a | [<lambda upper>, b]");
    let message = "lambdas have no text form: `<lambda …>` stands for a Rust function \
                   and cannot be parsed"
        .to_owned();
    assert_eq!(err(&printed), (message.clone(), 6));
    assert_eq!(err(&lambda.to_string()), (message.clone(), 1));
    assert_eq!(err("a <lambda upper>"), (message, 3));
}

#[test]
fn from_str_is_parse() {
    assert_eq!("a | b".parse::<Composition>(), parse("a | b"));
}

fn arb_json(depth: u32) -> impl Strategy<Value = Value> {
    // No floats: serde_json's default float parsing may be off by one ulp, which
    // would make the round trip fail for reasons unrelated to this parser.
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[a-z |\\])(\"\\\\,;{}]{0,6}".prop_map(Value::from),
    ];
    leaf.prop_recursive(depth, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
            prop::collection::btree_map("[a-z|\\]]{0,3}", inner, 0..3)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn arb_topic() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z0-9._:-]{1,10}",
        1 => prop::sample::select(vec!["pipe", "andand", "oror", "batch", "parallel", "record"])
            .prop_map(str::to_owned),
        1 => "[éß0-9]{1,3}",
    ]
}

fn arb_step() -> impl Strategy<Value = Composition> {
    (
        arb_topic(),
        prop::option::of(prop::collection::btree_map(
            "[a-z\"|]{0,4}",
            arb_json(2),
            0..3,
        )),
    )
        .prop_map(|(topic, with)| {
            let step = Step::new(topic);
            match with {
                Some(map) => step.with(map.into_iter().collect()).into(),
                None => step.into(),
            }
        })
}

fn arb_tree() -> impl Strategy<Value = Composition> {
    arb_step().prop_recursive(4, 48, 4, |inner| {
        let children = prop::collection::vec(inner, 0..4);
        prop_oneof![
            children.clone().prop_map(Composition::Pipe),
            children.clone().prop_map(Composition::AndAnd),
            children.clone().prop_map(Composition::OrOr),
            children.clone().prop_map(Composition::Batch),
            children.clone().prop_map(Composition::RecordedBatch),
            children.prop_map(Composition::Parallel),
        ]
    })
}

proptest! {
    #[test]
    fn printing_then_parsing_gives_the_same_tree(tree in arb_tree()) {
        let printed = tree.to_string();
        prop_assert_eq!(parse(&printed), Ok(tree), "printed as {}", printed);
    }

    #[test]
    fn parse_never_panics_on_arbitrary_text(input in any::<String>()) {
        let _ = parse(&input);
    }

    #[test]
    fn parse_never_panics_on_near_miss_syntax(
        input in "[ab é|&;,()\\[\\]{}\":1*]{0,40}"
    ) {
        if let Err(error) = parse(&input) {
            // The column always points inside the input or just past its end.
            prop_assert!(error.column >= 1 && error.column <= input.chars().count() + 1);
            let _ = error.to_string();
        }
    }
}
