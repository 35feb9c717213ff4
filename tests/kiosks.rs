//! Kiosks (issue 6, "one response per visit"): the kiosk door `/k/{desk code}` takes responses
//! only from a tablet that staff enrolled as the desk's kiosk, on the tablet itself (which signs
//! them out there); a revoked tablet, another desk's tablet, a forged cookie and every other
//! device are turned away with nothing stored. An enrolled tablet keeps working through a
//! database outage (its responses spooled), as the open QR does.

use crate::common;

use std::time::Duration;

use common::{TestApp, full_answers, hidden_field, test_config};
use sipas::views::survey::NOT_A_KIOSK_TITLE;

const XUAN_BAC: &str = "xuan-loc.xuan-bac";
const XUAN_DINH: &str = "xuan-loc.xuan-dinh";
const LABEL: &str = "Máy tính bảng quầy 1";

/// The page at `path` as `client` gets it (200 expected).
async fn page(app: &TestApp, client: &reqwest::Client, path: &str) -> String {
    let response = client
        .get(format!("{}{path}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

/// Opens the form at `path` with `client` and sends it back complete: the response.
async fn answer(app: &TestApp, client: &reqwest::Client, path: &str) -> reqwest::Response {
    let html = page(app, client, path).await;
    send(app, client, path, &html).await
}

/// Sends back the form `html` (as rendered for `path`) with every question answered.
async fn send(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    html: &str,
) -> reqwest::Response {
    let (token, version, started) = (
        hidden_field(html, "_token"),
        hidden_field(html, "_v"),
        hidden_field(html, "_t"),
    );
    let answers = full_answers("4");
    let mut fields: Vec<(&str, &str)> = vec![
        ("_token", &token),
        ("_v", &version),
        ("_t", &started),
        ("_hp", ""),
    ];
    fields.extend(answers.iter().map(|(k, v)| (*k, v.as_str())));
    client
        .post(format!("{}{path}", app.address))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(&fields).unwrap())
        .send()
        .await
        .unwrap()
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The refusal page: 403, in Vietnamese, pointing to the desk's open form.
async fn assert_turned_away(response: reqwest::Response, code: &str) {
    assert_eq!(response.status(), 403);
    let html = response.text().await.unwrap();
    assert!(html.contains(NOT_A_KIOSK_TITLE), "{html}");
    assert!(html.contains(&format!("href=\"/s/{code}\"")), "{html}");
}

#[tokio::test]
async fn a_device_that_is_not_an_enrolled_kiosk_is_turned_away() {
    let app = TestApp::spawn().await;
    let code = app.desk_code(XUAN_BAC).await;
    let kiosk = format!("/k/{code}");
    let phone = browser();
    assert_turned_away(
        phone
            .get(format!("{}{kiosk}", app.address))
            .send()
            .await
            .unwrap(),
        &code,
    )
    .await;
    // A complete form of this desk, sent to the kiosk door: refused, nothing stored.
    let open = page(&app, &phone, &format!("/s/{code}")).await;
    assert_turned_away(send(&app, &phone, &kiosk, &open).await, &code).await;
    // Cookies that name a kiosk without its secret: refused alike.
    let enrolled = app.kiosk_client("may.that", &code).await;
    assert_eq!(answer(&app, &enrolled, &kiosk).await.status(), 200);
    let id = app.count("SELECT id::int8 FROM kiosks").await;
    for forged in [
        format!("{id}.{}", "00".repeat(32)),
        format!("{id}"),
        "garbage".to_string(),
    ] {
        let response = reqwest::Client::new()
            .get(format!("{}{kiosk}", app.address))
            .header("Cookie", format!("sipas_kiosk={forged}"))
            .send()
            .await
            .unwrap();
        assert_turned_away(response, &code).await;
    }
    assert_eq!(app.response_count().await, 1);
    // The desk's open form still takes the phone's answers.
    assert_eq!(
        send(&app, &phone, &format!("/s/{code}"), &open)
            .await
            .status(),
        200
    );
    assert_eq!(app.response_count().await, 2);
}

#[tokio::test]
async fn staff_enrol_a_tablet_on_it_and_revoke_it() {
    let app = TestApp::spawn().await;
    let code = app.desk_code(XUAN_BAC).await;
    let desk = app.desk_id(&code).await;
    let kiosk = format!("/k/{code}");
    let tablet = app
        .staff_with_role("can.bo.xuan.bac", "unit", &[XUAN_BAC])
        .await;
    let page = tablet.get(&format!("/staff/desks/{desk}")).await;
    let html = page.text().await.unwrap();
    assert!(html.contains("Quầy chưa có máy đánh giá nào."), "{html}");
    assert!(
        html.contains("Đăng ký thiết bị này làm máy đánh giá"),
        "{html}"
    );

    let enrolled = tablet
        .post(&format!("/staff/desks/{desk}/kiosks"), &[("label", LABEL)])
        .await;
    assert_eq!(enrolled.status(), 303);
    assert_eq!(enrolled.headers()["location"], kiosk.as_str());
    let cookie = enrolled
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("sipas_kiosk="))
        .expect("the kiosk's cookie");
    assert!(
        cookie.contains("Path=/k/") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    // The tablet is no longer signed in.
    let staff_area = tablet.get("/staff").await;
    assert_eq!(staff_area.status(), 303);
    assert!(
        staff_area.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/sign-in")
    );
    // Only the secret's hash is stored, with who enrolled the tablet.
    let secret = cookie
        .trim_start_matches("sipas_kiosk=")
        .split(';')
        .next()
        .unwrap()
        .split_once('.')
        .unwrap()
        .1
        .to_string();
    let row = app
        .sql()
        .await
        .query_one(
            "SELECT k.label, a.username, k.secret_hash = sha256(decode($1, 'hex')), \
                    position(decode($1, 'hex') IN k.secret_hash) = 0 \
             FROM kiosks k JOIN accounts a ON a.id = k.enrolled_by",
            &[&secret],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), LABEL);
    assert_eq!(row.get::<_, String>(1), "can.bo.xuan.bac");
    assert!(row.get::<_, bool>(2) && row.get::<_, bool>(3));
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = \'kiosk.enrol\'")
            .await,
        1
    );

    // The tablet takes responses, and comes back to a fresh form after each.
    let thanks = answer(&app, &tablet.client, &kiosk).await;
    assert_eq!(thanks.status(), 200);
    let html = thanks.text().await.unwrap();
    assert!(
        html.contains(&format!("content=\"8;url={kiosk}\"")),
        "{html}"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM responses WHERE via = 'kiosk' AND channel = 'kiosk'")
            .await,
        1
    );
    // It is not another desk's kiosk.
    let other = app.desk_code(XUAN_DINH).await;
    assert_turned_away(tablet.get(&format!("/k/{other}")).await, &other).await;

    // An admin sees it on the desk page, and revokes it.
    let admin = app.staff_with_role("qt.phong.noi.vu", "admin", &[]).await;
    let html = admin
        .get(&format!("/staff/desks/{desk}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(LABEL) && html.contains("Đang dùng"), "{html}");
    // When it was last used: noted by its requests (at most once per five minutes).
    let seen: bool = app
        .sql()
        .await
        .query_one(
            "SELECT last_seen_at BETWEEN now() - interval '1 minute' AND now() FROM kiosks",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(seen);
    assert!(!html.contains("Chưa dùng"), "{html}");
    // The office sees the minute; the unit's staff the day only: the minute a tablet was last
    // used is the minute of the desk's latest response (issue 15).
    let last_used = |html: &str| -> String {
        let start = html.find(LABEL).expect("the kiosk's row");
        let row = &html[start
            ..html[start..]
                .find("</tr>")
                .map_or(html.len(), |e| start + e)];
        row.split("<td>")
            .nth(3)
            .unwrap_or("")
            .split("</td>")
            .next()
            .unwrap_or("")
            .to_string()
    };
    let today = sipas::plans::today_in_vietnam()
        .format("%d/%m/%Y")
        .to_string();
    let shown = last_used(&html);
    assert!(shown.contains(':') && shown.contains(&today), "{shown}");
    let unit = app
        .staff_with_role("can.bo.don.vi", "unit", &[XUAN_BAC])
        .await;
    let unit_html = unit
        .get(&format!("/staff/desks/{desk}"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        last_used(&unit_html),
        format!("ngày {today}"),
        "{unit_html}"
    );
    let form_before = tablet.get(&kiosk).await.text().await.unwrap();
    let id = app.count("SELECT id::int8 FROM kiosks").await;
    let revoke = format!("/staff/desks/{desk}/kiosks/{id}/revoke");
    let revoked = admin.post(&revoke, &[]).await;
    assert_eq!(revoked.status(), 303);
    assert_eq!(
        revoked.headers()["location"],
        format!("/staff/desks/{desk}?ok=kiosk_revoked").as_str()
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = \'kiosk.revoke\'")
            .await,
        1
    );
    let html = admin
        .get(&format!("/staff/desks/{desk}?ok=kiosk_revoked"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Đã thu hồi máy đánh giá") && html.contains("Đã thu hồi ("));
    // The revoked tablet: turned away, also with the form it had open.
    assert_turned_away(tablet.get(&kiosk).await, &code).await;
    assert_turned_away(
        send(&app, &tablet.client, &kiosk, &form_before).await,
        &code,
    )
    .await;
    assert_eq!(app.response_count().await, 1);
    // Revoking again changes nothing.
    assert_eq!(admin.post(&revoke, &[]).await.status(), 303);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = \'kiosk.revoke\'")
            .await,
        1
    );
}

#[tokio::test]
async fn enrolling_needs_a_label_and_an_open_desk() {
    let app = TestApp::spawn().await;
    let code = app.desk_code(XUAN_BAC).await;
    let desk = app.desk_id(&code).await;
    let staff = app
        .staff_with_role("can.bo.xuan.bac", "unit", &[XUAN_BAC])
        .await;
    let enrol = format!("/staff/desks/{desk}/kiosks");
    let long = "M".repeat(101);
    for (label, message) in [
        ("   ", "Vui lòng nhập tên thiết bị."),
        (long.as_str(), "Tên thiết bị dài tối đa 100 ký tự."),
    ] {
        let refused = staff.post(&enrol, &[("label", label)]).await;
        assert_eq!(refused.status(), 422);
        let html = refused.text().await.unwrap();
        assert!(html.contains(message), "{html}");
    }
    let deactivated = staff
        .post(&format!("/staff/desks/{desk}/deactivate"), &[])
        .await;
    assert_eq!(deactivated.status(), 303);
    let refused = staff.post(&enrol, &[("label", LABEL)]).await;
    assert_eq!(refused.status(), 422);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Quầy đang ngừng hoạt động: không thể đăng ký máy đánh giá.")
    );
    assert_eq!(app.count("SELECT count(*) FROM kiosks").await, 0);
    // Still signed in: nothing was enrolled.
    assert_eq!(staff.get("/staff").await.status(), 200);
}

#[tokio::test]
async fn an_enrolled_tablet_keeps_taking_responses_through_an_outage() {
    let tmp = common::TempDir::new("kiosk-outage");
    let spool = tmp.path().join("spool");
    let database = common::TestDatabase::create().await;
    let name = database.name.clone();
    let app = TestApp::spawn_on(database, move |url| {
        let mut config = test_config(url);
        config.spool_dir = Some(spool.clone());
        config.db_pool_timeout = Duration::from_millis(500);
        config
    })
    .await;
    let code = app.desk_code(XUAN_BAC).await;
    let kiosk = format!("/k/{code}");
    let tablet = app.kiosk_client("may.xuan.bac", &code).await;
    let form = page(&app, &tablet, &kiosk).await;
    // A device enrolled, but not yet seen by this instance.
    let unverified = app.kiosk_client("may.2.xuan.bac", &code).await;

    let admin = common::admin_client().await;
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {name} ALLOW_CONNECTIONS false; \
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ))
        .await
        .unwrap();
    let thanks = send(&app, &tablet, &kiosk, &form).await;
    assert_eq!(thanks.status(), 200);
    assert!(thanks.text().await.unwrap().contains("Cảm ơn Anh/Chị"));
    assert_eq!(
        unverified
            .get(format!("{}{kiosk}", app.address))
            .send()
            .await
            .unwrap()
            .status(),
        503
    );
    admin
        .batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while app
        .count("SELECT count(*) FROM responses WHERE via = 'kiosk'")
        .await
        < 1
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the spool was not replayed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.response_count().await, 1);
}
