//! Pages of the staff area: units.

use chrono::NaiveDate;
use maud::{Markup, html};
use serde::Deserialize;

use super::{FieldErrors, csrf_input, error_summary, flash, page, select_field, text_field};
use crate::SignedIn;
use crate::db::desks::DeskRow;
use crate::db::units::{UnitKind, UnitRow};

/// The unit form as typed (create and edit; the code only at creation).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UnitForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub kind: String,
    /// A unit id, or empty for a unit at the top of the tree.
    #[serde(default)]
    pub parent: String,
    /// A form id, or empty to inherit from the parent.
    #[serde(default)]
    pub default_form: String,
    /// The official administrative unit code (mã ĐVHC), or empty.
    #[serde(default)]
    pub admin_code: String,
    /// yyyy-mm-dd (a date input), or empty.
    #[serde(default)]
    pub valid_from: String,
    #[serde(default)]
    pub valid_until: String,
}

impl UnitForm {
    /// The form filled with a unit's current values.
    pub fn of(unit: &UnitRow, history: &UnitHistory) -> UnitForm {
        let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        UnitForm {
            name: unit.name.clone(),
            code: unit.code.clone(),
            kind: unit.kind.clone(),
            parent: unit.parent_id.map(|p| p.to_string()).unwrap_or_default(),
            default_form: unit.default_form_id.clone().unwrap_or_default(),
            admin_code: history.admin_code.clone().unwrap_or_default(),
            valid_from: date(history.valid_from),
            valid_until: date(history.valid_until),
        }
    }
}

/// A unit's official code and validity dates (what the tree listing does not carry).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitHistory {
    pub admin_code: Option<String>,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
}

/// "01/07/2025", or "—".
fn date_cell(date: Option<NaiveDate>, none: &'static str) -> String {
    date.map_or_else(|| none.to_string(), |d| d.format("%d/%m/%Y").to_string())
}

/// Non-breaking spaces and a corner before a unit's name, by its depth in the tree (the
/// stylesheet policy allows no inline styles).
pub fn indent(depth: i32) -> String {
    if depth <= 0 {
        return String::new();
    }
    let mut text = "\u{a0}\u{a0}\u{a0}\u{a0}".repeat((depth - 1) as usize);
    text.push_str("└\u{a0}");
    text
}

/// "sipas-1001-dich-vu" for a unit's own default form, "kế thừa: ..." otherwise.
pub fn form_text(
    own: Option<&str>,
    effective: Option<&str>,
    installation_default: &str,
    titles: &[(String, String)],
) -> Markup {
    match own {
        Some(id) => super::form_title(id, titles),
        None => html! {
            "kế thừa: " (super::form_title(effective.unwrap_or(installation_default), titles))
        },
    }
}

pub fn active_text(active: bool) -> &'static str {
    if active {
        "Đang hoạt động"
    } else {
        "Ngừng hoạt động"
    }
}

const NO_DELETION_HINT: &str = "Đơn vị không bị xóa khỏi hệ thống, để giữ nguyên dữ liệu khảo sát đã thu thập. \
     Khi đơn vị không còn tiếp nhận hồ sơ, hãy chọn “Ngừng hoạt động”.";

/// The units of the account's scope, as a tree.
pub fn list(
    staff: &SignedIn,
    rows: &[UnitRow],
    installation_default: &str,
    titles: &[(String, String)],
    message: Option<&str>,
) -> Markup {
    let top = rows.iter().map(|r| r.depth).min().unwrap_or(0);
    page(
        "Đơn vị",
        staff,
        "/staff/units",
        html! {
            (flash(message))
            @if staff.is_admin() {
                p.actions {
                    a href="/staff/units/new" { "Thêm đơn vị" }
                    " · "
                    a href="/staff/reorganisations" { "Sắp xếp đơn vị (sáp nhập, chia tách, đổi tên, chuyển)" }
                    " · "
                    a href="/staff/units/import" { "Nhập / xuất danh sách đơn vị và quầy (bảng tính)" }
                }
            }
            @if rows.is_empty() {
                p { "Chưa có đơn vị nào." }
            } @else {
                table {
                    thead {
                        tr {
                            th scope="col" { "Đơn vị" }
                            th scope="col" { "Loại" }
                            th scope="col" { "Trạng thái" }
                            th scope="col" { "Mẫu phiếu mặc định" }
                            th.num scope="col" { "Số quầy" }
                            th.num scope="col" { "Số phiếu" }
                        }
                    }
                    tbody {
                        @for unit in rows {
                            tr {
                                td {
                                    span aria-hidden="true" { (indent(unit.depth - top)) }
                                    a href={ "/staff/units/" (unit.id) } { (unit.name) }
                                    " " small.code title="Mã đơn vị" { (unit.code) }
                                }
                                td { (UnitKind::label_of(&unit.kind)) }
                                td { (active_text(unit.active)) }
                                td { (form_text(unit.default_form_id.as_deref(), unit.effective_form_id.as_deref(), installation_default, titles)) }
                                td.num { (super::comments::format_count(unit.desks)) }
                                td.num { (super::comments::format_count(unit.responses)) }
                            }
                        }
                    }
                }
            }
            p.hint { (NO_DELETION_HINT) }
        },
    )
}

fn kind_options() -> Vec<(String, String)> {
    let mut options = vec![(String::new(), "— Chọn loại đơn vị —".to_string())];
    options.extend(
        UnitKind::ALL
            .iter()
            .map(|k| (k.as_str().to_string(), k.label().to_string())),
    );
    options
}

/// The parent select: every unit, indented; `disabled` ones cannot be chosen (the unit itself
/// and its descendants).
fn parent_select(
    units: &[UnitRow],
    selected: &str,
    disabled: &[i32],
    errors: &FieldErrors,
) -> Markup {
    let error = errors.get("parent");
    html! {
        div.field.err[error.is_some()] {
            label for="f-parent" { "Đơn vị cấp trên" }
            @if let Some(message) = error { p.msg id="e-parent" { (message) } }
            select id="f-parent" name="parent" aria-invalid=[error.map(|_| "true")] {
                option value="" selected[selected.is_empty()] { "— Không có (đơn vị cấp cao nhất) —" }
                @for unit in units {
                    @let value = unit.id.to_string();
                    option value=(value) selected[value == selected] disabled[disabled.contains(&unit.id)] {
                        (indent(unit.depth)) (unit.name)
                    }
                }
            }
        }
    }
}

/// The fields shared by the create and edit forms.
fn unit_fields(
    values: &UnitForm,
    errors: &FieldErrors,
    units: &[UnitRow],
    disabled: &[i32],
    form_options: &[(String, String)],
) -> Markup {
    html! {
        (text_field("name", "Tên đơn vị", &values.name, errors, "text", Some("(ví dụ: UBND xã Xuân Bắc)")))
        (select_field("kind", "Loại đơn vị", &kind_options(), &values.kind, errors))
        (parent_select(units, &values.parent, disabled, errors))
        (select_field("default_form", "Mẫu phiếu mặc định cho các quầy", form_options, &values.default_form, errors))
        (text_field("admin_code", "Mã đơn vị hành chính (mã ĐVHC)", &values.admin_code, errors, "text",
            Some("(không bắt buộc; 2 chữ số cấp tỉnh, 3 chữ số cấp huyện cũ, 5 chữ số cấp xã; ví dụ: 26041)")))
        (text_field("valid_from", "Hiệu lực từ ngày", &values.valid_from, errors, "date",
            Some("(không bắt buộc; để trống nếu đơn vị có từ trước khi bắt đầu khảo sát)")))
        (text_field("valid_until", "Hết hiệu lực từ ngày", &values.valid_until, errors, "date",
            Some("(không bắt buộc; ngày đầu tiên đơn vị không còn tồn tại, ví dụ ngày sắp xếp có hiệu lực)")))
    }
}

/// The form for a new unit (admin only).
pub fn new_unit(
    staff: &SignedIn,
    values: &UnitForm,
    errors: &FieldErrors,
    units: &[UnitRow],
    form_options: &[(String, String)],
) -> Markup {
    page(
        "Thêm đơn vị",
        staff,
        "/staff/units",
        html! {
            p { a href="/staff/units" { "← Danh sách đơn vị" } }
            (error_summary(errors))
            form method="post" action="/staff/units/new" {
                (csrf_input(&staff.csrf))
                (text_field("code", "Mã đơn vị", &values.code, errors, "text",
                    Some("(chữ thường không dấu, chữ số, dấu chấm, dấu gạch ngang; ví dụ: xuan-loc.xuan-bac; không đổi được sau khi tạo)")))
                (unit_fields(values, errors, units, &[], form_options))
                button type="submit" { "Thêm đơn vị" }
            }
        },
    )
}

/// What the unit page shows.
pub struct UnitPage<'a> {
    pub unit: &'a UnitRow,
    pub history: &'a UnitHistory,
    /// The parent's id and name, and whether the account may open its page.
    pub parent: Option<(i32, &'a str, bool)>,
    pub children: Vec<&'a UnitRow>,
    pub desks: &'a [DeskRow],
    pub installation_default: &'a str,
    /// (form id, title) of the loaded forms.
    pub titles: &'a [(String, String)],
    pub message: Option<&'a str>,
    /// The acts that formed or ended the unit.
    pub acts: &'a [crate::db::reorganisations::HistoryLine],
    /// Whether the account may add desks here.
    pub can_add_desk: bool,
    /// The edit form (admins): the values, their problems, every unit (for the parent
    /// select), the units that cannot be the parent, and the form choices.
    pub edit: Option<UnitEdit<'a>>,
}

pub struct UnitEdit<'a> {
    pub values: &'a UnitForm,
    pub errors: &'a FieldErrors,
    pub units: &'a [UnitRow],
    pub subtree: &'a [i32],
    pub form_options: &'a [(String, String)],
}

/// A unit's page: its details, desks and units below, and for admins the edit form and the
/// deactivate / reactivate button.
pub fn show(staff: &SignedIn, p: &UnitPage<'_>) -> Markup {
    let unit = p.unit;
    page(
        &unit.name,
        staff,
        "/staff/units",
        html! {
            p { a href="/staff/units" { "← Danh sách đơn vị" } }
            (flash(p.message))
            @if let Some(edit) = &p.edit { (error_summary(edit.errors)) }
            @if !unit.active {
                div.alert role="note" {
                    p { "Đơn vị đang ngừng hoạt động: các quầy của đơn vị không nhận phiếu khảo sát." }
                }
            }
            table {
                tbody {
                    tr { th scope="row" { "Mã đơn vị" } td { code { (unit.code) } } }
                    tr { th scope="row" { "Loại" } td { (UnitKind::label_of(&unit.kind)) } }
                    tr {
                        th scope="row" { "Mã đơn vị hành chính" }
                        td { @match &p.history.admin_code { Some(code) => code { (code) }, None => "—" } }
                    }
                    tr { th scope="row" { "Hiệu lực từ" } td { (date_cell(p.history.valid_from, "trước khi bắt đầu khảo sát")) } }
                    tr { th scope="row" { "Hiệu lực đến" } td { (date_cell(p.history.valid_until, "đang tồn tại")) } }
                    tr {
                        th scope="row" { "Đơn vị cấp trên" }
                        td {
                            @match p.parent {
                                Some((id, name, true)) => a href={ "/staff/units/" (id) } { (name) },
                                Some((_, name, false)) => (name),
                                None => "—",
                            }
                        }
                    }
                    tr { th scope="row" { "Trạng thái" } td { (active_text(unit.active)) } }
                    tr {
                        th scope="row" { "Mẫu phiếu mặc định" }
                        td { (form_text(unit.default_form_id.as_deref(), unit.effective_form_id.as_deref(), p.installation_default, p.titles)) }
                    }
                    tr { th scope="row" { "Số quầy" } td { (unit.desks) } }
                    tr { th scope="row" { "Số phiếu đã nhận" } td { (unit.responses) } }
                }
            }
            (super::reorganisations::history(p.acts))

            h2 { "Quầy tiếp nhận" }
            @if p.desks.is_empty() {
                p { "Đơn vị chưa có quầy tiếp nhận." }
            } @else {
                table {
                    thead {
                        tr {
                            th scope="col" { "Quầy" }
                            th scope="col" { "Mã công khai" }
                            th scope="col" { "Trạng thái" }
                            th.num scope="col" { "Số phiếu" }
                        }
                    }
                    tbody {
                        @for desk in p.desks {
                            tr {
                                td { a href={ "/staff/desks/" (desk.desk_id) } { (desk.desk_name) } }
                                td { code { (desk.code.as_deref().unwrap_or("—")) } }
                                td { (active_text(desk.active)) }
                                td.num { (desk.responses) }
                            }
                        }
                    }
                }
            }
            @if p.can_add_desk {
                p.actions { a href={ "/staff/desks/new?unit=" (unit.id) } { "Thêm quầy cho đơn vị này" } }
            }

            @if !p.children.is_empty() {
                h2 { "Đơn vị trực thuộc" }
                ul {
                    @for child in &p.children {
                        li {
                            a href={ "/staff/units/" (child.id) } { (child.name) }
                            @if !child.active { " (ngừng hoạt động)" }
                        }
                    }
                }
            }

            @if let Some(edit) = &p.edit {
                h2 { "Sửa thông tin đơn vị" }
                form method="post" action={ "/staff/units/" (unit.id) } {
                    (csrf_input(&staff.csrf))
                    (unit_fields(edit.values, edit.errors, edit.units, edit.subtree, edit.form_options))
                    p.hint { "Không thể chuyển đơn vị vào chính nó hoặc vào một đơn vị trực thuộc của nó." }
                    button type="submit" { "Lưu" }
                }

                h2 { "Trạng thái hoạt động" }
                @if unit.active {
                    form method="post" action={ "/staff/units/" (unit.id) "/deactivate" } {
                        (csrf_input(&staff.csrf))
                        p { "Khi ngừng hoạt động, các quầy của đơn vị này không nhận phiếu khảo sát nữa (mã QR đã in báo không tìm thấy). Dữ liệu đã thu thập được giữ nguyên; các đơn vị trực thuộc không bị ảnh hưởng." }
                        button.small type="submit" { "Ngừng hoạt động" }
                    }
                } @else {
                    form method="post" action={ "/staff/units/" (unit.id) "/activate" } {
                        (csrf_input(&staff.csrf))
                        p { "Khi hoạt động trở lại, các quầy đang hoạt động của đơn vị nhận phiếu khảo sát bằng mã QR hiện tại." }
                        button.small type="submit" { "Hoạt động trở lại" }
                    }
                }
            }
            p.hint { (NO_DELETION_HINT) }
        },
    )
}

/// What the import page shows after an upload.
#[derive(Debug, Clone, Default)]
pub struct ImportView<'a> {
    /// Whether "Chỉ kiểm tra" is ticked (the default).
    pub dry_run: bool,
    /// The outcome in one sentence (success, or why the file was not read).
    pub notice: Option<String>,
    /// Whether the notice reports a refusal.
    pub refused: bool,
    /// Every problem of the file, by row and column.
    pub problems: &'a [sipas_app::unit_import::Problem],
}

/// The import / export page of the unit tree and its desks (admins).
pub fn import_page(staff: &SignedIn, view: &ImportView<'_>) -> Markup {
    use sipas_app::unit_import::{MAX_FILE_BYTES, columns};
    page(
        "Nhập / xuất đơn vị và quầy",
        staff,
        "/staff/units",
        html! {
            p { a href="/staff/units" { "← Danh sách đơn vị" } }
            @if let Some(notice) = &view.notice {
                @if view.refused {
                    div.alert role="alert" { p { (notice) } }
                } @else {
                    p.flash role="status" { (notice) }
                }
            }
            @if !view.problems.is_empty() {
                h2 { "Các lỗi trong tệp (" (view.problems.len()) ")" }
                table.problems {
                    thead {
                        tr {
                            th scope="col" { "Trang" }
                            th.num scope="col" { "Dòng" }
                            th scope="col" { "Cột" }
                            th scope="col" { "Lỗi" }
                        }
                    }
                    tbody {
                        @for p in view.problems {
                            tr {
                                td { (p.sheet.as_deref().unwrap_or("—")) }
                                td.num { @if let Some(row) = p.row { (row) } @else { "—" } }
                                td { (p.column.as_deref().unwrap_or("—")) }
                                td { (p.message) }
                            }
                        }
                    }
                }
            }
            h2 { "Tải tệp mẫu hoặc danh sách hiện có" }
            ul {
                li { "Tệp mẫu (trống): " a href="/staff/units/import/template.xlsx" { "Excel (.xlsx)" } " · " a href="/staff/units/import/template.csv" { "CSV" } }
                li { "Danh sách đơn vị và quầy hiện có, cùng định dạng: " a href="/staff/units/import/export.xlsx" { "Excel (.xlsx)" } " · " a href="/staff/units/import/export.csv" { "CSV" } }
            }
            p.hint {
                "Tệp Excel có hai trang «" (columns::UNIT_SHEET) "» và «" (columns::DESK_SHEET) "» (xem trang «Hướng dẫn» trong tệp). "
                "Tệp CSV là một bảng: cột «" (columns::ROW_KIND) "» ghi «" (columns::ROW_UNIT) "» cho dòng đơn vị hoặc «" (columns::ROW_DESK) "» cho dòng quầy. "
                "Đơn vị được nhận ra theo mã đơn vị, quầy theo mã đơn vị và tên quầy: có rồi thì cập nhật, chưa có thì thêm mới; đơn vị và quầy không có trong tệp được giữ nguyên. "
                "Khi mở tệp CSV bằng bảng tính, hãy định dạng cột «" (columns::ADMIN_CODE) "» là Văn bản để giữ số 0 ở đầu."
            }
            h2 { "Nhập từ tệp" }
            form method="post" action="/staff/units/import" enctype="multipart/form-data" {
                (csrf_input(&staff.csrf))
                div.field {
                    label for="f-file" { "Tệp bảng tính (.xlsx hoặc .csv, tối đa " (MAX_FILE_BYTES / 1024 / 1024) " MB)" }
                    input id="f-file" type="file" name="file" accept=".xlsx,.csv" required;
                }
                div.field {
                    input id="f-dry-run" type="checkbox" name="dry_run" value="on" checked[view.dry_run];
                    " "
                    label for="f-dry-run" { "Chỉ kiểm tra (không lưu gì, chỉ liệt kê lỗi và những thay đổi sẽ thực hiện)" }
                }
                button type="submit" { "Tải lên" }
            }
            p.hint { "Khi nhập thật, hoặc toàn bộ tệp được lưu, hoặc không có gì được lưu nếu có bất kỳ lỗi nào." }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indentation_grows_with_depth() {
        assert_eq!(indent(0), "");
        assert_eq!(indent(1), "└\u{a0}");
        assert_eq!(indent(2).chars().count(), 6);
    }

    #[test]
    fn forms_show_as_own_or_inherited() {
        let titles = [("b".to_string(), "Mẫu B".to_string())];
        let text = |own, effective| form_text(own, effective, "d", &titles).into_string();
        assert_eq!(text(Some("a"), Some("a")), "a");
        assert_eq!(
            text(None, Some("b")),
            "kế thừa: Mẫu B <small class=\"code\" title=\"Mã mẫu phiếu\">b</small>"
        );
        assert_eq!(text(None, None), "kế thừa: d");
    }
}
