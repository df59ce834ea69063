//! Malformed requests: each gets a 4xx with a message saying what is wrong, never a 5xx, and the
//! node keeps serving.

mod support;

use support::*;

/// A request, the status it must get and a part of the message it must carry.
struct Case {
    path: &'static str,
    body: String,
    status: u16,
    message: &'static str,
}

fn case(path: &'static str, body: impl Into<String>, status: u16, message: &'static str) -> Case {
    Case {
        path,
        body: body.into(),
        status,
        message,
    }
}

fn rows(n: usize) -> String {
    serde_json::json!({ "data": records(&air(), n, "a") }).to_string()
}

#[test]
fn malformed_requests_get_clear_4xx_answers() {
    let store = sqlite_store();
    publish(&store.url, &fitted(1), "air", &["production"]);
    let node = Node::start(&store.url, |c| {
        c.max_body_bytes = 256 << 10;
        c.max_series = 50;
    });
    let forecast = "/v1/models/air/forecast";
    let many_series: Vec<serde_json::Value> = (0..1000)
        .map(|i| serde_json::json!({ "unique_id": i, "ds": 1, "y": 1.0 }))
        .collect();
    let mut cases = vec![
        case(
            forecast,
            "{",
            400,
            "the request body is not valid: EOF while parsing",
        ),
        case(
            forecast,
            "[1,2]",
            400,
            "the request body must be a JSON object",
        ),
        case(
            forecast,
            "null",
            400,
            "the request body must be a JSON object",
        ),
        case(forecast, r#"{"dta":[]}"#, 400, "unknown field `dta`"),
        case(
            forecast,
            r#"{"version":"one"}"#,
            400,
            "invalid type: string \"one\", expected i64",
        ),
        case(
            forecast,
            r#"{"version":1,"alias":"production"}"#,
            400,
            "either 'version' or 'alias'",
        ),
        case(
            forecast,
            r#"{"level":[NaN]}"#,
            400,
            "the request body is not valid",
        ),
        case(
            forecast,
            r#"{"format":"table"}"#,
            400,
            "unknown variant `table`",
        ),
        case(forecast, r#"{"data":5}"#, 400, "data must be records"),
        case(forecast, r#"{"data":[]}"#, 400, "data"),
        case(
            forecast,
            r#"{"data":[7]}"#,
            400,
            "data: row 1 is not an object",
        ),
        case(
            forecast,
            r#"{"data":[{"unique_id":"a","ds":"1960-01-01"}]}"#,
            400,
            "data: row 1 has no 'y'",
        ),
        case(
            forecast,
            r#"{"data":[{"unique_id":"a","ds":"1960-01-01","y":"12"}]}"#,
            400,
            "column 'y' must be a number, got \"12\"",
        ),
        case(
            forecast,
            r#"{"data":[{"unique_id":"a","ds":"1960-01-01","y":null}]}"#,
            400,
            "column 'y' must be a number, got null",
        ),
        case(
            forecast,
            r#"{"data":[{"unique_id":"a","ds":"last tuesday","y":1}]}"#,
            400,
            "ds \"last tuesday\" is neither an integer nor a date",
        ),
        case(
            forecast,
            r#"{"data":[{"unique_id":null,"ds":1,"y":1}]}"#,
            400,
            "unique_id must be a string or a number",
        ),
        case(
            forecast,
            r#"{"data":{"unique_id":["a","a"],"ds":[1],"y":[1,2]}}"#,
            400,
            "column 'ds' has 1 values for 2 rows",
        ),
        case(
            forecast,
            r#"{"data":{"unique_id":"a","ds":[1],"y":[1]}}"#,
            400,
            "column 'unique_id' is not an array",
        ),
        case(
            forecast,
            r#"{"data":[{"unique_id":"a","ds":1,"y":1},{"unique_id":"a","ds":1,"y":2}]}"#,
            400,
            "invalid data",
        ),
        case(
            forecast,
            r#"{"futr_data":[{"unique_id":"a"}]}"#,
            400,
            "futr_data: row 1 has no 'ds'",
        ),
        case(forecast, r#"{"level":[120]}"#, 400, "invalid configuration"),
        case(
            forecast,
            serde_json::json!({ "data": many_series }).to_string(),
            413,
            "1000 series in one request; this server takes at most 50",
        ),
        case(
            forecast,
            format!("{{\"data\":\"{}\"}}", "x".repeat(300 << 10)),
            413,
            "larger than this server takes",
        ),
        case(
            "/v1/models/nothing/forecast",
            "{}",
            404,
            "no model named 'nothing'",
        ),
        case(forecast, r#"{"version":9}"#, 404, "version 9"),
        case(forecast, r#"{"alias":"staging"}"#, 404, "staging"),
        case(forecast, r#"{"alias":"bad alias!"}"#, 400, "alias"),
        case("/v1/models/bad%20name!/forecast", "{}", 400, "name"),
        case("/v2/forecast", "{}", 404, "no route POST /v2/forecast"),
    ];
    // A short series still forecasts (padded) or is refused with a data error, never a 5xx.
    cases.push(case(forecast, rows(3), 0, ""));
    let tried = cases.len();
    for c in &cases {
        let reply = post(&node.base, c.path, &c.body, "application/json");
        let shown = &c.body[..c.body.len().min(120)];
        assert!(
            reply.status < 500,
            "{shown}: {} {}",
            reply.status,
            reply.body
        );
        if c.status == 0 {
            continue;
        }
        assert_eq!(reply.status, c.status, "{shown}: {}", reply.body);
        assert!(
            reply.message().contains(c.message),
            "{shown}: expected '{}' in '{}'",
            c.message,
            reply.message()
        );
    }
    assert_eq!(get(&node.base, "/v1/models/air/forecast").status, 405);
    assert_eq!(get(&node.base, "/v1/models/nothing").status, 404);
    let after = post(&node.base, forecast, "{}", "application/json");
    assert_eq!(
        after.status, 200,
        "the node keeps serving after {tried} bad requests"
    );
    let metrics = get(&node.base, "/metrics").body;
    assert!(
        metrics.contains(r#"nd_errors_total{kind="bad_request"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"nd_errors_total{kind="not_found"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"nd_errors_total{kind="too_large"}"#),
        "{metrics}"
    );
}
