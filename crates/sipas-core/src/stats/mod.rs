//! The statistics of SIPAS: pure functions from counts and moments to the published figures.
//!
//! Nothing here does I/O, touches the database or awaits anything. The database aggregates the
//! stored answers (counts per scale code, sums and sums of squares of respondents' scores); these
//! functions turn such aggregates into indices, confidence intervals, tests and rankings. Every
//! function is checked in `tests.rs` against values computed independently with scipy,
//! statsmodels and numpy (`tests/data/stats/reference.py`, output in `reference.json`).
//!
//! All intervals are 95% by default ([`CONFIDENCE`]); the distributions (Student t, normal,
//! chi-square) come from `statrs`. No function returns NaN: an undefined figure is `None`.
//!
//! # The figures
//!
//! - **Criterion** ([`criterion`]): number of valid answers ("Không trả lời" and not-applicable
//!   answers are not valid and not counted), the share of each scale level, the mean score with
//!   its Student t interval taken on the logit scale between the scale's first and last codes
//!   ([`bounded_mean_interval`]) and the satisfaction index, the share of valid
//!   answers that are 4 "Hài lòng" or 5 "Rất hài lòng", with its Wilson score interval
//!   ([`wilson`]). The same function gives the share of a desk rating's levels and the
//!   expectation shares ("Rất nhiều" + "Nhiều"): only the positive codes change.
//! - **Factor and form** ([`factor_index`], [`form_index`]): the aggregation rule of
//!   QĐ 1001/QĐ-BNV, kept in these two functions alone because the national rule can change.
//!   Factor index = unweighted mean of its criterion indices; SIPAS index of a unit = unweighted
//!   mean of its factor indices. A criterion with no valid answer (or a factor with no index) is
//!   left out of the mean rather than counted as 0.
//! - **Comparisons**: a chi-square test of independence across units on satisfied / not
//!   satisfied ([`chi_square_independence`]), pairwise two-proportion tests with Newcombe's
//!   interval of the difference ([`two_proportions`]) whose p-values are corrected with Holm's
//!   method ([`holm`]), and the same two-proportion comparison of a unit against its previous
//!   period or year.
//! - **Rankings** with ties ([`rank_descending`]), the "chưa đủ mẫu" flag ([`enough_sample`]) and
//!   the published rounding ([`round_percent`], [`format_percent`]).
//!
//! # Interval of the SIPAS index of a unit
//!
//! The SIPAS index of a unit is not a single proportion but a mean of factor indices, each a
//! mean of criterion indices, so its 95% confidence interval is computed from the respondents'
//! own scores:
//!
//! 1. Each criterion *c* of factor *f* gets the weight *w(c) = 1 / (F · n(f))*, where *F* is the
//!    number of factors of the form and *n(f)* the number of criteria of factor *f*. The weights
//!    of all criteria add up to 1: each factor weighs 1/F, shared equally among its criteria.
//! 2. A respondent's score *s* is their weighted share of satisfied answers (4 or 5), renormalised
//!    over the criteria they answered validly: *s = Σ w(c)·[satisfied on c] / Σ w(c)*, both sums
//!    over the criteria with a valid answer. A respondent with no valid answer has no score and
//!    is left out ([`respondent_score`]).
//! 3. The variance of the index is estimated by the variance of the mean of the *n* scores,
//!    *sd² / n* (*sd* with denominator *n − 1*), plus *Σ w(c)² · p(c)(1 − p(c)) · (1/N(c) − 1/n)*
//!    over the criteria, *p(c)* the criterion's index and *N(c)* its valid answers: the extra
//!    variance of a criterion counted over fewer answers than there are respondents. It needs
//!    only *n*, *Σs*, *Σs²*, which the database aggregates, and the criteria's figures.
//! 4. The published interval is the Student t interval (*n − 1* degrees of freedom) of the
//!    logit of the published index, transformed back ([`published_index_interval`]): it lies in
//!    (0, 1) and reaches further below an index near 100% than above it.
//!
//! A coverage study (`stats::coverage`, run by `cargo bench --bench intervals`, results in
//! `docs/methodology.md`) replaced the former interval, *s̄*'s t half-width placed
//! symmetrically around the index, which covered the true index 89–93% of the time at 30 forms;
//! [`index_interval`], the plain t interval of the scores' mean, is kept for callers that want
//! the interval of that mean itself.
//!
//! When every respondent answers every criterion validly, the mean of the scores equals the
//! official index exactly: each respondent's weights then add up to 1, and averaging
//! *Σ w(c)·[satisfied on c]* over respondents gives *Σ over f of (1/F) · (1/n(f)) · Σ over c in
//! f of (criterion index of c)*, which is the official criterion → factor → form rule. The
//! index is then the mean of *n* independent respondents' scores, and the t interval takes
//! into account that one person's answers to different criteria go together (treating all
//! answers as independent would make the interval too narrow).
//!
//! When answers are missing, the method is an approximation. The official rule divides each
//! criterion by its own number of valid answers, whereas a score renormalises each respondent's
//! weights over the criteria that respondent answered. The mean of the scores is then close to,
//! but not exactly, the published index (the gap grows with the share of missing answers and
//! with how unevenly they fall on criteria of different satisfaction): the published interval
//! is therefore placed around the index itself, and the second variance term of step 3 adds
//! what the scores' spread misses of a criterion counted over fewer answers (in the coverage
//! study's units, with 5–30% "không áp dụng", the scores' variance alone fell a few percent
//! short of the index's sampling variance). One cause of a gap is avoidable: a criterion that
//! nobody in the unit answered validly drops out of its factor's official mean, so the factor
//! keeps its full weight 1/F; callers should therefore count in *n(f)* only the criteria that
//! have at least one valid answer in the unit, which restores the exact equality when the
//! remaining answers are complete.

mod aggregate;
mod compare;
pub mod coverage;
mod estimate;
mod report;
#[cfg(test)]
mod tests;

pub use aggregate::{
    factor_index, form_index, index_interval, published_index_interval, respondent_score,
};
pub use compare::{
    ChiSquare, MeanDiff, ProportionDiff, chi_square_independence, holm, mean_difference,
    rank_descending, two_proportions,
};
pub use estimate::{
    CriterionStats, MeanEstimate, Moments, bounded_mean_interval, criterion, mean_interval, wilson,
};
pub use report::{MIN_RELIABLE_SAMPLE, enough_sample, format_percent, round_percent};

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// The confidence level of every interval unless a caller asks for another: 95%.
pub const CONFIDENCE: f64 = 0.95;

/// A confidence interval `[low, high]` (same unit as the estimate: a share in 0..=1, a mean
/// score, or a difference of shares).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

impl Interval {
    /// Whether `x` lies in the interval (bounds included).
    pub fn contains(&self, x: f64) -> bool {
        self.low <= x && x <= self.high
    }

    /// Half the width of the interval (the "± margin" when it is symmetric).
    pub fn half_width(&self) -> f64 {
        (self.high - self.low) / 2.0
    }
}

/// Whether `confidence` is a usable confidence level (strictly between 0 and 1; NaN is not).
fn valid_confidence(confidence: f64) -> bool {
    confidence > 0.0 && confidence < 1.0
}

/// The two-sided critical value of the standard normal distribution, `z` with
/// `P(|Z| <= z) = confidence` (1.959964… for 95%).
fn z_critical(confidence: f64) -> Option<f64> {
    if !valid_confidence(confidence) {
        return None;
    }
    let normal = Normal::new(0.0, 1.0).ok()?;
    Some(normal.inverse_cdf(0.5 + confidence / 2.0))
}

/// Degrees of freedom from which [`t_critical`] uses the Cornish–Fisher expansion instead of
/// statrs. statrs 0.18 inverts the t distribution through the incomplete beta function, which
/// is accurate to about 1e-12 up to a few thousand degrees of freedom but loses digits beyond
/// (relative error 2e-5 at 10^6, 7% at 10^7), while the expansion is accurate to about 1e-14
/// from 1000 on.
const T_EXPANSION_FROM_DF: u64 = 1000;

/// The two-sided critical value of Student's t distribution with `df` degrees of freedom,
/// `t` with `P(|T| <= t) = confidence`.
fn t_critical(confidence: f64, df: u64) -> Option<f64> {
    t_critical_real(confidence, df as f64)
}

/// [`t_critical`] for fractional degrees of freedom (Welch–Satterthwaite).
fn t_critical_real(confidence: f64, df: f64) -> Option<f64> {
    if !valid_confidence(confidence) || df.is_nan() || df <= 0.0 || !df.is_finite() {
        return None;
    }
    let q = if df >= T_EXPANSION_FROM_DF as f64 {
        t_quantile_expansion(z_critical(confidence)?, df)
    } else {
        let t = StudentsT::new(0.0, 1.0, df).ok()?;
        t.inverse_cdf(0.5 + confidence / 2.0)
    };
    q.is_finite().then_some(q)
}

/// The Cornish–Fisher expansion of the t quantile in powers of 1/ν around the normal quantile
/// `z` (Abramowitz & Stegun 26.7.5, to the ν⁻⁴ term).
fn t_quantile_expansion(z: f64, nu: f64) -> f64 {
    let z2 = z * z;
    let g1 = (z2 + 1.0) * z / 4.0;
    let g2 = ((5.0 * z2 + 16.0) * z2 + 3.0) * z / 96.0;
    let g3 = (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * z / 384.0;
    let g4 = ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) * z / 92_160.0;
    z + (g1 + (g2 + (g3 + g4 / nu) / nu) / nu) / nu
}
