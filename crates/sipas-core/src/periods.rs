//! Periods of time the figures are about, as typed in a URL or on the command line: "2026"
//! (the year), "2026-q1".."2026-q4" (a quarter), "2026-h1"/"2026-h2" (a half-year),
//! "2026-03" (a month), "p12" (the plan period with id 12) or the name of a period of the
//! year's plan ("Quý I", case-insensitively). One implementation for the statistics pages,
//! the exports and the command line.

use chrono::{Datelike, Months, NaiveDate};

use crate::domain::format::quarter_label;
use crate::plans::{MAX_YEAR, MIN_YEAR, format_date, last_day_of_month};

/// A period, resolved to its days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedPeriod {
    /// The token as typed (trimmed).
    pub token: String,
    /// "Năm 2026", "Quý II/2026", "6 tháng đầu năm 2026", "Tháng 3/2026", "Quý I (01/01/2026 –
    /// 31/03/2026)".
    pub label: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The plan period whose targets apply, when the token named one.
    pub period_id: Option<i32>,
}

/// First and last day of quarter `q` (1..=4) of `year`.
pub fn quarter_range(year: i32, q: u32) -> (NaiveDate, NaiveDate) {
    let first = NaiveDate::from_ymd_opt(year, 3 * q - 2, 1).expect("a quarter's first day");
    (first, last_day_of_month(year, 3 * q))
}

/// First and last day of half `h` (1..=2) of `year`.
pub fn half_range(year: i32, h: u32) -> (NaiveDate, NaiveDate) {
    let first = NaiveDate::from_ymd_opt(year, 6 * h - 5, 1).expect("a half-year's first day");
    (first, last_day_of_month(year, 6 * h))
}

pub fn year_range(year: i32) -> (NaiveDate, NaiveDate) {
    (
        NaiveDate::from_ymd_opt(year, 1, 1).expect("1 January"),
        NaiveDate::from_ymd_opt(year, 12, 31).expect("31 December"),
    )
}

/// "6 tháng đầu năm 2026" / "6 tháng cuối năm 2026".
pub fn half_label(h: u32, year: i32) -> String {
    if h == 1 {
        format!("6 tháng đầu năm {year}")
    } else {
        format!("6 tháng cuối năm {year}")
    }
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// A four-digit year within the supported years.
pub fn parse_year(s: &str) -> Option<i32> {
    (s.len() == 4 && digits(s))
        .then(|| s.parse().ok())
        .flatten()
        .filter(|y| (MIN_YEAR..=MAX_YEAR).contains(y))
}

/// One period of a survey plan, as period tokens resolve it (`sipas_db::plans::Period` gives
/// one with `From`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanPeriod {
    pub id: i32,
    pub name: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
}

fn plan_label(p: &PlanPeriod) -> String {
    format!(
        "{} ({} – {})",
        p.name,
        format_date(p.starts_on),
        format_date(p.ends_on)
    )
}

/// Resolves a period token (see the module documentation). `plan_periods` are the periods of
/// the plan that applies (for "p12" and period names); `None` when there is no plan. Returns
/// `None` for anything else.
pub fn parse_period_token(
    token: &str,
    plan_periods: Option<&[PlanPeriod]>,
) -> Option<ResolvedPeriod> {
    let token = token.trim();
    let found = |label: String, (from, to): (NaiveDate, NaiveDate), period_id| ResolvedPeriod {
        token: token.to_string(),
        label,
        from,
        to,
        period_id,
    };
    let plan = |p: &PlanPeriod| found(plan_label(p), (p.starts_on, p.ends_on), Some(p.id));
    if let Some(id) = token.strip_prefix('p')
        && digits(id)
    {
        let id: i32 = id.parse().ok()?;
        return plan_periods?.iter().find(|p| p.id == id).map(plan);
    }
    let by_name = || {
        let wanted = token.to_lowercase();
        plan_periods?
            .iter()
            .find(|p| !wanted.is_empty() && p.name.trim().to_lowercase() == wanted)
            .map(plan)
    };
    match token.split_once('-') {
        None => match parse_year(token) {
            Some(y) => Some(found(format!("Năm {y}"), year_range(y), None)),
            None => by_name(),
        },
        Some((y, rest)) => {
            let Some(y) = parse_year(y) else {
                return by_name();
            };
            let rest = rest.to_ascii_lowercase();
            let one_digit = |s: &str| -> Option<u32> {
                (s.len() == 1 && digits(s))
                    .then(|| s.parse().ok())
                    .flatten()
            };
            if let Some(q) = rest.strip_prefix('q') {
                let q = one_digit(q)?;
                (1..=4)
                    .contains(&q)
                    .then(|| found(quarter_label(q, y), quarter_range(y, q), None))
            } else if let Some(h) = rest.strip_prefix('h') {
                let h = one_digit(h)?;
                (1..=2)
                    .contains(&h)
                    .then(|| found(half_label(h, y), half_range(y, h), None))
            } else {
                let m: u32 = (rest.len() == 2 && digits(&rest))
                    .then(|| rest.parse().ok())
                    .flatten()?;
                let first = NaiveDate::from_ymd_opt(y, m, 1)?;
                Some(found(
                    format!("Tháng {m}/{y}"),
                    (first, last_day_of_month(y, m)),
                    None,
                ))
            }
        }
    }
}

/// The range just before `from..=to`, of the same length: whole calendar months are shifted
/// by their number of months (a quarter gives the previous quarter), other ranges by their
/// number of days.
pub fn previous_period(from: NaiveDate, to: NaiveDate) -> (NaiveDate, NaiveDate) {
    let whole_months = from.day() == 1 && to.succ_opt().is_some_and(|next| next.day() == 1);
    if whole_months {
        let months =
            (to.year() * 12 + to.month0() as i32) - (from.year() * 12 + from.month0() as i32) + 1;
        let start = from
            .checked_sub_months(Months::new(months.max(1) as u32))
            .unwrap_or(from);
        (start, from.pred_opt().unwrap_or(from))
    } else {
        let days = (to - from).num_days() + 1;
        (
            from - chrono::Duration::days(days),
            from.pred_opt().unwrap_or(from),
        )
    }
}

/// The same days one year earlier (29 February becomes the 28th; a range ending on the last
/// day of a month still ends on the last day of that month).
pub fn previous_year(from: NaiveDate, to: NaiveDate) -> (NaiveDate, NaiveDate) {
    let back = |d: NaiveDate| d.checked_sub_months(Months::new(12)).unwrap_or(d);
    let end = if to.succ_opt().is_some_and(|next| next.day() == 1) {
        last_day_of_month(to.year() - 1, to.month())
    } else {
        back(to)
    };
    (back(from), end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn period(id: i32, name: &str, from: NaiveDate, to: NaiveDate) -> PlanPeriod {
        PlanPeriod {
            id,
            name: name.into(),
            starts_on: from,
            ends_on: to,
        }
    }

    #[test]
    fn tokens_of_every_kind() {
        let p = parse_period_token("2026-h2", None).unwrap();
        assert_eq!((p.from, p.to), (d(2026, 7, 1), d(2026, 12, 31)));
        assert_eq!(p.label, "6 tháng cuối năm 2026");
        let p = parse_period_token("2026-Q1", None).unwrap();
        assert_eq!((p.from, p.to), (d(2026, 1, 1), d(2026, 3, 31)));
        let plan = [
            period(7, "Quý I", d(2026, 1, 5), d(2026, 3, 20)),
            period(8, "Đợt 2", d(2026, 4, 1), d(2026, 6, 30)),
        ];
        let p = parse_period_token("quý i", Some(&plan)).unwrap();
        assert_eq!(
            (p.from, p.to, p.period_id),
            (d(2026, 1, 5), d(2026, 3, 20), Some(7))
        );
        assert_eq!(p.label, "Quý I (05/01/2026 – 20/03/2026)");
        let p = parse_period_token(" ĐỢT 2 ", Some(&plan)).unwrap();
        assert_eq!(p.period_id, Some(8));
        assert_eq!(
            parse_period_token("p8", Some(&plan)).unwrap().period_id,
            Some(8)
        );
        for bad in ["2026-h3", "2026-h", "Quý IV", "p9", "", "2026-q0"] {
            assert_eq!(parse_period_token(bad, Some(&plan)), None, "{bad}");
        }
    }
}
