//! SPSS syntax reading the raw-data CSV (see [`super::csv`]): GET DATA from the CSV by its
//! file name (UTF-8, first line the header), then variable and value labels from the codebook.
//! Unanswered items are empty cells in the CSV, read as system-missing; "Không áp dụng" is its
//! own code (0), labelled and declared a user-missing value (MISSING VALUES), so frequencies
//! show it apart from the unanswered and means and indices leave it out.

use super::ExportSpec;
use super::csv::{ColumnKind, Layout, missing_codes};

/// SPSS string widths are in bytes; Vietnamese letters take up to 3 bytes in UTF-8.
const MAX_STRING_BYTES: usize = 32_767;

fn quote(text: &str) -> String {
    // One line, apostrophes doubled: SPSS string literals in single quotes.
    let flat: String = text
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    format!("'{}'", flat.replace('\'', "''"))
}

fn format_of(kind: &ColumnKind, name: &str) -> String {
    match kind {
        ColumnKind::Number if name == "response_id" => "F12.0".into(),
        ColumnKind::Number => "F8.0".into(),
        ColumnKind::Text { max_chars } => {
            format!("A{}", (max_chars * 3).clamp(8, MAX_STRING_BYTES))
        }
    }
}

/// The syntax of `layout`, reading `data_file` (a file name, looked for in the directory of the
/// syntax file: SPSS's `CD` command or a full path changes that).
pub fn syntax(layout: &Layout, spec: &ExportSpec, data_file: &str) -> String {
    let mut s = String::new();
    s.push_str("* Encoding: UTF-8.\n");
    s.push_str(&format!(
        "* {}.\n* {} – {}.\n* Đặt tệp {} cùng thư mục với tệp này (hoặc sửa đường dẫn trong /FILE), rồi chạy toàn bộ.\n* Ô trống: không trả lời (system-missing); mã 0: không áp dụng (giá trị thiếu khai báo trong MISSING VALUES); counted = 1: phiếu được tính vào kết quả công bố.\n\n",
        spec.title.replace('.', ""),
        spec.period_label,
        spec.form_title.replace('.', ""),
        data_file
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
