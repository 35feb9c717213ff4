//! Pages of the staff area: the audit log (admins only, read-only).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use maud::{Markup, html};
use serde_json::Value;

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

/// "14:05 05/12/2026" in Vietnam's time: when an entry was made, as the sentences say it.
pub fn format_time_minutes(at: DateTime<Utc>) -> String {
    at.with_timezone(&vietnam_offset())
        .format("%H:%M %d/%m/%Y")
        .to_string()
}

/// What the sentences name, looked up by the handler: units, desks, plans and their periods,
/// accounts (by id).
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub units: HashMap<i32, String>,
    /// Desk id → (desk name, unit id).
    pub desks: HashMap<i32, (String, i32)>,
    /// Plan id → (title, year, unit id).
    pub plans: HashMap<i32, (String, i32, i32)>,
    /// Period id → (name, plan id).
    pub periods: HashMap<i32, (String, i32)>,
    pub accounts: HashMap<i32, String>,
}

impl Names {
    fn unit(&self, id: Option<i64>) -> Option<String> {
        let id = i32::try_from(id?).ok()?;
        self.units.get(&id).cloned()
    }

    /// "quầy Một cửa của UBND xã Suối Cát".
    fn desk(&self, id: Option<i64>) -> String {
        let found = id
            .and_then(|id| i32::try_from(id).ok())
            .and_then(|id| self.desks.get(&id));
        match found {
            Some((name, unit)) => match self.units.get(unit) {
                Some(unit) => format!("quầy “{name}” của {unit}"),
                None => format!("quầy “{name}”"),
            },
            None => id.map_or_else(|| "một quầy".to_string(), |id| format!("quầy số {id}")),
        }
    }

    /// "kết quả năm 2026 của Huyện Xuân Lộc (đợt “Quý I”)".
    fn period(&self, id: Option<i64>) -> String {
        let Some(id) = id.and_then(|id| i32::try_from(id).ok()) else {
            return "một đợt khảo sát".to_string();
        };
        match self.periods.get(&id) {
            Some((name, plan)) => match self.plans.get(plan) {
                Some((_, year, unit)) => {
                    let unit = self.units.get(unit).map_or("", String::as_str);
                    format!("đợt “{name}” năm {year} của {unit}")
                        .trim_end_matches(" của ")
                        .to_string()
                }
                None => format!("đợt “{name}”"),
            },
            None => format!("đợt khảo sát số {id} (đã xóa)"),
        }
    }

    /// "kế hoạch “…” năm 2026 của Huyện Xuân Lộc".
    fn plan(&self, id: Option<i64>) -> String {
        let found = id
            .and_then(|id| i32::try_from(id).ok())
            .and_then(|id| self.plans.get(&id));
        match found {
            Some((title, year, unit)) => match self.units.get(unit) {
                Some(unit) => format!("kế hoạch “{title}” năm {year} của {unit}"),
                None => format!("kế hoạch “{title}” năm {year}"),
            },
            None => id.map_or_else(
                || "một kế hoạch khảo sát".to_string(),
                |id| format!("kế hoạch khảo sát số {id}"),
            ),
        }
    }
}

fn text<'a>(value: Option<&'a Value>, key: &str) -> Option<&'a str> {
    value?.get(key)?.as_str()
}

fn number(value: Option<&Value>, key: &str) -> Option<i64> {
    let v = value?.get(key)?;
    v.as_i64().or_else(|| v.as_str()?.parse().ok())
}

/// Who made an entry: the account's name, the command line, or the daily task.
pub fn author_name(row: &AuditRow) -> String {
    match &row.author {
        Some((_, display_name)) => display_name.clone(),
        None if row.entry.action == "privacy.purge"
            && text(row.entry.after.as_ref(), "by") != Some("cli") =>
        {
            "Tác vụ tự động hằng ngày".to_string()
        }
        None => "Quản trị máy chủ (dòng lệnh)".to_string(),
    }
}

fn role_label(role: &str) -> &str {
    crate::domain::access::Role::parse(role).map_or(role, |r| r.label())
}

/// What an entry did, in a Vietnamese sentence without its time and author ("đã công khai kết
/// quả …"): one template per kind of action; an action without one gets a generic sentence.
pub fn what(entry: &crate::db::audit::AuditEntry, names: &Names) -> String {
    let before = entry.before.as_ref();
    let after = entry.after.as_ref();
    let id: Option<i64> = entry.entity_id.as_deref().and_then(|i| i.parse().ok());
    let either = |key: &str| text(after, key).or_else(|| text(before, key));
    let account = || {
        let username = either("username")
            .map(str::to_string)
            .or_else(|| names.accounts.get(&i32::try_from(id?).ok()?).cloned());
        username.map_or_else(
            || "một tài khoản".to_string(),
            |u| format!("tài khoản “{u}”"),
        )
    };
    let unit = || {
        either("name")
            .map(str::to_string)
            .or_else(|| names.unit(id))
            .map_or_else(|| "một đơn vị".to_string(), |n| format!("đơn vị “{n}”"))
    };
    let desk = || {
        let name = either("name").or_else(|| text(after.and_then(|a| a.get("desk")), "name"));
        match name {
            Some(name) => {
                let unit_id = number(after, "unit_id")
                    .or_else(|| number(after.and_then(|a| a.get("desk")), "unit_id"));
                match names.unit(unit_id) {
                    Some(unit) => format!("quầy “{name}” của {unit}"),
                    None => format!("quầy “{name}”"),
                }
            }
            None => names.desk(id),
        }
    };
    match entry.action.as_str() {
        "account.change_own_password" => "đã đổi mật khẩu của mình".to_string(),
        "account.create" => match text(after, "role") {
            Some(role) => format!("đã tạo {} với vai trò {}", account(), role_label(role)),
            None => format!("đã tạo {}", account()),
        },
        "account.update" => format!("đã sửa {}", account()),
        "account.enable" => format!("đã mở lại {}", account()),
        "account.disable" => format!("đã khóa {}", account()),
        "account.reset_password" => format!("đã đặt lại mật khẩu của {}", account()),
        "unit.create" => format!("đã thêm {}", unit()),
        "unit.update" => format!("đã sửa thông tin {}", unit()),
        "unit.activate" => format!("đã cho {} hoạt động trở lại", unit()),
        "unit.deactivate" => format!("đã ngừng hoạt động {}", unit()),
        "desk.create" => format!("đã thêm {}", desk()),
        "desk.update" => format!("đã sửa thông tin {}", desk()),
        "desk.activate" => format!("đã cho {} nhận phiếu trở lại", desk()),
        "desk.deactivate" => format!("đã ngừng {}", desk()),
        "desk.rotate_code" => format!("đã đổi mã QR của {}", names.desk(id)),
        "kiosk.enrol" => format!(
            "đã đăng ký máy đánh giá “{}” tại {}",
            text(after, "label").unwrap_or("?"),
            names.desk(number(after, "desk"))
        ),
        "kiosk.revoke" => format!(
            "đã thu hồi máy đánh giá “{}” tại {}",
            text(before, "label").unwrap_or("?"),
            names.desk(number(before, "desk"))
        ),
        "visit_codes.mint" => format!(
            "đã tạo {} mã đánh giá dùng một lần cho {}",
            number(after, "codes").map_or_else(
                || "các".to_string(),
                |n| crate::group_thousands(n.unsigned_abs())
            ),
            names.desk(id)
        ),
        "comment.handle" => "đã đánh dấu một góp ý là đã xử lý".to_string(),
        "comment.reopen" => "đã mở lại một góp ý để xử lý".to_string(),
        "comment.mask_personal_data" => format!(
            "đã che thông tin cá nhân trong {} góp ý",
            number(after, "masked").map_or_else(
                || "các".to_string(),
                |n| crate::group_thousands(n.unsigned_abs())
            )
        ),
        "plan.create" => {
            let title = text(after, "title").unwrap_or("?");
            let year = number(after, "year").map_or_else(String::new, |y| format!(" năm {y}"));
            match names.unit(number(after, "unit_id")) {
                Some(unit) => format!("đã lập kế hoạch “{title}”{year} của {unit}"),
                None => format!("đã lập kế hoạch “{title}”{year}"),
            }
        }
        "plan.add_period" | "plan.remove_period" => {
            let period = after.or(before).and_then(|v| v.get("period"));
            let name = text(period, "name").unwrap_or("?");
            let plan = names.plan(number(period, "plan_id").or(id));
            if entry.action == "plan.add_period" {
                format!("đã thêm đợt “{name}” vào {plan}")
            } else {
                format!("đã xóa đợt “{name}” khỏi {plan}")
            }
        }
        "plan.update_targets" => {
            let period = after.or(before).and_then(|v| v.get("period"));
            format!(
                "đã sửa chỉ tiêu số phiếu của đợt “{}” ({})",
                text(period, "name").unwrap_or("?"),
                names.plan(id)
            )
        }
        "plan.update_goals" => format!("đã sửa mục tiêu về chỉ số hài lòng của {}", names.plan(id)),
        "results.publish" => format!("đã công khai kết quả {}", names.period(id)),
        "results.unpublish" => format!("đã thu hồi kết quả đã công khai của {}", names.period(id)),
        "response.include" => format!(
            "đã quyết định tính phiếu nghi vấn số {} vào kết quả",
            entry.entity_id.as_deref().unwrap_or("?")
        ),
        "response.exclude" => format!(
            "đã quyết định loại phiếu nghi vấn số {} khỏi kết quả",
            entry.entity_id.as_deref().unwrap_or("?")
        ),
        "response.enter_paper" => format!(
            "đã nhập một phiếu giấy tại {}",
            names.desk(number(after, "desk"))
        ),
        "fraud_rules.update" => "đã sửa các quy tắc phát hiện phiếu nghi vấn".to_string(),
        "token.create" => format!("đã tạo mã truy cập API “{}”", either("name").unwrap_or("?")),
        "token.revoke" => format!(
            "đã thu hồi mã truy cập API “{}”",
            either("name").unwrap_or("?")
        ),
        "alert.subscribe" | "alert.unsubscribe" => {
            let unit_id = number(after, "unit_id").or_else(|| number(before, "unit_id"));
            let unit = names
                .unit(unit_id)
                .unwrap_or_else(|| "một đơn vị".to_string());
            let email = either("email").unwrap_or("?");
            if entry.action == "alert.subscribe" {
                format!("đã đăng ký nhận thông báo qua e-mail về {unit} (gửi đến {email})")
            } else {
                format!("đã hủy đăng ký nhận thông báo qua e-mail về {unit} (gửi đến {email})")
            }
        }
        "export.create" => {
            let label = text(after, "label").unwrap_or("dữ liệu khảo sát");
            match number(after, "responses") {
                Some(n) => format!(
                    "đã xuất “{label}” ({} phiếu)",
                    crate::group_thousands(n.unsigned_abs())
                ),
                None => format!("đã xuất “{label}”"),
            }
        }
        "privacy.purge" => {
            "đã xóa dữ liệu hết thời hạn lưu trữ theo quy định bảo vệ dữ liệu cá nhân".to_string()
        }
        _ => format!(
            "đã thực hiện một thay đổi ({}) trên {}{}",
            entry.action,
            entity_label(&entry.entity).to_lowercase(),
            entry
                .entity_id
                .as_deref()
                .map_or_else(String::new, |i| format!(" số {i}"))
        ),
    }
}

/// The whole sentence: "14:05 05/12/2026 — Nguyễn Văn A đã công khai kết quả …".
pub fn sentence(row: &AuditRow, names: &Names) -> String {
    format!(
        "{} — {} {}",
        format_time_minutes(row.entry.at),
        author_name(row),
        what(&row.entry, names)
    )
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
        "period" => "Đợt khảo sát",
        "export_job" => "Tệp xuất dữ liệu",
        "fraud_rules" => "Quy tắc phiếu nghi vấn",
        "privacy" => "Dữ liệu cá nhân",
        "token" | "api_token" => "Mã truy cập API",
        "kiosk" => "Máy đánh giá tại quầy",
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
    names: &Names,
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
                ol.audit-log {
                    @for row in rows {
                        @let e = &row.entry;
                        li {
                            p.audit-sentence {
                                time.audit-time datetime=(e.at.to_rfc3339()) { (format_time_minutes(e.at)) }
                                " — "
                                @match (&row.author, e.account_id) {
                                    (Some((username, display_name)), Some(id)) => {
                                        a href={ "/staff/audit?account=" (id) } title=(username) { (display_name) }
                                    }
                                    _ => { (author_name(row)) }
                                }
                                " " (what(e, names)) "."
                                " "
                                @let target = AuditFilter {
                                    entity: Some(e.entity.clone()),
                                    entity_id: e.entity_id.clone(),
                                    ..AuditFilter::default()
                                };
                                a.small href={ "/staff/audit" (query(&target)) } title="Mọi thay đổi của đối tượng này" {
                                    "(" (entity_label(&e.entity)) @if let Some(id) = &e.entity_id { " " span.code { "#" (id) } } ")"
                                }
                            }
                            @if e.before.is_some() || e.after.is_some() {
                                details.audit-details {
                                    summary.small { "Chi tiết kỹ thuật" }
                                    p.small { "Thao tác: " code { (e.action) } " · lúc " (format_time_seconds(e.at)) }
                                    @if e.before.is_some() { p.small { "Trước: " (json(e.before.as_ref())) } }
                                    @if e.after.is_some() { p.small { "Sau: " (json(e.after.as_ref())) } }
                                }
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

    fn row(
        action: &str,
        entity: &str,
        id: Option<&str>,
        after: Option<serde_json::Value>,
    ) -> AuditRow {
        AuditRow {
            entry: crate::db::audit::AuditEntry {
                id: 1,
                // 14:05 on 5 December 2026 in Vietnam.
                at: Utc.with_ymd_and_hms(2026, 12, 5, 7, 5, 0).unwrap(),
                account_id: Some(3),
                action: action.into(),
                entity: entity.into(),
                entity_id: id.map(str::to_string),
                before: None,
                after,
            },
            author: Some(("a.nguyen".into(), "Nguyễn Văn A".into())),
        }
    }

    fn names() -> Names {
        let mut names = Names::default();
        names.units.insert(1, "Huyện Xuân Lộc".into());
        names.units.insert(5, "UBND xã Suối Cát".into());
        names.desks.insert(9, ("Một cửa".into(), 5));
        names.plans.insert(2, ("Khảo sát năm 2026".into(), 2026, 1));
        names.periods.insert(4, ("Quý I".into(), 2));
        names
    }

    #[test]
    fn entries_read_as_vietnamese_sentences_in_local_time() {
        let names = names();
        let publish = row(
            "results.publish",
            "period",
            Some("4"),
            Some(serde_json::json!({"responses": 1200})),
        );
        assert_eq!(
            sentence(&publish, &names),
            "14:05 05/12/2026 — Nguyễn Văn A đã công khai kết quả đợt “Quý I” năm 2026 của Huyện Xuân Lộc"
        );
        let mint = row(
            "visit_codes.mint",
            "desk",
            Some("9"),
            Some(serde_json::json!({"codes": 1500, "unit": 5})),
        );
        assert_eq!(
            what(&mint.entry, &names),
            "đã tạo 1.500 mã đánh giá dùng một lần cho quầy “Một cửa” của UBND xã Suối Cát"
        );
        let account = row(
            "account.create",
            "account",
            Some("8"),
            Some(serde_json::json!({"username": "lan", "role": "viewer"})),
        );
        assert_eq!(
            what(&account.entry, &names),
            "đã tạo tài khoản “lan” với vai trò Lãnh đạo (chỉ xem)"
        );
        let unknown = row("something.new", "unit", Some("5"), None);
        assert_eq!(
            what(&unknown.entry, &names),
            "đã thực hiện một thay đổi (something.new) trên đơn vị số 5"
        );
        let mut purge = row(
            "privacy.purge",
            "privacy",
            None,
            Some(serde_json::json!({"by": "daily"})),
        );
        purge.author = None;
        assert!(
            sentence(&purge, &names)
                .starts_with("14:05 05/12/2026 — Tác vụ tự động hằng ngày đã xóa")
        );
        // Every action the use cases record has its own sentence (none falls back).
        for action in [
            "account.change_own_password",
            "account.create",
            "account.update",
            "account.enable",
            "account.disable",
            "account.reset_password",
            "unit.create",
            "unit.update",
            "unit.activate",
            "unit.deactivate",
            "desk.create",
            "desk.update",
            "desk.activate",
            "desk.deactivate",
            "desk.rotate_code",
            "kiosk.enrol",
            "kiosk.revoke",
            "visit_codes.mint",
            "comment.handle",
            "comment.reopen",
            "comment.mask_personal_data",
            "plan.create",
            "plan.add_period",
            "plan.remove_period",
            "plan.update_targets",
            "plan.update_goals",
            "results.publish",
            "results.unpublish",
            "response.include",
            "response.exclude",
            "response.enter_paper",
            "fraud_rules.update",
            "token.create",
            "token.revoke",
            "alert.subscribe",
            "alert.unsubscribe",
            "export.create",
            "privacy.purge",
        ] {
            let text = what(&row(action, "x", Some("1"), None).entry, &names);
            assert!(!text.contains("một thay đổi ("), "{action}: {text}");
            assert!(!text.contains(action), "{action}: {text}");
        }
    }

    #[test]
    fn the_page_shows_sentences_and_folds_the_raw_details() {
        let staff = crate::staff::home::tests::signed_in(crate::domain::access::Role::Admin);
        let rows = [row(
            "results.publish",
            "period",
            Some("4"),
            Some(serde_json::json!({"index": 0.8})),
        )];
        let page = list(
            &staff,
            &rows,
            &AuditFilter::default(),
            &[],
            &[],
            &names(),
            None,
        )
        .into_string();
        assert!(page.contains("14:05 05/12/2026</time> — "), "{page}");
        assert!(
            page.contains("đã công khai kết quả đợt “Quý I” năm 2026 của Huyện Xuân Lộc."),
            "{page}"
        );
        let details = page.find("<details").expect("details folded");
        assert!(
            page.find("results.publish").unwrap() > details,
            "the action code only in the details"
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
