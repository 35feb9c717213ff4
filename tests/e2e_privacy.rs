//! The privacy notice on a phone (issue 15): headless Chromium emulating a 390×844 phone opens
//! a desk's survey, follows the notice link, reads the notice (visible, no sideways scroll,
//! text of a readable size) and returns to the form.

mod common;

use std::time::Duration;

use anyhow::{Context, Result};
use common::browser::{Browser, artifact_path, require_browser};
use common::{TestApp, TestDatabase};
use fantoccini::Locator;
use serde_json::Value;

const WIDTH: u32 = 390;
const HEIGHT: u32 = 844;
const WAIT: Duration = Duration::from_secs(15);
const CONTROLLER: &str = "Phòng Nội vụ, Ủy ban nhân dân xã Xuân Lộc";
const CONTACT: &str = "điện thoại 0251 3871 234, thư điện tử noivu@xuanloc.dongnai.gov.vn";

async fn js(browser: &Browser, script: &str) -> Result<Value> {
    browser
        .client
        .execute(script, vec![])
        .await
        .with_context(|| format!("running script {script}"))
}

#[tokio::test]
async fn a_citizen_reads_the_privacy_notice_on_a_phone() -> Result<()> {
    if !require_browser("a_citizen_reads_the_privacy_notice_on_a_phone") {
        return Ok(());
    }
    let app = TestApp::spawn_on(TestDatabase::create().await, |url| {
        let mut config = common::test_config(url);
        config.privacy.controller = CONTROLLER.into();
        config.privacy.contact = CONTACT.into();
        config.privacy.configured = true;
        config
    })
    .await;
    let code = app.desk_code("xuan-loc.xuan-bac").await;
    let browser = Browser::start_phone(WIDTH, HEIGHT).await?;
    let result = async {
        browser
            .client
            .goto(&format!("{}/s/{code}", app.address))
            .await?;
        browser.wait_for_text("Gửi phiếu", WAIT).await?;
        assert_eq!(browser.viewport().await?, (WIDTH, HEIGHT));
        let mobile = js(
            &browser,
            "return navigator.userAgent.includes('Mobile') && navigator.maxTouchPoints > 0;",
        )
        .await?;
        assert_eq!(mobile, Value::Bool(true), "a phone is emulated");

        // The link is on the form, visible before the questions.
        let link = browser
            .client
            .find(Locator::LinkText("Thông báo về bảo vệ dữ liệu cá nhân"))
            .await
            .context("the notice link on the form")?;
        assert!(link.is_displayed().await?);
        let top = js(
            &browser,
            "return document.querySelector('.privacy-link a').getBoundingClientRect().top \
                    < document.querySelector('fieldset').getBoundingClientRect().top;",
        )
        .await?;
        assert_eq!(
            top,
            Value::Bool(true),
            "the link comes before the questions"
        );
        link.click().await?;

        let text = browser.wait_for_text("Lưu giữ bao lâu", WAIT).await?;
        assert_eq!(browser.viewport().await?, (WIDTH, HEIGHT));
        let url = browser.client.current_url().await?;
        assert_eq!(url.path(), "/quyen-rieng-tu");
        assert!(text.contains(CONTROLLER), "{text}");
        assert!(text.contains(CONTACT), "{text}");
        assert!(
            text.contains("Ý kiến góp ý: 730 ngày kể từ ngày gửi phiếu"),
            "{text}"
        );
        assert!(
            text.contains("Số hồ sơ ghi kèm mã đánh giá: 7 ngày"),
            "{text}"
        );
        browser
            .screenshot_to(&artifact_path("privacy-notice-390x844.png"))
            .await?;

        // Visible and readable: the title on the first screen, nothing wider than the phone,
        // every paragraph and list item at 16 px or more, inside the screen.
        let h1 = browser.client.find(Locator::Css("h1")).await?;
        assert!(h1.is_displayed().await?);
        assert_eq!(h1.text().await?, "Thông báo về bảo vệ dữ liệu cá nhân");
        let layout = js(
            &browser,
            r"const h1 = document.querySelector('h1').getBoundingClientRect();
              const blocks = Array.from(document.querySelectorAll('main p, main li'), e => {
                  const r = e.getBoundingClientRect();
                  return { left: r.left, right: r.right, width: r.width,
                           font: parseFloat(getComputedStyle(e).fontSize),
                           text: e.textContent.slice(0, 40) };
              });
              return { scroll: document.documentElement.scrollWidth,
                       h1: [h1.left, h1.top, h1.right, h1.bottom], blocks };",
        )
        .await?;
        let scroll = layout["scroll"].as_u64().context("scrollWidth")?;
        assert!(
            scroll <= u64::from(WIDTH),
            "the notice scrolls sideways: {scroll} > {WIDTH}"
        );
        let h1: Vec<f64> = serde_json::from_value(layout["h1"].clone())?;
        assert!(
            h1[0] >= 0.0 && h1[1] >= 0.0 && h1[2] <= f64::from(WIDTH) && h1[3] <= f64::from(HEIGHT),
            "the title is on the first screen: {h1:?}"
        );
        let blocks = layout["blocks"].as_array().context("blocks")?;
        assert!(blocks.len() >= 10, "{blocks:?}");
        for block in blocks {
            let font = block["font"].as_f64().unwrap();
            assert!(font >= 16.0, "{block}: {font} px text");
            let (left, right) = (
                block["left"].as_f64().unwrap(),
                block["right"].as_f64().unwrap(),
            );
            assert!(
                left >= 0.0 && right <= f64::from(WIDTH),
                "{block}: outside the screen"
            );
        }

        // And back to the form.
        browser
            .client
            .find(Locator::LinkText("Quay lại phiếu khảo sát"))
            .await?
            .click()
            .await?;
        browser.wait_for_text("Gửi phiếu", WAIT).await?;
        assert_eq!(
            browser.client.current_url().await?.path(),
            format!("/s/{code}")
        );
        Ok(())
    }
    .await;
    browser.close().await?;
    result
}
