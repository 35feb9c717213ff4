//! Pages of the staff area: exports ("Xuất dữ liệu"). The form (year, period, unit of the
//! account's scope, form, channel, format), the account's recent exports, and a job's page
//! with its progress (refreshing itself by `<meta http-equiv="refresh">`, no script) and its
//! download link.

use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

use super::{FieldErrors, csrf_input, error_summary, page, select_field, text_field};
use crate::SignedIn;
use crate::db::comments::UnitChoice;
use crate::db::exports::{DONE, EXPIRED, ExportJob, FAILED, QUEUED, RUNNING};
use crate::domain::channel::CHANNELS;
use crate::domain::export_format::ExportFormat;
use crate::format_vietnam_time;
use crate::public::format_count;
use crate::small_cells::{Disclosure, SUPPRESSED};
use crate::staff::comments::channel_label;

/// Where the pages live (and the menu path).
pub const PATH: &str = "/staff/exports";
/// Seconds between two refreshes of a job's page while it runs.
pub const REFRESH_SECONDS: u32 = 2;

/// The export form as typed (the query string of the form page, the body of its POST). The
/// period is "" (the year), "q1".."q4", "h1", "h2", "p{plan period id}", or a full token of
/// `crate::periods` ("2026-03").
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    pub year: String,
    #[serde(default)]
    pub period: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub form: String,
    #[serde(default)]
    pub channel: String,
    #[serde(default)]
    pub format: String,
}

impl ExportQuery {
    /// Whether anything was asked for (a bare form page checks nothing).
    pub fn is_empty(&self) -> bool {
        *self == ExportQuery::default()
    }

    /// The form page with these values filled in.
    pub fn link(&self) -> String {
        let pairs: Vec<(&str, &str)> = [
            ("year", self.year.as_str()),
            ("period", self.period.as_str()),
            ("unit", self.unit.as_str()),
            ("form", self.form.as_str()),
            ("channel", self.channel.as_str()),
            ("format", self.format.as_str()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
        if pairs.is_empty() {
            PATH.to_string()
        } else {
            format!(
                "{PATH}?{}",
                serde_urlencoded::to_string(pairs).unwrap_or_default()
            )
        }
    }

    /// The request a job was made of, to make it again.
    pub fn of_job(job: &ExportJob) -> ExportQuery {
        ExportQuery {
            year: job.year.to_string(),
            period: job.period.clone(),
            unit: job.unit_id.to_string(),
            form: job.form_id.clone(),
            channel: job.channel.clone().unwrap_or_default(),
            format: job.format.clone(),
        }
    }
}

/// The export form filled in with the statistics overview's filters ("Xuất Excel"). A custom
/// range of days has no export period: the form gets the year.
pub fn link_from_stats(selection: &crate::staff::stats::Selection) -> String {
    use crate::staff::stats::PeriodChoice;
    let period = match selection.period {
        PeriodChoice::Year | PeriodChoice::Custom => String::new(),
        PeriodChoice::Quarter(q) => format!("q{q}"),
        PeriodChoice::Plan(id) => format!("p{id}"),
    };
    ExportQuery {
        year: selection.year.to_string(),
        period,
        unit: selection.unit.map(|u| u.to_string()).unwrap_or_default(),
        form: selection.form.clone(),
        channel: selection.channel.clone().unwrap_or_default(),
        format: ExportFormat::Xlsx.as_str().to_string(),
    }
    .link()
}

/// The periods offered for a year: the year, its quarters and halves, then the periods of the
/// survey plans of the account's units (value, label).
pub fn period_options(plan_periods: &[(i32, String)]) -> Vec<(String, String)> {
    let mut options: Vec<(String, String)> = vec![
        (String::new(), "Cả năm".into()),
        ("q1".into(), "Quý I".into()),
        ("q2".into(), "Quý II".into()),
        ("q3".into(), "Quý III".into()),
        ("q4".into(), "Quý IV".into()),
        ("h1".into(), "6 tháng đầu năm".into()),
        ("h2".into(), "6 tháng cuối năm".into()),
    ];
    options.extend(
        plan_periods
            .iter()
            .map(|(id, label)| (format!("p{id}"), label.clone())),
    );
    options
}

/// What the form offers.
pub struct Choices<'a> {
    pub units: &'a [UnitChoice],
    /// (value, label), see [`period_options`].
    pub periods: &'a [(String, String)],
    /// (form id, title).
    pub forms: &'a [(String, String)],
    pub default_form: &'a str,
}

/// The form page.
pub struct ExportsPage<'a> {
    pub query: &'a ExportQuery,
    pub choices: Choices<'a>,
    pub errors: &'a FieldErrors,
    /// The account's recent exports, newest first.
    pub jobs: &'a [ExportJob],
    /// Exports of at most this many responses download at once.
    pub inline_rows: u64,
}

pub fn exports(staff: &SignedIn, p: &ExportsPage<'_>) -> Markup {
    let q = p.query;
    let mut periods = p.choices.periods.to_vec();
    if !q.period.is_empty() && !periods.iter().any(|(v, _)| *v == q.period) {
        // A token typed in the URL ("2026-03"): kept, so that the form sends it back.
        periods.push((q.period.clone(), q.period.clone()));
    }
    let units: Vec<(String, String)> = std::iter::once((
        String::new(),
        "Tất cả đơn vị thuộc phạm vi của tài khoản".to_string(),
    ))
    .chain(p.choices.units.iter().map(|u| {
        let indent = "\u{a0}\u{a0}\u{a0}".repeat(usize::try_from(u.depth).unwrap_or(0));
        (u.id.to_string(), format!("{indent}{}", u.name))
    }))
    .collect();
    let form_selected = if q.form.is_empty() {
        p.choices.default_form
    } else {
        q.form.as_str()
    };
    let forms: Vec<(String, String)> = p.choices.forms.to_vec();
    let channels: Vec<(String, String)> = std::iter::once((String::new(), "Tất cả".to_string()))
        .chain(
            CHANNELS
                .iter()
                .map(|c| (c.to_string(), channel_label(c).to_string())),
        )
        .collect();
    let format_selected = ExportFormat::parse(&q.format).unwrap_or(ExportFormat::Xlsx);
    let format_error = p.errors.get("format");
    page(
        "Xuất dữ liệu",
        staff,
        PATH,
        html! {
            p {
                "Tạo tệp kết quả khảo sát và dữ liệu phiếu để gửi cấp trên hoặc phân tích: bảng tính Excel "
                "(tổng hợp, tiêu chí, mong đợi, thông tin người trả lời, góp ý, dữ liệu và bảng mã hóa), "
                "dữ liệu thô dạng CSV với bảng mã hóa, và cú pháp SPSS đọc tệp CSV đó."
            }
            p.hint {
                "Tệp nhỏ (đến " (format_count(p.inline_rows)) " phiếu) được tải về ngay; tệp lớn được tạo ở chế độ nền, "
                "trang tiến độ tự cập nhật và tệp được giữ lại để tải về sau."
                @if staff.scope.unit_ids().is_some() { " Anh/Chị chỉ xuất được dữ liệu của các đơn vị mình phụ trách." }
            }
            @if Disclosure::for_scope(&staff.scope).is_protected() {
                p.hint.small-cells {
                    "Để bảo vệ dữ liệu cá nhân của người trả lời: trong các bảng thông tin người trả lời, nhóm dưới 5 người "
                    "được ghi “" (SUPPRESSED) "”; dữ liệu thô (CSV, SPSS, trang “Dữ liệu” của bảng tính) không có các câu hỏi "
                    "về người trả lời (giới tính, độ tuổi, dân tộc, học vấn, nghề nghiệp, hình thức, lĩnh vực)."
                }
            }
            h2 { "Tạo tệp mới" }
            (error_summary(p.errors))
            form method="post" action=(PATH) {
                (csrf_input(&staff.csrf))
                div.filters {
                    (text_field("year", "Năm", &q.year, p.errors, "text", None))
                    (select_field("period", "Kỳ", &periods, &q.period, p.errors))
                    (select_field("unit", "Đơn vị", &units, &q.unit, p.errors))
                    (select_field("form", "Mẫu phiếu", &forms, form_selected, p.errors))
                    (select_field("channel", "Kênh", &channels, &q.channel, p.errors))
                }
                fieldset.field.err[format_error.is_some()] {
                    legend { "Định dạng tệp" }
                    @if let Some(message) = format_error { p.msg { (message) } }
                    @for format in ExportFormat::ALL {
                        div {
                            label {
                                input type="radio" name="format" value=(format.as_str())
                                    checked[format == format_selected];
                                " " (format.label())
                            }
                        }
                    }
                }
                button type="submit" { "Xuất dữ liệu" }
            }
            h2 { "Các tệp đã xuất" }
            (job_list(p.jobs))
        },
    )
}

/// "Đang chờ", "Đang xuất", ...
pub fn status_label(job: &ExportJob) -> &'static str {
    match job.status.as_str() {
        QUEUED => "Đang chờ xử lý",
        RUNNING => "Đang xuất",
        DONE => "Hoàn thành",
        FAILED => "Lỗi",
        EXPIRED => "Đã hết hạn",
        _ => "Không rõ",
    }
}

fn format_label(job: &ExportJob) -> &str {
    match ExportFormat::parse(&job.format) {
        Some(format) => format.label(),
        None => &job.format,
    }
}

/// "830 byte", "12,4 KB", "3,1 MB".
pub fn format_bytes(bytes: i64) -> String {
    let bytes = bytes.max(0) as f64;
    let (value, unit) = if bytes < 1024.0 {
        return format!("{bytes} byte");
    } else if bytes < 1024.0 * 1024.0 {
        (bytes / 1024.0, "KB")
    } else if bytes < 1024.0 * 1024.0 * 1024.0 {
        (bytes / 1024.0 / 1024.0, "MB")
    } else {
        (bytes / 1024.0 / 1024.0 / 1024.0, "GB")
    };
    format!("{value:.1} {unit}").replace('.', ",")
}

fn job_link(job: &ExportJob) -> String {
    format!("{PATH}/{}", job.id)
}

fn download_link(job: &ExportJob) -> String {
    format!("{PATH}/{}/download", job.id)
}

fn job_list(jobs: &[ExportJob]) -> Markup {
    html! {
        @if jobs.is_empty() {
            p { "Anh/Chị chưa xuất tệp nào." }
        } @else {
            div.table-scroll tabindex="0" role="region" aria-label="Các lần xuất dữ liệu" {
                table {
                    thead {
                        tr {
                            th { "Yêu cầu lúc" }
                            th { "Nội dung" }
                            th { "Định dạng" }
                            th { "Trạng thái" }
                            th { "Tệp" }
                        }
                    }
                    tbody {
                        @for job in jobs {
                            tr {
                                td { (format_vietnam_time(job.created_at)) }
                                td { a href=(job_link(job)) { (job.label) } }
                                td { (format_label(job)) }
                                td {
                                    (status_label(job))
                                    @if job.status == RUNNING {
                                        @if let Some(percent) = job.percent() { " (" (percent) "%)" }
                                    }
                                }
                                td {
                                    @if job.is_done() {
                                        a href=(download_link(job)) download { "Tải về" }
                                        @if let Some(size) = job.byte_size { " (" (format_bytes(size)) ")" }
                                    } @else {
                                        a href=(job_link(job)) { "Xem" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            p.hint { "Danh sách chỉ gồm các tệp do Anh/Chị yêu cầu. Tệp được xóa khi hết hạn lưu trữ." }
        }
    }
}

/// A job's page. While the job is queued or running, it refreshes itself every
/// [`REFRESH_SECONDS`] seconds.
pub fn job(staff: &SignedIn, job: &ExportJob) -> Markup {
    let refreshing = !job.is_finished();
    let again = ExportQuery::of_job(job).link();
    let body = page(
        "Tệp xuất dữ liệu",
        staff,
        PATH,
        html! {
            dl {
                dt { "Nội dung" } dd { (job.label) }
                dt { "Định dạng" } dd { (format_label(job)) }
                dt { "Yêu cầu lúc" } dd { (format_vietnam_time(job.created_at)) }
                dt { "Trạng thái" } dd id="status" { strong { (status_label(job)) } }
            }
            @match job.status.as_str() {
                QUEUED => {
                    p role="status" { "Yêu cầu đang chờ đến lượt xử lý. Trang này tự cập nhật; Anh/Chị có thể rời trang và quay lại sau." }
                    progress max="100" { "Đang chờ" }
                }
                RUNNING => {
                    @let done = u64::try_from(job.rows_done).unwrap_or(0);
                    p role="status" {
                        "Đang xuất: đã xử lý " (format_count(done))
                        @if let Some(total) = job.rows_total {
                            " / " (format_count(u64::try_from(total).unwrap_or(0)))
                        }
                        " phiếu"
                        @if let Some(percent) = job.percent() { " (" (percent) "%)" }
                        ". Trang này tự cập nhật; Anh/Chị có thể rời trang và quay lại sau."
                    }
                    @if let Some(percent) = job.percent() {
                        progress max="100" value=(percent) { (percent) "%" }
                    } @else {
                        progress max="100" { "Đang xuất" }
                    }
                }
                DONE => {
                    p role="status" {
                        "Đã xuất " (format_count(u64::try_from(job.rows_done).unwrap_or(0))) " phiếu"
                        @if let Some(size) = job.byte_size { ", tệp " (format_bytes(size)) }
                        "."
                        @if let Some(expires) = job.expires_at {
                            " Tệp được lưu đến " (format_vietnam_time(expires)) "."
                        }
                    }
                    p {
                        a.button href=(download_link(job)) download {
                            "Tải về " (job.file_name.as_deref().unwrap_or("tệp"))
                        }
                    }
                }
                FAILED => {
                    div.alert role="alert" {
                        p { strong { "Không xuất được dữ liệu." } }
                        p { (job.error.as_deref().unwrap_or("")) }
                    }
                    p { a href=(again) { "Xuất lại với cùng lựa chọn" } }
                }
                _ => {
                    p { "Tệp đã hết thời hạn lưu trữ và đã được xóa. " a href=(again) { "Xuất lại với cùng lựa chọn" } }
                }
            }
            p { a href=(PATH) { "← Xuất dữ liệu và các tệp đã xuất" } }
        },
    );
    if refreshing {
        with_refresh(body, REFRESH_SECONDS)
    } else {
        body
    }
}

/// The page with `<meta http-equiv="refresh">` in its head.
fn with_refresh(page: Markup, seconds: u32) -> Markup {
    let text = page.into_string();
    let meta = format!("<meta http-equiv=\"refresh\" content=\"{seconds}\">");
    PreEscaped(match text.find("<title>") {
        Some(at) => format!("{}{meta}{}", &text[..at], &text[at..]),
        None => text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_vietnamese() {
        assert_eq!(format_bytes(830), "830 byte");
        assert_eq!(format_bytes(12_700), "12,4 KB");
        assert_eq!(format_bytes(3_250_000), "3,1 MB");
    }

    #[test]
    fn links_keep_the_choices() {
        let q = ExportQuery {
            year: "2026".into(),
            period: "q1".into(),
            unit: "7".into(),
            format: "xlsx".into(),
            ..ExportQuery::default()
        };
        assert_eq!(
            q.link(),
            "/staff/exports?year=2026&period=q1&unit=7&format=xlsx"
        );
        assert_eq!(ExportQuery::default().link(), PATH);
    }

    #[test]
    fn the_refresh_goes_into_the_head() {
        let page = with_refresh(
            html! { (maud::DOCTYPE) html { head { title { "x" } } body { "y" } } },
            2,
        )
        .into_string();
        let meta = page.find("http-equiv=\"refresh\"").unwrap();
        assert!(meta < page.find("</head>").unwrap());
    }
}
