//! What the figures are about, resolved once for every front end: the dashboard's filters, the
//! JSON API's parameters, the exports (web and command line) and the printable report. Each
//! front end reads its own input (a form, a query string, options) into an [`Ask`] and words
//! the [`Problem`]s for its audience (a message beside a field, a 400 naming the parameter, a
//! line on the terminal); the rules — which form, which days, which plan period — live here.
//!
//! The plan that applies is found by the caller (the unit's own plan of the year or the
//! nearest one above it, `sipas_app::selection::plan_for`; for the API, the plan of the period
//! asked for) and passed in as a [`PlanContext`].

use chrono::{Datelike, NaiveDate};

use crate::domain::format::quarter_label;
use crate::forms::{Form, FormRegistry};
use crate::periods::{PlanPeriod, ResolvedPeriod, parse_period_token, quarter_range, year_range};
use crate::respondent_filter::{FilterProblem, RespondentFilter};

/// The period asked for, within [`Ask::year`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodAsk<'a> {
    /// The whole year.
    Year,
    /// Calendar quarter 1..=4 of the year.
    Quarter(u32),
    /// A period of the plan that applies, by id.
    PlanPeriod(i32),
    /// A period token (see [`crate::periods`]): "2026-q1", "2026-03", "p12", "Quý I".
    Token(&'a str),
    /// A quick range ending today ("30 ngày qua", "Tháng này", "Quý này"); `today` is Vietnam's
    /// day ([`crate::domain::time::today_in_vietnam`], passed in so that the rule is testable).
    /// The year asked for is not used: the range is about today.
    Recent { range: Recent, today: NaiveDate },
}

/// The quick ranges of the filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recent {
    /// The last `n` days, today included.
    Days(u32),
    /// The first of this month to today.
    ThisMonth,
    /// The first day of this quarter to today.
    ThisQuarter,
}

impl Recent {
    /// The value in a query string: "30d", "thang-nay", "quy-nay".
    pub fn token(self) -> String {
        match self {
            Recent::Days(n) => format!("{n}d"),
            Recent::ThisMonth => "thang-nay".into(),
            Recent::ThisQuarter => "quy-nay".into(),
        }
    }

    /// The quick range of a query string's value (1 to 366 days).
    pub fn parse(text: &str) -> Option<Recent> {
        match text {
            "thang-nay" => Some(Recent::ThisMonth),
            "quy-nay" => Some(Recent::ThisQuarter),
            _ => {
                let n = text.strip_suffix('d')?;
                if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) || n.len() > 3 {
                    return None;
                }
                n.parse()
                    .ok()
                    .filter(|n| (1..=366).contains(n))
                    .map(Recent::Days)
            }
        }
    }

    /// "30 ngày qua", "Tháng này", "Quý này".
    pub fn label(self) -> String {
        match self {
            Recent::Days(n) => format!("{n} ngày qua"),
            Recent::ThisMonth => "Tháng này".into(),
            Recent::ThisQuarter => "Quý này".into(),
        }
    }

    /// Its first and last day (today).
    pub fn days(self, today: NaiveDate) -> (NaiveDate, NaiveDate) {
        let from = match self {
            Recent::Days(n) => today - chrono::Days::new(u64::from(n.max(1) - 1)),
            Recent::ThisMonth => today.with_day(1).unwrap_or(today),
            Recent::ThisQuarter => quarter_range(today.year(), today.month0() / 3 + 1).0,
        };
        (from, today)
    }
}

/// What a person asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ask<'a> {
    pub year: i32,
    pub period: PeriodAsk<'a>,
    /// Days typed in: each one given replaces the period's first or last day (a custom range is
    /// the year with both given).
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// The form asked for; `None` or blank: the plan's form, else the installation's default.
    pub form: Option<&'a str>,
    /// Filters by respondent attributes, as tokens `ITEM_CODE:code` (blank ones ignored),
    /// checked against the form resolved ([`crate::respondent_filter`]).
    pub respondents: &'a [String],
}

/// The survey plan that applies to the selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanContext<'a> {
    /// The plan's form, the default when a period of the plan is asked for and no form is.
    pub form_id: &'a str,
    pub periods: &'a [PlanPeriod],
}

/// A selection, resolved: its form and its days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub form_id: String,
    /// The days (the typed bounds applied), the label of the period asked for and the plan
    /// period whose targets apply.
    pub period: ResolvedPeriod,
    /// Only the respondents meeting these conditions (empty: all).
    pub respondents: RespondentFilter,
}

/// Why a selection does not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// No form with this id.
    Form(String),
    /// A plan period that is not one of the plan's (or no plan applies).
    PlanPeriod(i32),
    /// A token that is no period of the year; `plan_periods` names the plan's periods.
    Token {
        token: String,
        plan_periods: Vec<String>,
    },
    /// The first day is after the last.
    EmptyRange { from: NaiveDate, to: NaiveDate },
    /// A filter by respondent attributes that the form does not offer (its `Display` says
    /// why, in Vietnamese).
    Respondents(FilterProblem),
}

/// The form a selection is about: the one asked for (trimmed), else the plan's when a period of
/// the plan is asked for, else `default_form`.
pub fn form_of(asked: Option<&str>, plan_form: Option<&str>, default_form: &str) -> String {
    asked
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .or(plan_form)
        .unwrap_or(default_form)
        .to_string()
}

/// The period of `ask` within its year: its days, label and plan period.
pub fn period_of(ask: &Ask<'_>, plan: Option<&PlanContext<'_>>) -> Result<ResolvedPeriod, Problem> {
    let year = ask.year;
    let whole = |label: String, (from, to): (NaiveDate, NaiveDate)| ResolvedPeriod {
        token: year.to_string(),
        label,
        from,
        to,
        period_id: None,
    };
    let mut period = match ask.period {
        PeriodAsk::Year => whole(format!("Năm {year}"), year_range(year)),
        PeriodAsk::Quarter(q) => ResolvedPeriod {
            token: format!("{year}-q{q}"),
            ..whole(quarter_label(q, year), quarter_range(year, q.clamp(1, 4)))
        },
        PeriodAsk::Recent { range, today } => {
            let (from, to) = range.days(today);
            ResolvedPeriod {
                token: format!("{}..{}", from, to),
                label: range.label(),
                from,
                to,
                period_id: None,
            }
        }
        PeriodAsk::PlanPeriod(id) => parse_period_token(&format!("p{id}"), plan.map(|p| p.periods))
            .ok_or(Problem::PlanPeriod(id))?,
        PeriodAsk::Token(token) => {
            let periods = plan.map(|p| p.periods);
            let refused = |names: bool| Problem::Token {
                token: token.trim().to_string(),
                plan_periods: if names {
                    periods
                        .unwrap_or_default()
                        .iter()
                        .map(|p| p.name.clone())
                        .collect()
                } else {
                    Vec::new()
                },
            };
            let resolved = parse_period_token(token, periods).ok_or_else(|| refused(true))?;
            // A year-less token ("Quý I") is the plan's, so of the year; a token with its own
            // year must be of the year asked for.
            let token = token.trim();
            if resolved.period_id.is_none()
                && !token.starts_with(&year.to_string())
                && !token.starts_with('p')
            {
                return Err(refused(false));
            }
            resolved
        }
    };
    if let Some(from) = ask.from {
        period.from = from;
    }
    if let Some(to) = ask.to {
        period.to = to;
    }
    if period.from > period.to {
        return Err(Problem::EmptyRange {
            from: period.from,
            to: period.to,
        });
    }
    Ok(period)
}

/// Resolves `ask` with the plan that applies; `form` gives the forms there are by id (e.g.
/// [`in_registry`]). Every problem is returned, the period's first (the dashboard shows each
/// beside its field; the API and the CLI name the first). The filters by respondent
/// attributes are checked against the form resolved (its latest version: a condition
/// applies to every version by item code, as the figures add versions up).
pub fn resolve<'f>(
    ask: &Ask<'_>,
    plan: Option<&PlanContext<'_>>,
    form: impl Fn(&str) -> Option<&'f Form>,
    default_form: &str,
) -> Result<Resolved, Vec<Problem>> {
    let mut problems = Vec::new();
    let period = period_of(ask, plan).map_err(|p| problems.push(p));
    let plan_form = match ask.period {
        PeriodAsk::PlanPeriod(_) => plan.map(|p| p.form_id),
        _ => None,
    };
    let form_id = form_of(ask.form, plan_form, default_form);
    let respondents = match form(&form_id) {
        None => {
            problems.push(Problem::Form(form_id.clone()));
            None
        }
        Some(form) => RespondentFilter::try_from((form, ask.respondents))
            .map_err(|p| problems.push(Problem::Respondents(p)))
            .ok(),
    };
    match (period, respondents) {
        (Ok(period), Some(respondents)) if problems.is_empty() => Ok(Resolved {
            form_id,
            period,
            respondents,
        }),
        _ => Err(problems),
    }
}

/// The forms of `forms` by id (for [`resolve`]).
pub fn in_registry<'f>(forms: &'f FormRegistry) -> impl Fn(&str) -> Option<&'f Form> + 'f {
    move |id: &str| forms.latest_form(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn ask(period: PeriodAsk<'_>) -> Ask<'_> {
        Ask {
            year: 2026,
            period,
            from: None,
            to: None,
            form: None,
            respondents: &[],
        }
    }

    fn periods() -> Vec<PlanPeriod> {
        vec![
            PlanPeriod {
                id: 12,
                name: "Quý I".into(),
                starts_on: d(2026, 1, 1),
                ends_on: d(2026, 3, 31),
            },
            PlanPeriod {
                id: 13,
                name: "Đợt 2".into(),
                starts_on: d(2026, 4, 1),
                ends_on: d(2026, 9, 30),
            },
        ]
    }

    #[test]
    fn resolving_reports_every_problem_the_periods_first() {
        let periods = periods();
        let plan = PlanContext {
            form_id: "plan-form",
            periods: &periods,
        };
        let form = crate::forms::parse_form(
            "sipas-1001-dich-vu.toml",
            include_str!("../../../survey-forms/sipas-1001-dich-vu.toml"),
        )
        .unwrap();
        let known = |id: &str| (id == "plan-form" || id == "d").then_some(&form);
        let resolved = resolve(&ask(PeriodAsk::PlanPeriod(12)), Some(&plan), known, "d").unwrap();
        assert_eq!(resolved.form_id, "plan-form");
        assert_eq!(
            resolve(&ask(PeriodAsk::Year), Some(&plan), known, "d")
                .unwrap()
                .form_id,
            "d"
        );
        let bad = Ask {
            form: Some("x"),
            ..ask(PeriodAsk::PlanPeriod(99))
        };
        assert_eq!(
            resolve(&bad, Some(&plan), known, "d"),
            Err(vec![Problem::PlanPeriod(99), Problem::Form("x".into())])
        );
        // Filters by respondent attributes are checked against the form resolved.
        let tokens = ["DO_TUOI:2".to_string(), "GIOI_TINH:2".to_string()];
        let filtered = Ask {
            respondents: &tokens,
            ..ask(PeriodAsk::Year)
        };
        let resolved = resolve(&filtered, Some(&plan), known, "d").unwrap();
        assert_eq!(resolved.respondents.tokens(), ["GIOI_TINH:2", "DO_TUOI:2"]);
        let tokens = ["GIOI_TINH:7".to_string()];
        let refused = Ask {
            respondents: &tokens,
            ..ask(PeriodAsk::PlanPeriod(99))
        };
        match resolve(&refused, Some(&plan), known, "d") {
            Err(problems) => {
                assert_eq!(problems[0], Problem::PlanPeriod(99));
                assert!(matches!(problems[1], Problem::Respondents(_)));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_form_asked_for_wins_then_the_plans_then_the_default() {
        assert_eq!(form_of(Some(" b "), Some("p"), "d"), "b");
        assert_eq!(form_of(Some("  "), Some("p"), "d"), "p");
        assert_eq!(form_of(None, None, "d"), "d");
    }

    #[test]
    fn years_quarters_and_plan_periods_give_their_days() {
        let year = period_of(&ask(PeriodAsk::Year), None).unwrap();
        assert_eq!(
            (year.from, year.to, year.label.as_str()),
            (d(2026, 1, 1), d(2026, 12, 31), "Năm 2026")
        );
        let q = period_of(&ask(PeriodAsk::Quarter(2)), None).unwrap();
        assert_eq!(
            (q.from, q.to, q.period_id),
            (d(2026, 4, 1), d(2026, 6, 30), None)
        );
        let periods = periods();
        let plan = PlanContext {
            form_id: "f",
            periods: &periods,
        };
        let p = period_of(&ask(PeriodAsk::PlanPeriod(13)), Some(&plan)).unwrap();
        assert_eq!(
            (p.from, p.to, p.period_id),
            (d(2026, 4, 1), d(2026, 9, 30), Some(13))
        );
        assert_eq!(
            period_of(&ask(PeriodAsk::PlanPeriod(14)), Some(&plan)),
            Err(Problem::PlanPeriod(14))
        );
        assert_eq!(
            period_of(&ask(PeriodAsk::PlanPeriod(12)), None),
            Err(Problem::PlanPeriod(12))
        );
        let named = period_of(&ask(PeriodAsk::Token("quý i")), Some(&plan)).unwrap();
        assert_eq!(named.period_id, Some(12));
    }

    #[test]
    fn quick_ranges_end_today_in_any_year() {
        let recent = |range, today| {
            let p = period_of(&ask(PeriodAsk::Recent { range, today }), None).unwrap();
            (p.from, p.to, p.label, p.period_id)
        };
        // 30 days, today included: across a year's end too (the year asked for is not used).
        assert_eq!(
            recent(Recent::Days(30), d(2027, 1, 10)),
            (
                d(2026, 12, 12),
                d(2027, 1, 10),
                "30 ngày qua".to_string(),
                None
            )
        );
        assert_eq!(recent(Recent::Days(1), d(2026, 3, 1)).0, d(2026, 3, 1));
        assert_eq!(
            recent(Recent::ThisMonth, d(2026, 2, 28)),
            (d(2026, 2, 1), d(2026, 2, 28), "Tháng này".to_string(), None)
        );
        assert_eq!(
            recent(Recent::ThisQuarter, d(2026, 8, 15)),
            (d(2026, 7, 1), d(2026, 8, 15), "Quý này".to_string(), None)
        );
        assert_eq!(recent(Recent::ThisQuarter, d(2026, 1, 1)).0, d(2026, 1, 1));
        // Typed days still replace a bound.
        let typed = Ask {
            from: Some(d(2026, 5, 1)),
            ..ask(PeriodAsk::Recent {
                range: Recent::Days(30),
                today: d(2026, 5, 20),
            })
        };
        assert_eq!(period_of(&typed, None).unwrap().from, d(2026, 5, 1));
    }

    #[test]
    fn quick_ranges_parse_and_print() {
        for range in [
            Recent::Days(30),
            Recent::Days(7),
            Recent::ThisMonth,
            Recent::ThisQuarter,
        ] {
            assert_eq!(Recent::parse(&range.token()), Some(range));
        }
        assert_eq!(Recent::parse("30d"), Some(Recent::Days(30)));
        for bad in ["", "d", "0d", "367d", "-1d", "30", "1000d", "thang"] {
            assert_eq!(Recent::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn typed_days_replace_the_periods_and_must_not_be_empty() {
        let custom = Ask {
            from: Some(d(2026, 2, 1)),
            ..ask(PeriodAsk::Year)
        };
        let p = period_of(&custom, None).unwrap();
        assert_eq!((p.from, p.to), (d(2026, 2, 1), d(2026, 12, 31)));
        let empty = Ask {
            from: Some(d(2026, 3, 2)),
            to: Some(d(2026, 3, 1)),
            ..ask(PeriodAsk::Year)
        };
        assert_eq!(
            period_of(&empty, None),
            Err(Problem::EmptyRange {
                from: d(2026, 3, 2),
                to: d(2026, 3, 1)
            })
        );
    }

    #[test]
    fn a_token_of_another_year_or_unknown_is_refused_with_the_plans_periods() {
        let periods = periods();
        let plan = PlanContext {
            form_id: "f",
            periods: &periods,
        };
        assert_eq!(
            period_of(&ask(PeriodAsk::Token("2025-q1")), Some(&plan)),
            Err(Problem::Token {
                token: "2025-q1".into(),
                plan_periods: vec![]
            })
        );
        assert_eq!(
            period_of(&ask(PeriodAsk::Token("quý 9")), Some(&plan)),
            Err(Problem::Token {
                token: "quý 9".into(),
                plan_periods: vec!["Quý I".into(), "Đợt 2".into()]
            })
        );
    }
}
