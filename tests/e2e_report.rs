//! The printable report in a real browser: headless Chromium signs in as the district's
//! administrator, opens the statistics overview, follows "In báo cáo", and prints the report
//! through WebDriver's Print command (A4). The PDF's text (pdftotext, poppler-utils) must have
//! the title and the unit table (every unit of the API's answer with its index as printed),
//! and none of the screen-only toolbar. On screen, every table that is wider than the sheet
//! (the appendix at 1280 px, most tables on a 360 px phone) scrolls sideways in a region the
//! keyboard reaches (axe's `scrollable-region-focusable`): focused, the arrow keys scroll it; no table is squeezed to one word per line. Artifacts:
//! `target/e2e/report-1280.png`, `target/e2e/report-360.png` (the page on screen),
//! `report-appendix-1280.png`, `report-appendix-360.png` (the appendix scrolled by the keyboard)
//! and `target/e2e/report.pdf`.

mod common;

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use chrono::{Datelike, NaiveDate};
use common::browser::{Browser, artifact_path, require_browser};
use common::{StaffClient, TEST_PASSWORD, TestApp};
use fantoccini::Locator;
use fantoccini::key::Key;
use fantoccini::wd::{PrintConfiguration, PrintSize};
use serde_json::{Value, json};
use sipas::stats::format_percent;

const USER: &str = "qt.bao.cao.in";
const WAIT: Duration = Duration::from_secs(15);

/// Waits until the browser shows `path` with a complete document.
async fn wait_for_path(browser: &Browser, path: &str) -> Result<url::Url> {
    let deadline = Instant::now() + WAIT;
    loop {
        let url = browser.client.current_url().await?;
        if url.path() == path
            && let Ok(state) = browser
                .client
                .execute("return document.readyState;", vec![])
                .await
            && state == json!("complete")
        {
            return Ok(url);
        }
        if Instant::now() >= deadline {
            bail!("the browser did not reach {path} within {WAIT:?} (at {url})");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The text of a PDF (`pdftotext -layout`), whitespace runs made single spaces.
fn pdf_text(path: &std::path::Path) -> Result<String> {
    let output = std::process::Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(path)
        .arg("-")
        .output()
        .context("running pdftotext (apt-get install -y --no-install-recommends poppler-utils)")?;
    ensure!(
        output.status.success(),
        "pdftotext failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8(output.stdout)?
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" "))
}

#[tokio::test]
async fn the_report_prints_to_a_pdf_with_its_title_and_unit_table() -> Result<()> {
    if !require_browser("the_report_prints_to_a_pdf_with_its_title_and_unit_table") {
        return Ok(());
    }
    let app = TestApp::spawn().await;
    app.create_account(USER, "admin", &[]).await;
    // Responses of this year (the overview's default), up to today.
    let today = sipas::plans::today_in_vietnam();
    {
        let mut conn = app.pool.get().await?;
        sipas::demo::generate_responses(
            &mut conn,
            &app.forms,
            &sipas::demo::ResponseSpec {
                seed: 5,
                count: 1_500,
                first: 0,
                from: NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap(),
                to: today,
            },
        )
        .await?;
    }
    app.settle_rollups().await;
    // The figures the report must print, from the API for the same account and filters.
    let api_client = app.staff(USER).await;
    let api: Value = api_json(&api_client, &format!("/api/v1/stats?year={}", today.year())).await?;
    let rows = api["rows"].as_array().context("rows")?.clone();
    ensure!(rows.len() == 28, "28 units in the district");

    let browser = Browser::start(1280, 800).await?;
    sign_in(&browser, &app).await?;
    browser
        .client
        .goto(&format!("{}/staff/stats", app.address))
        .await?;
    wait_for_path(&browser, "/staff/stats").await?;
    browser
        .client
        .find(Locator::LinkText("In báo cáo"))
        .await
        .context("the overview links to the report")?
        .click()
        .await?;
    wait_for_path(&browser, "/staff/report").await?;
    let title = format!(
        "Báo cáo kết quả khảo sát sự hài lòng của người dân, tổ chức năm {}",
        today.year()
    );
    let h1 = browser
        .client
        .find(Locator::Css("h1"))
        .await?
        .text()
        .await?;
    assert_eq!(h1, title);
    // On screen: the toolbar with the print hint, and the document in a serif face.
    let screen = browser
        .client
        .execute(
            "return [getComputedStyle(document.querySelector('.report-tools')).display, \
             getComputedStyle(document.querySelector('.report')).fontFamily];",
            vec![],
        )
        .await?;
    assert_ne!(screen[0], json!("none"), "the toolbar shows on screen");
    let font = screen[1].as_str().unwrap_or_default();
    assert!(
        font.contains("Times New Roman") && font.ends_with("serif"),
        "{font}"
    );
    browser.wait_for_text("In báo cáo:", WAIT).await?;
    browser.wait_for_text("Tải Word (.docx)", WAIT).await?;
    browser
        .screenshot_to(&artifact_path("report-1280.png"))
        .await?;
    scrollable_regions_are_focusable(&browser).await?;
    appendix_scrolls_with_the_keyboard(&browser, "report-appendix-1280.png").await?;
    // Not one word per line: the criteria's text column keeps a reading width.
    let width = browser
        .client
        .execute(
            "return document.querySelector('#phu-luc-tieu-chi tbody tr[data-item] td:nth-child(2)').getBoundingClientRect().width;",
            vec![],
        )
        .await?;
    let width = width.as_f64().context("width")?;
    assert!(width >= 180.0, "the criteria column is {width}px wide");

    // Printed through WebDriver, on A4.
    let pdf = browser
        .client
        .print(
            PrintConfiguration::builder()
                .size(PrintSize::A4)
                .background(true)
                .build()
                .map_err(|e| anyhow::anyhow!("print settings: {e:?}"))?,
        )
        .await
        .context("WebDriver print")?;
    ensure!(pdf.starts_with(b"%PDF-"), "a PDF");
    let pdf_path = artifact_path("report.pdf");
    std::fs::create_dir_all(pdf_path.parent().unwrap())?;
    std::fs::write(&pdf_path, &pdf)?;
    browser.close().await?;

    // On a phone: every wide table in a region the keyboard reaches, and a screenshot.
    let phone = Browser::start_phone(360, 640).await?;
    sign_in(&phone, &app).await?;
    phone
        .client
        .goto(&format!("{}/staff/report", app.address))
        .await?;
    wait_for_path(&phone, "/staff/report").await?;
    phone.wait_for_text("Tải Word (.docx)", WAIT).await?;
    phone
        .screenshot_to(&artifact_path("report-360.png"))
        .await?;
    scrollable_regions_are_focusable(&phone).await?;
    appendix_scrolls_with_the_keyboard(&phone, "report-appendix-360.png").await?;
    phone.close().await?;

    let text = pdf_text(&pdf_path)?;
    assert!(text.contains(&title), "the title in the PDF: {text}");
    assert!(text.contains("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"));
    assert!(text.contains("PHÒNG NỘI VỤ"));
    assert!(text.contains("Phụ lục 1. Chỉ số theo đơn vị và yếu tố"));
    for row in &rows {
        let name = row["unit"]["name"].as_str().context("name")?;
        assert!(text.contains(name), "{name} in the PDF");
        let index = row["index"]
            .as_f64()
            .map_or("—".to_string(), format_percent);
        assert!(
            text.contains(&index),
            "the index of {name}, {index}, in the PDF"
        );
    }
    let total = api["total"]["index"].as_f64().context("total index")?;
    assert!(text.contains(&format_percent(total)));
    // The screen-only toolbar is not printed.
    for screen_only in [
        "In báo cáo:",
        "← Kết quả khảo sát",
        "Đợt / kỳ",
        "Đơn vị (và các đơn vị trực thuộc)",
    ] {
        assert!(!text.contains(screen_only), "{screen_only:?} printed");
    }
    Ok(())
}

/// Signs in as [`USER`] and waits for the staff home.
async fn sign_in(browser: &Browser, app: &TestApp) -> Result<()> {
    browser
        .client
        .goto(&format!("{}/sign-in", app.address))
        .await?;
    browser.wait_for_text("Tên đăng nhập", WAIT).await?;
    browser
        .client
        .find(Locator::Id("f-username"))
        .await?
        .send_keys(USER)
        .await?;
    browser
        .client
        .find(Locator::Id("f-password"))
        .await?
        .send_keys(TEST_PASSWORD)
        .await?;
    browser
        .client
        .find(Locator::Css("form[action='/sign-in'] button[type=submit]"))
        .await?
        .click()
        .await?;
    wait_for_path(browser, "/staff").await?;
    Ok(())
}

/// axe-core's `scrollable-region-focusable`, as the page stands: every element that scrolls
/// (its content wider or taller than its box, overflow auto or scroll) can be focused or holds
/// something focusable. Returns how many scroll.
async fn scrollable_regions_are_focusable(browser: &Browser) -> Result<u64> {
    let found = browser
        .client
        .execute(
            r#"const bad = [], all = [];
               for (const el of document.querySelectorAll('body *')) {
                 const s = getComputedStyle(el);
                 const x = (s.overflowX === 'auto' || s.overflowX === 'scroll') && el.scrollWidth > el.clientWidth;
                 const y = (s.overflowY === 'auto' || s.overflowY === 'scroll') && el.scrollHeight > el.clientHeight;
                 if (!x && !y) continue;
                 all.push(el);
                 const focusable = el.tabIndex >= 0 || el.querySelector('a[href],button,input,select,textarea,[tabindex]:not([tabindex="-1"])');
                 if (!focusable) bad.push(el.outerHTML.slice(0, 120));
               }
               return [all.length, bad];"#,
            vec![],
        )
        .await?;
    let bad = found[1].as_array().context("list")?;
    ensure!(
        bad.is_empty(),
        "scrollable regions the keyboard cannot reach: {bad:?}"
    );
    Ok(found[0].as_u64().unwrap_or(0))
}

/// The appendix's table of units is wider than its region, which the keyboard focuses and
/// scrolls (the arrow keys), and which is named for a screen reader.
async fn appendix_scrolls_with_the_keyboard(browser: &Browser, screenshot: &str) -> Result<()> {
    let region = "document.getElementById('phu-luc-don-vi').parentElement";
    let state = browser
        .client
        .execute(
            &format!(
                "const r = {region}; r.scrollIntoView(); r.focus(); \
                 return [r.getAttribute('role'), r.getAttribute('aria-label'), r.scrollWidth, r.clientWidth, \
                 document.activeElement === r, r.scrollLeft];"
            ),
            vec![],
        )
        .await?;
    ensure!(state[0] == json!("region"), "{state}");
    ensure!(
        state[1] == json!("Phụ lục 1. Chỉ số theo đơn vị và yếu tố"),
        "{state}"
    );
    let (scroll, client) = (
        state[2].as_f64().context("scrollWidth")?,
        state[3].as_f64().context("clientWidth")?,
    );
    ensure!(
        scroll > client,
        "the appendix overflows its region ({scroll} > {client})"
    );
    ensure!(state[4] == json!(true), "the region takes the focus");
    ensure!(state[5] == json!(0), "it starts at the left");
    let focused = browser.client.active_element().await?;
    focused
        .send_keys(&format!("{}{}{}", Key::Right, Key::Right, Key::Right))
        .await?;
    let after_arrows = scroll_left(browser, region).await?;
    ensure!(after_arrows > 0.0, "the arrow keys scroll the appendix");
    browser.screenshot_to(&artifact_path(screenshot)).await?;
    focused
        .send_keys(&format!("{}{}{}", Key::Left, Key::Left, Key::Left))
        .await?;
    let back = scroll_left(browser, region).await?;
    ensure!(
        back < after_arrows,
        "the left arrow scrolls back ({back} after {after_arrows})"
    );
    Ok(())
}

async fn scroll_left(browser: &Browser, region: &str) -> Result<f64> {
    // Keyboard scrolling may be smooth: wait for it to settle.
    let mut last = -1.0;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = browser
            .client
            .execute(&format!("return {region}.scrollLeft;"), vec![])
            .await?
            .as_f64()
            .context("scrollLeft")?;
        if now == last {
            return Ok(now);
        }
        last = now;
    }
    Ok(last)
}

async fn api_json(client: &StaffClient, path: &str) -> Result<Value> {
    let response = client.get(path).await;
    ensure!(response.status() == 200, "{path}: {}", response.status());
    Ok(serde_json::from_str(&response.text().await?)?)
}
