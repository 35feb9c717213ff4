//! The Excel workbook of an export: "Tổng hợp", "Tiêu chí", "Mong đợi", "Thông tin người trả
//! lời", "Góp ý", "Dữ liệu" and "Mã hóa".
//!
//! Every figure comes from [`crate::reports::build`] (the dashboard's and the API's function).
//! Indices, shares and intervals are numbers with a percentage format, stored as published: a
//! percentage with two decimals ([`crate::stats::round_percent`]), so the workbook shows the
//! dashboard's digits and a formula over them uses the same. "Góp ý" and "Dữ liệu" are
//! constant-memory worksheets, written row by row between database batches.

use std::path::Path;

use anyhow::Context;
use diesel_async::AsyncPgConnection;
use rust_xlsxwriter::{Color, Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError};

use super::csv::{CODEBOOK_HEADER, Cell, codebook_rows, data_filter, for_each_batch};
use super::{ExportSpec, Progress};
use crate::db::comments::{self, CommentFilter, CommentRow, Cursor};
use crate::disclosure::TimeDetail;
use crate::domain::format::format_vietnam_time;
use crate::forms::FormRegistry;
use crate::periods::previous_period;
use crate::plans::format_date;
use crate::reports::{self, Report, ReportQuery, UnitReport};
use crate::small_cells::{Count, SUPPRESSED, SUPPRESSED_SHARE};
use crate::stats::round_percent;

pub const SHEET_SUMMARY: &str = "Tổng hợp";
pub const SHEET_CRITERIA: &str = "Tiêu chí";
pub const SHEET_EXPECTATIONS: &str = "Mong đợi";
pub const SHEET_RESPONDENTS: &str = "Thông tin người trả lời";
pub const SHEET_COMMENTS: &str = "Góp ý";
pub const SHEET_DATA: &str = "Dữ liệu";
pub const SHEET_CODEBOOK: &str = "Mã hóa";

/// The row of the column headers on every sheet (0-based; the title and the period above it).
pub const HEADER_ROW: u32 = 4;
/// Excel's last row (1,048,576 rows).
const MAX_ROWS: u32 = 1_048_576;
/// Comments read per database round trip.
const COMMENT_BATCH: i64 = 2_000;

/// "chưa đủ mẫu" / "đủ mẫu".
pub fn reliability(enough: bool) -> &'static str {
    if enough {
        "đủ mẫu"
    } else {
        "chưa đủ mẫu"
    }
}

/// A share as stored in the workbook: the published percentage (two decimals) as a fraction.
pub fn published(share: f64) -> f64 {
    round_percent(share) / 100.0
}

struct Formats {
    title: Format,
    subtitle: Format,
    header: Format,
    text: Format,
    wrap: Format,
    count: Format,
    percent: Format,
    mean: Format,
    bold_text: Format,
    bold_count: Format,
    bold_percent: Format,
}

impl Formats {
    fn new() -> Self {
        let percent = "0.00%";
        Formats {
            title: Format::new().set_bold().set_font_size(14),
            subtitle: Format::new().set_italic(),
            header: Format::new()
                .set_bold()
                .set_text_wrap()
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter)
                .set_background_color(Color::RGB(0xDDEBF7))
                .set_border(FormatBorder::Thin),
            text: Format::new(),
            wrap: Format::new().set_text_wrap().set_align(FormatAlign::Top),
            count: Format::new().set_num_format("#,##0"),
            percent: Format::new().set_num_format(percent),
            mean: Format::new().set_num_format("0.00"),
            bold_text: Format::new().set_bold(),
            bold_count: Format::new().set_bold().set_num_format("#,##0"),
            bold_percent: Format::new().set_bold().set_num_format(percent),
        }
    }
}

/// Title, period and form above the headers; the headers; frozen panes below them; A4
/// landscape with the header row repeated on every printed page.
fn prepare(
    sheet: &mut Worksheet,
    f: &Formats,
    spec: &ExportSpec,
    name: &str,
    headers: &[(&str, f64)],
    note: Option<&str>,
) -> Result<(), XlsxError> {
    sheet.set_name(name)?;
    for (col, (_, width)) in headers.iter().enumerate() {
        sheet.set_column_width(col as u16, *width)?;
    }
    sheet.write_string_with_format(0, 0, &spec.title, &f.title)?;
    sheet.write_string_with_format(
        1,
        0,
        format!("Kỳ: {} · Mẫu phiếu: {}", spec.period_label, spec.form_title),
        &f.subtitle,
    )?;
    if let Some(note) = note {
        sheet.write_string_with_format(2, 0, note, &f.subtitle)?;
    }
    sheet.set_row_height(HEADER_ROW, 45)?;
    for (col, (header, _)) in headers.iter().enumerate() {
        sheet.write_string_with_format(HEADER_ROW, col as u16, *header, &f.header)?;
    }
    sheet.set_freeze_panes(HEADER_ROW + 1, 0)?;
    sheet.set_paper_size(9);
    sheet.set_landscape();
    sheet.set_margins(0.4, 0.4, 0.6, 0.6, 0.3, 0.3);
    sheet.set_repeat_rows(HEADER_ROW, HEADER_ROW)?;
    sheet.set_header(format!(
        "&L&8{}&R&8{}",
        xl_escape(name),
        xl_escape(&spec.period_label)
    ));
    sheet.set_footer("&C&8Trang &P/&N");
    Ok(())
}

/// `&` starts a code in Excel's page headers.
fn xl_escape(text: &str) -> String {
    text.replace('&', "&&")
}

fn write_opt_percent(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    value: Option<f64>,
    format: &Format,
) -> Result<(), XlsxError> {
    match value {
        Some(v) if v.is_finite() => {
            sheet.write_number_with_format(row, col, published(v), format)?;
        }
        _ => {
            sheet.write_string(row, col, "—")?;
        }
    }
    Ok(())
}

/// The rows of a report with its total (when the report has several rows).
fn unit_rows(report: &Report) -> Vec<(&UnitReport, bool)> {
    let mut rows: Vec<(&UnitReport, bool)> = report.rows.iter().map(|r| (r, false)).collect();
    let only_root = report.rows.len() == 1 && report.rows[0].unit.id == report.root.id;
    if !only_root {
        rows.push((&report.total, true));
    }
    rows
}

fn unit_name(row: &UnitReport, total: bool) -> String {
    if total {
        format!("Tổng hợp: {}", row.unit.name)
    } else {
        row.unit.name.clone()
    }
}

fn summary_sheet(
    sheet: &mut Worksheet,
    f: &Formats,
    spec: &ExportSpec,
    report: &Report,
    previous: &Report,
) -> Result<(), XlsxError> {
    let factors: Vec<String> = report
        .total
        .factors
        .iter()
        .map(|x| format!("Chỉ số {} ({})", x.title, x.code))
        .collect();
    let mut headers: Vec<(&str, f64)> = vec![
        ("Mã đơn vị", 18.0),
        ("Đơn vị", 34.0),
        ("Số phiếu", 10.0),
        ("Chỉ tiêu số phiếu", 10.0),
    ];
    for name in &factors {
        headers.push((name, 13.0));
    }
    headers.extend([
        ("Chỉ số SIPAS", 11.0),
        ("Khoảng tin cậy 95% – cận dưới", 12.0),
        ("Khoảng tin cậy 95% – cận trên", 12.0),
        ("Xếp hạng", 8.0),
        ("Chỉ số kỳ trước", 11.0),
        ("Thay đổi so với kỳ trước (điểm %)", 12.0),
        ("Kiểm định thay đổi (mức ý nghĩa 5%)", 30.0),
        ("Độ tin cậy", 13.0),
    ]);
    let mut note = format!(
        "Kỳ trước: {} – {}. Chỉ số là tỉ lệ hài lòng theo Quyết định 1001/QĐ-BNV; “chưa đủ mẫu”: dưới 30 phiếu hoặc dưới chỉ tiêu của kế hoạch.",
        format_date(previous.query.from),
        format_date(previous.query.to)
    );
    let refused = previous
        .lineage
        .as_ref()
        .is_some_and(|l| l.refused.is_some());
    if let Some(lineage) = &previous.lineage {
        note.push_str(&format!(" Kỳ trước của dòng tổng: {}.", lineage.text()));
    }
    for row in &previous.rows {
        if let Some(lineage) = &row.lineage {
            note.push_str(&format!(
                " Kỳ trước của {}: {}.",
                row.unit.name,
                lineage.text()
            ));
        }
    }
    prepare(sheet, f, spec, SHEET_SUMMARY, &headers, Some(&note))?;
    sheet.set_print_fit_to_pages(1, 0);
    for (row, (unit, total)) in (HEADER_ROW + 1..).zip(unit_rows(report)) {
        let (text, count, percent) = if total {
            (&f.bold_text, &f.bold_count, &f.bold_percent)
        } else {
            (&f.text, &f.count, &f.percent)
        };
        let before = if total {
            Some(&previous.total).filter(|_| !refused)
        } else {
            // A row that could not be regrouped across an act has no previous figures.
            previous
                .rows
                .iter()
                .find(|r| r.unit.id == unit.unit.id)
                .filter(|r| r.lineage.as_ref().is_none_or(|l| l.refused.is_none()))
        };
        sheet.write_string_with_format(row, 0, &unit.unit.code, text)?;
        sheet.write_string_with_format(row, 1, unit_name(unit, total), text)?;
        sheet.write_number_with_format(row, 2, unit.responses as f64, count)?;
        match unit.target {
            Some(t) => sheet.write_number_with_format(row, 3, t as f64, count)?,
            None => sheet.write_string(row, 3, "—")?,
        };
        let mut col = 4u16;
        for factor in &unit.factors {
            write_opt_percent(sheet, row, col, factor.index, percent)?;
            col += 1;
        }
        write_opt_percent(sheet, row, col, unit.index, percent)?;
        write_opt_percent(sheet, row, col + 1, unit.index_ci.map(|i| i.low), percent)?;
        write_opt_percent(sheet, row, col + 2, unit.index_ci.map(|i| i.high), percent)?;
        match unit.rank {
            Some(rank) => sheet.write_number_with_format(row, col + 3, f64::from(rank), count)?,
            // Short of sample (or no forms): listed, not ranked (`reports::ranks`).
            None if unit.responses == 0 => {
                sheet.write_string(row, col + 3, reports::UNRANKED_EMPTY)?
            }
            None => sheet.write_string(row, col + 3, reports::UNRANKED_SHORT)?,
        };
        write_opt_percent(sheet, row, col + 4, before.and_then(|b| b.index), percent)?;
        let published_change = unit
            .index
            .zip(before.and_then(|b| b.index))
            // In points of a percent as published (two decimals), as a fraction.
            .map(|(now, then)| {
                ((round_percent(now) - round_percent(then)) * 100.0).round() / 10_000.0
            });
        match published_change {
            Some(change) => sheet.write_number_with_format(row, col + 5, change, percent)?,
            None => sheet.write_string(row, col + 5, "—")?,
        };
        let test = before
            .and_then(|b| reports::change(unit, b))
            .map(|d| reports::significance_text(d.p_value))
            .unwrap_or_else(|| "không đủ số liệu để so sánh".into());
        sheet.write_string(row, col + 6, test)?;
        sheet.write_string(row, col + 7, reliability(unit.enough_sample))?;
    }
    Ok(())
}

/// The codes of the distribution columns: those of the first item, then any other.
fn distribution_codes<'a>(
    items: impl Iterator<Item = &'a reports::ItemReport>,
) -> Vec<(i16, String)> {
    let mut codes: Vec<(i16, String)> = Vec::new();
    for item in items {
        for (code, label) in &item.labels {
            if !codes.iter().any(|(c, _)| c == code) {
                codes.push((*code, label.clone()));
            }
        }
    }
    codes
}

fn item_sheet(
    sheet: &mut Worksheet,
    f: &Formats,
    spec: &ExportSpec,
    report: &Report,
    expectations: bool,
) -> Result<(), XlsxError> {
    let items_of = |u: &UnitReport| -> Vec<(String, reports::ItemReport)> {
        if expectations {
            u.expectations
                .iter()
                .map(|i| (String::new(), i.clone()))
                .collect()
        } else {
            u.factors
                .iter()
                .flat_map(|x| x.criteria.iter().map(|c| (x.title.clone(), c.clone())))
                .collect()
        }
    };
    let total_items = items_of(&report.total);
    let codes = distribution_codes(total_items.iter().map(|(_, i)| i));
    let code_headers: Vec<String> = codes
        .iter()
        .map(|(code, label)| format!("Tỉ lệ “{code}. {label}”"))
        .collect();
    let mut headers: Vec<(&str, f64)> = vec![("Mã đơn vị", 18.0), ("Đơn vị", 30.0)];
    if !expectations {
        headers.push(("Yếu tố", 18.0));
    }
    headers.extend([
        (
            if expectations {
                "Mã"
            } else {
                "Mã tiêu chí"
            },
            8.0,
        ),
        (
            if expectations {
                "Nội dung mong đợi"
            } else {
                "Tiêu chí"
            },
            48.0,
        ),
        ("Số câu trả lời hợp lệ", 10.0),
        ("Không áp dụng", 9.0),
    ]);
    for h in &code_headers {
        headers.push((h, 11.0));
    }
    headers.extend([
        ("Điểm trung bình", 9.0),
        (
            if expectations {
                "Tỉ lệ mong đợi cao"
            } else {
                "Chỉ số hài lòng"
            },
            10.0,
        ),
        ("Khoảng tin cậy 95% – cận dưới", 11.0),
        ("Khoảng tin cậy 95% – cận trên", 11.0),
    ]);
    let name = if expectations {
        SHEET_EXPECTATIONS
    } else {
        SHEET_CRITERIA
    };
    prepare(sheet, f, spec, name, &headers, None)?;
    let mut row = HEADER_ROW + 1;
    for (unit, total) in unit_rows(report) {
        for (factor, item) in items_of(unit) {
            let mut col = 0u16;
            sheet.write_string(row, col, &unit.unit.code)?;
            sheet.write_string(row, col + 1, unit_name(unit, total))?;
            col += 2;
            if !expectations {
                sheet.write_string(row, col, &factor)?;
                col += 1;
            }
            sheet.write_string(row, col, &item.code)?;
            sheet.write_string_with_format(row, col + 1, &item.text, &f.text)?;
            sheet.write_number_with_format(row, col + 2, item.stats.n_valid as f64, &f.count)?;
            sheet.write_number_with_format(row, col + 3, item.not_applicable as f64, &f.count)?;
            col += 4;
            for (code, _) in &codes {
                let share = item
                    .stats
                    .shares
                    .iter()
                    .find(|(c, _)| c == code)
                    .map(|(_, s)| *s);
                match share {
                    Some(s) if item.stats.n_valid > 0 => {
                        sheet.write_number_with_format(row, col, published(s), &f.percent)?;
                    }
                    _ => {
                        sheet.write_string(row, col, "—")?;
                    }
                }
                col += 1;
            }
            match item.stats.mean {
                Some(m) => sheet.write_number_with_format(
                    row,
                    col,
                    (m * 100.0).round() / 100.0,
                    &f.mean,
                )?,
                None => sheet.write_string(row, col, "—")?,
            };
            write_opt_percent(sheet, row, col + 1, item.stats.index, &f.percent)?;
            write_opt_percent(
                sheet,
                row,
                col + 2,
                item.stats.index_ci.map(|i| i.low),
                &f.percent,
            )?;
            write_opt_percent(
                sheet,
                row,
                col + 3,
                item.stats.index_ci.map(|i| i.high),
                &f.percent,
            )?;
            row += 1;
        }
    }
    Ok(())
}

/// Above the respondents' sheet of a unit account's workbook.
const SMALL_CELLS_NOTE: &str = "“< 5”: nhóm có dưới 5 người trả lời, không ghi số liệu cụ thể để bảo vệ dữ liệu cá nhân; khi cần, một nhóm khác cũng được ẩn cùng để không tính ngược được từ tổng số. Bảng “Dữ liệu” không có các câu hỏi về người trả lời.";

fn respondents_sheet(
    sheet: &mut Worksheet,
    f: &Formats,
    spec: &ExportSpec,
    report: &Report,
) -> Result<(), XlsxError> {
    let headers: [(&str, f64); 8] = [
        ("Mã đơn vị", 18.0),
        ("Đơn vị", 30.0),
        ("Mã câu hỏi", 12.0),
        ("Câu hỏi", 40.0),
        ("Mã", 6.0),
        ("Lựa chọn", 30.0),
        ("Số người", 10.0),
        ("Tỉ lệ (trong số người trả lời câu hỏi)", 14.0),
    ];
    let note = report.disclosure.is_protected().then_some(SMALL_CELLS_NOTE);
    prepare(sheet, f, spec, SHEET_RESPONDENTS, &headers, note)?;
    let mut row = HEADER_ROW + 1;
    for (unit, total) in unit_rows(report) {
        for question in &unit.respondents {
            for (code, label, n) in &question.counts {
                sheet.write_string(row, 0, &unit.unit.code)?;
                sheet.write_string(row, 1, unit_name(unit, total))?;
                sheet.write_string(row, 2, &question.code)?;
                sheet.write_string(row, 3, &question.text)?;
                sheet.write_number(row, 4, f64::from(*code))?;
                sheet.write_string(row, 5, label)?;
                match n {
                    Count::Exact(n) => {
                        sheet.write_number_with_format(row, 6, *n as f64, &f.count)?;
                    }
                    Count::Suppressed => {
                        sheet.write_string(row, 6, SUPPRESSED)?;
                    }
                }
                match question.share(*n) {
                    Some(share) => {
                        sheet.write_number_with_format(row, 7, published(share), &f.percent)?;
                    }
                    None if n.is_suppressed() => {
                        sheet.write_string(row, 7, SUPPRESSED_SHARE)?;
                    }
                    None => {
                        sheet.write_string(row, 7, "—")?;
                    }
                }
                row += 1;
            }
        }
    }
    Ok(())
}

const COMMENT_HEADERS: [(&str, f64); 11] = [
    ("Thời điểm gửi", 17.0),
    ("Đơn vị", 28.0),
    ("Quầy", 20.0),
    ("Kênh", 7.0),
    ("Mã câu hỏi", 8.0),
    ("Nội dung góp ý", 60.0),
    ("Tình trạng", 12.0),
    ("Người xử lý", 18.0),
    ("Thời điểm xử lý", 17.0),
    ("Ghi chú xử lý", 40.0),
    ("Phiếu", 24.0),
];

fn comment_row(
    sheet: &mut Worksheet,
    f: &Formats,
    row: u32,
    c: &CommentRow,
    times: TimeDetail,
) -> Result<(), XlsxError> {
    sheet.write_string(row, 0, times.format(c.submitted_at))?;
    sheet.write_string(row, 1, &c.unit_name)?;
    sheet.write_string(row, 2, c.desk_name.as_deref().unwrap_or(""))?;
    sheet.write_string(row, 3, &c.channel)?;
    sheet.write_string(row, 4, &c.item_code)?;
    sheet.write_string_with_format(row, 5, &c.body, &f.wrap)?;
    sheet.write_string(
        row,
        6,
        if c.handled_at.is_some() {
            "Đã xử lý"
        } else {
            "Chưa xử lý"
        },
    )?;
    sheet.write_string(row, 7, c.handled_by_name.as_deref().unwrap_or(""))?;
    sheet.write_string(
        row,
        8,
        c.handled_at.map(format_vietnam_time).unwrap_or_default(),
    )?;
    sheet.write_string_with_format(row, 9, c.handling_note.as_deref().unwrap_or(""), &f.wrap)?;
    if c.excluded {
        sheet.write_string(row, 10, crate::domain::flags::EXCLUDED_NOTE)?;
    }
    Ok(())
}

/// The previous period's report, to compute the change of each row.
fn previous_query(query: &ReportQuery) -> ReportQuery {
    let (from, to) = previous_period(query.from, query.to);
    ReportQuery {
        from,
        to,
        period_id: None,
        ..query.clone()
    }
}

/// The document's properties: its title, and as its creation time the newest response of the
/// data (the first moment of the period when there is none), never the clock, so that the same
/// data gives the same file byte for byte (a restored backup's export equals the original's:
/// tests/backup.rs).
fn properties(
    spec: &ExportSpec,
    newest: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<rust_xlsxwriter::DocProperties, XlsxError> {
    let created = newest
        .or_else(|| super::csv::start_of_day(spec.query.from))
        .map_or(0, |t| t.timestamp());
    Ok(rust_xlsxwriter::DocProperties::new()
        .set_title(&spec.title)
        .set_creation_datetime(&rust_xlsxwriter::ExcelDateTime::from_timestamp(created)?))
}

/// Writes the workbook of `spec` to `out`; returns the number of responses in "Dữ liệu".
pub async fn write_workbook(
    conn: &mut AsyncPgConnection,
    forms: &FormRegistry,
    spec: &ExportSpec,
    out: &Path,
    progress: Progress<'_>,
) -> anyhow::Result<u64> {
    let report = reports::build(conn, forms, &spec.scope, &spec.query)
        .await
        .map_err(|e| anyhow::anyhow!("building the report: {e}"))?;
    // The previous period regrouped into today's units across reorganisations (issue 19), the
    // total and each row.
    let previous = reports::build_by_lineage(
        conn,
        forms,
        &spec.scope,
        &previous_query(&spec.query),
        spec.query.to,
    )
    .await
    .map_err(|e| anyhow::anyhow!("building the previous period's report: {e}"))?;
    let layout = crate::labelled_layout(conn, forms, spec).await?;
    let f = Formats::new();
    let mut workbook = Workbook::new();
    workbook.set_tempdir(std::env::temp_dir())?;
    workbook.add_worksheet();
    workbook.add_worksheet();
    workbook.add_worksheet();
    workbook.add_worksheet();
    workbook.add_worksheet_with_constant_memory()?;
    workbook.add_worksheet_with_constant_memory()?;
    workbook.add_worksheet();
    summary_sheet(
        workbook.worksheet_from_index(0)?,
        &f,
        spec,
        &report,
        &previous,
    )?;
    item_sheet(workbook.worksheet_from_index(1)?, &f, spec, &report, false)?;
    item_sheet(workbook.worksheet_from_index(2)?, &f, spec, &report, true)?;
    respondents_sheet(workbook.worksheet_from_index(3)?, &f, spec, &report)?;

    // Góp ý: the comments of the spec's units and days, newest first.
    {
        let filter = CommentFilter {
            units: Some(spec.units.clone()),
            from: super::csv::start_of_day(spec.query.from),
            until: spec.query.to.succ_opt().and_then(super::csv::start_of_day),
            form_id: Some(spec.query.form_id.clone()),
            ..CommentFilter::default()
        };
        prepare(
            workbook.worksheet_from_index(4)?,
            &f,
            spec,
            SHEET_COMMENTS,
            &COMMENT_HEADERS,
            None,
        )?;
        let mut row = HEADER_ROW + 1;
        let mut after: Option<Cursor> = None;
        let times = TimeDetail::for_scope(&spec.scope);
        loop {
            let batch =
                comments::find_for_scope(conn, &spec.scope, &filter, after, COMMENT_BATCH).await?;
            let Some(last) = batch.last() else { break };
            after = Some(last.cursor());
            let sheet = workbook.worksheet_from_index(4)?;
            for c in &batch {
                if row >= MAX_ROWS {
                    break;
                }
                comment_row(sheet, &f, row, c, times)?;
                row += 1;
            }
            if (batch.len() as i64) < COMMENT_BATCH || row >= MAX_ROWS {
                break;
            }
        }
    }

    // Dữ liệu: one row per response, as in the CSV.
    let filter = data_filter(spec, &layout);
    let total = crate::db::responses::export_count(conn, &filter).await?;
    let room = u64::from(MAX_ROWS - HEADER_ROW - 1);
    let note = (total > room).then(|| {
        format!(
            "Bảng chỉ chứa {room} phiếu đầu tiên trong {total} phiếu (giới hạn số dòng của Excel); dùng tệp CSV để có toàn bộ."
        )
    });
    let headers: Vec<(&str, f64)> = layout
        .columns
        .iter()
        .map(|c| {
            let width = match c.name.as_str() {
                "submitted_at" => 25.0,
                "unit_code" | "unit_code_now" | "desk_code" | "form_id" => 20.0,
                _ if matches!(c.kind, super::csv::ColumnKind::Text { .. }) => 40.0,
                _ => 9.0,
            };
            (c.name.as_str(), width)
        })
        .collect();
    prepare(
        workbook.worksheet_from_index(5)?,
        &f,
        spec,
        SHEET_DATA,
        &headers,
        note.as_deref(),
    )?;
    let mut row = HEADER_ROW + 1;
    let mut newest: Option<chrono::DateTime<chrono::Utc>> = None;
    let written = {
        let sheet = workbook.worksheet_from_index(5)?;
        for_each_batch(conn, &filter, progress, |batch| {
            newest = batch.iter().map(|r| r.submitted_at).chain(newest).max();
            for r in batch {
                if row >= MAX_ROWS {
                    break;
                }
                for (col, cell) in layout.cells(r).into_iter().enumerate() {
                    let col = col as u16;
                    match cell {
                        Cell::Empty => {}
                        Cell::Number(n) => {
                            sheet.write_number(row, col, n)?;
                        }
                        Cell::Text(t) => {
                            sheet.write_string(row, col, t)?;
                        }
                        Cell::Owned(t) => {
                            sheet.write_string(row, col, t)?;
                        }
                    }
                }
                row += 1;
            }
            Ok(())
        })
        .await?
    };

    // Mã hóa: the codebook.
    {
        let sheet = workbook.worksheet_from_index(6)?;
        let widths = [14.0, 26.0, 70.0, 8.0, 70.0];
        let headers: Vec<(&str, f64)> = CODEBOOK_HEADER.iter().copied().zip(widths).collect();
        prepare(sheet, &f, spec, SHEET_CODEBOOK, &headers, None)?;
        for (row, cells) in (HEADER_ROW + 1..).zip(codebook_rows(&layout)) {
            for (col, text) in cells.iter().enumerate() {
                sheet.write_string_with_format(row, col as u16, text, &f.wrap)?;
            }
        }
    }
    workbook.set_properties(&properties(spec, newest)?);
    workbook
        .save(out)
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(written.min(room))
}
