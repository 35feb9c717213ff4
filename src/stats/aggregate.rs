//! The aggregation rule of QĐ 1001/QĐ-BNV (criterion → factor → form) and the interval of the
//! form index from respondents' scores. See the module documentation of [`crate::stats`] for the
//! method.

use super::{Interval, Moments, mean_interval};

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
/// the unit (the criterion's share satisfied and its number of valid answers), as the official
/// rule counts them.
///
/// Its width is that of the Student t interval of the mean of the scores, and it is placed
/// around the published index; clipped to [0, 1]. Returns `None` for fewer than two scores.
pub fn published_index_interval(
    index: f64,
    scores: &Moments,
    _factors: &[Vec<(f64, u64)>],
    confidence: f64,
) -> Option<Interval> {
    let around_mean = mean_interval(scores.n, scores.sum, scores.sum_sq, confidence)?;
    let half = around_mean.interval?.half_width();
    Some(Interval {
        low: (index - half).max(0.0),
        high: (index + half).min(1.0),
    })
}
