//! Pages of the staff area: "Phiếu nghi vấn", the responses flagged by the fraud signals
//! (admins only): the list with its filters, one response with its answers, its signals and
//! the include / exclude decision.

use maud::{Markup, html};

use super::audit::format_time_seconds;
use super::comments::channel_label;
use super::{csrf_input, flash, page};
use crate::SignedIn;
use crate::db::comments::UnitChoice;
use crate::db::flags::{FlagFilter, FlaggedRow, REASONS, STATES, Signal, reason_label};
use crate::forms::FormVersion;

pub const LIST_PATH: &str = "/staff/flags";

pub fn response_path(id: i64) -> String {
    format!("{LIST_PATH}/{id}")
}

/// What the filter form shows (the unit as chosen, not its subtree).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub unit: Option<i32>,
    pub reason: Option<String>,
    pub state: Option<String>,
}

impl ListQuery {
    pub fn query_string(&self, before: Option<i64>) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if let Some(unit) = self.unit {
            pairs.push(("unit", unit.to_string()));
        }
        if let Some(reason) = &self.reason {
            pairs.push(("reason", reason.clone()));
        }
        if let Some(state) = &self.state {
            pairs.push(("state", state.clone()));
        }
        if let Some(before) = before {
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
}

/// "Mạnh" / "Yếu" and what it means for the figures.
fn severity_label(severity: &str) -> &'static str {
    match severity {
        "strong" => "Mạnh",
        _ => "Yếu",
    }
}

/// The numbers behind a signal, in a sentence.
pub fn detail_text(signal: &Signal) -> String {
    let d = &signal.detail;
    let int = |k: &str| d.get(k).and_then(|v| v.as_f64()).unwrap_or(0.0);
    let number = |x: f64| {
        if x.fract() == 0.0 {
            format!("{x:.0}")
        } else {
            format!("{x:.1}").replace('.', ",")
        }
    };
    match signal.reason.as_str() {
        "burst_desk" => format!(
            "{} phiếu tại quầy trong {} phút (ngưỡng {} phiếu).",
            number(int("count")),
            number(int("minutes")),
            number(int("threshold"))
        ),
        "burst_client" => format!(
            "{} phiếu từ cùng một thiết bị trong {} phút (ngưỡng {} phiếu).",
            number(int("count")),
            number(int("minutes")),
            number(int("threshold"))
        ),
        "identical_run" => {
            let scope = if d.get("scope").and_then(|v| v.as_str()) == Some("client") {
                "từ cùng một thiết bị"
            } else {
                "liên tiếp tại quầy"
            };
            let straight = if d.get("straight").and_then(|v| v.as_bool()) == Some(true) {
                " (cùng một mức cho mọi tiêu chí)"
            } else {
                ""
            };
            format!(
                "{} phiếu có câu trả lời giống hệt nhau {scope}{straight}.",
                number(int("run"))
            )
        }
        "too_fast" => format!(
            "Gửi sau {} giây kể từ khi mở phiếu; tối thiểu hợp lý cho {} câu trả lời là {} giây.",
            number(int("seconds")),
            number(int("items")),
            number(int("minimum"))
        ),
        "outside_hours" => {
            let day = match int("weekday") as i64 {
                7 => "Chủ nhật".to_string(),
                n => format!(
                    "Thứ {}",
                    ["hai", "ba", "tư", "năm", "sáu", "bảy"][(n.clamp(1, 6) - 1) as usize]
                ),
            };
            format!(
                "Mở phiếu lúc {} {day}, ngoài giờ làm việc của quầy.",
                d.get("time").and_then(|v| v.as_str()).unwrap_or("?")
            )
        }
        "straight_line" => format!(
            "{} tiêu chí cùng một mức trả lời (mã {}).",
            number(int("criteria")),
            number(int("value"))
        ),
        _ => d.to_string(),
    }
}

/// The state of a flagged response, in words.
pub fn state_text(row: &FlaggedRow) -> String {
    let counted = if row.excluded {
        "Không tính vào kết quả"
    } else {
        "Được tính vào kết quả"
    };
    match row.decision.as_deref() {
        Some(_) => format!("{counted} (theo quyết định của quản trị)"),
        None if row.excluded_by_default => format!("{counted} (mặc định: có dấu hiệu mạnh)"),
        None => format!("{counted} (mặc định: chỉ có dấu hiệu yếu)"),
    }
}

fn signals_list(row: &FlaggedRow) -> Markup {
    html! {
        ul.signals {
            @for s in row.signals() {
                li {
                    strong { (reason_label(&s.reason)) }
                    " (" (severity_label(&s.severity)) "): " (detail_text(&s))
                }
            }
        }
    }
}

/// The list page.
pub fn list(
    staff: &SignedIn,
    rows: &[FlaggedRow],
    query: &ListQuery,
    units: &[UnitChoice],
    counts: (i64, i64),
    older: Option<i64>,
) -> Markup {
    let unit = query.unit.map(|u| u.to_string()).unwrap_or_default();
    let reason = query.reason.clone().unwrap_or_default();
    let state = query.state.clone().unwrap_or_default();
    page(
        "Phiếu nghi vấn",
        staff,
        LIST_PATH,
        html! {
            p.actions { a href=(RULES_PATH) { "Ngưỡng phát hiện" } }
            p.hint {
                "Phiếu có dấu hiệu không khách quan (gửi dồn dập, giống hệt nhau, trả lời quá nhanh, ngoài giờ làm việc...). "
                "Phiếu không bao giờ bị xóa. Phiếu có dấu hiệu mạnh không được tính vào kết quả chính thức, "
                "trừ khi quản trị quyết định tính; phiếu chỉ có dấu hiệu yếu vẫn được tính. Mọi quyết định được ghi vào nhật ký thay đổi."
            }
            p id="tong-so" { "Tổng số phiếu nghi vấn: " strong { (super::comments::format_count(counts.0)) } "; không tính vào kết quả: " strong { (super::comments::format_count(counts.1)) } "." }
            form.actions method="get" action=(LIST_PATH) {
                label for="f-unit" { "Đơn vị" }
                select id="f-unit" name="unit" {
                    option value="" { "Tất cả" }
                    @for u in units {
                        @let id = u.id.to_string();
                        option value=(id) selected[id == unit] {
                            @for _ in 0..u.depth { "— " }
                            (u.name)
                        }
                    }
                }
                label for="f-reason" { "Dấu hiệu" }
                select id="f-reason" name="reason" {
                    option value="" { "Tất cả" }
                    @for (code, label) in REASONS {
                        option value=(code) selected[code == reason] { (label) }
                    }
                }
                label for="f-state" { "Tình trạng" }
                select id="f-state" name="state" {
                    option value="" { "Tất cả" }
                    @for (code, label) in STATES {
                        option value=(code) selected[code == state] { (label) }
                    }
                }
                button type="submit" { "Lọc" }
            }
            @if rows.is_empty() {
                p { "Không có phiếu nghi vấn nào." }
            } @else {
                table.data id="phieu-nghi-van" {
                    thead { tr {
                        th { "Phiếu" } th { "Thời gian gửi" } th { "Đơn vị / quầy" } th { "Kênh" }
                        th { "Dấu hiệu" } th { "Tình trạng" }
                    } }
                    tbody {
                        @for row in rows {
                            tr {
                                td { a href=(response_path(row.response_id)) { "#" (row.response_id) } }
                                td { (format_time_seconds(row.submitted_at)) }
                                td { (row.unit_name) @if let Some(desk) = &row.desk_name { br; small { (desk) } } }
                                td { (channel_label(&row.channel)) }
                                td { (signals_list(row)) }
                                td { (state_text(row)) }
                            }
                        }
                    }
                }
                @if let Some(before) = older {
                    p { a href={ (LIST_PATH) (query.query_string(Some(before))) } { "Xem các phiếu cũ hơn" } }
                }
            }
        },
    )
}

/// What the answer to a choice item reads.
fn answer_text(version: Option<&FormVersion>, index: usize, value: Option<i16>) -> String {
    let Some(value) = value else {
        return "(không trả lời)".to_string();
    };
    let label = version.and_then(|v| {
        let item = v.form.choice_items().nth(index)?;
        if value == crate::forms::NOT_APPLICABLE_CODE {
            return Some(v.form.not_applicable_label.clone());
        }
        let crate::forms::ItemKind::Choice { scale, .. } = &item.kind else {
            return None;
        };
        v.form.scale(scale)?.label(value).map(str::to_string)
    });
    match label {
        Some(label) => format!("{label} ({value})"),
        None => value.to_string(),
    }
}

/// One flagged response: its signals, state, answers and the decision form.
pub fn response(
    staff: &SignedIn,
    row: &FlaggedRow,
    version: Option<&FormVersion>,
    message: Option<&str>,
    error: Option<&str>,
    note: &str,
) -> Markup {
    let items: Vec<(String, String)> = match version {
        Some(v) => v
            .form
            .choice_items()
            .map(|i| (i.code.clone(), i.text.clone()))
            .collect(),
        None => Vec::new(),
    };
    page(
        &format!("Phiếu nghi vấn #{}", row.response_id),
        staff,
        LIST_PATH,
        html! {
            p { a href=(LIST_PATH) { "← Danh sách phiếu nghi vấn" } }
            (flash(message))
            dl.facts {
                dt { "Đơn vị" } dd { (row.unit_name) }
                @if let Some(desk) = &row.desk_name { dt { "Quầy" } dd { (desk) } }
                dt { "Kênh" } dd { (channel_label(&row.channel)) }
                @if let Some(started) = row.started_at { dt { "Mở phiếu lúc" } dd { (format_time_seconds(started)) } }
                dt { "Gửi lúc" } dd { (format_time_seconds(row.submitted_at)) }
                dt { "Tình trạng" } dd id="tinh-trang" { (state_text(row)) }
                @if let (Some(by), Some(at)) = (&row.decided_by_name, row.decided_at) {
                    dt { "Quyết định" } dd { (by) ", " (format_time_seconds(at)) @if let Some(n) = &row.note { ": " (n) } }
                }
            }
            h2 { "Dấu hiệu" }
            (signals_list(row))
            h2 { "Quyết định" }
            @if let Some(error) = error { div.alert role="alert" { p { (error) } } }
            form method="post" action={ (response_path(row.response_id)) "/decide" } {
                (csrf_input(&staff.csrf))
                div.field {
                    label for="f-note" { "Ghi chú (lý do quyết định)" }
                    textarea id="f-note" name="note" rows="3" maxlength="2000" { (note) }
                }
                div.actions {
                    button type="submit" name="decision" value="include" { "Tính vào kết quả" }
                    " "
                    button type="submit" name="decision" value="exclude" { "Không tính vào kết quả" }
                }
            }
            h2 { "Câu trả lời" }
            table.data id="cau-tra-loi" {
                thead { tr { th { "Mã" } th { "Câu hỏi" } th { "Trả lời" } } }
                tbody {
                    @for (i, value) in row.answers.iter().enumerate() {
                        tr {
                            td { (items.get(i).map_or("", |x| x.0.as_str())) }
                            td { (items.get(i).map_or("", |x| x.1.as_str())) }
                            td { (answer_text(version, i, *value)) }
                        }
                    }
                }
            }
        },
    )
}

/// The filter of the list from what the page shows (`units`: the chosen unit's subtree).
pub fn filter(query: &ListQuery, units: Option<Vec<i32>>, before: Option<i64>) -> FlagFilter {
    FlagFilter {
        units,
        reason: query.reason.clone(),
        state: query.state.clone(),
        before,
    }
}

/// The path of the thresholds page.
pub const RULES_PATH: &str = "/staff/flags/rules";

/// One threshold on the thresholds page: its field (a column of `fraud_rules`), its label, its
/// unit, and the values accepted (the table's CHECK, and a sane upper bound).
pub struct RuleField {
    pub name: &'static str,
    pub label: &'static str,
    pub unit: &'static str,
    pub min: f64,
    pub max: f64,
    /// A whole number (else a decimal, written with a comma or a point).
    pub whole: bool,
}

const fn rule(
    name: &'static str,
    label: &'static str,
    unit: &'static str,
    min: f64,
    max: f64,
    whole: bool,
) -> RuleField {
    RuleField {
        name,
        label,
        unit,
        min,
        max,
        whole,
    }
}

/// The thresholds by signal, as the page groups them.
pub const RULE_GROUPS: [(&str, &[RuleField]); 6] = [
    (
        "Dồn dập tại quầy",
        &[
            rule(
                "desk_burst_minutes",
                "Trong khoảng",
                "phút",
                1.0,
                1440.0,
                true,
            ),
            rule("desk_burst_min", "Từ ít nhất", "phiếu", 2.0, 10000.0, true),
            rule(
                "desk_burst_ratio",
                "Và ít nhất gấp",
                "lần mức thường ngày của quầy",
                1.0,
                100.0,
                false,
            ),
        ],
    ),
    (
        "Nhiều phiếu từ một thiết bị",
        &[
            rule(
                "client_burst_minutes",
                "Trong khoảng",
                "phút",
                1.0,
                10080.0,
                true,
            ),
            rule("client_burst_min", "Từ ít nhất", "phiếu", 2.0, 1000.0, true),
        ],
    ),
    (
        "Nhiều phiếu giống hệt nhau liên tiếp",
        &[
            rule(
                "identical_run_desk",
                "Tại một quầy, từ",
                "phiếu liên tiếp",
                2.0,
                100.0,
                true,
            ),
            rule(
                "identical_run_client",
                "Từ một thiết bị, từ",
                "phiếu liên tiếp",
                2.0,
                100.0,
                true,
            ),
            rule(
                "identical_min_items",
                "Chỉ xét phiếu trả lời ít nhất",
                "câu",
                1.0,
                200.0,
                true,
            ),
        ],
    ),
    (
        "Chọn cùng một mức cho mọi tiêu chí",
        &[rule(
            "straight_min_criteria",
            "Khi trả lời ít nhất",
            "tiêu chí",
            2.0,
            200.0,
            true,
        )],
    ),
    (
        "Thời gian trả lời quá ngắn",
        &[
            rule("min_seconds_base", "Dưới", "giây", 0.0, 600.0, false),
            rule(
                "min_seconds_per_item",
                "Cộng thêm, cho mỗi câu đã trả lời",
                "giây",
                0.0,
                60.0,
                false,
            ),
        ],
    ),
    (
        "Ngoài giờ làm việc của quầy",
        &[
            rule(
                "hours_grace_before_minutes",
                "Cho phép trước giờ mở cửa",
                "phút",
                0.0,
                720.0,
                true,
            ),
            rule(
                "hours_grace_after_minutes",
                "Cho phép sau giờ đóng cửa",
                "phút",
                0.0,
                720.0,
                true,
            ),
        ],
    ),
];

/// A threshold as the page writes it: "0,5", "10".
pub fn rule_value(value: &serde_json::Value) -> String {
    match value.as_f64() {
        Some(v) => v.to_string().replace('.', ","),
        None => String::new(),
    }
}

/// The thresholds page: `values` as typed (or stored), with their problems.
pub fn rules(
    staff: &SignedIn,
    values: &std::collections::BTreeMap<String, String>,
    errors: &super::FieldErrors,
    message: Option<&str>,
) -> Markup {
    page(
        "Ngưỡng phát hiện phiếu nghi vấn",
        staff,
        LIST_PATH,
        html! {
            p { a href=(LIST_PATH) { "← Phiếu nghi vấn" } }
            (super::flash(message))
            (super::error_summary(errors))
            p.hint {
                "Các ngưỡng dùng để gắn cờ phiếu nghi vấn. Ngưỡng mới áp dụng cho các phiếu được kiểm tra sau khi lưu; "
                "các phiếu đã được gắn cờ giữ nguyên. Mọi thay đổi được ghi vào nhật ký thay đổi."
            }
            form method="post" action=(RULES_PATH) {
                (super::csrf_input(&staff.csrf))
                @for (title, fields) in RULE_GROUPS {
                    fieldset {
                        legend { (title) }
                        @for field in fields {
                            (super::text_field(
                                field.name,
                                field.label,
                                values.get(field.name).map_or("", String::as_str),
                                errors,
                                "text",
                                Some(field.unit),
                            ))
                        }
                    }
                }
                button type="submit" { "Lưu ngưỡng" }
            }
        },
    )
}
