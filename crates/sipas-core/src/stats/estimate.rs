//! Estimates from one sample: a proportion with its Wilson interval, a mean with its Student t
//! interval, and the figures of one criterion.

use serde::Serialize;

use super::{CONFIDENCE, Interval, t_critical, z_critical};

/// The moments a mean and its interval are computed from: `n`, `Σx` and `Σx²`. The database
/// can aggregate these (`count(*)`, `sum(x)`, `sum(x * x)`); [`Moments::push`] builds them from
/// values in memory (tests, small samples).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Moments {
    pub n: u64,
    pub sum: f64,
    pub sum_sq: f64,
}

impl Moments {
    /// Adds one value.
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        self.sum += x;
        self.sum_sq += x * x;
    }

    /// Adds `count` copies of `x` (a scale code and its number of answers).
    pub fn push_many(&mut self, x: f64, count: u64) {
        let k = count as f64;
        self.n += count;
        self.sum += x * k;
        self.sum_sq += x * x * k;
    }

    /// The sample variance `(Σx² − x̄·Σx) / (n − 1)` (`None` below two values); a numerator
    /// below `1e-12·Σx²` (equal values up to rounding, which would otherwise give an interval
    /// of width ~1e-8 instead of 0) counts as 0.
    pub fn sample_variance(&self) -> Option<f64> {
        if self.n < 2 {
            return None;
        }
        let n = self.n as f64;
        let squares = self.sum_sq - self.sum / n * self.sum;
        Some(if squares <= 1e-12 * self.sum_sq {
            0.0
        } else {
            squares / (n - 1.0)
        })
    }
}

impl FromIterator<f64> for Moments {
    fn from_iter<I: IntoIterator<Item = f64>>(iter: I) -> Self {
        let mut m = Moments::default();
        for x in iter {
            m.push(x);
        }
        m
    }
}

/// A sample mean and, when it is defined (two values or more), its confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MeanEstimate {
    pub mean: f64,
    /// `None` for a single value: the sample variance, hence the interval, is undefined.
    pub interval: Option<Interval>,
}

/// The mean of a sample and its Student t confidence interval, from its moments
/// (`n`, `Σx`, `Σx²`): `x̄ ± t(½ + confidence/2; n − 1) · sd / √n`, `sd` with denominator
/// `n − 1`.
///
/// Returns `None` when `n == 0` (or `confidence` is not strictly between 0 and 1), and a mean
/// without an interval when `n == 1`. When all values are equal the interval is `[x̄, x̄]`.
/// The variance is computed as `(Σx² − x̄·Σx) / (n − 1)`; a numerator below `1e-12·Σx²`
/// (equal values up to rounding) counts as 0.
pub fn mean_interval(n: u64, sum: f64, sum_sq: f64, confidence: f64) -> Option<MeanEstimate> {
    if n == 0 || !super::valid_confidence(confidence) || !sum.is_finite() || !sum_sq.is_finite() {
        return None;
    }
    let nf = n as f64;
    let mean = sum / nf;
    if n == 1 {
        return Some(MeanEstimate {
            mean,
            interval: None,
        });
    }
    let variance = Moments { n, sum, sum_sq }
        .sample_variance()
        .expect("two values or more");
    let half = t_critical(confidence, n - 1)? * (variance / nf).sqrt();
    Some(MeanEstimate {
        mean,
        interval: Some(Interval {
            low: mean - half,
            high: mean + half,
        }),
    })
}

/// The mean of a sample of values bounded by `low` and `high` (a scale's first and last codes)
/// and its confidence interval: the Student t interval of [`mean_interval`] taken on the logit
/// of the mean rescaled to [0, 1], `u = (x̄ − low)/(high − low)`, with standard error
/// `sd / (√n · (high − low) · u(1 − u))`, and transformed back.
///
/// Like a proportion, a bounded mean has less spread near its bounds, and the symmetric t
/// interval misses too often there: a coverage study (`stats::coverage`,
/// `docs/methodology.md`) found it covering 93–94% at 30 forms (about 26 valid answers) for
/// the mean score of a criterion on the 1..5 scale, and 94.6–95.9% on the logit scale. The
/// interval stays inside (`low`, `high`) and has the same width as the t interval, to first
/// order, for large samples.
///
/// When the mean lies on a bound, the values are all equal or `high <= low`, the interval is
/// the t interval of [`mean_interval`] clipped to [`low`, `high`]. Returns `None` as
/// [`mean_interval`] does, and a mean without an interval when `n == 1`.
pub fn bounded_mean_interval(
    n: u64,
    sum: f64,
    sum_sq: f64,
    low: f64,
    high: f64,
    confidence: f64,
) -> Option<MeanEstimate> {
    let estimate = mean_interval(n, sum, sum_sq, confidence)?;
    let Some(t_interval) = estimate.interval else {
        return Some(estimate);
    };
    let mean = estimate.mean;
    let range = high - low;
    let u = (mean - low) / range;
    let half = t_interval.half_width();
    let interval = if range > 0.0 && u > 0.0 && u < 1.0 && half > 0.0 {
        let centre = (u / (1.0 - u)).ln();
        let half_logit = half / (range * u * (1.0 - u));
        let back = |x: f64| low + range / (1.0 + (-x).exp());
        Interval {
            low: back(centre - half_logit),
            high: back(centre + half_logit),
        }
    } else if range > 0.0 {
        Interval {
            low: t_interval.low.clamp(low, high),
            high: t_interval.high.clamp(low, high),
        }
    } else {
        t_interval
    };
    Some(MeanEstimate {
        mean,
        interval: Some(interval),
    })
}

/// The Wilson score interval of a proportion `successes / n`.
///
/// With `p = x/n` and `z` the two-sided normal critical value:
/// `(p + z²/2n ± z·√(p(1−p)/n + z²/4n²)) / (1 + z²/n)`. Unlike the Wald interval it stays in
/// [0, 1] and is sensible near 0% and 100%; the bounds are exactly 0 when `successes == 0` and
/// exactly 1 when `successes == n` (the formula gives them up to rounding).
///
/// Returns `None` when `n == 0`, `successes > n` or `confidence` is not strictly between 0
/// and 1.
pub fn wilson(successes: u64, n: u64, confidence: f64) -> Option<Interval> {
    if n == 0 || successes > n {
        return None;
    }
    let z = z_critical(confidence)?;
    let nf = n as f64;
    let p = successes as f64 / nf;
    let z2 = z * z;
    let denom = 1.0 + z2 / nf;
    let centre = (p + z2 / (2.0 * nf)) / denom;
    let half = z * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt() / denom;
    let low = if successes == 0 {
        0.0
    } else {
        (centre - half).max(0.0)
    };
    let high = if successes == n {
        1.0
    } else {
        (centre + half).min(1.0)
    };
    Some(Interval { low, high })
}

/// The figures of one criterion (or of any single question on a scale).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CriterionStats {
    /// Number of valid answers ("số phiếu" behind the figure).
    pub n_valid: u64,
    /// Per scale code, its share of the valid answers (0..=1), in the order the codes were given
    /// (the scale order). All shares are 0 when there is no valid answer.
    pub shares: Vec<(i16, f64)>,
    /// Mean of the codes (the mean score on a 1..5 scale).
    pub mean: Option<f64>,
    /// Interval of the mean (needs two valid answers or more): the t interval on the logit
    /// scale between the first and last codes of the scale ([`bounded_mean_interval`]).
    pub mean_ci: Option<Interval>,
    /// Share of valid answers whose code is positive (4 and 5 for satisfaction), 0..=1.
    pub index: Option<f64>,
    /// Wilson score interval of the index.
    pub index_ci: Option<Interval>,
}

/// The figures of one criterion from its answer counts, with 95% intervals.
///
/// `counts` holds `(scale code, number of answers)` for VALID answers only: the caller leaves
/// out "Không trả lời" and not-applicable answers, which do not count in any denominator. Give
/// the codes in scale order; a code given twice is counted once with the sum of its counts.
/// `positive` lists the codes counted in the index: `[4, 5]` ("Hài lòng", "Rất hài lòng") for
/// satisfaction, the codes of "Rất nhiều" and "Nhiều" for an expectation, the codes of
/// "Rất hài lòng" and "Hài lòng" for the desk rating.
///
/// The mean uses the codes as scores, so it is meaningful for the 1..5 satisfaction scale; its
/// interval is bounded by the smallest and the largest code given ([`bounded_mean_interval`]),
/// so give every code of the scale, with a count of 0 where nobody chose it.
pub fn criterion(counts: &[(i16, u64)], positive: &[i16]) -> CriterionStats {
    let mut merged: Vec<(i16, u64)> = Vec::with_capacity(counts.len());
    for &(code, count) in counts {
        match merged.iter_mut().find(|(c, _)| *c == code) {
            Some((_, total)) => *total += count,
            None => merged.push((code, count)),
        }
    }
    let n_valid: u64 = merged.iter().map(|&(_, k)| k).sum();
    let shares = merged
        .iter()
        .map(|&(code, k)| {
            let share = if n_valid == 0 {
                0.0
            } else {
                k as f64 / n_valid as f64
            };
            (code, share)
        })
        .collect();
    let mut moments = Moments::default();
    for &(code, k) in &merged {
        moments.push_many(f64::from(code), k);
    }
    let (first, last) = merged
        .iter()
        .fold((i16::MAX, i16::MIN), |(lo, hi), &(c, _)| {
            (lo.min(c), hi.max(c))
        });
    let mean = bounded_mean_interval(
        moments.n,
        moments.sum,
        moments.sum_sq,
        f64::from(first),
        f64::from(last),
        CONFIDENCE,
    );
    let satisfied: u64 = merged
        .iter()
        .filter(|(code, _)| positive.contains(code))
        .map(|&(_, k)| k)
        .sum();
    CriterionStats {
        n_valid,
        shares,
        mean: mean.map(|m| m.mean),
        mean_ci: mean.and_then(|m| m.interval),
        index: (n_valid > 0).then(|| satisfied as f64 / n_valid as f64),
        index_ci: wilson(satisfied, n_valid, CONFIDENCE),
    }
}
