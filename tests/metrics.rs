//! `GET /metrics` (issue 18): what a citizen's submission does to the counters, the request
//! latency by route pattern, who may read it, and that the exposition parses.

use std::collections::HashMap;
use std::net::{IpAddr, UdpSocket};

use crate::common;

use common::{TestApp, TestDatabase, full_answers, test_config};
use sipas::config::MetricsToken;

const XUAN_BAC: &str = "xuan-loc.xuan-bac";
const TOKEN: &str = "metrics-token-of-the-province-0123456789";

/// The samples of an exposition, `name{labels}` → value, after checking every line: `# HELP`,
/// `# TYPE` or `# UNIT` of a `sipas_` family, a sample `name{k="v",...} value`, and `# EOF`
/// last (OpenMetrics text).
fn parse(text: &str) -> HashMap<String, f64> {
    let mut samples = HashMap::new();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.last(), Some(&"# EOF"), "{text}");
    for line in &lines[..lines.len() - 1] {
        if let Some(meta) = line.strip_prefix("# ") {
            let mut parts = meta.splitn(3, ' ');
            let kind = parts.next().unwrap();
            let family = parts.next().unwrap_or("");
            assert!(
                ["HELP", "TYPE", "UNIT"].contains(&kind),
                "unknown comment: {line}"
            );
            assert!(family.starts_with("sipas_"), "{line}");
            assert!(parts.next().is_some_and(|rest| !rest.is_empty()), "{line}");
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("no value: {line}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value: {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, Some(rest)),
            None => (series, None),
        };
        assert!(name.starts_with("sipas_"), "{line}");
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "bad name: {line}"
        );
        if let Some(labels) = labels {
            let labels = labels
                .strip_suffix('}')
                .unwrap_or_else(|| panic!("unclosed labels: {line}"));
            // k="v" pairs separated by commas (values hold no quote or comma here).
            for pair in labels.split("\",").filter(|p| !p.is_empty()) {
                let (key, value) = pair
                    .split_once("=\"")
                    .unwrap_or_else(|| panic!("bad label {pair}: {line}"));
                assert!(
                    key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                    "bad label name: {line}"
                );
                assert!(!value.contains('"') || value.ends_with('"'), "{line}");
            }
        }
        assert!(
            samples.insert(series.to_string(), value).is_none(),
            "a sample twice: {line}"
        );
    }
    samples
}

/// The metrics as the machine's own scraper reads them.
async fn scrape(app: &TestApp) -> HashMap<String, f64> {
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    parse(&response.text().await.unwrap())
}

fn value(samples: &HashMap<String, f64>, series: &str) -> f64 {
    samples.get(series).copied().unwrap_or(0.0)
}

const DESK_STORED: &str = "sipas_submissions_total{door=\"desk\",outcome=\"stored\"}";
const DESK_REFUSED: &str = "sipas_submissions_total{door=\"desk\",outcome=\"refused\"}";
const FORM_POSTED: &str =
    "sipas_http_request_duration_seconds_count{route=\"/s/{code}\",method=\"POST\",status=\"2xx\"}";

#[tokio::test]
async fn a_stored_submission_counts_once_and_its_route_is_timed() {
    let app = TestApp::spawn().await;
    let code = app.desk_code(XUAN_BAC).await;
    let before = scrape(&app).await;
    assert_eq!(value(&before, DESK_STORED), 0.0);
    app.send_survey_stored(&code, &full_answers("4")).await;
    let after = scrape(&app).await;
    assert_eq!(
        value(&after, DESK_STORED),
        value(&before, DESK_STORED) + 1.0
    );
    assert_eq!(value(&after, DESK_REFUSED), 0.0);
    // The form's route by its pattern, never the desk's code.
    assert_eq!(value(&after, FORM_POSTED), 1.0);
    assert!(
        value(
            &after,
            "sipas_http_request_duration_seconds_count{route=\"/s/{code}\",method=\"GET\",status=\"2xx\"}"
        ) >= 1.0
    );
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(!text.contains(&code), "a desk code in the metrics");
    // What is there besides: the version, the spool, the pool (and its waits), the rollups.
    assert!(text.contains(&format!(
        "sipas_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    )));
    assert_eq!(after["sipas_spool_responses"], 0.0);
    assert_eq!(after["sipas_spool_accepting"], 1.0);
    assert_eq!(after["sipas_db_pool_max_connections"], 4.0);
    assert!(after["sipas_db_pool_wait_seconds_count"] >= 2.0);
    assert!(after.contains_key("sipas_rollup_lag_seconds"));
    assert!(after.contains_key("sipas_export_jobs_running"));
    // The same form sent again: thanked, counted as a duplicate, not stored twice.
    let (_, token, version) = app.open_survey(&code).await;
    let fields = full_answers("5");
    let form = common::with_hidden(&token, &version, &fields);
    for _ in 0..2 {
        let response = app.post_form(&format!("/s/{code}"), &form).await;
        assert_eq!(response.status(), 200);
    }
    let again = scrape(&app).await;
    assert_eq!(value(&again, DESK_STORED), value(&after, DESK_STORED) + 1.0);
    assert_eq!(
        value(
            &again,
            "sipas_submissions_total{door=\"desk\",outcome=\"duplicate\"}"
        ),
        1.0
    );
}

#[tokio::test]
async fn a_refused_submission_counts_by_its_reason() {
    let app = TestApp::spawn().await;
    let code = app.desk_code(XUAN_BAC).await;
    let before = scrape(&app).await;
    // No answers at all: the form again (422), nothing stored.
    let (_, response) = app.send_survey(&code, &[]).await;
    assert_eq!(response.status(), 422);
    // The honeypot filled in.
    let mut fields = full_answers("4");
    fields.push((
        sipas::forms::submission::HONEYPOT_FIELD,
        "http://spam".into(),
    ));
    let (_, response) = app.send_survey(&code, &fields).await;
    assert_eq!(response.status(), 422);
    // A desk that does not exist.
    let response = app.post_form("/s/zzzzzzzz", &[("TC1", "4")]).await;
    assert_eq!(response.status(), 404);
    let after = scrape(&app).await;
    assert_eq!(app.response_count().await, 0);
    let refusals = |reason: &str| {
        value(
            &after,
            &format!("sipas_submission_refusals_total{{door=\"desk\",reason=\"{reason}\"}}"),
        ) - value(
            &before,
            &format!("sipas_submission_refusals_total{{door=\"desk\",reason=\"{reason}\"}}"),
        )
    };
    assert_eq!(refusals("invalid"), 1.0);
    assert_eq!(refusals("honeypot"), 1.0);
    assert_eq!(refusals("unknown_code"), 1.0);
    assert_eq!(refusals("over_limit"), 0.0);
    assert_eq!(
        value(&after, DESK_REFUSED) - value(&before, DESK_REFUSED),
        3.0
    );
    assert_eq!(value(&after, DESK_STORED), 0.0);
    assert_eq!(
        value(
            &after,
            "sipas_http_request_duration_seconds_count{route=\"/s/{code}\",method=\"POST\",status=\"4xx\"}"
        ),
        3.0
    );
}

/// An address of this machine other than loopback (the source of its route outwards; no
/// packet is sent), if it has one.
fn outward_address() -> Option<IpAddr> {
    let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("198.51.100.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[tokio::test]
async fn only_the_machine_itself_or_the_token_holder_reads_the_metrics() {
    let database = TestDatabase::create().await;
    let app = TestApp::spawn_on(database, |url| {
        let mut config = test_config(url);
        config.bind = "0.0.0.0:0".parse().unwrap();
        config.metrics_token = MetricsToken::from_lookup(&|name: &str| {
            (name == "SIPAS_METRICS_TOKEN").then(|| TOKEN.to_string())
        })
        .unwrap();
        config
    })
    .await;
    let not_found = app.get("/no-such-page").await.text().await.unwrap();
    let metrics = format!("{}/metrics", app.address);
    let get = |url: &str, headers: &[(&str, &str)]| {
        let mut request = app.client.get(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };
    let bearer = format!("Bearer {TOKEN}");
    let wrong = format!("Bearer {}", TOKEN.replace('0', "1"));
    // Loopback, no proxy: open; with the token too.
    assert_eq!(get(&metrics, &[]).await.unwrap().status(), 200);
    assert_eq!(
        get(&metrics, &[("Authorization", &bearer)])
            .await
            .unwrap()
            .status(),
        200
    );
    // Through a reverse proxy (a forwarded header) without the token: as if there were no
    // such page.
    let proxied = get(&metrics, &[("X-Forwarded-For", "203.0.113.7")])
        .await
        .unwrap();
    assert_eq!(proxied.status(), 404);
    assert_eq!(proxied.text().await.unwrap(), not_found);
    assert_eq!(
        get(
            &metrics,
            &[
                ("X-Forwarded-For", "203.0.113.7"),
                ("Authorization", &bearer)
            ]
        )
        .await
        .unwrap()
        .status(),
        200
    );
    assert_eq!(
        get(&metrics, &[("Authorization", &wrong)])
            .await
            .unwrap()
            .status(),
        404
    );
    // From another address of this machine: not loopback.
    let Some(outward) = outward_address() else {
        let required =
            std::env::var_os("CI").is_some() || std::env::var_os("SIPAS_REQUIRE_TOOLS").is_some();
        assert!(!required, "this machine has no address but loopback");
        eprintln!("notice: no address but loopback: the non-loopback peer is not tried");
        return;
    };
    let port = app.address.rsplit(':').next().unwrap();
    let remote = match outward {
        IpAddr::V4(ip) => format!("http://{ip}:{port}/metrics"),
        IpAddr::V6(ip) => format!("http://[{ip}]:{port}/metrics"),
    };
    let response = get(&remote, &[]).await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.text().await.unwrap(), not_found);
    assert_eq!(
        get(&remote, &[("Authorization", &wrong)])
            .await
            .unwrap()
            .status(),
        404
    );
    let allowed = get(&remote, &[("Authorization", &bearer)]).await.unwrap();
    assert_eq!(allowed.status(), 200);
    parse(&allowed.text().await.unwrap());
}

#[test]
fn the_parser_refuses_what_is_not_an_exposition() {
    let good = "# HELP sipas_x A thing.\n# TYPE sipas_x counter\nsipas_x_total{a=\"b\",c=\"d\"} 3\n# EOF\n";
    assert_eq!(parse(good)["sipas_x_total{a=\"b\",c=\"d\"}"], 3.0);
    for bad in [
        "sipas_x_total 3\n",
        "sipas_x_total three\n# EOF\n",
        "# HELLO sipas_x\n# EOF\n",
        "other_total 1\n# EOF\n",
        "sipas_x_total{a=\"b\" 1\n# EOF\n",
    ] {
        assert!(std::panic::catch_unwind(|| parse(bad)).is_err(), "{bad}");
    }
}
