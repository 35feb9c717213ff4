//! The printable report as an editable Word file (`GET /staff/report.docx`): the document of
//! `/staff/report` (crates/sipas-views/src/staff/report.rs) part by part, as real paragraphs
//! and tables, laid out as Nghị định 30/2020/NĐ-CP sets an administrative document: A4, Times
//! New Roman 13 pt (the title 14 pt), margins 20/15/20/30 mm, the issuing body and the national
//! motto on top, recipients and signature at the end; the appendix on landscape pages.
//!
//! Every figure is one of the [`Prepared`] report's, formatted as the page prints it
//! ("82,66%"); nothing is computed here but orderings and selections of those figures. The
//! chart of part II is not drawn: its table follows it in the page and stands here alone.

use chrono::{Datelike, NaiveDate};
use docx_rs::{
    AlignmentType, BreakType, Docx, LineSpacing, PageMargin, PageOrientationType, PageSize,
    Paragraph, Run, RunFonts, SectionProperty, SpecialIndentType, Table, TableAlignmentType,
    TableCell, TableLayoutType, TableRow, VAlignType, WidthType,
};

use crate::domain::format::{format_vietnam_time, group_thousands};
use crate::plans::{Status, format_date, percent};
use crate::reports::{Report, UnitReport};
use crate::stats::{Interval, MIN_RELIABLE_SAMPLE, format_percent};
use sipas_app::report_document::{DocumentFields, Prepared, wording};
use sipas_core::goals;

/// The MIME type of a .docx.
pub const CONTENT_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

/// A4 in twentieths of a point.
const A4: (u32, u32) = (11906, 16838);
/// 1 mm in twentieths of a point.
const MM: f64 = 56.692;
/// Body text: 13 pt, in half-points.
const BODY: usize = 26;
const TITLE: usize = 28;
const TABLE: usize = 24;
const WIDE_TABLE: usize = 22;
const FONT: &str = "Times New Roman";

#[derive(Debug, thiserror::Error)]
#[error("writing the Word file: {0}")]
pub struct DocxError(String);

fn mm(v: f64) -> i32 {
    (v * MM).round() as i32
}

fn index_text(index: Option<f64>) -> String {
    index.map_or_else(|| "—".to_string(), format_percent)
}

fn interval_text(ci: Option<Interval>) -> String {
    ci.map_or_else(
        || "—".to_string(),
        |ci| format!("{} – {}", format_percent(ci.low), format_percent(ci.high)),
    )
}

fn count(n: u64) -> String {
    group_thousands(n)
}

fn count_i(n: i64) -> String {
    let out = group_thousands(n.unsigned_abs());
    if n < 0 { format!("-{out}") } else { out }
}

/// The page's "Chưa đủ mẫu" note (crates/sipas-views/src/staff/stats.rs `sample_note`).
fn sample_note(report: &UnitReport) -> String {
    if report.responses == 0 {
        "Chưa có phiếu".to_string()
    } else if report.enough_sample {
        String::new()
    } else if report.responses < MIN_RELIABLE_SAMPLE {
        format!("Chưa đủ mẫu (< {MIN_RELIABLE_SAMPLE} phiếu)")
    } else {
        "Chưa đủ mẫu (dưới chỉ tiêu)".to_string()
    }
}

fn channel_label(channel: &str) -> &str {
    crate::domain::channel::Channel::parse(channel).map_or(channel, |c| c.label())
}

/// "Xuân Lộc, ngày 05 tháng 02 năm 2026" (as the page writes it).
fn place_and_date(place: &str, date: NaiveDate) -> String {
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

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(max - 1).collect();
        cut.push('…');
        cut
    }
}

// Building blocks.

fn run(text: impl Into<String>) -> Run {
    Run::new().add_text(text)
}

/// A paragraph of body text: justified, first line indented 1 cm, 6 pt after.
fn para(text: impl Into<String>) -> Paragraph {
    Paragraph::new()
        .add_run(run(text))
        .align(AlignmentType::Both)
        .indent(
            None,
            Some(SpecialIndentType::FirstLine(mm(10.0))),
            None,
            None,
        )
        .line_spacing(LineSpacing::new().after(120))
}

fn centered(r: Run) -> Paragraph {
    Paragraph::new().add_run(r).align(AlignmentType::Center)
}

/// "I. MỤC ĐÍCH, PHƯƠNG PHÁP", "1. Mục đích": bold, kept with what follows.
fn heading(text: impl Into<String>) -> Paragraph {
    Paragraph::new()
        .add_run(run(text).bold())
        .keep_next(true)
        .line_spacing(LineSpacing::new().before(120).after(60))
}

/// A list item: "- text", indented like the page's list.
fn item(text: impl Into<String>) -> Paragraph {
    Paragraph::new()
        .add_run(run(format!("- {}", text.into())))
        .align(AlignmentType::Both)
        .indent(Some(mm(10.0)), None, None, None)
        .line_spacing(LineSpacing::new().after(60))
}

fn caption(text: impl Into<String>) -> Paragraph {
    Paragraph::new()
        .add_run(run(text).bold())
        .align(AlignmentType::Center)
        .keep_next(true)
        .line_spacing(LineSpacing::new().before(120).after(60))
}

fn page_break() -> Paragraph {
    Paragraph::new().add_run(Run::new().add_break(BreakType::Page))
}

#[derive(Clone, Copy, PartialEq)]
enum Align {
    Left,
    Right,
    Center,
}

struct Cell {
    text: String,
    align: Align,
    bold: bool,
    span: usize,
}

fn left(text: impl Into<String>) -> Cell {
    Cell {
        text: text.into(),
        align: Align::Left,
        bold: false,
        span: 1,
    }
}

fn num(text: impl Into<String>) -> Cell {
    Cell {
        align: Align::Right,
        ..left(text)
    }
}

fn bold(mut cell: Cell) -> Cell {
    cell.bold = true;
    cell
}

fn spanning(mut cell: Cell, span: usize) -> Cell {
    cell.span = span;
    cell
}

fn cell(c: Cell, size: usize) -> TableCell {
    let mut r = run(c.text).size(size);
    if c.bold {
        r = r.bold();
    }
    let align = match c.align {
        Align::Left => AlignmentType::Left,
        Align::Right => AlignmentType::Right,
        Align::Center => AlignmentType::Center,
    };
    let mut out = TableCell::new()
        .add_paragraph(Paragraph::new().add_run(r).align(align))
        .vertical_align(VAlignType::Center);
    if c.span > 1 {
        out = out.grid_span(c.span);
    }
    out
}

/// A ruled table: its header row bold and centred, repeated on every page.
fn table(headers: &[&str], rows: Vec<Vec<Cell>>, size: usize) -> Table {
    let head = TableRow::new(
        headers
            .iter()
            .map(|h| {
                cell(
                    Cell {
                        text: h.to_string(),
                        align: Align::Center,
                        bold: true,
                        span: 1,
                    },
                    size,
                )
            })
            .collect(),
    )
    .cant_split();
    let mut all = vec![head];
    all.extend(
        rows.into_iter()
            .map(|r| TableRow::new(r.into_iter().map(|c| cell(c, size)).collect()).cant_split()),
    );
    Table::new(all)
        .width(5000, WidthType::Pct)
        .layout(TableLayoutType::Autofit)
        .align(TableAlignmentType::Center)
}

/// A table without rules (the head and the signature blocks): `left` and `right` columns.
fn two_blocks(left: Vec<Paragraph>, right: Vec<Paragraph>, left_pct: usize) -> Table {
    let column = |paragraphs: Vec<Paragraph>, pct: usize| {
        paragraphs
            .into_iter()
            .fold(TableCell::new(), |c, p| c.add_paragraph(p))
            .width(pct * 50, WidthType::Pct)
    };
    Table::without_borders(vec![TableRow::new(vec![
        column(left, left_pct),
        column(right, 100 - left_pct),
    ])])
    .width(5000, WidthType::Pct)
    .layout(TableLayoutType::Fixed)
}

/// The document of a prepared report with the office's fields.
pub fn report(prepared: &Prepared, fields: &DocumentFields) -> Result<Vec<u8>, DocxError> {
    let portrait = SectionProperty::new()
        .page_size(PageSize::new().size(A4.0, A4.1))
        .page_margin(margin(20.0, 15.0, 20.0, 30.0));
    let mut docx = Docx::new()
        .default_fonts(
            RunFonts::new()
                .ascii(FONT)
                .hi_ansi(FONT)
                .cs(FONT)
                .east_asia(FONT),
        )
        .default_size(BODY)
        // The appendix (the last section): A4 landscape.
        .page_size(A4.1, A4.0)
        .page_orient(PageOrientationType::Landscape)
        .page_margin(margin(20.0, 15.0, 15.0, 20.0));
    for block in head(prepared, fields) {
        docx = block.add_to(docx);
    }
    for block in purpose_and_method(prepared) {
        docx = block.add_to(docx);
    }
    for block in overall(prepared) {
        docx = block.add_to(docx);
    }
    for block in by_factor(&prepared.report) {
        docx = block.add_to(docx);
    }
    for block in units_short(&prepared.report) {
        docx = block.add_to(docx);
    }
    for block in comments(prepared) {
        docx = block.add_to(docx);
    }
    docx = docx.add_table(signature(fields));
    // The end of the portrait section.
    docx = docx.add_paragraph(Paragraph::new().section_property(portrait));
    for block in appendix(&prepared.report) {
        docx = block.add_to(docx);
    }
    let mut out = std::io::Cursor::new(Vec::new());
    docx.build()
        .pack(&mut out)
        .map_err(|e| DocxError(e.to_string()))?;
    Ok(out.into_inner())
}

fn margin(top: f64, right: f64, bottom: f64, left: f64) -> PageMargin {
    PageMargin::new()
        .top(mm(top))
        .right(mm(right))
        .bottom(mm(bottom))
        .left(mm(left))
        .header(mm(10.0))
        .footer(mm(10.0))
}

enum Block {
    P(Box<Paragraph>),
    T(Box<Table>),
}

impl Block {
    fn add_to(self, docx: Docx) -> Docx {
        match self {
            Block::P(p) => docx.add_paragraph(*p),
            Block::T(t) => docx.add_table(*t),
        }
    }
}

impl From<Paragraph> for Block {
    fn from(p: Paragraph) -> Self {
        Block::P(Box::new(p))
    }
}

impl From<Table> for Block {
    fn from(t: Table) -> Self {
        Block::T(Box::new(t))
    }
}

/// The issuing body and the number, the national motto, place and date; the title.
fn head(p: &Prepared, fields: &DocumentFields) -> Vec<Block> {
    let report = &p.report;
    let small = |text: String| centered(run(text).size(24));
    let mut issuer = Vec::new();
    if let Some(parent) = &p.issuer.parent {
        issuer.push(small(parent.to_uppercase()));
    }
    issuer.push(centered(run(p.issuer.name.to_uppercase()).size(24).bold()));
    issuer.push(centered(run("———").size(20)));
    issuer.push(small(fields.number_line()));
    let nation = vec![
        centered(run("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM").size(24).bold()),
        centered(run("Độc lập - Tự do - Hạnh phúc").bold()),
        centered(run("———————————").size(20)),
        centered(run(place_and_date(&fields.place, fields.date)).italic()),
    ];
    let mut subtitle = Paragraph::new().align(AlignmentType::Center);
    if let Some(period) = &p.about.period {
        subtitle = subtitle
            .add_run(run(period.clone()).italic())
            .add_run(Run::new().add_break(BreakType::TextWrapping));
    }
    subtitle = subtitle.add_run(
        run(format!(
            "(Từ ngày {} đến ngày {})",
            format_date(report.query.from),
            format_date(report.query.to)
        ))
        .italic(),
    );
    let mut scope = report.root.name.clone();
    if !report.rows_are_the_root() {
        scope.push_str(" và các đơn vị trực thuộc");
    }
    if let Some(kind) = &p.about.kind {
        scope.push_str(&format!(" · Loại đơn vị: {kind}"));
    }
    if let Some(channel) = &report.query.channel {
        scope.push_str(&format!(" · Kênh: {}", channel_label(channel)));
    }
    subtitle = subtitle
        .add_run(Run::new().add_break(BreakType::TextWrapping))
        .add_run(run(scope).italic());
    vec![
        two_blocks(issuer, nation, 40).into(),
        centered(run(doc_title(p.about.year)).bold().size(TITLE))
            .line_spacing(LineSpacing::new().before(360).after(60))
            .into(),
        subtitle.line_spacing(LineSpacing::new().after(240)).into(),
    ]
}

/// The document's title, as the page's `h1`.
fn doc_title(year: i32) -> String {
    format!("Báo cáo kết quả khảo sát sự hài lòng của người dân, tổ chức năm {year}")
}

/// Part I: purpose and method, the forms per unit against the targets (Bảng 1).
fn purpose_and_method(p: &Prepared) -> Vec<Block> {
    let report = &p.report;
    let total = &report.total;
    let criteria: usize = total.factors.iter().map(|f| f.criteria.len()).sum();
    let scale = total
        .factors
        .iter()
        .flat_map(|f| f.criteria.iter())
        .next()
        .and_then(|c| Some((c.labels.first()?.1.clone(), c.labels.last()?.1.clone())));
    let targets = report.rows.iter().any(|r| r.target.is_some());
    let mut scope = report.root.name.clone();
    if !report.rows_are_the_root() {
        scope.push_str(&format!(" và {} đơn vị trực thuộc", report.rows.len()));
    }
    scope.push_str(&format!(
        "; phiếu khảo sát nhận từ ngày {} đến ngày {}",
        format_date(report.query.from),
        format_date(report.query.to)
    ));
    if let Some(period) = &p.about.period {
        scope.push_str(&format!(" ({period})"));
    }
    scope.push('.');
    let mut form = format!(
        "Mẫu phiếu: {} ({} yếu tố, {criteria} tiêu chí",
        p.about.form_title,
        total.factors.len()
    );
    if let Some((low, high)) = scale {
        form.push_str(&format!(
            "; mỗi tiêu chí trả lời theo thang từ “{low}” đến “{high}”"
        ));
    }
    form.push_str(").");
    let mut respondents = wording::RESPONDENTS.to_string();
    if let Some(channel) = &report.query.channel {
        respondents.push_str(&format!(
            " Báo cáo chỉ tính phiếu thu qua kênh: {}.",
            channel_label(channel)
        ));
    }
    let mut sampling = match &p.plan {
        Some(plan) => {
            let mut s = format!("Chọn mẫu theo {}", plan.title);
            if let Some(period) = &plan.period {
                s.push_str(&format!(", {period}"));
            }
            s.push_str(&format!(
                "; sai số cho phép {}. ",
                format_percent(plan.margin_of_error)
            ));
            s
        }
        None => {
            "Chưa chọn đợt khảo sát của kế hoạch: số phiếu không được so với chỉ tiêu. ".to_string()
        }
    };
    sampling.push_str(&format!(
        "Chỉ số dựa trên dưới {MIN_RELIABLE_SAMPLE} phiếu, hoặc dưới chỉ tiêu của kế hoạch, được ghi “chưa đủ mẫu”."
    ));
    let mut forms = format!("Tổng số phiếu hợp lệ: {}", count(total.responses));
    if targets {
        let sum: u64 = report.rows.iter().filter_map(|r| r.target).sum();
        forms.push_str(&format!(" / {} phiếu theo chỉ tiêu", count(sum)));
    }
    forms.push('.');
    let mut headers = vec!["STT", "Đơn vị", "Số phiếu"];
    if targets {
        headers.extend(["Chỉ tiêu", "Tỉ lệ", "Tình trạng"]);
    }
    headers.push("Ghi chú");
    let rows = report
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let target = row.target.map(|t| t as i64);
            let mut cells = vec![
                num((i + 1).to_string()),
                left(row.unit.name.clone()),
                num(count(row.responses)),
            ];
            if targets {
                cells.push(num(target.map(count_i).unwrap_or_default()));
                cells.push(num(
                    percent(row.responses as i64, target).unwrap_or_default()
                ));
                cells.push(left(
                    Status::of(row.responses as i64, target).label().to_string(),
                ));
            }
            cells.push(left(sample_note(row)));
            cells
        })
        .collect();
    vec![
        heading("I. MỤC ĐÍCH, PHƯƠNG PHÁP").into(),
        heading("1. Mục đích").into(),
        para(wording::PURPOSE).into(),
        heading("2. Phạm vi, thời gian").into(),
        para(scope).into(),
        heading("3. Phương pháp").into(),
        item(form).into(),
        item(respondents).into(),
        item(sampling).into(),
        item(wording::COMPUTATION).into(),
        para(forms).into(),
        caption("Bảng 1. Số phiếu khảo sát theo đơn vị").into(),
        table(&headers, rows, TABLE).into(),
    ]
}

/// Part II: the overall index, the factors (Bảng 2), the ranking (Bảng 3).
fn overall(p: &Prepared) -> Vec<Block> {
    let report = &p.report;
    let total = &report.total;
    let goal = report.held_to();
    // The ranked units (enough sample), best first: the short ones are no "highest".
    let with_index: Vec<&UnitReport> = report.rows.iter().filter(|r| r.rank.is_some()).collect();
    let reaching = with_index
        .iter()
        .filter(|r| !goals::below(r.index, goal))
        .count();
    let mut out: Vec<Block> = vec![page_break().into(), heading("II. KẾT QUẢ CHUNG").into()];
    out.push(
        match total.index {
            Some(index) => {
                let mut text = format!(
                    "Chỉ số hài lòng về sự phục vụ hành chính (SIPAS) chung: {}",
                    format_percent(index)
                );
                if total.index_ci.is_some() {
                    text.push_str(&format!(
                        " (khoảng tin cậy 95%: {})",
                        interval_text(total.index_ci)
                    ));
                }
                text.push_str(&format!(", tính trên {} phiếu", count(total.responses)));
                text.push_str(&format!("; {}", goals::against(index, &report.goals)));
                text.push('.');
                if !total.enough_sample {
                    text.push_str(&format!(" {}.", sample_note(total)));
                }
                para(text)
            }
            None => para("Chưa có phiếu khảo sát hợp lệ trong kỳ báo cáo."),
        }
        .into(),
    );
    if !report.rows_are_the_root() && !with_index.is_empty() {
        let mut text = match goal {
            Some(goal) => format!(
                "{reaching}/{} đơn vị đủ mẫu đạt {}.",
                with_index.len(),
                goal.label.replace(':', "")
            ),
            None => format!("{} đơn vị đủ mẫu được xếp hạng.", with_index.len()),
        };
        if let (Some(best), Some(worst)) = (with_index.first(), with_index.last()) {
            text.push_str(&format!(
                " Cao nhất: {} ({}); thấp nhất: {} ({}).",
                best.unit.name,
                index_text(best.index),
                worst.unit.name,
                index_text(worst.index)
            ));
        }
        out.push(para(text).into());
    }
    let mut factors: Vec<Vec<Cell>> = total
        .factors
        .iter()
        .enumerate()
        .map(|(i, f)| {
            vec![
                num((i + 1).to_string()),
                left(f.title.clone()),
                num(f.criteria.len().to_string()),
                num(index_text(f.index)),
            ]
        })
        .collect();
    factors.push(vec![
        spanning(bold(left("Chỉ số SIPAS (trung bình các yếu tố)")), 3),
        bold(num(index_text(total.index))),
    ]);
    out.push(caption("Bảng 2. Chỉ số hài lòng theo yếu tố").into());
    out.push(table(&["STT", "Yếu tố", "Số tiêu chí", "Chỉ số"], factors, TABLE).into());
    if !report.rows.is_empty() {
        let mut rows = Vec::new();
        for (i, row) in report.rows.iter().enumerate() {
            // As on the page: the units short of sample beneath, unranked.
            if row.rank.is_none() && (i == 0 || report.rows[i - 1].rank.is_some()) {
                rows.push(vec![spanning(bold(left("Chưa đủ mẫu – chưa xếp hạng")), 6)]);
            }
            rows.push(vec![
                num(row.rank.map_or_else(|| "–".to_string(), |r| r.to_string())),
                left(row.unit.name.clone()),
                num(index_text(row.index)),
                left(interval_text(row.index_ci)),
                num(count(row.responses)),
                left(sample_note(row)),
            ]);
        }
        out.push(caption("Bảng 3. Xếp hạng chỉ số SIPAS của các đơn vị").into());
        out.push(
            table(
                &["Hạng", "Đơn vị", "Chỉ số", "KTC 95%", "Số phiếu", "Ghi chú"],
                rows,
                TABLE,
            )
            .into(),
        );
    }
    out
}

/// Part III: per factor, its criteria from the weakest and its index per unit.
fn by_factor(report: &Report) -> Vec<Block> {
    let mut out: Vec<Block> = vec![
        page_break().into(),
        heading("III. KẾT QUẢ THEO YẾU TỐ").into(),
    ];
    for (i, factor) in report.total.factors.iter().enumerate() {
        let n = i + 1;
        let criteria = factor.criteria_weakest_first();
        let units = report.units_by_factor(i);
        out.push(
            heading(format!(
                "{n}. Yếu tố “{}”: {}",
                factor.title,
                index_text(factor.index)
            ))
            .into(),
        );
        if let Some(w) = factor.weakest_criterion() {
            out.push(
                para(format!(
                    "Tiêu chí có chỉ số thấp nhất: {} “{}” ({}, {} câu trả lời hợp lệ).",
                    w.code,
                    w.text,
                    index_text(w.stats.index),
                    count(w.stats.n_valid)
                ))
                .into(),
            );
        }
        let rows = criteria
            .iter()
            .map(|c| {
                vec![
                    left(c.code.clone()),
                    left(c.text.clone()),
                    num(count(c.stats.n_valid)),
                    num(index_text(c.stats.index)),
                ]
            })
            .collect();
        out.push(
            caption(format!(
                "Bảng {}a. Các tiêu chí của yếu tố, từ thấp đến cao",
                n + 3
            ))
            .into(),
        );
        out.push(
            table(
                &["Mã", "Tiêu chí", "Số câu trả lời hợp lệ", "Chỉ số"],
                rows,
                TABLE,
            )
            .into(),
        );
        if !report.rows_are_the_root() {
            let rows = units
                .iter()
                .enumerate()
                .map(|(k, (row, f))| {
                    vec![
                        num((k + 1).to_string()),
                        left(row.unit.name.clone()),
                        num(index_text(f.index)),
                        left(f.weakest_criterion().map_or_else(
                            || "—".to_string(),
                            |w| format!("{} ({})", w.code, index_text(w.stats.index)),
                        )),
                    ]
                })
                .collect();
            out.push(
                caption(format!(
                    "Bảng {}b. Chỉ số của yếu tố theo đơn vị, từ cao xuống thấp",
                    n + 3
                ))
                .into(),
            );
            out.push(
                table(
                    &["STT", "Đơn vị", "Chỉ số", "Tiêu chí thấp nhất"],
                    rows,
                    TABLE,
                )
                .into(),
            );
        }
    }
    out
}

/// Part IV: units below the target, units short of forms.
fn units_short(report: &Report) -> Vec<Block> {
    let goal = report.held_to();
    let goal_text = goal.map_or_else(String::new, goals::Goal::percent_text);
    let below_rows: Vec<&UnitReport> = report
        .rows
        .iter()
        .filter(|r| goals::below(r.index, goal))
        .collect();
    let short: Vec<&UnitReport> = report.rows.iter().filter(|r| !r.enough_sample).collect();
    let mut out: Vec<Block> = vec![
        page_break().into(),
        heading("IV. ĐƠN VỊ CHƯA ĐẠT").into(),
        heading(format!(
            "1. Đơn vị có chỉ số SIPAS dưới mục tiêu {goal_text}"
        ))
        .into(),
    ];
    if goal.is_none() {
        out.push(para("Kế hoạch khảo sát chưa đặt mục tiêu về chỉ số.").into());
    } else if below_rows.is_empty() {
        out.push(para(format!("Không có đơn vị nào có chỉ số dưới {goal_text}.")).into());
    } else {
        let rows = below_rows
            .iter()
            .enumerate()
            .map(|(i, row)| {
                vec![
                    num((i + 1).to_string()),
                    left(row.unit.name.clone()),
                    num(index_text(row.index)),
                    left(interval_text(row.index_ci)),
                    num(count(row.responses)),
                    left(row.weakest_factor().map_or_else(String::new, |f| {
                        format!("{} ({})", f.title, index_text(f.index))
                    })),
                ]
            })
            .collect();
        out.push(
            table(
                &[
                    "STT",
                    "Đơn vị",
                    "Chỉ số",
                    "KTC 95%",
                    "Số phiếu",
                    "Yếu tố thấp nhất",
                ],
                rows,
                TABLE,
            )
            .into(),
        );
    }
    out.push(heading("2. Đơn vị chưa đủ số phiếu").into());
    if short.is_empty() {
        out.push(para("Tất cả các đơn vị đã đủ số phiếu.").into());
    } else {
        let rows = short
            .iter()
            .enumerate()
            .map(|(i, row)| {
                vec![
                    num((i + 1).to_string()),
                    left(row.unit.name.clone()),
                    num(count(row.responses)),
                    num(row
                        .target
                        .map(count)
                        .unwrap_or_else(|| MIN_RELIABLE_SAMPLE.to_string())),
                    left(sample_note(row)),
                ]
            })
            .collect();
        out.push(
            table(
                &["STT", "Đơn vị", "Số phiếu", "Chỉ tiêu", "Ghi chú"],
                rows,
                TABLE,
            )
            .into(),
        );
        if short.iter().any(|r| r.target.is_none()) {
            out.push(
                para(format!(
                    "Đơn vị chưa được giao chỉ tiêu: so với mức tối thiểu {MIN_RELIABLE_SAMPLE} phiếu."
                ))
                .into(),
            );
        }
    }
    out
}

/// Part V: the comments, the latest few of each unit with their handling.
fn comments(p: &Prepared) -> Vec<Block> {
    let (total, handled) = p.comments_total;
    let mut out: Vec<Block> = vec![
        page_break().into(),
        heading("V. Ý KIẾN GÓP Ý CỦA NGƯỜI DÂN, TỔ CHỨC").into(),
    ];
    if total == 0 {
        out.push(para("Trong kỳ báo cáo không có ý kiến góp ý.").into());
        return out;
    }
    out.push(
        para(format!(
            "Trong kỳ báo cáo có {} ý kiến góp ý; đã xử lý {} ({}), chưa xử lý {}. Dưới đây là tối đa {} ý kiến mới nhất của mỗi đơn vị.",
            count_i(total),
            count_i(handled),
            percent(handled, Some(total)).unwrap_or_default(),
            count_i(total - handled),
            sipas_app::report_document::COMMENTS_PER_UNIT
        ))
        .into(),
    );
    for unit in &p.comments {
        out.push(
            heading(format!(
                "{} ({} ý kiến, đã xử lý {})",
                unit.unit_name,
                count_i(unit.total),
                count_i(unit.handled)
            ))
            .into(),
        );
        for c in &unit.latest {
            let mut line = format_vietnam_time(c.submitted_at);
            if c.unit_id != unit.unit_id {
                line.push_str(&format!(" · {}", c.unit_name));
            }
            line.push_str(if c.handled_at.is_some() {
                " · Đã xử lý"
            } else {
                " · Chưa xử lý"
            });
            if c.excluded {
                line.push_str(&format!(" · {}", crate::domain::flags::EXCLUDED_NOTE));
            }
            out.push(item(line).into());
            out.push(
                Paragraph::new()
                    .add_run(run(format!("“{}”", shorten(&c.body, 400))).italic())
                    .indent(Some(mm(20.0)), None, None, None)
                    .into(),
            );
            if let (Some(at), Some(note)) = (c.handled_at, &c.handling_note) {
                let by = c
                    .handled_by_name
                    .as_ref()
                    .map(|b| format!(", {b}"))
                    .unwrap_or_default();
                out.push(
                    Paragraph::new()
                        .add_run(
                            run(format!(
                                "Kết quả xử lý ({}{by}): {}",
                                format_vietnam_time(at),
                                shorten(note, 300)
                            ))
                            .size(24),
                        )
                        .indent(Some(mm(20.0)), None, None, None)
                        .line_spacing(LineSpacing::new().after(120))
                        .into(),
                );
            }
        }
    }
    out
}

/// "Nơi nhận" on the left, the signer on the right.
fn signature(fields: &DocumentFields) -> Table {
    let mut recipients = vec![
        Paragraph::new()
            .add_run(run("Nơi nhận:").bold().italic().size(24))
            .line_spacing(LineSpacing::new().before(240)),
    ];
    recipients.extend(
        fields
            .recipient_lines()
            .into_iter()
            .map(|r| Paragraph::new().add_run(run(r).size(22))),
    );
    let mut signer: Vec<Paragraph> = fields
        .signer_title
        .iter()
        .map(|line| centered(run(line.to_uppercase()).bold()))
        .collect();
    if let Some(first) = signer.first_mut() {
        *first = std::mem::take(first).line_spacing(LineSpacing::new().before(240));
    }
    signer.push(centered(run(wording::SIGN_HINT).italic().size(24)));
    // Room for the signature and the seal.
    for _ in 0..4 {
        signer.push(Paragraph::new());
    }
    if let Some(name) = &fields.signer_name {
        signer.push(centered(run(name.clone()).bold()));
    }
    two_blocks(recipients, signer, 50)
}

/// The appendix, on landscape pages: units × factors, then the criteria.
fn appendix(report: &Report) -> Vec<Block> {
    let total = &report.total;
    let mut headers: Vec<&str> = vec!["Hạng", "Đơn vị", "Số phiếu"];
    headers.extend(total.factors.iter().map(|f| f.title.as_str()));
    headers.extend(["Chỉ số SIPAS", "KTC 95%", "Ghi chú"]);
    let row_cells = |rank: String, name: Cell, row: &UnitReport| {
        let mut cells = vec![num(rank), name, num(count(row.responses))];
        cells.extend(row.factors.iter().map(|f| num(index_text(f.index))));
        cells.push(num(index_text(row.index)));
        cells.push(left(interval_text(row.index_ci)));
        cells.push(left(sample_note(row)));
        cells
    };
    let mut rows: Vec<Vec<Cell>> = report
        .rows
        .iter()
        .map(|row| {
            row_cells(
                row.rank.map_or_else(|| "–".to_string(), |r| r.to_string()),
                left(row.unit.name.clone()),
                row,
            )
        })
        .collect();
    rows.push(
        row_cells(
            String::new(),
            bold(left(format!("Chung: {}", report.root.name))),
            total,
        )
        .into_iter()
        .map(bold)
        .collect(),
    );
    let levels: Vec<String> = total
        .factors
        .iter()
        .flat_map(|f| f.criteria.iter())
        .next()
        .map(|c| c.labels.iter().map(|(_, l)| l.clone()).collect())
        .unwrap_or_default();
    let mut criteria_headers: Vec<&str> = vec!["Mã", "Tiêu chí", "Số câu trả lời hợp lệ"];
    criteria_headers.extend(levels.iter().map(String::as_str));
    criteria_headers.extend(["Điểm trung bình", "Chỉ số", "KTC 95%"]);
    let columns = criteria_headers.len();
    let mut criteria_rows: Vec<Vec<Cell>> = Vec::new();
    for f in &total.factors {
        criteria_rows.push(vec![spanning(
            bold(left(format!("{}: {}", f.title, index_text(f.index)))),
            columns,
        )]);
        for c in &f.criteria {
            let mut cells = vec![
                left(c.code.clone()),
                left(c.text.clone()),
                num(count(c.stats.n_valid)),
            ];
            cells.extend(c.stats.shares.iter().map(|(_, share)| {
                num(if c.stats.n_valid > 0 {
                    format_percent(*share)
                } else {
                    "—".to_string()
                })
            }));
            cells.push(num(c.stats.mean.map_or_else(
                || "—".to_string(),
                |m| {
                    let m = if m.abs() < 0.005 { 0.0 } else { m };
                    format!("{m:.2}").replace('.', ",")
                },
            )));
            cells.push(num(index_text(c.stats.index)));
            cells.push(left(interval_text(c.stats.index_ci)));
            criteria_rows.push(cells);
        }
    }
    vec![
        centered(run("PHỤ LỤC").bold()).into(),
        heading("Phụ lục 1. Chỉ số theo đơn vị và yếu tố").into(),
        table(&headers, rows, WIDE_TABLE).into(),
        heading(format!(
            "Phụ lục 2. Chỉ số theo tiêu chí (chung của {})",
            report.root.name
        ))
        .into(),
        table(&criteria_headers, criteria_rows, WIDE_TABLE).into(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_notes_read_as_on_the_page() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(
            place_and_date("Xuân Lộc", d(2026, 2, 5)),
            "Xuân Lộc, ngày 05 tháng 02 năm 2026"
        );
        assert_eq!(
            place_and_date("Xuân Lộc", d(2026, 11, 27)),
            "Xuân Lộc, ngày 27 tháng 11 năm 2026"
        );
        assert_eq!(count_i(-1234), "-1.234");
        assert_eq!(shorten("abcdef", 4), "abc…");
    }
}
