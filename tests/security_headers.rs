//! Security headers on every response (pages, static files, errors), request size limits with
//! Vietnamese pages, and what a database error that is not an outage does (issue 6).

use crate::common;

use common::{TestApp, full_answers, with_hidden};

/// Asserts the security headers of `response` (named `what` in messages).
fn assert_secured(response: &reqwest::Response, what: &str) {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .unwrap_or_else(|| panic!("{what}: no {name} header"))
    };
    let csp = header("content-security-policy");
    for directive in [
        "default-src 'none'",
        "style-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(
            csp.contains(directive),
            "{what}: CSP {csp} lacks {directive}"
        );
    }
    // No script at all: neither a script-src nor anything inline or evaluated.
    assert!(!csp.contains("script-src"), "{what}: {csp}");
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert!(!csp.contains("unsafe-eval"), "{what}: {csp}");
    assert_eq!(header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header("x-frame-options"), "DENY", "{what}");
    assert_eq!(header("referrer-policy"), "same-origin", "{what}");
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    let code = app.desk_code("xuan-loc.xuan-bac").await;

    let home = app.get("/").await;
    assert_eq!(home.status(), 200);
    assert_secured(&home, "home");

    let survey = app.get(&format!("/s/{code}")).await;
    assert_eq!(survey.status(), 200);
    assert_secured(&survey, "survey");
    let html = survey.text().await.unwrap();
    assert!(!html.contains("<script"), "the survey has a script");
    assert!(!html.contains(" style=\""), "the survey has inline style");

    let css = app.get("/static/sipas.css").await;
    assert_eq!(css.status(), 200);
    assert_secured(&css, "stylesheet");

    let healthz = app.get("/healthz").await;
    assert_eq!(healthz.status(), 200);
    assert_secured(&healthz, "healthz");

    let missing = app.get("/no/such/page").await;
    assert_eq!(missing.status(), 404);
    assert_secured(&missing, "404");
    let missing_desk = app.get("/s/zzzzzzzz").await;
    assert_eq!(missing_desk.status(), 404);
    assert_secured(&missing_desk, "unknown desk");
    assert!(
        missing_desk
            .text()
            .await
            .unwrap()
            .contains("Không tìm thấy trang")
    );

    let sign_in = app.get("/sign-in").await;
    assert_secured(&sign_in, "sign-in");
    let staff = app.get("/staff").await;
    assert_eq!(staff.status(), 303);
    assert_secured(&staff, "redirect to sign-in");

    // A staff POST without its token.
    let refused = app
        .post_form("/sign-in", &[("username", "x"), ("password", "y")])
        .await;
    assert_eq!(refused.status(), 403);
    assert_secured(&refused, "403");
}

#[tokio::test]
async fn oversized_bodies_get_a_vietnamese_413_page() {
    let app = TestApp::spawn().await;
    let code = app.desk_code("xuan-loc.xuan-bac").await;
    let (_, token, version) = app.open_survey(&code).await;

    // The largest legitimate answer: every item, the open answer at its limit of 2,000
    // characters, all of them Vietnamese letters percent-encoded (9 bytes each).
    let mut fields = full_answers("5");
    fields.push(("YK", "ệ".repeat(2000)));
    let legit = with_hidden(&token, &version, &fields);
    let legit_body = serde_urlencoded::to_string(&legit).unwrap();
    assert!(legit_body.len() > 18_000, "{}", legit_body.len());
    let response = app
        .post_raw(
            &format!("/s/{code}"),
            legit_body,
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_eq!(response.status(), 200, "the longest legitimate answer");

    // Far beyond it: refused before it is read in full, with the page, storing nothing.
    let (_, token, version) = app.open_survey(&code).await;
    let mut fields = full_answers("5");
    fields.push(("YK", "a".repeat(70 * 1024)));
    let body = serde_urlencoded::to_string(with_hidden(&token, &version, &fields)).unwrap();
    let response = app
        .post_raw(
            &format!("/s/{code}"),
            body,
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_eq!(response.status(), 413);
    assert_secured(&response, "413");
    let page = response.text().await.unwrap();
    assert!(page.contains("Nội dung gửi lên quá lớn"), "{page}");
    assert!(page.contains("lang=\"vi\""), "{page}");
    assert_eq!(app.response_count().await, 1);

    // Staff forms have their limit too.
    let staff = app.staff_with_role("quantri", "admin", &[]).await;
    let huge = "x".repeat(300 * 1024);
    let response = staff
        .post("/staff/password", &[("current", huge.as_str())])
        .await;
    assert_eq!(response.status(), 413);
    assert_secured(&response, "staff 413");
}

#[tokio::test]
async fn a_database_error_that_is_no_outage_is_a_500_page_and_is_not_spooled() {
    let app = TestApp::spawn().await;
    let code = app.desk_code("xuan-loc.xuan-bac").await;
    let (_, token, version) = app.open_survey(&code).await;
    // A broken schema (an operator's mistake): storing the open answer fails.
    app.sql()
        .await
        .batch_execute("ALTER TABLE response_texts RENAME TO response_texts_gone")
        .await
        .unwrap();
    let mut fields = full_answers("3");
    fields.push(("YK", "Thủ tục nhanh".to_string()));
    let response = app
        .post_form(
            &format!("/s/{code}"),
            &with_hidden(&token, &version, &fields),
        )
        .await;
    assert_eq!(response.status(), 500);
    assert_secured(&response, "500");
    let page = response.text().await.unwrap();
    assert!(page.contains("Đã xảy ra lỗi"), "{page}");
    assert!(!page.contains("response_texts"), "the cause leaks: {page}");
    // Nothing half-stored, nothing spooled: the error was not an outage.
    assert_eq!(app.response_count().await, 0);
    let health: serde_json::Value =
        serde_json::from_str(&app.get("/healthz").await.text().await.unwrap()).unwrap();
    assert_eq!(health["spool"]["entries"], 0, "{health}");
    app.sql()
        .await
        .batch_execute("ALTER TABLE response_texts_gone RENAME TO response_texts")
        .await
        .unwrap();
}

#[tokio::test]
async fn the_statement_timeout_applies_to_the_pool() {
    let app = TestApp::spawn().await;
    let mut conn = app.pool.get().await.unwrap();
    use diesel::QueryableByName;
    use diesel_async::RunQueryDsl;
    #[derive(QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        statement_timeout: String,
    }
    let setting: Setting = diesel::sql_query("SHOW statement_timeout")
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(setting.statement_timeout, "1min");
}

#[tokio::test]
async fn a_client_that_never_finishes_its_request_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn().await;
    let address = app.address.trim_start_matches("http://").to_string();
    let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
    // Half a request head, then nothing (a "slowloris" client).
    socket
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        socket.read_to_end(&mut answer),
    )
    .await;
    assert!(read.is_ok(), "the connection is still open after 30 s");
    let waited = started.elapsed();
    assert!(
        waited < std::time::Duration::from_secs(15),
        "cut off after {waited:?}"
    );
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
}
