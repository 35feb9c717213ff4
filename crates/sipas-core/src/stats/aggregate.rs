//! The aggregation rule of QĐ 1001/QĐ-BNV (criterion → factor → form) and the interval of the
//! form index from respondents' scores. See the module documentation of [`crate::stats`] for the
//! method.

use super::{Interval, Moments, mean_interval, t_critical};

/// The unweighted mean of the indices that exist (finite values); `None` when there is none.
fn mean_of_present(values: &[Option<f64>]) -> Option<f64> {
    let (sum, count) = values
        .iter()
        .flatten()
        .filter(|x| x.is_finite())
        .fold((0.0, 0u32), |(s, k), &x| (s + x, k + 1));
    (count > 0).then(|| sum / f64::from(count))
}

/// Index of a factor from the indices of its criteria: their unweighted mean (QĐ 1001).
///
/// A criterion without an index (no valid answer) is left out, not counted as 0; `None` when
/// no criterion of the factor has an index. This function and [`form_index`] are the one place
/// where the national aggregation rule lives: change them if the rule changes.
pub fn factor_index(criterion_indices: &[Option<f64>]) -> Option<f64> {
    mean_of_present(criterion_indices)
}

/// SIPAS index of a unit (of a form) from its factor indices: their unweighted mean
/// (QĐ 1001). A factor without an index is left out; `None` when there is none.
pub fn form_index(factor_indices: &[Option<f64>]) -> Option<f64> {
    mean_of_present(factor_indices)
}

/// One respondent's score: their weighted share of satisfied answers, the weight of a
/// criterion of factor `f` being `1 / (F · n(f))` with `F = factor_sizes.len()` factors and
/// `n(f) = factor_sizes[f]` criteria in factor `f`, renormalised over the criteria the
/// respondent answered validly.
///
/// `answers[i]` is `Some(satisfied)` for a valid answer to criterion `i` (satisfied: code 4 or
/// 5) and `None` otherwise; `factor_of[i]` is the factor (0-based) of criterion `i`. When every
/// respondent answers every criterion validly, the mean of these scores is exactly the
/// official [`form_index`]; the mean and spread of the scores give the interval of the index
/// ([`index_interval`]). Count in `factor_sizes` only the criteria that have at least one
/// valid answer in the unit: the official rule leaves the others out of their factor's mean.
///
/// Returns `None` when the respondent has no valid answer, and also when the structure is
/// inconsistent (`answers` and `factor_of` of different lengths, a factor out of range, or a
/// factor size of 0 for a factor with a valid answer), which is a bug in the caller.
pub fn respondent_score(
    answers: &[Option<bool>],
    factor_of: &[usize],
    factor_sizes: &[usize],
) -> Option<f64> {
    debug_assert_eq!(answers.len(), factor_of.len(), "one factor per criterion");
    if answers.len() != factor_of.len() {
        return None;
    }
    let n_factors = factor_sizes.len() as f64;
    let mut weight_sum = 0.0;
    let mut satisfied_sum = 0.0;
    for (answer, &factor) in answers.iter().zip(factor_of) {
        let size = *factor_sizes.get(factor)?;
        if let Some(satisfied) = answer {
            if size == 0 {
                return None;
            }
            let w = 1.0 / (n_factors * size as f64);
            weight_sum += w;
            if *satisfied {
                satisfied_sum += w;
            }
        }
    }
    (weight_sum > 0.0).then(|| (satisfied_sum / weight_sum).clamp(0.0, 1.0))
}

/// Confidence interval of the SIPAS index of a unit: the Student t interval (`n − 1` degrees of
/// freedom) of the mean of the respondents' scores ([`respondent_score`]), from `n`, `Σs` and
/// `Σs²`, clipped to [0, 1].
///
/// Returns `None` for fewer than two respondents (the spread is undefined) or a `confidence`
/// not strictly between 0 and 1. When all scores are equal the interval is `[s̄, s̄]`.
pub fn index_interval(n: u64, sum: f64, sum_sq: f64, confidence: f64) -> Option<Interval> {
    let interval = mean_interval(n, sum, sum_sq, confidence)?.interval?;
    Some(Interval {
        low: interval.low.clamp(0.0, 1.0),
        high: interval.high.clamp(0.0, 1.0),
    })
}

/// The published 95% interval of the SIPAS index of a unit, `index` being the official
/// [`form_index`] and `scores` the moments of the respondents' scores ([`respondent_score`]).
///
/// `factors[f]` lists `(share, n_valid)` of the criteria of factor `f` that have an index in
/// the unit (the criterion's share satisfied and its number of valid answers): the criteria
/// and factors the official rule counts.
///
/// The variance of the index is estimated as
/// `v = sd²/n + Σ_c w_c² · p_c(1 − p_c) · (1/N_c − 1/n)`: the variance of the mean of the `n`
/// scores (it carries the correlation between one person's answers), plus, for each criterion
/// with `N_c < n` valid answers, the extra sampling variance of a share counted over fewer
/// answers than there are respondents (the official rule divides each criterion by its own
/// valid answers, a score only renormalises one respondent's weights); `w_c = 1 / (F · n_f)`
/// over the counted factors and criteria. The interval is the Student t interval (`n − 1`
/// degrees of freedom) of `logit(index)`, with standard error `√v / (index · (1 − index))`,
/// transformed back: it stays inside (0, 1) and is asymmetric near 100%, where an index's
/// sampling distribution is. A coverage study (`stats::coverage`, `cargo bench --bench
/// intervals`, `docs/methodology.md`) found the former interval, the t interval of the scores
/// placed symmetrically around the index, covering 89–93% at 30 forms.
///
/// An index of exactly 0 or 1 has no logit: then (and when `v` is 0) the interval is the
/// symmetric t interval `index ± t·√v`, clipped to [0, 1] (`[index, index]` when all scores
/// are equal). Returns `None` for fewer than two scores, an index outside [0, 1] or a
/// `confidence` not strictly between 0 and 1.
pub fn published_index_interval(
    index: f64,
    scores: &Moments,
    factors: &[Vec<(f64, u64)>],
    confidence: f64,
) -> Option<Interval> {
    if scores.n < 2 || !(0.0..=1.0).contains(&index) {
        return None;
    }
    let t = t_critical(confidence, scores.n - 1)?;
    let n = scores.n as f64;
    let score_variance = scores.sample_variance()?;
    let counted: Vec<Vec<(f64, u64)>> = factors
        .iter()
        .map(|f| {
            f.iter()
                .copied()
                .filter(|&(_, k)| k > 0)
                .collect::<Vec<_>>()
        })
        .filter(|f| !f.is_empty())
        .collect();
    let n_factors = counted.len() as f64;
    let fewer_answers: f64 = counted
        .iter()
        .flat_map(|f| {
            let w = 1.0 / (n_factors * f.len() as f64);
            f.iter().map(move |&(p, k)| {
                let p = p.clamp(0.0, 1.0);
                w * w * p * (1.0 - p) * (1.0 / k as f64 - 1.0 / n).max(0.0)
            })
        })
        .sum();
    let variance = score_variance / n + fewer_answers;
    if !variance.is_finite() {
        return None;
    }
    if variance <= 0.0 || index <= 0.0 || index >= 1.0 {
        let half = t * variance.max(0.0).sqrt();
        return Some(Interval {
            low: (index - half).max(0.0),
            high: (index + half).min(1.0),
        });
    }
    let logit = (index / (1.0 - index)).ln();
    let half = t * variance.sqrt() / (index * (1.0 - index));
    let expit = |x: f64| 1.0 / (1.0 + (-x).exp());
    Some(Interval {
        low: expit(logit - half),
        high: expit(logit + half),
    })
}
