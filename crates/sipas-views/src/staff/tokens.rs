//! Pages of the staff area: API tokens ("mã truy cập API"). Every account manages its own;
//! admins see and revoke every account's. A new token is shown once, on the answer to its
//! creation.

use maud::{Markup, html};

use super::{FieldErrors, csrf_input, error_summary, flash, page, text_field};
use crate::SignedIn;
use crate::db::tokens::{ApiToken, MAX_NAME_CHARS, TokenRow};
use crate::format_vietnam_time;

/// Where the page lives (and its menu path).
pub const PATH: &str = "/staff/tokens";

/// What the page shows besides the list.
pub struct TokensPage<'a> {
    /// The tokens listed; `None` on a refused creation (the form alone, as typed).
    pub rows: Option<&'a [TokenRow]>,
    /// The name typed in the creation form (kept when refused).
    pub name: &'a str,
    pub errors: &'a FieldErrors,
    pub notice: Option<&'a str>,
    /// The token just created and its text: shown this once.
    pub created: Option<(&'a ApiToken, &'a str)>,
}

fn status(token: &ApiToken) -> String {
    match token.revoked_at {
        None => "Đang dùng".to_string(),
        Some(at) => format!("Đã thu hồi lúc {}", format_vietnam_time(at)),
    }
}

pub fn tokens(staff: &SignedIn, p: &TokensPage<'_>) -> Markup {
    let all = staff.is_admin();
    page(
        "Mã truy cập API",
        staff,
        PATH,
        html! {
            (flash(p.notice))
            @if let Some((token, text)) = p.created {
                div.alert role="status" {
                    p { strong { "Đã tạo mã truy cập «" (token.name) "»." } }
                    p { "Đây là lần duy nhất mã được hiển thị: hãy sao chép và lưu giữ cẩn thận. Hệ thống chỉ lưu dấu vân tay (SHA-256) của mã, không thể xem lại mã này." }
                    div.field {
                        label for="new-token" { "Mã truy cập" }
                        input id="new-token" readonly value=(text) autocomplete="off" spellcheck="false";
                    }
                }
            }
            p {
                "Mã truy cập cho phép một chương trình đọc số liệu thống kê qua API "
                code { "GET /api/v1/stats" }
                " với quyền xem của tài khoản tạo mã (cán bộ đơn vị: chỉ các đơn vị mình phụ trách). Gửi mã trong tiêu đề "
                code { "Authorization: Bearer <mã>" }
                ". Mô tả API: "
                a href="/api/v1/openapi.json" { "/api/v1/openapi.json" }
                "."
            }
            h2 { "Tạo mã mới" }
            (error_summary(p.errors))
            form method="post" action=(PATH) {
                (csrf_input(&staff.csrf))
                (text_field("name", "Tên mã", p.name, p.errors, "text",
                    Some(&format!("(để nhận biết nơi dùng mã, ví dụ «Báo cáo tháng»; tối đa {MAX_NAME_CHARS} ký tự)"))))
                button.small type="submit" { "Tạo mã truy cập" }
            }
            @if let Some(rows) = p.rows {
                (list(rows, all, &staff.csrf))
            } @else {
                p { a href=(PATH) { "Xem các mã truy cập đã tạo" } }
            }
        },
    )
}

fn list(rows: &[TokenRow], all: bool, csrf: &str) -> Markup {
    html! {
        h2 { @if all { "Mã truy cập của các tài khoản" } @else { "Mã truy cập của Anh/Chị" } }
        @if rows.is_empty() {
            p.hint { "Chưa có mã truy cập nào." }
        } @else {
            table {
                thead {
                    tr {
                        th scope="col" { "Tên mã" }
                        @if all { th scope="col" { "Tài khoản" } }
                        th scope="col" { "Ngày tạo" }
                        th scope="col" { "Dùng lần cuối" }
                        th scope="col" { "Trạng thái" }
                        th scope="col" { span.hint { "Thao tác" } }
                    }
                }
                tbody {
                    @for row in rows {
                        tr {
                            td { (row.token.name) }
                            @if all { td { (row.display_name) " (" (row.username) ")" } }
                            td { (format_vietnam_time(row.token.created_at)) }
                            td {
                                @match row.token.last_used_at {
                                    Some(at) => (format_vietnam_time(at)),
                                    None => "Chưa dùng",
                                }
                            }
                            td { (status(&row.token)) }
                            td {
                                @if row.token.is_active() {
                                    form.inline method="post" action={ (PATH) "/" (row.token.id) "/revoke" } {
                                        (csrf_input(csrf))
                                        button.small type="submit" aria-label={ "Thu hồi mã «" (row.token.name) "»" } { "Thu hồi" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
