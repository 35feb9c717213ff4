//! Checks of every figure against `tests/data/stats/reference.json`, computed independently
//! by `tests/data/stats/reference.py` with scipy, statsmodels and numpy (versions recorded in
//! the file's "provenance").
//!
//! Tolerance: 1e-9 relative, with an absolute floor of 1e-15 so that a bound that is exactly 0
//! here and 1e-17 in Python (or the reverse) still compares equal; p-values are compared
//! relatively only, so that a tiny p-value must be right in its leading digits too.

use serde_json::Value;

use super::*;

const REFERENCE: &str = include_str!("../../../../tests/data/stats/reference.json");
const REL: f64 = 1e-9;
const ABS: f64 = 1e-15;

fn reference() -> Value {
    serde_json::from_str(REFERENCE).expect("reference.json parses")
}

fn cases(name: &str) -> Vec<Value> {
    reference()[name]
        .as_array()
        .unwrap_or_else(|| panic!("reference.json has no array {name}"))
        .clone()
}

#[track_caller]
fn assert_close(actual: f64, expected: f64, what: &str) {
    assert!(actual.is_finite(), "{what}: {actual} is not finite");
    let diff = (actual - expected).abs();
    let scale = actual.abs().max(expected.abs());
    assert!(
        diff <= REL * scale || diff <= ABS,
        "{what}: got {actual:e}, expected {expected:e} (relative error {:e})",
        diff / scale
    );
}

/// Relative comparison without an absolute floor (p-values).
#[track_caller]
fn assert_close_rel(actual: f64, expected: f64, what: &str) {
    assert!(actual.is_finite(), "{what}: {actual} is not finite");
    if expected == 0.0 {
        assert_eq!(actual, 0.0, "{what}");
        return;
    }
    let rel = ((actual - expected) / expected).abs();
    assert!(
        rel <= REL,
        "{what}: got {actual:e}, expected {expected:e} (relative error {rel:e})"
    );
}

#[track_caller]
fn assert_interval(actual: Option<Interval>, expected: &Value, what: &str) {
    if expected.is_null() {
        assert_eq!(actual, None, "{what}: expected no interval");
        return;
    }
    let actual = actual.unwrap_or_else(|| panic!("{what}: expected an interval"));
    assert!(actual.low <= actual.high, "{what}: low above high");
    assert_close(actual.low, f(&expected["low"]), &format!("{what} low"));
    assert_close(actual.high, f(&expected["high"]), &format!("{what} high"));
}

#[track_caller]
fn assert_opt(actual: Option<f64>, expected: &Value, what: &str) {
    match expected.as_f64() {
        None => assert_eq!(actual, None, "{what}: expected None"),
        Some(e) => assert_close(
            actual.unwrap_or_else(|| panic!("{what}: expected {e}")),
            e,
            what,
        ),
    }
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn u(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("not an unsigned integer: {v}"))
}

#[test]
fn reference_records_its_provenance() {
    let r = reference();
    for key in ["numpy", "scipy", "statsmodels", "python", "script"] {
        assert!(
            r["provenance"][key].as_str().is_some_and(|s| !s.is_empty()),
            "provenance.{key}"
        );
    }
}

#[test]
fn wilson_matches_statsmodels() {
    let all = cases("wilson");
    assert!(all.len() >= 10);
    for case in all {
        let (x, n, conf) = (u(&case["x"]), u(&case["n"]), f(&case["confidence"]));
        let got = wilson(x, n, conf);
        assert_interval(got, &case["expected"], &format!("wilson({x}, {n}, {conf})"));
        if let Some(ci) = got {
            // Exact bounds at the edges, whatever the rounding of the formula.
            if x == 0 {
                assert_eq!(ci.low, 0.0);
            }
            if x == n {
                assert_eq!(ci.high, 1.0, "all satisfied: upper bound 1");
            }
        }
    }
    assert_eq!(wilson(0, 0, CONFIDENCE), None);
    assert_eq!(wilson(5, 4, CONFIDENCE), None, "more successes than trials");
}

#[test]
fn mean_interval_matches_scipy() {
    for case in cases("mean_interval") {
        let (n, sum, sum_sq) = (u(&case["n"]), f(&case["sum"]), f(&case["sum_sq"]));
        let conf = f(&case["confidence"]);
        let what = format!("mean_interval(n = {n}, conf = {conf})");
        let got = mean_interval(n, sum, sum_sq, conf);
        let expected = &case["expected"];
        if expected.is_null() {
            assert_eq!(got, None, "{what}");
            continue;
        }
        let got = got.unwrap_or_else(|| panic!("{what}: expected a mean"));
        assert_close(got.mean, f(&expected["mean"]), &format!("{what} mean"));
        assert_interval(got.interval, &expected["interval"], &what);
    }
    // The edges, spelt out.
    assert_eq!(mean_interval(0, 0.0, 0.0, CONFIDENCE), None);
    let single = mean_interval(1, 4.0, 16.0, CONFIDENCE).expect("a mean");
    assert_eq!(single.mean, 4.0);
    assert_eq!(single.interval, None, "one value: no interval");
}

#[test]
fn criterion_matches_reference() {
    for case in cases("criterion") {
        let counts: Vec<(i16, u64)> = case["counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_i64().unwrap() as i16, u(&p[1])))
            .collect();
        let positive: Vec<i16> = case["positive"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_i64().unwrap() as i16)
            .collect();
        let what = format!("criterion({counts:?})");
        let got = criterion(&counts, &positive);
        let e = &case["expected"];
        assert_eq!(got.n_valid, u(&e["n_valid"]), "{what} n_valid");
        let shares = e["shares"].as_array().unwrap();
        assert_eq!(got.shares.len(), shares.len(), "{what} shares");
        for ((code, share), exp) in got.shares.iter().zip(shares) {
            assert_eq!(i64::from(*code), exp[0].as_i64().unwrap(), "{what} order");
            assert_close(*share, f(&exp[1]), &format!("{what} share of {code}"));
        }
        assert_opt(got.mean, &e["mean"], &format!("{what} mean"));
        assert_interval(got.mean_ci, &e["mean_ci"], &format!("{what} mean_ci"));
        assert_opt(got.index, &e["index"], &format!("{what} index"));
        assert_interval(got.index_ci, &e["index_ci"], &format!("{what} index_ci"));
    }
}

#[test]
fn criterion_merges_repeated_codes() {
    let got = criterion(&[(4, 3), (5, 1), (4, 2)], &[4, 5]);
    assert_eq!(got.n_valid, 6);
    assert_eq!(got.shares, vec![(4, 5.0 / 6.0), (5, 1.0 / 6.0)]);
    assert_eq!(got.index, Some(1.0));
}

/// A respondent-level dataset of reference.json, with the figures computed here.
struct Dataset {
    factor_of: Vec<usize>,
    factor_sizes: Vec<usize>,
    /// Respondents × criteria: `Some(code)` for a valid answer.
    answers: Vec<Vec<Option<i16>>>,
}

impl Dataset {
    fn from_json(case: &Value) -> Self {
        let usizes = |v: &Value| -> Vec<usize> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| u(x) as usize)
                .collect()
        };
        Dataset {
            factor_of: usizes(&case["factor_of"]),
            factor_sizes: usizes(&case["factor_sizes"]),
            answers: case["answers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|row| {
                    row.as_array()
                        .unwrap()
                        .iter()
                        .map(|c| c.as_i64().map(|c| c as i16))
                        .collect()
                })
                .collect(),
        }
    }

    /// Criterion indices by [`criterion`] on each criterion's answer counts.
    fn criterion_indices(&self) -> Vec<Option<f64>> {
        (0..self.factor_of.len())
            .map(|c| {
                let counts: Vec<(i16, u64)> = (1..=5)
                    .map(|code| {
                        let k = self.answers.iter().filter(|r| r[c] == Some(code)).count();
                        (code, k as u64)
                    })
                    .collect();
                criterion(&counts, &[4, 5]).index
            })
            .collect()
    }

    /// Per factor, `(share, valid answers)` of its criteria that have an index, as
    /// `reports::unit_report` gives them to [`published_index_interval`].
    fn criterion_shares(&self) -> Vec<Vec<(f64, u64)>> {
        let crit = self.criterion_indices();
        (0..self.factor_sizes.len())
            .map(|fct| {
                (0..self.factor_of.len())
                    .filter(|&c| self.factor_of[c] == fct)
                    .filter_map(|c| {
                        let valid = self.answers.iter().filter(|r| r[c].is_some()).count();
                        Some((crit[c]?, valid as u64))
                    })
                    .collect()
            })
            .collect()
    }

    /// Factor indices and the form index by the official rule.
    fn official(&self) -> (Vec<Option<f64>>, Option<f64>) {
        let crit = self.criterion_indices();
        let factors: Vec<Option<f64>> = (0..self.factor_sizes.len())
            .map(|fct| {
                let of_factor: Vec<Option<f64>> = crit
                    .iter()
                    .zip(&self.factor_of)
                    .filter(|&(_, &g)| g == fct)
                    .map(|(&x, _)| x)
                    .collect();
                factor_index(&of_factor)
            })
            .collect();
        let form = form_index(&factors);
        (factors, form)
    }

    fn scores(&self) -> Vec<Option<f64>> {
        self.answers
            .iter()
            .map(|row| {
                let answers: Vec<Option<bool>> = row.iter().map(|a| a.map(|c| c >= 4)).collect();
                respondent_score(&answers, &self.factor_of, &self.factor_sizes)
            })
            .collect()
    }
}

#[test]
fn official_rule_and_scores_match_numpy() {
    let all = cases("datasets");
    assert_eq!(all.len(), 4);
    for case in all {
        let name = case["name"].as_str().unwrap();
        let data = Dataset::from_json(&case);
        let e = &case["expected"];
        for (i, (got, exp)) in data
            .criterion_indices()
            .iter()
            .zip(e["criterion_indices"].as_array().unwrap())
            .enumerate()
        {
            assert_opt(*got, exp, &format!("{name}: criterion {i}"));
        }
        let (factors, form) = data.official();
        for (i, (got, exp)) in factors
            .iter()
            .zip(e["factor_indices"].as_array().unwrap())
            .enumerate()
        {
            assert_opt(*got, exp, &format!("{name}: factor {i}"));
        }
        assert_opt(form, &e["form_index"], &format!("{name}: form index"));

        let scores = data.scores();
        for (i, (got, exp)) in scores
            .iter()
            .zip(e["scores"].as_array().unwrap())
            .enumerate()
        {
            assert_opt(*got, exp, &format!("{name}: score of respondent {i}"));
        }
        let m: Moments = scores.iter().flatten().copied().collect();
        assert_eq!(m.n, u(&e["n"]), "{name}: respondents with a score");
        assert_close(m.sum, f(&e["sum"]), &format!("{name}: Σs"));
        assert_close(m.sum_sq, f(&e["sum_sq"]), &format!("{name}: Σs²"));
        assert_close(
            m.sum / m.n as f64,
            f(&e["mean_score"]),
            &format!("{name}: mean score"),
        );
        assert_interval(
            index_interval(m.n, m.sum, m.sum_sq, CONFIDENCE),
            &e["interval"],
            &format!("{name}: index interval"),
        );
        let published =
            published_index_interval(form.unwrap(), &m, &data.criterion_shares(), CONFIDENCE);
        assert_interval(
            published,
            &e["published_interval"],
            &format!("{name}: published index interval"),
        );
        let published = published.unwrap();
        assert!(
            published.contains(form.unwrap()),
            "{name}: the published interval holds the index"
        );
        if name.ends_with("complete") {
            let form = form.unwrap();
            assert!(
                (form - m.sum / m.n as f64).abs() <= 1e-12,
                "{name}: all answers valid, so the form index is the mean score"
            );
            let ci = index_interval(m.n, m.sum, m.sum_sq, CONFIDENCE).unwrap();
            assert!(ci.contains(form), "{name}: the interval holds the index");
        }
    }
}

/// The published interval's edge cases: an index of 1 with every score 1 is `[1, 1]`; fewer
/// than two scores, an index outside [0, 1] or a bad confidence give no interval; it stays in
/// (0, 1) and is wider below an index near 100% than above it.
#[test]
fn published_index_interval_edges() {
    let ones: Moments = [1.0; 5].into_iter().collect();
    let all = vec![vec![(1.0, 5)], vec![(1.0, 4)]];
    assert_eq!(
        published_index_interval(1.0, &ones, &all, CONFIDENCE),
        Some(Interval {
            low: 1.0,
            high: 1.0
        })
    );
    let one: Moments = [0.8].into_iter().collect();
    assert_eq!(published_index_interval(0.8, &one, &all, CONFIDENCE), None);
    let scores: Moments = [1.0, 0.9, 0.95, 1.0, 0.7].into_iter().collect();
    let shares = vec![vec![(0.9, 5), (0.95, 4)], vec![(0.9, 5)]];
    assert_eq!(
        published_index_interval(1.2, &scores, &shares, CONFIDENCE),
        None
    );
    assert_eq!(published_index_interval(0.9, &scores, &shares, 1.0), None);
    let ci = published_index_interval(0.91, &scores, &shares, CONFIDENCE).unwrap();
    assert!(0.0 < ci.low && ci.high < 1.0, "{ci:?}");
    assert!(0.91 - ci.low > ci.high - 0.91, "{ci:?}: longer towards 50%");
    // Criteria with fewer valid answers than respondents widen it.
    let complete = vec![vec![(0.9, 5), (0.95, 5)], vec![(0.9, 5)]];
    let narrower = published_index_interval(0.91, &scores, &complete, CONFIDENCE).unwrap();
    assert!(narrower.high - narrower.low < ci.high - ci.low);
}

#[test]
fn index_interval_matches_reference() {
    for case in cases("index_interval") {
        let (n, sum, sum_sq) = (u(&case["n"]), f(&case["sum"]), f(&case["sum_sq"]));
        let conf = f(&case["confidence"]);
        let got = index_interval(n, sum, sum_sq, conf);
        assert_interval(got, &case["expected"], &format!("index_interval({case})"));
        if let Some(ci) = got {
            assert!(0.0 <= ci.low && ci.high <= 1.0, "clipped to [0, 1]");
        }
    }
}

/// A small deterministic generator (64-bit LCG), so that the property test needs no crate.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    /// A satisfaction code 1..=5, skewed towards satisfied like real answers, with a bias per
    /// criterion so that criteria differ.
    fn code(&mut self, bias: u64) -> i16 {
        let r = (self.next() % 100 + bias) % 100;
        match r {
            0..=4 => 1,
            5..=11 => 2,
            12..=24 => 3,
            25..=69 => 4,
            _ => 5,
        }
    }
}

/// The property the interval method relies on: with every answer valid, the official index
/// (criterion → factor → form) equals the mean of the respondents' scores, whatever the
/// factor structure and the answers.
#[test]
fn official_index_equals_mean_score_when_all_answers_are_valid() {
    let structures: [&[usize]; 4] = [&[4, 4, 5, 3, 3], &[1, 7], &[3], &[2, 1, 6, 2]];
    let mut rng = Lcg(20_231_211);
    for sizes in structures {
        let factor_of: Vec<usize> = sizes
            .iter()
            .enumerate()
            .flat_map(|(fct, &k)| std::iter::repeat_n(fct, k))
            .collect();
        for respondents in [1, 2, 7, 30, 250] {
            let answers: Vec<Vec<Option<i16>>> = (0..respondents)
                .map(|_| {
                    (0..factor_of.len())
                        .map(|c| Some(rng.code(c as u64 * 13)))
                        .collect()
                })
                .collect();
            let data = Dataset {
                factor_of: factor_of.clone(),
                factor_sizes: sizes.to_vec(),
                answers,
            };
            let (_, form) = data.official();
            let m: Moments = data.scores().into_iter().map(Option::unwrap).collect();
            let form = form.unwrap();
            assert!(
                (form - m.sum / m.n as f64).abs() <= 1e-12,
                "{sizes:?}, {respondents} respondents: {form} vs {}",
                m.sum / m.n as f64
            );
        }
    }
}

/// With a criterion that nobody answered, counting in n(f) only the answered criteria (as the
/// module documentation recommends) keeps the equality.
#[test]
fn unanswered_criterion_keeps_equality_with_adjusted_sizes() {
    let factor_of = vec![0, 0, 0, 1, 1];
    let mut rng = Lcg(7);
    let answers: Vec<Vec<Option<i16>>> = (0..40)
        .map(|_| {
            (0..5)
                .map(|c| (c != 2).then(|| rng.code(c as u64 * 29)))
                .collect()
        })
        .collect();
    let data = Dataset {
        factor_of: factor_of.clone(),
        factor_sizes: vec![2, 2], // criterion 2 of factor 0 has no valid answer
        answers,
    };
    let (_, form) = data.official();
    let m: Moments = data.scores().into_iter().map(Option::unwrap).collect();
    assert!((form.unwrap() - m.sum / m.n as f64).abs() <= 1e-12);
}

#[test]
fn respondent_score_edges() {
    let factor_of = [0, 0, 1];
    let sizes = [2, 1];
    // No valid answer.
    assert_eq!(
        respondent_score(&[None, None, None], &factor_of, &sizes),
        None
    );
    // Weights 1/4, 1/4, 1/2.
    assert_eq!(
        respondent_score(&[Some(true), Some(false), Some(true)], &factor_of, &sizes),
        Some(0.75)
    );
    // Renormalised over the two valid answers: (1/4) / (1/4 + 1/2).
    let s = respondent_score(&[Some(true), None, Some(false)], &factor_of, &sizes).unwrap();
    assert!((s - 1.0 / 3.0).abs() < 1e-15);
    // Inconsistent structures are refused, not guessed.
    assert_eq!(respondent_score(&[Some(true)], &[5], &sizes), None);
    assert_eq!(respondent_score(&[Some(true)], &[0], &[0]), None);
    // A factor of size 0 without valid answers is fine (a whole factor unanswered).
    assert_eq!(
        respondent_score(&[Some(true), None], &[0, 1], &[1, 0]),
        Some(1.0)
    );
}

#[test]
fn aggregation_leaves_out_missing_indices() {
    assert_eq!(factor_index(&[]), None);
    assert_eq!(factor_index(&[None, None]), None);
    assert_eq!(factor_index(&[Some(0.5), None, Some(1.0)]), Some(0.75));
    assert_eq!(factor_index(&[Some(f64::NAN), Some(0.4)]), Some(0.4));
    assert_eq!(
        form_index(&[Some(0.8), Some(0.9), None]),
        Some(0.8500000000000001)
    );
    assert_eq!(form_index(&[None]), None);
}

#[test]
fn chi_square_matches_scipy() {
    for case in cases("chi_square") {
        let table: Vec<(u64, u64)> = case["table"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (u(&r[0]), u(&r[1])))
            .collect();
        let what = format!("chi_square({table:?}, {})", case["note"]);
        let got = chi_square_independence(&table);
        let e = &case["expected"];
        if e.is_null() {
            assert_eq!(got, None, "{what}");
            continue;
        }
        let got = got.unwrap_or_else(|| panic!("{what}: expected a result"));
        assert_close(
            got.statistic,
            f(&e["statistic"]),
            &format!("{what} statistic"),
        );
        assert_eq!(got.df, u(&e["df"]), "{what} df");
        assert_close_rel(got.p_value, f(&e["p_value"]), &format!("{what} p"));
        assert_close(
            got.min_expected,
            f(&e["min_expected"]),
            &format!("{what} min E"),
        );
    }
}

#[test]
fn two_proportions_matches_statsmodels() {
    for case in cases("two_proportions") {
        let (x1, n1, x2, n2) = (
            u(&case["x1"]),
            u(&case["n1"]),
            u(&case["x2"]),
            u(&case["n2"]),
        );
        let conf = f(&case["confidence"]);
        let what = format!("two_proportions({x1}/{n1}, {x2}/{n2}, {conf})");
        let got = two_proportions(x1, n1, x2, n2, conf);
        let e = &case["expected"];
        if e.is_null() {
            assert_eq!(got, None, "{what}");
            continue;
        }
        let got = got.unwrap_or_else(|| panic!("{what}: expected a result"));
        assert_close(got.difference, f(&e["difference"]), &format!("{what} d"));
        assert_interval(Some(got.interval), &e["interval"], &what);
        assert_close(got.z, f(&e["z"]), &format!("{what} z"));
        assert_close_rel(got.p_value, f(&e["p_value"]), &format!("{what} p"));
    }
    assert_eq!(two_proportions(3, 2, 1, 2, CONFIDENCE), None);
}

#[test]
fn holm_matches_statsmodels() {
    for case in cases("holm") {
        let p: Vec<f64> = case["p_values"].as_array().unwrap().iter().map(f).collect();
        let expected: Vec<f64> = case["expected"].as_array().unwrap().iter().map(f).collect();
        let got = holm(&p);
        assert_eq!(got.len(), expected.len());
        for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
            assert_close(*g, *e, &format!("holm({p:?})[{i}]"));
            assert!(
                *g <= 1.0 && *g >= p[i],
                "capped at 1, never below the raw value"
            );
        }
        // Monotone: a smaller raw p-value never gets a larger adjusted one.
        for i in 0..p.len() {
            for j in 0..p.len() {
                if p[i] < p[j] {
                    assert!(got[i] <= got[j]);
                }
            }
        }
    }
    assert_eq!(holm(&[0.5, 0.6, 0.9]), vec![1.0, 1.0, 1.0]);
    assert_eq!(holm(&[f64::NAN, 0.01]), vec![1.0, 0.02]);
}

#[test]
fn rank_matches_scipy() {
    for case in cases("rank") {
        let values: Vec<Option<f64>> = case["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(Value::as_f64)
            .collect();
        let expected: Vec<Option<u32>> = case["expected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_u64().map(|r| r as u32))
            .collect();
        assert_eq!(rank_descending(&values), expected, "rank({values:?})");
    }
    assert_eq!(
        rank_descending(&[Some(0.9), Some(f64::NAN), Some(0.95)]),
        vec![Some(2), None, Some(1)]
    );
}

#[test]
fn enough_sample_follows_the_30_forms_rule_and_the_target() {
    assert!(!enough_sample(0, None));
    assert!(!enough_sample(29, None));
    assert!(enough_sample(30, None));
    assert!(enough_sample(30, Some(30)));
    assert!(!enough_sample(89, Some(90)));
    assert!(enough_sample(90, Some(90)));
    assert!(
        !enough_sample(29, Some(10)),
        "30 forms at least, whatever the target"
    );
}

#[test]
fn percentages_are_published_with_two_decimals_and_a_comma() {
    assert_eq!(round_percent(0.8266), 82.66);
    assert_eq!(round_percent(0.839_44), 83.94);
    assert_eq!(round_percent(0.826_649_9), 82.66);
    assert_eq!(round_percent(0.826_651), 82.67);
    assert_eq!(format_percent(0.8266), "82,66%");
    assert_eq!(format_percent(0.839_44), "83,94%");
    assert_eq!(format_percent(1.0), "100,00%");
    assert_eq!(format_percent(0.0), "0,00%");
    assert_eq!(format_percent(0.05), "5,00%");
    assert_eq!(format_percent(-0.0123), "-1,23%");
    assert_eq!(format_percent(-0.000_01), "0,00%");
    assert_eq!(format_percent(f64::NAN), "—");
}

#[test]
fn invalid_confidence_gives_none() {
    for conf in [0.0, 1.0, -0.5, 1.5, f64::NAN] {
        assert_eq!(wilson(5, 10, conf), None);
        assert_eq!(mean_interval(5, 20.0, 90.0, conf), None);
        assert_eq!(index_interval(5, 3.0, 2.0, conf), None);
        assert_eq!(two_proportions(5, 10, 6, 10, conf), None);
    }
}

#[test]
fn t_critical_matches_scipy_at_any_sample_size() {
    for case in cases("t_quantile") {
        let (df, conf) = (u(&case["df"]), f(&case["confidence"]));
        let got = t_critical(conf, df).expect("a quantile");
        assert_close(got, f(&case["expected"]), &format!("t({df}, {conf})"));
    }
    assert_eq!(t_critical(CONFIDENCE, 0), None);
}

#[test]
fn mean_difference_matches_scipy_welch() {
    let moments = |v: &Value| Moments {
        n: u(&v["n"]),
        sum: f(&v["sum"]),
        sum_sq: f(&v["sum_sq"]),
    };
    for case in cases("mean_difference") {
        let (a, b) = (moments(&case["a"]), moments(&case["b"]));
        let conf = f(&case["confidence"]);
        let what = format!("mean_difference(n={}, n={}, {conf})", a.n, b.n);
        let got = mean_difference(&a, &b, conf);
        let e = &case["expected"];
        if e.is_null() {
            assert_eq!(got, None, "{what}");
            continue;
        }
        let got = got.unwrap_or_else(|| panic!("{what}: expected a result"));
        assert_close(got.difference, f(&e["difference"]), &format!("{what} d"));
        assert_interval(Some(got.interval), &e["interval"], &what);
        assert_close(got.t, f(&e["t"]), &format!("{what} t"));
        assert_close(got.df, f(&e["df"]), &format!("{what} df"));
        assert_close_rel(got.p_value, f(&e["p_value"]), &format!("{what} p"));
    }
}
