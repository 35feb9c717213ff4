//! Pages of the staff area: accounts (admins only).

use std::collections::HashMap;

use maud::{Markup, html};

use super::{FieldErrors, csrf_input, error_summary, flash, page, select_field, text_field};
use crate::SignedIn;
use crate::db::accounts::{Account, UnitChoice};
use crate::domain::access::Role;
use crate::format_vietnam_time;

const MENU: &str = "/staff/accounts";

/// An account in the list, with the names of its assigned units.
pub struct AccountRow {
    pub account: Account,
    pub units: Vec<String>,
}

/// The account form's values as typed (shown again when refused).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountValues {
    pub username: String,
    pub display_name: String,
    pub role: String,
    /// Checked unit ids, as sent.
    pub units: Vec<String>,
}

impl AccountValues {
    /// The values of a stored account.
    pub fn of(account: &Account, unit_ids: &[i32]) -> Self {
        AccountValues {
            username: account.username.clone(),
            display_name: account.display_name.clone(),
            role: account.role.clone(),
            units: unit_ids.iter().map(i32::to_string).collect(),
        }
    }
}

/// The role's label, or the stored text for an unknown one.
fn role_label(role: &str) -> &str {
    match Role::parse(role) {
        Some(known) => known.label(),
        None => role,
    }
}

fn status(active: bool) -> &'static str {
    if active {
        "Đang hoạt động"
    } else {
        "Đã khóa"
    }
}

pub fn list(staff: &SignedIn, rows: &[AccountRow], notice: Option<&str>) -> Markup {
    page(
        "Tài khoản",
        staff,
        MENU,
        html! {
            (flash(notice))
            p { a href="/staff/accounts/new" { "Thêm tài khoản" } }
            table {
                thead {
                    tr {
                        th scope="col" { "Tên đăng nhập" }
                        th scope="col" { "Họ và tên" }
                        th scope="col" { "Vai trò" }
                        th scope="col" { "Đơn vị phụ trách" }
                        th scope="col" { "Trạng thái" }
                        th scope="col" { "Ngày tạo" }
                        th scope="col" { "Đổi mật khẩu lần cuối" }
                    }
                }
                tbody {
                    @for row in rows {
                        tr {
                            td { a href={ "/staff/accounts/" (row.account.id) } { (row.account.username) } }
                            td { (row.account.display_name) }
                            td { (role_label(&row.account.role)) }
                            td {
                                @for (i, name) in row.units.iter().enumerate() {
                                    @if i > 0 { "; " }
                                    (name)
                                }
                            }
                            td { (status(row.account.active)) }
                            td { (format_vietnam_time(row.account.created_at)) }
                            td { (format_vietnam_time(row.account.password_changed_at)) }
                        }
                    }
                }
            }
            @if rows.is_empty() {
                p.hint { "Chưa có tài khoản nào." }
            }
        },
    )
}

fn role_options(with_placeholder: bool) -> Vec<(String, String)> {
    let mut options = Vec::new();
    if with_placeholder {
        options.push((String::new(), "— Chọn vai trò —".to_string()));
    }
    for role in [Role::Admin, Role::Unit, Role::Viewer] {
        options.push((role.as_str().to_string(), role.label().to_string()));
    }
    options
}

/// The units as a tree of checkboxes (roots first, children nested below their parent).
fn unit_tree(units: &[UnitChoice], checked: &[String], errors: &FieldErrors) -> Markup {
    let known: std::collections::HashSet<i32> = units.iter().map(|u| u.id).collect();
    let mut children: HashMap<Option<i32>, Vec<&UnitChoice>> = HashMap::new();
    for unit in units {
        // A unit whose parent is missing is shown as a root rather than lost.
        let parent = unit.parent_id.filter(|p| known.contains(p));
        children.entry(parent).or_default().push(unit);
    }
    let error = errors.get("units");
    html! {
        fieldset.units.err[error.is_some()] id="f-units" {
            legend { "Đơn vị phụ trách" }
            p.hint { "Chỉ chọn khi vai trò là «" (Role::Unit.label()) "». Cán bộ đơn vị xem và quản lý đơn vị được giao và các đơn vị trực thuộc." }
            @if let Some(message) = error { p.msg { (message) } }
            (unit_branch(&children, None, checked))
        }
    }
}

fn unit_branch(
    children: &HashMap<Option<i32>, Vec<&UnitChoice>>,
    parent: Option<i32>,
    checked: &[String],
) -> Markup {
    html! {
        @if let Some(units) = children.get(&parent) {
            ul.unit-tree {
                @for unit in units {
                    @let id = unit.id.to_string();
                    li {
                        input type="checkbox" name="units" value=(id) id={ "u-" (id) } checked[checked.contains(&id)];
                        " "
                        label for={ "u-" (id) } {
                            (unit.name)
                            @if !unit.active { " (ngừng hoạt động)" }
                        }
                        (unit_branch(children, Some(unit.id), checked))
                    }
                }
            }
        }
    }
}

/// The fields shared by the creation and the change forms.
fn profile_fields(values: &AccountValues, units: &[UnitChoice], errors: &FieldErrors) -> Markup {
    html! {
        (text_field("display_name", "Họ và tên", &values.display_name, errors, "text", None))
        (select_field("role", "Vai trò", &role_options(Role::parse(&values.role).is_none()), &values.role, errors))
        (unit_tree(units, &values.units, errors))
    }
}

pub fn new_form(
    staff: &SignedIn,
    values: &AccountValues,
    units: &[UnitChoice],
    errors: &FieldErrors,
) -> Markup {
    page(
        "Thêm tài khoản",
        staff,
        MENU,
        html! {
            p { a href="/staff/accounts" { "← Danh sách tài khoản" } }
            (error_summary(errors))
            form method="post" action="/staff/accounts/new" {
                (csrf_input(&staff.csrf))
                (text_field("username", "Tên đăng nhập", &values.username, errors, "text",
                    Some("(3 đến 32 ký tự: chữ thường không dấu a-z, chữ số, dấu chấm, gạch dưới hoặc gạch ngang)")))
                (profile_fields(values, units, errors))
                p.hint { "Mật khẩu tạm thời do hệ thống tạo và chỉ hiển thị một lần sau khi tạo tài khoản." }
                button type="submit" { "Tạo tài khoản" }
            }
        },
    )
}

/// The one-time display of a generated password.
fn temporary_password(password: &str) -> Markup {
    html! {
        div.notice role="status" {
            p {
                "Mật khẩu tạm thời: " strong { code { (password) } }
                " — chỉ hiển thị một lần, hãy chuyển cho người dùng và đề nghị đổi mật khẩu."
            }
        }
    }
}

/// After creation: the account and its temporary password, shown this once.
pub fn created(staff: &SignedIn, account: &Account, password: &str) -> Markup {
    page(
        "Đã tạo tài khoản",
        staff,
        MENU,
        html! {
            p.flash role="status" { "Đã tạo tài khoản " strong { (account.username) } " (" (role_label(&account.role)) ")." }
            (temporary_password(password))
            p {
                a href={ "/staff/accounts/" (account.id) } { "Xem tài khoản" }
                " · "
                a href="/staff/accounts" { "Danh sách tài khoản" }
            }
        },
    )
}

/// After a reset: the new temporary password, shown this once.
pub fn password_reset(staff: &SignedIn, account: &Account, password: &str) -> Markup {
    page(
        "Đã đặt lại mật khẩu",
        staff,
        MENU,
        html! {
            p.flash role="status" {
                "Đã đặt lại mật khẩu của tài khoản " strong { (account.username) }
                ". Các phiên đăng nhập đang mở của tài khoản này đã kết thúc."
            }
            (temporary_password(password))
            p {
                a href={ "/staff/accounts/" (account.id) } { "Xem tài khoản" }
                " · "
                a href="/staff/accounts" { "Danh sách tài khoản" }
            }
        },
    )
}

/// An account's page: its details, the change form, lock/unlock and password reset.
/// `errors` may also hold "active" and "password" for a refused lock or reset.
pub fn show(
    staff: &SignedIn,
    account: &Account,
    values: &AccountValues,
    units: &[UnitChoice],
    errors: &FieldErrors,
    notice: Option<&str>,
) -> Markup {
    let own = staff.account.id == account.id;
    let base = format!("/staff/accounts/{}", account.id);
    let profile_errors: FieldErrors = errors
        .iter()
        .filter(|(k, _)| !matches!(**k, "active" | "password"))
        .map(|(k, v)| (*k, v.clone()))
        .collect();
    page(
        &format!("Tài khoản {}", account.username),
        staff,
        MENU,
        html! {
            p { a href="/staff/accounts" { "← Danh sách tài khoản" } }
            (flash(notice))
            @for key in ["active", "password"] {
                @if let Some(message) = errors.get(key) {
                    div.alert role="alert" { p { (message) } }
                }
            }
            dl {
                dt { "Tên đăng nhập" } dd { (account.username) }
                dt { "Trạng thái" } dd { (status(account.active)) }
                dt { "Ngày tạo" } dd { (format_vietnam_time(account.created_at)) }
                dt { "Đổi mật khẩu lần cuối" } dd { (format_vietnam_time(account.password_changed_at)) }
            }
            @if own {
                p.hint { "Đây là tài khoản của Anh/Chị: không thể tự khóa hoặc tự bỏ vai trò quản trị." }
            }
            h2 { "Thông tin và phân quyền" }
            (error_summary(&profile_errors))
            form method="post" action=(base) {
                (csrf_input(&staff.csrf))
                (profile_fields(values, units, &profile_errors))
                button type="submit" { "Lưu" }
            }
            h2 { "Trạng thái và mật khẩu" }
            @if own {
                p { "Để đổi mật khẩu của chính mình, Anh/Chị dùng trang " a href="/staff/password" { "Đổi mật khẩu" } "." }
            } @else {
                div.actions {
                    @if account.active {
                        form method="post" action={ (base) "/disable" } {
                            (csrf_input(&staff.csrf))
                            button type="submit" { "Khóa tài khoản" }
                        }
                    } @else {
                        form method="post" action={ (base) "/enable" } {
                            (csrf_input(&staff.csrf))
                            button type="submit" { "Mở khóa tài khoản" }
                        }
                    }
                    form method="post" action={ (base) "/reset-password" } {
                        (csrf_input(&staff.csrf))
                        button type="submit" { "Đặt lại mật khẩu" }
                    }
                }
                p.hint { "Khóa tài khoản hoặc đặt lại mật khẩu sẽ kết thúc ngay các phiên đăng nhập đang mở của tài khoản này." }
            }
            p { a href={ "/staff/audit?entity=account&entity_id=" (account.id) } { "Nhật ký thay đổi của tài khoản này" } }
        },
    )
}
