//! Opening hours of a desk (`desks.opening_hours`): written by staff as
//! "T2-T6 07:00-17:00; T7 07:30-11:30" (days T2 = Monday ... T7 = Saturday, CN = Sunday, a
//! range "T2-T6" or a list "T2,T4"; then the opening and closing times), stored as
//! `[{"days": [1, 2, 3, 4, 5], "opens": "07:00", "closes": "17:00"}, ...]` (ISO weekdays).

use serde_json::{Value, json};

/// The default of a one-stop desk, as written.
pub const DEFAULT_TEXT: &str = "T2-T6 07:00-17:00";

fn day(token: &str) -> Option<u8> {
    match token.trim().to_uppercase().as_str() {
        "CN" => Some(7),
        t => {
            let n: u8 = t.strip_prefix('T')?.parse().ok()?;
            (2..=7).contains(&n).then_some(n - 1)
        }
    }
}

fn day_text(d: u8) -> String {
    if d == 7 {
        "CN".to_string()
    } else {
        format!("T{}", d + 1)
    }
}

fn minutes(text: &str) -> Option<u32> {
    let (h, m) = text.trim().split_once([':', 'h'])?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

fn time_text(m: u32) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

const PROBLEM: &str = "Giờ làm việc không hợp lệ. Vui lòng nhập theo dạng “T2-T6 07:00-17:00; T7 07:30-11:30” (T2 là thứ hai, CN là chủ nhật), hoặc để trống nếu quầy không có giờ cố định.";

/// The stored value of what staff typed; `Ok(None)`: empty (no fixed hours).
pub fn parse(text: &str) -> Result<Option<Value>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let mut ranges = Vec::new();
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (days_text, times) = part.split_once(' ').ok_or(PROBLEM)?;
        let mut days: Vec<u8> = Vec::new();
        for item in days_text.split(',') {
            match item.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (day(a).ok_or(PROBLEM)?, day(b).ok_or(PROBLEM)?);
                    if a > b {
                        return Err(PROBLEM.to_string());
                    }
                    days.extend(a..=b);
                }
                None => days.push(day(item).ok_or(PROBLEM)?),
            }
        }
        days.sort_unstable();
        days.dedup();
        let (opens, closes) = times.trim().split_once('-').ok_or(PROBLEM)?;
        let (opens, closes) = (
            minutes(opens).ok_or(PROBLEM)?,
            minutes(closes).ok_or(PROBLEM)?,
        );
        if opens >= closes {
            return Err("Giờ làm việc không hợp lệ: giờ đóng cửa phải sau giờ mở cửa.".to_string());
        }
        ranges.push(json!({
            "days": days,
            "opens": time_text(opens),
            "closes": time_text(closes),
        }));
    }
    if ranges.is_empty() {
        return Err(PROBLEM.to_string());
    }
    Ok(Some(Value::Array(ranges)))
}

/// What staff read (and edit) for a stored value; empty for none.
pub fn format(value: Option<&Value>) -> String {
    let Some(Value::Array(ranges)) = value else {
        return String::new();
    };
    ranges
        .iter()
        .map(|r| {
            let days: Vec<u8> = r["days"]
                .as_array()
                .map(|d| {
                    d.iter()
                        .filter_map(|x| x.as_u64())
                        .map(|x| x as u8)
                        .collect()
                })
                .unwrap_or_default();
            let mut parts: Vec<String> = Vec::new();
            let mut i = 0;
            while i < days.len() {
                let mut j = i;
                while j + 1 < days.len() && days[j + 1] == days[j] + 1 {
                    j += 1;
                }
                parts.push(if j > i {
                    format!("{}-{}", day_text(days[i]), day_text(days[j]))
                } else {
                    day_text(days[i])
                });
                i = j + 1;
            }
            format!(
                "{} {}-{}",
                parts.join(","),
                r["opens"].as_str().unwrap_or("?"),
                r["closes"].as_str().unwrap_or("?")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_round_trip_and_match_the_migrations_default() {
        let v = parse(DEFAULT_TEXT).unwrap().unwrap();
        assert_eq!(
            v,
            json!([{"days": [1, 2, 3, 4, 5], "opens": "07:00", "closes": "17:00"}])
        );
        let migration = include_str!("../../../../migrations/2026-11-27-000008_fraud_flags/up.sql");
        assert!(
            migration
                .contains(r#"'[{"days": [1, 2, 3, 4, 5], "opens": "07:00", "closes": "17:00"}]'"#)
        );
        let text = "T2-T6 7:30-11:30; T2-T6 13:00-17:00; T7,CN 07:30-11:00";
        let v = parse(text).unwrap().unwrap();
        assert_eq!(
            format(Some(&v)),
            "T2-T6 07:30-11:30; T2-T6 13:00-17:00; T7-CN 07:30-11:00"
        );
        assert_eq!(parse("  ").unwrap(), None);
        assert_eq!(format(None), "");
        for bad in [
            "T8 07:00-17:00",
            "T2-T6",
            "T6-T2 07:00-17:00",
            "T2 17:00-07:00",
            "T2 25:00-26:00",
            ";",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
