//! A simulation study of the published intervals: how often each 95% interval contains the
//! true value it estimates, and how wide it is.
//!
//! Synthetic units answer the 19 criteria of the QĐ 1001 service questionnaire (factors of 4,
//! 4, 5, 3 and 3 criteria) on the 1..5 scale. Each respondent has a latent satisfaction
//! `η ~ N(0, 1)`; their answer to criterion `c` is the code of
//! `y = μ_u + δ_c + λ·η + √(1 − λ²)·ε`, `ε ~ N(0, 1)`, cut at [`THRESHOLDS`] (so `y ~ N(μ_u + δ_c,
//! 1)` and two criteria correlate through `η`: latent correlation λ² ≈ 0.49). Independently of
//! everything else, criterion `c` is "không áp dụng" with probability [`NOT_APPLICABLE`]`[c]`
//! (5–30%). Units differ by their shift `μ_u` ([`UnitModel`]).
//!
//! Each sample is then analysed by the service's own functions, fed exactly as
//! `crate::reports` feeds them: [`criterion`] per criterion (Wilson interval of the share, t
//! interval of the mean code), [`factor_index`] and [`form_index`] for the published index,
//! [`respondent_score`] for the scores and [`published_index_interval`] for its interval,
//! [`two_proportions`] for a criterion compared between units or periods and
//! [`mean_difference`] for the index compared through the respondents' scores.
//!
//! The true values come from the generating model, with the definitions of the published
//! estimates:
//! - a criterion's share: `P(code ≥ 4 | valid) = Φ(μ_u + δ_c − τ₃)`; its mean code
//!   `1 + Σ_k Φ(μ_u + δ_c − τ_k)`;
//! - the unit index: the official rule on the true shares (mean over factors of the mean of
//!   their criteria's shares);
//! - the index comparison: [`mean_difference`] estimates the difference of the units' mean
//!   respondent scores (the dashboard labels it so), whose true value is computed exactly
//!   ([`UnitModel::true_score_mean`]); it is also scored against the difference of the true
//!   indices, which is what a reader sets it beside.
//!
//! The study is run by `cargo bench --bench intervals` (the full table) and, with few
//! replications, by `tests/interval_coverage.rs`.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use statrs::distribution::{ContinuousCDF, Normal};

use super::{
    CONFIDENCE, Interval, Moments, criterion, factor_index, form_index, mean_difference,
    mean_interval, published_index_interval, respondent_score, two_proportions,
};

/// Criteria per factor (QĐ 1001 service part).
pub const FACTOR_SIZES: [usize; 5] = [4, 4, 5, 3, 3];
/// Number of criteria.
pub const CRITERIA: usize = 19;
/// Criterion effects `δ_c` on the latent scale: some criteria are easier to be satisfied with
/// than others.
const OFFSETS: [f64; CRITERIA] = [
    0.2, 0.0, -0.3, 0.1, // factor 1
    0.3, 0.4, 0.2, -0.2, // factor 2
    0.1, 0.0, -0.1, 0.2, 0.0, // factor 3
    -0.1, 0.2, 0.3, // factor 4
    -0.4, -0.2, -0.3, // factor 5
];
/// Probability that a criterion is "không áp dụng" (not applicable, not a valid answer):
/// low for the premises and the civil servants, up to 30% for the fees (not every procedure
/// has one) and for the handling of complaints (most citizens never filed one).
pub const NOT_APPLICABLE: [f64; CRITERIA] = [
    0.05, 0.05, 0.08, 0.12, // factor 1
    0.08, 0.10, 0.30, 0.10, // factor 2: the fees
    0.05, 0.05, 0.06, 0.07, 0.05, // factor 3
    0.08, 0.06, 0.07, // factor 4
    0.25, 0.30, 0.30, // factor 5: complaints
];
/// Cut points of the latent answer between codes 1|2, 2|3, 3|4, 4|5.
pub const THRESHOLDS: [f64; 4] = [-1.8, -1.3, -0.95, 0.6];
/// Loading of the answers on the respondent's latent satisfaction.
pub const LOADING: f64 = 0.7;
/// Codes counted as satisfied.
const POSITIVE: [i16; 2] = [4, 5];

/// The factor (0-based) of each criterion.
fn factor_of() -> Vec<usize> {
    FACTOR_SIZES
        .iter()
        .enumerate()
        .flat_map(|(f, &k)| std::iter::repeat_n(f, k))
        .collect()
}

fn phi(x: f64) -> f64 {
    Normal::new(0.0, 1.0).map(|n| n.cdf(x)).unwrap_or(f64::NAN)
}

/// A synthetic unit: its shift on the latent scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnitModel {
    pub name: &'static str,
    pub shift: f64,
}

impl UnitModel {
    /// True share satisfied of each criterion among its valid answers.
    pub fn true_shares(&self) -> [f64; CRITERIA] {
        std::array::from_fn(|c| phi(self.shift + OFFSETS[c] - THRESHOLDS[2]))
    }

    /// True mean code of each criterion among its valid answers.
    pub fn true_means(&self) -> [f64; CRITERIA] {
        std::array::from_fn(|c| {
            1.0 + THRESHOLDS
                .iter()
                .map(|t| phi(self.shift + OFFSETS[c] - t))
                .sum::<f64>()
        })
    }

    /// True SIPAS index: the official rule on the true shares, computed here independently
    /// of [`factor_index`] / [`form_index`].
    pub fn true_index(&self) -> f64 {
        let shares = self.true_shares();
        let mut start = 0;
        let mut total = 0.0;
        for &k in &FACTOR_SIZES {
            total += shares[start..start + k].iter().sum::<f64>() / k as f64;
            start += k;
        }
        total / FACTOR_SIZES.len() as f64
    }

    /// True mean respondent score (over respondents with at least one valid answer), exactly.
    ///
    /// With `w_c` the criterion weights, `r_c` the validity indicators and `W = Σ w_c r_c`:
    /// `s = Σ w_c r_c y_c / W`. Validity is independent of the answers, so
    /// `E[s; W > 0] = Σ_c w_c p_c (1 − a_c) E[1 / (w_c + W₋c)]`, `W₋c` the sum over the other
    /// criteria, whose distribution is enumerated through the number of valid criteria per
    /// factor. Divided by `P(W > 0)`.
    pub fn true_score_mean(&self) -> f64 {
        let shares = self.true_shares();
        let factors = factor_of();
        let weight = |f: usize| 1.0 / (FACTOR_SIZES.len() as f64 * FACTOR_SIZES[f] as f64);
        let mut total = 0.0;
        for c in 0..CRITERIA {
            // Distribution of the valid counts per factor over the criteria other than c.
            let mut states: BTreeMap<[u8; 5], f64> = BTreeMap::from([([0u8; 5], 1.0)]);
            for d in (0..CRITERIA).filter(|&d| d != c) {
                let mut next = BTreeMap::new();
                for (state, p) in &states {
                    *next.entry(*state).or_insert(0.0) += p * NOT_APPLICABLE[d];
                    let mut up = *state;
                    up[factors[d]] += 1;
                    *next.entry(up).or_insert(0.0) += p * (1.0 - NOT_APPLICABLE[d]);
                }
                states = next;
            }
            let inverse: f64 = states
                .iter()
                .map(|(state, p)| {
                    let w_rest: f64 = state
                        .iter()
                        .enumerate()
                        .map(|(f, &k)| f64::from(k) * weight(f))
                        .sum();
                    p / (weight(factors[c]) + w_rest)
                })
                .sum();
            total += weight(factors[c]) * shares[c] * (1.0 - NOT_APPLICABLE[c]) * inverse;
        }
        let none_valid: f64 = NOT_APPLICABLE.iter().product();
        total / (1.0 - none_valid)
    }
}

/// The three units of the study: a weak one, a typical one (about the national 2023–2024
/// level, 82–84%) and one near the ceiling.
pub const UNITS: [UnitModel; 3] = [
    UnitModel {
        name: "low",
        shift: -0.5,
    },
    UnitModel {
        name: "typical",
        shift: 0.0,
    },
    UnitModel {
        name: "high",
        shift: 0.7,
    },
];

/// How far a unit's previous period lies below it on the latent scale.
pub const PERIOD_SHIFT: f64 = 0.2;

/// One respondent's answers: the code per criterion, 0 for "không áp dụng".
type Answers = [u8; CRITERIA];

/// A standard normal draw (Box–Muller; the second value is discarded to keep it simple).
fn normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // in (0, 1]
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// `n` respondents of a unit with latent shift `shift`.
fn sample(rng: &mut StdRng, shift: f64, n: usize) -> Vec<Answers> {
    let noise = (1.0 - LOADING * LOADING).sqrt();
    (0..n)
        .map(|_| {
            let eta = normal(rng);
            std::array::from_fn(|c| {
                if rng.random::<f64>() < NOT_APPLICABLE[c] {
                    return 0;
                }
                let y = shift + OFFSETS[c] + LOADING * eta + noise * normal(rng);
                1 + THRESHOLDS.iter().filter(|&&t| y > t).count() as u8
            })
        })
        .collect()
}

/// The unit index's interval as published before the coverage study (commit 541fd13,
/// `reports::interval_around`): the half-width of the t interval of the scores' mean, placed
/// around the index and clipped to [0, 1].
pub fn previous_index_interval(index: f64, scores: &Moments) -> Option<Interval> {
    let half = mean_interval(scores.n, scores.sum, scores.sum_sq, CONFIDENCE)?
        .interval?
        .half_width();
    Some(Interval {
        low: (index - half).max(0.0),
        high: (index + half).min(1.0),
    })
}

/// The interval of a difference of two proportions as published before the coverage study
/// (commit 541fd13, `two_proportions`): unpooled Wald, clipped to [−1, 1].
pub fn previous_two_proportions(x1: u64, n1: u64, x2: u64, n2: u64) -> Option<Interval> {
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let z = Normal::new(0.0, 1.0)
        .ok()?
        .inverse_cdf(0.5 + CONFIDENCE / 2.0);
    let (p1, p2) = (x1 as f64 / n1 as f64, x2 as f64 / n2 as f64);
    let se = (p1 * (1.0 - p1) / n1 as f64 + p2 * (1.0 - p2) / n2 as f64).sqrt();
    let d = p1 - p2;
    Some(Interval {
        low: (d - z * se).max(-1.0),
        high: (d + z * se).min(1.0),
    })
}

/// What the service computes from one unit's sample.
struct Analysis {
    /// Per criterion: satisfied and valid answers, and the criterion's figures.
    criteria: Vec<(u64, u64, super::CriterionStats)>,
    index: Option<f64>,
    index_ci: Option<Interval>,
    scores: Moments,
    /// Per criterion, the moments of the valid codes.
    code_moments: Vec<Moments>,
}

fn analyse(answers: &[Answers]) -> Analysis {
    let factors = factor_of();
    let criteria: Vec<(u64, u64, super::CriterionStats)> = (0..CRITERIA)
        .map(|c| {
            let mut counts = [0u64; 5];
            for a in answers {
                if a[c] > 0 {
                    counts[usize::from(a[c] - 1)] += 1;
                }
            }
            let coded: Vec<(i16, u64)> = (1..=5).zip(counts).collect();
            let satisfied = counts[3] + counts[4];
            let valid = counts.iter().sum();
            (satisfied, valid, criterion(&coded, &POSITIVE))
        })
        .collect();
    let mut factor_indices = Vec::new();
    let mut shares = Vec::new();
    let mut start = 0;
    for &k in &FACTOR_SIZES {
        let part = &criteria[start..start + k];
        factor_indices.push(factor_index(
            &part.iter().map(|c| c.2.index).collect::<Vec<_>>(),
        ));
        shares.push(
            part.iter()
                .filter_map(|c| Some((c.2.index?, c.2.n_valid)))
                .collect::<Vec<_>>(),
        );
        start += k;
    }
    let index = form_index(&factor_indices);
    // The rollups weigh every criterion of the form (crates/sipas-db/src/sql/rollup_fold_responses.sql).
    let scores: Moments = answers
        .iter()
        .filter_map(|a| {
            let valid: Vec<Option<bool>> = a
                .iter()
                .map(|&code| (code > 0).then_some(code >= 4))
                .collect();
            respondent_score(&valid, &factors, &FACTOR_SIZES)
        })
        .collect();
    let index_ci = index.and_then(|i| published_index_interval(i, &scores, &shares, CONFIDENCE));
    let code_moments = (0..CRITERIA)
        .map(|c| {
            answers
                .iter()
                .filter(|a| a[c] > 0)
                .map(|a| f64::from(a[c]))
                .collect()
        })
        .collect();
    Analysis {
        criteria,
        index,
        index_ci,
        scores,
        code_moments,
    }
}

/// The intervals the study scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// Share satisfied of a criterion (Wilson).
    CriterionShare,
    /// Mean code of a criterion (Student t).
    CriterionMean,
    /// SIPAS index of a unit.
    UnitIndex,
    /// A criterion's share, difference between two units.
    CriterionUnits,
    /// A criterion's share, difference between a unit's two periods.
    CriterionPeriods,
    /// Mean respondent score, difference between two units (Welch).
    ScoreUnits,
    /// Mean respondent score, difference between a unit's two periods (Welch).
    ScorePeriods,
    /// The Welch interval of the score difference between two units, scored against the
    /// difference of the true indices.
    ScoreUnitsVsIndex,
    /// The same between periods.
    ScorePeriodsVsIndex,
    /// The unit index's interval before the study: the t interval of the scores' mean, its
    /// half-width placed around the published index ([`previous_index_interval`]).
    UnitIndexPrevious,
    /// A criterion's share between units, by the Wald interval used before the study
    /// ([`previous_two_proportions`]).
    CriterionUnitsPrevious,
    /// The same between periods.
    CriterionPeriodsPrevious,
    /// A criterion's mean score by the plain Student t interval used before the study
    /// ([`mean_interval`]).
    CriterionMeanPrevious,
}

impl Kind {
    pub const ALL: [Kind; 13] = [
        Kind::CriterionShare,
        Kind::CriterionMean,
        Kind::UnitIndex,
        Kind::CriterionUnits,
        Kind::CriterionPeriods,
        Kind::ScoreUnits,
        Kind::ScorePeriods,
        Kind::ScoreUnitsVsIndex,
        Kind::ScorePeriodsVsIndex,
        Kind::UnitIndexPrevious,
        Kind::CriterionUnitsPrevious,
        Kind::CriterionPeriodsPrevious,
        Kind::CriterionMeanPrevious,
    ];

    /// A short label for the table.
    pub fn label(self) -> &'static str {
        match self {
            Kind::CriterionShare => "criterion share (Wilson)",
            Kind::CriterionMean => "criterion mean score (logit t)",
            Kind::UnitIndex => "unit index",
            Kind::CriterionUnits => "criterion share, unit − unit",
            Kind::CriterionPeriods => "criterion share, period − period",
            Kind::ScoreUnits => "index (scores, Welch), unit − unit",
            Kind::ScorePeriods => "index (scores, Welch), period − period",
            Kind::ScoreUnitsVsIndex => "  same, against true index difference",
            Kind::ScorePeriodsVsIndex => "  same, against true index difference",
            Kind::UnitIndexPrevious => "unit index, previous method",
            Kind::CriterionUnitsPrevious => "criterion share, unit − unit, previous (Wald)",
            Kind::CriterionPeriodsPrevious => "criterion share, period − period, previous (Wald)",
            Kind::CriterionMeanPrevious => "criterion mean score, previous (t)",
        }
    }

    /// Whether this is a method the service no longer publishes (kept for the comparison).
    pub fn previous(self) -> bool {
        matches!(
            self,
            Kind::UnitIndexPrevious
                | Kind::CriterionUnitsPrevious
                | Kind::CriterionPeriodsPrevious
                | Kind::CriterionMeanPrevious
        )
    }

    /// Whether the width is in percentage points (shares) rather than points of the 1..5 scale.
    pub fn in_percent(self) -> bool {
        !matches!(self, Kind::CriterionMean | Kind::CriterionMeanPrevious)
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Study {
    /// Respondents per unit and period.
    pub sizes: Vec<usize>,
    /// Replications per size.
    pub replications: usize,
    pub seed: u64,
}

/// Coverage of one kind of interval at one sample size.
#[derive(Debug, Clone)]
pub struct Row {
    pub kind: Kind,
    pub n: usize,
    /// Intervals scored (pooled over units, pairs and criteria).
    pub intervals: u64,
    /// Replications or samples where the interval was undefined (too few answers).
    pub undefined: u64,
    /// Share of the intervals that contain the true value.
    pub coverage: f64,
    /// Monte-Carlo standard error of `coverage`, from the spread of the per-replication
    /// coverages (the intervals of one replication are not independent).
    pub mc_se: f64,
    /// The unit or pair whose coverage is lowest, and that coverage.
    pub worst: (String, f64),
    /// Mean width.
    pub mean_width: f64,
}

#[derive(Default)]
struct Tally {
    covered: u64,
    total: u64,
    undefined: u64,
    width: f64,
    /// Σ and Σ² of the per-replication coverage, and the number of replications counted.
    rep_sum: f64,
    rep_sum_sq: f64,
    reps: u64,
    rep_covered: u64,
    rep_total: u64,
    by_case: BTreeMap<String, (u64, u64)>,
}

impl Tally {
    fn score(&mut self, case: &str, interval: Option<Interval>, truth: f64) {
        let Some(interval) = interval else {
            self.undefined += 1;
            return;
        };
        let hit = interval.contains(truth);
        self.total += 1;
        self.rep_total += 1;
        self.width += interval.high - interval.low;
        let entry = self.by_case.entry(case.to_string()).or_default();
        entry.1 += 1;
        if hit {
            self.covered += 1;
            self.rep_covered += 1;
            entry.0 += 1;
        }
    }

    fn end_replication(&mut self) {
        if self.rep_total > 0 {
            let f = self.rep_covered as f64 / self.rep_total as f64;
            self.rep_sum += f;
            self.rep_sum_sq += f * f;
            self.reps += 1;
        }
        self.rep_covered = 0;
        self.rep_total = 0;
    }

    fn row(&self, kind: Kind, n: usize) -> Row {
        let coverage = self.covered as f64 / self.total.max(1) as f64;
        let r = self.reps as f64;
        let mc_se = if self.reps > 1 {
            let mean = self.rep_sum / r;
            ((self.rep_sum_sq - r * mean * mean).max(0.0) / (r - 1.0) / r).sqrt()
        } else {
            f64::NAN
        };
        let worst = self
            .by_case
            .iter()
            .map(|(name, (k, t))| (name.clone(), *k as f64 / (*t).max(1) as f64))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or_default();
        Row {
            kind,
            n,
            intervals: self.total,
            undefined: self.undefined,
            coverage,
            mc_se,
            worst,
            mean_width: self.width / self.total.max(1) as f64,
        }
    }
}

/// Runs the study: for each size, `replications` times, a sample of each unit of [`UNITS`]
/// and of each unit's previous period, all scored. Deterministic for a given seed.
pub fn run(study: &Study) -> Vec<Row> {
    let mut rows = Vec::new();
    let before: Vec<UnitModel> = UNITS
        .iter()
        .map(|u| UnitModel {
            name: u.name,
            shift: u.shift - PERIOD_SHIFT,
        })
        .collect();
    let truth = |u: &UnitModel| {
        (
            u.true_shares(),
            u.true_means(),
            u.true_index(),
            u.true_score_mean(),
        )
    };
    let now_truth: Vec<_> = UNITS.iter().map(truth).collect();
    let before_truth: Vec<_> = before.iter().map(truth).collect();
    // Unit pairs compared: each unit with the next one up.
    let pairs: Vec<(usize, usize)> = (1..UNITS.len()).map(|i| (i, i - 1)).collect();
    for (size_number, &n) in study.sizes.iter().enumerate() {
        let mut rng = StdRng::seed_from_u64(study.seed.wrapping_add(size_number as u64));
        let mut tallies: BTreeMap<Kind, Tally> =
            Kind::ALL.iter().map(|&k| (k, Tally::default())).collect();
        for _ in 0..study.replications {
            let now: Vec<Analysis> = UNITS
                .iter()
                .map(|u| analyse(&sample(&mut rng, u.shift, n)))
                .collect();
            let prev: Vec<Analysis> = before
                .iter()
                .map(|u| analyse(&sample(&mut rng, u.shift, n)))
                .collect();
            for (u, (a, t)) in UNITS.iter().zip(now.iter().zip(&now_truth)) {
                for (c, (_, _, stats)) in a.criteria.iter().enumerate() {
                    tally(&mut tallies, Kind::CriterionShare).score(u.name, stats.index_ci, t.0[c]);
                    tally(&mut tallies, Kind::CriterionMean).score(u.name, stats.mean_ci, t.1[c]);
                    let m = &a.code_moments[c];
                    let previous =
                        mean_interval(m.n, m.sum, m.sum_sq, CONFIDENCE).and_then(|e| e.interval);
                    tally(&mut tallies, Kind::CriterionMeanPrevious)
                        .score(u.name, previous, t.1[c]);
                }
                let ci = a.index.and(a.index_ci);
                tally(&mut tallies, Kind::UnitIndex).score(u.name, ci, t.2);
                let previous = a.index.and_then(|i| previous_index_interval(i, &a.scores));
                tally(&mut tallies, Kind::UnitIndexPrevious).score(u.name, previous, t.2);
            }
            let comparisons = pairs
                .iter()
                .map(|&(i, j)| {
                    let name = format!("{} − {}", UNITS[i].name, UNITS[j].name);
                    (name, &now[i], &now[j], &now_truth[i], &now_truth[j], false)
                })
                .chain(UNITS.iter().enumerate().map(|(i, u)| {
                    let name = format!("{} now − before", u.name);
                    (
                        name,
                        &now[i],
                        &prev[i],
                        &now_truth[i],
                        &before_truth[i],
                        true,
                    )
                }));
            for (name, a, b, ta, tb, periods) in comparisons {
                let (share_kind, wald_kind, score_kind, vs_index) = if periods {
                    (
                        Kind::CriterionPeriods,
                        Kind::CriterionPeriodsPrevious,
                        Kind::ScorePeriods,
                        Kind::ScorePeriodsVsIndex,
                    )
                } else {
                    (
                        Kind::CriterionUnits,
                        Kind::CriterionUnitsPrevious,
                        Kind::ScoreUnits,
                        Kind::ScoreUnitsVsIndex,
                    )
                };
                for c in 0..CRITERIA {
                    let (x1, n1, _) = a.criteria[c];
                    let (x2, n2, _) = b.criteria[c];
                    let diff = two_proportions(x1, n1, x2, n2, CONFIDENCE);
                    tally(&mut tallies, share_kind).score(
                        &name,
                        diff.map(|d| d.interval),
                        ta.0[c] - tb.0[c],
                    );
                    tally(&mut tallies, wald_kind).score(
                        &name,
                        previous_two_proportions(x1, n1, x2, n2),
                        ta.0[c] - tb.0[c],
                    );
                }
                let diff = mean_difference(&a.scores, &b.scores, CONFIDENCE).map(|d| d.interval);
                tally(&mut tallies, score_kind).score(&name, diff, ta.3 - tb.3);
                tally(&mut tallies, vs_index).score(&name, diff, ta.2 - tb.2);
            }
            for t in tallies.values_mut() {
                t.end_replication();
            }
        }
        rows.extend(tallies.iter().map(|(&kind, t)| t.row(kind, n)));
    }
    rows.sort_by_key(|r| (r.kind, r.n));
    rows
}

fn tally(tallies: &mut BTreeMap<Kind, Tally>, kind: Kind) -> &mut Tally {
    tallies.entry(kind).or_default()
}

/// The rows as a Markdown table: coverage ± Monte-Carlo standard error, the worst unit or pair,
/// and the mean width (percentage points, or points of the 1..5 scale for the mean score).
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| interval | n | coverage % (± MC s.e.) | lowest unit / pair | mean width |\n\
         |---|---:|---:|---|---:|\n",
    );
    for r in rows {
        let width = if r.kind.in_percent() {
            format!("{:.2} pp", 100.0 * r.mean_width)
        } else {
            format!("{:.3} (1..5)", r.mean_width)
        };
        out.push_str(&format!(
            "| {} | {} | {:.1} ± {:.1} | {} {:.1} | {} |\n",
            r.kind.label(),
            r.n,
            100.0 * r.coverage,
            100.0 * r.mc_se,
            r.worst.0,
            100.0 * r.worst.1,
            width
        ));
    }
    out
}

/// The true values of the study's units (for the documentation).
pub fn truths() -> String {
    let mut out = String::new();
    for u in &UNITS {
        for (label, shift) in [
            ("", u.shift),
            (" (previous period)", u.shift - PERIOD_SHIFT),
        ] {
            let m = UnitModel {
                name: u.name,
                shift,
            };
            out.push_str(&format!(
                "{}{label}: index {:.2}%, mean score {:.2}%, criterion shares {:.1}–{:.1}%\n",
                u.name,
                100.0 * m.true_index(),
                100.0 * m.true_score_mean(),
                100.0
                    * m.true_shares()
                        .iter()
                        .cloned()
                        .fold(f64::INFINITY, f64::min),
                100.0 * m.true_shares().iter().copied().fold(0.0, f64::max),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact mean score agrees with a large simulation of it.
    #[test]
    fn true_score_mean_matches_simulation() {
        let unit = UNITS[1];
        let mut rng = StdRng::seed_from_u64(7);
        let answers = sample(&mut rng, unit.shift, 40_000);
        let a = analyse(&answers);
        let simulated = a.scores.sum / a.scores.n as f64;
        // sd of a score is about 0.25: s.e. of the mean 0.0013.
        assert!(
            (simulated - unit.true_score_mean()).abs() < 0.005,
            "{simulated} vs {}",
            unit.true_score_mean()
        );
        let index = a.index.unwrap();
        assert!((index - unit.true_index()).abs() < 0.005, "{index}");
    }

    /// The generated codes have the true shares and means.
    #[test]
    fn samples_follow_the_model() {
        let unit = UNITS[2];
        let mut rng = StdRng::seed_from_u64(11);
        let a = analyse(&sample(&mut rng, unit.shift, 20_000));
        for (c, (x, n, stats)) in a.criteria.iter().enumerate() {
            let share = *x as f64 / *n as f64;
            assert!(
                (share - unit.true_shares()[c]).abs() < 0.01,
                "criterion {c}"
            );
            assert!((stats.mean.unwrap() - unit.true_means()[c]).abs() < 0.03);
            let na = 1.0 - *n as f64 / 20_000.0;
            assert!(
                (na - NOT_APPLICABLE[c]).abs() < 0.015,
                "criterion {c}: {na}"
            );
        }
    }
}
