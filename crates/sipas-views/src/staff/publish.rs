//! Pages of the staff area: publishing a plan period's results (admins only).

use chrono::NaiveDate;
use maud::{Markup, html};

use super::{csrf_input, flash, page};
use crate::SignedIn;
use crate::db::plans::{Period, PlanListing};
use crate::db::published::{PublishedSnapshot, Snapshot};
use crate::format_vietnam_time;
use crate::plans::format_date;
use crate::public::{self as public_views, period_path};

/// Where the list lives (and its menu path).
pub const PATH: &str = "/staff/publish";

/// A plan with its periods and, for each, when it was published.
pub struct PlanPeriods {
    pub plan: PlanListing,
    pub periods: Vec<(Period, Option<chrono::DateTime<chrono::Utc>>)>,
}

pub fn list(staff: &SignedIn, plans: &[PlanPeriods], notice: Option<&str>) -> Markup {
    page(
        "Công khai kết quả",
        staff,
        PATH,
        html! {
            (flash(notice))
            p {
                "Khi công khai một đợt khảo sát, số liệu của đợt tại thời điểm đó (chỉ số hài lòng, khoảng tin cậy, số phiếu và thứ hạng của từng đơn vị) được lưu lại và hiển thị cho mọi người tại "
                a href=(public_views::LIST_PATH) { (public_views::LIST_PATH) }
                ". Phiếu nhận sau đó không làm thay đổi số liệu đã công khai. Trang công khai không có góp ý, không có thông tin cá nhân."
            }
            @if plans.is_empty() {
                p.hint { "Chưa có kế hoạch khảo sát nào." }
            }
            @for p in plans {
                h2 { (p.plan.title) }
                p.hint { (p.plan.unit_name) " · năm " (p.plan.year) }
                @if p.periods.is_empty() {
                    p.hint { "Kế hoạch chưa có đợt khảo sát." }
                } @else {
                    table {
                        thead {
                            tr {
                                th scope="col" { "Đợt khảo sát" }
                                th scope="col" { "Thời gian" }
                                th scope="col" { "Công khai" }
                            }
                        }
                        tbody {
                            @for (period, published) in &p.periods {
                                tr {
                                    td { a href={ (PATH) "/" (period.id) } { (period.name) } }
                                    td { (format_date(period.starts_on)) " – " (format_date(period.ends_on)) }
                                    td {
                                        @match published {
                                            Some(at) => {
                                                "Đã công khai lúc " (format_vietnam_time(*at)) " · "
                                                a href=(period_path(period.id)) { "Xem trang công khai" }
                                            }
                                            None => "Chưa công khai",
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// What the page of one period shows.
pub struct PeriodPage<'a> {
    pub plan: &'a PlanListing,
    pub period: &'a Period,
    /// The figures as they would be published now.
    pub live: &'a Snapshot,
    pub published: Option<&'a PublishedSnapshot>,
    pub today: NaiveDate,
    pub notice: Option<&'a str>,
}

pub fn period(staff: &SignedIn, p: &PeriodPage<'_>) -> Markup {
    let action = format!("{PATH}/{}", p.period.id);
    page(
        &format!("Công khai kết quả: {}", p.period.name),
        staff,
        PATH,
        html! {
            (flash(p.notice))
            p { a href=(PATH) { "← Các đợt khảo sát" } }
            p { strong { (p.plan.title) } " · " (p.period.name) ", từ " (format_date(p.period.starts_on)) " đến " (format_date(p.period.ends_on)) "." }
            @match p.published {
                Some(published) => {
                    p {
                        "Đã công khai lúc " (format_vietnam_time(published.published_at)) ": "
                        a href=(period_path(p.period.id)) { "xem trang công khai" } "."
                    }
                }
                None => { p { "Đợt khảo sát này chưa được công khai." } }
            }
            @if p.today <= p.period.ends_on {
                div.alert role="note" {
                    p { "Lưu ý: đợt khảo sát chưa kết thúc (đến hết ngày " (format_date(p.period.ends_on)) "). Số liệu công khai bây giờ sẽ không gồm các phiếu nhận sau thời điểm công khai." }
                }
            }
            div.actions {
                form method="post" action=(action) {
                    (csrf_input(&staff.csrf))
                    button.small type="submit" {
                        @if p.published.is_some() { "Cập nhật số liệu công khai" } @else { "Công khai kết quả" }
                    }
                }
                @if p.published.is_some() {
                    form method="post" action={ (action) "/unpublish" } {
                        (csrf_input(&staff.csrf))
                        button.small type="submit" { "Thôi công khai" }
                    }
                }
            }
            h2 { "Số liệu sẽ được công khai (tính đến lúc này)" }
            (public_views::figures(p.live))
        },
    )
}
