//! Pages of the staff area: the annual survey plans, their periods, targets and progress.

use std::collections::{BTreeMap, HashMap};

use maud::{Markup, html};

use super::{FieldErrors, csrf_input, error_summary, flash, page, select_field, text_field};
use crate::SignedIn;
use crate::db::plans::{Period, PlanListing, PlanUnit, ProgressRow, Target};
use crate::plans::{self, Status, Totals, format_date, format_decimal, group_thousands};
use sipas_core::goals::{FIELDS, Goal, GoalInput, MAX_GOALS};

const MENU: &str = "/staff/plans";

/// The values typed in the new-plan form.
#[derive(Debug, Clone, Default)]
pub struct PlanFormValues {
    pub year: String,
    pub title: String,
    pub unit_id: String,
    pub form_id: String,
    pub margin: String,
    pub preset: String,
}

/// The choices of the new-plan form: (value, label).
pub struct PlanChoices {
    pub units: Vec<(String, String)>,
    pub forms: Vec<(String, String)>,
}

/// The values typed in the add-period form.
#[derive(Debug, Clone, Default)]
pub struct PeriodFormValues {
    pub name: String,
    pub starts_on: String,
    pub ends_on: String,
}

/// A refused targets table: what was typed per unit (target, expected dossiers) and the
/// problem of each wrong row.
#[derive(Debug, Clone, Default)]
pub struct TargetsEdit {
    pub period_id: i32,
    pub values: HashMap<i32, (String, String)>,
    pub errors: BTreeMap<i32, String>,
}

/// A plan in the list, with the progress of its running period.
pub struct PlanSummary<'a> {
    pub plan: &'a PlanListing,
    pub form_label: String,
    pub periods: &'a [Period],
    pub running: Option<(&'a Period, Totals)>,
}

/// Everything the plan page shows.
pub struct PlanPage<'a> {
    pub plan: &'a PlanListing,
    pub form_label: String,
    pub periods: &'a [Period],
    pub units: &'a [PlanUnit],
    pub targets: &'a [Target],
    pub running: Option<(&'a Period, &'a [ProgressRow])>,
    pub period_form: PeriodFormValues,
    pub period_errors: FieldErrors,
    pub targets_edit: Option<TargetsEdit>,
    /// The plan's satisfaction goals ([`sipas_core::goals`]).
    pub goals: &'a [Goal],
    /// The goals form as typed, with its problems, when it was refused.
    pub goals_edit: Option<(Vec<GoalInput>, FieldErrors)>,
    pub flash: Option<&'a str>,
    /// Reorganisation acts whose effective date falls inside a period (after its first day).
    pub spanning: &'a [crate::db::reorganisations::SpanningAct],
}

fn period_dates(period: &Period) -> String {
    format!(
        "{} – {}",
        format_date(period.starts_on),
        format_date(period.ends_on)
    )
}

/// "Quý I (01/01/2026 – 31/03/2026)".
fn period_label(period: &Period) -> String {
    format!("{} ({})", period.name, period_dates(period))
}

fn count(value: i64) -> String {
    group_thousands(value.max(0) as u64)
}

/// The list of plans, newest year first.
pub fn list(staff: &SignedIn, plans: &[PlanSummary<'_>], notice: Option<&str>) -> Markup {
    page(
        "Kế hoạch khảo sát",
        staff,
        MENU,
        html! {
            (flash(notice))
            @if staff.is_admin() {
                p { a href="/staff/plans/new" { "Lập kế hoạch khảo sát mới" } }
            }
            @if plans.is_empty() {
                p.hint { "Chưa có kế hoạch khảo sát nào." }
            }
            @for summary in plans {
                @let plan = summary.plan;
                section.notice.plan id={ "plan-" (plan.id) } {
                    h2 { a href={ "/staff/plans/" (plan.id) } { (plan.title) } }
                    p {
                        "Năm " (plan.year) " · " (plan.unit_name) br;
                        "Phiếu khảo sát: " (summary.form_label)
                    }
                    p {
                        "Các đợt: "
                        @if summary.periods.is_empty() {
                            "chưa có đợt nào."
                        } @else {
                            @for (i, period) in summary.periods.iter().enumerate() {
                                @if i > 0 { "; " }
                                (period_label(period))
                            }
                            "."
                        }
                    }
                    @if let Some((period, totals)) = &summary.running {
                        p.progress {
                            "Tiến độ " (period.name) ": "
                            strong { (count(totals.received)) }
                            @if let Some(target) = totals.target {
                                " / " (count(target)) " phiếu"
                                @if let Some(p) = plans::percent(totals.received, Some(target)) { " (" (p) ")" }
                                " · " (totals.reached_units) "/" (totals.assigned_units) " đơn vị đạt chỉ tiêu"
                            } @else {
                                " phiếu (chưa giao chỉ tiêu)"
                            }
                            " · " a href={ "/staff/plans/" (plan.id) "/progress?period=" (period.id) } { "Chi tiết" }
                        }
                    }
                }
            }
        },
    )
}

/// The new-plan form.
pub fn new_plan(
    staff: &SignedIn,
    values: &PlanFormValues,
    choices: &PlanChoices,
    errors: &FieldErrors,
) -> Markup {
    let preset_error = errors.get("preset");
    page(
        "Lập kế hoạch khảo sát",
        staff,
        MENU,
        html! {
            (error_summary(errors))
            form method="post" action="/staff/plans" {
                (csrf_input(&staff.csrf))
                (text_field("year", "Năm", &values.year, errors, "text", None))
                (text_field("title", "Tên kế hoạch", &values.title, errors, "text", None))
                (select_field("unit_id", "Đơn vị lập kế hoạch", &choices.units, &values.unit_id, errors))
                (select_field("form_id", "Phiếu khảo sát", &choices.forms, &values.form_id, errors))
                (text_field("margin", "Sai số e", &values.margin, errors, "text",
                    Some("(từ 0,01 đến 0,2; mặc định 0,05; dùng để tính chỉ tiêu từ số hồ sơ dự kiến)")))
                fieldset.q.err[preset_error.is_some()] {
                    legend { "Các đợt khảo sát" }
                    @if let Some(message) = preset_error { p.msg { (message) } }
                    div.opts {
                        @for preset in plans::Preset::ALL {
                            label {
                                input type="radio" name="preset" value=(preset.as_str())
                                    checked[values.preset == preset.as_str()];
                                span { (preset.label()) }
                            }
                        }
                    }
                    p.hint { "Có thể thêm hoặc xóa đợt trên trang kế hoạch sau khi lưu." }
                }
                button type="submit" { "Lưu kế hoạch" }
            }
        },
    )
}

/// The formula behind computed targets, with a worked example at the plan's margin.
fn formula(e: f64) -> Markup {
    let example = 1000;
    html! {
        div.notice.formula {
            p {
                strong { "Cách tính chỉ tiêu: " }
                "n = N / (1 + N × e²), làm tròn lên (công thức Slovin/Yamane dùng trong khảo sát SIPAS), "
                "trong đó N là số hồ sơ dự kiến tiếp nhận trong đợt, e = " (format_decimal(e)) " là sai số của kế hoạch."
            }
            p {
                "Ví dụ: N = " (group_thousands(example)) " hồ sơ → n = " (group_thousands(example)) " / (1 + "
                (group_thousands(example)) " × " (format_decimal(e)) "²) → "
                (group_thousands(plans::sample_size(example, e))) " phiếu."
            }
            p.hint {
                "Nhập số hồ sơ dự kiến N để chỉ tiêu được tính tự động theo công thức (ô chỉ tiêu khi đó không dùng); "
                "để trống N thì chỉ tiêu là số nhập trực tiếp. Để trống cả hai ô: đơn vị chưa được giao chỉ tiêu."
            }
        }
    }
}

/// A progress table with its totals row. Rows carry `id="u-CODE"` for tests and links.
pub fn progress_table(rows: &[ProgressRow]) -> Markup {
    let totals = Totals::of(rows.iter().map(|r| (r.received, r.target.map(i64::from))));
    html! {
        table.progress {
            thead {
                tr {
                    th scope="col" { "Đơn vị" }
                    th.num scope="col" { "Phiếu đã nhận" }
                    th.num scope="col" { "Chỉ tiêu" }
                    th.num scope="col" { "Tỷ lệ đạt" }
                    th scope="col" { "Tình trạng" }
                }
            }
            tbody {
                @for row in rows {
                    @let target = row.target.map(i64::from);
                    @let status = Status::of(row.received, target);
                    tr id={ "u-" (row.code) } {
                        th scope="row" {
                            (row.name)
                            @if !row.active { " (ngừng hoạt động)" }
                        }
                        td.num.received { (count(row.received)) }
                        td.num.target { @if let Some(t) = target { (count(t)) } @else { "—" } }
                        td.num.percent { (plans::percent(row.received, target).unwrap_or_else(|| "—".into())) }
                        td.status { (status.label()) }
                    }
                }
            }
            tfoot {
                tr id="totals" {
                    th scope="row" { "Tổng cộng" }
                    td.num.received { (count(totals.received)) }
                    td.num.target { @if let Some(t) = totals.target { (count(t)) } @else { "—" } }
                    td.num.percent { (plans::percent(totals.received, totals.target).unwrap_or_else(|| "—".into())) }
                    td.status { (totals.status().label()) }
                }
            }
        }
        p.hint {
            "Số đơn vị đạt chỉ tiêu: " (totals.reached_units) "/" (totals.assigned_units) " đơn vị được giao. "
            "Phiếu được tính theo ngày gửi (giờ Việt Nam), chỉ phiếu đúng mẫu của kế hoạch."
        }
    }
}

fn plan_facts(plan: &PlanListing, form_label: &str) -> Markup {
    html! {
        p {
            "Đơn vị: " strong { (plan.unit_name) } " · Năm " (plan.year) br;
            "Phiếu khảo sát: " (form_label) " · Sai số e = " (format_decimal(plan.margin_of_error))
        }
    }
}

/// The plan page: facts, progress of the running period, periods, targets.
pub fn plan_page(staff: &SignedIn, p: &PlanPage<'_>) -> Markup {
    let plan = p.plan;
    let admin = staff.is_admin();
    let targets: HashMap<(i32, i32), &Target> = p
        .targets
        .iter()
        .map(|t| ((t.period_id, t.unit_id), t))
        .collect();
    page(
        &plan.title,
        staff,
        MENU,
        html! {
            (flash(p.flash))
            @if let Some(edit) = &p.targets_edit {
                div.alert role="alert" {
                    p {
                        strong { "Chưa lưu được chỉ tiêu." }
                        " Vui lòng sửa " (edit.errors.len()) " dòng được đánh dấu trong "
                        a href={ "#period-" (edit.period_id) } { "bảng chỉ tiêu" }
                        "; không dòng nào được lưu."
                    }
                }
            }
            @if !p.spanning.is_empty() {
                div.alert role="note" id="reorganisation-warning" {
                    @for a in p.spanning {
                        p {
                            "Kỳ «" (a.period_name) "» bao trùm ngày hiệu lực " (format_date(a.effective_date))
                            " của việc sắp xếp đơn vị «" (a.title) "» (" (a.units) "): chỉ tiêu của kỳ này không được chuyển tự động; "
                            "vui lòng tách kỳ hoặc điều chỉnh chỉ tiêu cho các đơn vị sau sắp xếp."
                        }
                    }
                }
            }
            (plan_facts(plan, &p.form_label))
            (goals_section(staff, plan.id, p.goals, p.goals_edit.as_ref()))

            section #progress {
                h2 { "Tiến độ" }
                @if let Some((period, rows)) = &p.running {
                    p { "Đợt " strong { (period.name) } " (" (period_dates(period)) ")." }
                    (progress_table(rows))
                    p { a href={ "/staff/plans/" (plan.id) "/progress?period=" (period.id) } { "Xem tiến độ theo từng đợt" } }
                } @else if p.periods.is_empty() {
                    p.hint { "Kế hoạch chưa có đợt khảo sát nào." }
                } @else {
                    p.hint { "Chưa đến đợt khảo sát đầu tiên." }
                }
            }

            section #periods {
                h2 { "Các đợt khảo sát" }
                @if p.periods.is_empty() {
                    p.hint { "Chưa có đợt nào." }
                } @else {
                    table {
                        thead { tr {
                            th scope="col" { "Đợt" } th scope="col" { "Từ ngày" } th scope="col" { "Đến ngày" }
                            th scope="col" { "Tiến độ" }
                            @if admin { th scope="col" { span.hint { "Thao tác" } } }
                        } }
                        tbody {
                            @for period in p.periods {
                                tr {
                                    td { (period.name) }
                                    td { (format_date(period.starts_on)) }
                                    td { (format_date(period.ends_on)) }
                                    td { a href={ "/staff/plans/" (plan.id) "/progress?period=" (period.id) } { "Xem" } }
                                    @if admin {
                                        td {
                                            form.inline method="post" action={ "/staff/plans/" (plan.id) "/periods/" (period.id) "/remove" } {
                                                (csrf_input(&staff.csrf))
                                                button.small type="submit" { "Xóa đợt " (period.name) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if admin {
                    h3 #add-period { "Thêm đợt khảo sát" }
                    (error_summary(&p.period_errors))
                    form method="post" action={ "/staff/plans/" (plan.id) "/periods" } {
                        (csrf_input(&staff.csrf))
                        (text_field("name", "Tên đợt", &p.period_form.name, &p.period_errors, "text", Some("(ví dụ: Đợt 1)")))
                        (text_field("starts_on", "Từ ngày", &p.period_form.starts_on, &p.period_errors, "text", Some("(dd/mm/yyyy)")))
                        (text_field("ends_on", "Đến ngày", &p.period_form.ends_on, &p.period_errors, "text", Some("(dd/mm/yyyy, tính cả ngày này)")))
                        p.hint { "Các đợt phải thuộc năm " (plan.year) " và không trùng thời gian với nhau." }
                        button type="submit" { "Thêm đợt" }
                    }
                }
            }

            section #targets {
                h2 { "Chỉ tiêu số phiếu theo đợt" }
                (formula(plan.margin_of_error))
                p.hint {
                    "Bảng gồm các đơn vị thuộc " (plan.unit_name) " có quầy tiếp nhận (nơi người dân đánh giá). "
                    "Phiếu của đơn vị cấp dưới không có quầy riêng được tính cho đơn vị gần nhất phía trên có trong bảng, "
                    "nên mỗi phiếu chỉ được tính một lần."
                }
                @for period in p.periods {
                    @let edit = p.targets_edit.as_ref().filter(|e| e.period_id == period.id);
                    section.period id={ "period-" (period.id) } {
                        h3 { (period_label(period)) }
                        @if p.units.is_empty() {
                            p.hint { "Không có đơn vị nào." }
                        } @else if admin {
                            form method="post" action={ "/staff/plans/" (plan.id) "/periods/" (period.id) "/targets" } {
                                (csrf_input(&staff.csrf))
                                (targets_table(period, p.units, &targets, edit, true))
                                button type="submit" { "Lưu chỉ tiêu " (period.name) }
                            }
                        } @else {
                            (targets_table(period, p.units, &targets, None, false))
                        }
                    }
                }
            }
        },
    )
}

fn targets_table(
    period: &Period,
    units: &[PlanUnit],
    targets: &HashMap<(i32, i32), &Target>,
    edit: Option<&TargetsEdit>,
    editable: bool,
) -> Markup {
    html! {
        table.targets {
            thead { tr {
                th scope="col" { "Đơn vị" }
                th.num scope="col" { "Số hồ sơ dự kiến (N)" }
                th.num scope="col" { "Chỉ tiêu (số phiếu)" }
            } }
            tbody {
                @for unit in units {
                    @let stored = targets.get(&(period.id, unit.id));
                    @let error = edit.and_then(|e| e.errors.get(&unit.id));
                    @let (target_text, dossiers_text) = match edit.and_then(|e| e.values.get(&unit.id)) {
                        Some((t, n)) => (t.clone(), n.clone()),
                        None => (
                            stored.map(|t| t.target.to_string()).unwrap_or_default(),
                            stored.and_then(|t| t.expected_dossiers).map(|n| n.to_string()).unwrap_or_default(),
                        ),
                    };
                    tr.err[error.is_some()] id={ "t" (period.id) "-" (unit.code) } {
                        th scope="row" {
                            (unit.name)
                            @if !unit.active { " (ngừng hoạt động)" }
                            @if let Some(message) = error { p.msg id={ "e" (period.id) "-" (unit.id) } { (message) } }
                        }
                        @if editable {
                            td.num {
                                input type="text" inputmode="numeric" size="8" name={ "dossiers_" (unit.id) } value=(dossiers_text)
                                    aria-label={ "Số hồ sơ dự kiến - " (unit.name) }
                                    aria-invalid=[error.map(|_| "true")];
                            }
                            td.num {
                                input type="text" inputmode="numeric" size="6" name={ "target_" (unit.id) } value=(target_text)
                                    aria-label={ "Chỉ tiêu - " (unit.name) }
                                    aria-invalid=[error.map(|_| "true")];
                            }
                        } @else {
                            td.num { @if dossiers_text.is_empty() { "—" } @else { (dossiers_text) } }
                            td.num { @if target_text.is_empty() { "Chưa giao" } @else { (target_text) } }
                        }
                    }
                }
            }
        }
    }
}

/// The progress of one period, with links to the others.
pub fn progress_page(
    staff: &SignedIn,
    plan: &PlanListing,
    form_label: &str,
    periods: &[Period],
    current: Option<(&Period, &[ProgressRow])>,
) -> Markup {
    page(
        &format!("Tiến độ: {}", plan.title),
        staff,
        MENU,
        html! {
            (plan_facts(plan, form_label))
            p { a href={ "/staff/plans/" (plan.id) } { "← Về trang kế hoạch" } }
            @if !periods.is_empty() {
                nav.periods aria-label="Các đợt" {
                    @for period in periods {
                        @let here = current.is_some_and(|(c, _)| c.id == period.id);
                        a href={ "/staff/plans/" (plan.id) "/progress?period=" (period.id) }
                            aria-current=[here.then_some("page")] { (period.name) }
                    }
                }
            }
            @if let Some((period, rows)) = current {
                h2 { (period_label(period)) }
                (progress_table(rows))
            } @else if periods.is_empty() {
                p.hint { "Kế hoạch chưa có đợt khảo sát nào." }
            } @else {
                p.hint { "Chưa đến đợt khảo sát đầu tiên. Chọn một đợt ở trên để xem." }
            }
        },
    )
}

/// The plan's satisfaction goals: a list for everyone, a form of [`MAX_GOALS`] rows for admins
/// (blank rows are dropped). What they rest on is shown beside each.
fn goals_section(
    staff: &SignedIn,
    plan_id: i32,
    goals: &[Goal],
    edit: Option<&(Vec<GoalInput>, FieldErrors)>,
) -> Markup {
    let rows: Vec<GoalInput> = match edit {
        Some((typed, _)) => typed.clone(),
        None => {
            let mut rows: Vec<GoalInput> = goals.iter().map(GoalInput::of).collect();
            rows.resize(MAX_GOALS, GoalInput::default());
            rows
        }
    };
    let no_errors = FieldErrors::new();
    let errors = edit.map_or(&no_errors, |(_, e)| e);
    html! {
        section #goals {
            h2 { "Mục tiêu về chỉ số hài lòng" }
            p.hint {
                "Các biểu đồ vẽ mục tiêu thành đường tham chiếu; báo cáo nêu đơn vị nào đạt, chưa đạt. "
                "Mục tiêu mặc định theo " (NQ76_SHORT) "."
            }
            @if goals.is_empty() {
                p { "Kế hoạch chưa đặt mục tiêu." }
            } @else {
                ul.goals {
                    @for goal in goals {
                        li {
                            strong { (goal.label) } " (" (goal.percent_text()) ")"
                            @if !goal.basis.is_empty() { br; span.hint { "Căn cứ: " (goal.basis) } }
                        }
                    }
                }
            }
            @if staff.is_admin() {
                details open[edit.is_some()] {
                    summary { "Sửa mục tiêu" }
                    (error_summary(errors))
                    form method="post" action={ "/staff/plans/" (plan_id) "/goals" } {
                        (csrf_input(&staff.csrf))
                        @for (i, (row, [label, percent, basis])) in rows.iter().zip(FIELDS).enumerate() {
                            fieldset.goal {
                                legend { "Mục tiêu " (i + 1) }
                                (text_field(label, "Tên mục tiêu", &row.label, errors, "text", Some("(ví dụ: Mục tiêu 2030: 90%)")))
                                (text_field(percent, "Mức chỉ số (%)", &row.percent, errors, "text", Some("(ví dụ: 90 hoặc 82,5)")))
                                (text_field(basis, "Căn cứ", &row.basis, errors, "text", Some("(văn bản đặt mục tiêu; có thể để trống)")))
                            }
                        }
                        p.hint { "Để trống cả ba ô của một mục tiêu để bỏ mục tiêu đó. Mục tiêu thứ nhất là mục tiêu dùng để xác định đơn vị chưa đạt trong báo cáo." }
                        button type="submit" { "Lưu mục tiêu" }
                    }
                }
            }
        }
    }
}

/// The resolution the default goals come from, in short.
const NQ76_SHORT: &str = "Nghị quyết 76/NQ-CP ngày 15/7/2021 của Chính phủ (Chương trình tổng thể cải cách hành chính nhà nước giai đoạn 2021–2030): trên 80% vào năm 2025, trên 90% vào năm 2030";
