//! The unit tree and its desks set up from a spreadsheet (issue 19): the lines read from the
//! file (by `sipas_export::unit_sheet`, CSV or XLSX) are checked against today's tree and turned
//! into a plan of creations and updates ([`check`], pure code, no I/O), which [`import`] applies
//! in one transaction under the unit tree's lock, with one audit entry ("units.import"), or not
//! at all. Units are matched by their code, desks by (unit code, desk name); nothing is ever
//! deleted (units and desks absent from the file are left as they are).
//!
//! [`export_lines`] writes today's tree as lines of the same format, so that importing an export
//! unchanged changes nothing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use chrono::NaiveDate;
use diesel::result::Error as DbError;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Serialize;
use serde_json::json;

use crate::db::audit::{self, NewAuditEntry};
use crate::db::desks::{Desk, NewDesk};
use crate::db::units::{
    self, MAX_NAME_CHARS, NewUnit, Unit, UnitFields, UnitKind, is_valid_admin_code,
    is_valid_unit_code,
};

/// The column headers, as the template writes them and the import expects them.
pub mod columns {
    pub const ROW_KIND: &str = "Loại dòng";
    pub const UNIT_CODE: &str = "Mã đơn vị";
    pub const UNIT_NAME: &str = "Tên đơn vị";
    pub const KIND: &str = "Loại";
    pub const PARENT_CODE: &str = "Mã đơn vị cấp trên";
    pub const ADMIN_CODE: &str = "Mã ĐVHC";
    pub const VALID_FROM: &str = "Hiệu lực từ";
    pub const VALID_UNTIL: &str = "Hiệu lực đến";
    pub const DEFAULT_FORM: &str = "Phiếu mặc định";
    pub const DESK_NAME: &str = "Tên quầy";
    pub const DESK_FORM: &str = "Phiếu";
    pub const ACTIVE: &str = "Đang hoạt động";

    /// The columns of a unit line (the XLSX sheet "Đơn vị").
    pub const UNIT: [&str; 9] = [
        UNIT_CODE,
        UNIT_NAME,
        KIND,
        PARENT_CODE,
        ADMIN_CODE,
        VALID_FROM,
        VALID_UNTIL,
        DEFAULT_FORM,
        ACTIVE,
    ];
    /// The columns of a desk line (the XLSX sheet "Quầy").
    pub const DESK: [&str; 4] = [UNIT_CODE, DESK_NAME, DESK_FORM, ACTIVE];
    /// The columns of the CSV: the kind of line ("Đơn vị" or "Quầy"), then the unit's and the
    /// desk's columns ("Mã đơn vị" and "Đang hoạt động" are shared).
    pub const CSV: [&str; 12] = [
        ROW_KIND,
        UNIT_CODE,
        UNIT_NAME,
        KIND,
        PARENT_CODE,
        ADMIN_CODE,
        VALID_FROM,
        VALID_UNTIL,
        DEFAULT_FORM,
        DESK_NAME,
        DESK_FORM,
        ACTIVE,
    ];
    /// The value of [`ROW_KIND`] on a unit line and on a desk line.
    pub const ROW_UNIT: &str = "Đơn vị";
    pub const ROW_DESK: &str = "Quầy";
    /// The XLSX sheets.
    pub const UNIT_SHEET: &str = "Đơn vị";
    pub const DESK_SHEET: &str = "Quầy";
}

/// Longest file accepted, in bytes (about 120 units and 300 desks take some 40 kB).
pub const MAX_FILE_BYTES: usize = 2 * 1024 * 1024;
/// Most lines (units and desks together) accepted in one file.
pub const MAX_LINES: usize = 10_000;

/// Where a line came from: the sheet (XLSX; `None` for CSV) and its row number as the
/// spreadsheet shows it (the header is row 1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Place {
    pub sheet: Option<String>,
    pub row: usize,
}

/// One unit as written in the file (texts trimmed, not yet checked).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnitLine {
    pub place: Place,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub parent_code: String,
    pub admin_code: String,
    pub valid_from: String,
    pub valid_until: String,
    pub default_form: String,
    pub active: String,
}

/// One desk as written in the file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeskLine {
    pub place: Place,
    pub unit_code: String,
    pub name: String,
    pub form: String,
    pub active: String,
}

/// What a file holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Lines {
    pub units: Vec<UnitLine>,
    pub desks: Vec<DeskLine>,
}

/// One problem of a file, where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub sheet: Option<String>,
    /// `None`: the file as a whole.
    pub row: Option<usize>,
    pub column: Option<String>,
    pub message: String,
}

impl Problem {
    /// A problem of the whole file.
    pub fn file(message: impl Into<String>) -> Problem {
        Problem {
            sheet: None,
            row: None,
            column: None,
            message: message.into(),
        }
    }

    pub fn at(place: &Place, column: Option<&str>, message: impl Into<String>) -> Problem {
        Problem {
            sheet: place.sheet.clone(),
            row: Some(place.row),
            column: column.map(str::to_string),
            message: message.into(),
        }
    }

    /// "Trang «Quầy», dòng 7, cột «Phiếu»" (what precedes the message), empty for the file.
    pub fn location(&self) -> String {
        let mut parts = Vec::new();
        if let Some(sheet) = &self.sheet {
            parts.push(format!("Trang «{sheet}»"));
        }
        if let Some(row) = self.row {
            parts.push(format!("dòng {row}"));
        }
        if let Some(column) = &self.column {
            parts.push(format!("cột «{column}»"));
        }
        let text = parts.join(", ");
        let mut chars = text.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => text,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let location = self.location();
        if location.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{location}: {}", self.message)
        }
    }
}

/// A unit as the file sets it (or as it is today).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitValues {
    pub code: String,
    pub name: String,
    pub kind: &'static str,
    pub parent_code: Option<String>,
    pub admin_code: Option<String>,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    pub default_form: Option<String>,
    pub active: bool,
}

/// A desk as the file sets it (or as it is today).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeskValues {
    pub unit_code: String,
    pub name: String,
    pub form: Option<String>,
    pub active: bool,
}

/// Today's tree, as [`check`] compares the file with it.
#[derive(Debug, Clone, Default)]
pub struct Existing {
    /// (id, values), any order.
    pub units: Vec<(i32, UnitValues)>,
    pub desks: Vec<(i32, DeskValues)>,
}

/// A unit to create (`id` `None`) or to update, with what it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitChange {
    pub id: Option<i32>,
    pub before: Option<UnitValues>,
    pub after: UnitValues,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeskChange {
    pub id: Option<i32>,
    pub before: Option<DeskValues>,
    pub after: DeskValues,
}

/// What an import changes: units in an order where every parent comes before its children.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Plan {
    pub units: Vec<UnitChange>,
    pub desks: Vec<DeskChange>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.units.is_empty() && self.desks.is_empty()
    }

    /// (units created, units updated, desks created, desks updated)
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let created = |ids: &mut dyn Iterator<Item = bool>| {
            let (mut new, mut old) = (0, 0);
            for is_new in ids {
                if is_new { new += 1 } else { old += 1 }
            }
            (new, old)
        };
        let (uc, uu) = created(&mut self.units.iter().map(|c| c.id.is_none()));
        let (dc, du) = created(&mut self.desks.iter().map(|c| c.id.is_none()));
        (uc, uu, dc, du)
    }

    /// "Thêm 3 đơn vị, cập nhật 1 đơn vị, thêm 5 quầy, cập nhật 0 quầy."
    pub fn summary(&self) -> String {
        let (uc, uu, dc, du) = self.counts();
        format!("thêm {uc} đơn vị, cập nhật {uu} đơn vị, thêm {dc} quầy, cập nhật {du} quầy")
    }
}

/// The way a date is written in the file (and read back: also d/m/yyyy and yyyy-mm-dd).
pub fn date_text(date: NaiveDate) -> String {
    date.format("%d/%m/%Y").to_string()
}

pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(date);
    }
    let parts: Vec<&str> = text.split(['/', '-', '.']).collect();
    let [d, m, y] = parts[..] else { return None };
    if y.len() != 4 || d.is_empty() || m.is_empty() || d.len() > 2 || m.len() > 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

pub fn bool_text(value: bool) -> &'static str {
    if value { "có" } else { "không" }
}

/// "có" / "không" (also yes/no, x, 1/0, true/false); empty: yes.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_lowercase().as_str() {
        "" | "có" | "co" | "x" | "1" | "yes" | "true" => Some(true),
        "không" | "khong" | "0" | "no" | "false" => Some(false),
        _ => None,
    }
}

/// A kind written as its Vietnamese label ("Xã") or as stored ("commune"), any case.
pub fn parse_kind(text: &str) -> Option<UnitKind> {
    let wanted = normalise(text);
    UnitKind::ALL
        .into_iter()
        .find(|k| normalise(k.label()) == wanted || k.as_str() == wanted)
}

fn normalise(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn optional(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// The form a unit or desk line names (`None`: empty, inherited), or why it is refused.
fn checked_form(text: &str, known_forms: &HashSet<String>) -> Result<Option<String>, String> {
    match optional(text) {
        Some(form) if !known_forms.contains(&form) => {
            Err(format!("Mẫu phiếu «{form}» không tồn tại."))
        }
        form => Ok(form),
    }
}

/// The "Đang hoạt động" cell of a line, or why it is refused.
fn checked_active(text: &str) -> Result<bool, String> {
    parse_bool(text)
        .ok_or_else(|| format!("«{}» không hợp lệ: ghi «có» hoặc «không».", text.trim()))
}

/// Checks every line against today's tree and the forms a unit or desk may name, and says
/// what the import would change; or every problem found, by row and column.
pub fn check(
    lines: &Lines,
    existing: &Existing,
    known_forms: &HashSet<String>,
) -> Result<Plan, Vec<Problem>> {
    use columns as c;
    let mut problems = Vec::new();
    if lines.units.is_empty() && lines.desks.is_empty() {
        return Err(vec![Problem::file(
            "Tệp không có dòng dữ liệu nào (chỉ có dòng tiêu đề hoặc trống).",
        )]);
    }
    if lines.units.len() + lines.desks.len() > MAX_LINES {
        return Err(vec![Problem::file(format!(
            "Tệp có quá nhiều dòng (tối đa {MAX_LINES} dòng đơn vị và quầy)."
        ))]);
    }
    let existing_units: HashMap<&str, &(i32, UnitValues)> = existing
        .units
        .iter()
        .map(|u| (u.1.code.as_str(), u))
        .collect();

    // Each unit line on its own.
    let mut file_units: Vec<(&UnitLine, UnitValues)> = Vec::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for line in &lines.units {
        let at = |column: &str, message: String| Problem::at(&line.place, Some(column), message);
        let before = problems.len();
        let code = line.code.trim();
        if code.is_empty() {
            problems.push(at(c::UNIT_CODE, "Thiếu mã đơn vị.".into()));
        } else if !is_valid_unit_code(code) {
            problems.push(at(
                c::UNIT_CODE,
                format!(
                    "Mã đơn vị «{code}» không hợp lệ: chỉ gồm chữ thường không dấu (a-z), chữ số, \
                     dấu chấm và dấu gạch ngang, bắt đầu bằng chữ hoặc số, tối đa 64 ký tự."
                ),
            ));
        } else if let Some(first) = seen.insert(code, line.place.row) {
            problems.push(at(
                c::UNIT_CODE,
                format!("Mã đơn vị «{code}» trùng với dòng {first}."),
            ));
        }
        let name = line.name.trim();
        if name.is_empty() {
            problems.push(at(c::UNIT_NAME, "Thiếu tên đơn vị.".into()));
        } else if name.chars().count() > MAX_NAME_CHARS {
            problems.push(at(
                c::UNIT_NAME,
                format!("Tên đơn vị dài quá {MAX_NAME_CHARS} ký tự."),
            ));
        }
        let kind = parse_kind(&line.kind);
        if kind.is_none() {
            let labels: Vec<&str> = UnitKind::ALL.iter().map(|k| k.label()).collect();
            problems.push(at(
                c::KIND,
                if line.kind.trim().is_empty() {
                    format!("Thiếu loại đơn vị (một trong: {}).", labels.join("; "))
                } else {
                    format!(
                        "Loại đơn vị «{}» không có trong danh sách: {}.",
                        line.kind.trim(),
                        labels.join("; ")
                    )
                },
            ));
        }
        let admin_code = optional(&line.admin_code);
        if let Some(admin) = &admin_code
            && !is_valid_admin_code(admin)
        {
            problems.push(at(
                c::ADMIN_CODE,
                format!(
                    "Mã ĐVHC «{admin}» không hợp lệ: gồm 2 chữ số (tỉnh), 3 chữ số (huyện cũ) hoặc \
                     5 chữ số (xã, phường). Nếu số 0 ở đầu bị mất, hãy định dạng cột là Văn bản."
                ),
            ));
        }
        let date = |text: &str, column: &str, problems: &mut Vec<Problem>| match optional(text) {
            None => None,
            Some(text) => {
                let date = parse_date(&text);
                if date.is_none() {
                    problems.push(at(
                        column,
                        format!("Ngày «{text}» không hợp lệ: viết theo dạng ngày/tháng/năm, ví dụ 01/07/2025."),
                    ));
                }
                date
            }
        };
        let valid_from = date(&line.valid_from, c::VALID_FROM, &mut problems);
        let valid_until = date(&line.valid_until, c::VALID_UNTIL, &mut problems);
        if let (Some(from), Some(until)) = (valid_from, valid_until)
            && until <= from
        {
            problems.push(at(
                c::VALID_UNTIL,
                "Ngày hết hiệu lực phải sau ngày bắt đầu hiệu lực.".into(),
            ));
        }
        let default_form = checked_form(&line.default_form, known_forms).unwrap_or_else(|m| {
            problems.push(at(c::DEFAULT_FORM, m));
            None
        });
        let active = checked_active(&line.active)
            .map_err(|m| problems.push(at(c::ACTIVE, m)))
            .ok();
        let parent_code = optional(&line.parent_code);
        if parent_code.as_deref() == Some(code) && !code.is_empty() {
            problems.push(at(
                c::PARENT_CODE,
                "Đơn vị không thể là cấp trên của chính nó.".into(),
            ));
        }
        if problems.len() == before
            && let (Some(kind), Some(active)) = (kind, active)
        {
            file_units.push((
                line,
                UnitValues {
                    code: code.to_string(),
                    name: name.to_string(),
                    kind: kind.as_str(),
                    parent_code,
                    admin_code,
                    valid_from,
                    valid_until,
                    default_form,
                    active,
                },
            ));
        }
    }

    // The tree after the import: today's units, with the file's in their place.
    let mut after: BTreeMap<String, UnitValues> = existing
        .units
        .iter()
        .map(|(_, u)| (u.code.clone(), u.clone()))
        .collect();
    for (_, values) in &file_units {
        after.insert(values.code.clone(), values.clone());
    }
    let line_codes: HashSet<&str> = lines.units.iter().map(|l| l.code.trim()).collect();
    for line in &lines.units {
        if let Some(parent) = optional(&line.parent_code)
            && !after.contains_key(&parent)
            && !line_codes.contains(parent.as_str())
        {
            problems.push(Problem::at(
                &line.place,
                Some(c::PARENT_CODE),
                format!("Không có đơn vị nào mã «{parent}» (trong tệp hay trong hệ thống)."),
            ));
        }
    }
    // Cycles: walking up from each unit of the file must reach the top.
    for (line, values) in &file_units {
        let mut current = values.parent_code.clone();
        let mut steps = 0;
        while let Some(code) = current {
            if code == values.code {
                problems.push(Problem::at(
                    &line.place,
                    Some(c::PARENT_CODE),
                    format!(
                        "Đơn vị «{}» nằm dưới chính nó theo chuỗi cấp trên (vòng lặp).",
                        values.code
                    ),
                ));
                break;
            }
            steps += 1;
            if steps > after.len() {
                break;
            }
            current = after.get(&code).and_then(|u| u.parent_code.clone());
        }
    }
    // Official codes: one current unit each.
    let mut holders: HashMap<&str, Vec<&str>> = HashMap::new();
    for unit in after.values() {
        if let (Some(admin), None) = (&unit.admin_code, unit.valid_until) {
            holders.entry(admin).or_default().push(&unit.code);
        }
    }
    for (line, values) in &file_units {
        if let (Some(admin), None) = (&values.admin_code, values.valid_until)
            && let Some(others) = holders.get(admin.as_str())
            && others.len() > 1
        {
            let others: Vec<&str> = others
                .iter()
                .copied()
                .filter(|c| *c != values.code)
                .collect();
            problems.push(Problem::at(
                &line.place,
                Some(c::ADMIN_CODE),
                format!(
                    "Mã ĐVHC «{admin}» đã dùng cho đơn vị đang tồn tại khác: {}.",
                    others.join(", ")
                ),
            ));
        }
    }

    // Desks.
    let existing_desks: HashMap<(&str, &str), &(i32, DeskValues)> = existing
        .desks
        .iter()
        .map(|d| ((d.1.unit_code.as_str(), d.1.name.as_str()), d))
        .collect();
    let mut desk_values: Vec<DeskValues> = Vec::new();
    let mut seen_desks: HashMap<(String, String), usize> = HashMap::new();
    for line in &lines.desks {
        let at = |column: &str, message: String| Problem::at(&line.place, Some(column), message);
        let before = problems.len();
        let unit_code = line.unit_code.trim();
        if unit_code.is_empty() {
            problems.push(at(c::UNIT_CODE, "Thiếu mã đơn vị của quầy.".into()));
        } else if !after.contains_key(unit_code) && !line_codes.contains(unit_code) {
            problems.push(at(
                c::UNIT_CODE,
                format!("Không có đơn vị nào mã «{unit_code}» (trong tệp hay trong hệ thống)."),
            ));
        }
        let name = line.name.trim();
        if name.is_empty() {
            problems.push(at(c::DESK_NAME, "Thiếu tên quầy.".into()));
        } else if name.chars().count() > MAX_NAME_CHARS {
            problems.push(at(
                c::DESK_NAME,
                format!("Tên quầy dài quá {MAX_NAME_CHARS} ký tự."),
            ));
        } else if let Some(first) =
            seen_desks.insert((unit_code.to_string(), name.to_string()), line.place.row)
        {
            problems.push(at(
                c::DESK_NAME,
                format!("Quầy «{name}» của đơn vị «{unit_code}» trùng với dòng {first}."),
            ));
        }
        let form = checked_form(&line.form, known_forms).unwrap_or_else(|m| {
            problems.push(at(c::DESK_FORM, m));
            None
        });
        let active = checked_active(&line.active)
            .map_err(|m| problems.push(at(c::ACTIVE, m)))
            .ok();
        if problems.len() == before
            && let Some(active) = active
        {
            desk_values.push(DeskValues {
                unit_code: unit_code.to_string(),
                name: name.to_string(),
                form,
                active,
            });
        }
    }
    if !problems.is_empty() {
        problems.sort_by(|a, b| (&a.sheet, a.row).cmp(&(&b.sheet, b.row)));
        return Err(problems);
    }

    // The plan: units whose values differ, parents first.
    let mut changes: HashMap<&str, UnitChange> = HashMap::new();
    for (_, values) in &file_units {
        match existing_units.get(values.code.as_str()) {
            Some((_, now)) if now == values => {}
            Some((id, now)) => {
                changes.insert(
                    &values.code,
                    UnitChange {
                        id: Some(*id),
                        before: Some(now.clone()),
                        after: values.clone(),
                    },
                );
            }
            None => {
                changes.insert(
                    &values.code,
                    UnitChange {
                        id: None,
                        before: None,
                        after: values.clone(),
                    },
                );
            }
        }
    }
    let depth = |code: &str| {
        let mut depth = 0;
        let mut current = after.get(code).and_then(|u| u.parent_code.clone());
        while let Some(code) = current {
            depth += 1;
            current = after.get(&code).and_then(|u| u.parent_code.clone());
        }
        depth
    };
    let mut units: Vec<UnitChange> = changes.into_values().collect();
    units.sort_by_cached_key(|c| (depth(&c.after.code), c.after.code.clone()));
    let mut desks = Vec::new();
    for values in desk_values {
        match existing_desks.get(&(values.unit_code.as_str(), values.name.as_str())) {
            Some((_, now)) if *now == values => {}
            Some((id, now)) => desks.push(DeskChange {
                id: Some(*id),
                before: Some(now.clone()),
                after: values,
            }),
            None => desks.push(DeskChange {
                id: None,
                before: None,
                after: values,
            }),
        }
    }
    Ok(Plan { units, desks })
}

/// Today's tree as lines of the file: units parents first (siblings by code), then their
/// desks by unit in the same order and by name.
pub fn export_lines(existing: &Existing) -> Lines {
    let mut children: BTreeMap<Option<&str>, Vec<&UnitValues>> = BTreeMap::new();
    for (_, unit) in &existing.units {
        children
            .entry(unit.parent_code.as_deref())
            .or_default()
            .push(unit);
    }
    for list in children.values_mut() {
        list.sort_by(|a, b| a.code.cmp(&b.code));
    }
    let mut order: Vec<&UnitValues> = Vec::new();
    let mut stack: Vec<&UnitValues> = children.get(&None).cloned().unwrap_or_default();
    stack.reverse();
    while let Some(unit) = stack.pop() {
        order.push(unit);
        if let Some(list) = children.get(&Some(unit.code.as_str())) {
            stack.extend(list.iter().rev());
        }
    }
    let place = Place::default;
    let units: Vec<UnitLine> = order
        .iter()
        .map(|u| UnitLine {
            place: place(),
            code: u.code.clone(),
            name: u.name.clone(),
            kind: UnitKind::label_of(u.kind).to_string(),
            parent_code: u.parent_code.clone().unwrap_or_default(),
            admin_code: u.admin_code.clone().unwrap_or_default(),
            valid_from: u.valid_from.map(date_text).unwrap_or_default(),
            valid_until: u.valid_until.map(date_text).unwrap_or_default(),
            default_form: u.default_form.clone().unwrap_or_default(),
            active: bool_text(u.active).to_string(),
        })
        .collect();
    let rank: HashMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, u)| (u.code.as_str(), i))
        .collect();
    let mut desks: Vec<&DeskValues> = existing.desks.iter().map(|(_, d)| d).collect();
    desks.sort_by(|a, b| {
        (rank.get(a.unit_code.as_str()), &a.name).cmp(&(rank.get(b.unit_code.as_str()), &b.name))
    });
    Lines {
        units,
        desks: desks
            .into_iter()
            .map(|d| DeskLine {
                place: place(),
                unit_code: d.unit_code.clone(),
                name: d.name.clone(),
                form: d.form.clone().unwrap_or_default(),
                active: bool_text(d.active).to_string(),
            })
            .collect(),
    }
}

/// Today's units and desks.
pub async fn load_existing(conn: &mut AsyncPgConnection) -> diesel::QueryResult<Existing> {
    let all = Unit::all_by_name(conn).await?;
    let codes: HashMap<i32, String> = all.iter().map(|u| (u.id, u.code.clone())).collect();
    let units = all
        .iter()
        .map(|u| {
            (
                u.id,
                UnitValues {
                    code: u.code.clone(),
                    name: u.name.clone(),
                    kind: UnitKind::parse(&u.kind).unwrap_or(UnitKind::Other).as_str(),
                    parent_code: u.parent_id.and_then(|p| codes.get(&p).cloned()),
                    admin_code: u.admin_code.clone(),
                    valid_from: u.valid_from,
                    valid_until: u.valid_until,
                    default_form: u.default_form_id.clone(),
                    active: u.active,
                },
            )
        })
        .collect();
    let desks = Desk::all(conn)
        .await?
        .into_iter()
        .filter_map(|d| {
            Some((
                d.id,
                DeskValues {
                    unit_code: codes.get(&d.unit_id)?.clone(),
                    name: d.name,
                    form: d.form_id,
                    active: d.active,
                },
            ))
        })
        .collect();
    Ok(Existing { units, desks })
}

/// The forms an imported unit or desk may name: the forms loaded now, and those a unit or
/// desk already shows (a form whose file was removed stays acceptable where it is chosen).
pub fn acceptable_forms(loaded: &[&str], existing: &Existing) -> HashSet<String> {
    let mut forms: HashSet<String> = loaded.iter().map(|f| f.to_string()).collect();
    forms.extend(
        existing
            .units
            .iter()
            .filter_map(|(_, u)| u.default_form.clone()),
    );
    forms.extend(existing.desks.iter().filter_map(|(_, d)| d.form.clone()));
    forms
}

/// Who imports, for the audit entry: an account, or the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportedBy {
    Account(i32),
    CommandLine,
}

/// What [`import`] did (or, dry, would do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The file was refused: nothing was written.
    Refused(Vec<Problem>),
    /// The plan, applied unless `dry_run` (an empty plan writes nothing, not even the audit
    /// entry).
    Checked(Plan),
}

/// Checks `lines` against today's tree and, unless `dry_run` or nothing changes, applies them
/// in one transaction under the unit tree's lock, with one audit entry "units.import".
/// `loaded_forms`: the ids of the forms loaded now.
pub async fn import(
    conn: &mut AsyncPgConnection,
    by: ImportedBy,
    lines: &Lines,
    loaded_forms: &[&str],
    dry_run: bool,
) -> diesel::QueryResult<Outcome> {
    conn.transaction::<_, DbError, _>(async |conn| {
        units::lock_tree(conn).await?;
        let existing = load_existing(conn).await?;
        let forms = acceptable_forms(loaded_forms, &existing);
        let plan = match check(lines, &existing, &forms) {
            Ok(plan) => plan,
            Err(problems) => return Ok(Outcome::Refused(problems)),
        };
        if dry_run || plan.is_empty() {
            return Ok(Outcome::Checked(plan));
        }
        apply(conn, by, &existing, &plan).await?;
        Ok(Outcome::Checked(plan))
    })
    .await
}

async fn apply(
    conn: &mut AsyncPgConnection,
    by: ImportedBy,
    existing: &Existing,
    plan: &Plan,
) -> diesel::QueryResult<()> {
    let mut ids: HashMap<String, i32> = existing
        .units
        .iter()
        .map(|(id, u)| (u.code.clone(), *id))
        .collect();
    for change in &plan.units {
        let u = &change.after;
        let parent_id = match &u.parent_code {
            Some(code) => Some(*ids.get(code).ok_or(DbError::NotFound)?),
            None => None,
        };
        match change.id {
            None => {
                let unit = Unit::insert(
                    conn,
                    &NewUnit {
                        parent_id,
                        code: &u.code,
                        name: &u.name,
                        kind: u.kind,
                        default_form_id: u.default_form.as_deref(),
                        admin_code: u.admin_code.as_deref(),
                        valid_from: u.valid_from,
                        valid_until: u.valid_until,
                    },
                )
                .await?;
                if !u.active {
                    Unit::set_active(conn, unit.id, false).await?;
                }
                ids.insert(u.code.clone(), unit.id);
            }
            Some(id) => {
                let fields = UnitFields {
                    name: u.name.clone(),
                    kind: UnitKind::parse(u.kind).unwrap_or(UnitKind::Other),
                    parent_id,
                    default_form_id: u.default_form.clone(),
                    admin_code: u.admin_code.clone(),
                    valid_from: u.valid_from,
                    valid_until: u.valid_until,
                };
                Unit::update_fields(conn, id, &fields).await?;
                if change.before.as_ref().map(|b| b.active) != Some(u.active) {
                    Unit::set_active(conn, id, u.active).await?;
                }
            }
        }
    }
    let mut new_desks = Vec::new();
    for change in &plan.desks {
        let d = &change.after;
        let unit_id = *ids.get(&d.unit_code).ok_or(DbError::NotFound)?;
        match change.id {
            None => {
                let (desk, code) = Desk::create(
                    conn,
                    &NewDesk {
                        unit_id,
                        name: &d.name,
                        form_id: d.form.as_deref(),
                    },
                )
                .await?;
                if !d.active {
                    Desk::set_active(conn, desk.id, false).await?;
                }
                new_desks.push(json!({ "desk_id": desk.id, "unit_code": d.unit_code, "name": d.name, "code": code }));
            }
            Some(id) => {
                Desk::set_form_and_active(conn, id, d.form.as_deref(), d.active).await?;
            }
        }
    }
    let (uc, uu, dc, du) = plan.counts();
    let after = json!({
        "by": match by { ImportedBy::Account(_) => "account", ImportedBy::CommandLine => "command line" },
        "units_created": uc,
        "units_updated": uu,
        "desks_created": dc,
        "desks_updated": du,
        "units": plan.units,
        "desks": plan.desks,
        "new_desk_codes": new_desks,
    });
    audit::record(
        conn,
        &NewAuditEntry {
            account_id: match by {
                ImportedBy::Account(id) => Some(id),
                ImportedBy::CommandLine => None,
            },
            action: "units.import",
            entity: "unit",
            entity_id: None,
            before: None,
            after: Some(after),
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(code: &str, parent: Option<&str>) -> UnitValues {
        UnitValues {
            code: code.into(),
            name: format!("Xã Thử Nghiệm {code}"),
            kind: "commune",
            parent_code: parent.map(str::to_string),
            admin_code: None,
            valid_from: None,
            valid_until: None,
            default_form: None,
            active: true,
        }
    }

    fn line(row: usize, code: &str, kind: &str, parent: &str) -> UnitLine {
        UnitLine {
            place: Place { sheet: None, row },
            code: code.into(),
            name: format!("Đơn vị {code}"),
            kind: kind.into(),
            parent_code: parent.into(),
            ..UnitLine::default()
        }
    }

    fn forms() -> HashSet<String> {
        ["sipas-a".to_string()].into()
    }

    #[test]
    fn dates_kinds_and_booleans_read_both_ways() {
        let d = NaiveDate::from_ymd_opt(2025, 7, 1).unwrap();
        assert_eq!(date_text(d), "01/07/2025");
        for text in [
            "01/07/2025",
            "1/7/2025",
            "2025-07-01",
            "01-07-2025",
            " 1.7.2025 ",
        ] {
            assert_eq!(parse_date(text), Some(d), "{text}");
        }
        for text in ["31/02/2025", "07/2025", "1/7/25", "x"] {
            assert_eq!(parse_date(text), None, "{text}");
        }
        assert_eq!(parse_kind("xã"), Some(UnitKind::Commune));
        assert_eq!(parse_kind("commune_centre"), Some(UnitKind::CommuneCentre));
        assert_eq!(
            parse_kind("chi nhánh  /  điểm phục vụ"),
            Some(UnitKind::CentreBranch)
        );
        assert_eq!(parse_kind("Quận"), None);
        for kind in UnitKind::ALL {
            assert_eq!(parse_kind(kind.label()), Some(kind));
            assert_eq!(parse_kind(kind.as_str()), Some(kind));
        }
        assert_eq!(parse_bool("Có"), Some(true));
        assert_eq!(parse_bool(""), Some(true));
        assert_eq!(parse_bool("không"), Some(false));
        assert_eq!(parse_bool("đúng"), None);
    }

    #[test]
    fn problems_say_row_and_column() {
        let lines = Lines {
            units: vec![
                line(2, "a", "Tỉnh", ""),
                line(3, "b", "Quận", "a"),
                line(4, "a", "Xã", ""),
                line(5, "C", "Xã", "zz"),
            ],
            desks: vec![DeskLine {
                place: Place {
                    sheet: None,
                    row: 6,
                },
                unit_code: "nowhere".into(),
                name: "Quầy 1".into(),
                form: "no-form".into(),
                active: "có".into(),
            }],
        };
        let problems = check(&lines, &Existing::default(), &forms()).unwrap_err();
        let texts: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert!(texts.contains(&"Dòng 3, cột «Loại»: Loại đơn vị «Quận» không có trong danh sách: Tỉnh; Huyện; Phòng/ban; Xã; Thị trấn; Phường; Trung tâm Phục vụ hành chính công tỉnh; Chi nhánh / điểm phục vụ; Trung tâm Phục vụ hành chính công xã; Khác.".to_string()), "{texts:#?}");
        assert!(
            texts.contains(&"Dòng 4, cột «Mã đơn vị»: Mã đơn vị «a» trùng với dòng 2.".to_string()),
            "{texts:#?}"
        );
        assert!(
            texts
                .iter()
                .any(|t| t.starts_with("Dòng 5, cột «Mã đơn vị»: Mã đơn vị «C» không hợp lệ")),
            "{texts:#?}"
        );
        assert!(texts.contains(&"Dòng 6, cột «Mã đơn vị»: Không có đơn vị nào mã «nowhere» (trong tệp hay trong hệ thống).".to_string()), "{texts:#?}");
        assert!(
            texts.contains(&"Dòng 6, cột «Phiếu»: Mẫu phiếu «no-form» không tồn tại.".to_string()),
            "{texts:#?}"
        );
        let with_sheet = Problem::at(
            &Place {
                sheet: Some("Quầy".into()),
                row: 7,
            },
            Some("Phiếu"),
            "x",
        );
        assert_eq!(
            with_sheet.to_string(),
            "Trang «Quầy», dòng 7, cột «Phiếu»: x"
        );
    }

    #[test]
    fn cycles_unknown_parents_and_admin_codes_are_refused() {
        let existing = Existing {
            units: vec![
                (1, unit("p", None)),
                (2, unit("q", Some("p"))),
                (3, {
                    let mut u = unit("r", None);
                    u.admin_code = Some("26041".into());
                    u
                }),
            ],
            desks: vec![],
        };
        // p moved under q, which is under p.
        let lines = Lines {
            units: vec![line(2, "p", "Tỉnh", "q")],
            desks: vec![],
        };
        let problems = check(&lines, &existing, &forms()).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("vòng lặp"), "{problems:?}");
        let mut taken = line(2, "s", "Xã", "missing");
        taken.admin_code = "26041".into();
        taken.valid_from = "02/07/2025".into();
        taken.valid_until = "01/07/2025".into();
        let mut bad = line(3, "t", "Xã", "");
        bad.admin_code = "1234".into();
        bad.active = "maybe".into();
        let problems = check(
            &Lines {
                units: vec![taken, bad],
                desks: vec![],
            },
            &existing,
            &forms(),
        )
        .unwrap_err();
        let at: Vec<(usize, &str)> = problems
            .iter()
            .map(|p| (p.row.unwrap(), p.column.as_deref().unwrap()))
            .collect();
        assert_eq!(
            at,
            [
                (2, "Hiệu lực đến"),
                (2, "Mã đơn vị cấp trên"),
                (3, "Mã ĐVHC"),
                (3, "Đang hoạt động"),
            ]
        );
        // Ending the unit that holds the code frees it (an end date on the new one, too).
        let mut ended = line(2, "r", "Xã", "");
        ended.name = "Xã Thử Nghiệm r".into();
        ended.admin_code = "26041".into();
        ended.valid_until = "01/07/2025".into();
        let mut new = line(3, "s", "Xã", "");
        new.admin_code = "26041".into();
        let plan = check(
            &Lines {
                units: vec![ended, new],
                desks: vec![],
            },
            &existing,
            &forms(),
        )
        .unwrap();
        assert_eq!(plan.counts(), (1, 1, 0, 0));
    }

    #[test]
    fn export_reimports_to_an_empty_plan_and_new_units_come_parents_first() {
        let mut branch = unit("dn.b", Some("dn"));
        branch.kind = "centre_branch";
        branch.valid_from = NaiveDate::from_ymd_opt(2025, 7, 1);
        branch.default_form = Some("sipas-a".into());
        branch.active = false;
        let existing = Existing {
            units: vec![(2, branch), (1, unit("dn", None))],
            desks: vec![(
                5,
                DeskValues {
                    unit_code: "dn.b".into(),
                    name: "Quầy 1".into(),
                    form: None,
                    active: false,
                },
            )],
        };
        let lines = export_lines(&existing);
        assert_eq!(lines.units[0].code, "dn");
        assert_eq!(lines.units[1].kind, "Chi nhánh / điểm phục vụ");
        assert_eq!(lines.units[1].valid_from, "01/07/2025");
        assert_eq!(lines.desks[0].active, "không");
        assert_eq!(check(&lines, &existing, &forms()), Ok(Plan::default()));
        // The same lines into an empty installation: everything new, parents first.
        let mut reversed = lines.clone();
        reversed.units.reverse();
        let plan = check(&reversed, &Existing::default(), &forms()).unwrap();
        let order: Vec<&str> = plan.units.iter().map(|c| c.after.code.as_str()).collect();
        assert_eq!(order, ["dn", "dn.b"]);
        assert_eq!(plan.counts(), (2, 0, 1, 0));
    }

    #[test]
    fn an_empty_file_is_refused() {
        let problems = check(&Lines::default(), &Existing::default(), &forms()).unwrap_err();
        assert!(problems[0].message.contains("không có dòng dữ liệu"));
    }
}
