//! Staff area: account administration and the audit log (admins only).

use crate::common;

use common::location;

use common::{StaffClient, TEST_PASSWORD, TestApp};
use serde_json::Value;

/// The one-time password on a creation or reset page.
fn temporary_password(html: &str) -> String {
    let marker = "Mật khẩu tạm thời: ";
    let start = html.find(marker).expect("a temporary password") + marker.len();
    let rest = &html[start..];
    let open = rest.find("<code>").unwrap() + "<code>".len();
    let close = rest.find("</code>").unwrap();
    let password = rest[open..close].to_string();
    assert_eq!(password.len(), 16, "{password}");
    assert!(
        rest.contains("chỉ hiển thị một lần, hãy chuyển cho người dùng và đề nghị đổi mật khẩu")
    );
    password
}

async fn account_id(app: &TestApp, username: &str) -> i32 {
    app.sql()
        .await
        .query_one("SELECT id FROM accounts WHERE username = $1", &[&username])
        .await
        .unwrap_or_else(|e| panic!("no account {username}: {e}"))
        .get(0)
}

/// (account id of the author, before, after) of the entries with `action` on account `id`,
/// oldest first.
async fn audit_entries(app: &TestApp, action: &str, id: i32) -> Vec<(Option<i32>, Value, Value)> {
    app.sql()
        .await
        .query(
            "SELECT account_id, coalesce(before::text, 'null'), coalesce(after::text, 'null') \
             FROM audit_log WHERE action = $1 AND entity = 'account' AND entity_id = $2 ORDER BY id",
            &[&action, &id.to_string()],
        )
        .await
        .unwrap()
        .into_iter()
        .map(|row| {
            let before: String = row.get(1);
            let after: String = row.get(2);
            (
                row.get(0),
                serde_json::from_str(&before).unwrap(),
                serde_json::from_str(&after).unwrap(),
            )
        })
        .collect()
}

/// Whether `text` appears anywhere in the accounts or the audit log.
async fn stored_anywhere(app: &TestApp, text: &str) -> bool {
    let pattern = format!("%{text}%");
    app.sql()
        .await
        .query_one(
            "SELECT (SELECT count(*) FROM accounts a WHERE a::text LIKE $1) \
                  + (SELECT count(*) FROM audit_log l WHERE l::text LIKE $1)",
            &[&pattern],
        )
        .await
        .unwrap()
        .get::<_, i64>(0)
        > 0
}

/// Every column of every account (hash, dates, role, ...), to see that nothing changed.
async fn accounts_snapshot(app: &TestApp) -> Vec<String> {
    app.sql()
        .await
        .query("SELECT a::text FROM accounts a ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn counts(app: &TestApp) -> (i64, i64, i64) {
    (
        app.count("SELECT count(*) FROM accounts").await,
        app.count("SELECT count(*) FROM account_units").await,
        app.count("SELECT count(*) FROM audit_log").await,
    )
}

#[tokio::test]
async fn creating_an_account_shows_a_working_password_once() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("an.nguyen", "admin", &[]).await;
    let admin_id = account_id(&app, "an.nguyen").await;
    let xuan_bac = app.unit_id("xuan-loc.xuan-bac").await;
    let xuan_tho = app.unit_id("xuan-loc.xuan-tho").await;

    let form = admin.get("/staff/accounts/new").await;
    assert_eq!(form.status(), 200);
    let html = form.text().await.unwrap();
    assert!(html.contains("Quản trị (Phòng Nội vụ)"));
    assert!(html.contains("Cán bộ đơn vị"));
    assert!(html.contains("Lãnh đạo (chỉ xem)"));
    // Units as a tree: communes nested below the district.
    let district = html.find("UBND huyện Xuân Lộc").unwrap();
    let commune = html.find("Xuân Bắc").unwrap();
    assert!(district < commune);
    let between = &html[district..commune];
    assert!(
        between.contains("<ul class=\"unit-tree\">") && !between.contains("</ul>"),
        "the commune is in a list nested below the district"
    );
    assert!(html.contains(&format!("name=\"units\" value=\"{xuan_bac}\"")));
    assert!(
        !html.contains("name=\"password\""),
        "the server makes the password"
    );

    let created = admin
        .post(
            "/staff/accounts/new",
            &[
                ("username", " Binh.Tran "),
                ("display_name", "Trần Thị Bình"),
                ("role", "unit"),
                ("units", &xuan_bac.to_string()),
                ("units", &xuan_tho.to_string()),
            ],
        )
        .await;
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["cache-control"], "no-store");
    let html = created.text().await.unwrap();
    let password = temporary_password(&html);

    let sql = app.sql().await;
    let row = sql
        .query_one(
            "SELECT id, display_name, role, active, password_hash FROM accounts WHERE username = 'binh.tran'",
            &[],
        )
        .await
        .unwrap();
    let id: i32 = row.get(0);
    assert_eq!(row.get::<_, String>(1), "Trần Thị Bình");
    assert_eq!(row.get::<_, String>(2), "unit");
    assert!(row.get::<_, bool>(3));
    let hash: String = row.get(4);
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    let units: Vec<i32> = sql
        .query(
            "SELECT unit_id FROM account_units WHERE account_id = $1 ORDER BY unit_id",
            &[&id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut expected = vec![xuan_bac, xuan_tho];
    expected.sort();
    assert_eq!(units, expected);

    let entries = audit_entries(&app, "account.create", id).await;
    assert_eq!(entries.len(), 1);
    let (author, before, after) = &entries[0];
    assert_eq!(*author, Some(admin_id));
    assert_eq!(*before, Value::Null);
    assert_eq!(after["username"], "binh.tran");
    assert_eq!(after["display_name"], "Trần Thị Bình");
    assert_eq!(after["role"], "unit");
    assert_eq!(after["active"], true);
    assert_eq!(after["units"], serde_json::json!(expected));
    // The password is stored nowhere in clear, and no hash goes to the log.
    assert!(!stored_anywhere(&app, &password).await);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE before::text LIKE '%argon2%' OR after::text LIKE '%argon2%'")
            .await,
        0
    );

    // The password works, once given to the user.
    let user = StaffClient::new(&app.address);
    assert_eq!(user.sign_in("binh.tran", &password).await.status(), 303);
    let home = user.get("/staff").await;
    assert_eq!(home.status(), 200);
    assert!(home.text().await.unwrap().contains("Trần Thị Bình"));

    // Shown once: neither the list nor the account page shows it again.
    let list = admin.get("/staff/accounts").await.text().await.unwrap();
    assert!(list.contains("binh.tran"));
    assert!(list.contains("Trần Thị Bình"));
    assert!(list.contains("Cán bộ đơn vị"));
    assert!(list.contains("Xã Xuân Bắc") || list.contains("Xuân Bắc"));
    assert!(list.contains("Đang hoạt động"));
    assert!(!list.contains(&password));
    let page = admin
        .get(&format!("/staff/accounts/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("binh.tran"));
    assert!(!page.contains(&password));
    assert!(!page.contains("Mật khẩu tạm thời:"));
}

#[tokio::test]
async fn viewer_and_admin_accounts_are_created_without_units() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("an.nguyen", "admin", &[]).await;
    for (username, role) in [("lanh.dao", "viewer"), ("quan.tri2", "admin")] {
        let created = admin
            .post(
                "/staff/accounts/new",
                &[
                    ("username", username),
                    ("display_name", "Người dùng"),
                    ("role", role),
                ],
            )
            .await;
        assert_eq!(created.status(), 201, "{username}");
        let password = temporary_password(&created.text().await.unwrap());
        let id = account_id(&app, username).await;
        let stored_role: String = app
            .sql()
            .await
            .query_one("SELECT role FROM accounts WHERE id = $1", &[&id])
            .await
            .unwrap()
            .get(0);
        assert_eq!(stored_role, role);
        assert_eq!(
            app.count(&format!(
                "SELECT count(*) FROM account_units WHERE account_id = {id}"
            ))
            .await,
            0
        );
        let client = StaffClient::new(&app.address);
        assert_eq!(client.sign_in(username, &password).await.status(), 303);
    }
}

#[tokio::test]
async fn refused_new_accounts_store_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("an.nguyen", "admin", &[]).await;
    let xuan_bac = app.unit_id("xuan-loc.xuan-bac").await.to_string();
    let before = counts(&app).await;
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![
                ("username", "an.nguyen"),
                ("display_name", "Trùng"),
                ("role", "viewer"),
            ],
            "Tên đăng nhập này đã được dùng cho một tài khoản khác.",
        ),
        (
            vec![
                ("username", "AN.NGUYEN"),
                ("display_name", "Trùng"),
                ("role", "viewer"),
            ],
            "Tên đăng nhập này đã được dùng cho một tài khoản khác.",
        ),
        (
            vec![
                ("username", "nguyễn"),
                ("display_name", "Sai dạng"),
                ("role", "viewer"),
            ],
            "Tên đăng nhập gồm 3 đến 32 ký tự",
        ),
        (
            vec![
                ("username", "ab"),
                ("display_name", "Ngắn"),
                ("role", "viewer"),
            ],
            "Tên đăng nhập gồm 3 đến 32 ký tự",
        ),
        (
            vec![
                ("username", ""),
                ("display_name", "Trống"),
                ("role", "viewer"),
            ],
            "Vui lòng nhập tên đăng nhập.",
        ),
        (
            vec![
                ("username", "khong.ten"),
                ("display_name", "  "),
                ("role", "viewer"),
            ],
            "Vui lòng nhập họ và tên.",
        ),
        (
            vec![
                ("username", "khong.vai.tro"),
                ("display_name", "X"),
                ("role", ""),
            ],
            "Vui lòng chọn vai trò.",
        ),
        (
            vec![
                ("username", "sieu.quyen"),
                ("display_name", "X"),
                ("role", "root"),
            ],
            "Vui lòng chọn vai trò.",
        ),
        (
            vec![
                ("username", "can.bo"),
                ("display_name", "Cán bộ"),
                ("role", "unit"),
            ],
            "Tài khoản cán bộ đơn vị cần được giao ít nhất một đơn vị.",
        ),
        (
            vec![
                ("username", "lanh.dao"),
                ("display_name", "Lãnh đạo"),
                ("role", "viewer"),
                ("units", &xuan_bac),
            ],
            "Chỉ tài khoản «Cán bộ đơn vị» mới được giao đơn vị.",
        ),
        (
            vec![
                ("username", "quan.tri"),
                ("display_name", "Quản trị"),
                ("role", "admin"),
                ("units", &xuan_bac),
            ],
            "Chỉ tài khoản «Cán bộ đơn vị» mới được giao đơn vị.",
        ),
        (
            vec![
                ("username", "can.bo"),
                ("display_name", "Cán bộ"),
                ("role", "unit"),
                ("units", "999999"),
            ],
            "Đơn vị được chọn không tồn tại.",
        ),
        (
            vec![
                ("username", "can.bo"),
                ("display_name", "Cán bộ"),
                ("role", "unit"),
                ("units", "mot"),
            ],
            "Đơn vị được chọn không hợp lệ.",
        ),
    ];
    for (fields, message) in cases {
        let response = admin.post("/staff/accounts/new", &fields).await;
        assert_eq!(response.status(), 422, "{fields:?}");
        let html = response.text().await.unwrap();
        assert!(html.contains(message), "{fields:?}: {message}");
        assert!(html.contains("Chưa lưu được."), "{fields:?}");
        assert!(!html.contains("Mật khẩu tạm thời:"), "{fields:?}");
        // The typed values come back in the form.
        let display_name = fields.iter().find(|(k, _)| *k == "display_name").unwrap().1;
        if !display_name.trim().is_empty() {
            assert!(
                html.contains(&format!("value=\"{display_name}\"")),
                "{fields:?}"
            );
        }
        assert_eq!(counts(&app).await, before, "{fields:?}");
    }
    // The checked unit stays checked when the form comes back.
    let html = admin
        .post(
            "/staff/accounts/new",
            &[
                ("username", "lanh.dao"),
                ("display_name", "Lãnh đạo"),
                ("role", "viewer"),
                ("units", &xuan_bac),
            ],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(&format!("value=\"{xuan_bac}\" id=\"u-{xuan_bac}\" checked")));
    // An unknown role is not shown as some other role.
    let html = admin
        .post(
            "/staff/accounts/new",
            &[
                ("username", "x.y.z"),
                ("display_name", "X"),
                ("role", "root"),
            ],
        )
        .await
        .text()
        .await
        .unwrap();
    // The placeholder comes first and no role is selected: the browser shows the placeholder.
    assert!(html.contains("<select id=\"f-role\" name=\"role\"><option value=\"\">"));
    assert!(!html.contains("\" selected>Quản trị") && !html.contains("\" selected>Lãnh đạo"));
    assert!(!html.contains("value=\"admin\" selected"));
}

#[tokio::test]
async fn changing_an_account() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("an.nguyen", "admin", &[]).await;
    let admin_id = account_id(&app, "an.nguyen").await;
    app.create_account("binh.tran", "unit", &["xuan-loc.xuan-bac"])
        .await;
    let id = account_id(&app, "binh.tran").await;
    let xuan_bac = app.unit_id("xuan-loc.xuan-bac").await;
    let xuan_tho = app.unit_id("xuan-loc.xuan-tho").await;

    let page = admin.get(&format!("/staff/accounts/{id}")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(&format!("value=\"{xuan_bac}\" id=\"u-{xuan_bac}\" checked")));
    assert!(html.contains("Đặt lại mật khẩu"));
    assert!(html.contains("Khóa tài khoản"));

    // Another unit instead, and a new display name.
    let response = admin
        .post(
            &format!("/staff/accounts/{id}"),
            &[
                ("display_name", "Trần Thị Bình"),
                ("role", "unit"),
                ("units", &xuan_tho.to_string()),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response),
        format!("/staff/accounts/{id}?ok=updated")
    );
    let html = admin.get(&location(&response)).await.text().await.unwrap();
    assert!(html.contains("Đã lưu thay đổi."));
    let sql = app.sql().await;
    let row = sql
        .query_one(
            "SELECT display_name, role FROM accounts WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "Trần Thị Bình");
    assert_eq!(row.get::<_, String>(1), "unit");
    let units: Vec<i32> = sql
        .query(
            "SELECT unit_id FROM account_units WHERE account_id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(units, vec![xuan_tho]);
    let entries = audit_entries(&app, "account.update", id).await;
    assert_eq!(entries.len(), 1);
    let (author, before, after) = &entries[0];
    assert_eq!(*author, Some(admin_id));
    assert_eq!(before["display_name"], "binh.tran");
    assert_eq!(before["units"], serde_json::json!([xuan_bac]));
    assert_eq!(after["display_name"], "Trần Thị Bình");
    assert_eq!(after["units"], serde_json::json!([xuan_tho]));
    assert!(!before.to_string().contains("argon2") && !after.to_string().contains("argon2"));

    // A viewer now: the units go.
    let response = admin
        .post(
            &format!("/staff/accounts/{id}"),
            &[("display_name", "Trần Thị Bình"), ("role", "viewer")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let role: String = sql
        .query_one("SELECT role FROM accounts WHERE id = $1", &[&id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(role, "viewer");
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM account_units WHERE account_id = {id}"
        ))
        .await,
        0
    );
    let entries = audit_entries(&app, "account.update", id).await;
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1].1["role"], "unit");
    assert_eq!(entries[1].2["role"], "viewer");
    assert_eq!(entries[1].2["units"], serde_json::json!([]));

    // Saving without a change writes nothing.
    let audit_before = app.count("SELECT count(*) FROM audit_log").await;
    let response = admin
        .post(
            &format!("/staff/accounts/{id}"),
            &[("display_name", "Trần Thị Bình"), ("role", "viewer")],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response),
        format!("/staff/accounts/{id}?ok=unchanged")
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log").await,
        audit_before
    );

    // Refused changes: 422, the message, nothing stored.
    let before = counts(&app).await;
    for (fields, message) in [
        (
            vec![("display_name", "X"), ("role", "unit")],
            "Tài khoản cán bộ đơn vị cần được giao ít nhất một đơn vị.",
        ),
        (
            vec![("display_name", "X"), ("role", "unit"), ("units", "999999")],
            "Đơn vị được chọn không tồn tại.",
        ),
        (
            vec![("display_name", ""), ("role", "viewer")],
            "Vui lòng nhập họ và tên.",
        ),
        (
            vec![("display_name", "X"), ("role", "superuser")],
            "Vui lòng chọn vai trò.",
        ),
    ] {
        let response = admin.post(&format!("/staff/accounts/{id}"), &fields).await;
        assert_eq!(response.status(), 422, "{fields:?}");
        assert!(
            response.text().await.unwrap().contains(message),
            "{message}"
        );
        assert_eq!(counts(&app).await, before, "{fields:?}");
    }
    let row = sql
        .query_one(
            "SELECT display_name, role FROM accounts WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "Trần Thị Bình");
    assert_eq!(row.get::<_, String>(1), "viewer");

    // Unknown and malformed ids.
    for path in [
        "/staff/accounts/999999",
        "/staff/accounts/abc",
        "/staff/accounts/1.5",
    ] {
        assert_eq!(admin.get(path).await.status(), 404, "{path}");
        assert_eq!(
            admin
                .post(path, &[("display_name", "X"), ("role", "viewer")])
                .await
                .status(),
            404,
            "{path}"
        );
    }
    for action in ["disable", "enable", "reset-password"] {
        let path = format!("/staff/accounts/999999/{action}");
        assert_eq!(admin.post(&path, &[]).await.status(), 404, "{path}");
        let path = format!("/staff/accounts/x/{action}");
        assert_eq!(admin.post(&path, &[]).await.status(), 404, "{path}");
    }
}

#[tokio::test]
async fn disabling_ends_the_session_and_enabling_restores_sign_in() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("an.nguyen", "admin", &[]).await;
    let admin_id = account_id(&app, "an.nguyen").await;
    let user = app
        .staff_with_role("binh.tran", "unit", &["xuan-loc.xuan-bac"])
        .await;
    let id = account_id(&app, "binh.tran").await;
    assert_eq!(user.get("/staff").await.status(), 200);

    let response = admin
        .post(&format!("/staff/accounts/{id}/disable"), &[])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response),
        format!("/staff/accounts/{id}?ok=disabled")
    );
    let html = admin.get(&location(&response)).await.text().await.unwrap();
    assert!(html.contains("Đã khóa tài khoản."));
    assert!(html.contains("Mở khóa tài khoản"));
    let active: bool = app
        .sql()
        .await
        .query_one("SELECT active FROM accounts WHERE id = $1", &[&id])
        .await
        .unwrap()
        .get(0);
    assert!(!active);
    // The open session ends at its next request; signing in is refused.
    assert_eq!(user.get("/staff").await.status(), 303);
    assert_eq!(
        StaffClient::new(&app.address)
            .sign_in("binh.tran", TEST_PASSWORD)
            .await
            .status(),
        401
    );
    let entries = audit_entries(&app, "account.disable", id).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].0, Some(admin_id));
    assert_eq!(entries[0].1["active"], true);
    assert_eq!(entries[0].2["active"], false);
    assert!(
        admin
            .get("/staff/accounts")
            .await
            .text()
            .await
            .unwrap()
            .contains("Đã khóa")
    );

    // Disabling again changes nothing and writes nothing.
    let audit_count = app.count("SELECT count(*) FROM audit_log").await;
    let again = admin
        .post(&format!("/staff/accounts/{id}/disable"), &[])
        .await;
    assert_eq!(again.status(), 303);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log").await,
        audit_count
    );

    let response = admin
        .post(&format!("/staff/accounts/{id}/enable"), &[])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        location(&response),
        format!("/staff/accounts/{id}?ok=enabled")
    );
    let entries = audit_entries(&app, "account.enable", id).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].0, Some(admin_id));
    assert_eq!(entries[0].1["active"], false);
    assert_eq!(entries[0].2["active"], true);
    let fresh = StaffClient::new(&app.address);
    assert_eq!(
        fresh.sign_in("binh.tran", TEST_PASSWORD).await.status(),
        303
    );
    assert_eq!(fresh.get("/staff").await.status(), 200);
}

#[tokio::test]
async fn a_reset_password_is_shown_once_and_ends_the_users_sessions() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("an.nguyen", "admin", &[]).await;
    let admin_id = account_id(&app, "an.nguyen").await;
    let user = app.staff_with_role("binh.tran", "viewer", &[]).await;
    let id = account_id(&app, "binh.tran").await;
    assert_eq!(user.get("/staff").await.status(), 200);
    let hash_before: String = app
        .sql()
        .await
        .query_one("SELECT password_hash FROM accounts WHERE id = $1", &[&id])
        .await
        .unwrap()
        .get(0);

    let response = admin
        .post(&format!("/staff/accounts/{id}/reset-password"), &[])
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let html = response.text().await.unwrap();
    let password = temporary_password(&html);
    assert_ne!(password, TEST_PASSWORD);

    // The user's open session has ended.
    assert_eq!(user.get("/staff").await.status(), 303);
    // The old password is refused, the new one works.
    let fresh = StaffClient::new(&app.address);
    assert_eq!(
        fresh.sign_in("binh.tran", TEST_PASSWORD).await.status(),
        401
    );
    assert_eq!(fresh.sign_in("binh.tran", &password).await.status(), 303);
    assert_eq!(fresh.get("/staff").await.status(), 200);
    // The admin's own session goes on.
    assert_eq!(admin.get("/staff/accounts").await.status(), 200);

    let hash_after: String = app
        .sql()
        .await
        .query_one("SELECT password_hash FROM accounts WHERE id = $1", &[&id])
        .await
        .unwrap()
        .get(0);
    assert_ne!(hash_after, hash_before);
    assert!(hash_after.starts_with("$argon2id$"));
    assert!(!stored_anywhere(&app, &password).await);
    let entries = audit_entries(&app, "account.reset_password", id).await;
    assert_eq!(entries.len(), 1);
    let (author, before, after) = &entries[0];
    assert_eq!(*author, Some(admin_id));
    assert_eq!(*before, Value::Null);
    assert_eq!(after["password"], "reset");
    assert!(!after.to_string().contains("argon2"));
    // Not shown again anywhere.
    let page = admin
        .get(&format!("/staff/accounts/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains(&password));
}

#[tokio::test]
async fn admins_cannot_lock_themselves_out() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("an.nguyen", "admin", &[]).await;
    let admin_id = account_id(&app, "an.nguyen").await;
    let own = format!("/staff/accounts/{admin_id}");
    let page = admin.get(&own).await.text().await.unwrap();
    // No lock or reset button on one's own page.
    assert!(!page.contains("/disable"));
    assert!(!page.contains("/reset-password"));
    assert!(page.contains("/staff/password"));
    let before = counts(&app).await;

    let response = admin.post(&format!("{own}/disable"), &[]).await;
    assert_eq!(response.status(), 409);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Anh/Chị không thể tự khóa tài khoản của chính mình.")
    );
    let response = admin
        .post(&own, &[("display_name", "An"), ("role", "viewer")])
        .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Anh/Chị không thể tự bỏ vai trò quản trị của chính mình.")
    );
    let response = admin.post(&format!("{own}/reset-password"), &[]).await;
    assert_eq!(response.status(), 409);
    let html = response.text().await.unwrap();
    assert!(html.contains("Để đổi mật khẩu của chính mình"));
    assert!(!html.contains("Mật khẩu tạm thời:"));
    assert_eq!(counts(&app).await, before);
    let row = app
        .sql()
        .await
        .query_one(
            "SELECT role, active FROM accounts WHERE id = $1",
            &[&admin_id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "admin");
    assert!(row.get::<_, bool>(1));
    assert_eq!(admin.get("/staff/accounts").await.status(), 200);
    // The display name of one's own account can change, the role staying admin.
    let response = admin
        .post(
            &own,
            &[("display_name", "Nguyễn Văn An"), ("role", "admin")],
        )
        .await;
    assert_eq!(response.status(), 303);

    // With a second admin, each may lock or demote the other, never the last one left.
    app.create_account("chi.le", "admin", &[]).await;
    let other_id = account_id(&app, "chi.le").await;
    let response = admin
        .post(&format!("/staff/accounts/{other_id}/disable"), &[])
        .await;
    assert_eq!(response.status(), 303);
    let mut conn = app.pool.get().await.unwrap();
    // an.nguyen is now the only active admin: the domain refuses, whoever asks.
    for result in [
        sipas::staff::set_account_active(&mut conn, None, admin_id, false)
            .await
            .map(|_| ()),
        sipas::staff::update_account(
            &mut conn,
            None,
            admin_id,
            &sipas::staff::AccountFields {
                display_name: "An".into(),
                role: sipas::auth::Role::Viewer,
                unit_ids: vec![],
            },
        )
        .await
        .map(|_| ()),
    ] {
        match result {
            Err(sipas::staff::AccountError::Refused(errors)) => {
                assert!(
                    errors.values().any(|m| m == sipas::staff::MSG_LAST_ADMIN),
                    "{errors:?}"
                );
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
    let active_admins = app
        .count("SELECT count(*) FROM accounts WHERE role = 'admin' AND active")
        .await;
    assert_eq!(active_admins, 1);
    // Once chi.le is enabled again, an.nguyen may be demoted by them.
    let response = admin
        .post(&format!("/staff/accounts/{other_id}/enable"), &[])
        .await;
    assert_eq!(response.status(), 303);
    let chi = app.staff("chi.le").await;
    let response = chi
        .post(
            &own,
            &[("display_name", "Nguyễn Văn An"), ("role", "viewer")],
        )
        .await;
    assert_eq!(response.status(), 303);
    // an.nguyen is a viewer now: the accounts area is gone for them.
    assert_eq!(admin.get("/staff/accounts").await.status(), 404);
    // And chi.le, now the last admin, cannot demote themselves.
    let response = chi
        .post(
            &format!("/staff/accounts/{other_id}"),
            &[
                ("display_name", "Lê Chi"),
                ("role", "unit"),
                ("units", &app.unit_id("xuan-loc.xuan-bac").await.to_string()),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains(sipas::staff::MSG_OWN_ADMIN_ROLE)
    );
    assert_eq!(
        app.count("SELECT count(*) FROM accounts WHERE role = 'admin' AND active")
            .await,
        1
    );
}

#[tokio::test]
async fn only_admins_reach_accounts_and_the_audit_log() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("an.nguyen", "admin", &[]).await;
    let unit = app
        .staff_with_role("binh.tran", "unit", &["xuan-loc.xuan-bac"])
        .await;
    let viewer = app.staff_with_role("chi.le", "viewer", &[]).await;
    let anonymous = StaffClient::new(&app.address);
    let target = account_id(&app, "chi.le").await;
    let own_unit = account_id(&app, "binh.tran").await;
    let xuan_bac = app.unit_id("xuan-loc.xuan-bac").await.to_string();

    let gets = [
        "/staff/accounts".to_string(),
        "/staff/accounts/new".to_string(),
        format!("/staff/accounts/{target}"),
        format!("/staff/accounts/{own_unit}"),
        "/staff/audit".to_string(),
        "/staff/audit?entity=account".to_string(),
    ];
    let new_account: Vec<(&str, &str)> = vec![
        ("username", "ke.xau"),
        ("display_name", "Kẻ xấu"),
        ("role", "admin"),
    ];
    let change: Vec<(&str, &str)> = vec![("display_name", "Kẻ xấu"), ("role", "admin")];
    let own_change: Vec<(&str, &str)> = vec![
        ("display_name", "Kẻ xấu"),
        ("role", "admin"),
        ("units", xuan_bac.as_str()),
    ];
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        ("/staff/accounts/new".to_string(), new_account),
        (format!("/staff/accounts/{target}"), change.clone()),
        (format!("/staff/accounts/{own_unit}"), own_change),
        (format!("/staff/accounts/{target}/disable"), vec![]),
        (format!("/staff/accounts/{target}/enable"), vec![]),
        (format!("/staff/accounts/{target}/reset-password"), vec![]),
        (format!("/staff/accounts/{own_unit}/reset-password"), vec![]),
        ("/staff/audit".to_string(), vec![]),
    ];
    let before = counts(&app).await;
    let accounts = accounts_snapshot(&app).await;
    for (who, client) in [("unit", &unit), ("viewer", &viewer)] {
        for path in &gets {
            assert_eq!(client.get(path).await.status(), 404, "{who} GET {path}");
        }
        for (path, fields) in &posts {
            assert_eq!(
                client.post(path, fields).await.status(),
                404,
                "{who} POST {path}"
            );
        }
        // No menu entry either.
        let home = client.get("/staff").await.text().await.unwrap();
        assert!(!home.contains("href=\"/staff/accounts\""), "{who}");
        assert!(!home.contains("href=\"/staff/audit\""), "{who}");
    }
    for path in &gets {
        let response = anonymous.get(path).await;
        assert_eq!(response.status(), 303, "anonymous GET {path}");
        assert!(location(&response).starts_with("/sign-in"), "{path}");
    }
    for (path, fields) in &posts {
        let response = anonymous.post(path, fields).await;
        assert_eq!(response.status(), 303, "anonymous POST {path}");
        assert!(location(&response).starts_with("/sign-in"), "{path}");
    }
    // Nothing changed: no account, unit, audit entry or password.
    assert_eq!(counts(&app).await, before);
    assert_eq!(accounts_snapshot(&app).await, accounts);
    // The sessions of the refused users go on.
    assert_eq!(unit.get("/staff").await.status(), 200);
    assert_eq!(viewer.get("/staff").await.status(), 200);
    // Admins reach every page, see both menu entries; a POST without the token is refused.
    for path in &gets {
        assert_eq!(admin.get(path).await.status(), 200, "admin GET {path}");
    }
    let home = admin.get("/staff").await.text().await.unwrap();
    assert!(home.contains("href=\"/staff/accounts\""));
    assert!(home.contains("href=\"/staff/audit\""));
    let response = admin
        .post_raw(&format!("/staff/accounts/{target}/disable"), &[])
        .await;
    assert_eq!(response.status(), 403);
    assert_eq!(counts(&app).await, before);
    // The audit log answers no change at all, and a lock is POST only.
    assert_eq!(admin.post("/staff/audit", &[]).await.status(), 404);
    assert_eq!(
        admin
            .get(&format!("/staff/accounts/{target}/disable"))
            .await
            .status(),
        404
    );
}

/// Inserts `n` entries directly (the log accepts inserts only).
async fn insert_entries(app: &TestApp, n: i32, account: Option<i32>, entity: &str, action: &str) {
    app.sql()
        .await
        .execute(
            "INSERT INTO audit_log (account_id, action, entity, entity_id, after) \
             SELECT $1, $2, $3, 'e' || g, jsonb_build_object('n', g) FROM generate_series(1, $4) g",
            &[&account, &action, &entity, &n],
        )
        .await
        .unwrap();
}

/// The cell of `{"n": n}` as rendered (compact, escaped).
fn json_cell(n: i32) -> String {
    format!("<code class=\"json\">{{&quot;n&quot;:{n}}}</code>")
}

fn rows_with_action(html: &str, action: &str) -> usize {
    html.matches(&format!("<code>{action}</code>")).count()
}

/// The href of the "Cũ hơn" link, unescaped.
fn older_link(html: &str) -> Option<String> {
    let end = html.find("rel=\"next\"")?;
    let start = html[..end].rfind("href=\"")? + "href=\"".len();
    let close = html[start..].find('"')? + start;
    Some(html[start..close].replace("&amp;", "&"))
}

#[tokio::test]
async fn the_audit_log_pages_and_filters() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("an.nguyen", "admin", &[]).await;
    let admin_id = account_id(&app, "an.nguyen").await;
    // 70 desk entries by an.nguyen, then 40 unit entries from the command line.
    insert_entries(&app, 70, Some(admin_id), "desk", "desk.test").await;
    insert_entries(&app, 40, None, "unit", "unit.test").await;
    let total = app.count("SELECT count(*) FROM audit_log").await;
    assert_eq!(total, 111, "with the creation of an.nguyen");

    // Newest first, 50 a page.
    let first = admin.get("/staff/audit").await;
    assert_eq!(first.status(), 200);
    let html = first.text().await.unwrap();
    assert_eq!(rows_with_action(&html, "unit.test"), 40);
    assert_eq!(rows_with_action(&html, "desk.test"), 10);
    assert!(html.find(&json_cell(40)).unwrap() < html.find(&json_cell(1)).unwrap());
    assert!(html.contains("dòng lệnh"));
    assert!(html.contains("an.nguyen"));
    // Read-only: the only form posting anything is the sign-out.
    assert_eq!(html.matches("method=\"post\"").count(), 1);
    let older = older_link(&html).expect("a link to older entries");
    assert!(older.starts_with("/staff/audit?before="), "{older}");
    let second = admin.get(&older).await.text().await.unwrap();
    assert_eq!(rows_with_action(&second, "desk.test"), 50);
    assert_eq!(rows_with_action(&second, "unit.test"), 0);
    assert!(second.contains("Mới nhất"));
    let older = older_link(&second).expect("a third page");
    let third = admin.get(&older).await.text().await.unwrap();
    assert_eq!(rows_with_action(&third, "desk.test"), 10);
    assert_eq!(rows_with_action(&third, "account.create"), 1);
    assert!(older_link(&third).is_none());
    // Every entry was shown exactly once over the three pages.
    for n in 1..=70 {
        let needle = json_cell(n);
        let seen = [&html, &second, &third]
            .iter()
            .map(|page| page.matches(&needle).count())
            .sum::<usize>();
        // Numbers 1..=40 appear for both kinds of entries.
        assert_eq!(seen, if n <= 40 { 2 } else { 1 }, "n = {n}");
    }

    // Filters: by entity, by author, by the command line; pagination keeps them.
    let html = admin
        .get("/staff/audit?entity=desk")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(rows_with_action(&html, "desk.test"), 50);
    assert_eq!(rows_with_action(&html, "unit.test"), 0);
    let older = older_link(&html).unwrap();
    assert!(older.contains("entity=desk"), "{older}");
    let html = admin.get(&older).await.text().await.unwrap();
    assert_eq!(rows_with_action(&html, "desk.test"), 20);
    assert_eq!(rows_with_action(&html, "account.create"), 0);
    assert!(older_link(&html).is_none());

    let html = admin
        .get("/staff/audit?account=cli")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(rows_with_action(&html, "unit.test"), 40);
    assert_eq!(rows_with_action(&html, "account.create"), 1);
    assert_eq!(rows_with_action(&html, "desk.test"), 0);
    let html = admin
        .get(&format!("/staff/audit?account={admin_id}&entity=desk"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(rows_with_action(&html, "desk.test"), 50);
    assert_eq!(rows_with_action(&html, "unit.test"), 0);
    let html = admin
        .get("/staff/audit?entity=unit&entity_id=e7")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(rows_with_action(&html, "unit.test"), 1);
    assert!(html.contains(&json_cell(7)));

    // Meaningless values are ignored or find nothing; never an error.
    for query in [
        "?before=abc",
        "?before=-5",
        "?before=99999999999999999999999",
        "?account=abc",
        "?account=999999",
        "?entity=khong-co",
        "?entity=%27%3B%20DROP%20TABLE%20audit_log%3B",
        "?before=1&before=2&account=&entity=",
        "?%ZZ=1&x",
    ] {
        let response = admin.get(&format!("/staff/audit{query}")).await;
        assert_eq!(response.status(), 200, "{query}");
    }
    let html = admin
        .get("/staff/audit?before=abc&account=abc")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(rows_with_action(&html, "unit.test"), 40, "ignored filters");
    let html = admin
        .get("/staff/audit?entity=khong-co")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Không có mục nào."));
    assert_eq!(app.count("SELECT count(*) FROM audit_log").await, total);
}

#[tokio::test]
async fn audit_rows_show_vietnam_time_and_escaped_values() {
    let app = TestApp::spawn().await;
    let admin = app.staff_with_role("an.nguyen", "admin", &[]).await;
    app.sql()
        .await
        .batch_execute(
            "INSERT INTO audit_log (at, account_id, action, entity, entity_id, before, after) VALUES \
             ('2026-11-26 20:05:09+00', NULL, 'unit.rename', 'unit', '12', \
              '{\"name\": \"<b>Cũ</b>\"}', '{\"name\": \"<script>alert(1)</script>\"}')",
        )
        .await
        .unwrap();
    // An account created through the pages shows its author by name.
    let created = admin
        .post(
            "/staff/accounts/new",
            &[
                ("username", "binh.tran"),
                ("display_name", "Trần <Bình>"),
                ("role", "viewer"),
            ],
        )
        .await;
    assert_eq!(created.status(), 201);
    let html = admin.get("/staff/audit").await.text().await.unwrap();
    assert!(html.contains("27/11/2026 03:05:09"), "Vietnam's time");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains("<script>"));
    assert!(html.contains("&lt;b&gt;Cũ&lt;/b&gt;"));
    assert!(html.contains("Trần &lt;Bình&gt;"));
    assert!(!html.contains("Trần <Bình>"));
    assert!(html.contains("<code>account.create</code>"));
    // The author of the web creation, by display name (the user name in its title).
    assert!(html.contains("title=\"an.nguyen\">an.nguyen</a>"));
    assert!(html.contains("Đơn vị <span class=\"code\">#12</span>"));
    assert!(html.contains("<option value=\"unit\">Đơn vị</option>"));
}
