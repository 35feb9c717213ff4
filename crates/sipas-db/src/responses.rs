//! Citizens' responses: storing one atomically and exactly once, and reading them back in
//! batches for exports. Paper ballots typed in by staff are responses too (channel `paper`),
//! stored through the same [`store`].

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, Int4, Nullable, Text};
use diesel::{ExpressionMethods, Insertable, OptionalExtension, QueryDsl, QueryableByName};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{
    accounts, form_versions, response_keys, response_text_originals, response_texts, responses,
    units, visit_codes,
};
use crate::domain::access::Scope;

pub use crate::domain::channel::Channel;

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
    /// Online responses: HMAC of the client address and its cookie id (never the address).
    pub client_key: Option<&'a [u8]>,
    /// Online responses: when the form was rendered (from the signed hidden field).
    pub started_at: Option<DateTime<Utc>>,
    /// The one-time code used (`via` = "code"): [`store`] marks it used in the same
    /// transaction, and refuses the response when it already was ([`is_visit_code_used`]).
    /// Never stored with the response: nothing leads from an answer to its code, nor from the
    /// code (and the dossier it was handed out with) to the answer (docs/privacy.md).
    #[diesel(skip_insertion)]
    pub visit_code_id: Option<i64>,
    /// Whether to keep, beside the masked text, the original of an open answer in which
    /// personal data was masked (`Config::keep_original_comments`; admins only).
    #[diesel(skip_insertion)]
    pub keep_original_texts: bool,
    /// Online responses: "desk", "code" or "kiosk" (see [`Via`]).
    pub via: Option<&'a str>,
    /// The place of residence ([`sipas_core::forms::ResidenceAnswer::columns`]): a unit of the tree
    /// (one that is not a commune, ward or town existing on the day is stored as NULL by the
    /// table's trigger, migration 000050) ...
    pub residence_unit_id: Option<i32>,
    /// ... or a listed place's code, -1 "Nơi khác", -2 "Không muốn trả lời".
    pub residence_code: Option<i16>,
}

/// Which door an online response came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The desk's printed QR code, open to anyone.
    Desk,
    /// A one-time code handed out with the receipt.
    Code,
    /// The tablet at the desk.
    Kiosk,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Desk => "desk",
            Via::Code => "code",
            Via::Kiosk => "kiosk",
        }
    }
}

/// The name [`CodeAlreadyUsed`] gives as its constraint: the rule that a one-time code is used
/// by one response only (`UPDATE visit_codes SET used = true WHERE NOT used`, in the response's
/// transaction; not a constraint of the schema, which has no link between the two).
pub const VISIT_CODE_SINGLE_USE: &str = "visit_codes_single_use";

/// Whether `error` is the refusal of a response whose one-time code was already used (also
/// when two responses with the same code arrive at the same moment: the second one waits for
/// the first's row lock, then finds the code used).
pub fn is_visit_code_used(error: &diesel::result::Error) -> bool {
    matches!(
        error,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, info)
            if info.constraint_name() == Some(VISIT_CODE_SINGLE_USE)
    )
}

/// The error [`store`] returns when the response's one-time code was already used.
#[derive(Debug)]
struct CodeAlreadyUsed;

impl diesel::result::DatabaseErrorInformation for CodeAlreadyUsed {
    fn message(&self) -> &str {
        "the one-time code was already used"
    }
    fn details(&self) -> Option<&str> {
        None
    }
    fn hint(&self) -> Option<&str> {
        None
    }
    fn table_name(&self) -> Option<&str> {
        Some("visit_codes")
    }
    fn column_name(&self) -> Option<&str> {
        None
    }
    fn constraint_name(&self) -> Option<&str> {
        Some(VISIT_CODE_SINGLE_USE)
    }
    fn statement_position(&self) -> Option<i32> {
        None
    }
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
/// second submission with the same key stores nothing and returns the first. A response with a
/// one-time code (`visit_code_id`) marks the code used in the same transaction; when the code
/// was already used by another response, nothing is stored and the error answers
/// [`is_visit_code_used`].
pub async fn store(
    conn: &mut AsyncPgConnection,
    new: &NewResponse<'_>,
    texts: &[(i32, &str)],
) -> diesel::QueryResult<Stored> {
    conn.transaction(async |conn| store_within(conn, new, texts).await)
        .await
}

/// [`store`] for a caller that has already opened the transaction (and does more in it, such as
/// the submission limits of `survey::store_online`): saves the savepoint a nested transaction
/// would cost, on the path every citizen takes. Must run inside a transaction.
pub async fn store_within(
    conn: &mut AsyncPgConnection,
    new: &NewResponse<'_>,
    texts: &[(i32, &str)],
) -> diesel::QueryResult<Stored> {
    match insert_row(conn, new).await? {
        Some((id, submitted_at)) => finish_new(conn, new, id, submitted_at, texts).await,
        None => stored_with_key(conn, new.submission_key).await,
    }
}

/// The first step of [`store_within`]: inserts the response's row unless its submission key is
/// already stored (`None` then), in any year: the trigger that registers the key in
/// `response_keys` skips the row then (migration 30; a concurrent insert of the same key waits
/// for the first one's transaction). Takes a shared connection, so that a caller can send
/// another statement of the same transaction with it in one round trip (pipelined).
pub async fn insert_row(
    conn: &AsyncPgConnection,
    new: &NewResponse<'_>,
) -> diesel::QueryResult<Option<(i64, DateTime<Utc>)>> {
    diesel::insert_into(responses::table)
        .values(new)
        .returning((responses::id, responses::submitted_at))
        .get_result(&mut &*conn)
        .await
        .optional()
}

/// The response already stored with `submission_key`.
pub async fn stored_with_key(
    conn: &mut AsyncPgConnection,
    submission_key: Uuid,
) -> diesel::QueryResult<Stored> {
    let (id, submitted_at) = response_keys::table
        .filter(response_keys::submission_key.eq(submission_key))
        .select((response_keys::response_id, response_keys::submitted_at))
        .get_result(conn)
        .await?;
    Ok(Stored {
        id,
        submitted_at,
        new: false,
    })
}

/// The longest open answer stored, in characters (`response_texts.body`'s `CHECK`, migration 1;
/// a form's `max_length` is at most this too).
pub const MAX_STORED_TEXT_CHARS: usize = 10_000;

/// The rest of [`store_within`] once the row `id` is inserted: marks its one-time code used and
/// stores its open answers.
pub async fn finish_new(
    conn: &mut AsyncPgConnection,
    new: &NewResponse<'_>,
    id: i64,
    submitted_at: DateTime<Utc>,
    texts: &[(i32, &str)],
) -> diesel::QueryResult<Stored> {
    if let Some(code_id) = new.visit_code_id {
        // Marks the code used, and only that: not when, nor by which response. A concurrent
        // response with the same code waits here for this row's lock, then finds it used.
        let marked = diesel::update(visit_codes::table.find(code_id))
            .filter(visit_codes::used.eq(false))
            .set(visit_codes::used.eq(true))
            .execute(conn)
            .await?;
        if marked == 0 {
            return Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                Box::new(CodeAlreadyUsed),
            ));
        }
    }
    if !texts.is_empty() {
        // Personal data (phone and ID numbers, e-mail addresses, licence plates) never reaches
        // the database: every open answer, online, spooled or typed in from paper, is stored
        // here and masked first (docs/privacy.md).
        let masked: Vec<String> = texts
            .iter()
            .map(|(_, body)| crate::privacy::mask_within(body, MAX_STORED_TEXT_CHARS))
            .collect();
        let rows: Vec<_> = texts
            .iter()
            .zip(&masked)
            .map(|((item_id, _), body)| {
                (
                    response_texts::response_id.eq(id),
                    response_texts::item_id.eq(*item_id),
                    response_texts::body.eq(body),
                )
            })
            .collect();
        diesel::insert_into(response_texts::table)
            .values(rows)
            .execute(conn)
            .await?;
        if new.keep_original_texts {
            // The office chose to keep what was masked (SIPAS_KEEP_ORIGINAL_COMMENTS): the
            // comments that changed, as written, in a table only admins' pages read.
            let originals: Vec<_> = texts
                .iter()
                .zip(&masked)
                .filter(|((_, original), body)| original != body)
                .map(|((item_id, original), _)| {
                    (
                        response_text_originals::response_id.eq(id),
                        response_text_originals::item_id.eq(*item_id),
                        response_text_originals::body.eq(*original),
                    )
                })
                .collect();
            if !originals.is_empty() {
                diesel::insert_into(response_text_originals::table)
                    .values(originals)
                    .execute(conn)
                    .await?;
            }
        }
    }
    Ok(Stored {
        id,
        submitted_at,
        new: true,
    })
}

/// The unique index that lets a unit enter a ballot's serial number only once (on the registry
/// `response_keys`, so that it holds across the yearly partitions; migration 30).
pub const PAPER_SERIAL_INDEX: &str = "response_keys_paper_serial_idx";

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
        EnteredKey::Serial(unit_id, serial) => {
            // The registry's unique index finds the response and its time (one partition).
            let Some((id, submitted_at)) = response_keys::table
                .filter(response_keys::unit_id.eq(unit_id))
                .filter(response_keys::paper_serial.eq(serial))
                .select((response_keys::response_id, response_keys::submitted_at))
                .get_result::<(i64, DateTime<Utc>)>(conn)
                .await
                .optional()?
            else {
                return Ok(None);
            };
            query
                .filter(responses::id.eq(id))
                .filter(responses::submitted_at.eq(submitted_at))
        }
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
    /// Today's unit(s) of `unit_code` (issue 19): its own code while it exists, else the codes
    /// of its successors through the recorded acts, comma-separated ([`current_unit_codes`]).
    pub current_unit_code: String,
    pub desk_code: Option<String>,
    pub form_id: String,
    pub form_version: i32,
    pub form_version_id: i32,
    pub channel: String,
    pub answers: Vec<Option<i16>>,
    /// `(form_items.id, text)`.
    pub texts: Vec<(i32, String)>,
    /// Whether it counts in the published figures, and why not (`crate::flags`).
    pub standing: super::flags::Standing,
    /// The place of residence: a unit of the tree, with its name and official code ...
    pub residence_unit: Option<(i32, String, Option<String>)>,
    /// ... or the stored code (a listed place, -1 "Nơi khác", -2 "Không muốn trả lời").
    pub residence_code: Option<i16>,
}

/// Which responses an export holds; every part optional, combined with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportFilter {
    /// Only the responses of these units.
    pub units: Option<Vec<i32>>,
    /// Only the responses to these form versions (`form_versions.id`).
    pub form_versions: Option<Vec<i32>>,
    /// Submitted at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Submitted before this instant.
    pub until: Option<DateTime<Utc>>,
    pub channel: Option<String>,
}

type ExportQuery<'a> = diesel::dsl::IntoBoxed<'a, responses::table, diesel::pg::Pg>;

impl ExportFilter {
    fn apply<'a>(&'a self, mut query: ExportQuery<'a>) -> ExportQuery<'a> {
        if let Some(units) = &self.units {
            query = query.filter(responses::unit_id.eq_any(units));
        }
        if let Some(versions) = &self.form_versions {
            query = query.filter(responses::form_version_id.eq_any(versions));
        }
        if let Some(from) = self.from {
            query = query.filter(responses::submitted_at.ge(from));
        }
        if let Some(until) = self.until {
            query = query.filter(responses::submitted_at.lt(until));
        }
        if let Some(channel) = &self.channel {
            query = query.filter(responses::channel.eq(channel));
        }
        query
    }
}

/// Number of responses matching `filter`.
pub async fn export_count(
    conn: &mut AsyncPgConnection,
    filter: &ExportFilter,
) -> diesel::QueryResult<u64> {
    let n: i64 = filter
        .apply(responses::table.into_boxed())
        .count()
        .get_result(conn)
        .await?;
    Ok(n.max(0) as u64)
}

/// The query of [`export_batch`]'s rows: filtered on `submitted_at` when the filter has dates,
/// which limits it to the partitions of those years (migration 30).
fn batch_query(filter: &ExportFilter, after: i64, limit: i64) -> ExportQuery<'_> {
    filter
        .apply(responses::table.into_boxed())
        .filter(responses::id.gt(after))
        .order(responses::id)
        .limit(limit)
}

/// The rows [`batch_query`] selects.
type BatchColumns = (
    responses::id,
    responses::submitted_at,
    responses::unit_id,
    responses::desk_code,
    responses::form_version_id,
    responses::channel,
    responses::answers,
    responses::residence_unit_id,
    responses::residence_code,
);

/// PostgreSQL's plan (`EXPLAIN`, without costs) of the query that reads a batch of an export
/// with `filter`: which partitions of responses it reads (tests/partitions.rs).
pub async fn explain_export_batch(
    conn: &mut AsyncPgConnection,
    filter: &ExportFilter,
) -> diesel::QueryResult<Vec<String>> {
    let query = batch_query(filter, 0, 1000).select(BATCH_COLUMNS);
    Explain(query).load(conn).await
}

const BATCH_COLUMNS: BatchColumns = (
    responses::id,
    responses::submitted_at,
    responses::unit_id,
    responses::desk_code,
    responses::form_version_id,
    responses::channel,
    responses::answers,
    responses::residence_unit_id,
    responses::residence_code,
);

/// `EXPLAIN (COSTS OFF)` of a query, one plan line per row.
struct Explain<Q>(Q);

impl<Q> diesel::query_builder::QueryId for Explain<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: diesel::query_builder::QueryFragment<diesel::pg::Pg>>
    diesel::query_builder::QueryFragment<diesel::pg::Pg> for Explain<Q>
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> diesel::QueryResult<()> {
        out.push_sql("EXPLAIN (COSTS OFF) ");
        self.0.walk_ast(out.reborrow())
    }
}

impl<Q> diesel::query_builder::Query for Explain<Q> {
    type SqlType = Text;
}

/// Up to `limit` responses matching `filter` with ids above `after`, in id order (keyset
/// pagination, so an export of millions of rows holds one batch in memory at a time).
pub async fn export_batch(
    conn: &mut AsyncPgConnection,
    filter: &ExportFilter,
    after: i64,
    limit: i64,
) -> diesel::QueryResult<Vec<ExportedResponse>> {
    type Row = (
        i64,
        DateTime<Utc>,
        i32,
        Option<String>,
        i32,
        String,
        Vec<Option<i16>>,
        Option<i32>,
        Option<i16>,
    );
    let rows: Vec<Row> = batch_query(filter, after, limit)
        .select(BATCH_COLUMNS)
        .load(conn)
        .await?;
    // Unit codes and form versions are few: looked up once per batch, not joined per row.
    let mut unit_ids: Vec<i32> = rows.iter().map(|r| r.2).collect();
    unit_ids.sort_unstable();
    unit_ids.dedup();
    let unit_codes: std::collections::HashMap<i32, String> = units::table
        .filter(units::id.eq_any(&unit_ids))
        .select((units::id, units::code))
        .load::<(i32, String)>(conn)
        .await?
        .into_iter()
        .collect();
    let current_codes = current_unit_codes(conn, &unit_ids).await?;
    let mut version_ids: Vec<i32> = rows.iter().map(|r| r.4).collect();
    version_ids.sort_unstable();
    version_ids.dedup();
    let versions: std::collections::HashMap<i32, (String, i32)> = form_versions::table
        .filter(form_versions::id.eq_any(&version_ids))
        .select((
            form_versions::id,
            form_versions::form_id,
            form_versions::version,
        ))
        .load::<(i32, String, i32)>(conn)
        .await?
        .into_iter()
        .map(|(id, form, version)| (id, (form, version)))
        .collect();
    let rows: Vec<_> = rows
        .into_iter()
        .map(
            |(
                id,
                submitted_at,
                unit_id,
                desk_code,
                form_version_id,
                channel,
                answers,
                residence_unit,
                residence_code,
            )| {
                let (form_id, form_version) =
                    versions.get(&form_version_id).cloned().unwrap_or_default();
                (
                    id,
                    submitted_at,
                    (
                        unit_codes.get(&unit_id).cloned().unwrap_or_default(),
                        current_codes.get(&unit_id).cloned().unwrap_or_default(),
                    ),
                    desk_code,
                    form_id,
                    form_version,
                    form_version_id,
                    channel,
                    answers,
                    (residence_unit, residence_code),
                )
            },
        )
        .collect();
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
    let mut standings = super::flags::standing(conn, &ids).await?;
    // The places of residence named by the batch (its rows' last field: unit, code).
    let mut place_ids: Vec<i32> = rows.iter().filter_map(|r| r.9.0).collect();
    place_ids.sort_unstable();
    place_ids.dedup();
    let place_names = super::residence::names_of(conn, &place_ids).await?;
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
                (unit_code, current_unit_code),
                desk_code,
                form_id,
                form_version,
                form_version_id,
                channel,
                answers,
                residence,
            )| {
                ExportedResponse {
                    id,
                    submitted_at,
                    unit_code,
                    current_unit_code,
                    desk_code,
                    form_id,
                    form_version,
                    form_version_id,
                    channel,
                    answers,
                    texts: by_response.remove(&id).unwrap_or_default(),
                    standing: standings.remove(&id).unwrap_or_default(),
                    residence_unit: residence.0.map(|unit_id| {
                        let (name, admin_code) = place_names
                            .get(&unit_id)
                            .cloned()
                            .unwrap_or_else(|| (format!("Đơn vị {unit_id}"), None));
                        (unit_id, name, admin_code)
                    }),
                    residence_code: residence.1,
                }
            },
        )
        .collect())
}

/// Today's unit(s) of each of `units` (issue 19): the unit's own code while it exists, else
/// the codes of its successors through the recorded acts (transitively; a split gives several,
/// comma-separated in code order), by unit id (`sql/lineage_current.sql`).
pub async fn current_unit_codes(
    conn: &mut AsyncPgConnection,
    units: &[i32],
) -> diesel::QueryResult<std::collections::HashMap<i32, String>> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Int4)]
        unit_id: i32,
        #[diesel(sql_type = diesel::sql_types::Text)]
        codes: String,
    }
    if units.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<Row> = diesel::sql_query(include_str!("sql/lineage_current.sql"))
        .bind::<diesel::sql_types::Array<diesel::sql_types::Int4>, _>(units)
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|r| (r.unit_id, r.codes)).collect())
}
