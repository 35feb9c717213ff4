//! Personal data in open answers (issue 15, Luật Bảo vệ dữ liệu cá nhân 91/2025/QH15): phone
//! numbers, ID numbers, e-mail addresses and licence plates a citizen writes in a comment, sent
//! through the real survey form or typed in from a paper ballot, are masked before they are
//! stored, so the database row, the staff's comments page, the report and the CSV export all
//! show the placeholders; `sipas privacy mask-comments` masks comments stored before.

use crate::common;

use std::process::Output;
use std::time::Duration;

use chrono::Datelike;
use common::{TestApp, full_answers, hidden_field, with_hidden};

const XUAN_BAC: &str = "xuan-loc.xuan-bac";
const FORM: &str = "sipas-1001-dich-vu";

/// A citizen's comment with personal data in each format, and ordinary numbers around them.
const COMMENT: &str = "Tôi là Nguyễn Văn An, gọi 0912 345 678 hoặc +84 912345678, \
    nhà (028) 3822 1234, CCCD 079201001234, CMND cũ 025123456, email an.nguyen@gmail.com, \
    xe máy 59X3-123.45, ô tô 51F-678.90. Ngày 05/12/2026 lúc 08:30 nộp 2.000.000 đồng, \
    chờ ở quầy số 2, đi lại 3 lần, hồ sơ 000.00.12.H23-260105-0001.";

/// The same comment as it must be stored and shown.
const MASKED: &str = "Tôi là Nguyễn Văn An, gọi [số điện thoại] hoặc [số điện thoại], \
    nhà [số điện thoại], CCCD [số giấy tờ], CMND cũ [số giấy tờ], email [email], \
    xe máy [biển số xe], ô tô [biển số xe]. Ngày 05/12/2026 lúc 08:30 nộp 2.000.000 đồng, \
    chờ ở quầy số 2, đi lại 3 lần, hồ sơ 000.00.12.H23-260105-0001.";

/// The personal data of [`COMMENT`] (and of the paper ballot), none of which may appear
/// anywhere once stored.
const ORIGINALS: &[&str] = &[
    "0912 345 678",
    "912345678",
    "3822 1234",
    "079201001234",
    "025123456",
    "an.nguyen@gmail.com",
    "59X3-123.45",
    "51F-678.90",
    "0987.654.321",
    "60A-12345",
];

/// A paper ballot's comment, typed in by a clerk.
const PAPER_COMMENT: &str = "Liên hệ chị Lan 0987.654.321, xe 60A-12345.";
const PAPER_MASKED: &str = "Liên hệ chị Lan [số điện thoại], xe [biển số xe].";

#[track_caller]
fn assert_no_personal_data(what: &str, text: &str) {
    for original in ORIGINALS {
        assert!(!text.contains(original), "{what} shows {original:?}");
    }
}

/// A citizen's answers (every criterion `score`) with `comment`, through the real form at desk
/// `code`: thanked.
async fn answer(app: &TestApp, code: &str, score: &str, comment: &str) {
    let (_, token, version) = app.open_survey(code).await;
    let mut fields = full_answers(score);
    fields.push(("YK", comment.to_string()));
    let response = app
        .post_form(
            &format!("/s/{code}"),
            &with_hidden(&token, &version, &fields),
        )
        .await;
    assert_eq!(response.status(), 200, "thanked");
}

#[tokio::test]
async fn personal_data_in_comments_is_masked_before_it_is_stored_and_shown() {
    let app = TestApp::spawn().await;
    let code = app.desk_code(XUAN_BAC).await;

    // A citizen, through the real form.
    answer(&app, &code, "4", COMMENT).await;

    // A clerk, typing in a paper ballot.
    let clerk = app
        .staff_with_role("can.bo.xuan.bac", "unit", &[XUAN_BAC])
        .await;
    let desk = app.desk_id(&code).await;
    let page = clerk.get(&format!("/staff/paper/{desk}")).await;
    assert_eq!(page.status(), 200);
    let paper_version = hidden_field(&page.text().await.unwrap(), "_v");
    let today = sipas::plans::today_in_vietnam();
    let date = today.format("%d/%m/%Y").to_string();
    let mut ballot: Vec<(&str, &str)> = vec![
        ("_v", &paper_version),
        ("serial", "XB-PII-1"),
        ("date", &date),
        ("YK", PAPER_COMMENT),
    ];
    // On paper, "không áp dụng" is typed as 0.
    let answers: Vec<(&str, String)> = full_answers("4")
        .into_iter()
        .map(|(k, v)| (k, if v == "na" { "0".to_string() } else { v }))
        .collect();
    ballot.extend(answers.iter().map(|(k, v)| (*k, v.as_str())));
    let response = clerk.post(&format!("/staff/paper/{desk}"), &ballot).await;
    assert_eq!(response.status(), 303, "the ballot is stored");

    // The database never holds the personal data.
    let db = app.sql().await;
    let rows = db
        .query(
            "SELECT r.channel, t.body FROM response_texts t \
             JOIN responses r ON r.id = t.response_id ORDER BY r.id",
            &[],
        )
        .await
        .unwrap();
    let stored: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        stored,
        vec![
            ("qr".to_string(), MASKED.to_string()),
            ("paper".to_string(), PAPER_MASKED.to_string()),
        ]
    );

    // The staff's comments page.
    let admin = app.staff_with_role("qt.noi.vu", "admin", &[]).await;
    let html = admin.get("/staff/comments").await.text().await.unwrap();
    assert!(html.contains("[số điện thoại]"), "{html}");
    assert!(html.contains("[biển số xe]") && html.contains("[email]"));
    assert!(html.contains("[số giấy tờ]"));
    assert!(html.contains("2.000.000 đồng") && html.contains("05/12/2026"));
    assert_no_personal_data("the comments page", &html);
    let html = clerk.get("/staff/comments").await.text().await.unwrap();
    assert!(html.contains("[số điện thoại]"));
    assert_no_personal_data("a unit account's comments page", &html);

    // The printable report (its latest comments per unit).
    app.settle_rollups().await;
    let year = today.year();
    let report = admin
        .get(&format!("/staff/report?year={year}&form={FORM}"))
        .await;
    assert_eq!(report.status(), 200);
    let html = report.text().await.unwrap();
    assert!(
        html.contains("[số điện thoại]"),
        "the report shows the comments"
    );
    assert_no_personal_data("the report", &html);

    // The raw data as CSV, exported from the web.
    let export: Vec<(&str, String)> = vec![
        ("year", year.to_string()),
        ("period", String::new()),
        ("unit", String::new()),
        ("form", FORM.to_string()),
        ("channel", String::new()),
        ("format", "csv".to_string()),
    ];
    let pairs: Vec<(&str, &str)> = export.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let file = admin.post("/staff/exports", &pairs).await;
    assert_eq!(file.status(), 200, "a small export downloads at once");
    let csv = String::from_utf8(file.bytes().await.unwrap().to_vec()).unwrap();
    assert!(csv.contains(MASKED), "{csv}");
    assert!(csv.contains(PAPER_MASKED), "{csv}");
    assert_no_personal_data("the CSV export", &csv);
    // By default no original is kept anywhere.
    assert_eq!(
        app.count("SELECT count(*) FROM response_text_originals")
            .await,
        0
    );
}

/// When the office decides to keep originals (SIPAS_KEEP_ORIGINAL_COMMENTS), the comment as
/// written is kept beside the masked one and shown on the comment's page to admins only;
/// every list, page of a unit account and export still shows the masked text.
#[tokio::test]
async fn originals_kept_by_the_offices_choice_are_seen_by_admins_only() {
    let database = common::TestDatabase::create().await;
    let app = TestApp::spawn_on(database, |url| {
        let mut config = common::test_config(url);
        config.keep_original_comments = true;
        config
    })
    .await;
    let code = app.desk_code(XUAN_BAC).await;
    answer(&app, &code, "2", COMMENT).await;
    // A comment without personal data has no original: nothing was masked.
    answer(&app, &code, "5", "Cán bộ nhiệt tình, quầy số 2.").await;
    let db = app.sql().await;
    let rows = db
        .query(
            "SELECT t.response_id, t.item_id, t.body, o.body FROM response_texts t \
             LEFT JOIN response_text_originals o USING (response_id, item_id) ORDER BY t.response_id",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].get::<_, String>(2), MASKED);
    assert_eq!(
        rows[0].get::<_, Option<String>>(3).as_deref(),
        Some(COMMENT)
    );
    assert_eq!(rows[1].get::<_, Option<String>>(3), None);
    let path = format!(
        "/staff/comments/{}/{}",
        rows[0].get::<_, i64>(0),
        rows[0].get::<_, i32>(1)
    );

    let admin = app.staff_with_role("qt.noi.vu", "admin", &[]).await;
    let html = admin.get(&path).await.text().await.unwrap();
    assert!(html.contains("Nội dung gốc"), "{html}");
    assert!(html.contains("079201001234") && html.contains("0912 345 678"));
    assert!(
        html.contains("[số giấy tờ]"),
        "the masked text is shown too"
    );
    let list = admin.get("/staff/comments").await.text().await.unwrap();
    assert_no_personal_data("the admin's list", &list);

    for (name, role, units) in [
        ("can.bo.xuan.bac", "unit", vec![XUAN_BAC]),
        ("lanh.dao", "viewer", vec![]),
    ] {
        let staff = app.staff_with_role(name, role, &units).await;
        let page = staff.get(&path).await;
        assert_eq!(page.status(), 200, "{role}");
        let html = page.text().await.unwrap();
        assert!(!html.contains("Nội dung gốc"), "{role}");
        assert_no_personal_data(role, &html);
    }

    let export: Vec<(&str, String)> = vec![
        ("year", sipas::plans::today_in_vietnam().year().to_string()),
        ("period", String::new()),
        ("unit", String::new()),
        ("form", FORM.to_string()),
        ("channel", String::new()),
        ("format", "csv".to_string()),
    ];
    let pairs: Vec<(&str, &str)> = export.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let file = admin.post("/staff/exports", &pairs).await;
    assert_eq!(file.status(), 200);
    let csv = String::from_utf8(file.bytes().await.unwrap().to_vec()).unwrap();
    assert!(csv.contains(MASKED), "{csv}");
    assert_no_personal_data("the admin's CSV export", &csv);

    // The original goes with its comment (the retention purge deletes comments).
    db.execute("DELETE FROM response_texts", &[]).await.unwrap();
    assert_eq!(
        app.count("SELECT count(*) FROM response_text_originals")
            .await,
        0
    );
}

/// The real binary, configured for `database_url` only.
fn sipas(database_url: &str) -> tokio::process::Command {
    common::sipas_binary(database_url, "privacy")
}

async fn run(database_url: &str, args: &[&str]) -> Output {
    let mut cmd = sipas(database_url);
    cmd.args(args);
    let output = tokio::time::timeout(Duration::from_secs(300), cmd.output())
        .await
        .expect("the command finishes")
        .expect("the sipas binary runs");
    assert!(
        output.status.success(),
        "sipas {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[tokio::test]
async fn mask_comments_masks_the_comments_stored_before_once_and_audited() {
    let app = TestApp::spawn().await;
    let code = app.desk_code(XUAN_BAC).await;
    // Two comments, then one of them rewritten as a version before this one stored it.
    for comment in ["Cán bộ nhiệt tình, chờ 15 phút ở quầy số 2.", "Tạm được"]
    {
        let (_, token, version) = app.open_survey(&code).await;
        let mut fields = full_answers("4");
        fields.push(("YK", comment.to_string()));
        let response = app
            .post_form(
                &format!("/s/{code}"),
                &with_hidden(&token, &version, &fields),
            )
            .await;
        assert_eq!(response.status(), 200);
    }
    let db = app.sql().await;
    let old = db
        .execute(
            "UPDATE response_texts SET body = $1 WHERE body = 'Tạm được'",
            &[&COMMENT],
        )
        .await
        .unwrap();
    assert_eq!(old, 1);
    let bodies = || async {
        let rows = db
            .query("SELECT body FROM response_texts ORDER BY response_id", &[])
            .await
            .unwrap();
        rows.iter().map(|r| r.get(0)).collect::<Vec<String>>()
    };
    let audits = || async {
        db.query(
            "SELECT account_id, after::text FROM audit_log \
             WHERE action = 'comment.mask_personal_data'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<_, Option<i32>>(0), r.get::<_, String>(1)))
        .collect::<Vec<_>>()
    };

    // A dry run counts and changes nothing.
    let output = run(
        &app.database.url,
        &["privacy", "mask-comments", "--dry-run"],
    )
    .await;
    let said = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        said.contains("would mask 1 of 2 comments (phone numbers 3, ID numbers 2, e-mail addresses 1, licence plates 2)"),
        "{said}"
    );
    assert_eq!(bodies().await[1], COMMENT);
    assert!(audits().await.is_empty());

    // The real run masks the old comment only, with one audit entry by the command line that
    // names the comment and holds none of its text.
    let output = run(&app.database.url, &["privacy", "mask-comments"]).await;
    let said = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(said.contains("masked 1 of 2 comments"), "{said}");
    assert_eq!(
        bodies().await,
        vec![
            "Cán bộ nhiệt tình, chờ 15 phút ở quầy số 2.".to_string(),
            MASKED.to_string()
        ]
    );
    let entries = audits().await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].0, None, "by the command line");
    assert!(entries[0].1.contains("\"masked\": 1"), "{}", entries[0].1);
    assert_no_personal_data("the audit entry", &entries[0].1);

    // Again: nothing left to mask, nothing audited.
    let output = run(&app.database.url, &["privacy", "mask-comments"]).await;
    let said = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(said.contains("masked 0 of 2 comments"), "{said}");
    assert_eq!(audits().await.len(), 1);
}
