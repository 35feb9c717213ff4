//! Pages of the staff area: "Phiếu nghi vấn", the responses flagged by the fraud signals
//! (admins only): the list with its filters, one response with its answers, its signals and
//! the include / exclude decision.

use maud::{Markup, html};

use super::audit::format_time_seconds;
use super::comments::channel_label;
use super::{csrf_input, flash, page};
use crate::auth::Staff;
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
    staff: &Staff,
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
            p.hint {
                "Phiếu có dấu hiệu không khách quan (gửi dồn dập, giống hệt nhau, trả lời quá nhanh, ngoài giờ làm việc...). "
                "Phiếu không bao giờ bị xóa. Phiếu có dấu hiệu mạnh không được tính vào kết quả chính thức, "
                "trừ khi quản trị quyết định tính; phiếu chỉ có dấu hiệu yếu vẫn được tính. Mọi quyết định được ghi vào nhật ký thay đổi."
            }
            p id="tong-so" { "Tổng số phiếu nghi vấn: " strong { (counts.0) } "; không tính vào kết quả: " strong { (counts.1) } "." }
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
    staff: &Staff,
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
