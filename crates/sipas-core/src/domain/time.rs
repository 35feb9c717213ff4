//! Vietnam's calendar: every day, period and "today" of the service is a day in Vietnam's time
//! (Asia/Ho_Chi_Minh: UTC+7 all year, no daylight saving), in one place.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

/// Vietnam's offset from UTC.
pub fn vietnam_offset() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).expect("a valid offset")
}

/// Today's date in Vietnam.
pub fn today_in_vietnam() -> NaiveDate {
    Utc::now().with_timezone(&vietnam_offset()).date_naive()
}

/// The first instant of `date` in Vietnam (`None` only at the ends of chrono's range).
pub fn start_of_day(date: NaiveDate) -> Option<DateTime<Utc>> {
    date.and_hms_opt(0, 0, 0)?
        .and_local_timezone(vietnam_offset())
        .single()
        .map(|at| at.with_timezone(&Utc))
}

/// The day in Vietnam of the instant `at`.
pub fn day_in_vietnam(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&vietnam_offset()).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn days_begin_at_midnight_in_vietnam() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        assert_eq!(
            start_of_day(day).unwrap().to_rfc3339(),
            "2026-11-26T17:00:00+00:00"
        );
        let late = Utc.with_ymd_and_hms(2026, 11, 26, 17, 0, 0).unwrap();
        assert_eq!(day_in_vietnam(late), day);
        assert_eq!(
            day_in_vietnam(late - chrono::Duration::seconds(1)),
            day.pred_opt().unwrap()
        );
    }
}
