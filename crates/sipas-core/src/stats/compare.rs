//! Comparisons between units or periods: the chi-square test of independence, two-proportion
//! tests, Holm's correction for multiple comparisons, and rankings.

use serde::Serialize;
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal, StudentsT};

use super::{Interval, Moments, t_critical_real, wilson};

/// Result of a chi-square test of independence.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ChiSquare {
    /// Pearson's statistic `Σ (observed − expected)² / expected`, without continuity correction.
    pub statistic: f64,
    /// Degrees of freedom: number of rows with data − 1 (the table has 2 columns).
    pub df: u64,
    /// Upper-tail probability of the statistic under independence.
    pub p_value: f64,
    /// The smallest expected count. The chi-square approximation is usually trusted when every
    /// expected count is at least 5; below that, say so beside the p-value.
    pub min_expected: f64,
}

/// Chi-square test of independence on a k×2 table: one row per unit, `(satisfied, not
/// satisfied)`. Tests whether the share satisfied is the same in every unit.
///
/// Rows without any answer carry no information and are left out (they would give expected
/// counts of 0); `df` counts only the rows with data. Returns `None` when fewer than two rows
/// have data or when a column total is 0 (everyone satisfied, or no one: nothing to compare).
/// Same result as `scipy.stats.chi2_contingency(table, correction=False)` on the rows with data.
pub fn chi_square_independence(table: &[(u64, u64)]) -> Option<ChiSquare> {
    let rows: Vec<(f64, f64)> = table
        .iter()
        .filter(|&&(a, b)| a + b > 0)
        .map(|&(a, b)| (a as f64, b as f64))
        .collect();
    if rows.len() < 2 {
        return None;
    }
    let col0: f64 = rows.iter().map(|r| r.0).sum();
    let col1: f64 = rows.iter().map(|r| r.1).sum();
    if col0 == 0.0 || col1 == 0.0 {
        return None;
    }
    let total = col0 + col1;
    let mut statistic = 0.0;
    let mut min_expected = f64::INFINITY;
    for &(a, b) in &rows {
        let row_total = a + b;
        for (observed, col_total) in [(a, col0), (b, col1)] {
            let expected = row_total * col_total / total;
            min_expected = min_expected.min(expected);
            statistic += (observed - expected).powi(2) / expected;
        }
    }
    let df = rows.len() as u64 - 1;
    let p_value = ChiSquared::new(df as f64)
        .ok()?
        .sf(statistic)
        .clamp(0.0, 1.0);
    Some(ChiSquare {
        statistic,
        df,
        p_value,
        min_expected,
    })
}

/// Comparison of two proportions `p1 = x1/n1` and `p2 = x2/n2` (two units, or a unit now and
/// in the previous period or year).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ProportionDiff {
    /// `p1 − p2`.
    pub difference: f64,
    /// Newcombe's hybrid score interval of the difference (his method 10), from the Wilson
    /// intervals `[l1, u1]` and `[l2, u2]` of the two proportions:
    /// `[d − √((p1 − l1)² + (u2 − p2)²), d + √((u1 − p1)² + (p2 − l2)²)]`. It lies in [−1, 1].
    pub interval: Interval,
    /// z statistic of the test of `p1 = p2` with the pooled standard error
    /// `√(p(1−p)(1/n1 + 1/n2))`, `p = (x1 + x2)/(n1 + n2)`.
    pub z: f64,
    /// Two-sided p-value of that test, `2·P(Z > |z|)`.
    pub p_value: f64,
}

/// Compares two proportions: their difference with Newcombe's hybrid score interval (as
/// `statsmodels.stats.proportion.confint_proportions_2indep(method="newcomb")`) and the pooled
/// two-sided z test, as `statsmodels.stats.proportion.proportions_ztest` computes it.
///
/// The interval was the unpooled Wald interval `d ± z·√(p1(1−p1)/n1 + p2(1−p2)/n2)` until a
/// coverage study (`stats::coverage`, `docs/methodology.md`) found it covering 92–94% at 30
/// forms per unit (about 26 valid answers), and `[d, d]` when both proportions are 0 or 1.
/// Newcombe's interval is built from the Wilson intervals the criteria are published with.
///
/// When both proportions are 0 or both are 1 the pooled variance is 0: the difference is 0 and
/// the function reports `z = 0`, `p = 1` (no evidence of a difference) instead of NaN.
///
/// Returns `None` when `n1` or `n2` is 0, a count exceeds its total, or `confidence` is not
/// strictly between 0 and 1.
pub fn two_proportions(
    x1: u64,
    n1: u64,
    x2: u64,
    n2: u64,
    confidence: f64,
) -> Option<ProportionDiff> {
    if n1 == 0 || n2 == 0 || x1 > n1 || x2 > n2 {
        return None;
    }
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let (p1, p2) = (x1 as f64 / n1f, x2 as f64 / n2f);
    let difference = p1 - p2;
    let w1 = wilson(x1, n1, confidence)?;
    let w2 = wilson(x2, n2, confidence)?;
    let interval = Interval {
        low: (difference - (p1 - w1.low).hypot(w2.high - p2)).max(-1.0),
        high: (difference + (w1.high - p1).hypot(p2 - w2.low)).min(1.0),
    };
    let pooled = (x1 + x2) as f64 / (n1f + n2f);
    let se0 = (pooled * (1.0 - pooled) * (1.0 / n1f + 1.0 / n2f)).sqrt();
    let (z, p_value) = if se0 > 0.0 {
        let z = difference / se0;
        let normal = Normal::new(0.0, 1.0).ok()?;
        (z, (2.0 * normal.sf(z.abs())).min(1.0))
    } else {
        (0.0, 1.0)
    };
    Some(ProportionDiff {
        difference,
        interval,
        z,
        p_value,
    })
}

/// Holm–Bonferroni adjusted p-values, in the order of the input.
///
/// Sorted ascending, the i-th smallest of m p-values (i from 1) becomes
/// `max over j ≤ i of min(1, (m − j + 1)·p(j))`: the adjusted values keep the order of the raw
/// ones and never exceed 1. Reject where the adjusted p-value is below the level (0.05); this
/// controls the family-wise error rate of all the pairwise comparisons together. Inputs are
/// clamped to [0, 1] and a NaN is treated as 1.
pub fn holm(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let clean: Vec<f64> = p_values
        .iter()
        .map(|&p| if p.is_nan() { 1.0 } else { p.clamp(0.0, 1.0) })
        .collect();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| clean[a].total_cmp(&clean[b]));
    let mut adjusted = vec![0.0; m];
    let mut running_max: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        let factor = (m - rank) as f64;
        running_max = running_max.max((factor * clean[i]).min(1.0));
        adjusted[i] = running_max;
    }
    adjusted
}

/// Competition ranking ("1, 2, 2, 4"), highest value first: a value's rank is 1 + the number
/// of values strictly greater. `None` (and NaN) values are unranked and do not take a place.
///
/// Ties are exact equality: to rank units as their published figures read, rank the rounded
/// values ([`super::round_percent`]), so that two units shown as 82,66% share a rank.
pub fn rank_descending(values: &[Option<f64>]) -> Vec<Option<u32>> {
    let mut present: Vec<f64> = values
        .iter()
        .flatten()
        .copied()
        .filter(|x| !x.is_nan())
        .collect();
    present.sort_by(|a, b| b.total_cmp(a));
    values
        .iter()
        .map(|v| {
            let x = v.filter(|x| !x.is_nan())?;
            // Number of values strictly greater than x, in the descending list.
            let greater = present.partition_point(|&y| y > x);
            u32::try_from(greater + 1).ok()
        })
        .collect()
}

/// The difference of two means (e.g. of two units' respondent scores, whose means are their
/// index estimates), with Welch's unequal-variance t test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MeanDiff {
    /// Mean of the first group minus mean of the second.
    pub difference: f64,
    /// Welch interval of the difference.
    pub interval: Interval,
    pub t: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub df: f64,
    /// Two-sided p-value.
    pub p_value: f64,
}

/// Welch's t test of two means from their moments, as
/// `scipy.stats.ttest_ind_from_stats(equal_var=False)` computes it, with the matching interval
/// of the difference: `d ± t(df)·√(s₁²/n₁ + s₂²/n₂)`, `df` by Welch–Satterthwaite.
///
/// Returns `None` when a group has fewer than 2 values, when both groups have no spread (no test
/// is possible), or when `confidence` is not strictly between 0 and 1.
pub fn mean_difference(a: &Moments, b: &Moments, confidence: f64) -> Option<MeanDiff> {
    if a.n < 2 || b.n < 2 {
        return None;
    }
    let stats = |m: &Moments| {
        let n = m.n as f64;
        let variance = m.sample_variance().expect("two values or more");
        (n, m.sum / n, variance / n)
    };
    let (n1, mean1, v1) = stats(a);
    let (n2, mean2, v2) = stats(b);
    let se2 = v1 + v2;
    if se2 <= 0.0 {
        return None;
    }
    let df = se2 * se2 / (v1 * v1 / (n1 - 1.0) + v2 * v2 / (n2 - 1.0));
    let difference = mean1 - mean2;
    let se = se2.sqrt();
    let t = difference / se;
    let half = t_critical_real(confidence, df)? * se;
    let p_value = 2.0 * StudentsT::new(0.0, 1.0, df).ok()?.sf(t.abs());
    Some(MeanDiff {
        difference,
        interval: Interval {
            low: difference - half,
            high: difference + half,
        },
        t,
        df,
        p_value: p_value.min(1.0),
    })
}
