//! Pages of the staff area: desks.

use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

use super::units::indent;
use super::{FieldErrors, csrf_input, error_summary, flash, page, select_field, text_field};
use crate::SignedIn;
use crate::db::desks::DeskRow;
use crate::db::kiosks::{KioskRow, MAX_LABEL_CHARS};
use crate::db::units::UnitRow;

/// The desk form as typed (the unit only at creation).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DeskForm {
    /// A unit id.
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub name: String,
    /// A form id, or empty for the form the unit passes down.
    #[serde(default)]
    pub form: String,
    /// Opening hours as written ("T2-T6 07:00-17:00"); absent: unchanged.
    #[serde(default)]
    pub opening_hours: Option<String>,
}

impl DeskForm {
    pub fn of(desk: &DeskRow) -> DeskForm {
        DeskForm {
            unit: desk.unit_id.to_string(),
            name: desk.desk_name.clone(),
            form: desk.form_id.clone().unwrap_or_default(),
            opening_hours: Some(crate::domain::opening_hours::format(
                desk.opening_hours.as_ref(),
            )),
        }
    }
}

/// How to write opening hours (the phiếu sent outside them are flagged, see "Phiếu nghi vấn").
const HOURS_HINT: &str = "(ví dụ: T2-T6 07:00-17:00; T7 07:30-11:30. Phiếu gửi ngoài giờ được đánh dấu nghi vấn; để trống nếu quầy không có giờ cố định)";

/// The form a desk shows: its own, or "kế thừa: ..." from its unit (or the installation).
pub fn desk_form_text(
    desk: &DeskRow,
    installation_default: &str,
    titles: &[(String, String)],
) -> Markup {
    super::units::form_text(
        desk.form_id.as_deref(),
        Some(desk.unit_form_id.as_deref().unwrap_or(installation_default)),
        installation_default,
        titles,
    )
}

fn state_text(desk: &DeskRow) -> &'static str {
    if !desk.active {
        "Ngừng hoạt động"
    } else if !desk.unit_active {
        "Đơn vị ngừng hoạt động"
    } else {
        "Đang hoạt động"
    }
}

/// A desk with what the page needs from the configuration.
pub struct DeskView<'a> {
    pub desk: &'a DeskRow,
    /// The survey link of the current code.
    pub link: Option<String>,
}

/// The desks of the account's scope, grouped by unit.
pub fn list(
    staff: &SignedIn,
    desks: &[DeskView<'_>],
    installation_default: &str,
    titles: &[(String, String)],
    message: Option<&str>,
) -> Markup {
    let mut groups: Vec<(&DeskRow, Vec<&DeskView<'_>>)> = Vec::new();
    for view in desks {
        match groups.last_mut() {
            Some((first, members)) if first.unit_id == view.desk.unit_id => members.push(view),
            _ => groups.push((view.desk, vec![view])),
        }
    }
    page(
        "Quầy tiếp nhận",
        staff,
        "/staff/desks",
        html! {
            (flash(message))
            @if staff.may_write() {
                p.actions { a href="/staff/desks/new" { "Thêm quầy tiếp nhận" } }
            }
            @if groups.is_empty() {
                p { "Chưa có quầy tiếp nhận nào." }
            }
            @for (unit, members) in &groups {
                h2 {
                    a href={ "/staff/units/" (unit.unit_id) } { (unit.unit_name) }
                    @if !unit.unit_active { " (ngừng hoạt động)" }
                }
                table {
                    thead {
                        tr {
                            th scope="col" { "Quầy" }
                            th scope="col" { "Mã" }
                            th scope="col" { "Đường dẫn khảo sát" }
                            th scope="col" { "Mẫu phiếu" }
                            th scope="col" { "Trạng thái" }
                            th.num scope="col" { "Số phiếu" }
                        }
                    }
                    tbody {
                        @for view in members {
                            @let desk = view.desk;
                            tr {
                                td { a href={ "/staff/desks/" (desk.desk_id) } { (desk.desk_name) } }
                                td { code { (desk.code.as_deref().unwrap_or("—")) } }
                                td {
                                    @if let Some(link) = &view.link { a href=(link) { (link) } } @else { "—" }
                                }
                                td { (desk_form_text(desk, installation_default, titles)) }
                                td { (state_text(desk)) }
                                td.num { (crate::staff::comments::format_count(desk.responses)) }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// The unit select of a new desk: the units of the scope, indented.
fn unit_select(units: &[UnitRow], selected: &str, errors: &FieldErrors) -> Markup {
    let error = errors.get("unit");
    let top = units.iter().map(|u| u.depth).min().unwrap_or(0);
    html! {
        div.field.err[error.is_some()] {
            label for="f-unit" { "Đơn vị" }
            @if let Some(message) = error { p.msg id="e-unit" { (message) } }
            select id="f-unit" name="unit" aria-invalid=[error.map(|_| "true")] {
                option value="" selected[selected.is_empty()] { "— Chọn đơn vị —" }
                @for unit in units {
                    @let value = unit.id.to_string();
                    option value=(value) selected[value == selected] {
                        (indent(unit.depth - top)) (unit.name)
                        @if !unit.active { " (ngừng hoạt động)" }
                    }
                }
            }
        }
    }
}

/// The form for a new desk.
pub fn new_desk(
    staff: &SignedIn,
    values: &DeskForm,
    errors: &FieldErrors,
    units: &[UnitRow],
    form_options: &[(String, String)],
) -> Markup {
    page(
        "Thêm quầy tiếp nhận",
        staff,
        "/staff/desks",
        html! {
            p { a href="/staff/desks" { "← Danh sách quầy" } }
            (error_summary(errors))
            form method="post" action="/staff/desks/new" {
                (csrf_input(&staff.csrf))
                (unit_select(units, &values.unit, errors))
                (text_field("name", "Tên quầy", &values.name, errors, "text", Some("(ví dụ: Bộ phận Tiếp nhận và Trả kết quả)")))
                (select_field("form", "Mẫu phiếu khảo sát", form_options, &values.form, errors))
                (text_field("opening_hours", "Giờ làm việc", values.opening_hours.as_deref().unwrap_or(crate::domain::opening_hours::DEFAULT_TEXT), errors, "text", Some(HOURS_HINT)))
                p.hint { "Quầy mới được cấp một mã QR riêng; sau khi thêm, Anh/Chị có thể tải áp phích để in." }
                button type="submit" { "Thêm quầy" }
            }
        },
    )
}

/// What the desk page shows.
pub struct DeskPage<'a> {
    pub view: DeskView<'a>,
    /// The QR code of the link, as an SVG document.
    pub qr_svg: Option<String>,
    pub installation_default: &'a str,
    /// (form id, title) of the loaded forms.
    pub titles: &'a [(String, String)],
    pub message: Option<&'a str>,
    /// The edit forms (admins and the unit's staff): values, problems, form choices.
    pub edit: Option<DeskEdit<'a>>,
    /// The desk's kiosks, newest first (revoked ones too).
    pub kiosks: &'a [KioskRow],
}

pub struct DeskEdit<'a> {
    pub values: &'a DeskForm,
    pub errors: &'a FieldErrors,
    pub form_options: &'a [(String, String)],
    /// The kiosk enrolment form as typed: its device label, and its problems.
    pub kiosk_label: &'a str,
    pub kiosk_errors: &'a FieldErrors,
}

/// Why a closed desk (or a desk of a closed unit) cannot enrol a kiosk.
pub const MSG_KIOSK_DESK_CLOSED: &str =
    "Quầy đang ngừng hoạt động: không thể đăng ký máy đánh giá.";

/// The label a new kiosk is offered.
pub const DEFAULT_KIOSK_LABEL: &str = "Máy tính bảng tại quầy";

/// The desk's kiosks, and (for those who may change the desk) how to enrol and revoke them.
fn kiosks(staff: &SignedIn, p: &DeskPage<'_>, base: &str) -> Markup {
    let desk = p.view.desk;
    html! {
        h2 { "Máy đánh giá tại quầy (kiosk)" }
        p {
            "Máy tính bảng đặt tại quầy để người dân đánh giá ngay sau khi nhận kết quả: sau mỗi phiếu, "
            "máy tự trở về một phiếu mới. Chỉ thiết bị đã được đăng ký mới dùng được chế độ này; "
            "số phiếu được giới hạn theo từng máy."
        }
        @if p.kiosks.is_empty() {
            p.hint { "Quầy chưa có máy đánh giá nào." }
        } @else {
            table {
                thead { tr { th { "Thiết bị" } th { "Người đăng ký" } th { "Ngày đăng ký" } th { "Dùng lần cuối" } th { "Trạng thái" } @if p.edit.is_some() { th { "Thu hồi" } } } }
                tbody {
                    @for row in p.kiosks {
                        tr {
                            td { (row.kiosk.label) }
                            td { (row.enrolled_by_name) }
                            td { (crate::format_vietnam_time(row.kiosk.enrolled_at)) }
                            td {
                                // A unit's staff see the day: the minute a tablet was last used
                                // is the minute of its latest response (issue 15).
                                @match row.kiosk.last_seen_at {
                                    Some(at) => { (crate::disclosure::TimeDetail::for_scope(&staff.scope).format(at)) }
                                    None => { "Chưa dùng" }
                                }
                            }
                            td {
                                @match row.kiosk.revoked_at {
                                    Some(at) => { "Đã thu hồi (" (crate::format_vietnam_time(at)) ")" }
                                    None => { "Đang dùng" }
                                }
                            }
                            @if p.edit.is_some() {
                                td {
                                    @if row.kiosk.revoked_at.is_none() {
                                        form method="post" action={ (base) "/kiosks/" (row.kiosk.id) "/revoke" } {
                                            (csrf_input(&staff.csrf))
                                            button.small type="submit" { "Thu hồi" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(edit) = &p.edit {
            @if desk.active && desk.unit_active && desk.code.is_some() {
                form method="post" action={ (base) "/kiosks" } {
                    (csrf_input(&staff.csrf))
                    p {
                        "Để đăng ký, hãy đăng nhập trên chính máy tính bảng đặt tại quầy, mở trang này và bấm nút bên dưới. "
                        strong { "Tài khoản của Anh/Chị sẽ được đăng xuất khỏi thiết bị đó" }
                        ", và thiết bị mở phiếu khảo sát của quầy ở chế độ kiosk."
                    }
                    (text_field("label", "Tên thiết bị", edit.kiosk_label, edit.kiosk_errors, "text", Some(&format!("Để phân biệt các máy của quầy, tối đa {MAX_LABEL_CHARS} ký tự."))))
                    button.small type="submit" { "Đăng ký thiết bị này làm máy đánh giá" }
                }
            } @else {
                p.hint { (MSG_KIOSK_DESK_CLOSED) }
            }
        }
    }
}

/// The SVG element of a standalone SVG document (without its XML declaration), for inline use.
fn inline_svg(document: &str) -> &str {
    document
        .find("<svg")
        .map_or(document, |start| &document[start..])
}

/// A desk's page: details, its QR code and poster downloads, and for writers the edit form,
/// deactivate / reactivate and the code rotation.
pub fn show(staff: &SignedIn, p: &DeskPage<'_>) -> Markup {
    let desk = p.view.desk;
    let base = format!("/staff/desks/{}", desk.desk_id);
    page(
        &desk.desk_name,
        staff,
        "/staff/desks",
        html! {
            p { a href="/staff/desks" { "← Danh sách quầy" } }
            (flash(p.message))
            @if let Some(edit) = &p.edit { (error_summary(edit.errors)) }
            @if !desk.active {
                div.alert role="note" { p { "Quầy đang ngừng hoạt động: mã QR của quầy không nhận phiếu khảo sát." } }
            } @else if !desk.unit_active {
                div.alert role="note" { p { "Đơn vị của quầy đang ngừng hoạt động: mã QR của quầy không nhận phiếu khảo sát." } }
            }
            table {
                tbody {
                    tr {
                        th scope="row" { "Đơn vị" }
                        td { a href={ "/staff/units/" (desk.unit_id) } { (desk.unit_name) } }
                    }
                    tr { th scope="row" { "Mã công khai" } td { code { (desk.code.as_deref().unwrap_or("—")) } } }
                    tr {
                        th scope="row" { "Đường dẫn khảo sát" }
                        td { @if let Some(link) = &p.view.link { a href=(link) { (link) } } @else { "—" } }
                    }
                    tr { th scope="row" { "Mẫu phiếu" } td { (desk_form_text(desk, p.installation_default, p.titles)) } }
                    tr { th scope="row" { "Trạng thái" } td { (state_text(desk)) } }
                    tr { th scope="row" { "Số phiếu đã nhận" } td { (crate::staff::comments::format_count(desk.responses)) } }
                }
            }

            h2 { "Mã QR và áp phích" }
            @if let Some(svg) = &p.qr_svg {
                div.qr { (PreEscaped(inline_svg(svg))) }
            }
            p.actions {
                a href={ (base) "/poster.png" } download { "Tải áp phích A5 (PNG, 300 dpi)" }
                a href={ (base) "/poster.svg" } download { "Tải áp phích A5 (SVG)" }
            }
            p.hint { "In áp phích khổ A5 và đặt tại quầy để người dân quét mã QR." }

            (kiosks(staff, p, &base))

            @if let Some(edit) = &p.edit {
                h2 { "Sửa thông tin quầy" }
                form method="post" action=(base) {
                    (csrf_input(&staff.csrf))
                    (text_field("name", "Tên quầy", &edit.values.name, edit.errors, "text", None))
                    (select_field("form", "Mẫu phiếu khảo sát", edit.form_options, &edit.values.form, edit.errors))
                    (text_field("opening_hours", "Giờ làm việc", edit.values.opening_hours.as_deref().unwrap_or_default(), edit.errors, "text", Some(HOURS_HINT)))
                    button type="submit" { "Lưu" }
                }

                h2 { "Đổi mã QR" }
                form method="post" action={ (base) "/rotate-code" } {
                    (csrf_input(&staff.csrf))
                    p {
                        "Khi đổi mã, quầy được cấp mã QR mới; áp phích và mã QR đã in trước đây sẽ không dùng được nữa "
                        "(đường dẫn cũ báo không tìm thấy). Các phiếu đã nhận qua mã cũ được giữ nguyên. "
                        "Sau khi đổi, hãy in lại áp phích và thay ở quầy."
                    }
                    button.small type="submit" { "Đổi mã QR" }
                }

                h2 { "Trạng thái hoạt động" }
                @if desk.active {
                    form method="post" action={ (base) "/deactivate" } {
                        (csrf_input(&staff.csrf))
                        p { "Khi ngừng hoạt động, mã QR của quầy không nhận phiếu khảo sát nữa. Dữ liệu đã thu thập được giữ nguyên." }
                        button.small type="submit" { "Ngừng hoạt động" }
                    }
                } @else {
                    form method="post" action={ (base) "/activate" } {
                        (csrf_input(&staff.csrf))
                        p { "Khi hoạt động trở lại, quầy nhận phiếu khảo sát bằng mã QR hiện tại." }
                        button.small type="submit" { "Hoạt động trở lại" }
                    }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_svg_drops_the_xml_declaration() {
        let doc = "<?xml version=\"1.0\"?>\n<svg a=\"1\"></svg>\n";
        assert_eq!(inline_svg(doc), "<svg a=\"1\"></svg>\n");
        assert_eq!(inline_svg("x"), "x");
    }
}
