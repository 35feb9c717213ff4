//! The privacy notice (issue 15): linked from the form of every door (`/s/`, `/k/`, `/v/`),
//! showing the installation's controller, contact and retention periods, with a way back to
//! the form; odd requests never fail.

use crate::common;

use common::{TestApp, TestDatabase};
use sipas::config::PrivacySettings;

const CONTROLLER: &str = "Phòng Nội vụ, Ủy ban nhân dân xã Xuân Lộc";
const CONTACT: &str =
    "Số 1 đường Hùng Vương, xã Xuân Lộc; điện thoại 0251 3871 234; noivu@xuanloc.dongnai.gov.vn";

async fn app() -> TestApp {
    TestApp::spawn_on(TestDatabase::create().await, |url| {
        let mut config = common::test_config(url);
        config.privacy = PrivacySettings {
            controller: CONTROLLER.into(),
            contact: CONTACT.into(),
            configured: true,
            notice_body: None,
        };
        config.retention.comments_days = 400;
        config.retention.client_keys_days = 14;
        config.retention.dossier_days = 3;
        config.retention.exports_days = 5;
        config
    })
    .await
}

/// The notice link on a form page, as written in its `href`.
fn notice_link(html: &str) -> String {
    let marker = "href=\"/quyen-rieng-tu?";
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no link to the notice in {html}"))
        + "href=\"".len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].replace("&amp;", "&")
}

async fn html_of(response: reqwest::Response) -> String {
    assert_eq!(response.status(), 200, "{}", response.url());
    response.text().await.unwrap()
}

fn assert_is_the_notice(page: &str, back: Option<&str>) {
    for expected in [
        "<h1>Thông báo về bảo vệ dữ liệu cá nhân</h1>",
        CONTROLLER,
        "0251 3871 234; noivu@xuanloc.dongnai.gov.vn",
        "Luật Bảo vệ dữ liệu cá nhân số 91/2025/QH15",
        "<strong>Ý kiến góp ý</strong>: 400 ngày kể từ ngày gửi phiếu, sau đó bị xóa.",
        "<strong>Mã băm của thiết bị</strong>: 14 ngày",
        "<strong>Số hồ sơ ghi kèm mã đánh giá</strong>: 3 ngày kể từ ngày tạo mã",
        "<strong>Tệp dữ liệu xuất cho cán bộ</strong>: 5 ngày",
        "<strong>Bộ đếm giới hạn số phiếu gửi</strong>: 2 ngày",
        "Căn cứ phát hiện phiếu bất thường (thời điểm mở phiếu, số liệu đối chiếu)</strong>: 400 ngày",
        "Địa chỉ mạng không được lưu.",
    ] {
        assert!(
            page.contains(expected),
            "{expected:?} missing from the notice"
        );
    }
    match back {
        Some(path) => assert!(
            page.contains(&format!(
                "<a class=\"button\" href=\"{path}\">Quay lại phiếu khảo sát</a>"
            )),
            "no way back to {path}"
        ),
        None => assert!(!page.contains("Quay lại phiếu khảo sát")),
    }
}

#[tokio::test]
async fn every_door_links_the_notice_with_the_installations_settings() {
    let app = app().await;
    let code = app.desk_code("xuan-loc.xuan-bac").await;

    // The desk's open QR code.
    let form = html_of(app.get(&format!("/s/{code}")).await).await;
    let link = notice_link(&form);
    assert_eq!(link, format!("/quyen-rieng-tu?quay-lai=%2Fs%2F{code}"));
    assert!(form.contains(">Thông báo về bảo vệ dữ liệu cá nhân</a>"));
    let notice = app.get(&link).await;
    assert_eq!(notice.headers()["content-type"], "text/html; charset=utf-8");
    assert_is_the_notice(&html_of(notice).await, Some(&format!("/s/{code}")));

    // A one-time code.
    let desk_id = app.desk_id(&code).await;
    let one_time = sipas::db::visits::new_code();
    app.sql()
        .await
        .execute(
            "INSERT INTO visit_codes (code, desk_id, batch) VALUES ($1, $2, gen_random_uuid())",
            &[&one_time, &desk_id],
        )
        .await
        .unwrap();
    let form = html_of(app.get(&format!("/v/{one_time}")).await).await;
    let link = notice_link(&form);
    assert_eq!(link, format!("/quyen-rieng-tu?quay-lai=%2Fv%2F{one_time}"));
    assert_is_the_notice(
        &html_of(app.get(&link).await).await,
        Some(&format!("/v/{one_time}")),
    );

    // The kiosk at the desk.
    let kiosk = app.kiosk_client("quay.xuanbac", &code).await;
    let form = kiosk
        .get(format!("{}/k/{code}", app.address))
        .send()
        .await
        .unwrap();
    let form = html_of(form).await;
    let link = notice_link(&form);
    assert_eq!(link, format!("/quyen-rieng-tu?quay-lai=%2Fk%2F{code}"));
    let notice = kiosk
        .get(format!("{}{link}", app.address))
        .send()
        .await
        .unwrap();
    assert_is_the_notice(&html_of(notice).await, Some(&format!("/k/{code}")));

    // Without a form to return to, or with anything else than a form's path: no link back.
    assert_is_the_notice(&html_of(app.get("/quyen-rieng-tu").await).await, None);
    for odd in [
        "?quay-lai=https%3A%2F%2Fevil.example%2Fs%2Fabc",
        "?quay-lai=%2F%2Fevil.example",
        "?quay-lai=%2Fstaff",
        "?quay-lai=%2Fs%2FABC%22%3E",
        "?quay-lai=%ZZ",
        "?quay-lai=%00",
        "?quay-lai=a&quay-lai=b",
        "?x=1",
    ] {
        let page = html_of(app.get(&format!("/quyen-rieng-tu{odd}")).await).await;
        assert_is_the_notice(&page, None);
        assert!(!page.contains("evil.example"), "{odd}");
    }
    // Only GET.
    let post = app.post_form("/quyen-rieng-tu", &[("a", "b")]).await;
    assert_eq!(post.status(), 404);
}

#[tokio::test]
async fn an_installations_own_text_replaces_the_explanation_but_not_the_facts() {
    let dir = common::TempDir::new("notice");
    let file = dir.path().join("thong-bao.txt");
    std::fs::write(
        &file,
        "## Mục đích xử lý\nPhục vụ thống kê của xã <Xuân Lộc>.\n\n- Câu trả lời\n- Góp ý\n",
    )
    .unwrap();
    let file_path = file.display().to_string();
    let app = TestApp::spawn_on(TestDatabase::create().await, |url| {
        let mut config = common::test_config(url);
        config.privacy = PrivacySettings::from_lookup(&|name: &str| match name {
            "SIPAS_PRIVACY_CONTROLLER" => Some(CONTROLLER.to_string()),
            "SIPAS_PRIVACY_NOTICE_FILE" => Some(file_path.clone()),
            _ => None,
        })
        .expect("a valid notice file");
        config
    })
    .await;
    let page = html_of(app.get("/quyen-rieng-tu").await).await;
    assert!(page.contains("<h2>Mục đích xử lý</h2>"));
    assert!(page.contains("<p>Phục vụ thống kê của xã &lt;Xuân Lộc&gt;.</p>"));
    assert!(page.contains("<ul><li>Câu trả lời</li><li>Góp ý</li></ul>"));
    assert!(
        !page.contains("Thu thập để làm gì"),
        "the standard text is replaced"
    );
    assert!(page.contains(CONTROLLER));
    // The contact unset: the default, and the retention periods from the configuration.
    assert!(page.contains(sipas::config::DEFAULT_PRIVACY_CONTACT));
    assert!(page.contains("<strong>Ý kiến góp ý</strong>: 730 ngày"));
}
