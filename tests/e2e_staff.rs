//! The staff member's path in a real browser: headless Chromium at 1280×800 signs in as a unit's
//! staff with the keyboard, adds a reception desk through the menus, opens the desk's QR code and
//! posters, opens the new survey link as a citizen would, and signs out. A second test checks
//! that the sign-in page fits a 360 px phone.

mod common;

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use common::browser::{Browser, artifact_path, require_browser};
use common::{TEST_PASSWORD, TestApp};
use fantoccini::Locator;
use fantoccini::key::Key;
use serde_json::{Value, json};

const XUAN_BAC: &str = "xuan-loc.xuan-bac";
/// The unit account (its display name is its user name).
const USER: &str = "xuan-loc.xuan-bac";
const UNIT_NAME: &str = "UBND xã Xuân Bắc";
const DESK_NAME: &str = "Quầy tiếp nhận số 2 - xã Xuân Bắc";
/// `SIPAS_PUBLIC_URL` of the test server (see `common::test_config`).
const PUBLIC_URL: &str = "https://hailong.example.gov.vn";
const SESSION_COOKIE: &str = "sipas_session";
const WAIT: Duration = Duration::from_secs(15);
const MENU_DESKS: &str = "Quầy tiếp nhận";
const CREATED: &str = "Đã thêm quầy tiếp nhận. Tải áp phích mã QR bên dưới để in và đặt tại quầy.";

async fn js(browser: &Browser, script: &str, args: Vec<Value>) -> Result<Value> {
    browser
        .client
        .execute(script, args)
        .await
        .with_context(|| format!("running script {script}"))
}

/// Waits until the browser shows `path`; returns the full URL.
async fn wait_for_path(browser: &Browser, path: &str) -> Result<url::Url> {
    let deadline = Instant::now() + WAIT;
    loop {
        let url = browser.client.current_url().await?;
        if url.path() == path {
            // The new document is there once its body exists.
            if browser.client.find(Locator::Css("body")).await.is_ok() {
                return Ok(url);
            }
        }
        if Instant::now() >= deadline {
            let status = page_status(browser).await.ok();
            let text = match browser.client.find(Locator::Css("body")).await {
                Ok(body) => body.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            bail!(
                "the browser did not reach {path} within {WAIT:?} (at {url}, status {status:?}):\n{text}"
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The HTTP status of the page the browser shows (Navigation Timing).
async fn page_status(browser: &Browser) -> Result<u64> {
    let status = js(
        browser,
        "return performance.getEntriesByType('navigation')[0].responseStatus;",
        vec![],
    )
    .await?;
    status
        .as_u64()
        .with_context(|| format!("no response status: {status}"))
}

/// Marks the document the browser shows, so that [`submitted`] can tell when the next one loads.
async fn mark_page(browser: &Browser) -> Result<()> {
    js(browser, "window.sipasOldPage = true;", vec![]).await?;
    Ok(())
}

/// Waits for the page that a form submission (after [`mark_page`]) leads to; returns its URL
/// and HTTP status. A 403 there means the server refused the browser's own form: reported with
/// the page, since that is what the staff member would be left with.
async fn submitted(browser: &Browser, what: &str) -> Result<(url::Url, u64)> {
    let deadline = Instant::now() + WAIT;
    loop {
        // Errors are expected while the navigation is in flight.
        if let Ok(state) = browser
            .client
            .execute(
                "return window.sipasOldPage === true ? null : document.readyState;",
                vec![],
            )
            .await
            && state == json!("complete")
        {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "{what}: no new page within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = browser.client.current_url().await?;
    let status = page_status(browser).await?;
    if status == 403 {
        let text = browser
            .client
            .find(Locator::Css("body"))
            .await?
            .text()
            .await?;
        bail!(
            "{what}: the server refused the browser's own form with 403 at {url} (the CSRF / \
             Origin check: a `Referrer-Policy: no-referrer` page makes Chromium send \
             `Origin: null` with its same-origin form posts):\n{text}"
        );
    }
    Ok((url, status))
}

async fn h1(browser: &Browser) -> Result<String> {
    Ok(browser
        .client
        .find(Locator::Css("h1"))
        .await?
        .text()
        .await?)
}

/// Clicks the link whose whole text is `text`, inside the elements `scope` (an XPath).
async fn click_link(browser: &Browser, scope: &str, text: &str) -> Result<()> {
    browser
        .client
        .find(Locator::XPath(&format!(
            "{scope}//a[normalize-space()='{text}']"
        )))
        .await
        .with_context(|| format!("no link {text:?} in {scope}"))?
        .click()
        .await
        .with_context(|| format!("clicking {text:?}"))?;
    Ok(())
}

/// The page can be read without scrolling sideways.
async fn assert_no_horizontal_scroll(browser: &Browser, width: u32, what: &str) -> Result<()> {
    let scroll = js(
        browser,
        "return document.documentElement.scrollWidth;",
        vec![],
    )
    .await?;
    let scroll = scroll.as_u64().context("scrollWidth")?;
    ensure!(
        scroll <= u64::from(width),
        "{what} scrolls sideways: scrollWidth {scroll} > {width}"
    );
    Ok(())
}

/// The number on the dashboard card labelled `label`.
async fn dashboard_card(browser: &Browser, label: &str) -> Result<i64> {
    let value = js(
        browser,
        "const card = Array.from(document.querySelectorAll('.card')) \
           .find(c => c.textContent.includes(arguments[0])); \
         return card ? card.querySelector('.big').textContent.trim() : null;",
        vec![json!(label)],
    )
    .await?;
    let text = value
        .as_str()
        .with_context(|| format!("no dashboard card {label:?}"))?;
    text.parse()
        .with_context(|| format!("card {label:?} shows {text:?}"))
}

/// Fetches `path` as the browser would, with its session: the cookies are read from the
/// browser's jar (the session cookie is HttpOnly, and the pages' Content-Security-Policy forbids
/// `fetch` from a script). Returns the status, the Content-Type and Content-Disposition headers,
/// and the body.
async fn fetch_with_session(
    browser: &Browser,
    app: &TestApp,
    path: &str,
) -> Result<(u16, String, String, Vec<u8>)> {
    let cookies = browser.client.get_all_cookies().await?;
    ensure!(
        cookies.iter().any(|c| c.name() == SESSION_COOKIE),
        "no session cookie in the browser: {cookies:?}"
    );
    let cookie = cookies
        .iter()
        .map(|c| format!("{}={}", c.name(), c.value()))
        .collect::<Vec<_>>()
        .join("; ");
    let response = app
        .client
        .get(format!("{}{path}", app.address))
        .header("Cookie", cookie)
        .send()
        .await?;
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let (content_type, disposition) = (header("content-type"), header("content-disposition"));
    let status = response.status().as_u16();
    let body = response.bytes().await?.to_vec();
    Ok((status, content_type, disposition, body))
}

/// The one QR code in a PNG image, decoded.
fn decode_qr(png: &[u8]) -> Result<String> {
    let image = image::load_from_memory_with_format(png, image::ImageFormat::Png)?.to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(image);
    let grids = prepared.detect_grids();
    ensure!(grids.len() == 1, "{} QR codes found, want 1", grids.len());
    Ok(grids[0].decode().context("a readable QR code")?.1)
}

/// Whether an `<img>` loads `path` as an image: its natural size (0×0 when it does not).
async fn image_size(browser: &Browser, path: &str) -> Result<(u64, u64)> {
    let value = js(
        browser,
        r"return (async () => {
            const img = new Image();
            img.src = arguments[0];
            try { await img.decode(); } catch (e) { return [0, 0]; }
            return [img.naturalWidth, img.naturalHeight];
        })();",
        vec![json!(path)],
    )
    .await?;
    let size: (u64, u64) = serde_json::from_value(value)?;
    Ok(size)
}

/// The sign-in page at 1280×800 through the keyboard alone: the user name field has the focus,
/// Tab moves to the password, Enter submits.
async fn sign_in_with_the_keyboard(browser: &Browser) -> Result<()> {
    browser.wait_for_text("Tên đăng nhập", WAIT).await?;
    assert_eq!(h1(browser).await?, "Đăng nhập");
    let focused = browser.client.active_element().await?;
    assert_eq!(
        focused.attr("id").await?.as_deref(),
        Some("f-username"),
        "the user name field has the focus"
    );
    focused.send_keys(USER).await?;
    focused.send_keys(&char::from(Key::Tab).to_string()).await?;
    let password = browser.client.active_element().await?;
    assert_eq!(
        password.attr("id").await?.as_deref(),
        Some("f-password"),
        "Tab moves to the password"
    );
    mark_page(browser).await?;
    password
        .send_keys(&format!("{TEST_PASSWORD}{}", char::from(Key::Enter)))
        .await?;
    let (url, status) = submitted(browser, "signing in").await?;
    assert_eq!(url.path(), "/staff", "signed in: {url}");
    assert_eq!(status, 200);
    Ok(())
}

#[tokio::test]
async fn a_units_staff_signs_in_adds_a_desk_prints_its_poster_and_signs_out() -> Result<()> {
    if !require_browser("a_units_staff_signs_in_adds_a_desk_prints_its_poster_and_signs_out") {
        return Ok(());
    }
    const WIDTH: u32 = 1280;
    const HEIGHT: u32 = 800;
    let app = TestApp::spawn().await;
    app.create_account(USER, "unit", &[XUAN_BAC]).await;
    let sql = app.sql().await;
    let unit_id: i32 = sql
        .query_one("SELECT id FROM units WHERE code = $1", &[&XUAN_BAC])
        .await?
        .get(0);
    let account_id: i32 = sql
        .query_one("SELECT id FROM accounts WHERE username = $1", &[&USER])
        .await?
        .get(0);
    let desks_before = app
        .count(&format!(
            "SELECT count(*) FROM desks WHERE unit_id = {unit_id} AND active"
        ))
        .await;
    assert!(desks_before >= 1, "the demo unit has a desk already");

    let browser = Browser::start(WIDTH, HEIGHT).await?;
    assert_eq!(browser.viewport().await?, (WIDTH, HEIGHT));

    // 1. /staff without a session: the sign-in page, which brings the user back to /staff.
    browser
        .client
        .goto(&format!("{}/staff", app.address))
        .await?;
    let url = wait_for_path(&browser, "/sign-in").await?;
    assert_eq!(url.query(), Some("next=%2Fstaff"), "{url}");
    assert_eq!(page_status(&browser).await?, 200);
    browser.wait_for_text("Tên đăng nhập", WAIT).await?;
    assert_no_horizontal_scroll(&browser, WIDTH, "the sign-in page").await?;
    browser
        .screenshot_to(&artifact_path("staff-sign-in-1280.png"))
        .await?;
    sign_in_with_the_keyboard(&browser).await?;
    let page = browser.wait_for_text(USER, WAIT).await?;
    assert_eq!(page_status(&browser).await?, 200);
    assert_eq!(h1(&browser).await?, "Tổng quan");
    assert!(page.contains("Cán bộ đơn vị"), "the role is shown: {page}");
    assert!(page.contains("Đăng xuất"), "{page}");
    assert_eq!(
        dashboard_card(&browser, "quầy đang hoạt động").await?,
        desks_before
    );
    assert_no_horizontal_scroll(&browser, WIDTH, "the dashboard").await?;
    browser
        .screenshot_to(&artifact_path("staff-dashboard-1280.png"))
        .await?;

    // 2. The desks through the menu, then "Thêm quầy tiếp nhận".
    click_link(&browser, "//header//nav", MENU_DESKS).await?;
    wait_for_path(&browser, "/staff/desks").await?;
    assert_eq!(h1(&browser).await?, MENU_DESKS);
    let current = browser
        .client
        .find(Locator::Css("nav a[aria-current=page]"))
        .await?;
    assert_eq!(current.text().await?, MENU_DESKS);
    click_link(&browser, "//main", "Thêm quầy tiếp nhận").await?;
    wait_for_path(&browser, "/staff/desks/new").await?;
    assert_eq!(page_status(&browser).await?, 200);
    assert_eq!(h1(&browser).await?, "Thêm quầy tiếp nhận");
    // The account's only unit is preselected.
    let unit = browser.client.find(Locator::Css("select#f-unit")).await?;
    assert_eq!(
        unit.prop("value").await?.as_deref(),
        Some(unit_id.to_string().as_str())
    );
    let chosen = js(
        &browser,
        "const s = document.getElementById('f-unit'); \
         return s.options[s.selectedIndex].textContent.trim();",
        vec![],
    )
    .await?;
    assert_eq!(chosen, json!(UNIT_NAME));
    let name = browser.client.find(Locator::Css("input#f-name")).await?;
    name.click().await?;
    name.send_keys(DESK_NAME).await?;
    assert_eq!(name.prop("value").await?.as_deref(), Some(DESK_NAME));
    assert_no_horizontal_scroll(&browser, WIDTH, "the new desk form").await?;
    browser
        .screenshot_to(&artifact_path("staff-desk-new-1280.png"))
        .await?;
    mark_page(&browser).await?;
    browser
        .client
        .find(Locator::XPath(
            "//main//button[normalize-space()='Thêm quầy']",
        ))
        .await?
        .click()
        .await?;

    // The new desk's page, with the flash.
    let (url, status) = submitted(&browser, "adding the desk").await?;
    assert_eq!(status, 200, "{url}");
    let desk_id: i32 = url
        .path()
        .strip_prefix("/staff/desks/")
        .and_then(|id| id.parse().ok())
        .with_context(|| format!("not a desk page: {url}"))?;
    assert_eq!(url.query(), Some("ok=created"));
    browser.wait_for_text(CREATED, WAIT).await?;
    let flash = browser.client.find(Locator::Css(".flash")).await?;
    assert_eq!(flash.text().await?, CREATED);
    assert_eq!(flash.attr("role").await?.as_deref(), Some("status"));
    assert_eq!(h1(&browser).await?, DESK_NAME);

    // In the database: the desk, one active code, and the audit entry naming this account.
    let row = sql
        .query_one(
            "SELECT unit_id, name, active, form_id FROM desks WHERE id = $1",
            &[&desk_id],
        )
        .await?;
    assert_eq!(row.get::<_, i32>(0), unit_id);
    assert_eq!(row.get::<_, String>(1), DESK_NAME);
    assert!(row.get::<_, bool>(2), "the desk is active");
    assert_eq!(
        row.get::<_, Option<String>>(3),
        None,
        "the form is inherited"
    );
    let codes = sql
        .query(
            "SELECT code FROM desk_codes WHERE desk_id = $1 AND retired_at IS NULL",
            &[&desk_id],
        )
        .await?;
    assert_eq!(codes.len(), 1, "one active code");
    let code: String = codes[0].get(0);
    let link = format!("{PUBLIC_URL}/s/{code}");
    let audit = sql
        .query(
            "SELECT account_id, entity, after::text FROM audit_log \
             WHERE action = 'desk.create' AND entity_id = $1",
            &[&desk_id.to_string()],
        )
        .await?;
    assert_eq!(audit.len(), 1, "one desk.create entry");
    assert_eq!(audit[0].get::<_, Option<i32>>(0), Some(account_id));
    assert_eq!(audit[0].get::<_, String>(1), "desk");
    let after: Value = serde_json::from_str(audit[0].get(2))?;
    assert_eq!(after["code"], json!(code), "{after}");
    assert!(after.to_string().contains(DESK_NAME), "{after}");

    // The desk list shows it, with its code and survey link.
    click_link(&browser, "//header//nav", MENU_DESKS).await?;
    wait_for_path(&browser, "/staff/desks").await?;
    browser.wait_for_text(DESK_NAME, WAIT).await?;
    let listed = js(
        &browser,
        r"return Array.from(document.querySelectorAll('main tbody tr'), tr =>
            Array.from(tr.cells, td => td.textContent.trim()));",
        vec![],
    )
    .await?;
    let listed: Vec<Vec<String>> = serde_json::from_value(listed)?;
    let new_row = listed
        .iter()
        .find(|cells| cells.first().map(String::as_str) == Some(DESK_NAME))
        .with_context(|| format!("the new desk is not listed: {listed:?}"))?;
    assert_eq!(new_row[1], code);
    assert_eq!(new_row[2], link);
    assert_eq!(new_row[4], "Đang hoạt động");
    assert_eq!(new_row[5], "0");
    assert_eq!(
        listed.len() as i64,
        desks_before + 1,
        "only the unit's desks: {listed:?}"
    );
    assert_no_horizontal_scroll(&browser, WIDTH, "the desk list").await?;
    browser
        .screenshot_to(&artifact_path("staff-desks-1280.png"))
        .await?;

    // 3. The desk's page from the list: the QR code inline, readable from the screen.
    click_link(&browser, "//main//table", DESK_NAME).await?;
    wait_for_path(&browser, &format!("/staff/desks/{desk_id}")).await?;
    let page = browser.wait_for_text("Mã QR và áp phích", WAIT).await?;
    assert_eq!(page_status(&browser).await?, 200);
    assert!(page.contains(&code) && page.contains(&link), "{page}");
    assert!(page.contains(UNIT_NAME), "{page}");
    assert_no_horizontal_scroll(&browser, WIDTH, "the desk page").await?;
    browser
        .screenshot_to(&artifact_path("staff-desk-1280.png"))
        .await?;
    let qr = browser.client.find(Locator::Css("main .qr svg")).await?;
    assert_eq!(qr.attr("aria-label").await?.as_deref(), Some(link.as_str()));
    js(
        &browser,
        "document.querySelector('main .qr').scrollIntoView({ block: 'center' });",
        vec![],
    )
    .await?;
    let rect = js(
        &browser,
        "const r = document.querySelector('main .qr svg').getBoundingClientRect(); \
         return [r.width, r.height];",
        vec![],
    )
    .await?;
    let (qr_w, qr_h): (f64, f64) = serde_json::from_value(rect)?;
    assert!(
        qr_w >= 100.0 && (qr_w - qr_h).abs() < 1.0,
        "the QR code is a visible square: {qr_w}×{qr_h}"
    );
    assert_eq!(
        decode_qr(&qr.screenshot().await?)?,
        link,
        "the QR code on the screen"
    );
    browser
        .screenshot_to(&artifact_path("staff-desk-qr-1280.png"))
        .await?;

    // The poster links download (`download` attribute, `Content-Disposition: attachment`), so
    // the test fetches them with the browser's session instead of following them.
    let png_link = browser
        .client
        .find(Locator::XPath(
            "//main//a[normalize-space()='Tải áp phích A5 (PNG, 300 dpi)']",
        ))
        .await?;
    let png_path = format!("/staff/desks/{desk_id}/poster.png");
    assert_eq!(
        png_link.attr("href").await?.as_deref(),
        Some(png_path.as_str())
    );
    assert!(png_link.attr("download").await?.is_some());
    let svg_link = browser
        .client
        .find(Locator::XPath(
            "//main//a[normalize-space()='Tải áp phích A5 (SVG)']",
        ))
        .await?;
    let svg_path = format!("/staff/desks/{desk_id}/poster.svg");
    assert_eq!(
        svg_link.attr("href").await?.as_deref(),
        Some(svg_path.as_str())
    );
    assert!(svg_link.attr("download").await?.is_some());

    let (status, content_type, disposition, png) =
        fetch_with_session(&browser, &app, &png_path).await?;
    assert_eq!(status, 200);
    assert_eq!(content_type, "image/png");
    assert_eq!(
        disposition,
        format!("attachment; filename=\"{XUAN_BAC}-{desk_id}.png\"")
    );
    let image = image::load_from_memory_with_format(&png, image::ImageFormat::Png)?;
    assert_eq!((image.width(), image.height()), (1748, 2480), "A5, 300 dpi");
    assert_eq!(decode_qr(&png)?, link, "the QR code on the PNG poster");
    assert_eq!(image_size(&browser, &png_path).await?, (1748, 2480));

    let (status, content_type, disposition, svg) =
        fetch_with_session(&browser, &app, &svg_path).await?;
    assert_eq!(status, 200);
    assert_eq!(content_type, "image/svg+xml");
    assert_eq!(
        disposition,
        format!("attachment; filename=\"{XUAN_BAC}-{desk_id}.svg\"")
    );
    let svg = String::from_utf8(svg)?;
    assert!(svg.contains(&link), "the SVG poster prints the link");
    let (svg_w, svg_h) = image_size(&browser, &svg_path).await?;
    assert!(
        svg_w > 0 && svg_h > svg_w,
        "the SVG poster loads as an image: {svg_w}×{svg_h}"
    );

    // The SVG poster opened as a document in the browser (from a blob: the server's response is
    // an attachment, which a navigation would download): it renders with the desk's name.
    js(
        &browser,
        "location.assign(URL.createObjectURL(new Blob([arguments[0]], { type: 'image/svg+xml' })));",
        vec![json!(svg)],
    )
    .await?;
    let deadline = Instant::now() + WAIT;
    let texts = loop {
        let url = browser.client.current_url().await?;
        if url.scheme() == "blob"
            && let Ok(texts) = js(
                &browser,
                r"if (document.documentElement.localName !== 'svg') return null;
                return Array.from(document.querySelectorAll('text'), t => {
                    const b = t.getBBox();
                    return { text: t.textContent, width: b.width, height: b.height };
                });",
                vec![],
            )
            .await
            && texts.is_array()
        {
            break texts;
        }
        ensure!(
            Instant::now() < deadline,
            "the SVG poster did not open ({url})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let texts = texts.as_array().context("texts")?;
    let all: String = texts
        .iter()
        .filter_map(|t| t["text"].as_str())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(all.contains(DESK_NAME), "the poster names the desk: {all}");
    assert!(all.contains(UNIT_NAME), "the poster names the unit: {all}");
    assert!(all.contains("ĐÁNH GIÁ MỨC ĐỘ HÀI LÒNG"), "{all}");
    for t in texts {
        let (w, h) = (
            t["width"].as_f64().unwrap_or(0.0),
            t["height"].as_f64().unwrap_or(0.0),
        );
        assert!(
            w > 0.0 && h > 0.0,
            "text {} is rendered: {w}×{h}",
            t["text"]
        );
    }
    let size = js(
        &browser,
        "const r = document.documentElement.getBoundingClientRect(); return [r.width, r.height];",
        vec![],
    )
    .await?;
    let (poster_w, poster_h): (f64, f64) = serde_json::from_value(size)?;
    assert!(
        poster_w > 0.0 && poster_h > poster_w,
        "an A5 portrait poster: {poster_w}×{poster_h}"
    );
    browser
        .screenshot_to(&artifact_path("staff-poster-1280.png"))
        .await?;

    // 4. The new desk's survey link, as a citizen opens it.
    browser
        .client
        .goto(&format!("{}/s/{code}", app.address))
        .await?;
    let page = browser.wait_for_text("Gửi phiếu", WAIT).await?;
    assert_eq!(page_status(&browser).await?, 200);
    assert!(page.contains(UNIT_NAME), "{page}");
    assert!(page.contains(DESK_NAME), "{page}");
    assert!(
        h1(&browser)
            .await?
            .starts_with("Phiếu khảo sát sự hài lòng")
    );

    // 5. Back to /staff (one more active desk), then "Đăng xuất".
    browser
        .client
        .goto(&format!("{}/staff", app.address))
        .await?;
    wait_for_path(&browser, "/staff").await?;
    browser.wait_for_text(USER, WAIT).await?;
    assert_eq!(
        dashboard_card(&browser, "quầy đang hoạt động").await?,
        desks_before + 1
    );
    mark_page(&browser).await?;
    browser
        .client
        .find(Locator::XPath(
            "//header//form[@action='/sign-out']//button[normalize-space()='Đăng xuất']",
        ))
        .await?
        .click()
        .await?;
    let (url, status) = submitted(&browser, "signing out").await?;
    assert_eq!((url.path(), status), ("/sign-in", 200), "{url}");
    browser.wait_for_text("Mật khẩu", WAIT).await?;
    assert_eq!(h1(&browser).await?, "Đăng nhập");
    browser
        .client
        .goto(&format!("{}/staff", app.address))
        .await?;
    let url = wait_for_path(&browser, "/sign-in").await?;
    assert_eq!(url.query(), Some("next=%2Fstaff"), "the session is gone");
    assert_eq!(h1(&browser).await?, "Đăng nhập");
    browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn the_sign_in_page_fits_a_360px_phone() -> Result<()> {
    if !require_browser("the_sign_in_page_fits_a_360px_phone") {
        return Ok(());
    }
    const WIDTH: u32 = 360;
    const HEIGHT: u32 = 640;
    let app = TestApp::spawn().await;
    let browser = Browser::start(WIDTH, HEIGHT).await?;
    assert_eq!(browser.viewport().await?, (WIDTH, HEIGHT));
    browser
        .client
        .goto(&format!("{}/staff", app.address))
        .await?;
    wait_for_path(&browser, "/sign-in").await?;
    browser.wait_for_text("Tên đăng nhập", WAIT).await?;
    assert_eq!(page_status(&browser).await?, 200);
    assert_no_horizontal_scroll(&browser, WIDTH, "the sign-in page").await?;

    // The heading, both fields and the button on the first screen, inside its width, with text
    // of a readable size and a button large enough to tap.
    let boxes = js(
        &browser,
        r"return ['h1', '#f-username', '#f-password', 'main form button[type=submit]'].map(sel => {
            const e = document.querySelector(sel);
            if (!e) return { sel, missing: true };
            const r = e.getBoundingClientRect();
            return {
                sel, left: r.left, right: r.right, top: r.top, bottom: r.bottom,
                height: r.height, fontSize: parseFloat(getComputedStyle(e).fontSize),
            };
        });",
        vec![],
    )
    .await?;
    for b in boxes.as_array().context("boxes")? {
        let what = &b["sel"];
        assert!(b["missing"].is_null(), "{what} is missing");
        let num = |k: &str| b[k].as_f64().unwrap_or(f64::NAN);
        assert!(
            num("left") >= 0.0
                && num("right") <= f64::from(WIDTH)
                && num("top") >= 0.0
                && num("bottom") <= f64::from(HEIGHT),
            "{what} is on the first screen: {b}"
        );
        assert!(num("fontSize") >= 16.0, "{what}: {b}");
        if what != "h1" {
            assert!(num("height") >= 24.0, "{what} is large enough to tap: {b}");
        }
    }
    let button = &boxes[3];
    assert!(
        button["height"].as_f64().unwrap_or(0.0) >= 44.0,
        "the button: {button}"
    );
    browser
        .screenshot_to(&artifact_path("staff-sign-in-360.png"))
        .await?;

    // A wrong password: the message, still without sideways scrolling.
    let user = browser.client.active_element().await?;
    user.send_keys(USER).await?;
    let password = browser.client.find(Locator::Css("#f-password")).await?;
    mark_page(&browser).await?;
    password
        .send_keys(&format!("không đúng{}", char::from(Key::Enter)))
        .await?;
    let (url, status) = submitted(&browser, "signing in with a wrong password").await?;
    assert_eq!((url.path(), status), ("/sign-in", 401), "{url}");
    browser
        .wait_for_text("Tên đăng nhập hoặc mật khẩu không đúng.", WAIT)
        .await?;
    assert_no_horizontal_scroll(&browser, WIDTH, "the refused sign-in page").await?;
    browser.close().await?;
    Ok(())
}

/// A unit's staff member enrols the tablet at the desk as its kiosk, on the tablet itself: the
/// tablet is signed out, shows the desk's kiosk form, takes a citizen's answers and comes back
/// to a fresh form by itself; the response is stored as the kiosk's.
#[tokio::test]
async fn a_units_staff_enrols_the_tablet_at_the_desk_as_its_kiosk() -> Result<()> {
    if !require_browser("a_units_staff_enrols_the_tablet_at_the_desk_as_its_kiosk") {
        return Ok(());
    }
    // A tablet held upright.
    const WIDTH: u32 = 800;
    const HEIGHT: u32 = 1280;
    const LABEL: &str = "Máy tính bảng quầy 1";
    let app = TestApp::spawn().await;
    app.create_account(USER, "unit", &[XUAN_BAC]).await;
    let code = app.desk_code(XUAN_BAC).await;
    let desk = app.desk_id(&code).await;
    let browser = Browser::start(WIDTH, HEIGHT).await?;
    browser
        .client
        .goto(&format!("{}/staff", app.address))
        .await?;
    wait_for_path(&browser, "/sign-in").await?;
    sign_in_with_the_keyboard(&browser).await?;
    browser
        .client
        .goto(&format!("{}/staff/desks/{desk}", app.address))
        .await?;
    browser
        .wait_for_text("Máy đánh giá tại quầy (kiosk)", WAIT)
        .await?;
    assert_no_horizontal_scroll(&browser, WIDTH, "the desk page").await?;
    browser
        .screenshot_to(&artifact_path("kiosk-desk-page-800.png"))
        .await?;
    let label = browser.client.find(Locator::Id("f-label")).await?;
    label.clear().await?;
    label.send_keys(LABEL).await?;
    mark_page(&browser).await?;
    browser
        .client
        .find(Locator::XPath(
            "//button[normalize-space()='Đăng ký thiết bị này làm máy đánh giá']",
        ))
        .await?
        .click()
        .await?;
    let (url, status) = submitted(&browser, "enrolling the tablet").await?;
    assert_eq!(url.path(), format!("/k/{code}"), "{url}");
    assert_eq!(status, 200);
    let cookies = browser.client.get_all_cookies().await?;
    assert!(
        cookies.iter().any(|c| c.name() == "sipas_kiosk"),
        "{cookies:?}"
    );
    assert!(
        !cookies.iter().any(|c| c.name() == SESSION_COOKIE),
        "the tablet is signed out: {cookies:?}"
    );
    browser
        .screenshot_to(&artifact_path("kiosk-form-800.png"))
        .await?;

    // A citizen answers every question (the first option of each) and sends the form.
    let answered = js(
        &browser,
        "const groups = new Set(Array.from(document.querySelectorAll('input[type=radio]')).map(r => r.name)); \
         groups.forEach(n => document.querySelector(`input[type=radio][name='${n}']`).click()); \
         return groups.size;",
        vec![],
    )
    .await?;
    assert!(answered.as_u64().is_some_and(|n| n > 10), "{answered}");
    mark_page(&browser).await?;
    browser
        .client
        .find(Locator::XPath("//button[normalize-space()='Gửi phiếu']"))
        .await?
        .click()
        .await?;
    let (_, status) = submitted(&browser, "sending the kiosk's form").await?;
    assert_eq!(status, 200);
    browser.wait_for_text("Cảm ơn Anh/Chị", WAIT).await?;
    assert_eq!(
        app.count("SELECT count(*) FROM responses WHERE via = 'kiosk' AND channel = 'kiosk'")
            .await,
        1
    );
    // Back to a fresh form by itself, for the next citizen.
    mark_page(&browser).await?;
    let (url, status) = submitted(&browser, "the kiosk coming back to a fresh form").await?;
    assert_eq!(url.path(), format!("/k/{code}"));
    assert_eq!(status, 200);
    let fresh = js(
        &browser,
        "return document.querySelectorAll('input[type=radio]:checked').length;",
        vec![],
    )
    .await?;
    assert_eq!(fresh, json!(0), "a fresh form, nothing ticked");
    // The staff area asks the tablet to sign in again.
    browser
        .client
        .goto(&format!("{}/staff", app.address))
        .await?;
    wait_for_path(&browser, "/sign-in").await?;
    browser.close().await?;
    Ok(())
}

/// The home page of an administrator of the demo district with a year of responses, at
/// 1280×800 and 360×640: the headline sentence, what needs attention, the grouped menu and the
/// header, without sideways scrolling; screenshots in target/e2e/.
#[tokio::test]
async fn the_home_page_orients_at_1280_and_360() -> Result<()> {
    if !require_browser("the_home_page_orients_at_1280_and_360") {
        return Ok(());
    }
    use chrono::Datelike;
    let app = TestApp::spawn().await;
    {
        let today = sipas::domain::time::today_in_vietnam();
        let mut conn = app.pool.get().await?;
        sipas::demo::generate_responses(
            &mut conn,
            &app.forms,
            &sipas::demo::ResponseSpec {
                seed: 3,
                count: 2_500,
                first: 0,
                from: chrono::NaiveDate::from_ymd_opt(today.year(), 1, 1).context("day")?,
                to: today,
            },
        )
        .await?;
    }
    app.settle_rollups().await;
    const ADMIN: &str = "qt.phong.noi.vu";
    app.create_account(ADMIN, "admin", &[]).await;
    for (width, height) in [(1280, 800), (360, 640)] {
        let browser = if width < 400 {
            Browser::start_phone(width, height).await?
        } else {
            Browser::start(width, height).await?
        };
        browser
            .client
            .goto(&format!("{}/sign-in", app.address))
            .await?;
        browser.wait_for_text("Tên đăng nhập", WAIT).await?;
        browser
            .client
            .find(Locator::Css("#f-username"))
            .await?
            .send_keys(ADMIN)
            .await?;
        mark_page(&browser).await?;
        browser
            .client
            .find(Locator::Css("#f-password"))
            .await?
            .send_keys(&format!("{TEST_PASSWORD}{}", char::from(Key::Enter)))
            .await?;
        let (url, status) = submitted(&browser, "signing in").await?;
        ensure!(url.path() == "/staff" && status == 200, "{url} {status}");
        let page = browser
            .wait_for_text("phiếu đã nhận trong năm", WAIT)
            .await?;
        assert_eq!(h1(&browser).await?, "Tổng quan");
        for text in [
            "Kết quả",
            "Thu thập ý kiến",
            "Quản trị",
            "Cần xử lý",
            "Đổi mật khẩu",
            "Đăng xuất",
        ] {
            ensure!(page.contains(text), "{text} missing at {width}px");
        }
        assert_no_horizontal_scroll(&browser, width, "the home page").await?;
        // The headline and the first menu group on the first screen.
        let boxes = js(
            &browser,
            "return ['#tong-so', 'nav.menu'].map(s => document.querySelector(s).getBoundingClientRect().top);",
            vec![],
        )
        .await?;
        for top in boxes.as_array().context("tops")? {
            ensure!(
                top.as_f64().unwrap_or(9999.0) < f64::from(height),
                "{boxes} at {width}px"
            );
        }
        browser
            .screenshot_to(&artifact_path(&format!("staff-home-{width}.png")))
            .await?;
        browser.close().await?;
    }
    app.stop().await;
    Ok(())
}

/// Sets the value of the form control `id` by script (a date input's typing depends on the
/// browser's locale; a select's options are long lists).
async fn set_value(browser: &Browser, id: &str, value: &str) -> Result<()> {
    let done = js(
        browser,
        "const e = document.getElementById(arguments[0]); \
         if (!e) { return false; } e.value = arguments[1]; return e.value === arguments[1];",
        vec![json!(id), json!(value)],
    )
    .await?;
    ensure!(done == json!(true), "could not set #{id} to {value:?}");
    Ok(())
}

async fn type_into(browser: &Browser, id: &str, text: &str) -> Result<()> {
    let input = browser
        .client
        .find(Locator::Id(id))
        .await
        .with_context(|| format!("no #{id}"))?;
    input.click().await?;
    input.send_keys(text).await?;
    Ok(())
}

async fn click_button(browser: &Browser, text: &str) -> Result<()> {
    browser
        .client
        .find(Locator::XPath(&format!(
            "//main//button[normalize-space()='{text}']"
        )))
        .await
        .with_context(|| format!("no button {text:?}"))?
        .click()
        .await?;
    Ok(())
}

/// An admin merges two (made-up) communes into a new one: from the units page to the merge
/// form, the preview listing what will happen, then "Áp dụng" with the confirmation; the list
/// of acts shows it and the database holds what the preview said.
#[tokio::test]
async fn an_admin_previews_and_applies_a_merge_of_two_communes() -> Result<()> {
    if !require_browser("an_admin_previews_and_applies_a_merge_of_two_communes") {
        return Ok(());
    }
    const ADMIN: &str = "quan.tri";
    let app = TestApp::spawn().await;
    app.create_account(ADMIN, "admin", &[]).await;
    let sql = app.sql().await;
    let district: i32 = sql
        .query_one("SELECT id FROM units WHERE code = 'xuan-loc'", &[])
        .await?
        .get(0);
    let mut ids = Vec::new();
    for (code, name) in [
        ("thu-nghiem-a", "Xã Thử Nghiệm A"),
        ("thu-nghiem-b", "Xã Thử Nghiệm B"),
    ] {
        let id: i32 = sql
            .query_one(
                "INSERT INTO units (parent_id, code, name, kind) VALUES ($1, $2, $3, 'commune') \
                 RETURNING id",
                &[&district, &code, &name],
            )
            .await?
            .get(0);
        ids.push(id);
    }
    let (a, b) = (ids[0], ids[1]);
    let desk: i32 = sql
        .query_one(
            "INSERT INTO desks (unit_id, name) VALUES ($1, 'Quầy Thử Nghiệm A') RETURNING id",
            &[&a],
        )
        .await?
        .get(0);

    let browser = Browser::start(1280, 800).await?;
    browser
        .client
        .goto(&format!("{}/sign-in", app.address))
        .await?;
    browser.wait_for_text("Tên đăng nhập", WAIT).await?;
    type_into(&browser, "f-username", ADMIN).await?;
    type_into(&browser, "f-password", TEST_PASSWORD).await?;
    mark_page(&browser).await?;
    browser
        .client
        .find(Locator::XPath(
            "//form//button[normalize-space()='Đăng nhập']",
        ))
        .await?
        .click()
        .await?;
    let (url, _) = submitted(&browser, "signing in").await?;
    ensure!(url.path() == "/staff", "signed in: {url}");

    // Units, then "Sắp xếp đơn vị", then "Sáp nhập đơn vị".
    click_link(&browser, "//header//nav", "Đơn vị").await?;
    wait_for_path(&browser, "/staff/units").await?;
    click_link(
        &browser,
        "//main",
        "Sắp xếp đơn vị (sáp nhập, chia tách, đổi tên, chuyển)",
    )
    .await?;
    wait_for_path(&browser, "/staff/reorganisations").await?;
    click_link(&browser, "//main", "Sáp nhập đơn vị").await?;
    wait_for_path(&browser, "/staff/reorganisations/merge").await?;
    assert_eq!(h1(&browser).await?, "Sáp nhập đơn vị");

    type_into(&browser, "f-title", "Nghị quyết thử nghiệm về sắp xếp xã").await?;
    type_into(&browser, "f-legal_basis", "Số 99/NQ-THU").await?;
    set_value(&browser, "f-effective_date", "2025-07-01").await?;
    for id in [a, b] {
        browser
            .client
            .find(Locator::Id(&format!("pred-{id}")))
            .await?
            .click()
            .await?;
    }
    set_value(&browser, "f-target", "new").await?;
    type_into(&browser, "f-code", "thu-nghiem-moi").await?;
    type_into(&browser, "f-name", "Xã Thử Nghiệm Mới").await?;
    set_value(&browser, "f-parent", &district.to_string()).await?;
    browser
        .screenshot_to(&artifact_path("staff-merge-form-1280.png"))
        .await?;
    mark_page(&browser).await?;
    click_button(&browser, "Xem trước").await?;
    let (url, status) = submitted(&browser, "previewing the merge").await?;
    ensure!(status == 200, "preview: {status} at {url}");
    assert_eq!(h1(&browser).await?, "Xem trước: Sáp nhập đơn vị");
    let page = browser
        .client
        .find(Locator::Css("main"))
        .await?
        .text()
        .await?;
    for line in [
        "Thành lập đơn vị mới «Xã Thử Nghiệm Mới»",
        "Đơn vị «Xã Thử Nghiệm A» kết thúc từ ngày 01/07/2025",
        "Đơn vị «Xã Thử Nghiệm B» kết thúc từ ngày 01/07/2025",
        "Quầy «Quầy Thử Nghiệm A» chuyển từ «Xã Thử Nghiệm A» sang «Xã Thử Nghiệm Mới (đơn vị mới)»",
    ] {
        ensure!(page.contains(line), "{line} is not in the preview:\n{page}");
    }
    ensure!(
        app.count("SELECT count(*) FROM reorganisations").await == 0,
        "the preview stored nothing"
    );
    browser
        .screenshot_to(&artifact_path("staff-merge-preview-1280.png"))
        .await?;
    browser
        .client
        .find(Locator::Id("f-confirm"))
        .await?
        .click()
        .await?;
    mark_page(&browser).await?;
    click_button(&browser, "Áp dụng").await?;
    let (url, status) = submitted(&browser, "applying the merge").await?;
    ensure!(status == 200, "apply: {status} at {url}");
    assert_eq!(url.path(), "/staff/reorganisations");
    let page = browser
        .wait_for_text("Đã áp dụng việc sắp xếp.", WAIT)
        .await?;
    ensure!(
        page.contains("Nghị quyết thử nghiệm về sắp xếp xã") && page.contains("Số 99/NQ-THU"),
        "the act is listed:\n{page}"
    );

    let new: i32 = sql
        .query_one("SELECT id FROM units WHERE code = 'thu-nghiem-moi'", &[])
        .await?
        .get(0);
    let ended = app
        .count(&format!(
            "SELECT count(*) FROM units WHERE id IN ({a}, {b}) \
             AND valid_until = '2025-07-01' AND NOT active"
        ))
        .await;
    assert_eq!(ended, 2);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM desks WHERE id = {desk} AND unit_id = {new} AND active"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM unit_lineage WHERE successor_id = {new}"
        ))
        .await,
        2
    );
    browser.close().await?;
    Ok(())
}
