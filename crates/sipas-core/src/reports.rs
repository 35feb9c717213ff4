//! Reports: the published figures of a set of units, built from aggregated counts (the
//! rollups) with the pure statistics of [`crate::stats`]. The dashboard, the JSON API and the
//! exports all go through here, so that they show the same numbers.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::forms::{Form, ItemKind, SectionRole};
use crate::small_cells::{self, Count, Disclosure};
use crate::stats::{
    CONFIDENCE, ChiSquare, CriterionStats, Interval, MeanDiff, Moments, ProportionDiff, criterion,
    enough_sample, factor_index, form_index, holm, mean_difference, published_index_interval,
    rank_descending, round_percent, two_proportions,
};

/// Aggregated answers of one unit (or of several, added up): what the database gives.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    pub responses: u64,
    /// Moments of the respondents' own index scores.
    pub scores: Moments,
    /// Number of answers by (item code, value); value 0 is "not applicable". Unanswered items
    /// are not counted.
    pub answers: BTreeMap<(String, i16), u64>,
}

impl Figures {
    pub fn add(&mut self, other: &Figures) {
        self.responses += other.responses;
        self.scores.n += other.scores.n;
        self.scores.sum += other.scores.sum;
        self.scores.sum_sq += other.scores.sum_sq;
        for (key, n) in &other.answers {
            *self.answers.entry(key.clone()).or_default() += n;
        }
    }

    /// Valid answers of an item by code, in the order of `codes` (not-applicable excluded).
    fn counts(&self, code: &str, codes: &[i16]) -> Vec<(i16, u64)> {
        codes
            .iter()
            .map(|c| {
                let n = self
                    .answers
                    .get(&(code.to_string(), *c))
                    .copied()
                    .unwrap_or(0);
                (*c, n)
            })
            .collect()
    }

    fn not_applicable(&self, code: &str) -> u64 {
        self.answers
            .get(&(code.to_string(), crate::forms::NOT_APPLICABLE_CODE))
            .copied()
            .unwrap_or(0)
    }
}

/// Who a row of a report is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitInfo {
    pub id: i32,
    pub code: String,
    pub name: String,
    pub kind: String,
}

/// One coded item (a criterion, an expectation): its statistics over valid answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemReport {
    pub code: String,
    pub text: String,
    pub stats: CriterionStats,
    /// Answers "not applicable" (not valid, not in the denominator).
    pub not_applicable: u64,
    /// The scale's labels, by code, in the scale's order.
    pub labels: Vec<(i16, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FactorReport {
    pub code: String,
    pub title: String,
    /// Unweighted mean of its criterion indices (0..=1).
    pub index: Option<f64>,
    pub criteria: Vec<ItemReport>,
}

/// Counts of a respondent question (gender, age band, channel, field of procedure): exact
/// when built, small cells suppressed by [`Breakdown::protect`] for unit accounts (see
/// [`crate::small_cells`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Breakdown {
    pub code: String,
    pub text: String,
    /// (code, label, count) in the scale's order.
    pub counts: Vec<(i16, String, Count)>,
    pub answered: Count,
}

impl Breakdown {
    /// The counts as a unit account may see them ([`small_cells::protect`]). Once protected,
    /// a breakdown stays as it is (protecting it again changes nothing).
    pub fn protect(&mut self) {
        let Some(exact) = self
            .counts
            .iter()
            .map(|(_, _, n)| n.exact())
            .collect::<Option<Vec<u64>>>()
            .filter(|_| !self.answered.is_suppressed())
        else {
            return;
        };
        let protected = small_cells::protect(&exact);
        for ((_, _, n), shown) in self.counts.iter_mut().zip(protected.cells) {
            *n = shown;
        }
        self.answered = protected.total;
    }

    /// The share (0..=1) of a count among those who answered, when both are shown.
    pub fn share(&self, count: Count) -> Option<f64> {
        count.share_of(self.answered)
    }
}

/// The figures of one unit (with the units below it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitReport {
    pub unit: UnitInfo,
    /// Number of forms ("số phiếu").
    pub responses: u64,
    /// Forms left out of the figures as suspected fraud (`crate::db::flags`), not counted in
    /// `responses`; filled in by [`build`] (0 elsewhere).
    pub excluded: u64,
    /// The plan's target for the period, when one is set.
    pub target: Option<u64>,
    /// At least 30 forms and at least the target: otherwise the figures are "chưa đủ mẫu".
    pub enough_sample: bool,
    /// The form's index (0..=1) by its aggregation rule.
    pub index: Option<f64>,
    /// 95% interval of the index, from the respondents' scores (see [`crate::stats`]).
    pub index_ci: Option<Interval>,
    /// Rank among the rows of the report (1 = best; ties share a rank).
    pub rank: Option<u32>,
    /// The figures of a filtered report that a unit account may not see (too few
    /// respondents in the group picked out, see [`crate::respondent_filter::withhold`]): every
    /// figure is empty, and the pages say "< 5".
    pub withheld: bool,
    pub factors: Vec<FactorReport>,
    pub expectations: Vec<ItemReport>,
    pub respondents: Vec<Breakdown>,
    /// A row of an earlier period's report compared across reorganisations (`build_by_lineage`
    /// in sipas-app): its figures regrouped into the unit of today by lineage (the note), or
    /// why they are not (then its figures are empty). Absent otherwise; the total's is the
    /// report's own `lineage`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lineage: Option<crate::lineage::ByLineage>,
    #[serde(skip)]
    pub figures: Figures,
}

fn item_report(form: &Form, item: &crate::forms::Item, figures: &Figures) -> Option<ItemReport> {
    let ItemKind::Choice { scale, .. } = &item.kind else {
        return None;
    };
    let scale = form.scale(scale)?;
    let codes: Vec<i16> = scale.options.iter().map(|o| o.code).collect();
    Some(ItemReport {
        code: item.code.clone(),
        text: item.text.clone(),
        stats: criterion(&figures.counts(&item.code, &codes), &scale.positive),
        not_applicable: figures.not_applicable(&item.code),
        labels: scale
            .options
            .iter()
            .map(|o| (o.code, o.label.clone()))
            .collect(),
    })
}

/// The report of one unit from its figures, by the form's structure and aggregation rule.
pub fn unit_report(
    form: &Form,
    unit: UnitInfo,
    figures: Figures,
    target: Option<u64>,
) -> UnitReport {
    let mut factors = Vec::new();
    let mut expectations = Vec::new();
    let mut respondents = Vec::new();
    for section in &form.sections {
        match section.role {
            SectionRole::Factor => {
                let criteria: Vec<ItemReport> = section
                    .items
                    .iter()
                    .filter_map(|i| item_report(form, i, &figures))
                    .collect();
                let indices: Vec<Option<f64>> = criteria.iter().map(|c| c.stats.index).collect();
                factors.push(FactorReport {
                    code: section.code.clone(),
                    title: section.title.clone(),
                    index: factor_index(&indices),
                    criteria,
                });
            }
            SectionRole::Expectation => expectations.extend(
                section
                    .items
                    .iter()
                    .filter_map(|i| item_report(form, i, &figures)),
            ),
            SectionRole::Respondent => {
                for item in &section.items {
                    let Some(report) = item_report(form, item, &figures) else {
                        continue;
                    };
                    let counts: Vec<(i16, String, u64)> = report
                        .labels
                        .iter()
                        .map(|(code, label)| {
                            let n = figures
                                .answers
                                .get(&(item.code.clone(), *code))
                                .copied()
                                .unwrap_or(0);
                            (*code, label.clone(), n)
                        })
                        .collect();
                    respondents.push(Breakdown {
                        code: item.code.clone(),
                        text: item.text.clone(),
                        answered: Count::Exact(counts.iter().map(|c| c.2).sum()),
                        counts: counts
                            .into_iter()
                            .map(|(code, label, n)| (code, label, Count::Exact(n)))
                            .collect(),
                    });
                }
            }
            SectionRole::Other => {}
        }
    }
    let index = form_index(&factors.iter().map(|f| f.index).collect::<Vec<_>>());
    UnitReport {
        unit,
        responses: figures.responses,
        excluded: 0,
        target,
        enough_sample: enough_sample(figures.responses, target),
        index,
        index_ci: index.and_then(|index| {
            published_index_interval(
                index,
                &figures.scores,
                &criterion_shares(&factors),
                CONFIDENCE,
            )
        }),
        rank: None,
        withheld: false,
        factors,
        expectations,
        respondents,
        lineage: None,
        figures,
    }
}

/// The report of a figure withheld from the account ([`UnitReport::withheld`]): the report of
/// no response, marked.
pub fn withheld_report(form: &Form, unit: UnitInfo) -> UnitReport {
    UnitReport {
        withheld: true,
        ..unit_report(form, unit, Figures::default(), None)
    }
}

/// Per factor, `(share, valid answers)` of its criteria that have an index: what
/// [`published_index_interval`] needs besides the respondents' scores.
fn criterion_shares(factors: &[FactorReport]) -> Vec<Vec<(f64, u64)>> {
    factors
        .iter()
        .map(|f| {
            f.criteria
                .iter()
                .filter_map(|c| Some((c.stats.index?, c.stats.n_valid)))
                .collect()
        })
        .collect()
}

/// The ranks of figures as published: only those with an index AND enough sample
/// ([`crate::stats::enough_sample`]) take a place; equal published values (two decimals of a
/// percent) share a rank. A unit resting on too few forms is listed, never ranked ("chưa đủ
/// mẫu – chưa xếp hạng"): a 93% from 7 forms must not read "Hạng 1" ahead of units with hundreds.
pub fn ranks(figures: &[(Option<f64>, bool)]) -> Vec<Option<u32>> {
    let published: Vec<Option<f64>> = figures
        .iter()
        .map(|(index, enough)| index.filter(|_| *enough).map(round_percent))
        .collect();
    rank_descending(&published)
}

/// What a row that has no rank shows instead.
pub const UNRANKED_SHORT: &str = "Chưa đủ mẫu – chưa xếp hạng";
pub const UNRANKED_EMPTY: &str = "Chưa có phiếu – chưa xếp hạng";
/// What a withheld figure ([`UnitReport::withheld`]) shows instead of its figures.
pub const WITHHELD: &str = "Không hiển thị: nhóm người trả lời quá nhỏ (bảo vệ dữ liệu cá nhân)";

/// Ranks the rows by [`ranks`] and orders them: ranked first, best first, then the unranked
/// ones (short of sample, or without forms) by name.
pub fn rank(rows: &mut [UnitReport]) {
    let figures: Vec<(Option<f64>, bool)> =
        rows.iter().map(|r| (r.index, r.enough_sample)).collect();
    for (row, rank) in rows.iter_mut().zip(ranks(&figures)) {
        row.rank = rank;
    }
    rows.sort_by(|a, b| {
        (a.rank.is_none(), a.rank, &a.unit.name).cmp(&(b.rank.is_none(), b.rank, &b.unit.name))
    });
}

impl UnitReport {
    /// Small cells suppressed in the respondent breakdowns ([`Breakdown::protect`]), and the
    /// exact answers to the respondent questions dropped from the (unserialised) figures, so
    /// that nothing built on this report can show them.
    pub fn protect_small_cells(&mut self) {
        for b in &mut self.respondents {
            b.protect();
            self.figures.answers.retain(|(code, _), _| *code != b.code);
        }
    }

    /// The criterion (or any coded item) with this code.
    pub fn item(&self, code: &str) -> Option<&ItemReport> {
        self.factors
            .iter()
            .flat_map(|f| f.criteria.iter())
            .chain(self.expectations.iter())
            .find(|i| i.code == code)
    }

    /// Satisfied and valid answers of an item: (x, n).
    fn satisfied(&self, code: &str) -> Option<(u64, u64)> {
        let item = self.item(code)?;
        let index = item.stats.index?;
        let n = item.stats.n_valid;
        Some(((index * n as f64).round() as u64, n))
    }
}

impl FactorReport {
    /// The weakest criterion (lowest index; the first in the form's order on a tie).
    pub fn weakest_criterion(&self) -> Option<&ItemReport> {
        self.criteria
            .iter()
            .filter(|c| c.stats.index.is_some())
            .min_by(|a, b| a.stats.index.partial_cmp(&b.stats.index).expect("finite"))
    }

    /// The criteria, weakest first; those without a valid answer last (as the report reads
    /// them, on the page and in the Word file).
    pub fn criteria_weakest_first(&self) -> Vec<&ItemReport> {
        let mut criteria: Vec<&ItemReport> = self.criteria.iter().collect();
        criteria.sort_by(|a, b| match (a.stats.index, b.stats.index) {
            (Some(x), Some(y)) => x.partial_cmp(&y).expect("finite"),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        });
        criteria
    }
}

impl UnitReport {
    /// The weakest factor (lowest index).
    pub fn weakest_factor(&self) -> Option<&FactorReport> {
        self.factors
            .iter()
            .filter(|f| f.index.is_some())
            .min_by(|a, b| a.index.partial_cmp(&b.index).expect("finite"))
    }
}

impl Report {
    /// The goal a unit's index is held to (the report's part IV, the home page): the plan's
    /// first goal.
    pub fn held_to(&self) -> Option<&crate::goals::Goal> {
        self.goals.first()
    }

    /// Whether the rows are the root itself (a unit without sub-units).
    pub fn rows_are_the_root(&self) -> bool {
        self.rows.len() == 1 && self.rows[0].unit.id == self.root.id
    }

    /// Each row with its `i`-th factor, best first (by name on a tie; without an index last).
    pub fn units_by_factor(&self, i: usize) -> Vec<(&UnitReport, &FactorReport)> {
        let mut units: Vec<(&UnitReport, &FactorReport)> = self
            .rows
            .iter()
            .filter_map(|r| Some((r, r.factors.get(i)?)))
            .collect();
        units.sort_by(|(ra, a), (rb, b)| match (a.index, b.index) {
            (Some(x), Some(y)) => y
                .partial_cmp(&x)
                .expect("finite")
                .then_with(|| ra.unit.name.cmp(&rb.unit.name)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => ra.unit.name.cmp(&rb.unit.name),
        });
        units
    }
}

/// Pairwise result with its Holm-adjusted p-value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pair<T> {
    pub a: i32,
    pub b: i32,
    pub result: T,
    pub p_holm: f64,
}

/// Units compared on one item (satisfied / not satisfied among valid answers): a chi-square
/// test of independence over all of them, then every pair with a two-proportion test, Holm
/// corrected. One answer per respondent and item, so the answers are independent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemComparison {
    pub item_code: String,
    pub chi_square: Option<ChiSquare>,
    pub pairs: Vec<Pair<ProportionDiff>>,
}

pub fn compare_item(rows: &[&UnitReport], item_code: &str) -> ItemComparison {
    let counted: Vec<(i32, u64, u64)> = rows
        .iter()
        .filter_map(|r| {
            let (x, n) = r.satisfied(item_code)?;
            (n > 0).then_some((r.unit.id, x, n))
        })
        .collect();
    let table: Vec<(u64, u64)> = counted.iter().map(|(_, x, n)| (*x, n - x)).collect();
    let mut pairs = Vec::new();
    for (i, a) in counted.iter().enumerate() {
        for b in &counted[i + 1..] {
            if let Some(diff) = two_proportions(a.1, a.2, b.1, b.2, CONFIDENCE) {
                pairs.push(Pair {
                    a: a.0,
                    b: b.0,
                    result: diff,
                    p_holm: diff.p_value,
                });
            }
        }
    }
    adjust(&mut pairs, |p| p.result.p_value);
    ItemComparison {
        item_code: item_code.to_string(),
        chi_square: crate::stats::chi_square_independence(&table),
        pairs,
    }
}

/// Units compared on their index, through their respondents' scores (Welch), Holm corrected.
pub fn compare_index(rows: &[&UnitReport]) -> Vec<Pair<MeanDiff>> {
    let mut pairs = Vec::new();
    for (i, a) in rows.iter().enumerate() {
        for b in &rows[i + 1..] {
            if let Some(diff) = mean_difference(&a.figures.scores, &b.figures.scores, CONFIDENCE) {
                pairs.push(Pair {
                    a: a.unit.id,
                    b: b.unit.id,
                    result: diff,
                    p_holm: diff.p_value,
                });
            }
        }
    }
    adjust(&mut pairs, |p| p.result.p_value);
    pairs
}

/// The change of a unit's index between two reports of it (e.g. this period against the
/// previous one): the difference of the respondent-score means, unadjusted.
pub fn change(now: &UnitReport, before: &UnitReport) -> Option<MeanDiff> {
    mean_difference(&now.figures.scores, &before.figures.scores, CONFIDENCE)
}

fn adjust<T>(pairs: &mut [Pair<T>], p: impl Fn(&Pair<T>) -> f64) {
    let raw: Vec<f64> = pairs.iter().map(&p).collect();
    for (pair, adjusted) in pairs.iter_mut().zip(holm(&raw)) {
        pair.p_holm = adjusted;
    }
}

/// What a report is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportQuery {
    pub form_id: String,
    /// First and last day (included), in Vietnam's time.
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    /// The unit whose sub-units are the rows; `None`: the top of the account's scope.
    pub root: Option<i32>,
    /// Only rows of this kind of unit ("commune", "department", ...).
    pub kind: Option<String>,
    pub channel: Option<String>,
    /// The plan period whose targets apply (for the "chưa đủ mẫu" flag).
    pub period_id: Option<i32>,
    /// Only the respondents meeting these conditions ([`crate::respondent_filter`]; empty:
    /// every respondent, from the rollups). A filtered report computes its figures from the
    /// raw responses, holds no plan target (the targets count every respondent) and withholds
    /// small groups from unit accounts ([`UnitReport::withheld`]).
    pub respondents: crate::respondent_filter::RespondentFilter,
}

/// A report: one row per sub-unit of the root (each with the units below it), ranked, and
/// the total of all rows.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub form_id: String,
    pub form_title: String,
    #[serde(skip)]
    pub form: std::sync::Arc<crate::forms::FormVersion>,
    pub query: ReportQuery,
    pub root: UnitInfo,
    pub total: UnitReport,
    pub rows: Vec<UnitReport>,
    /// Whether small cells are suppressed (a unit account's report, see [`crate::small_cells`]).
    #[serde(skip)]
    pub disclosure: Disclosure,
    /// The satisfaction goals of the plan the report falls under ([`crate::goals`]).
    pub goals: Vec<crate::goals::Goal>,
    /// When the total is an earlier period's figures regrouped into today's units by lineage
    /// ([`crate::lineage`]): the predecessors counted (and the note), or why it is refused.
    /// Each row regrouped says so in its own `lineage`. `null` in JSON when not compared
    /// across acts.
    pub lineage: Option<crate::lineage::ByLineage>,
}

impl Report {
    /// The report as an account with `disclosure` may see it: for unit accounts, the small
    /// cells of every breakdown (the total's and each row's) suppressed.
    pub fn disclosed(mut self, disclosure: Disclosure) -> Report {
        if disclosure.is_protected() {
            self.total.protect_small_cells();
            for row in &mut self.rows {
                row.protect_small_cells();
            }
            self.disclosure = Disclosure::Protected;
        }
        self
    }
}

/// "khác biệt có ý nghĩa thống kê" or not, at the 5% level, in plain Vietnamese.
pub fn significance_text(p_value: f64) -> String {
    let p = if p_value < 0.001 {
        "p < 0,001".to_string()
    } else {
        format!("p = {}", format!("{p_value:.3}").replace('.', ","))
    };
    if p_value < 0.05 {
        format!("khác biệt có ý nghĩa thống kê ({p})")
    } else {
        format!("khác biệt không có ý nghĩa thống kê ({p})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forms::parse_form;

    const FORM: &str = r#"
id = "t"
version = 1
title = "T"
[index]
rule = "mean-of-factor-indices"
[scales.s]
options = [ { code = 1, label = "Không" }, { code = 2, label = "Bình thường" }, { code = 3, label = "Có" } ]
positive = [3]
[[sections]]
code = "A"
title = "Yếu tố A"
role = "factor"
[[sections.items]]
code = "A1"
text = "A một"
scale = "s"
[[sections.items]]
code = "A2"
text = "A hai"
scale = "s"
not_applicable = true
[[sections]]
code = "B"
title = "Yếu tố B"
role = "factor"
[[sections.items]]
code = "B1"
text = "B một"
scale = "s"
[[sections]]
code = "R"
title = "Người trả lời"
role = "respondent"
[[sections.items]]
code = "G"
text = "Giới tính"
scale = "s"
"#;

    fn figures(answers: &[(&str, i16, u64)], responses: u64) -> Figures {
        Figures {
            responses,
            scores: Moments::default(),
            answers: answers
                .iter()
                .map(|(c, v, n)| ((c.to_string(), *v), *n))
                .collect(),
        }
    }

    fn unit(id: i32) -> UnitInfo {
        UnitInfo {
            id,
            code: format!("u{id}"),
            name: format!("Đơn vị {id}"),
            kind: "commune".into(),
        }
    }

    #[test]
    fn the_index_follows_criterion_factor_form() {
        let form = parse_form("t.toml", FORM).unwrap();
        // A1: 3 of 4 satisfied; A2: 1 of 2 valid (2 not applicable); B1: 1 of 4.
        let f = figures(
            &[
                ("A1", 3, 3),
                ("A1", 1, 1),
                ("A2", 3, 1),
                ("A2", 2, 1),
                ("A2", 0, 2),
                ("B1", 3, 1),
                ("B1", 2, 3),
                ("G", 1, 2),
            ],
            4,
        );
        let r = unit_report(&form, unit(1), f, Some(40));
        let a = &r.factors[0];
        assert_eq!(a.criteria[0].stats.index, Some(0.75));
        assert_eq!(a.criteria[1].stats.index, Some(0.5));
        assert_eq!(a.criteria[1].not_applicable, 2);
        assert_eq!(a.index, Some(0.625));
        assert_eq!(r.factors[1].index, Some(0.25));
        assert_eq!(r.index, Some((0.625 + 0.25) / 2.0));
        assert!(!r.enough_sample, "4 forms against a target of 40");
        assert_eq!(
            r.respondents[0].counts[0],
            (1, "Không".to_string(), Count::Exact(2))
        );
        assert_eq!(r.respondents[0].answered, Count::Exact(2));
    }

    #[test]
    fn a_unit_account_sees_the_breakdowns_protected_and_the_criteria_as_they_are() {
        let form = parse_form("t.toml", FORM).unwrap();
        // G: 3 "Không", 9 "Có"; A1 with small counts too (a criterion, not an attribute).
        let f = figures(&[("A1", 3, 2), ("A1", 1, 10), ("G", 1, 3), ("G", 3, 9)], 12);
        let mut r = unit_report(&form, unit(1), f, None);
        let exact = r.clone();
        r.protect_small_cells();
        let g = &r.respondents[0];
        assert_eq!(
            g.counts.iter().map(|c| c.2).collect::<Vec<_>>(),
            [Count::Suppressed, Count::Exact(0), Count::Suppressed]
        );
        assert_eq!(g.answered, Count::Exact(12));
        assert_eq!(g.share(g.counts[0].2), None);
        assert_eq!(g.share(g.counts[1].2), Some(0.0));
        // Nothing else changes, and the exact answers of G are gone from the figures.
        assert_eq!(r.factors, exact.factors);
        assert_eq!(r.index, exact.index);
        assert!(r.figures.answers.keys().all(|(code, _)| code != "G"));
        assert_eq!(r.figures.answers.get(&("A1".to_string(), 3)), Some(&2));
        // Protecting again changes nothing.
        let again = {
            let mut again = r.clone();
            again.protect_small_cells();
            again
        };
        assert_eq!(again, r);
    }

    #[test]
    fn ranks_share_ties_as_published_and_order_the_rows() {
        let form = parse_form("t.toml", FORM).unwrap();
        // Forms per unit: 40, 60, 40, 40 (enough), then unit 6 with 5 forms all satisfied.
        let mut rows: Vec<UnitReport> = [
            (1, 30, 10),
            (2, 30, 30),
            (3, 10, 30),
            (4, 30, 10),
            (6, 5, 0),
        ]
        .iter()
        .map(|(id, sat, not)| {
            let f = figures(
                &[
                    ("A1", 3, *sat),
                    ("A1", 1, *not),
                    ("B1", 3, *sat),
                    ("B1", 1, *not),
                ],
                sat + not,
            );
            unit_report(&form, unit(*id), f, None)
        })
        .collect();
        rows.push(unit_report(&form, unit(5), Figures::default(), None));
        rank(&mut rows);
        let order: Vec<(i32, Option<u32>)> = rows.iter().map(|r| (r.unit.id, r.rank)).collect();
        assert_eq!(
            order,
            [
                (1, Some(1)),
                (4, Some(1)),
                (2, Some(3)),
                (3, Some(4)),
                (5, None),
                (6, None)
            ]
        );
        // Unit 6's 100% rests on 5 forms: listed, not ranked, not first.
        let six = rows.iter().find(|r| r.unit.id == 6).unwrap();
        assert_eq!(six.index, Some(1.0));
        assert!(!six.enough_sample);
    }

    #[test]
    fn only_figures_with_enough_sample_take_a_place() {
        // (index, enough sample): the short one with the best index takes no place and does
        // not push the others down.
        let figures = [
            (Some(0.9343), false),
            (Some(0.85), true),
            (Some(0.85004), true),
            (None, true),
            (Some(0.70), true),
        ];
        assert_eq!(ranks(&figures), [None, Some(1), Some(1), None, Some(3)]);
    }

    #[test]
    fn comparisons_use_valid_answers_and_holm() {
        let form = parse_form("t.toml", FORM).unwrap();
        let rows: Vec<UnitReport> = [(1, 45, 15), (2, 30, 30), (3, 44, 16)]
            .iter()
            .map(|(id, sat, not)| {
                let f = figures(&[("A1", 3, *sat), ("A1", 1, *not), ("A1", 0, 7)], sat + not);
                unit_report(&form, unit(*id), f, None)
            })
            .collect();
        let refs: Vec<&UnitReport> = rows.iter().collect();
        let c = compare_item(&refs, "A1");
        let chi = c.chi_square.unwrap();
        // The table handed to the test must be satisfied / not satisfied among VALID answers
        // (the 7 not-applicable answers left out): its Pearson statistic by hand. The
        // chi-square function itself is checked against scipy in stats::tests.
        let expected = {
            let rows = [(45.0, 15.0), (30.0, 30.0), (44.0, 16.0)];
            let total: f64 = 180.0;
            let sat: f64 = 119.0;
            rows.iter()
                .map(|(x, y)| {
                    let n = x + y;
                    let e1 = n * sat / total;
                    let e2 = n * (total - sat) / total;
                    (x - e1).powi(2) / e1 + (y - e2).powi(2) / e2
                })
                .sum::<f64>()
        };
        assert!((chi.statistic - expected).abs() < 1e-12);
        assert_eq!(chi.df, 2);
        assert_eq!(c.pairs.len(), 3);
        // Holm: the smallest p-value is multiplied by 3, and none decreases.
        let smallest = c
            .pairs
            .iter()
            .min_by(|a, b| a.result.p_value.total_cmp(&b.result.p_value))
            .unwrap();
        assert!((smallest.p_holm - 3.0 * smallest.result.p_value).abs() < 1e-15);
        assert!(c.pairs.iter().all(|p| p.p_holm >= p.result.p_value));
    }

    #[test]
    fn significance_in_plain_vietnamese() {
        assert_eq!(
            significance_text(0.0123),
            "khác biệt có ý nghĩa thống kê (p = 0,012)"
        );
        assert_eq!(
            significance_text(0.2),
            "khác biệt không có ý nghĩa thống kê (p = 0,200)"
        );
        assert_eq!(
            significance_text(1e-9),
            "khác biệt có ý nghĩa thống kê (p < 0,001)"
        );
    }
}
