//! Pages of the staff area: reorganisation acts (merge, split, rename, move), their entry form,
//! their preview and the list of recorded acts (admins).

use maud::{Markup, html};

use super::units::indent;
use super::{FieldErrors, csrf_input, flash, page};
use crate::SignedIn;
use crate::db::reorganisations::{ActRow, HistoryLine};
use crate::db::units::{UnitKind, UnitRow};
use crate::domain::format::{format_date, format_vietnam_time};
use crate::domain::reorganisation::{ActKind, ActPlan, UnitRef, World, share_text};

const MENU: &str = "/staff/units";

/// The number of successor slots on the split form.
pub const SPLIT_SLOTS: usize = 4;

/// The fields of an act as posted (every pair, repeated names kept).
#[derive(Debug, Clone, Default)]
pub struct ActValues(pub Vec<(String, String)>);

impl ActValues {
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The pairs to carry as hidden inputs: all but the token, the confirmation and (when
    /// `desks` is false) the desk choices.
    fn carried(&self, desks: bool) -> impl Iterator<Item = &(String, String)> {
        self.0.iter().filter(move |(k, _)| {
            k != crate::CSRF_FIELD && k != "confirm" && (desks || !k.starts_with("desk_"))
        })
    }
}

/// The title of an act kind's page.
pub fn kind_title(kind: ActKind) -> &'static str {
    match kind {
        ActKind::Merge => "Sáp nhập đơn vị",
        ActKind::Split => "Chia tách đơn vị",
        ActKind::Rename => "Đổi tên đơn vị",
        ActKind::Move => "Chuyển đơn vị sang đơn vị cấp trên khác",
    }
}

/// Every refusal, listed (some belong to no single field).
fn refusals(errors: &FieldErrors) -> Markup {
    html! {
        @if !errors.is_empty() {
            div.alert role="alert" {
                p { strong { "Chưa thực hiện được." } " Không có thay đổi nào được lưu. Vui lòng sửa:" }
                ul { @for message in errors.values() { li { (message) } } }
            }
        }
    }
}

fn field_error(errors: &FieldErrors, name: &str) -> Markup {
    html! { @if let Some(message) = errors.get(name) { p.msg { (message) } } }
}

fn text_input(name: &str, label: &str, value: &str, errors: &FieldErrors, hint: &str) -> Markup {
    let id = format!("f-{name}");
    html! {
        div.field.err[errors.contains_key(name)] {
            label for=(id) { (label) }
            @if !hint.is_empty() { span.hint { " " (hint) } }
            (field_error(errors, name))
            input id=(id) type="text" name=(name) value=(value);
        }
    }
}

/// A select of the current units (`none`: the label of the empty choice, if any).
fn unit_select(
    name: &str,
    label: &str,
    units: &[UnitRow],
    selected: &str,
    none: Option<&str>,
    extra: &[(&str, &str)],
) -> Markup {
    let id = format!("f-{name}");
    html! {
        div.field {
            label for=(id) { (label) }
            select id=(id) name=(name) {
                @if let Some(none) = none { option value="" selected[selected.is_empty()] { (none) } }
                @for (value, text) in extra {
                    option value=(value) selected[*value == selected] { (text) }
                }
                @for unit in units {
                    @let value = unit.id.to_string();
                    option value=(value) selected[value == selected] { (indent(unit.depth)) (unit.name) }
                }
            }
        }
    }
}

fn kind_select(name: &str, selected: &str) -> Markup {
    let id = format!("f-{name}");
    html! {
        div.field {
            label for=(id) { "Loại đơn vị" }
            select id=(id) name=(name) {
                @for k in UnitKind::ALL {
                    option value=(k.as_str()) selected[k.as_str() == selected || (selected.is_empty() && k == UnitKind::Commune)] { (k.label()) }
                }
            }
        }
    }
}

/// The fields of a new unit, their names prefixed with `prefix`.
fn new_unit_fields(prefix: &str, values: &ActValues, units: &[UnitRow]) -> Markup {
    let n = |f: &str| format!("{prefix}{f}");
    let none = FieldErrors::new();
    html! {
        (text_input(&n("code"), "Mã đơn vị mới", values.get(&n("code")), &none, "(chữ thường không dấu, chữ số, dấu chấm, dấu gạch ngang)"))
        (text_input(&n("name"), "Tên đơn vị mới", values.get(&n("name")), &none, ""))
        (kind_select(&n("kind"), values.get(&n("kind"))))
        (text_input(&n("admin_code"), "Mã đơn vị hành chính (không bắt buộc)", values.get(&n("admin_code")), &none, "(2, 3 hoặc 5 chữ số)"))
        (unit_select(&n("parent"), "Đơn vị cấp trên", units, values.get(&n("parent")), Some("— Không có (đơn vị cấp cao nhất) —"), &[]))
    }
}

/// The entry form of an act of `kind`. `units`: the current units, as a tree.
pub fn form(
    staff: &SignedIn,
    kind: ActKind,
    values: &ActValues,
    errors: &FieldErrors,
    units: &[UnitRow],
) -> Markup {
    let action = format!("/staff/reorganisations/{}/preview", kind.as_str());
    page(
        kind_title(kind),
        staff,
        MENU,
        html! {
            p { a href="/staff/reorganisations" { "← Sắp xếp đơn vị" } }
            (refusals(errors))
            form method="post" action=(action) {
                (csrf_input(&staff.csrf))
                fieldset {
                    legend { "Văn bản" }
                    (text_input("title", "Tên văn bản", values.get("title"), errors, "(ví dụ: Nghị quyết về việc sắp xếp các đơn vị hành chính cấp xã)"))
                    (text_input("legal_basis", "Căn cứ pháp lý", values.get("legal_basis"), errors, "(số, ký hiệu văn bản)"))
                    div.field.err[errors.contains_key("effective_date")] {
                        label for="f-effective_date" { "Ngày hiệu lực" }
                        (field_error(errors, "effective_date"))
                        input id="f-effective_date" type="date" name="effective_date" value=(values.get("effective_date"));
                    }
                }
                @match kind {
                    ActKind::Merge => {
                        fieldset {
                            legend { "Các đơn vị được sáp nhập" }
                            (field_error(errors, "predecessors"))
                            @let chosen = values.all("pred");
                            @for unit in units {
                                @let value = unit.id.to_string();
                                div.check {
                                    input type="checkbox" id={ "pred-" (unit.id) } name="pred" value=(value) checked[chosen.contains(&value.as_str())];
                                    label for={ "pred-" (unit.id) } { (indent(unit.depth)) (unit.name) " " small.code { (unit.code) } }
                                }
                            }
                        }
                        fieldset {
                            legend { "Đơn vị sau sáp nhập" }
                            (field_error(errors, "successors"))
                            (unit_select("target", "Sáp nhập vào", units, values.get("target"), None, &[("new", "— Một đơn vị mới (nhập bên dưới) —")]))
                            p.hint { "Khi sáp nhập vào một đơn vị mới, nhập thông tin đơn vị mới:" }
                            (new_unit_fields("", values, units))
                        }
                    }
                    ActKind::Split => {
                        fieldset {
                            legend { "Đơn vị được chia tách" }
                            (field_error(errors, "predecessors"))
                            (unit_select("pred", "Đơn vị", units, values.get("pred"), Some("— Chọn đơn vị —"), &[]))
                        }
                        (field_error(errors, "successors"))
                        (field_error(errors, "shares"))
                        @for i in 1..=SPLIT_SLOTS {
                            @let p = format!("s{i}_");
                            fieldset {
                                legend { "Đơn vị kế thừa " (i) }
                                (unit_select(&format!("{p}target"), "Đơn vị", units, values.get(&format!("{p}target")), Some("— Không dùng —"), &[("new", "— Một đơn vị mới (nhập bên dưới) —")]))
                                (text_input(&format!("{p}share"), "Tỷ lệ (%) (không bắt buộc)", values.get(&format!("{p}share")), errors, "(phần phiếu trước sắp xếp được tính cho đơn vị này khi so sánh; tổng 100%)"))
                                details {
                                    summary { "Thông tin đơn vị mới" }
                                    (new_unit_fields(&p, values, units))
                                }
                            }
                        }
                    }
                    ActKind::Rename => {
                        (field_error(errors, "unit"))
                        (unit_select("unit", "Đơn vị", units, values.get("unit"), Some("— Chọn đơn vị —"), &[]))
                        (text_input("name", "Tên mới", values.get("name"), errors, ""))
                    }
                    ActKind::Move => {
                        (field_error(errors, "unit"))
                        (unit_select("unit", "Đơn vị", units, values.get("unit"), Some("— Chọn đơn vị —"), &[]))
                        (field_error(errors, "parent"))
                        (unit_select("parent", "Đơn vị cấp trên mới", units, values.get("parent"), Some("— Không có (đơn vị cấp cao nhất) —"), &[]))
                    }
                }
                @if kind != ActKind::Rename && kind != ActKind::Move {
                    (field_error(errors, "code"))
                    (field_error(errors, "name"))
                    (field_error(errors, "kind"))
                    (field_error(errors, "admin_code"))
                    (field_error(errors, "parent"))
                }
                button type="submit" { "Xem trước" }
            }
        },
    )
}

fn unit_ref_name(r: UnitRef, plan: &ActPlan, world: &World) -> String {
    match r {
        UnitRef::Existing(id) => world.unit_name(id),
        UnitRef::New(i) => plan
            .new_units
            .get(i)
            .map_or_else(String::new, |n| format!("{} (đơn vị mới)", n.name)),
    }
}

/// What the act will do (the preview's body; also its summary is what apply does).
pub fn plan_summary(plan: &ActPlan, world: &World) -> Markup {
    let name = |r: UnitRef| unit_ref_name(r, plan, world);
    html! {
        dl.summary {
            dt { "Loại" } dd { (plan.kind.label()) }
            dt { "Văn bản" } dd { (plan.title) }
            dt { "Căn cứ pháp lý" } dd { (plan.legal_basis) }
            dt { "Ngày hiệu lực" } dd { (format_date(plan.effective_date)) }
        }
        @if !plan.warnings.is_empty() {
            div.alert role="note" id="warnings" {
                p { strong { "Lưu ý:" } }
                ul { @for w in &plan.warnings { li { (w) } } }
            }
        }
        ul #plan {
            @if let Some((_, from, to)) = &plan.rename {
                li { "Đơn vị «" (from) "» đổi tên thành «" (to) "» (giữ nguyên mã và dữ liệu)." }
            }
            @if let Some((unit, from, to)) = &plan.moved {
                li {
                    "Đơn vị «" (world.unit_name(*unit)) "» chuyển từ "
                    (from.map_or_else(|| "cấp cao nhất".to_string(), |p| format!("«{}»", world.unit_name(p))))
                    " sang "
                    (to.map_or_else(|| "cấp cao nhất".to_string(), |p| format!("«{}»", world.unit_name(p))))
                    " (cùng các đơn vị trực thuộc)."
                }
            }
            @for new in &plan.new_units {
                li.created {
                    "Thành lập đơn vị mới «" (new.name) "» (mã " (new.code)
                    @if let Some(a) = &new.admin_code { ", mã đơn vị hành chính " (a) }
                    ", " (UnitKind::label_of(&new.kind))
                    @if let Some(p) = new.parent_id { ", trực thuộc «" (world.unit_name(p)) "»" }
                    "), hoạt động từ ngày " (format_date(plan.effective_date)) "."
                }
            }
            @for id in &plan.ended {
                li.ended {
                    "Đơn vị «" (world.unit_name(*id)) "» kết thúc từ ngày " (format_date(plan.effective_date))
                    " (ngừng hoạt động; phiếu đã nhận vẫn thuộc đơn vị này)."
                }
            }
            @for l in &plan.lineage {
                li.lineage {
                    "Kế thừa: «" (world.unit_name(l.predecessor_id)) "» → «" (name(l.successor)) "»"
                    @if let Some(s) = l.share_points { " (tỷ lệ " (share_text(s)) ")" }
                    "."
                }
            }
            @for m in &plan.desk_moves {
                li.desk-move { "Quầy «" (world.desk_name(m.desk_id)) "» chuyển từ «" (world.unit_name(m.from_unit_id)) "» sang «" (name(m.to)) "»." }
            }
            @for (desk, unit) in &plan.desk_closures {
                li.desk-close { "Quầy «" (world.desk_name(*desk)) "» của «" (world.unit_name(*unit)) "» ngừng hoạt động." }
            }
            @for (account, unit) in &plan.account_links {
                li.account { "Tài khoản «" (world.account_name(*account)) "» được giao thêm đơn vị «" (name(*unit)) "»." }
            }
            @for m in &plan.child_moves {
                li.child { "Đơn vị trực thuộc «" (world.unit_name(m.unit_id)) "» chuyển từ «" (world.unit_name(m.from_parent_id)) "» sang «" (name(m.to)) "»." }
            }
            @for c in &plan.target_changes {
                @let period = world.targets.iter().find(|t| t.period_id == c.period_id);
                li.target {
                    "Chỉ tiêu kỳ «" (period.map_or("", |p| p.period_name.as_str())) "» (kế hoạch «" (period.map_or("", |p| p.plan_title.as_str())) "»): "
                    @for (i, (u, t, _)) in c.removed.iter().enumerate() {
                        @if i > 0 { ", " }
                        "«" (world.unit_name(*u)) "» " (t)
                    }
                    " → "
                    @for (i, (u, t, _)) in c.set.iter().enumerate() {
                        @if i > 0 { ", " }
                        "«" (name(*u)) "» " (t)
                    }
                    "."
                }
            }
        }
        p.hint { "Các phiếu khảo sát đã nhận giữ nguyên đơn vị đã tiếp nhận; khi so sánh với kỳ trước ngày hiệu lực, phiếu của đơn vị cũ được tính theo đơn vị kế thừa." }
    }
}

/// The preview of an act: what it will do, the desks' choices (changing them previews again),
/// and the "Áp dụng" form posting the same fields with a confirmation.
pub fn preview(
    staff: &SignedIn,
    kind: ActKind,
    values: &ActValues,
    plan: &ActPlan,
    world: &World,
    errors: &FieldErrors,
) -> Markup {
    let base = format!("/staff/reorganisations/{}", kind.as_str());
    // The successors a desk may go to, by index (a split's lineage is one row per successor,
    // in the order entered; a merge has one successor).
    let targets: Vec<UnitRef> = match kind {
        ActKind::Merge => plan.lineage.iter().take(1).map(|l| l.successor).collect(),
        _ => plan.lineage.iter().map(|l| l.successor).collect(),
    };
    let successors: Vec<(usize, String)> = targets
        .iter()
        .enumerate()
        .map(|(i, r)| (i, unit_ref_name(*r, plan, world)))
        .collect();
    let desks: Vec<(i32, i32, String)> = plan
        .desk_moves
        .iter()
        .map(|m| {
            let to = targets.iter().position(|t| *t == m.to).unwrap_or(0);
            (m.desk_id, m.from_unit_id, to.to_string())
        })
        .chain(
            plan.desk_closures
                .iter()
                .map(|(d, u)| (*d, *u, "close".to_string())),
        )
        .collect();
    page(
        &format!("Xem trước: {}", kind_title(kind)),
        staff,
        MENU,
        html! {
            p { a href={ (base) } { "← Nhập lại từ đầu" } }
            (refusals(errors))
            p { "Nội dung dưới đây là những gì sẽ được thực hiện khi bấm “Áp dụng”. Chưa có thay đổi nào được lưu." }
            (plan_summary(plan, world))
            @if !desks.is_empty() {
                h2 { "Quầy tiếp nhận của đơn vị kết thúc" }
                form method="post" action={ (base) "/preview" } {
                    (csrf_input(&staff.csrf))
                    @for (k, v) in values.carried(false) { input type="hidden" name=(k) value=(v); }
                    table {
                        thead { tr { th scope="col" { "Quầy" } th scope="col" { "Đơn vị hiện tại" } th scope="col" { "Sau khi áp dụng" } } }
                        tbody {
                            @for (desk, unit, choice) in &desks {
                                tr {
                                    td { label for={ "desk-" (desk) } { (world.desk_name(*desk)) } }
                                    td { (world.unit_name(*unit)) }
                                    td {
                                        select id={ "desk-" (desk) } name={ "desk_" (desk) } {
                                            @for (i, n) in &successors {
                                                option value=(i) selected[i.to_string() == *choice] { "Chuyển sang «" (n) "»" }
                                            }
                                            option value="close" selected[choice == "close"] { "Ngừng hoạt động" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    button.secondary type="submit" { "Xem trước lại với lựa chọn này" }
                }
            }
            h2 { "Áp dụng" }
            form method="post" action={ (base) "/apply" } #apply {
                (csrf_input(&staff.csrf))
                @for (k, v) in values.carried(false) { input type="hidden" name=(k) value=(v); }
                @for (desk, _, choice) in &desks { input type="hidden" name={ "desk_" (desk) } value=(choice); }
                div.check.err[errors.contains_key("confirm")] {
                    input type="checkbox" id="f-confirm" name="confirm" value="yes";
                    label for="f-confirm" { "Tôi đã kiểm tra nội dung trên và xác nhận áp dụng (không thể hoàn tác)." }
                }
                button type="submit" { "Áp dụng" }
            }
        },
    )
}

/// "2 quầy chuyển, 1 quầy ngừng hoạt động" from an act's details.
fn details_text(row: &ActRow, names: &[(i32, String)]) -> String {
    let name = |v: &serde_json::Value| {
        v.as_i64()
            .and_then(|id| names.iter().find(|(i, _)| i64::from(*i) == id))
            .map_or_else(|| "cấp cao nhất".to_string(), |(_, n)| n.clone())
    };
    let d = &row.details;
    match row.kind.as_str() {
        "rename" => format!(
            "«{}» → «{}»",
            d["from"].as_str().unwrap_or(""),
            d["to"].as_str().unwrap_or("")
        ),
        "move" => format!(
            "«{}»: «{}» → «{}»",
            name(&d["unit_id"]),
            name(&d["from_parent_id"]),
            name(&d["to_parent_id"])
        ),
        _ => {
            let n = |k: &str| d[k].as_array().map_or(0, Vec::len);
            format!(
                "{}; {} quầy chuyển, {} quầy ngừng hoạt động, {} đơn vị trực thuộc chuyển, {} tài khoản được giao thêm đơn vị",
                row.lineage.as_deref().unwrap_or(""),
                n("desks"),
                n("closed_desks"),
                n("child_units"),
                n("accounts")
            )
        }
    }
}

/// The recorded acts, the latest first, and the links to enter a new one.
pub fn list(
    staff: &SignedIn,
    acts: &[ActRow],
    names: &[(i32, String)],
    message: Option<&str>,
) -> Markup {
    page(
        "Sắp xếp đơn vị",
        staff,
        MENU,
        html! {
            p { a href="/staff/units" { "← Danh sách đơn vị" } }
            (flash(message))
            p { "Mỗi lần sắp xếp là một văn bản (tên, căn cứ pháp lý, ngày hiệu lực). Xem trước nội dung trước khi áp dụng." }
            p.actions {
                @for kind in ActKind::ALL {
                    a href={ "/staff/reorganisations/" (kind.as_str()) } { (kind_title(kind)) } " "
                }
            }
            h2 { "Các lần sắp xếp đã ghi nhận" }
            @if acts.is_empty() {
                p { "Chưa có lần sắp xếp nào." }
            } @else {
                table #acts {
                    thead {
                        tr {
                            th scope="col" { "Ngày hiệu lực" }
                            th scope="col" { "Loại" }
                            th scope="col" { "Văn bản" }
                            th scope="col" { "Căn cứ pháp lý" }
                            th scope="col" { "Nội dung" }
                            th scope="col" { "Người áp dụng" }
                        }
                    }
                    tbody {
                        @for act in acts {
                            tr {
                                td { (format_date(act.effective_date)) }
                                td { (ActKind::parse(&act.kind).map_or("", ActKind::label)) }
                                td { (act.title) }
                                td { (act.legal_basis) }
                                td { (details_text(act, names)) }
                                td { (act.applied_by.as_deref().unwrap_or("—")) br; small { (format_vietnam_time(act.applied_at)) } }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// The lines of a unit's page about the acts that formed or ended it.
pub fn history(lines: &[HistoryLine]) -> Markup {
    html! {
        @if !lines.is_empty() {
            ul #history {
                @for l in lines {
                    li {
                        @if l.formed {
                            "Được thành lập từ " (l.others) " theo " (l.title) " (" (l.legal_basis) "), từ ngày " (format_date(l.effective_date)) "."
                        } @else if l.kind == "split" {
                            "Đã chia tách thành " (l.others) " từ ngày " (format_date(l.effective_date)) " theo " (l.title) " (" (l.legal_basis) ")."
                        } @else {
                            "Đã sáp nhập vào " (l.others) " từ ngày " (format_date(l.effective_date)) " theo " (l.title) " (" (l.legal_basis) ")."
                        }
                    }
                }
            }
        }
    }
}
