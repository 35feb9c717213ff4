//! Citizens' responses: storing one atomically and exactly once, and reading them back in
//! batches for exports.

use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods, Insertable, OptionalExtension, QueryDsl};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{form_versions, response_texts, responses, units};

/// How a response reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// A citizen's own phone, through a desk's QR code.
    Qr,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Qr => "qr",
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
