//! The public results ("công khai kết quả"): what an admin published, for citizens, on the
//! citizens' stylesheet (readable on a phone, printable, no script). Only the published
//! snapshot is shown: per unit its SIPAS index, its 95% interval, its number of forms, its rank
//! and the "chưa đủ mẫu" flag, and the factor indices of the total. No comments, nothing about
//! respondents, no desk.

use maud::{Markup, html};

use super::{format_vietnam_time, layout};
use crate::db::published::{PublishedSnapshot, Snapshot, SnapshotUnit};
use crate::plans::format_date;
use crate::stats::{MIN_RELIABLE_SAMPLE, format_percent};

/// Where the list of published results lives.
pub const LIST_PATH: &str = "/cong-khai";

/// The page of a published period.
pub fn period_path(period_id: i32) -> String {
    format!("{LIST_PATH}/{period_id}")
}

/// A count with Vietnamese thousands separators: 12345 gives "12.345".
pub fn format_count(n: u64) -> String {
    super::group_thousands(n)
}

/// "82,66%", or "—" without an index.
fn percent(index: Option<f64>) -> String {
    index.map_or_else(|| "—".to_string(), format_percent)
}

fn dates(snapshot: &Snapshot) -> String {
    format!(
        "từ {} đến {}",
        format_date(snapshot.period.starts_on),
        format_date(snapshot.period.ends_on)
    )
}

/// The figures of one unit: index, interval, forms, flag.
fn unit_figures(unit: &SnapshotUnit) -> Markup {
    html! {
        p { "Chỉ số hài lòng: " strong { (percent(unit.index)) } }
        p.small {
            @if let Some(ci) = unit.index_ci {
                "Khoảng tin cậy 95%: " (format_percent(ci.low)) " – " (format_percent(ci.high))
                br;
            }
            "Số phiếu: " (format_count(unit.responses))
            @if let Some(target) = unit.target { " (chỉ tiêu: " (format_count(target)) ")" }
        }
        @if !unit.enough_sample {
            p.msg { "Chưa đủ mẫu" }
        }
    }
}

/// The rows with their rank by today's rule (`reports::ranks`: only units with enough sample
/// take a place, so that snapshots published before the rule read the same way), best first;
/// then the unranked ones by name.
fn ranking(rows: &[SnapshotUnit]) -> (Vec<(&SnapshotUnit, u32)>, Vec<&SnapshotUnit>) {
    let figures: Vec<(Option<f64>, bool)> =
        rows.iter().map(|r| (r.index, r.enough_sample)).collect();
    let mut ranked = Vec::new();
    let mut unranked = Vec::new();
    for (row, rank) in rows.iter().zip(crate::reports::ranks(&figures)) {
        match rank {
            Some(rank) => ranked.push((row, rank)),
            None => unranked.push(row),
        }
    }
    ranked.sort_by(|a, b| (a.1, &a.0.name).cmp(&(b.1, &b.0.name)));
    unranked.sort_by(|a, b| a.name.cmp(&b.name));
    (ranked, unranked)
}

/// The published figures (also the preview of the publishing page).
pub fn figures(snapshot: &Snapshot) -> Markup {
    let total = &snapshot.total;
    let (ranked, unranked) = ranking(&snapshot.rows);
    html! {
        div.intro {
            p { strong { (snapshot.plan.title) } }
            p { (snapshot.period.name) ", " (dates(snapshot)) "." }
            p.small { "Phiếu khảo sát: " (snapshot.form_title) "." }
        }
        section.part aria-labelledby="tong-hop" {
            h2 id="tong-hop" { "Kết quả chung: " (total.unit.name) }
            (unit_figures(&total.unit))
            @if !total.factors.is_empty() {
                h3 { "Chỉ số theo yếu tố" }
                ul {
                    @for factor in &total.factors {
                        li { (factor.title) ": " strong { (percent(factor.index)) } }
                    }
                }
            }
        }
        h2 { "Kết quả và xếp hạng các đơn vị" }
        @if snapshot.rows.is_empty() {
            p.hint { "Không có đơn vị nào." }
        }
        @for (row, rank) in &ranked {
            section.part {
                h3 { "Hạng " (rank) ". " (row.name) }
                (unit_figures(row))
            }
        }
        @if !unranked.is_empty() {
            h2 { "Chưa đủ mẫu – chưa xếp hạng" }
            p.small { "Kết quả của các đơn vị dưới đây dựa trên quá ít phiếu nên chỉ có giá trị tham khảo và không được xếp hạng." }
            @for row in &unranked {
                section.part {
                    h3 { (row.name) }
                    (unit_figures(row))
                }
            }
        }
        div.notice {
            h2 { "Cách đọc kết quả" }
            p { "Chỉ số hài lòng của mỗi tiêu chí là tỷ lệ câu trả lời «Hài lòng» hoặc «Rất hài lòng» trên tổng số câu trả lời hợp lệ; chỉ số của mỗi yếu tố là trung bình các tiêu chí; chỉ số của đơn vị là trung bình các yếu tố." }
            p { "Khoảng tin cậy 95% cho biết mức dao động của chỉ số do chỉ khảo sát một số người dân, tổ chức: khoảng càng hẹp, kết quả càng chắc chắn." }
            p { "«Chưa đủ mẫu»: đơn vị có dưới " (MIN_RELIABLE_SAMPLE) " phiếu hoặc chưa đạt số phiếu theo kế hoạch; kết quả chỉ có giá trị tham khảo. Các đơn vị có chỉ số bằng nhau (làm tròn đến hai chữ số thập phân) có cùng thứ hạng." }
        }
    }
}

pub fn list(published: &[PublishedSnapshot]) -> Markup {
    layout(
        "Công khai kết quả khảo sát sự hài lòng",
        html! {
            h1 { "Công khai kết quả khảo sát sự hài lòng của người dân, tổ chức" }
            div.intro {
                p { "Kết quả khảo sát sự hài lòng của người dân, tổ chức đối với sự phục vụ của các cơ quan hành chính nhà nước, theo từng đợt khảo sát đã được công bố." }
            }
            @if published.is_empty() {
                p.hint { "Chưa có kết quả nào được công khai." }
            } @else {
                ul {
                    @for p in published {
                        li {
                            a href=(period_path(p.period_id)) {
                                (p.snapshot.plan.title) " — " (p.snapshot.period.name)
                            }
                            br;
                            span.small { (dates(&p.snapshot)) "; công bố lúc " (format_vietnam_time(p.published_at)) }
                        }
                    }
                }
            }
        },
    )
}

pub fn show(published: &PublishedSnapshot) -> Markup {
    let snapshot = &published.snapshot;
    layout(
        &format!(
            "Kết quả khảo sát sự hài lòng - {} - {}",
            snapshot.period.name, snapshot.plan.title
        ),
        html! {
            p.small { a href=(LIST_PATH) { "← Các kết quả đã công khai" } }
            h1 { "Kết quả khảo sát sự hài lòng: " (snapshot.period.name) }
            p.small { "Công bố lúc " (format_vietnam_time(published.published_at)) "." }
            (figures(snapshot))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_have_vietnamese_thousands_separators() {
        assert_eq!(format_count(0), "0");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(1000), "1.000");
        assert_eq!(format_count(1234567), "1.234.567");
    }
}
