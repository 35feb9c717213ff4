//! Published results ("công khai kết quả"): when an admin publishes a plan's period, the
//! figures of that moment are stored as a snapshot (`published_results.figures`, jsonb) and the
//! public pages read nothing else, so that later responses, corrections or renamed units do
//! not change what citizens were shown. Publishing again replaces the snapshot; unpublishing
//! deletes it.
//!
//! The snapshot ([`Snapshot`]) holds only what is published: per unit its index, interval,
//! number of forms, rank and reliability, and the factor indices of the total. No comments, no
//! respondent data, no desk, no account.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{
    ExpressionMethods, Insertable, OptionalExtension, QueryDsl, Queryable, Selectable,
    SelectableHelper,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};

use super::plans::{Period, Plan};
use super::schema::published_results;
use crate::domain::access::Actor;
use crate::reports::{Report, UnitReport};

/// The version of the snapshot's layout (stored in it, for readers of old snapshots).
pub const SNAPSHOT_FORMAT: u32 = 1;

/// A stored publication.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = published_results)]
pub struct Published {
    pub id: i32,
    pub plan_id: i32,
    pub period_id: i32,
    pub published_at: DateTime<Utc>,
    pub published_by: i32,
    pub figures: serde_json::Value,
}

#[derive(Insertable)]
#[diesel(table_name = published_results)]
struct NewPublished<'a> {
    plan_id: i32,
    period_id: i32,
    published_by: i32,
    figures: &'a serde_json::Value,
}

/// An interval of an index (0..=1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SnapshotInterval {
    pub low: f64,
    pub high: f64,
}

/// A factor of the total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotFactor {
    pub code: String,
    pub title: String,
    pub index: Option<f64>,
}

/// The published figures of one unit (with the units below it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotUnit {
    pub unit_id: i32,
    pub name: String,
    pub kind: String,
    /// Number of forms.
    pub responses: u64,
    pub target: Option<u64>,
    /// `false`: "chưa đủ mẫu" (fewer than 30 forms, or fewer than the target).
    pub enough_sample: bool,
    /// SIPAS index, 0..=1.
    pub index: Option<f64>,
    pub index_ci: Option<SnapshotInterval>,
    /// 1 = best; ties share a rank; `None` without an index.
    pub rank: Option<u32>,
}

/// The total of the plan's unit, with its factor indices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotTotal {
    #[serde(flatten)]
    pub unit: SnapshotUnit,
    pub factors: Vec<SnapshotFactor>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotPlan {
    pub id: i32,
    pub title: String,
    pub year: i16,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotPeriod {
    pub id: i32,
    pub name: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
}

/// What is stored in `published_results.figures` and shown on the public page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub format: u32,
    pub plan: SnapshotPlan,
    pub period: SnapshotPeriod,
    pub form_id: String,
    pub form_title: String,
    /// When the figures were computed.
    pub computed_at: DateTime<Utc>,
    pub total: SnapshotTotal,
    /// One per unit directly below the plan's unit, ranked (best first).
    pub rows: Vec<SnapshotUnit>,
}

impl SnapshotUnit {
    fn of(report: &UnitReport) -> Self {
        SnapshotUnit {
            unit_id: report.unit.id,
            name: report.unit.name.clone(),
            kind: report.unit.kind.clone(),
            responses: report.responses,
            target: report.target,
            enough_sample: report.enough_sample,
            index: report.index,
            index_ci: report.index_ci.map(|i| SnapshotInterval {
                low: i.low,
                high: i.high,
            }),
            rank: report.rank,
        }
    }
}

impl Snapshot {
    /// The published part of a report of `plan`'s `period`.
    pub fn of(report: &Report, plan: &Plan, period: &Period, computed_at: DateTime<Utc>) -> Self {
        Snapshot {
            format: SNAPSHOT_FORMAT,
            plan: SnapshotPlan {
                id: plan.id,
                title: plan.title.clone(),
                year: plan.year,
            },
            period: SnapshotPeriod {
                id: period.id,
                name: period.name.clone(),
                starts_on: period.starts_on,
                ends_on: period.ends_on,
            },
            form_id: report.form_id.clone(),
            form_title: report.form_title.clone(),
            computed_at,
            total: SnapshotTotal {
                unit: SnapshotUnit::of(&report.total),
                factors: report
                    .total
                    .factors
                    .iter()
                    .map(|f| SnapshotFactor {
                        code: f.code.clone(),
                        title: f.title.clone(),
                        index: f.index,
                    })
                    .collect(),
            },
            rows: report.rows.iter().map(SnapshotUnit::of).collect(),
        }
    }
}

/// The period `period_id` with its plan, if both exist.
pub async fn plan_period(
    conn: &mut AsyncPgConnection,
    period_id: i32,
) -> diesel::QueryResult<Option<(Plan, Period)>> {
    use super::schema::{plan_periods, survey_plans};
    plan_periods::table
        .inner_join(survey_plans::table)
        .filter(plan_periods::id.eq(period_id))
        .select((Plan::as_select(), Period::as_select()))
        .get_result(conn)
        .await
        .optional()
}

impl Snapshot {}

/// A publication with its snapshot read back.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedSnapshot {
    pub period_id: i32,
    pub published_at: DateTime<Utc>,
    pub snapshot: Snapshot,
}

fn read(published: Published) -> diesel::QueryResult<PublishedSnapshot> {
    let snapshot: Snapshot = serde_json::from_value(published.figures)
        .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
    Ok(PublishedSnapshot {
        period_id: published.period_id,
        published_at: published.published_at,
        snapshot,
    })
}

/// What the audit log keeps of a publication (not the whole snapshot).
pub fn audit_summary(published: &Published) -> serde_json::Value {
    let total = published.figures.get("total");
    serde_json::json!({
        "plan_id": published.plan_id,
        "period_id": published.period_id,
        "published_at": published.published_at,
        "published_by": published.published_by,
        "responses": total.and_then(|t| t.get("responses")),
        "index": total.and_then(|t| t.get("index")),
        "units": published.figures.get("rows").and_then(|r| r.as_array()).map(Vec::len),
    })
}

impl Published {
    /// Every publication, newest period first.
    pub async fn list(conn: &mut AsyncPgConnection) -> diesel::QueryResult<Vec<PublishedSnapshot>> {
        let rows: Vec<Published> = published_results::table
            .select(Published::as_select())
            .order(published_results::published_at.desc())
            .load(conn)
            .await?;
        let mut list: Vec<PublishedSnapshot> =
            rows.into_iter().map(read).collect::<Result<_, _>>()?;
        list.sort_by(|a, b| {
            (
                b.snapshot.period.ends_on,
                b.snapshot.period.starts_on,
                b.period_id,
            )
                .cmp(&(
                    a.snapshot.period.ends_on,
                    a.snapshot.period.starts_on,
                    a.period_id,
                ))
        });
        Ok(list)
    }

    /// The publication of `period_id`, if any, as stored.
    pub async fn find_by_period(
        conn: &mut AsyncPgConnection,
        period_id: i32,
    ) -> diesel::QueryResult<Option<Published>> {
        published_results::table
            .filter(published_results::period_id.eq(period_id))
            .select(Published::as_select())
            .get_result(conn)
            .await
            .optional()
    }

    /// The publication of `period_id` with its snapshot.
    pub async fn snapshot_of(
        conn: &mut AsyncPgConnection,
        period_id: i32,
    ) -> diesel::QueryResult<Option<PublishedSnapshot>> {
        Self::find_by_period(conn, period_id)
            .await?
            .map(read)
            .transpose()
    }

    /// The period ids that are published.
    pub async fn period_ids(conn: &mut AsyncPgConnection) -> diesel::QueryResult<Vec<i32>> {
        published_results::table
            .select(published_results::period_id)
            .load(conn)
            .await
    }

    /// The publication of `period_id`, locked until the transaction ends (`None`: not
    /// published).
    pub async fn lock_for_period(
        conn: &mut AsyncPgConnection,
        period_id: i32,
    ) -> diesel::QueryResult<Option<Published>> {
        published_results::table
            .filter(published_results::period_id.eq(period_id))
            .select(Published::as_select())
            .for_update()
            .get_result(conn)
            .await
            .optional()
    }

    /// Stores `snapshot` as published by `actor` for its period, replacing an earlier
    /// publication of it.
    pub async fn upsert(
        conn: &mut AsyncPgConnection,
        actor: &Actor,
        snapshot: &Snapshot,
    ) -> diesel::QueryResult<Published> {
        let figures = serde_json::to_value(snapshot)
            .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
        let new = NewPublished {
            plan_id: snapshot.plan.id,
            period_id: snapshot.period.id,
            published_by: actor.account_id,
            figures: &figures,
        };
        diesel::insert_into(published_results::table)
            .values(&new)
            .on_conflict(published_results::period_id)
            .do_update()
            .set((
                published_results::plan_id.eq(new.plan_id),
                published_results::published_at.eq(diesel::dsl::now),
                published_results::published_by.eq(new.published_by),
                published_results::figures.eq(new.figures),
            ))
            .returning(Published::as_returning())
            .get_result(conn)
            .await
    }

    /// Deletes the publication of `period_id`, returning it (`None`: it was not published).
    pub async fn delete_for_period(
        conn: &mut AsyncPgConnection,
        period_id: i32,
    ) -> diesel::QueryResult<Option<Published>> {
        diesel::delete(published_results::table.filter(published_results::period_id.eq(period_id)))
            .returning(Published::as_returning())
            .get_result(conn)
            .await
            .optional()
    }
}
