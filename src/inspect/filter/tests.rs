//! Tests of the filter language: every field and operator on fixed subjects, errors
//! with their columns, and print/parse round trips.

use super::*;
use proptest::prelude::*;

struct Subject {
    topic: &'static str,
    code: Option<i64>,
    kind: TraceKind,
    status: TraceStatus,
    sender: &'static str,
    latency: Option<Duration>,
    data: &'static str,
}

impl FilterSubject for Subject {
    fn topic(&self) -> &str {
        self.topic
    }
    fn code(&self) -> Option<i64> {
        self.code
    }
    fn kind(&self) -> TraceKind {
        self.kind
    }
    fn status(&self) -> TraceStatus {
        self.status
    }
    fn sender(&self) -> &str {
        self.sender
    }
    fn latency(&self) -> Option<Duration> {
        self.latency
    }
    fn payload_contains(&self, needle: &Needle) -> bool {
        needle.is_in(self.data.as_bytes())
    }
}

const SUBJECTS: [Subject; 6] = [
    Subject {
        topic: "echo.hello",
        code: Some(200),
        kind: TraceKind::Request,
        status: TraceStatus::Ok,
        sender: "abc123",
        latency: Some(Duration::from_millis(5)),
        data: r#"{"msg":"Hello World"}"#,
    },
    Subject {
        topic: "echo.slow",
        code: Some(500),
        kind: TraceKind::Request,
        status: TraceStatus::Error,
        sender: "abd999",
        latency: Some(Duration::from_millis(1500)),
        data: r#"{"error":"boom (x)"}"#,
    },
    Subject {
        topic: "weather.fetch",
        code: None,
        kind: TraceKind::Request,
        status: TraceStatus::Timeout,
        sender: "xyz",
        latency: None,
        data: r#"{"city":"Paris"}"#,
    },
    Subject {
        topic: "user:created",
        code: None,
        kind: TraceKind::Signal,
        status: TraceStatus::Unanswered,
        sender: "abc777",
        latency: None,
        data: r#"{"name":"a \"b\""}"#,
    },
    Subject {
        topic: "gilmour.health.host1",
        code: Some(200),
        kind: TraceKind::Health,
        status: TraceStatus::Pending,
        sender: "hc",
        latency: Some(Duration::from_micros(100)),
        data: "{}",
    },
    Subject {
        topic: "gilmour.error",
        code: Some(404),
        kind: TraceKind::Error,
        status: TraceStatus::Orphan,
        sender: "abc",
        latency: Some(Duration::from_secs(2)),
        data: r#"{"topic":"echo.slow"}"#,
    },
];

/// The topics of the subjects the filter selects.
fn hits(input: &str) -> Vec<&'static str> {
    let filter = match parse(input) {
        Ok(filter) => filter,
        Err(error) => panic!("{input:?} should parse:\n{error}"),
    };
    let reparsed = parse(&filter.to_string());
    assert_eq!(reparsed.as_ref(), Ok(&filter), "re-parsing {filter}");
    SUBJECTS
        .iter()
        .filter(|subject| filter.matches(*subject))
        .map(|subject| subject.topic)
        .collect()
}

fn err(input: &str) -> (String, usize) {
    match parse(input) {
        Ok(filter) => panic!("{input:?} should fail, parsed as {filter:?}"),
        Err(error) => (error.message, error.column),
    }
}

const ALL: [&str; 6] = [
    "echo.hello",
    "echo.slow",
    "weather.fetch",
    "user:created",
    "gilmour.health.host1",
    "gilmour.error",
];

#[test]
fn empty_matches_everything() {
    assert_eq!(hits(""), ALL);
    assert_eq!(hits("  \t "), ALL);
    assert_eq!(parse(" "), Ok(Filter::all()));
    assert_eq!(Filter::all().to_string(), "");
}

#[test]
fn topic() {
    assert_eq!(hits("topic:echo*"), ["echo.hello", "echo.slow"]);
    assert_eq!(hits("topic:echo"), Vec::<&str>::new());
    assert_eq!(hits("topic:echo.slow"), ["echo.slow"]);
    assert_eq!(hits("topic:echo.???w"), ["echo.slow"]);
    assert_eq!(hits("topic:*.h*"), ["echo.hello", "gilmour.health.host1"]);
    assert_eq!(hits(r"topic:/^gilmour\.(error|x)$/"), ["gilmour.error"]);
    assert_eq!(
        hits("topic:/ea/"),
        ["weather.fetch", "user:created", "gilmour.health.host1"]
    );
    assert_eq!(hits(r#"topic:"user:created""#), ["user:created"]);
    // A glob is anchored and `.` in it is literal.
    assert_eq!(hits("topic:echo.hell"), Vec::<&str>::new());
    assert_eq!(hits("topic:echo?hello"), ["echo.hello"]);
    assert_eq!(hits("topic:ECHO*"), Vec::<&str>::new());
}

#[test]
fn bare_words() {
    assert_eq!(hits("echo"), ["echo.hello", "echo.slow"]);
    assert_eq!(
        hits("ea"),
        ["weather.fetch", "user:created", "gilmour.health.host1"]
    );
    assert_eq!(hits("*.slow"), ["echo.slow"]);
    assert_eq!(hits(r#""user:created""#), ["user:created"]);
    assert_eq!(hits(r#""and""#), Vec::<&str>::new());
}

#[test]
fn code() {
    assert_eq!(hits("code:500"), ["echo.slow"]);
    assert_eq!(hits("code:=200"), ["echo.hello", "gilmour.health.host1"]);
    assert_eq!(hits("code:>=400"), ["echo.slow", "gilmour.error"]);
    assert_eq!(hits("code:>404"), ["echo.slow"]);
    assert_eq!(hits("code:<404"), ["echo.hello", "gilmour.health.host1"]);
    assert_eq!(
        hits("code:<=404"),
        ["echo.hello", "gilmour.health.host1", "gilmour.error"]
    );
    // No code never matches, even `!=`.
    assert_eq!(hits("code:!=200"), ["echo.slow", "gilmour.error"]);
}

#[test]
fn kind_and_status() {
    assert_eq!(
        hits("kind:req"),
        ["echo.hello", "echo.slow", "weather.fetch"]
    );
    assert_eq!(
        hits("kind:slot|health"),
        ["user:created", "gilmour.health.host1"]
    );
    assert_eq!(hits("kind:err"), ["gilmour.error"]);
    assert_eq!(hits("status:ok"), ["echo.hello"]);
    assert_eq!(hits("status:error|timeout"), ["echo.slow", "weather.fetch"]);
    assert_eq!(hits("status:pending"), ["gilmour.health.host1"]);
    assert_eq!(
        hits("status:unanswered|orphan"),
        ["user:created", "gilmour.error"]
    );
    assert_eq!(
        hits(r#"kind:"req|err""#),
        ["echo.hello", "echo.slow", "weather.fetch", "gilmour.error"]
    );
    for kind in TraceKind::ALL {
        assert_eq!(kind.as_str().parse(), Ok(kind));
    }
    for status in TraceStatus::ALL {
        assert_eq!(status.as_str().parse(), Ok(status));
    }
}

#[test]
fn sender_matches_any_part() {
    assert_eq!(
        hits("sender:abc"),
        ["echo.hello", "user:created", "gilmour.error"]
    );
    assert_eq!(
        hits("sender:ab"),
        ["echo.hello", "echo.slow", "user:created", "gilmour.error"]
    );
    assert_eq!(
        hits("sender:bc"),
        ["echo.hello", "user:created", "gilmour.error"],
        "the end of a sender is what lists show"
    );
    assert_eq!(hits("sender:777"), ["user:created"]);
    assert_eq!(hits("sender:qq"), Vec::<&str>::new());
}

#[test]
fn latency() {
    assert_eq!(hits("latency:>100ms"), ["echo.slow", "gilmour.error"]);
    assert_eq!(hits("latency:<=100us"), ["gilmour.health.host1"]);
    assert_eq!(hits("latency:1.5s"), ["echo.slow"]);
    assert_eq!(hits("latency:>=2s"), ["gilmour.error"]);
    assert_eq!(
        hits("latency:!=5ms"),
        ["echo.slow", "gilmour.health.host1", "gilmour.error"]
    );
    assert_eq!(hits("latency:<0.1ms"), Vec::<&str>::new());
    assert_eq!(
        parse("latency:>1.5s").map(|filter| filter.to_string()),
        Ok("latency:>1500ms".to_owned())
    );
    assert_eq!(
        parse("latency:0.0015ms").map(|filter| filter.to_string()),
        Ok("latency:1.5us".to_owned())
    );
}

#[test]
fn data_ignores_ascii_case() {
    assert_eq!(hits("data:hello"), ["echo.hello"]);
    assert_eq!(hits(r#"data:"hello world""#), ["echo.hello"]);
    assert_eq!(hits(r#"data:"boom (x)""#), ["echo.slow"]);
    assert_eq!(hits(r#"data:"a \\\"b""#), ["user:created"]);
    assert_eq!(hits("data:echo.slow"), ["gilmour.error"]);
}

#[test]
fn combinations_and_precedence() {
    assert_eq!(hits("echo and code:500"), ["echo.slow"]);
    let dynamic: &dyn FilterSubject = &SUBJECTS[1];
    assert!(parse("echo.slow").is_ok_and(|filter| filter.matches(dynamic)));
    assert_eq!(hits("echo code:500"), ["echo.slow"]);
    assert_eq!(hits("code:500 or kind:slot"), ["echo.slow", "user:created"]);
    assert_eq!(
        hits("not echo"),
        [
            "weather.fetch",
            "user:created",
            "gilmour.health.host1",
            "gilmour.error"
        ]
    );
    assert_eq!(
        hits("!kind:req !kind:err"),
        ["user:created", "gilmour.health.host1"]
    );
    // not > and > or.
    assert_eq!(
        hits("kind:slot or echo and code:200"),
        ["echo.hello", "user:created"]
    );
    assert_eq!(hits("(kind:slot or echo) and code:200"), ["echo.hello"]);
    assert_eq!(hits("not echo and code:200"), ["gilmour.health.host1"]);
    assert_eq!(hits("not (echo and code:200)").len(), 5);
    assert_eq!(hits("!!echo"), ["echo.hello", "echo.slow"]);
    let tree = |input: &str| parse(input).map(|filter| filter.expr().cloned());
    let test = |word: &str| Expr::Test(Test::Topic(TopicPattern::Contains(word.to_owned())));
    let and = |l, r| Expr::And(Box::new(l), Box::new(r));
    let or = |l, r| Expr::Or(Box::new(l), Box::new(r));
    let (a, b, c) = (test("a"), test("b"), test("c"));
    assert_eq!(
        tree("a or b c"),
        Ok(Some(or(a.clone(), and(b.clone(), c.clone()))))
    );
    assert_eq!(
        tree("a b or c"),
        Ok(Some(or(and(a.clone(), b.clone()), c.clone())))
    );
    assert_eq!(
        tree("a b c"),
        Ok(Some(and(and(a.clone(), b.clone()), c.clone())))
    );
    assert_eq!(
        tree("a (b c)"),
        Ok(Some(and(a.clone(), and(b.clone(), c.clone()))))
    );
    assert_eq!(
        tree("not a b"),
        Ok(Some(and(Expr::Not(Box::new(a.clone())), b.clone())))
    );
    assert_eq!(
        Filter::from(and(a.clone(), or(b.clone(), c.clone()))).to_string(),
        "a and (b or c)"
    );
    assert_eq!(
        Filter::from(Expr::Not(Box::new(or(a, and(b, c))))).to_string(),
        "!(a or b and c)"
    );
}

#[test]
fn canonical_printing() {
    let printed = |input: &str| parse(input).map(|filter| filter.to_string());
    let cases = [
        ("topic:echo*   code:>=400", "topic:echo* and code:>=400"),
        ("not  kind:req|slot", "!kind:req|slot"),
        ("code:=200", "code:200"),
        ("echo*", "topic:echo*"),
        (r#""a b" or "!x""#, r#""a b" or "!x""#),
        (r#"data:"say \"hi\" \\ \n""#, r#"data:"say \"hi\" \\ \\n""#),
        (r#"topic:"/x""#, r#"topic:"/x""#),
        (r"topic:/a\/b (c)/", r"topic:/a\/b (c)/"),
        ("latency:60000ms", "latency:60s"),
    ];
    for (input, expected) in cases {
        assert_eq!(printed(input), Ok(expected.to_owned()), "input {input:?}");
    }
}

#[test]
fn errors_and_columns() {
    let cases: &[(&str, &str, usize)] = &[
        (
            "echo topc:x",
            "unknown field 'topc' (use topic, code, kind, status, sender, latency, data, \
             responder, caller or contenders; quote a topic that contains ':')",
            6,
        ),
        (
            "code:abc",
            "invalid code 'abc': expected a whole number such as 500, after =, !=, <, <=, > or >= if comparing",
            6,
        ),
        (
            "code:>=4x",
            "invalid code '4x': expected a whole number such as 500, after =, !=, <, <=, > or >= if comparing",
            8,
        ),
        (
            "latency:>100h",
            "unknown latency unit 'h' (use us, ms or s)",
            13,
        ),
        ("latency:100", "latency '100' needs a unit: us, ms or s", 12),
        (
            "latency:>ms",
            "invalid latency 'ms': expected a number and a unit, such as 100ms or 1.5s",
            10,
        ),
        (
            "latency:1.0000001ms",
            "invalid latency '1.0000001ms': expected a number and a unit, such as 100ms or 1.5s",
            9,
        ),
        (
            "latency:99999999999999s",
            "invalid latency '99999999999999s': expected a number and a unit, such as 100ms or 1.5s",
            9,
        ),
        (
            "kind:req|foo",
            "unknown kind 'foo' (use req, slot, err, health, gap, other)",
            10,
        ),
        (
            "kind:req|",
            "unknown kind '' (use req, slot, err, health, gap, other)",
            10,
        ),
        (
            r#"status:"ok|bad""#,
            "unknown status 'bad' (use ok, error, timeout, pending, unanswered, orphan)",
            8,
        ),
        ("topic:/a(b/", "invalid regex: unclosed group", 7),
        ("topic:/abc", "unclosed '/' opened at column 7", 11),
        (r#"data:"abc"#, "unclosed '\"' opened at column 6", 10),
        ("topic: echo", "expected a value after 'topic:'", 7),
        ("data:", "expected a value after 'data:'", 6),
        ("(echo", "unclosed '(' opened at column 1", 6),
        ("echo)", "unexpected ')'", 5),
        ("()", "expected a filter after '('", 2),
        ("echo and", "expected a filter after 'and'", 9),
        ("echo or )", "expected a filter after 'or'", 9),
        ("not", "expected a filter after 'not'", 4),
        ("echo !", "expected a filter after '!'", 7),
        ("and echo", "expected a filter before 'and'", 1),
        (")", "unexpected ')'", 1),
    ];
    for &(input, message, column) in cases {
        assert_eq!(err(input), (message.to_owned(), column), "input {input:?}");
    }
    let display = parse("code:>=4x").map_err(|error| error.to_string());
    assert_eq!(
        display,
        Err(
            "invalid code '4x': expected a whole number such as 500, after =, !=, <, <=, > \
             or >= if comparing at column 8\n  code:>=4x\n         ^"
                .to_owned()
        )
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("{}a{}", "(".repeat(10_000), ")".repeat(10_000));
    assert_eq!(
        err(&deep),
        (format!("nested deeper than {MAX_DEPTH} levels"), 129)
    );
    assert_eq!(err(&"!".repeat(10_000)).1, 129);
}

fn arb_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z.:_ ()\"\\\\!/|é-]{0,6}",
        prop::sample::select(vec![
            "and",
            "or",
            "not",
            "root",
            "composition",
            "slow-step",
            "topic:x",
            "!",
            "/a/",
            ""
        ])
        .prop_map(str::to_owned),
    ]
}

/// Text for exact and substring topic tests, which never hold wildcards (the parser
/// reads those as globs).
fn arb_plain_text() -> impl Strategy<Value = String> {
    arb_text().prop_map(|text| text.replace(['*', '?'], ""))
}

fn arb_test() -> impl Strategy<Value = Test> {
    let glob = ("[a-z. ]{0,3}", "[*?]", "[a-z.*?/ \"]{0,3}")
        .prop_map(|(a, b, c)| Pattern::glob(&format!("{a}{b}{c}")).expect("globs always compile"));
    let regex = prop::collection::vec(
        prop::sample::select(vec![
            "a", "b.", "^", "$", "|", r"\/", "(x)", "[)(]", " ", r"\d+", r"\\",
        ]),
        0..5,
    )
    .prop_map(|parts| Pattern::regex(&parts.concat()).expect("the fragments form a valid regex"));
    let comparison = prop::sample::select(vec![
        Comparison::Eq,
        Comparison::Ne,
        Comparison::Lt,
        Comparison::Le,
        Comparison::Gt,
        Comparison::Ge,
    ]);
    prop_oneof![
        arb_plain_text().prop_map(|text| Test::Topic(TopicPattern::Exact(text))),
        arb_plain_text().prop_map(|text| Test::Topic(TopicPattern::Contains(text))),
        glob.prop_map(|pattern| Test::Topic(TopicPattern::Glob(pattern))),
        regex.prop_map(|pattern| Test::Topic(TopicPattern::Regex(pattern))),
        (comparison.clone(), any::<i64>()).prop_map(|(c, code)| Test::Code(c, code)),
        prop::collection::vec(prop::sample::select(TraceKind::ALL.to_vec()), 1..4)
            .prop_map(Test::Kind),
        prop::collection::vec(prop::sample::select(TraceStatus::ALL.to_vec()), 1..4)
            .prop_map(Test::Status),
        arb_text().prop_map(Test::Sender),
        (comparison.clone(), any::<u64>(), 0..4u32).prop_map(|(c, nanos, scale)| {
            // Mostly round values, so every unit gets printed.
            let nanos = nanos / 10u64.pow(3 * scale) * 10u64.pow(3 * scale);
            Test::Latency(c, Duration::from_nanos(nanos))
        }),
        arb_text().prop_map(|text| Test::Data(Needle::new(&text).expect("any text is searchable"))),
        arb_text().prop_map(Test::Responder),
        arb_text().prop_map(Test::Caller),
        (comparison.clone(), any::<i64>()).prop_map(|(c, count)| Test::Contenders(c, count)),
        Just(Test::Root),
        Just(Test::Composition),
        Just(Test::SlowStep),
    ]
}

fn arb_expr() -> impl Strategy<Value = Expr> {
    arb_test()
        .prop_map(Expr::Test)
        .prop_recursive(4, 32, 2, |inner| {
            prop_oneof![
                inner.clone().prop_map(|e| Expr::Not(Box::new(e))),
                (inner.clone(), inner.clone())
                    .prop_map(|(l, r)| Expr::And(Box::new(l), Box::new(r))),
                (inner.clone(), inner).prop_map(|(l, r)| Expr::Or(Box::new(l), Box::new(r))),
            ]
        })
}

proptest! {
    #[test]
    fn printing_then_parsing_gives_the_same_filter(expr in arb_expr()) {
        let filter = Filter::from(expr);
        let printed = filter.to_string();
        prop_assert_eq!(parse(&printed), Ok(filter), "printed as {}", printed);
    }

    #[test]
    fn parse_never_panics_on_arbitrary_text(input in any::<String>()) {
        let _ = parse(&input);
    }

    #[test]
    fn parse_never_panics_on_near_miss_syntax(
        input in "(topic|code|kind|status|sender|latency|data|and|or|not|[a-z!()\" :/\\\\|<>=.0-9*?é]){0,12}"
    ) {
        if let Err(error) = parse(&input) {
            prop_assert!(error.column >= 1 && error.column <= input.chars().count() + 1);
            let _ = error.to_string();
        }
    }
}
