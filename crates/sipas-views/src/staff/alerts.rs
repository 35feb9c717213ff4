//! Pages of the staff area: e-mail alerts ("Nhận thông báo qua e-mail"). Every account
//! subscribes itself to the responses of a unit of its scope that rate the service at the
//! lowest level or leave a comment, at once or as a daily digest; lists and deletes its own
//! subscriptions. Without an SMTP server configured, the page says so and has no form.

use maud::{Markup, html};

use super::units::indent;
use super::{FieldErrors, csrf_input, error_summary, flash, page, select_field, text_field};
use crate::SignedIn;
use crate::db::alerts::SubscriptionRow;
use crate::db::units::UnitRow;
use crate::domain::alerts::{EVENT_COMMENT, EVENT_VERY_DISSATISFIED, Mode};
use crate::format_vietnam_time;

/// Where the page lives (and its menu path).
pub const PATH: &str = "/staff/alerts";
/// The page's title (and menu label).
pub const TITLE: &str = "Nhận thông báo qua e-mail";
/// What the page says when the server has no SMTP server.
pub const NOT_ENABLED: &str = "Máy chủ này chưa bật gửi thông báo qua e-mail (quản trị hệ thống cần cấu hình SIPAS_SMTP_URL và SIPAS_MAIL_FROM). Chưa thể đăng ký nhận thông báo.";

/// The subscription form as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertForm {
    pub unit: String,
    pub email: String,
    pub very_dissatisfied: bool,
    pub comment: bool,
    /// `immediate` or `daily`.
    pub mode: String,
}

impl AlertForm {
    /// A fresh form: both events, at once.
    pub fn fresh() -> Self {
        AlertForm {
            very_dissatisfied: true,
            comment: true,
            mode: Mode::Immediate.as_str().to_string(),
            ..AlertForm::default()
        }
    }
}

/// What the page shows.
pub struct AlertsPage<'a> {
    /// Whether this server sends e-mails (`SIPAS_SMTP_URL` set).
    pub enabled: bool,
    /// The account's subscriptions; `None` on a refused form (the form alone, as typed).
    pub rows: Option<&'a [SubscriptionRow]>,
    /// The units of the account's scope, in tree order.
    pub units: &'a [UnitRow],
    pub form: &'a AlertForm,
    pub errors: &'a FieldErrors,
    pub notice: Option<&'a str>,
    /// The SMTP server's last refusal, when e-mails wait.
    pub last_error: Option<&'a str>,
}

fn events_label(row: &SubscriptionRow) -> String {
    let s = &row.subscription;
    match (s.on_very_dissatisfied, s.on_comment) {
        (true, true) => "Đánh giá mức thấp nhất; góp ý".to_string(),
        (true, false) => "Đánh giá mức thấp nhất".to_string(),
        _ => "Góp ý".to_string(),
    }
}

fn mode_label(mode: &str) -> &'static str {
    match Mode::parse(mode) {
        Some(Mode::Daily) => "Hằng ngày, lúc 07:00",
        _ => "Ngay khi có",
    }
}

pub fn alerts(staff: &SignedIn, p: &AlertsPage<'_>) -> Markup {
    page(
        TITLE,
        staff,
        PATH,
        html! {
            (flash(p.notice))
            @if !p.enabled {
                div.alert role="status" { p { (NOT_ENABLED) } }
            } @else {
                p {
                    "Anh/Chị nhận e-mail khi người dân, tổ chức gửi phản hồi về đơn vị đã chọn hoặc các đơn vị trực thuộc: "
                    "khi có tiêu chí được đánh giá ở mức thấp nhất của thang đo (phiếu SIPAS: «Rất không hài lòng»; phiếu đánh giá Bộ phận một cửa 3 mức: «Không hài lòng»), "
                    "hoặc khi có góp ý bằng lời. Thư ghi đơn vị, quầy, thời gian, mức đánh giá, nội dung góp ý (đã che thông tin cá nhân) và đường dẫn đến trang xem chi tiết."
                }
                @if let Some(error) = p.last_error {
                    div.alert role="status" {
                        p { strong { "Thư chưa gửi được, hệ thống sẽ thử lại mỗi phút." } " Máy chủ thư trả lời: " code { (error) } }
                    }
                }
                h2 { "Đăng ký mới" }
                (error_summary(p.errors))
                (subscribe_form(staff, p))
                @if let Some(rows) = p.rows {
                    (list(rows, &staff.csrf))
                } @else {
                    p { a href=(PATH) { "Xem các đăng ký của Anh/Chị" } }
                }
            }
        },
    )
}

fn subscribe_form(staff: &SignedIn, p: &AlertsPage<'_>) -> Markup {
    let top = p.units.iter().map(|u| u.depth).min().unwrap_or(0);
    let mut units = vec![(String::new(), "— Chọn đơn vị —".to_string())];
    units.extend(p.units.iter().map(|u| {
        (
            u.id.to_string(),
            format!(
                "{}{}{}",
                indent(u.depth - top),
                u.name,
                if u.active {
                    ""
                } else {
                    " (ngừng hoạt động)"
                }
            ),
        )
    }));
    let events_error = p.errors.get("events");
    let mode_error = p.errors.get("mode");
    html! {
        form method="post" action=(PATH) {
            (csrf_input(&staff.csrf))
            (select_field("unit", "Đơn vị (gồm các đơn vị trực thuộc)", &units, &p.form.unit, p.errors))
            fieldset.units.err[events_error.is_some()] id="f-events" {
                legend { "Gửi thư khi phản hồi" }
                @if let Some(message) = events_error { p.msg { (message) } }
                div {
                    input type="checkbox" name="very_dissatisfied" value="on" id="f-very-dissatisfied" checked[p.form.very_dissatisfied];
                    " " label for="f-very-dissatisfied" { (EVENT_VERY_DISSATISFIED) }
                }
                div {
                    input type="checkbox" name="comment" value="on" id="f-comment" checked[p.form.comment];
                    " " label for="f-comment" { (EVENT_COMMENT) }
                }
            }
            fieldset.units.err[mode_error.is_some()] id="f-mode" {
                legend { "Cách gửi" }
                @if let Some(message) = mode_error { p.msg { (message) } }
                @for mode in [Mode::Immediate, Mode::Daily] {
                    @let id = format!("f-mode-{}", mode.as_str());
                    div {
                        input type="radio" name="mode" value=(mode.as_str()) id=(id) checked[p.form.mode == mode.as_str()];
                        " " label for=(id) { (mode.label()) }
                    }
                }
            }
            (text_field("email", "Địa chỉ e-mail nhận thông báo", &p.form.email, p.errors, "email",
                Some("(ví dụ: ten.canbo@xuanloc.dongnai.gov.vn)")))
            button.small type="submit" { "Đăng ký nhận thông báo" }
        }
    }
}

fn list(rows: &[SubscriptionRow], csrf: &str) -> Markup {
    html! {
        h2 { "Các đăng ký của Anh/Chị" }
        @if rows.is_empty() {
            p.hint { "Anh/Chị chưa đăng ký nhận thông báo nào." }
        } @else {
            table {
                thead {
                    tr {
                        th scope="col" { "Đơn vị" }
                        th scope="col" { "Khi" }
                        th scope="col" { "Cách gửi" }
                        th scope="col" { "E-mail" }
                        th scope="col" { "Đã gửi lần cuối" }
                        th scope="col" { "Chờ gửi" }
                        th scope="col" { span.hint { "Thao tác" } }
                    }
                }
                tbody {
                    @for row in rows {
                        @let s = &row.subscription;
                        tr {
                            td { (row.unit_name) }
                            td { (events_label(row)) }
                            td { (mode_label(&s.mode)) }
                            td { (s.email) }
                            td {
                                @match row.last_sent_at {
                                    Some(at) => (format_vietnam_time(at)),
                                    None => "Chưa gửi",
                                }
                            }
                            td.num { (row.pending) }
                            td {
                                form.inline method="post" action={ (PATH) "/" (s.id) "/delete" } {
                                    (csrf_input(csrf))
                                    button.small type="submit" aria-label={ "Xóa đăng ký nhận thông báo của " (row.unit_name) " gửi đến " (s.email) } { "Xóa" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::accounts::Account;
    use crate::db::alerts::Subscription;
    use crate::domain::access::{Actor, Role, Scope};
    use chrono::{TimeZone, Utc};

    fn staff() -> SignedIn {
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        SignedIn {
            account: Account {
                id: 3,
                username: "xuantam".into(),
                display_name: "Cán bộ Xuân Tâm".into(),
                role: "unit".into(),
                password_hash: String::new(),
                active: true,
                created_at: at,
                password_changed_at: at,
                sessions_valid_after: at,
            },
            actor: Actor {
                account_id: 3,
                role: Role::Unit,
                scope: Scope::Units(vec![7]),
            },
            csrf: "tok".into(),
        }
    }

    fn unit(id: i32, depth: i32, name: &str) -> UnitRow {
        UnitRow {
            id,
            parent_id: None,
            code: format!("u{id}"),
            name: name.into(),
            kind: "commune".into(),
            default_form_id: None,
            active: true,
            depth,
            effective_form_id: None,
            desks: 1,
            responses: 0,
        }
    }

    fn row() -> SubscriptionRow {
        SubscriptionRow {
            subscription: Subscription {
                id: 11,
                account_id: 3,
                unit_id: 7,
                email: "canbo@xuantam.gov.vn".into(),
                on_very_dissatisfied: false,
                on_comment: true,
                mode: "daily".into(),
                created_at: Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap(),
            },
            unit_name: "UBND xã Xuân Tâm".into(),
            pending: 2,
            last_sent_at: Some(Utc.with_ymd_and_hms(2026, 12, 4, 0, 0, 5).unwrap()),
        }
    }

    #[test]
    fn the_page_lists_subscriptions_and_offers_the_form() {
        let units = [unit(7, 2, "UBND xã Xuân Tâm")];
        let rows = [row()];
        let form = AlertForm::fresh();
        let html = alerts(
            &staff(),
            &AlertsPage {
                enabled: true,
                rows: Some(&rows),
                units: &units,
                form: &form,
                errors: &FieldErrors::new(),
                notice: Some("Đã đăng ký."),
                last_error: None,
            },
        )
        .into_string();
        assert!(
            html.contains("<h1>Nhận thông báo qua e-mail</h1>"),
            "{html}"
        );
        assert!(html.contains(r#"action="/staff/alerts""#), "{html}");
        assert!(html.contains(r#"name="_csrf" value="tok""#), "{html}");
        assert!(
            html.contains(r#"<option value="7">UBND xã Xuân Tâm</option>"#),
            "{html}"
        );
        assert!(
            html.contains(
                r#"name="very_dissatisfied" value="on" id="f-very-dissatisfied" checked"#
            ),
            "{html}"
        );
        assert!(
            html.contains(r#"value="immediate" id="f-mode-immediate" checked"#),
            "{html}"
        );
        assert!(!html.contains(r#"id="f-mode-daily" checked"#), "{html}");
        assert!(html.contains("Rất không hài lòng"), "{html}");
        assert!(html.contains(r#"type="email" name="email""#), "{html}");
        // The subscription and its delete button.
        assert!(html.contains("<td>Góp ý</td>"), "{html}");
        assert!(html.contains("<td>Hằng ngày, lúc 07:00</td>"), "{html}");
        assert!(html.contains("canbo@xuantam.gov.vn"), "{html}");
        assert!(html.contains("07:00 ngày 04/12/2026"), "{html}");
        assert!(html.contains(r#"<td class="num">2</td>"#), "{html}");
        assert!(
            html.contains(r#"action="/staff/alerts/11/delete""#),
            "{html}"
        );
        assert!(html.contains("Đã đăng ký."), "{html}");
    }

    #[test]
    fn a_refused_form_keeps_what_was_typed_and_marks_the_problems() {
        let units = [unit(7, 0, "UBND xã Xuân Tâm")];
        let form = AlertForm {
            unit: "7".into(),
            email: "không phải e-mail".into(),
            very_dissatisfied: false,
            comment: false,
            mode: "daily".into(),
        };
        let errors = FieldErrors::from([
            ("email", "Địa chỉ e-mail không hợp lệ.".to_string()),
            (
                "events",
                "Vui lòng chọn ít nhất một loại phản hồi.".to_string(),
            ),
        ]);
        let html = alerts(
            &staff(),
            &AlertsPage {
                enabled: true,
                rows: None,
                units: &units,
                form: &form,
                errors: &errors,
                notice: None,
                last_error: Some("421 try later"),
            },
        )
        .into_string();
        assert!(html.contains("Vui lòng sửa 2 mục"), "{html}");
        assert!(html.contains(r#"<option value="7" selected>"#), "{html}");
        assert!(html.contains(r#"value="không phải e-mail""#), "{html}");
        assert!(
            !html.contains(r#"id="f-very-dissatisfied" checked"#),
            "{html}"
        );
        assert!(html.contains(r#"id="f-mode-daily" checked"#), "{html}");
        assert!(
            html.contains("Vui lòng chọn ít nhất một loại phản hồi."),
            "{html}"
        );
        assert!(html.contains("421 try later"), "{html}");
        assert!(!html.contains("<table>"), "{html}");
    }

    #[test]
    fn without_smtp_the_page_says_alerts_are_not_enabled_and_has_no_form() {
        let html = alerts(
            &staff(),
            &AlertsPage {
                enabled: false,
                rows: Some(&[]),
                units: &[],
                form: &AlertForm::fresh(),
                errors: &FieldErrors::new(),
                notice: None,
                last_error: None,
            },
        )
        .into_string();
        assert!(html.contains("chưa bật gửi thông báo qua e-mail"), "{html}");
        assert!(!html.contains(r#"action="/staff/alerts""#), "{html}");
    }
}
