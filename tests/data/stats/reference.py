#!/usr/bin/env python3
"""Independent reference values for sipas's `crates/sipas-core/src/stats` module.

Run from anywhere with scipy, statsmodels and numpy installed:

    pip install scipy statsmodels
    python3 tests/data/stats/reference.py

It writes `reference.json` beside itself. The Rust unit tests in `crates/sipas-core/src/stats/tests.rs` read that
file (via `include_str!`), so CI needs neither Python nor these packages; the versions used are
recorded in the JSON under "provenance".

Nothing here reuses the Rust code: every figure comes from scipy / statsmodels / numpy, or (for
the few cases those libraries leave undefined, e.g. a zero-variance t interval) from the
definition stated next to the case in "note".
"""

import json
import math
import pathlib
import platform
import sys
import warnings

import numpy as np
import scipy
import statsmodels
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint, proportions_ztest

OUT = pathlib.Path(__file__).with_name("reference.json")


def f(x):
    """A float for JSON (numpy scalars to Python floats); NaN is never written."""
    x = float(x)
    assert math.isfinite(x), x
    return x


def interval(low, high):
    return {"low": f(low), "high": f(high)}


# --------------------------------------------------------------------------------------------
# Wilson score interval (statsmodels)
# --------------------------------------------------------------------------------------------
def wilson_cases():
    cases = []
    for x, n, conf in [
        (5, 10, 0.95),
        (0, 10, 0.95),  # x = 0: lower bound 0
        (10, 10, 0.95),  # all satisfied: upper bound 1
        (1, 1, 0.95),
        (0, 1, 0.95),
        (826, 1000, 0.95),
        (29, 30, 0.95),
        (150, 200, 0.95),
        (1, 2, 0.90),
        (17, 40, 0.99),
        (839_440, 1_000_000, 0.95),
    ]:
        low, high = proportion_confint(x, n, alpha=1 - conf, method="wilson")
        cases.append({"x": x, "n": n, "confidence": conf, "expected": interval(low, high)})
    cases.append({"x": 0, "n": 0, "confidence": 0.95, "expected": None, "note": "n = 0: undefined"})
    return cases


# --------------------------------------------------------------------------------------------
# Student t interval of a mean, from raw values (scipy)
# --------------------------------------------------------------------------------------------
def t_interval(values, conf):
    """(mean, interval or None) of the values, by scipy.stats.t.interval."""
    v = np.asarray(values, dtype=float)
    n = v.size
    if n == 0:
        return None
    mean = v.mean()
    if n == 1:
        return mean, None
    sem = stats.sem(v)  # ddof = 1
    if sem == 0:
        # scipy refuses scale = 0; by definition the interval collapses onto the mean.
        return mean, interval(mean, mean)
    low, high = stats.t.interval(conf, n - 1, loc=mean, scale=sem)
    return mean, interval(low, high)


def expand(counts):
    return np.repeat([c for c, _ in counts], [k for _, k in counts]).astype(float)


def moments(values):
    v = np.asarray(values, dtype=float)
    return {"n": int(v.size), "sum": f(v.sum()) if v.size else 0.0, "sum_sq": f((v**2).sum()) if v.size else 0.0}


def mean_interval_cases():
    cases = []
    raw = [
        ([4, 5, 3, 4, 4, 5, 2, 4], 0.95, None),
        ([5], 0.95, "n = 1: mean only, no interval"),
        ([], 0.95, "n = 0: nothing"),
        ([4, 4, 4, 4], 0.95, "zero variance: interval = [mean, mean] by definition"),
        ([1, 5], 0.95, None),
        ([2.5, 3.25, 4.0, 4.75, 1.5, 3.0], 0.99, None),
        ([1, 2, 3, 4, 5, 5, 4, 3], 0.90, None),
    ]
    for values, conf, note in raw:
        r = t_interval(values, conf)
        case = dict(moments(values), confidence=conf)
        case["expected"] = None if r is None else {"mean": f(r[0]), "interval": r[1]}
        if note:
            case["note"] = note
        cases.append(case)
    # Large samples given as counts per scale code (df up to about a million).
    for counts, conf in [
        ([(1, 12), (2, 30), (3, 150), (4, 500), (5, 308)], 0.95),
        ([(1, 20_000), (2, 40_000), (3, 100_000), (4, 540_000), (5, 300_000)], 0.95),
        ([(1, 1), (2, 50), (3, 100), (4, 550), (5, 300)], 0.99),
        ([(1, 200_000), (2, 400_000), (3, 1_000_000), (4, 5_400_000), (5, 3_000_000)], 0.90),
    ]:
        v = expand(counts)
        r = t_interval(v, conf)
        case = dict(moments(v), confidence=conf)
        case["expected"] = {"mean": f(r[0]), "interval": r[1]}
        cases.append(case)
    return cases


def t_quantile_cases():
    """Two-sided critical values of Student's t, around and far beyond 1000 degrees of freedom."""
    cases = []
    for df in [1, 2, 5, 29, 59, 100, 999, 1000, 5000, 29_999, 999_999, 10_000_000]:
        for conf in [0.9, 0.95, 0.99]:
            cases.append({"df": df, "confidence": conf, "expected": f(stats.t.ppf(0.5 + conf / 2, df))})
    return cases


def bounded_mean_interval(values, low, high, conf):
    """(mean, interval or None) of values bounded by the scale's codes low..high: the Student t
    interval (scipy) of logit((mean - low) / (high - low)), se = sd / (sqrt(n) (high - low)
    u (1 - u)), transformed back (scipy.special); at a bound or without spread, the t interval
    clipped to [low, high]."""
    from scipy.special import expit, logit

    v = np.asarray(values, dtype=float)
    n = v.size
    mean = v.mean()
    if n < 2:
        return mean, None
    sd = v.std(ddof=1)
    u = (mean - low) / (high - low)
    if sd == 0 or u <= 0 or u >= 1:
        return t_interval(values, conf)[0], interval(mean, mean)
    t = stats.t.ppf(0.5 + conf / 2, n - 1)
    se = sd / math.sqrt(n) / ((high - low) * u * (1 - u))
    lo = low + (high - low) * expit(logit(u) - t * se)
    hi = low + (high - low) * expit(logit(u) + t * se)
    return mean, interval(lo, hi)


# --------------------------------------------------------------------------------------------
# One criterion from its answer counts
# --------------------------------------------------------------------------------------------
def criterion_cases():
    cases = []
    five = [4, 5]  # "Hài lòng", "Rất hài lòng"
    for counts, positive in [
        ([(1, 2), (2, 3), (3, 10), (4, 25), (5, 20)], five),
        ([(1, 0), (2, 0), (3, 0), (4, 7), (5, 23)], five),  # all satisfied
        ([(1, 4), (2, 6), (3, 5), (4, 0), (5, 0)], five),  # nobody satisfied
        ([(1, 0), (2, 0), (3, 0), (4, 1), (5, 0)], five),  # a single respondent
        ([(1, 0), (2, 0), (3, 0), (4, 0), (5, 0)], five),  # no valid answer
        ([(1, 12), (2, 30), (3, 150), (4, 500), (5, 308)], five),
        # Expectations: 1 "Rất nhiều", 2 "Nhiều", 3 "Ít"; the share answering 1 or 2.
        ([(1, 14), (2, 21), (3, 5)], [1, 2]),
    ]:
        v = expand(counts)
        n = int(v.size)
        case = {"counts": counts, "positive": positive}
        if n == 0:
            case["expected"] = {
                "n_valid": 0,
                "shares": [[c, 0.0] for c, _ in counts],
                "mean": None,
                "mean_ci": None,
                "index": None,
                "index_ci": None,
            }
            case["note"] = "no valid answer: shares 0, no mean, no index"
            cases.append(case)
            continue
        mean, mean_ci = bounded_mean_interval(v, min(c for c, _ in counts), max(c for c, _ in counts), 0.95)
        x = int(np.isin(v, positive).sum())
        low, high = proportion_confint(x, n, alpha=0.05, method="wilson")
        case["expected"] = {
            "n_valid": n,
            "shares": [[c, f(k / n)] for c, k in counts],
            "mean": f(mean),
            "mean_ci": mean_ci,
            "index": f(x / n),
            "index_ci": interval(low, high),
        }
        cases.append(case)
    return cases


# --------------------------------------------------------------------------------------------
# Official aggregation and respondent scores, on explicit respondent-level data
# --------------------------------------------------------------------------------------------
def official_index(answers, factor_of, n_factors, positive=(4, 5)):
    """Criterion index -> factor index (mean) -> form index (mean), numpy on the answer matrix.

    answers: respondents x criteria, codes 1..5, None for not valid (left out).
    """
    a = np.array([[np.nan if c is None else c for c in row] for row in answers], dtype=float)
    valid = ~np.isnan(a)
    sat = np.isin(a, positive) & valid
    n_valid = valid.sum(axis=0)
    crit = [float(sat[:, i].sum() / n_valid[i]) if n_valid[i] else None for i in range(a.shape[1])]
    factors = []
    for fct in range(n_factors):
        vals = [crit[i] for i in range(len(crit)) if factor_of[i] == fct and crit[i] is not None]
        factors.append(float(np.mean(vals)) if vals else None)
    present = [x for x in factors if x is not None]
    form = float(np.mean(present)) if present else None
    return crit, factors, form


def respondent_scores(answers, factor_of, factor_sizes, positive=(4, 5)):
    """s_i = sum over valid answers of w_c * satisfied / sum of w_c, w_c = 1 / (F * n_f(c))."""
    F = len(factor_sizes)
    w = np.array([1.0 / (F * factor_sizes[factor_of[c]]) for c in range(len(factor_of))])
    scores = []
    for row in answers:
        valid = np.array([c is not None for c in row])
        sat = np.array([c is not None and c in positive for c in row], dtype=float)
        den = w[valid].sum()
        scores.append(float((w * sat)[valid].sum() / den) if valid.any() else None)
    return scores


def index_interval_from_scores(scores, conf):
    s = np.asarray(scores, dtype=float)
    if s.size < 2:
        return None
    mean = s.mean()
    sd = s.std(ddof=1)
    if sd == 0:
        return interval(mean, mean)
    t = stats.t.ppf(0.5 + conf / 2, s.size - 1)
    half = t * sd / math.sqrt(s.size)
    # A share lies in [0, 1]: the interval is clipped to it.
    return interval(np.clip(mean - half, 0, 1), np.clip(mean + half, 0, 1))


def published_interval(answers, factor_of, n_factors, scores, conf, positive=(4, 5)):
    """The published interval of the SIPAS index, computed from the answer matrix.

    Variance of the index: the variance of the mean of the respondents' scores, plus for each
    criterion c with a valid answer w_c^2 p_c (1 - p_c) (1/N_c - 1/n) (the extra sampling
    variance of a share counted over N_c < n valid answers), w_c = 1 / (F * n_f) over the
    factors and criteria that have an index. The interval is the Student t interval (n - 1 df)
    of logit(index), se = sqrt(var) / (index (1 - index)), transformed back (scipy.special).
    """
    from scipy.special import expit, logit

    s = np.asarray([x for x in scores if x is not None], dtype=float)
    if s.size < 2:
        return None
    n = s.size
    a = np.array([[np.nan if c is None else c for c in row] for row in answers], dtype=float)
    valid = ~np.isnan(a)
    sat = np.isin(a, positive) & valid
    n_valid = valid.sum(axis=0)
    present = [i for i in range(a.shape[1]) if n_valid[i] > 0]
    facs = sorted({factor_of[i] for i in present})
    crit, _, index = official_index(answers, factor_of, n_factors, positive)
    var = s.var(ddof=1) / n
    for i in present:
        k = sum(1 for j in present if factor_of[j] == factor_of[i])
        w = 1.0 / (len(facs) * k)
        p = crit[i]
        var += w * w * p * (1 - p) * max(0.0, 1.0 / n_valid[i] - 1.0 / n)
    t = stats.t.ppf(0.5 + conf / 2, n - 1)
    if var <= 0 or index <= 0 or index >= 1:
        half = t * math.sqrt(max(var, 0.0))
        return interval(max(index - half, 0.0), min(index + half, 1.0))
    se = math.sqrt(var) / (index * (1 - index))
    return interval(expit(logit(index) - t * se), expit(logit(index) + t * se))


def dataset_case(name, answers, factor_of, factor_sizes, note=None):
    crit, factors, form = official_index(answers, factor_of, len(factor_sizes))
    scores = respondent_scores(answers, factor_of, factor_sizes)
    present = np.array([s for s in scores if s is not None], dtype=float)
    case = {
        "name": name,
        "factor_of": factor_of,
        "factor_sizes": factor_sizes,
        "answers": answers,
        "expected": {
            "criterion_indices": crit,
            "factor_indices": factors,
            "form_index": form,
            "scores": scores,
            "n": int(present.size),
            "sum": f(present.sum()),
            "sum_sq": f((present**2).sum()),
            "mean_score": f(present.mean()),
            "interval": index_interval_from_scores(present, 0.95),
            "published_interval": published_interval(answers, factor_of, len(factor_sizes), scores, 0.95),
        },
    }
    if note:
        case["note"] = note
    return case


def datasets():
    out = []
    # 1. Small, every answer valid: 3 factors of 2, 3 and 2 criteria, 10 respondents.
    factor_of = [0, 0, 1, 1, 1, 2, 2]
    sizes = [2, 3, 2]
    complete = [
        [4, 5, 3, 4, 4, 2, 5],
        [5, 5, 4, 4, 5, 4, 4],
        [3, 4, 2, 3, 4, 3, 3],
        [4, 4, 4, 5, 4, 4, 5],
        [2, 3, 3, 2, 1, 3, 2],
        [5, 4, 5, 5, 5, 5, 5],
        [4, 3, 4, 4, 3, 4, 4],
        [1, 2, 4, 5, 4, 2, 3],
        [4, 4, 3, 4, 5, 5, 4],
        [5, 5, 5, 4, 4, 4, 1],
    ]
    c = dataset_case("small complete", complete, factor_of, sizes)
    assert math.isclose(c["expected"]["form_index"], c["expected"]["mean_score"], rel_tol=1e-12)
    out.append(c)
    # 2. The same with missing answers ("Không trả lời"): the mean of scores is then only close
    #    to the official index. Respondent 9 answers nothing valid (score None, left out); the
    #    last criterion has no valid answer at all (left out of its factor).
    missing = [list(r) for r in complete]
    for r, cidx in [(0, 1), (2, 4), (3, 0), (3, 5), (6, 2), (7, 3), (8, 5)]:
        missing[r][cidx] = None
    missing[9] = [None] * 7
    for r in range(10):
        missing[r][6] = None
    out.append(
        dataset_case(
            "small with missing",
            missing,
            factor_of,
            sizes,
            note="missing answers: mean of scores approximates the official index",
        )
    )
    # 3. The QĐ 1001 service part: 5 factors of 4, 4, 5, 3, 3 criteria; 60 respondents drawn
    #    with a fixed seed (the drawn answers are stored, so the seed only matters for rerunning).
    sizes = [4, 4, 5, 3, 3]
    factor_of = [fct for fct, k in enumerate(sizes) for _ in range(k)]
    rng = np.random.default_rng(20231211)
    p = [0.04, 0.08, 0.13, 0.45, 0.30]
    full = [[int(x) for x in rng.choice([1, 2, 3, 4, 5], size=len(factor_of), p=p)] for _ in range(60)]
    c = dataset_case("QĐ 1001 complete", full, factor_of, sizes)
    assert math.isclose(c["expected"]["form_index"], c["expected"]["mean_score"], rel_tol=1e-12)
    out.append(c)
    holes = [list(r) for r in full]
    mask = rng.random((60, len(factor_of))) < 0.1
    for r in range(60):
        for cidx in range(len(factor_of)):
            if mask[r, cidx]:
                holes[r][cidx] = None
    out.append(
        dataset_case(
            "QĐ 1001 with missing",
            holes,
            factor_of,
            sizes,
            note="about 10% missing answers",
        )
    )
    return out


def index_interval_cases():
    cases = []
    for scores, conf, note in [
        ([1.0, 1.0, 1.0, 0.9], 0.95, "upper bound clipped to 1"),
        ([0.0, 0.1, 0.0, 0.0], 0.95, "lower bound clipped to 0"),
        ([0.5, 0.75, 1.0, 0.25, 0.6], 0.95, None),
        ([0.5, 0.75, 1.0, 0.25, 0.6], 0.90, None),
        ([0.8], 0.95, "a single respondent: no interval"),
        ([], 0.95, "no respondent"),
        ([0.7, 0.7, 0.7], 0.95, "zero variance: [mean, mean]"),
    ]:
        case = dict(moments(scores), confidence=conf, expected=index_interval_from_scores(scores, conf))
        if note:
            case["note"] = note
        cases.append(case)
    return cases


# --------------------------------------------------------------------------------------------
# Chi-square test of independence (scipy, no continuity correction)
# --------------------------------------------------------------------------------------------
def chi_square_cases():
    cases = []
    for table, note in [
        ([(45, 15), (30, 30)], "2x2"),
        ([(25, 5), (22, 8), (18, 12), (27, 3), (20, 10)], "5x2"),
        ([(20, 10), (0, 0), (15, 15)], "a row of zeros is left out (scipy is given the other rows)"),
        ([(900, 100), (700, 300)], "very small p-value"),
        ([(10, 10), (20, 20), (5, 5)], "identical proportions: statistic 0, p 1"),
        ([(3, 1), (1, 3)], "small expected counts"),
    ]:
        rows = [r for r in table if r[0] + r[1] > 0]
        stat, p, dof, expected = stats.chi2_contingency(np.array(rows), correction=False)
        cases.append(
            {
                "table": table,
                "note": note,
                "expected": {
                    "statistic": f(stat),
                    "df": int(dof),
                    "p_value": f(p),
                    "min_expected": f(expected.min()),
                },
            }
        )
    for table, note in [
        ([(10, 0), (20, 0)], "a column total of 0"),
        ([(10, 5)], "one row"),
        ([(10, 5), (0, 0)], "one row with data"),
        ([], "empty"),
    ]:
        cases.append({"table": table, "note": note, "expected": None})
    return cases


# --------------------------------------------------------------------------------------------
# Two proportions: Newcombe's hybrid score interval of the difference, pooled z test (statsmodels)
# --------------------------------------------------------------------------------------------
def two_proportion_cases():
    cases = []
    for x1, n1, x2, n2, conf in [
        (45, 60, 30, 60, 0.95),
        (826, 1000, 790, 1000, 0.95),
        (0, 10, 5, 10, 0.95),
        (30, 30, 20, 30, 0.95),
        (25, 30, 28, 35, 0.90),
        (839_440, 1_000_000, 826_600, 1_000_000, 0.95),
        (12, 40, 30, 45, 0.99),
    ]:
        p1, p2 = x1 / n1, x2 / n2
        d = p1 - p2
        low, high = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff", alpha=1 - conf)
        z, p = proportions_ztest([x1, x2], [n1, n2])
        cases.append(
            {
                "x1": x1, "n1": n1, "x2": x2, "n2": n2, "confidence": conf,
                "expected": {"difference": f(d), "interval": interval(low, high), "z": f(z), "p_value": f(p)},
            }
        )
    # Both proportions 1 (or both 0): the pooled variance is 0 and statsmodels returns NaN for
    # the test; by definition the difference is 0, z = 0 and p = 1. The interval is Newcombe's.
    for x1, n1, x2, n2 in [(30, 30, 40, 40), (0, 12, 0, 15)]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            z, _ = proportions_ztest([x1, x2], [n1, n2])
        assert not math.isfinite(z)
        low, high = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
        cases.append(
            {
                "x1": x1, "n1": n1, "x2": x2, "n2": n2, "confidence": 0.95,
                "expected": {"difference": 0.0, "interval": interval(low, high), "z": 0.0, "p_value": 1.0},
                "note": "pooled variance 0: statsmodels gives NaN; z = 0, p = 1 by definition",
            }
        )
    for x1, n1, x2, n2 in [(0, 0, 5, 10), (5, 10, 0, 0)]:
        cases.append({"x1": x1, "n1": n1, "x2": x2, "n2": n2, "confidence": 0.95, "expected": None})
    return cases


# --------------------------------------------------------------------------------------------
# Holm–Bonferroni (statsmodels)
# --------------------------------------------------------------------------------------------
def holm_cases():
    cases = []
    for p in [
        [0.01, 0.04, 0.03, 0.005],
        [0.5, 0.6, 0.9],  # all capped at 1
        [0.02, 0.02, 0.04],  # ties
        [0.0, 1.0, 0.3, 0.001, 0.2, 0.049],
        [0.01],
        [0.04, 0.01, 0.03, 0.02, 0.05, 0.9, 0.0001, 0.012, 0.3, 0.25],
    ]:
        _, adj, _, _ = multipletests(p, method="holm")
        cases.append({"p_values": p, "expected": [f(x) for x in adj]})
    cases.append({"p_values": [], "expected": []})
    return cases


# --------------------------------------------------------------------------------------------
# Competition ranking, highest first (scipy rankdata 'min' on negated values)
# --------------------------------------------------------------------------------------------
def rank_cases():
    cases = []
    for values in [
        [0.8, 0.9, 0.9, 0.7, None, 0.8],
        [0.8266, 0.8394, 0.95, 0.61],
        [0.5, 0.5, 0.5],
        [None, None],
        [],
        [1.0, None, 0.0, 1.0, 0.0],
    ]:
        present = [(i, v) for i, v in enumerate(values) if v is not None]
        ranks = [None] * len(values)
        if present:
            r = stats.rankdata([-v for _, v in present], method="min")
            for (i, _), k in zip(present, r):
                ranks[i] = int(k)
        cases.append({"values": values, "expected": ranks})
    return cases


# --------------------------------------------------------------------------------------------
# Welch's difference of two means from moments (scipy ttest_ind_from_stats, equal_var=False)
# --------------------------------------------------------------------------------------------
def mean_difference_cases():
    cases = []
    rng = np.random.default_rng(20261127)
    for n1, n2, conf in [(40, 55, 0.95), (12, 9, 0.95), (300, 310, 0.95), (5000, 4000, 0.99), (2, 3, 0.90)]:
        a = np.clip(rng.normal(0.82, 0.2, n1), 0, 1)
        b = np.clip(rng.normal(0.76, 0.25, n2), 0, 1)
        ma, mb = moments(list(a)), moments(list(b))
        sa, sb = a.std(ddof=1), b.std(ddof=1)
        t, p = stats.ttest_ind_from_stats(a.mean(), sa, n1, b.mean(), sb, n2, equal_var=False)
        va, vb = sa**2 / n1, sb**2 / n2
        df = (va + vb) ** 2 / (va**2 / (n1 - 1) + vb**2 / (n2 - 1))
        half = stats.t.ppf(0.5 + conf / 2, df) * math.sqrt(va + vb)
        d = a.mean() - b.mean()
        cases.append(
            {
                "a": ma, "b": mb, "confidence": conf,
                "expected": {"difference": f(d), "interval": interval(d - half, d + half), "t": f(t), "df": f(df), "p_value": f(p)},
            }
        )
    cases.append({"a": moments([0.5]), "b": moments([0.4, 0.6]), "confidence": 0.95, "expected": None})
    cases.append({"a": moments([1.0, 1.0]), "b": moments([1.0, 1.0, 1.0]), "confidence": 0.95, "expected": None})
    return cases


def main():
    ref = {
        "provenance": {
            "script": "tests/data/stats/reference.py",
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "statsmodels": statsmodels.__version__,
        },
        "wilson": wilson_cases(),
        "t_quantile": t_quantile_cases(),
        "mean_interval": mean_interval_cases(),
        "criterion": criterion_cases(),
        "datasets": datasets(),
        "index_interval": index_interval_cases(),
        "chi_square": chi_square_cases(),
        "two_proportions": two_proportion_cases(),
        "holm": holm_cases(),
        "rank": rank_cases(),
        "mean_difference": mean_difference_cases(),
    }
    OUT.write_text(json.dumps(ref, indent=1, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
