//! The annual survey plan's arithmetic and vocabulary, free of I/O: the sample size rule, the
//! period presets of a year, which period is running, progress status, and reading dates and
//! numbers as they are typed in Vietnam.

use chrono::{Datelike, NaiveDate};

/// The margin of error proposed for a new plan.
pub const DEFAULT_MARGIN: f64 = 0.05;
/// The margins of error a plan accepts (inclusive).
pub const MIN_MARGIN: f64 = 0.01;
pub const MAX_MARGIN: f64 = 0.2;
/// The years a plan may be for (the database accepts 2000..=2100).
pub const MIN_YEAR: i32 = 2000;
pub const MAX_YEAR: i32 = 2100;
/// The largest whole number accepted for a target or an expected number of dossiers.
pub const MAX_COUNT: u64 = 10_000_000;

/// The number of forms to collect from `n_dossiers` expected dossiers with margin of error `e`:
/// n = N / (1 + N·e²), rounded up (the Slovin/Yamane formula used in SIPAS practice).
///
/// `e` is taken to six decimal places and the division is done in integers, so that exact
/// cases stay exact (N = 100, e = 0.05 gives 80, not 81 through a floating-point 80.000001).
pub fn sample_size(n_dossiers: u64, e: f64) -> u64 {
    if n_dossiers == 0 {
        return 0;
    }
    // e = k / 10^6, so n = N·10^12 / (10^12 + N·k²).
    let k = (e.abs() * 1e6).round() as u128;
    let scale: u128 = 1_000_000_000_000;
    let n = u128::from(n_dossiers);
    let numerator = n * scale;
    let denominator = scale + n * k * k;
    numerator.div_ceil(denominator) as u64
}

/// A survey period: a name and an inclusive date range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodSpec {
    pub name: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
}

impl PeriodSpec {
    /// Whether the two ranges share at least one day.
    pub fn overlaps(&self, other: &PeriodSpec) -> bool {
        ranges_overlap(self.starts_on, self.ends_on, other.starts_on, other.ends_on)
    }
}

/// Whether the inclusive ranges [a1, a2] and [b1, b2] share at least one day.
pub fn ranges_overlap(a1: NaiveDate, a2: NaiveDate, b1: NaiveDate, b2: NaiveDate) -> bool {
    a1 <= b2 && b1 <= a2
}

/// How the periods of a new plan are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// Quý I..IV.
    Quarters,
    /// 6 tháng đầu năm, 6 tháng cuối năm.
    Halves,
    /// One period: the whole year.
    Year,
    /// Tháng 1..12.
    Months,
    /// No period yet: custom ranges are added on the plan page.
    Custom,
}

impl Preset {
    pub const ALL: [Preset; 5] = [
        Preset::Quarters,
        Preset::Halves,
        Preset::Year,
        Preset::Months,
        Preset::Custom,
    ];

    pub fn parse(text: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Quarters => "quarters",
            Preset::Halves => "halves",
            Preset::Year => "year",
            Preset::Months => "months",
            Preset::Custom => "custom",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Preset::Quarters => "4 quý (Quý I, II, III, IV)",
            Preset::Halves => "2 đợt 6 tháng (6 tháng đầu năm, 6 tháng cuối năm)",
            Preset::Year => "Cả năm (một đợt)",
            Preset::Months => "12 tháng (mỗi tháng một đợt)",
            Preset::Custom => "Tự xác định (thêm các đợt trên trang kế hoạch)",
        }
    }

    /// The periods of `year` under this preset, in date order.
    pub fn periods(self, year: i32) -> Vec<PeriodSpec> {
        let span = |name: String, first_month: u32, last_month: u32| PeriodSpec {
            name,
            starts_on: first_day(year, first_month),
            ends_on: last_day_of_month(year, last_month),
        };
        match self {
            Preset::Quarters => ["Quý I", "Quý II", "Quý III", "Quý IV"]
                .into_iter()
                .zip(0u32..)
                .map(|(name, q)| span(name.to_string(), 3 * q + 1, 3 * q + 3))
                .collect(),
            Preset::Halves => vec![
                span("6 tháng đầu năm".to_string(), 1, 6),
                span("6 tháng cuối năm".to_string(), 7, 12),
            ],
            Preset::Year => vec![span("Cả năm".to_string(), 1, 12)],
            Preset::Months => (1..=12).map(|m| span(format!("Tháng {m}"), m, m)).collect(),
            Preset::Custom => Vec::new(),
        }
    }
}

fn first_day(year: i32, month: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, 1).expect("a valid month")
}

/// The last day of a month (29 February in leap years).
pub fn last_day_of_month(year: i32, month: u32) -> NaiveDate {
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    first_day(next_year, next_month)
        .pred_opt()
        .expect("a day before the first of a month")
}

pub use crate::domain::time::today_in_vietnam;

/// This year in Vietnam.
pub fn current_year() -> i32 {
    today_in_vietnam().year()
}

/// The title proposed for a plan of `year`.
pub fn default_title(year: i32) -> String {
    format!("Kế hoạch khảo sát sự hài lòng năm {year}")
}

/// The period whose progress a plan page shows: the one containing `today`, else the latest one
/// already over, else none (every period is still to come). `periods` are (starts_on, ends_on).
pub fn running_period(periods: &[(NaiveDate, NaiveDate)], today: NaiveDate) -> Option<usize> {
    if let Some(i) = periods
        .iter()
        .position(|(start, end)| *start <= today && today <= *end)
    {
        return Some(i);
    }
    periods
        .iter()
        .enumerate()
        .filter(|(_, (_, end))| *end < today)
        .max_by_key(|(_, (_, end))| *end)
        .map(|(i, _)| i)
}

/// Where a unit stands against its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Reached,
    NotReached,
    NoTarget,
}

impl Status {
    pub fn of(received: i64, target: Option<i64>) -> Status {
        match target {
            None => Status::NoTarget,
            Some(t) if received >= t => Status::Reached,
            Some(_) => Status::NotReached,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Reached => "Đạt",
            Status::NotReached => "Chưa đạt",
            Status::NoTarget => "Chưa giao chỉ tiêu",
        }
    }
}

/// "75,0 %" (one decimal, Vietnamese comma), or None when there is no positive target.
pub fn percent(received: i64, target: Option<i64>) -> Option<String> {
    match target {
        Some(t) if t > 0 => {
            let tenths = (received as f64 * 1000.0 / t as f64).round() as i64;
            Some(format!("{},{} %", tenths / 10, tenths % 10))
        }
        _ => None,
    }
}

/// The totals row of a progress table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    /// Forms received by every unit of the table.
    pub received: i64,
    /// The sum of the targets given, None when no unit has one.
    pub target: Option<i64>,
    /// Units with a target, and those of them that reached it.
    pub assigned_units: usize,
    pub reached_units: usize,
}

impl Totals {
    /// Sums (received, target) rows.
    pub fn of(rows: impl IntoIterator<Item = (i64, Option<i64>)>) -> Totals {
        let mut totals = Totals::default();
        for (received, target) in rows {
            totals.received += received;
            if let Some(t) = target {
                totals.target = Some(totals.target.unwrap_or(0) + t);
                totals.assigned_units += 1;
                if Status::of(received, Some(t)) == Status::Reached {
                    totals.reached_units += 1;
                }
            }
        }
        totals
    }

    pub fn status(&self) -> Status {
        Status::of(self.received, self.target)
    }
}

/// A date as typed in Vietnam: dd/mm/yyyy (also d/m/yyyy, dd-mm-yyyy, dd.mm.yyyy), or the ISO
/// yyyy-mm-dd of a date picker.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    let numbers = |parts: Vec<&str>| -> Option<Vec<u32>> {
        parts
            .into_iter()
            .map(|p| {
                if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                    None
                } else {
                    p.parse().ok()
                }
            })
            .collect()
    };
    // ISO first: four digits, a dash, two, a dash, two.
    let iso: Vec<&str> = text.split('-').collect();
    if iso.len() == 3 && iso[0].len() == 4 && iso[1].len() == 2 && iso[2].len() == 2 {
        let n = numbers(iso)?;
        return NaiveDate::from_ymd_opt(n[0] as i32, n[1], n[2]);
    }
    let separator = ['/', '-', '.'].into_iter().find(|s| text.contains(*s))?;
    let parts: Vec<&str> = text.split(separator).collect();
    if parts.len() != 3 || parts[0].len() > 2 || parts[1].len() > 2 || parts[2].len() != 4 {
        return None;
    }
    let n = numbers(parts)?;
    NaiveDate::from_ymd_opt(n[2] as i32, n[1], n[0])
}

/// A date as shown in Vietnam: dd/mm/yyyy.
pub use crate::domain::format::format_date;

/// A decimal number as typed in Vietnam ("0,05") or with a dot ("0.05"); a trailing "%"
/// divides by 100 ("5%" is 0.05). No sign, no thousands separators, no exponent.
pub fn parse_decimal(text: &str) -> Option<f64> {
    let text = text.trim();
    let (text, scale) = match text.strip_suffix('%') {
        Some(rest) => (rest.trim_end(), 100.0),
        None => (text, 1.0),
    };
    let mut separators = 0;
    let mut digits = 0;
    for c in text.chars() {
        match c {
            '0'..='9' => digits += 1,
            ',' | '.' => separators += 1,
            _ => return None,
        }
    }
    if digits == 0 || separators > 1 {
        return None;
    }
    text.replace(',', ".")
        .parse::<f64>()
        .ok()
        .map(|v| v / scale)
}

/// "0,05": a decimal shown the Vietnamese way, without trailing zeros.
pub fn format_decimal(value: f64) -> String {
    let text = format!("{value:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.replace('.', ",")
}

/// Why a typed whole number was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WholeNumberError {
    NotANumber,
    Negative,
    NotWhole,
    TooLarge,
}

impl WholeNumberError {
    pub fn message(self) -> String {
        match self {
            WholeNumberError::NotANumber => "Vui lòng nhập một số nguyên (ví dụ 30).".to_string(),
            WholeNumberError::Negative => "Số không được âm.".to_string(),
            WholeNumberError::NotWhole => {
                "Vui lòng nhập số nguyên, không có phần thập phân.".to_string()
            }
            WholeNumberError::TooLarge => {
                format!("Số quá lớn (tối đa {}).", group_thousands(MAX_COUNT))
            }
        }
    }
}

/// A non-negative whole number as typed in Vietnam: "30", "1500", or with dots or spaces
/// grouping thousands ("12.500", "12 500"). Empty text is None.
pub fn parse_whole(text: &str) -> Result<Option<u64>, WholeNumberError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if let Some(rest) = text.strip_prefix('-') {
        return match parse_whole(rest) {
            Err(WholeNumberError::NotANumber) => Err(WholeNumberError::NotANumber),
            _ => Err(WholeNumberError::Negative),
        };
    }
    if text.contains(',') {
        // The Vietnamese decimal comma: "2,5" is two and a half, "30,0" is thirty.
        return match parse_decimal(text) {
            Some(v) if v.fract() != 0.0 => Err(WholeNumberError::NotWhole),
            Some(v) if v > MAX_COUNT as f64 => Err(WholeNumberError::TooLarge),
            Some(v) => Ok(Some(v as u64)),
            None => Err(WholeNumberError::NotANumber),
        };
    }
    let groups: Vec<&str> = text.split(['.', ' ']).collect();
    let grouped = groups.len() > 1;
    for (i, group) in groups.iter().enumerate() {
        if group.is_empty() || !group.bytes().all(|b| b.is_ascii_digit()) {
            return Err(WholeNumberError::NotANumber);
        }
        // Grouped thousands: 1 to 3 digits first, then exactly 3.
        if grouped && ((i == 0 && group.len() > 3) || (i > 0 && group.len() != 3)) {
            return if groups.len() == 2 && text.contains('.') {
                Err(WholeNumberError::NotWhole)
            } else {
                Err(WholeNumberError::NotANumber)
            };
        }
    }
    let digits: String = groups.concat();
    if digits.len() > 12 {
        return Err(WholeNumberError::TooLarge);
    }
    let value: u64 = digits.parse().map_err(|_| WholeNumberError::NotANumber)?;
    if value > MAX_COUNT {
        return Err(WholeNumberError::TooLarge);
    }
    Ok(Some(value))
}

pub use crate::domain::format::group_thousands;

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn sample_sizes_match_independently_computed_values() {
        // Check values computed with python3 in exact rational arithmetic:
        //   from fractions import Fraction as F; import math
        //   math.ceil(F(N) / (1 + N * F(e)**2))
        // N=1000, e=0.05: 1000/3.5 = 285.714... -> 286 (also by hand: 1000·0.0025 = 2.5).
        let cases = [
            (1000, 0.05, 286),
            (0, 0.05, 0),
            (100, 0.05, 80), // 100 / 1.25 = 80 exactly: no rounding up past it
            (1, 0.05, 1),    // 0.9975 -> 1
            (400, 0.05, 200),
            (5000, 0.05, 371), // 370.37
            (10_000, 0.03, 1000),
            (250, 0.1, 72),            // 71.43
            (1_000_000, 0.05, 400),    // 399.84
            (200, 0.01, 197),          // 196.08
            (12_500, 0.2, 25),         // 24.95
            (u64::MAX / 2, 0.05, 400), // the limit 1/e² = 400, never above it
        ];
        for (n, e, expected) in cases {
            assert_eq!(sample_size(n, e), expected, "N = {n}, e = {e}");
        }
    }

    #[test]
    fn presets_cover_the_year_without_gaps() {
        let quarters = Preset::Quarters.periods(2026);
        let names: Vec<&str> = quarters.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Quý I", "Quý II", "Quý III", "Quý IV"]);
        assert_eq!(
            quarters
                .iter()
                .map(|p| (p.starts_on, p.ends_on))
                .collect::<Vec<_>>(),
            [
                (d(2026, 1, 1), d(2026, 3, 31)),
                (d(2026, 4, 1), d(2026, 6, 30)),
                (d(2026, 7, 1), d(2026, 9, 30)),
                (d(2026, 10, 1), d(2026, 12, 31)),
            ]
        );
        let halves = Preset::Halves.periods(2025);
        assert_eq!(halves[0].name, "6 tháng đầu năm");
        assert_eq!(
            (halves[0].starts_on, halves[0].ends_on),
            (d(2025, 1, 1), d(2025, 6, 30))
        );
        assert_eq!(halves[1].name, "6 tháng cuối năm");
        assert_eq!(
            (halves[1].starts_on, halves[1].ends_on),
            (d(2025, 7, 1), d(2025, 12, 31))
        );
        assert_eq!(
            Preset::Year.periods(2027),
            [PeriodSpec {
                name: "Cả năm".into(),
                starts_on: d(2027, 1, 1),
                ends_on: d(2027, 12, 31)
            }]
        );
        assert!(Preset::Custom.periods(2026).is_empty());
        for preset in Preset::ALL {
            assert_eq!(Preset::parse(preset.as_str()), Some(preset));
            let periods = preset.periods(2024);
            for pair in periods.windows(2) {
                assert_eq!(pair[0].ends_on.succ_opt(), Some(pair[1].starts_on));
                assert!(!pair[0].overlaps(&pair[1]));
            }
        }
        assert_eq!(Preset::parse("weeks"), None);
    }

    #[test]
    fn february_ends_on_the_29th_in_leap_years() {
        // Leap years: divisible by 4, except centuries not divisible by 400.
        assert_eq!(last_day_of_month(2024, 2), d(2024, 2, 29));
        assert_eq!(last_day_of_month(2028, 2), d(2028, 2, 29));
        assert_eq!(last_day_of_month(2000, 2), d(2000, 2, 29));
        assert_eq!(last_day_of_month(2026, 2), d(2026, 2, 28));
        assert_eq!(last_day_of_month(2100, 2), d(2100, 2, 28));
        assert_eq!(last_day_of_month(2026, 12), d(2026, 12, 31));
        assert_eq!(last_day_of_month(2026, 4), d(2026, 4, 30));
        let months = Preset::Months.periods(2024);
        assert_eq!(months.len(), 12);
        assert_eq!(months[1].name, "Tháng 2");
        assert_eq!(
            (months[1].starts_on, months[1].ends_on),
            (d(2024, 2, 1), d(2024, 2, 29))
        );
        assert_eq!(Preset::Months.periods(2026)[1].ends_on, d(2026, 2, 28));
        let days: i64 = months
            .iter()
            .map(|p| (p.ends_on - p.starts_on).num_days() + 1)
            .sum();
        assert_eq!(days, 366);
    }

    #[test]
    fn the_running_period_is_todays_else_the_latest_past_one() {
        let periods: Vec<(NaiveDate, NaiveDate)> = Preset::Quarters
            .periods(2026)
            .into_iter()
            .map(|p| (p.starts_on, p.ends_on))
            .collect();
        assert_eq!(running_period(&periods, d(2026, 5, 20)), Some(1));
        assert_eq!(running_period(&periods, d(2026, 3, 31)), Some(0));
        assert_eq!(running_period(&periods, d(2026, 4, 1)), Some(1));
        assert_eq!(running_period(&periods, d(2027, 2, 1)), Some(3));
        assert_eq!(running_period(&periods, d(2025, 12, 31)), None);
        // A gap between custom periods: the one that ended last.
        let gaps = [
            (d(2026, 1, 1), d(2026, 1, 31)),
            (d(2026, 3, 1), d(2026, 3, 31)),
            (d(2026, 6, 1), d(2026, 6, 30)),
        ];
        assert_eq!(running_period(&gaps, d(2026, 4, 15)), Some(1));
        assert_eq!(running_period(&[], d(2026, 4, 15)), None);
    }

    #[test]
    fn status_and_percentages() {
        assert_eq!(Status::of(30, Some(30)), Status::Reached);
        assert_eq!(Status::of(29, Some(30)), Status::NotReached);
        assert_eq!(Status::of(5, None), Status::NoTarget);
        assert_eq!(Status::of(0, Some(0)), Status::Reached);
        assert_eq!(Status::NotReached.label(), "Chưa đạt");
        assert_eq!(percent(1, Some(3)).as_deref(), Some("33,3 %"));
        assert_eq!(percent(2, Some(3)).as_deref(), Some("66,7 %"));
        assert_eq!(percent(45, Some(30)).as_deref(), Some("150,0 %"));
        assert_eq!(percent(0, Some(30)).as_deref(), Some("0,0 %"));
        assert_eq!(percent(3, Some(0)), None);
        assert_eq!(percent(3, None), None);
    }

    #[test]
    fn totals_add_up_rows() {
        let totals = Totals::of([(30, Some(30)), (10, Some(20)), (7, None), (0, Some(0))]);
        assert_eq!(totals.received, 47);
        assert_eq!(totals.target, Some(50));
        assert_eq!(totals.assigned_units, 3);
        assert_eq!(totals.reached_units, 2);
        assert_eq!(totals.status(), Status::NotReached);
        let none = Totals::of([(3, None)]);
        assert_eq!(none.target, None);
        assert_eq!(none.status(), Status::NoTarget);
        assert_eq!(Totals::of([]).received, 0);
    }

    #[test]
    fn dates_as_typed_in_vietnam() {
        assert_eq!(parse_date("31/03/2026"), Some(d(2026, 3, 31)));
        assert_eq!(parse_date(" 1/4/2026 "), Some(d(2026, 4, 1)));
        assert_eq!(parse_date("01-04-2026"), Some(d(2026, 4, 1)));
        assert_eq!(parse_date("01.04.2026"), Some(d(2026, 4, 1)));
        assert_eq!(parse_date("2026-04-01"), Some(d(2026, 4, 1)));
        assert_eq!(parse_date("29/02/2024"), Some(d(2024, 2, 29)));
        for bad in [
            "29/02/2026",
            "31/04/2026",
            "04/31/2026",
            "2026/04/01",
            "1/4/26",
            "",
            "hôm nay",
            "1/4/2026/5",
            "+1/4/2026",
            "2026-4-1",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        assert_eq!(format_date(d(2026, 4, 1)), "01/04/2026");
    }

    #[test]
    fn decimals_with_a_comma_or_a_dot() {
        assert_eq!(parse_decimal("0,05"), Some(0.05));
        assert_eq!(parse_decimal("0.05"), Some(0.05));
        assert_eq!(parse_decimal(" 0,1 "), Some(0.1));
        assert_eq!(parse_decimal(",2"), Some(0.2));
        assert_eq!(parse_decimal("5%"), Some(0.05));
        assert_eq!(parse_decimal("2,5 %"), Some(0.025));
        for bad in ["", "abc", "0,0,5", "1.000,5", "-0,05", "1e-2", "%", ","] {
            assert_eq!(parse_decimal(bad), None, "{bad}");
        }
        assert_eq!(format_decimal(0.05), "0,05");
        assert_eq!(format_decimal(0.1), "0,1");
        assert_eq!(format_decimal(0.025), "0,025");
    }

    #[test]
    fn whole_numbers_with_thousands_grouped() {
        assert_eq!(parse_whole(""), Ok(None));
        assert_eq!(parse_whole("  "), Ok(None));
        assert_eq!(parse_whole("30"), Ok(Some(30)));
        assert_eq!(parse_whole("0"), Ok(Some(0)));
        assert_eq!(parse_whole("12.500"), Ok(Some(12_500)));
        assert_eq!(parse_whole("1 250 000"), Ok(Some(1_250_000)));
        assert_eq!(parse_whole("30,0"), Ok(Some(30)));
        assert_eq!(parse_whole("2,5"), Err(WholeNumberError::NotWhole));
        assert_eq!(parse_whole("2.5"), Err(WholeNumberError::NotWhole));
        assert_eq!(parse_whole("-3"), Err(WholeNumberError::Negative));
        assert_eq!(parse_whole("abc"), Err(WholeNumberError::NotANumber));
        assert_eq!(parse_whole("12.50.0"), Err(WholeNumberError::NotANumber));
        assert_eq!(parse_whole("1..000"), Err(WholeNumberError::NotANumber));
        assert_eq!(parse_whole("10.000.001"), Err(WholeNumberError::TooLarge));
        assert_eq!(
            parse_whole("99999999999999999999"),
            Err(WholeNumberError::TooLarge)
        );
        assert_eq!(group_thousands(12_500), "12.500");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1_000_000), "1.000.000");
    }
}
