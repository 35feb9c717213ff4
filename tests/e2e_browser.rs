//! The citizen's path in a real browser: headless Chromium at a cheap phone's 360×640 viewport
//! opens a desk's survey, answers it by tapping option labels and submits it. Both guards are
//! seen as the citizen sees them: the browser's own `required` check, and the server's
//! validation when a browser ignores `required`.

mod common;

use std::time::Duration;

use anyhow::{Context, Result};
use common::TestApp;
use common::browser::{Browser, artifact_path, require_browser};
use fantoccini::Locator;
use serde_json::{Value, json};

const XUAN_BAC: &str = "xuan-loc.xuan-bac";
const WIDTH: u32 = 360;
const HEIGHT: u32 = 640;
const WAIT: Duration = Duration::from_secs(15);
const SUBMIT: &str = "Gửi phiếu";
const THANKS: &str = "Cảm ơn Anh/Chị đã tham gia khảo sát!";
const NOT_SENT: &str = "Phiếu chưa được gửi.";
const MISSING: &str = "Vui lòng chọn một câu trả lời cho câu hỏi này.";
const COMMENT: &str = "Cán bộ hướng dẫn tận tình, cảm ơn!";
/// How many radio options the QĐ 1001 form shows: 16 criteria × 5, PA1..PA3 × (5 + "Không áp
/// dụng"), MD1..MD8 × 3, and the respondent questions (2 + 5 + 2 + 6 + 7 + 4 + 7).
const RADIO_OPTIONS: usize = 16 * 5 + 3 * 6 + 8 * 3 + 33;

/// The choice items in page order: the positions of `responses.answers`.
#[rustfmt::skip]
const CHOICE_ITEMS: [&str; 34] = [
    "TC1", "TC2", "TC3", "TC4", "TT1", "TT2", "TT3", "TT4", "CC1", "CC2", "CC3", "CC4", "CC5",
    "KQ1", "KQ2", "KQ3", "PA1", "PA2", "PA3", "MD1", "MD2", "MD3", "MD4", "MD5", "MD6", "MD7",
    "MD8", "GIOI_TINH", "DO_TUOI", "DAN_TOC", "HOC_VAN", "NGHE_NGHIEP", "HINH_THUC", "LINH_VUC",
];

/// What the citizen taps for the 19 required criteria: (item, option label, stored value).
/// "Không áp dụng" is stored as 0.
const CRITERIA: [(&str, &str, i16); 19] = [
    ("TC1", "Rất hài lòng", 5),
    ("TC2", "Hài lòng", 4),
    ("TC3", "Bình thường", 3),
    ("TC4", "Hài lòng", 4),
    ("TT1", "Rất hài lòng", 5),
    ("TT2", "Hài lòng", 4),
    ("TT3", "Không hài lòng", 2),
    ("TT4", "Rất hài lòng", 5),
    ("CC1", "Hài lòng", 4),
    ("CC2", "Rất hài lòng", 5),
    ("CC3", "Hài lòng", 4),
    ("CC4", "Rất hài lòng", 5),
    ("CC5", "Hài lòng", 4),
    ("KQ1", "Bình thường", 3),
    ("KQ2", "Hài lòng", 4),
    ("KQ3", "Rất hài lòng", 5),
    ("PA1", "Không áp dụng", 0),
    ("PA2", "Hài lòng", 4),
    ("PA3", "Rất không hài lòng", 1),
];

/// The optional questions the citizen answers too.
const OPTIONAL: [(&str, &str, i16); 2] = [("MD3", "Rất nhiều", 3), ("GIOI_TINH", "Nữ", 2)];

/// `responses.answers` for a citizen who answered `CRITERIA` and `OPTIONAL`.
fn expected_answers() -> Vec<Option<i16>> {
    CHOICE_ITEMS
        .iter()
        .map(|item| {
            CRITERIA
                .iter()
                .chain(&OPTIONAL)
                .find(|(code, _, _)| code == item)
                .map(|(_, _, stored)| *stored)
        })
        .collect()
}

/// The radio value the form posts for a stored answer.
fn form_value(stored: i16) -> String {
    if stored == 0 {
        "na".to_string()
    } else {
        stored.to_string()
    }
}

async fn js(browser: &Browser, script: &str, args: Vec<Value>) -> Result<Value> {
    browser
        .client
        .execute(script, args)
        .await
        .with_context(|| format!("running script {script}"))
}

/// Opens the survey of `code` and waits for its submit button.
async fn open_survey(browser: &Browser, app: &TestApp, code: &str) -> Result<()> {
    browser
        .client
        .goto(&format!("{}/s/{code}", app.address))
        .await?;
    browser.wait_for_text(SUBMIT, WAIT).await?;
    Ok(())
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

/// The value of the checked radio of question `code`, if any.
async fn checked(browser: &Browser, code: &str) -> Result<Option<String>> {
    let value = js(
        browser,
        "const r = document.querySelector(`input[name=\"${arguments[0]}\"]:checked`); \
         return r ? r.value : null;",
        vec![json!(code)],
    )
    .await?;
    Ok(value.as_str().map(str::to_string))
}

/// Taps the option of question `code` whose label reads `label`, as a finger would (on the
/// label, not on the small radio), and checks that it selected the radio with `stored`.
async fn tap(browser: &Browser, code: &str, label: &str, stored: i16) -> Result<()> {
    let xpath = format!("//*[@id='q-{code}']//label[normalize-space()='{label}']");
    browser
        .client
        .find(Locator::XPath(&xpath))
        .await
        .with_context(|| format!("no option {label:?} in question {code}"))?
        .click()
        .await
        .with_context(|| format!("tapping {label:?} in question {code}"))?;
    assert_eq!(
        checked(browser, code).await?,
        Some(form_value(stored)),
        "tapping {label:?} in {code}"
    );
    Ok(())
}

async fn click_submit(browser: &Browser) -> Result<()> {
    browser
        .client
        .find(Locator::XPath(&format!(
            "//button[normalize-space()='{SUBMIT}']"
        )))
        .await?
        .click()
        .await?;
    Ok(())
}

/// The page can be read without scrolling sideways.
async fn assert_no_horizontal_scroll(browser: &Browser) -> Result<()> {
    let width = js(
        browser,
        "return document.documentElement.scrollWidth;",
        vec![],
    )
    .await?;
    let width = width.as_u64().context("scrollWidth")?;
    assert!(
        width <= u64::from(WIDTH),
        "the page scrolls sideways: scrollWidth {width} > {WIDTH}"
    );
    Ok(())
}

/// The survey fits a 360 px phone: no sideways scrolling, the heading on the first screen, and
/// every option a large tap target (a label of at least 44 CSS px around its radio) whose text
/// stays inside it.
async fn assert_fits_the_phone(browser: &Browser) -> Result<()> {
    assert_eq!(browser.viewport().await?, (WIDTH, HEIGHT));
    assert_no_horizontal_scroll(browser).await?;

    let h1 = browser.client.find(Locator::Css("h1")).await?;
    assert!(h1.is_displayed().await?, "the heading is displayed");
    assert!(h1.text().await?.starts_with("Phiếu khảo sát sự hài lòng"));
    let rect = js(
        browser,
        "const r = document.querySelector('h1').getBoundingClientRect(); \
         return [r.left, r.top, r.right, r.bottom];",
        vec![],
    )
    .await?;
    let rect: Vec<f64> = serde_json::from_value(rect)?;
    let (left, top, right, bottom) = (rect[0], rect[1], rect[2], rect[3]);
    assert!(
        left >= 0.0
            && top >= 0.0
            && right <= f64::from(WIDTH)
            && bottom <= f64::from(HEIGHT)
            && bottom > top,
        "the heading is on the first screen: {rect:?}"
    );

    let options = js(
        browser,
        r"return Array.from(document.querySelectorAll('input[type=radio]'), input => {
            const label = input.closest('label');
            if (!label) return { name: input.name, value: input.value, label: null };
            const r = label.getBoundingClientRect();
            return {
                name: input.name,
                value: input.value,
                label: label.textContent.trim(),
                height: r.height,
                left: r.left,
                right: r.right,
                overflows: label.scrollWidth > label.clientWidth,
                fontSize: parseFloat(getComputedStyle(label).fontSize),
            };
        });",
        vec![],
    )
    .await?;
    let options = options.as_array().context("a list of options")?;
    assert_eq!(options.len(), RADIO_OPTIONS);
    for option in options {
        let what = format!(
            "option {} = {} ({})",
            option["name"], option["value"], option["label"]
        );
        assert!(option["label"].is_string(), "{what}: the radio has a label");
        let height = option["height"].as_f64().unwrap();
        assert!(
            height >= 44.0,
            "{what}: tap target {height} px tall, want >= 44"
        );
        let (left, right) = (
            option["left"].as_f64().unwrap(),
            option["right"].as_f64().unwrap(),
        );
        assert!(
            left >= 0.0 && right <= f64::from(WIDTH),
            "{what}: label spans {left}..{right}, outside the screen"
        );
        assert_eq!(
            option["overflows"],
            json!(false),
            "{what}: text overflows its label"
        );
        let font = option["fontSize"].as_f64().unwrap();
        assert!(font >= 16.0, "{what}: {font} px text");
    }
    Ok(())
}

#[tokio::test]
async fn a_citizen_answers_the_survey_on_a_360px_phone() -> Result<()> {
    if !require_browser("a_citizen_answers_the_survey_on_a_360px_phone") {
        return Ok(());
    }
    let app = TestApp::spawn().await;
    let code = app.desk_code(XUAN_BAC).await;
    let browser = Browser::start(WIDTH, HEIGHT).await?;
    open_survey(&browser, &app, &code).await?;
    assert_eq!(page_status(&browser).await?, 200);
    assert_fits_the_phone(&browser).await?;
    let page = browser.wait_for_text("UBND xã Xuân Bắc", WAIT).await?;
    assert!(page.contains("Bộ phận Tiếp nhận và Trả kết quả xã Xuân Bắc"));

    // Everything but KQ2, then "Gửi phiếu": the browser's `required` check keeps the citizen on
    // the form (no submit event, no request) and points at the unanswered question.
    let (skipped, skipped_label, skipped_value) = CRITERIA[14];
    assert_eq!(skipped, "KQ2");
    for (item, label, stored) in CRITERIA {
        if item != skipped {
            tap(&browser, item, label, stored).await?;
        }
    }
    js(
        &browser,
        r"window.sipasStillHere = true;
        window.sipasSubmitted = false;
        window.sipasInvalid = [];
        const form = document.querySelector('form');
        form.addEventListener('submit', () => { window.sipasSubmitted = true; });
        form.addEventListener('invalid', e => window.sipasInvalid.push(e.target.name), true);",
        vec![],
    )
    .await?;
    click_submit(&browser).await?;
    // Give a navigation, if any, the time to happen.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let after = js(
        &browser,
        r"return {
            stillHere: window.sipasStillHere === true,
            submitted: window.sipasSubmitted,
            invalid: [...new Set(window.sipasInvalid)],
            focused: document.activeElement ? document.activeElement.name : null,
        };",
        vec![],
    )
    .await?;
    assert_eq!(
        after["stillHere"],
        json!(true),
        "the page navigated: {after}"
    );
    assert_eq!(after["submitted"], json!(false), "{after}");
    assert_eq!(after["invalid"], json!([skipped]), "{after}");
    assert_eq!(after["focused"], json!(skipped), "{after}");
    assert_eq!(
        browser.client.current_url().await?.path(),
        format!("/s/{code}")
    );
    assert_eq!(app.response_count().await, 0, "nothing stored");

    // The citizen answers the missing question, two optional ones, and leaves a comment.
    tap(&browser, skipped, skipped_label, skipped_value).await?;
    for (item, label, stored) in OPTIONAL {
        tap(&browser, item, label, stored).await?;
    }
    let comment = browser
        .client
        .find(Locator::Css("textarea[name=YK]"))
        .await?;
    comment.click().await?;
    comment.send_keys(COMMENT).await?;
    assert_eq!(comment.prop("value").await?.as_deref(), Some(COMMENT));
    for (item, _, stored) in CRITERIA.iter().chain(&OPTIONAL) {
        assert_eq!(
            checked(&browser, item).await?,
            Some(form_value(*stored)),
            "{item}"
        );
    }
    assert_no_horizontal_scroll(&browser).await?;
    js(
        &browser,
        "document.getElementById('q-PA1').scrollIntoView({ block: 'start' });",
        vec![],
    )
    .await?;
    browser
        .screenshot_to(&artifact_path("survey-form-360.png"))
        .await?;

    click_submit(&browser).await?;
    let page = browser.wait_for_text(THANKS, WAIT).await?;
    assert_eq!(page_status(&browser).await?, 200);
    assert!(page.contains("UBND xã Xuân Bắc"), "{page}");
    assert_no_horizontal_scroll(&browser).await?;
    browser
        .screenshot_to(&artifact_path("survey-thanks-360.png"))
        .await?;
    browser.close().await?;

    // Exactly the answers tapped are stored, in the form's order.
    let sql = app.sql().await;
    let rows = sql
        .query(
            "SELECT r.answers, r.desk_code, u.code FROM responses r JOIN units u ON u.id = r.unit_id",
            &[],
        )
        .await?;
    assert_eq!(rows.len(), 1, "exactly one response");
    let answers: Vec<Option<i16>> = rows[0].get(0);
    assert_eq!(answers, expected_answers());
    assert_eq!(answers[0], Some(5), "TC1");
    assert_eq!(answers[6], Some(2), "TT3");
    assert_eq!(
        answers[14],
        Some(4),
        "KQ2, answered after the browser's reminder"
    );
    assert_eq!(&answers[16..19], &[Some(0), Some(4), Some(1)], "PA1..PA3");
    assert_eq!(answers[21], Some(3), "MD3");
    assert_eq!(answers[27], Some(2), "GIOI_TINH");
    assert_eq!(answers[28], None, "DO_TUOI unanswered");
    assert_eq!(rows[0].get::<_, String>(1), code);
    assert_eq!(rows[0].get::<_, String>(2), XUAN_BAC);
    let texts = sql
        .query(
            "SELECT i.code, t.body FROM response_texts t JOIN form_items i ON i.id = t.item_id",
            &[],
        )
        .await?;
    assert_eq!(texts.len(), 1);
    assert_eq!(texts[0].get::<_, String>(0), "YK");
    assert_eq!(texts[0].get::<_, String>(1), COMMENT);
    Ok(())
}

#[tokio::test]
async fn a_browser_without_required_gets_the_servers_message_and_keeps_the_answers() -> Result<()> {
    if !require_browser("a_browser_without_required_gets_the_servers_message_and_keeps_the_answers")
    {
        return Ok(());
    }
    let app = TestApp::spawn().await;
    let code = app.desk_code(XUAN_BAC).await;
    let browser = Browser::start(WIDTH, HEIGHT).await?;
    open_survey(&browser, &app, &code).await?;
    assert_eq!(browser.viewport().await?, (WIDTH, HEIGHT));

    // An old browser: no `required` check.
    let removed = js(
        &browser,
        "const all = document.querySelectorAll('[required]'); \
         all.forEach(e => e.removeAttribute('required')); \
         return all.length;",
        vec![],
    )
    .await?;
    assert_eq!(
        removed,
        json!(16 * 5 + 3 * 6),
        "every criterion radio was required"
    );

    // Everything but CC2 (question 10), plus an optional answer and a comment.
    let (missing, missing_label, missing_value) = CRITERIA[9];
    assert_eq!(missing, "CC2");
    for (item, label, stored) in CRITERIA.iter().chain(&OPTIONAL) {
        if *item != missing {
            tap(&browser, item, label, *stored).await?;
        }
    }
    let comment = browser
        .client
        .find(Locator::Css("textarea[name=YK]"))
        .await?;
    comment.send_keys(COMMENT).await?;
    click_submit(&browser).await?;

    let page = browser.wait_for_text(NOT_SENT, WAIT).await?;
    assert_eq!(page_status(&browser).await?, 422);
    assert!(
        page.contains("Vui lòng xem lại 1 câu hỏi được đánh dấu:"),
        "{page}"
    );
    assert!(page.contains(&format!("Câu 10: {MISSING}")), "{page}");
    assert_no_horizontal_scroll(&browser).await?;
    assert_eq!(app.response_count().await, 0, "nothing stored");

    // The message stands at the unanswered question, which is marked.
    let question = browser
        .client
        .find(Locator::Css(&format!("#q-{missing}")))
        .await?;
    assert_eq!(question.attr("class").await?.as_deref(), Some("q err"));
    let message = question.find(Locator::Css(".msg")).await?;
    assert_eq!(message.text().await?, MISSING);
    assert!(message.is_displayed().await?);
    assert_eq!(checked(&browser, missing).await?, None);
    // Only that question.
    let marked = browser.client.find_all(Locator::Css(".q.err")).await?;
    assert_eq!(marked.len(), 1);

    // The answers already given are still checked, and the comment is kept.
    for (item, _, stored) in CRITERIA.iter().chain(&OPTIONAL) {
        if *item != missing {
            let radio = js(
                &browser,
                "return document.querySelector(`input[name=\"${arguments[0]}\"][value=\"${arguments[1]}\"]`).checked;",
                vec![json!(item), json!(form_value(*stored))],
            )
            .await?;
            assert_eq!(radio, json!(true), "{item} is still checked");
        }
    }
    let comment = browser
        .client
        .find(Locator::Css("textarea[name=YK]"))
        .await?;
    assert_eq!(comment.prop("value").await?.as_deref(), Some(COMMENT));

    // The link in the alert takes the citizen to the question.
    browser
        .client
        .find(Locator::LinkText("Câu 10"))
        .await?
        .click()
        .await?;
    let top = js(
        &browser,
        "return document.getElementById(arguments[0]).getBoundingClientRect().top;",
        vec![json!(format!("q-{missing}"))],
    )
    .await?;
    let top = top.as_f64().context("a position")?;
    // At the top of the screen, give or take sub-pixel rounding.
    assert!(
        (-1.0..f64::from(HEIGHT) / 2.0).contains(&top),
        "question {missing} scrolled into view: top {top}"
    );
    browser
        .screenshot_to(&artifact_path("survey-error-360.png"))
        .await?;

    // Answering it sends the form.
    tap(&browser, missing, missing_label, missing_value).await?;
    click_submit(&browser).await?;
    browser.wait_for_text(THANKS, WAIT).await?;
    assert_eq!(page_status(&browser).await?, 200);
    browser.close().await?;
    // The kept answers were sent again as they were.
    let answers: Vec<Option<i16>> = app
        .sql()
        .await
        .query_one("SELECT answers FROM responses", &[])
        .await?
        .get(0);
    assert_eq!(answers, expected_answers());
    assert_eq!(app.response_count().await, 1);
    Ok(())
}
