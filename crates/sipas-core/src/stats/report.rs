//! Reliability flags and the rounding of published figures.

/// Minimum number of forms behind a figure for it to be reported as reliable; below it the
/// figure is flagged "chưa đủ mẫu" (not enough forms).
pub const MIN_RELIABLE_SAMPLE: u64 = 30;

/// Whether `n` forms are enough for a reliable figure: at least [`MIN_RELIABLE_SAMPLE`] and at
/// least the plan's target for the unit when there is one. `false` means "chưa đủ mẫu".
pub fn enough_sample(n: u64, target: Option<u64>) -> bool {
    n >= MIN_RELIABLE_SAMPLE && target.is_none_or(|t| n >= t)
}

/// An index (a share, 0..=1) as a percentage rounded to two decimals, as published: 0.826_63
/// gives 82.66. Rounds half away from zero on the binary value of `index · 10 000`. Also
/// fits a difference of shares (a negative value gives a negative percentage).
pub fn round_percent(index: f64) -> f64 {
    (index * 10_000.0).round() / 100.0
}

/// An index (a share, 0..=1) as published in Vietnamese: a percentage with two decimals and a
/// decimal comma, "82,66%". The digits are those of [`round_percent`]. A value that is not
/// finite gives "—".
pub fn format_percent(index: f64) -> String {
    if !index.is_finite() {
        return "—".to_owned();
    }
    let rounded = round_percent(index);
    // Avoid "-0,00%" for a tiny negative difference.
    let rounded = if rounded == 0.0 { 0.0 } else { rounded };
    format!("{rounded:.2}%").replace('.', ",")
}
