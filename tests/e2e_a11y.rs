//! The accessibility and screenshot audit of every staff page, the sign-in page, the citizen's
//! survey form and the public results page (issue 17): one server with the demo district and
//! generated responses, one headless Chromium. Every page is opened at 1280×800 and at 360×640;
//! a full-page screenshot goes to `target/e2e/a11y-<page>-<width>.png`, and axe-core (npm
//! `axe-core`, injected into the page) checks it against WCAG 2.1 A and AA. The test fails
//! with every violation found (rule, impact, help and the first elements), page by page.
//!
//! The pages: every link of the staff menu (the test fails if the menu has one it does not
//! know), and the detail pages behind them: a unit, a desk, a plan and its progress, a comment,
//! a flagged response, the comparison of two units, the report, an export job, a batch of
//! one-time codes, a period to publish, an account, the forms to add things; as the
//! administrator and as a unit's account. The district has more than 10,000 responses, so its
//! statistics page offers the table by residence on request, while a commune's shows it.
//!
//! axe-core is found at `SIPAS_AXE_JS` (default `.ci/axe/node_modules/axe-core/axe.min.js`,
//! installed by `npm ci --prefix .ci/axe`). Without it the test fails when `CI` or
//! `SIPAS_REQUIRE_TOOLS` is set, and otherwise passes with a notice.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use chrono::{Datelike, NaiveDate};
use common::browser::{Browser, artifact_path, require_browser};
use common::{TEST_PASSWORD, TestApp};
use fantoccini::Locator;
use serde_json::{Value, json};

const ADMIN: &str = "qt.kiem.tra";
const UNIT_USER: &str = "xuan-loc.xuan-bac";
const XUAN_BAC: &str = "xuan-loc.xuan-bac";
const XUAN_DINH: &str = "xuan-loc.xuan-dinh";
const WAIT: Duration = Duration::from_secs(20);
/// The sizes of the audit: a desktop window and a phone.
const SIZES: [(u32, u32); 2] = [(1280, 800), (360, 640)];
/// Full-page screenshots stop at this height (CSS pixels).
const MAX_SHOT_HEIGHT: u32 = 8000;
/// The WCAG 2.1 A/AA rules of axe-core.
const AXE_TAGS: [&str; 4] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/// Where axe-core's browser bundle is, and whether it must be there.
fn axe_source(test: &str) -> Option<String> {
    let path = std::env::var_os("SIPAS_AXE_JS")
        .filter(|p| !p.is_empty())
        .map_or_else(
            || {
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join(".ci/axe/node_modules/axe-core/axe.min.js")
            },
            PathBuf::from,
        );
    if let Ok(source) = std::fs::read_to_string(&path) {
        return Some(source);
    }
    let required =
        std::env::var_os("CI").is_some() || std::env::var_os("SIPAS_REQUIRE_TOOLS").is_some();
    let what = format!(
        "axe-core not found at {} (install it with `npm ci --prefix .ci/axe`, or set SIPAS_AXE_JS \
         to an axe.min.js)",
        path.display()
    );
    if required {
        panic!("{test} cannot run: {what}; CI or SIPAS_REQUIRE_TOOLS is set");
    }
    eprintln!("NOTICE: skipping {test}: {what}");
    None
}

async fn js(browser: &Browser, script: &str, args: Vec<Value>) -> Result<Value> {
    browser
        .client
        .execute(script, args)
        .await
        .with_context(|| format!("running script {}", &script[..script.len().min(80)]))
}

/// Resizes the window until the viewport is exactly `width` × `height` CSS pixels.
async fn fit_viewport(browser: &Browser, width: u32, height: u32) -> Result<()> {
    for _ in 0..4 {
        let (iw, ih) = browser.viewport().await?;
        if (iw, ih) == (width, height) {
            return Ok(());
        }
        let (ww, wh) = browser.client.get_window_size().await?;
        let new_w = (ww as i64 + width as i64 - iw as i64).max(1) as u32;
        let new_h = (wh as i64 + height as i64 - ih as i64).max(1) as u32;
        browser.client.set_window_size(new_w, new_h).await?;
    }
    let (iw, ih) = browser.viewport().await?;
    ensure!(
        (iw, ih) == (width, height),
        "viewport is {iw}x{ih}, wanted {width}x{height}"
    );
    Ok(())
}

/// Opens `path` and waits for the complete document; fails unless it answered 200.
async fn open(browser: &Browser, app: &TestApp, path: &str) -> Result<()> {
    browser
        .client
        .goto(&format!("{}{path}", app.address))
        .await
        .with_context(|| format!("opening {path}"))?;
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(state) = browser
            .client
            .execute("return document.readyState;", vec![])
            .await
            && state == json!("complete")
        {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "{path} did not load within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = js(
        browser,
        "return performance.getEntriesByType('navigation')[0].responseStatus;",
        vec![],
    )
    .await?;
    ensure!(
        status == json!(200),
        "{path} answered {status} (at {})",
        browser.client.current_url().await?
    );
    Ok(())
}

/// A screenshot of the whole page (the window made as tall as the document, up to
/// [`MAX_SHOT_HEIGHT`]), then the viewport put back to `width` × `height`.
async fn full_page_screenshot(
    browser: &Browser,
    name: &str,
    width: u32,
    height: u32,
) -> Result<()> {
    let full = js(
        browser,
        "return Math.ceil(document.documentElement.scrollHeight);",
        vec![],
    )
    .await?
    .as_u64()
    .context("scrollHeight")? as u32;
    let tall = full.clamp(height, MAX_SHOT_HEIGHT);
    if tall > height {
        let (ww, wh) = browser.client.get_window_size().await?;
        browser
            .client
            .set_window_size(ww as u32, wh as u32 + tall - height)
            .await?;
    }
    let shot = browser.screenshot_to(&artifact_path(name)).await;
    if tall > height {
        fit_viewport(browser, width, height).await?;
    }
    shot
}

/// Runs axe-core on the page the browser shows; returns its violations, one line each.
async fn axe_violations(browser: &Browser, axe: &str) -> Result<Vec<String>> {
    let loaded = browser
        .client
        .execute(&format!("{axe}\n;return typeof window.axe;"), vec![])
        .await
        .context("injecting axe-core")?;
    ensure!(loaded == json!("object"), "axe-core did not load: {loaded}");
    let result = browser
        .client
        .execute_async(
            r"const done = arguments[arguments.length - 1];
              axe.run(document, {
                  runOnly: { type: 'tag', values: arguments[0] },
                  resultTypes: ['violations'],
              }).then(
                  r => done(r.violations.map(v => ({
                      id: v.id,
                      impact: v.impact,
                      help: v.help,
                      count: v.nodes.length,
                      targets: v.nodes.slice(0, 3).map(n => n.target.join(' ')),
                      summary: v.nodes.length ? (v.nodes[0].failureSummary || '') : '',
                  }))),
                  e => done({ error: String(e) }),
              );",
            vec![json!(AXE_TAGS)],
        )
        .await
        .context("running axe-core")?;
    if let Some(error) = result.get("error") {
        bail!("axe-core failed: {error}");
    }
    let violations = result.as_array().context("axe's violations")?;
    Ok(violations
        .iter()
        .map(|v| {
            format!(
                "{} ({}, {} element(s)): {}; e.g. {}; {}",
                v["id"].as_str().unwrap_or("?"),
                v["impact"].as_str().unwrap_or("?"),
                v["count"],
                v["help"].as_str().unwrap_or("?"),
                v["targets"],
                v["summary"].as_str().unwrap_or("").replace('\n', " "),
            )
        })
        .collect())
}

/// Whether the page scrolls sideways (a table or a line wider than the screen outside a scroll
/// region of its own); returns the problem with the widest elements that stick out.
async fn sideways_overflow(browser: &Browser) -> Result<Option<String>> {
    let found = js(
        browser,
        r"const w = document.documentElement.clientWidth;
          const scroll = document.documentElement.scrollWidth;
          if (scroll <= w) return null;
          const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
              + (el.classList.length ? '.' + Array.from(el.classList).join('.') : '');
          const out = [];
          for (const el of document.body.querySelectorAll('*')) {
              const r = el.getBoundingClientRect();
              if (r.width === 0 || r.right <= w + 1) continue;
              let p = el.parentElement, inside = false;
              while (p && p !== document.body) {
                  if (/(auto|scroll|hidden)/.test(getComputedStyle(p).overflowX)) { inside = true; break; }
                  if (p.getBoundingClientRect().right > w + 1) { inside = true; break; }
                  p = p.parentElement;
              }
              if (!inside) out.push(name(el) + ' to ' + Math.round(r.right) + 'px');
          }
          return 'scrollWidth ' + scroll + ' > ' + w + ': ' + out.slice(0, 4).join(', ');",
        vec![],
    )
    .await?;
    Ok(found.as_str().map(str::to_string))
}

/// Signs in through the sign-in form.
async fn sign_in(browser: &Browser, app: &TestApp, username: &str) -> Result<()> {
    open(browser, app, "/sign-in").await?;
    browser
        .client
        .find(Locator::Css("#f-username"))
        .await?
        .send_keys(username)
        .await?;
    browser
        .client
        .find(Locator::Css("#f-password"))
        .await?
        .send_keys(TEST_PASSWORD)
        .await?;
    js(browser, "window.sipasOldPage = true;", vec![]).await?;
    browser
        .client
        .find(Locator::Css(
            "main form[action='/sign-in'] button[type=submit]",
        ))
        .await?
        .click()
        .await?;
    let deadline = Instant::now() + WAIT;
    loop {
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
            "signing in as {username}: no new page"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = browser.client.current_url().await?;
    ensure!(url.path() == "/staff", "signed in as {username}: at {url}");
    Ok(())
}

async fn sign_out(browser: &Browser) -> Result<()> {
    browser.client.delete_all_cookies().await?;
    Ok(())
}

/// The paths of the staff menu on the page the browser shows.
async fn menu_paths(browser: &Browser) -> Result<BTreeSet<String>> {
    let hrefs = js(
        browser,
        "return Array.from(document.querySelectorAll('header nav a[href]'), a => a.getAttribute('href'));",
        vec![],
    )
    .await?;
    let hrefs: Vec<String> = serde_json::from_value(hrefs)?;
    ensure!(!hrefs.is_empty(), "no staff menu");
    Ok(hrefs.into_iter().collect())
}

/// The first `href` on the page matching the CSS selector `selector`.
async fn first_link(
    browser: &Browser,
    app: &TestApp,
    page: &str,
    selector: &str,
) -> Result<String> {
    open(browser, app, page).await?;
    let href = js(
        browser,
        "const a = document.querySelector(arguments[0]); return a ? a.getAttribute('href') : null;",
        vec![json!(selector)],
    )
    .await?;
    href.as_str()
        .map(str::to_string)
        .with_context(|| format!("no link {selector} on {page}"))
}

async fn id_of(app: &TestApp, sql: &str) -> i64 {
    app.count(sql).await
}

/// One page of the audit: (screenshot name, path).
type Page = (String, String);

fn page(name: &str, path: impl Into<String>) -> Page {
    (name.to_string(), path.into())
}

/// Opens every page at every size: screenshots and axe; returns the violations by page.
async fn audit(
    browser: &Browser,
    app: &TestApp,
    axe: &str,
    pages: &[Page],
    found: &mut Vec<String>,
) -> Result<()> {
    for &(width, height) in &SIZES {
        fit_viewport(browser, width, height).await?;
        for (name, path) in pages {
            open(browser, app, path).await?;
            full_page_screenshot(browser, &format!("a11y-{name}-{width}.png"), width, height)
                .await?;
            let violations = axe_violations(browser, axe)
                .await
                .with_context(|| format!("axe on {path} at {width}px"))?;
            eprintln!(
                "a11y: {path} at {width}px: {} violation(s)",
                violations.len()
            );
            for v in violations {
                found.push(format!("{path} at {width}px ({name}): {v}"));
            }
            if let Some(overflow) = sideways_overflow(browser).await? {
                eprintln!("a11y: {path} at {width}px scrolls sideways: {overflow}");
                found.push(format!(
                    "{path} at {width}px ({name}): the page scrolls sideways: {overflow}"
                ));
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn every_staff_page_and_the_public_pages_pass_axe_at_1280_and_360() -> Result<()> {
    const TEST: &str = "every_staff_page_and_the_public_pages_pass_axe_at_1280_and_360";
    if !require_browser(TEST) {
        return Ok(());
    }
    let Some(axe) = axe_source(TEST) else {
        return Ok(());
    };

    // With an SMTP server configured (never contacted: nobody subscribes), so that the e-mail
    // alerts' form is audited too.
    let app = TestApp::spawn_on(common::TestDatabase::create().await, |url| {
        let mut config = common::test_config(url);
        config.mail = Some(sipas::config::MailSettings {
            smtp_url: "smtp://127.0.0.1:9".into(),
            from: "sipas@example.gov.vn".into(),
            every: sipas::config::DEFAULT_ALERT_EVERY,
        });
        config
    })
    .await;
    app.create_account(ADMIN, "admin", &[]).await;
    app.create_account(UNIT_USER, "unit", &[XUAN_BAC]).await;
    let today = sipas::plans::today_in_vietnam();
    let year = today.year();
    let january = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
    {
        let mut conn = app.pool.get().await?;
        sipas::demo::generate_responses(
            &mut conn,
            &app.forms,
            &sipas::demo::ResponseSpec {
                seed: 17,
                // Above `TABLE_INLINE_MAX` (10,000) for the district's year (10,500 of them
                // counted 9,550 there: a few are left out), so that its page offers the table
                // by residence on request instead of computing it (checked below); each
                // commune stays under it and shows the table.
                count: 12_000,
                first: 0,
                from: january,
                to: today,
            },
        )
        .await?;
        sipas::demo::generate_burst(&mut conn, &app.forms, 17, january, today).await?;
    }
    // A comment at Xuân Bắc (for the unit account too).
    let code = app.desk_code(XUAN_BAC).await;
    common::submit(&app, &code, "Thủ tục nhanh, cán bộ nhiệt tình.").await;
    app.settle_rollups().await;

    // What the pages need, made through the HTTP interface as an administrator would.
    let admin = app.staff(ADMIN).await;
    let unit_in = app.unit_id(XUAN_BAC).await;
    let unit_out = app.unit_id(XUAN_DINH).await;
    let district = id_of(
        &app,
        &format!("SELECT parent_id::int8 FROM units WHERE code = '{XUAN_BAC}'"),
    )
    .await;
    let desk_in = app.desk_id(&code).await;
    let created = admin
        .post(
            "/staff/plans",
            &[
                ("year", &year.to_string()),
                (
                    "title",
                    &format!("Kế hoạch khảo sát sự hài lòng năm {year}"),
                ),
                ("unit_id", &district.to_string()),
                ("form_id", "sipas-1001-dich-vu"),
                ("margin", "0,05"),
                ("preset", "custom"),
            ],
        )
        .await;
    assert_eq!(created.status(), 303, "creating a plan");
    let plan = id_of(&app, "SELECT max(id)::int8 FROM survey_plans").await;
    let added = admin
        .post(
            &format!("/staff/plans/{plan}/periods"),
            &[
                ("name", "Cả năm"),
                ("starts_on", &format!("01/01/{year}")),
                ("ends_on", &format!("31/12/{year}")),
            ],
        )
        .await;
    assert_eq!(added.status(), 303, "adding a period");
    let period = id_of(&app, "SELECT max(id)::int8 FROM plan_periods").await;
    let published = admin.post(&format!("/staff/publish/{period}"), &[]).await;
    assert_eq!(published.status(), 303, "publishing the period");
    let minted = admin
        .post(
            "/staff/codes",
            &[
                ("desk", &desk_in.to_string()),
                ("count", "3"),
                ("dossiers", ""),
            ],
        )
        .await;
    assert_eq!(minted.status(), 303, "minting one-time codes");
    let batch: String = app
        .sql()
        .await
        .query_one("SELECT batch::text FROM visit_codes LIMIT 1", &[])
        .await?
        .get(0);
    let token = admin
        .post("/staff/tokens", &[("name", "Báo cáo tự động")])
        .await;
    assert_eq!(token.status(), 201, "creating an API token");
    let export = admin
        .post(
            "/staff/exports",
            &[
                ("year", &year.to_string()),
                ("unit", &unit_in.to_string()),
                ("form", "sipas-1001-dich-vu"),
                ("format", "codebook"),
            ],
        )
        .await;
    assert_eq!(export.status(), 200, "an export");
    let export = id_of(&app, "SELECT max(id)::int8 FROM export_jobs").await;
    let unit_account = id_of(
        &app,
        &format!("SELECT id::int8 FROM accounts WHERE username = '{UNIT_USER}'"),
    )
    .await;

    // The district's page offers the table by residence on request (the section audited with
    // it); a commune's page does not offer it (it shows the table: tests/residence.rs).
    let district_year = format!("/staff/stats/units/{district}?year={year}");
    for (path, offered) in [
        (district_year.clone(), true),
        (format!("/staff/stats/units/{unit_in}?year={year}"), false),
    ] {
        let body = admin.get(&path).await.text().await?;
        ensure!(
            body.contains("Tính bảng theo nơi cư trú") == offered,
            "{path}: the link to the table by residence should {}be offered: {}",
            if offered { "" } else { "not " },
            common::html_text(&body)
        );
    }

    let browser = Browser::start(SIZES[0].0, SIZES[0].1).await?;
    let mut found = Vec::new();

    // Signed out: the sign-in page, the citizen's form, the public results.
    let survey = app.desk_code(XUAN_DINH).await;
    let public = vec![
        page("sign-in", "/sign-in"),
        page("survey", format!("/s/{survey}")),
        page("public-list", "/cong-khai"),
        page("public-results", format!("/cong-khai/{period}")),
    ];
    audit(&browser, &app, &axe, &public, &mut found).await?;

    // The administrator: every page of the menu, and the pages behind them.
    sign_in(&browser, &app, ADMIN).await?;
    let menu = menu_paths(&browser).await?;
    let comment = first_link(
        &browser,
        &app,
        "/staff/comments",
        "main a[href^='/staff/comments/']",
    )
    .await?;
    let flag = first_link(
        &browser,
        &app,
        "/staff/flags",
        "main a[href^='/staff/flags/']:not([href$='/rules'])",
    )
    .await?;
    let admin_pages = vec![
        page("dashboard", "/staff"),
        page("password", "/staff/password"),
        page("stats", "/staff/stats"),
        page("stats-unit", format!("/staff/stats/units/{unit_in}")),
        page("stats-district", format!("/staff/stats/units/{district}")),
        page("stats-district-year", district_year),
        // Filtered by respondent attributes: the filters open, the sentence saying whom the
        // figures count.
        page(
            "stats-filtered",
            "/staff/stats?attr=GIOI_TINH%3A2&attr=DO_TUOI%3A2",
        ),
        page("compare", "/staff/stats/compare"),
        page(
            "compare-units",
            format!("/staff/stats/compare?units={unit_in}&units={unit_out}"),
        ),
        page("report", "/staff/report"),
        page("units", "/staff/units"),
        page("unit-new", "/staff/units/new"),
        page("unit", format!("/staff/units/{unit_in}")),
        page("desks", "/staff/desks"),
        page("desk-new", "/staff/desks/new"),
        page("desk", format!("/staff/desks/{desk_in}")),
        page("plans", "/staff/plans"),
        page("plan-new", "/staff/plans/new"),
        page("plan", format!("/staff/plans/{plan}")),
        page(
            "plan-progress",
            format!("/staff/plans/{plan}/progress?period={period}"),
        ),
        page("paper", "/staff/paper"),
        page("paper-entry", format!("/staff/paper/{desk_in}")),
        page("comments", "/staff/comments"),
        page("comment", comment),
        page("exports", "/staff/exports"),
        page("export", format!("/staff/exports/{export}")),
        page("codes", "/staff/codes"),
        page("codes-batch", format!("/staff/codes/batches/{batch}")),
        page("publish", "/staff/publish"),
        page("publish-period", format!("/staff/publish/{period}")),
        page("accounts", "/staff/accounts"),
        page("account-new", "/staff/accounts/new"),
        page("account", format!("/staff/accounts/{unit_account}")),
        page("flags", "/staff/flags"),
        page("flag", flag),
        page("flag-rules", "/staff/flags/rules"),
        page("audit", "/staff/audit"),
        page("tokens", "/staff/tokens"),
        page("alerts", "/staff/alerts"),
    ];
    let covered: BTreeSet<&str> = admin_pages.iter().map(|(_, p)| p.as_str()).collect();
    let unknown: Vec<&String> = menu
        .iter()
        .filter(|p| !covered.contains(p.as_str()))
        .collect();
    ensure!(
        unknown.is_empty(),
        "the staff menu links pages this audit does not open: {unknown:?}"
    );
    audit(&browser, &app, &axe, &admin_pages, &mut found).await?;

    // A unit's account: the pages it sees.
    sign_out(&browser).await?;
    fit_viewport(&browser, SIZES[0].0, SIZES[0].1).await?;
    sign_in(&browser, &app, UNIT_USER).await?;
    let unit_pages = vec![
        page("unit-dashboard", "/staff"),
        page("unit-stats", "/staff/stats"),
        page("unit-stats-unit", format!("/staff/stats/units/{unit_in}")),
        page(
            "unit-stats-unit-filtered",
            format!("/staff/stats/units/{unit_in}?attr=GIOI_TINH%3A2"),
        ),
        page("unit-units", "/staff/units"),
        page("unit-unit", format!("/staff/units/{unit_in}")),
        page("unit-desks", "/staff/desks"),
        page("unit-desk", format!("/staff/desks/{desk_in}")),
        page("unit-plans", "/staff/plans"),
        page("unit-plan", format!("/staff/plans/{plan}")),
        page("unit-comments", "/staff/comments"),
        page("unit-report", "/staff/report"),
        page("unit-alerts", "/staff/alerts"),
    ];
    audit(&browser, &app, &axe, &unit_pages, &mut found).await?;
    browser.close().await?;

    let pages = public.len() + admin_pages.len() + unit_pages.len();
    eprintln!(
        "a11y: {pages} pages at {} sizes, {} violation(s); screenshots in {}",
        SIZES.len(),
        found.len(),
        artifact_path("").display()
    );
    ensure!(
        found.is_empty(),
        "axe-core (WCAG 2.1 A/AA) found {} violation(s):\n{}",
        found.len(),
        found.join("\n")
    );
    Ok(())
}
