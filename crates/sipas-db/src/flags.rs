//! Fraud signals: flag, never delete.
//!
//! SIPAS results rank units and their leaders, so some will be tempted to stuff the ballot box.
//! Responses that look manufactured are kept, flagged with the reason (`response_flags`), shown
//! to admins ("Phiếu nghi vấn") and, when the evidence is strong, left out of the official
//! figures until an admin decides otherwise (`response_reviews`).
//!
//! # When
//!
//! Detection runs in SQL inside the background fold of the rollups ([`super::rollup`]), on each
//! new batch of responses *before* it is folded, under the rollup lock and in the fold's
//! transaction: the citizen's path does nothing more than before. Signals that involve several
//! responses (bursts, runs) look at the batch together with the responses around it, and flag
//! earlier responses too when the new ones complete a burst; those already folded are folded
//! again by unit-month ([`super::rollup::refold_unit_month`]). Flags are never removed; a
//! rollup rebuild keeps them, so the rebuilt rollups equal the incremental ones.
//!
//! # Signals, thresholds and why
//!
//! The thresholds live in the one-row table `fraud_rules` (defaults below).
//!
//! | reason | signal | severity |
//! |---|---|---|
//! | `burst_desk` | at least max(10, 5 x usual) responses at one desk within 10 minutes (not paper) | strong |
//! | `burst_client` | at least 3 responses from one client (cookie + address) within 60 minutes (not kiosk, not paper) | strong |
//! | `identical_run` | 3 consecutive responses at a desk (2 from one client) with exactly the same coded answers, at least 8 answered | strong; weak when the pattern is straight-lined |
//! | `straight_line` | every answered criterion the same value, at least 5 answered | weak |
//! | `too_fast` | submitted less than 2 s + 0.5 s x answered items after the form was rendered | strong |
//! | `outside_hours` | form opened outside the desk's opening hours (15 minutes before, 60 after) | weak (QR), strong (kiosk) |
//!
//! - A one-stop desk serves one citizen at a time and handling a dossier takes minutes, so
//!   10 responses in 10 minutes is beyond what a desk serves. "Usual" is the desk's own rate at
//!   its busiest: its online responses per working day (over the 28 days before, or that day's
//!   own count when higher, so that a new desk is judged on its day) spread over the 5 busiest
//!   hours, so a busy district office is compared with its own rate. With 110 responses a day
//!   (the demo's district office) the threshold is 19 in 10 minutes, which an honest Poisson
//!   stream at its morning peak (2.8 per 10 minutes) reaches with a probability below 1e-9 per
//!   window; a fixed 10 flagged such honest mornings in a 100,000-response demo year.
//! - One visit, one response: a second response from the same phone within the hour can be a
//!   family member's dossier, a third cannot. The client key covers the cookie, so citizens
//!   behind one office Wi-Fi or a carrier's shared address are not one client.
//! - 34 answers repeated exactly by three consecutive citizens do not happen by chance when they
//!   vary; an all-"Hài lòng" pattern does (many honest citizens answer so), hence weak.
//! - Straight-lining alone is weak: real citizens often answer "Hài lòng" to everything.
//! - Tapping one answer per item on a phone, scrolling included, takes at least half a second
//!   even without reading; a QĐ 1001 form (34 coded items) cannot be answered in 19 seconds.
//! - A citizen may finish the QR survey on the way home, so outside the opening hours is weak
//!   for the QR code (with an hour of tolerance), but strong for the kiosk, which stands in the
//!   office. Paper ballots are dated by the ballot's day and web responses are not at the desk:
//!   neither is checked. Default hours: Monday to Friday, 07:00-17:00 (`desks.opening_hours`).
//!
//! # State
//!
//! A flagged response is *excluded by default* when one of its signals is strong, or when two
//! different weak signals other than straight-lining coincide (e.g. a straight-lined identical
//! run outside opening hours); otherwise it counts. An admin may include or exclude it (with a
//! note); the decision wins over the default, is written to the audit log, and the rollups of
//! the response's unit-month are folded again in the same transaction
//! (`sipas_app::flags::decide`; here, its queries: [`lock_review`], [`record_decision`]).
//! Figures read from the rollups therefore never contain an excluded response; a response
//! without flags always counts.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{
    Array, Bool, Date, Float8, Int2, Int4, Int8, Interval, Jsonb, Nullable, Text, Timestamptz,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

/// The reasons, in the order the page lists them: (code, Vietnamese label).
pub const REASONS: [(&str, &str); 6] = [
    ("burst_desk", "Dồn dập tại quầy"),
    ("burst_client", "Nhiều phiếu từ một thiết bị"),
    ("identical_run", "Nhiều phiếu giống hệt nhau liên tiếp"),
    ("too_fast", "Thời gian trả lời quá ngắn"),
    ("outside_hours", "Ngoài giờ làm việc của quầy"),
    ("straight_line", "Chọn cùng một mức cho mọi tiêu chí"),
];

/// The Vietnamese label of a reason code (the code itself when unknown).
pub fn reason_label(reason: &str) -> &str {
    REASONS
        .iter()
        .find(|(code, _)| *code == reason)
        .map_or(reason, |(_, label)| label)
}

/// The thresholds of the signals (table `fraud_rules`; see the module documentation).
#[derive(Debug, Clone, PartialEq, QueryableByName, Serialize, serde::Deserialize)]
pub struct FraudRules {
    #[diesel(sql_type = Int4)]
    pub desk_burst_minutes: i32,
    #[diesel(sql_type = Int4)]
    pub desk_burst_min: i32,
    #[diesel(sql_type = Float8)]
    pub desk_burst_ratio: f64,
    #[diesel(sql_type = Int4)]
    pub client_burst_minutes: i32,
    #[diesel(sql_type = Int4)]
    pub client_burst_min: i32,
    #[diesel(sql_type = Int4)]
    pub identical_run_desk: i32,
    #[diesel(sql_type = Int4)]
    pub identical_run_client: i32,
    #[diesel(sql_type = Int4)]
    pub identical_min_items: i32,
    #[diesel(sql_type = Int4)]
    pub straight_min_criteria: i32,
    #[diesel(sql_type = Float8)]
    pub min_seconds_base: f64,
    #[diesel(sql_type = Float8)]
    pub min_seconds_per_item: f64,
    #[diesel(sql_type = Int4)]
    pub hours_grace_before_minutes: i32,
    #[diesel(sql_type = Int4)]
    pub hours_grace_after_minutes: i32,
}

const RULES_SELECT: &str = "SELECT desk_burst_minutes, desk_burst_min, desk_burst_ratio, \
     client_burst_minutes, client_burst_min, identical_run_desk, identical_run_client, \
     identical_min_items, straight_min_criteria, min_seconds_base, min_seconds_per_item, \
     hours_grace_before_minutes, hours_grace_after_minutes FROM fraud_rules";

pub async fn rules(conn: &mut AsyncPgConnection) -> diesel::QueryResult<FraudRules> {
    diesel::sql_query(RULES_SELECT).get_result(conn).await
}

/// The thresholds, their row locked until the end of the transaction.
pub async fn lock_rules(conn: &mut AsyncPgConnection) -> diesel::QueryResult<FraudRules> {
    diesel::sql_query(format!("{RULES_SELECT} FOR UPDATE"))
        .get_result(conn)
        .await
}

/// Replaces the thresholds by `new` (checked by the caller; the table's CHECKs are the last
/// guard). Only responses examined after the change are judged by the new thresholds: flags
/// already raised stay.
pub async fn set_rules(conn: &mut AsyncPgConnection, new: &FraudRules) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "UPDATE fraud_rules SET desk_burst_minutes = $1, desk_burst_min = $2, \
         desk_burst_ratio = $3, client_burst_minutes = $4, client_burst_min = $5, \
         identical_run_desk = $6, identical_run_client = $7, identical_min_items = $8, \
         straight_min_criteria = $9, min_seconds_base = $10, min_seconds_per_item = $11, \
         hours_grace_before_minutes = $12, hours_grace_after_minutes = $13",
    )
    .bind::<Int4, _>(new.desk_burst_minutes)
    .bind::<Int4, _>(new.desk_burst_min)
    .bind::<Float8, _>(new.desk_burst_ratio)
    .bind::<Int4, _>(new.client_burst_minutes)
    .bind::<Int4, _>(new.client_burst_min)
    .bind::<Int4, _>(new.identical_run_desk)
    .bind::<Int4, _>(new.identical_run_client)
    .bind::<Int4, _>(new.identical_min_items)
    .bind::<Int4, _>(new.straight_min_criteria)
    .bind::<Float8, _>(new.min_seconds_base)
    .bind::<Float8, _>(new.min_seconds_per_item)
    .bind::<Int4, _>(new.hours_grace_before_minutes)
    .bind::<Int4, _>(new.hours_grace_after_minutes)
    .execute(conn)
    .await?;
    Ok(())
}

fn minutes(m: i32) -> diesel::data_types::PgInterval {
    diesel::data_types::PgInterval::from_microseconds(i64::from(m) * 60_000_000)
}

/// Which signals of the citizen's path this session checks (see
/// [`crate::SessionLimits`]): both unless the session says `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
struct Switches {
    #[diesel(sql_type = Bool)]
    fill_time: bool,
    #[diesel(sql_type = Bool)]
    person: bool,
}

async fn switches(conn: &mut AsyncPgConnection) -> diesel::QueryResult<Switches> {
    diesel::sql_query(
        "SELECT coalesce(current_setting('sipas.fill_time', true), '') <> 'off' AS fill_time, \
                coalesce(current_setting('sipas.person', true), '') <> 'off' AS person",
    )
    .get_result(conn)
    .await
}

#[derive(QueryableByName)]
struct UnitMonth {
    #[diesel(sql_type = Int4)]
    unit_id: i32,
    #[diesel(sql_type = Date)]
    month: NaiveDate,
}

/// Examines the responses with ids in `(from, to]` (and the responses around them), records
/// the signals and the state of every response they touch. Returns the (unit, month) of the
/// responses with ids up to `from` (already folded) whose state changed: the caller folds them
/// again. Runs inside the fold's transaction, which holds the rollup lock.
pub async fn detect(
    conn: &mut AsyncPgConnection,
    from: i64,
    to: i64,
) -> diesel::QueryResult<Vec<(i32, NaiveDate)>> {
    let r = rules(conn).await?;
    let switches = switches(conn).await?;
    diesel::sql_query(include_str!("sql/flags_burst_desk.sql"))
        .bind::<Int8, _>(from)
        .bind::<Int8, _>(to)
        .bind::<Interval, _>(minutes(r.desk_burst_minutes))
        .bind::<Int8, _>(i64::from(r.desk_burst_min))
        .bind::<Float8, _>(r.desk_burst_ratio)
        .bind::<Float8, _>(f64::from(r.desk_burst_minutes))
        .execute(conn)
        .await?;
    if switches.person {
        diesel::sql_query(include_str!("sql/flags_burst_client.sql"))
            .bind::<Int8, _>(from)
            .bind::<Int8, _>(to)
            .bind::<Interval, _>(minutes(r.client_burst_minutes))
            .bind::<Int8, _>(i64::from(r.client_burst_min))
            .bind::<Float8, _>(f64::from(r.client_burst_minutes))
            .execute(conn)
            .await?;
    }
    diesel::sql_query(include_str!("sql/flags_runs.sql"))
        .bind::<Int8, _>(from)
        .bind::<Int8, _>(to)
        .bind::<Int8, _>(i64::from(r.identical_run_desk))
        .bind::<Int8, _>(i64::from(r.identical_run_client))
        .bind::<Int8, _>(i64::from(r.identical_min_items))
        .bind::<Int8, _>(i64::from(r.straight_min_criteria))
        .bind::<Bool, _>(switches.person)
        .execute(conn)
        .await?;
    diesel::sql_query(include_str!("sql/flags_single.sql"))
        .bind::<Int8, _>(from)
        .bind::<Int8, _>(to)
        .bind::<Int8, _>(i64::from(r.straight_min_criteria))
        .bind::<Float8, _>(r.min_seconds_base)
        .bind::<Float8, _>(r.min_seconds_per_item)
        .bind::<Int4, _>(r.hours_grace_before_minutes)
        .bind::<Int4, _>(r.hours_grace_after_minutes)
        .bind::<Bool, _>(switches.fill_time)
        .execute(conn)
        .await?;
    let changed: Vec<UnitMonth> = diesel::sql_query(include_str!("sql/flags_review.sql"))
        .bind::<Int8, _>(from)
        .load(conn)
        .await?;
    Ok(changed.into_iter().map(|u| (u.unit_id, u.month)).collect())
}

// ---------------------------------------------------------------------------------------------
// The admins' page

/// Which flagged responses to list; every part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagFilter {
    /// The chosen unit and the units below it.
    pub units: Option<Vec<i32>>,
    pub reason: Option<String>,
    /// "excluded", "counted" or "decided".
    pub state: Option<String>,
    /// Keyset cursor: only responses with a smaller id.
    pub before: Option<i64>,
}

/// The states the filter knows: (code, label).
pub const STATES: [(&str, &str); 3] = [
    ("excluded", "Không tính vào kết quả"),
    ("counted", "Được tính vào kết quả"),
    ("decided", "Đã có quyết định"),
];

/// One signal of a response.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Signal {
    pub reason: String,
    pub severity: String,
    pub detail: serde_json::Value,
}

/// A flagged response as the list shows it.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct FlaggedRow {
    #[diesel(sql_type = Int8)]
    pub response_id: i64,
    #[diesel(sql_type = Timestamptz)]
    pub submitted_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub started_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Text)]
    pub channel: String,
    #[diesel(sql_type = Int4)]
    pub unit_id: i32,
    #[diesel(sql_type = Text)]
    pub unit_name: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub desk_name: Option<String>,
    #[diesel(sql_type = Int4)]
    pub form_version_id: i32,
    #[diesel(sql_type = Array<Nullable<Int2>>)]
    pub answers: Vec<Option<i16>>,
    #[diesel(sql_type = Jsonb)]
    pub signals: serde_json::Value,
    #[diesel(sql_type = Bool)]
    pub excluded_by_default: bool,
    #[diesel(sql_type = Nullable<Text>)]
    pub decision: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub decided_by_name: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub decided_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Text>)]
    pub note: Option<String>,
    #[diesel(sql_type = Bool)]
    pub excluded: bool,
}

impl FlaggedRow {
    /// Its signals, strong ones first.
    pub fn signals(&self) -> Vec<Signal> {
        let mut signals: Vec<Signal> =
            serde_json::from_value(self.signals.clone()).unwrap_or_default();
        signals.sort_by_key(|s| {
            (
                s.severity != "strong",
                REASONS.iter().position(|(c, _)| *c == s.reason),
            )
        });
        signals
    }
}

/// Flagged responses, newest first, `limit` at most.
pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: &FlagFilter,
    limit: i64,
) -> diesel::QueryResult<Vec<FlaggedRow>> {
    diesel::sql_query(include_str!("sql/flags_list.sql"))
        .bind::<Nullable<Array<Int4>>, _>(filter.units.as_deref())
        .bind::<Nullable<Text>, _>(filter.reason.as_deref())
        .bind::<Nullable<Text>, _>(filter.state.as_deref())
        .bind::<Nullable<Int8>, _>(filter.before)
        .bind::<Nullable<Int8>, _>(None::<i64>)
        .bind::<Int8, _>(limit)
        .load(conn)
        .await
}

/// One flagged response (None: no such response, or not flagged).
pub async fn find(
    conn: &mut AsyncPgConnection,
    response_id: i64,
) -> diesel::QueryResult<Option<FlaggedRow>> {
    let mut rows: Vec<FlaggedRow> = diesel::sql_query(include_str!("sql/flags_list.sql"))
        .bind::<Nullable<Array<Int4>>, _>(None::<Vec<i32>>)
        .bind::<Nullable<Text>, _>(None::<String>)
        .bind::<Nullable<Text>, _>(None::<String>)
        .bind::<Nullable<Int8>, _>(None::<i64>)
        .bind::<Nullable<Int8>, _>(Some(response_id))
        .bind::<Int8, _>(1)
        .load(conn)
        .await?;
    Ok(rows.pop())
}

/// The one test of whether the response `r` is left out of the figures: its
/// `response_reviews.excluded`, the column generated by migration `…000008` (an admin's
/// decision wins, else the default of its flags; a response without a review counts). The
/// rollups' folds ([`super::rollup`]) and the raw data's `counted` column ([`standing`]) both
/// use this fragment, so the two cannot disagree.
pub const EXCLUDED_SQL: &str = "EXISTS (SELECT 1 FROM response_reviews rv \
     WHERE rv.response_id = r.id AND rv.excluded)";

/// Whether a response counts in the published figures and why not: what the raw data carries
/// per response (`counted`, `excluded_reason`, `flags`, `admin_decision`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Standing {
    /// Above the rollups' watermark: not yet examined nor folded, so not in the figures yet
    /// (the background fold takes it within seconds).
    pub pending: bool,
    /// Left out by [`EXCLUDED_SQL`].
    pub excluded: bool,
    /// Its signals (reason codes), in the order of [`REASONS`].
    pub reasons: Vec<String>,
    /// An admin's decision: "include" or "exclude".
    pub decision: Option<String>,
}

/// Why a response is left out, as the raw data writes it (`excluded_reason`).
pub const PENDING: &str = "pending";
pub const ADMIN_EXCLUDED: &str = "admin_excluded";
/// Excluded by default without a recorded signal (only a review row written by hand).
pub const EXCLUDED_BY_DEFAULT: &str = "excluded_by_default";

impl Standing {
    /// Whether the response is in the published figures: folded and not excluded (what
    /// `GET /api/v1/stats` counts).
    pub fn counted(&self) -> bool {
        !self.pending && !self.excluded
    }

    /// Empty when counted; else `pending`, or `admin_excluded` followed by the signals, or the
    /// signals that excluded it by default ("too_fast;straight_line"), `;`-separated.
    pub fn excluded_reason(&self) -> String {
        if self.counted() {
            return String::new();
        }
        if self.pending {
            return PENDING.to_string();
        }
        let mut parts: Vec<&str> = Vec::new();
        if self.decision.as_deref() == Some("exclude") {
            parts.push(ADMIN_EXCLUDED);
        }
        parts.extend(self.reasons.iter().map(String::as_str));
        if parts.is_empty() {
            parts.push(EXCLUDED_BY_DEFAULT);
        }
        parts.join(";")
    }

    /// Every signal of the response, `;`-separated (empty when none), counted or not.
    pub fn flags(&self) -> String {
        self.reasons.join(";")
    }
}

/// The [`Standing`] of each response of `ids` that is not simply counted (flagged, reviewed or
/// not yet folded); a response absent from the map counts.
pub async fn standing(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
) -> diesel::QueryResult<std::collections::HashMap<i64, Standing>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Int8)]
        response_id: i64,
        #[diesel(sql_type = Bool)]
        pending: bool,
        #[diesel(sql_type = Bool)]
        excluded: bool,
        #[diesel(sql_type = Array<Text>)]
        reasons: Vec<String>,
        #[diesel(sql_type = Nullable<Text>)]
        decision: Option<String>,
    }
    if ids.is_empty() {
        return Ok(Default::default());
    }
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        include_str!("sql/flags_standing.sql").replace("{excluded}", EXCLUDED_SQL)
    });
    let rows: Vec<Row> = diesel::sql_query(SQL.as_str())
        .bind::<Array<Int8>, _>(ids)
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let mut reasons = row.reasons;
            reasons.sort_by_key(|r| REASONS.iter().position(|(code, _)| *code == r.as_str()));
            let standing = Standing {
                pending: row.pending,
                excluded: row.excluded,
                reasons,
                decision: row.decision,
            };
            (row.response_id, standing)
        })
        .collect())
}

/// Counts of flagged responses: (all flagged, excluded now).
pub async fn counts(conn: &mut AsyncPgConnection) -> diesel::QueryResult<(i64, i64)> {
    #[derive(QueryableByName)]
    struct Counts {
        #[diesel(sql_type = Int8)]
        flagged: i64,
        #[diesel(sql_type = Int8)]
        excluded: i64,
    }
    let c: Counts = diesel::sql_query(
        "SELECT count(*) AS flagged, count(*) FILTER (WHERE excluded) AS excluded \
         FROM response_reviews",
    )
    .get_result(conn)
    .await?;
    Ok((c.flagged, c.excluded))
}

/// An admin's decision on a flagged response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Include,
    Exclude,
}

impl Decision {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "include" => Some(Decision::Include),
            "exclude" => Some(Decision::Exclude),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Include => "include",
            Decision::Exclude => "exclude",
        }
    }
}

/// The longest note kept with a decision.
pub const NOTE_MAX: usize = 2000;

/// The review of a flagged response as a decision finds it (and the audit entry records it).
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct ReviewState {
    #[diesel(sql_type = Int4)]
    pub unit_id: i32,
    /// The month of the response (Vietnam's time): the rollups to fold again.
    #[diesel(sql_type = Date)]
    pub month: NaiveDate,
    #[diesel(sql_type = Bool)]
    pub excluded_by_default: bool,
    #[diesel(sql_type = Nullable<Text>)]
    pub decision: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub note: Option<String>,
    #[diesel(sql_type = Bool)]
    pub excluded: bool,
}

/// Locks the review of the flagged response `response_id` until the end of the transaction
/// and reads it; None when the response is not flagged.
pub async fn lock_review(
    conn: &mut AsyncPgConnection,
    response_id: i64,
) -> diesel::QueryResult<Option<ReviewState>> {
    diesel::sql_query(
        "SELECT r.unit_id, \
                date_trunc('month', r.submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date \
                    AS month, \
                v.excluded_by_default, v.decision, v.note, v.excluded \
         FROM response_reviews v JOIN responses r ON r.id = v.response_id \
         WHERE v.response_id = $1 FOR UPDATE OF v",
    )
    .bind::<Int8, _>(response_id)
    .get_result(conn)
    .await
    .map(Some)
    .or_else(|e| match e {
        diesel::result::Error::NotFound => Ok(None),
        e => Err(e),
    })
}

/// Writes the decision of `account_id` (now, the database's clock) with `note` on the flagged
/// response `response_id` (see `sipas_app::flags::decide`).
pub async fn record_decision(
    conn: &mut AsyncPgConnection,
    response_id: i64,
    decision: Decision,
    account_id: i32,
    note: Option<&str>,
) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "UPDATE response_reviews SET decision = $2, decided_by = $3, decided_at = now(), \
         note = $4 WHERE response_id = $1",
    )
    .bind::<Int8, _>(response_id)
    .bind::<Text, _>(decision.as_str())
    .bind::<Int4, _>(account_id)
    .bind::<Nullable<Text>, _>(note)
    .execute(conn)
    .await?;
    Ok(())
}

/// Excluded responses per unit (not rolled up the tree) to the versions of form `form_id`
/// submitted on the days `from..=to` (Vietnam's time), of the units `units` (None: all) and
/// the channel (None: all): what the statistics pages show beside the figures.
pub async fn excluded_by_unit(
    conn: &mut AsyncPgConnection,
    form_id: &str,
    from: NaiveDate,
    to: NaiveDate,
    units: Option<&[i32]>,
    channel: Option<&str>,
) -> diesel::QueryResult<BTreeMap<i32, u64>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Int4)]
        unit_id: i32,
        #[diesel(sql_type = Int8)]
        n: i64,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT r.unit_id, count(*) AS n \
         FROM response_reviews v JOIN responses r ON r.id = v.response_id \
         WHERE v.excluded \
           AND r.form_version_id IN (SELECT id FROM form_versions WHERE form_id = $1) \
           AND r.submitted_at >= $2::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' \
           AND r.submitted_at < ($3 + 1)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' \
           AND ($4::int4[] IS NULL OR r.unit_id = ANY ($4)) \
           AND ($5::text IS NULL OR r.channel = $5) \
         GROUP BY r.unit_id",
    )
    .bind::<Text, _>(form_id)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .bind::<Nullable<Array<Int4>>, _>(units)
    .bind::<Nullable<Text>, _>(channel)
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.unit_id, r.n.max(0) as u64))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_raw_data_says_why_a_response_is_left_out() {
        let state = |pending, excluded, reasons: &[&str], decision: Option<&str>| Standing {
            pending,
            excluded,
            reasons: reasons.iter().map(|r| r.to_string()).collect(),
            decision: decision.map(String::from),
        };
        let cases = [
            (state(false, false, &[], None), true, "", ""),
            (
                state(false, false, &["straight_line"], None),
                true,
                "",
                "straight_line",
            ),
            (
                state(false, false, &["too_fast"], Some("include")),
                true,
                "",
                "too_fast",
            ),
            (
                state(false, true, &["too_fast", "outside_hours"], None),
                false,
                "too_fast;outside_hours",
                "too_fast;outside_hours",
            ),
            (
                state(false, true, &["straight_line"], Some("exclude")),
                false,
                "admin_excluded;straight_line",
                "straight_line",
            ),
            (
                state(false, true, &[], None),
                false,
                "excluded_by_default",
                "",
            ),
            (state(true, false, &[], None), false, "pending", ""),
        ];
        for (standing, counted, reason, flags) in cases {
            assert_eq!(standing.counted(), counted, "{standing:?}");
            assert_eq!(standing.excluded_reason(), reason, "{standing:?}");
            assert_eq!(standing.flags(), flags, "{standing:?}");
        }
    }

    #[test]
    fn every_reason_of_the_migration_has_a_label() {
        let migration = include_str!("../../../migrations/2026-11-27-000008_fraud_flags/up.sql");
        for (code, label) in REASONS {
            assert!(migration.contains(&format!("'{code}'")), "{code}");
            assert_ne!(reason_label(code), code);
            assert!(!label.is_empty());
        }
        assert_eq!(reason_label("other"), "other");
    }

    #[test]
    fn decisions_parse() {
        assert_eq!(Decision::parse("include"), Some(Decision::Include));
        assert_eq!(Decision::parse("exclude"), Some(Decision::Exclude));
        assert_eq!(Decision::parse("delete"), None);
        assert_eq!(Decision::Exclude.as_str(), "exclude");
    }
}
