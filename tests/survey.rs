//! The citizen's path over real HTTP and a real PostgreSQL: open a desk's survey, submit, and
//! every way a submission can be wrong.

use crate::common;

use common::{TestApp, full_answers, hidden_field, with_hidden};

const XUAN_BAC: &str = "xuan-loc.xuan-bac";

#[tokio::test]
async fn a_desk_link_shows_the_survey_in_vietnamese() {
    let app = TestApp::spawn().await;
    let code = app.desk_code(XUAN_BAC).await;
    let response = app.get(&format!("/s/{code}")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let html = response.text().await.unwrap();
    assert!(html.contains("<html lang=\"vi\">"));
    assert!(html.contains("UBND xã Xuân Bắc"));
    assert!(html.contains("Bộ phận Tiếp nhận và Trả kết quả xã Xuân Bắc"));
    assert!(html.contains("Công chức có thái độ giao tiếp lịch sự, tôn trọng đối với người dân."));
    // One radio group per item, named by the item code, and nothing fetched from elsewhere.
    for code in ["TC1", "PA3", "MD8", "GIOI_TINH"] {
        assert!(
            html.contains(&format!("type=\"radio\" name=\"{code}\"")),
            "{code}"
        );
    }
    assert!(!html.contains("<script"));
    assert!(!html.contains("https://"), "no third-party requests");
    let css = app.get("/static/sipas.css").await;
    assert_eq!(css.status(), 200);
    let css = css.text().await.unwrap();
    assert!(!css.contains("@font-face") && !css.contains("url("));
    assert!(
        html.len() + css.len() < 30 * 1024,
        "{} + {}",
        html.len(),
        css.len()
    );
}

#[tokio::test]
async fn a_valid_submission_is_stored_with_its_desk_unit_form_channel_and_time() {
    let app = TestApp::spawn().await;
    let code = app.desk_code(XUAN_BAC).await;
    let (_, token, version) = app.open_survey(&code).await;
    let mut fields = full_answers("4");
    fields[0].1 = "5".into(); // TC1
    fields.push(("PA1", "2".into()));
    fields.retain(|(k, v)| !(*k == "PA1" && v == "na"));
    fields.push(("MD3", "3".into()));
    fields.push(("GIOI_TINH", "2".into()));
    fields.push(("YK", "  Cán bộ nhiệt tình & chu đáo.\r\n".into()));
    let before = app
        .count("SELECT (extract(epoch FROM now()) * 1000)::bigint")
        .await;
    let response = app
        .post_form(
            &format!("/s/{code}"),
            &with_hidden(&token, &version, &fields),
        )
        .await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Cảm ơn Anh/Chị đã tham gia khảo sát!"),
        "{html}"
    );
    assert!(html.contains("UBND xã Xuân Bắc"));

    let sql = app.sql().await;
    let row = sql
        .query_one(
            "SELECT u.code, r.desk_code, d.name, fv.form_id, fv.version, r.channel, \
                    (extract(epoch FROM r.submitted_at) * 1000)::bigint, r.answers, r.submission_key::text, \
                    to_char(r.submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'HH24:MI \"ngày\" DD/MM/YYYY') \
             FROM responses r JOIN units u ON u.id = r.unit_id JOIN desks d ON d.id = r.desk_id \
             JOIN form_versions fv ON fv.id = r.form_version_id",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), XUAN_BAC);
    assert_eq!(row.get::<_, String>(1), code);
    assert_eq!(
        row.get::<_, String>(2),
        "Bộ phận Tiếp nhận và Trả kết quả xã Xuân Bắc"
    );
    assert_eq!(row.get::<_, String>(3), "sipas-1001-dich-vu");
    assert_eq!(row.get::<_, i32>(4), 1);
    assert_eq!(row.get::<_, String>(5), "qr");
    assert!(row.get::<_, i64>(6) >= before);
    let answers: Vec<Option<i16>> = row.get(7);
    // TC1..KQ3 (16), PA1..PA3, MD1..MD8, then the 7 respondent questions.
    assert_eq!(answers.len(), 19 + 8 + 7);
    assert_eq!(answers[0], Some(5));
    assert_eq!(answers[1], Some(4));
    assert_eq!(&answers[16..19], &[Some(2), Some(0), Some(0)]);
    assert_eq!(answers[19 + 2], Some(3), "MD3");
    assert_eq!(answers[19 + 8], Some(2), "GIOI_TINH");
    assert_eq!(answers[19 + 9], None, "DAN_TOC unanswered");
    assert_eq!(row.get::<_, String>(8), token);
    // The thank-you page shows the stored time in Vietnam's time zone.
    let shown: String = row.get(9);
    assert!(html.contains(&shown), "{shown} in {html}");

    let text: String = sql
        .query_one(
            "SELECT t.body FROM response_texts t JOIN form_items i ON i.id = t.item_id WHERE i.code = 'YK'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(text, "Cán bộ nhiệt tình & chu đáo.");
}

#[tokio::test]
async fn a_double_tap_stores_one_response() {
    let app = TestApp::spawn().await;
    let code = app.desk_code(XUAN_BAC).await;
    let (_, token, version) = app.open_survey(&code).await;
    let fields = full_answers("5");
    let body = with_hidden(&token, &version, &fields);
    let path = format!("/s/{code}");
    let (a, b) = tokio::join!(app.post_form(&path, &body), app.post_form(&path, &body));
    assert_eq!(a.status(), 200);
    assert_eq!(b.status(), 200);
    let c = app.post_form(&path, &body).await;
    assert_eq!(c.status(), 200);
    assert!(c.text().await.unwrap().contains("Cảm ơn"));
    assert_eq!(app.response_count().await, 1);
    // A second rendering of the form is a second response.
    let (_, token2, _) = app.open_survey(&code).await;
    assert_ne!(token, token2);
    let r = app
        .post_form(&path, &with_hidden(&token2, &version, &fields))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.response_count().await, 2);
}

/// Posts `fields` (with the hidden fields of a fresh rendering) and checks: 422, the message,
/// and nothing stored.
async fn refused(app: &TestApp, code: &str, fields: &[(&'static str, String)]) -> String {
    let (_, token, version) = app.open_survey(code).await;
    let response = app
        .post_form(
            &format!("/s/{code}"),
            &with_hidden(&token, &version, fields),
        )
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("Phiếu chưa được gửi."), "{html}");
    // The same form comes back, with the same submission key.
    assert_eq!(hidden_field(&html, "_token"), token);
    assert_eq!(
        app.response_count().await,
        0,
        "nothing of a refused form is stored"
    );
    assert_eq!(app.count("SELECT count(*) FROM response_texts").await, 0);
    html
}

/// The HTML of the question block with id `q-{code}`.
fn question_block<'a>(html: &'a str, code: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"q-{code}\""))
        .unwrap_or_else(|| panic!("no question {code}"));
    let rest = &html[start..];
    let end = rest
        .find("</fieldset>")
        .or_else(|| rest.find("</div>"))
        .unwrap();
    &rest[..end]
}

#[tokio::test]
async fn a_missing_required_answer_is_named_and_the_other_answers_are_kept() {
    let app = TestApp::spawn().await;
    let code = app.desk_code(XUAN_BAC).await;
    let mut fields = full_answers("4");
    fields.retain(|(k, _)| *k != "CC2");
    fields.push(("YK", "Giữ lại ý kiến này".into()));
    fields.push(("MD1", "2".into()));
    let html = refused(&app, &code, &fields).await;
    assert!(html.contains("class=\"q err\" id=\"q-CC2\""));
    let block = question_block(&html, "CC2");
    assert!(
        block.contains("Vui lòng chọn một câu trả lời cho câu hỏi này."),
        "{block}"
    );
    assert!(html.contains("href=\"#q-CC2\""));
    // Answers given are checked again.
    assert!(question_block(&html, "CC1").contains("value=\"4\" required checked"));
    assert!(question_block(&html, "PA1").contains("value=\"na\" required checked"));
    assert!(question_block(&html, "MD1").contains("value=\"2\" checked"));
    assert!(html.contains(">Giữ lại ý kiến này</textarea>"));
    // Only the missing one is marked.
    assert!(html.contains("class=\"q\" id=\"q-CC1\""));
    assert_eq!(html.matches("class=\"q err\"").count(), 1);
}

#[tokio::test]
async fn a_value_outside_the_scale_is_refused() {
    let app = TestApp::spawn().await;
    let code = app.desk_code(XUAN_BAC).await;
    for bad in ["6", "0", "-1", "abc", "4.5", "na"] {
        let mut fields = full_answers("4");
        fields[0].1 = bad.into(); // TC1 has no "not applicable"
        let html = refused(&app, &code, &fields).await;
        assert!(
            question_block(&html, "TC1").contains("Câu trả lời không hợp lệ. Vui lòng chọn lại."),
            "{bad}"
        );
    }
    // Two answers to one question.
    let mut fields = full_answers("4");
    fields.push(("TC2", "5".into()));
    let html = refused(&app, &code, &fields).await;
    assert!(question_block(&html, "TC2").contains("Mỗi câu hỏi chỉ chọn một câu trả lời."));
}

#[tokio::test]
async fn an_unknown_item_is_refused() {
    let app = TestApp::spawn().await;
    let code = app.desk_code(XUAN_BAC).await;
    let mut fields = full_answers("4");
    fields.push(("XX9", "1".into()));
    let html = refused(&app, &code, &fields).await;
    assert!(html.contains("Phiếu có câu hỏi không thuộc biểu mẫu này (&quot;XX9&quot;)"));
}

#[tokio::test]
async fn an_overlong_comment_is_refused_with_its_length() {
    let app = TestApp::spawn().await;
    let code = app.desk_code(XUAN_BAC).await;
    let mut fields = full_answers("4");
    fields.push(("YK", "ý".repeat(2001)));
    let html = refused(&app, &code, &fields).await;
    assert!(question_block(&html, "YK").contains("giới hạn 2000 ký tự (hiện có 2001 ký tự)"));
}

#[tokio::test]
async fn malformed_bodies_get_the_form_back_and_store_nothing() {
    let app = TestApp::spawn().await;
    let code = app.desk_code(XUAN_BAC).await;
    let path = format!("/s/{code}");
    let (_, token, version) = app.open_survey(&code).await;
    let valid =
        serde_urlencoded::to_string(with_hidden(&token, &version, &full_answers("4"))).unwrap();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            b"TC1=%FF%FE&_token=x".to_vec(),
            "application/x-www-form-urlencoded",
        ),
        (valid.clone().into_bytes(), "application/json"),
        (b"{\"TC1\": 4}".to_vec(), "application/json"),
        // No token, no version, a version of another form, a version that does not exist.
        (
            valid.replace("_token=", "_tokn=").into_bytes(),
            "application/x-www-form-urlencoded",
        ),
        (
            valid.replace("_v=", "_w=").into_bytes(),
            "application/x-www-form-urlencoded",
        ),
        (
            valid
                .replace(&format!("_v={version}"), "_v=999999")
                .into_bytes(),
            "application/x-www-form-urlencoded",
        ),
        (
            valid
                .replace(&format!("_v={version}"), "_v=abc")
                .into_bytes(),
            "application/x-www-form-urlencoded",
        ),
        (Vec::new(), "application/x-www-form-urlencoded"),
    ];
    for (body, content_type) in cases {
        let shown = String::from_utf8_lossy(&body)
            .chars()
            .take(60)
            .collect::<String>();
        let response = app.post_raw(&path, body, content_type).await;
        assert_eq!(response.status(), 422, "{shown}");
        let html = response.text().await.unwrap();
        assert!(html.contains("Phiếu chưa được gửi."), "{shown}");
        assert!(
            html.contains("type=\"radio\" name=\"TC1\""),
            "the form comes back: {shown}"
        );
    }
    // A version id of the other form (the quick rating) is refused too.
    let other: i32 = app
        .sql()
        .await
        .query_one(
            "SELECT id FROM form_versions WHERE form_id = 'danh-gia-mot-cua'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let body = valid.replace(&format!("_v={version}"), &format!("_v={other}"));
    let response = app
        .post_raw(&path, body, "application/x-www-form-urlencoded")
        .await;
    assert_eq!(response.status(), 422);
    assert_eq!(app.response_count().await, 0);
}

#[tokio::test]
async fn unknown_codes_and_oversized_bodies_get_friendly_pages() {
    let app = TestApp::spawn().await;
    for path in [
        "/s/zzzzzzzz",
        "/s/ABC",
        "/s/..%2F..%2Fetc",
        "/s/",
        "/khong-co",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 404, "{path}");
        let html = response.text().await.unwrap();
        assert!(html.contains("Không tìm thấy trang"), "{path}");
    }
    let response = app.post_form("/s/zzzzzzzz", &[("TC1", "4")]).await;
    assert_eq!(response.status(), 404);

    let code = app.desk_code(XUAN_BAC).await;
    let (_, token, version) = app.open_survey(&code).await;
    let mut fields = full_answers("4");
    fields.push(("YK", "a".repeat(100 * 1024)));
    let response = app
        .post_form(
            &format!("/s/{code}"),
            &with_hidden(&token, &version, &fields),
        )
        .await;
    assert_eq!(response.status(), 413);
    assert!(response.text().await.unwrap().contains("quá lớn"));
    assert_eq!(app.response_count().await, 0);
}

#[tokio::test]
async fn a_rotated_code_stops_accepting_and_keeps_its_responses() {
    let app = TestApp::spawn().await;
    let old = app.desk_code(XUAN_BAC).await;
    let (_, token, version) = app.open_survey(&old).await;
    let fields = full_answers("3");
    let ok = app
        .post_form(
            &format!("/s/{old}"),
            &with_hidden(&token, &version, &fields),
        )
        .await;
    assert_eq!(ok.status(), 200);

    // A second form was opened before the rotation and is submitted after it.
    let (_, late_token, _) = app.open_survey(&old).await;
    let desk_id: i32 = app
        .sql()
        .await
        .query_one("SELECT desk_id FROM desk_codes WHERE code = $1", &[&old])
        .await
        .unwrap()
        .get(0);
    let mut conn = app.pool.get().await.unwrap();
    let generation = app.desks.generation();
    let new = sipas::db::desks::Desk::rotate_code(&mut conn, desk_id)
        .await
        .unwrap();
    app.await_desk_change(generation).await;
    assert_ne!(new, old);
    assert_eq!(app.desk_code(XUAN_BAC).await, new);

    assert_eq!(app.get(&format!("/s/{old}")).await.status(), 404);
    let late = app
        .post_form(
            &format!("/s/{old}"),
            &with_hidden(&late_token, &version, &fields),
        )
        .await;
    assert_eq!(late.status(), 404);
    assert_eq!(app.get(&format!("/s/{new}")).await.status(), 200);

    let kept: String = app
        .sql()
        .await
        .query_one("SELECT desk_code FROM responses", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(kept, old, "the old response keeps the code it came through");
    assert_eq!(app.response_count().await, 1);
}

#[tokio::test]
async fn a_desk_can_show_another_form_than_its_unit() {
    let app = TestApp::spawn().await;
    let code = app
        .desk_code_named(
            "xuan-loc.van-phong-hdnd-ubnd",
            Some(sipas::demo::QUICK_RATING_DESK),
        )
        .await;
    let (html, token, version) = app.open_survey(&code).await;
    assert!(html.contains("Đánh giá sự phục vụ tại Bộ phận Tiếp nhận và Trả kết quả"));
    assert!(html.contains("type=\"radio\" name=\"DG\""));
    assert!(!html.contains("name=\"TC1\""));
    let fields = vec![("DG", "3".to_string()), ("GY", "Nhanh gọn".to_string())];
    let response = app
        .post_form(
            &format!("/s/{code}"),
            &with_hidden(&token, &version, &fields),
        )
        .await;
    assert_eq!(response.status(), 200);
    let row = app
        .sql()
        .await
        .query_one(
            "SELECT fv.form_id, r.answers FROM responses r JOIN form_versions fv ON fv.id = r.form_version_id",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "danh-gia-mot-cua");
    assert_eq!(row.get::<_, Vec<Option<i16>>>(1), vec![Some(3)]);
    // The rating is required.
    let (_, token, version) = app.open_survey(&code).await;
    let fields = vec![("GY", "chỉ góp ý".to_string())];
    let response = app
        .post_form(
            &format!("/s/{code}"),
            &with_hidden(&token, &version, &fields),
        )
        .await;
    assert_eq!(response.status(), 422);
    assert_eq!(app.response_count().await, 1);
}

#[tokio::test]
async fn healthz_follows_the_database() {
    let app = TestApp::spawn().await;
    let ok = app.get("/healthz").await;
    assert_eq!(ok.status(), 200);
    let body: serde_json::Value = serde_json::from_str(&ok.text().await.unwrap()).unwrap();
    assert_eq!(body["desks"], "remembered", "{body}");
    // Cut this test database off: the pool's connections die and new ones are refused.
    let admin = common::admin_client().await;
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {name} ALLOW_CONNECTIONS false; \
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'",
            name = app.database.name
        ))
        .await
        .unwrap();
    // The desk listener's connection died too: nothing remembered is trusted.
    common::wait_until(std::time::Duration::from_secs(10), || {
        !app.desks.is_listening()
    })
    .await
    .expect("the listener notices");
    let down = app.get("/healthz").await;
    assert_eq!(down.status(), 503);
    let body: serde_json::Value = serde_json::from_str(&down.text().await.unwrap()).unwrap();
    assert_eq!(body["desks"], "looked up", "{body}");
    // The survey answers 503 with a page, not 500.
    let survey = app.get("/s/abcdefgh").await;
    assert_eq!(survey.status(), 503);
    assert!(survey.text().await.unwrap().contains("tạm thời gián đoạn"));
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {} ALLOW_CONNECTIONS true",
            app.database.name
        ))
        .await
        .unwrap();
    assert_eq!(app.get("/healthz").await.status(), 200);
    common::wait_until(std::time::Duration::from_secs(10), || {
        app.desks.is_listening()
    })
    .await
    .expect("the listener connects again");
}
