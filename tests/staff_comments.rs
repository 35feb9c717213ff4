//! Comments ("góp ý"): citizens' open answers, submitted through the real survey path at two
//! communes and at the district's quick-rating desk, then listed per role and scope, filtered,
//! counted, marked as handled with a note and re-opened (audited), and every refusal.

use crate::common;

use common::location;

use common::{StaffClient, TestApp, full_answers, with_hidden};

const XUAN_BAC: &str = "xuan-loc.xuan-bac";
const XUAN_DINH: &str = "xuan-loc.xuan-dinh";
const DISTRICT_OFFICE: &str = "xuan-loc.van-phong-hdnd-ubnd";

const BODY_BAC_A: &str = "Cán bộ nhiệt tình & <b>chu đáo</b>.\nCần thêm chỗ để xe.";
const BODY_BAC_B: &str = "Nên giảm 50% thời gian chờ";
const BODY_DINH: &str = "Phòng chờ ở xã Xuân Định chật, phí gửi xe 1500 đồng, mã HSX01";
const BODY_QUICK: &str = "Thủ tục nhanh gọn, hồ sơ HS_01 trả đúng hẹn";

/// One comment: its response and item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Comment {
    response: i64,
    item: i32,
}

impl Comment {
    fn path(&self) -> String {
        format!("/staff/comments/{}/{}", self.response, self.item)
    }

    fn anchor(&self) -> String {
        format!("id=\"c-{}-{}\"", self.response, self.item)
    }
}

/// Submits a survey at the desk `code` through the citizen's path; returns the comment stored
/// (the response's only open answer) and the submission key.
async fn submit(app: &TestApp, code: &str, fields: &[(&'static str, String)]) -> (Comment, String) {
    let (token, response) = app.send_survey(code, fields).await;
    assert_eq!(response.status(), 200, "submitting at {code}");
    let row = app
        .sql()
        .await
        .query_one(
            "SELECT t.response_id, t.item_id FROM response_texts t \
             JOIN responses r ON r.id = t.response_id WHERE r.submission_key::text = $1",
            &[&token],
        )
        .await
        .expect("the comment is stored");
    (
        Comment {
            response: row.get(0),
            item: row.get(1),
        },
        token,
    )
}

/// A QĐ 1001 ballot with `comment` as "Ý kiến khác".
fn ballot(comment: &str) -> Vec<(&'static str, String)> {
    let mut fields = full_answers("4");
    fields.push(("YK", comment.to_string()));
    fields
}

struct Fixture {
    app: TestApp,
    admin: StaffClient,
    viewer: StaffClient,
    /// A unit account of Xuân Bắc.
    unit: StaffClient,
    bac_a: Comment,
    bac_b: Comment,
    dinh: Comment,
    quick: Comment,
    /// The submission keys of the four responses.
    tokens: Vec<String>,
    /// The public codes of the desks.
    codes: Vec<String>,
}

impl Fixture {
    async fn build() -> Fixture {
        let app = TestApp::spawn().await;
        let bac = app.desk_code(XUAN_BAC).await;
        let dinh_code = app.desk_code(XUAN_DINH).await;
        let quick_code = app
            .desk_code_named(DISTRICT_OFFICE, Some(sipas::demo::QUICK_RATING_DESK))
            .await;
        let (bac_a, t1) = submit(&app, &bac, &ballot(BODY_BAC_A)).await;
        let (bac_b, t2) = submit(&app, &bac, &ballot(BODY_BAC_B)).await;
        let (dinh, t3) = submit(&app, &dinh_code, &ballot(BODY_DINH)).await;
        let (quick, t4) = submit(
            &app,
            &quick_code,
            &[("DG", "3".to_string()), ("GY", BODY_QUICK.to_string())],
        )
        .await;
        // A response without a comment is no comment.
        let (_, token, version) = app.open_survey(&bac).await;
        let fields = full_answers("5");
        let r = app
            .post_form(
                &format!("/s/{bac}"),
                &with_hidden(&token, &version, &fields),
            )
            .await;
        assert_eq!(r.status(), 200);
        assert_eq!(app.count("SELECT count(*) FROM response_texts").await, 4);
        let admin = app.staff_with_role("qt.noi.vu", "admin", &[]).await;
        let viewer = app.staff_with_role("lanh.dao", "viewer", &[]).await;
        let unit = app
            .staff_with_role("can.bo.xuan.bac", "unit", &[XUAN_BAC])
            .await;
        Fixture {
            app,
            admin,
            viewer,
            unit,
            bac_a,
            bac_b,
            dinh,
            quick,
            tokens: vec![t1, t2, t3, t4],
            codes: vec![bac, dinh_code, quick_code],
        }
    }

    async fn unit_id(&self, code: &str) -> i32 {
        self.app
            .sql()
            .await
            .query_one("SELECT id FROM units WHERE code = $1", &[&code])
            .await
            .unwrap()
            .get(0)
    }

    async fn account_id(&self, username: &str) -> i32 {
        self.app
            .sql()
            .await
            .query_one("SELECT id FROM accounts WHERE username = $1", &[&username])
            .await
            .unwrap()
            .get(0)
    }

    /// (handled_at is set, handled_by, note) of a comment.
    async fn handling(&self, c: Comment) -> (bool, Option<i32>, Option<String>) {
        let row = self
            .app
            .sql()
            .await
            .query_one(
                "SELECT handled_at IS NOT NULL, handled_by, handling_note FROM response_texts \
                 WHERE response_id = $1 AND item_id = $2",
                &[&c.response, &c.item],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1), row.get(2))
    }

    async fn audit_count(&self) -> i64 {
        self.app
            .count("SELECT count(*) FROM audit_log WHERE entity = 'comment'")
            .await
    }
}

/// GETs `path` and returns (status, body).
async fn page(client: &StaffClient, path: &str) -> (u16, String) {
    let response = client.get(path).await;
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The comments a list page shows, in order.
fn listed(html: &str, all: &[Comment]) -> Vec<Comment> {
    let mut found: Vec<(usize, Comment)> = all
        .iter()
        .filter_map(|c| html.find(&c.anchor()).map(|at| (at, *c)))
        .collect();
    found.sort_by_key(|(at, _)| *at);
    found.into_iter().map(|(_, c)| c).collect()
}

/// The text of the element with `id` (up to its closing tag).
fn text_of(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no #{id} in {html}"))
        + marker.len();
    let end = html[start..].find('<').unwrap() + start;
    html[start..end].to_string()
}

/// (total, handled, unhandled, rate) as the list shows them.
fn counts(html: &str) -> (String, String, String, String) {
    (
        text_of(html, "total"),
        text_of(html, "handled"),
        text_of(html, "unhandled"),
        text_of(html, "rate"),
    )
}

#[tokio::test]
async fn each_role_lists_the_comments_of_its_scope_newest_first() {
    let f = Fixture::build().await;
    let all = [f.bac_a, f.bac_b, f.dinh, f.quick];
    let sql = f.app.sql().await;

    // Admin and viewer: everything, newest first.
    for client in [&f.admin, &f.viewer] {
        let (status, html) = page(client, "/staff/comments").await;
        assert_eq!(status, 200);
        assert_eq!(listed(&html, &all), [f.quick, f.dinh, f.bac_b, f.bac_a]);
        assert_eq!(
            counts(&html),
            ("4".into(), "0".into(), "4".into(), "0,0%".into())
        );
        assert!(html.contains("<a href=\"/staff/comments\" aria-current=\"page\">Góp ý</a>"));
    }
    let (_, html) = page(&f.admin, "/staff/comments").await;
    // What each row shows: the time in Vietnam, unit and desk, form and question, the body
    // escaped with its line break, the channel, the handling state.
    let shown: String = sql
        .query_one(
            "SELECT to_char(submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'HH24:MI \"ngày\" DD/MM/YYYY') \
             FROM responses WHERE id = $1",
            &[&f.bac_a.response],
        )
        .await
        .unwrap()
        .get(0);
    let row_a = &html[html.find(&f.bac_a.anchor()).unwrap()..];
    let row_a = &row_a[..row_a.find("</tr>").unwrap()];
    assert!(row_a.contains(&shown), "{shown} in {row_a}");
    assert!(row_a.contains("UBND xã Xuân Bắc"));
    assert!(row_a.contains("Bộ phận Tiếp nhận và Trả kết quả xã Xuân Bắc"));
    assert!(row_a.contains("Khảo sát sự hài lòng"), "the form: {row_a}");
    assert!(
        row_a.contains("YK. Ý kiến khác (xin ghi cụ thể)"),
        "{row_a}"
    );
    assert!(
        row_a
            .contains("Cán bộ nhiệt tình &amp; &lt;b&gt;chu đáo&lt;/b&gt;.<br>Cần thêm chỗ để xe."),
        "{row_a}"
    );
    assert!(!html.contains("<b>chu đáo</b>"));
    assert!(row_a.contains("Mã QR (điện thoại)"));
    assert!(row_a.contains("Chưa xử lý"));
    assert!(row_a.contains("Đánh dấu đã xử lý"));
    let row_q = &html[html.find(&f.quick.anchor()).unwrap()..];
    let row_q = &row_q[..row_q.find("</tr>").unwrap()];
    assert!(row_q.contains("Văn phòng HĐND và UBND huyện"), "{row_q}");
    assert!(row_q.contains(sipas::demo::QUICK_RATING_DESK));
    assert!(row_q.contains("Đánh giá Bộ phận một cửa"), "{row_q}");
    assert!(row_q.contains("GY. Góp ý của Anh/Chị (không bắt buộc)"));
    // Nothing about the respondent beyond what they wrote: no submission key, no desk code.
    for secret in f.tokens.iter().chain(&f.codes) {
        assert!(!html.contains(secret.as_str()), "{secret} shown");
    }
    // A comment's page leads back to the list as it was filtered, and so do its forms.
    let (_, html) = page(&f.admin, "/staff/comments?q=xe&state=unhandled").await;
    let link = format!(
        "href=\"{}?back=%2Fstaff%2Fcomments%3Fstate%3Dunhandled%26q%3Dxe\"",
        f.bac_a.path()
    );
    assert!(html.contains(&link), "{link} in {html}");
    let (_, html) = page(
        &f.admin,
        &format!(
            "{}?back=%2Fstaff%2Fcomments%3Fstate%3Dunhandled%26q%3Dxe",
            f.bac_a.path()
        ),
    )
    .await;
    assert!(
        html.contains("<a href=\"/staff/comments?state=unhandled&amp;q=xe\">← Danh sách góp ý</a>")
    );
    assert!(html.contains("name=\"back\" value=\"/staff/comments?state=unhandled&amp;q=xe\""));
    let (_, html) = page(
        &f.admin,
        &format!("{}?back=https://evil.example/", f.bac_a.path()),
    )
    .await;
    assert!(!html.contains("evil.example"));
    // The viewer reads, and is offered no change.
    let (_, html) = page(&f.viewer, "/staff/comments").await;
    assert!(!html.contains("/handle\""));
    assert!(!html.contains("Đánh dấu đã xử lý"));
    assert!(!html.contains("method=\"post\" action=\"/staff/comments"));

    // The unit account: Xuân Bắc only, in the list, the counts and the unit filter.
    let (status, html) = page(&f.unit, "/staff/comments").await;
    assert_eq!(status, 200);
    assert_eq!(listed(&html, &all), [f.bac_b, f.bac_a]);
    assert_eq!(
        counts(&html),
        ("2".into(), "0".into(), "2".into(), "0,0%".into())
    );
    for other in [
        "Xuân Định",
        "Văn phòng HĐND",
        BODY_QUICK,
        "UBND huyện Xuân Lộc",
    ] {
        assert!(!html.contains(other), "{other} shown to Xuân Bắc");
    }
    let xuan_bac = f.unit_id(XUAN_BAC).await;
    assert!(html.contains(&format!(
        "<option value=\"{xuan_bac}\">UBND xã Xuân Bắc</option>"
    )));
    // Another unit's comment by its URL, or its unit in the filter: nothing of it.
    let (status, html) = page(&f.unit, &f.dinh.path()).await;
    assert_eq!(status, 404);
    assert!(!html.contains("Xuân Định"));
    let xuan_dinh = f.unit_id(XUAN_DINH).await;
    let (status, html) = page(&f.unit, &format!("/staff/comments?unit={xuan_dinh}")).await;
    assert_eq!(status, 422);
    assert!(html.contains("Đơn vị không hợp lệ. Vui lòng chọn trong danh sách."));
    assert!(!html.contains("Xuân Định") && !html.contains(&f.bac_a.anchor()));
    // Bad filters: a message for every role, with the account's own units only.
    for client in [&f.unit, &f.viewer] {
        let (status, html) = page(client, "/staff/comments?from=31/02/2026&before=%zz").await;
        assert_eq!(status, 422);
        assert!(html.contains("Ngày không hợp lệ. Vui lòng nhập theo dạng ngày/tháng/năm"));
        assert!(html.contains("Liên kết chuyển trang không hợp lệ."));
    }
    let (_, html) = page(&f.unit, "/staff/comments?state=x").await;
    assert!(!html.contains("Xuân Định") && html.contains("UBND xã Xuân Bắc"));
    let (status, html) = page(&f.unit, &f.bac_a.path()).await;
    assert_eq!(status, 200);
    assert!(html.contains("Cần thêm chỗ để xe."));
    assert!(html.contains("name=\"note\""));
    let (status, html) = page(&f.viewer, &f.dinh.path()).await;
    assert_eq!(status, 200);
    assert!(html.contains("Phòng chờ ở xã Xuân Định chật"));
    assert!(!html.contains("name=\"note\""));

    // Anonymous: the sign-in page; unknown or malformed comments: 404.
    let anonymous = StaffClient::new(&f.app.address);
    let r = anonymous.get("/staff/comments?state=handled").await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        location(&r),
        "/sign-in?next=%2Fstaff%2Fcomments%3Fstate%3Dhandled"
    );
    for path in [
        "/staff/comments/abc/1",
        "/staff/comments/1/abc",
        "/staff/comments/99999999999999999999/1",
        "/staff/comments/999999/1",
        "/staff/comments/-1/1",
    ] {
        assert_eq!(page(&f.admin, path).await.0, 404, "{path}");
    }
}

#[tokio::test]
async fn filters_narrow_the_list_and_the_counts() {
    let f = Fixture::build().await;
    let all = [f.bac_a, f.bac_b, f.dinh, f.quick];
    let sql = f.app.sql().await;
    let district = f.unit_id("xuan-loc").await;
    let xuan_bac = f.unit_id(XUAN_BAC).await;
    let office = f.unit_id(DISTRICT_OFFICE).await;
    let list = |query: String| {
        let admin = &f.admin;
        async move {
            let (status, html) = page(admin, &format!("/staff/comments?{query}")).await;
            assert_eq!(status, 200, "{query}: {html}");
            html
        }
    };

    // Unit: the unit and everything below it.
    let html = list(format!("unit={district}")).await;
    assert_eq!(listed(&html, &all).len(), 4);
    let html = list(format!("unit={xuan_bac}")).await;
    assert_eq!(listed(&html, &all), [f.bac_b, f.bac_a]);
    assert!(html.contains(&format!("<option value=\"{xuan_bac}\" selected>")));
    let html = list(format!("unit={office}")).await;
    assert_eq!(listed(&html, &all), [f.quick]);

    // Form (any of its versions).
    let html = list("form=danh-gia-mot-cua".into()).await;
    assert_eq!(listed(&html, &all), [f.quick]);
    let html = list("form=sipas-1001-dich-vu".into()).await;
    assert_eq!(listed(&html, &all), [f.dinh, f.bac_b, f.bac_a]);

    // Text: case-insensitive, and % and _ are the characters typed, not wildcards.
    let html = list("q=50%25".into()).await;
    assert_eq!(listed(&html, &all), [f.bac_b], "1500 must not match 50%");
    assert!(html.contains("name=\"q\" value=\"50%\""));
    let html = list("q=GI%E1%BA%A2M+50%25".into()).await; // "GIẢM 50%" matches "giảm 50%"
    assert_eq!(listed(&html, &all), [f.bac_b]);
    let html = list("q=HS_01".into()).await;
    assert_eq!(listed(&html, &all), [f.quick], "HSX01 must not match HS_01");
    let html = list("q=%25".into()).await;
    assert_eq!(listed(&html, &all), [f.bac_b]);
    let html = list("q=%5C".into()).await; // a backslash: no match, no error
    assert!(listed(&html, &all).is_empty());
    assert!(html.contains("Không có góp ý nào."));

    // Dates are Vietnam's days: 23:59 on the 20th and 00:00 on the 21st (local) fall on
    // either side of midnight, although both are on the 20th in UTC.
    for (c, at) in [
        (f.bac_a, "2026-11-20 23:59:00+07"),
        (f.bac_b, "2026-11-21 00:00:00+07"),
        (f.dinh, "2026-11-21 23:59:59.999+07"),
        (f.quick, "2026-11-22 00:00:00+07"),
    ] {
        sql.execute(
            "UPDATE responses SET submitted_at = $2::text::timestamptz WHERE id = $1",
            &[&c.response, &at],
        )
        .await
        .unwrap();
    }
    let html = list("from=20/11/2026&to=20/11/2026".into()).await;
    assert_eq!(listed(&html, &all), [f.bac_a]);
    let html = list("from=21/11/2026&to=21/11/2026".into()).await;
    assert_eq!(listed(&html, &all), [f.dinh, f.bac_b]);
    let html = list("from=2026-11-21&to=2026-11-21".into()).await;
    assert_eq!(listed(&html, &all), [f.dinh, f.bac_b]);
    let html = list("from=22/11/2026".into()).await;
    assert_eq!(listed(&html, &all), [f.quick]);
    let html = list("to=21/11/2026".into()).await;
    assert_eq!(listed(&html, &all), [f.dinh, f.bac_b, f.bac_a]);
    assert_eq!(
        counts(&html),
        ("3".into(), "0".into(), "3".into(), "0,0%".into())
    );
    // The 23:59 comment shows its local day and time.
    assert!(html.contains("23:59 ngày 20/11/2026"));

    // Handling state (two of the three before the 22nd handled): the counts cover the filter
    // whatever the state chosen, the list only the state.
    for c in [f.bac_a, f.dinh] {
        let r = f
            .admin
            .post(&format!("{}/handle", c.path()), &[("note", "Đã trả lời")])
            .await;
        assert_eq!(r.status(), 303);
    }
    let html = list("to=21/11/2026&state=handled".into()).await;
    assert_eq!(listed(&html, &all), [f.dinh, f.bac_a]);
    assert_eq!(
        counts(&html),
        ("3".into(), "2".into(), "1".into(), "66,7%".into())
    );
    let html = list("to=21/11/2026&state=unhandled".into()).await;
    assert_eq!(listed(&html, &all), [f.bac_b]);
    let html = list("state=all".into()).await;
    assert_eq!(
        counts(&html),
        ("4".into(), "2".into(), "2".into(), "50,0%".into())
    );
    // Filters combine.
    let html = list(format!(
        "unit={xuan_bac}&state=handled&form=sipas-1001-dich-vu&q=xe"
    ))
    .await;
    assert_eq!(listed(&html, &all), [f.bac_a]);
    assert_eq!(
        counts(&html),
        ("1".into(), "1".into(), "0".into(), "100,0%".into())
    );
    let html = list("q=kh%C3%B4ng+c%C3%B3".into()).await;
    assert_eq!(text_of(&html, "rate"), "–", "no comments, no rate");

    // Bad values: a Vietnamese message by the field, the values typed kept, no list; never 500.
    for (query, field, message) in [
        ("from=31/02/2026", "from", "Ngày không hợp lệ."),
        ("to=hôm+nay", "to", "Ngày không hợp lệ."),
        ("from=21/11/2026&to=20/11/2026", "to", "phải bằng hoặc sau"),
        ("state=xong", "state", "Tình trạng không hợp lệ."),
        ("unit=abc", "unit", "Đơn vị không hợp lệ."),
        ("unit=99999999999", "unit", "Đơn vị không hợp lệ."),
        ("unit=999999", "unit", "Đơn vị không hợp lệ."),
        ("form=khong-co", "form", "Mẫu phiếu không hợp lệ."),
        (
            "before=abc",
            "before",
            "Liên kết chuyển trang không hợp lệ.",
        ),
    ] {
        let (status, html) = page(&f.admin, &format!("/staff/comments?{query}")).await;
        assert_eq!(status, 422, "{query}");
        assert!(html.contains(message), "{query}: {html}");
        assert!(html.contains("Bộ lọc chưa hợp lệ."), "{query}");
        assert!(listed(&html, &all).is_empty(), "{query}");
        if field != "before" {
            assert!(html.contains("class=\"field err\""), "{query}");
        }
    }
    let long = format!("q={}", "ă".repeat(201));
    let (status, html) = page(&f.admin, &format!("/staff/comments?{long}")).await;
    assert_eq!(status, 422);
    assert!(html.contains("Nội dung tìm kiếm không được dài quá 200 ký tự."));
    let (status, html) = page(&f.admin, "/staff/comments?from=31/02/2026&q=gi%E1%BA%A3m").await;
    assert_eq!(status, 422);
    assert!(html.contains("value=\"31/02/2026\"") && html.contains("value=\"giảm\""));
    // Unreadable or repeated keys are not errors.
    assert_eq!(
        page(&f.admin, "/staff/comments?%zz&state=handled&state=x")
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn comments_are_handled_with_a_note_and_reopened_with_an_audit_trail() {
    let f = Fixture::build().await;
    let all = [f.bac_a, f.bac_b, f.dinh, f.quick];
    let sql = f.app.sql().await;
    let unit_account = f.account_id("can.bo.xuan.bac").await;
    let admin_account = f.account_id("qt.noi.vu").await;
    let handle = format!("{}/handle", f.bac_a.path());
    let reopen = format!("{}/reopen", f.bac_a.path());
    let back = "/staff/comments?state=unhandled&q=xe";

    // Refused notes: 422, the message by the field, the text typed kept, nothing stored.
    let too_long = "ư".repeat(2001);
    for (note, message) in [
        ("", "Vui lòng ghi nội dung đã xử lý."),
        ("  \r\n ", "Vui lòng ghi nội dung đã xử lý."),
        (
            too_long.as_str(),
            "Nội dung đã xử lý không được dài quá 2.000 ký tự (hiện có 2.001 ký tự).",
        ),
    ] {
        let r = f
            .unit
            .post(&handle, &[("note", note), ("back", back)])
            .await;
        assert_eq!(r.status(), 422);
        let html = r.text().await.unwrap();
        assert!(html.contains(message), "{html}");
        assert!(html.contains("Chưa lưu được."));
        assert!(html.contains("aria-invalid=\"true\""));
        if note == too_long {
            assert!(html.contains(&too_long));
        }
        assert_eq!(f.handling(f.bac_a).await, (false, None, None));
        assert_eq!(f.audit_count().await, 0);
    }

    // Viewers: 403; another unit's comment: 404; no token: refused; nothing stored.
    let r = f.viewer.post(&handle, &[("note", "Xem")]).await;
    assert_eq!(r.status(), 403);
    let r = f
        .unit
        .post(
            &format!("{}/handle", f.dinh.path()),
            &[("note", "Không phải của tôi")],
        )
        .await;
    assert_eq!(r.status(), 404);
    assert!(!r.text().await.unwrap().contains("Xuân Định"));
    let r = f.unit.post(&format!("{}/reopen", f.dinh.path()), &[]).await;
    assert_eq!(r.status(), 404);
    let r = f.unit.post_raw(&handle, &[("note", "Không có mã")]).await;
    assert_eq!(r.status(), 403);
    let r = f.unit.get(&handle).await;
    assert_eq!(r.status(), 404, "GET on a POST route");
    for c in all {
        assert_eq!(f.handling(c).await, (false, None, None));
    }
    assert_eq!(f.audit_count().await, 0);

    // The unit account handles its comment: back to the list it came from, at the comment.
    let r = f
        .unit
        .post(
            &handle,
            &[
                ("note", "  Đã bố trí thêm chỗ để xe.\nCảm ơn góp ý.  "),
                ("back", back),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        location(&r),
        format!("{back}&ok=handled#c-{}-{}", f.bac_a.response, f.bac_a.item)
    );
    assert_eq!(
        f.handling(f.bac_a).await,
        (
            true,
            Some(unit_account),
            Some("Đã bố trí thêm chỗ để xe.\nCảm ơn góp ý.".into())
        )
    );
    let row = sql
        .query_one(
            "SELECT account_id, action, entity_id, before::text, after->>'handling_note', \
                    (after->>'handled_by')::int, after->>'handled_at' IS NOT NULL, \
                    (after->>'handled_at')::timestamptz = t.handled_at \
             FROM audit_log a, response_texts t \
             WHERE a.entity = 'comment' AND t.response_id = $1 AND t.item_id = $2",
            &[&f.bac_a.response, &f.bac_a.item],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, Option<i32>>(0), Some(unit_account));
    assert_eq!(row.get::<_, String>(1), "comment.handle");
    assert_eq!(
        row.get::<_, String>(2),
        format!("{}/{}", f.bac_a.response, f.bac_a.item)
    );
    assert_eq!(
        row.get::<_, String>(3),
        r#"{"handled_at": null, "handled_by": null, "handling_note": null}"#
    );
    assert_eq!(
        row.get::<_, String>(4),
        "Đã bố trí thêm chỗ để xe.\nCảm ơn góp ý."
    );
    assert_eq!(row.get::<_, i32>(5), unit_account);
    assert!(row.get::<_, bool>(6) && row.get::<_, bool>(7));

    // The list shows who and when (Vietnam's time) with the note, and the flash.
    let shown: String = sql
        .query_one(
            "SELECT to_char(handled_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'HH24:MI \"ngày\" DD/MM/YYYY') \
             FROM response_texts WHERE response_id = $1 AND item_id = $2",
            &[&f.bac_a.response, &f.bac_a.item],
        )
        .await
        .unwrap()
        .get(0);
    let (status, html) = page(&f.unit, &location(&r)).await;
    assert_eq!(status, 200);
    assert!(html.contains("Đã đánh dấu góp ý là đã xử lý."));
    assert!(listed(&html, &all).is_empty(), "no longer unhandled");
    let (_, html) = page(&f.unit, "/staff/comments").await;
    assert!(
        html.contains(&format!(
            "Đã xử lý lúc {shown} bởi can.bo.xuan.bac: Đã bố trí thêm chỗ để xe.<br>Cảm ơn góp ý."
        )),
        "{html}"
    );
    assert!(html.contains(&format!("action=\"{reopen}\"")));
    assert_eq!(
        counts(&html),
        ("2".into(), "1".into(), "1".into(), "50,0%".into())
    );
    // Viewers see the handling too.
    let (_, html) = page(&f.viewer, &f.bac_a.path()).await;
    assert!(html.contains(&format!("Đã xử lý lúc {shown} bởi can.bo.xuan.bac")));
    assert!(!html.contains("Mở lại"));

    // Handling it again: refused (409), the first handling stays and is shown.
    let r = f.admin.post(&handle, &[("note", "Ghi đè")]).await;
    assert_eq!(r.status(), 409);
    let html = r.text().await.unwrap();
    assert!(html.contains("đã được đánh dấu đã xử lý trước đó"));
    assert!(html.contains("bởi can.bo.xuan.bac"));
    assert_eq!(f.handling(f.bac_a).await.1, Some(unit_account));
    assert_eq!(f.audit_count().await, 1);

    // Re-opening: viewers 403, another unit 404, the admin re-opens (from the comment page).
    let r = f.viewer.post(&reopen, &[]).await;
    assert_eq!(r.status(), 403);
    assert!(f.handling(f.bac_a).await.0);
    let r = f
        .admin
        .post(&reopen, &[("back", "https://evil.example/")])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("{}?ok=reopened", f.bac_a.path()));
    assert_eq!(f.handling(f.bac_a).await, (false, None, None));
    let row = sql
        .query_one(
            "SELECT account_id, before->>'handling_note', (before->>'handled_by')::int, after::text \
             FROM audit_log WHERE action = 'comment.reopen'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, Option<i32>>(0), Some(admin_account));
    assert_eq!(
        row.get::<_, String>(1),
        "Đã bố trí thêm chỗ để xe.\nCảm ơn góp ý."
    );
    assert_eq!(row.get::<_, i32>(2), unit_account);
    assert_eq!(
        row.get::<_, String>(3),
        r#"{"handled_at": null, "handled_by": null, "handling_note": null}"#
    );
    let (_, html) = page(&f.admin, &location(&r)).await;
    assert!(html.contains("Đã mở lại góp ý."));
    assert!(html.contains("Chưa xử lý"));
    // Re-opening what is open changes nothing and records nothing.
    let r = f.unit.post(&reopen, &[]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(f.audit_count().await, 2);

    // The admin handles a comment of any unit; the unit account's count is its own.
    let r = f
        .admin
        .post(
            &format!("{}/handle", f.dinh.path()),
            &[("note", "Đã chuyển xã xử lý")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(f.handling(f.dinh).await.1, Some(admin_account));
    let (_, html) = page(&f.unit, "/staff/comments").await;
    assert_eq!(
        counts(&html),
        ("2".into(), "0".into(), "2".into(), "0,0%".into())
    );
    let (_, html) = page(&f.admin, "/staff/comments").await;
    assert_eq!(
        counts(&html),
        ("4".into(), "1".into(), "3".into(), "25,0%".into())
    );
    assert_eq!(f.audit_count().await, 3);
}

#[tokio::test]
async fn pages_of_fifty_continue_without_gaps_or_repeats() {
    let f = Fixture::build().await;
    let sql = f.app.sql().await;
    // 116 more comments at Xuân Bắc, all at the same instant (ties broken by response and
    // item), so 120 in all for the admin: pages of 50, 50 and 20.
    sql.batch_execute(
        "WITH new AS ( \
           INSERT INTO responses (submission_key, unit_id, desk_id, form_version_id, channel, answers, submitted_at) \
           SELECT gen_random_uuid(), r.unit_id, r.desk_id, r.form_version_id, 'qr', r.answers, \
                  '2026-11-25 10:00:00+07' \
           FROM responses r, generate_series(1, 116) \
           WHERE r.id = (SELECT response_id FROM response_texts t JOIN form_items i ON i.id = t.item_id \
                         WHERE i.code = 'YK' ORDER BY response_id LIMIT 1) \
           RETURNING id, form_version_id) \
         INSERT INTO response_texts (response_id, item_id, body) \
         SELECT new.id, i.id, 'Góp ý số ' || new.id FROM new \
         JOIN form_items i ON i.form_version_id = new.form_version_id AND i.code = 'YK'",
    )
    .await
    .unwrap();
    let expected: Vec<(i64, i32)> = sql
        .query(
            "SELECT t.response_id, t.item_id FROM response_texts t JOIN responses r ON r.id = t.response_id \
             ORDER BY r.submitted_at DESC, t.response_id DESC, t.item_id DESC",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(expected.len(), 120);
    let all: Vec<Comment> = expected
        .iter()
        .map(|(response, item)| Comment {
            response: *response,
            item: *item,
        })
        .collect();

    let mut seen = Vec::new();
    let mut path = "/staff/comments?form=sipas-1001-dich-vu&unit=".to_string()
        + &f.unit_id("xuan-loc").await.to_string();
    let mut pages = Vec::new();
    loop {
        let (status, html) = page(&f.admin, &path).await;
        assert_eq!(status, 200, "{path}");
        let on_page = listed(&html, &all);
        pages.push(on_page.len());
        seen.extend(on_page);
        assert_eq!(
            text_of(&html, "total"),
            "119",
            "the counts cover every page"
        );
        assert_eq!(html.contains("Mới nhất"), pages.len() > 1);
        match html.split("rel=\"next\"").next().and_then(|before| {
            let start = before.rfind("href=\"")? + 6;
            Some(before[start..].split('"').next()?.replace("&amp;", "&"))
        }) {
            Some(next) if html.contains("rel=\"next\"") => {
                assert!(
                    next.contains("form=sipas-1001-dich-vu"),
                    "the filter is kept: {next}"
                );
                path = next;
            }
            _ => break,
        }
        assert!(pages.len() < 5, "too many pages");
    }
    // 119: the quick-rating comment is of another form.
    assert_eq!(pages, [50, 50, 19]);
    let wanted: Vec<Comment> = all.into_iter().filter(|c| *c != f.quick).collect();
    assert_eq!(seen, wanted);
}

/// Issue 15: a unit's own staff see when a comment came by the day, so that they cannot match a
/// bad rating with the citizen they served at 14:32; the Home Affairs office sees the minute
/// (fraud review). Links to further pages carry no time either.
#[tokio::test]
async fn unit_staff_see_the_day_of_a_comment_and_the_office_the_minute() {
    let f = Fixture::build().await;
    f.app
        .sql()
        .await
        .execute(
            "UPDATE responses SET submitted_at = '2026-11-25 14:32:00+07' WHERE id = $1",
            &[&f.bac_a.response],
        )
        .await
        .unwrap();
    for path in [f.bac_a.path(), "/staff/comments".to_string()] {
        let (status, html) = page(&f.unit, &path).await;
        assert_eq!(status, 200, "{path}");
        assert!(html.contains("ngày 25/11/2026"), "{path}: {html}");
        assert!(
            !html.contains("14:32"),
            "{path}: the minute shown to a unit account"
        );
        let (status, html) = page(&f.admin, &path).await;
        assert_eq!(status, 200, "{path}");
        assert!(html.contains("14:32 ngày 25/11/2026"), "{path}: {html}");
    }
    // The cursor of the next page is the last comment's key, not its time: the unit's list
    // is bac_b (today), then bac_a (moved back to the 25th).
    let cursor = sipas::views::staff::comments::cursor_text(&sipas::db::comments::Cursor {
        key: sipas::db::comments::CommentKey {
            response_id: f.bac_b.response,
            item_id: f.bac_b.item,
        },
    });
    assert_eq!(cursor, format!("{}.{}", f.bac_b.response, f.bac_b.item));
    let (status, html) = page(&f.unit, &format!("/staff/comments?before={cursor}")).await;
    assert_eq!(status, 200);
    let after: Vec<Comment> = listed(&html, &[f.bac_a, f.bac_b, f.dinh, f.quick]);
    assert_eq!(after, vec![f.bac_a], "the page after bac_b starts below it");
    // A cursor naming another unit's comment tells nothing about when it came: an empty page.
    let (status, html) = page(
        &f.unit,
        &format!("/staff/comments?before={}.{}", f.dinh.response, f.dinh.item),
    )
    .await;
    assert_eq!(status, 200);
    assert!(listed(&html, &[f.bac_a, f.bac_b, f.dinh, f.quick]).is_empty());
}

/// The list reads a comment's unit and time from copies kept beside it (migration 000022): they
/// must always be its response's, whoever wrote the comment or later corrected the response.
#[tokio::test]
async fn a_comment_follows_its_response_when_an_operator_corrects_unit_or_time() {
    let f = Fixture::build().await;
    let sql = f.app.sql().await;
    let unmatched = "SELECT count(*) FROM response_texts t JOIN responses r ON r.id = t.response_id \
                     WHERE (t.unit_id, t.submitted_at, t.form_version_id) \
                           IS DISTINCT FROM (r.unit_id, r.submitted_at, r.form_version_id)";
    assert_eq!(f.app.count(unmatched).await, 0, "the survey's comments");
    // A copy written by hand is overwritten by the response's.
    sql.execute(
        "UPDATE response_texts SET unit_id = (SELECT id FROM units WHERE code = 'xuan-loc'), \
         submitted_at = '2001-01-01' WHERE response_id = $1",
        &[&f.bac_a.response],
    )
    .await
    .unwrap();
    assert_eq!(f.app.count(unmatched).await, 0, "a hand-written copy");

    let (_, before) = page(&f.unit, "/staff/comments").await;
    assert_eq!(listed(&before, &[f.bac_a, f.dinh]), vec![f.bac_a]);
    // An operator moves Xuân Bắc's first response to Xuân Định and a year back.
    sql.execute(
        "UPDATE responses SET unit_id = (SELECT id FROM units WHERE code = $2), \
         submitted_at = submitted_at - interval '1 year' WHERE id = $1",
        &[&f.bac_a.response, &XUAN_DINH],
    )
    .await
    .unwrap();
    assert_eq!(f.app.count(unmatched).await, 0, "after the correction");
    let (_, after) = page(&f.unit, "/staff/comments").await;
    assert!(
        listed(&after, &[f.bac_a, f.bac_b]) == vec![f.bac_b],
        "Xuân Bắc's staff no longer see the moved comment"
    );
    let dinh = f.unit_id(XUAN_DINH).await;
    let (_, admin) = page(&f.admin, &format!("/staff/comments?unit={dinh}")).await;
    assert_eq!(
        listed(&admin, &[f.bac_a, f.dinh]).len(),
        2,
        "Xuân Định lists it"
    );
}
