//! E-mail alerts (issue 17): staff subscribe through the real form at `/staff/alerts`, citizens
//! answer through the real survey path, and the sender (`sipas::app::alerts::send_due`, what
//! the server's task runs every minute) delivers to a small SMTP server started by the test,
//! which records what it accepts. Checked: one e-mail per alert with the unit, desk, rating,
//! masked comment and link; nothing sent twice; nothing outside the subscribed subtree;
//! nothing for an account that lost the unit; the daily digest gathering several responses
//! into one e-mail; an SMTP outage keeping the alert pending until the server is back; a unit
//! account refused a unit outside its scope; and a server without SMTP storing nothing.

use crate::common;

use std::sync::{Arc, Mutex};

use chrono::Utc;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use common::{StaffClient, TestApp, TestDatabase, full_answers, location};

const XUAN_TAM: &str = "xuan-loc.xuan-tam";
const XUAN_BAC: &str = "xuan-loc.xuan-bac";
const XUAN_DINH: &str = "xuan-loc.xuan-dinh";
const DISTRICT: &str = "xuan-loc";
const PUBLIC_URL: &str = "https://hailong.example.gov.vn";

/// One e-mail the test server accepted.
#[derive(Debug, Clone)]
struct Received {
    mail_from: String,
    rcpt_to: Vec<String>,
    /// The message as sent (headers and encoded body).
    data: String,
}

impl Received {
    /// The header `name`, unfolded, with its RFC 2047 encoded words decoded.
    fn header(&self, name: &str) -> String {
        let head = self.data.split("\r\n\r\n").next().unwrap();
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        let prefix = format!("{}: ", name.to_ascii_lowercase());
        let line = unfolded
            .split("\r\n")
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .unwrap_or_else(|| panic!("no {name} header in {}", self.data));
        decode_words(&line[prefix.len()..])
    }

    fn subject(&self) -> String {
        self.header("Subject")
    }

    /// The plain-text body, decoded (lettre picks base64 or quoted-printable for UTF-8).
    fn body(&self) -> String {
        let (_, raw) = self.data.split_once("\r\n\r\n").unwrap();
        let encoding = self
            .header("Content-Transfer-Encoding")
            .to_ascii_lowercase();
        let bytes = match encoding.trim() {
            "base64" => base64(&raw.replace("\r\n", "")),
            "quoted-printable" => quoted_printable(raw),
            _ => raw.as_bytes().to_vec(),
        };
        String::from_utf8(bytes).unwrap().replace("\r\n", "\n")
    }
}

fn base64(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET
            .iter()
            .position(|a| *a == c)
            .unwrap_or_else(|| panic!("not base64: {c}")) as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

fn quoted_printable(text: &str) -> Vec<u8> {
    let text = text.replace("=\r\n", "");
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// A header value with its `=?utf-8?b?…?=` / `=?utf-8?q?…?=` words decoded (whitespace
/// between two encoded words dropped, as RFC 2047 says).
fn decode_words(value: &str) -> String {
    let mut out = Vec::new();
    let mut rest = value;
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let between = &rest[..start];
        if !(after_word && between.trim().is_empty()) {
            out.extend_from_slice(between.as_bytes());
        }
        let word = &rest[start + 2..];
        let mut parts = word.splitn(3, '?');
        let (_charset, kind, tail) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let end = tail.find("?=").unwrap();
        let payload = &tail[..end];
        match kind {
            "b" | "B" => out.extend(base64(payload)),
            _ => out.extend(quoted_printable(&payload.replace('_', " "))),
        }
        rest = &tail[end + 2..];
        after_word = true;
    }
    out.extend_from_slice(rest.as_bytes());
    String::from_utf8(out).unwrap()
}

/// A small SMTP server on 127.0.0.1 that accepts everything and records it: greeting,
/// EHLO/HELO, MAIL FROM, RCPT TO, DATA (dot-unstuffed), RSET, NOOP, QUIT.
struct MailCatcher {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    server: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl MailCatcher {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let catcher = MailCatcher {
            port,
            received: Arc::default(),
            server: Mutex::new(None),
        };
        catcher.serve(listener);
        catcher
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    fn serve(&self, listener: TcpListener) {
        let received = self.received.clone();
        let handle = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let received = received.clone();
                tokio::spawn(async move {
                    let _ = session(socket, received).await;
                });
            }
        });
        *self.server.lock().unwrap() = Some(handle);
    }

    /// The server goes away: connections are refused until [`MailCatcher::restart`].
    async fn stop(&self) {
        let handle = self.server.lock().unwrap().take();
        if let Some(handle) = handle {
            handle.abort();
            let _ = handle.await;
        }
        // Refused now.
        assert!(
            tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_err()
        );
    }

    /// The server comes back on the same port.
    async fn restart(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.serve(listener);
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    fn to(&self, address: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.rcpt_to.iter().any(|t| t == address))
            .collect()
    }
}

async fn session(
    socket: tokio::net::TcpStream,
    received: Arc<Mutex<Vec<Received>>>,
) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 localhost test SMTP\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_string();
        let upper = command.to_ascii_uppercase();
        let answer: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            b"250 localhost\r\n"
        } else if let Some(rest) = upper.strip_prefix("MAIL FROM:") {
            from = command[command.len() - rest.len()..]
                .trim()
                .trim_matches(['<', '>'])
                .to_string();
            to.clear();
            b"250 OK\r\n"
        } else if let Some(rest) = upper.strip_prefix("RCPT TO:") {
            to.push(
                command[command.len() - rest.len()..]
                    .trim()
                    .trim_matches(['<', '>'])
                    .to_string(),
            );
            b"250 OK\r\n"
        } else if upper == "DATA" {
            write
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" {
                    break;
                }
                let unstuffed = line.strip_prefix('.').unwrap_or(&line);
                data.push_str(unstuffed);
            }
            received.lock().unwrap().push(Received {
                mail_from: from.clone(),
                rcpt_to: to.clone(),
                data,
            });
            b"250 OK queued\r\n"
        } else if upper == "QUIT" {
            write.write_all(b"221 Bye\r\n").await?;
            return Ok(());
        } else if upper == "RSET" || upper == "NOOP" {
            b"250 OK\r\n"
        } else {
            b"502 Command not implemented\r\n"
        };
        write.write_all(answer).await?;
    }
}

/// A test server whose alerts go to `catcher`.
async fn spawn_with_smtp(catcher: &MailCatcher) -> TestApp {
    let smtp = catcher.url();
    TestApp::spawn_on(TestDatabase::create().await, move |url| {
        let mut config = common::test_config(url);
        config.mail = sipas::config::MailSettings::from_lookup(&|name: &str| match name {
            "SIPAS_SMTP_URL" => Some(smtp.clone()),
            "SIPAS_MAIL_FROM" => Some("SIPAS Xuân Lộc <sipas@xuanloc.example.gov.vn>".into()),
            _ => None,
        })
        .unwrap();
        // The test runs the sender itself (the server's task would run it every minute).
        if let Some(mail) = &mut config.mail {
            mail.every = std::time::Duration::from_secs(24 * 3600);
        }
        config
    })
    .await
}

/// One run of the sender, as the server's task does it, at `now`.
async fn send_due(app: &TestApp, now: chrono::DateTime<Utc>) -> sipas::app::alerts::SendReport {
    app.settle_rollups().await;
    let mailer = sipas::app::alerts::Mailer::new(app.config.mail.as_ref().unwrap()).unwrap();
    let mut conn = app.pool.get().await.unwrap();
    sipas::app::alerts::send_due(&mut conn, &app.forms, &mailer, PUBLIC_URL, now)
        .await
        .unwrap()
}

/// Subscribes through the form; returns the answer.
async fn subscribe(
    staff: &StaffClient,
    unit_id: i32,
    email: &str,
    events: &[&str],
    mode: &str,
) -> reqwest::Response {
    let unit = unit_id.to_string();
    let mut fields = vec![("unit", unit.as_str()), ("email", email), ("mode", mode)];
    fields.extend(events.iter().map(|e| (*e, "on")));
    staff.post("/staff/alerts", &fields).await
}

/// A citizen answers the QĐ 1001 form at `code`: every criterion `score`, the criteria of
/// `lowest` "Rất không hài lòng" (1), and the open answer `comment`. Returns the response id.
async fn answer(app: &TestApp, code: &str, score: &str, lowest: &[&str], comment: &str) -> i64 {
    let mut fields: Vec<(&'static str, String)> = full_answers(score)
        .into_iter()
        .map(|(k, v)| {
            if lowest.contains(&k) {
                (k, "1".to_string())
            } else {
                (k, v)
            }
        })
        .collect();
    if !comment.is_empty() {
        fields.push(("YK", comment.to_string()));
    }
    let token = app.send_survey_stored(code, &fields).await;
    app.sql()
        .await
        .query_one(
            "SELECT id FROM responses WHERE submission_key::text = $1",
            &[&token],
        )
        .await
        .unwrap()
        .get(0)
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.count(sql).await
}

#[tokio::test]
async fn immediate_alerts_arrive_once_for_the_subscribed_units_and_survive_an_smtp_outage() {
    let catcher = MailCatcher::start().await;
    let app = spawn_with_smtp(&catcher).await;
    let tam = app.unit_id(XUAN_TAM).await;
    let bac = app.unit_id(XUAN_BAC).await;
    let staff = app
        .staff_with_role("can.bo.xuan.tam", "unit", &[XUAN_TAM])
        .await;
    const TO: &str = "canbo@xuantam.example.gov.vn";

    // The page: the form offers the units of the account's scope only.
    let page = staff.get("/staff/alerts").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<h1>Nhận thông báo qua e-mail</h1>"),
        "{html}"
    );
    assert!(
        html.contains(&format!("<option value=\"{tam}\">")),
        "{html}"
    );
    assert!(
        !html.contains(&format!("<option value=\"{bac}\">")),
        "{html}"
    );
    assert!(html.contains("chưa đăng ký nhận thông báo nào"), "{html}");

    // A unit outside the scope, typed into the form: refused in Vietnamese, nothing stored.
    let r = subscribe(
        &staff,
        bac,
        TO,
        &["very_dissatisfied", "comment"],
        "immediate",
    )
    .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("chỉ có thể đăng ký nhận thông báo của đơn vị mình phụ trách"),
        "{html}"
    );
    // Bad input: every problem named, nothing stored.
    let r = subscribe(&staff, tam, "canbo@", &[], "weekly").await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("Địa chỉ e-mail không hợp lệ"), "{html}");
    assert!(html.contains("ít nhất một loại phản hồi"), "{html}");
    assert!(html.contains("Vui lòng chọn cách gửi thông báo."), "{html}");
    assert_eq!(
        count(&app, "SELECT count(*) FROM alert_subscriptions").await,
        0
    );

    // Subscribed, audited.
    let r = subscribe(
        &staff,
        tam,
        TO,
        &["very_dissatisfied", "comment"],
        "immediate",
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/staff/alerts?ok=created");
    assert_eq!(
        count(&app, "SELECT count(*) FROM alert_subscriptions").await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE action = 'alert.subscribe' \
             AND after->>'email' = 'canbo@xuantam.example.gov.vn'"
        )
        .await,
        1
    );
    // The same again is refused.
    let r = subscribe(&staff, tam, TO, &["comment"], "daily").await;
    assert_eq!(r.status(), 422);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("đã đăng ký nhận thông báo của đơn vị này")
    );

    // Citizens: one very dissatisfied at Xuân Tâm, one satisfied there (nothing to tell), one
    // very dissatisfied with a comment at Xuân Bắc (outside the subscription).
    let tam_code = app.desk_code(XUAN_TAM).await;
    let bac_code = app.desk_code(XUAN_BAC).await;
    let low = answer(&app, &tam_code, "4", &["TC2", "CC3"], "").await;
    answer(&app, &tam_code, "5", &[], "").await;
    answer(&app, &bac_code, "1", &[], "Xuân Bắc: không ai hướng dẫn").await;

    let report = send_due(&app, Utc::now()).await;
    assert_eq!(report.mails_sent, 1, "{report:?}");
    assert_eq!(report.events_sent, 1, "{report:?}");
    let mails = catcher.received();
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = &mails[0];
    assert_eq!(mail.rcpt_to, [TO]);
    assert_eq!(mail.mail_from, "sipas@xuanloc.example.gov.vn");
    assert_eq!(
        mail.subject(),
        "[SIPAS] Phản hồi cần chú ý: UBND xã Xuân Tâm"
    );
    assert!(mail.header("From").contains("sipas@xuanloc.example.gov.vn"));
    assert!(
        mail.header("Content-Type")
            .starts_with("text/plain; charset=utf-8"),
        "{}",
        mail.data
    );
    let body = mail.body();
    assert!(
        body.starts_with("Kính gửi Anh/Chị can.bo.xuan.tam,"),
        "{body}"
    );
    assert!(
        body.contains("1. UBND xã Xuân Tâm – Bộ phận Tiếp nhận và Trả kết quả xã Xuân Tâm\n"),
        "{body}"
    );
    assert!(body.contains("(giờ Việt Nam)"), "{body}");
    // 16 criteria answered (the three of PA "không áp dụng"), two at the lowest level.
    assert!(
        body.contains("Đánh giá: Rất không hài lòng ở 2 trên 16 tiêu chí đã trả lời:"),
        "{body}"
    );
    assert!(body.contains("     - TC2: "), "{body}");
    assert!(body.contains("     - CC3: "), "{body}");
    assert!(
        body.contains(&format!("Xem: {PUBLIC_URL}/staff/stats/units/{tam}")),
        "{body}"
    );
    assert!(!body.contains("Xuân Bắc"), "{body}");
    // The time is the response's, in Vietnam's time.
    let micros: i64 = app
        .sql()
        .await
        .query_one(
            "SELECT (extract(epoch FROM submitted_at) * 1000000)::int8 FROM responses WHERE id = $1",
            &[&low],
        )
        .await
        .unwrap()
        .get(0);
    let submitted = chrono::DateTime::from_timestamp_micros(micros).unwrap();
    assert!(
        body.contains(&sipas::domain::format::format_vietnam_time(submitted)),
        "{body}"
    );

    // A second run sends nothing more.
    let report = send_due(&app, Utc::now()).await;
    assert_eq!(
        (report.mails_sent, report.events_written),
        (0, 0),
        "{report:?}"
    );
    assert_eq!(catcher.received().len(), 1);

    // The SMTP server goes down: the comment's alert waits.
    catcher.stop().await;
    let commented = answer(
        &app,
        &tam_code,
        "4",
        &[],
        "Chờ quá lâu, gọi tôi 0912 345 678\nxin cảm ơn",
    )
    .await;
    let report = send_due(&app, Utc::now()).await;
    assert_eq!(report.mails_sent, 0, "{report:?}");
    assert_eq!(report.events_written, 1, "{report:?}");
    assert_eq!(report.failures.len(), 1, "{report:?}");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM alert_events WHERE sent_at IS NULL AND dropped_at IS NULL"
        )
        .await,
        1
    );
    // The page says one e-mail waits, and why.
    let html = staff.get("/staff/alerts").await.text().await.unwrap();
    assert!(html.contains("<td class=\"num\">1</td>"), "{html}");
    assert!(html.contains("Thư chưa gửi được"), "{html}");
    let report = send_due(&app, Utc::now()).await;
    assert_eq!(report.mails_sent, 0, "{report:?}");
    assert_eq!(catcher.received().len(), 1);

    // Back: sent once, with the comment as stored (masked) and its link.
    catcher.restart().await;
    let report = send_due(&app, Utc::now()).await;
    assert_eq!(report.mails_sent, 1, "{report:?}");
    let mails = catcher.to(TO);
    assert_eq!(mails.len(), 2);
    let body = mails[1].body();
    assert!(
        body.contains("   Góp ý:\n     Chờ quá lâu, gọi tôi [số điện thoại]\n     xin cảm ơn\n"),
        "{body}"
    );
    assert!(!body.contains("345 678"), "{body}");
    assert!(
        body.contains("Đánh giá: hài lòng ở 16 trên 16 tiêu chí đã trả lời"),
        "{body}"
    );
    let item: i32 = app
        .sql()
        .await
        .query_one(
            "SELECT item_id FROM response_texts WHERE response_id = $1",
            &[&commented],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        body.contains(&format!(
            "Xem: {PUBLIC_URL}/staff/comments/{commented}/{item}"
        )),
        "{body}"
    );
    let report = send_due(&app, Utc::now()).await;
    assert_eq!(report.mails_sent, 0, "{report:?}");
    assert_eq!(catcher.received().len(), 2);
    let html = staff.get("/staff/alerts").await.text().await.unwrap();
    assert!(!html.contains("Thư chưa gửi được"), "{html}");

    // The account loses the unit: its alerts stop at once, even those already written.
    let account: i32 = app
        .sql()
        .await
        .query_one(
            "SELECT id FROM accounts WHERE username = 'can.bo.xuan.tam'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    app.sql()
        .await
        .execute(
            "UPDATE account_units SET unit_id = $2 WHERE account_id = $1",
            &[&account, &bac],
        )
        .await
        .unwrap();
    answer(&app, &tam_code, "1", &[], "vẫn chờ lâu").await;
    let report = send_due(&app, Utc::now()).await;
    assert_eq!(
        (report.mails_sent, report.events_dropped),
        (0, 1),
        "{report:?}"
    );
    assert_eq!(catcher.received().len(), 2);

    // Another account cannot delete the subscription; its owner can, audited.
    let id: i32 = app
        .sql()
        .await
        .query_one("SELECT id FROM alert_subscriptions", &[])
        .await
        .unwrap()
        .get(0);
    let admin = app.staff_with_role("qt.noi.vu", "admin", &[]).await;
    let r = admin.post(&format!("/staff/alerts/{id}/delete"), &[]).await;
    assert_eq!(r.status(), 404);
    let r = staff.post(&format!("/staff/alerts/{id}/delete"), &[]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/staff/alerts?ok=deleted");
    assert_eq!(
        count(&app, "SELECT count(*) FROM alert_subscriptions").await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE action = 'alert.unsubscribe'"
        )
        .await,
        1
    );
    assert_eq!(count(&app, "SELECT count(*) FROM alert_events").await, 0);
}

#[tokio::test]
async fn a_daily_digest_gathers_the_day_s_responses_into_one_e_mail_at_seven() {
    let catcher = MailCatcher::start().await;
    let app = spawn_with_smtp(&catcher).await;
    let district = app.unit_id(DISTRICT).await;
    let leader = app.staff_with_role("lanh.dao", "viewer", &[]).await;
    const TO: &str = "lanhdao@xuanloc.example.gov.vn";
    let r = subscribe(&leader, district, TO, &["comment"], "daily").await;
    assert_eq!(r.status(), 303);

    // Comments at three units below the district; a very dissatisfied response without a
    // comment is not what this subscription asked for.
    let mut bodies = Vec::new();
    for unit in [XUAN_TAM, XUAN_BAC, XUAN_DINH] {
        let code = app.desk_code(unit).await;
        let body = format!("Góp ý tại {unit}");
        answer(&app, &code, "4", &[], &body).await;
        bodies.push(body);
    }
    let tam_code = app.desk_code(XUAN_TAM).await;
    answer(&app, &tam_code, "1", &[], "").await;

    // Not before 07:00 (Vietnam's time) after they came in.
    let report = send_due(&app, Utc::now()).await;
    assert_eq!(report.events_written, 3, "{report:?}");
    assert_eq!(report.mails_sent, 0, "{report:?}");
    assert!(catcher.received().is_empty());

    // At the next 07:00: one e-mail with the three.
    let tomorrow = Utc::now() + chrono::Duration::days(1);
    let report = send_due(&app, tomorrow).await;
    assert_eq!(
        (report.mails_sent, report.events_sent),
        (1, 3),
        "{report:?}"
    );
    let mails = catcher.to(TO);
    assert_eq!(mails.len(), 1);
    let subject = mails[0].subject();
    let day = sipas::domain::format::format_date(sipas::domain::time::day_in_vietnam(tomorrow));
    assert_eq!(
        subject,
        format!("[SIPAS] Tổng hợp ngày {day}: 3 phản hồi cần chú ý (UBND huyện Xuân Lộc)")
    );
    let body = mails[0].body();
    assert!(
        body.contains("ghi nhận 3 phản hồi trong ngày qua"),
        "{body}"
    );
    for (unit, text) in [
        ("UBND xã Xuân Tâm", &bodies[0]),
        ("UBND xã Xuân Bắc", &bodies[1]),
        ("UBND xã Xuân Định", &bodies[2]),
    ] {
        assert!(body.contains(&format!(". {unit} – ")), "{body}");
        assert!(body.contains(&format!("     {text}\n")), "{body}");
    }
    assert!(!body.contains("\n4. "), "{body}");

    // Nothing more that day, nor the next run.
    let report = send_due(&app, tomorrow).await;
    assert_eq!(report.mails_sent, 0, "{report:?}");
    assert_eq!(catcher.received().len(), 1);
}

#[tokio::test]
async fn without_smtp_the_page_says_alerts_are_not_enabled_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let tam = app.unit_id(XUAN_TAM).await;
    let staff = app
        .staff_with_role("can.bo.xuan.tam", "unit", &[XUAN_TAM])
        .await;
    let html = staff.get("/staff/alerts").await.text().await.unwrap();
    assert!(html.contains("chưa bật gửi thông báo qua e-mail"), "{html}");
    assert!(!html.contains("name=\"email\""), "{html}");
    // The menu leads there.
    assert!(html.contains("href=\"/staff/alerts\""), "{html}");
    let r = subscribe(&staff, tam, "a@b.vn", &["comment"], "immediate").await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("chưa bật gửi thông báo"));
    assert_eq!(
        count(&app, "SELECT count(*) FROM alert_subscriptions").await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE action LIKE 'alert.%'"
        )
        .await,
        0
    );
}
