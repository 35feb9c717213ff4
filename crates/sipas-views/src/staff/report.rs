//! The printable report: "Báo cáo kết quả khảo sát sự hài lòng của người dân, tổ chức năm
//! YYYY", laid out as the administrative document Phòng Nội vụ files with the province (the
//! issuing body and the national motto on top, place and date, numbered parts, the recipients
//! and the signature, then the appendix of tables). Every figure is one of the [`Report`] of
//! `reports::build`, formatted as on the dashboard ("82,66%"); nothing is computed here but
//! orderings and selections of those figures.
//!
//! The same document is served to staff (`GET /staff/report`, with a screen-only toolbar and
//! the filter form, `static/report.css` linked) and written by `sipas report` (the stylesheet
//! inlined, so the file stands alone and prints the same).

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::FieldErrors;
use super::stats::{
    FilterChoices, FilterFields, OVERVIEW_PATH, StatsQuery, filter_form, format_interval,
    ranking_chart, sample_note,
};
use crate::SignedIn;
use crate::format_vietnam_time;
use crate::plans::{Status, format_date, percent};
use crate::reports::{FactorReport, Report, UnitReport};
use crate::staff::comments::{channel_label, format_count};
use crate::stats::{MIN_RELIABLE_SAMPLE, format_percent};

pub const REPORT_PATH: &str = "/staff/report";

/// The document's title.
pub fn title(year: i32) -> String {
    format!("Báo cáo kết quả khảo sát sự hài lòng của người dân, tổ chức năm {year}")
}

/// The report's own stylesheet (print layout), served at `REPORT_STYLESHEET_PATH` and inlined
/// by `sipas report`.
pub const REPORT_STYLESHEET: &str = include_str!("../../../../static/report.css");

pub use crate::report_document::{
    COMMENTS_PER_UNIT, DocumentFields, DocumentInput, Issuer, PlanInfo, UnitComments, place_name,
    wording,
};

/// Everything the document shows.
pub struct ReportDoc<'a> {
    pub report: &'a Report,
    pub year: i32,
    /// The period when it is not the whole calendar year ("Quý I/2026").
    pub period: Option<String>,
    /// The form's title as the filters name it.
    pub form_title: String,
    /// "Xã" when the rows are limited to one kind of unit.
    pub kind: Option<String>,
    pub issuer: Issuer,
    /// The date of the document.
    pub date: NaiveDate,
    pub plan: Option<PlanInfo>,
    /// One entry per row of the report that has comments.
    pub comments: Vec<UnitComments>,
    /// All comments of the period, and how many are handled.
    pub comments_total: (i64, i64),
    /// The number, place and date, signer and recipients ("Thông tin văn bản").
    pub fields: DocumentFields,
}

impl<'a> ReportDoc<'a> {
    /// The document of a prepared report.
    pub fn of(p: &'a crate::report_document::Prepared) -> Self {
        ReportDoc {
            report: &p.report,
            year: p.about.year,
            period: p.about.period.clone(),
            form_title: p.about.form_title.clone(),
            kind: p.about.kind.clone(),
            issuer: p.issuer.clone(),
            date: p.date,
            plan: p.plan.clone(),
            comments: p.comments.clone(),
            comments_total: p.comments_total,
            fields: DocumentFields::defaults(&p.issuer, p.date),
        }
    }

    /// The document with the fields the office filled in.
    pub fn with_fields(mut self, fields: DocumentFields) -> Self {
        self.fields = fields;
        self
    }
}

/// "Xuân Lộc, ngày 05 tháng 02 năm 2026": days below 10 and months below 3 with a leading zero,
/// as Nghị định 30/2020/NĐ-CP writes them.
pub fn place_and_date(place: &str, date: NaiveDate) -> String {
    let month = if date.month() < 3 {
        format!("{:02}", date.month())
    } else {
        date.month().to_string()
    };
    format!(
        "{place}, ngày {:02} tháng {month} năm {}",
        date.day(),
        date.year()
    )
}

fn index_text(index: Option<f64>) -> String {
    index.map_or_else(|| "—".to_string(), format_percent)
}

fn count(n: u64) -> String {
    format_count(n as i64)
}

/// The document head: issuing body, national motto, place and date, title.
fn doc_head(doc: &ReportDoc) -> Markup {
    let report = doc.report;
    html! {
        header.doc-head {
            div.issuer {
                @if let Some(parent) = &doc.issuer.parent {
                    p.parent { (parent.to_uppercase()) }
                }
                p.org { (doc.issuer.name.to_uppercase()) }
                p.number { (doc.fields.number_line()) }
            }
            div.nation {
                p.country { "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" }
                p.motto { "Độc lập - Tự do - Hạnh phúc" }
                p.place-date { (place_and_date(&doc.fields.place, doc.fields.date)) }
            }
        }
        h1.doc-title { (title(doc.year)) }
        p.doc-subtitle {
            @if let Some(period) = &doc.period { (period) br; }
            "(Từ ngày " (format_date(report.query.from)) " đến ngày " (format_date(report.query.to)) ")"
            br;
            (report.root.name)
            @if !report.rows_are_the_root() { " và các đơn vị trực thuộc" }
            @if let Some(kind) = &doc.kind { " · Loại đơn vị: " (kind) }
            @if let Some(channel) = &report.query.channel { " · Kênh: " (channel_label(channel)) }
        }
    }
}

/// Part I: purpose and method, with the forms received per unit against the targets.
fn purpose_and_method(doc: &ReportDoc) -> Markup {
    let report = doc.report;
    let total = &report.total;
    let criteria: usize = total.factors.iter().map(|f| f.criteria.len()).sum();
    let scale: Option<(&str, &str)> = total
        .factors
        .iter()
        .flat_map(|f| f.criteria.iter())
        .next()
        .and_then(|c| Some((c.labels.first()?.1.as_str(), c.labels.last()?.1.as_str())));
    let targets = report.rows.iter().any(|r| r.target.is_some());
    let target_sum: Option<u64> =
        targets.then(|| report.rows.iter().filter_map(|r| r.target).sum());
    html! {
        section.part id="muc-dich-phuong-phap" {
            h2 { "I. MỤC ĐÍCH, PHƯƠNG PHÁP" }
            h3 { "1. Mục đích" }
            p { (wording::PURPOSE) }
            h3 { "2. Phạm vi, thời gian" }
            p {
                (report.root.name)
                @if !report.rows_are_the_root() { " và " (report.rows.len()) " đơn vị trực thuộc" }
                "; phiếu khảo sát nhận từ ngày " (format_date(report.query.from)) " đến ngày "
                (format_date(report.query.to))
                @if let Some(period) = &doc.period { " (" (period) ")" }
                "."
            }
            h3 { "3. Phương pháp" }
            ul {
                li {
                    "Mẫu phiếu: " (doc.form_title)
                    " (" (total.factors.len()) " yếu tố, " (criteria) " tiêu chí"
                    @if let Some((low, high)) = scale { "; mỗi tiêu chí trả lời theo thang từ “" (low) "” đến “" (high) "”" }
                    ")."
                }
                li {
                    (wording::RESPONDENTS)
                    @if let Some(channel) = &report.query.channel { " Báo cáo chỉ tính phiếu thu qua kênh: " (channel_label(channel)) "." }
                }
                li {
                    @if let Some(plan) = &doc.plan {
                        "Chọn mẫu theo " (plan.title)
                        @if let Some(period) = &plan.period { ", " (period) }
                        "; sai số cho phép " (format_percent(plan.margin_of_error)) ". "
                    } @else {
                        "Chưa chọn đợt khảo sát của kế hoạch: số phiếu không được so với chỉ tiêu. "
                    }
                    "Chỉ số dựa trên dưới " (MIN_RELIABLE_SAMPLE) " phiếu, hoặc dưới chỉ tiêu của kế hoạch, được ghi “chưa đủ mẫu”."
                }
                li { (wording::COMPUTATION) }
            }
            p {
                "Tổng số phiếu hợp lệ: " strong { (count(total.responses)) }
                @if let Some(sum) = target_sum { " / " (count(sum)) " phiếu theo chỉ tiêu" }
                "."
            }
            (forms_table(report))
        }
    }
}

/// Table 1: forms received per unit against its target.
fn forms_table(report: &Report) -> Markup {
    let targets = report.rows.iter().any(|r| r.target.is_some());
    html! {
        div.table-scroll role="region" aria-label="Bảng 1. Số phiếu khảo sát theo đơn vị" tabindex="0" {
            table.doc-table id="bang-so-phieu" {
                caption { "Bảng 1. Số phiếu khảo sát theo đơn vị" }
                thead {
                    tr {
                        th.num scope="col" { "STT" }
                        th scope="col" { "Đơn vị" }
                        th.num scope="col" { "Số phiếu" }
                        @if targets {
                            th.num scope="col" { "Chỉ tiêu" }
                            th.num scope="col" { "Tỉ lệ" }
                            th scope="col" { "Tình trạng" }
                        }
                        th scope="col" { "Ghi chú" }
                    }
                }
                tbody {
                    @for (i, row) in report.rows.iter().enumerate() {
                        @let target = row.target.map(|t| t as i64);
                        tr data-unit=(row.unit.id) {
                            td.num { (i + 1) }
                            td { (row.unit.name) }
                            td.num.forms { (count(row.responses)) }
                            @if targets {
                                td.num.target { (target.map(format_count).unwrap_or_default()) }
                                td.num { (percent(row.responses as i64, target).unwrap_or_default()) }
                                td { (Status::of(row.responses as i64, target).label()) }
                            }
                            td.flag { (sample_note(row)) }
                        }
                    }
                }
            }
        }
    }
}

/// Part II: the overall index, the factors, the ranked chart and its table.
fn overall(doc: &ReportDoc) -> Markup {
    let report = doc.report;
    let total = &report.total;
    let goal = report.held_to();
    // The ranked units (enough sample), best first: the short ones are no "highest".
    let with_index: Vec<&UnitReport> = report.rows.iter().filter(|r| r.rank.is_some()).collect();
    let reaching = with_index
        .iter()
        .filter(|r| !sipas_core::goals::below(r.index, goal))
        .count();
    let chart_title = format!(
        "Chỉ số SIPAS của các đơn vị, {}",
        doc.period
            .clone()
            .unwrap_or_else(|| format!("năm {}", doc.year))
    );
    html! {
        section.part.new-page id="ket-qua-chung" {
            h2 { "II. KẾT QUẢ CHUNG" }
            @match total.index {
                Some(index) => {
                    p.headline {
                        "Chỉ số hài lòng về sự phục vụ hành chính (SIPAS) chung: "
                        strong.index { (format_percent(index)) }
                        @if total.index_ci.is_some() { " (khoảng tin cậy 95%: " (format_interval(total.index_ci)) ")" }
                        ", tính trên " (count(total.responses)) " phiếu; " (sipas_core::goals::against(index, &report.goals)) "."
                        @if !total.enough_sample { " " (sample_note(total)) "." }
                    }
                }
                None => { p.headline { "Chưa có phiếu khảo sát hợp lệ trong kỳ báo cáo." } }
            }
            @if !report.rows_are_the_root() && !with_index.is_empty() {
                p {
                    @if let Some(goal) = goal {
                        (reaching) "/" (with_index.len()) " đơn vị đủ mẫu đạt " (goal.label.replace(':', "")) "."
                    } @else {
                        (with_index.len()) " đơn vị đủ mẫu được xếp hạng."
                    }
                    @if let (Some(best), Some(worst)) = (with_index.first(), with_index.last()) {
                        " Cao nhất: " (best.unit.name) " (" (index_text(best.index)) "); thấp nhất: "
                        (worst.unit.name) " (" (index_text(worst.index)) ")."
                    }
                }
            }
            div.table-scroll role="region" aria-label="Bảng 2. Chỉ số hài lòng theo yếu tố" tabindex="0" {
                table.doc-table id="bang-yeu-to" {
                    caption { "Bảng 2. Chỉ số hài lòng theo yếu tố" }
                    thead {
                        tr {
                            th.num scope="col" { "STT" }
                            th scope="col" { "Yếu tố" }
                            th.num scope="col" { "Số tiêu chí" }
                            th.num scope="col" { "Chỉ số" }
                        }
                    }
                    tbody {
                        @for (i, f) in total.factors.iter().enumerate() {
                            tr data-factor=(f.code) {
                                td.num { (i + 1) }
                                td { (f.title) }
                                td.num { (f.criteria.len()) }
                                td.num.index { (index_text(f.index)) }
                            }
                        }
                    }
                    tfoot {
                        tr {
                            th scope="row" colspan="3" { "Chỉ số SIPAS (trung bình các yếu tố)" }
                            td.num.index { (index_text(total.index)) }
                        }
                    }
                }
            }
            @if !report.rows.is_empty() {
                figure.doc-chart {
                    (ranking_chart("bieu-do-bao-cao", &chart_title, &report.rows, &report.goals))
                    figcaption { "Biểu đồ 1. " (chart_title) " (xếp từ cao xuống thấp; vạch đen: khoảng tin cậy 95%; thanh màu cam: chưa đủ mẫu)" }
                }
                (ranking_table(report))
            }
        }
    }
}

/// Table 3: the ranking.
fn ranking_table(report: &Report) -> Markup {
    html! {
        div.table-scroll role="region" aria-label="Bảng 3. Xếp hạng chỉ số SIPAS của các đơn vị" tabindex="0" {
            table.doc-table id="bang-xep-hang" {
                caption { "Bảng 3. Xếp hạng chỉ số SIPAS của các đơn vị" }
                thead {
                    tr {
                        th.num scope="col" { "Hạng" }
                        th scope="col" { "Đơn vị" }
                        th.num scope="col" { "Chỉ số" }
                        th scope="col" { "KTC 95%" }
                        th.num scope="col" { "Số phiếu" }
                        th scope="col" { "Ghi chú" }
                    }
                }
                tbody {
                    @for (i, row) in report.rows.iter().enumerate() {
                        @if row.rank.is_none() && (i == 0 || report.rows[i - 1].rank.is_some()) {
                            tr.group { th colspan="6" scope="rowgroup" { "Chưa đủ mẫu – chưa xếp hạng" } }
                        }
                        tr data-unit=(row.unit.id) {
                            td.num.rank { (row.rank.map(|r| r.to_string()).unwrap_or_else(|| "–".into())) }
                            td.unit { (row.unit.name) }
                            td.num.index { (index_text(row.index)) }
                            td.ci { (format_interval(row.index_ci)) }
                            td.num.forms { (count(row.responses)) }
                            td.flag { (sample_note(row)) }
                        }
                    }
                }
            }
        }
    }
}

/// Part III: one sub-part per factor: its criteria from the weakest, its index per unit.
fn by_factor(doc: &ReportDoc) -> Markup {
    let report = doc.report;
    let total = &report.total;
    html! {
        section.part.new-page id="theo-yeu-to" {
            h2 { "III. KẾT QUẢ THEO YẾU TỐ" }
            @for (i, factor) in total.factors.iter().enumerate() {
                (factor_part(report, i, factor))
            }
        }
    }
}

fn factor_part(report: &Report, i: usize, factor: &FactorReport) -> Markup {
    let criteria = factor.criteria_weakest_first();
    let units = report.units_by_factor(i);
    let weakest = factor.weakest_criterion();
    let n = i + 1;
    html! {
        section.factor data-factor=(factor.code) {
            h3 { (n) ". Yếu tố “" (factor.title) "”: " (index_text(factor.index)) }
            @if let Some(w) = weakest {
                p {
                    "Tiêu chí có chỉ số thấp nhất: " (w.code) " “" (w.text) "” ("
                    (index_text(w.stats.index)) ", " (count(w.stats.n_valid)) " câu trả lời hợp lệ)."
                }
            }
            div.table-scroll role="region" aria-label=(format!("Bảng {}a. Các tiêu chí của yếu tố {}", n + 3, factor.title)) tabindex="0" {
                table.doc-table {
                    caption { "Bảng " (n + 3) "a. Các tiêu chí của yếu tố, từ thấp đến cao" }
                    thead {
                        tr {
                            th scope="col" { "Mã" }
                            th scope="col" { "Tiêu chí" }
                            th.num scope="col" { "Số câu trả lời hợp lệ" }
                            th.num scope="col" { "Chỉ số" }
                        }
                    }
                    tbody {
                        @for c in &criteria {
                            tr data-item=(c.code) {
                                td { (c.code) }
                                td { (c.text) }
                                td.num { (count(c.stats.n_valid)) }
                                td.num.index { (index_text(c.stats.index)) }
                            }
                        }
                    }
                }
            }
            @if !report.rows_are_the_root() {
                div.table-scroll role="region" aria-label=(format!("Bảng {}b. Chỉ số của yếu tố {} theo đơn vị", n + 3, factor.title)) tabindex="0" {
                    table.doc-table {
                        caption { "Bảng " (n + 3) "b. Chỉ số của yếu tố theo đơn vị, từ cao xuống thấp" }
                        thead {
                            tr {
                                th.num scope="col" { "STT" }
                                th scope="col" { "Đơn vị" }
                                th.num scope="col" { "Chỉ số" }
                                th scope="col" { "Tiêu chí thấp nhất" }
                            }
                        }
                        tbody {
                            @for (k, (row, f)) in units.iter().enumerate() {
                                tr data-unit=(row.unit.id) {
                                    td.num { (k + 1) }
                                    td { (row.unit.name) }
                                    td.num.index { (index_text(f.index)) }
                                    td {
                                        @if let Some(w) = f.weakest_criterion() { (w.code) " (" (index_text(w.stats.index)) ")" }
                                        @else { "—" }
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

/// Part IV: units below the plan's first goal, and units short of forms.
fn units_short(doc: &ReportDoc) -> Markup {
    let report = doc.report;
    let goal = report.held_to();
    let goal_text = goal.map_or_else(String::new, |g| g.percent_text());
    let below: Vec<&UnitReport> = report
        .rows
        .iter()
        .filter(|r| sipas_core::goals::below(r.index, goal))
        .collect();
    let short: Vec<&UnitReport> = report.rows.iter().filter(|r| !r.enough_sample).collect();
    html! {
        section.part.new-page id="don-vi-chua-dat" {
            h2 { "IV. ĐƠN VỊ CHƯA ĐẠT" }
            h3 { "1. Đơn vị có chỉ số SIPAS dưới mục tiêu " (goal_text) }
            @if goal.is_none() {
                p.none { "Kế hoạch khảo sát chưa đặt mục tiêu về chỉ số." }
            } @else if below.is_empty() {
                p.none { "Không có đơn vị nào có chỉ số dưới " (goal_text) "." }
            } @else {
                div.table-scroll role="region" aria-label="Đơn vị có chỉ số SIPAS dưới mục tiêu" tabindex="0" {
                    table.doc-table id="bang-duoi-muc-tieu" {
                        thead {
                            tr {
                                th.num scope="col" { "STT" }
                                th scope="col" { "Đơn vị" }
                                th.num scope="col" { "Chỉ số" }
                                th scope="col" { "KTC 95%" }
                                th.num scope="col" { "Số phiếu" }
                                th scope="col" { "Yếu tố thấp nhất" }
                            }
                        }
                        tbody {
                            @for (i, row) in below.iter().enumerate() {
                                tr data-unit=(row.unit.id) {
                                    td.num { (i + 1) }
                                    td { (row.unit.name) }
                                    td.num.index { (index_text(row.index)) }
                                    td.ci { (format_interval(row.index_ci)) }
                                    td.num { (count(row.responses)) }
                                    td {
                                        @if let Some(f) = row.weakest_factor() { (f.title) " (" (index_text(f.index)) ")" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h3 { "2. Đơn vị chưa đủ số phiếu" }
            @if short.is_empty() {
                p.none { "Tất cả các đơn vị đã đủ số phiếu." }
            } @else {
                div.table-scroll role="region" aria-label="Đơn vị chưa đủ số phiếu" tabindex="0" {
                    table.doc-table id="bang-chua-du-mau" {
                        thead {
                            tr {
                                th.num scope="col" { "STT" }
                                th scope="col" { "Đơn vị" }
                                th.num scope="col" { "Số phiếu" }
                                th.num scope="col" { "Chỉ tiêu" }
                                th scope="col" { "Ghi chú" }
                            }
                        }
                        tbody {
                            @for (i, row) in short.iter().enumerate() {
                                tr data-unit=(row.unit.id) {
                                    td.num { (i + 1) }
                                    td { (row.unit.name) }
                                    td.num { (count(row.responses)) }
                                    td.num { (row.target.map(count).unwrap_or_else(|| MIN_RELIABLE_SAMPLE.to_string())) }
                                    td { (sample_note(row)) }
                                }
                            }
                        }
                    }
                }
                @if short.iter().any(|r| r.target.is_none()) {
                    p.note { "Đơn vị chưa được giao chỉ tiêu: so với mức tối thiểu " (MIN_RELIABLE_SAMPLE) " phiếu." }
                }
            }
        }
    }
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(max - 1).collect();
        cut.push('…');
        cut
    }
}

fn day_of(at: DateTime<Utc>) -> String {
    format_vietnam_time(at)
}

/// Part V: the comments, the latest few of each unit with their handling.
fn comments_part(doc: &ReportDoc) -> Markup {
    let (total, handled) = doc.comments_total;
    html! {
        section.part.new-page id="y-kien-gop-y" {
            h2 { "V. Ý KIẾN GÓP Ý CỦA NGƯỜI DÂN, TỔ CHỨC" }
            @if total == 0 {
                p.none { "Trong kỳ báo cáo không có ý kiến góp ý." }
            } @else {
                p {
                    "Trong kỳ báo cáo có " (format_count(total)) " ý kiến góp ý; đã xử lý "
                    (format_count(handled)) " (" (percent(handled, Some(total)).unwrap_or_default()) "), "
                    "chưa xử lý " (format_count(total - handled)) ". Dưới đây là tối đa "
                    (COMMENTS_PER_UNIT) " ý kiến mới nhất của mỗi đơn vị."
                }
                @for unit in &doc.comments {
                    section.unit-comments data-unit=(unit.unit_id) {
                        h3 {
                            (unit.unit_name) " (" (format_count(unit.total)) " ý kiến, đã xử lý "
                            (format_count(unit.handled)) ")"
                        }
                        ul.doc-comments {
                            @for c in &unit.latest {
                                li {
                                    span.when { (day_of(c.submitted_at)) }
                                    @if unit.latest.iter().any(|o| o.unit_id != unit.unit_id) || c.unit_id != unit.unit_id {
                                        " · " (c.unit_name)
                                    }
                                    " · "
                                    @if c.handled_at.is_some() { span.state.done { "Đã xử lý" } }
                                    @else { span.state.open { "Chưa xử lý" } }
                                    @if c.excluded { " · " span.state { (super::comments::EXCLUDED_NOTE) } }
                                    blockquote { "“" (shorten(&c.body, 400)) "”" }
                                    @if let (Some(at), Some(note)) = (c.handled_at, &c.handling_note) {
                                        p.handling {
                                            "Kết quả xử lý (" (day_of(at))
                                            @if let Some(by) = &c.handled_by_name { ", " (by) }
                                            "): " (shorten(note, 300))
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
}

/// Recipients and signature.
fn signature(doc: &ReportDoc) -> Markup {
    html! {
        div.signature {
            div.recipients {
                p { em { strong { "Nơi nhận:" } } }
                @for r in doc.fields.recipient_lines() { p { (r) } }
            }
            div.signer {
                @for line in &doc.fields.signer_title { p.role { (line.to_uppercase()) } }
                p.sign-hint { (wording::SIGN_HINT) }
                @if let Some(name) = &doc.fields.signer_name { p.signer-name { (name) } }
            }
        }
    }
}

/// The appendix: units × factors, then the criteria of the whole report.
fn appendix(doc: &ReportDoc) -> Markup {
    let report = doc.report;
    let total = &report.total;
    html! {
        // Its tables scroll sideways on screen in regions of their own (report.css), which the
        // keyboard reaches.
        section.appendix id="phu-luc" aria-labelledby="phu-luc-tieu-de" {
            h2 id="phu-luc-tieu-de" { "PHỤ LỤC" }
            h3 { "Phụ lục 1. Chỉ số theo đơn vị và yếu tố" }
            div.table-scroll role="region" aria-label="Phụ lục 1. Chỉ số theo đơn vị và yếu tố" tabindex="0" {
                table.doc-table.wide id="phu-luc-don-vi" {
                    thead {
                        tr {
                            th.num scope="col" { "Hạng" }
                            th scope="col" { "Đơn vị" }
                            th.num scope="col" { "Số phiếu" }
                            @for f in &total.factors { th.num scope="col" data-factor=(f.code) { (f.title) } }
                            th.num scope="col" { "Chỉ số SIPAS" }
                            th scope="col" { "KTC 95%" }
                            th scope="col" { "Ghi chú" }
                        }
                    }
                    tbody {
                        @for row in &report.rows {
                            tr data-unit=(row.unit.id) {
                                td.num.rank { (row.rank.map(|r| r.to_string()).unwrap_or_else(|| "–".into())) }
                                td.unit { (row.unit.name) }
                                td.num.forms { (count(row.responses)) }
                                @for f in &row.factors { td.num.factor { (index_text(f.index)) } }
                                td.num.index { (index_text(row.index)) }
                                td.ci { (format_interval(row.index_ci)) }
                                td.flag { (sample_note(row)) }
                            }
                        }
                    }
                    tfoot {
                        tr.total {
                            td {}
                            th scope="row" { "Chung: " (report.root.name) }
                            td.num.forms { (count(total.responses)) }
                            @for f in &total.factors { td.num.factor { (index_text(f.index)) } }
                            td.num.index { (index_text(total.index)) }
                            td.ci { (format_interval(total.index_ci)) }
                            td.flag { (sample_note(total)) }
                        }
                    }
                }
            }
            h3 { "Phụ lục 2. Chỉ số theo tiêu chí (chung của " (report.root.name) ")" }
            (criteria_table(total))
        }
    }
}

fn criteria_table(total: &UnitReport) -> Markup {
    let levels: Vec<String> = total
        .factors
        .iter()
        .flat_map(|f| f.criteria.iter())
        .next()
        .map(|c| c.labels.iter().map(|(_, l)| l.clone()).collect())
        .unwrap_or_default();
    let columns = 6 + levels.len();
    html! {
        div.table-scroll role="region" aria-label="Phụ lục 2. Chỉ số theo tiêu chí" tabindex="0" {
            table.doc-table.wide id="phu-luc-tieu-chi" {
                thead {
                    tr {
                        th scope="col" { "Mã" }
                        th scope="col" { "Tiêu chí" }
                        th.num scope="col" { "Số câu trả lời hợp lệ" }
                        @for level in &levels { th.num scope="col" { (level) } }
                        th.num scope="col" { "Điểm trung bình" }
                        th.num scope="col" { "Chỉ số" }
                        th scope="col" { "KTC 95%" }
                    }
                }
                tbody {
                    @for f in &total.factors {
                        tr.group { th colspan=(columns) scope="rowgroup" { (f.title) ": " (index_text(f.index)) } }
                        @for c in &f.criteria {
                            tr data-item=(c.code) {
                                td { (c.code) }
                                td { (c.text) }
                                td.num { (count(c.stats.n_valid)) }
                                @for (_, share) in &c.stats.shares {
                                    td.num { @if c.stats.n_valid > 0 { (format_percent(*share)) } @else { "—" } }
                                }
                                td.num { (c.stats.mean.map(super::stats::format_decimal2).unwrap_or_else(|| "—".into())) }
                                td.num.index { (index_text(c.stats.index)) }
                                td { (format_interval(c.stats.index_ci)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The document itself (what is printed).
pub fn document(doc: &ReportDoc) -> Markup {
    html! {
        // On a narrow screen the sheet scrolls sideways (report.css): focusable for the keyboard.
        article.report tabindex="0" aria-label="Bản báo cáo" {
            (doc_head(doc))
            (purpose_and_method(doc))
            (overall(doc))
            (by_factor(doc))
            (units_short(doc))
            (comments_part(doc))
            (signature(doc))
            (appendix(doc))
        }
    }
}

/// The filter form and its messages, on screen only.
pub struct Filters<'a> {
    pub query: &'a StatsQuery,
    pub choices: FilterChoices<'a>,
    pub errors: &'a FieldErrors,
}

/// The small form of what the office fills in on the document, and the downloads.
pub struct DocForm<'a> {
    /// As typed (shown back in the form, carried on the links).
    pub input: &'a DocumentInput,
    /// What was refused, by query parameter.
    pub errors: &'a FieldErrors,
    /// The defaults an empty field takes (shown as placeholders and in the textareas).
    pub defaults: &'a DocumentFields,
    /// The filters' query pairs: hidden fields of the form, and the start of the links.
    pub filters: Vec<(String, String)>,
    /// Whether this server prints PDF (Chromium is installed).
    pub pdf: bool,
}

impl DocForm<'_> {
    /// The query string of the filters and the filled-in fields.
    pub fn query(&self) -> String {
        let mut pairs: Vec<(&str, &str)> = self
            .filters
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let fields = self.input.pairs();
        pairs.extend(fields.iter().map(|(k, v)| (*k, v.as_str())));
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

/// "/staff/report.pdf?…", "/staff/report.docx?…".
pub fn file_link(extension: &str, query: &str) -> String {
    if query.is_empty() {
        format!("{REPORT_PATH}.{extension}")
    } else {
        format!("{REPORT_PATH}.{extension}?{query}")
    }
}

fn doc_textarea(
    name: &'static str,
    label: &str,
    hint: &str,
    value: &str,
    rows: usize,
    errors: &FieldErrors,
) -> Markup {
    let error = errors.get(name);
    let id = format!("f-{name}");
    html! {
        div.field.err[error.is_some()] {
            label for=(id) { (label) }
            span.hint { " " (hint) }
            @if let Some(message) = error { p.msg id={ "e-" (name) } { (message) } }
            textarea id=(id) name=(name) rows=(rows)
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[error.map(|_| format!("e-{name}"))] { (value) }
        }
    }
}

fn doc_input(
    name: &'static str,
    label: &str,
    value: &str,
    placeholder: &str,
    input_type: &str,
    errors: &FieldErrors,
) -> Markup {
    let error = errors.get(name);
    let id = format!("f-{name}");
    html! {
        div.field.err[error.is_some()] {
            label for=(id) { (label) }
            @if let Some(message) = error { p.msg id={ "e-" (name) } { (message) } }
            input id=(id) type=(input_type) name=(name) value=(value) placeholder=(placeholder)
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[error.map(|_| format!("e-{name}"))];
        }
    }
}

/// "Thông tin văn bản": number, place and date, signer, recipients (GET, nothing stored), and
/// the downloads of the document with them.
pub fn document_form(form: &DocForm, downloads: bool) -> Markup {
    let input = form.input;
    let defaults = form.defaults;
    let or_default = |typed: &str, default: String| {
        if typed.trim().is_empty() {
            default
        } else {
            typed.to_string()
        }
    };
    let query = form.query();
    html! {
        section.doc-info aria-labelledby="doc-info-title" {
            h2 id="doc-info-title" { "Thông tin văn bản" }
            p.hint { "Điền để in vào báo cáo, tệp PDF và tệp Word; để trống thì giữ ô trống (số văn bản) hoặc giá trị mặc định. Không lưu lại trên hệ thống." }
            @if !form.errors.is_empty() {
                div.alert role="alert" {
                    p { strong { "Thông tin văn bản chưa hợp lệ." } " Vui lòng sửa:" }
                    ul { @for message in form.errors.values() { li { (message) } } }
                }
            }
            form.doc-form method="get" action=(REPORT_PATH) {
                @for (name, value) in &form.filters { input type="hidden" name=(name) value=(value); }
                div.filters {
                    (doc_input("doc_number", "Số văn bản (Số: …/BC)", &input.number, "để trống: điền tay", "text", form.errors))
                    (doc_input("doc_place", "Địa danh", &input.place, &defaults.place, "text", form.errors))
                    (doc_input("doc_date", "Ngày ban hành (ngày/tháng/năm)", &input.date, &format_date(defaults.date), "text", form.errors))
                    (doc_input("signer_name", "Họ tên người ký", &input.signer_name, "để trống: ký tay", "text", form.errors))
                }
                div.filters {
                    (doc_textarea("signer_title", "Chức vụ người ký", "(mỗi dòng một dòng, ví dụ “KT. CHỦ TỊCH” rồi “PHÓ CHỦ TỊCH”)",
                        &or_default(&input.signer_title, defaults.signer_title.join("\n")), 2, form.errors))
                    (doc_textarea("recipients", "Nơi nhận", "(mỗi dòng một nơi nhận)",
                        &or_default(&input.recipients, defaults.recipients.join("\n")), 4, form.errors))
                }
                button.small type="submit" { "Áp dụng vào báo cáo" }
            }
            @if downloads {
                p.downloads {
                    @if form.pdf {
                        a.download href=(file_link("pdf", &query)) { "Tải PDF" }
                        " "
                    }
                    a.download href=(file_link("docx", &query)) { "Tải Word (.docx)" }
                    @if !form.pdf {
                        " "
                        span.hint { "(Máy chủ này chưa cài Chromium nên chưa in được PDF: dùng lệnh In của trình duyệt.)" }
                    }
                }
            }
        }
    }
}

/// The staff page: a screen-only toolbar (back to the statistics, how to print, the filters,
/// the document's fields and downloads) above the document. `doc` is `None` when the filters
/// or the fields were refused.
pub fn page(
    staff: &SignedIn,
    filters: &Filters,
    back: &str,
    form: Option<&DocForm>,
    doc: Option<&ReportDoc>,
) -> Markup {
    let page_title = doc.map_or_else(|| "Báo cáo kết quả khảo sát".to_string(), |d| title(d.year));
    html! {
        (DOCTYPE)
        html lang="vi" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (page_title) " - SIPAS" }
                link rel="icon" href=(crate::FAVICON_PATH) sizes="32x32";
                link rel="stylesheet" href=(*crate::STYLESHEET_HREF);
                link rel="stylesheet" href=(*crate::STAFF_STYLESHEET_HREF);
                link rel="stylesheet" href=(*crate::REPORT_STYLESHEET_HREF);
            }
            body.staff.report-page {
                div.report-tools.screen-only {
                    header.staff-head {
                        p.brand { a href="/staff" { "SIPAS" } " · Khảo sát sự hài lòng" }
                        p.who { (staff.account.display_name) " (" (staff.role.label()) ")" }
                        nav aria-label="Báo cáo" {
                            a href=(back) { "← Kết quả khảo sát" }
                        }
                    }
                    @if !filters.errors.is_empty() {
                        div.alert role="alert" {
                            p { strong { "Chưa lập được báo cáo." } " Vui lòng sửa các mục được đánh dấu bên dưới:" }
                            ul { @for message in filters.errors.values() { li { (message) } } }
                        }
                    }
                    @let kept: Vec<(&str, String)> = form.map(|f| f.input.pairs()).unwrap_or_default();
                    (filter_form(REPORT_PATH, FilterFields::Overview, filters.query, filters.errors, &filters.choices, &kept))
                    @if let Some(form) = form { (document_form(form, doc.is_some())) }
                    @if doc.is_some() {
                        p.print-hint {
                            strong { "In báo cáo: " }
                            "dùng lệnh In của trình duyệt (Ctrl+P), khổ giấy A4, và chọn “Lưu dưới dạng PDF” "
                            "để có tệp gửi cấp trên. Thanh công cụ này không được in."
                        }
                    }
                }
                main {
                    @if let Some(doc) = doc { (document(doc)) }
                }
            }
        }
    }
}

/// `/staff/report.pdf` when the server cannot print: Chromium is not installed (`failed`
/// false), or the print failed. The report page and the Word file still work.
pub fn pdf_unavailable(staff: &SignedIn, report: &str, failed: bool) -> Markup {
    crate::shell(
        "Chưa in được PDF - SIPAS",
        Some("staff"),
        html! {
            div.notice.narrow {
                p.who { (staff.account.display_name) " (" (staff.role.label()) ")" }
                h1 { "Chưa in được báo cáo ra PDF" }
                div.alert role="alert" {
                    @if failed {
                        p { "Máy chủ không in được báo cáo ra PDF lúc này (trình in gặp lỗi hoặc quá thời gian). Vui lòng thử lại sau ít phút." }
                    } @else {
                        p { "Máy chủ này không có chức năng in PDF (chưa cài trình duyệt Chromium). Quản trị hệ thống có thể cài gói “chromium” hoặc đặt biến SIPAS_CHROMIUM." }
                    }
                }
                p {
                    "Trong lúc chờ, có thể mở "
                    a href=(report) { "báo cáo trên trình duyệt" }
                    " rồi dùng lệnh In (Ctrl+P) và chọn “Lưu dưới dạng PDF”, hoặc tải bản Word (.docx) trên trang báo cáo."
                }
            }
        },
    )
}

/// The document on its own, for a file (`sipas report --out`): the stylesheet inlined (a file
/// is not under the web's Content-Security-Policy) and nothing but the document.
pub fn standalone(doc: &ReportDoc, css: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang="vi" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title(doc.year)) " - " (doc.report.root.name) }
                style { (PreEscaped(css.replace("</", "<\\/"))) }
            }
            body.report-page.standalone {
                main { (document(doc)) }
            }
        }
    }
}

/// The link to the report with the statistics' filters (their query string).
pub fn report_link(query: &str) -> String {
    if query.is_empty() {
        REPORT_PATH.to_string()
    } else {
        format!("{REPORT_PATH}?{query}")
    }
}

/// The statistics overview with the same filters.
pub fn overview_link(query: &str) -> String {
    if query.is_empty() {
        OVERVIEW_PATH.to_string()
    } else {
        format!("{OVERVIEW_PATH}?{query}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::comments::CommentRow;
    use crate::forms::parse_form;
    use crate::reports::{Figures, ReportQuery, UnitInfo, rank, unit_report};
    use crate::stats::Moments;

    const FORM: &str = r#"
id = "t"
version = 1
title = "Phiếu thử"
[index]
rule = "mean-of-factor-indices"
[scales.s]
options = [ { code = 1, label = "Không hài lòng" }, { code = 2, label = "Bình thường" }, { code = 3, label = "Hài lòng" } ]
positive = [3]
[[sections]]
code = "A"
title = "Tiếp cận dịch vụ"
role = "factor"
[[sections.items]]
code = "A1"
text = "Thông tin dễ tiếp cận"
scale = "s"
[[sections.items]]
code = "A2"
text = "Trụ sở sạch sẽ"
scale = "s"
[[sections]]
code = "B"
title = "Công chức"
role = "factor"
[[sections.items]]
code = "B1"
text = "Thái độ lịch sự"
scale = "s"
"#;

    fn info(id: i32, name: &str) -> UnitInfo {
        UnitInfo {
            id,
            code: format!("u{id}"),
            name: name.into(),
            kind: "commune".into(),
        }
    }

    /// A unit whose criteria have `sat` satisfied answers out of `n` (A1, A2, B1 in turn).
    fn figures(n: u64, sat: [u64; 3]) -> Figures {
        let mut answers = std::collections::BTreeMap::new();
        for (code, s) in ["A1", "A2", "B1"].iter().zip(sat) {
            answers.insert((code.to_string(), 3), s);
            answers.insert((code.to_string(), 1), n - s);
        }
        // Respondents' scores spread enough for an interval.
        let scores = Moments {
            n,
            sum: n as f64 * 0.8,
            sum_sq: n as f64 * 0.7,
        };
        Figures {
            responses: n,
            scores,
            answers,
        }
    }

    fn report() -> Report {
        let form = parse_form("t.toml", FORM).unwrap();
        let version = crate::forms::FormVersion {
            id: 1,
            number: 1,
            form: form.clone(),
            item_ids: Default::default(),
        };
        let mut rows = vec![
            unit_report(
                &form,
                info(2, "UBND xã Bảo Hòa"),
                figures(40, [38, 36, 35]),
                Some(40),
            ),
            unit_report(
                &form,
                info(3, "UBND xã Suối Cát"),
                figures(35, [20, 30, 21]),
                Some(50),
            ),
            unit_report(&form, info(4, "UBND xã Xuân Bắc"), Figures::default(), None),
        ];
        rank(&mut rows);
        let mut all = Figures::default();
        for r in &rows {
            all.add(&r.figures);
        }
        let total = unit_report(&form, info(1, "UBND huyện Xuân Lộc"), all, None);
        Report {
            form_id: "t".into(),
            form_title: "Phiếu thử".into(),
            form: std::sync::Arc::new(version),
            query: ReportQuery {
                form_id: "t".into(),
                from: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
                to: NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
                root: Some(1),
                kind: None,
                channel: None,
                period_id: Some(9),
                respondents: Default::default(),
            },
            root: info(1, "UBND huyện Xuân Lộc"),
            total,
            rows,
            disclosure: crate::small_cells::Disclosure::Exact,
            goals: sipas_core::goals::national(),
            lineage: None,
        }
    }

    fn doc(report: &Report) -> ReportDoc<'_> {
        let issuer = Issuer {
            parent: Some("UBND huyện Xuân Lộc".into()),
            name: "Phòng Nội vụ".into(),
            place: "Xuân Lộc".into(),
            recipients: vec!["UBND tỉnh Đồng Nai (Sở Nội vụ)".into()],
        };
        let date = NaiveDate::from_ymd_opt(2026, 4, 5).unwrap();
        ReportDoc {
            report,
            year: 2026,
            period: Some("Quý I/2026".into()),
            form_title: "Phiếu thử".into(),
            kind: None,
            fields: DocumentFields::defaults(&issuer, date),
            issuer,
            date,
            plan: Some(PlanInfo {
                title: "Kế hoạch khảo sát năm 2026".into(),
                period: Some("Quý I (01/01/2026 – 31/03/2026)".into()),
                margin_of_error: 0.05,
            }),
            comments: vec![],
            comments_total: (0, 0),
        }
    }

    /// The `<tr>` of a table (by id) for a unit.
    fn row_of<'a>(html: &'a str, table: &str, unit: i32) -> &'a str {
        let table = &html[html.find(&format!("id=\"{table}\"")).expect(table)..];
        let table = &table[..table.find("</table>").unwrap()];
        let start = table
            .find(&format!("<tr data-unit=\"{unit}\""))
            .unwrap_or_else(|| panic!("no row {unit} in {table}"));
        let tr = &table[start..];
        &tr[..tr.find("</tr>").unwrap()]
    }

    #[test]
    fn places_and_dates_as_in_administrative_documents() {
        assert_eq!(place_name("UBND huyện Xuân Lộc"), "Xuân Lộc");
        assert_eq!(place_name("UBND thị trấn Gia Ray"), "Gia Ray");
        assert_eq!(place_name("Ủy ban nhân dân tỉnh Đồng Nai"), "Đồng Nai");
        assert_eq!(place_name("Phòng Nội vụ"), "Phòng Nội vụ");
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(
            place_and_date("Xuân Lộc", d(2026, 2, 5)),
            "Xuân Lộc, ngày 05 tháng 02 năm 2026"
        );
        assert_eq!(
            place_and_date("Xuân Lộc", d(2026, 11, 27)),
            "Xuân Lộc, ngày 27 tháng 11 năm 2026"
        );
    }

    #[test]
    fn the_head_reads_like_an_administrative_document() {
        let report = report();
        let html = doc_head(&doc(&report)).into_string();
        assert!(
            html.contains("<p class=\"parent\">UBND HUYỆN XUÂN LỘC</p>"),
            "{html}"
        );
        assert!(html.contains("<p class=\"org\">PHÒNG NỘI VỤ</p>"));
        assert!(html.contains("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"));
        assert!(html.contains("Độc lập - Tự do - Hạnh phúc"));
        assert!(html.contains("Xuân Lộc, ngày 05 tháng 4 năm 2026"));
        assert!(html.contains(
            "<h1 class=\"doc-title\">Báo cáo kết quả khảo sát sự hài lòng của người dân, tổ chức năm 2026</h1>"
        ));
        assert!(html.contains("Quý I/2026"));
        assert!(html.contains("(Từ ngày 01/01/2026 đến ngày 31/03/2026)"));
        // The whole year: no period line.
        let mut whole = doc(&report);
        whole.period = None;
        assert!(!doc_head(&whole).into_string().contains("Quý I"));
    }

    #[test]
    fn forms_are_counted_against_targets() {
        let report = report();
        let html = purpose_and_method(&doc(&report)).into_string();
        let bao_hoa = row_of(&html, "bang-so-phieu", 2);
        assert!(
            bao_hoa.contains("<td class=\"num forms\">40</td>"),
            "{bao_hoa}"
        );
        assert!(bao_hoa.contains("<td class=\"num target\">40</td>"));
        assert!(bao_hoa.contains("Đạt"));
        let suoi_cat = row_of(&html, "bang-so-phieu", 3);
        assert!(suoi_cat.contains("Chưa đạt"), "{suoi_cat}");
        assert!(suoi_cat.contains("Chưa đủ mẫu (dưới chỉ tiêu)"));
        assert!(
            html.contains("Tổng số phiếu hợp lệ: <strong>75</strong> / 90 phiếu theo chỉ tiêu")
        );
        assert!(html.contains("Kế hoạch khảo sát năm 2026"));
        assert!(html.contains("sai số cho phép 5,00%"));
    }

    #[test]
    fn the_overall_result_has_the_index_its_interval_and_the_ranking() {
        let report = report();
        let html = overall(&doc(&report)).into_string();
        let total = report.total.index.unwrap();
        assert!(html.contains(&format_percent(total)));
        assert!(html.contains(&format_interval(report.total.index_ci)));
        assert!(html.contains("<svg"), "the ranked chart");
        assert!(html.contains("class=\"bar reliable\""));
        // Bảo Hòa: A = (0.95 + 0.9) / 2 = 0.925, B = 0.875, index 0.9.
        let bao_hoa = row_of(&html, "bang-xep-hang", 2);
        assert!(
            bao_hoa.contains("<td class=\"num index\">90,00%</td>"),
            "{bao_hoa}"
        );
        assert!(bao_hoa.contains("<td class=\"num rank\">1</td>"));
        let xuan_bac = row_of(&html, "bang-xep-hang", 4);
        assert!(xuan_bac.contains("Chưa có phiếu"));
        // Suối Cát (35 forms against a target of 40) is short of sample: listed under its
        // heading, unranked, and no "lowest" either.
        assert!(
            html.contains("1/1 đơn vị đủ mẫu đạt Mục tiêu 2025 80%"),
            "{html}"
        );
        let suoi_cat = row_of(&html, "bang-xep-hang", 3);
        assert!(
            suoi_cat.contains("<td class=\"num rank\">–</td>"),
            "{suoi_cat}"
        );
        assert!(html.contains("Chưa đủ mẫu – chưa xếp hạng"));
        // The total against both goals of the plan.
        assert!(
            html.contains("Mục tiêu 2025 80%, chưa đạt Mục tiêu 2030 90%"),
            "{html}"
        );
    }

    #[test]
    fn each_factor_names_its_weakest_criterion_and_ranks_the_units() {
        let report = report();
        let html = by_factor(&doc(&report)).into_string();
        // Factor A overall: A1 58/75, A2 66/75: A1 is the weakest.
        assert!(
            html.contains("Tiêu chí có chỉ số thấp nhất: A1 “Thông tin dễ tiếp cận” (77,33%"),
            "{html}"
        );
        let a = &html[..html.find("data-factor=\"B\"").unwrap()];
        let first_a1 = a.find("data-item=\"A1\"").unwrap();
        let first_a2 = a.find("data-item=\"A2\"").unwrap();
        assert!(first_a1 < first_a2, "weakest first");
        // Per unit, best first: Bảo Hòa (92,50%) before Suối Cát (71,43%).
        assert!(a.find("data-unit=\"2\"").unwrap() < a.find("data-unit=\"3\"").unwrap());
        assert!(a.contains("92,50%") && a.contains("71,43%"));
    }

    #[test]
    fn units_below_target_and_short_of_forms_are_listed() {
        let report = report();
        let html = units_short(&doc(&report)).into_string();
        // Suối Cát: A (20/35 + 30/35)/2 = 71,43%, B 21/35 = 60%: index 65,71%.
        let below = row_of(&html, "bang-duoi-muc-tieu", 3);
        assert!(below.contains("65,71%"), "{below}");
        assert!(below.contains("Công chức (60,00%)"));
        assert!(!html[..html.find("bang-chua-du-mau").unwrap()].contains("data-unit=\"2\""));
        let short = row_of(&html, "bang-chua-du-mau", 3);
        assert!(short.contains("<td class=\"num\">50</td>"), "{short}");
        let none = row_of(&html, "bang-chua-du-mau", 4);
        assert!(none.contains("Chưa có phiếu"));
    }

    #[test]
    fn comments_show_their_handling() {
        let report = report();
        let mut d = doc(&report);
        let at = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 3, 2, 3, 0, 0).unwrap();
        let comment = |id: i64, handled: bool| CommentRow {
            response_id: id,
            item_id: 1,
            item_code: "YK".into(),
            body: format!("Góp ý số {id} <b>"),
            handled_at: handled.then_some(at),
            handled_by: None,
            handled_by_name: handled.then(|| "Cán bộ A".to_string()),
            handling_note: handled.then(|| "Đã bố trí thêm ghế chờ".to_string()),
            submitted_at: at,
            channel: "qr".into(),
            form_version_id: 1,
            unit_id: 2,
            unit_name: "UBND xã Bảo Hòa".into(),
            desk_name: None,
            excluded: false,
        };
        d.comments = vec![UnitComments {
            unit_id: 2,
            unit_name: "UBND xã Bảo Hòa".into(),
            total: 4,
            handled: 1,
            latest: vec![comment(7, true), comment(6, false)],
        }];
        d.comments_total = (4, 1);
        let html = comments_part(&d).into_string();
        assert!(
            html.contains("có 4 ý kiến góp ý; đã xử lý 1 (25,0 %)"),
            "{html}"
        );
        assert!(html.contains("UBND xã Bảo Hòa (4 ý kiến, đã xử lý 1)"));
        assert!(html.contains("Góp ý số 7 &lt;b&gt;"), "escaped");
        assert!(html.contains("Đã xử lý") && html.contains("Chưa xử lý"));
        assert!(html.contains("Cán bộ A): Đã bố trí thêm ghế chờ"));
        assert!(html.contains("10:00 ngày 02/03/2026"), "Vietnam's time");
    }

    #[test]
    fn the_appendix_has_every_unit_and_factor() {
        let report = report();
        let html = appendix(&doc(&report)).into_string();
        for row in &report.rows {
            let tr = row_of(&html, "phu-luc-don-vi", row.unit.id);
            assert!(tr.contains(&row.unit.name));
            assert!(tr.contains(&format!(
                "<td class=\"num index\">{}</td>",
                index_text(row.index)
            )));
            for f in &row.factors {
                assert!(tr.contains(&index_text(f.index)));
            }
        }
        assert!(html.contains("data-factor=\"A\">Tiếp cận dịch vụ</th>"));
        assert!(html.contains("Chung: UBND huyện Xuân Lộc"));
        assert!(html.contains("id=\"phu-luc-tieu-chi\""));
        assert!(html.contains("data-item=\"B1\""));
    }

    #[test]
    fn the_document_carries_the_office_fields() {
        let report = report();
        let mut d = doc(&report);
        // Blank by default: a number to write by hand, the default signer, the archive last.
        let html = document(&d).into_string();
        assert!(html.contains(&format!(
            "<p class=\"number\">Số: {}/BC</p>",
            "\u{a0}".repeat(10)
        )));
        assert!(html.contains("<p class=\"role\">THỦ TRƯỞNG CƠ QUAN</p>"));
        assert!(
            html.contains("<p>- UBND tỉnh Đồng Nai (Sở Nội vụ);</p><p>- Lưu: VT.</p>"),
            "{html}"
        );
        assert!(!html.contains("signer-name"));
        d.fields = DocumentFields {
            number: Some("12".into()),
            place: "Gia Ray".into(),
            date: NaiveDate::from_ymd_opt(2026, 2, 5).unwrap(),
            signer_title: vec!["KT. Chủ tịch".into(), "PHÓ CHỦ TỊCH".into()],
            signer_name: Some("Nguyễn Văn <b>A</b>".into()),
            recipients: vec![
                "Sở Nội vụ tỉnh".into(),
                "<script>alert(1)</script>".into(),
                "Lưu: VT".into(),
            ],
        };
        let html = document(&d).into_string();
        assert!(html.contains("<p class=\"number\">Số: 12/BC</p>"));
        assert!(html.contains("Gia Ray, ngày 05 tháng 02 năm 2026"));
        assert!(
            html.contains("<p class=\"role\">KT. CHỦ TỊCH</p><p class=\"role\">PHÓ CHỦ TỊCH</p>")
        );
        assert!(html.contains("<p class=\"signer-name\">Nguyễn Văn &lt;b&gt;A&lt;/b&gt;</p>"));
        assert!(html.contains("<p>- &lt;script&gt;alert(1)&lt;/script&gt;;</p>"));
        assert!(!html.contains("<script>"));
    }

    #[test]
    fn every_table_is_a_keyboard_scrollable_region() {
        let report = report();
        let html = document(&doc(&report)).into_string();
        let tables = html.matches("<table").count();
        assert!(tables >= 9, "{tables}");
        assert_eq!(
            html.matches("<div class=\"table-scroll\" role=\"region\" aria-label=\"")
                .count(),
            tables
        );
        assert!(html.contains(
            "<div class=\"table-scroll\" role=\"region\" aria-label=\"Phụ lục 1. Chỉ số theo đơn vị và yếu tố\" tabindex=\"0\"><table class=\"doc-table wide\" id=\"phu-luc-don-vi\">"
        ));
    }

    #[test]
    fn the_form_keeps_the_filters_and_links_the_files() {
        let report = report();
        let d = doc(&report);
        let input = DocumentInput {
            number: "12".into(),
            signer_name: "Trần Thị B".into(),
            ..DocumentInput::default()
        };
        let errors = FieldErrors::new();
        let mut form = DocForm {
            input: &input,
            errors: &errors,
            defaults: &d.fields,
            filters: vec![
                ("year".into(), "2026".into()),
                ("period".into(), "q1".into()),
            ],
            pdf: true,
        };
        let html = document_form(&form, true).into_string();
        assert!(html.contains("<input type=\"hidden\" name=\"period\" value=\"q1\">"));
        assert!(html.contains(
            "href=\"/staff/report.pdf?year=2026&amp;period=q1&amp;doc_number=12&amp;signer_name=Tr%E1%BA%A7n+Th%E1%BB%8B+B\">Tải PDF</a>"
        ), "{html}");
        assert!(
            html.contains(
                "href=\"/staff/report.docx?year=2026&amp;period=q1&amp;doc_number=12&amp;"
            )
        );
        assert!(
            html.contains(">UBND tỉnh Đồng Nai (Sở Nội vụ)\nLưu: VT</textarea>"),
            "the default recipients to edit"
        );
        form.pdf = false;
        let html = document_form(&form, true).into_string();
        assert!(!html.contains("Tải PDF"));
        assert!(html.contains("Tải Word (.docx)"));
        assert!(html.contains("chưa in được PDF"));
        let mut refused = FieldErrors::new();
        refused.insert("doc_number", "Số văn bản dài quá 40 ký tự.".into());
        form.errors = &refused;
        let html = document_form(&form, false).into_string();
        assert!(html.contains("Số văn bản dài quá 40 ký tự."));
        assert!(html.contains("aria-invalid=\"true\""));
        assert!(
            !html.contains("Tải Word"),
            "no downloads without a document"
        );
    }

    #[test]
    fn the_file_stands_alone() {
        let report = report();
        let html = standalone(&doc(&report), "body{color:#000}</style><script>").into_string();
        assert!(
            html.contains("<style>body{color:#000}<\\/style><script></style>"),
            "the CSS cannot close its element"
        );
        assert!(!html.contains("<link"));
        assert!(!html.contains("report-tools"));
        assert!(html.contains("<article class=\"report\""));
        assert!(html.contains("Lưu: VT."));
    }
}
