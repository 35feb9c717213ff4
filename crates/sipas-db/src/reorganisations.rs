//! Reorganisation acts (issue 19): loading the rows an act touches, executing a planned act
//! (`crate::domain::reorganisation::plan`) and listing the recorded acts.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Bool, Date, Int4, Jsonb, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;

use crate::domain::reorganisation::{ActPlan, DeskInfo, TargetInfo, UnitInfo, UnitRef, World};

#[derive(QueryableByName)]
struct UnitInfoRow {
    #[diesel(sql_type = Int4)]
    id: i32,
    #[diesel(sql_type = Nullable<Int4>)]
    parent_id: Option<i32>,
    #[diesel(sql_type = Text)]
    code: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Nullable<Text>)]
    admin_code: Option<String>,
    #[diesel(sql_type = Nullable<Date>)]
    valid_from: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<Date>)]
    valid_until: Option<NaiveDate>,
    #[diesel(sql_type = Bool)]
    active: bool,
}

#[derive(QueryableByName)]
struct DeskInfoRow {
    #[diesel(sql_type = Int4)]
    id: i32,
    #[diesel(sql_type = Int4)]
    unit_id: i32,
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct AccountUnitRow {
    #[diesel(sql_type = Int4)]
    account_id: i32,
    #[diesel(sql_type = Int4)]
    unit_id: i32,
    #[diesel(sql_type = Text)]
    display_name: String,
}

#[derive(QueryableByName)]
struct TargetInfoRow {
    #[diesel(sql_type = Int4)]
    plan_id: i32,
    #[diesel(sql_type = Text)]
    plan_title: String,
    #[diesel(sql_type = Int4)]
    period_id: i32,
    #[diesel(sql_type = Text)]
    period_name: String,
    #[diesel(sql_type = Date)]
    starts_on: NaiveDate,
    #[diesel(sql_type = Date)]
    ends_on: NaiveDate,
    #[diesel(sql_type = Int4)]
    unit_id: i32,
    #[diesel(sql_type = Int4)]
    target: i32,
    #[diesel(sql_type = Nullable<Int4>)]
    expected_dossiers: Option<i32>,
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = Int4)]
    id: i32,
}

/// Every unit, the active desks, the accounts' units and the plan targets.
pub async fn load_world(conn: &mut AsyncPgConnection) -> diesel::QueryResult<World> {
    let units: Vec<UnitInfoRow> = diesel::sql_query(
        "SELECT id, parent_id, code, name, admin_code, valid_from, valid_until, active \
         FROM units ORDER BY id",
    )
    .load(conn)
    .await?;
    let desks: Vec<DeskInfoRow> = diesel::sql_query(
        "SELECT id, unit_id, name FROM desks WHERE active ORDER BY unit_id, name, id",
    )
    .load(conn)
    .await?;
    let accounts: Vec<AccountUnitRow> = diesel::sql_query(
        "SELECT au.account_id, au.unit_id, a.display_name \
         FROM account_units au JOIN accounts a ON a.id = au.account_id \
         ORDER BY au.account_id, au.unit_id",
    )
    .load(conn)
    .await?;
    let targets: Vec<TargetInfoRow> = diesel::sql_query(
        "SELECT p.id AS plan_id, p.title AS plan_title, pp.id AS period_id, \
                pp.name AS period_name, pp.starts_on, pp.ends_on, t.unit_id, t.target, \
                t.expected_dossiers \
         FROM plan_targets t \
         JOIN plan_periods pp ON pp.id = t.period_id \
         JOIN survey_plans p ON p.id = pp.plan_id \
         ORDER BY pp.starts_on, pp.id, t.unit_id",
    )
    .load(conn)
    .await?;
    Ok(World {
        units: units
            .into_iter()
            .map(|u| UnitInfo {
                id: u.id,
                parent_id: u.parent_id,
                code: u.code,
                name: u.name,
                admin_code: u.admin_code,
                valid_from: u.valid_from,
                valid_until: u.valid_until,
                active: u.active,
            })
            .collect(),
        desks: desks
            .into_iter()
            .map(|d| DeskInfo {
                id: d.id,
                unit_id: d.unit_id,
                name: d.name,
            })
            .collect(),
        account_units: accounts.iter().map(|a| (a.account_id, a.unit_id)).collect(),
        account_names: {
            let mut names: Vec<(i32, String)> = accounts
                .into_iter()
                .map(|a| (a.account_id, a.display_name))
                .collect();
            names.dedup_by_key(|(id, _)| *id);
            names
        },
        targets: targets
            .into_iter()
            .map(|t| TargetInfo {
                plan_id: t.plan_id,
                plan_title: t.plan_title,
                period_id: t.period_id,
                period_name: t.period_name,
                starts_on: t.starts_on,
                ends_on: t.ends_on,
                unit_id: t.unit_id,
                target: t.target,
                expected_dossiers: t.expected_dossiers,
            })
            .collect(),
    })
}

/// What executing an act stored: the act's id and the ids of the units it created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Executed {
    pub id: i32,
    pub new_unit_ids: Vec<i32>,
}

/// Executes `plan` (details: [`ActPlan::details`]; already checked against the rows it was computed from, under the unit
/// tree's lock, in the caller's transaction): records the act, creates the new units, ends the
/// predecessors, moves or closes their desks, links their accounts, moves their children and
/// targets, writes the lineage; renames or moves for those acts. Responses are never touched.
pub async fn execute(
    conn: &mut AsyncPgConnection,
    plan: &ActPlan,
    applied_by: i32,
) -> diesel::QueryResult<Executed> {
    let act: IdRow = diesel::sql_query(
        "INSERT INTO reorganisations (kind, title, legal_basis, effective_date, details, \
                                      applied_by) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind::<Text, _>(plan.kind.as_str())
    .bind::<Text, _>(&plan.title)
    .bind::<Text, _>(&plan.legal_basis)
    .bind::<Date, _>(plan.effective_date)
    .bind::<Jsonb, _>(serde_json::json!({}))
    .bind::<Int4, _>(applied_by)
    .get_result(conn)
    .await?;
    let d = plan.effective_date;
    // The predecessors end first, so that a new unit may take over an official code.
    for id in &plan.ended {
        diesel::sql_query("UPDATE units SET valid_until = $2, active = false WHERE id = $1")
            .bind::<Int4, _>(id)
            .bind::<Date, _>(d)
            .execute(conn)
            .await?;
    }
    let mut new_ids = Vec::new();
    for new in &plan.new_units {
        let row: IdRow = diesel::sql_query(
            "INSERT INTO units (parent_id, code, name, kind, admin_code, valid_from) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind::<Nullable<Int4>, _>(new.parent_id)
        .bind::<Text, _>(&new.code)
        .bind::<Text, _>(&new.name)
        .bind::<Text, _>(&new.kind)
        .bind::<Nullable<Text>, _>(new.admin_code.as_deref())
        .bind::<Date, _>(d)
        .get_result(conn)
        .await?;
        new_ids.push(row.id);
    }
    let id_of = |r: UnitRef| match r {
        UnitRef::Existing(id) => id,
        UnitRef::New(i) => new_ids[i],
    };
    for row in &plan.lineage {
        diesel::sql_query(
            "INSERT INTO unit_lineage (reorganisation_id, predecessor_id, successor_id, \
                                       share_points) VALUES ($1, $2, $3, $4)",
        )
        .bind::<Int4, _>(act.id)
        .bind::<Int4, _>(row.predecessor_id)
        .bind::<Int4, _>(id_of(row.successor))
        .bind::<Nullable<Int4>, _>(row.share_points)
        .execute(conn)
        .await?;
    }
    for m in &plan.desk_moves {
        diesel::sql_query("UPDATE desks SET unit_id = $2 WHERE id = $1")
            .bind::<Int4, _>(m.desk_id)
            .bind::<Int4, _>(id_of(m.to))
            .execute(conn)
            .await?;
    }
    for (desk, _) in &plan.desk_closures {
        diesel::sql_query("UPDATE desks SET active = false WHERE id = $1")
            .bind::<Int4, _>(desk)
            .execute(conn)
            .await?;
    }
    for (account, to) in &plan.account_links {
        diesel::sql_query(
            "INSERT INTO account_units (account_id, unit_id) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind::<Int4, _>(account)
        .bind::<Int4, _>(id_of(*to))
        .execute(conn)
        .await?;
    }
    for m in &plan.child_moves {
        diesel::sql_query("UPDATE units SET parent_id = $2 WHERE id = $1")
            .bind::<Int4, _>(m.unit_id)
            .bind::<Int4, _>(id_of(m.to))
            .execute(conn)
            .await?;
    }
    for change in &plan.target_changes {
        for (unit, _, _) in &change.removed {
            diesel::sql_query("DELETE FROM plan_targets WHERE period_id = $1 AND unit_id = $2")
                .bind::<Int4, _>(change.period_id)
                .bind::<Int4, _>(unit)
                .execute(conn)
                .await?;
        }
        for (unit, target, expected) in &change.set {
            diesel::sql_query(
                "INSERT INTO plan_targets (period_id, unit_id, target, expected_dossiers) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (period_id, unit_id) DO UPDATE \
                 SET target = EXCLUDED.target, expected_dossiers = EXCLUDED.expected_dossiers",
            )
            .bind::<Int4, _>(change.period_id)
            .bind::<Int4, _>(id_of(*unit))
            .bind::<Int4, _>(target)
            .bind::<Nullable<Int4>, _>(expected)
            .execute(conn)
            .await?;
        }
    }
    if let Some((unit, _, to)) = &plan.rename {
        diesel::sql_query("UPDATE units SET name = $2 WHERE id = $1")
            .bind::<Int4, _>(unit)
            .bind::<Text, _>(to)
            .execute(conn)
            .await?;
    }
    if let Some((unit, _, to)) = &plan.moved {
        diesel::sql_query("UPDATE units SET parent_id = $2 WHERE id = $1")
            .bind::<Int4, _>(unit)
            .bind::<Nullable<Int4>, _>(to)
            .execute(conn)
            .await?;
    }
    diesel::sql_query("UPDATE reorganisations SET details = $2 WHERE id = $1")
        .bind::<Int4, _>(act.id)
        .bind::<Jsonb, _>(plan.details(&new_ids))
        .execute(conn)
        .await?;
    Ok(Executed {
        id: act.id,
        new_unit_ids: new_ids,
    })
}

/// One recorded act, for the list.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct ActRow {
    #[diesel(sql_type = Int4)]
    pub id: i32,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Text)]
    pub legal_basis: String,
    #[diesel(sql_type = Date)]
    pub effective_date: NaiveDate,
    #[diesel(sql_type = Jsonb)]
    pub details: Value,
    #[diesel(sql_type = Nullable<Text>)]
    pub applied_by: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    pub applied_at: DateTime<Utc>,
    /// "Xã A, Xã B → Xã C" for a merge or split; empty for a rename or move.
    #[diesel(sql_type = Nullable<Text>)]
    pub lineage: Option<String>,
}

/// The recorded acts, the latest effective first.
pub async fn list(conn: &mut AsyncPgConnection) -> diesel::QueryResult<Vec<ActRow>> {
    diesel::sql_query(
        "SELECT r.id, r.kind, r.title, r.legal_basis, r.effective_date, r.details, \
                a.display_name AS applied_by, r.applied_at, \
                (SELECT string_agg(DISTINCT p.name, ', ') || ' → ' || \
                        string_agg(DISTINCT s.name, ', ') \
                 FROM unit_lineage l JOIN units p ON p.id = l.predecessor_id \
                 JOIN units s ON s.id = l.successor_id \
                 WHERE l.reorganisation_id = r.id) AS lineage \
         FROM reorganisations r LEFT JOIN accounts a ON a.id = r.applied_by \
         ORDER BY r.effective_date DESC, r.id DESC",
    )
    .load(conn)
    .await
}

/// A line of a unit's history: an act that formed it or ended it.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct HistoryLine {
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Text)]
    pub legal_basis: String,
    #[diesel(sql_type = Date)]
    pub effective_date: NaiveDate,
    /// true: the unit is the successor (formed from `others`); false: the predecessor (merged
    /// or split into `others`).
    #[diesel(sql_type = Bool)]
    pub formed: bool,
    /// The other units' names, joined with ", ".
    #[diesel(sql_type = Text)]
    pub others: String,
}

/// The acts that formed the unit `id` (as a successor) or ended it (as a predecessor).
pub async fn history(
    conn: &mut AsyncPgConnection,
    id: i32,
) -> diesel::QueryResult<Vec<HistoryLine>> {
    diesel::sql_query(
        "SELECT r.kind, r.title, r.legal_basis, r.effective_date, true AS formed, \
                string_agg(p.name, ', ' ORDER BY p.name) AS others \
         FROM unit_lineage l JOIN reorganisations r ON r.id = l.reorganisation_id \
         JOIN units p ON p.id = l.predecessor_id \
         WHERE l.successor_id = $1 \
         GROUP BY r.id \
         UNION ALL \
         SELECT r.kind, r.title, r.legal_basis, r.effective_date, false, \
                string_agg(s.name, ', ' ORDER BY s.name) \
         FROM unit_lineage l JOIN reorganisations r ON r.id = l.reorganisation_id \
         JOIN units s ON s.id = l.successor_id \
         WHERE l.predecessor_id = $1 \
         GROUP BY r.id \
         ORDER BY 4, 5 DESC",
    )
    .bind::<Int4, _>(id)
    .load(conn)
    .await
}

/// An act whose effective date falls inside a period of a plan, after the period's first day,
/// touching a unit with a target in it.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct SpanningAct {
    #[diesel(sql_type = Text)]
    pub period_name: String,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Date)]
    pub effective_date: NaiveDate,
    /// The names of the ended units with a target in the period.
    #[diesel(sql_type = Text)]
    pub units: String,
}

/// The acts spanning a period of the plan `plan_id` (for its page's warning).
pub async fn spanning_plan(
    conn: &mut AsyncPgConnection,
    plan_id: i32,
) -> diesel::QueryResult<Vec<SpanningAct>> {
    diesel::sql_query(
        "SELECT pp.name AS period_name, r.title, r.effective_date, \
                string_agg(DISTINCT u.name, ', ') AS units \
         FROM plan_periods pp \
         JOIN reorganisations r ON r.effective_date > pp.starts_on \
                               AND r.effective_date <= pp.ends_on \
         JOIN unit_lineage l ON l.reorganisation_id = r.id \
         JOIN plan_targets t ON t.period_id = pp.id \
                            AND t.unit_id IN (l.predecessor_id, l.successor_id) \
         JOIN units u ON u.id = l.predecessor_id \
         WHERE pp.plan_id = $1 \
         GROUP BY pp.id, pp.name, r.id, r.title, r.effective_date \
         ORDER BY pp.starts_on, r.effective_date",
    )
    .bind::<Int4, _>(plan_id)
    .load(conn)
    .await
}
