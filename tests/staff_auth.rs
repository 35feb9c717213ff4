//! Staff accounts: sign-in and sign-out, sessions, throttling, CSRF, own password.

use crate::common;

use common::location;

use common::{StaffClient, TEST_PASSWORD, TestApp, hidden_field};

/// Signs in through a client from `address` (as the proxy on loopback reports it).
async fn sign_in_from(
    client: &StaffClient,
    address: &str,
    username: &str,
    password: &str,
) -> reqwest::Response {
    let csrf = client.csrf().await;
    client
        .client
        .post(format!("{}/sign-in", client.address))
        .header("X-Forwarded-For", address)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(
            serde_urlencoded::to_string([
                ("_csrf", csrf.as_str()),
                ("username", username),
                ("password", password),
            ])
            .unwrap(),
        )
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn staff_pages_need_a_signed_in_account() {
    let app = TestApp::spawn().await;
    let anonymous = StaffClient::new(&app.address);
    let response = anonymous.get("/staff/password").await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/sign-in?next=%2Fstaff%2Fpassword");

    let page = anonymous.get("/sign-in?next=/staff/password").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Đăng nhập"));
    assert!(html.contains("name=\"next\" value=\"/staff/password\""));
    // An outside address is never a place to go after signing in.
    let html = anonymous
        .get("/sign-in?next=https://evil.example/staff")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("name=\"next\" value=\"/staff\""));
}

#[tokio::test]
async fn sign_in_sets_a_hardened_cookie_and_sign_out_ends_the_session() {
    let app = TestApp::spawn().await;
    app.create_account("an.nguyen", "admin", &[]).await;
    let client = StaffClient::new(&app.address);
    let csrf = client.csrf().await;
    let response = client
        .post_raw(
            "/sign-in",
            &[
                ("_csrf", &csrf),
                ("username", "An.Nguyen "),
                ("password", TEST_PASSWORD),
                ("next", "/staff/password"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/staff/password");
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("sipas_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("Max-Age=1800"), "{cookie}");
    // The session is renewed at sign-in: the CSRF token changed.
    let after = client.csrf().await;
    assert_ne!(after, csrf);

    let home = client.get("/staff").await;
    assert_eq!(home.status(), 200);
    let html = home.text().await.unwrap();
    assert!(html.contains("an.nguyen"));
    assert!(html.contains("Tổng quan"));

    let out = client.post("/sign-out", &[]).await;
    assert_eq!(out.status(), 303);
    assert_eq!(client.get("/staff").await.status(), 303);
}

#[tokio::test]
async fn the_cookie_is_secure_behind_https() {
    let database = common::TestDatabase::create().await;
    let app = TestApp::spawn_on(database, |url| {
        let mut config = common::test_config(url);
        config.cookie_secure = true;
        config
    })
    .await;
    app.create_account("an.nguyen", "admin", &[]).await;
    let client = StaffClient::new(&app.address);
    let response = client.sign_in("an.nguyen", TEST_PASSWORD).await;
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_name_get_the_same_answer() {
    let app = TestApp::spawn().await;
    app.create_account("an.nguyen", "admin", &[]).await;
    let client = StaffClient::new(&app.address);
    let wrong = client.sign_in("an.nguyen", "không đúng mật khẩu").await;
    assert_eq!(wrong.status(), 401);
    let wrong = wrong.text().await.unwrap();
    let unknown = client.sign_in("khong.co.ai", TEST_PASSWORD).await;
    assert_eq!(unknown.status(), 401);
    let unknown = unknown.text().await.unwrap();
    assert!(wrong.contains("Tên đăng nhập hoặc mật khẩu không đúng."));
    // Apart from the echoed name and the token, the two pages are identical.
    let strip = |html: &str, name: &str| {
        html.replace(name, "NAME")
            .replace(&hidden_field(html, "_csrf"), "TOKEN")
    };
    assert_eq!(strip(&wrong, "an.nguyen"), strip(&unknown, "khong.co.ai"));
    assert_eq!(client.get("/staff").await.status(), 303);
}

#[tokio::test]
async fn repeated_wrong_passwords_lock_the_name_and_then_the_client() {
    let app = TestApp::spawn().await;
    app.create_account("an.nguyen", "admin", &[]).await;
    let client = StaffClient::new(&app.address);
    for _ in 0..5 {
        assert_eq!(
            client
                .sign_in("an.nguyen", "sai mật khẩu rồi")
                .await
                .status(),
            401
        );
    }
    // Locked now, even with the right password; the same for a name that does not exist.
    let locked = client.sign_in("an.nguyen", TEST_PASSWORD).await;
    assert_eq!(locked.status(), 429);
    assert!(locked.text().await.unwrap().contains("tạm thời bị khóa"));
    for _ in 0..5 {
        client.sign_in("khong.co.ai", "sai").await;
    }
    assert_eq!(client.sign_in("khong.co.ai", "sai").await.status(), 429);
    // Another account from the same address still works until the address reaches its limit.
    app.create_account("binh.tran", "viewer", &[]).await;
    let other = StaffClient::new(&app.address);
    assert_eq!(
        other.sign_in("binh.tran", TEST_PASSWORD).await.status(),
        303
    );
    for n in 0..10 {
        other.sign_in(&format!("ten-{n}"), "sai").await;
    }
    let third = StaffClient::new(&app.address);
    assert_eq!(
        third.sign_in("binh.tran", TEST_PASSWORD).await.status(),
        429
    );
    // Nothing of the address itself is stored, only its keyed hash.
    let sql = app.sql().await;
    let stored: i64 = sql
        .query_one(
            "SELECT count(*) FROM sign_in_failures WHERE client_key = convert_to('127.0.0.1', 'UTF8') OR length(client_key) <> 32",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn state_changes_without_the_form_token_or_from_another_site_are_refused() {
    let app = TestApp::spawn().await;
    app.create_account("an.nguyen", "admin", &[]).await;
    let client = app.staff("an.nguyen").await;
    // No token: refused, and still signed in.
    let response = client.post_raw("/sign-out", &[]).await;
    assert_eq!(response.status(), 403);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Phiên làm việc đã hết hạn")
    );
    let response = client.post_raw("/sign-out", &[("_csrf", "0000")]).await;
    assert_eq!(response.status(), 403);
    assert_eq!(client.get("/staff").await.status(), 200);
    // The right token from another site's page: refused by the Origin check.
    let csrf = client.csrf().await;
    let response = client
        .client
        .post(format!("{}/sign-out", app.address))
        .header("Origin", "https://evil.example")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("_csrf={csrf}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(client.get("/staff").await.status(), 200);
    // The same request from our own origin goes through.
    let response = client
        .client
        .post(format!("{}/sign-out", app.address))
        .header("Origin", &app.address)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("_csrf={csrf}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    // A sign-in form posted without its token is refused too.
    let response = StaffClient::new(&app.address)
        .post_raw(
            "/sign-in",
            &[("username", "an.nguyen"), ("password", TEST_PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn changing_ones_password() {
    let app = TestApp::spawn().await;
    app.create_account("an.nguyen", "unit", &["xuan-loc.xuan-bac"])
        .await;
    let client = app.staff("an.nguyen").await;
    let other_session = app.staff("an.nguyen").await;

    let refused = client
        .post(
            "/staff/password",
            &[("current", "sai"), ("new", "ngắn"), ("confirm", "ngắn")],
        )
        .await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    assert!(html.contains("Mật khẩu hiện tại không đúng."));
    assert!(html.contains("ít nhất 10 ký tự"));

    let mismatch = client
        .post(
            "/staff/password",
            &[
                ("current", TEST_PASSWORD),
                ("new", "mật khẩu mới rất dài"),
                ("confirm", "mật khẩu khác"),
            ],
        )
        .await;
    assert_eq!(mismatch.status(), 422);
    assert!(mismatch.text().await.unwrap().contains("không khớp"));

    let done = client
        .post(
            "/staff/password",
            &[
                ("current", TEST_PASSWORD),
                ("new", "mật khẩu mới rất dài"),
                ("confirm", "mật khẩu mới rất dài"),
            ],
        )
        .await;
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("Đã đổi mật khẩu."));
    // This session goes on; the other session of the same account ends.
    assert_eq!(client.get("/staff").await.status(), 200);
    assert_eq!(other_session.get("/staff").await.status(), 303);
    // Old password no longer works, the new one does.
    let fresh = StaffClient::new(&app.address);
    assert_eq!(
        fresh.sign_in("an.nguyen", TEST_PASSWORD).await.status(),
        401
    );
    assert_eq!(
        fresh
            .sign_in("an.nguyen", "mật khẩu mới rất dài")
            .await
            .status(),
        303
    );
    // The change is in the audit log, without the password.
    let sql = app.sql().await;
    let row = sql
        .query_one(
            "SELECT a.action, a.after::text FROM audit_log a JOIN accounts c ON c.id = a.account_id \
             WHERE c.username = 'an.nguyen' AND a.action = 'account.change_own_password'",
            &[],
        )
        .await
        .unwrap();
    let after: String = row.get(1);
    assert!(!after.contains("mật khẩu mới"), "{after}");
    assert!(!after.contains("argon2"), "{after}");
}

#[tokio::test]
async fn a_disabled_account_loses_its_session() {
    let app = TestApp::spawn().await;
    app.create_account("an.nguyen", "viewer", &[]).await;
    let client = app.staff("an.nguyen").await;
    assert_eq!(client.get("/staff").await.status(), 200);
    app.sql()
        .await
        .batch_execute("UPDATE accounts SET active = false WHERE username = 'an.nguyen'")
        .await
        .unwrap();
    assert_eq!(client.get("/staff").await.status(), 303);
    assert_eq!(
        StaffClient::new(&app.address)
            .sign_in("an.nguyen", TEST_PASSWORD)
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn the_audit_log_cannot_be_changed() {
    let app = TestApp::spawn().await;
    app.create_account("an.nguyen", "admin", &[]).await;
    let sql = app.sql().await;
    let count: i64 = sql
        .query_one(
            "SELECT count(*) FROM audit_log WHERE action = 'account.create'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 1);
    for statement in [
        "UPDATE audit_log SET action = 'x'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ] {
        let error = sql.batch_execute(statement).await.unwrap_err();
        assert!(
            format!("{error:?}").contains("append-only"),
            "{statement}: {error:?}"
        );
    }
}

#[tokio::test]
async fn signing_out_ends_copies_of_the_session_cookie_too() {
    let app = TestApp::spawn().await;
    app.create_account("an.nguyen", "admin", &[]).await;
    let response = StaffClient::new(&app.address)
        .sign_in("an.nguyen", TEST_PASSWORD)
        .await;
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    // Someone keeps a copy of the cookie; the owner signs out in their browser.
    let with_copy = |path: &str| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .get(format!("{}{path}", app.address))
            .header("Cookie", cookie.clone())
    };
    assert_eq!(with_copy("/staff").send().await.unwrap().status(), 200);
    let owner = app.staff("an.nguyen").await;
    assert_eq!(owner.post("/sign-out", &[]).await.status(), 303);
    assert_eq!(with_copy("/staff").send().await.unwrap().status(), 303);
    // Signing in again straight away works.
    let again = app.staff("an.nguyen").await;
    assert_eq!(again.get("/staff").await.status(), 200);
}

/// Issue 14, item 2: the sign-in throttle counts an IPv6 client by its /64, and an IPv4-mapped
/// address as the IPv4 address it maps.
#[tokio::test]
async fn the_sign_in_throttle_counts_ipv6_clients_by_their_slash_64() {
    let app = TestApp::spawn().await;
    app.create_account("an.nguyen", "admin", &[]).await;
    let client = StaffClient::new(&app.address);
    // 20 wrong guesses (the per-client ceiling), each from another address of one /64 and for
    // another name.
    for n in 1..=20u16 {
        let address = format!("2001:db8:9:1:{n:x}::{n:x}");
        let guess = sign_in_from(&client, &address, &format!("ten-{n}"), "sai").await;
        assert_eq!(guess.status(), 401, "guess {n}");
    }
    let next = sign_in_from(&client, "2001:db8:9:1:ffff::1", "an.nguyen", TEST_PASSWORD).await;
    assert_eq!(next.status(), 429);
    // Another /64 is another client.
    let other = sign_in_from(&client, "2001:db8:9:2::1", "an.nguyen", TEST_PASSWORD).await;
    assert_eq!(other.status(), 303);
    // The same for a mapped address and its IPv4 address.
    let client = StaffClient::new(&app.address);
    for n in 1..=20u16 {
        let guess = sign_in_from(&client, "10.3.1.1", &format!("ten-{n}"), "sai").await;
        assert_eq!(guess.status(), 401, "guess {n}");
    }
    let mapped = sign_in_from(&client, "::ffff:10.3.1.1", "an.nguyen", TEST_PASSWORD).await;
    assert_eq!(mapped.status(), 429);
}

/// Issue 14, item 4: wrong passwords for a name from one client lock that client out of the
/// name (and slow it down), not the name's owner signing in from elsewhere; a name is locked
/// for everyone only past a generous ceiling of failures from many clients. Unknown names get
/// the same answers throughout.
#[tokio::test]
async fn an_attacker_locks_themselves_out_not_the_owner() {
    let app = TestApp::spawn().await;
    app.create_account("admin", "admin", &[]).await;
    let attacker = StaffClient::new(&app.address);
    let owner = StaffClient::new(&app.address);
    for name in ["admin", "khong.co.ai"] {
        for n in 0..5 {
            let guess = sign_in_from(&attacker, "203.0.113.66", name, "sai mật khẩu").await;
            assert_eq!(guess.status(), 401, "{name}, guess {n}");
        }
        // The attacker is locked out of the name, even with the right password...
        let locked = sign_in_from(&attacker, "203.0.113.66", name, TEST_PASSWORD).await;
        assert_eq!(locked.status(), 429, "{name}");
        assert!(locked.text().await.unwrap().contains("tạm thời bị khóa"));
    }
    // ... while the owner, from another address, signs in.
    let signed_in = sign_in_from(&owner, "198.51.100.7", "admin", TEST_PASSWORD).await;
    assert_eq!(signed_in.status(), 303);
    // The owner's success does not wipe the attacker's record.
    let still = sign_in_from(&attacker, "203.0.113.66", "admin", TEST_PASSWORD).await;
    assert_eq!(still.status(), 429);
    // Guesses spread over many clients lock the name for everyone past the ceiling.
    let sql = app.sql().await;
    sql.execute(
        "INSERT INTO sign_in_failures (username, client_key) \
         SELECT 'admin', sha256(convert_to('client ' || n, 'UTF8')) FROM generate_series(1, 94) n",
        &[],
    )
    .await
    .unwrap();
    let late = sign_in_from(&owner, "198.51.100.8", "admin", TEST_PASSWORD).await;
    assert_eq!(late.status(), 303, "99 failures: under the ceiling");
    let last = sign_in_from(&attacker, "192.0.2.1", "admin", "sai").await;
    assert_eq!(last.status(), 401);
    let late = sign_in_from(&owner, "198.51.100.9", "admin", TEST_PASSWORD).await;
    assert_eq!(late.status(), 429, "100 failures: the ceiling");
}

/// Issue 14, item 6: a NUL character in a user name, a desk name, a handling note or a staff
/// filter (PostgreSQL stores no NUL in text) is refused with a Vietnamese message (422), never
/// a 500; a `next` with a line break never reaches the Location header.
#[tokio::test]
async fn nul_characters_and_line_breaks_are_refused_not_failures() {
    let app = TestApp::spawn().await;
    app.create_account("an.nguyen", "admin", &[]).await;
    let nul_refused = async |response: reqwest::Response, what: &str| {
        assert_eq!(response.status(), 422, "{what}");
        let html = response.text().await.unwrap();
        assert!(
            html.contains("ký tự không hợp lệ (ký tự NUL"),
            "{what}: {html}"
        );
    };
    let client = StaffClient::new(&app.address);
    nul_refused(
        client.sign_in("an.nguyen\0", TEST_PASSWORD).await,
        "user name",
    )
    .await;
    nul_refused(client.sign_in("\0", "\0").await, "user name").await;
    // A `next` with a line break (a header injection) goes to the staff home.
    let csrf = client.csrf().await;
    let signed_in = client
        .post_raw(
            "/sign-in",
            &[
                ("_csrf", csrf.as_str()),
                ("username", "an.nguyen"),
                ("password", TEST_PASSWORD),
                ("next", "/staff\r\nSet-Cookie: x=1"),
            ],
        )
        .await;
    assert_eq!(signed_in.status(), 303);
    assert_eq!(location(&signed_in), "/staff");
    assert!(
        signed_in
            .headers()
            .get_all("set-cookie")
            .iter()
            .all(|c| { !c.to_str().unwrap().starts_with("x=") })
    );
    let page = client.get("/sign-in?next=/staff%0d%0aX:%20y").await;
    let html = page.text().await.unwrap();
    assert!(html.contains("name=\"next\" value=\"/staff\""), "{html}");
    // Staff text fields: a desk's name, on a new desk and an existing one.
    let sql = app.sql().await;
    let unit: i32 = sql
        .query_one("SELECT id FROM units WHERE code = 'xuan-loc.xuan-bac'", &[])
        .await
        .unwrap()
        .get(0);
    let desk: i32 = sql
        .query_one("SELECT id FROM desks WHERE unit_id = $1 LIMIT 1", &[&unit])
        .await
        .unwrap()
        .get(0);
    let unit = unit.to_string();
    let desk_fields = [
        ("unit", unit.as_str()),
        ("name", "Quầy\0 một cửa"),
        ("form", ""),
    ];
    nul_refused(
        client.post("/staff/desks/new", &desk_fields).await,
        "new desk",
    )
    .await;
    let path = format!("/staff/desks/{desk}");
    nul_refused(client.post(&path, &desk_fields).await, "desk").await;
    // A handling note.
    let code = app.desk_code("xuan-loc.xuan-bac").await;
    let (_, sent) = common::submit(&app, &code, "Phòng chờ chật").await;
    assert_eq!(sent.status(), 200);
    let row = sql
        .query_one("SELECT response_id, item_id FROM response_texts", &[])
        .await
        .unwrap();
    let (response, item): (i64, i32) = (row.get(0), row.get(1));
    let handle = format!("/staff/comments/{response}/{item}/handle");
    nul_refused(
        client.post(&handle, &[("note", "Đã\0 trả lời")]).await,
        "note",
    )
    .await;
    // A search of the comments.
    nul_refused(client.get("/staff/comments?q=a%00b").await, "search").await;
    // Nothing of it was stored; the same fields without the NUL are taken.
    assert_eq!(
        app.count("SELECT count(*) FROM desks WHERE name LIKE 'Quầy%một cửa'")
            .await,
        0
    );
    let fine = client.post(&handle, &[("note", "Đã trả lời")]).await;
    assert_eq!(fine.status(), 303);
}
