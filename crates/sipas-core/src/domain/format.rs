//! Numbers, dates and periods as written in Vietnamese, in one place for the pages, the
//! report, the exports and the command line.

use chrono::{DateTime, NaiveDate, Utc};

use super::time::vietnam_offset;

/// The quarters' Roman numerals ("Quý I" … "Quý IV").
pub const QUARTERS: [&str; 4] = ["I", "II", "III", "IV"];

/// "12.345": a count with thousands grouped by dots.
pub fn group_thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// "27/11/2026".
pub fn format_date(date: NaiveDate) -> String {
    date.format("%d/%m/%Y").to_string()
}

/// "10:32 ngày 27/11/2026" in Vietnam's time.
pub fn format_vietnam_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&vietnam_offset())
        .format("%H:%M ngày %d/%m/%Y")
        .to_string()
}

/// "Quý III/2026" (a quarter outside 1–4 is clamped).
pub fn quarter_label(quarter: u32, year: i32) -> String {
    format!(
        "Quý {}/{year}",
        QUARTERS[(quarter.clamp(1, 4) - 1) as usize]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn vietnamese_numbers_dates_and_quarters() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(1234567), "1.234.567");
        assert_eq!(
            format_date(NaiveDate::from_ymd_opt(2026, 1, 5).unwrap()),
            "05/01/2026"
        );
        let at = Utc.with_ymd_and_hms(2026, 11, 26, 20, 5, 9).unwrap();
        assert_eq!(format_vietnam_time(at), "03:05 ngày 27/11/2026");
        assert_eq!(quarter_label(3, 2026), "Quý III/2026");
        assert_eq!(quarter_label(9, 2026), "Quý IV/2026");
    }
}
