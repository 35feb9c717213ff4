//! The staff home page ("Tổng quan"): the year's responses in words whose parts add up to the
//! total (so that the statistics pages' figure is visibly one of them), and what needs
//! attention now, each a link.

use chrono::NaiveDate;
use maud::{Markup, html};

use super::page;
use crate::SignedIn;
use crate::db::home::{Waiting, YearCounts};
use crate::domain::access::Role;
use crate::domain::format::format_date;
use crate::spool::SpoolStatus;
use crate::staff::comments::format_count;

/// A unit short of its sample target in the current period of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShortUnit {
    pub unit_id: i32,
    pub name: String,
    pub target: i64,
    pub received: i64,
}

/// The period of a plan that runs today (or the last one that started).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentPeriod {
    pub id: i32,
    pub name: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    /// Units of the plan's table with a target they have not reached yet.
    pub short: Vec<ShortUnit>,
    /// Units of the plan's table with a target in this period.
    pub with_target: usize,
}

/// A survey plan of the year and its progress (responses counted in the figures against the
/// sample targets of all its periods).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanSummary {
    pub id: i32,
    pub title: String,
    pub unit_name: String,
    pub target: i64,
    pub received: i64,
    pub current: Option<CurrentPeriod>,
}

/// What the home page shows.
pub struct Home<'a> {
    pub year: i32,
    pub counts: &'a YearCounts,
    /// (form id, title) of the forms that have responses, the statistics pages' default form
    /// first.
    pub forms: &'a [(String, String)],
    /// The form the statistics pages show by default.
    pub overview_form: &'a str,
    pub today: i64,
    pub waiting: Waiting,
    /// The survey plans of the year within the account's units.
    pub plans: &'a [PlanSummary],
    /// The response spool of this instance, only when something waits in it (admins).
    pub spool: Option<&'a SpoolStatus>,
    /// The units of the year's overview whose index is below the plan's first goal.
    pub below_goal: Option<&'a BelowGoal>,
}

/// The ranked units (enough sample) of the year's overview below the first goal of the plan
/// the overview falls under (the national one where no plan applies).
#[derive(Debug, Clone, PartialEq)]
pub struct BelowGoal {
    pub goal: crate::charts::Goal,
    /// (unit id, name, index), lowest first.
    pub units: Vec<(i32, String, f64)>,
    /// How many units are ranked (the others are short of sample).
    pub ranked: usize,
}

/// "3 đơn vị đủ mẫu có chỉ số dưới Mục tiêu 2025: 80%", each unit a link to its page.
fn below_goal(year: i32, form: &str, b: &BelowGoal) -> Markup {
    let query =
        serde_urlencoded::to_string([("year", year.to_string()), ("form", form.to_string())])
            .unwrap_or_default();
    html! {
        @if b.units.is_empty() {
            @if b.ranked > 0 {
                p { "Cả " (format_count(b.ranked as i64)) " đơn vị đủ mẫu năm " (year) " đạt " (b.goal.label) "." }
            }
        } @else {
            p {
                strong { (format_count(b.units.len() as i64)) } " / " (format_count(b.ranked as i64))
                " đơn vị đủ mẫu năm " (year) " có chỉ số dưới " (b.goal.label) ":"
            }
            ul.short-units {
                @for (id, name, index) in &b.units {
                    li {
                        a href={ "/staff/stats/units/" (id) "?" (query) } { (name) }
                        " — " (crate::stats::format_percent(*index))
                    }
                }
            }
        }
    }
}

/// "/staff/stats?year=2026&form=…": the statistics of a form for a year.
fn stats_link(year: i32, form: &str) -> String {
    format!(
        "/staff/stats?{}",
        serde_urlencoded::to_string([("year", year.to_string()), ("form", form.to_string())])
            .unwrap_or_default()
    )
}

/// The headline sentence: "20.013 phiếu đã nhận năm 2026, trong đó 18.186 phiếu theo mẫu …
/// được tính vào kết quả, 1.800 phiếu theo mẫu …, 27 phiếu bị loại vì nghi vấn gian lận."
fn reconciliation(h: &Home<'_>, admin: bool) -> Markup {
    let c = h.counts;
    let title = |id: &str| {
        h.forms
            .iter()
            .find(|(f, _)| f == id)
            .map_or_else(|| id.to_string(), |(_, t)| t.clone())
    };
    // The default form first, then the others by their number of responses.
    let mut forms: Vec<(&String, i64)> = c.forms.iter().map(|(id, f)| (id, f.counted)).collect();
    forms.sort_by_key(|(id, n)| (id.as_str() != h.overview_form, -n, String::clone(id)));
    let counted: Vec<(&String, i64)> = forms.into_iter().filter(|(_, n)| *n > 0).collect();
    let excluded = c.excluded();
    let pending = c.pending();
    html! {
        p.headline #tong-so {
            strong.big-inline { (format_count(c.total())) } " phiếu đã nhận trong năm " (h.year)
            @if c.total() > 0 {
                ", trong đó "
                @for (i, (id, n)) in counted.iter().enumerate() {
                    @if i > 0 { ", " }
                    a href=(stats_link(h.year, id)) data-form=(id) data-part="counted" {
                        strong { (format_count(*n)) } " phiếu theo mẫu “" (title(id)) "”"
                    }
                    @if i == 0 { " tính vào chỉ số" }
                }
                @if excluded > 0 {
                    @if !counted.is_empty() { ", " }
                    @if admin {
                        a href="/staff/flags?state=excluded" data-part="excluded" {
                            strong { (format_count(excluded)) } " phiếu bị loại vì nghi vấn gian lận"
                        }
                    } @else {
                        span data-part="excluded" { strong { (format_count(excluded)) } " phiếu bị loại vì nghi vấn gian lận" }
                    }
                }
                @if pending > 0 {
                    @if !counted.is_empty() || excluded > 0 { ", " }
                    span data-part="pending" { strong { (format_count(pending)) } " phiếu vừa nhận, đang được tổng hợp" }
                }
                "."
            }
        }
        @if counted.len() > 1 || excluded > 0 {
            p.hint {
                "Trang “Kết quả khảo sát” tính chỉ số cho từng mẫu phiếu riêng (mặc định mẫu “"
                (title(h.overview_form)) "”)"
                @if excluded > 0 { "; phiếu bị loại vì nghi vấn gian lận không được tính vào kết quả" }
                "."
            }
        }
    }
}

/// One "cần xử lý" line: a count and what it is, as a link.
fn todo(href: &str, n: i64, what: &str) -> Markup {
    html! {
        li { a href=(href) { strong { (format_count(n)) } " " (what) } }
    }
}

fn plan_block(year: i32, plan: &PlanSummary) -> Markup {
    let share = (plan.target > 0).then(|| {
        let rate = plan.received as f64 * 100.0 / plan.target as f64;
        format!("{rate:.1}%").replace('.', ",")
    });
    html! {
        li {
            a href={ "/staff/plans/" (plan.id) } { (plan.title) } " (" (plan.unit_name) "): "
            @if plan.target > 0 {
                "đã thu " strong { (format_count(plan.received)) } " / " (format_count(plan.target))
                " phiếu theo chỉ tiêu cả năm"
                @if let Some(share) = share { " (" (share) ")" }
                "."
                meter min="0" max=(plan.target) value=(plan.received.min(plan.target)) aria-hidden="true" {}
            } @else {
                "chưa đặt chỉ tiêu số phiếu."
            }
            @if let Some(current) = &plan.current {
                @let when = format!("{}–{}", format_date(current.starts_on), format_date(current.ends_on));
                @if current.short.is_empty() {
                    @if current.with_target > 0 {
                        " Đợt “" (current.name) "” (" (when) "): mọi đơn vị đã đạt chỉ tiêu số phiếu."
                    }
                } @else {
                    " Đợt “" (current.name) "” (" (when) "): "
                    strong { (format_count(current.short.len() as i64)) } " đơn vị chưa đủ số phiếu theo chỉ tiêu:"
                    ul.short-units {
                        @for unit in &current.short {
                            li {
                                a href={ "/staff/stats?unit=" (unit.unit_id) "&year=" (year) "&period=p" (current.id) } {
                                    (unit.name)
                                }
                                " — " (format_count(unit.received)) " / " (format_count(unit.target)) " phiếu"
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The staff home page.
pub fn dashboard(staff: &SignedIn, h: &Home<'_>) -> Markup {
    let admin = staff.role == Role::Admin;
    let flags = admin && h.waiting.flags_undecided > 0;
    let comments = h.waiting.comments_unhandled > 0;
    page(
        "Tổng quan",
        staff,
        "/staff",
        html! {
            (reconciliation(h, admin))
            div.cards.compact {
                div.card { p.big { (format_count(h.today)) } p { "phiếu hôm nay" } }
                div.card { p.big { (format_count(h.waiting.active_desks)) } p { "quầy đang hoạt động" } }
            }
            h2 { "Cần xử lý" }
            @if flags || comments {
                ul.todo {
                    @if flags { (todo("/staff/flags", h.waiting.flags_undecided, "phiếu nghi vấn chờ xem xét")) }
                    @if comments { (todo("/staff/comments?state=unhandled", h.waiting.comments_unhandled, "góp ý chưa xử lý")) }
                }
            } @else {
                p { "Không có việc đang chờ: " @if admin { "mọi phiếu nghi vấn đã được xem xét, " } "mọi góp ý đã được xử lý." }
            }
            @if let Some(b) = h.below_goal { (below_goal(h.year, h.overview_form, b)) }
            h2 { "Kế hoạch khảo sát năm " (h.year) }
            @if h.plans.is_empty() {
                p {
                    "Chưa có kế hoạch khảo sát năm " (h.year) " cho các đơn vị của Anh/Chị. "
                    a href="/staff/plans" { "Xem kế hoạch khảo sát" }
                }
            } @else {
                ul.plans { @for plan in h.plans { (plan_block(h.year, plan)) } }
            }
            @if let Some(spool) = h.spool { (super::spool_notice(spool)) }
            @if staff.role == Role::Unit {
                p.hint { "Anh/Chị xem và quản lý dữ liệu của đơn vị mình và các đơn vị trực thuộc." }
            }
        },
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::db::accounts::Account;
    use crate::db::home::FormCounts;
    use crate::domain::access::{Actor, Scope};
    use chrono::Utc;

    /// A signed-in account of `role` for rendering pages in tests.
    pub(crate) fn signed_in(role: Role) -> SignedIn {
        let now = Utc::now();
        SignedIn {
            account: Account {
                id: 7,
                username: "lan".into(),
                display_name: "Nguyễn Thị Lan".into(),
                role: role.as_str().into(),
                password_hash: String::new(),
                active: true,
                created_at: now,
                password_changed_at: now,
                sessions_valid_after: now,
            },
            actor: Actor {
                account_id: 7,
                role,
                scope: if role == Role::Admin {
                    Scope::All
                } else {
                    Scope::Units(vec![3])
                },
            },
            csrf: "t".into(),
        }
    }

    fn counts() -> YearCounts {
        let mut counts = YearCounts::default();
        counts.forms.insert(
            "sipas-1001-dich-vu".into(),
            FormCounts {
                counted: 18_186,
                excluded: 27,
                pending: 0,
            },
        );
        counts.forms.insert(
            "khac".into(),
            FormCounts {
                counted: 1_800,
                excluded: 0,
                pending: 0,
            },
        );
        counts
    }

    #[test]
    fn units_below_the_first_goal_are_listed_lowest_first_with_links() {
        let b = BelowGoal {
            goal: sipas_core::goals::national()[0].clone(),
            units: vec![
                (7, "UBND xã A".into(), 0.7123),
                (9, "UBND xã B".into(), 0.79),
            ],
            ranked: 12,
        };
        let html = below_goal(2026, "sipas-1001-dich-vu", &b).into_string();
        assert!(
            html.contains(
                "2</strong> / 12 đơn vị đủ mẫu năm 2026 có chỉ số dưới Mục tiêu 2025: 80%"
            ),
            "{html}"
        );
        assert!(
            html.contains("href=\"/staff/stats/units/7?year=2026&amp;form=sipas-1001-dich-vu\"")
        );
        assert!(html.find("UBND xã A").unwrap() < html.find("UBND xã B").unwrap());
        assert!(html.contains("71,23%"));
        let none = BelowGoal { units: vec![], ..b };
        assert!(
            below_goal(2026, "f", &none)
                .into_string()
                .contains("Cả 12 đơn vị đủ mẫu năm 2026 đạt Mục tiêu 2025: 80%.")
        );
    }

    #[test]
    fn the_headline_is_the_total_in_words_with_its_parts() {
        let counts = counts();
        let forms = [
            (
                "sipas-1001-dich-vu".to_string(),
                "Dịch vụ hành chính công".to_string(),
            ),
            ("khac".to_string(), "Mẫu khác".to_string()),
        ];
        let home = Home {
            year: 2026,
            counts: &counts,
            forms: &forms,
            overview_form: "sipas-1001-dich-vu",
            today: 1_234,
            waiting: Waiting {
                flags_undecided: 3,
                comments_unhandled: 1_500,
                active_desks: 31,
            },
            plans: &[],
            spool: None,
            below_goal: None,
        };
        let admin = dashboard(&signed_in(Role::Admin), &home).into_string();
        let text = admin.replace("<strong>", "").replace("</strong>", "");
        assert!(
            text.contains("20.013</strong> phiếu đã nhận trong năm 2026")
                || text.contains("20.013 phiếu đã nhận trong năm 2026"),
            "{text}"
        );
        assert!(
            text.contains("18.186 phiếu theo mẫu “Dịch vụ hành chính công”"),
            "{text}"
        );
        assert!(text.contains("1.800 phiếu theo mẫu “Mẫu khác”"), "{text}");
        assert!(
            text.contains("27 phiếu bị loại vì nghi vấn gian lận"),
            "{text}"
        );
        // The default form first, every count grouped, the slug only in links.
        assert!(text.find("18.186").unwrap() < text.find("1.800").unwrap());
        assert!(text.contains("1.234") && text.contains("1.500"), "{text}");
        assert!(!text.contains(">sipas-1001-dich-vu<"), "{text}");
        assert!(text.contains("href=\"/staff/flags\""), "{text}");
        assert!(
            text.contains("href=\"/staff/comments?state=unhandled\""),
            "{text}"
        );
        assert!(
            !text.contains("id=\"spool\""),
            "no spool line when it is empty"
        );
        // A unit account sees no flag line.
        let unit = dashboard(&signed_in(Role::Unit), &home).into_string();
        assert!(!unit.contains("href=\"/staff/flags"), "{unit}");
        assert!(unit.contains("góp ý chưa xử lý"));
    }

    #[test]
    fn the_spool_line_only_when_something_waits() {
        let mut spool = SpoolStatus {
            entries: 0,
            bytes: 0,
            oldest: None,
            accepting: true,
            replayed: 12,
            damaged: 0,
            rejected: 0,
            foreign: 0,
        };
        assert!(!super::super::spool_needs_attention(&spool));
        spool.entries = 1_250;
        spool.bytes = 2_000_000;
        assert!(super::super::spool_needs_attention(&spool));
        let counts = YearCounts::default();
        let home = Home {
            year: 2026,
            counts: &counts,
            forms: &[],
            overview_form: "x",
            today: 0,
            waiting: Waiting::default(),
            plans: &[],
            spool: Some(&spool),
            below_goal: None,
        };
        let page = dashboard(&signed_in(Role::Admin), &home).into_string();
        assert!(page.contains("id=\"spool\""), "{page}");
        assert!(page.contains("<strong>1.250</strong> (1.954 KB"), "{page}");
    }

    #[test]
    fn the_plan_lists_the_units_short_of_sample() {
        let counts = YearCounts::default();
        let plans = [PlanSummary {
            id: 4,
            title: "Kế hoạch 2026".into(),
            unit_name: "Huyện Xuân Lộc".into(),
            target: 4_000,
            received: 3_100,
            current: Some(CurrentPeriod {
                id: 9,
                name: "Quý IV".into(),
                starts_on: NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
                ends_on: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
                short: vec![ShortUnit {
                    unit_id: 12,
                    name: "Xã Suối Cát".into(),
                    target: 120,
                    received: 45,
                }],
                with_target: 20,
            }),
        }];
        let home = Home {
            year: 2026,
            counts: &counts,
            forms: &[],
            overview_form: "x",
            today: 0,
            waiting: Waiting::default(),
            plans: &plans,
            spool: None,
            below_goal: None,
        };
        let page = dashboard(&signed_in(Role::Viewer), &home).into_string();
        assert!(
            page.contains("0</strong> phiếu đã nhận trong năm 2026"),
            "{page}"
        );
        assert!(
            page.contains("3.100</strong> / 4.000 phiếu theo chỉ tiêu cả năm (77,5%)"),
            "{page}"
        );
        assert!(
            page.contains("href=\"/staff/stats?unit=12&amp;year=2026&amp;period=p9\""),
            "{page}"
        );
        assert!(page.contains("45 / 120 phiếu"), "{page}");
        assert!(page.contains("Không có việc đang chờ"), "{page}");
    }
}
