//! The respondent's place of residence, end to end (issue 19): the QĐ 1001 form asks it with
//! one grouped select of the current communes, wards and towns of the unit tree plus "Nơi khác"
//! and "Không muốn trả lời"; the answer is stored with the response (also through the spool
//! while the database is down); a value that is not one the form offers is refused at the
//! question (the answers kept), a unit that is not a current commune (unknown, ended, a
//! department) is stored as no answer rather than losing the response; the exports carry the
//! code, official code and name (PSPP reads the syntax); the table "Theo nơi cư trú của người
//! trả lời" (page and `GET /api/v1/stats/residence`) equals SQL written here over the raw rows,
//! within the account's units, with the small-cell rule for unit accounts.
//!
//! Unit names are made up ("Xã Thử Nghiệm A", ...): no real old→new commune mapping.

use crate::common;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Datelike;
use common::{TempDir, TestApp, full_answers, hidden_field, with_hidden};
use serde_json::Value;
use sipas::auth::Scope;
use sipas::export::{self, ExportFormat, SpecRequest, UnitRef};

const FORM: &str = "sipas-1001-dich-vu";
const XUAN_BAC: &str = "xuan-loc.xuan-bac";
const GIA_RAY: &str = "xuan-loc.gia-ray";
const FIELD: &str = "NOI_CU_TRU";

/// The made-up units of a test: two current places, one that ended on 1 July 2025, and a
/// department (not a place of residence). Returns their ids.
struct Places {
    a: i32,
    b: i32,
    ended: i32,
    department: i32,
}

async fn add_places(app: &TestApp) -> Places {
    let sql = app.sql().await;
    let parent: i32 = sql
        .query_one("SELECT parent_id FROM units WHERE code = $1", &[&XUAN_BAC])
        .await
        .unwrap()
        .get(0);
    let add = |code: &'static str,
               name: &'static str,
               kind: &'static str,
               admin: Option<&'static str>,
               until: Option<&'static str>| {
        let sql = &sql;
        async move {
            sql.query_one(
                "INSERT INTO units (parent_id, code, name, kind, admin_code, valid_until) \
                 VALUES ($1, $2, $3, $4, $5, $6::text::date) RETURNING id",
                &[&parent, &code, &name, &kind, &admin, &until],
            )
            .await
            .unwrap()
            .get::<_, i32>(0)
        }
    };
    Places {
        a: add(
            "thu-nghiem-a",
            "Xã Thử Nghiệm A",
            "commune",
            Some("99901"),
            None,
        )
        .await,
        b: add(
            "thu-nghiem-b",
            "Phường Thử Nghiệm B",
            "ward",
            Some("99902"),
            None,
        )
        .await,
        ended: add(
            "thu-nghiem-c",
            "Xã Thử Nghiệm C",
            "commune",
            Some("99903"),
            Some("2025-07-01"),
        )
        .await,
        department: add("thu-nghiem-p", "Phòng Thử Nghiệm", "department", None, None).await,
    }
}

/// A citizen opens desk `code`'s form, answers every criterion with `score` and the place of
/// residence with `residence` (left out when `None`), and sends it. Returns the key, status
/// and page.
async fn answer(
    app: &TestApp,
    code: &str,
    score: &str,
    residence: Option<&str>,
) -> (String, u16, String) {
    let (_, token, version) = app.open_survey(code).await;
    let mut fields = full_answers(score);
    if let Some(place) = residence {
        fields.push((FIELD, place.to_string()));
    }
    let response = app
        .post_form(
            &format!("/s/{code}"),
            &with_hidden(&token, &version, &fields),
        )
        .await;
    let status = response.status().as_u16();
    (token, status, response.text().await.unwrap())
}

/// The stored (residence_unit_id, residence_code) of the response with `key`, if stored.
async fn stored(app: &TestApp, key: &str) -> Option<(Option<i32>, Option<i16>)> {
    app.sql()
        .await
        .query_opt(
            "SELECT residence_unit_id, residence_code FROM responses \
             WHERE submission_key = $1::text::uuid",
            &[&key],
        )
        .await
        .unwrap()
        .map(|row| (row.get(0), row.get(1)))
}

fn this_year() -> i32 {
    (chrono::Utc::now() + chrono::Duration::hours(7)).year()
}

#[tokio::test]
async fn the_form_offers_the_current_places_and_stores_the_answer() {
    let app = TestApp::spawn().await;
    let places = add_places(&app).await;
    let code = app.desk_code(XUAN_BAC).await;
    let (html, _, _) = app.open_survey(&code).await;
    // One labelled select, grouped by the parent unit, with the two other answers.
    assert!(
        html.contains(&format!("<label for=\"r-{FIELD}\">")),
        "{html}"
    );
    assert!(html.contains(&format!("<select id=\"r-{FIELD}\" name=\"{FIELD}\">")));
    assert!(
        html.contains("<optgroup label=\"Huyện Xuân Lộc\">") || html.contains("<optgroup label=")
    );
    assert!(html.contains(&format!(
        "<option value=\"{}\">Xã Thử Nghiệm A</option>",
        places.a
    )));
    assert!(html.contains(&format!(
        "<option value=\"{}\">Phường Thử Nghiệm B</option>",
        places.b
    )));
    assert!(
        !html.contains("Xã Thử Nghiệm C"),
        "an ended commune is not offered"
    );
    assert!(
        !html.contains("Phòng Thử Nghiệm"),
        "a department is not a place of residence"
    );
    assert!(html.contains("<option value=\"khac\">Nơi khác</option>"));
    assert!(html.contains("<option value=\"tu-choi\">Không muốn trả lời</option>"));
    assert!(!html.contains("<script"));

    let a = places.a.to_string();
    for (residence, expected) in [
        (Some(a.as_str()), (Some(places.a), None)),
        (None, (None, None)),
        (Some(""), (None, None)),
        (Some("khac"), (None, Some(-1))),
        (Some("tu-choi"), (None, Some(-2))),
    ] {
        let (key, status, page) = answer(&app, &code, "4", residence).await;
        assert_eq!(status, 200, "{residence:?}: {page}");
        assert_eq!(stored(&app, &key).await, Some(expected), "{residence:?}");
    }
}

#[tokio::test]
async fn hostile_values_are_refused_at_the_question_or_stored_as_nothing() {
    let app = TestApp::spawn().await;
    let places = add_places(&app).await;
    let code = app.desk_code(XUAN_BAC).await;
    let before = app.response_count().await;
    // Not a value the form offers: refused at the question, the answers kept, nothing stored.
    for garbage in [
        "abc",
        "1 OR 1=1",
        "-5",
        "0",
        "99999999999999",
        "<script>alert(1)</script>",
        "١٢",
        "nơi khác",
    ] {
        let (_, status, page) = answer(&app, &code, "4", Some(garbage)).await;
        assert_eq!(status, 422, "{garbage}");
        assert!(page.contains("Phiếu chưa được gửi."), "{garbage}");
        assert!(
            page.contains(&format!("href=\"#q-{FIELD}\"")),
            "{garbage}: {page}"
        );
        assert!(page.contains("Câu trả lời không hợp lệ. Vui lòng chọn lại."));
        assert!(
            page.contains("name=\"TC1\" value=\"4\" required checked"),
            "answers kept"
        );
        assert!(!page.contains("<script>alert"), "escaped");
    }
    // Two places at once.
    let (_, token, version) = app.open_survey(&code).await;
    let mut fields = full_answers("4");
    fields.push((FIELD, places.a.to_string()));
    fields.push((FIELD, places.b.to_string()));
    let twice = app
        .post_form(
            &format!("/s/{code}"),
            &with_hidden(&token, &version, &fields),
        )
        .await;
    assert_eq!(twice.status(), 422);
    assert_eq!(app.response_count().await, before, "nothing stored");

    // Well formed, but not a current commune, ward or town: the response is kept, without a
    // place (an optional field is not worth the citizen's whole response).
    for unit in [places.ended, places.department, 2_000_000_000] {
        let (key, status, page) = answer(&app, &code, "4", Some(&unit.to_string())).await;
        assert_eq!(status, 200, "{unit}: {page}");
        assert_eq!(stored(&app, &key).await, Some((None, None)), "{unit}");
    }
    // Straight in SQL too (the trigger is the rule, whatever the path).
    let sql = app.sql().await;
    sql.execute(
        "UPDATE responses SET residence_unit_id = $1 WHERE id = (SELECT max(id) FROM responses)",
        &[&places.ended],
    )
    .await
    .unwrap();
    assert_eq!(
        app.count("SELECT count(*) FROM responses WHERE residence_unit_id IS NOT NULL")
            .await,
        0
    );
    let both = sql
        .execute(
            "UPDATE responses SET residence_unit_id = $1, residence_code = -1 \
             WHERE id = (SELECT max(id) FROM responses)",
            &[&places.a],
        )
        .await;
    assert!(both.is_err(), "a unit and a code at once break the CHECK");
}

#[tokio::test]
async fn the_spool_carries_the_place_while_the_database_is_down() {
    let tmp = TempDir::new("residence-spool");
    let spool_dir = tmp.path().join("spool");
    let database = common::TestDatabase::create().await;
    let name = database.name.clone();
    let spool = spool_dir.clone();
    let app = TestApp::spawn_on(database, move |url| {
        let mut config = common::test_config(url);
        config.spool_dir = Some(spool.to_path_buf());
        config.db_pool_timeout = Duration::from_millis(500);
        config.db_pool_size = 8;
        config
    })
    .await;
    let places = add_places(&app).await;
    let code = app.desk_code(XUAN_BAC).await;
    let (html, token, version) = app.open_survey(&code).await;
    assert!(html.contains("Xã Thử Nghiệm A"));

    common::cut_off(&name, false).await;
    // The form still renders (with the places last read) ...
    let down = app.get(&format!("/s/{code}")).await;
    assert_eq!(down.status(), 200);
    assert!(down.text().await.unwrap().contains("Xã Thử Nghiệm A"));
    // ... and the answer is thanked and spooled with its place.
    let mut fields = full_answers("5");
    let a = places.a.to_string();
    fields.push((FIELD, a.clone()));
    let sent = app
        .post_form(
            &format!("/s/{code}"),
            &with_hidden(&token, &version, &fields),
        )
        .await;
    assert_eq!(sent.status(), 200);
    assert!(sent.text().await.unwrap().contains("Cảm ơn"));
    let spooled = std::fs::read_to_string(spool_dir.join(sipas::spool::CURRENT_FILE)).unwrap();
    assert!(
        spooled.contains(&format!("\"residence_unit_id\":{a}")),
        "{spooled}"
    );

    common::cut_off(&name, true).await;
    let started = std::time::Instant::now();
    loop {
        if let Some(found) = stored(&app, &token).await {
            assert_eq!(found, (Some(places.a), None));
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "not replayed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Per place (`residence_unit_id`, `residence_code`): responses and the SIPAS index of the
/// responses served by `units` (those the published figures count: not excluded by a review,
/// docs/fraud rules), written here independently from the raw rows: per criterion
/// (items of the sections with role "factor") the share of answers 4 or 5 (the `positive`
/// codes of `hai-long-5` in survey-forms/sipas-1001-dich-vu.toml) among the answers above 0
/// (0 is "Không áp dụng"), the mean per factor, then the mean of the factors.
async fn expected(
    app: &TestApp,
    units: &[i32],
) -> BTreeMap<(Option<i32>, Option<i16>), (i64, Option<f64>)> {
    let rows = app
        .sql()
        .await
        .query(
            "WITH r AS (SELECT * FROM responses x WHERE unit_id = ANY($1) AND NOT EXISTS \
                 (SELECT 1 FROM response_reviews rv WHERE rv.response_id = x.id AND rv.excluded)), \
             n AS (SELECT residence_unit_id u, residence_code c, count(*) n FROM r GROUP BY 1, 2), \
             a AS (SELECT r.residence_unit_id u, r.residence_code c, fi.section_code s, fi.code item, \
                          v.value FROM r \
                   CROSS JOIN LATERAL unnest(r.answers) WITH ORDINALITY v(value, i) \
                   JOIN form_items fi ON fi.form_version_id = r.form_version_id AND fi.answer_index = v.i \
                   WHERE fi.section_role = 'factor' AND v.value > 0), \
             crit AS (SELECT u, c, s, item, avg((value IN (4, 5))::int::float8) share FROM a GROUP BY 1, 2, 3, 4), \
             fac AS (SELECT u, c, s, avg(share) f FROM crit GROUP BY 1, 2, 3), \
             idx AS (SELECT u, c, avg(f) i FROM fac GROUP BY 1, 2) \
             SELECT n.u, n.c, n.n, idx.i FROM n LEFT JOIN idx \
               ON idx.u IS NOT DISTINCT FROM n.u AND idx.c IS NOT DISTINCT FROM n.c",
            &[&units],
        )
        .await
        .unwrap();
    rows.iter()
        .map(|r| ((r.get(0), r.get(1)), (r.get(2), r.get(3))))
        .collect()
}

/// The API's rows by (code, kind) → (responses as JSON, index).
fn api_rows(body: &Value) -> BTreeMap<(Option<i64>, String), (Value, Option<f64>)> {
    body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                (r["code"].as_i64(), r["kind"].as_str().unwrap().to_string()),
                (r["responses"].clone(), r["index"].as_f64()),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_table_by_residence_equals_sql_within_the_units_and_hides_small_cells() {
    let app = TestApp::spawn().await;
    let places = add_places(&app).await;
    // Realistic responses at every demo desk over the first quarter of last year (the demo's
    // generator: varied answers, spread over working days), then places of residence given
    // to them in SQL: two of Xuân Bắc's live in B (a small cell), every third of the rest in
    // A, every third "Nơi khác", the others no answer; elsewhere every second lives in A.
    let year = this_year() - 1;
    let mut conn = app.pool.get().await.unwrap();
    let generated = sipas::demo::generate_responses(
        &mut conn,
        &app.forms,
        &sipas::demo::ResponseSpec {
            seed: 19,
            count: 400,
            first: 0,
            from: chrono::NaiveDate::from_ymd_opt(year, 1, 1).unwrap(),
            to: chrono::NaiveDate::from_ymd_opt(year, 3, 31).unwrap(),
        },
    )
    .await
    .unwrap();
    assert_eq!(generated.inserted, 400);
    drop(conn);
    let bac_id = app.unit_id(XUAN_BAC).await;
    let ray_id = app.unit_id(GIA_RAY).await;
    let sql = app.sql().await;
    sql.execute(
        "WITH ranked AS (SELECT id, row_number() OVER (ORDER BY id) AS k FROM responses \
                         WHERE unit_id = $1) \
         UPDATE responses r SET \
             residence_unit_id = CASE WHEN k <= 2 THEN $3::int4 WHEN k % 3 = 0 THEN $2::int4 END, \
             residence_code = CASE WHEN k > 2 AND k % 3 = 1 THEN -1::int2 END \
         FROM ranked WHERE ranked.id = r.id",
        &[&bac_id, &places.a, &places.b],
    )
    .await
    .unwrap();
    sql.execute(
        "UPDATE responses SET residence_unit_id = $2 WHERE unit_id <> $1 AND id % 2 = 0",
        &[&bac_id, &places.a],
    )
    .await
    .unwrap();
    app.settle_rollups().await;
    let served_bac = app
        .count(&format!(
            "SELECT count(*) FROM responses WHERE unit_id = {bac_id}"
        ))
        .await;
    assert!(served_bac >= 12, "Xuân Bắc served {served_bac}");

    // An admin: exact figures, equal to the SQL above.
    let admin = app.staff_with_role("qt.noi.tru", "admin", &[]).await;
    let response = admin
        .get(&format!(
            "/api/v1/stats/residence?year={year}&unit={bac_id}"
        ))
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(body["unit_id"], bac_id);
    assert_eq!(body["asked"], true);
    assert_eq!(body["protected"], false);
    let want = expected(&app, &[bac_id]).await;
    let got = api_rows(&body);
    assert_eq!(got.len(), want.len(), "{body}");
    let key_of = |unit: &Option<i32>, code: &Option<i16>| match (unit, code) {
        (Some(u), _) => (Some(i64::from(*u)), "unit".to_string()),
        (None, Some(-1)) => (Some(-1), "elsewhere".to_string()),
        (None, Some(-2)) => (Some(-2), "declined".to_string()),
        (None, Some(c)) => (Some(i64::from(*c)), "listed".to_string()),
        (None, None) => (None, "unanswered".to_string()),
    };
    for ((unit, code), (n, index)) in &want {
        let key = key_of(unit, code);
        let (count, shown) = &got[&key];
        assert_eq!(count.as_i64(), Some(*n), "{key:?}");
        match (shown, index) {
            (Some(x), Some(y)) => assert!((x - y).abs() < 1e-9, "{key:?}: {x} ≠ {y}"),
            (x, y) => assert_eq!(x, y, "{key:?}"),
        }
    }
    assert_eq!(want[&(Some(places.b), None)].0, 2, "{want:?}");
    let total: i64 = want.values().map(|(n, _)| n).sum();
    assert_eq!(body["total"], total);
    // The name and official code of a place.
    let row_a = body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == places.a)
        .unwrap();
    assert_eq!(row_a["name"], "Xã Thử Nghiệm A");
    assert_eq!(row_a["admin_code"], "99901");

    // Gia Ray's table holds Gia Ray's responses only.
    let ray_body: Value = admin
        .get(&format!(
            "/api/v1/stats/residence?year={year}&unit={ray_id}"
        ))
        .await
        .text()
        .await
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    let ray_want = expected(&app, &[ray_id]).await;
    let ray_total: i64 = ray_want.values().map(|(n, _)| n).sum();
    assert_eq!(ray_body["total"], ray_total);
    assert_eq!(
        api_rows(&ray_body)[&(Some(i64::from(places.a)), "unit".into())].0,
        ray_want[&(Some(places.a), None)].0
    );

    // A unit account of Xuân Bắc: B's 2 respondents are "< 5", and with them the next
    // smallest so that B cannot be computed back from the total; no index for hidden rows;
    // the rows shown are exact.
    let unit = app
        .staff_with_role("can.bo.xuan.bac", "unit", &[XUAN_BAC])
        .await;
    let mine: Value = unit
        .get(&format!("/api/v1/stats/residence?year={year}"))
        .await
        .text()
        .await
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap();
    assert_eq!(mine["protected"], true, "{mine}");
    let rows = api_rows(&mine);
    let b_key = (Some(i64::from(places.b)), "unit".to_string());
    assert_eq!(rows[&b_key].0, "< 5", "{mine}");
    assert_eq!(rows[&b_key].1, None);
    let hidden = rows.values().filter(|(n, _)| n == "< 5").count();
    assert!(hidden >= 2, "B alone could be computed back: {mine}");
    for ((unit_id, code), (n, _)) in &want {
        let (shown, index) = &rows[&key_of(unit_id, code)];
        if shown == "< 5" {
            assert_eq!(*index, None);
        } else {
            assert_eq!(shown.as_i64(), Some(*n));
        }
    }
    // Gia Ray is not the account's.
    let other = unit
        .get(&format!(
            "/api/v1/stats/residence?year={year}&unit={ray_id}"
        ))
        .await;
    assert_eq!(other.status(), 404);
    // Parameters of /v1/stats that do not apply here are refused by name.
    for bad in ["attr=GIOI_TINH:1", "kind=commune", "nonsense=1"] {
        let refused = admin
            .get(&format!("/api/v1/stats/residence?year={year}&{bad}"))
            .await;
        assert_eq!(refused.status(), 400, "{bad}");
    }

    // The unit page shows the same table.
    let page = unit
        .get(&format!("/staff/stats/units/{bac_id}?year={year}"))
        .await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Theo nơi cư trú của người trả lời"), "{html}");
    let text = common::html_text(&html);
    assert!(text.contains("Xã Thử Nghiệm A"), "{text}");
    assert!(text.contains("Nơi khác"));
}

#[tokio::test]
async fn the_exports_carry_the_place_and_pspp_reads_them() {
    let app = TestApp::spawn().await;
    let places = add_places(&app).await;
    let code = app.desk_code(XUAN_BAC).await;
    let a = places.a.to_string();
    let keys = [
        answer(&app, &code, "4", Some(&a)).await.0,
        answer(&app, &code, "4", Some("khac")).await.0,
        answer(&app, &code, "4", Some("tu-choi")).await.0,
        answer(&app, &code, "4", None).await.0,
    ];
    app.settle_rollups().await;
    let mut conn = app.pool.get().await.unwrap();
    let spec = export::ExportSpec::resolve(
        &mut conn,
        &app.forms,
        FORM,
        Scope::All,
        &SpecRequest {
            year: this_year(),
            unit: Some(UnitRef::Code(XUAN_BAC.into())),
            ..SpecRequest::default()
        },
    )
    .await
    .unwrap();
    drop(conn);
    let dir = TempDir::new("residence-export");
    let zip_path = app.export(&spec, ExportFormat::Bundle, &dir).await;
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    let data = dir.path().join("data");
    zip.extract(&data).unwrap();

    // The CSV: code, official code and name.
    let csv_bytes = std::fs::read(data.join(export::data_file_name(&spec))).unwrap();
    let mut reader = csv::Reader::from_reader(&csv_bytes[3..]);
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
    };
    let (code_col, ma, ten) = (col(FIELD), col("NOI_CU_TRU_MA"), col("NOI_CU_TRU_TEN"));
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), keys.len());
    let got: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| (&r[code_col], &r[ma], &r[ten]))
        .collect();
    assert_eq!(
        got,
        [
            (a.as_str(), "99901", "Xã Thử Nghiệm A"),
            ("-1", "", "Nơi khác"),
            ("-2", "", "Không muốn trả lời"),
            ("", "", ""),
        ]
    );

    // The syntax labels the codes and declares "Không muốn trả lời" missing; PSPP runs it.
    let sps_name = export::file_name(&spec, ExportFormat::Sps);
    let mut syntax = std::fs::read_to_string(data.join(&sps_name)).unwrap();
    assert!(
        syntax.contains(&format!("{a} 'Xã Thử Nghiệm A'")),
        "{syntax}"
    );
    assert!(
        syntax.contains("-1 'Nơi khác' -2 'Không muốn trả lời'"),
        "{syntax}"
    );
    assert!(syntax.contains(&format!("  {FIELD} (-2)")), "{syntax}");
    if std::process::Command::new("pspp")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var("SIPAS_SKIP_TOOLS").as_deref() == Ok("1"),
            "pspp is needed (apt-get install pspp), or SIPAS_SKIP_TOOLS=1"
        );
        return;
    }
    syntax.push_str(
        "SAVE TRANSLATE /OUTFILE='read-back.csv' /TYPE=CSV /REPLACE /FIELDNAMES /CELLS=LABELS.\n\
         FREQUENCIES /VARIABLES=NOI_CU_TRU.\n",
    );
    std::fs::write(data.join("check.sps"), syntax).unwrap();
    let output = std::process::Command::new("pspp")
        .args(["check.sps", "-o", "listing.csv"])
        .current_dir(&data)
        .output()
        .unwrap();
    let listing = format!(
        "{}{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        std::fs::read_to_string(data.join("listing.csv")).unwrap_or_default()
    );
    assert!(output.status.success(), "{listing}");
    let lower = listing.to_lowercase();
    assert!(
        !lower.contains("error") && !lower.contains("warning"),
        "PSPP complained:\n{listing}"
    );
    let read_back = std::fs::read(data.join("read-back.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(read_back.as_slice());
    let names: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let at = names.iter().position(|h| h == FIELD).unwrap();
    let labels: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[at].trim().to_string())
        .collect();
    assert_eq!(labels[0], "Xã Thử Nghiệm A");
    assert_eq!(labels[1], "Nơi khác");
    assert_eq!(labels[2], "Không muốn trả lời");
    // The hidden field of the survey page is what the CSV's code is.
    let (html, _, _) = app.open_survey(&code).await;
    assert!(!hidden_field(&html, "_v").is_empty());
}

/// The table by residence reads every response of the unit (no rollup holds it): a unit with
/// more responses in the period than `TABLE_INLINE_MAX` gets a link on its page instead,
/// which computes it when followed; the figures are the same.
#[tokio::test]
async fn a_unit_with_many_responses_offers_its_table_by_residence_on_request() {
    let app = TestApp::spawn().await;
    let places = add_places(&app).await;
    // Honest responses: no fraud signal leaves any out.
    app.sql()
        .await
        .batch_execute(
            "UPDATE fraud_rules SET desk_burst_min = 1000000, client_burst_min = 1000000, \
             identical_run_desk = 1000000, identical_run_client = 1000000, \
             straight_min_criteria = 1000, min_seconds_base = 0, min_seconds_per_item = 0",
        )
        .await
        .unwrap();
    let bac_id = app.unit_id(XUAN_BAC).await;
    let year = this_year() - 1;
    let many = sipas::app::residence::TABLE_INLINE_MAX as i64 + 1;
    // `many` responses of Xuân Bắc over last year's first quarter, every criterion answered
    // "satisfied" (4 on the QĐ 1001 scale; PA "not applicable"), one in three living in A.
    app.sql()
        .await
        .execute(
            "WITH v AS (SELECT id FROM form_versions WHERE form_id = $1 ORDER BY id DESC LIMIT 1),
                  a AS (SELECT array_agg(CASE WHEN section_role = 'factor' AND code LIKE 'PA%'
                                              THEN 0::int2
                                              WHEN section_role = 'factor' THEN 4::int2 END
                                         ORDER BY answer_index) AS answers
                        FROM form_items, v
                        WHERE form_version_id = v.id AND answer_index IS NOT NULL)
             INSERT INTO responses (submission_key, unit_id, form_version_id, channel,
                                    submitted_at, answers, residence_unit_id)
             SELECT gen_random_uuid(), $2, v.id, 'interview',
                    make_timestamptz($3, 1, 2, 8, 0, 0, 'Asia/Ho_Chi_Minh')
                        + (k % 80) * interval '1 day' + (k % 480) * interval '1 minute',
                    a.answers, CASE WHEN k % 3 = 0 THEN $4::int4 END
             FROM generate_series(1, $5::int8) AS k, v, a",
            &[&FORM, &bac_id, &year, &places.a, &many],
        )
        .await
        .unwrap();
    app.settle_rollups().await;
    let admin = app.staff_with_role("qt.noi.tru.lon", "admin", &[]).await;
    let path = format!("/staff/stats/units/{bac_id}?year={year}&form={FORM}");
    let page = admin.get(&path).await;
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    let section = html
        .split("id=\"noi-cu-tru\"")
        .nth(1)
        .and_then(|s| s.split("</section>").next())
        .expect("the section by residence");
    assert!(!section.contains("residence-table"), "{section}");
    let text = common::html_text(section);
    assert!(text.contains("Đơn vị có 10.001 phiếu trong kỳ"), "{text}");
    let link = section
        .split("href=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the link asking for the table")
        .replace("&amp;", "&");
    assert!(link.ends_with("&noi_cu_tru=1#noi-cu-tru"), "{link}");

    let asked = admin.get(link.trim_end_matches("#noi-cu-tru")).await;
    assert_eq!(asked.status().as_u16(), 200);
    let html = asked.text().await.unwrap();
    let table = html
        .split("residence-table")
        .nth(1)
        .and_then(|s| s.split("</table>").next())
        .expect("the table, computed on request");
    let text = common::html_text(table);
    // 3,333 of the 10,001 live in A; every answer is satisfied: 100 %.
    assert!(text.contains("10.001 phiếu"), "{text}");
    assert!(text.contains("Xã Thử Nghiệm A"), "{text}");
    assert!(text.contains("3.333"), "{text}");
    assert!(text.contains("100,00%"), "{text}");
}
