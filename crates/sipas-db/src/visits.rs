//! One response per visit: one-time codes ("mã đánh giá") handed out with the receipt, and the
//! submission limits of the open desk QR and the kiosk, kept in PostgreSQL so that they hold
//! across instances.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Bytea, Float8, Text};
use diesel::{
    ExpressionMethods, OptionalExtension, QueryDsl, Queryable, QueryableByName, Selectable,
    SelectableHelper,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rand::Rng;
use serde::Serialize;
use uuid::Uuid;

use super::schema::{desks, units, visit_codes};
use crate::domain::access::Scope;

/// The unambiguous alphabet of desk codes (no 0/o, 1/i/l).
const CODE_ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
/// 10 symbols of 31: about 49.5 random bits, far beyond guessing.
pub const CODE_LENGTH: usize = 10;
/// Most codes minted at once (one request, one transaction).
pub const MAX_PER_BATCH: usize = 500;
/// Longest dossier number ("mã hồ sơ"), in characters.
pub const MAX_DOSSIER_CHARS: usize = 64;

/// A fresh random one-time code.
pub fn new_code() -> String {
    let mut rng = rand::rng();
    (0..CODE_LENGTH)
        .map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char)
        .collect()
}

/// Whether `code` could be a one-time code at all (checked before touching the database).
pub fn is_plausible_code(code: &str) -> bool {
    (8..=32).contains(&code.len()) && code.bytes().all(|b| CODE_ALPHABET.contains(&b))
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = visit_codes)]
pub struct VisitCode {
    pub id: i64,
    pub code: String,
    pub desk_id: i32,
    pub batch: Uuid,
    pub dossier_no: Option<String>,
    pub created_by: Option<i32>,
    pub created_by_token: Option<i32>,
    pub created_at: DateTime<Utc>,
    /// Whether a response used it. Neither the code nor the response refers to the other, and
    /// when it was used is not kept (docs/privacy.md).
    pub used: bool,
}

/// A code with its desk and unit, as printed on a slip and listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeSlip {
    pub code: VisitCode,
    pub desk_name: String,
    pub unit_id: i32,
    pub unit_name: String,
    /// Whether the desk and its unit accept responses now.
    pub desk_active: bool,
}

/// Who mints codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Minter {
    pub account_id: i32,
    /// The API token, when the codes came through the API.
    pub token_id: Option<i32>,
}

/// Mints one code per entry of `dossiers` (`None`: no dossier number) for `desk_id`, all in one
/// batch, in one transaction. The caller checks the desk, its scope and the inputs.
pub async fn mint(
    conn: &mut AsyncPgConnection,
    desk_id: i32,
    dossiers: &[Option<String>],
    minter: Minter,
) -> diesel::QueryResult<Vec<VisitCode>> {
    let batch = Uuid::new_v4();
    conn.transaction(async |conn| {
        let mut minted = Vec::with_capacity(dossiers.len());
        for dossier in dossiers {
            // A collision of ~49 random bits is all but impossible; retry anyway.
            let mut row = None;
            for _ in 0..5 {
                row = diesel::insert_into(visit_codes::table)
                    .values((
                        visit_codes::code.eq(new_code()),
                        visit_codes::desk_id.eq(desk_id),
                        visit_codes::batch.eq(batch),
                        visit_codes::dossier_no.eq(dossier.as_deref()),
                        visit_codes::created_by.eq(minter.account_id),
                        visit_codes::created_by_token.eq(minter.token_id),
                    ))
                    .on_conflict(visit_codes::code)
                    .do_nothing()
                    .returning(VisitCode::as_returning())
                    .get_result(conn)
                    .await
                    .optional()?;
                if row.is_some() {
                    break;
                }
            }
            minted.push(row.ok_or(diesel::result::Error::RollbackTransaction)?);
        }
        Ok(minted)
    })
    .await
}

type SlipRow = (VisitCode, String, bool, i32, String, bool);

fn slip((code, desk_name, desk_active, unit_id, unit_name, unit_active): SlipRow) -> CodeSlip {
    CodeSlip {
        code,
        desk_name,
        unit_id,
        unit_name,
        desk_active: desk_active && unit_active,
    }
}

macro_rules! slips_query {
    () => {
        visit_codes::table
            .inner_join(desks::table.inner_join(units::table))
            .select((
                VisitCode::as_select(),
                desks::name,
                desks::active,
                units::id,
                units::name,
                units::active,
            ))
    };
}

/// The code `code` with its desk and unit (whatever its state).
pub async fn find(
    conn: &mut AsyncPgConnection,
    code: &str,
) -> diesel::QueryResult<Option<CodeSlip>> {
    Ok(slips_query!()
        .filter(visit_codes::code.eq(code))
        .get_result::<SlipRow>(conn)
        .await
        .optional()?
        .map(slip))
}

/// The time of the response with submission key `key` that came through a one-time code of
/// desk `desk_id`: the form that used a code, sent again (a double tap, a reload). Only the
/// person holding that form knows its key; nothing links the code to the response.
pub async fn sent_with_code(
    conn: &mut AsyncPgConnection,
    key: Uuid,
    desk_id: i32,
) -> diesel::QueryResult<Option<DateTime<Utc>>> {
    use super::schema::{response_keys, responses};
    // The registry finds the key's response and its time (one partition; migration 30).
    let Some((id, submitted_at)) = response_keys::table
        .filter(response_keys::submission_key.eq(key))
        .select((response_keys::response_id, response_keys::submitted_at))
        .get_result::<(i64, DateTime<Utc>)>(conn)
        .await
        .optional()?
    else {
        return Ok(None);
    };
    responses::table
        .filter(responses::id.eq(id))
        .filter(responses::submitted_at.eq(submitted_at))
        .filter(responses::desk_id.eq(desk_id))
        .filter(responses::via.eq(super::responses::Via::Code.as_str()))
        .select(responses::submitted_at)
        .get_result(conn)
        .await
        .optional()
}

/// The codes of batch `batch` within `scope`, in minting order.
pub async fn batch(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    batch: Uuid,
) -> diesel::QueryResult<Vec<CodeSlip>> {
    let mut query = slips_query!()
        .filter(visit_codes::batch.eq(batch))
        .order(visit_codes::id)
        .into_boxed();
    if let Some(ids) = scope.unit_ids() {
        query = query.filter(desks::unit_id.eq_any(ids.to_vec()));
    }
    Ok(query
        .load::<SlipRow>(conn)
        .await?
        .into_iter()
        .map(slip)
        .collect())
}

/// One batch, as listed on the codes page.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct BatchRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub batch: Uuid,
    #[diesel(sql_type = diesel::sql_types::Int4)]
    pub desk_id: i32,
    #[diesel(sql_type = Text)]
    pub desk_name: String,
    #[diesel(sql_type = Text)]
    pub unit_name: String,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = diesel::sql_types::Int8)]
    pub codes: i64,
    #[diesel(sql_type = diesel::sql_types::Int8)]
    pub used: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    pub created_by: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub via_api: bool,
}

/// The latest `limit` batches within `scope`, newest first.
pub async fn recent_batches(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    limit: i64,
) -> diesel::QueryResult<Vec<BatchRow>> {
    diesel::sql_query(
        "SELECT c.batch, c.desk_id, d.name AS desk_name, u.name AS unit_name, \
                min(c.created_at) AS created_at, count(*) AS codes, count(*) FILTER (WHERE c.used) AS used, \
                min(a.display_name) AS created_by, bool_or(c.created_by_token IS NOT NULL) AS via_api \
         FROM visit_codes c JOIN desks d ON d.id = c.desk_id JOIN units u ON u.id = d.unit_id \
         LEFT JOIN accounts a ON a.id = c.created_by \
         WHERE $1::int4[] IS NULL OR d.unit_id = ANY($1) \
         GROUP BY c.batch, c.desk_id, d.name, u.name \
         ORDER BY min(c.id) DESC LIMIT $2",
    )
    .bind::<diesel::sql_types::Nullable<diesel::sql_types::Array<diesel::sql_types::Int4>>, _>(
        scope.unit_ids().map(<[i32]>::to_vec),
    )
    .bind::<diesel::sql_types::Int8, _>(limit)
    .load(conn)
    .await
}

pub use crate::domain::limits::Rate;

/// Whose submissions a bucket counts (`visit_limits.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    /// One client: its address and its cookie.
    Person,
    /// One address (many people behind a shared address).
    Address,
    /// One kiosk (a desk's tablet).
    Kiosk,
}

impl LimitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LimitKind::Person => "person",
            LimitKind::Address => "address",
            LimitKind::Kiosk => "kiosk",
        }
    }
}

/// One bucket to take a submission from: whose submissions it counts, and its rate.
#[derive(Debug, Clone, Copy)]
pub struct LimitCheck<'a> {
    pub kind: LimitKind,
    pub key: &'a [u8],
    pub rate: Rate,
}

#[derive(QueryableByName)]
struct Wait {
    #[diesel(sql_type = diesel::sql_types::Nullable<Float8>)]
    wait: Option<f64>,
}

const TAKE_LIMITS_SQL: &str = include_str!("sql/take_limits.sql");
static TAKE_LIMITS: std::sync::LazyLock<Vec<&'static str>> =
    std::sync::LazyLock::new(|| super::prepared::pieces(TAKE_LIMITS_SQL, 4));

/// `sql/take_limits.sql` with its binds: prepared once per connection (see
/// [`super::prepared`]), as it runs on every submission through a desk's QR code or kiosk.
struct TakeLimits<'a> {
    kinds: Vec<&'static str>,
    keys: Vec<&'a [u8]>,
    bursts: Vec<f64>,
    refills: Vec<f64>,
}

impl diesel::query_builder::QueryId for TakeLimits<'_> {
    type QueryId = TakeLimits<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl diesel::query_builder::Query for TakeLimits<'_> {
    type SqlType = diesel::sql_types::Untyped;
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for TakeLimits<'_> {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> diesel::QueryResult<()> {
        use diesel::sql_types::Array;
        let pieces = &*TAKE_LIMITS;
        out.push_sql(pieces[0]);
        out.push_bind_param::<Array<Text>, _>(&self.kinds)?;
        out.push_sql(pieces[1]);
        out.push_bind_param::<Array<Bytea>, _>(&self.keys)?;
        out.push_sql(pieces[2]);
        out.push_bind_param::<Array<Float8>, _>(&self.bursts)?;
        out.push_sql(pieces[3]);
        out.push_bind_param::<Array<Float8>, _>(&self.refills)?;
        out.push_sql(pieces[4]);
        Ok(())
    }
}

/// Takes one submission from each bucket of `limits` in one atomic upsert (one statement, one
/// round trip, whatever the number of limits; the buckets are locked in the order given).
/// `Ok(None)`: allowed by all; `Ok(Some(seconds))`: over at least one limit, allowed again in
/// about that many seconds. Run it inside the transaction that stores the response: a refusal
/// must roll the buckets back with it (the rows stay locked until then, so concurrent
/// submissions of one subject queue up). Each (`kind`, `key`) may appear once. Takes a shared
/// connection, so that it can go out in one round trip with the response's INSERT (pipelined).
pub async fn take_all(
    conn: &AsyncPgConnection,
    limits: &[LimitCheck<'_>],
) -> diesel::QueryResult<Option<u64>> {
    if limits.is_empty() {
        return Ok(None);
    }
    let waited: Wait = TakeLimits {
        kinds: limits.iter().map(|l| l.kind.as_str()).collect(),
        keys: limits.iter().map(|l| l.key).collect(),
        bursts: limits.iter().map(|l| f64::from(l.rate.burst)).collect(),
        refills: limits.iter().map(|l| l.rate.refill_per_second()).collect(),
    }
    .get_result(&mut &*conn)
    .await?;
    Ok(waited.wait.map(|seconds| seconds.max(1.0) as u64))
}

/// Forgets buckets untouched for two days (every limit refills well within that).
pub async fn prune_limits(conn: &mut AsyncPgConnection) -> diesel::QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM visit_limits WHERE updated_at < clock_timestamp() - interval '2 days'",
    )
    .execute(conn)
    .await
}

/// The bucket key of a kiosk: its id (`kiosks.id`).
pub fn kiosk_key(kiosk_id: i32) -> [u8; 4] {
    kiosk_id.to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_long_unambiguous_and_recognised() {
        for _ in 0..200 {
            let code = new_code();
            assert_eq!(code.len(), CODE_LENGTH);
            assert!(is_plausible_code(&code), "{code}");
            assert!(!code.contains(['0', '1', 'i', 'l', 'o']), "{code}");
        }
        // At least 40 random bits.
        assert!((CODE_LENGTH as f64) * (CODE_ALPHABET.len() as f64).log2() >= 40.0);
        assert!(!is_plausible_code("ABCDEFGH23"));
        assert!(!is_plausible_code("short"));
        assert!(!is_plausible_code("../../etc/pw"));
    }

    #[test]
    fn the_limits_statement_has_its_four_binds() {
        assert_eq!(TAKE_LIMITS.len(), 5);
    }

    #[test]
    fn a_rate_refills_its_burst_over_its_period() {
        let kiosk = Rate {
            burst: 4,
            per: std::time::Duration::from_secs(60),
        };
        assert!((kiosk.refill_per_second() - 1.0 / 15.0).abs() < 1e-12);
    }
}
