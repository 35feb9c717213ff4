//! Pages of the staff area: data entry of paper ballots. The entry screen is built for the
//! keyboard alone: one small input per item where the clerk types the answer's numeric code,
//! Tab to the next item, Enter to save.

use std::collections::{BTreeMap, HashMap};

use maud::{Markup, html};

use super::{FieldErrors, csrf_input, flash, page};
use crate::SignedIn;
use crate::db::desks::DeskContext;
use crate::db::responses::PaperDesk;
use crate::forms::submission::VERSION_FIELD;
use crate::forms::{Form, FormVersion, Item, ItemKind, Scale, Section};

const MENU_PATH: &str = "/staff/paper";
/// Field names of the ballot's own data. Item codes start with A-Z, so these never collide.
pub const SERIAL_FIELD: &str = "serial";
pub const DATE_FIELD: &str = "date";
/// The key typed for "not applicable".
pub const NOT_APPLICABLE_KEY: &str = "0";
/// Item texts longer than this are shortened on the entry screen (the whole text is in the
/// row's tooltip). The official criteria are at most about 150 characters, and two of them
/// differ only at their end: they are shown whole.
const SHORT_TEXT_CHARS: usize = 160;

/// The desk chooser: the desks of the account's scope, grouped by unit.
pub fn choose(staff: &SignedIn, desks: &[PaperDesk], error: Option<&str>) -> Markup {
    let mut groups: Vec<(&str, Vec<&PaperDesk>)> = Vec::new();
    for desk in desks {
        match groups.last_mut() {
            Some((unit, list)) if *unit == desk.unit_name => list.push(desk),
            _ => groups.push((&desk.unit_name, vec![desk])),
        }
    }
    page(
        "Nhập phiếu giấy",
        staff,
        MENU_PATH,
        html! {
            p.hint { "Chọn quầy tiếp nhận nơi người dân đã điền phiếu khảo sát giấy. Quầy xác định đơn vị và biểu mẫu của phiếu." }
            @if desks.is_empty() {
                p { "Chưa có quầy tiếp nhận nào đang hoạt động trong phạm vi của Anh/Chị." }
            } @else {
                form method="get" action=(MENU_PATH) {
                    div.field.err[error.is_some()] {
                        label for="f-desk" { "Quầy tiếp nhận" }
                        @if let Some(message) = error { p.msg id="e-desk" { (message) } }
                        select id="f-desk" name="desk" autofocus aria-invalid=[error.map(|_| "true")] {
                            @for (unit, list) in &groups {
                                optgroup label=(unit) {
                                    @for desk in list {
                                        option value=(desk.desk_id) { (desk.desk_name) }
                                    }
                                }
                            }
                        }
                    }
                    button type="submit" { "Mở màn hình nhập phiếu" }
                }
            }
        },
    )
}

/// Everything the entry screen shows.
pub struct EntryPage<'a> {
    pub desk: &'a DeskContext,
    pub version: &'a FormVersion,
    /// What was typed (kept when the ballot is refused).
    pub serial: &'a str,
    pub date: &'a str,
    /// Typed values by item code.
    pub items: &'a HashMap<String, String>,
    /// Problems of the serial number and the date, by field name.
    pub errors: &'a FieldErrors,
    /// Problems of items, by item code.
    pub item_errors: &'a BTreeMap<String, String>,
    /// Problems of the ballot as a whole.
    pub general: &'a [String],
    /// "Đã lưu phiếu số X" after a save.
    pub saved: Option<&'a str>,
    /// The places of residence of the unit tree (for a residence item).
    pub places: &'a [crate::forms::ResidencePlace],
}

impl EntryPage<'_> {
    fn has_errors(&self) -> bool {
        !self.errors.is_empty() || !self.item_errors.is_empty() || !self.general.is_empty()
    }

    /// The field that gets the focus: the first wrong one, else the serial number.
    fn focus(&self) -> String {
        if self.errors.contains_key(SERIAL_FIELD) || !self.has_errors() {
            return SERIAL_FIELD.to_string();
        }
        if self.errors.contains_key(DATE_FIELD) {
            return DATE_FIELD.to_string();
        }
        self.version
            .form
            .items()
            .map(|(_, i)| &i.code)
            .find(|code| self.item_errors.contains_key(*code))
            .cloned()
            .unwrap_or_else(|| SERIAL_FIELD.to_string())
    }
}

/// The path of a desk's entry screen.
pub fn entry_path(desk_id: i32) -> String {
    format!("{MENU_PATH}/{desk_id}")
}

/// Question numbers as on the survey page: 1, 2, 3 ... across the whole form.
fn numbering(form: &Form) -> HashMap<&str, usize> {
    form.items()
        .enumerate()
        .map(|(n, (_, item))| (item.code.as_str(), n + 1))
        .collect()
}

/// The first words of `text`, up to about `SHORT_TEXT_CHARS` characters.
fn short_text(text: &str) -> String {
    if text.chars().count() <= SHORT_TEXT_CHARS {
        return text.to_string();
    }
    let cut: String = text.chars().take(SHORT_TEXT_CHARS).collect();
    let at_word = cut.rfind(' ').filter(|at| *at > SHORT_TEXT_CHARS / 2);
    let kept = at_word.map_or(cut.as_str(), |at| &cut[..at]);
    format!("{}…", kept.trim_end_matches([',', ';', ':', ' ']))
}

/// "1 Rất không hài lòng · 2 Không hài lòng · ... · 0 Không áp dụng", codes ascending.
pub fn legend(scale: &Scale, not_applicable: Option<&str>) -> String {
    let mut parts: Vec<String> = scale
        .options
        .iter()
        .map(|o| format!("{} {}", o.code, o.label))
        .collect();
    if let Some(label) = not_applicable {
        parts.push(format!("{NOT_APPLICABLE_KEY} {label}"));
    }
    parts.join(" · ")
}

/// Digits of the longest code of the scale: the input's maxlength.
fn code_width(scale: &Scale) -> usize {
    scale
        .options
        .iter()
        .map(|o| o.code.to_string().len())
        .max()
        .unwrap_or(1)
}

/// The one scale of all choice items of a section, if they share one, and whether any of
/// them allows "not applicable".
fn section_scale(section: &Section) -> Option<(&str, bool)> {
    let mut shared: Option<&str> = None;
    let mut any_na = false;
    for item in &section.items {
        if let ItemKind::Choice {
            scale,
            not_applicable,
        } = &item.kind
        {
            match shared {
                None => shared = Some(scale),
                Some(s) if s == scale => {}
                Some(_) => return None,
            }
            any_na |= *not_applicable;
        }
    }
    shared.map(|s| (s, any_na))
}

pub fn entry(staff: &SignedIn, p: &EntryPage<'_>) -> Markup {
    let form = &p.version.form;
    let numbers = numbering(form);
    let focus = p.focus();
    let problem_count = p.errors.len() + p.item_errors.len();
    let action = entry_path(p.desk.desk_id);
    page(
        "Nhập phiếu giấy",
        staff,
        MENU_PATH,
        html! {
            p {
                strong { (p.desk.unit_name) } " · " (p.desk.desk_name) br;
                span.hint {
                    "Biểu mẫu: " (form.short_title.as_deref().unwrap_or(&form.title))
                    " (phiên bản " (p.version.number) ") · "
                    a href=(MENU_PATH) { "Chọn quầy khác" }
                }
            }
            @if let Some(serial) = p.saved {
                (flash(Some(&format!("Đã lưu phiếu số {serial}."))))
            }
            @if p.has_errors() {
                div.alert id="loi" role="alert" {
                    p { strong { "Chưa lưu phiếu." } " Không có dữ liệu nào được lưu." }
                    @for message in p.general { p { (message) } }
                    @if problem_count > 0 {
                        p { "Vui lòng sửa " (problem_count) " mục được đánh dấu:" }
                        ul {
                            @if let Some(m) = p.errors.get(SERIAL_FIELD) { li { a href="#f-serial" { "Số phiếu" } ": " (m) } }
                            @if let Some(m) = p.errors.get(DATE_FIELD) { li { a href="#f-date" { "Ngày ghi trên phiếu" } ": " (m) } }
                            @for item in form.items().map(|(_, i)| i).filter(|i| p.item_errors.contains_key(&i.code)) {
                                li { a href={ "#a-" (item.code) } { "Câu " (numbers[item.code.as_str()]) } ": " (p.item_errors[&item.code]) }
                            }
                        }
                    }
                }
            }
            p.hint {
                "Gõ mã số của câu trả lời ghi trên phiếu, nhấn Tab để sang câu tiếp theo, Enter để lưu. "
                "Để trống câu người trả lời không chọn."
            }
            form method="post" action=(action) accept-charset="utf-8" autocomplete="off" {
                (csrf_input(&staff.csrf))
                input type="hidden" name=(VERSION_FIELD) value=(p.version.id);
                (meta_field(SERIAL_FIELD, "Số phiếu", p.serial, p, &focus, Some("64"), None))
                (meta_field(DATE_FIELD, "Ngày ghi trên phiếu", p.date, p, &focus, Some("10"), Some("(ngày/tháng/năm, ví dụ 27/11/2026)")))
                @for section in &form.sections {
                    (section_block(form, section, &numbers, p, &focus))
                }
                button type="submit" { "Lưu phiếu" }
            }
        },
    )
}

fn meta_field(
    name: &str,
    label: &str,
    value: &str,
    p: &EntryPage<'_>,
    focus: &str,
    maxlength: Option<&str>,
    hint: Option<&str>,
) -> Markup {
    let error = p.errors.get(name);
    let id = format!("f-{name}");
    let error_id = format!("e-{name}");
    html! {
        div.field.err[error.is_some()] {
            label for=(id) { (label) @if name == SERIAL_FIELD { "\u{a0}" span.req title="bắt buộc" { "*" } } }
            @if let Some(hint) = hint { span.hint { " " (hint) } }
            @if let Some(message) = error { p.msg id=(error_id) { (message) } }
            input id=(id) type="text" name=(name) value=(value) maxlength=[maxlength]
                autocomplete="off" required[name == SERIAL_FIELD] autofocus[focus == name]
                aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| &error_id)];
        }
    }
}

fn section_block(
    form: &Form,
    section: &Section,
    numbers: &HashMap<&str, usize>,
    p: &EntryPage<'_>,
    focus: &str,
) -> Markup {
    let shared = section_scale(section);
    let choices: Vec<&Item> = section.items.iter().filter(|i| i.is_choice()).collect();
    let texts: Vec<&Item> = section.items.iter().filter(|i| !i.is_choice()).collect();
    html! {
        h2 { (section.title) }
        @if let Some((scale, any_na)) = shared {
            @let scale = form.scale(scale).expect("validated forms name known scales");
            p.hint { "Mã: " (legend(scale, any_na.then_some(form.not_applicable_label.as_str()))) }
        }
        @if !choices.is_empty() {
            table {
                thead { tr { th.num { "Câu" } th { "Nội dung" } th { "Mã" } } }
                tbody {
                    @for item in &choices {
                        (choice_row(form, item, numbers[item.code.as_str()], shared.is_none(), p, focus))
                    }
                }
            }
        }
        @for item in &texts {
            (text_block(item, numbers[item.code.as_str()], p, focus))
            (residence_block(form, item, numbers[item.code.as_str()], p))
        }
    }
}

fn choice_row(
    form: &Form,
    item: &Item,
    number: usize,
    own_legend: bool,
    p: &EntryPage<'_>,
    focus: &str,
) -> Markup {
    let ItemKind::Choice {
        scale,
        not_applicable,
    } = &item.kind
    else {
        return html! {};
    };
    let scale = form
        .scale(scale)
        .expect("validated forms name known scales");
    let error = p.item_errors.get(&item.code);
    let id = format!("a-{}", item.code);
    let error_id = format!("e-{}", item.code);
    let value = p.items.get(&item.code).map_or("", String::as_str);
    html! {
        tr.err[error.is_some()] id={ "q-" (item.code) } {
            td.num { (number) }
            td title=(item.text) {
                label for=(id) { (short_text(&item.text)) }
                @if item.required { "\u{a0}" span.req title="bắt buộc" { "*" } }
                @if own_legend {
                    br; span.small { (legend(scale, not_applicable.then_some(form.not_applicable_label.as_str()))) }
                }
                @if let Some(message) = error { p.msg id=(error_id) { (message) } }
            }
            td {
                input id=(id) type="text" name=(item.code) value=(value) inputmode="numeric"
                    maxlength=(code_width(scale)) size="2" autocomplete="off" autofocus[focus == item.code]
                    aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| &error_id)];
            }
        }
    }
}

fn residence_block(form: &Form, item: &Item, number: usize, p: &EntryPage<'_>) -> Markup {
    let ItemKind::Residence { places } = &item.kind else {
        return html! {};
    };
    let error = p.item_errors.get(&item.code);
    let id = format!("a-{}", item.code);
    let error_id = format!("e-{}", item.code);
    let value = p.items.get(&item.code).map(String::as_str);
    html! {
        div.q.err[error.is_some()] id={ "q-" (item.code) } {
            label for=(id) { span.n { (number) ". " } (item.text) }
            @if let Some(message) = error { p.msg id=(error_id) { (message) } }
            (crate::survey::residence_select(&id, form, item, places.as_deref(), p.places, value, error.map(|_| error_id.as_str())))
        }
    }
}

fn text_block(item: &Item, number: usize, p: &EntryPage<'_>, focus: &str) -> Markup {
    let ItemKind::Text { max_length } = &item.kind else {
        return html! {};
    };
    let error = p.item_errors.get(&item.code);
    let id = format!("a-{}", item.code);
    let error_id = format!("e-{}", item.code);
    let value = p.items.get(&item.code).map_or("", String::as_str);
    html! {
        div.q.err[error.is_some()] id={ "q-" (item.code) } {
            label for=(id) {
                span.n { (number) ". " } (item.text)
                @if item.required { "\u{a0}" span.req title="bắt buộc" { "*" } }
            }
            @if let Some(message) = error { p.msg id=(error_id) { (message) } }
            textarea id=(id) name=(item.code) rows="3" maxlength=(max_length) autofocus[focus == item.code]
                aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| &error_id)] {
                (value)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_item_texts_are_shortened_at_a_word() {
        let short = "Thành phần hồ sơ người dân phải nộp là đúng quy định.";
        assert_eq!(short_text(short), short);
        let long = "Quy định thủ tục hành chính được niêm yết công khai tại trụ sở cơ quan tiếp nhận hồ sơ, trả kết quả giải quyết thủ tục hành chính dễ thấy, dễ hiểu, và được cập nhật kịp thời khi có thay đổi.";
        let shown = short_text(long);
        assert!(shown.ends_with('…'), "{shown}");
        assert!(shown.chars().count() <= SHORT_TEXT_CHARS + 1, "{shown}");
        assert!(long.starts_with(shown.trim_end_matches('…')));
    }
}
