//! Staff pages: the shared shell (navigation by role) and form helpers, plus sign-in,
//! dashboard and password pages. Each administration area has its own module.

pub mod accounts;
pub mod audit;
pub mod codes;
pub mod comments;
pub mod desks;
pub mod exports;
pub mod flags;
pub mod paper;
pub mod plans;
pub mod publish;
pub mod report;
pub mod stats;
pub mod tokens;
pub mod units;

use maud::{Markup, html};

use super::shell;
use crate::domain::access::Role;
use crate::{CSRF_FIELD, SignedIn};

/// Problems of a submitted form, by field name, in Vietnamese.
pub use crate::domain::fields::FieldErrors;

/// The sections of the staff area, in menu order: (path, label, who sees it).
const MENU: [(&str, &str, &[Role]); 14] = [
    (
        "/staff",
        "Tổng quan",
        &[Role::Admin, Role::Unit, Role::Viewer],
    ),
    (
        "/staff/stats",
        "Kết quả khảo sát",
        &[Role::Admin, Role::Unit, Role::Viewer],
    ),
    (
        "/staff/units",
        "Đơn vị",
        &[Role::Admin, Role::Unit, Role::Viewer],
    ),
    (
        "/staff/desks",
        "Quầy tiếp nhận",
        &[Role::Admin, Role::Unit, Role::Viewer],
    ),
    (
        "/staff/plans",
        "Kế hoạch khảo sát",
        &[Role::Admin, Role::Unit, Role::Viewer],
    ),
    (
        "/staff/paper",
        "Nhập phiếu giấy",
        &[Role::Admin, Role::Unit],
    ),
    (
        "/staff/comments",
        "Góp ý",
        &[Role::Admin, Role::Unit, Role::Viewer],
    ),
    (
        "/staff/exports",
        "Xuất dữ liệu",
        &[Role::Admin, Role::Unit, Role::Viewer],
    ),
    (
        "/staff/codes",
        "Mã đánh giá",
        &[Role::Admin, Role::Unit, Role::Viewer],
    ),
    ("/staff/publish", "Công khai kết quả", &[Role::Admin]),
    ("/staff/accounts", "Tài khoản", &[Role::Admin]),
    ("/staff/flags", "Phiếu nghi vấn", &[Role::Admin]),
    ("/staff/audit", "Nhật ký thay đổi", &[Role::Admin]),
    (
        "/staff/tokens",
        "Mã truy cập API",
        &[Role::Admin, Role::Unit, Role::Viewer],
    ),
];

/// A staff page: header with the account and navigation, then `body`.
pub fn page(title: &str, staff: &SignedIn, current: &str, body: Markup) -> Markup {
    shell(
        &format!("{title} - SIPAS"),
        Some("staff"),
        html! {
            header.staff-head {
                p.brand { a href="/staff" { "SIPAS" } " · Khảo sát sự hài lòng" }
                div.who {
                    (staff.account.display_name) " (" (staff.role.label()) ") · "
                    a href="/staff/password" { "Đổi mật khẩu" }
                    " · "
                    form.inline method="post" action="/sign-out" {
                        (csrf_input(&staff.csrf))
                        button.link type="submit" { "Đăng xuất" }
                    }
                }
                nav {
                    @for (path, label, roles) in MENU {
                        @if roles.contains(&staff.role) {
                            a href=(path) aria-current=[(path == current).then_some("page")] { (label) }
                        }
                    }
                }
            }
            h1 { (title) }
            (body)
        },
    )
}

pub fn csrf_input(token: &str) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(token); }
}

/// A notice after a successful action (carried in the redirect's query string).
pub fn flash(message: Option<&str>) -> Markup {
    html! {
        @if let Some(message) = message {
            p.flash role="status" { (message) }
        }
    }
}

/// "Please correct N fields" at the top of a refused form.
pub fn error_summary(errors: &FieldErrors) -> Markup {
    html! {
        @if !errors.is_empty() {
            div.alert role="alert" {
                p { strong { "Chưa lưu được." } " Vui lòng sửa " (errors.len()) " mục được đánh dấu bên dưới." }
            }
        }
    }
}

/// A labelled text input with its error message.
pub fn text_field(
    name: &str,
    label: &str,
    value: &str,
    errors: &FieldErrors,
    input_type: &str,
    extra: Option<&str>,
) -> Markup {
    let error = errors.get(name);
    let id = format!("f-{name}");
    html! {
        div.field.err[error.is_some()] {
            label for=(id) { (label) }
            @if let Some(hint) = extra { span.hint { " " (hint) } }
            @if let Some(message) = error { p.msg id={ "e-" (name) } { (message) } }
            input id=(id) type=(input_type) name=(name) value=(value) aria-invalid=[error.map(|_| "true")];
        }
    }
}

/// A labelled select with its error message. `options` are (value, label).
pub fn select_field(
    name: &str,
    label: &str,
    options: &[(String, String)],
    selected: &str,
    errors: &FieldErrors,
) -> Markup {
    let error = errors.get(name);
    let id = format!("f-{name}");
    html! {
        div.field.err[error.is_some()] {
            label for=(id) { (label) }
            @if let Some(message) = error { p.msg { (message) } }
            select id=(id) name=(name) {
                @for (value, text) in options {
                    option value=(value) selected[value == selected] { (text) }
                }
            }
        }
    }
}

pub fn sign_in(csrf: &str, username: &str, next: &str, message: Option<&str>) -> Markup {
    shell(
        "Đăng nhập - SIPAS",
        Some("staff"),
        html! {
            div.notice.narrow {
                h1 { "Đăng nhập" }
                p.hint { "Dành cho cán bộ quản lý khảo sát sự hài lòng." }
                @if let Some(message) = message { div.alert role="alert" { p { (message) } } }
                form method="post" action="/sign-in" {
                    (csrf_input(csrf))
                    input type="hidden" name="next" value=(next);
                    div.field {
                        label for="f-username" { "Tên đăng nhập" }
                        input id="f-username" name="username" value=(username) autocomplete="username" required autofocus;
                    }
                    div.field {
                        label for="f-password" { "Mật khẩu" }
                        input id="f-password" type="password" name="password" autocomplete="current-password" required;
                    }
                    button type="submit" { "Đăng nhập" }
                }
            }
        },
    )
}

/// The staff home page.
pub fn dashboard(
    staff: &SignedIn,
    responses: i64,
    today: i64,
    desks: i64,
    spool: Option<&crate::spool::SpoolStatus>,
) -> Markup {
    page(
        "Tổng quan",
        staff,
        "/staff",
        html! {
            div.cards {
                div.card { p.big { (responses) } p { "phiếu đã nhận" } }
                div.card { p.big { (today) } p { "phiếu hôm nay" } }
                div.card { p.big { (desks) } p { "quầy đang hoạt động" } }
            }
            @if let Some(spool) = spool { (spool_notice(spool)) }
            @if staff.role == Role::Unit {
                p.hint { "Anh/Chị xem và quản lý dữ liệu của đơn vị mình và các đơn vị trực thuộc." }
            }
        },
    )
}

/// The response spool of this instance (admins' dashboard): what waits for the database.
fn spool_notice(spool: &crate::spool::SpoolStatus) -> Markup {
    let oldest = spool.oldest.map(|t| {
        t.with_timezone(&crate::vietnam_offset())
            .format("%H:%M %d/%m/%Y")
            .to_string()
    });
    html! {
        p.hint #spool {
            "Phiếu chờ ghi vào cơ sở dữ liệu (trên máy chủ này): " strong { (spool.entries) }
            " (" (spool.bytes.div_ceil(1024)) " KB"
            @if let Some(oldest) = oldest { ", cũ nhất lúc " (oldest) }
            ")."
            @if !spool.accepting { " " strong { "Bộ đệm đã đầy hoặc không ghi được." } }
            @if spool.damaged + spool.rejected > 0 {
                " Dòng hỏng để riêng: " (spool.damaged) "; phiếu bị cơ sở dữ liệu từ chối để riêng: " (spool.rejected) "."
            }
            @if spool.foreign > 0 {
                " " strong { "Phiếu của cơ sở dữ liệu khác để riêng (không ghi vào đây): " (spool.foreign) "." }
                " Hãy chuyển các tệp foreign-* trong thư mục hàng đợi cho phiên bản dịch vụ của cơ sở dữ liệu đó."
            }
        }
    }
}

pub fn password(staff: &SignedIn, errors: &FieldErrors, done: bool) -> Markup {
    page(
        "Đổi mật khẩu",
        staff,
        "/staff/password",
        html! {
            @if done { p.flash role="status" { "Đã đổi mật khẩu." } }
            (error_summary(errors))
            form method="post" action="/staff/password" {
                (csrf_input(&staff.csrf))
                (text_field("current", "Mật khẩu hiện tại", "", errors, "password", None))
                (text_field("new", "Mật khẩu mới", "", errors, "password", Some("(ít nhất 10 ký tự)")))
                (text_field("confirm", "Nhập lại mật khẩu mới", "", errors, "password", None))
                button type="submit" { "Đổi mật khẩu" }
            }
        },
    )
}
