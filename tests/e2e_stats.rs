//! The statistics overview in a real browser: headless Chromium at 1280×800 signs in as the
//! district's administrator, opens "Kết quả khảo sát" through the menu and checks that the
//! ranking chart is drawn: an SVG with a title, one `.bar` per unit with forms, each with a
//! visible width and labelled with its unit and its value, in the order of the data table
//! beside it, and the two goal lines at 80% and 90% of the axis. Screenshots go to
//! `target/e2e/stats-overview-1280.png` (the chart) and `stats-overview-top-1280.png`.

mod common;

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use chrono::{Datelike, NaiveDate};
use common::browser::{Browser, artifact_path, require_browser};
use common::{TEST_PASSWORD, TestApp};
use fantoccini::Locator;
use serde_json::{Value, json};

const USER: &str = "qt.phong.noi.vu";
const WAIT: Duration = Duration::from_secs(15);

async fn js(browser: &Browser, script: &str, args: Vec<Value>) -> Result<Value> {
    browser
        .client
        .execute(script, args)
        .await
        .with_context(|| format!("running script {script}"))
}

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

#[tokio::test]
async fn the_overview_draws_the_ranking_chart() -> Result<()> {
    if !require_browser("the_overview_draws_the_ranking_chart") {
        return Ok(());
    }
    const WIDTH: u32 = 1280;
    const HEIGHT: u32 = 800;
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
                seed: 11,
                count: 2_000,
                first: 0,
                from: NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap(),
                to: today,
            },
        )
        .await?;
    }
    app.settle_rollups().await;

    let browser = Browser::start(WIDTH, HEIGHT).await?;
    assert_eq!(browser.viewport().await?, (WIDTH, HEIGHT));
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
    wait_for_path(&browser, "/staff").await?;

    // Through the menu.
    browser
        .client
        .find(Locator::XPath(
            "//nav//a[normalize-space()='Kết quả khảo sát']",
        ))
        .await
        .context("the menu has “Kết quả khảo sát”")?
        .click()
        .await?;
    wait_for_path(&browser, "/staff/stats").await?;
    let status = js(
        &browser,
        "return performance.getEntriesByType('navigation')[0].responseStatus;",
        vec![],
    )
    .await?;
    assert_eq!(status, json!(200));
    let h1 = browser
        .client
        .find(Locator::Css("h1"))
        .await?
        .text()
        .await?;
    assert_eq!(h1, "Kết quả khảo sát");
    let current = js(
        &browser,
        "return document.querySelector('nav a[aria-current=page]').textContent;",
        vec![],
    )
    .await?;
    assert_eq!(current, json!("Kết quả khảo sát"));
    browser
        .screenshot_to(&artifact_path("stats-overview-top-1280.png"))
        .await?;

    // The chart as the browser lays it out.
    let chart = js(
        &browser,
        r#"
        const svg = document.querySelector('svg#bieu-do-xep-hang');
        if (!svg) return null;
        const box = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; };
        const rows = Array.from(svg.querySelectorAll('g.row')).map(g => {
            const bar = g.querySelector('rect.bar');
            return {
                label: g.querySelector('text.label')?.textContent ?? null,
                value: g.querySelector('text.value')?.textContent ?? null,
                missing: g.querySelector('text.missing')?.textContent ?? null,
                bar: bar ? box(bar) : null,
                barClass: bar ? bar.getAttribute('class') : null,
                whisker: g.querySelector('g.whisker') ? box(g.querySelector('g.whisker')) : null,
                fill: bar ? getComputedStyle(bar).fill : null,
            };
        });
        const ticks = Array.from(svg.querySelectorAll('text.tick')).map(t => [t.textContent, box(t)]);
        const target = (k) => { const l = svg.querySelector('g.target-' + k + ' line'); return l ? box(l) : null; };
        const labels = Array.from(svg.querySelectorAll('text.target-label')).map(t => t.textContent);
        const table = Array.from(document.querySelectorAll('#bang-xep-hang tbody tr')).map(tr =>
            [tr.querySelector('td.unit').textContent.trim(), tr.querySelector('td.index').textContent.trim(),
             tr.querySelector('td.ci').textContent.trim()]);
        return {
            title: svg.querySelector('title')?.textContent ?? null,
            desc: svg.querySelector('desc')?.textContent ?? null,
            role: svg.getAttribute('role'),
            labelledby: svg.getAttribute('aria-labelledby'),
            box: box(svg),
            bars: svg.querySelectorAll('.bar').length,
            rows, ticks, labels, table,
            t80: target(80), t90: target(90),
        };
        "#,
        vec![],
    )
    .await?;
    ensure!(!chart.is_null(), "no ranking chart on the page");
    assert_eq!(chart["role"], json!("img"));
    assert_eq!(
        chart["labelledby"],
        json!("bieu-do-xep-hang-title bieu-do-xep-hang-desc")
    );
    assert!(
        chart["title"]
            .as_str()
            .unwrap()
            .starts_with("Chỉ số SIPAS của các đơn vị"),
        "{}",
        chart["title"]
    );
    assert!(!chart["desc"].as_str().unwrap().is_empty());
    let svg_box = chart["box"].as_array().unwrap();
    assert!(
        svg_box[2].as_f64().unwrap() > 400.0,
        "the chart is wide enough to read: {svg_box:?}"
    );

    let rows = chart["rows"].as_array().unwrap();
    let table = chart["table"].as_array().unwrap();
    assert_eq!(rows.len(), table.len(), "one chart row per table row");
    assert_eq!(rows.len(), 28, "the district's 28 units");
    let with_forms: Vec<&Value> = rows.iter().filter(|r| !r["bar"].is_null()).collect();
    assert_eq!(
        chart["bars"].as_u64().unwrap() as usize,
        with_forms.len(),
        "one .bar per unit with forms"
    );
    assert!(
        with_forms.len() >= 20,
        "most units have forms: {}",
        with_forms.len()
    );
    for (row, cells) in rows.iter().zip(table) {
        let name = cells[0].as_str().unwrap();
        let label = row["label"].as_str().context("a label")?;
        let shown = label.trim_end_matches('…');
        ensure!(
            name.starts_with(shown),
            "the chart's rows follow the table: {label:?} against {name:?}"
        );
        if row["bar"].is_null() {
            assert_eq!(row["missing"], json!("Chưa có phiếu"), "{row}");
            continue;
        }
        let bar = row["bar"].as_array().unwrap();
        ensure!(
            bar[2].as_f64().unwrap() >= 1.0 && bar[3].as_f64().unwrap() >= 5.0,
            "the bar of {name} is visible: {bar:?}"
        );
        assert_eq!(
            row["value"].as_str(),
            cells[1].as_str(),
            "the bar of {name} is labelled with the table's value"
        );
        let class = row["barClass"].as_str().unwrap();
        assert!(
            class == "bar reliable" || class == "bar unreliable",
            "{class}"
        );
        assert_eq!(
            !row["whisker"].is_null(),
            cells[2] != json!("—"),
            "{name} has a whisker when the table gives an interval"
        );
        assert_ne!(row["fill"], json!("none"));
    }

    // The axis and the goal lines at 80% and 90% of it (the national goals, Nghị quyết 76/NQ-CP).
    let tick = |label: &str| -> f64 {
        let found = chart["ticks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t[0] == json!(label))
            .unwrap_or_else(|| panic!("no tick {label}"));
        let b = found[1].as_array().unwrap();
        b[0].as_f64().unwrap() + b[2].as_f64().unwrap() / 2.0
    };
    let (zero, hundred) = (tick("0%"), tick("100%"));
    for (key, share) in [("t80", 0.80), ("t90", 0.90)] {
        let line = chart[key].as_array().context("a target line")?;
        let x = line[0].as_f64().unwrap() + line[2].as_f64().unwrap() / 2.0;
        let expected = zero + share * (hundred - zero);
        ensure!(
            (x - expected).abs() < 2.0,
            "{key} at {x}, expected {expected}"
        );
        ensure!(
            line[3].as_f64().unwrap() > 100.0,
            "{key} runs along the bars"
        );
    }
    assert_eq!(
        chart["labels"],
        json!(["Mục tiêu 2025: 80%", "Mục tiêu 2030: 90%"])
    );

    // The chart section in view for the screenshot.
    js(
        &browser,
        "document.querySelector('section.ranking h2').scrollIntoView();",
        vec![],
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    browser
        .screenshot_to(&artifact_path("stats-overview-1280.png"))
        .await?;
    let scroll = js(
        &browser,
        "return document.documentElement.scrollWidth;",
        vec![],
    )
    .await?;
    ensure!(
        scroll.as_u64().unwrap() <= u64::from(WIDTH),
        "the overview scrolls sideways: {scroll}"
    );

    // The comparison of the first units through the overview's link: a chart and the tests.
    browser
        .client
        .find(Locator::XPath(
            "//a[normalize-space()='So sánh các đơn vị (kiểm định thống kê)']",
        ))
        .await?
        .click()
        .await?;
    wait_for_path(&browser, "/staff/stats/compare").await?;
    browser
        .wait_for_text("Kiểm định chênh lệch chỉ số", WAIT)
        .await?;
    let compared = js(
        &browser,
        "return [document.querySelectorAll('#bieu-do-so-sanh .bar').length, \
                 document.querySelectorAll('#bang-so-sanh tbody tr').length, \
                 document.querySelectorAll('#bang-kiem-dinh-chi-so tbody tr').length];",
        vec![],
    )
    .await?;
    assert_eq!(
        compared,
        json!([2, 2, 1]),
        "the best and the worst unit, one pair"
    );
    js(
        &browser,
        "document.querySelector('section.compared h2').scrollIntoView();",
        vec![],
    )
    .await?;
    browser
        .screenshot_to(&artifact_path("stats-compare-1280.png"))
        .await?;
    browser.client.back().await?;
    wait_for_path(&browser, "/staff/stats").await?;

    // A unit's page through the table's link: its charts are drawn too.
    let first = browser
        .client
        .find(Locator::Css("#bang-xep-hang tbody tr td.unit a"))
        .await?;
    let name = first.text().await?;
    first.click().await?;
    let deadline = Instant::now() + WAIT;
    while !browser
        .client
        .current_url()
        .await?
        .path()
        .starts_with("/staff/stats/units/")
    {
        ensure!(Instant::now() < deadline, "the unit page did not open");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.wait_for_text("Chỉ số theo tiêu chí", WAIT).await?;
    let h1 = browser
        .client
        .find(Locator::Css("h1"))
        .await?
        .text()
        .await?;
    assert_eq!(h1, format!("Kết quả khảo sát: {name}"));
    for (id, bars, file) in [
        ("bieu-do-yeu-to", 5, "stats-unit-factors.png"),
        ("bieu-do-tieu-chi", 19, "stats-unit-criteria.png"),
        ("bieu-do-xu-huong", 12, "stats-unit-trend.png"),
    ] {
        let found = js(
            &browser,
            "const svg = document.getElementById(arguments[0]); \
             svg.scrollIntoView(); \
             return Array.from(svg.querySelectorAll('.bar')).filter(b => { \
                 const r = b.getBoundingClientRect(); return r.width > 0 && r.height > 0; }).length;",
            vec![json!(id)],
        )
        .await?;
        // The trend has one column per month with forms (this year: up to this month).
        if id == "bieu-do-xu-huong" {
            let months = found.as_u64().unwrap();
            ensure!((1..=bars).contains(&months), "{id}: {months} columns drawn");
        } else {
            assert_eq!(found, json!(bars), "{id}: one visible bar per row");
        }
        let png = browser
            .client
            .find(Locator::Id(id))
            .await?
            .screenshot()
            .await?;
        std::fs::write(artifact_path(file), png)?;
    }
    browser.close().await?;
    Ok(())
}
