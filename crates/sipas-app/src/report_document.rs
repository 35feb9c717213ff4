//! The printable report's document: what it shows besides the report's figures (the issuing
//! body and its recipients, the plan period whose targets apply, each row's comments), gathered
//! within the account's scope for the web (`/staff/report`) and for `sipas report` alike.

use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;

use crate::Error;
use crate::db::comments::{self, CommentFilter, CommentRow};
use crate::db::units::Unit;
use crate::domain::access::Scope;
use crate::domain::format::format_date;
use crate::domain::time::start_of_day;
use crate::domain::tree::subtree_in_scope;
use crate::reports::Report;

/// How many of a unit's latest comments part V quotes.
pub const COMMENTS_PER_UNIT: usize = 3;

/// The issuing body as the top left of an administrative document shows it (Nghị định
/// 30/2020/NĐ-CP): the body it belongs to, then its own name, both in capitals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer {
    /// "UBND huyện Xuân Lộc" above "Phòng Nội vụ"; `None` for a body on its own.
    pub parent: Option<String>,
    pub name: String,
    /// The place in "Xuân Lộc, ngày 27 tháng 11 năm 2026".
    pub place: String,
    /// Who the report goes to ("Nơi nhận"), before "Lưu: VT".
    pub recipients: Vec<String>,
}

/// The survey plan behind the period, when there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanInfo {
    pub title: String,
    /// "Quý I (01/01/2026 – 31/03/2026)": the plan period whose targets apply.
    pub period: Option<String>,
    /// The plan's margin of error (a share, 0.05 for 5%).
    pub margin_of_error: f64,
}

/// The comments of one row of the report (the unit and the units below it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitComments {
    pub unit_id: i32,
    pub unit_name: String,
    pub total: i64,
    pub handled: i64,
    /// The latest ones, newest first (at most [`COMMENTS_PER_UNIT`]).
    pub latest: Vec<CommentRow>,
}

/// "Xuân Lộc" from "UBND huyện Xuân Lộc", "Gia Ray" from "UBND thị trấn Gia Ray": a unit's
/// name without "UBND" and its administrative level.
pub fn place_name(unit_name: &str) -> String {
    const PREFIXES: [&str; 10] = [
        "ubnd ",
        "ủy ban nhân dân ",
        "tỉnh ",
        "thành phố ",
        "huyện ",
        "quận ",
        "thị xã ",
        "thị trấn ",
        "xã ",
        "phường ",
    ];
    let mut rest = unit_name.trim();
    loop {
        let lower = rest.to_lowercase();
        let Some(prefix) = PREFIXES.iter().find(|p| lower.starts_with(*p)) else {
            break;
        };
        // The prefixes have the same length in bytes in both cases (Vietnamese letters keep
        // their UTF-8 length when lowered), but cut on characters to be safe.
        let chars = prefix.chars().count();
        rest = rest
            .char_indices()
            .nth(chars)
            .map_or("", |(at, _)| &rest[at..])
            .trim_start();
    }
    if rest.is_empty() {
        unit_name.trim().to_string()
    } else {
        rest.to_string()
    }
}

/// What the report is about, as the caller resolved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct About {
    pub year: i32,
    /// The period's label when it is not the whole calendar year.
    pub period: Option<String>,
    pub form_title: String,
    /// The kind of unit the rows are limited to (its label).
    pub kind: Option<String>,
}

/// A report with everything its document shows.
pub struct Prepared {
    pub report: Report,
    pub about: About,
    pub issuer: Issuer,
    pub date: NaiveDate,
    pub plan: Option<PlanInfo>,
    pub comments: Vec<UnitComments>,
    pub comments_total: (i64, i64),
}

/// Whether a unit is a Home Affairs office ("Phòng Nội vụ", "Sở Nội vụ"): the body that
/// reports on the survey for the unit above it.
fn is_home_affairs(unit: &Unit) -> bool {
    unit.active && unit.name.to_lowercase().contains("nội vụ")
}

/// Who issues the report of `root` and who receives it: a district or province reports
/// through its Home Affairs office when it has one (plan 157/KH-UBND, III: "báo cáo ... về UBND
/// huyện (qua phòng Nội vụ)"); a department under its parent's name; any other unit on its
/// own. The report goes to the unit above, through its Home Affairs office.
pub fn issuer(units: &[Unit], root: i32) -> Issuer {
    let find = |id: i32| units.iter().find(|u| u.id == id);
    let Some(unit) = find(root) else {
        return Issuer {
            parent: None,
            name: String::new(),
            place: String::new(),
            recipients: Vec::new(),
        };
    };
    let parent = unit.parent_id.and_then(find);
    let office_of = |id: i32| {
        units
            .iter()
            .find(|u| u.parent_id == Some(id) && is_home_affairs(u))
    };
    let mut recipients: Vec<String> = parent
        .map(|p| match office_of(p.id) {
            Some(office) => format!("{} (qua {})", p.name, office.name),
            None => p.name.clone(),
        })
        .into_iter()
        .collect();
    match (office_of(unit.id), unit.kind.as_str()) {
        (Some(office), _) => {
            recipients.push(format!("Chủ tịch, các Phó Chủ tịch {}", unit.name));
            Issuer {
                parent: Some(unit.name.clone()),
                name: office.name.clone(),
                place: place_name(&unit.name),
                recipients,
            }
        }
        (None, "department") if parent.is_some() => {
            let parent = parent.expect("checked");
            Issuer {
                parent: Some(parent.name.clone()),
                name: unit.name.clone(),
                place: place_name(&parent.name),
                recipients,
            }
        }
        _ => Issuer {
            parent: None,
            name: unit.name.clone(),
            place: place_name(&unit.name),
            recipients,
        },
    }
}

/// Gathers what the document of `report` shows besides its figures: the issuing body, the
/// plan period whose targets apply, and each row's comments (how many, how many handled, the
/// latest few), all within `scope`.
pub async fn prepare(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    report: Report,
    about: About,
    date: NaiveDate,
) -> Result<Prepared, Error> {
    let all = Unit::all_by_name(conn).await?;
    let issuer = issuer(&all, report.root.id);
    let plan = match report.query.period_id {
        Some(id) => crate::db::published::plan_period(conn, id)
            .await?
            .map(|(plan, period)| PlanInfo {
                title: plan.title,
                period: Some(format!(
                    "{} ({} – {})",
                    period.name,
                    format_date(period.starts_on),
                    format_date(period.ends_on)
                )),
                margin_of_error: plan.margin_of_error,
            }),
        None => None,
    };
    let mut comments = Vec::new();
    let mut comments_total = (0, 0);
    if let (Some(from), Some(until)) = (
        start_of_day(report.query.from),
        report.query.to.succ_opt().and_then(start_of_day),
    ) {
        let everything = subtree_in_scope(&all, report.root.id, scope);
        let summary = comments::handling_summary(
            conn,
            scope,
            &CommentFilter {
                units: Some(everything),
                from: Some(from),
                until: Some(until),
                ..CommentFilter::default()
            },
        )
        .await?;
        let mut asked = Vec::new();
        for row in &report.rows {
            let ids = subtree_in_scope(&all, row.unit.id, scope);
            let (total, handled) = summary
                .iter()
                .filter(|s| ids.contains(&s.unit_id))
                .fold((0, 0), |(t, h), s| (t + s.total, h + s.handled));
            comments_total.0 += total;
            comments_total.1 += handled;
            if total == 0 {
                continue;
            }
            comments.push(UnitComments {
                unit_id: row.unit.id,
                unit_name: row.unit.name.clone(),
                total,
                handled,
                latest: Vec::new(),
            });
            asked.push((row.unit.id, ids));
        }
        let latest =
            comments::latest_by_group(conn, &asked, from, until, COMMENTS_PER_UNIT as i64).await?;
        for (unit_id, rows) in latest {
            if let Some(unit) = comments.iter_mut().find(|c| c.unit_id == unit_id) {
                unit.latest = rows;
            }
        }
    }
    Ok(Prepared {
        report,
        about,
        issuer,
        date,
        plan,
        comments,
        comments_total,
    })
}

/// The texts of part I that the page and the Word file both print, word for word.
pub mod wording {
    pub const PURPOSE: &str = "Đánh giá khách quan chất lượng cung cấp dịch vụ hành chính công của các cơ quan, \
        đơn vị, địa phương; kịp thời nắm bắt ý kiến của người dân, tổ chức để khắc phục, \
        nâng cao chất lượng dịch vụ hành chính công và mức độ hài lòng của người dân, tổ chức; \
        làm cơ sở tổng hợp báo cáo cấp trên và đánh giá Chỉ số cải cách hành chính (PAR INDEX), \
        Chỉ số hài lòng về sự phục vụ hành chính (SIPAS).";
    pub const RESPONDENTS: &str = "Đối tượng: người dân, đại diện tổ chức đã giải quyết thủ tục hành chính tại Bộ phận \
        Tiếp nhận và Trả kết quả của các đơn vị, tự nguyện trả lời phiếu (qua mã QR tại quầy, \
        phiếu giấy và các hình thức khác).";
    pub const COMPUTATION: &str = "Cách tính: chỉ số hài lòng của một tiêu chí là tỉ lệ câu trả lời “Hài lòng” và “Rất hài lòng” \
        trên số câu trả lời hợp lệ (không tính câu “Không áp dụng”); chỉ số của yếu tố là trung bình \
        cộng chỉ số các tiêu chí; Chỉ số SIPAS của đơn vị là trung bình cộng chỉ số các yếu tố. \
        Khoảng tin cậy 95% được tính từ điểm hài lòng của từng người trả lời và độ dao động của các tiêu chí có ít người trả lời hơn (do \"Không áp dụng\" hoặc bỏ trống).";
    /// Under the signer's title when no name is given.
    pub const SIGN_HINT: &str = "(Ký, ghi rõ họ tên và đóng dấu)";
    /// The last recipient of every administrative document: the issuer's own archive.
    pub const ARCHIVE: &str = "Lưu: VT.";
    /// The signer's title when the form leaves it empty.
    pub const SIGNER_TITLE: &str = "THỦ TRƯỞNG CƠ QUAN";
}

/// What the office fills in on the document ("Thông tin văn bản") as typed in the report page's
/// small form: GET parameters carried on the page's links, changing nothing stored. An empty
/// field takes its default ([`DocumentInput::resolve`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocumentInput {
    /// `doc_number`: what comes after "Số: " ("12" gives "Số: 12/BC"; "12/BC-PNV" is kept).
    pub number: String,
    /// `doc_place`: the place before the date.
    pub place: String,
    /// `doc_date`: the document's date, `YYYY-MM-DD` (a date input) or `dd/mm/yyyy`.
    pub date: String,
    /// `signer_title`: one to three lines ("KT. CHỦ TỊCH" / "PHÓ CHỦ TỊCH").
    pub signer_title: String,
    /// `signer_name`: the signer's full name.
    pub signer_name: String,
    /// `recipients`: one "Nơi nhận" per line.
    pub recipients: String,
}

/// The query parameters of [`DocumentInput`], in the order of the form.
pub const DOCUMENT_PARAMS: [&str; 6] = [
    "doc_number",
    "doc_place",
    "doc_date",
    "signer_title",
    "signer_name",
    "recipients",
];

/// Longest text of a one-line field, in characters.
pub const MAX_LINE_CHARS: usize = 120;
/// Longest document number.
pub const MAX_NUMBER_CHARS: usize = 40;
/// Most lines of the signer's title.
pub const MAX_TITLE_LINES: usize = 4;
/// Most recipients.
pub const MAX_RECIPIENTS: usize = 15;

/// The document's fields as printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentFields {
    /// The number before "/BC", or the whole number the office typed; `None`: left blank.
    pub number: Option<String>,
    pub place: String,
    pub date: NaiveDate,
    /// The signer's title, line by line (printed in bold capitals).
    pub signer_title: Vec<String>,
    pub signer_name: Option<String>,
    /// "Nơi nhận", without the leading dash and the final punctuation.
    pub recipients: Vec<String>,
}

impl DocumentFields {
    /// "Số: 12/BC", or "Số:" with a blank to fill by hand.
    pub fn number_line(&self) -> String {
        match &self.number {
            Some(n) if n.contains('/') => format!("Số: {n}"),
            Some(n) => format!("Số: {n}/BC"),
            None => format!("Số: {}/BC", "\u{a0}".repeat(10)),
        }
    }

    /// The recipients as the document lists them: "- UBND tỉnh Đồng Nai;" ..., the last one
    /// ending with a full stop.
    pub fn recipient_lines(&self) -> Vec<String> {
        let last = self.recipients.len().saturating_sub(1);
        self.recipients
            .iter()
            .enumerate()
            .map(|(i, r)| format!("- {r}{}", if i == last { "." } else { ";" }))
            .collect()
    }

    /// The fields an empty form gives: the issuer's place and recipients, the report's date.
    pub fn defaults(issuer: &Issuer, date: NaiveDate) -> Self {
        DocumentFields {
            number: None,
            place: issuer.place.clone(),
            date,
            signer_title: vec![wording::SIGNER_TITLE.to_string()],
            signer_name: None,
            recipients: default_recipients(issuer),
        }
    }
}

/// The issuer's recipients, then its archive ("Lưu: VT").
pub fn default_recipients(issuer: &Issuer) -> Vec<String> {
    issuer
        .recipients
        .iter()
        .cloned()
        .chain(std::iter::once(
            wording::ARCHIVE.trim_end_matches('.').to_string(),
        ))
        .collect()
}

fn has_control(text: &str, multiline: bool) -> bool {
    text.chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\r' || c == '\t')))
}

/// One line of a multi-line field without its list dash and final punctuation.
fn clean_line(line: &str) -> String {
    let line = line.trim().replace('\t', " ");
    let line = line.strip_prefix('-').unwrap_or(&line).trim();
    line.trim_end_matches([';', '.', ','])
        .trim_end()
        .to_string()
}

impl DocumentInput {
    /// The fields from the query's pairs (other keys are the filters').
    pub fn from_pairs(pairs: &[(String, String)]) -> Self {
        let value = |key: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        DocumentInput {
            number: value("doc_number"),
            place: value("doc_place"),
            date: value("doc_date"),
            signer_title: value("signer_title"),
            signer_name: value("signer_name"),
            recipients: value("recipients"),
        }
    }

    /// The non-empty fields as query pairs, for the page's links.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        DOCUMENT_PARAMS
            .iter()
            .zip([
                &self.number,
                &self.place,
                &self.date,
                &self.signer_title,
                &self.signer_name,
                &self.recipients,
            ])
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| (*k, v.clone()))
            .collect()
    }

    /// The printed fields, the defaults standing for what is empty; or what was refused, per
    /// field (the query parameter's name), in Vietnamese.
    pub fn resolve(
        &self,
        defaults: &DocumentFields,
    ) -> Result<DocumentFields, crate::domain::fields::FieldErrors> {
        let mut errors = crate::domain::fields::FieldErrors::new();
        let mut line = |key: &'static str, label: &str, text: &str, max: usize| -> Option<String> {
            let text = text.trim();
            if has_control(text, false) {
                errors.insert(
                    key,
                    format!("{label} có ký tự không hợp lệ (ký tự điều khiển)."),
                );
                None
            } else if text.chars().count() > max {
                errors.insert(key, format!("{label} dài quá {max} ký tự."));
                None
            } else if text.is_empty() {
                None
            } else {
                Some(text.to_string())
            }
        };
        let number = line("doc_number", "Số văn bản", &self.number, MAX_NUMBER_CHARS);
        let place = line("doc_place", "Địa danh", &self.place, MAX_LINE_CHARS);
        let signer_name = line(
            "signer_name",
            "Họ tên người ký",
            &self.signer_name,
            MAX_LINE_CHARS,
        );
        let date_text = line("doc_date", "Ngày ban hành", &self.date, 20);
        let date = match date_text {
            None => None,
            Some(text) => {
                let parsed = NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                    .or_else(|_| NaiveDate::parse_from_str(&text, "%d/%m/%Y"))
                    .ok()
                    .filter(|d| (2000..=2100).contains(&chrono::Datelike::year(d)));
                if parsed.is_none() {
                    errors.insert(
                        "doc_date",
                        "Ngày ban hành không hợp lệ (ví dụ 05/02/2026).".to_string(),
                    );
                }
                parsed
            }
        };
        let mut lines = |key: &'static str, label: &str, text: &str, max_lines: usize| {
            if has_control(text, true) {
                errors.insert(
                    key,
                    format!("{label} có ký tự không hợp lệ (ký tự điều khiển)."),
                );
                return None;
            }
            if text.chars().count() > max_lines * (MAX_LINE_CHARS + 2) {
                errors.insert(key, format!("{label} quá dài."));
                return None;
            }
            let lines: Vec<String> = text
                .lines()
                .map(clean_line)
                .filter(|l| !l.is_empty())
                .collect();
            if lines.len() > max_lines {
                errors.insert(key, format!("{label}: nhiều nhất {max_lines} dòng."));
                None
            } else if lines.iter().any(|l| l.chars().count() > MAX_LINE_CHARS) {
                errors.insert(
                    key,
                    format!("{label}: mỗi dòng dài nhiều nhất {MAX_LINE_CHARS} ký tự."),
                );
                None
            } else {
                (!lines.is_empty()).then_some(lines)
            }
        };
        let signer_title = lines(
            "signer_title",
            "Chức vụ người ký",
            &self.signer_title,
            MAX_TITLE_LINES,
        );
        let recipients = lines("recipients", "Nơi nhận", &self.recipients, MAX_RECIPIENTS);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(DocumentFields {
            number,
            place: place.unwrap_or_else(|| defaults.place.clone()),
            date: date.unwrap_or(defaults.date),
            signer_title: signer_title.unwrap_or_else(|| defaults.signer_title.clone()),
            signer_name,
            recipients: recipients.unwrap_or_else(|| defaults.recipients.clone()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn unit(id: i32, parent: Option<i32>, name: &str, kind: &str) -> Unit {
        Unit {
            id,
            parent_id: parent,
            code: format!("u{id}"),
            name: name.into(),
            kind: kind.into(),
            default_form_id: None,
            active: true,
            created_at: Utc::now(),
            admin_code: None,
            valid_from: None,
            valid_until: None,
        }
    }

    fn tree() -> Vec<Unit> {
        vec![
            unit(1, None, "UBND tỉnh Đồng Nai", "province"),
            unit(2, Some(1), "UBND huyện Xuân Lộc", "district"),
            unit(3, Some(2), "Phòng Nội vụ", "department"),
            unit(4, Some(2), "Phòng Tư pháp", "department"),
            unit(5, Some(2), "UBND xã Xuân Bắc", "commune"),
        ]
    }

    #[test]
    fn the_district_reports_through_its_home_affairs_office() {
        let issuer = issuer(&tree(), 2);
        assert_eq!(issuer.parent.as_deref(), Some("UBND huyện Xuân Lộc"));
        assert_eq!(issuer.name, "Phòng Nội vụ");
        assert_eq!(issuer.place, "Xuân Lộc");
        assert_eq!(
            issuer.recipients,
            [
                "UBND tỉnh Đồng Nai",
                "Chủ tịch, các Phó Chủ tịch UBND huyện Xuân Lộc"
            ]
        );
    }

    #[test]
    fn a_commune_reports_on_its_own_to_the_district() {
        let issuer = issuer(&tree(), 5);
        assert_eq!(issuer.parent, None);
        assert_eq!(issuer.name, "UBND xã Xuân Bắc");
        assert_eq!(issuer.place, "Xuân Bắc");
        assert_eq!(
            issuer.recipients,
            ["UBND huyện Xuân Lộc (qua Phòng Nội vụ)"]
        );
        let department = super::issuer(&tree(), 4);
        assert_eq!(department.parent.as_deref(), Some("UBND huyện Xuân Lộc"));
        assert_eq!(department.name, "Phòng Tư pháp");
        assert_eq!(department.place, "Xuân Lộc");
    }

    fn input(pairs: &[(&str, &str)]) -> DocumentInput {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        DocumentInput::from_pairs(&pairs)
    }

    fn defaults() -> DocumentFields {
        DocumentFields::defaults(
            &issuer(&tree(), 2),
            NaiveDate::from_ymd_opt(2026, 4, 5).unwrap(),
        )
    }

    #[test]
    fn an_empty_form_gives_the_defaults() {
        let fields = DocumentInput::default().resolve(&defaults()).unwrap();
        assert_eq!(fields, defaults());
        assert_eq!(
            fields.number_line(),
            format!("Số: {}/BC", "\u{a0}".repeat(10))
        );
        assert_eq!(
            fields.recipient_lines(),
            [
                "- UBND tỉnh Đồng Nai;",
                "- Chủ tịch, các Phó Chủ tịch UBND huyện Xuân Lộc;",
                "- Lưu: VT."
            ]
        );
        assert_eq!(fields.signer_title, ["THỦ TRƯỞNG CƠ QUAN"]);
    }

    #[test]
    fn the_form_fills_the_document() {
        let fields = input(&[
            ("doc_number", " 12 "),
            ("doc_place", "Gia Ray"),
            ("doc_date", "2026-02-05"),
            ("signer_title", "KT. CHỦ TỊCH\r\nPHÓ CHỦ TỊCH\r\n"),
            ("signer_name", "Nguyễn Văn A"),
            ("recipients", "- Sở Nội vụ tỉnh;\n\n- Lưu: VT, PNV.\n"),
            ("year", "2026"),
        ])
        .resolve(&defaults())
        .unwrap();
        assert_eq!(fields.number_line(), "Số: 12/BC");
        assert_eq!(fields.place, "Gia Ray");
        assert_eq!(fields.date, NaiveDate::from_ymd_opt(2026, 2, 5).unwrap());
        assert_eq!(fields.signer_title, ["KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"]);
        assert_eq!(fields.signer_name.as_deref(), Some("Nguyễn Văn A"));
        assert_eq!(
            fields.recipient_lines(),
            ["- Sở Nội vụ tỉnh;", "- Lưu: VT, PNV."]
        );
        let full = input(&[("doc_number", "12/BC-PNV"), ("doc_date", "05/02/2026")])
            .resolve(&defaults())
            .unwrap();
        assert_eq!(full.number_line(), "Số: 12/BC-PNV");
        assert_eq!(full.date, NaiveDate::from_ymd_opt(2026, 2, 5).unwrap());
    }

    #[test]
    fn hostile_values_are_refused_in_vietnamese() {
        let long = "a".repeat(10_000);
        let errors = input(&[
            ("doc_number", &long),
            ("doc_place", "Xuân\u{0}Lộc"),
            ("doc_date", "2026-13-45"),
            ("signer_title", "A\nB\nC\nD\nE"),
            ("signer_name", "\u{1b}[31m"),
            ("recipients", &long),
        ])
        .resolve(&defaults())
        .unwrap_err();
        assert_eq!(errors["doc_number"], "Số văn bản dài quá 40 ký tự.");
        assert!(errors["doc_place"].contains("ký tự điều khiển"));
        assert!(errors["doc_date"].starts_with("Ngày ban hành không hợp lệ"));
        assert_eq!(
            errors["signer_title"],
            "Chức vụ người ký: nhiều nhất 4 dòng."
        );
        assert!(errors["signer_name"].contains("ký tự điều khiển"));
        assert_eq!(errors["recipients"], "Nơi nhận quá dài.");
        // Markup is text like any other: the views escape it.
        let fields = input(&[("signer_name", "<script>alert(1)</script>")])
            .resolve(&defaults())
            .unwrap();
        assert_eq!(
            fields.signer_name.as_deref(),
            Some("<script>alert(1)</script>")
        );
    }

    #[test]
    fn subtrees_stay_in_scope() {
        let units = tree();
        assert_eq!(subtree_in_scope(&units, 2, &Scope::All), [2, 3, 4, 5]);
        assert_eq!(subtree_in_scope(&units, 2, &Scope::Units(vec![5])), [5]);
        assert_eq!(subtree_in_scope(&units, 5, &Scope::Units(vec![5])), [5]);
    }
}
