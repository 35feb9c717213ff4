//! E-mail alerts (migration `…000021_alerts`): the staff's subscriptions, the outbox of events
//! (`alert_events`, one row per subscription and matching response, marked sent once the SMTP
//! server accepted the e-mail) and the alert task's watermark (`alert_state`). The rules
//! (what matches, when a digest is due, the text) are `crate::domain::alerts`'s; the task is
//! `sipas_app::alerts`.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Bool, Int4, Int8, Nullable, SmallInt, Text, Timestamptz};
use diesel::{
    ExpressionMethods, Insertable, OptionalExtension, QueryDsl, Queryable, QueryableByName,
    Selectable, SelectableHelper,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::schema::{alert_subscriptions, units};

/// Key of the advisory lock held while events are written (transaction level): one instance
/// at a time moves the watermark.
pub const ALERT_LOCK: i64 = 0x5349_5041_535f_414c;

/// A subscription, as listed and audited.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = alert_subscriptions)]
pub struct Subscription {
    pub id: i32,
    pub account_id: i32,
    pub unit_id: i32,
    pub email: String,
    pub on_very_dissatisfied: bool,
    pub on_comment: bool,
    /// `immediate` or `daily` (`crate::domain::alerts::Mode`).
    pub mode: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = alert_subscriptions)]
pub struct NewSubscription<'a> {
    pub account_id: i32,
    pub unit_id: i32,
    pub email: &'a str,
    pub on_very_dissatisfied: bool,
    pub on_comment: bool,
    pub mode: &'a str,
}

/// A subscription with its unit's name and its outbox, for the account's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionRow {
    pub subscription: Subscription,
    pub unit_name: String,
    /// Events not yet sent.
    pub pending: i64,
    /// When an e-mail of it was last accepted by the SMTP server.
    pub last_sent_at: Option<DateTime<Utc>>,
}

#[derive(QueryableByName)]
struct OutboxRow {
    #[diesel(sql_type = Int4)]
    subscription_id: i32,
    #[diesel(sql_type = BigInt)]
    pending: i64,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    last_sent_at: Option<DateTime<Utc>>,
}

impl Subscription {
    pub async fn insert(
        conn: &mut AsyncPgConnection,
        new: &NewSubscription<'_>,
    ) -> diesel::QueryResult<Subscription> {
        diesel::insert_into(alert_subscriptions::table)
            .values(new)
            .returning(Subscription::as_returning())
            .get_result(conn)
            .await
    }

    /// Whether the account already has a subscription to `unit_id` sent to `email`.
    pub async fn exists(
        conn: &mut AsyncPgConnection,
        account_id: i32,
        unit_id: i32,
        email: &str,
    ) -> diesel::QueryResult<bool> {
        diesel::select(diesel::dsl::exists(
            alert_subscriptions::table
                .filter(alert_subscriptions::account_id.eq(account_id))
                .filter(alert_subscriptions::unit_id.eq(unit_id))
                .filter(alert_subscriptions::email.eq(email)),
        ))
        .get_result(conn)
        .await
    }

    pub async fn find_for_update(
        conn: &mut AsyncPgConnection,
        id: i32,
    ) -> diesel::QueryResult<Option<Subscription>> {
        alert_subscriptions::table
            .find(id)
            .select(Subscription::as_select())
            .for_update()
            .get_result(conn)
            .await
            .optional()
    }

    /// The subscription `id` locked for sending, or `None` when another session sends it now
    /// (or it was deleted). `FOR NO KEY UPDATE`: events can still be written for it meanwhile.
    pub async fn lock_for_sending(
        conn: &mut AsyncPgConnection,
        id: i32,
    ) -> diesel::QueryResult<Option<Subscription>> {
        alert_subscriptions::table
            .find(id)
            .select(Subscription::as_select())
            .for_no_key_update()
            .skip_locked()
            .get_result(conn)
            .await
            .optional()
    }

    pub async fn delete(conn: &mut AsyncPgConnection, id: i32) -> diesel::QueryResult<()> {
        diesel::delete(alert_subscriptions::table.find(id))
            .execute(conn)
            .await?;
        Ok(())
    }

    /// Every subscription (the alert task matches new responses against them).
    pub async fn all(conn: &mut AsyncPgConnection) -> diesel::QueryResult<Vec<Subscription>> {
        alert_subscriptions::table
            .select(Subscription::as_select())
            .order(alert_subscriptions::id)
            .load(conn)
            .await
    }

    /// The account's subscriptions, oldest first, with their units' names and outboxes.
    pub async fn list_for_account(
        conn: &mut AsyncPgConnection,
        account_id: i32,
    ) -> diesel::QueryResult<Vec<SubscriptionRow>> {
        let rows: Vec<(Subscription, String)> = alert_subscriptions::table
            .inner_join(units::table)
            .filter(alert_subscriptions::account_id.eq(account_id))
            .select((Subscription::as_select(), units::name))
            .order(alert_subscriptions::id)
            .load(conn)
            .await?;
        let outbox: Vec<OutboxRow> = diesel::sql_query(
            "SELECT e.subscription_id, \
                    count(*) FILTER (WHERE e.sent_at IS NULL AND e.dropped_at IS NULL) AS pending, \
                    max(e.sent_at) AS last_sent_at \
             FROM alert_events e JOIN alert_subscriptions s ON s.id = e.subscription_id \
             WHERE s.account_id = $1 GROUP BY e.subscription_id",
        )
        .bind::<Int4, _>(account_id)
        .load(conn)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(subscription, unit_name)| {
                let o = outbox.iter().find(|o| o.subscription_id == subscription.id);
                SubscriptionRow {
                    pending: o.map_or(0, |o| o.pending),
                    last_sent_at: o.and_then(|o| o.last_sent_at),
                    subscription,
                    unit_name,
                }
            })
            .collect())
    }
}

/// The alert task's state.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct AlertState {
    /// Every response up to this id has its events written.
    #[diesel(sql_type = Int8)]
    pub last_response_id: i64,
    /// The statistics' watermark: every response up to it is committed or will never exist.
    #[diesel(sql_type = Int8)]
    pub horizon: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub last_error: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_error_at: Option<DateTime<Utc>>,
}

pub async fn state(conn: &mut AsyncPgConnection) -> diesel::QueryResult<AlertState> {
    diesel::sql_query(
        "SELECT a.last_response_id, r.last_response_id AS horizon, a.last_error, a.last_error_at \
         FROM alert_state a, rollup_state r",
    )
    .get_result(conn)
    .await
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

/// Takes the alert task's lock until the end of the transaction, unless another session
/// holds it (`false`: it is writing events now).
pub async fn try_lock(conn: &mut AsyncPgConnection) -> diesel::QueryResult<bool> {
    let row: Locked = diesel::sql_query(format!(
        "SELECT pg_try_advisory_xact_lock({ALERT_LOCK}) AS locked"
    ))
    .get_result(conn)
    .await?;
    Ok(row.locked)
}

/// Moves the watermark to `to`.
pub async fn set_watermark(conn: &mut AsyncPgConnection, to: i64) -> diesel::QueryResult<()> {
    diesel::sql_query("UPDATE alert_state SET last_response_id = $1")
        .bind::<Int8, _>(to)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records the SMTP server's last refusal (or clears it with `None`).
pub async fn set_error(
    conn: &mut AsyncPgConnection,
    error: Option<&str>,
) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "UPDATE alert_state SET last_error = $1, \
         last_error_at = CASE WHEN $1 IS NULL THEN NULL ELSE now() END \
         WHERE $1 IS NOT NULL OR last_error IS NOT NULL",
    )
    .bind::<Nullable<Text>, _>(error)
    .execute(conn)
    .await?;
    Ok(())
}

/// A response the alert task looks at.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct Candidate {
    #[diesel(sql_type = Int8)]
    pub id: i64,
    #[diesel(sql_type = Int4)]
    pub unit_id: i32,
    #[diesel(sql_type = Int4)]
    pub form_version_id: i32,
    #[diesel(sql_type = Timestamptz)]
    pub submitted_at: DateTime<Utc>,
    #[diesel(sql_type = Array<Nullable<SmallInt>>)]
    pub answers: Vec<Option<i16>>,
    /// Whether it holds a comment that is not blank.
    #[diesel(sql_type = Bool)]
    pub has_comment: bool,
}

/// The responses with `from < id <= to` of the units `unit_ids`.
pub async fn candidates(
    conn: &mut AsyncPgConnection,
    from: i64,
    to: i64,
    unit_ids: &[i32],
) -> diesel::QueryResult<Vec<Candidate>> {
    diesel::sql_query(
        "SELECT r.id, r.unit_id, r.form_version_id, r.submitted_at, r.answers, \
                EXISTS (SELECT 1 FROM response_texts t \
                        WHERE t.response_id = r.id AND btrim(t.body) <> '') AS has_comment \
         FROM responses r \
         WHERE r.id > $1 AND r.id <= $2 AND r.unit_id = ANY($3) ORDER BY r.id",
    )
    .bind::<Int8, _>(from)
    .bind::<Int8, _>(to)
    .bind::<Array<Int4>, _>(unit_ids)
    .load(conn)
    .await
}

/// One event to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub subscription_id: i32,
    pub response_id: i64,
    pub very_dissatisfied: bool,
    pub comment: bool,
}

/// Writes `events` (an event already written is left as it is).
pub async fn insert_events(
    conn: &mut AsyncPgConnection,
    events: &[NewEvent],
) -> diesel::QueryResult<usize> {
    if events.is_empty() {
        return Ok(0);
    }
    let subs: Vec<i32> = events.iter().map(|e| e.subscription_id).collect();
    let responses: Vec<i64> = events.iter().map(|e| e.response_id).collect();
    let low: Vec<bool> = events.iter().map(|e| e.very_dissatisfied).collect();
    let comment: Vec<bool> = events.iter().map(|e| e.comment).collect();
    diesel::sql_query(
        "INSERT INTO alert_events (subscription_id, response_id, very_dissatisfied, comment) \
         SELECT * FROM unnest($1::int4[], $2::int8[], $3::bool[], $4::bool[]) \
         ON CONFLICT DO NOTHING",
    )
    .bind::<Array<Int4>, _>(subs)
    .bind::<Array<Int8>, _>(responses)
    .bind::<Array<Bool>, _>(low)
    .bind::<Array<Bool>, _>(comment)
    .execute(conn)
    .await
}

/// Deletes the events sent or dropped more than `days` ago (the watermark keeps them from
/// being written again).
pub async fn forget_old_events(conn: &mut AsyncPgConnection, days: i32) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "DELETE FROM alert_events \
         WHERE coalesce(sent_at, dropped_at) < now() - make_interval(days => $1)",
    )
    .bind::<Int4, _>(days)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = Int4)]
    id: i32,
}

/// The subscriptions with events due: any pending event of an immediate one, pending events
/// written before `digest_cutoff` of a daily one.
pub async fn due_subscriptions(
    conn: &mut AsyncPgConnection,
    digest_cutoff: DateTime<Utc>,
) -> diesel::QueryResult<Vec<i32>> {
    let rows: Vec<IdRow> = diesel::sql_query(
        "SELECT s.id FROM alert_subscriptions s \
         WHERE EXISTS (SELECT 1 FROM alert_events e \
                       WHERE e.subscription_id = s.id AND e.sent_at IS NULL \
                         AND e.dropped_at IS NULL \
                         AND (s.mode = 'immediate' OR e.created_at < $1)) \
         ORDER BY s.id",
    )
    .bind::<Timestamptz, _>(digest_cutoff)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// A pending event of a subscription.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct PendingEvent {
    #[diesel(sql_type = Int8)]
    pub response_id: i64,
    /// The response's unit.
    #[diesel(sql_type = Int4)]
    pub unit_id: i32,
}

/// The pending events of subscription `id` (written before `before`, when given), oldest
/// response first.
pub async fn pending_events(
    conn: &mut AsyncPgConnection,
    id: i32,
    before: Option<DateTime<Utc>>,
) -> diesel::QueryResult<Vec<PendingEvent>> {
    diesel::sql_query(
        "SELECT e.response_id, r.unit_id FROM alert_events e \
         JOIN responses r ON r.id = e.response_id \
         WHERE e.subscription_id = $1 AND e.sent_at IS NULL AND e.dropped_at IS NULL \
           AND ($2::timestamptz IS NULL OR e.created_at < $2) \
         ORDER BY e.response_id",
    )
    .bind::<Int4, _>(id)
    .bind::<Nullable<Timestamptz>, _>(before)
    .load(conn)
    .await
}

/// What an e-mail says of a response.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct ResponseDetail {
    #[diesel(sql_type = Int8)]
    pub id: i64,
    #[diesel(sql_type = Int4)]
    pub unit_id: i32,
    #[diesel(sql_type = Text)]
    pub unit_name: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub desk_name: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    pub submitted_at: DateTime<Utc>,
    #[diesel(sql_type = Int4)]
    pub form_version_id: i32,
    #[diesel(sql_type = Array<Nullable<SmallInt>>)]
    pub answers: Vec<Option<i16>>,
}

/// A comment of a response, as stored (masked).
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct CommentText {
    #[diesel(sql_type = Int8)]
    pub response_id: i64,
    #[diesel(sql_type = Int4)]
    pub item_id: i32,
    #[diesel(sql_type = Text)]
    pub body: String,
}

/// The responses `ids`, in that order of ids, and their comments that are not blank (in the
/// form's order).
pub async fn details(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
) -> diesel::QueryResult<(Vec<ResponseDetail>, Vec<CommentText>)> {
    let responses = diesel::sql_query(
        "SELECT r.id, r.unit_id, u.name AS unit_name, d.name AS desk_name, r.submitted_at, \
                r.form_version_id, r.answers \
         FROM responses r JOIN units u ON u.id = r.unit_id \
         LEFT JOIN desks d ON d.id = r.desk_id \
         WHERE r.id = ANY($1) ORDER BY r.id",
    )
    .bind::<Array<Int8>, _>(ids)
    .load(conn)
    .await?;
    let comments = diesel::sql_query(
        "SELECT t.response_id, t.item_id, t.body FROM response_texts t \
         JOIN form_items i ON i.id = t.item_id \
         WHERE t.response_id = ANY($1) AND btrim(t.body) <> '' \
         ORDER BY t.response_id, i.position",
    )
    .bind::<Array<Int8>, _>(ids)
    .load(conn)
    .await?;
    Ok((responses, comments))
}

/// Marks the events of subscription `id` for `response_ids` sent (or dropped).
pub async fn mark(
    conn: &mut AsyncPgConnection,
    id: i32,
    response_ids: &[i64],
    sent: bool,
) -> diesel::QueryResult<usize> {
    if response_ids.is_empty() {
        return Ok(0);
    }
    let column = if sent { "sent_at" } else { "dropped_at" };
    diesel::sql_query(format!(
        "UPDATE alert_events SET {column} = now() \
         WHERE subscription_id = $1 AND response_id = ANY($2) \
           AND sent_at IS NULL AND dropped_at IS NULL"
    ))
    .bind::<Int4, _>(id)
    .bind::<Array<Int8>, _>(response_ids)
    .execute(conn)
    .await
}
