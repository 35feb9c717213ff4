//! The raw data: one row per response, coded, in one column layout ([`Layout`]) shared by the
//! CSV, the workbook's "Dữ liệu" and "Mã hóa" sheets, the codebook CSV and the SPSS syntax.
//!
//! Columns: response_id, submitted_at (ISO 8601 with the +07:00 offset), unit_code, desk_code,
//! form_id, form_version, channel, then whether the response counts in the published figures
//! and why not (counted, excluded_reason, flags, admin_decision: see [`crate::db::flags`]),
//! unit_code_now (today's unit(s) of unit_code after reorganisations, issue 19),
//! then one column per choice item code (the numeric answer; 0 = "Không áp dụng", a missing
//! value; empty when unanswered), then one column per open question. The raw data holds every
//! response of the selection, counted or not: keeping the rows with `counted = 1` reproduces
//! the published figures. Item codes are gathered over the stored versions of the exported
//! form(s) in (form id, version) order; two versions (or forms) sharing a code share its
//! column. Labels come from the newest version.

use std::collections::{HashMap, HashSet};
use std::io::Write;

use diesel_async::AsyncPgConnection;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::{ExportSpec, Progress};
use crate::db::responses::{ExportFilter, ExportedResponse, export_batch, export_count};
use crate::disclosure::{Disclosure, TimeDetail};
use crate::forms::{
    FormRegistry, ItemKind, NOT_APPLICABLE_CODE, RESIDENCE_DECLINED_CODE, RESIDENCE_DECLINED_LABEL,
    RESIDENCE_ELSEWHERE_CODE, RESIDENCE_ELSEWHERE_LABEL, SectionRole,
};

/// The UTF-8 byte order mark: Excel reads a CSV as UTF-8 only with it.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";
/// Responses read per database round trip.
pub const BATCH: i64 = 5_000;

/// What a column holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnKind {
    /// Numbers (ids, versions, answer codes).
    Number,
    /// Text, at most this many characters.
    Text { max_chars: usize },
}

/// One column of the raw data, with what the codebook says of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The header ("TC1"), also the SPSS variable name.
    pub name: String,
    /// The question's text, or what a fixed column holds.
    pub label: String,
    pub kind: ColumnKind,
    /// Codes and their labels, for coded answers.
    pub codes: Vec<(i16, String)>,
    /// The section the question belongs to ("Tiếp cận dịch vụ"), empty for fixed columns.
    pub section: String,
}

/// A cell of the raw data.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    Empty,
    Number(f64),
    Text(&'a str),
    Owned(String),
}

const FIXED_COLUMNS: [(&str, &str, bool); 12] = [
    (
        "response_id",
        "Mã phiếu (số thứ tự trong cơ sở dữ liệu)",
        true,
    ),
    (
        "submitted_at",
        "Thời điểm gửi phiếu (giờ Việt Nam, dạng ISO 8601; tài khoản đơn vị: chỉ ngày)",
        false,
    ),
    ("unit_code", "Mã đơn vị", false),
    (
        "desk_code",
        "Mã quầy (mã trong đường dẫn QR; trống với phiếu giấy)",
        false,
    ),
    ("form_id", "Mã mẫu phiếu", false),
    ("form_version", "Phiên bản mẫu phiếu", true),
    (
        "channel",
        "Kênh (qr: quét mã QR; paper: phiếu giấy nhập lại; kiosk, web, interview, post, phone)",
        false,
    ),
    (
        COUNTED,
        "Phiếu được tính vào kết quả công bố (1 = Có; 0 = Không: nghi vấn bị loại, hoặc phiếu mới chưa được tổng hợp)",
        true,
    ),
    (
        "excluded_reason",
        "Lý do không tính (trống khi được tính): admin_excluded = quản trị quyết định loại; các dấu hiệu nghi vấn đã loại phiếu theo mặc định (burst_desk, burst_client, identical_run, too_fast, outside_hours, straight_line), cách nhau bởi dấu chấm phẩy; pending = phiếu mới, chưa được kiểm tra và tổng hợp",
        false,
    ),
    (
        "flags",
        "Các dấu hiệu nghi vấn của phiếu, dù phiếu có được tính hay không (cách nhau bởi dấu chấm phẩy; trống khi không có)",
        false,
    ),
    (
        "admin_decision",
        "Quyết định của quản trị với phiếu nghi vấn (include = tính vào kết quả; exclude = không tính; trống khi chưa có quyết định)",
        false,
    ),
    (
        UNIT_CODE_NOW,
        "Mã đơn vị hiện nay: đơn vị đã nhận phiếu nếu vẫn còn; nếu đơn vị đã sắp xếp (sáp nhập, chia tách), mã các đơn vị kế thừa, cách nhau bởi dấu phẩy; trống nếu đơn vị đã giải thể",
        false,
    ),
];

/// The column of today's unit(s) of the unit a response was given to (issue 19): `unit_code`
/// keeps the unit as it was.
pub const UNIT_CODE_NOW: &str = "unit_code_now";

/// The column saying whether a response counts in the published figures (1) or not (0).
pub const COUNTED: &str = "counted";
/// The codes of [`COUNTED`].
const COUNTED_CODES: [(i16, &str); 2] = [(1, "Có"), (0, "Không")];

/// Where one form version's answers go in a row: the column of each answer index (0-based;
/// `None`: left out), and of each text item id.
type VersionColumns = (Vec<Option<usize>>, HashMap<i32, usize>);

/// Where each form version's answers go in a row.
#[derive(Debug, Clone)]
pub struct Layout {
    pub columns: Vec<Column>,
    /// Per form version id: where its answers go.
    versions: HashMap<i32, VersionColumns>,
    /// The choice columns answered on an ordered scale: the criteria (satisfaction) and
    /// expectations, as the newest version places them.
    ordinal: HashSet<String>,
    /// How `submitted_at` is written: to the second, or the day alone for a unit account.
    times: TimeDetail,
    /// The first of the three columns of the place of residence (its code, official code and
    /// name), when an exported version asks it and the account may see it.
    residence: Option<usize>,
    /// The labels of the listed places' codes (the newest version's list).
    residence_listed: HashMap<i16, String>,
}

impl Layout {
    /// Every form's versions (what `write_responses` exports).
    pub fn new(forms: &FormRegistry) -> Self {
        Self::build(forms, None, Disclosure::Exact)
    }

    /// The versions of the spec's form. A unit account's raw data has no column of the
    /// respondent questions (gender, age band, occupation...): one row per response with them
    /// would single out the respondents of a small desk, whatever the small-cell rule does to
    /// the tables (see [`crate::small_cells`]).
    pub fn for_spec(forms: &FormRegistry, spec: &ExportSpec) -> Self {
        Self::build(
            forms,
            Some(&spec.query.form_id),
            Disclosure::for_scope(&spec.scope),
        )
    }

    fn build(forms: &FormRegistry, form_id: Option<&str>, disclosure: Disclosure) -> Self {
        let left_out = |section: &crate::forms::Section| {
            disclosure.is_protected() && section.role == SectionRole::Respondent
        };
        let mut versions_sorted = forms.versions();
        versions_sorted.retain(|v| form_id.is_none_or(|f| v.form.id == f));
        versions_sorted.sort_by(|a, b| (&a.form.id, a.number).cmp(&(&b.form.id, b.number)));
        let mut choices: Vec<Column> = Vec::new();
        let mut texts: Vec<Column> = Vec::new();
        let mut ordinal = HashSet::new();
        let mut residence_item: Option<(String, String, String)> = None;
        let mut residence_listed: Vec<(i16, String)> = Vec::new();
        // Newest versions last: their labels win.
        for v in &versions_sorted {
            for (section, item) in v.form.items() {
                if left_out(section) {
                    continue;
                }
                if item.is_choice() {
                    if matches!(section.role, SectionRole::Factor | SectionRole::Expectation) {
                        ordinal.insert(item.code.clone());
                    } else {
                        ordinal.remove(&item.code);
                    }
                }
                if let ItemKind::Residence { places } = &item.kind {
                    residence_item =
                        Some((item.code.clone(), item.text.clone(), section.title.clone()));
                    residence_listed = places
                        .as_deref()
                        .and_then(|scale| v.form.scale(scale))
                        .map(|s| {
                            s.options
                                .iter()
                                .map(|o| (o.code, o.label.clone()))
                                .collect()
                        })
                        .unwrap_or_default();
                    continue;
                }
                let (list, column) = match &item.kind {
                    ItemKind::Choice {
                        scale,
                        not_applicable,
                    } => (
                        &mut choices,
                        Column {
                            name: item.code.clone(),
                            label: item.text.clone(),
                            kind: ColumnKind::Number,
                            codes: v
                                .form
                                .scale(scale)
                                .map(|s| {
                                    s.options
                                        .iter()
                                        .map(|o| (o.code, o.label.clone()))
                                        .chain(not_applicable.then(|| {
                                            (
                                                NOT_APPLICABLE_CODE,
                                                v.form.not_applicable_label.clone(),
                                            )
                                        }))
                                        .collect()
                                })
                                .unwrap_or_default(),
                            section: section.title.clone(),
                        },
                    ),
                    ItemKind::Residence { .. } => unreachable!("taken above"),
                    ItemKind::Text { max_length } => (
                        &mut texts,
                        Column {
                            name: item.code.clone(),
                            label: item.text.clone(),
                            kind: ColumnKind::Text {
                                max_chars: *max_length,
                            },
                            codes: Vec::new(),
                            section: section.title.clone(),
                        },
                    ),
                };
                match list.iter_mut().find(|c| c.name == column.name) {
                    Some(existing) => {
                        // An older version's "not applicable" answers stay labelled.
                        let older_na = existing
                            .codes
                            .iter()
                            .find(|(code, _)| *code == NOT_APPLICABLE_CODE)
                            .cloned();
                        let mut column = column;
                        if let Some(na) = older_na.filter(|_| {
                            !column.codes.iter().any(|(c, _)| *c == NOT_APPLICABLE_CODE)
                        }) {
                            column.codes.push(na);
                        }
                        *existing = column;
                    }
                    None => list.push(column),
                }
            }
        }
        let fixed: Vec<Column> = FIXED_COLUMNS
            .iter()
            .map(|(name, label, number)| Column {
                name: name.to_string(),
                label: label.to_string(),
                kind: if *number {
                    ColumnKind::Number
                } else {
                    ColumnKind::Text { max_chars: 64 }
                },
                codes: if *name == COUNTED {
                    COUNTED_CODES
                        .iter()
                        .map(|(code, label)| (*code, label.to_string()))
                        .collect()
                } else {
                    Vec::new()
                },
                section: String::new(),
            })
            .collect();
        let first_choice = fixed.len();
        let residence_columns: Vec<Column> = residence_item
            .map(|(code, text, section)| {
                let mut codes = residence_listed.clone();
                codes.push((RESIDENCE_ELSEWHERE_CODE, RESIDENCE_ELSEWHERE_LABEL.to_string()));
                codes.push((RESIDENCE_DECLINED_CODE, RESIDENCE_DECLINED_LABEL.to_string()));
                vec![
                    Column {
                        name: code.clone(),
                        label: format!(
                            "{text} (mã: số của đơn vị trong phần mềm, hoặc mã trong danh sách của mẫu phiếu; -1 = Nơi khác; -2 = Không muốn trả lời)"
                        ),
                        kind: ColumnKind::Number,
                        codes,
                        section: section.clone(),
                    },
                    Column {
                        name: format!("{code}_MA"),
                        label: format!("{text}: mã đơn vị hành chính"),
                        kind: ColumnKind::Text { max_chars: 5 },
                        codes: Vec::new(),
                        section: section.clone(),
                    },
                    Column {
                        name: format!("{code}_TEN"),
                        label: format!("{text}: tên"),
                        kind: ColumnKind::Text { max_chars: 200 },
                        codes: Vec::new(),
                        section,
                    },
                ]
            })
            .unwrap_or_default();
        let residence = (!residence_columns.is_empty()).then_some(first_choice + choices.len());
        let first_text = first_choice + choices.len() + residence_columns.len();
        let position = |list: &[Column], code: &str| {
            list.iter()
                .position(|c| c.name == code)
                .expect("gathered above")
        };
        let versions = versions_sorted
            .iter()
            .map(|v| {
                let choice_columns = v
                    .form
                    .items()
                    .filter(|(_, i)| i.is_choice())
                    .map(|(s, i)| {
                        (!left_out(s)).then(|| first_choice + position(&choices, &i.code))
                    })
                    .collect();
                let text_columns = v
                    .form
                    .items()
                    .filter(|(s, i)| i.is_text() && !left_out(s))
                    .filter_map(|(_, i)| {
                        let id = *v.item_ids.get(&i.code)?;
                        Some((id, first_text + position(&texts, &i.code)))
                    })
                    .collect();
                (v.id, (choice_columns, text_columns))
            })
            .collect();
        let columns = fixed
            .into_iter()
            .chain(choices)
            .chain(residence_columns)
            .chain(texts)
            .collect();
        Layout {
            times: disclosure.time_detail(),
            columns,
            versions,
            ordinal,
            residence,
            residence_listed: residence_listed.into_iter().collect(),
        }
    }

    /// The layout with the units a response can name as its residence labelled in the code
    /// column (`names`: by unit id, from `crate::db::residence::unit_names`). Ids beyond the
    /// range of a code (32767) keep their name in the name column only.
    pub fn with_places(
        mut self,
        names: &std::collections::BTreeMap<i32, (String, Option<String>)>,
    ) -> Self {
        if let Some(first) = self.residence {
            let column = &mut self.columns[first];
            let mut units: Vec<(i16, String)> = names
                .iter()
                .filter_map(|(id, (name, _))| Some((i16::try_from(*id).ok()?, name.clone())))
                .collect();
            units.append(&mut column.codes);
            column.codes = units;
        }
        self
    }

    /// Whether the column `name` holds answers on an ordered (Likert) scale: SPSS's ordinal
    /// measurement level.
    pub fn is_ordinal(&self, name: &str) -> bool {
        self.ordinal.contains(name)
    }

    pub fn header(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.name.as_str()).collect()
    }

    /// The form versions the layout covers (`form_versions.id`).
    pub fn version_ids(&self) -> Vec<i32> {
        let mut ids: Vec<i32> = self.versions.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// The cells of one response, typed (numbers as numbers).
    pub fn cells<'a>(&self, r: &'a ExportedResponse) -> Vec<Cell<'a>> {
        let mut row = vec![Cell::Empty; self.columns.len()];
        row[0] = Cell::Number(r.id as f64);
        row[1] = Cell::Owned(self.times.iso(r.submitted_at));
        row[2] = Cell::Text(&r.unit_code);
        row[3] = r.desk_code.as_deref().map_or(Cell::Empty, Cell::Text);
        row[4] = Cell::Text(&r.form_id);
        row[5] = Cell::Number(f64::from(r.form_version));
        row[6] = Cell::Text(&r.channel);
        row[7] = Cell::Number(if r.standing.counted() { 1.0 } else { 0.0 });
        row[8] = text_or_empty(r.standing.excluded_reason());
        row[9] = text_or_empty(r.standing.flags());
        row[10] = r
            .standing
            .decision
            .as_deref()
            .map_or(Cell::Empty, Cell::Text);
        row[11] = if r.current_unit_code.is_empty() {
            Cell::Empty
        } else {
            Cell::Text(&r.current_unit_code)
        };
        if let Some(first) = self.residence {
            match (&r.residence_unit, r.residence_code) {
                (Some((id, name, admin_code)), _) => {
                    row[first] = Cell::Number(f64::from(*id));
                    row[first + 1] = admin_code.as_deref().map_or(Cell::Empty, Cell::Text);
                    row[first + 2] = Cell::Text(name);
                }
                (None, Some(code)) => {
                    row[first] = Cell::Number(f64::from(code));
                    let label = match code {
                        RESIDENCE_ELSEWHERE_CODE => Some(RESIDENCE_ELSEWHERE_LABEL.to_string()),
                        RESIDENCE_DECLINED_CODE => Some(RESIDENCE_DECLINED_LABEL.to_string()),
                        _ => self.residence_listed.get(&code).cloned(),
                    };
                    row[first + 2] = label.map_or(Cell::Empty, Cell::Owned);
                }
                (None, None) => {}
            }
        }
        if let Some((choices, texts)) = self.versions.get(&r.form_version_id) {
            // "Không áp dụng" is written as its code (0), unanswered as an empty cell.
            for (answer, column) in r.answers.iter().zip(choices) {
                if let (Some(code), Some(column)) = (answer, column) {
                    row[*column] = Cell::Number(f64::from(*code));
                }
            }
            for (item_id, body) in &r.texts {
                if let Some(column) = texts.get(item_id) {
                    row[*column] = Cell::Text(body);
                }
            }
        }
        row
    }

    /// The cells of one response as CSV fields: text through [`csv_text`] (never read as a
    /// formula), line breaks kept.
    pub fn row(&self, r: &ExportedResponse) -> Vec<String> {
        self.fields(r, csv_text)
    }

    /// The cells of one response as fields of the SPSS data file: text through [`spss_text`]
    /// (as [`Layout::row`], line breaks written as carriage returns).
    pub fn spss_row(&self, r: &ExportedResponse) -> Vec<String> {
        self.fields(r, spss_text)
    }

    fn fields(&self, r: &ExportedResponse, text: fn(&str) -> String) -> Vec<String> {
        self.cells(r)
            .into_iter()
            .map(|cell| match cell {
                Cell::Empty => String::new(),
                Cell::Number(n) => format!("{n}"),
                Cell::Text(t) => text(t),
                Cell::Owned(t) => text(&t),
            })
            .collect()
    }
}

/// The first characters that make a spreadsheet read a cell as a formula (OWASP "CSV
/// injection"): `=`, `+`, `-`, `@`, tab and carriage return.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The apostrophe put before a text cell that a spreadsheet could read as a formula.
pub const TEXT_PREFIX: char = '\'';

/// A text cell of the CSV: the text itself, with an apostrophe before it when it begins with
/// one of [`FORMULA_STARTS`] (so a spreadsheet shows it as text, never runs it) or with an
/// apostrophe (so that removing one leading apostrophe always gives the text back, as the SPSS
/// syntax does). Everything else, line breaks included, is kept.
pub fn csv_text(text: &str) -> String {
    match text.chars().next() {
        Some(c) if c == TEXT_PREFIX || FORMULA_STARTS.contains(&c) => {
            format!("{TEXT_PREFIX}{text}")
        }
        _ => text.to_string(),
    }
}

/// A text cell of the SPSS data file: [`csv_text`] of the text with each line break (LF, CRLF
/// or CR, as stored texts are normalised to LF) written as one carriage return, since SPSS and
/// PSPP end a case at every line feed, even inside quotes. The syntax turns them back into line
/// feeds and removes the apostrophe.
pub fn spss_text(text: &str) -> String {
    csv_text(&text.replace("\r\n", "\n").replace('\n', "\r"))
}

/// The inverse of [`csv_text`] (what a reader of the CSV does to get the citizen's text).
pub fn csv_text_decoded(cell: &str) -> &str {
    cell.strip_prefix(TEXT_PREFIX).unwrap_or(cell)
}

fn text_or_empty<'a>(text: String) -> Cell<'a> {
    if text.is_empty() {
        Cell::Empty
    } else {
        Cell::Owned(text)
    }
}

/// The codes an answer column declares missing: "Không áp dụng" (0) when the item offers it.
/// Fixed columns (no section) have none: `counted` = 0 is a value.
pub fn missing_codes(column: &Column) -> Vec<i16> {
    if column.section.is_empty() {
        return Vec::new();
    }
    column
        .codes
        .iter()
        .map(|(code, _)| *code)
        .filter(|code| *code == NOT_APPLICABLE_CODE || *code == RESIDENCE_DECLINED_CODE)
        .collect()
}

pub use crate::domain::time::start_of_day;

/// The responses of an export: the spec's units, days (in Vietnam's time), form and channel.
pub fn filter_of(spec: &ExportSpec) -> ExportFilter {
    ExportFilter {
        units: Some(spec.units.clone()),
        form_versions: None,
        from: start_of_day(spec.query.from),
        until: spec.query.to.succ_opt().and_then(start_of_day),
        channel: spec.query.channel.clone(),
    }
}

/// Reads the responses of `filter` in batches, handing each to `each`; returns how many.
pub(crate) async fn for_each_batch(
    conn: &mut AsyncPgConnection,
    filter: &ExportFilter,
    progress: Progress<'_>,
    mut each: impl FnMut(&[ExportedResponse]) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
    let total = export_count(conn, filter).await?;
    progress(0, total);
    let mut after = 0;
    let mut done = 0;
    loop {
        let batch = export_batch(conn, filter, after, BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        each(&batch)?;
        done += batch.len() as u64;
        progress(done, total.max(done));
    }
    Ok(done)
}

/// The filter of a spec for a layout: the spec's filter, limited to the layout's versions.
pub fn data_filter(spec: &ExportSpec, layout: &Layout) -> ExportFilter {
    ExportFilter {
        form_versions: Some(layout.version_ids()),
        ..filter_of(spec)
    }
}

/// Writes the raw-data CSV of `spec` (BOM, header, one row per response); returns the number of
/// responses written.
pub async fn write_data<W: Write + Send>(
    conn: &mut AsyncPgConnection,
    forms: &FormRegistry,
    spec: &ExportSpec,
    out: &mut W,
    progress: Progress<'_>,
) -> anyhow::Result<u64> {
    let layout = Layout::for_spec(forms, spec);
    out.write_all(BOM)?;
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(layout.header())?;
    let filter = data_filter(spec, &layout);
    let written = for_each_batch(conn, &filter, progress, |batch| {
        for r in batch {
            writer.write_record(layout.row(r))?;
        }
        Ok(())
    })
    .await?;
    writer.flush()?;
    Ok(written)
}

/// Writes the raw data of `spec` in one pass as the CSV (to `out`, as [`write_data`]) and as the
/// SPSS data file (to `spss`: the same header and rows, text through [`spss_text`]); returns
/// the number of responses written.
pub async fn write_data_and_spss<W: Write + Send, S: Write + Send>(
    conn: &mut AsyncPgConnection,
    forms: &FormRegistry,
    spec: &ExportSpec,
    out: &mut W,
    spss: &mut S,
    progress: Progress<'_>,
) -> anyhow::Result<u64> {
    let layout = Layout::for_spec(forms, spec);
    out.write_all(BOM)?;
    spss.write_all(BOM)?;
    let mut writer = csv::Writer::from_writer(out);
    let mut spss_writer = csv::Writer::from_writer(spss);
    writer.write_record(layout.header())?;
    spss_writer.write_record(layout.header())?;
    let filter = data_filter(spec, &layout);
    let written = for_each_batch(conn, &filter, progress, |batch| {
        for r in batch {
            writer.write_record(layout.row(r))?;
            spss_writer.write_record(layout.spss_row(r))?;
        }
        Ok(())
    })
    .await?;
    writer.flush()?;
    spss_writer.flush()?;
    Ok(written)
}

/// The codebook as CSV (BOM, one row per column): "Cột", "Nhóm câu hỏi", "Nội dung",
/// "Kiểu", "Mã và nhãn" ("1 = Rất không hài lòng; 2 = ...").
pub fn codebook_csv(layout: &Layout) -> anyhow::Result<Vec<u8>> {
    let mut bytes = BOM.to_vec();
    let mut writer = csv::Writer::from_writer(&mut bytes);
    writer.write_record(CODEBOOK_HEADER)?;
    for row in codebook_rows(layout) {
        writer.write_record(row)?;
    }
    writer.flush()?;
    drop(writer);
    Ok(bytes)
}

pub const CODEBOOK_HEADER: [&str; 5] = ["Cột", "Nhóm câu hỏi", "Nội dung", "Kiểu", "Mã và nhãn"];

/// The codebook's rows, as [`CODEBOOK_HEADER`] names them.
pub fn codebook_rows(layout: &Layout) -> Vec<[String; 5]> {
    layout
        .columns
        .iter()
        .map(|c| {
            [
                c.name.clone(),
                c.section.clone(),
                c.label.clone(),
                match c.kind {
                    ColumnKind::Number => "Số".to_string(),
                    ColumnKind::Text { .. } => "Chữ".to_string(),
                },
                codes_text(c),
            ]
        })
        .collect()
}

fn codes_text(column: &Column) -> String {
    let missing = missing_codes(column);
    let mut text = column
        .codes
        .iter()
        .map(|(code, label)| {
            if missing.contains(code) {
                format!("{code} = {label} (giá trị thiếu: không tính vào mẫu số)")
            } else {
                format!("{code} = {label}")
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    if !column.codes.is_empty() && !column.section.is_empty() {
        text.push_str("; trống = không trả lời");
    }
    if matches!(column.kind, ColumnKind::Text { .. }) {
        text.push_str(TEXT_NOTE);
    }
    text
}

/// What the codebook says of every text column: how [`csv_text`] writes it.
pub const TEXT_NOTE: &str = "Chữ nguyên văn, giữ cả xuống dòng. Ô bắt đầu bằng =, +, -, @, \
     dấu tab hoặc dấu ' được thêm một dấu ' ở đầu để bảng tính không coi là công thức: bỏ dấu ' \
     đầu tiên này để có nguyên văn (cú pháp SPSS tự bỏ).";

fn encode(rows: &[Vec<String>]) -> anyhow::Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.write_record(row)?;
    }
    writer.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}

/// Every stored response of every form, without a BOM: the header and one row each; returns
/// the number of responses written.
pub async fn write_responses<W: AsyncWrite + Unpin>(
    conn: &mut AsyncPgConnection,
    forms: &FormRegistry,
    out: &mut W,
) -> anyhow::Result<u64> {
    let layout = Layout::new(forms);
    let header: Vec<String> = layout.header().into_iter().map(String::from).collect();
    out.write_all(&encode(std::slice::from_ref(&header))?)
        .await?;
    let filter = ExportFilter::default();
    let mut after = 0;
    let mut written = 0;
    loop {
        let batch = export_batch(conn, &filter, after, BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        let rows: Vec<Vec<String>> = batch.iter().map(|r| layout.row(r)).collect();
        out.write_all(&encode(&rows)?).await?;
        written += batch.len() as u64;
    }
    out.flush().await?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a spreadsheet could read as a formula, and plain texts.
    const FORMULAS: [&str; 7] = [
        "=HYPERLINK(\"http://x\",\"y\")",
        "+cmd|' /C calc'!A0",
        "@SUM(1+1)",
        "-2+3",
        "\t=1+1",
        "\r=1+1",
        "=1+1",
    ];
    const PLAIN: [&str; 7] = [
        "",
        "Cán bộ nhiệt tình",
        "1+1",
        "a=b",
        " =1+1",
        "Dòng một\nDòng hai",
        "😀 \"trích dẫn\", dấu; phẩy",
    ];

    #[test]
    fn formula_like_text_gets_an_apostrophe_and_nothing_else_changes() {
        for text in FORMULAS {
            let cell = csv_text(text);
            assert_eq!(cell, format!("'{text}"), "{text:?}");
            assert_eq!(csv_text_decoded(&cell), text);
        }
        for text in PLAIN {
            assert_eq!(csv_text(text), text, "{text:?}");
            assert_eq!(csv_text_decoded(&csv_text(text)), text);
        }
    }

    #[test]
    fn a_leading_apostrophe_is_doubled_so_decoding_is_exact() {
        for text in ["'", "'=1+1", "'trích'", "''"] {
            let cell = csv_text(text);
            assert_eq!(cell, format!("'{text}"));
            assert_eq!(csv_text_decoded(&cell), text, "{text:?}");
        }
    }

    #[test]
    fn the_spss_twin_has_no_line_feed_and_decodes_to_the_text() {
        let decode = |cell: &str| csv_text_decoded(cell).replace('\r', "\n");
        for text in FORMULAS.iter().chain(&PLAIN).chain(&["a\r\nb\nc", "\n=x"]) {
            let cell = spss_text(text);
            assert!(!cell.contains('\n'), "{cell:?}");
            let expected = text.replace("\r\n", "\n").replace('\r', "\n");
            assert_eq!(decode(&cell), expected, "{text:?}");
        }
        assert_eq!(spss_text("=a\nb"), "'=a\rb");
        assert_eq!(spss_text("a\r\nb"), "a\rb");
    }

    #[test]
    fn every_text_column_of_the_codebook_says_how_it_is_written() {
        let text = Column {
            name: "YK".into(),
            label: "Ý kiến".into(),
            kind: ColumnKind::Text { max_chars: 10 },
            codes: Vec::new(),
            section: String::new(),
        };
        assert!(codes_text(&text).contains("dấu '"));
        let coded = Column {
            kind: ColumnKind::Number,
            codes: vec![(1, "Có".into())],
            ..text
        };
        assert!(!codes_text(&coded).contains("dấu '"));
    }
}
