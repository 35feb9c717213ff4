//! Pages of the staff area: the audit log (admins only, read-only).

use chrono::{DateTime, Utc};
use maud::{Markup, html};

use super::page;
use crate::SignedIn;
use crate::db::accounts::Account;
use crate::db::audit::{AuditFilter, AuditRow, Author};
use crate::vietnam_offset;

/// "27/11/2026 10:32:05" in Vietnam's time.
pub fn format_time_seconds(at: DateTime<Utc>) -> String {
    at.with_timezone(&vietnam_offset())
        .format("%d/%m/%Y %H:%M:%S")
        .to_string()
}

/// The query string of the audit page for `filter` (without empty parts).
pub fn query(filter: &AuditFilter) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if let Some(entity) = &filter.entity {
        pairs.push(("entity", entity.clone()));
    }
    if let Some(entity_id) = &filter.entity_id {
        pairs.push(("entity_id", entity_id.clone()));
    }
    match filter.author {
        Some(Author::Account(id)) => pairs.push(("account", id.to_string())),
        Some(Author::CommandLine) => pairs.push(("account", "cli".to_string())),
        None => {}
    }
    if let Some(before) = filter.before {
        pairs.push(("before", before.to_string()));
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

/// Compact JSON, with line-break opportunities after commas so that long values wrap.
fn json(value: Option<&serde_json::Value>) -> Markup {
    let text = value.map(|v| v.to_string()).unwrap_or_default();
    html! {
        @if !text.is_empty() {
            code.json {
                @for (i, part) in text.split_inclusive(',').enumerate() {
                    @if i > 0 { wbr; }
                    (part)
                }
            }
        }
    }
}

/// The Vietnamese name of a kind of thing in the log (the code itself when unknown).
pub fn entity_label(entity: &str) -> &str {
    match entity {
        "account" => "Tài khoản",
        "unit" => "Đơn vị",
        "desk" => "Quầy tiếp nhận",
        "comment" => "Góp ý",
        "plan" => "Kế hoạch khảo sát",
        "response" => "Phiếu khảo sát",
        other => other,
    }
}

/// The filter form's choices for the author.
fn author_value(author: Option<Author>) -> String {
    match author {
        Some(Author::Account(id)) => id.to_string(),
        Some(Author::CommandLine) => "cli".to_string(),
        None => String::new(),
    }
}

/// The audit page. `older` is the id to continue from when there are older entries.
pub fn list(
    staff: &SignedIn,
    rows: &[AuditRow],
    filter: &AuditFilter,
    entities: &[String],
    accounts: &[Account],
    older: Option<i64>,
) -> Markup {
    let author = author_value(filter.author);
    let entity = filter.entity.clone().unwrap_or_default();
    let filtered = AuditFilter {
        before: None,
        ..filter.clone()
    };
    page(
        "Nhật ký thay đổi",
        staff,
        "/staff/audit",
        html! {
            p.hint { "Mọi thay đổi của cán bộ: ai, lúc nào, thao tác gì, trước và sau. Nhật ký chỉ để xem, không thể sửa hay xóa." }
            form.actions method="get" action="/staff/audit" {
                label for="f-entity" { "Đối tượng" }
                select id="f-entity" name="entity" {
                    option value="" { "Tất cả" }
                    @for e in entities {
                        option value=(e) selected[*e == entity] { (entity_label(e)) }
                    }
                }
                label for="f-account" { "Người thực hiện" }
                select id="f-account" name="account" {
                    option value="" { "Tất cả" }
                    option value="cli" selected[author == "cli"] { "Dòng lệnh" }
                    @for a in accounts {
                        @let id = a.id.to_string();
                        option value=(id) selected[id == author] { (a.display_name) " (" (a.username) ")" }
                    }
                }
                @if let Some(entity_id) = &filter.entity_id {
                    input type="hidden" name="entity_id" value=(entity_id);
                }
                button.small type="submit" { "Lọc" }
                @if filtered != AuditFilter::default() {
                    a href="/staff/audit" { "Bỏ lọc" }
                }
            }
            @if let Some(entity_id) = &filter.entity_id {
                p.hint { "Chỉ hiển thị đối tượng số " (entity_id) "." }
            }
            @if rows.is_empty() {
                p { "Không có mục nào." }
            } @else {
                table {
                    thead {
                        tr {
                            th scope="col" { "Thời gian" }
                            th scope="col" { "Người thực hiện" }
                            th scope="col" { "Thao tác" }
                            th scope="col" { "Đối tượng" }
                            th scope="col" { "Trước" }
                            th scope="col" { "Sau" }
                        }
                    }
                    tbody {
                        @for row in rows {
                            @let e = &row.entry;
                            tr {
                                td { (format_time_seconds(e.at)) }
                                td {
                                    @match (&row.author, e.account_id) {
                                        (Some((username, display_name)), Some(id)) => {
                                            a href={ "/staff/audit?account=" (id) } { (display_name) }
                                            " (" (username) ")"
                                        }
                                        _ => { "dòng lệnh" }
                                    }
                                }
                                td { code { (e.action) } }
                                td {
                                    @let target = AuditFilter {
                                        entity: Some(e.entity.clone()),
                                        entity_id: e.entity_id.clone(),
                                        ..AuditFilter::default()
                                    };
                                    a href={ "/staff/audit" (query(&target)) } {
                                        (entity_label(&e.entity))
                                        @if let Some(id) = &e.entity_id { " #" (id) }
                                    }
                                }
                                td { (json(e.before.as_ref())) }
                                td { (json(e.after.as_ref())) }
                            }
                        }
                    }
                }
            }
            p {
                @if filter.before.is_some() {
                    a href={ "/staff/audit" (query(&filtered)) } { "Mới nhất" }
                    @if older.is_some() { " · " }
                }
                @if let Some(before) = older {
                    a href={ "/staff/audit" (query(&AuditFilter { before: Some(before), ..filter.clone() })) } rel="next" { "Cũ hơn" }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_and_queries() {
        let at = Utc.with_ymd_and_hms(2026, 11, 26, 20, 5, 9).unwrap();
        assert_eq!(format_time_seconds(at), "27/11/2026 03:05:09");
        assert_eq!(query(&AuditFilter::default()), "");
        let filter = AuditFilter {
            before: Some(42),
            entity: Some("đơn vị&x".into()),
            entity_id: None,
            author: Some(Author::CommandLine),
        };
        assert_eq!(
            query(&filter),
            "?entity=%C4%91%C6%A1n+v%E1%BB%8B%26x&account=cli&before=42"
        );
    }

    #[test]
    fn json_is_escaped() {
        let value = serde_json::json!({ "name": "<b>A</b>", "n": 1 });
        let out = json(Some(&value)).into_string();
        assert!(out.contains("&lt;b&gt;"), "{out}");
        assert!(!out.contains("<b>"), "{out}");
        assert!(out.contains("<wbr>"), "{out}");
    }
}
