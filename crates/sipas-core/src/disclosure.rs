//! What an account may learn about the citizens who answered (issue 15), decided once from the
//! scope it acts within: a unit's own staff could recognise the citizen they served from the
//! minute a bad rating was sent or from a breakdown of three respondents, so unit accounts
//! see days and protected breakdowns ([`crate::small_cells`]); the accounts of the whole
//! installation (the Home Affairs office, which reviews suspected fraud, the leaders, and the
//! command line) see the minute and exact figures.

use chrono::{DateTime, Utc};

use crate::domain::access::Scope;
use crate::domain::time::vietnam_offset;

/// Which figures about respondents an account may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disclosure {
    /// Admins (Phòng Nội vụ), viewers (district leaders) and the command line: exact times and
    /// counts.
    Exact,
    /// Unit accounts: times by day, small cells suppressed ([`crate::small_cells::protect`]),
    /// and no respondent attributes in the per-response raw data.
    Protected,
}

impl Disclosure {
    /// The rule, in one place: an account limited to some units (a unit account; admins and
    /// viewers act within [`Scope::All`], see `auth::Staff`) is protected. Pages, export jobs
    /// and reports all carry the scope.
    pub fn for_scope(scope: &Scope) -> Disclosure {
        match scope {
            Scope::All => Disclosure::Exact,
            Scope::Units(_) => Disclosure::Protected,
        }
    }

    pub fn is_protected(self) -> bool {
        self == Disclosure::Protected
    }

    /// How precisely the time of a response is shown.
    pub fn time_detail(self) -> TimeDetail {
        match self {
            Disclosure::Exact => TimeDetail::Exact,
            Disclosure::Protected => TimeDetail::Day,
        }
    }
}

/// How precisely the time of a response is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeDetail {
    /// The minute (the second in the raw data).
    Exact,
    /// The day, in Vietnam's time.
    Day,
}

impl TimeDetail {
    /// For an account acting within `scope` ([`Disclosure::for_scope`]).
    pub fn for_scope(scope: &Scope) -> Self {
        Disclosure::for_scope(scope).time_detail()
    }

    /// `at` as this detail allows, in Vietnam's time: "10:32 ngày 27/11/2026" or
    /// "ngày 27/11/2026".
    pub fn format(self, at: DateTime<Utc>) -> String {
        let local = at.with_timezone(&vietnam_offset());
        match self {
            TimeDetail::Exact => local.format("%H:%M ngày %d/%m/%Y").to_string(),
            TimeDetail::Day => local.format("ngày %d/%m/%Y").to_string(),
        }
    }

    /// `at` in ISO 8601 with the +07:00 offset, as the raw data writes it: to the second, or
    /// the day alone ("2026-11-27").
    pub fn iso(self, at: DateTime<Utc>) -> String {
        let local = at.with_timezone(&vietnam_offset());
        match self {
            TimeDetail::Exact => local.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            TimeDetail::Day => local.date_naive().format("%Y-%m-%d").to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn unit_accounts_see_the_day_and_the_whole_installation_the_minute() {
        // 23:40 on the 26th in UTC is 06:40 on the 27th in Vietnam.
        let at = Utc.with_ymd_and_hms(2026, 11, 26, 23, 40, 9).unwrap();
        let unit = TimeDetail::for_scope(&Scope::Units(vec![3]));
        let office = TimeDetail::for_scope(&Scope::All);
        assert_eq!(unit, TimeDetail::Day);
        assert_eq!(unit.format(at), "ngày 27/11/2026");
        assert_eq!(unit.iso(at), "2026-11-27");
        assert_eq!(office.format(at), "06:40 ngày 27/11/2026");
        assert_eq!(office.iso(at), "2026-11-27T06:40:09+07:00");
        assert_eq!(Disclosure::for_scope(&Scope::All), Disclosure::Exact);
        assert_eq!(
            Disclosure::for_scope(&Scope::Units(vec![3])),
            Disclosure::Protected
        );
    }
}
