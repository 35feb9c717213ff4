//! Citizens' responses: storing one atomically and exactly once, and reading them back in
//! batches for exports. Paper ballots typed in by staff are responses too (channel `paper`),
//! stored through the same [`store`].

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, Int4, Nullable, Text};
use diesel::{ExpressionMethods, Insertable, OptionalExtension, QueryDsl, QueryableByName};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{accounts, form_versions, response_texts, responses, units};
use crate::auth::Scope;

/// How a response reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// A citizen's own phone, through a desk's QR code.
    Qr,
    /// A paper ballot, typed in by staff.
    Paper,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Qr => "qr",
            Channel::Paper => "paper",
        }
    }
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = responses)]
pub struct NewResponse<'a> {
    pub submission_key: Uuid,
    pub unit_id: i32,
    pub desk_id: Option<i32>,
    pub desk_code: Option<&'a str>,
    pub form_version_id: i32,
    pub channel: &'a str,
    pub answers: &'a [Option<i16>],
    /// `None`: now (the column's default).
    pub submitted_at: Option<DateTime<Utc>>,
    /// Paper ballots: the staff account that typed it in, when, and the ballot's serial number.
    pub entered_by: Option<i32>,
    pub entered_at: Option<DateTime<Utc>>,
    pub paper_serial: Option<&'a str>,
}

/// The outcome of storing a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub id: i64,
    pub submitted_at: DateTime<Utc>,
    /// False when a response with the same submission key was already stored (a double tap).
    pub new: bool,
}

/// Stores a response and its open answers (`(form_items.id, text)`) in one transaction. A
/// second submission with the same key stores nothing and returns the first.
pub async fn store(
    conn: &mut AsyncPgConnection,
    new: &NewResponse<'_>,
    texts: &[(i32, &str)],
) -> diesel::QueryResult<Stored> {
    conn.transaction(async |conn| {
        let inserted: Option<(i64, DateTime<Utc>)> = diesel::insert_into(responses::table)
            .values(new)
            .on_conflict(responses::submission_key)
            .do_nothing()
            .returning((responses::id, responses::submitted_at))
            .get_result(conn)
            .await
            .optional()?;
        let Some((id, submitted_at)) = inserted else {
            let (id, submitted_at) = responses::table
                .filter(responses::submission_key.eq(new.submission_key))
                .select((responses::id, responses::submitted_at))
                .get_result(conn)
                .await?;
            return Ok(Stored {
                id,
                submitted_at,
                new: false,
            });
        };
        if !texts.is_empty() {
            let rows: Vec<_> = texts
                .iter()
                .map(|(item_id, body)| {
                    (
                        response_texts::response_id.eq(id),
                        response_texts::item_id.eq(*item_id),
                        response_texts::body.eq(*body),
                    )
                })
                .collect();
            diesel::insert_into(response_texts::table)
                .values(rows)
                .execute(conn)
                .await?;
        }
        Ok(Stored {
            id,
            submitted_at,
            new: true,
        })
    })
    .await
}

/// The unique index that lets a unit enter a ballot's serial number only once.
pub const PAPER_SERIAL_INDEX: &str = "responses_paper_serial_idx";

/// Whether `error` is the refusal of a paper ballot whose serial number the unit already has
/// (two clerks saving the same serial at once: the second insert loses the race).
pub fn is_paper_serial_conflict(error: &diesel::result::Error) -> bool {
    matches!(
        error,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, info)
            if info.constraint_name() == Some(PAPER_SERIAL_INDEX)
    )
}

/// A paper ballot already stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnteredBallot {
    pub response_id: i64,
    pub unit_id: i32,
    pub desk_id: Option<i32>,
    pub serial: String,
    pub entered_at: Option<DateTime<Utc>>,
    /// The display name of the account that typed it in.
    pub entered_by: Option<String>,
}

type EnteredRow = (
    i64,
    i32,
    Option<i32>,
    Option<String>,
    Option<DateTime<Utc>>,
    Option<String>,
);

fn entered_ballot(row: EnteredRow) -> EnteredBallot {
    let (response_id, unit_id, desk_id, serial, entered_at, entered_by) = row;
    EnteredBallot {
        response_id,
        unit_id,
        desk_id,
        serial: serial.unwrap_or_default(),
        entered_at,
        entered_by,
    }
}

/// Which stored paper ballot to find.
enum EnteredKey<'a> {
    Response(i64),
    Serial(i32, &'a str),
}

async fn find_entered(
    conn: &mut AsyncPgConnection,
    key: EnteredKey<'_>,
) -> diesel::QueryResult<Option<EnteredBallot>> {
    use diesel::NullableExpressionMethods;
    let mut query = responses::table
        .left_join(accounts::table)
        .filter(responses::paper_serial.is_not_null())
        .select((
            responses::id,
            responses::unit_id,
            responses::desk_id,
            responses::paper_serial,
            responses::entered_at,
            accounts::display_name.nullable(),
        ))
        .into_boxed();
    query = match key {
        EnteredKey::Response(id) => query.filter(responses::id.eq(id)),
        EnteredKey::Serial(unit_id, serial) => query
            .filter(responses::unit_id.eq(unit_id))
            .filter(responses::paper_serial.eq(serial)),
    };
    let row: Option<EnteredRow> = query.get_result(conn).await.optional()?;
    Ok(row.map(entered_ballot))
}

/// The paper ballot of `unit_id` with this serial number, if it was entered already.
pub async fn find_paper_serial(
    conn: &mut AsyncPgConnection,
    unit_id: i32,
    serial: &str,
) -> diesel::QueryResult<Option<EnteredBallot>> {
    find_entered(conn, EnteredKey::Serial(unit_id, serial)).await
}

/// The paper ballot stored as response `response_id` (`None` for any other response).
pub async fn find_paper_ballot(
    conn: &mut AsyncPgConnection,
    response_id: i64,
) -> diesel::QueryResult<Option<EnteredBallot>> {
    find_entered(conn, EnteredKey::Response(response_id)).await
}

/// A desk paper ballots can be entered for, with its unit.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct PaperDesk {
    #[diesel(sql_type = Int4)]
    pub desk_id: i32,
    #[diesel(sql_type = Text)]
    pub desk_name: String,
    #[diesel(sql_type = Int4)]
    pub unit_id: i32,
    #[diesel(sql_type = Text)]
    pub unit_name: String,
}

/// The active desks of active units within `scope`, in unit-tree order.
pub async fn paper_desks(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
) -> diesel::QueryResult<Vec<PaperDesk>> {
    diesel::sql_query(include_str!("sql/paper_desks.sql"))
        .bind::<Nullable<Array<Int4>>, _>(scope.unit_ids().map(<[i32]>::to_vec))
        .load(conn)
        .await
}

/// One response as exported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedResponse {
    pub id: i64,
    pub submitted_at: DateTime<Utc>,
    pub unit_code: String,
    pub desk_code: Option<String>,
    pub form_id: String,
    pub form_version: i32,
    pub form_version_id: i32,
    pub channel: String,
    pub answers: Vec<Option<i16>>,
    /// `(form_items.id, text)`.
    pub texts: Vec<(i32, String)>,
}

/// Up to `limit` responses with ids above `after`, in id order (keyset pagination, so an export
/// of millions of rows holds one batch in memory at a time).
pub async fn export_batch(
    conn: &mut AsyncPgConnection,
    after: i64,
    limit: i64,
) -> diesel::QueryResult<Vec<ExportedResponse>> {
    type Row = (
        i64,
        DateTime<Utc>,
        String,
        Option<String>,
        String,
        i32,
        i32,
        String,
        Vec<Option<i16>>,
    );
    let rows: Vec<Row> = responses::table
        .inner_join(units::table)
        .inner_join(form_versions::table)
        .filter(responses::id.gt(after))
        .order(responses::id)
        .limit(limit)
        .select((
            responses::id,
            responses::submitted_at,
            units::code,
            responses::desk_code,
            form_versions::form_id,
            form_versions::version,
            responses::form_version_id,
            responses::channel,
            responses::answers,
        ))
        .load(conn)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let texts: Vec<(i64, i32, String)> = if ids.is_empty() {
        Vec::new()
    } else {
        response_texts::table
            .filter(response_texts::response_id.eq_any(&ids))
            .select((
                response_texts::response_id,
                response_texts::item_id,
                response_texts::body,
            ))
            .load(conn)
            .await?
    };
    let mut by_response: std::collections::HashMap<i64, Vec<(i32, String)>> =
        std::collections::HashMap::new();
    for (response_id, item_id, body) in texts {
        by_response
            .entry(response_id)
            .or_default()
            .push((item_id, body));
    }
    Ok(rows
        .into_iter()
        .map(
            |(
                id,
                submitted_at,
                unit_code,
                desk_code,
                form_id,
                form_version,
                form_version_id,
                channel,
                answers,
            )| {
                ExportedResponse {
                    id,
                    submitted_at,
                    unit_code,
                    desk_code,
                    form_id,
                    form_version,
                    form_version_id,
                    channel,
                    answers,
                    texts: by_response.remove(&id).unwrap_or_default(),
                }
            },
        )
        .collect())
}
