//! One-time codes ("mã đánh giá", issue 6): minted by staff or through the API, printed as slips
//! whose QR codes decode to `/v/{code}`, accepted once, even when two submissions race.

use crate::common;

use std::collections::BTreeSet;

use common::{StaffClient, TestApp, full_answers, hidden_field, with_hidden};

const XUAN_BAC: &str = "xuan-loc.xuan-bac";
const XUAN_DINH: &str = "xuan-loc.xuan-dinh";
const PUBLIC: &str = "https://hailong.example.gov.vn";

async fn desk_id(app: &TestApp, unit_code: &str) -> i32 {
    app.sql()
        .await
        .query_one(
            "SELECT d.id FROM desks d JOIN units u ON u.id = d.unit_id WHERE u.code = $1 \
             ORDER BY d.id LIMIT 1",
            &[&unit_code],
        )
        .await
        .unwrap()
        .get(0)
}

/// Mints `count` codes for the unit's first desk through the staff page; returns the batch
/// page's path and the codes in minting order.
async fn mint(
    app: &TestApp,
    staff: &StaffClient,
    unit_code: &str,
    fields: &[(&str, &str)],
) -> (String, Vec<String>) {
    let desk = desk_id(app, unit_code).await.to_string();
    let mut all = vec![("desk", desk.as_str())];
    all.extend_from_slice(fields);
    let response = staff.post("/staff/codes", &all).await;
    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
    let to = response.headers()["location"].to_str().unwrap().to_string();
    let batch = to
        .strip_prefix("/staff/codes/batches/")
        .expect("the batch page")
        .to_string();
    let codes = app
        .sql()
        .await
        .query(
            "SELECT code FROM visit_codes WHERE batch::text = $1 ORDER BY id",
            &[&batch],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    (to, codes)
}

/// Opens `/v/{code}` and returns its hidden fields (token, version, start).
async fn open(app: &TestApp, code: &str) -> (String, String, String) {
    let page = app.get(&format!("/v/{code}")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(&format!("action=\"/v/{code}\"")));
    (
        hidden_field(&html, "_token"),
        hidden_field(&html, "_v"),
        hidden_field(&html, "_t"),
    )
}

async fn send(app: &TestApp, code: &str, hidden: &(String, String, String)) -> reqwest::Response {
    let answers = full_answers("5");
    let mut fields = with_hidden(&hidden.0, &hidden.1, &answers);
    fields.push(("_t", &hidden.2));
    fields.push(("_hp", ""));
    app.post_form(&format!("/v/{code}"), &fields).await
}

#[tokio::test]
async fn a_code_is_accepted_once_and_a_second_use_gets_a_clear_page() {
    let app = TestApp::spawn().await;
    let unit = app
        .staff_with_role("can.bo.xuan.bac", "unit", &[XUAN_BAC])
        .await;
    let (batch_page, codes) = mint(
        &app,
        &unit,
        XUAN_BAC,
        &[("count", ""), ("dossiers", "HS-001\n\n  HS-002  \n")],
    )
    .await;
    assert_eq!(codes.len(), 2, "one code per dossier number");
    let page = unit.get(&batch_page).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    for code in &codes {
        assert!(
            html.contains(&format!("{PUBLIC}/v/{code}")),
            "{code} listed with its link"
        );
    }
    assert!(html.contains("HS-002"));
    let sql = app.sql().await;
    let audited = sql
        .query_one(
            "SELECT count(*) FROM audit_log WHERE action = 'visit_codes.mint'",
            &[],
        )
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(audited, 1);

    let code = &codes[0];
    let first = open(&app, code).await;
    let second = open(&app, code).await; // another tab, opened before the code was used
    let sent = send(&app, code, &first).await;
    assert_eq!(sent.status(), 200);
    assert!(sent.text().await.unwrap().contains("Cảm ơn Anh/Chị"));
    // A double tap on the same form: thanked again, still one response.
    let again = send(&app, code, &first).await;
    assert_eq!(again.status(), 200);
    let row = sql
        .query_one(
            "SELECT r.channel, r.via, r.desk_code IS NULL, length(r.client_key), r.started_at IS NOT NULL \
             FROM responses r",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "qr");
    assert_eq!(row.get::<_, String>(1), "code");
    assert!(row.get::<_, bool>(2));
    assert_eq!(row.get::<_, i32>(3), 32);
    assert!(row.get::<_, bool>(4));
    // The code knows it was used, not when nor by which response (issue 15).
    let used: Vec<(String, bool)> = sql
        .query("SELECT code, used FROM visit_codes ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        used,
        vec![(codes[0].clone(), true), (codes[1].clone(), false)]
    );
    // The batch page neither says which code was used nor, for a batch this small, how many.
    let html = unit.get(&batch_page).await.text().await.unwrap();
    assert!(!html.contains("Đã dùng lúc"), "{html}");
    assert!(!html.contains("Chưa dùng"), "{html}");
    assert!(html.contains("đã dùng: —"), "{html}");

    // The other tab's form: refused with the clear page, nothing stored.
    let late = send(&app, code, &second).await;
    assert_eq!(late.status(), 409);
    let text = late.text().await.unwrap();
    assert!(text.contains("Mã này đã được sử dụng"), "{text}");
    assert!(!text.contains("Cảm ơn"));
    // Opening the used code again: the same page.
    let reopened = app.get(&format!("/v/{code}")).await;
    assert_eq!(reopened.status(), 410);
    assert!(
        reopened
            .text()
            .await
            .unwrap()
            .contains("Mã này đã được sử dụng")
    );
    assert_eq!(app.response_count().await, 1);

    // The other code is still good.
    let other = open(&app, &codes[1]).await;
    assert_eq!(send(&app, &codes[1], &other).await.status(), 200);
    assert_eq!(app.response_count().await, 2);
}

#[tokio::test]
async fn two_submissions_racing_with_one_code_store_exactly_one() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("qt.phong.noi.vu", "admin", &[]).await;
    let (_, codes) = mint(&app, &admin, XUAN_BAC, &[("count", "6"), ("dossiers", "")]).await;
    for code in &codes {
        let a = open(&app, code).await;
        let b = open(&app, code).await;
        let (x, y) = tokio::join!(send(&app, code, &a), send(&app, code, &b));
        let mut statuses = [x.status().as_u16(), y.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "{code}");
    }
    assert_eq!(app.response_count().await, codes.len() as i64);
    let used: i64 = app
        .count("SELECT count(*) FROM visit_codes WHERE used")
        .await;
    assert_eq!(used, codes.len() as i64, "each code marked used once");
}

#[tokio::test]
async fn unknown_codes_and_codes_of_closed_desks_get_vietnamese_pages() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("qt.phong.noi.vu", "admin", &[]).await;
    for path in [
        "/v/zzzzzzzzzz",
        "/v/abc",
        "/v/ABCDEFGHJK",
        "/v/..%2F..%2Fetc",
    ] {
        let page = app.get(path).await;
        assert_eq!(page.status(), 404, "{path}");
        assert!(
            page.text().await.unwrap().contains("Không tìm thấy trang"),
            "{path}"
        );
    }
    let (_, codes) = mint(&app, &admin, XUAN_DINH, &[("count", "1"), ("dossiers", "")]).await;
    let hidden = open(&app, &codes[0]).await;
    let desk = desk_id(&app, XUAN_DINH).await;
    app.sql()
        .await
        .execute("UPDATE desks SET active = false WHERE id = $1", &[&desk])
        .await
        .unwrap();
    let page = app.get(&format!("/v/{}", codes[0])).await;
    assert_eq!(page.status(), 410);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Quầy này hiện không nhận đánh giá")
    );
    let sent = send(&app, &codes[0], &hidden).await;
    assert_eq!(sent.status(), 410);
    assert_eq!(app.response_count().await, 0);
    // No codes for a closed desk either.
    let refused = admin
        .post(
            "/staff/codes",
            &[
                ("desk", &desk.to_string()),
                ("count", "1"),
                ("dossiers", ""),
            ],
        )
        .await;
    assert_eq!(refused.status(), 422);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("đang ngừng hoạt động")
    );
}

/// Creates an API token through the tokens page and returns its text (shown once).
async fn create_token(client: &StaffClient, name: &str) -> String {
    let response = client.post("/staff/tokens", &[("name", name)]).await;
    assert_eq!(response.status(), 201);
    let page = response.text().await.unwrap();
    let start = page.find("value=\"sipas_").expect("the token is shown") + "value=\"".len();
    page[start..].chars().take(6 + 64).collect()
}

async fn api_post(app: &TestApp, token: Option<&str>, body: &str) -> reqwest::Response {
    let mut request = app
        .client
        .post(format!("{}/api/v1/codes", app.address))
        .header("Content-Type", "application/json")
        .body(body.to_string());
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    request.send().await.unwrap()
}

async fn json(response: reqwest::Response) -> serde_json::Value {
    serde_json::from_str(&response.text().await.unwrap()).expect("a JSON answer")
}

/// The texts of the QR codes of a sheet of slips: each of its 3 × 7 cells decoded apart (a
/// detector looking at the whole sheet pairs finder patterns of neighbouring slips).
fn decode_sheet(png: &[u8]) -> Vec<String> {
    let image = image::load_from_memory_with_format(png, image::ImageFormat::Png)
        .expect("a PNG")
        .to_luma8();
    let (w, h) = (image.width() / 3, image.height() / 7);
    let mut texts = Vec::new();
    for row in 0..7 {
        for col in 0..3 {
            let cell = image::imageops::crop_imm(&image, col * w, row * h, w, h).to_image();
            let mut buffer = std::io::Cursor::new(Vec::new());
            image::DynamicImage::ImageLuma8(cell)
                .write_to(&mut buffer, image::ImageFormat::Png)
                .unwrap();
            texts.extend(decode_all(buffer.get_ref()));
        }
    }
    texts
}

/// The texts of every QR code in a PNG.
fn decode_all(png: &[u8]) -> Vec<String> {
    let image = image::load_from_memory_with_format(png, image::ImageFormat::Png)
        .expect("a PNG")
        .to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(image);
    let grids = prepared.detect_grids();
    let decoded: Vec<_> = grids.iter().map(|g| g.decode()).collect();
    let failed: Vec<_> = decoded.iter().filter_map(|d| d.as_ref().err()).collect();
    if !failed.is_empty() {
        std::fs::write(
            concat!(env!("CARGO_TARGET_TMPDIR"), "/failed-slips.png"),
            png,
        )
        .unwrap();
    }
    assert!(
        failed.is_empty(),
        "{} of {} grids unreadable: {failed:?}",
        failed.len(),
        grids.len()
    );
    decoded.into_iter().map(|d| d.unwrap().1).collect()
}

#[tokio::test]
async fn the_api_mints_codes_only_for_the_tokens_units() {
    let app = TestApp::spawn().await;
    let unit = app
        .staff_with_role("can.bo.xuan.bac", "unit", &[XUAN_BAC])
        .await;
    let viewer = app.staff_with_role("lanh.dao.huyen", "viewer", &[]).await;
    let token = create_token(&unit, "Phần mềm một cửa").await;
    let viewer_token = create_token(&viewer, "Chỉ đọc").await;
    let here = app.desk_code(XUAN_BAC).await;
    let there = app.desk_code(XUAN_DINH).await;

    let minted = api_post(
        &app,
        Some(&token),
        &format!("{{\"desk_code\": \"{here}\", \"count\": 3}}"),
    )
    .await;
    assert_eq!(minted.status(), 201);
    let body: serde_json::Value = json(minted).await;
    let codes = body["codes"].as_array().unwrap();
    assert_eq!(codes.len(), 3);
    for c in codes {
        let code = c["code"].as_str().unwrap();
        assert_eq!(c["url"], format!("{PUBLIC}/v/{code}"));
        assert_eq!(c["qr_png"], format!("{PUBLIC}/api/v1/codes/{code}/qr.png"));
    }
    let with_dossier = api_post(
        &app,
        Some(&token),
        &format!("{{\"desk_code\": \"{here}\", \"dossier_no\": \"000.00.21.H19-261127-0001\"}}"),
    )
    .await;
    assert_eq!(with_dossier.status(), 201);
    let body: serde_json::Value = json(with_dossier).await;
    assert_eq!(body["codes"][0]["dossier_no"], "000.00.21.H19-261127-0001");
    let stored: i64 = app
        .count("SELECT count(*) FROM visit_codes WHERE created_by_token IS NOT NULL")
        .await;
    assert_eq!(stored, 4);

    // The QR image of a code, through the API, decodes to its link.
    let code = body["codes"][0]["code"].as_str().unwrap().to_string();
    let png = app
        .client
        .get(format!("{}/api/v1/codes/{code}/qr.png", app.address))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(png.status(), 200);
    assert_eq!(
        decode_all(&png.bytes().await.unwrap()),
        [format!("{PUBLIC}/v/{code}")]
    );

    // Another unit's desk: not found, nothing minted. A viewer's token: forbidden. A session
    // (no bearer token): unauthenticated. Bad bodies: 400 naming the problem.
    let other = api_post(
        &app,
        Some(&token),
        &format!("{{\"desk_code\": \"{there}\", \"count\": 1}}"),
    )
    .await;
    assert_eq!(other.status(), 404);
    assert_eq!(json(other).await["code"], "not_found");
    let viewer_try = api_post(
        &app,
        Some(&viewer_token),
        &format!("{{\"desk_code\": \"{here}\"}}"),
    )
    .await;
    assert_eq!(viewer_try.status(), 403);
    assert_eq!(
        api_post(&app, None, &format!("{{\"desk_code\": \"{here}\"}}"))
            .await
            .status(),
        401
    );
    for (body, parameter) in [
        ("not json".to_string(), "body"),
        (
            format!("{{\"desk_code\": \"{here}\", \"count\": 0}}"),
            "count",
        ),
        (
            format!("{{\"desk_code\": \"{here}\", \"count\": 9999}}"),
            "count",
        ),
        (
            format!("{{\"desk_code\": \"{here}\", \"dossier_nos\": [\"A\", \"A\"]}}"),
            "dossier_no",
        ),
        (
            format!("{{\"desk_code\": \"{here}\", \"colour\": \"red\"}}"),
            "body",
        ),
    ] {
        let refused = api_post(&app, Some(&token), &body).await;
        assert_eq!(refused.status(), 400, "{body}");
        let answer: serde_json::Value = json(refused).await;
        assert_eq!(answer["parameter"], parameter, "{body}: {answer}");
    }
    assert_eq!(app.count("SELECT count(*) FROM visit_codes").await, 4);
    // Another unit's code through the API: not found.
    let admin = app.staff_with_role("qt.phong.noi.vu", "admin", &[]).await;
    let (_, theirs) = mint(&app, &admin, XUAN_DINH, &[("count", "1"), ("dossiers", "")]).await;
    let hidden = app
        .client
        .get(format!("{}/api/v1/codes/{}/qr.svg", app.address, theirs[0]))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(hidden.status(), 404);

    // Other methods: JSON 405s.
    let get = app.get("/api/v1/codes").await;
    assert_eq!(get.status(), 405);
    assert_eq!(get.headers()["allow"], "POST");
    assert_eq!(json(get).await["code"], "method_not_allowed");

    // Documented.
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("../docs/openapi.json")).expect("openapi.json parses");
    let operation = &doc["paths"]["/api/v1/codes"]["post"];
    assert!(operation["requestBody"].is_object());
    for status in ["201", "400", "401", "403", "404"] {
        assert!(operation["responses"][status].is_object(), "{status}");
    }
    assert!(
        doc["components"]["schemas"]["MintCodesRequest"]["properties"]["desk_code"].is_object()
    );
}

#[tokio::test]
async fn a_sheet_of_slips_prints_21_codes_whose_qr_codes_decode_to_their_links() {
    let app = TestApp::spawn().await;
    let unit = app
        .staff_with_role("can.bo.xuan.bac", "unit", &[XUAN_BAC])
        .await;
    let (batch_page, codes) =
        mint(&app, &unit, XUAN_BAC, &[("count", "23"), ("dossiers", "")]).await;
    assert_eq!(codes.len(), 23);
    let html = unit.get(&batch_page).await.text().await.unwrap();
    assert!(html.contains("slips.svg?page=1") && html.contains("slips.svg?page=2"));
    assert!(!html.contains("slips.svg?page=3"));

    let svg = unit.get(&format!("{batch_page}/slips.svg?page=1")).await;
    assert_eq!(svg.status(), 200);
    assert!(
        svg.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("image/svg+xml")
    );
    let svg = svg.text().await.unwrap();
    assert!(svg.contains("width=\"210mm\" height=\"297mm\""));
    assert!(svg.contains("Quét mã để đánh giá"));
    assert!(svg.contains("UBND xã Xuân Bắc"));

    let png = unit.get(&format!("{batch_page}/slips.png?page=1")).await;
    assert_eq!(png.status(), 200);
    let decoded: BTreeSet<String> = decode_sheet(&png.bytes().await.unwrap())
        .into_iter()
        .collect();
    let expected: BTreeSet<String> = codes[..21]
        .iter()
        .map(|c| format!("{PUBLIC}/v/{c}"))
        .collect();
    assert_eq!(decoded, expected);
    let png = unit.get(&format!("{batch_page}/slips.png?page=2")).await;
    let decoded: BTreeSet<String> = decode_sheet(&png.bytes().await.unwrap())
        .into_iter()
        .collect();
    let expected: BTreeSet<String> = codes[21..]
        .iter()
        .map(|c| format!("{PUBLIC}/v/{c}"))
        .collect();
    assert_eq!(decoded, expected);

    // One slip alone.
    let slip = unit
        .get(&format!("/staff/codes/{}/slip.png", codes[5]))
        .await;
    assert_eq!(slip.status(), 200);
    assert_eq!(
        decode_all(&slip.bytes().await.unwrap()),
        [format!("{PUBLIC}/v/{}", codes[5])]
    );
    let slip = unit
        .get(&format!("/staff/codes/{}/slip.svg", codes[5]))
        .await
        .text()
        .await
        .unwrap();
    let grouped = format!("{} {}", &codes[5][..5], &codes[5][5..]);
    assert!(
        slip.contains(&grouped),
        "the code in text, in groups of five"
    );
}

/// Issue 14, item 5: guessing one-time codes is slowed down per client: after ten unknown
/// codes, the client gets a polite 429 (with Retry-After) for any code, good ones included,
/// while other clients are served.
#[tokio::test]
async fn guessing_codes_is_limited_per_client() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("qt.phong.noi.vu", "admin", &[]).await;
    let (_, codes) = mint(&app, &admin, XUAN_DINH, &[("count", "1"), ("dossiers", "")]).await;
    let from = async |address: &str, code: &str| {
        app.client
            .get(format!("{}/v/{code}", app.address))
            .header("X-Forwarded-For", address)
            .send()
            .await
            .unwrap()
    };
    let guesser = "2001:db8:77:1::1";
    for n in 0..10 {
        let guess = format!("{:0>10}", format!("{n}a"))
            .replace('0', "2")
            .replace('1', "3");
        let page = from(guesser, &guess).await;
        assert_eq!(page.status(), 404, "guess {n}: {guess}");
    }
    for code in ["zzzzzzzzzz", codes[0].as_str()] {
        // Another address of the same /64 is the same client.
        let page = from("2001:db8:77:1::2", code).await;
        assert_eq!(page.status(), 429, "{code}");
        let retry: u64 = page.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        let html = page.text().await.unwrap();
        assert!(html.contains("Đã nhập sai mã nhiều lần"), "{html}");
    }
    // Someone else opens their code.
    let page = from("198.51.100.20", &codes[0]).await;
    assert_eq!(page.status(), 200);
}

/// Issue 14, item 7: `POST /api/v1/codes` takes the documented 64 KiB of JSON (413 in JSON
/// beyond), and quotes no more than a little of an over-long dossier number.
#[tokio::test]
async fn the_codes_api_takes_64_kib_and_quotes_little() {
    let app = TestApp::spawn().await;
    let unit = app
        .staff_with_role("can.bo.xuan.bac", "unit", &[XUAN_BAC])
        .await;
    let token = create_token(&unit, "Phần mềm một cửa").await;
    let here = app.desk_code(XUAN_BAC).await;
    let padded = format!(
        "{{\"desk_code\": \"{here}\", \"count\": 1{}}}",
        " ".repeat(100 * 1024)
    );
    let response = api_post(&app, Some(&token), &padded).await;
    assert_eq!(response.status(), 413);
    let answer = json(response).await;
    assert_eq!(answer["code"], "payload_too_large");
    assert_eq!(app.count("SELECT count(*) FROM visit_codes").await, 0);
    // An over-long dossier number is named, not echoed in full.
    let long = "HS".repeat(5_000);
    let response = api_post(
        &app,
        Some(&token),
        &format!("{{\"desk_code\": \"{here}\", \"dossier_no\": \"{long}\"}}"),
    )
    .await;
    assert_eq!(response.status(), 400);
    let text = response.text().await.unwrap();
    assert!(text.contains("dài quá 64 ký tự"), "{text}");
    assert!(text.len() < 400, "{} bytes echoed", text.len());
}

/// Issue 14, item 7: a request body sent slowly is cut off: the connection is answered and
/// closed once the body timeout (15 s) passes, however steadily the bytes trickle in.
#[tokio::test]
async fn a_slow_request_body_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn().await;
    let here = app.desk_code(XUAN_BAC).await;
    // A survey body trickling in, one byte a second.
    let started = std::time::Instant::now();
    let address = app.address.trim_start_matches("http://");
    let stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer
        .write_all(
            format!(
                "POST /s/{here} HTTP/1.1\r\nHost: {address}\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 5000\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let trickle = tokio::spawn(async move {
        for _ in 0..60 {
            if writer.write_all(b"a").await.is_err() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    });
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        reader.read_to_end(&mut answer),
    )
    .await;
    trickle.abort();
    assert!(
        read.is_ok(),
        "the connection was still open after {:?}",
        started.elapsed()
    );
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(started.elapsed() >= std::time::Duration::from_secs(14));
    assert_eq!(app.response_count().await, 0);
}

/// The tables that responses and codes may both refer to: who, where and with which form, the
/// same for every citizen of a desk. Any other table joining the two would be a path from an
/// answer to its code, and so to the dossier it was handed out with.
const SHARED_REFERENCE_TABLES: &[&str] = &[
    "units",
    "desks",
    "desk_codes",
    "accounts",
    "api_tokens",
    "forms",
    "form_versions",
    "form_items",
    "kiosks",
];

/// Issue 15: a test that searches the schema, so that a column or a table added later that
/// links an answer to a code, a dossier or an address fails here.
#[tokio::test]
async fn nothing_in_the_schema_leads_from_an_answer_to_a_code_a_dossier_or_an_address() {
    let app = TestApp::spawn().await;
    let sql = app.sql().await;
    let foreign_keys: Vec<(String, String)> = sql
        .query(
            "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint \
             WHERE contype = 'f' AND connamespace = 'public'::regnamespace",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert!(
        foreign_keys
            .iter()
            .any(|(from, to)| from == "response_texts" && to == "response_keys"),
        "the query sees the schema's foreign keys: {foreign_keys:?}"
    );
    // Nothing refers to a code; a code refers only to who minted it and for which desk.
    for (from, to) in &foreign_keys {
        assert_ne!(to, "visit_codes", "{from} refers to visit_codes");
        if from == "visit_codes" {
            assert!(
                ["desks", "accounts", "api_tokens"].contains(&to.as_str()),
                "visit_codes refers to {to}"
            );
        }
    }
    // Without the shared reference tables, responses and codes are not connected at all.
    // response_keys is the responses' own registry (migration 30), kept by triggers, not by a
    // foreign key: the tables that refer to a response refer to it.
    let mut reached = BTreeSet::from(["responses".to_string(), "response_keys".to_string()]);
    loop {
        let before = reached.len();
        for (from, to) in &foreign_keys {
            for (a, b) in [(from, to), (to, from)] {
                if reached.contains(a) && !SHARED_REFERENCE_TABLES.contains(&b.as_str()) {
                    reached.insert(b.clone());
                }
            }
        }
        if reached.len() == before {
            break;
        }
    }
    assert!(
        !reached.contains("visit_codes"),
        "a chain of foreign keys joins responses to visit_codes: {reached:?}"
    );

    // The yearly partitions of responses (migration 30) are responses too.
    let partitions: BTreeSet<String> = sql
        .query(
            "SELECT inhrelid::regclass::text FROM pg_inherits \
             WHERE inhparent = 'responses'::regclass",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(partitions.contains("responses_default"));
    let columns: Vec<(String, String, String)> = sql
        .query(
            "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name NOT LIKE '\\_\\_%' \
             ORDER BY table_name, column_name",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let code_columns: BTreeSet<&str> = columns
        .iter()
        .filter(|(table, _, _)| table == "visit_codes")
        .map(|(_, column, _)| column.as_str())
        .collect();
    // No time of use, no response: only that the code was used.
    assert_eq!(
        code_columns,
        BTreeSet::from([
            "id",
            "code",
            "desk_id",
            "batch",
            "dossier_no",
            "created_by",
            "created_by_token",
            "created_at",
            "used",
        ])
    );
    for (table, column, data_type) in &columns {
        let name = column.to_lowercase();
        // plan_targets.expected_dossiers is how many dossiers a unit expects in a year.
        if table != "visit_codes" && !(table == "plan_targets" && column == "expected_dossiers") {
            assert!(
                !name.contains("dossier") && !name.contains("visit_code") && name != "code_id",
                "{table}.{column} names a dossier or a code"
            );
        }
        if reached.contains(table) && table != "responses" && !partitions.contains(table) {
            assert!(
                !name.contains("code"),
                "{table}.{column}, beside the responses, names a code"
            );
        }
        // alert_subscriptions.email is a staff member's address for the e-mail alerts they
        // subscribed to (issue 17), never a citizen's.
        let staff_address = table == "alert_subscriptions" && column == "email";
        assert!(
            staff_address
                || ![
                    "ip",
                    "ip_address",
                    "client_ip",
                    "remote_addr",
                    "address_ip",
                    "user_agent",
                    "phone",
                    "email",
                    "citizen_name",
                    "full_name"
                ]
                .contains(&name.as_str()),
            "{table}.{column} would hold an address or a person's details"
        );
        if name.contains("client_key") || (table == "visit_limits" && name == "key") {
            assert_eq!(
                data_type, "bytea",
                "{table}.{column}: a client is known by a keyed hash only"
            );
        }
    }
    // responses.desk_code is the desk's public code (the same for everyone at the desk);
    // responses.residence_code the code of a place of residence in the form's own list (a
    // small number, shared by everyone living there).
    let response_code_columns: Vec<(&str, &str)> = columns
        .iter()
        .filter(|(table, column, _)| table == "responses" && column.contains("code"))
        .map(|(_, column, data_type)| (column.as_str(), data_type.as_str()))
        .collect();
    assert_eq!(
        response_code_columns,
        vec![("desk_code", "text"), ("residence_code", "smallint")]
    );
    // The keyed hash of the client is 32 bytes: an HMAC, never an address.
    let checked: i64 = app
        .count(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = 'responses'::regclass \
             AND pg_get_constraintdef(oid) LIKE '%length(client_key) = 32%'",
        )
        .await;
    assert_eq!(checked, 1);
}
