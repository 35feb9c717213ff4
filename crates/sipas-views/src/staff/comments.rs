//! Pages of the staff area: comments ("góp ý"), the open answers of the survey, with their
//! handling (who marked them handled, when, with what note).

use chrono::NaiveDate;
use maud::{Markup, html};

use super::units::indent;
use super::{FieldErrors, csrf_input, error_summary, flash, page, select_field, text_field};
use crate::SignedIn;
use crate::db::comments::{CommentKey, CommentRow, Cursor, MAX_NOTE_CHARS, UnitChoice};
use crate::disclosure::TimeDetail;
use crate::domain::access::Role;
use crate::format_vietnam_time;
use crate::plans::format_date;

/// Where the list lives.
pub const LIST_PATH: &str = "/staff/comments";
/// Longest text searched for, in characters.
pub const MAX_SEARCH_CHARS: usize = 200;

/// Which comments by their handling.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StateChoice {
    #[default]
    All,
    Unhandled,
    Handled,
}

impl StateChoice {
    pub fn parse(text: &str) -> Option<StateChoice> {
        match text {
            "" | "all" => Some(StateChoice::All),
            "unhandled" => Some(StateChoice::Unhandled),
            "handled" => Some(StateChoice::Handled),
            _ => None,
        }
    }

    /// The value in the query string ("" for all).
    pub fn as_str(self) -> &'static str {
        match self {
            StateChoice::All => "",
            StateChoice::Unhandled => "unhandled",
            StateChoice::Handled => "handled",
        }
    }

    /// The `handled` condition of the database filter.
    pub fn handled(self) -> Option<bool> {
        match self {
            StateChoice::All => None,
            StateChoice::Unhandled => Some(false),
            StateChoice::Handled => Some(true),
        }
    }
}

/// The list's query string as typed (the first value of each key; unknown keys ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommentQuery {
    pub unit: String,
    pub state: String,
    pub from: String,
    pub to: String,
    pub form: String,
    pub q: String,
    pub before: String,
    pub ok: String,
}

impl CommentQuery {
    pub fn from_query_string(query: &str) -> CommentQuery {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
        let value = |key: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        CommentQuery {
            unit: value("unit"),
            state: value("state"),
            from: value("from"),
            to: value("to"),
            form: value("form"),
            q: value("q"),
            before: value("before"),
            ok: value("ok"),
        }
    }
}

/// A valid filter of the list (checked against the account's units and the stored forms by
/// the handler).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// This unit and everything below it.
    pub unit: Option<i32>,
    pub state: StateChoice,
    /// Vietnam's days, both included.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub form: Option<String>,
    pub search: Option<String>,
    /// Continue after this comment (newest first).
    pub before: Option<Cursor>,
}

/// "123.45": the cursor in a query string (the comment's response and item, never its time).
pub fn cursor_text(cursor: &Cursor) -> String {
    format!("{}.{}", cursor.key.response_id, cursor.key.item_id)
}

/// The query string of the list for `filter` (without empty parts), "" or "?...".
pub fn query(filter: &ListFilter) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if let Some(unit) = filter.unit {
        pairs.push(("unit", unit.to_string()));
    }
    if filter.state != StateChoice::All {
        pairs.push(("state", filter.state.as_str().to_string()));
    }
    if let Some(from) = filter.from {
        pairs.push(("from", format_date(from)));
    }
    if let Some(to) = filter.to {
        pairs.push(("to", format_date(to)));
    }
    if let Some(form) = &filter.form {
        pairs.push(("form", form.clone()));
    }
    if let Some(search) = &filter.search {
        pairs.push(("q", search.clone()));
    }
    if let Some(before) = &filter.before {
        pairs.push(("before", cursor_text(before)));
    }
    if pairs.is_empty() {
        String::new()
    } else {
        format!(
            "?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    }
}

/// The page of one comment.
pub fn comment_path(key: CommentKey) -> String {
    format!("{LIST_PATH}/{}", key.path())
}

/// The anchor of a comment in the list.
pub fn anchor(key: CommentKey) -> String {
    format!("c-{}-{}", key.response_id, key.item_id)
}

/// "1.234": a count as written in Vietnamese.
pub fn format_count(n: i64) -> String {
    let out = crate::group_thousands(n.unsigned_abs());
    if n < 0 { format!("-{out}") } else { out }
}

/// "66,7%": handled / total with one decimal and a decimal comma; `None` without comments.
pub fn format_rate(handled: i64, total: i64) -> Option<String> {
    (total > 0).then(|| {
        let rate = handled as f64 * 100.0 / total as f64;
        format!("{rate:.1}%").replace('.', ",")
    })
}

pub use crate::domain::flags::EXCLUDED_NOTE;

/// The channel's name in the interface.
pub fn channel_label(channel: &str) -> &str {
    crate::domain::channel::Channel::parse(channel).map_or(channel, |c| c.label())
}

/// Text with its line breaks kept (escaped by maud).
fn multiline(text: &str) -> Markup {
    html! {
        @for (i, line) in text.lines().enumerate() {
            @if i > 0 { br; }
            (line)
        }
    }
}

/// A comment as shown: the row, and the form and question it answers (from the form version
/// the response was given on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentView {
    pub row: CommentRow,
    pub form_title: String,
    pub question: String,
}

/// "Chưa xử lý", or "Đã xử lý lúc ... bởi ...: note".
fn handling(row: &CommentRow) -> Markup {
    html! {
        @match row.handled_at {
            None => { span.state.open { "Chưa xử lý" } }
            Some(at) => {
                span.state.done {
                    "Đã xử lý lúc " (format_vietnam_time(at)) " bởi "
                    (row.handled_by_name.as_deref().unwrap_or("(tài khoản không còn)"))
                    @if let Some(note) = &row.handling_note { ": " (multiline(note)) }
                }
            }
        }
    }
}

/// Whether the account may mark this comment handled or re-open it.
fn may_handle(staff: &SignedIn, row: &CommentRow) -> bool {
    staff.role != Role::Viewer && staff.scope.contains(row.unit_id)
}

/// The note field, with its message.
fn note_field(key: CommentKey, value: &str, errors: &FieldErrors) -> Markup {
    let error = errors.get("note");
    let id = format!("note-{}-{}", key.response_id, key.item_id);
    html! {
        div.field.err[error.is_some()] {
            label for=(id) { "Nội dung đã xử lý" }
            span.hint { " (bắt buộc, tối đa " (format_count(MAX_NOTE_CHARS as i64)) " ký tự)" }
            @if let Some(message) = error { p.msg id={ "e-" (id) } { (message) } }
            textarea id=(id) name="note" rows="3" maxlength=(MAX_NOTE_CHARS) required
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[error.map(|_| format!("e-{id}"))] { (value) }
        }
    }
}

/// The handle form (unhandled) or the re-open button (handled). `back`: where to return.
fn actions(
    staff: &SignedIn,
    row: &CommentRow,
    back: &str,
    note: &str,
    errors: &FieldErrors,
) -> Markup {
    let key = row.key();
    let path = comment_path(key);
    html! {
        @if row.handled_at.is_none() {
            form method="post" action={ (path) "/handle" } {
                (csrf_input(&staff.csrf))
                input type="hidden" name="back" value=(back);
                (note_field(key, note, errors))
                button.small type="submit" { "Đánh dấu đã xử lý" }
            }
        } @else {
            form.inline method="post" action={ (path) "/reopen" } {
                (csrf_input(&staff.csrf))
                input type="hidden" name="back" value=(back);
                button.small type="submit" { "Mở lại" }
            }
        }
    }
}

/// What the list page shows.
pub struct ListPage<'a> {
    /// As typed (put back in the filter form).
    pub query: &'a CommentQuery,
    /// The valid filter (None when refused).
    pub filter: Option<&'a ListFilter>,
    pub errors: &'a FieldErrors,
    pub units: &'a [UnitChoice],
    /// (form id, title)
    pub forms: &'a [(String, String)],
    pub comments: &'a [CommentView],
    /// (comments, handled) for the filter, whatever its handling state.
    pub totals: (i64, i64),
    /// Where the next page continues.
    pub older: Option<Cursor>,
    pub message: Option<&'a str>,
}

/// The list of comments with its filter and counts.
pub fn list(staff: &SignedIn, p: &ListPage) -> Markup {
    let mut unit_options = vec![(String::new(), "Tất cả đơn vị".to_string())];
    let top = p.units.iter().map(|u| u.depth).min().unwrap_or(0);
    unit_options.extend(p.units.iter().map(|u| {
        (
            u.id.to_string(),
            format!("{}{}", indent(u.depth - top), u.name),
        )
    }));
    let state_options: Vec<(String, String)> = [
        ("", "Tất cả"),
        ("unhandled", "Chưa xử lý"),
        ("handled", "Đã xử lý"),
    ]
    .iter()
    .map(|(v, l)| (v.to_string(), l.to_string()))
    .collect();
    let mut form_options = vec![(String::new(), "Tất cả mẫu phiếu".to_string())];
    form_options.extend(p.forms.iter().cloned());
    let (total, handled) = p.totals;
    let first_page = p.filter.map(|f| ListFilter {
        before: None,
        ..f.clone()
    });
    // "Newest" when this is not the first page.
    let newest = first_page
        .as_ref()
        .filter(|_| p.filter.is_some_and(|f| f.before.is_some()));
    let back = p
        .filter
        .map(|f| format!("{LIST_PATH}{}", query(f)))
        .unwrap_or_else(|| LIST_PATH.to_string());
    // A comment's page comes back to this very list.
    let back_query = serde_urlencoded::to_string([("back", &back)]).unwrap_or_default();
    page(
        "Góp ý của người dân",
        staff,
        LIST_PATH,
        html! {
            (flash(p.message))
            p.hint {
                "Ý kiến, góp ý người dân ghi trong phiếu khảo sát. Đánh dấu “đã xử lý” kèm nội dung xử lý "
                "để theo dõi việc tiếp nhận, xử lý phản ánh, kiến nghị."
            }
            @if !p.errors.is_empty() {
                div.alert role="alert" {
                    p { strong { "Bộ lọc chưa hợp lệ." } " Vui lòng sửa " (p.errors.len()) " mục được đánh dấu bên dưới." }
                    @if let Some(message) = p.errors.get("before") { p { (message) } }
                }
            }
            form method="get" action=(LIST_PATH) {
                div.filters {
                    (select_field("unit", "Đơn vị (gồm các đơn vị trực thuộc)", &unit_options, p.query.unit.trim(), p.errors))
                    (select_field("state", "Tình trạng", &state_options, p.query.state.trim(), p.errors))
                    (select_field("form", "Mẫu phiếu", &form_options, p.query.form.trim(), p.errors))
                    (text_field("from", "Từ ngày", &p.query.from, p.errors, "text", Some("(ngày/tháng/năm)")))
                    (text_field("to", "Đến ngày", &p.query.to, p.errors, "text", Some("(ngày/tháng/năm)")))
                    (text_field("q", "Nội dung có chứa", &p.query.q, p.errors, "search", None))
                }
                div.actions {
                    button.small type="submit" { "Lọc" }
                    @if first_page.as_ref().is_some_and(|f| *f != ListFilter::default()) || !p.errors.is_empty() {
                        a href=(LIST_PATH) { "Bỏ lọc" }
                    }
                }
            }
            @if p.filter.is_some() {
                h2 { "Tình hình xử lý" }
                div.cards aria-label="Tình hình xử lý góp ý theo bộ lọc" {
                    div.card { p.big #total { (format_count(total)) } p { "góp ý" } }
                    div.card { p.big #handled { (format_count(handled)) } p { "đã xử lý" } }
                    div.card { p.big #unhandled { (format_count(total - handled)) } p { "chưa xử lý" } }
                    div.card {
                        p.big #rate { (format_rate(handled, total).unwrap_or_else(|| "–".to_string())) }
                        p { "tỷ lệ đã xử lý" }
                    }
                }
                p.hint { "Số liệu theo đơn vị, mẫu phiếu, thời gian và nội dung đang lọc (không tính lọc theo tình trạng)." }
                h2 { "Danh sách góp ý" }
                @if p.comments.is_empty() {
                    p { "Không có góp ý nào." }
                } @else {
                    table {
                        thead {
                            tr {
                                th scope="col" { "Thời gian" }
                                th scope="col" { "Đơn vị, quầy" }
                                th scope="col" { "Câu hỏi" }
                                th scope="col" { "Nội dung góp ý" }
                                th scope="col" { "Kênh" }
                                th scope="col" { "Tình trạng xử lý" }
                            }
                        }
                        tbody {
                            @for c in p.comments {
                                @let row = &c.row;
                                tr id=(anchor(row.key())) {
                                    td {
                                        a href={ (comment_path(row.key())) "?" (back_query) } { (TimeDetail::for_scope(&staff.scope).format(row.submitted_at)) }
                                    }
                                    td {
                                        (row.unit_name)
                                        @if let Some(desk) = &row.desk_name { br; span.hint { (desk) } }
                                    }
                                    td { (c.form_title) br; span.hint { (row.item_code) ". " (c.question) } }
                                    td.body { (multiline(&row.body)) }
                                    td {
                                        (channel_label(&row.channel))
                                        @if row.excluded { br; span.flag { (EXCLUDED_NOTE) } }
                                    }
                                    td {
                                        (handling(row))
                                        @if may_handle(staff, row) {
                                            @if row.handled_at.is_none() {
                                                details {
                                                    summary { "Đánh dấu đã xử lý" }
                                                    (actions(staff, row, &back, "", &FieldErrors::new()))
                                                }
                                            } @else {
                                                " " (actions(staff, row, &back, "", &FieldErrors::new()))
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                p {
                    @if let Some(first) = newest {
                        a href={ (LIST_PATH) (query(first)) } { "Mới nhất" }
                        @if p.older.is_some() { " · " }
                    }
                    @if let (Some(older), Some(filter)) = (p.older, p.filter) {
                        a href={ (LIST_PATH) (query(&ListFilter { before: Some(older), ..filter.clone() })) } rel="next" { "Cũ hơn" }
                    }
                }
            }
        },
    )
}

/// The page of one comment, with its handle form or re-open button. `note`, `errors`: the
/// refused note; `notice`: why nothing was stored, beyond the fields' messages.
pub struct CommentPage<'a> {
    pub comment: &'a CommentView,
    /// The list to return to (a path of the list, already checked).
    pub back: Option<&'a str>,
    pub note: &'a str,
    pub errors: &'a FieldErrors,
    pub notice: Option<&'a str>,
    pub message: Option<&'a str>,
    /// The comment as written before masking (admins only, when the office keeps originals).
    pub original: Option<&'a str>,
}

pub fn comment(staff: &SignedIn, p: &CommentPage) -> Markup {
    let row = &p.comment.row;
    let back = p.back.unwrap_or(LIST_PATH);
    page(
        "Góp ý",
        staff,
        LIST_PATH,
        html! {
            p { a href=(back) { "← Danh sách góp ý" } }
            (flash(p.message))
            @if let Some(notice) = p.notice { div.alert role="alert" { p { (notice) } } }
            (error_summary(p.errors))
            table {
                tbody {
                    tr { th scope="row" { "Thời gian" } td { (TimeDetail::for_scope(&staff.scope).format(row.submitted_at)) } }
                    tr { th scope="row" { "Đơn vị" } td { (row.unit_name) } }
                    tr { th scope="row" { "Quầy tiếp nhận" } td { (row.desk_name.as_deref().unwrap_or("–")) } }
                    tr { th scope="row" { "Mẫu phiếu" } td { (p.comment.form_title) } }
                    tr { th scope="row" { "Câu hỏi" } td { (row.item_code) ". " (p.comment.question) } }
                    tr { th scope="row" { "Kênh" } td { (channel_label(&row.channel)) } }
                    @if row.excluded {
                        tr { th scope="row" { "Phiếu" } td.flag { (EXCLUDED_NOTE) } }
                    }
                    tr { th scope="row" { "Nội dung góp ý" } td.body { (multiline(&row.body)) } }
                    @if let Some(original) = p.original {
                        tr {
                            th scope="row" { "Nội dung gốc (trước khi che thông tin cá nhân)" }
                            td.body {
                                (multiline(original))
                                p.hint { "Chỉ quản trị viên thấy nội dung gốc. Không sao chép thông tin cá nhân của người dân vào ghi chú xử lý." }
                            }
                        }
                    }
                    tr { th scope="row" { "Tình trạng xử lý" } td { (handling(row)) } }
                }
            }
            @if may_handle(staff, row) {
                h2 { @if row.handled_at.is_none() { "Đánh dấu đã xử lý" } @else { "Mở lại" } }
                @if row.handled_at.is_some() {
                    p.hint { "Mở lại khi việc xử lý chưa xong: thông tin xử lý hiện có sẽ được xóa (vẫn lưu trong nhật ký thay đổi)." }
                }
                (actions(staff, row, back, p.note, p.errors))
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_rates_in_vietnamese() {
        assert_eq!(format_count(0), "0");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(1234), "1.234");
        assert_eq!(format_count(1_234_567), "1.234.567");
        assert_eq!(format_rate(2, 3).as_deref(), Some("66,7%"));
        assert_eq!(format_rate(1, 1).as_deref(), Some("100,0%"));
        assert_eq!(format_rate(0, 4).as_deref(), Some("0,0%"));
        assert_eq!(format_rate(0, 0), None);
    }

    #[test]
    fn queries_round_trip_the_filter() {
        assert_eq!(query(&ListFilter::default()), "");
        let filter = ListFilter {
            unit: Some(7),
            state: StateChoice::Handled,
            from: NaiveDate::from_ymd_opt(2026, 11, 1),
            to: NaiveDate::from_ymd_opt(2026, 11, 30),
            form: Some("danh-gia-mot-cua".into()),
            search: Some("50% & x".into()),
            before: Some(Cursor {
                key: CommentKey {
                    response_id: 12,
                    item_id: 3,
                },
            }),
        };
        let text = query(&filter);
        assert_eq!(
            text,
            "?unit=7&state=handled&from=01%2F11%2F2026&to=30%2F11%2F2026&form=danh-gia-mot-cua\
             &q=50%25+%26+x&before=12.3"
        );
        let typed = CommentQuery::from_query_string(&text[1..]);
        assert_eq!(typed.q, "50% & x");
        assert_eq!(typed.before, "12.3");
        assert_eq!(typed.from, "01/11/2026");
    }

    #[test]
    fn the_first_value_of_a_key_counts_and_bad_encodings_do_not_fail() {
        let typed = CommentQuery::from_query_string("state=handled&state=x&ok=handled&%zz=1");
        assert_eq!(typed.state, "handled");
        assert_eq!(typed.ok, "handled");
        assert_eq!(StateChoice::parse("x"), None);
        assert_eq!(StateChoice::parse(""), Some(StateChoice::All));
    }

    #[test]
    fn bodies_keep_their_lines_and_are_escaped() {
        let out = multiline("<b>Một</b>\r\nHai\nBa").into_string();
        assert_eq!(out, "&lt;b&gt;Một&lt;/b&gt;<br>Hai<br>Ba");
    }
}
