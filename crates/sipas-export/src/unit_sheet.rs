//! The unit tree's spreadsheet (issue 19): the template, the export and the reading of an
//! uploaded file, as CSV or XLSX, with Vietnamese headers (`sipas_app::unit_import::columns`).
//!
//! - XLSX: a sheet "Đơn vị" (one unit per row), a sheet "Quầy" (one desk per row) and a sheet
//!   "Hướng dẫn" (instructions, not read back). Every cell is text.
//! - CSV (UTF-8 with BOM, comma-separated; a semicolon- or tab-separated file saved by a
//!   spreadsheet is read too): one table whose first column "Loại dòng" says whether the row is
//!   a unit ("Đơn vị") or a desk ("Quầy"); a unit row leaves the desk columns ("Tên quầy",
//!   "Phiếu") empty, a desk row leaves the unit-only columns empty; "Mã đơn vị" (the desk's
//!   unit on a desk row) and "Đang hoạt động" serve both. Text cells that a spreadsheet could
//!   read as a formula are written with an apostrophe before them, as in the other CSV exports
//!   ([`crate::csv::csv_text`]); reading removes it.
//!
//! Reading refuses, each with a Vietnamese message and where it is: a file larger than
//! [`MAX_FILE_BYTES`], an empty file, a CSV that is not UTF-8, a file that is neither CSV nor
//! XLSX (an old .xls, binary junk), missing or repeated headers, a formula (an XLSX formula
//! cell, or a CSV cell beginning with `=`, `+`, `-`, `@` without the apostrophe), control
//! characters in a cell.

use std::io::{Cursor, Read};

use calamine::{Data, Reader, Xlsx};
use rust_xlsxwriter::{Format, Workbook};

use crate::csv::{TEXT_PREFIX, csv_text, csv_text_decoded};
pub use sipas_app::unit_import::{
    DeskLine, Lines, MAX_FILE_BYTES, MAX_LINES, Place, Problem, UnitLine, columns,
};

/// The format of a file, by its name's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SheetFormat {
    Csv,
    Xlsx,
}

impl SheetFormat {
    /// `.csv` or `.xlsx` (any case); `None` otherwise.
    pub fn of_name(name: &str) -> Option<SheetFormat> {
        let lower = name.to_lowercase();
        if lower.ends_with(".csv") {
            Some(SheetFormat::Csv)
        } else if lower.ends_with(".xlsx") {
            Some(SheetFormat::Xlsx)
        } else {
            None
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            SheetFormat::Csv => "text/csv; charset=utf-8",
            SheetFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            SheetFormat::Csv => "csv",
            SheetFormat::Xlsx => "xlsx",
        }
    }
}

/// Writes `lines` (an export, or the empty template) in `format`.
pub fn write(lines: &Lines, format: SheetFormat) -> anyhow::Result<Vec<u8>> {
    match format {
        SheetFormat::Csv => write_csv(lines),
        SheetFormat::Xlsx => write_xlsx(lines),
    }
}

fn unit_cells(u: &UnitLine) -> [&str; 9] {
    [
        &u.code,
        &u.name,
        &u.kind,
        &u.parent_code,
        &u.admin_code,
        &u.valid_from,
        &u.valid_until,
        &u.default_form,
        &u.active,
    ]
}

fn desk_cells(d: &DeskLine) -> [&str; 4] {
    [&d.unit_code, &d.name, &d.form, &d.active]
}

fn write_csv(lines: &Lines) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::from("\u{feff}".as_bytes());
    {
        let mut writer = ::csv::Writer::from_writer(&mut out);
        writer.write_record(columns::CSV)?;
        for u in &lines.units {
            let [code, name, kind, parent, admin, from, until, form, active] = unit_cells(u);
            writer.write_record(
                [
                    columns::ROW_UNIT,
                    code,
                    name,
                    kind,
                    parent,
                    admin,
                    from,
                    until,
                    form,
                    "",
                    "",
                    active,
                ]
                .map(csv_text),
            )?;
        }
        for d in &lines.desks {
            writer.write_record(
                [
                    columns::ROW_DESK,
                    &d.unit_code,
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    &d.name,
                    &d.form,
                    &d.active,
                ]
                .map(csv_text),
            )?;
        }
        writer.flush()?;
    }
    Ok(out)
}

const INSTRUCTIONS: [&str; 12] = [
    "Nhập danh sách đơn vị và quầy tiếp nhận vào SIPAS.",
    "Trang «Đơn vị»: mỗi dòng một đơn vị. Đơn vị được nhận ra theo «Mã đơn vị»: mã đã có thì cập nhật, mã mới thì thêm mới.",
    "Mã đơn vị: chữ thường không dấu (a-z), chữ số, dấu chấm, dấu gạch ngang; ví dụ xuan-loc.xuan-bac.",
    "Loại: Tỉnh; Huyện; Phòng/ban; Xã; Thị trấn; Phường; Trung tâm Phục vụ hành chính công tỉnh; Chi nhánh / điểm phục vụ; Trung tâm Phục vụ hành chính công xã; Khác.",
    "Mã đơn vị cấp trên: mã của đơn vị cấp trên (trong tệp hoặc đã có trong hệ thống); để trống nếu là đơn vị cấp cao nhất.",
    "Mã ĐVHC: mã đơn vị hành chính chính thức (2 chữ số cấp tỉnh, 5 chữ số cấp xã); có thể để trống.",
    "Hiệu lực từ / Hiệu lực đến: ngày/tháng/năm, ví dụ 01/07/2025; để trống nếu không có.",
    "Phiếu mặc định / Phiếu: mã mẫu phiếu; để trống để dùng mẫu của đơn vị cấp trên.",
    "Đang hoạt động: «có» hoặc «không» (để trống: có).",
    "Trang «Quầy»: mỗi dòng một quầy; quầy được nhận ra theo mã đơn vị và tên quầy.",
    "Đơn vị và quầy không có trong tệp được giữ nguyên (không bị xóa).",
    "Hãy dùng chức năng «Chỉ kiểm tra» trước: mọi lỗi được liệt kê theo dòng và cột, không có gì được lưu.",
];

fn write_xlsx(lines: &Lines) -> anyhow::Result<Vec<u8>> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let text = Format::new().set_num_format("@");
    {
        let sheet = workbook.add_worksheet();
        sheet.set_name(columns::UNIT_SHEET)?;
        for (col, header) in columns::UNIT.iter().enumerate() {
            sheet.write_string_with_format(0, col as u16, *header, &bold)?;
            sheet.set_column_format(col as u16, &text)?;
            sheet.set_column_width(col as u16, if col == 1 { 40 } else { 20 })?;
        }
        for (i, u) in lines.units.iter().enumerate() {
            for (col, value) in unit_cells(u).iter().enumerate() {
                if !value.is_empty() {
                    sheet.write_string_with_format(i as u32 + 1, col as u16, *value, &text)?;
                }
            }
        }
    }
    {
        let sheet = workbook.add_worksheet();
        sheet.set_name(columns::DESK_SHEET)?;
        for (col, header) in columns::DESK.iter().enumerate() {
            sheet.write_string_with_format(0, col as u16, *header, &bold)?;
            sheet.set_column_format(col as u16, &text)?;
            sheet.set_column_width(col as u16, if col == 1 { 40 } else { 20 })?;
        }
        for (i, d) in lines.desks.iter().enumerate() {
            for (col, value) in desk_cells(d).iter().enumerate() {
                if !value.is_empty() {
                    sheet.write_string_with_format(i as u32 + 1, col as u16, *value, &text)?;
                }
            }
        }
    }
    {
        let sheet = workbook.add_worksheet();
        sheet.set_name("Hướng dẫn")?;
        sheet.set_column_width(0, 120)?;
        for (row, line) in INSTRUCTIONS.iter().enumerate() {
            sheet.write_string(row as u32, 0, *line)?;
        }
    }
    Ok(workbook.save_to_buffer()?)
}

/// Reads an uploaded file (CSV or XLSX, told apart by its content): its lines, or every
/// problem that stops it from being read.
pub fn read(bytes: &[u8]) -> Result<Lines, Vec<Problem>> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(vec![Problem::file(format!(
            "Tệp quá lớn ({} kB); tối đa {} kB.",
            bytes.len().div_ceil(1024),
            MAX_FILE_BYTES / 1024
        ))]);
    }
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(vec![Problem::file("Tệp trống.")]);
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return read_xlsx(bytes);
    }
    if bytes.starts_with(&[0xd0, 0xcf, 0x11, 0xe0]) {
        return Err(vec![Problem::file(
            "Tệp Excel dạng cũ (.xls) không được hỗ trợ: hãy lưu lại thành .xlsx hoặc .csv.",
        )]);
    }
    if bytes.contains(&0) {
        return Err(vec![Problem::file(
            "Tệp không phải bảng tính CSV hay XLSX (có dữ liệu nhị phân).",
        )]);
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Err(vec![Problem::file(
            "Tệp CSV không dùng bảng mã UTF-8: khi lưu từ bảng tính, hãy chọn bảng mã \
             «Unicode (UTF-8)».",
        )]);
    };
    read_csv(text.strip_prefix('\u{feff}').unwrap_or(text))
}

/// Problems of a cell's text: control characters (binary junk), overly long texts.
fn cell_problem(text: &str) -> Option<&'static str> {
    if text.chars().any(char::is_control) {
        Some("Ô có ký tự điều khiển (xuống dòng, tab hoặc dữ liệu nhị phân).")
    } else if text.chars().count() > 1000 {
        Some("Ô dài quá 1000 ký tự.")
    } else {
        None
    }
}

/// Finds each wanted column in `header` (trimmed, any case): their indexes, or the problems
/// (missing, repeated).
fn locate(
    header: &[String],
    wanted: &[&str],
    sheet: Option<&str>,
) -> Result<Vec<usize>, Vec<Problem>> {
    let normal = |t: &str| t.trim().to_lowercase();
    let mut problems = Vec::new();
    let mut found = Vec::new();
    let place = Place {
        sheet: sheet.map(str::to_string),
        row: 1,
    };
    for name in wanted {
        let hits: Vec<usize> = header
            .iter()
            .enumerate()
            .filter(|(_, h)| normal(h) == normal(name))
            .map(|(i, _)| i)
            .collect();
        match hits[..] {
            [i] => found.push(i),
            [] => problems.push(Problem::at(
                &place,
                Some(name),
                format!("Thiếu cột «{name}» ở dòng tiêu đề (dòng 1); hãy dùng tệp mẫu."),
            )),
            _ => problems.push(Problem::at(
                &place,
                Some(name),
                format!("Cột «{name}» xuất hiện nhiều lần ở dòng tiêu đề."),
            )),
        }
    }
    if problems.is_empty() {
        Ok(found)
    } else {
        Err(problems)
    }
}

fn read_csv(text: &str) -> Result<Lines, Vec<Problem>> {
    let first_line = text.lines().next().unwrap_or("");
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| first_line.bytes().filter(|b| b == d).count())
        .unwrap_or(b',');
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = Vec::new();
    for (i, record) in reader.records().enumerate() {
        match record {
            Ok(record) => records.push(record),
            Err(_) => {
                return Err(vec![Problem::at(
                    &Place {
                        sheet: None,
                        row: i + 1,
                    },
                    None,
                    "Dòng này không đọc được theo định dạng CSV (dấu ngoặc kép không khớp?).",
                )]);
            }
        }
        if records.len() > MAX_LINES + 1 {
            return Err(vec![Problem::file(format!(
                "Tệp có quá nhiều dòng (tối đa {MAX_LINES} dòng đơn vị và quầy)."
            ))]);
        }
    }
    let Some(header) = records.first() else {
        return Err(vec![Problem::file("Tệp trống.")]);
    };
    let header: Vec<String> = header.iter().map(str::to_string).collect();
    let at = locate(&header, &columns::CSV, None)?;
    let mut problems = Vec::new();
    let mut lines = Lines::default();
    for (i, record) in records.iter().enumerate().skip(1) {
        let place = Place {
            sheet: None,
            row: i + 1,
        };
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let mut cells: Vec<String> = Vec::with_capacity(at.len());
        for (&col, name) in at.iter().zip(columns::CSV) {
            let raw = record.get(col).unwrap_or("");
            if let Some(problem) = cell_problem(raw) {
                problems.push(Problem::at(&place, Some(name), problem));
            } else if raw.starts_with(['=', '+', '-', '@']) {
                problems.push(Problem::at(
                    &place,
                    Some(name),
                    "Ô có dạng công thức (bắt đầu bằng =, +, - hoặc @): không được nhận. Nếu đó \
                     là văn bản, hãy thêm dấu nháy đơn (') ở đầu.",
                ));
            }
            cells.push(csv_text_decoded(raw).trim().to_string());
        }
        let kind = cells[0].to_lowercase();
        let unit_only = [2, 3, 4, 5, 6, 7, 8];
        let desk_only = [9, 10];
        let stray = |indexes: &[usize], what: &str, problems: &mut Vec<Problem>| {
            for &i in indexes {
                if !cells[i].is_empty() {
                    problems.push(Problem::at(
                        &place,
                        Some(columns::CSV[i]),
                        format!("Cột này chỉ dùng cho {what}; hãy để trống."),
                    ));
                }
            }
        };
        if kind == columns::ROW_UNIT.to_lowercase() {
            stray(&desk_only, "dòng quầy", &mut problems);
            lines.units.push(UnitLine {
                place,
                code: cells[1].clone(),
                name: cells[2].clone(),
                kind: cells[3].clone(),
                parent_code: cells[4].clone(),
                admin_code: cells[5].clone(),
                valid_from: cells[6].clone(),
                valid_until: cells[7].clone(),
                default_form: cells[8].clone(),
                active: cells[11].clone(),
            });
        } else if kind == columns::ROW_DESK.to_lowercase() {
            stray(&unit_only, "dòng đơn vị", &mut problems);
            lines.desks.push(DeskLine {
                place,
                unit_code: cells[1].clone(),
                name: cells[9].clone(),
                form: cells[10].clone(),
                active: cells[11].clone(),
            });
        } else {
            problems.push(Problem::at(
                &place,
                Some(columns::ROW_KIND),
                format!(
                    "«{}» không hợp lệ: ghi «{}» hoặc «{}».",
                    cells[0],
                    columns::ROW_UNIT,
                    columns::ROW_DESK
                ),
            ));
        }
    }
    if problems.is_empty() {
        Ok(lines)
    } else {
        Err(problems)
    }
}

/// Largest uncompressed content accepted inside an XLSX (a small file that unpacks to
/// gigabytes is refused before it is read).
const MAX_XLSX_UNPACKED: u64 = 64 * 1024 * 1024;

/// The text of an XLSX cell as the import reads it: text as is, whole numbers without a
/// decimal point (an official code typed as a number), dates as dd/mm/yyyy.
fn data_text(data: &Data) -> Result<String, &'static str> {
    Ok(match data {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => sipas_app::unit_import::bool_text(*b).to_string(),
        Data::DateTime(d) => {
            // Days since 1899-12-30 (the 1900 date system).
            let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).expect("valid date");
            let days = d.as_f64().floor() as i64;
            match epoch.checked_add_signed(chrono::Duration::days(days)) {
                Some(date) => sipas_app::unit_import::date_text(date),
                None => return Err("Ngày không hợp lệ."),
            }
        }
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(_) => return Err("Ô có lỗi của bảng tính (#VALUE!, #REF!, ...)."),
    })
}

fn read_xlsx(bytes: &[u8]) -> Result<Lines, Vec<Problem>> {
    let unreadable = || {
        vec![Problem::file(
            "Không đọc được tệp XLSX (tệp hỏng hoặc không phải bảng tính Excel).",
        )]
    };
    // The sizes the archive declares, before anything is unpacked.
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| unreadable())?;
    let mut unpacked: u64 = 0;
    for i in 0..archive.len() {
        let file = archive.by_index_raw(i).map_err(|_| unreadable())?;
        unpacked = unpacked.saturating_add(file.size());
    }
    if unpacked > MAX_XLSX_UNPACKED {
        return Err(vec![Problem::file(
            "Tệp XLSX quá lớn khi giải nén; hãy chỉ giữ lại hai trang «Đơn vị» và «Quầy».",
        )]);
    }
    // A member that unpacks to more than it declared is cut off (and then unreadable).
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).map_err(|_| unreadable())?;
        let declared = file.size();
        let read = std::io::copy(&mut (&mut file).take(declared + 1), &mut std::io::sink())
            .map_err(|_| unreadable())?;
        if read > declared {
            return Err(unreadable());
        }
    }
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|_| unreadable())?;
    let names = workbook.sheet_names();
    let find = |wanted: &str| {
        names
            .iter()
            .find(|n| n.trim().to_lowercase() == wanted.to_lowercase())
            .cloned()
    };
    let mut problems = Vec::new();
    let mut tables = Vec::new();
    for (sheet, wanted) in [
        (columns::UNIT_SHEET, &columns::UNIT[..]),
        (columns::DESK_SHEET, &columns::DESK[..]),
    ] {
        let Some(name) = find(sheet) else {
            problems.push(Problem::file(format!(
                "Thiếu trang «{sheet}» trong tệp XLSX; hãy dùng tệp mẫu."
            )));
            continue;
        };
        let place = |row: usize| Place {
            sheet: Some(sheet.to_string()),
            row,
        };
        if let Ok(formulas) = workbook.worksheet_formula(&name) {
            let (r0, c0) = formulas.start().unwrap_or((0, 0));
            for (r, row) in formulas.rows().enumerate() {
                for (c, formula) in row.iter().enumerate() {
                    if !formula.is_empty() {
                        problems.push(Problem::at(
                            &place(r0 as usize + r + 1),
                            Some(&column_letter(c0 as usize + c)),
                            "Ô có công thức: không được nhận; hãy nhập giá trị.",
                        ));
                    }
                }
            }
        }
        let range = workbook.worksheet_range(&name).map_err(|_| unreadable())?;
        let (r0, c0) = range.start().unwrap_or((0, 0));
        let (r0, c0) = (r0 as usize, c0 as usize);
        if range.height() > MAX_LINES + 1 {
            return Err(vec![Problem::file(format!(
                "Tệp có quá nhiều dòng (tối đa {MAX_LINES} dòng đơn vị và quầy)."
            ))]);
        }
        // The table as text, absolute positions: rows[r][c] is row r+1, column c.
        let mut rows: Vec<(usize, Vec<String>)> = Vec::new();
        for (r, row) in range.rows().enumerate() {
            let mut cells = vec![String::new(); c0];
            for (c, data) in row.iter().enumerate() {
                match data_text(data) {
                    Ok(text) => {
                        if let Some(problem) = cell_problem(&text) {
                            problems.push(Problem::at(
                                &place(r0 + r + 1),
                                Some(&column_letter(c0 + c)),
                                problem,
                            ));
                        }
                        cells.push(text.trim().to_string());
                    }
                    Err(problem) => {
                        problems.push(Problem::at(
                            &place(r0 + r + 1),
                            Some(&column_letter(c0 + c)),
                            problem,
                        ));
                        cells.push(String::new());
                    }
                }
            }
            rows.push((r0 + r + 1, cells));
        }
        if rows.first().map(|(row, _)| *row) != Some(1) {
            problems.push(Problem::at(
                &place(1),
                None,
                "Thiếu dòng tiêu đề ở dòng 1; hãy dùng tệp mẫu.",
            ));
            continue;
        }
        match locate(&rows[0].1, wanted, Some(sheet)) {
            Ok(at) => tables.push((sheet, at, rows)),
            Err(found) => problems.extend(found),
        }
    }
    let mut lines = Lines::default();
    for (sheet, at, rows) in tables {
        for (row, cells) in rows.into_iter().skip(1) {
            let cell = |i: usize| cells.get(at[i]).cloned().unwrap_or_default();
            if at
                .iter()
                .all(|&c| cells.get(c).is_none_or(|t| t.is_empty()))
            {
                continue;
            }
            let place = Place {
                sheet: Some(sheet.to_string()),
                row,
            };
            if sheet == columns::UNIT_SHEET {
                lines.units.push(UnitLine {
                    place,
                    code: cell(0),
                    name: cell(1),
                    kind: cell(2),
                    parent_code: cell(3),
                    admin_code: cell(4),
                    valid_from: cell(5),
                    valid_until: cell(6),
                    default_form: cell(7),
                    active: cell(8),
                });
            } else {
                lines.desks.push(DeskLine {
                    place,
                    unit_code: cell(0),
                    name: cell(1),
                    form: cell(2),
                    active: cell(3),
                });
            }
        }
    }
    if problems.is_empty() {
        Ok(lines)
    } else {
        Err(problems)
    }
}

/// "A", "B", ..., "AA" for a column index from 0.
fn column_letter(mut index: usize) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'A' + (index % 26) as u8);
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

/// Whether a text cell is written with the protecting apostrophe (for tests and readers).
pub fn is_protected(cell: &str) -> bool {
    cell.starts_with(TEXT_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Lines {
        Lines {
            units: vec![
                UnitLine {
                    code: "dn".into(),
                    name: "Tỉnh Thử Nghiệm".into(),
                    kind: "Tỉnh".into(),
                    admin_code: "75".into(),
                    active: "có".into(),
                    ..UnitLine::default()
                },
                UnitLine {
                    code: "dn.a".into(),
                    name: "=HYPERLINK(\"x\")".into(),
                    kind: "Xã".into(),
                    parent_code: "dn".into(),
                    admin_code: "02641".into(),
                    valid_from: "01/07/2025".into(),
                    active: "không".into(),
                    ..UnitLine::default()
                },
            ],
            desks: vec![DeskLine {
                unit_code: "dn.a".into(),
                name: "-Quầy 1".into(),
                form: String::new(),
                active: "có".into(),
                ..DeskLine::default()
            }],
        }
    }

    fn without_places(mut lines: Lines) -> Lines {
        lines
            .units
            .iter_mut()
            .for_each(|u| u.place = Place::default());
        lines
            .desks
            .iter_mut()
            .for_each(|d| d.place = Place::default());
        lines
    }

    #[test]
    fn csv_and_xlsx_read_back_what_they_wrote() {
        for format in [SheetFormat::Csv, SheetFormat::Xlsx] {
            let bytes = write(&sample(), format).unwrap();
            let read = read(&bytes).unwrap();
            assert_eq!(without_places(read.clone()), sample(), "{format:?}");
            let expected_row = if format == SheetFormat::Csv { 4 } else { 2 };
            assert_eq!(read.desks[0].place.row, expected_row);
        }
    }

    #[test]
    fn csv_cells_that_look_like_formulas_are_protected() {
        let text = String::from_utf8(write(&sample(), SheetFormat::Csv).unwrap()).unwrap();
        assert!(text.starts_with("\u{feff}Loại dòng,Mã đơn vị,Tên đơn vị,Loại,"));
        assert!(text.contains("\"'=HYPERLINK(\"\"x\"\")\""), "{text}");
        assert!(text.contains(",'-Quầy 1,"), "{text}");
        let raw = text.replace("'=HYPERLINK", "=HYPERLINK");
        let problems = read(raw.as_bytes()).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].row, Some(3));
        assert_eq!(problems[0].column.as_deref(), Some("Tên đơn vị"));
    }

    #[test]
    fn hostile_files_are_refused_with_a_reason() {
        let message = |bytes: &[u8]| read(bytes).unwrap_err()[0].to_string();
        assert_eq!(message(b""), "Tệp trống.");
        assert!(message(&[0xff, 0xfe, b'a', b',']).contains("UTF-8"));
        assert!(message(b"a\0b").contains("nhị phân"));
        assert!(message(&[0xd0, 0xcf, 0x11, 0xe0, 0, 0]).contains(".xls"));
        assert!(message(b"PK\x03\x04garbage").contains("Không đọc được tệp XLSX"));
        assert!(message(&vec![b'a'; MAX_FILE_BYTES + 1]).contains("quá lớn"));
        let missing = read("Mã đơn vị,Tên đơn vị\nx,y\n".as_bytes()).unwrap_err();
        assert!(missing.iter().any(|p| p.to_string()
            == "Dòng 1, cột «Loại dòng»: Thiếu cột «Loại dòng» ở dòng tiêu đề (dòng 1); hãy dùng tệp mẫu."));
        let header = columns::CSV.join(";");
        let junk = format!("{header}\nĐơn vị;a\u{7};b;Xã;;;;;;;;\nKhác;;;;;;;;;;;\n");
        let problems = read(junk.as_bytes()).unwrap_err();
        let at: Vec<String> = problems.iter().map(Problem::location).collect();
        assert_eq!(at, ["Dòng 2, cột «Mã đơn vị»", "Dòng 3, cột «Loại dòng»"]);
    }

    #[test]
    fn xlsx_formulas_and_numbers_typed_as_numbers() {
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet();
        sheet.set_name("Đơn vị").unwrap();
        for (c, h) in columns::UNIT.iter().enumerate() {
            sheet.write_string(0, c as u16, *h).unwrap();
        }
        sheet.write_string(1, 0, "dn").unwrap();
        sheet.write_number(1, 4, 75.0).unwrap();
        sheet
            .write_formula(2, 1, rust_xlsxwriter::Formula::new("=1+1"))
            .unwrap();
        let sheet = workbook.add_worksheet();
        sheet.set_name("Quầy").unwrap();
        for (c, h) in columns::DESK.iter().enumerate() {
            sheet.write_string(0, c as u16, *h).unwrap();
        }
        let bytes = workbook.save_to_buffer().unwrap();
        let problems = read(&bytes).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(
            problems[0].to_string(),
            "Trang «Đơn vị», dòng 3, cột «B»: Ô có công thức: không được nhận; hãy nhập giá trị."
        );
        assert_eq!(column_letter(27), "AB");
    }
}
