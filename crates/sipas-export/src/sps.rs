//! SPSS syntax reading the raw data (see [`super::csv`]): GET DATA from the SPSS data file
//! (the CSV's twin, see [`super::spss_data_file_name`]) by its file name (UTF-8, first line
//! the header), then the citizens' text restored, the measurement levels, and variable and
//! value labels from the codebook. Unanswered items are empty cells, read as system-missing;
//! "Không áp dụng" is its own code (0), labelled and declared a user-missing value (MISSING
//! VALUES), so frequencies show it apart from the unanswered and means and indices leave it out.
//!
//! Neither SPSS nor GNU PSPP (1.6: `/DELCASE=LINE` and `/DELCASE=VARIABLES n` alike) reads a
//! line feed inside a quoted field: it ends the case there. So the syntax does not read the
//! CSV (which keeps real line breaks for spreadsheets) but its twin, where each line break is
//! a carriage return ([`super::csv::spss_text`]); the syntax turns them back into line feeds
//! and removes the apostrophe the CSV puts before a cell a spreadsheet could read as a formula
//! ([`super::csv::csv_text`]), so every text variable holds the text as stored.
//!
//! Every text that enters the syntax goes through [`flat`] (comments) or [`quote`] (string
//! literals): one line, so that no text can end a comment or a command and run as syntax.

use super::ExportSpec;
use super::csv::{ColumnKind, Layout, missing_codes};

/// SPSS string widths are in bytes; a character takes up to 4 bytes in UTF-8 (3 for
/// Vietnamese letters, 4 for emoji).
const MAX_STRING_BYTES: usize = 32_767;

/// `text` on one line: every control character (line feed, carriage return, tab, ...) and
/// Unicode line or paragraph separator becomes a space.
fn flat(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// A comment's text: [`flat`], without periods (a period at the end of a line ends a comment).
fn comment(text: &str) -> String {
    flat(text).replace('.', "")
}

fn quote(text: &str) -> String {
    // One line, apostrophes doubled: SPSS string literals in single quotes.
    format!("'{}'", flat(text).replace('\'', "''"))
}

fn format_of(kind: &ColumnKind, name: &str) -> String {
    match kind {
        ColumnKind::Number if name == "response_id" => "F12.0".into(),
        ColumnKind::Number => "F8.0".into(),
        ColumnKind::Text { max_chars } => {
            // The apostrophe before a formula-like text takes one byte more.
            format!("A{}", (max_chars * 4 + 1).clamp(8, MAX_STRING_BYTES))
        }
    }
}

/// The syntax of `layout`, reading `data_file` (the SPSS data file's name, looked for in the
/// directory of the syntax file: SPSS's `CD` command or a full path changes that).
pub fn syntax(layout: &Layout, spec: &ExportSpec, data_file: &str) -> String {
    let mut s = String::new();
    s.push_str("* Encoding: UTF-8.\n");
    s.push_str(&format!(
        "* {}.\n* {} – {}.\n* Đặt tệp {} (có trong tệp .zip) cùng thư mục với tệp này (hoặc sửa đường dẫn trong /FILE), rồi chạy toàn bộ.\n* Tệp đó là bản sao của tệp CSV dữ liệu thô, chỉ khác ở chỗ mỗi lần xuống dòng trong câu trả lời được ghi bằng ký tự CR (SPSS và PSPP không đọc được xuống dòng trong một ô); cú pháp này đổi lại thành xuống dòng và bỏ dấu ' thêm vào đầu ô.\n* Ô trống: không trả lời (system-missing); mã 0: không áp dụng (giá trị thiếu khai báo trong MISSING VALUES); counted = 1: phiếu được tính vào kết quả công bố.\n\n",
        comment(&spec.title),
        flat(&spec.period_label),
        comment(&spec.form_title),
        flat(data_file)
    ));
    s.push_str("GET DATA\n  /TYPE=TXT\n");
    s.push_str(&format!("  /FILE={}\n", quote(data_file)));
    s.push_str("  /ENCODING='UTF8'\n");
    s.push_str("  /DELCASE=LINE\n  /DELIMITERS=\",\"\n  /QUALIFIER='\"'\n");
    s.push_str("  /ARRANGEMENT=DELIMITED\n  /FIRSTCASE=2\n  /VARIABLES=\n");
    for c in &layout.columns {
        s.push_str(&format!("    {} {}\n", c.name, format_of(&c.kind, &c.name)));
    }
    s.push_str(".\nCACHE.\nEXECUTE.\nDATASET NAME sipas WINDOW=FRONT.\n\n");
    let texts: Vec<&str> = layout
        .columns
        .iter()
        .filter(|c| matches!(c.kind, ColumnKind::Text { .. }))
        .map(|c| c.name.as_str())
        .collect();
    if !texts.is_empty() {
        s.push_str("* Văn bản nguyên văn: bỏ dấu ' thêm vào đầu ô, CR thành xuống dòng.\n");
        s.push_str(&format!("DO REPEAT v = {}.\n", texts.join(" ")));
        s.push_str("  IF (SUBSTR(v, 1, 1) = \"'\") v = SUBSTR(v, 2).\n");
        s.push_str("  COMPUTE v = REPLACE(v, STRING(13, PIB1), STRING(10, PIB1)).\n");
        s.push_str("END REPEAT.\nEXECUTE.\n\n");
    }
    let ordinal: Vec<&str> = layout
        .columns
        .iter()
        .filter(|c| layout.is_ordinal(&c.name))
        .map(|c| c.name.as_str())
        .collect();
    if !ordinal.is_empty() {
        s.push_str(&format!(
            "VARIABLE LEVEL {} (ORDINAL).\n",
            ordinal.join(" ")
        ));
    }
    let nominal: Vec<&str> = layout
        .columns
        .iter()
        .filter(|c| !c.codes.is_empty() && !layout.is_ordinal(&c.name))
        .map(|c| c.name.as_str())
        .collect();
    if !nominal.is_empty() {
        s.push_str(&format!(
            "VARIABLE LEVEL {} (NOMINAL).\n",
            nominal.join(" ")
        ));
    }
    s.push('\n');
    s.push_str("VARIABLE LABELS\n");
    let labels: Vec<String> = layout
        .columns
        .iter()
        .map(|c| format!("  {} {}", c.name, quote(&c.label)))
        .collect();
    s.push_str(&labels.join("\n  /"));
    s.push_str(".\n\n");
    let coded: Vec<String> = layout
        .columns
        .iter()
        .filter(|c| !c.codes.is_empty())
        .map(|c| {
            let pairs: Vec<String> = c
                .codes
                .iter()
                .map(|(code, label)| format!("{code} {}", quote(label)))
                .collect();
            format!("  {} {}", c.name, pairs.join(" "))
        })
        .collect();
    if !coded.is_empty() {
        s.push_str("VALUE LABELS\n");
        s.push_str(&coded.join("\n  /"));
        s.push_str(".\n\n");
    }
    let missing: Vec<String> = layout
        .columns
        .iter()
        .filter_map(|c| {
            let codes = missing_codes(c);
            (!codes.is_empty()).then(|| {
                let codes: Vec<String> = codes.iter().map(i16::to_string).collect();
                format!("  {} ({})", c.name, codes.join(", "))
            })
        })
        .collect();
    if !missing.is_empty() {
        s.push_str("MISSING VALUES\n");
        s.push_str(&missing.join("\n  /"));
        s.push_str(".\n\n");
    }
    s.push_str("EXECUTE.\n");
    s
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::Path;

    use super::*;
    use crate::forms::{FormRegistry, FormVersion, load_dir};

    fn layout() -> Layout {
        let mut versions = Vec::new();
        let mut current = HashMap::new();
        for (i, (_, form)) in
            load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../survey-forms"))
                .unwrap()
                .into_iter()
                .enumerate()
        {
            let id = i as i32 + 1;
            let item_ids = form
                .items()
                .enumerate()
                .map(|(j, (_, item))| (item.code.clone(), j as i32 + 1))
                .collect();
            current.insert(form.id.clone(), id);
            versions.push(FormVersion {
                id,
                number: 1,
                form,
                item_ids,
            });
        }
        Layout::new(&FormRegistry::new(versions, current))
    }

    fn spec(unit_name: &str, period_label: &str) -> ExportSpec {
        ExportSpec {
            query: crate::reports::ReportQuery {
                form_id: "sipas-1001-dich-vu".into(),
                from: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
                to: chrono::NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
                root: None,
                kind: None,
                channel: None,
                period_id: None,
                respondents: Default::default(),
            },
            scope: crate::domain::access::Scope::All,
            title: format!("Kết quả khảo sát – {unit_name}"),
            period_label: period_label.into(),
            unit_name: unit_name.into(),
            unit_code: "x".into(),
            form_title: format!("Mẫu\r\n{unit_name}"),
            units: vec![1],
            file_stem: "sipas-x-2026-q1".into(),
        }
    }

    #[test]
    fn no_text_of_the_export_can_start_a_line_of_the_syntax() {
        let evil = "Xã A\nHOST COMMAND=['touch /tmp/x'].\r\nHOST COMMAND=['id'].\u{2028}HOST x.";
        let syntax = syntax(&layout(), &spec(evil, evil), "d'x\n.csv");
        for line in syntax.lines() {
            assert!(
                !line.trim_start().to_ascii_uppercase().starts_with("HOST"),
                "{line:?} in\n{syntax}"
            );
        }
        assert!(syntax.contains("* Kết quả khảo sát – Xã A HOST COMMAND=['touch /tmp/x']"));
        assert!(syntax.contains("/FILE='d''x .csv'"), "{syntax}");
    }

    #[test]
    fn likert_items_are_ordinal_and_texts_are_restored() {
        let layout = layout();
        let syntax = syntax(&layout, &spec("Xã A", "Quý I"), "d.csv");
        let ordinal = syntax
            .lines()
            .find(|l| l.ends_with("(ORDINAL)."))
            .expect("a VARIABLE LEVEL for ordinal items");
        let nominal = syntax
            .lines()
            .find(|l| l.ends_with("(NOMINAL)."))
            .expect("a VARIABLE LEVEL for nominal items");
        for item in ["TC1", "KQ3", "MD1"] {
            assert!(ordinal.split(' ').any(|w| w == item), "{ordinal}");
        }
        for item in ["GIOI_TINH", "LINH_VUC"] {
            assert!(nominal.split(' ').any(|w| w == item), "{nominal}");
        }
        assert!(
            syntax.contains("    YK A8001\n"),
            "2,000 characters of 4 bytes, and the apostrophe"
        );
        let repeat = syntax.lines().find(|l| l.starts_with("DO REPEAT")).unwrap();
        for text in ["YK", "unit_code", "submitted_at"] {
            assert!(repeat.split([' ', '.']).any(|w| w == text), "{repeat}");
        }
    }
}
