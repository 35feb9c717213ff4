//! Staff pages: the shared shell (navigation by role) and form helpers, plus sign-in,
//! dashboard and password pages. Each administration area has its own module.

pub mod accounts;
pub mod alerts;
pub mod audit;
pub mod codes;
pub mod comments;
pub mod desks;
pub mod exports;
pub mod flags;
pub mod home;
pub mod paper;
pub mod plans;
pub mod publish;
pub mod reorganisations;
pub mod report;
pub mod stats;
pub mod tokens;
pub mod units;

use maud::{Markup, html};

pub use home::dashboard;

use super::shell;
use crate::domain::access::Role;
use crate::{CSRF_FIELD, SignedIn};

/// Problems of a submitted form, by field name, in Vietnamese.
pub use crate::domain::fields::FieldErrors;

/// Who sees an entry of the menu.
const EVERYONE: &[Role] = &[Role::Admin, Role::Unit, Role::Viewer];
const EDITORS: &[Role] = &[Role::Admin, Role::Unit];
const ADMINS: &[Role] = &[Role::Admin];

/// One section of the menu: (path, label, who sees it).
pub type MenuEntry = (&'static str, &'static str, &'static [Role]);

/// The sections of the staff area, by group in menu order: (group, [(path, label, who sees
/// it)]). A group is shown with the entries the account's role sees, and not at all without
/// any; a new section is one line in its group.
pub const MENU: &[(&str, &[MenuEntry])] = &[
    (
        "Kết quả",
        &[
            ("/staff", "Tổng quan", EVERYONE),
            ("/staff/stats", "Kết quả khảo sát", EVERYONE),
            ("/staff/report", "Báo cáo", EVERYONE),
            ("/staff/comments", "Góp ý", EVERYONE),
            ("/staff/alerts", "Nhận thông báo qua e-mail", EVERYONE),
            ("/staff/exports", "Xuất dữ liệu", EVERYONE),
            ("/staff/publish", "Công khai kết quả", ADMINS),
        ],
    ),
    (
        "Thu thập ý kiến",
        &[
            ("/staff/desks", "Quầy tiếp nhận", EVERYONE),
            ("/staff/codes", "Mã đánh giá", EVERYONE),
            ("/staff/paper", "Nhập phiếu giấy", EDITORS),
            ("/staff/plans", "Kế hoạch khảo sát", EVERYONE),
        ],
    ),
    (
        "Quản trị",
        &[
            ("/staff/units", "Đơn vị", EVERYONE),
            ("/staff/accounts", "Tài khoản", ADMINS),
            ("/staff/flags", "Phiếu nghi vấn", ADMINS),
            ("/staff/audit", "Nhật ký thay đổi", ADMINS),
            ("/staff/tokens", "Mã truy cập API", EVERYONE),
        ],
    ),
];

/// A group of the menu as a role sees it: (group, [(path, label)]).
pub type MenuGroup = (&'static str, Vec<(&'static str, &'static str)>);

/// The menu as `role` sees it: (group, [(path, label)]), groups without an entry left out.
pub fn menu_for(role: Role) -> Vec<MenuGroup> {
    MENU.iter()
        .map(|(group, entries)| {
            let seen: Vec<(&str, &str)> = entries
                .iter()
                .filter(|(_, _, roles)| roles.contains(&role))
                .map(|(path, label, _)| (*path, *label))
                .collect();
            (*group, seen)
        })
        .filter(|(_, entries)| !entries.is_empty())
        .collect()
}

/// A staff page: header with the account and navigation, then `body`.
pub fn page(title: &str, staff: &SignedIn, current: &str, body: Markup) -> Markup {
    shell(
        &format!("{title} - SIPAS"),
        Some("staff"),
        html! {
            header.staff-head {
                div.bar {
                    p.brand { a href="/staff" { "SIPAS" } span.tagline { " · Khảo sát sự hài lòng" } }
                    div.who {
                        span.account { strong { (staff.account.display_name) } " · " span.role { (staff.role.label()) } }
                        span.account-links {
                            a href="/staff/password" { "Đổi mật khẩu" }
                            form.inline method="post" action="/sign-out" {
                                (csrf_input(&staff.csrf))
                                button.link type="submit" { "Đăng xuất" }
                            }
                        }
                    }
                }
                nav.menu aria-label="Các mục quản lý" {
                    @for (i, (group, entries)) in menu_for(staff.role).into_iter().enumerate() {
                        div.menu-group role="group" aria-labelledby={ "menu-" (i) } {
                            span.menu-title id={ "menu-" (i) } { (group) }
                            ul {
                                @for (path, label) in entries {
                                    li { a href=(path) aria-current=[(path == current).then_some("page")] { (label) } }
                                }
                            }
                        }
                    }
                }
            }
            h1 { (title) }
            (body)
        },
    )
}

/// A survey form as staff see it: its title, the id (`sipas-1001-dich-vu`) only small and
/// grey after it. `titles` are (form id, title) of the loaded forms; an unknown id is shown as
/// it is.
pub fn form_title(id: &str, titles: &[(String, String)]) -> Markup {
    match titles.iter().find(|(f, _)| f == id) {
        Some((_, title)) => html! { (title) " " small.code title="Mã mẫu phiếu" { (id) } },
        None => html! { (id) },
    }
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

/// Whether the spool has anything to tell: responses waiting, lines set aside, or no room.
pub fn spool_needs_attention(spool: &crate::spool::SpoolStatus) -> bool {
    spool.entries > 0 || spool.damaged + spool.rejected + spool.foreign > 0 || !spool.accepting
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
            "Phiếu chờ ghi vào cơ sở dữ liệu (trên máy chủ này): " strong { (crate::group_thousands(spool.entries)) }
            " (" (crate::group_thousands(spool.bytes.div_ceil(1024))) " KB"
            @if let Some(oldest) = oldest { ", cũ nhất lúc " (oldest) }
            ")."
            @if !spool.accepting { " " strong { "Bộ đệm đã đầy hoặc không ghi được." } }
            @if spool.damaged + spool.rejected > 0 {
                " Dòng hỏng để riêng: " (crate::group_thousands(spool.damaged)) "; phiếu bị cơ sở dữ liệu từ chối để riêng: " (crate::group_thousands(spool.rejected)) "."
            }
            @if spool.foreign > 0 {
                " " strong { "Phiếu của cơ sở dữ liệu khác để riêng (không ghi vào đây): " (crate::group_thousands(spool.foreign)) "." }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_sees_its_groups_and_only_its_entries() {
        let admin = menu_for(Role::Admin);
        let groups: Vec<&str> = admin.iter().map(|(g, _)| *g).collect();
        assert_eq!(groups, ["Kết quả", "Thu thập ý kiến", "Quản trị"]);
        let count = |menu: &[(&str, Vec<(&str, &str)>)]| -> usize {
            menu.iter().map(|(_, e)| e.len()).sum()
        };
        assert_eq!(count(&admin), 16);
        let viewer = menu_for(Role::Viewer);
        let paths: Vec<&str> = viewer
            .iter()
            .flat_map(|(_, e)| e.iter().map(|(p, _)| *p))
            .collect();
        for hidden in [
            "/staff/paper",
            "/staff/publish",
            "/staff/accounts",
            "/staff/flags",
            "/staff/audit",
        ] {
            assert!(!paths.contains(&hidden), "a viewer does not see {hidden}");
        }
        assert!(paths.contains(&"/staff/units") && paths.contains(&"/staff/tokens"));
        let unit = menu_for(Role::Unit);
        let quan_tri: Vec<&str> = unit
            .iter()
            .find(|(g, _)| *g == "Quản trị")
            .map(|(_, e)| e.iter().map(|(_, l)| *l).collect())
            .unwrap();
        assert_eq!(quan_tri, ["Đơn vị", "Mã truy cập API"]);
        // Every path once.
        let mut all: Vec<&str> = MENU
            .iter()
            .flat_map(|(_, e)| e.iter().map(|(p, _, _)| *p))
            .collect();
        all.sort_unstable();
        let n = all.len();
        all.dedup();
        assert_eq!(all.len(), n);
    }
}
