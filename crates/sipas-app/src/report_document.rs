//! The printable report's document: what it shows besides the report's figures (the issuing
//! body and its recipients, the plan period whose targets apply, each row's comments), gathered
//! within the account's scope for the web (`/staff/report`) and for `sipas report` alike.

use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;

use crate::Error;
use crate::db::comments::{self, CommentFilter, CommentRow};
use crate::db::units::Unit;
use crate::domain::access::Scope;
use crate::domain::format::format_date;
use crate::domain::time::start_of_day;
use crate::domain::tree::subtree_in_scope;
use crate::reports::Report;

/// How many of a unit's latest comments part V quotes.
pub const COMMENTS_PER_UNIT: usize = 3;

/// The issuing body as the top left of an administrative document shows it (Nghị định
/// 30/2020/NĐ-CP): the body it belongs to, then its own name, both in capitals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer {
    /// "UBND huyện Xuân Lộc" above "Phòng Nội vụ"; `None` for a body on its own.
    pub parent: Option<String>,
    pub name: String,
    /// The place in "Xuân Lộc, ngày 27 tháng 11 năm 2026".
    pub place: String,
    /// Who the report goes to ("Nơi nhận"), before "Lưu: VT".
    pub recipients: Vec<String>,
}

/// The survey plan behind the period, when there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanInfo {
    pub title: String,
    /// "Quý I (01/01/2026 – 31/03/2026)": the plan period whose targets apply.
    pub period: Option<String>,
    /// The plan's margin of error (a share, 0.05 for 5%).
    pub margin_of_error: f64,
}

/// The comments of one row of the report (the unit and the units below it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitComments {
    pub unit_id: i32,
    pub unit_name: String,
    pub total: i64,
    pub handled: i64,
    /// The latest ones, newest first (at most [`COMMENTS_PER_UNIT`]).
    pub latest: Vec<CommentRow>,
}

/// "Xuân Lộc" from "UBND huyện Xuân Lộc", "Gia Ray" from "UBND thị trấn Gia Ray": a unit's
/// name without "UBND" and its administrative level.
pub fn place_name(unit_name: &str) -> String {
    const PREFIXES: [&str; 10] = [
        "ubnd ",
        "ủy ban nhân dân ",
        "tỉnh ",
        "thành phố ",
        "huyện ",
        "quận ",
        "thị xã ",
        "thị trấn ",
        "xã ",
        "phường ",
    ];
    let mut rest = unit_name.trim();
    loop {
        let lower = rest.to_lowercase();
        let Some(prefix) = PREFIXES.iter().find(|p| lower.starts_with(*p)) else {
            break;
        };
        // The prefixes have the same length in bytes in both cases (Vietnamese letters keep
        // their UTF-8 length when lowered), but cut on characters to be safe.
        let chars = prefix.chars().count();
        rest = rest
            .char_indices()
            .nth(chars)
            .map_or("", |(at, _)| &rest[at..])
            .trim_start();
    }
    if rest.is_empty() {
        unit_name.trim().to_string()
    } else {
        rest.to_string()
    }
}

/// What the report is about, as the caller resolved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct About {
    pub year: i32,
    /// The period's label when it is not the whole calendar year.
    pub period: Option<String>,
    pub form_title: String,
    /// The kind of unit the rows are limited to (its label).
    pub kind: Option<String>,
}

/// A report with everything its document shows.
pub struct Prepared {
    pub report: Report,
    pub about: About,
    pub issuer: Issuer,
    pub date: NaiveDate,
    pub plan: Option<PlanInfo>,
    pub comments: Vec<UnitComments>,
    pub comments_total: (i64, i64),
}

/// Whether a unit is a Home Affairs office ("Phòng Nội vụ", "Sở Nội vụ"): the body that
/// reports on the survey for the unit above it.
fn is_home_affairs(unit: &Unit) -> bool {
    unit.active && unit.name.to_lowercase().contains("nội vụ")
}

/// Who issues the report of `root` and who receives it: a district or province reports
/// through its Home Affairs office when it has one (plan 157/KH-UBND, III: "báo cáo ... về UBND
/// huyện (qua phòng Nội vụ)"); a department under its parent's name; any other unit on its
/// own. The report goes to the unit above, through its Home Affairs office.
pub fn issuer(units: &[Unit], root: i32) -> Issuer {
    let find = |id: i32| units.iter().find(|u| u.id == id);
    let Some(unit) = find(root) else {
        return Issuer {
            parent: None,
            name: String::new(),
            place: String::new(),
            recipients: Vec::new(),
        };
    };
    let parent = unit.parent_id.and_then(find);
    let office_of = |id: i32| {
        units
            .iter()
            .find(|u| u.parent_id == Some(id) && is_home_affairs(u))
    };
    let mut recipients: Vec<String> = parent
        .map(|p| match office_of(p.id) {
            Some(office) => format!("{} (qua {})", p.name, office.name),
            None => p.name.clone(),
        })
        .into_iter()
        .collect();
    match (office_of(unit.id), unit.kind.as_str()) {
        (Some(office), _) => {
            recipients.push(format!("Chủ tịch, các Phó Chủ tịch {}", unit.name));
            Issuer {
                parent: Some(unit.name.clone()),
                name: office.name.clone(),
                place: place_name(&unit.name),
                recipients,
            }
        }
        (None, "department") if parent.is_some() => {
            let parent = parent.expect("checked");
            Issuer {
                parent: Some(parent.name.clone()),
                name: unit.name.clone(),
                place: place_name(&parent.name),
                recipients,
            }
        }
        _ => Issuer {
            parent: None,
            name: unit.name.clone(),
            place: place_name(&unit.name),
            recipients,
        },
    }
}

/// Gathers what the document of `report` shows besides its figures: the issuing body, the
/// plan period whose targets apply, and each row's comments (how many, how many handled, the
/// latest few), all within `scope`.
pub async fn prepare(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    report: Report,
    about: About,
    date: NaiveDate,
) -> Result<Prepared, Error> {
    let all = Unit::all_by_name(conn).await?;
    let issuer = issuer(&all, report.root.id);
    let plan = match report.query.period_id {
        Some(id) => crate::db::published::plan_period(conn, id)
            .await?
            .map(|(plan, period)| PlanInfo {
                title: plan.title,
                period: Some(format!(
                    "{} ({} – {})",
                    period.name,
                    format_date(period.starts_on),
                    format_date(period.ends_on)
                )),
                margin_of_error: plan.margin_of_error,
            }),
        None => None,
    };
    let mut comments = Vec::new();
    let mut comments_total = (0, 0);
    if let (Some(from), Some(until)) = (
        start_of_day(report.query.from),
        report.query.to.succ_opt().and_then(start_of_day),
    ) {
        let everything = subtree_in_scope(&all, report.root.id, scope);
        let summary = comments::handling_summary(
            conn,
            scope,
            &CommentFilter {
                units: Some(everything),
                from: Some(from),
                until: Some(until),
                ..CommentFilter::default()
            },
        )
        .await?;
        for row in &report.rows {
            let ids = subtree_in_scope(&all, row.unit.id, scope);
            let (total, handled) = summary
                .iter()
                .filter(|s| ids.contains(&s.unit_id))
                .fold((0, 0), |(t, h), s| (t + s.total, h + s.handled));
            comments_total.0 += total;
            comments_total.1 += handled;
            if total == 0 {
                continue;
            }
            let latest = comments::latest(conn, ids, from, until, COMMENTS_PER_UNIT as i64).await?;
            comments.push(UnitComments {
                unit_id: row.unit.id,
                unit_name: row.unit.name.clone(),
                total,
                handled,
                latest,
            });
        }
    }
    Ok(Prepared {
        report,
        about,
        issuer,
        date,
        plan,
        comments,
        comments_total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn unit(id: i32, parent: Option<i32>, name: &str, kind: &str) -> Unit {
        Unit {
            id,
            parent_id: parent,
            code: format!("u{id}"),
            name: name.into(),
            kind: kind.into(),
            default_form_id: None,
            active: true,
            created_at: Utc::now(),
        }
    }

    fn tree() -> Vec<Unit> {
        vec![
            unit(1, None, "UBND tỉnh Đồng Nai", "province"),
            unit(2, Some(1), "UBND huyện Xuân Lộc", "district"),
            unit(3, Some(2), "Phòng Nội vụ", "department"),
            unit(4, Some(2), "Phòng Tư pháp", "department"),
            unit(5, Some(2), "UBND xã Xuân Bắc", "commune"),
        ]
    }

    #[test]
    fn the_district_reports_through_its_home_affairs_office() {
        let issuer = issuer(&tree(), 2);
        assert_eq!(issuer.parent.as_deref(), Some("UBND huyện Xuân Lộc"));
        assert_eq!(issuer.name, "Phòng Nội vụ");
        assert_eq!(issuer.place, "Xuân Lộc");
        assert_eq!(
            issuer.recipients,
            [
                "UBND tỉnh Đồng Nai",
                "Chủ tịch, các Phó Chủ tịch UBND huyện Xuân Lộc"
            ]
        );
    }

    #[test]
    fn a_commune_reports_on_its_own_to_the_district() {
        let issuer = issuer(&tree(), 5);
        assert_eq!(issuer.parent, None);
        assert_eq!(issuer.name, "UBND xã Xuân Bắc");
        assert_eq!(issuer.place, "Xuân Bắc");
        assert_eq!(
            issuer.recipients,
            ["UBND huyện Xuân Lộc (qua Phòng Nội vụ)"]
        );
        let department = super::issuer(&tree(), 4);
        assert_eq!(department.parent.as_deref(), Some("UBND huyện Xuân Lộc"));
        assert_eq!(department.name, "Phòng Tư pháp");
        assert_eq!(department.place, "Xuân Lộc");
    }

    #[test]
    fn subtrees_stay_in_scope() {
        let units = tree();
        assert_eq!(subtree_in_scope(&units, 2, &Scope::All), [2, 3, 4, 5]);
        assert_eq!(subtree_in_scope(&units, 2, &Scope::Units(vec![5])), [5]);
        assert_eq!(subtree_in_scope(&units, 5, &Scope::Units(vec![5])), [5]);
    }
}
